//! The journal of requests ConnectWise received: kept by the mock for every request, and by
//! the client against a sandbox, so a scenario can prove what ConnectWise saw (or that it
//! saw nothing). Headers are never kept: they hold secrets.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request and the status it was answered with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// HTTP method.
    pub method: String,
    /// Path under `/apis/3.0` (or the full path for other requests).
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// Status answered.
    pub status: u16,
    /// The authenticated API member, if authentication succeeded.
    pub member: Option<String>,
    /// The JSON body sent, if any.
    pub body: Option<Value>,
    /// What ConnectWise answered, reduced to what a comparison of two targets reads
    /// (`cw-conform parity`). Kept in memory only: reports never show the records a site
    /// holds.
    #[serde(skip)]
    pub answer: Option<Answered>,
}

/// An answer reduced to its shape: an error body's keys and codes, how many records a list
/// held and their field names, or the one record answered.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Answered {
    /// No body (a `204`), or one that is not JSON.
    #[default]
    Nothing,
    /// An error body (any status from 400).
    Error {
        /// Its keys, sorted (`code`, `errors`, `message`).
        keys: Vec<String>,
        /// Its `code`.
        code: Option<String>,
        /// Each field-level error, as `code at field`.
        field_errors: Vec<String>,
    },
    /// A list of records.
    Records {
        /// How many.
        count: usize,
        /// The field names any of them carries, sorted (shared: the journal of a long run
        /// keeps one list for the many answers listing records of the same fields).
        fields: std::sync::Arc<[String]>,
    },
    /// One record (a read by id, a write's answer, `/system/info`), or another JSON value.
    Record(Value),
}

impl Answered {
    /// The shape of an answer with `status` and JSON `body` (`Null` for none).
    pub fn of(status: u16, body: &Value) -> Answered {
        if status >= 400 {
            let keys = body
                .as_object()
                .map(|map| map.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            let text = |value: &Value, key: &str| {
                value.get(key).and_then(Value::as_str).map(str::to_owned)
            };
            let field_errors = body
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| {
                    errors
                        .iter()
                        .map(|e| {
                            format!(
                                "{} at {}",
                                text(e, "code").unwrap_or_default(),
                                text(e, "field").unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Answered::Error {
                keys: sorted(keys),
                code: text(body, "code"),
                field_errors,
            };
        }
        match body {
            Value::Null => Answered::Nothing,
            Value::Array(records) => Answered::of_records(records.iter()),
            other => Answered::Record(other.clone()),
        }
    }

    /// The shape of a successful answer listing `records`: how many, and their field names.
    pub fn of_records<'a>(records: impl Iterator<Item = &'a Value>) -> Answered {
        let mut count = 0;
        let mut fields = std::collections::BTreeSet::new();
        // The records of a list mostly carry the same fields in the same order: a record's
        // fields are added only when they differ from the record before it.
        let mut before: Option<&serde_json::Map<String, Value>> = None;
        for record in records {
            count += 1;
            if let Some(map) = record.as_object()
                && !before.is_some_and(|b| b.keys().eq(map.keys()))
            {
                fields.extend(map.keys());
                before = Some(map);
            }
        }
        Answered::Records {
            count,
            fields: fields.into_iter().cloned().collect(),
        }
    }
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

impl JournalEntry {
    /// Whether the request asked ConnectWise to change something.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }

    /// Whether ConnectWise accepted it.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether ConnectWise refused the sign-in rather than the request: a 401; or, for a
    /// caller it did not authenticate, "SSL is required" (403) or a 404 to a request that
    /// names no record (a list, a count or `/system/info` always exists; the developer
    /// guide warns a cloud site answers bad credentials so). A 404 for a record (`/9`) of
    /// an authenticated member is that record missing.
    pub fn refused_sign_in(&self) -> bool {
        let names_no_record = !self.path.split('/').any(|s| s.parse::<i64>().is_ok());
        self.status == 401
            || (self.member.is_none()
                && (self.status == 403 || (self.status == 404 && names_no_record)))
    }
}

impl fmt::Display for JournalEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.query.is_empty() {
            write!(f, "?{}", self.query)?;
        }
        write!(f, " -> {}", self.status)?;
        if let Some(member) = &self.member {
            write!(f, " (as {member})")?;
        }
        Ok(())
    }
}

/// The fields a write body sets: the keys of a JSON object (POST, PUT) or the paths of a
/// JSON Patch array (PATCH).
pub fn written_fields(body: &Value) -> Vec<String> {
    match body {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(operations) => operations
            .iter()
            .filter_map(|o| o.get("path").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Renders entries one per line for failure messages.
pub fn render(entries: &[JournalEntry]) -> String {
    if entries.is_empty() {
        return "  (no requests)".to_owned();
    }
    entries
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}
