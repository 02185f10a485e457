//! A conforming integration that answers the way a Python server built with FastMCP
//! usually does: the reference integration's behaviour (`cw-conform mcp-serve`), written
//! for a reader instead of a program. It shows that the harness judges an integration by
//! what it did and what it said, not by the shape of its results
//! (`tests/it/text_integration.rs` runs the whole suite through it).
//!
//! - Every result is one text block, `{"result": "<text>"}` (FastMCP's wrapping of a
//!   tool's return value); there is no `structuredContent`, and `isError` is never set:
//!   errors are ordinary sentences.
//! - A list of records is a Markdown table (`| ID | Identifier | Name | … |`); one record
//!   is a plain sentence (`Record #1001: VPN drops every 30 minutes.`).
//! - A refusal by ConnectWise says so and names the permission as
//!   `(Service Desk / Service Tickets / Add)`; a failure starts `Failed to …` and quotes
//!   what ConnectWise said; a refused input starts `Refused:`.
//! - What has no structured field is said in words: the rule that decided a blocked, held
//!   or refused action (`(rule SAFE-01)`), and the fields a partial result is missing
//!   (the reference's own sentence names them).
//!
//! It reads the same variables as `cw-conform mcp-serve` (`CONNECTWISE_SITE`,
//! `CONNECTWISE_COMPANY_ID`, `CONNECTWISE_PUBLIC_KEY`, `CONNECTWISE_PRIVATE_KEY`,
//! `CONNECTWISE_CLIENT_ID`); `fixtures/mcp/text-integration.toml` drives it.

use std::process::ExitCode;
use std::sync::{Arc, LazyLock};

use cw_conform::fixtures::Fixtures;
use cw_conform::integration::ToolResult;
use cw_conform::integration::mcp::server::{ServeSettings, serve_stdio_presenting};
use cw_conform::model::Outcome;
use regex::Regex;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

/// The columns a table of records shows, when a record has them.
const COLUMNS: [(&str, &str); 6] = [
    ("id", "ID"),
    ("identifier", "Identifier"),
    ("name", "Name"),
    ("firstName", "First name"),
    ("lastName", "Last name"),
    ("summary", "Summary"),
];

/// `Service Desk / Service Tickets permission Add`, as the reference integration names a
/// permission.
static PERMISSION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?P<module>[A-Z][\w&-]*(?: (?:[A-Z&][\w&-]*|-))*) / (?P<function>[A-Z][^/]*?) permission (?P<operation>Add|Edit|Delete|Inquire)",
    )
    .ok()
});

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match ServeSettings::from_vars(&|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("text_integration: {error}");
            return ExitCode::from(2);
        }
    };
    let fixtures = match Fixtures::builtin() {
        Ok(fixtures) => Arc::new(fixtures.clone()),
        Err(error) => {
            eprintln!("text_integration: {error}");
            return ExitCode::from(2);
        }
    };
    match serve_stdio_presenting(fixtures, settings, in_words).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("text_integration: {error}");
            ExitCode::from(1)
        }
    }
}

/// A tool result as FastMCP would return a tool's text.
fn in_words(result: &ToolResult) -> CallToolResult {
    let mut text = said(result);
    if let Some(records) = shown(&result.data)
        && matches!(
            result.outcome,
            Outcome::Allowed | Outcome::Partial | Outcome::Escalated
        )
    {
        text = if text.is_empty() {
            records
        } else {
            format!("{text}\n\n{records}")
        };
    }
    CallToolResult::success(vec![ContentBlock::text(
        json!({ "result": text }).to_string(),
    )])
}

/// The message, in this server's words.
fn said(result: &ToolResult) -> String {
    let mut message = match &*PERMISSION {
        Some(permission) => permission
            .replace_all(&result.message, "($module / $function / $operation)")
            .into_owned(),
        None => result.message.clone(),
    };
    match result.outcome {
        Outcome::Denied => {
            message = message.replacen("No access:", "You do not have permission:", 1);
        }
        Outcome::Failed => {
            message = match message.strip_prefix("Could not ") {
                Some(rest) => format!("Failed to {rest}"),
                None => format!("Failed: {message}"),
            }
            .replace("ConnectWise answered", "ConnectWise said");
        }
        Outcome::Rejected if !message.starts_with("Refused") => {
            message = format!("Refused: {message}");
        }
        // A single record read is shown as its sentence instead.
        Outcome::Allowed if message.starts_with("Read ") && shown(&result.data).is_some() => {
            message.clear();
        }
        _ => {}
    }
    if let Some(rule) = &result.rule
        && !message.contains(&rule.to_string())
    {
        message = format!("{} (rule {rule}).", message.trim_end_matches('.'));
    }
    message
}

/// The records of a result: a list as a Markdown table, one record as a sentence.
fn shown(data: &Value) -> Option<String> {
    match data {
        Value::Array(records) if !records.is_empty() => Some(table(records)),
        Value::Object(map) if map.contains_key("record") => map["record"].as_object().map(sentence),
        Value::Object(map) if map.contains_key("id") => Some(sentence(map)),
        _ => None,
    }
}

/// `Record #1001: VPN drops every 30 minutes.`
fn sentence(record: &Map<String, Value>) -> String {
    let id = record
        .get("id")
        .map(ToString::to_string)
        .unwrap_or_default();
    let name = label(record);
    if name.is_empty() {
        format!("Record #{id}.")
    } else {
        format!("Record #{id}: {}.", name.trim_end_matches('.'))
    }
}

/// What names a record: its name, identifier, summary, or first and last name.
fn label(record: &Map<String, Value>) -> String {
    let text = |field: &str| {
        record
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    ["name", "summary", "identifier"]
        .iter()
        .map(|field| text(field).to_owned())
        .find(|value| !value.is_empty())
        .unwrap_or_else(|| {
            format!("{} {}", text("firstName"), text("lastName"))
                .trim()
                .to_owned()
        })
}

/// A Markdown table of the records: the named columns any of them has, then every other
/// field that holds a plain value (under its own name), as a tabulating server prints a list.
fn table(records: &[Value]) -> String {
    let mut columns: Vec<(&str, &str)> = COLUMNS
        .into_iter()
        .filter(|(field, _)| records.iter().any(|r| r.get(field).is_some()))
        .collect();
    for record in records {
        for (field, value) in record.as_object().into_iter().flatten() {
            let plain = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
            if plain && !columns.iter().any(|(known, _)| known == field) {
                columns.push((field.as_str(), field.as_str()));
            }
        }
    }
    let row = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
    let mut lines = vec![
        row(columns
            .iter()
            .map(|(_, title)| (*title).to_owned())
            .collect()),
        row(columns.iter().map(|_| "---".to_owned()).collect()),
    ];
    for record in records {
        lines.push(row(columns
            .iter()
            .map(|(field, _)| cell(record.get(field)))
            .collect()));
    }
    lines.join("\n")
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.replace('|', "\\|").replace(['\n', '\r'], " "),
        Some(other) => other.to_string(),
    }
}
