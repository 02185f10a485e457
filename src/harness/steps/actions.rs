//! Steps in which the AI asks the integration to do something, and a person answers a
//! held action.

use crate::harness::mistake;
use cucumber::gherkin::Step;
use cucumber::when;
use serde_json::{Map, Value};

use crate::harness::arrange;
use crate::harness::world::{ConformanceWorld, Created, Target};
use crate::integration::mcp::reply::Records;
use crate::integration::{ActionRequest, Subject};
use crate::model::{ActionCatalog, ActionKind, Outcome, spelling};

use super::{Keyword, Pattern, StepDoc, param};

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::When,
        pattern: Pattern::Regex(
            r#"^the AI asks to (.+?)(?: #([0-9]+)| "([^"]*)"| (the one just created))?(?: with:?)?$"#,
        ),
        form: "the AI asks to <action>[ #<id> | \"<name>\" | \"<text>\" | the one just created][ with:]",
        description: "The AI asks the integration to perform a catalog action, on a record, \
                      with a search text, or on the record the last action created; `with:` \
                      takes the fields as a | field | value | table (values that parse as JSON \
                      keep their type; a value `<kind> \"<name>\"` is the id of that arranged \
                      record, such as the task a child action is about, and `<kind> \"<name>\" by \
                      name` what the AI calls it, as the integration looks it up; a value or search \
                      text `the API member` or `another member` is that member's identifier).",
        parameters: &[
            param("<action>", "an action phrase (`cw-conform actions`)"),
            param("<id>", "a record number (for a child record, its parent's)"),
            param(
                "<name>",
                "a record the scenario arranged (an action on one record)",
            ),
            param("<text>", "the search text (a search)"),
        ],
        example: "the AI asks to create a service ticket with:",
        table: Some(
            "| summary | Printer on floor 2 is jammed |\n| board   | Help Desk                    |",
        ),
    },
    StepDoc {
        keyword: Keyword::When,
        pattern: Pattern::Regex(r"^the person (confirms|refuses)(?: it)?$"),
        form: "the person confirms|refuses[ it]",
        description: "A person answers the action the integration held for confirmation.",
        parameters: &[],
        example: "the person confirms",
        table: None,
    },
];

/// `When the AI asks to create a service ticket with:` (a `| field | value |` table),
/// `When the AI asks to get ticket #1001`, `When the AI asks to search companies "Acme"`.
/// The phrase must be one of the action catalog's phrases (`fixtures/actions.toml`).
/// `… the one just created` refers to the record the last action created.
#[when(
    regex = r#"^the AI asks to (.+?)(?: #([0-9]+)| "([^"]*)"| (the one just created))?(?: with:?)?$"#
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
        .unwrap_or_else(|| mistake!("{}", unknown_action(&world.fixtures.actions, &phrase)));
    let subject = if !just_created.is_empty() {
        // The subject is the record itself, or the parent of a child collection.
        let collection = action
            .path
            .split_once("/{parentId}")
            .map_or(action.path.as_str(), |(parent, _)| parent);
        Some(Subject::Id(world.just_created(collection)))
    } else if !id.is_empty() {
        Some(Subject::Id(
            id.parse()
                .unwrap_or_else(|e| mistake!("bad record number {id}: {e}")),
        ))
    } else if !text.is_empty() && takes_record(&action) {
        Some(Subject::Id(match arrange::member_named(world, &text) {
            Some(member) if action.resource == "members" => world.member_id(&member).await,
            _ => arrange::named(&world.arranged, &text).id,
        }))
    } else if !text.is_empty() {
        Some(Subject::Text(
            arrange::member_named(world, &text).unwrap_or(text),
        ))
    } else {
        None
    };
    let mut fields = step
        .table
        .as_ref()
        .map(|table| fields_from(&table.rows))
        .unwrap_or_default();
    name_arranged_references(world, &mut fields).await;
    name_arranged_ids(&world.arranged, &mut fields);
    name_members(world, &mut fields);
    let makes_records = matches!(action.kind, ActionKind::Create | ActionKind::Attach);
    let path = match &subject {
        Some(Subject::Id(parent)) => action.path.replace("{parentId}", &parent.to_string()),
        _ => action.path.clone(),
    };
    if let Target::Sandbox(run) = &world.target {
        if makes_records {
            arrange::mark(&mut fields, &run.ledger.next_mark());
        } else if let Some(Subject::Id(id)) = &subject {
            let record = record_path(&action, &path, *id, &fields);
            keep_mark(&mut fields, &run.ledger, &record);
        }
    }
    let request = ActionRequest {
        action: action.name.clone(),
        subject,
        fields,
    };
    perform(world, &request).await;
    note_created(world, &action, path);
}

/// Remembers the record a create allowed (at once, or once confirmed) made, for steps that
/// refer to "the one just created".
fn note_created(world: &mut ConformanceWorld, action: &crate::model::Action, path: String) {
    let created = world.result.as_ref().and_then(|r| {
        (r.outcome == Outcome::Allowed
            && matches!(action.kind, ActionKind::Create | ActionKind::Attach))
        .then(|| Records::read(&r.data).iter().find_map(|record| record.id))
        .flatten()
    });
    if let Some(id) = created {
        world.created = Some(Created {
            collection: path,
            id,
        });
    }
}

/// One line for a phrase the catalog does not know: the nearest phrase, and where to find
/// them all.
pub(crate) fn unknown_action(catalog: &ActionCatalog, phrase: &str) -> String {
    format!(
        "unknown action \"{phrase}\"{}; run `cw-conform actions` for the list",
        spelling::did_you_mean(phrase, catalog.iter().map(|a| a.phrase.as_str()))
    )
}

/// Whether the action acts on one record (or a record's children), named by its number or
/// by the name the scenario arranged it under, rather than on a search text.
fn takes_record(action: &crate::model::Action) -> bool {
    action.path.contains("{parentId}")
        || !matches!(
            action.kind,
            ActionKind::Connect | ActionKind::Search | ActionKind::Create
        )
}

/// The path of the record an action on `subject` changes: the record itself, or for a
/// child collection the child its `id` field names (`/service/tickets/7/tasks/9`).
pub(super) fn record_path(
    action: &crate::model::Action,
    path: &str,
    subject: i64,
    fields: &Map<String, Value>,
) -> String {
    match fields.get("id").and_then(Value::as_i64) {
        Some(child) if action.path.contains("{parentId}") => format!("{path}/{child}"),
        _ => format!("{path}/{subject}"),
    }
}

/// An update of a record the run created keeps the record's mark on the field carrying it
/// (the ledger's gate refuses an update that would take the mark off).
pub(super) fn keep_mark(
    fields: &mut Map<String, Value>,
    ledger: &crate::ledger::Ledger,
    record: &str,
) {
    let Some(created) = ledger
        .state()
        .outstanding()
        .into_iter()
        .find(|r| format!("{}/{}", r.path, r.id) == record)
    else {
        return;
    };
    if let Some(Value::String(text)) = fields.get_mut(&created.field)
        && !text.contains(&created.mark)
    {
        *text = format!("{} {text}", created.mark);
    }
}

/// A reference field whose value names an arranged record by name (`| company | company
/// "Globex" by name |`) gets what the AI would call it: the record's value, as ConnectWise
/// holds it, of the field the integration looks that reference up by (`identifier` for a
/// company, `lastName` for a contact, `name` for a board, status or work type; for a field
/// it does not look up, the record's field of that name: `| identifier | company "Globex"
/// by name |`). On a
/// sandbox that name carries the run's mark, as the record does.
async fn name_arranged_references(world: &mut ConformanceWorld, fields: &mut Map<String, Value>) {
    for (field, value) in fields.iter_mut() {
        let Some(named) = value
            .as_str()
            .and_then(|text| text.strip_suffix(" by name"))
            .map(str::to_owned)
        else {
            continue;
        };
        let Some((kind, name)) = named
            .strip_suffix('"')
            .and_then(|text| text.split_once(" \""))
        else {
            mistake!("\"{named} by name\": expected <kind> \"<name>\" by name")
        };
        // The field the integration looks the reference up by, or (a field it does not look
        // up, such as a company's `identifier`) the record's own field of that name.
        let name_field = world
            .fixtures
            .actions
            .lookup(field)
            .map_or_else(|| field.clone(), |lookup| lookup.name_field.clone());
        let kind =
            arrange::kind(kind).unwrap_or_else(|| mistake!("no kind of record called \"{kind}\""));
        let arranged = arrange::named(&world.arranged, name).clone();
        if arranged.kind != kind.name {
            mistake!("\"{name}\" is a {}, not a {}", arranged.kind, kind.name);
        }
        let record = world.arranged_record(&arranged).await.unwrap_or_else(|| {
            panic!(
                "the {} \"{name}\" (#{}) the scenario arranged is gone\n{}",
                kind.name,
                arranged.id,
                world.evidence()
            )
        });
        *value = record
            .get(&name_field)
            .filter(|v| v.is_string())
            .cloned()
            .unwrap_or_else(|| {
                mistake!(
                    "the {} \"{name}\" has no {name_field} to name it by (the {field} is named by its {name_field})",
                    kind.name
                )
            });
    }
}

/// A field whose value names an arranged record by its kind and name (`| id | task
/// "Rebuild Outlook" |`, for the task a child action is about) gets the record's id; a list
/// of them in brackets (`| mergeTicketIds | [ticket "Duplicate"] |`) gets their ids, and a
/// reference (`| project | {"id": project "Migration"} |`) the reference to it.
pub(super) fn name_arranged_ids(
    arranged: &std::collections::BTreeMap<String, arrange::Arranged>,
    fields: &mut Map<String, Value>,
) {
    for value in fields.values_mut() {
        let Some(text) = value.as_str().map(str::to_owned) else {
            continue;
        };
        if let Some(list) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            let ids: Option<Vec<Value>> = list
                .split(", ")
                .map(|item| arranged_id(arranged, item).map(Value::from))
                .collect();
            if let Some(ids) = ids {
                *value = Value::Array(ids);
            }
        } else if let Some(reference) = text
            .strip_prefix("{\"id\": ")
            .and_then(|t| t.strip_suffix('}'))
            .and_then(|named| arranged_id(arranged, named))
        {
            *value = serde_json::json!({ "id": reference });
        } else if let Some(id) = arranged_id(arranged, &text) {
            *value = Value::from(id);
        }
    }
}

/// A field whose value is `the API member` or `another member` gets that member's
/// identifier (`| owner | the API member |`).
fn name_members(world: &ConformanceWorld, fields: &mut Map<String, Value>) {
    for value in fields.values_mut() {
        if let Some(member) = value
            .as_str()
            .and_then(|text| arrange::member_named(world, text))
        {
            *value = Value::from(member);
        }
    }
}

/// The id of the arranged record `<kind> "<name>"` names, if the text is that form.
fn arranged_id(
    arranged: &std::collections::BTreeMap<String, arrange::Arranged>,
    text: &str,
) -> Option<i64> {
    let (kind, name) = text.strip_suffix('"')?.split_once(" \"")?;
    let kind = arrange::kind(kind)?;
    let record = arrange::named(arranged, name);
    if record.kind != kind.name {
        mistake!("\"{name}\" is a {}, not a {}", record.kind, kind.name);
    }
    Some(record.id)
}

/// Reads a `| field | value |` table; values that parse as JSON keep their type.
pub(super) fn fields_from(rows: &[Vec<String>]) -> Map<String, Value> {
    rows.iter()
        .map(|row| {
            let [field, value] = row.as_slice() else {
                mistake!("each table row needs two cells, | field | value |, got {row:?}")
            };
            let parsed = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value.clone()));
            (field.clone(), parsed)
        })
        .collect()
}

async fn perform(world: &mut ConformanceWorld, request: &ActionRequest) {
    let result = world.perform(request).await;
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
    let result = world.confirm(held.token, answer == "confirms").await;
    world.result = Some(result);
    if let Some(action) = world.fixtures.actions.get(&held.action).cloned() {
        let path = match held.record {
            Some(parent) => action.path.replace("{parentId}", &parent.to_string()),
            None => action.path.clone(),
        };
        note_created(world, &action, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;

    #[test]
    fn an_unknown_phrase_names_the_nearest_on_one_line() {
        let catalog = &Fixtures::builtin().unwrap().actions;
        let message = unknown_action(catalog, "create a servce ticket");
        assert_eq!(
            message,
            "unknown action \"create a servce ticket\" (did you mean \"create a service ticket\"?); \
             run `cw-conform actions` for the list"
        );
        let message = unknown_action(catalog, "launch the rockets at the moon now");
        assert_eq!(
            message,
            "unknown action \"launch the rockets at the moon now\"; run `cw-conform actions` for \
             the list"
        );
    }
}
