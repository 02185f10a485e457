//! `cw-conform parity` against `cw-conform serve` standing in for a sandbox with the members
//! `sandbox plan` lists: unchanged, it reports no difference, also in the bodies of the
//! writes; with one behaviour changed on purpose (`serve --drift security-code`), it reports
//! exactly that difference.

use serde_json::Value;

use crate::cli::Running;
use crate::sandbox::PlannedSandbox;

/// The audit and connection scenarios: reads and refusals (403) on both sides, in the time a
/// test may take (the whole suite runs one scenario at a time on a sandbox).
const READS_AND_REFUSALS: &str = "@OV-04 or @CL-01 or @LP-01";

/// `cw-conform parity --tags TAGS --allow-writes --format json` against the planned sandbox:
/// its exit code, its report and its standard error.
fn parity(sandbox: &PlannedSandbox, tags: &str) -> (i32, Value, String) {
    let finished = Running::start(sandbox.command(&[
        "parity",
        "--tags",
        tags,
        "--allow-writes",
        "--format",
        "json",
        "--output",
        "parity.json",
    ]))
    .finish();
    assert!(
        sandbox.scratch.path().join("parity.json").exists(),
        "parity wrote no report: {finished}"
    );
    let report: Value = serde_json::from_str(&sandbox.scratch.read("parity.json"))
        .unwrap_or_else(|e| panic!("the parity report is not JSON ({e}): {finished}"));
    (finished.code.unwrap_or(-1), report, finished.stderr.clone())
}

/// `(scenario line, aspect, request, mock, sandbox)` of every difference listed.
fn differences(report: &Value) -> Vec<(String, String, String, String, String)> {
    report["scenarios"]
        .as_array()
        .expect("a scenarios list")
        .iter()
        .flat_map(|s| {
            let place = format!("{}:{}", s["feature"].as_str().unwrap(), s["line"]);
            s["differences"].as_array().unwrap().iter().map(move |d| {
                (
                    place.clone(),
                    d["aspect"].as_str().unwrap().to_owned(),
                    d["request"]["request"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    d["mock"].as_str().unwrap().to_owned(),
                    d["sandbox"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect()
}

#[test]
fn against_serve_unchanged_parity_reports_no_difference() {
    let sandbox = PlannedSandbox::serving_a_member_for_each_role(&[]);

    let (code, report, stderr) = parity(&sandbox, READS_AND_REFUSALS);

    assert_eq!(differences(&report), [], "{report:#}");
    assert_eq!(report["differs"], false);
    assert_eq!(code, 0, "{stderr}");
    let compared = report["scenarios"].as_array().unwrap().len();
    assert!(compared > 0, "nothing ran on both: {report:#}");
    let one_sided = report["one_sided"].as_array().unwrap();
    assert!(
        one_sided
            .iter()
            .all(|s| s["ran_on"] == "mock" && !s["reason"].as_str().unwrap().is_empty()),
        "{one_sided:#?}"
    );
    eprintln!(
        "parity against serve: {compared} scenarios compared, {} ran on the mock only",
        one_sided.len()
    );
    let _ = sandbox.served.stop();
}

#[test]
fn against_serve_with_a_drifted_403_code_parity_reports_exactly_that() {
    let sandbox = PlannedSandbox::serving_a_member_for_each_role(&["--drift", "security-code"]);

    let (code, report, stderr) = parity(&sandbox, READS_AND_REFUSALS);

    let found = differences(&report);
    assert!(!found.is_empty(), "the drift was not found: {report:#}");
    for (place, aspect, request, mock, drifted) in &found {
        assert_eq!(
            (aspect.as_str(), mock.as_str(), drifted.as_str()),
            (
                "error body",
                "keys [code, errors, message], code Security",
                "keys [code, errors, message], code Forbidden"
            ),
            "{place}: request {request}"
        );
    }
    assert_eq!(report["differs"], true);
    assert_eq!(code, 1, "{stderr}");
    let _ = sandbox.served.stop();
}

/// Scenarios that create tickets and notes, update and merge tickets and link devices to
/// them, on records each target arranged (ids of its own, the sandbox's marked with the
/// run's token): the bodies the integration sent are compared, and do not differ.
#[test]
fn against_serve_unchanged_the_bodies_of_creates_and_updates_do_not_differ() {
    let sandbox = PlannedSandbox::serving_a_member_for_each_role(&[]);

    let (code, report, stderr) = parity(&sandbox, "@SD-01 or @SD-03 or @SD-04");

    assert_eq!(differences(&report), [], "{report:#}");
    assert_eq!(code, 0, "{stderr}");
    let scenarios = report["scenarios"].as_array().unwrap();
    let with_bodies = scenarios
        .iter()
        .filter(|s| s["bodies_compared"].as_u64().unwrap() > 0)
        .count();
    // Two creates of a ticket, five updates of one, three notes (the scenarios denied
    // their writes send bodies too).
    assert!(
        with_bodies >= 10,
        "only {with_bodies} of {} scenarios had request bodies compared: {report:#}",
        scenarios.len()
    );
    let _ = sandbox.served.stop();
}

/// `serve --drift start-status` starts every new ticket at its board's default status, and
/// changes nothing else. The merge scenarios arrange their tickets with statuses of their
/// own; a merge that names no status sends the parent ticket's current status, so where the
/// merge is refused (without Merge Tickets) the only trace of the drift is that status, in
/// the body of the refused request: parity must report exactly that, by the status's name.
#[test]
fn against_serve_with_a_drifted_start_status_parity_reports_exactly_the_status_sent() {
    let sandbox = PlannedSandbox::serving_a_member_for_each_role(&["--drift", "start-status"]);

    let (code, report, stderr) = parity(&sandbox, "@SD-03");

    let bodies: Vec<(String, Value)> = report["scenarios"]
        .as_array()
        .expect("a scenarios list")
        .iter()
        .flat_map(|s| {
            let place = format!("{}:{}", s["feature"].as_str().unwrap(), s["line"]);
            s["differences"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |d| (place.clone(), d.clone()))
        })
        .collect();
    assert_eq!(bodies.len(), 1, "one difference expected: {report:#}");
    let (place, found) = &bodies[0];
    assert!(
        place.starts_with("features/service_desk_dependencies.feature:"),
        "{place}: {found:#}"
    );
    assert_eq!(found["aspect"], "request body", "{found:#}");
    assert_eq!(
        found["request"]["request"], "POST /service/tickets/{id}/merge",
        "{found:#}"
    );
    assert_eq!(found["pointer"], "/status/id", "{found:#}");
    assert_eq!(
        found["mock"], "\"{status \\\"In Progress\\\"}\"",
        "{found:#}"
    );
    assert_eq!(found["sandbox"], "\"{status \\\"New\\\"}\"", "{found:#}");
    assert_eq!(report["differs"], true);
    assert_eq!(code, 1, "{stderr}");
    let _ = sandbox.served.stop();
}
