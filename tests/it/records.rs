//! One record on the wire: read, create, change, replace, delete, and closing a ticket
//! with Close Service Tickets alone.

use cw_conform::model::{Level, Levels};
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{AI, Wire, cw_error, function_named, role, security_denial};

async fn administrator() -> Wire {
    Wire::with_role(role("full-access")).await
}

fn seeded_ticket(id: i64) -> Value {
    cw_conform::fixtures::Fixtures::builtin().unwrap().seed["tickets"]
        .iter()
        .find(|t| t["id"] == id)
        .map(|t| Value::clone(t))
        .unwrap()
}

/// A ConnectWise datetime: `2026-11-23T16:04:09Z`.
fn is_connectwise_datetime(value: &Value) -> bool {
    value.as_str().is_some_and(|text| {
        let bytes = text.as_bytes();
        bytes.len() == 20
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                10 => *b == b'T',
                13 | 16 => *b == b':',
                19 => *b == b'Z',
                _ => b.is_ascii_digit(),
            })
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn get_one_returns_the_record() {
    let wire = administrator().await;

    let reply = wire.get("/service/tickets/1004").send().await;

    reply.assert(200, &seeded_ticket(1004));
    wire.shutdown();
}

#[rstest]
#[case::ticket("/service/tickets/99999", "Ticket 99999 not found")]
#[case::company("/company/companies/99999", "Company 99999 not found")]
#[case::time_entry("/time/entries/99999", "TimeEntry 99999 not found")]
#[case::member_by_identifier("/system/members/nobody", "Member nobody not found")]
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_record_is_404_with_the_noun_capitalised(
    #[case] path: &str,
    #[case] message: &str,
) {
    let wire = administrator().await;

    let reply = wire.get(path).send().await;

    reply.assert(404, &cw_error("NotFound", message));
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn post_creates_the_record_with_an_id_info_and_normalised_references() {
    let wire = administrator().await;

    let created = wire
        .post("/service/tickets")
        .json(&json!({
            "summary": "Printer offline",
            "company": {"id": 19},
            "board": {"id": 1},
            "status": {"name": "New"},
            "owner": {"identifier": "ai-integration"},
            "priority": 3,
        }))
        .send()
        .await;

    created.assert_status(201);
    let mut body = created.json();
    let info = body.as_object_mut().unwrap().remove("_info").unwrap();
    assert_eq!(
        body,
        json!({
            "summary": "Printer offline",
            "company": {"id": 19, "identifier": "Acme", "name": "Acme Corporation"},
            "board": {"id": 1, "name": "Help Desk"},
            "status": {"id": 1, "name": "New"},
            "owner": {"id": 150, "identifier": "ai-integration", "name": "AI Integration"},
            "priority": {"id": 3, "name": "Priority 3 - Medium"},
            "recordType": "ServiceTicket",
            "severity": "Medium",
            "impact": "Medium",
            "closedFlag": false,
            "id": 1011,
        })
    );
    assert_eq!(info["enteredBy"], AI);
    assert_eq!(info["updatedBy"], AI);
    assert!(is_connectwise_datetime(&info["dateEntered"]), "{info}");
    assert_eq!(info["lastUpdated"], info["dateEntered"]);
    let read_back = wire.get("/service/tickets/1011").send().await;
    read_back.assert(200, &created.json());
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_named_on_another_board_is_found_on_the_tickets_board() {
    let wire = administrator().await;

    // Boards 1, 2 and 3 each have a status called "New"; board 2's is status 6.
    let created = wire
        .post("/service/tickets")
        .json(&json!({
            "summary": "Intake request",
            "company": {"id": 21},
            "board": {"id": 2},
            "status": {"name": "New"},
        }))
        .send()
        .await;

    created.assert_status(201);
    assert_eq!(created.json()["status"], json!({"id": 6, "name": "New"}));
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn post_without_a_required_field_is_invalid_object_naming_the_field() {
    let wire = administrator().await;

    let reply = wire
        .post("/service/tickets")
        .json(&json!({"company": {"id": 19}}))
        .send()
        .await;

    reply.assert(
        400,
        &json!({
            "code": "InvalidObject",
            "message": "ticket object is invalid",
            "errors": [{
                "code": "NullRequiredField",
                "message": "summary is required.",
                "resource": "ticket",
                "field": "summary",
            }],
        }),
    );
    assert!(wire.mock().record("tickets", 1011).is_none());
    wire.shutdown();
}

#[rstest]
#[case::unknown_status(json!({"id": 999}), "Service Status 999 not found for Service Board 1")]
#[case::status_of_another_board(json!({"id": 6}), "Service Status 6 not found for Service Board 1")]
#[case::unknown_status_name(json!({"name": "Parked"}), "Service Status Parked not found for Service Board 1")]
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_reference_is_invalid_object_naming_the_field(
    #[case] status: Value,
    #[case] message: &str,
) {
    let wire = administrator().await;

    let reply = wire
        .post("/service/tickets")
        .json(&json!({
            "summary": "Printer offline",
            "company": {"id": 19},
            "board": {"id": 1},
            "status": status,
        }))
        .send()
        .await;

    reply.assert(
        400,
        &json!({
            "code": "InvalidObject",
            "message": "ticket object is invalid",
            "errors": [{
                "code": "NotFound",
                "message": message,
                "resource": "ticket",
                "field": "status/id",
            }],
        }),
    );
    wire.shutdown();
}

#[rstest]
#[case::malformed_json("{\"summary\": ", "The request body is not valid JSON: ")]
#[case::array_body("[{\"summary\": \"x\"}]", "The request body must be a JSON object.")]
#[case::string_body("\"Printer offline\"", "The request body must be a JSON object.")]
#[case::empty_body("", "The request body is empty; a JSON body is required.")]
#[tokio::test(flavor = "multi_thread")]
async fn post_with_a_body_that_is_not_an_object_is_400(#[case] body: &str, #[case] message: &str) {
    let wire = administrator().await;

    let reply = wire.post("/service/tickets").raw_json(body).send().await;

    reply.assert_status(400);
    let error = reply.json();
    assert_eq!(error["code"], "BadRequest", "{reply}");
    assert_eq!(error["errors"], Value::Null, "{reply}");
    assert_eq!(
        error.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["code", "message", "errors"]
    );
    assert!(
        error["message"].as_str().unwrap().starts_with(message),
        "{reply}"
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_applies_operations_with_bare_paths_and_persists() {
    let wire = administrator().await;

    let patched = wire
        .patch("/service/tickets/1004")
        .json(&json!([
            {"op": "replace", "path": "summary", "value": "VPN drops every hour"},
            {"op": "add", "path": "impact", "value": "High"},
            {"op": "remove", "path": "agreement"},
        ]))
        .send()
        .await;

    patched.assert_status(200);
    let mut expected = seeded_ticket(1004);
    expected["summary"] = json!("VPN drops every hour");
    expected["impact"] = json!("High");
    expected.as_object_mut().unwrap().remove("agreement");
    let mut body = patched.json();
    let info = body.as_object_mut().unwrap().remove("_info").unwrap();
    expected.as_object_mut().unwrap().remove("_info");
    assert_eq!(body, expected);
    assert_eq!(info["updatedBy"], AI);
    assert_eq!(info["enteredBy"], "ldavis", "_info is kept: {info}");
    assert_ne!(info["lastUpdated"], "2026-10-01T10:40:00Z");
    wire.get("/service/tickets/1004")
        .send()
        .await
        .assert(200, &patched.json());
    wire.shutdown();
}

#[rstest]
#[case::object_body(
    json!({"summary": "x"}),
    "A PATCH body must be a JSON array of operations: [{\"op\": \"replace\", \"path\": \"summary\", \"value\": \"…\"}]."
)]
#[case::unknown_op(
    json!([{"op": "move", "from": "summary", "path": "impact"}]),
    "Patch operation 0: unsupported op \"move\" (expected add, replace or remove)."
)]
#[case::no_path(
    json!([{"op": "replace", "value": "x"}]),
    "Patch operation 0 has no path."
)]
#[case::not_an_operation(json!(["summary"]), "Patch operation 0 is not an object.")]
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_patch_is_400_and_changes_nothing(#[case] body: Value, #[case] message: &str) {
    let wire = administrator().await;

    let reply = wire.patch("/service/tickets/1004").json(&body).send().await;

    reply.assert(400, &cw_error("BadRequest", message));
    assert_eq!(
        wire.mock().record("tickets", 1004).unwrap(),
        seeded_ticket(1004)
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn put_replaces_the_record() {
    let wire = administrator().await;

    let replaced = wire
        .put("/service/tickets/1004")
        .json(&json!({
            "summary": "VPN replaced",
            "company": {"id": 19},
            "board": {"id": 1},
            "status": {"id": 3},
        }))
        .send()
        .await;

    replaced.assert_status(200);
    let mut body = replaced.json();
    let info = body.as_object_mut().unwrap().remove("_info").unwrap();
    assert_eq!(
        body,
        json!({
            "summary": "VPN replaced",
            "company": {"id": 19, "identifier": "Acme", "name": "Acme Corporation"},
            "board": {"id": 1, "name": "Help Desk"},
            "status": {"id": 3, "name": "Waiting on Client"},
            "id": 1004,
            "closedFlag": false,
        })
    );
    assert_eq!(info["updatedBy"], AI);
    // `_info` is read-only: who entered the record, and when, survives a replace.
    assert_eq!(info["enteredBy"], "ldavis", "{info}");
    assert_eq!(info["dateEntered"], "2026-09-22T08:05:00Z", "{info}");
    wire.get("/service/tickets/1004")
        .send()
        .await
        .assert(200, &replaced.json());
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn put_without_a_required_field_is_invalid_object() {
    let wire = administrator().await;

    let reply = wire
        .put("/service/tickets/1004")
        .json(&json!({"summary": "VPN replaced"}))
        .send()
        .await;

    reply.assert(
        400,
        &json!({
            "code": "InvalidObject",
            "message": "ticket object is invalid",
            "errors": [{
                "code": "NullRequiredField",
                "message": "company is required.",
                "resource": "ticket",
                "field": "company",
            }],
        }),
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_is_204_and_the_record_is_gone() {
    let wire = administrator().await;

    let deleted = wire.delete("/service/tickets/1004").send().await;
    let read = wire.get("/service/tickets/1004").send().await;
    let again = wire.delete("/service/tickets/1004").send().await;

    deleted.assert_status(204);
    assert_eq!(deleted.text, "");
    read.assert(404, &cw_error("NotFound", "Ticket 1004 not found"));
    again.assert(404, &cw_error("NotFound", "Ticket 1004 not found"));
    wire.shutdown();
}

/// Close Service Tickets Edit All; Service Tickets Inquire All but Edit None.
fn closer() -> cw_conform::model::SecurityRole {
    cw_conform::model::SecurityRole::new("closer", "may close tickets but not edit them")
        .with_grant(
            function_named("Service Desk / Close Service Tickets"),
            Levels {
                edit: Level::All,
                ..Levels::default()
            },
        )
        .with_grant(
            function_named("Service Desk / Service Tickets"),
            Levels {
                inquire: Level::All,
                ..Levels::default()
            },
        )
}

fn set_status(status: &Value) -> Value {
    json!([{"op": "replace", "path": "status", "value": status}])
}

#[rstest]
#[case::closed_status_by_id(json!({"id": 5}), json!({"id": 5, "name": ">Closed"}))]
#[case::closed_status_by_name(json!({"name": ">Closed"}), json!({"id": 5, "name": ">Closed"}))]
#[case::another_closed_status(json!({"id": 4}), json!({"id": 4, "name": "Resolved"}))]
#[tokio::test(flavor = "multi_thread")]
async fn close_service_tickets_alone_may_close_a_ticket(
    #[case] status: Value,
    #[case] stored: Value,
) {
    let wire = Wire::with_role(closer()).await;

    // Ticket 1004 belongs to jsmith: closing needs no ownership with Close All.
    let reply = wire
        .patch("/service/tickets/1004")
        .json(&set_status(&status))
        .send()
        .await;

    assert_closed(&wire, &reply, &stored).await;
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn close_service_tickets_may_close_through_the_status_id_path() {
    let wire = Wire::with_role(closer()).await;

    let reply = wire
        .patch("/service/tickets/1004")
        .json(&json!([{"op": "replace", "path": "status/id", "value": 5}]))
        .send()
        .await;

    assert_closed(&wire, &reply, &json!({"id": 5, "name": ">Closed"})).await;
    wire.shutdown();
}

/// Asserts ticket 1004 was closed with the given status and nothing else changed.
async fn assert_closed(wire: &Wire, reply: &crate::support::Reply, stored: &Value) {
    reply.assert_status(200);
    let mut expected = seeded_ticket(1004);
    expected["status"] = stored.clone();
    expected["closedFlag"] = json!(true);
    expected["_info"] = reply.json()["_info"].clone();
    assert_eq!(reply.json(), expected);
    assert_eq!(reply.json()["_info"]["updatedBy"], AI);
    wire.get("/service/tickets/1004")
        .send()
        .await
        .assert(200, &expected);
}

#[rstest]
#[case::closing_and_editing(json!([
    {"op": "replace", "path": "status", "value": {"id": 5}},
    {"op": "replace", "path": "summary", "value": "Closed by the AI"},
]))]
#[case::moving_to_an_open_status(set_status(&json!({"id": 3})))]
#[case::editing_only(json!([{"op": "replace", "path": "summary", "value": "x"}]))]
#[tokio::test(flavor = "multi_thread")]
async fn close_service_tickets_does_not_allow_other_edits(#[case] operations: Value) {
    let wire = Wire::with_role(closer()).await;

    let reply = wire
        .patch("/service/tickets/1004")
        .json(&operations)
        .send()
        .await;

    reply.assert(403, &security_denial());
    assert_eq!(
        wire.mock().record("tickets", 1004).unwrap(),
        seeded_ticket(1004)
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn service_tickets_edit_alone_may_not_close_a_ticket() {
    let role = cw_conform::model::SecurityRole::new("editor", "edits but may not close")
        .with_grant(
            function_named("Service Desk / Service Tickets"),
            Levels::uniform(Level::All),
        );
    let wire = Wire::with_role(role).await;

    let close = wire
        .patch("/service/tickets/1004")
        .json(&set_status(&json!({"id": 5})))
        .send()
        .await;
    let reopen_other = wire
        .patch("/service/tickets/1004")
        .json(&set_status(&json!({"id": 3})))
        .send()
        .await;

    close.assert(403, &security_denial());
    reopen_other.assert_status(200);
    assert_eq!(reopen_other.json()["closedFlag"], false);
    wire.shutdown();
}
