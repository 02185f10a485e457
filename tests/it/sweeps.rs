//! On a sandbox (`cw-conform serve` standing in for one), the catalog sweeps meant to be
//! refused share one record of each kind for the whole run: a run with two such sweeps
//! creates no more records than a run with one, and leaves none behind.

use std::fmt::Write as _;

use reqwest::Method;
use serde_json::json;

use crate::cli::{Caller, Running};
use crate::sandbox::PlannedSandbox;

/// A catalog sweep meant to be refused, `count` times over.
fn sweeps(count: usize) -> String {
    let mut feature =
        String::from("Feature: Refused sweeps\n\n  Rule: OV-03 a read-only role writes nothing\n");
    for n in 1..=count {
        let _ = write!(
            feature,
            "\n    @OV-03\n    Scenario: Refused sweep {n}\n      Given an API member with the role \"customer-sync\"\n      Then every write in the catalog is denied or blocked\n      And nothing was written to ConnectWise\n"
        );
    }
    feature
}

/// The id the sandbox gives the next contact: a contact made (and removed) to read it. The
/// mock numbers a collection's records above every id it has held, removed ones included,
/// so the difference between two of these counts the contacts created in between.
async fn next_contact_id(caller: &Caller) -> i64 {
    let made = caller
        .send(
            Method::POST,
            "/company/contacts",
            &[],
            Some(&json!({"firstName": "Probe", "lastName": "Counter"})),
        )
        .await;
    assert_eq!(
        made.status, 201,
        "the probe contact was not made: {}",
        made.text
    );
    let id = made.json()["id"]
        .as_i64()
        .expect("the probe contact has an id");
    let removed = caller
        .send(
            Method::DELETE,
            &format!("/company/contacts/{id}"),
            &[],
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    id
}

/// Runs the features at `file` against the planned sandbox, with writes allowed.
fn run(sandbox: &PlannedSandbox, file: &str) {
    let finished =
        Running::start(sandbox.command(&["run", "--allow-writes", "--quiet", file])).finish();
    assert_eq!(finished.code, Some(0), "{finished}");
    assert!(
        finished
            .stderr
            .contains("the run's ledger shows nothing left behind"),
        "{finished}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_refused_sweeps_create_the_records_of_one() {
    let sandbox = PlannedSandbox::serving_a_member_for_each_role(&[]);
    let caller = sandbox.caller("setup");
    sandbox.scratch.write("one.feature", &sweeps(1));
    sandbox.scratch.write("two.feature", &sweeps(2));

    let before = next_contact_id(&caller).await;
    run(&sandbox, "one.feature");
    let after_one = next_contact_id(&caller).await;
    run(&sandbox, "two.feature");
    let after_two = next_contact_id(&caller).await;

    let by_one = after_one - before - 1;
    let by_two = after_two - after_one - 1;
    assert!(by_one > 0, "a refused sweep arranged no contact to act on");
    assert_eq!(
        by_two, by_one,
        "two refused sweeps created {by_two} contacts, one created {by_one}: the second did not share the first's"
    );
    let _ = sandbox.served.stop();
}
