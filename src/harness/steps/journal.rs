//! Steps that look at what ConnectWise received (the mock's journal) and holds.

use crate::harness::mistake;
use cucumber::{given, then};
use serde_json::Value;

use crate::harness::world::ConformanceWorld;
use crate::mock::journal::{self, JournalEntry};

use super::{Keyword, Pattern, StepDoc, param};

const NOUN: &str = "a record kind, e.g. ticket, contact, time entry, schedule entry";

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Text("ConnectWise received no write"),
        form: "ConnectWise received no write",
        description: "No POST, PATCH, PUT or DELETE reached ConnectWise in the whole scenario.",
        parameters: &[],
        example: "ConnectWise received no write",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Text("nothing was written to ConnectWise"),
        form: "nothing was written to ConnectWise",
        description: "No write succeeded in the whole scenario (a refused one may have been \
                      sent).",
        parameters: &[],
        example: "nothing was written to ConnectWise",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Text("ConnectWise received no request for it"),
        form: "ConnectWise received no request for it",
        description: "The last action sent nothing at all.",
        parameters: &[],
        example: "ConnectWise received no request for it",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r"^ConnectWise received one (GET|POST|PATCH|PUT|DELETE) request(?:, answered ([0-9]+))?$",
        ),
        form: "ConnectWise received one <method> request[, answered <status>]",
        description: "The last action sent exactly one request with this method, optionally \
                      answered with this status.",
        parameters: &[
            param("<method>", "GET, POST, PATCH, PUT or DELETE"),
            param("<status>", "an HTTP status code"),
        ],
        example: "ConnectWise received one PATCH request, answered 200",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Expression("the write sent only the fields {string}"),
        form: "the write sent only the fields \"<fields>\"",
        description: "The last action's write changed exactly these fields.",
        parameters: &[param("<fields>", "field names, comma-separated")],
        example: "the write sent only the fields \"summary, status\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r"^ConnectWise received a note with ([[:word:]]+ [[:word:]]+(?:, [[:word:]]+ [[:word:]]+)*(?: and [[:word:]]+ [[:word:]]+)?)$",
        ),
        form: "ConnectWise received a note with <field> <value>[, <field> <value> and <field> \
               <value>]",
        description: "The one note the last action wrote sets each named field to the value \
                      given (values that parse as JSON keep their type).",
        parameters: &[
            param("<field>", "a field of the note"),
            param("<value>", "its value, one word"),
        ],
        example: "ConnectWise received a note with detailDescriptionFlag false, \
                  internalAnalysisFlag true and resolutionFlag false",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r#"^([[:word:]][[:word:] ]*?) (?:#([0-9]+)|"([^"]+)") has the ([[:word:]]+) "([^"]*)"$"#,
        ),
        form: "<noun> #<id>|\"<name>\" has the <field> \"<value>\"",
        description: "Checks the record as the scenario starts from, so a change to the value \
                      it already has cannot pass for a change.",
        parameters: &[
            param("<noun>", NOUN),
            param("<id>", "a record number"),
            param("<name>", "a record the scenario arranged"),
            param("<field>", "a field name"),
            param("<value>", "the value"),
        ],
        example: "ticket #1004 has the status \"In Progress\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^(?:the )?([[:word:]][[:word:] ]*?) (?:#([0-9]+)|"([^"]+)"|just created) now has the ([[:word:]]+) "([^"]*)"$"#,
        ),
        form: "[the ]<noun> #<id>|\"<name>\"|just created now has the <field> \"<value>\"",
        description: "The record (or the one the last action created) as ConnectWise now \
                      holds it (a reference field matches its name or identifier; when the \
                      value names a record the scenario arranged, the field holds that record, \
                      by id).",
        parameters: &[
            param("<noun>", NOUN),
            param("<id>", "a record number"),
            param("<name>", "a record the scenario arranged"),
            param("<field>", "a field name"),
            param(
                "<value>",
                "the value (`the API member` or `another member`: that member's identifier)",
            ),
        ],
        example: "contact #101 now has the title \"Office Manager\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^(?:the )?([[:word:]][[:word:] ]*?) (?:#([0-9]+)|"([^"]+)"|just created) (still exists|no longer exists)$"#,
        ),
        form: "[the ]<noun> #<id>|\"<name>\"|just created still exists|no longer exists",
        description: "Whether the record (or the one the last action created) is still there.",
        parameters: &[
            param("<noun>", NOUN),
            param("<id>", "a record number"),
            param("<name>", "a record the scenario arranged"),
        ],
        example: "time entry #501 still exists",
        table: None,
    },
];

#[then("ConnectWise received no write")]
async fn no_write(world: &mut ConformanceWorld) {
    let writes: Vec<_> = world
        .journal()
        .into_iter()
        .filter(JournalEntry::is_write)
        .collect();
    assert!(
        writes.is_empty(),
        "ConnectWise received writes:\n{}\n{}",
        world.shown(journal::render(&writes)),
        world.evidence()
    );
}

/// Nothing was written: no write request succeeded (a refused one may have been sent).
#[then("nothing was written to ConnectWise")]
async fn nothing_written(world: &mut ConformanceWorld) {
    let writes: Vec<_> = world
        .journal()
        .into_iter()
        .filter(|e| e.is_write() && e.succeeded())
        .collect();
    assert!(
        writes.is_empty(),
        "ConnectWise accepted writes:\n{}\n{}",
        world.shown(journal::render(&writes)),
        world.evidence()
    );
}

#[then("ConnectWise received no request for it")]
async fn no_request(world: &mut ConformanceWorld) {
    let since = world.since_mark();
    assert!(
        since.is_empty(),
        "ConnectWise received:\n{}",
        world.shown(journal::render(&since))
    );
}

/// `ConnectWise received one PATCH request, answered 200`
#[then(
    regex = r"^ConnectWise received one (GET|POST|PATCH|PUT|DELETE) request(?:, answered ([0-9]+))?$"
)]
async fn received_one(world: &mut ConformanceWorld, method: String, status: String) {
    let matching: Vec<_> = world
        .since_mark()
        .into_iter()
        .filter(|e| e.method == method)
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one {method} request\n{}",
        world.evidence()
    );
    if let Ok(status) = status.parse::<u16>() {
        let answered = matching[0].status;
        assert!(
            answered == status,
            "expected the {method} request answered {status}, ConnectWise answered {answered}\n{}",
            world.evidence()
        );
    }
}

/// `the write sent only the fields "summary, status"`
#[then(expr = "the write sent only the fields {string}")]
async fn write_fields(world: &mut ConformanceWorld, fields: String) {
    let write = world
        .since_mark()
        .into_iter()
        .find(JournalEntry::is_write)
        .unwrap_or_else(|| panic!("no write was sent\n{}", world.evidence()));
    let mut sent = write
        .body
        .as_ref()
        .map(journal::written_fields)
        .unwrap_or_default();
    let mut expected: Vec<String> = fields.split(',').map(|f| f.trim().to_owned()).collect();
    // On a sandbox a new record the AI asked for carries the run's mark; when none of its
    // fields could hold it, the mark went in `notes`, which the AI did not send.
    let marked_notes = write.body.as_ref().is_some_and(|body| {
        body["notes"]
            .as_str()
            .is_some_and(|notes| notes.starts_with("[cw-conform "))
    });
    if world.sandbox().is_some() && marked_notes && !expected.iter().any(|f| f == "notes") {
        sent.retain(|f| f != "notes");
    }
    sent.sort();
    expected.sort();
    assert!(
        sent == expected,
        "expected the write to send only the fields {}, it sent {}\n{}",
        expected.join(", "),
        if sent.is_empty() {
            "none".to_owned()
        } else {
            sent.join(", ")
        },
        world.evidence()
    );
}

/// `ConnectWise received a note with detailDescriptionFlag false, internalAnalysisFlag true
/// and resolutionFlag false`: the note ConnectWise was sent (the body of the one write to a
/// notes collection since the request) sets each named field to the value given.
#[then(
    regex = r"^ConnectWise received a note with ([[:word:]]+ [[:word:]]+(?:, [[:word:]]+ [[:word:]]+)*(?: and [[:word:]]+ [[:word:]]+)?)$"
)]
async fn note_received(world: &mut ConformanceWorld, settings: String) {
    let expected: Vec<(String, Value)> = settings
        .split(", ")
        .flat_map(|part| part.split(" and "))
        .map(|pair| {
            let (field, value) = pair
                .split_once(' ')
                .unwrap_or_else(|| mistake!("\"{pair}\" is not a field and its value"));
            let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
            (field.to_owned(), value)
        })
        .collect();
    let notes: Vec<JournalEntry> = world
        .since_mark()
        .into_iter()
        .filter(|e| e.is_write() && e.path.trim_end_matches('/').ends_with("/notes"))
        .collect();
    assert_eq!(
        notes.len(),
        1,
        "expected ConnectWise to receive one note\n{}",
        world.evidence()
    );
    let body = notes[0].body.clone().unwrap_or(Value::Null);
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(field, value)| body.get(field) != Some(value))
        .map(|(field, value)| {
            let sent = body
                .get(field)
                .map_or_else(|| "nothing".to_owned(), Value::to_string);
            format!("{field}: expected {value}, the note sent {sent}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "the note ConnectWise received is not the kind asked for:\n  {}\nbody: {body}\n{}",
        wrong.join("\n  "),
        world.evidence()
    );
}

/// The collection a record kind names (`ticket`, `time entries`, `contacts`, or a kind of
/// `fixtures/records.toml` such as `project ticket`).
pub(super) fn collection_for(world: &ConformanceWorld, noun: &str) -> String {
    if let Some(kind) = crate::harness::arrange::kind(noun) {
        return kind.collection.clone();
    }
    let wanted: String = noun
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    world
        .fixtures
        .permissions
        .endpoints
        .iter()
        .find(|e| e.noun.to_lowercase() == wanted || e.collection.replace('_', "") == wanted)
        .map_or_else(
            || mistake!("no ConnectWise record kind called \"{noun}\""),
            |e| e.collection.clone(),
        )
}

/// Which record a step names: `ticket #1004` (by number), `ticket "VPN"` (a record the
/// scenario arranged, by its name), or the one the last action created (neither given).
async fn named_record(
    world: &mut ConformanceWorld,
    noun: &str,
    id: &str,
    name: &str,
) -> (String, Option<Value>) {
    let collection = collection_for(world, noun);
    if id.is_empty() && name.is_empty() {
        let path = world
            .fixtures
            .permissions
            .endpoint_for(&collection)
            .map_or_else(|| collection.clone(), |e| e.path.clone());
        let (id, record) = world.just_created_record(&collection, &path).await;
        return (format!("the {noun} just created (#{id})"), record);
    }
    if name.is_empty() {
        let id: i64 = id
            .parse()
            .unwrap_or_else(|e| mistake!("bad record number {id}: {e}"));
        let record = world.record(&collection, id).await;
        return (format!("{noun} #{id}"), record);
    }
    let arranged = crate::harness::arrange::named(&world.arranged, name).clone();
    if arranged.collection != collection {
        mistake!("\"{name}\" is a {}, not a {noun}", arranged.kind);
    }
    let record = world.arranged_record(&arranged).await;
    (format!("{noun} \"{name}\" (#{})", arranged.id), record)
}

/// `Given ticket "VPN" has the status "In Progress"`: the record as the scenario starts
/// from, so a change to the value it already has cannot pass for a change.
#[given(
    regex = r#"^([[:word:]][[:word:] ]*?) (?:#([0-9]+)|"([^"]+)") has the ([[:word:]]+) "([^"]*)"$"#
)]
async fn record_field_before(
    world: &mut ConformanceWorld,
    noun: String,
    id: String,
    name: String,
    field: String,
    expected: String,
) {
    assert_record_field(world, &noun, &id, &name, &field, &expected).await;
}

/// `ticket "VPN" now has the status ">Closed"`, `ticket #1001 now has …`, `the ticket just
/// created now has the owner "ldavis"`
#[then(
    regex = r#"^(?:the )?([[:word:]][[:word:] ]*?) (?:#([0-9]+)|"([^"]+)"|just created) now has the ([[:word:]]+) "([^"]*)"$"#
)]
async fn record_field(
    world: &mut ConformanceWorld,
    noun: String,
    id: String,
    name: String,
    field: String,
    expected: String,
) {
    assert_record_field(world, &noun, &id, &name, &field, &expected).await;
}

/// The record's field is the expected value, or names it (`name`, `identifier`). On a
/// sandbox a text field of an arranged record carries the run's mark before its value.
async fn assert_record_field(
    world: &mut ConformanceWorld,
    noun: &str,
    id: &str,
    name: &str,
    field: &str,
    expected: &str,
) {
    let (shown, record) = named_record(world, noun, id, name).await;
    let record = record.unwrap_or_else(|| panic!("{shown} does not exist\n{}", world.evidence()));
    if let Some(arranged) = arranged_reference(world, noun, field, expected) {
        let held = record
            .get(field)
            .and_then(|v| v.get("id"))
            .and_then(Value::as_i64);
        assert!(
            held == Some(arranged.id),
            "{shown} has {field} {}, expected the {} \"{expected}\" the scenario arranged (#{})\n{}",
            record.get(field).unwrap_or(&Value::Null),
            arranged.kind,
            arranged.id,
            world.evidence()
        );
        return;
    }
    let member = crate::harness::arrange::member_named(world, expected);
    let expected = member.as_deref().unwrap_or(expected);
    let value = record.get(field).unwrap_or(&Value::Null);
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let unmarked = |t: String| match t.strip_prefix("[cw-conform ") {
        Some(rest) => rest
            .split_once("] ")
            .map_or(t.clone(), |(_, after)| after.to_owned()),
        None => t,
    };
    let matches = [value.get("name"), value.get("identifier"), Some(value)]
        .into_iter()
        .flatten()
        .any(|v| {
            text(v) == expected || (world.sandbox().is_some() && unmarked(text(v)) == expected)
        });
    assert!(
        matches,
        "{shown} has {field} {value}, expected \"{expected}\"\n{}",
        world.evidence()
    );
}

/// The record a reference field is expected to hold when the expected value is the name of
/// a record the scenario arranged in the collection the field refers to (`ticket "VPN" now
/// has the company "Globex"` after `a company "Globex"`): the field must hold that very
/// record, by id, not merely one of the same name (names repeat across boards).
fn arranged_reference(
    world: &ConformanceWorld,
    noun: &str,
    field: &str,
    expected: &str,
) -> Option<crate::harness::arrange::Arranged> {
    let arranged = world.arranged.get(expected)?;
    let collection = collection_for(world, noun);
    let endpoint = world.fixtures.permissions.endpoint_for(&collection)?;
    let reference = endpoint.references.get(field)?;
    (reference.collection == arranged.collection).then(|| arranged.clone())
}

/// `time entry #501 still exists`, `time entry "Lunch" no longer exists`, `the contact just
/// created no longer exists`
#[then(
    regex = r#"^(?:the )?([[:word:]][[:word:] ]*?) (?:#([0-9]+)|"([^"]+)"|just created) (still exists|no longer exists)$"#
)]
async fn record_exists(
    world: &mut ConformanceWorld,
    noun: String,
    id: String,
    name: String,
    state: String,
) {
    let (shown, record) = named_record(world, &noun, &id, &name).await;
    let exists = record.is_some();
    assert_eq!(
        exists,
        state == "still exists",
        "{shown}: expected it {state}\n{}",
        world.evidence()
    );
}
