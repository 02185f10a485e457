//! Steps in which the AI asks the integration to do something, and a person answers a
//! held action.

use cucumber::gherkin::Step;
use cucumber::when;
use serde_json::{Map, Value};

use crate::harness::sandbox::{self, MARK, MARK_FIELDS};
use crate::harness::world::ConformanceWorld;
use crate::integration::{ActionRequest, Subject};
use crate::model::{ActionKind, Outcome};

/// `When the AI asks to create a service ticket with:` (a `| field | value |` table),
/// `When the AI asks to get ticket #1001`, `When the AI asks to search companies "Acme"`.
/// The phrase must be one of the action catalog's phrases (`fixtures/actions.toml`).
/// `… the one just created` refers to the record the last action created.
#[when(
    regex = r#"^the AI asks to (.+?)(?: #(\d+)| "([^"]*)"| (the one just created))?(?: with:?)?$"#
)]
async fn ai_asks(
    world: &mut ConformanceWorld,
    phrase: String,
    id: String,
    text: String,
    just_created: String,
    step: &Step,
) {
    let action = world
        .fixtures
        .actions
        .by_phrase(&phrase)
        .cloned()
        .unwrap_or_else(|| {
            let known: Vec<&str> = world
                .fixtures
                .actions
                .iter()
                .map(|a| a.phrase.as_str())
                .collect();
            panic!(
                "unknown action \"{phrase}\"; the catalog knows: {}",
                known.join(", ")
            )
        });
    let subject = if !just_created.is_empty() {
        let created = world.created.unwrap_or_else(|| {
            panic!(
                "no record was created before this step\n{}",
                world.evidence()
            )
        });
        Some(Subject::Id(created))
    } else if !id.is_empty() {
        Some(Subject::Id(
            id.parse()
                .unwrap_or_else(|e| panic!("bad record number {id}: {e}")),
        ))
    } else if !text.is_empty() {
        Some(Subject::Text(text))
    } else {
        None
    };
    let mut fields = step
        .table
        .as_ref()
        .map(|table| fields_from(&table.rows))
        .unwrap_or_default();
    let makes_records = matches!(action.kind, ActionKind::Create | ActionKind::Attach);
    let path = match &subject {
        Some(Subject::Id(parent)) => action.path.replace("{parentId}", &parent.to_string()),
        _ => action.path.clone(),
    };
    let in_flight = if world.sandbox.is_some() && makes_records {
        let field = mark(&mut fields);
        Some(sandbox::in_flight(&path, field))
    } else {
        None
    };
    let request = ActionRequest {
        action: action.name.clone(),
        subject,
        fields,
    };
    perform(world, &request).await;
    let created = world.result.as_ref().and_then(|r| {
        (r.outcome == Outcome::Allowed
            && matches!(action.kind, ActionKind::Create | ActionKind::Attach))
        .then(|| r.data.get("id").and_then(Value::as_i64))
        .flatten()
    });
    if let Some(id) = created {
        world.note_created(&path, id);
    }
    if let Some(token) = in_flight {
        sandbox::landed(token);
    }
}

/// Marks a record created on a sandbox so people can see the harness made it: the first
/// name-like text field is prefixed with [`MARK`]. Returns the field marked.
fn mark(fields: &mut Map<String, Value>) -> &'static str {
    for field in MARK_FIELDS {
        if let Some(Value::String(text)) = fields.get_mut(field) {
            *text = format!("{MARK} {text}");
            return field;
        }
    }
    fields.insert("notes".into(), Value::from(MARK));
    "notes"
}

/// Reads a `| field | value |` table; values that parse as JSON keep their type.
fn fields_from(rows: &[Vec<String>]) -> Map<String, Value> {
    rows.iter()
        .map(|row| {
            let [field, value] = row.as_slice() else {
                panic!("each table row needs two cells, | field | value |, got {row:?}")
            };
            let parsed = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value.clone()));
            (field.clone(), parsed)
        })
        .collect()
}

async fn perform(world: &mut ConformanceWorld, request: &ActionRequest) {
    let integration = world.integration().await;
    world.mark = world.journal().len();
    let result = integration.perform(request).await;
    if result.outcome == crate::model::Outcome::Allowed
        && let Some(id) = result.data.get("id").and_then(serde_json::Value::as_i64)
    {
        world.created = Some(id);
    }
    world.held.clone_from(&result.confirmation);
    world.result = Some(result);
}

/// `When the person confirms` / `When the person refuses`: answers the held action.
#[when(regex = r"^the person (confirms|refuses)(?: it)?$")]
async fn person_answers(world: &mut ConformanceWorld, answer: String) {
    let held = world
        .held
        .take()
        .unwrap_or_else(|| panic!("nothing is held for confirmation\n{}", world.evidence()));
    let integration = world.integration().await;
    world.mark = world.journal().len();
    let result = integration.confirm(held.token, answer == "confirms").await;
    world.result = Some(result);
}
