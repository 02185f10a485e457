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
