//! On a sandbox (`cw-conform serve` standing in for one), the catalog sweeps meant to be
//! refused share one record of each kind for the whole run: a run with two such sweeps
//! creates no more records than a run with one, and leaves none behind. So do the rows of a
//! Scenario Outline meant to be refused; rows whose writes go through each get their own.

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

/// A Scenario Outline acting on one contact, `rows` rows over: refused (Contacts Edit None,
/// each row denied) or allowed (full access, each row writes).
fn outline(refused: bool, rows: usize) -> String {
    let (role, outcome) = if refused {
        (
            "whose role grants:\n        | function             | add | edit | delete | inquire |\n        | Companies / Contacts | All | None | All    | All     |",
            "denied",
        )
    } else {
        ("with the role \"full-access\"", "allowed")
    };
    let mut feature = format!(
        "Feature: Rows of an outline\n\n  Rule: LP-04 withholding Edit stops editing\n\n    @LP-04\n    Scenario Outline: A contact's title becomes <title>\n      Given an API member {role}\n      And a contact \"Doe\"\n      When the AI asks to update contact \"Doe\" with:\n        | title | <title> |\n      Then the outcome is {outcome}\n\n      Examples:\n        | title |\n"
    );
    for n in 1..=rows {
        let _ = writeln!(feature, "        | Title {n} |");
    }
    feature
}

/// Runs `feature` on the sandbox, and counts the contacts it created.
async fn contacts_created(sandbox: &PlannedSandbox, caller: &Caller, feature: &str) -> i64 {
    sandbox.scratch.write("rows.feature", feature);
    let before = next_contact_id(caller).await;
    run(sandbox, "rows.feature");
    next_contact_id(caller).await - before - 1
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rows_of_a_refused_outline_share_their_records_and_rows_that_write_do_not() {
    let sandbox = PlannedSandbox::serving_a_member_for_each_role(&[]);
    let caller = sandbox.caller("setup");

    let refused_one = contacts_created(&sandbox, &caller, &outline(true, 1)).await;
    let refused_three = contacts_created(&sandbox, &caller, &outline(true, 3)).await;
    let allowed_one = contacts_created(&sandbox, &caller, &outline(false, 1)).await;
    let allowed_three = contacts_created(&sandbox, &caller, &outline(false, 3)).await;

    assert_eq!(
        refused_one, 1,
        "one refused row arranged {refused_one} contacts"
    );
    assert_eq!(
        refused_three, refused_one,
        "three refused rows created {refused_three} contacts, one created {refused_one}: the rows did not share"
    );
    assert_eq!(
        allowed_three,
        3 * allowed_one,
        "three rows that write created {allowed_three} contacts, one created {allowed_one}: each must have its own"
    );
    let _ = sandbox.served.stop();
}
