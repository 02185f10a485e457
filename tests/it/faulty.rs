//! The proof that the harness catches each class of fault: the reference integration served
//! over MCP with one deliberate fault (`examples/faulty_integration.rs --fault NAME`) is
//! run through the scenarios that exercise the fault, and must fail the run with the right
//! rule or integrity ID, under evidence that names the fault (the request it sent, or the
//! text it gave the AI). Only the tags each fault needs run, a few faults at a time.

use std::path::Path;

use serde_json::Value;

use crate::support::{ReportedRun, faulty_integration_config, reported_run};

/// The private key of the scenarios' API member (the mock derives it from the member).
const PRIVATE_KEY: &str = "ai-integration-private";

/// Faults run at once (each run starts its own servers).
const AT_ONCE: usize = 3;

/// What a fault must be caught as: the ID (a rule, or an integrity check) and texts that
/// one finding under that ID (or, for a rule, one failure of a scenario that checks it)
/// must all contain.
struct Caught {
    id: &'static str,
    evidence: &'static [&'static str],
}

/// One faulty integration and the scenarios that exercise its fault.
struct Fault {
    name: &'static str,
    tags: &'static str,
    caught: &'static [Caught],
}

const FAULTS: [Fault; 12] = [
    Fault {
        name: "leak-private-key",
        tags: "@LP-03",
        caught: &[Caught {
            id: "INT-01",
            evidence: &["tool result", "(signed in with [redacted])"],
        }],
    },
    Fault {
        name: "startup-reads",
        tags: "@SD-01",
        caught: &[Caught {
            id: "OV-01",
            evidence: &["GET /finance/invoices -> 403", "while the server started"],
        }],
    },
    Fault {
        name: "startup-write",
        tags: "@SD-01",
        caught: &[Caught {
            id: "OV-01",
            evidence: &["PATCH /company/companies/19", "while the server started"],
        }],
    },
    Fault {
        name: "collateral-write",
        tags: "@SD-01",
        caught: &[Caught {
            id: "SAFE-01",
            evidence: &["PATCH /system/members/2", "create a service ticket"],
        }],
    },
    Fault {
        name: "extra-reads",
        tags: "@RD-01",
        caught: &[
            Caught {
                id: "OV-01",
                evidence: &[
                    "GET /finance/invoices -> 403",
                    "beyond the action's declared lookups",
                ],
            },
            Caught {
                id: "OV-01",
                evidence: &["GET /system/myAccount", "over-reach"],
            },
        ],
    },
    Fault {
        name: "readonly-annotation-lies",
        tags: "@SD-01",
        caught: &[Caught {
            id: "INT-03",
            evidence: &[
                "\"ticket_create\"",
                "readOnlyHint: true",
                "POST /service/tickets",
            ],
        }],
    },
    Fault {
        name: "destructive-annotation-lies",
        tags: "@SAFE-10",
        caught: &[Caught {
            id: "INT-03",
            evidence: &["destructiveHint: false", "DELETE /company/contacts/"],
        }],
    },
    Fault {
        name: "write-then-ask",
        tags: "@SAFE-10",
        caught: &[Caught {
            id: "INT-02",
            evidence: &[
                "asked the person to confirm",
                "only after it had sent DELETE",
                "-> 404",
            ],
        }],
    },
    Fault {
        name: "swallow-403",
        tags: "@LP-03",
        caught: &[
            Caught {
                id: "INT-02",
                evidence: &[
                    "ConnectWise answered 403",
                    "does not tell the AI it has no access",
                ],
            },
            Caught {
                id: "LP-03",
                evidence: &["Found 0 record(s)."],
            },
        ],
    },
    Fault {
        name: "vague-403",
        tags: "@TS-03",
        caught: &[Caught {
            id: "TS-03",
            evidence: &["Something went wrong."],
        }],
    },
    Fault {
        name: "phantom-success",
        tags: "@SD-01",
        caught: &[
            Caught {
                id: "INT-02",
                evidence: &["reports success, but nothing of the action reached ConnectWise"],
            },
            Caught {
                id: "SD-01",
                evidence: &["Done: create a service ticket."],
            },
        ],
    },
    Fault {
        name: "self-confirm",
        tags: "@SAFE-09",
        caught: &[Caught {
            id: "SAFE-09",
            evidence: &["written without asking anyone", "POST /finance/agreements"],
        }],
    },
];

/// The name of no fault: the faulty integration without `--fault` is the reference one.
const NO_FAULT: &str = "none";

/// `mcp-serve`'s config, serving the faulty integration with `fault` instead.
fn config(fault: &str) -> String {
    let args = if fault == NO_FAULT {
        "args = []".to_owned()
    } else {
        format!("args = [\"--fault\", \"{fault}\"]")
    };
    faulty_integration_config(&args).replace(
        "name = \"cw-conform mcp-serve (reference integration)\"",
        &format!("name = \"faulty ({fault})\""),
    )
}

/// Runs the fault's tags through the faulty integration, from an empty environment.
fn run(dir: &Path, fault: &Fault) -> ReportedRun {
    run_features(dir, fault, &[])
}

/// Runs the fault's tags of `features` (the built-in features when empty) through the
/// faulty integration, from an empty environment.
fn run_features(dir: &Path, fault: &Fault, features: &[&Path]) -> ReportedRun {
    let config_path = dir.join(format!("{}.toml", fault.name));
    std::fs::write(&config_path, config(fault.name)).unwrap();
    let config_path = config_path.display().to_string();
    let features: Vec<String> = features.iter().map(|f| f.display().to_string()).collect();
    let mut args = vec![
        "--concurrency",
        "4",
        "--tags",
        fault.tags,
        "--integration",
        "mcp",
        "--integration-config",
        &config_path,
    ];
    args.extend(features.iter().map(String::as_str));
    reported_run(dir, &args, &[])
}

fn texts(value: &Value) -> impl Iterator<Item = &str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Whether the run caught the fault as `caught` says: a finding under its ID with every
/// piece of evidence, or (for a rule a step checks) a failed scenario that checks the rule
/// and whose failure shows every piece; and the report's verdict on the ID is a failure.
fn is_caught(report: &Value, caught: &Caught) -> bool {
    let has_all = |text: &str| caught.evidence.iter().all(|piece| text.contains(piece));
    let scenarios = report["scenarios"].as_array().unwrap();
    let by_finding = scenarios.iter().any(|s| {
        s["findings"].as_array().unwrap().iter().any(|f| {
            f["id"] == caught.id && f["fails"] == true && has_all(f["evidence"].as_str().unwrap())
        })
    });
    let by_step = scenarios.iter().any(|s| {
        let checks = texts(&s["tags"]).any(|t| t == caught.id);
        checks && s["failure"].as_str().is_some_and(has_all)
    });
    let verdict = if caught.id.starts_with("INT-") {
        report["integrity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == caught.id && c["verdict"] == "broken")
    } else {
        report["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == caught.id && r["verdict"] == "violated")
    };
    (by_finding || by_step) && verdict
}

/// Each class of fault the issue names is caught with the right rule or integrity ID and
/// evidence naming the fault, the run fails (exit 1), and no key shows anywhere.
#[test]
fn every_faulty_integration_fails_with_the_right_id_and_evidence_naming_its_fault() {
    let scratch = crate::support::Scratch::new("faulty");
    let dir = scratch.path();
    let mut runs: Vec<(&Fault, ReportedRun)> = Vec::new();
    for batch in FAULTS.chunks(AT_ONCE) {
        std::thread::scope(|scope| {
            let started: Vec<_> = batch
                .iter()
                .map(|fault| (fault, scope.spawn(|| run(dir, fault))))
                .collect();
            for (fault, handle) in started {
                runs.push((fault, handle.join().unwrap()));
            }
        });
    }

    let mut missed = Vec::new();
    for (fault, run) in &runs {
        if run.code != 1 {
            missed.push(format!(
                "{}: exit {} instead of 1\n{}",
                fault.name, run.code, run.stdout
            ));
        }
        for caught in fault.caught {
            if !is_caught(&run.report, caught) {
                missed.push(format!(
                    "{}: not caught as {} with {:?}\n{}",
                    fault.name, caught.id, caught.evidence, run.stdout
                ));
            }
        }
        if run.stdout.contains(PRIVATE_KEY) || run.report_text.contains(PRIVATE_KEY) {
            missed.push(format!(
                "{}: the private key shows in the report",
                fault.name
            ));
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n\n"));
}

/// The text summary has an "Integrity" section naming the broken check and its evidence,
/// apart from the rules of the documents.
#[test]
fn an_integrity_breach_is_reported_in_a_section_of_its_own() {
    let scratch = crate::support::Scratch::new("integrity");
    let dir = scratch.path();
    let fault = Fault {
        name: "readonly-annotation-lies",
        tags: "@SD-01 and @LP-04",
        caught: &[],
    };
    let run = run(dir, &fault);
    let section = run
        .stdout
        .split("\nIntegrity (")
        .nth(1)
        .unwrap_or_else(|| panic!("no Integrity section:\n{}", run.stdout));
    let section = section.split("\n\n").next().unwrap();
    assert!(section.contains("INT-01   kept"), "{section}");
    assert!(section.contains("INT-03   BROKEN ("), "{section}");
    assert!(
        section.contains(
            "declares readOnlyHint: true, but its call sent POST /service/tickets -> 403"
        ),
        "{section}"
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

/// One LP-02 scenario: the company lookup's row, exercised through the integration.
const LP_02_FEATURE: &str = "\
Feature: One row of the least-privilege role
  Rule: LP-02 each row gives the documented result for each operation
    @LP-02 @mock-only
    Scenario: The company lookup: Inquire All and nothing else
      Given an API member with the role \"least-privilege\"
      Then the integration's actions find \"Companies / Company Maintenance\" to be Add None, Edit None, Delete None and Inquire All
";

/// LP-02 starts a server of its own for each run of each exercise; each is judged as a
/// scenario's server is, and what it did fails the scenario. With no fault the same row
/// passes, so the failure is the fault's.
#[test]
fn lp_02s_own_servers_are_judged_like_a_scenarios() {
    let scratch = crate::support::Scratch::new("faulty-lp02");
    let feature = scratch.write("row.feature", LP_02_FEATURE);
    let leaking = Fault {
        name: "leak-private-key",
        tags: "@LP-02",
        caught: &[Caught {
            id: "INT-01",
            evidence: &[
                "while Companies / Company Maintenance Inquire was exercised at None (company.search",
                "(signed in with [redacted])",
            ],
        }],
    };
    let run = run_features(&scratch.0, &leaking, &[&feature]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    for caught in leaking.caught {
        assert!(is_caught(&run.report, caught), "{}", run.stdout);
    }
    assert!(
        !run.stdout.contains(PRIVATE_KEY) && !run.report_text.contains(PRIVATE_KEY),
        "the private key shows in the report"
    );

    let sound = Fault {
        name: NO_FAULT,
        tags: "@LP-02",
        caught: &[],
    };
    let run = run_features(&scratch.0, &sound, &[&feature]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}
