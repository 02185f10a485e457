//! `run --reuse-servers`: a slow-starting MCP server (`examples/faulty_integration.rs
//! --start-delay-ms`) kept across scenarios gives the same verdicts as one started for
//! each scenario, and is started once per credential set and role. The example appends a
//! line to `FAULTY_INTEGRATION_START_LOG` for each start, which the config passes on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::{faulty_integration_config, reported_run};

/// A large subset of the suite: role boundaries, escalations and their answers, wrong
/// credentials of every kind (each a credential set of its own), records read and written.
const SUBSET: &str =
    "@SAFE-08 or @SAFE-09 or @CL-02 or @TS-01 or @TS-02 or @TS-03 or @TS-04 or @RD-01";

/// `mcp-serve`'s config serving the faulty integration with `args`, passing on the
/// variable that names its start log.
fn config(args: &[&str]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| format!("\"{a}\"")).collect();
    faulty_integration_config(&format!(
        "args = [{}]\npass_env = [\"FAULTY_INTEGRATION_START_LOG\"]",
        quoted.join(", ")
    ))
}

/// One run: the JSON report, the readable summary and the starts the server logged.
struct Run {
    report: Value,
    summary: String,
    starts: Vec<String>,
}

fn run(dir: &Path, name: &str, args: &[&str], tags: &str, reuse: bool) -> Run {
    let config_path = dir.join(format!("{name}.toml"));
    std::fs::write(&config_path, config(args)).unwrap();
    let log = dir.join(format!("{name}.starts"));
    let config_path = config_path.display().to_string();
    let mut all = vec![
        "--concurrency",
        "4",
        "--tags",
        tags,
        "--integration",
        "mcp",
        "--integration-config",
        &config_path,
    ];
    if reuse {
        all.push("--reuse-servers");
    }
    let log_path = log.display().to_string();
    let run = reported_run(dir, &all, &[("FAULTY_INTEGRATION_START_LOG", &log_path)]);
    Run {
        report: run.report,
        summary: run.stdout,
        starts: std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
    }
}

/// A scenario's verdict: passed or not, could not be judged or not, the outcome observed,
/// and the IDs of its findings (with whether each fails).
#[derive(Debug, PartialEq)]
struct Verdict {
    passed: bool,
    judged: bool,
    outcome: Value,
    findings: Vec<String>,
}

/// Each scenario's verdict, by its place (feature file and line).
fn verdicts(report: &Value) -> BTreeMap<(String, u64), Verdict> {
    crate::support::by_place(report, |s| Verdict {
        passed: s["failure"].is_null(),
        judged: s["not_judged"].is_null(),
        outcome: s["outcome"].clone(),
        findings: s["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["id"], f["fails"]))
            .collect(),
    })
}

/// The credential set a start signed in with (the log's line without the process id).
fn credential_set(start: &str) -> String {
    start.split_once(' ').map_or("", |(_, set)| set).to_owned()
}

fn compare(dir: &Path, name: &str, args: &[&str], tags: &str) -> (Run, Run) {
    let own = run(dir, &format!("{name}-own"), args, tags, false);
    let kept = run(dir, &format!("{name}-kept"), args, tags, true);
    let (own_verdicts, kept_verdicts) = (verdicts(&own.report), verdicts(&kept.report));
    assert!(!own_verdicts.is_empty(), "{name}: no scenario ran");
    for (place, verdict) in &own_verdicts {
        assert_eq!(
            kept_verdicts.get(place),
            Some(verdict),
            "{name}: the scenario at {place:?} has another verdict with --reuse-servers"
        );
    }
    assert_eq!(own_verdicts.len(), kept_verdicts.len(), "{name}");
    assert!(
        own.report["server_reuse"].is_null(),
        "{name}: a run without reuse says it reused servers"
    );
    let started = kept.report["server_reuse"]["servers_started"]
        .as_u64()
        .unwrap_or_else(|| panic!("{name}: the report does not say reuse was on"));
    assert_eq!(
        usize::try_from(started).unwrap(),
        kept.starts.len(),
        "{name}: the report's count of servers against the starts the server logged"
    );
    assert!(
        kept.summary.contains("Servers reused (--reuse-servers)"),
        "{name}: the summary does not say reuse was on:\n{}",
        kept.summary
    );
    // Roles are not in the log: several roles sign in with the same keys on the mock, and
    // each has a server of its own. Every credential set logged was kept, at least.
    let sets: BTreeSet<String> = kept.starts.iter().map(|s| credential_set(s)).collect();
    let own_sets: BTreeSet<String> = own.starts.iter().map(|s| credential_set(s)).collect();
    assert_eq!(sets, own_sets, "{name}: the credential sets signed in with");
    (own, kept)
}

/// The reference integration, slow to start, through a large subset of the suite: the
/// same verdicts with and without reuse; with reuse, far fewer starts, each of a
/// credential set and role of its own.
#[test]
fn a_slow_server_kept_across_scenarios_gives_the_same_verdicts_and_starts_once_per_role() {
    let scratch = crate::support::Scratch::new("reuse");
    let dir = scratch.path();
    let (own, kept) = compare(dir, "reference", &["--start-delay-ms", "100"], SUBSET);
    let scenarios = own.report["scenarios"].as_array().unwrap().len();
    assert!(
        own.starts.len() >= scenarios / 2,
        "without reuse, a server for each scenario: {} starts for {scenarios} scenarios",
        own.starts.len()
    );
    assert!(
        kept.starts.len() < own.starts.len() / 2,
        "with reuse, {} starts against {} without",
        kept.starts.len(),
        own.starts.len()
    );
    assert_eq!(kept.report["conforms"], true, "{}", kept.summary);
    // Each wrong credential is a set of its own, started once.
    let mut by_set: BTreeMap<String, usize> = BTreeMap::new();
    for start in &kept.starts {
        *by_set.entry(credential_set(start)).or_default() += 1;
    }
    let wrong: Vec<_> = by_set
        .iter()
        .filter(|(set, _)| !set.starts_with("northwind ai-integration-public 5c9f"))
        .collect();
    assert!(wrong.len() >= 4, "wrong credentials were tried: {by_set:?}");
    assert!(wrong.iter().all(|(_, n)| **n == 1), "{by_set:?}");
}

/// A fault in every call (extra reads beyond the action's lookups) is judged in the
/// scenario whose call made it, with or without reuse.
#[test]
fn a_kept_server_s_fault_is_judged_in_the_scenario_it_served() {
    let scratch = crate::support::Scratch::new("reuse-fault");
    let dir = scratch.path();
    let (_, kept) = compare(
        dir,
        "extra-reads",
        &["--fault", "extra-reads", "--start-delay-ms", "100"],
        "@RD-01 or @RD-03",
    );
    assert_eq!(kept.report["conforms"], false, "{}", kept.summary);
    let flagged = kept.report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["findings"].as_array().unwrap().iter().any(|f| {
                f["id"] == "OV-01"
                    && f["evidence"]
                        .as_str()
                        .unwrap()
                        .contains("GET /finance/invoices")
            })
        })
        .count();
    assert!(flagged > 0, "{}", kept.summary);
}
