//! The reports of one small fixed run, as a CI system and a reporting tool read them:
//! snapshots of the text, JSON and JUnit reports (times, dates, versions and paths
//! redacted), Cucumber's standard JSON checked against its published schema, reports
//! written to folders that do not exist yet, and an exit code that agrees with them.

use serde_json::Value;

use crate::cli::{Scratch, cw_conform_finished};
use crate::support::{run_report, run_reporting};

/// A vendor's feature: one scenario the reference integration meets, one it does not, and
/// an outline whose name has no placeholder (its rows must still be told apart).
const OURS: &str = "Feature: Our integration's own expectations

  @TS-03
  Scenario: A member without access searches companies
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"Acme\"
    Then the outcome is denied

  @TS-03
  Scenario: A member without access is expected to search companies
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"Acme\"
    Then the outcome is allowed

  @TS-03
  Scenario Outline: A member without access is denied whatever it searches for
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"<name>\"
    Then the outcome is denied

    Examples:
      | name    |
      | Acme    |
      | Initech |
";

/// What varies from run to run in a text or XML report, replaced by a placeholder.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r#"time="[0-9.]+""#, r#"time="[time]""#),
        (r"in [0-9]+\.[0-9]+ s", "in [elapsed] s"),
        // The catalog grows as rules are added; the run checks one of them.
        (r"of [0-9]+ rules checked", "of [catalog] rules checked"),
    ]
}

/// The fixed run, every report to a file in a folder that does not exist yet, and the
/// summary on standard output.
fn fixed_run(scratch: &Scratch) -> crate::cli::Finished {
    scratch.write("ours.feature", OURS);
    cw_conform_finished(
        scratch,
        &[
            "run",
            "--quiet",
            "--format",
            "junit=reports/ci/conformance.xml",
            "--format",
            "json=reports/run.json",
            "--format",
            "cucumber=reports/cucumber.json",
            "ours.feature",
        ],
    )
}

#[test]
fn one_run_writes_every_report_into_folders_it_creates_and_exits_as_they_say() {
    let scratch = Scratch::new("it");

    let run = fixed_run(&scratch);

    // One scenario failed: every report says so, and so does the exit code.
    run.assert_code(1);
    let json = run_report(&scratch.read("reports/run.json"));
    assert_eq!(json["conforms"], false, "{json:#}");
    let xml = scratch.read("reports/ci/conformance.xml");
    assert!(xml.contains(r#"failures="2""#), "{xml}");
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("text", run.stdout);
        insta::assert_snapshot!("junit", xml);
    });
    // The rules the run did not check are left out of the snapshot (they are the whole
    // catalog, and change as it grows); the schema still checked them above.
    let mut json = json;
    let rules = json["rules"].as_array_mut().expect("a rules list");
    rules.retain(|rule| rule["verdict"] != "not checked");
    insta::assert_json_snapshot!("json", json, {
        ".totals.rules" => "[catalog]",
        ".date" => "[date]",
        ".cw_conform_version" => "[version]",
        ".elapsed_seconds" => "[elapsed]",
        ".scenarios[].duration_seconds" => "[duration]",
    });
}

#[test]
fn the_cucumber_report_fits_the_published_schema_and_names_every_row() {
    let scratch = Scratch::new("it");

    let run = fixed_run(&scratch);

    run.assert_code(1);
    let report: Value = serde_json::from_str(&scratch.read("reports/cucumber.json"))
        .unwrap_or_else(|e| panic!("the Cucumber report is not JSON ({e}): {run}"));
    let schema: Value =
        serde_json::from_str(include_str!("../../schemas/cucumber-json.schema.json")).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let departures: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    assert!(departures.is_empty(), "{departures:#?}\n{report:#}");
    let elements = report[0]["elements"]
        .as_array()
        .expect("the feature's scenarios");
    assert_eq!(elements.len(), 4, "{report:#}");
    let statuses: Vec<Vec<&str>> = elements
        .iter()
        .map(|e| {
            e["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["result"]["status"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ["passed", "passed", "passed"],
            ["passed", "passed", "failed"],
            ["passed", "passed", "passed"],
            ["passed", "passed", "passed"],
        ]
    );
    assert_eq!(elements[0]["tags"][0]["name"], "@TS-03", "{report:#}");
    assert!(
        elements[1]["steps"][2]["result"]["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("denied")),
        "a failed step says what was observed: {report:#}"
    );
}

/// The published schema is not a formality: a failed step without its message, or a tag
/// without its `@`, does not fit it.
#[test]
fn the_cucumber_schema_rejects_what_its_consumers_cannot_read() {
    let schema: Value =
        serde_json::from_str(include_str!("../../schemas/cucumber-json.schema.json")).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let report = serde_json::json!([{
        "uri": "x.feature", "name": "X", "keyword": "Feature",
        "elements": [{"type": "scenario", "line": 3, "name": "s", "keyword": "Scenario",
            "tags": [{"name": "SD-01"}],
            "steps": [{"keyword": "Then ", "line": 4, "name": "it fails",
                       "result": {"status": "failed", "duration": 1}}]}]
    }]);
    assert_eq!(validator.iter_errors(&report).count(), 2);
}

/// The JSON report's schema is not a formality either: a report the run wrote, less a
/// field the schema requires, does not fit it.
#[test]
fn a_written_report_missing_its_version_does_not_fit_the_schema() {
    let scratch = Scratch::new("it");
    let run = fixed_run(&scratch);
    run.assert_code(1);
    let mut report = run_report(&scratch.read("reports/run.json"));

    report.as_object_mut().unwrap().remove("version");

    let departures = crate::support::schema_departures(&report);
    assert!(
        departures
            .iter()
            .any(|d| d.contains("\"version\" is a required property")),
        "{departures:?}"
    );
}

#[test]
fn two_reports_cannot_share_standard_output_or_a_file() {
    let scratch = Scratch::new("it");

    let both = cw_conform_finished(&scratch, &["run", "--format", "json", "--format", "junit"]);
    let same = cw_conform_finished(
        &scratch,
        &["run", "--format", "json=r.out", "--format", "junit=r.out"],
    );
    let unknown = cw_conform_finished(&scratch, &["run", "--format", "html=r.html"]);

    both.assert_code(2);
    assert!(
        both.stderr
            .contains("only one report can go to standard output"),
        "{both}"
    );
    same.assert_code(2);
    assert!(
        same.stderr
            .contains("two reports would be written to r.out"),
        "{same}"
    );
    unknown.assert_code(2);
    assert!(
        unknown.stderr.contains("unknown report format \"html\""),
        "{unknown}"
    );
}

/// `--format X --output F` keeps its meaning, and F's folder is created too.
#[test]
fn the_old_output_flag_still_writes_the_one_report() {
    let scratch = Scratch::new("it");
    scratch.write("ours.feature", OURS);

    let run = run_reporting(
        &scratch,
        "junit",
        "reports/conformance.xml",
        &["--tags", "not @nothing", "ours.feature"],
    );

    run.assert_code(1);
    let xml = scratch.read("reports/conformance.xml");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        run.stdout.contains("4 scenarios (3 passed, 1 failed)"),
        "{run}"
    );
}
