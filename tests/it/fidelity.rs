//! Where the mock once was not ConnectWise (issue 10): merge needs a status, ids are never
//! reused and children go with their parent, unique identifiers, `lastUpdated` and unknown
//! fields in conditions, child collections of a missing parent, a new ticket's board
//! defaults, and the routes ConnectWise has (and has not); and the switches for what the
//! documents leave open: who reads setup tables, the shapes of a refused sign-in, and the
//! close rule.

use cw_conform::connectwise::API_PREFIX;
use cw_conform::connectwise::security::{BadCredentials, CloseRuleSource, SetupTableReads};
use cw_conform::model::{Level, Levels};
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{AI, Wire, cw_error, role, role_granting};

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

// ------------------------------------------------------------------ issue 10, fidelity item 2:
// setup tables are readable at inquiry level without Table Setup (the developer guide)

#[rstest]
#[case::the_developer_guide(SetupTableReads::Open, &[200, 200, 200, 200, 200, 200, 200])]
#[case::table_setup_only(SetupTableReads::TableSetup, &[403, 403, 403, 403, 403, 403, 403])]
#[case::service_desk_rights_only(SetupTableReads::ServiceDesk, &[403, 403, 403, 403, 403, 200, 200])]
#[tokio::test(flavor = "multi_thread")]
async fn setup_tables_are_read_as_the_switch_says(
    #[case] reads: SetupTableReads,
    #[case] statuses: &[u16],
) {
    let wire = Wire::with_settings(role("no-access"), |s| s.setup_table_reads = reads).await;
    let tables = [
        "/service/boards",
        "/service/boards/1/statuses",
        "/service/boards/1/types",
        "/service/boards/1/subtypes",
        "/service/priorities",
        "/time/workTypes",
        "/time/workRoles",
    ];

    let mut answered = Vec::new();
    for table in tables {
        answered.push(wire.get(table).send().await.status);
    }

    assert_eq!(answered, statuses, "{tables:?}");
    // Other collections keep their function, and writes still need Table Setup.
    wire.get("/company/companies")
        .send()
        .await
        .assert_status(403);
    wire.post("/service/boards")
        .json(&json!({"name": "After Hours"}))
        .send()
        .await
        .assert_status(403);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_service_desk_rights_only_service_tickets_inquire_reads_the_board_statuses() {
    let tickets = role_granting(
        "Service Desk / Service Tickets",
        Levels {
            inquire: Level::All,
            ..Levels::default()
        },
    );
    let wire = Wire::with_settings(tickets, |s| {
        s.setup_table_reads = SetupTableReads::ServiceDesk;
    })
    .await;

    let reply = wire.get("/service/boards/1/statuses").send().await;

    reply.assert_status(200);
    assert!(
        reply.json().as_array().is_some_and(|s| !s.is_empty()),
        "{reply}"
    );
    wire.shutdown();
}

// ------------------------------------------------------------------ issue 10, fidelity item 3:
// every shape in which ConnectWise refuses credentials

#[rstest]
#[case::unauthorized(
    BadCredentials::Unauthorized,
    401,
    cw_error("Unauthorized", "Unauthorized")
)]
#[case::user_not_authenticated(
    BadCredentials::UserNotAuthenticated,
    401,
    cw_error("ConnectWiseApi", "UserNotAuthenticated")
)]
#[case::cloud_not_found(
    BadCredentials::NotFound,
    404,
    cw_error("NotFound", "The requested resource /system/info was not found.")
)]
#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_are_answered_in_the_shape_the_switch_says(
    #[case] shape: BadCredentials,
    #[case] status: u16,
    #[case] body: Value,
) {
    let wire = Wire::with_settings(role("least-privilege"), |s| s.bad_credentials = shape).await;
    let mut credentials = wire.credentials(AI);
    credentials.private_key = cw_conform::connectwise::Secret::new("not-the-key");

    let reply = wire
        .bare(reqwest::Method::GET, &format!("{API_PREFIX}/system/info"))
        .header("clientId", "any")
        .header("Authorization", credentials.authorization().expose())
        .send()
        .await;

    reply.assert_status(status);
    assert_eq!(reply.json(), body);
    // The right keys still sign in.
    wire.get("/system/info").send().await.assert_status(200);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_requiring_ssl_refuses_every_request_over_http_whatever_the_credentials() {
    let wire = Wire::with_settings(role("full-access"), |s| s.require_ssl = true).await;

    for path in [
        "/system/info",
        "/company/companies",
        "/service/tickets/1004",
    ] {
        let reply = wire.get(path).send().await;
        reply.assert_status(403);
        assert_eq!(
            reply.json(),
            cw_error("Security", "SSL is required."),
            "{path}"
        );
    }
    assert!(
        wire.mock().journal().iter().all(|e| e.member.is_none()),
        "no request was authenticated"
    );
    wire.shutdown();
}

// ------------------------------------------------------------------ issue 10, fidelity item 7:
// SD-02's close rule: the older table (Close Service Tickets) or the newer document
// (Service Tickets Edit)

fn granting_edit(function: &str) -> cw_conform::model::SecurityRole {
    role_granting(
        function,
        Levels {
            edit: Level::All,
            inquire: Level::All,
            ..Levels::default()
        },
    )
}

#[rstest]
#[case::older_table_close_function(
    CloseRuleSource::OlderTable,
    "Service Desk / Close Service Tickets",
    200
)]
#[case::older_table_edit_only(CloseRuleSource::OlderTable, "Service Desk / Service Tickets", 403)]
#[case::newer_document_close_function(
    CloseRuleSource::NewerDocument,
    "Service Desk / Close Service Tickets",
    403
)]
#[case::newer_document_edit(CloseRuleSource::NewerDocument, "Service Desk / Service Tickets", 200)]
#[tokio::test(flavor = "multi_thread")]
async fn closing_a_ticket_needs_the_function_the_close_rule_names(
    #[case] source: CloseRuleSource,
    #[case] granted: &str,
    #[case] status: u16,
) {
    let wire = Wire::with_settings(granting_edit(granted), |s| s.close_rule = source).await;

    let reply = wire
        .patch("/service/tickets/1004")
        .json(&json!([{"op": "replace", "path": "status", "value": {"id": 4}}]))
        .send()
        .await;

    reply.assert_status(status);
    let closed = wire.mock().record("tickets", 1004).unwrap()["closedFlag"].clone();
    assert_eq!(closed, json!(status == 200), "{reply}");
    wire.shutdown();
}

// ------------------------------------------------------------------ issue 10, fidelity item 6:
// Customize allow-lists: a role limited to some items of a function

/// `role` with one function limited to some items of its Customize allow-list.
fn limited(
    mut role: cw_conform::model::SecurityRole,
    function: &str,
    items: &[&str],
) -> cw_conform::model::SecurityRole {
    role.limit_items(
        crate::support::function_named(function),
        items.iter().map(|i| (*i).to_owned()).collect(),
    );
    role
}

#[tokio::test(flavor = "multi_thread")]
async fn records_of_items_the_role_is_not_limited_to_are_not_there_for_it() {
    let role = limited(
        role("full-access"),
        "Finance / Agreements",
        &["Managed Services", "Block Time"],
    );
    let wire = Wire::with_role(role).await;

    let listed = wire.get("/finance/agreements").send().await;
    let counted = wire.get("/finance/agreements/count").send().await;
    let outside = wire.get("/finance/agreements/303").send().await;
    let inside = wire.get("/finance/agreements/301").send().await;
    let written = wire
        .patch("/finance/agreements/303")
        .json(&json!([{"op": "replace", "path": "name", "value": "Renamed"}]))
        .send()
        .await;
    let created = wire
        .post("/finance/agreements")
        .json(&json!({
            "name": "Initech - Incidents 2027",
            "type": {"id": 3, "name": "Incident Based"},
            "company": {"id": 20},
            "contact": {"id": 104},
        }))
        .send()
        .await;

    assert_eq!(listed.ids(), vec![301, 302], "{listed}");
    assert_eq!(counted.json(), json!({"count": 2}), "{counted}");
    outside.assert(404, &cw_error("NotFound", "Agreement 303 not found"));
    inside.assert_status(200);
    written.assert_status(403);
    created.assert_status(403);
    assert_eq!(
        wire.mock().record("agreements", 303).unwrap()["name"],
        "Initech - Incident Pack"
    );
    wire.shutdown();
}

#[rstest]
#[case::limited_to_the_boards(&["Service / Service Board"], 201, 200)]
#[case::limited_to_priorities(&["Service / Priority"], 403, 403)]
#[tokio::test(flavor = "multi_thread")]
async fn table_setup_limited_to_some_tables_maintains_only_those(
    #[case] items: &[&str],
    #[case] add_board: u16,
    #[case] read_boards: u16,
) {
    let table_setup = limited(
        role_granting("System / Table Setup", Levels::uniform(Level::All)),
        "System / Table Setup",
        items,
    );
    let wire = Wire::with_settings(table_setup, |s| {
        s.setup_table_reads = SetupTableReads::TableSetup;
    })
    .await;

    let added = wire
        .post("/service/boards")
        .json(&json!({"name": "Projects"}))
        .send()
        .await;
    let read = wire.get("/service/boards").send().await;
    let priorities = wire.get("/service/priorities").send().await;

    added.assert_status(add_board);
    read.assert_status(read_boards);
    let priorities_allowed = items.contains(&"Service / Priority");
    priorities.assert_status(if priorities_allowed { 200 } else { 403 });
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn table_setup_limits_do_not_close_the_tables_anyone_may_read() {
    let table_setup = limited(
        role_granting("System / Table Setup", Levels::uniform(Level::All)),
        "System / Table Setup",
        &["Service / Priority"],
    );
    let wire = Wire::with_role(table_setup).await;

    wire.get("/service/boards").send().await.assert_status(200);
    wire.post("/service/boards")
        .json(&json!({"name": "Projects"}))
        .send()
        .await
        .assert_status(403);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn my_security_lists_the_items_the_role_allows() {
    let role = limited(
        role("least-privilege"),
        "Companies / Configurations",
        &["Firewall"],
    );
    let wire = Wire::with_role(role).await;

    let items = wire.get("/system/mySecurity/customizeItems").send().await;

    let of = |customize: &str| -> Vec<String> {
        items
            .json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["customizeIdentifier"] == customize)
            .map(|i| i["itemIdentifier"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(of("Configurations"), vec!["Firewall"], "{items}");
    assert_eq!(
        of("Agreements"),
        vec!["Managed Services", "Block Time", "Incident Based"],
        "{items}"
    );
    wire.shutdown();
}
