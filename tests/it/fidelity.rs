//! Where the mock once was not ConnectWise (issue 10): merge needs a status, ids are never
//! reused and children go with their parent, unique identifiers, `lastUpdated` and unknown
//! fields in conditions, child collections of a missing parent, a new ticket's board
//! defaults, and the routes ConnectWise has (and has not).

use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Wire, cw_error, role};

async fn administrator() -> Wire {
    Wire::with_role(role("full-access")).await
}

fn invalid(resource: &str, code: &str, message: &str, field: &str) -> Value {
    json!({
        "code": "InvalidObject",
        "message": format!("{resource} object is invalid"),
        "errors": [{"code": code, "message": message, "resource": resource, "field": field}],
    })
}

fn ids_of(records: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<i64> {
    records
        .iter()
        .filter(|r| keep(r))
        .filter_map(|r| r["id"].as_i64())
        .collect()
}

// ------------------------------------------------------------------ 1. merge needs a status

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_without_a_status_is_invalid_object_naming_the_field() {
    let wire = administrator().await;

    let reply = wire
        .post("/service/tickets/1007/merge")
        .json(&json!({"mergeTicketIds": [1006]}))
        .send()
        .await;

    reply.assert(
        400,
        &invalid(
            "ticketMerge",
            "NullRequiredField",
            "status is required.",
            "status",
        ),
    );
    let child = wire.mock().record("tickets", 1006).unwrap();
    assert!(child.get("mergedParentTicket").is_none(), "{child}");
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_gives_the_merged_tickets_the_status_of_the_parents_board() {
    let wire = administrator().await;

    let elsewhere = wire
        .post("/service/tickets/1007/merge")
        .json(&json!({"mergeTicketIds": [1006], "status": {"id": 6}}))
        .send()
        .await;
    let merged = wire
        .post("/service/tickets/1007/merge")
        .json(&json!({"mergeTicketIds": [1006], "status": {"name": "In Progress"}}))
        .send()
        .await;

    elsewhere.assert(
        400,
        &invalid(
            "ticketMerge",
            "NotFound",
            "Service Status 6 not found for Service Board 1",
            "status/id",
        ),
    );
    merged.assert_status(200);
    let child = wire.mock().record("tickets", 1006).unwrap();
    assert_eq!(child["status"], json!({"id": 2, "name": "In Progress"}));
    assert_eq!(child["mergedParentTicket"]["id"], 1007);
    wire.shutdown();
}

// ------------------------------------------------ 2. ids are identities; children go along

#[tokio::test(flavor = "multi_thread")]
async fn an_id_is_never_given_out_again_and_a_deleted_tickets_notes_do_not_come_back() {
    let wire = administrator().await;
    let ticket = json!({"summary": "Scanner jammed", "company": {"id": 19}, "board": {"id": 1}});

    let first = wire.post("/service/tickets").json(&ticket).send().await;
    let first_id = first.json()["id"].as_i64().unwrap();
    let note = wire
        .post(&format!("/service/tickets/{first_id}/notes"))
        .json(&json!({"text": "Opened the tray", "detailDescriptionFlag": true}))
        .send()
        .await;
    let deleted = wire
        .delete(&format!("/service/tickets/{first_id}"))
        .send()
        .await;
    let second = wire.post("/service/tickets").json(&ticket).send().await;
    let second_id = second.json()["id"].as_i64().unwrap();
    let notes = wire
        .get(&format!("/service/tickets/{second_id}/notes"))
        .send()
        .await;

    note.assert_status(201);
    deleted.assert_status(204);
    assert_eq!(first_id, 1011);
    assert_eq!(second_id, 1012, "the deleted ticket's id is not reused");
    notes.assert(200, &json!([]));
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_ticket_deletes_its_notes_tasks_time_entries_and_documents() {
    let wire = administrator().await;

    let deleted = wire.delete("/service/tickets/1001").send().await;

    deleted.assert_status(204);
    let mock = wire.mock();
    assert_eq!(
        ids_of(&mock.records("ticket_notes"), |n| n["ticketId"] == 1001),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids_of(&mock.records("ticket_tasks"), |t| t["ticketId"] == 1001),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids_of(&mock.records("time_entries"), |t| t["ticket"]["id"] == 1001),
        Vec::<i64>::new()
    );
    // Ticket 1001's document goes; company 19's document (record id 19) stays.
    assert_eq!(ids_of(&mock.records("documents"), |_| true), [5002, 5003]);
    // Other tickets keep theirs.
    assert_eq!(
        ids_of(&mock.records("ticket_notes"), |n| n["ticketId"] == 1002),
        [3004, 3005, 3006]
    );
    wire.shutdown();
}

// ------------------------------------------------------------- 3. unique identifiers

#[rstest]
#[case::company(
    "/company/companies",
    json!({"identifier": "acme", "name": "Acme Again"}),
    "company",
    "Company identifier acme already in use."
)]
#[case::member(
    "/system/members",
    json!({"identifier": "JSmith", "firstName": "Jo", "lastName": "Smith"}),
    "member",
    "Member identifier JSmith already in use."
)]
#[tokio::test(flavor = "multi_thread")]
async fn creating_a_record_with_an_identifier_in_use_is_object_exists(
    #[case] path: &str,
    #[case] body: Value,
    #[case] resource: &str,
    #[case] message: &str,
) {
    let wire = administrator().await;
    let before = wire.get(&format!("{path}/count")).send().await;

    let reply = wire.post(path).json(&body).send().await;

    reply.assert(
        400,
        &invalid(resource, "ObjectExists", message, "identifier"),
    );
    let after = wire.get(&format!("{path}/count")).send().await;
    after.assert(200, &before.json());
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_an_identifier_to_one_in_use_is_object_exists_but_keeping_it_is_fine() {
    let wire = administrator().await;

    let taken = wire
        .patch("/company/companies/20")
        .json(&json!([{"op": "replace", "path": "identifier", "value": "Acme"}]))
        .send()
        .await;
    let own = wire
        .put("/company/companies/20")
        .json(&json!({"identifier": "Globex", "name": "Globex Inc."}))
        .send()
        .await;
    let fresh = wire
        .post("/company/companies")
        .json(&json!({"identifier": "Contoso", "name": "Contoso Ltd"}))
        .send()
        .await;

    taken.assert(
        400,
        &invalid(
            "company",
            "ObjectExists",
            "Company identifier Acme already in use.",
            "identifier",
        ),
    );
    assert_eq!(
        wire.mock().record("companies", 20).unwrap()["identifier"],
        "Globex"
    );
    own.assert_status(200);
    fresh.assert_status(201);
    wire.shutdown();
}

// ------------------------------------------- 4. lastUpdated, unknown fields, missing parents

#[tokio::test(flavor = "multi_thread")]
async fn last_updated_in_conditions_is_the_records_info_last_updated() {
    let wire = administrator().await;

    let bare = wire
        .get("/service/tickets")
        .query(&[("conditions", "lastUpdated > [2026-10-01T12:00:00Z]")])
        .send()
        .await;
    let info = wire
        .get("/service/tickets")
        .query(&[("conditions", "_info/lastUpdated > [2026-10-01T12:00:00Z]")])
        .send()
        .await;
    let ordered = wire
        .get("/service/tickets")
        .query(&[
            ("conditions", "LastUpdated > [2026-10-01T12:00:00Z]"),
            ("orderBy", "lastUpdated desc"),
        ])
        .send()
        .await;

    assert_eq!(bare.ids(), [1001, 1002, 1007, 1009]);
    bare.assert(200, &info.json());
    let mut expected = info.json().as_array().unwrap().clone();
    expected.sort_by(|a, b| {
        b["_info"]["lastUpdated"]
            .as_str()
            .cmp(&a["_info"]["lastUpdated"].as_str())
    });
    ordered.assert(200, &Value::Array(expected));
    wire.shutdown();
}

#[rstest]
#[case::list(
    "/service/tickets",
    "nosuchfield = 1",
    "conditions",
    "nosuchfield",
    "ticket"
)]
#[case::count(
    "/service/tickets/count",
    "summary = 'x' or bord/id = 1",
    "conditions",
    "bord/id",
    "ticket"
)]
#[case::child(
    "/service/tickets/1001/notes",
    "colour = 'red'",
    "conditions",
    "colour",
    "serviceNote"
)]
#[case::child_conditions(
    "/company/contacts",
    "communicationItems/nope = 'x'",
    "childConditions",
    "communicationItems/nope",
    "contact"
)]
#[tokio::test(flavor = "multi_thread")]
async fn a_field_unknown_to_the_collection_is_400_naming_it(
    #[case] path: &str,
    #[case] conditions: &str,
    #[case] param: &str,
    #[case] field: &str,
    #[case] noun: &str,
) {
    let wire = administrator().await;

    let reply = wire.get(path).query(&[(param, conditions)]).send().await;

    reply.assert(
        400,
        &cw_error(
            "BadRequest",
            &format!("Invalid {param}: unknown field \"{field}\" for {noun}."),
        ),
    );
    wire.shutdown();
}

#[rstest]
// A field no seeded ticket has, but the endpoint declares (a reference).
#[case::declared_reference("contact/id = 999", &[])]
// A field some tickets have and others lack.
#[case::present_on_some("closedDate != null", &[1005, 1006, 1008])]
#[tokio::test(flavor = "multi_thread")]
async fn a_field_known_to_the_collection_filters_as_before(
    #[case] conditions: &str,
    #[case] expected: &[i64],
) {
    let wire = administrator().await;

    let reply = wire
        .get("/service/tickets")
        .query(&[("conditions", conditions)])
        .send()
        .await;

    reply.assert_status(200);
    assert_eq!(reply.ids(), expected);
    wire.shutdown();
}

#[rstest]
#[case::list_notes("GET", "/service/tickets/99999/notes", "Ticket 99999 not found")]
#[case::count_notes("GET", "/service/tickets/99999/notes/count", "Ticket 99999 not found")]
#[case::add_note("POST", "/service/tickets/99999/notes", "Ticket 99999 not found")]
#[case::tasks("GET", "/service/tickets/99999/tasks", "Ticket 99999 not found")]
#[case::board_statuses("GET", "/service/boards/77/statuses", "Board 77 not found")]
#[case::team("GET", "/company/companies/99999/teams", "Company 99999 not found")]
#[tokio::test(flavor = "multi_thread")]
async fn a_child_collection_of_a_missing_parent_is_404_naming_the_parent(
    #[case] method: &str,
    #[case] path: &str,
    #[case] message: &str,
) {
    let wire = administrator().await;

    let call = wire.call(method.parse().unwrap(), path);
    let call = if method == "POST" {
        call.json(&json!({"text": "orphan"}))
    } else {
        call
    };
    let reply = call.send().await;

    reply.assert(404, &cw_error("NotFound", message));
    assert!(
        wire.mock()
            .records("ticket_notes")
            .iter()
            .all(|n| n["ticketId"] != 99999)
    );
    wire.shutdown();
}

// ------------------------------------------------------------ 5. a new ticket's defaults

#[rstest]
#[case::help_desk(1, json!({"id": 1, "name": "New"}))]
#[case::projects_intake(2, json!({"id": 6, "name": "New"}))]
#[tokio::test(flavor = "multi_thread")]
async fn a_new_ticket_gets_its_boards_defaults(#[case] board: i64, #[case] status: Value) {
    let wire = administrator().await;

    let created = wire
        .post("/service/tickets")
        .json(
            &json!({"summary": "Monitor flickers", "company": {"id": 19}, "board": {"id": board}}),
        )
        .send()
        .await;

    created.assert_status(201);
    let body = created.json();
    assert_eq!(body["status"], status);
    assert_eq!(
        body["priority"],
        json!({"id": 3, "name": "Priority 3 - Medium"})
    );
    assert_eq!(body["severity"], "Medium");
    assert_eq!(body["impact"], "Medium");
    assert_eq!(body["recordType"], "ServiceTicket");
    assert_eq!(body["closedFlag"], false);
    let read_back = wire
        .get(&format!("/service/tickets/{}", body["id"]))
        .send()
        .await;
    read_back.assert(200, &body);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_ticket_keeps_what_it_names() {
    let wire = administrator().await;

    let created = wire
        .post("/service/tickets")
        .json(&json!({
            "summary": "Server room too warm",
            "company": {"id": 19},
            "board": {"id": 1},
            "status": {"name": "In Progress"},
            "priority": {"id": 1},
            "severity": "High",
            "impact": "Low",
        }))
        .send()
        .await;

    created.assert_status(201);
    let body = created.json();
    assert_eq!(body["status"], json!({"id": 2, "name": "In Progress"}));
    assert_eq!(
        body["priority"],
        json!({"id": 1, "name": "Priority 1 - Critical"})
    );
    assert_eq!(
        (&body["severity"], &body["impact"]),
        (&json!("High"), &json!("Low"))
    );
    wire.shutdown();
}

// ------------------------------------------------------------------------- 6. routes

#[tokio::test(flavor = "multi_thread")]
async fn members_cannot_be_deleted() {
    let wire = administrator().await;

    let reply = wire.delete("/system/members/2").send().await;

    reply.assert(
        405,
        &cw_error("MethodNotAllowed", "The method DELETE is not allowed here."),
    );
    assert!(wire.mock().record("members", 2).is_some());
    wire.shutdown();
}

#[rstest]
#[case::company("/company/companies/Acme")]
#[case::department("/system/departments/SVC")]
#[case::ticket("/service/tickets/printer")]
#[tokio::test(flavor = "multi_thread")]
async fn only_members_are_looked_up_by_identifier(#[case] path: &str) {
    let wire = administrator().await;

    let reply = wire.get(path).send().await;
    let member = wire.get("/system/members/jsmith").send().await;

    reply.assert(
        404,
        &cw_error(
            "NotFound",
            &format!("The requested resource {path} was not found."),
        ),
    );
    member.assert_status(200);
    assert_eq!(member.json()["id"], 2);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn searching_tickets_by_post_is_the_list_with_the_same_conditions() {
    let wire = administrator().await;
    let conditions = "status/name = 'In Progress' or closedFlag = true";

    let by_get = wire
        .get("/service/tickets")
        .query(&[
            ("conditions", conditions),
            ("orderBy", "id desc"),
            ("pageSize", "2"),
            ("page", "2"),
        ])
        .send()
        .await;
    let by_post = wire
        .post("/service/tickets/search")
        .json(&json!({"conditions": conditions, "orderBy": "id desc", "pageSize": 2, "page": 2}))
        .send()
        .await;
    let unknown = wire
        .post("/service/tickets/search")
        .json(&json!({"conditions": "nosuchfield = 1"}))
        .send()
        .await;

    by_get.assert_status(200);
    by_post.assert(200, &by_get.json());
    assert_eq!(by_post.ids(), [1006, 1005]);
    assert!(
        by_post
            .header("link")
            .is_some_and(|l| l.contains("rel=\"next\""))
    );
    unknown.assert(
        400,
        &cw_error(
            "BadRequest",
            "Invalid conditions: unknown field \"nosuchfield\" for ticket.",
        ),
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn searching_needs_service_tickets_inquire() {
    let wire = Wire::with_role(role("least-privilege")).await;

    let reply = wire
        .post("/service/tickets/search")
        .json(&json!({"conditions": "id = 1001"}))
        .send()
        .await;

    reply.assert(403, &crate::support::security_denial());
    wire.shutdown();
}

#[rstest]
#[case::time_entries("/service/tickets/1001/timeentries", &[501])]
#[case::all_notes("/service/tickets/1002/allNotes", &[3004, 3005, 3006])]
#[case::documents("/service/tickets/1001/documents", &[5001])]
#[case::documents_of_another_ticket("/service/tickets/1003/documents", &[5003])]
#[case::no_documents("/service/tickets/1002/documents", &[])]
#[tokio::test(flavor = "multi_thread")]
async fn a_tickets_children_can_be_read_under_it(#[case] path: &str, #[case] expected: &[i64]) {
    let wire = administrator().await;

    let reply = wire.get(path).send().await;
    let write = wire.post(path).json(&json!({"text": "x"})).send().await;

    reply.assert_status(200);
    assert_eq!(reply.ids(), expected);
    write.assert(
        405,
        &cw_error("MethodNotAllowed", "The method POST is not allowed here."),
    );
    wire.shutdown();
}
