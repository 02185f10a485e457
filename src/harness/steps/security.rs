//! Steps about the security role as ConnectWise enforces it, at the wire level: what
//! `/system/mySecurity` reports, and what each request a function governs gets (LP-02).

use crate::harness::mistake;
use cucumber::then;
use reqwest::Method;
use serde_json::{Value, json};

use super::roles::known_function;
use crate::connectwise::security::Endpoint;
use crate::connectwise::{Client, Response};
use crate::harness::world::{API_MEMBER, ConformanceWorld};
use crate::model::{Level, Levels, Operation};

use super::{Keyword, Pattern, StepDoc, param};

const LEVELS: &[super::Parameter] = &[
    param("<function>", "a security function, \"Module / Function\""),
    param("<level>", "None, My or All, for each operation"),
];

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^ConnectWise reports "([^"]+)" as Add (\w+), Edit (\w+), Delete (\w+) and Inquire (\w+)$"#,
        ),
        form: "ConnectWise reports \"<function>\" as Add <level>, Edit <level>, Delete <level> \
               and Inquire <level>",
        description: "What /system/mySecurity reports for the member's role.",
        parameters: LEVELS,
        example: "ConnectWise reports \"Companies / Contacts\" as Add All, Edit All, Delete None \
                  and Inquire All",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^each request ConnectWise governs by "([^"]+)" gets Add (\w+), Edit (\w+), Delete (\w+) and Inquire (\w+)$"#,
        ),
        form: "each request ConnectWise governs by \"<function>\" gets Add <level>, Edit <level>, \
               Delete <level> and Inquire <level>",
        description: "Probes every request the function governs: 2xx where the level allows it \
                      (My: on the member's own record), 403 where it does not.",
        parameters: LEVELS,
        example: "each request ConnectWise governs by \"Companies / Contacts\" gets Add All, Edit \
                  All, Delete None and Inquire All",
        table: None,
    },
];

fn levels_from(add: &str, edit: &str, delete: &str, inquire: &str) -> Levels {
    let parse = |text: &str| text.parse::<Level>().unwrap_or_else(|e| mistake!("{e}"));
    Levels {
        add: parse(add),
        edit: parse(edit),
        delete: parse(delete),
        inquire: parse(inquire),
    }
}

#[then(
    regex = r#"^ConnectWise reports "([^"]+)" as Add (\w+), Edit (\w+), Delete (\w+) and Inquire (\w+)$"#
)]
async fn reports_levels(
    world: &mut ConformanceWorld,
    function: String,
    add: String,
    edit: String,
    delete: String,
    inquire: String,
) {
    let function = known_function(world, &function);
    let expected = levels_from(&add, &edit, &delete, &inquire);
    let client = world.client().await;
    let response = client
        .get("/system/mySecurity", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response.status, 200,
        "GET /system/mySecurity answered {}",
        response.status
    );
    let row = response
        .body
        .as_array()
        .and_then(|rows| {
            rows.iter().find(|r| {
                r.get("moduleName").and_then(Value::as_str) == Some(function.module.as_str())
                    && r.get("moduleFunctionName").and_then(Value::as_str)
                        == Some(function.function.as_str())
            })
        })
        .unwrap_or_else(|| panic!("/system/mySecurity has no row for {function}"));
    let level = |key: &str| {
        row.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .parse::<Level>()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let reported = Levels {
        add: level("addLevel"),
        edit: level("editLevel"),
        delete: level("deleteLevel"),
        inquire: level("inquireLevel"),
    };
    assert_eq!(
        reported, expected,
        "ConnectWise reports {function} as {reported}, the table says {expected}"
    );
}

/// What one probe expects: allowed (2xx) or refused (403).
fn expect_allowed(level: Level, owned: bool) -> bool {
    match level {
        Level::All => true,
        Level::My => owned,
        Level::None => false,
    }
}

struct Probe<'a> {
    client: &'a Client,
    failures: Vec<String>,
    checked: Vec<Operation>,
}

impl Probe<'_> {
    /// Checks one operation on a record someone else owns (or the member's own, when there
    /// is no other), and with `My` also on the member's own record.
    #[expect(
        clippy::too_many_arguments,
        reason = "one probe: the operation, the records and the level"
    )]
    async fn check_item(
        &mut self,
        operation: Operation,
        method: Method,
        endpoint: &Endpoint,
        sample: &Value,
        sample_owned: bool,
        own: Option<&Value>,
        level: Level,
        body: Option<&Value>,
    ) {
        // A method the endpoint does not have (DELETE on members) is no request it governs.
        if !endpoint.accepts(method.as_str()) {
            return;
        }
        self.call(
            operation,
            method.clone(),
            &item_path(endpoint, sample),
            body,
            expect_allowed(level, sample_owned),
        )
        .await;
        if level == Level::My
            && let Some(own) = own
        {
            self.call(operation, method, &item_path(endpoint, own), body, true)
                .await;
        }
    }

    async fn call(
        &mut self,
        operation: Operation,
        method: Method,
        path: &str,
        body: Option<&Value>,
        allowed: bool,
    ) -> Option<Response> {
        let response = self
            .client
            .send(method.clone(), path, &[], body)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.checked.push(operation);
        let ok = if allowed {
            response.ok()
        } else {
            response.status == 403
        };
        if !ok {
            self.failures.push(format!(
                "{operation}: {method} {path} answered {} but {} was expected{}",
                response.status,
                if allowed { "2xx" } else { "403" },
                response
                    .error_message()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ));
        }
        Some(response)
    }
}

/// A copy of a record to create again: without its id and `_info`, and with each field the
/// endpoint keeps unique (`identifier`) changed, so ConnectWise does not refuse it as a
/// duplicate.
fn copy_for_create(endpoint: &Endpoint, record: &Value) -> Value {
    let mut copy = record.clone();
    if let Value::Object(map) = &mut copy {
        map.remove("id");
        map.remove("_info");
        for field in &endpoint.unique {
            if let Some(Value::String(text)) = map.get_mut(field) {
                text.push_str("-copy");
            }
        }
    }
    copy
}

fn item_path(endpoint: &Endpoint, record: &Value) -> String {
    let id = record.get("id").and_then(Value::as_i64).unwrap_or_default();
    format!("{}/{id}", collection_path(endpoint, record))
}

fn collection_path(endpoint: &Endpoint, record: &Value) -> String {
    match &endpoint.parent {
        Some(field) => {
            let parent = field
                .split('/')
                .try_fold(record, |v, k| v.get(k))
                .and_then(Value::as_i64)
                .unwrap_or_default();
            endpoint.path.replace("{parentId}", &parent.to_string())
        }
        None => endpoint.path.clone(),
    }
}

/// Every request ConnectWise governs by the function gets the result its levels give:
/// 2xx where the level is All (or My on the member's own record), 403 where it is None
/// (or My on someone else's record).
#[then(
    regex = r#"^each request ConnectWise governs by "([^"]+)" gets Add (\w+), Edit (\w+), Delete (\w+) and Inquire (\w+)$"#
)]
async fn governed_requests(
    world: &mut ConformanceWorld,
    function: String,
    add: String,
    edit: String,
    delete: String,
    inquire: String,
) {
    let function = known_function(world, &function);
    let levels = levels_from(&add, &edit, &delete, &inquire);
    let client = world.client().await;
    let role = world.role.clone().expect("the member has a role");
    let mock = world.mock.as_ref().expect("the mock runs");
    let permissions = world.fixtures.permissions.clone();
    let mut probe = Probe {
        client: &client,
        failures: Vec::new(),
        checked: Vec::new(),
    };
    for endpoint in permissions
        .endpoints
        .iter()
        .filter(|e| e.function == function)
    {
        // Only records of the endpoint's parent kind (documents of tickets, not companies).
        let records: Vec<Value> = mock
            .records(&endpoint.collection)
            .into_iter()
            .filter(|r| {
                endpoint.parent.as_ref().is_none_or(|field| {
                    field
                        .split('/')
                        .try_fold(r, |v, k| v.get(k))
                        .and_then(Value::as_i64)
                        .is_some_and(|id| endpoint.is_child_of(r, id))
                })
            })
            .collect();
        let own = records
            .iter()
            .find(|r| endpoint.is_owned_by(r, API_MEMBER))
            .cloned();
        let other = records
            .iter()
            .find(|r| !endpoint.is_owned_by(r, API_MEMBER))
            .cloned();
        let Some(sample) = other.clone().or_else(|| own.clone()) else {
            continue;
        };
        let sample_owned = other.is_none();
        // Inquire: the list, then one record.
        let list = probe
            .call(
                Operation::Inquire,
                Method::GET,
                &collection_path(endpoint, &sample),
                None,
                levels.inquire.grants_any(),
            )
            .await;
        if levels.inquire == Level::My
            && let Some(Value::Array(items)) = list.map(|r| r.body)
            && let Some(stranger) = items.iter().find(|r| !endpoint.is_owned_by(r, API_MEMBER))
        {
            probe.failures.push(format!(
                "Inquire My: the list includes a record the member does not own: {stranger}"
            ));
        }
        probe
            .check_item(
                Operation::Inquire,
                Method::GET,
                endpoint,
                &sample,
                sample_owned,
                own.as_ref(),
                levels.inquire,
                None,
            )
            .await;
        // Add: a copy of an existing record, so its references are valid.
        if endpoint.accepts("POST")
            && permissions
                .route(&collection_path(endpoint, &sample), "POST")
                .is_some_and(|r| {
                    matches!(r, crate::connectwise::security::Route::Collection { .. })
                })
        {
            let add_owned = levels.add == Level::My && own.is_some();
            let source = if add_owned {
                own.clone().unwrap_or_default()
            } else {
                sample.clone()
            };
            let owned_source = add_owned || sample_owned;
            probe
                .call(
                    Operation::Add,
                    Method::POST,
                    &collection_path(endpoint, &source),
                    Some(&copy_for_create(endpoint, &source)),
                    expect_allowed(levels.add, owned_source),
                )
                .await;
        }
        // Edit: an empty change, so only the security check decides.
        let empty_change = json!([]);
        probe
            .check_item(
                Operation::Edit,
                Method::PATCH,
                endpoint,
                &sample,
                sample_owned,
                own.as_ref(),
                levels.edit,
                Some(&empty_change),
            )
            .await;
        // Delete last: someone else's record, then the member's own.
        probe
            .check_item(
                Operation::Delete,
                Method::DELETE,
                endpoint,
                &sample,
                sample_owned,
                own.as_ref(),
                levels.delete,
                None,
            )
            .await;
    }
    for special in permissions
        .specials
        .iter()
        .filter(|s| s.function.as_ref() == Some(&function))
    {
        let Some(operation) = special.operation.map(|o| o.0) else {
            continue;
        };
        let method: Method = special.method.parse().unwrap_or(Method::GET);
        let path = special.path.replace("{id}", "1009");
        let body = match (special.method.as_str(), special.handler) {
            ("PATCH", _) => Some(json!([])),
            (_, crate::connectwise::security::SpecialHandler::MergeTickets) => {
                Some(json!({"mergeTicketIds": [1010], "status": {"name": "New"}}))
            }
            (_, crate::connectwise::security::SpecialHandler::Search) => Some(json!({})),
            _ => None,
        };
        if special.handler == crate::connectwise::security::SpecialHandler::UploadDocument {
            let form = reqwest::multipart::Form::new()
                .text("recordType", "Ticket")
                .text("recordId", "1001")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"probe".to_vec()).file_name("probe.txt"),
                );
            let response = client
                .upload(
                    &path,
                    form,
                    &json!({"recordType": "Ticket", "recordId": 1001}),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            probe.checked.push(operation);
            let allowed = levels.get(operation).grants_any();
            if (allowed && !response.ok()) || (!allowed && response.status != 403) {
                probe.failures.push(format!(
                    "{operation}: upload to {path} answered {}",
                    response.status
                ));
            }
            continue;
        }
        // A special endpoint acts on the member's own record (My Account) or on a record
        // the probe chooses, so `My` counts as the member's own.
        probe
            .call(
                operation,
                method,
                &path,
                body.as_ref(),
                levels.get(operation).grants_any(),
            )
            .await;
    }
    for guard in permissions
        .field_guards
        .iter()
        .filter(|g| g.function == function)
    {
        let Some(endpoint) = permissions.endpoint_for(&guard.collection) else {
            continue;
        };
        if role.level(&endpoint.function, Operation::Inquire) != Level::All {
            continue;
        }
        let Some(record) = mock
            .records(&guard.collection)
            .into_iter()
            .find(|r| guard.fields.iter().any(|f| r.get(f).is_some()))
        else {
            continue;
        };
        let response = client
            .get(&item_path(endpoint, &record), &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        probe.checked.push(Operation::Inquire);
        let visible = guard.fields.iter().any(|f| response.body.get(f).is_some());
        if visible != levels.inquire.grants_any() {
            probe.failures.push(format!(
                "Inquire: the fields {:?} of {} are {} but Inquire is {}",
                guard.fields,
                guard.collection,
                if visible { "shown" } else { "hidden" },
                levels.inquire
            ));
        }
        if role.level(&endpoint.function, Operation::Edit) == Level::All
            && let Some(field) = guard.fields.iter().find(|f| record.get(*f).is_some())
        {
            let changed = match &record[field.as_str()] {
                Value::Number(n) => json!(n.as_f64().unwrap_or_default() + 1.0),
                Value::String(s) if s == "DoNotBill" => json!("Billable"),
                Value::String(_) => json!("DoNotBill"),
                other => other.clone(),
            };
            let body = json!([{"op": "replace", "path": field, "value": changed}]);
            probe
                .call(
                    Operation::Edit,
                    Method::PATCH,
                    &item_path(endpoint, &record),
                    Some(&body),
                    levels.edit.grants_any(),
                )
                .await;
        }
    }
    assert!(
        probe.failures.is_empty(),
        "{function} ({levels}) is not enforced as the role says:\n  {}",
        probe.failures.join("\n  ")
    );
}
