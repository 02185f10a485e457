//! Adopting the suite in CI: a baseline of known failures (`run --baseline`,
//! `--write-baseline`), a run sharded over jobs (`run --partition K/N`), and the shards'
//! reports merged (`report merge`), each run as its own process as a CI job runs it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cli::{Finished, Scratch, cw_conform_finished};
use crate::support::run_reporting;

/// Every rule's verdict in a JSON report, by ID.
fn verdicts(report: &Value) -> BTreeMap<String, String> {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every scenario of a JSON report, as `feature:line`.
fn scenarios(report: &Value) -> Vec<String> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{}:{}", s["feature"].as_str().unwrap(), s["line"]))
        .collect()
}

fn json(scratch: &Scratch, name: &str) -> Value {
    serde_json::from_str(&scratch.read(name)).unwrap()
}

fn run_shards(scratch: &Scratch, total: usize, extra: &[&str]) -> Vec<Finished> {
    (1..=total)
        .map(|shard| {
            let partition = format!("{shard}/{total}");
            let output = format!("shard-{shard}.json");
            let args = [&["--partition", partition.as_str()], extra].concat();
            run_reporting(scratch, "json", &output, &args)
        })
        .collect()
}

#[test]
fn a_four_way_partition_merged_judges_as_the_unpartitioned_run() {
    let scratch = Scratch::new("it");
    let whole = run_reporting(&scratch, "json", "whole.json", &[]);
    let shards = run_shards(&scratch, 4, &[]);
    for shard in &shards {
        // One shard checks a quarter of the rules: the gate waits for the merge.
        shard.assert_code(0);
        assert!(!shard.stdout.contains("Coverage gate"), "{shard}");
    }
    let merged = cw_conform_finished(
        &scratch,
        &[
            "report",
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "shard-4.json",
            "--format",
            "json",
            "--output",
            "merged/report.json",
        ],
    );

    let whole_report = json(&scratch, "whole.json");
    let merged_report = json(&scratch, "merged/report.json");
    assert_eq!(merged.code, whole.code, "merged: {merged}\nwhole: {whole}");
    assert_eq!(verdicts(&merged_report), verdicts(&whole_report));
    assert_eq!(merged_report["conforms"], whole_report["conforms"]);
    assert_eq!(
        merged_report["totals"]["rules_checked"],
        whole_report["totals"]["rules_checked"]
    );
    // Every scenario in exactly one shard.
    let mut sharded: Vec<String> = (1..=4)
        .flat_map(|k| scenarios(&json(&scratch, &format!("shard-{k}.json"))))
        .collect();
    let count = sharded.len();
    sharded.sort();
    sharded.dedup();
    assert_eq!(count, sharded.len(), "a scenario ran in two shards");
    let mut all = scenarios(&whole_report);
    all.sort();
    assert_eq!(sharded, all);
    assert_eq!(scenarios(&merged_report).len(), all.len());

    // Without shard 3 the merged run covers less than the suite, and says so.
    let missing = cw_conform_finished(
        &scratch,
        &[
            "report",
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-4.json",
        ],
    );
    missing.assert_code(1);
    assert!(
        missing.stderr.contains(
            "error: 1 of 4 shards missing (3): the merged run does not cover the whole suite"
        ),
        "{missing}"
    );
    assert!(missing.stdout.contains("Missing shards: 3/4"), "{missing}");
}

#[test]
fn shards_that_are_not_one_partition_are_refused_naming_the_file() {
    let scratch = Scratch::new("it");
    for (partition, output) in [("1/2", "a.json"), ("1/2", "b.json"), ("1/3", "c.json")] {
        run_reporting(
            &scratch,
            "json",
            output,
            &["--tags", "@SD-02", "--partition", partition],
        )
        .assert_code(0);
    }
    let twice = cw_conform_finished(&scratch, &["report", "merge", "a.json", "b.json"]);
    twice.assert_code(2);
    assert!(
        twice
            .stderr
            .contains("failed to merge shard report b.json: it is shard 1/2, and so is a.json"),
        "{twice}"
    );
    let other = cw_conform_finished(&scratch, &["report", "merge", "a.json", "c.json"]);
    other.assert_code(2);
    assert!(
        other
            .stderr
            .contains("c.json: it is shard 1/3, but a.json is of 2 shards"),
        "{other}"
    );
    let bad = cw_conform_finished(&scratch, &["run", "--partition", "0/4"]);
    bad.assert_code(2);
    assert!(
        bad.stderr
            .contains("invalid partition \"0/4\": the shard K must be between 1 and 4"),
        "{bad}"
    );
}

/// A feature of the user's own whose two scenarios fail LP-03 (ConnectWise denies the
/// search; the feature expects it allowed) unless `expected` is denied.
fn failing_feature(first: &str, second: &str) -> String {
    format!(
        "Feature: Our integration's known gaps

  @LP-03
  Scenario: A member without access searches companies
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"Acme\"
    Then the outcome is {first}

  @LP-03
  Scenario: A member without access searches companies again
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"Globex\"
    Then the outcome is {second}
"
    )
}

/// The user's feature, judged with the baseline written for it.
const OURS_AGAINST_THE_BASELINE: [&str; 3] = ["ours.feature", "--baseline", "ci/baseline.toml"];

#[test]
fn a_baseline_expects_known_failures_and_fails_on_new_stale_and_unknown_entries() {
    let scratch = Scratch::new("it");
    scratch.write("ours.feature", &failing_feature("allowed", "allowed"));

    // Recorded, the placeholder reasons are refused until the user writes theirs.
    let recorded = cw_conform_finished(
        &scratch,
        &[
            "run",
            "--quiet",
            "ours.feature",
            "--write-baseline",
            "ci/baseline.toml",
        ],
    );
    recorded.assert_code(1);
    assert!(
        recorded
            .stderr
            .contains("wrote 2 expected failures to the baseline ci/baseline.toml"),
        "{recorded}"
    );
    let written = scratch.read("ci/baseline.toml");
    let refused = cw_conform_finished(
        &scratch,
        &[&["run"], OURS_AGAINST_THE_BASELINE.as_slice()].concat(),
    );
    refused.assert_code(2);
    assert!(
        refused.stderr.contains("failed to load baseline ci/baseline.toml: line 10: the reason for \"A member without access searches companies\" (ours.feature) and LP-03 is still"),
        "{refused}"
    );
    scratch.write(
        "ci/baseline.toml",
        &written.replace(
            "TODO: say why this failure is expected",
            "search is not gated yet (ENG-12)",
        ),
    );

    let expected = run_reporting(&scratch, "junit", "junit.xml", &OURS_AGAINST_THE_BASELINE);
    expected.assert_code(0);
    assert!(
        expected
            .stdout
            .contains("Expected failures (2 scenarios, listed in the baseline ci/baseline.toml"),
        "{expected}"
    );
    assert!(
        expected
            .stdout
            .contains("expected because: search is not gated yet (ENG-12)"),
        "{expected}"
    );
    assert!(
        expected
            .stdout
            .contains("(0 passed, 0 failed, 2 expected by the baseline)"),
        "{expected}"
    );
    let junit = scratch.read("junit.xml");
    assert_eq!(
        junit
            .matches(r#"<skipped message="expected failure: search is not gated yet (ENG-12)">"#)
            .count(),
        2,
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");

    // Sharded, each shard and the merge judge with the same baseline.
    let shards = run_shards(&scratch, 2, &OURS_AGAINST_THE_BASELINE);
    for shard in &shards {
        shard.assert_code(0);
    }
    let merged = cw_conform_finished(
        &scratch,
        &[
            "report",
            "merge",
            "shard-1.json",
            "shard-2.json",
            "--baseline",
            "ci/baseline.toml",
        ],
    );
    merged.assert_code(0);
    assert!(
        merged.stdout.contains("Expected failures (2 scenarios"),
        "{merged}"
    );

    // The second scenario is fixed: its entry is stale. An entry for a scenario the run
    // does not have names nothing.
    scratch.write("ours.feature", &failing_feature("allowed", "denied"));
    scratch.write(
        "ci/baseline.toml",
        &format!(
            "{}\n[[expected]]\nscenario = \"ours.feature:99\"\nrule = \"LP-03\"\nreason = \"gone\"\n",
            scratch.read("ci/baseline.toml")
        ),
    );
    let stale = run_reporting(&scratch, "json", "run.json", &OURS_AGAINST_THE_BASELINE);
    stale.assert_code(1);
    assert!(
        stale.stdout.contains("ci/baseline.toml:12: \"A member without access searches companies again\" (ours.feature) and LP-03: no longer fails (stale): remove it from the baseline"),
        "{stale}"
    );
    assert!(
        stale.stdout.contains(
            "ci/baseline.toml:18: ours.feature:99 and LP-03: names no scenario of this run"
        ),
        "{stale}"
    );
    let report = json(&scratch, "run.json");
    assert_eq!(report["baseline"]["problems"].as_array().unwrap().len(), 2);
    assert_eq!(report["totals"]["expected_failures"], 1);

    // A new violation fails the run whatever the baseline says of others.
    scratch.write(
        "ci/baseline.toml",
        &written
            .replace("TODO: say why this failure is expected", "known")
            .split("\n[[expected]]")
            .take(2)
            .collect::<Vec<_>>()
            .join("\n[[expected]]"),
    );
    scratch.write("ours.feature", &failing_feature("allowed", "allowed"));
    let new = cw_conform_finished(
        &scratch,
        &[&["run", "--quiet"], OURS_AGAINST_THE_BASELINE.as_slice()].concat(),
    );
    new.assert_code(1);
    assert!(
        new.stdout
            .contains("(0 passed, 1 failed, 1 expected by the baseline)"),
        "{new}"
    );
}
