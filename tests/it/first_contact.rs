//! First contact with an installed `cw-conform`: the commands that describe the harness
//! (`steps`, `actions`, `rules`, `sources`, `roles`), `features export` and a run of what it wrote,
//! the did-you-mean errors, and `--color` with `NO_COLOR`.

use serde_json::Value;

use crate::cli::{Running, Scratch, cw_conform, cw_conform_finished};

/// The `[[rule]]` entries of the shipped rule catalog.
fn rule_count() -> usize {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rules.toml"))
        .unwrap();
    text.lines().filter(|l| l.trim() == "[[rule]]").count()
}

fn json(stdout: &str) -> Vec<Value> {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not a JSON array ({e}): {stdout}"))
}

#[test]
fn steps_lists_every_step_with_an_example() {
    let scratch = Scratch::new("it");

    let text = cw_conform_finished(&scratch, &["steps"]);
    let listed = cw_conform_finished(&scratch, &["steps", "--format", "json"]);

    text.assert_code(0);
    listed.assert_code(0);
    let steps = json(&listed.stdout);
    assert!(steps.len() > 30, "{listed}");
    assert!(
        text.stdout.starts_with(&format!("{} steps. ", steps.len())),
        "{text}"
    );
    for step in &steps {
        let example = step["example"].as_str().unwrap();
        assert!(
            text.stdout.contains(&format!("Example: {example}")),
            "the text listing lacks {example}: {text}"
        );
        assert!(step["regex"].as_str().is_some_and(|r| r.starts_with('^')));
    }
    assert!(
        text.stdout.contains(
            "When the AI asks to <action>[ #<id> | \"<name>\" | \"<text>\" | the one just created][ with:]"
        ),
        "{text}"
    );
}

#[test]
fn actions_lists_what_each_action_needs_in_three_formats() {
    let scratch = Scratch::new("it");

    let listed = cw_conform_finished(&scratch, &["actions", "--format", "json"]);
    let markdown = cw_conform_finished(&scratch, &["actions", "--format", "markdown"]);
    let text = cw_conform_finished(&scratch, &["actions"]);

    listed.assert_code(0);
    markdown.assert_code(0);
    text.assert_code(0);
    let actions = json(&listed.stdout);
    let update = actions
        .iter()
        .find(|a| a["name"] == "time_entry.update")
        .unwrap_or_else(|| panic!("no time_entry.update: {listed}"));
    assert_eq!(update["phrase"], "update time entry");
    assert_eq!(update["method"], "PATCH");
    assert_eq!(update["path"], "/time/entries/{id}");
    assert_eq!(update["checks"]["function"], "Time & Expense / Time Entry");
    assert_eq!(update["checks"]["operation"], "Edit");
    assert_eq!(update["policy"]["decision"], "escalate");
    assert_eq!(update["policy"]["rule"], "SAFE-09");
    // Its lookups are of work types and roles, setup tables any member may read (the
    // developer guide, `setup_table_reads = "open"`): they need no grant.
    assert_eq!(update["lookups"], serde_json::json!([]), "{update}");
    let create = actions
        .iter()
        .find(|a| a["name"] == "ticket.create")
        .unwrap_or_else(|| panic!("no ticket.create: {listed}"));
    assert_eq!(
        create["lookups"][0]["function"], "Companies / Company Maintenance",
        "{create}"
    );
    assert!(
        markdown.stdout.starts_with(
            "| phrase | action | workflow | request | ConnectWise checks | lookups | policy |"
        ),
        "{markdown}"
    );
    assert_eq!(markdown.stdout.lines().count(), actions.len() + 2);
    assert!(
        text.stdout
            .starts_with(&format!("{} actions. ", actions.len())),
        "{text}"
    );
    assert!(
        text.stdout.contains(
            "  update time entry  [time_entry.update]\n    request:  PATCH /time/entries/{id}\n"
        ),
        "{text}"
    );
}

#[test]
fn rules_lists_every_rule_with_its_source() {
    let scratch = Scratch::new("it");

    let listed = cw_conform_finished(&scratch, &["rules", "--format", "json"]);
    let text = cw_conform_finished(&scratch, &["rules"]);

    listed.assert_code(0);
    text.assert_code(0);
    let rules = json(&listed.stdout);
    assert_eq!(rules.len(), rule_count());
    let lp01 = &rules[0];
    assert_eq!(lp01["id"], "LP-01");
    assert_eq!(lp01["source"], "least-privilege-access-settings.txt");
    assert_eq!(lp01["section"], "Authentication requirements");
    assert!(
        text.stdout
            .contains("source: least-privilege-access-settings.txt, Authentication requirements"),
        "{text}"
    );
    assert!(
        text.stdout.lines().all(|l| l.chars().count() <= 100),
        "{text}"
    );
}

#[test]
fn sources_prints_what_every_cited_section_says() {
    let scratch = Scratch::new("it");

    let listed = cw_conform_finished(&scratch, &["sources", "--format", "json"]);
    let rules = cw_conform_finished(&scratch, &["rules", "--format", "json"]);
    let wrong = cw_conform_finished(&scratch, &["sources", "least-privilege"]);

    listed.assert_code(0);
    let documents = json(&listed.stdout);
    assert_eq!(documents.len(), 2, "{listed}");
    for rule in json(&rules.stdout) {
        let document = documents
            .iter()
            .find(|d| d["file"] == rule["source"])
            .unwrap_or_else(|| panic!("no summary of {}", rule["source"]));
        let section = document["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["heading"] == rule["section"])
            .unwrap_or_else(|| {
                panic!(
                    "{} cites {} / {}",
                    rule["id"], rule["source"], rule["section"]
                )
            });
        assert_eq!(
            section["summary"], rule["section_summary"],
            "{}",
            rule["id"]
        );
    }
    wrong.assert_code(2);
    assert!(
        wrong
            .stderr
            .contains("(did you mean \"least-privilege-access-settings\"?)"),
        "{wrong}"
    );
}

/// The README's headline audit is the real output of the command, and a role made for the
/// two workflows alone, as the README says, audits clean.
#[test]
fn the_readme_audit_example_tells_the_truth() {
    let scratch = Scratch::new("it");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let command = "$ cw-conform audit least-privilege --workflows service-tickets,time\n";
    let start = readme.find(command).expect("the README shows the audit") + command.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];

    let audit = cw_conform_finished(
        &scratch,
        &[
            "audit",
            "least-privilege",
            "--workflows",
            "service-tickets,time",
        ],
    );

    audit.assert_code(1);
    assert_eq!(audit.stdout, shown);
    // read-only-discovery with the grants the audit of it says are missing.
    let base = cw_conform_finished(&scratch, &["roles", "read-only-discovery"]).stdout;
    let missing = cw_conform_finished(
        &scratch,
        &[
            "audit",
            "read-only-discovery",
            "--workflows",
            "service-tickets,time",
        ],
    );
    missing.assert_code(1);
    let mut role = base.replace(
        "name = \"read-only-discovery\"",
        "name = \"service-desk-and-time\"",
    );
    let mut grants: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for line in missing.stdout.lines().skip(1) {
        let (_, needs) = line
            .split_once(" needs ")
            .unwrap_or_else(|| panic!("{line}"));
        let (grant, _) = needs.split_once(", which").unwrap();
        let (function, operation) = grant.rsplit_once(' ').unwrap();
        grants
            .entry(function.to_owned())
            .or_default()
            .push(operation.to_lowercase());
    }
    assert!(!grants.is_empty(), "{missing}");
    for (function, operations) in &grants {
        let header = format!("function = \"{function}\"\n");
        if let Some(at) = role.find(&header) {
            for operation in operations {
                let from = format!("{operation} = \"None\"");
                let offset = at + role[at..].find(&from).unwrap();
                role.replace_range(
                    offset..offset + from.len(),
                    &format!("{operation} = \"All\""),
                );
            }
        } else {
            role.push_str("\n[[grant]]\n");
            role.push_str(&header);
            for operation in operations {
                role.push_str(operation);
                role.push_str(" = \"All\"\n");
            }
        }
    }
    let path = scratch.write("service-desk-and-time.toml", &role);

    let clean = cw_conform_finished(
        &scratch,
        &[
            "audit",
            path.to_str().unwrap(),
            "--workflows",
            "service-tickets,time",
        ],
    );

    clean.assert_code(0);
    assert_eq!(
        clean.stdout, "service-desk-and-time: no findings\n",
        "{role}"
    );
}

#[test]
fn a_printed_role_file_works_wherever_a_role_is_asked_for() {
    let scratch = Scratch::new("it");

    let profiles = cw_conform_finished(&scratch, &["roles"]);
    let printed = cw_conform_finished(&scratch, &["roles", "read-only-discovery"]);
    profiles.assert_code(0);
    printed.assert_code(0);
    assert!(
        profiles.stdout.starts_with("5 role profiles."),
        "{profiles}"
    );
    for name in [
        "least-privilege",
        "read-only-discovery",
        "customer-sync",
        "no-access",
        "full-access",
    ] {
        assert!(
            profiles.stdout.contains(&format!("\n{name} ")),
            "{profiles}"
        );
    }
    scratch.write("mine.toml", &printed.stdout);

    let by_name = cw_conform_finished(
        &scratch,
        &["explain", "ticket.create", "--role", "read-only-discovery"],
    );
    let by_file = cw_conform_finished(
        &scratch,
        &["explain", "ticket.create", "--role", "mine.toml"],
    );

    by_name.assert_code(0);
    by_file.assert_code(0);
    assert_eq!(by_file.stdout, by_name.stdout);
    assert!(
        by_file.stdout.contains("expected outcome: denied"),
        "{by_file}"
    );
}

#[test]
fn an_unknown_role_or_action_suggests_the_nearest_and_the_command_to_list_them() {
    let scratch = Scratch::new("it");

    let role = cw_conform_finished(&scratch, &["roles", "least-privelege"]);
    let action = cw_conform_finished(
        &scratch,
        &["explain", "ticket.craete", "--role", "least-privilege"],
    );

    role.assert_code(2);
    assert!(
        role.stderr.starts_with(
            "error: unknown role \"least-privelege\" (did you mean \"least-privilege\"?)"
        ),
        "{role}"
    );
    assert!(role.stderr.contains("run `cw-conform roles`"), "{role}");
    action.assert_code(2);
    assert_eq!(
        action.stderr.trim_end(),
        "error: unknown action \"ticket.craete\" (did you mean \"ticket.create\"?); run \
         `cw-conform actions` for the list"
    );
}

#[test]
fn a_misspelt_action_in_a_feature_is_a_feature_error_of_one_line_with_the_nearest_phrase() {
    let scratch = Scratch::new("it");
    scratch.write(
        "typo.feature",
        "Feature: A slip of the keyboard

  Scenario: The vendor misspells an action
    Given an API member with the role \"least-privilege\"
    When the AI asks to create a servce ticket with:
      | summary | Printer jammed |
    Then the outcome is escalated
",
    );

    let run = cw_conform_finished(&scratch, &["run", "--quiet", "typo.feature"]);

    run.assert_code(2);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("unknown action"))
        .unwrap_or_else(|| panic!("no unknown-action message: {run}"));
    assert!(
        line.ends_with(
            "unknown action \"create a servce ticket\" (did you mean \"create a service \
             ticket\"?); run `cw-conform actions` for the list"
        ),
        "{line}"
    );
    assert!(
        !run.stdout.contains("search companies, "),
        "the whole catalog was printed: {run}"
    );
}

#[test]
fn exported_features_and_fixtures_run_as_they_are_and_as_a_starting_point() {
    let scratch = Scratch::new("it");

    let export = cw_conform_finished(&scratch, &["features", "export", "suite"]);

    export.assert_code(0);
    assert!(export.stdout.starts_with("wrote "), "{export}");
    let exported = scratch.read("suite/features/least_privilege.feature");
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/features/least_privilege.feature"
    ))
    .unwrap();
    assert_eq!(exported, shipped);
    assert!(
        scratch
            .read("suite/fixtures/roles/read-only-discovery.toml")
            .contains("name = \"read-only-discovery\"")
    );
    // A vendor's own scenario, next to the exported ones, using an exported role file.
    scratch.write(
        "suite/features/ours.feature",
        "Feature: Our own scenario

  Scenario: A read-only member cannot open tickets
    Given an API member with the role \"suite/fixtures/roles/read-only-discovery.toml\"
    When the AI asks to create a service ticket with:
      | summary | Printer jammed |
    Then the outcome is denied
    And the AI is told it needs \"Service Desk / Service Tickets\" Add
    And nothing was written to ConnectWise
",
    );

    let run = cw_conform_finished(
        &scratch,
        &[
            "run",
            "--quiet",
            "suite/features/least_privilege.feature",
            "suite/features/ours.feature",
        ],
    );

    run.assert_code(0);
    assert!(run.stdout.contains(" passed, 0 failed"), "{run}");
    assert!(!run.stdout.contains("\n0 scenarios"), "{run}");
}

#[test]
fn export_refuses_to_overwrite_unless_forced() {
    let scratch = Scratch::new("it");
    let first = cw_conform_finished(&scratch, &["features", "export", "out"]);
    first.assert_code(0);
    scratch.write("out/features/safety.feature", "# my edits\n");

    let again = cw_conform_finished(&scratch, &["features", "export", "out"]);

    again.assert_code(2);
    assert!(again.stderr.contains("already exists"), "{again}");
    assert!(again.stderr.contains("--force"), "{again}");
    assert_eq!(scratch.read("out/features/safety.feature"), "# my edits\n");

    let forced = cw_conform_finished(&scratch, &["features", "export", "out", "--force"]);

    forced.assert_code(0);
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/features/safety.feature"
    ))
    .unwrap();
    assert_eq!(scratch.read("out/features/safety.feature"), shipped);
}

/// `cw-conform run --tags @LP-01` with `--color` and `NO_COLOR` as given; its stdout.
fn progress(color: Option<&str>, no_color: Option<&str>) -> String {
    let scratch = Scratch::new("it");
    let mut args = vec!["run", "--tags", "@LP-01"];
    if let Some(color) = color {
        args.extend(["--color", color]);
    }
    let mut command = cw_conform(&scratch, &args);
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let run = Running::start(command).finish();
    run.assert_code(0);
    run.stdout
}

#[test]
fn colour_follows_the_flag_no_color_and_the_terminal() {
    const ESCAPE: char = '\u{1b}';

    assert!(
        progress(Some("always"), None).contains(ESCAPE),
        "--color always"
    );
    assert!(
        progress(Some("always"), Some("1")).contains(ESCAPE),
        "--color always wins over NO_COLOR"
    );
    assert!(
        !progress(Some("never"), None).contains(ESCAPE),
        "--color never"
    );
    assert!(
        !progress(None, None).contains(ESCAPE),
        "auto, with standard output a pipe"
    );
    assert!(
        !progress(Some("auto"), Some("1")).contains(ESCAPE),
        "auto with NO_COLOR"
    );
}
