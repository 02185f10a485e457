//! Security roles on the wire: the 403 body, which operation each HTTP method needs, the
//! `My` level, several members on one server, and `/system/mySecurity`.

use std::sync::Arc;

use cw_conform::cells::{self, Effect, Observed, ReferenceStage};
use cw_conform::fixtures::Fixtures;
use cw_conform::mock::{ApiMember, MockConfig};
use cw_conform::model::{Level, Levels, Operation};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{self, AI, SYNC, Wire, function_named, role, role_granting, security_denial};

const TICKETS: &str = "Service Desk / Service Tickets";

#[tokio::test(flavor = "multi_thread")]
async fn a_denial_is_403_with_the_security_body() {
    let wire = Wire::with_role(role("no-access")).await;

    let reply = wire.get("/service/tickets").send().await;

    reply.assert_status(403);
    assert_eq!(
        reply.json(),
        json!({
            "code": "Security",
            "message": "You do not have security permission to perform this action.",
            "errors": null,
        })
    );
    wire.shutdown();
}

/// One request per method on the tickets endpoint and the status it gets when allowed.
fn ticket_requests() -> Vec<(Method, &'static str, Option<Value>, u16)> {
    vec![
        (Method::GET, "/service/tickets/1001", None, 200),
        (
            Method::POST,
            "/service/tickets",
            Some(json!({"summary": "Printer offline", "company": {"id": 19}})),
            201,
        ),
        (
            Method::PATCH,
            "/service/tickets/1001",
            Some(json!([{"op": "replace", "path": "summary", "value": "Patched"}])),
            200,
        ),
        (
            Method::PUT,
            "/service/tickets/1001",
            Some(json!({"summary": "Replaced", "company": {"id": 19}})),
            200,
        ),
        (Method::DELETE, "/service/tickets/1002", None, 204),
    ]
}

#[rstest]
#[case::inquire(Operation::Inquire, &["GET"])]
#[case::add(Operation::Add, &["POST"])]
#[case::edit(Operation::Edit, &["PATCH", "PUT"])]
#[case::delete(Operation::Delete, &["DELETE"])]
#[tokio::test(flavor = "multi_thread")]
async fn each_method_needs_its_operation(#[case] granted: Operation, #[case] allowed: &[&str]) {
    let mut levels = Levels::default();
    levels.set(granted, Level::All);
    let wire = Wire::with_role(role_granting(TICKETS, levels)).await;

    for (method, path, body, success) in ticket_requests() {
        let mut call = wire.call(method.clone(), path);
        if let Some(body) = &body {
            call = call.json(body);
        }
        let reply = call.send().await;

        if allowed.contains(&method.as_str()) {
            assert_eq!(
                reply.status, success,
                "{method} {path} with {granted}: {reply}"
            );
        } else {
            assert_eq!(
                (reply.status, reply.json()),
                (403, security_denial()),
                "{method} {path} with only {granted}"
            );
        }
    }
    wire.shutdown();
}

fn inquire_my_tickets() -> cw_conform::model::SecurityRole {
    role_granting(
        TICKETS,
        Levels {
            inquire: Level::My,
            ..Levels::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn inquire_my_lists_only_tickets_owned_by_or_assigned_to_the_member() {
    let wire = Wire::with_role(inquire_my_tickets()).await;

    let list = wire.get("/service/tickets").send().await;
    let count = wire.get("/service/tickets/count").send().await;

    list.assert_status(200);
    // 1001 and 1002 are owned by the member; 1003 lists it among its resources.
    assert_eq!(list.ids(), [1001, 1002, 1003]);
    count.assert(200, &json!({"count": 3}));
    wire.shutdown();
}

#[rstest]
#[case::owned(1001, 200)]
#[case::assigned_as_resource(1003, 200)]
#[case::someone_elses(1004, 403)]
#[tokio::test(flavor = "multi_thread")]
async fn inquire_my_reads_only_the_members_own_ticket(#[case] id: i64, #[case] status: u16) {
    let wire = Wire::with_role(inquire_my_tickets()).await;

    let reply = wire.get(&format!("/service/tickets/{id}")).send().await;

    reply.assert_status(status);
    if status == 200 {
        assert_eq!(reply.json()["id"], id);
    } else {
        assert_eq!(reply.json(), security_denial());
    }
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_my_removes_only_the_members_own_time_entry() {
    let wire = Wire::with_role(role("least-privilege")).await;

    let own = wire.delete("/time/entries/501").send().await;
    let others = wire.delete("/time/entries/503").send().await;

    own.assert_status(204);
    assert_eq!(own.text, "");
    others.assert(403, &security_denial());
    assert!(wire.mock().record("time_entries", 501).is_none());
    assert!(wire.mock().record("time_entries", 503).is_some());
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn several_members_share_one_server_each_with_its_own_role() {
    let wire = Wire::with_members(vec![
        ApiMember::with_role(AI, role("read-only-discovery")),
        ApiMember::with_role(SYNC, role("customer-sync")),
    ])
    .await;
    let ai = wire.as_member(AI);
    let sync = wire.as_member(SYNC);

    let ai_tickets = ai.get("/service/tickets/1001").send().await;
    let sync_tickets = sync.get("/service/tickets/1001").send().await;
    let ai_companies = ai.get("/company/companies/19").send().await;
    let sync_companies = sync.get("/company/companies/19").send().await;

    ai_tickets.assert_status(200);
    sync_tickets.assert(403, &security_denial());
    ai_companies.assert_status(200);
    sync_companies.assert_status(200);
    assert_ne!(
        wire.credentials(AI).public_key,
        wire.credentials(SYNC).public_key
    );
    let attributed: Vec<(String, Option<String>, u16)> = wire
        .mock()
        .journal()
        .into_iter()
        .map(|e| (e.path, e.member, e.status))
        .collect();
    assert_eq!(
        attributed,
        [
            ("/service/tickets/1001".to_owned(), Some(AI.to_owned()), 200),
            (
                "/service/tickets/1001".to_owned(),
                Some(SYNC.to_owned()),
                403
            ),
            ("/company/companies/19".to_owned(), Some(AI.to_owned()), 200),
            (
                "/company/companies/19".to_owned(),
                Some(SYNC.to_owned()),
                200
            ),
        ]
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_members_keys_do_not_open_another_members_account() {
    let wire = Wire::with_members(vec![
        ApiMember::with_role(AI, role("read-only-discovery")),
        ApiMember::with_role(SYNC, role("customer-sync")),
    ])
    .await;
    let ai = wire.credentials(AI);
    let sync = wire.credentials(SYNC);
    let mixed = cw_conform::connectwise::Credentials {
        public_key: ai.public_key.clone(),
        private_key: sync.private_key.clone(),
        ..ai
    };

    let reply = wire
        .unauthenticated(Method::GET, "/system/info")
        .header("Authorization", mixed.authorization().expose())
        .send()
        .await;

    reply.assert_status(401);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn my_security_reports_the_members_levels_per_function() {
    let wire = Wire::with_role(role("least-privilege")).await;

    let reply = wire.get("/system/mySecurity").send().await;

    reply.assert_status(200);
    let settings = reply.json();
    let settings = settings.as_array().unwrap();
    let row = |module: &str, function: &str| -> Value {
        settings
            .iter()
            .find(|s| s["moduleName"] == module && s["moduleFunctionName"] == function)
            .unwrap_or_else(|| panic!("no row for {module} / {function}: {reply}"))
            .clone()
    };
    let time_entry = row("Time & Expense", "Time Entry");
    assert_eq!(
        [
            &time_entry["addLevel"],
            &time_entry["editLevel"],
            &time_entry["deleteLevel"],
            &time_entry["inquireLevel"],
        ],
        ["All", "All", "My", "All"]
    );
    assert_eq!(time_entry["member"], json!({"identifier": AI}));
    let tickets = row("Service Desk", "Service Tickets");
    assert_eq!(
        [
            &tickets["addLevel"],
            &tickets["editLevel"],
            &tickets["deleteLevel"],
            &tickets["inquireLevel"],
        ],
        ["All", "None", "None", "None"]
    );
    let known = &cw_conform::fixtures::Fixtures::builtin()
        .unwrap()
        .permissions
        .functions;
    assert_eq!(settings.len(), known.iter().count());
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn my_security_differs_per_member() {
    let wire = Wire::with_members(vec![
        ApiMember::with_role(AI, role("least-privilege")),
        ApiMember::with_role(SYNC, role("no-access")),
    ])
    .await;

    let reply = wire.as_member(SYNC).get("/system/mySecurity").send().await;

    reply.assert_status(200);
    let settings = reply.json();
    let levels: Vec<&Value> = settings
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| ["addLevel", "editLevel", "deleteLevel", "inquireLevel"].map(|k| &s[k]))
        .collect();
    assert!(levels.iter().all(|l| *l == "None"), "{reply}");
    assert!(
        settings
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["member"] == json!({"identifier": SYNC}))
    );
    wire.shutdown();
}

/// LP-02 by behaviour, without cucumber: every cell an action exercises decides it.
#[tokio::test(flavor = "multi_thread")]
async fn every_exercised_cell_of_the_least_privilege_role_decides_its_action() {
    let fixtures = support::fixtures();
    let stage = ReferenceStage::new(Arc::clone(&fixtures), MockConfig::default());
    let role = role("least-privilege");
    let mut mismatches = Vec::new();
    for (function, _) in role.grants() {
        mismatches.extend(
            cells::check_function(&stage, &fixtures.exercises, &role, function)
                .await
                .unwrap()
                .mismatches,
        );
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    let exercised: Vec<String> = fixtures
        .exercises
        .iter()
        .map(|e| e.cell.to_string())
        .collect();
    for cell in [
        "Finance / Billing View Time Inquire",
        "Time & Expense / Time Entry Billable Option Edit",
        "System / Member Maintenance - Finance Inquire",
        "Service Desk / Close Service Tickets Edit",
        "Service Desk / Merge Tickets Add",
    ] {
        assert!(
            exercised.iter().any(|c| c == cell),
            "{cell} is not exercised"
        );
    }
}

/// A map that governs contacts by the wrong function is caught, with a typed mismatch.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_governed_by_the_wrong_function_is_a_mismatch() {
    let mut mutated = Fixtures::builtin().unwrap().clone();
    for endpoint in &mut mutated.permissions.endpoints {
        if endpoint.collection == "contacts" {
            endpoint.function = function_named("Companies / Configurations");
        }
    }
    let fixtures = Arc::new(mutated);
    let stage = ReferenceStage::new(Arc::clone(&fixtures), MockConfig::default());
    let role = role("least-privilege");

    let mismatches = cells::check_function(
        &stage,
        &fixtures.exercises,
        &role,
        &function_named("Companies / Contacts"),
    )
    .await
    .unwrap()
    .mismatches;

    let delete = mismatches
        .iter()
        .find(|m| m.cell.operation == Operation::Delete)
        .expect("Contacts Delete no longer decides the delete");
    assert_eq!(delete.level, Level::All);
    assert_eq!(delete.expected, Effect::Allowed);
    assert_eq!(delete.observed, Observed::Effect(Effect::Denied));
    assert!(
        delete.evidence.contains("DELETE /company/contacts/108"),
        "{}",
        delete.evidence
    );
}

/// A field guard that is lost is caught: the fields show whatever the cell says.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_field_guard_is_a_mismatch() {
    let mut mutated = Fixtures::builtin().unwrap().clone();
    mutated
        .permissions
        .field_guards
        .retain(|g| g.function != function_named("Finance / Billing View Time"));
    let fixtures = Arc::new(mutated);
    let stage = ReferenceStage::new(Arc::clone(&fixtures), MockConfig::default());

    let mismatches = cells::check_function(
        &stage,
        &fixtures.exercises,
        &role("least-privilege"),
        &function_named("Finance / Billing View Time"),
    )
    .await
    .unwrap()
    .mismatches;

    let cells: Vec<(Operation, Level, Effect)> = mismatches
        .iter()
        .map(|m| (m.cell.operation, m.level, m.expected))
        .collect();
    assert!(
        cells.contains(&(Operation::Inquire, Level::None, Effect::FieldsHidden)),
        "{mismatches:#?}"
    );
    assert!(
        cells.contains(&(Operation::Add, Level::None, Effect::Denied)),
        "{mismatches:#?}"
    );
}

// ------------------------------------------------------------------ issue 10, fidelity item 6:
// security roles are records of their own, shared by members

fn setting<'a>(settings: &'a Value, function: &str) -> &'a Value {
    settings
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            format!(
                "{} / {}",
                s["moduleName"].as_str().unwrap(),
                s["moduleFunctionName"].as_str().unwrap()
            ) == function
        })
        .unwrap_or_else(|| panic!("no setting for {function}: {settings}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_shared_by_members_is_one_record() {
    let wire = Wire::with_members(vec![
        ApiMember::with_role(AI, role("full-access")),
        ApiMember::with_role("ai-backup", role("least-privilege")),
        ApiMember::with_role(SYNC, role("least-privilege")),
    ])
    .await;

    let reply = wire.get("/system/securityroles").send().await;

    reply.assert_status(200);
    let roles: Vec<(i64, String)> = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (1, "full-access".to_owned()),
            (2, "least-privilege".to_owned())
        ],
        "{reply}"
    );
    let one = wire.get("/system/securityroles/2").send().await;
    one.assert_status(200);
    assert_eq!(one.json()["name"], "least-privilege");
    wire.get("/system/securityroles/3")
        .send()
        .await
        .assert_status(404);
    // The least-privilege role has no Security Inquire: the roles are refused to it.
    wire.as_member(SYNC)
        .get("/system/securityroles")
        .send()
        .await
        .assert_status(403);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_are_read_by_role_id_with_their_own_ids_and_flags() {
    let wire = Wire::with_members(vec![
        ApiMember::with_role(AI, role("full-access")),
        ApiMember::with_role(SYNC, role("no-access")),
    ])
    .await;

    let full = wire.get("/system/securityRoles/1/settings").send().await;
    let none = wire.get("/system/securityroles/2/settings").send().await;

    full.assert_status(200);
    none.assert_status(200);
    let full = full.json();
    let none = none.json();
    assert_eq!(setting(&full, TICKETS)["inquireLevel"], "All");
    assert_eq!(setting(&none, TICKETS)["inquireLevel"], "None");
    let ids = |settings: &Value| -> Vec<i64> {
        settings
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .collect()
    };
    assert!(
        ids(&full).iter().all(|id| !ids(&none).contains(id)),
        "a setting id belongs to one role"
    );
    // My is offered where records have an owner, not on setup tables.
    assert_eq!(
        setting(&full, "Time & Expense / Time Entry")["myAllFlag"],
        true
    );
    assert_eq!(setting(&full, "System / My Account")["myAllFlag"], true);
    assert_eq!(setting(&full, "System / Table Setup")["myAllFlag"], false);
    // The older table's "(customize)" functions have allow-lists.
    assert_eq!(setting(&full, "System / Table Setup")["customFlag"], true);
    assert_eq!(setting(&full, TICKETS)["customFlag"], false);
    assert_eq!(
        setting(&full, TICKETS)["moduleFunctionIdentifier"],
        "ServiceTickets"
    );
    wire.get("/system/securityRoles/3/settings")
        .send()
        .await
        .assert_status(404);
    wire.shutdown();
}

#[rstest]
#[case::least_privilege("least-privilege", &["Service / Service Board", "Server"], &[])]
#[case::no_access("no-access", &[], &["Service / Service Board"])]
#[case::read_only_discovery("read-only-discovery", &["Company / Company Type"], &["Server"])]
#[tokio::test(flavor = "multi_thread")]
async fn the_customize_items_are_those_of_the_functions_the_role_grants(
    #[case] profile: &str,
    #[case] present: &[&str],
    #[case] absent: &[&str],
) {
    let wire = Wire::with_role(role(profile)).await;

    let reply = wire.get("/system/mySecurity/customizeItems").send().await;

    reply.assert_status(200);
    let items: Vec<String> = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    for item in present {
        assert!(items.iter().any(|i| i == item), "{item} missing: {items:?}");
    }
    for item in absent {
        assert!(
            !items.iter().any(|i| i == item),
            "{item} present: {items:?}"
        );
    }
    wire.shutdown();
}
