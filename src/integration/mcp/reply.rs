//! Reading a tool result as the AI received it: the records it returns, in whichever form
//! the server wrote them, and the message in which it refuses or reports a failure.
//!
//! | the result holds | the data ([`ToolReply::data`]) | the records ([`Records::read`]) |
//! |---|---|---|
//! | `structuredContent` with `data` | `data` | as for JSON below |
//! | `structuredContent` `{"result": …}` (FastMCP's wrapping of a return value) | what it wraps (text is read as text) | as for JSON or text below |
//! | `structuredContent` of only `message`, `error`, `detail`, `status`, `code` … | none (it is a message) | none |
//! | `structuredContent`, other | all of it | as for JSON below |
//! | a text block `{"result": "<text>"}` (FastMCP's wrapping) | read as the text it wraps | as below |
//! | JSON text: a list | the list | each object in it |
//! | JSON text: `{"record": …, "related": …}` | the object | the record |
//! | JSON text: an object without `id` holding one list of objects (`{"companies": […]}`) | the object | each object in the list |
//! | JSON text: an object of only `message`, `error`, `detail`, `status`, `code` … | none (it is a message) | none |
//! | JSON text: another object | the object (its `data`, if it has one) | the object |
//! | text with a fenced JSON block, or ending in JSON from a line starting `[` or `{` | that JSON | as for JSON above |
//! | a Markdown table (`\| id \| name \|`, a `\|---\|` row, then rows) | the table's lines | one per row; the header names the fields (`Last name` is `lastName`, `ID` and `#` are `id`); without an id column, a `#19` cell is the id; without a name column, the first text column is the `name` |
//! | list items (`-`, `*`, `1.`) of the form `[Kind ]#19[:] Name[ (key value, key: value)][. Key: value]` (the id also as `ID 19` or `ID: 19`, after at most three words) | those lines | one per item: `id` 19, `name` "Name", and each key |
//! | list items with the id after the name: `Name (ID: 19, key: value)`, `Name — ID: 19` | those lines | one per item, as above |
//! | list items of the form `id: 19, name: Contoso, …` | those lines | one per item, a field per key |
//! | plain sentences of the item forms (`Company #19 Contoso Ltd (identifier CONTOSO)`), when the text has no list or table of records and the sentence neither refuses nor reports a failure | those lines | one per sentence (the sentence stays part of the message too) |
//!
//! A record is found by its id, and by name: its `name`, `identifier`, `summary` or
//! `lastName` equals the name (ignoring case); read from text, it also matches when one of
//! them holds the name as whole words ("Wanda Gibbons" for "Gibbons").
//!
//! The message ([`ToolReply::message`]) is the text without any of that data. Refusals
//! ([`REFUSALS`], [`NO_ACCESS`], [`INVALID_INPUT`], [`AUTHENTICATION`]), reported failures
//! ([`FAILURES`]: "failed", "error", "could not", "unsuccessful", unless it says "no
//! error") and missing fields are looked for there only, so "User cannot print" in a
//! record's notes does not turn a read into a refusal.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// A tool result as the AI received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolReply {
    /// `isError`.
    pub is_error: bool,
    /// The text blocks, joined (without the block that only repeats the structured content).
    pub text: String,
    /// `structuredContent`.
    pub structured: Option<Value>,
}

impl ToolReply {
    /// Reads an MCP tool result. A text block that is a framework's wrapper
    /// (`{"result": …}`, as FastMCP writes a tool's return value) is read as what it wraps.
    pub fn from_result(result: &rmcp::model::CallToolResult) -> ToolReply {
        let structured = result.structured_content.clone();
        let text = result
            .content
            .iter()
            .filter_map(|block| block.as_text().map(|t| t.text.clone()))
            .filter(|text| {
                // The spec asks servers to repeat structured content as a text block.
                structured
                    .as_ref()
                    .is_none_or(|s| serde_json::from_str::<Value>(text).ok().as_ref() != Some(s))
            })
            .map(|text| unwrapped_text(&text).unwrap_or(text))
            .collect::<Vec<_>>()
            .join("\n");
        ToolReply {
            is_error: result.is_error.unwrap_or(false),
            text,
            structured,
        }
    }

    /// The data the result returns: `structuredContent.data`, else the structured content
    /// (what a `{"result": …}` wrapper holds; none when it holds only a message), else the
    /// JSON in the text, else the text's record lines and tables (as text, for
    /// [`Records::read`]); `null` when there are none.
    pub fn data(&self) -> Value {
        match &self.structured {
            Some(structured) => Reading::of_json(structured.clone()).data,
            None => Reading::of(&self.text).data,
        }
    }

    /// The records the result returns, in whichever form it wrote them.
    pub fn records(&self) -> Records<'static> {
        Records::read(&self.data()).into_owned()
    }

    /// What the result says, without the data it returns: the text without its JSON, its
    /// tables and its record lines (a JSON object's `message`, `error` and `detail` are
    /// kept). Refusals, failures and missing fields are looked for here, never in records.
    pub fn message(&self) -> String {
        Reading::of(&self.text).message
    }

    /// Whether the result refuses or reports a failure: `isError`, or its message (not its
    /// records) uses a word of [`REFUSALS`] or [`FAILURES`].
    pub fn reports_failure(&self) -> bool {
        let message = self.message();
        self.is_error || mentions(&message, &REFUSALS) || reports_failure_in(&message)
    }

    /// A value in the structured content (or in the text parsed as JSON) by JSON pointer.
    pub fn pointer(&self, pointer: &str) -> Option<Value> {
        let root = match &self.structured {
            Some(value) => value.clone(),
            None => serde_json::from_str::<Value>(self.text.trim()).ok()?,
        };
        root.pointer(pointer).filter(|v| !v.is_null()).cloned()
    }

    pub(crate) fn structured_strings(&self, key: &str) -> Vec<String> {
        self.structured
            .as_ref()
            .and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The text a `{"result": …}` wrapper holds (a value that is not text, as JSON text).
fn unwrapped_text(text: &str) -> Option<String> {
    match serde_json::from_str::<Value>(text.trim()).ok()? {
        Value::Object(map) if map.len() == 1 => match map.get("result")? {
            Value::String(inner) => Some(inner.clone()),
            other => Some(other.to_string()),
        },
        _ => None,
    }
}

/// Words with which a result refuses.
pub const REFUSALS: [&str; 12] = [
    "refus",
    "not allowed",
    "not permitted",
    "blocked",
    "denied",
    "cannot",
    "can't",
    "unable",
    "nothing was written",
    "nothing was sent",
    "declined",
    "cancelled",
];

/// Words with which a result tells the AI it has no access.
pub const NO_ACCESS: [&str; 8] = [
    "no access",
    "permission",
    "forbidden",
    "403",
    "not authorized",
    "not authorised",
    "access denied",
    "security role",
];

/// Words with which a result refuses the input itself (rather than the action).
pub const INVALID_INPUT: [&str; 9] = [
    "invalid",
    "validation",
    "required",
    "missing",
    "not found",
    "does not exist",
    "no such",
    "unknown",
    "i need",
];

/// Words with which a result reports refused credentials.
pub const AUTHENTICATION: [&str; 5] = ["401", "authenticat", "credential", "unauthori", "api key"];

pub(crate) fn mentions(text: &str, words: &[&str]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w))
}

/// Whether `text` names `word` as a word of its own.
pub fn names_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

/// Words with which a result reports that what it tried failed.
pub const FAILURES: [&str; 6] = [
    "fail",
    "error",
    "could not",
    "couldn't",
    "unsuccessful",
    "not successful",
];

/// Phrases that use a word of [`FAILURES`] to say nothing failed.
const NO_FAILURE: [&str; 8] = [
    "no error",
    "without error",
    "0 error",
    "zero error",
    "error-free",
    "no failure",
    "0 failed",
    "nothing failed",
];

/// Whether a message reports a failure in words ("Failed to update ticket", "error:").
fn reports_failure_in(message: &str) -> bool {
    let mut message = message.to_lowercase();
    for phrase in NO_FAILURE {
        message = message.replace(phrase, " ");
    }
    mentions(&message, &FAILURES)
}

/// Whether a message names a security function's module, function and operation, in any
/// order and any case (`Service Desk / Service Tickets / Add`, "the Add level of Service
/// Tickets in Service Desk"): the parts it does not name, empty when it names all.
pub fn unnamed_permission_parts(
    message: &str,
    module: &str,
    function: &str,
    operation: &str,
) -> Vec<String> {
    let words = |text: &str| {
        let spaced: String = text
            .to_lowercase()
            .replace('&', " and ")
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        format!(
            " {} ",
            spaced.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    };
    let said = words(message);
    [
        ("module", module),
        ("function", function),
        ("operation", operation),
    ]
    .into_iter()
    .filter(|(_, name)| !said.contains(&words(name)))
    .map(|(part, name)| format!("the {part} \"{name}\""))
    .collect()
}

/// A tool result's text taken apart: the data it returns and the message around it.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    /// JSON data, or the record lines and tables as text, or `null`.
    data: Value,
    /// Everything else.
    message: String,
}

/// The keys of a JSON object that carry a message, not data.
const MESSAGE_KEYS: [&str; 4] = ["message", "error", "detail", "details"];

/// The keys a JSON object without data may have besides [`MESSAGE_KEYS`].
const STATUS_KEYS: [&str; 6] = ["status", "code", "success", "ok", "isError", "outcome"];

impl Reading {
    fn of(text: &str) -> Reading {
        let text = text.trim();
        if let Ok(json) = serde_json::from_str::<Value>(text) {
            return Reading::of_json(json);
        }
        let scan = Scan::of(text);
        let data = match scan.json {
            Some(json) => json,
            None if scan.data_lines.is_empty() => Value::Null,
            None => Value::String(scan.data_lines.join("\n")),
        };
        Reading {
            data,
            message: scan.message_lines.join("\n"),
        }
    }

    fn of_json(json: Value) -> Reading {
        let Value::Object(map) = json else {
            return match json {
                Value::String(text) => Reading::of(&text),
                other => Reading {
                    data: other,
                    message: String::new(),
                },
            };
        };
        if map.len() == 1
            && let Some(inner) = map.get("result")
        {
            return Reading::of_json(inner.clone());
        }
        let message = MESSAGE_KEYS
            .iter()
            .filter_map(|key| map.get(*key).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        let only_a_message = map
            .keys()
            .all(|key| MESSAGE_KEYS.contains(&key.as_str()) || STATUS_KEYS.contains(&key.as_str()));
        let data = if only_a_message {
            Value::Null
        } else if let Some(data) = map.get("data") {
            data.clone()
        } else {
            Value::Object(map)
        };
        Reading { data, message }
    }
}

/// The lines of a text sorted into data (a JSON block, tables, record lines) and message.
#[derive(Debug, Default)]
struct Scan {
    json: Option<Value>,
    data_lines: Vec<String>,
    message_lines: Vec<String>,
    records: Vec<Record<'static>>,
}

impl Scan {
    fn of(text: &str) -> Scan {
        let mut scan = Scan::default();
        let lines: Vec<&str> = text.lines().collect();
        let mut at = 0;
        let mut sentences: Vec<(String, Record<'static>)> = Vec::new();
        let mut listed = false;
        while at < lines.len() {
            let line = lines[at].trim();
            if scan.json.is_none()
                && let Some((json, next)) = json_block(&lines, at)
            {
                scan.json = Some(json);
                at = next;
                continue;
            }
            if let Some((table, next)) = Table::at(&lines, at) {
                scan.data_lines
                    .extend(lines[at..next].iter().map(|l| l.trim().to_owned()));
                scan.records.extend(table.records);
                listed = true;
                at = next;
                continue;
            }
            match record_line(line) {
                Some((true, record)) => {
                    scan.data_lines.push(line.to_owned());
                    scan.records.push(record);
                    listed = true;
                }
                Some((false, record))
                    if !mentions(line, &REFUSALS) && !reports_failure_in(line) =>
                {
                    sentences.push((line.to_owned(), record));
                    scan.message_lines.push(line.to_owned());
                }
                _ => scan.message_lines.push(line.to_owned()),
            }
            at += 1;
        }
        // Plain sentences are records only where the text has no list or table of them,
        // and they stay part of the message ("Read #1001, but owner is missing").
        if !listed && scan.json.is_none() {
            for (line, record) in sentences {
                scan.data_lines.push(line);
                scan.records.push(record);
            }
        }
        scan.message_lines.retain(|m| !m.is_empty());
        scan
    }
}

/// A JSON value starting at line `at`: a fenced code block that is JSON, or the rest of
/// the text from a line starting with `[` or `{`; and the line after it.
fn json_block(lines: &[&str], at: usize) -> Option<(Value, usize)> {
    let line = lines[at].trim();
    if line.starts_with("```") {
        let end = (at + 1..lines.len()).find(|i| lines[*i].trim().starts_with("```"))?;
        let json = serde_json::from_str(&lines[at + 1..end].join("\n")).ok()?;
        return Some((json, end + 1));
    }
    if line.starts_with('[') || line.starts_with('{') {
        let json = serde_json::from_str(&lines[at..].join("\n")).ok()?;
        return Some((json, lines.len()));
    }
    None
}

/// A Markdown table: a header row, a separator row (`|---|---|`), and its rows.
struct Table {
    records: Vec<Record<'static>>,
}

impl Table {
    /// The table starting at line `at`, and the line after it.
    fn at(lines: &[&str], at: usize) -> Option<(Table, usize)> {
        let header = table_cells(lines[at])?;
        let separator = table_cells(lines.get(at + 1)?)?;
        let is_separator = separator
            .iter()
            .all(|cell| !cell.is_empty() && cell.chars().all(|c| matches!(c, '-' | ':' | ' ')));
        if !is_separator {
            return None;
        }
        let names: Vec<String> = header.iter().map(|h| field_name(h)).collect();
        let mut records = Vec::new();
        let mut next = at + 2;
        while let Some(cells) = lines.get(next).and_then(|l| table_cells(l)) {
            let mut fields = Map::new();
            for (name, cell) in names.iter().zip(&cells) {
                if !name.is_empty() && !cell.is_empty() {
                    fields.insert(name.clone(), Value::String(cell.clone()));
                }
            }
            let id = fields
                .get("id")
                .and_then(Value::as_str)
                .and_then(record_number)
                .or_else(|| {
                    cells
                        .iter()
                        .find_map(|c| c.strip_prefix('#').and_then(record_number))
                });
            // Without a name column, the first text column names the record (`| ID | Company |`).
            if !NAME_FIELDS.iter().any(|f| fields.contains_key(*f))
                && let Some(first) = names
                    .iter()
                    .zip(&cells)
                    .find(|(name, cell)| {
                        name.as_str() != "id" && !cell.is_empty() && record_number(cell).is_none()
                    })
                    .map(|(_, cell)| cell.clone())
            {
                fields.insert("name".to_owned(), Value::String(first));
            }
            records.push(Record::read_from_text(id, fields));
            next += 1;
        }
        Some((Table { records }, next))
    }
}

/// The cells of a table row (`| a | b |`), with `\|` read as `|`; `None` for other lines.
fn table_cells(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let inner = line.strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cells.last_mut()?.push('|');
            }
            '|' => cells.push(String::new()),
            other => cells.last_mut()?.push(other),
        }
    }
    Some(cells.iter().map(|c| plain(c.trim())).collect())
}

/// A number written as a record number: `19` or `#19`.
fn record_number(text: &str) -> Option<i64> {
    text.trim().trim_start_matches('#').parse().ok()
}

/// Text without Markdown emphasis and code marks.
fn plain(text: &str) -> String {
    text.replace("**", "").replace("__", "").replace('`', "")
}

/// A field name as a JSON key: `Last name` is `lastName`, `ID` and `#` are `id`.
fn field_name(header: &str) -> String {
    let header = plain(header);
    if header.trim() == "#" {
        return "id".to_owned();
    }
    let words: Vec<String> = header
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut name = String::new();
    for (index, word) in words.iter().enumerate() {
        let mut chars = word.chars();
        if index == 0 {
            name.push_str(word);
        } else if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    name
}

/// A bullet (`-`, `*`, `+`, `•`, `1.`, `1)`) taken off a line: whether there was one, and
/// the rest.
fn without_bullet(line: &str) -> (bool, &str) {
    let line = line.trim();
    for bullet in ["- ", "* ", "+ ", "• "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return (true, rest.trim_start());
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return (true, rest.trim_start());
        }
    }
    (false, line)
}

/// `Key: value` pairs: `Key` is up to four words, pairs are separated by `,`, `;`, `|`,
/// `—` or a sentence end. A key that is not at a separator is part of a value.
fn key_values(text: &str) -> Vec<(String, String)> {
    static KEY: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?:^|[,;|—–]\s*|\.\s+)([A-Za-z][A-Za-z0-9_]*(?: [A-Za-z][A-Za-z0-9_]*){0,3})\s*[:=]\s+",
        )
        .ok()
    });
    let Some(key) = KEY.as_ref() else {
        return Vec::new();
    };
    let found: Vec<(usize, usize, String)> = key
        .captures_iter(text)
        .filter_map(|c| {
            let all = c.get(0)?;
            Some((all.start(), all.end(), c.get(1)?.as_str().to_owned()))
        })
        .collect();
    found
        .iter()
        .enumerate()
        .map(|(index, (_, end, name))| {
            let until = found.get(index + 1).map_or(text.len(), |next| next.0);
            let value = text[*end..until]
                .trim()
                .trim_end_matches(['.', ',', ';'])
                .trim();
            (field_name(name), value.to_owned())
        })
        .filter(|(name, value)| !name.is_empty() && !value.is_empty())
        .collect()
}

/// The record a line describes, and whether it is a list item:
/// - `- id: 19, name: Contoso Ltd` (the first key is the id);
/// - `[Kind ]#19[:] Name[ (key value, key: value)][. Key: value]`, the id (`#19`, `ID 19`,
///   `ID: 19`) after at most three words;
/// - `Name (ID: 19, key: value)` or `Name — ID: 19`: the id after the name.
fn record_line(line: &str) -> Option<(bool, Record<'static>)> {
    static MARKER: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(?i)(?:#|\bid\b\s*[:=#]?\s*)(\d+)\b").ok());
    let line = plain(line);
    let (listed, rest) = without_bullet(&line);
    let pairs = key_values(rest);
    if let Some((first, value)) = pairs.first()
        && first == "id"
        && rest.to_lowercase().starts_with("id")
    {
        let id = record_number(value)?;
        let fields = pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        return Some((listed, Record::read_from_text(Some(id), fields)));
    }
    let marker = MARKER.as_ref()?.captures(rest)?;
    let (whole, digits) = (marker.get(0)?, marker.get(1)?);
    let id: i64 = digits.as_str().parse().ok()?;
    let before = &rest[..whole.start()];
    let kind = before.trim();
    let leading = kind.split_whitespace().count() <= 3
        && kind
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '_');
    let mut fields = Map::new();
    if leading {
        let after = rest[digits.end()..].trim_start_matches([':', '-', '–', '—', '.', ',', ' ']);
        let name_end = [" (", " — ", " – ", " | ", "; ", ". "]
            .iter()
            .filter_map(|stop| after.find(stop))
            .chain(key_values(after).first().and_then(|(k, _)| {
                after
                    .to_lowercase()
                    .find(&format!(", {}", k.to_lowercase()))
            }))
            .min()
            .unwrap_or(after.len());
        add_name(&mut fields, &after[..name_end]);
        add_attributes(&mut fields, &after[name_end..]);
    } else if let Some(open) = before.rfind('(')
        && !before[open..].contains(')')
    {
        // `Name (ID: 19, key: value)`: the group holds the id.
        add_name(&mut fields, &before[..open]);
        add_attributes(&mut fields, &rest[open..]);
    } else if let Some(name) = kind.strip_suffix([',', '—', '–', '-', '|', ';']) {
        // `Name — ID: 19[, key: value]`
        add_name(&mut fields, name);
        add_attributes(&mut fields, &rest[digits.end()..]);
    } else {
        return None;
    }
    Some((listed, Record::read_from_text(Some(id), fields)))
}

/// A record's name as text gives it (not a `key: value`, without a closing full stop).
fn add_name(fields: &mut Map<String, Value>, text: &str) {
    let name = text
        .trim()
        .trim_end_matches(['.', ':'])
        .trim_end_matches([' ', '-', '—', '–'])
        .trim();
    if !name.is_empty() && !name.contains(':') {
        fields.insert("name".to_owned(), Value::String(name.to_owned()));
    }
}

/// The attributes after a record's name: each parenthesised `key value` or `key: value`,
/// then each `Key: value` outside the parentheses.
fn add_attributes(fields: &mut Map<String, Value>, tail: &str) {
    let mut outside = String::new();
    let mut depth = 0usize;
    let mut group = String::new();
    for c in tail.chars() {
        match c {
            '(' => {
                depth += 1;
                group.clear();
            }
            ')' if depth > 0 => {
                depth -= 1;
                for part in group.split([',', ';']) {
                    let part = part.trim();
                    let (key, value) = part
                        .split_once(':')
                        .or_else(|| part.split_once(' '))
                        .unwrap_or((part, ""));
                    let (key, value) = (field_name(key), value.trim());
                    if !key.is_empty() && !value.is_empty() {
                        fields.insert(key, Value::String(value.to_owned()));
                    }
                }
                outside.push_str("; ");
            }
            c if depth > 0 => group.push(c),
            c => outside.push(c),
        }
    }
    for (key, value) in key_values(outside.trim_start_matches([';', ' ', '.', ','])) {
        fields.entry(key).or_insert(Value::String(value));
    }
}

/// A record a result returns: its id and its fields (borrowed from the result's JSON, or
/// read from its text).
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    /// The record number, when the result gives it.
    pub id: Option<i64>,
    /// The fields, as JSON (read from text: each as text, the name under `name`).
    pub fields: Cow<'a, Map<String, Value>>,
    /// Read from text (a table or a sentence), where a field holds more than its value.
    from_text: bool,
}

/// The fields by which a step finds a record by name.
pub const NAME_FIELDS: [&str; 4] = ["name", "identifier", "summary", "lastName"];

impl Record<'static> {
    fn read_from_text(id: Option<i64>, mut fields: Map<String, Value>) -> Record<'static> {
        if let Some(id) = id {
            fields.insert("id".to_owned(), Value::from(id));
        }
        Record {
            id,
            fields: Cow::Owned(fields),
            from_text: true,
        }
    }

    /// A record given as a JSON object.
    pub fn from_object(fields: Map<String, Value>) -> Record<'static> {
        Record::of_object(Cow::Owned(fields))
    }
}

impl<'a> Record<'a> {
    /// A record given as a JSON object, borrowed or owned.
    fn of_object(fields: Cow<'a, Map<String, Value>>) -> Record<'a> {
        let id = fields.get("id").and_then(|id| match id {
            Value::Number(n) => n.as_i64(),
            Value::String(text) => record_number(text),
            _ => None,
        });
        Record {
            id,
            fields,
            from_text: false,
        }
    }

    /// The record, owning its fields.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            id: self.id,
            fields: Cow::Owned(self.fields.into_owned()),
            from_text: self.from_text,
        }
    }

    /// Whether the record has this name, identifier, summary or last name (ignoring case).
    /// A record read from text also has it when one of those holds it as whole words
    /// ("Wanda Gibbons" has the last name "Gibbons").
    pub fn is_named(&self, name: &str) -> bool {
        let wanted = name.trim().to_lowercase();
        NAME_FIELDS.iter().any(|field| {
            self.fields
                .get(*field)
                .and_then(Value::as_str)
                .is_some_and(|value| {
                    let value = value.trim().to_lowercase();
                    value == wanted || (self.from_text && names_word(&value, &wanted))
                })
        })
    }
}

impl<'a, 'r> IntoIterator for &'a Records<'r> {
    type Item = &'a Record<'r>;
    type IntoIter = std::slice::Iter<'a, Record<'r>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The records a tool result returns, borrowed from its data where it holds them as JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records<'a>(Vec<Record<'a>>);

impl<'a> Records<'a> {
    /// The records in a result's data ([`ToolResult::data`](crate::integration::ToolResult)
    /// or [`ToolReply::data`]):
    /// - a JSON list: each object in it (text items read as text);
    /// - a JSON object: its `record` (a read with its related records), what a `result` or
    ///   `data` wrapper holds, the one list of objects an object without an `id` holds
    ///   (`{"companies": […], "total": 3}`), else the object itself;
    /// - text: its JSON, else its Markdown tables and record lines (see the module doc);
    /// - `null`: none.
    pub fn read(data: &'a Value) -> Records<'a> {
        match data {
            Value::Null | Value::Bool(_) | Value::Number(_) => Records::default(),
            Value::Array(items) => {
                // One record an item, mostly: set aside at once (a list of thousands is not
                // grown through a dozen copies, nor made of a list for each item).
                let mut records = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::Object(map) => records.push(Record::of_object(Cow::Borrowed(map))),
                        Value::String(text) => records.extend(Scan::of(text).records),
                        _ => {}
                    }
                }
                Records(records)
            }
            Value::String(text) => match serde_json::from_str::<Value>(text.trim()) {
                Ok(json) if !json.is_string() => Records::read(&json).into_owned(),
                _ => {
                    let scan = Scan::of(text);
                    match scan.json {
                        Some(json) => Records::read(&json).into_owned(),
                        None => Records(scan.records),
                    }
                }
            },
            Value::Object(map) => {
                for wrapper in ["record", "result", "data"] {
                    if let Some(inner) = map.get(wrapper)
                        && !map.contains_key("id")
                    {
                        return Records::read(inner);
                    }
                }
                let lists: Vec<&Value> = map
                    .values()
                    .filter(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_object)))
                    .collect();
                if !map.contains_key("id") && lists.len() == 1 {
                    return Records::read(lists[0]);
                }
                if map.is_empty() {
                    Records::default()
                } else {
                    Records(vec![Record::of_object(Cow::Borrowed(map))])
                }
            }
        }
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each record.
    pub fn iter(&self) -> std::slice::Iter<'_, Record<'a>> {
        self.0.iter()
    }

    /// The records, owning their fields.
    pub fn into_owned(self) -> Records<'static> {
        Records(self.0.into_iter().map(Record::into_owned).collect())
    }

    /// The record numbers, in the order given (a record without one is left out).
    pub fn ids(&self) -> Vec<i64> {
        self.0.iter().filter_map(|r| r.id).collect()
    }

    /// Whether a record has this name (see [`Record::is_named`]).
    pub fn includes_named(&self, name: &str) -> bool {
        self.0.iter().any(|r| r.is_named(name))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    fn text(text: &str) -> ToolReply {
        ToolReply {
            is_error: false,
            text: text.into(),
            structured: None,
        }
    }

    /// A result as FastMCP writes a tool's text: one block `{"result": "<text>"}`.
    fn wrapped(inner: &str) -> ToolReply {
        let block = json!({ "result": inner }).to_string();
        ToolReply::from_result(&rmcp::model::CallToolResult::success(vec![
            rmcp::model::ContentBlock::text(block),
        ]))
    }

    fn structured(value: Value) -> ToolReply {
        ToolReply {
            is_error: false,
            text: "Found them.".into(),
            structured: Some(value),
        }
    }

    const CONTOSO_AND_ACME: [(i64, &str); 2] = [(19, "Contoso Ltd"), (2, "Acme Corporation")];

    #[rstest]
    #[case::structured_data(structured(json!({"data": [{"id": 19, "name": "Contoso Ltd"}, {"id": 2, "name": "Acme Corporation"}]})))]
    #[case::structured_result_wrapping_text(structured(json!({"result": "| id | name |\n|---|---|\n| 19 | Contoso Ltd |\n| 2 | Acme Corporation |"})))]
    #[case::structured_result_wrapper(structured(json!({"result": [{"id": 19, "name": "Contoso Ltd"}, {"id": 2, "name": "Acme Corporation"}]})))]
    #[case::json_text(text(
        r#"[{"id": 19, "name": "Contoso Ltd"}, {"id": 2, "name": "Acme Corporation"}]"#
    ))]
    #[case::a_named_list_in_json(text(r#"{"companies": [{"id": 19, "name": "Contoso Ltd"}, {"id": 2, "name": "Acme Corporation"}], "total": 2}"#))]
    #[case::fastmcp_wrapping_json(wrapped(
        r#"[{"id": 19, "name": "Contoso Ltd"}, {"id": 2, "name": "Acme Corporation"}]"#
    ))]
    #[case::fenced_json_after_a_sentence(text(
        "Found 2 companies:\n```json\n[{\"id\": 19, \"name\": \"Contoso Ltd\"}, {\"id\": 2, \"name\": \"Acme Corporation\"}]\n```"
    ))]
    #[case::a_markdown_table(wrapped(
        "Found 2 companies:\n\n| ID | Name | Identifier |\n|---|---|---|\n| 19 | Contoso Ltd | CONTOSO |\n| 2 | Acme Corporation | ACME |"
    ))]
    #[case::a_table_with_a_hash_column(text(
        "| # | Company |\n|:--|:--|\n| #19 | Contoso Ltd |\n| #2 | Acme Corporation |\n\n- Both are customers"
    ))]
    #[case::a_bullet_list(wrapped(
        "Companies:\n- Company #19 Contoso Ltd (identifier CONTOSO, type: Customer)\n- Company #2 Acme Corporation (identifier ACME)"
    ))]
    #[case::a_numbered_list_of_key_values(text(
        "1. id: 19, name: Contoso Ltd, identifier: CONTOSO\n2. id: 2, name: Acme Corporation"
    ))]
    #[case::ids_after_the_names(text(
        "Found 2 companies:\n1. **Contoso Ltd** (ID: 19, type: Customer)\n2. Acme Corporation — ID 2"
    ))]
    #[case::id_words_before_the_names(text("- ID 19: Contoso Ltd\n- Id #2 - Acme Corporation"))]
    #[case::plain_sentences(wrapped(
        "Company #19 Contoso Ltd (identifier CONTOSO).\nCompany #2: Acme Corporation. Status: Active."
    ))]
    fn records_are_found_by_id_and_name_in_every_form(#[case] reply: ToolReply) {
        let records = reply.records();
        assert_eq!(records.ids(), vec![19, 2], "{reply:?} read as {records:?}");
        for (_, name) in CONTOSO_AND_ACME {
            assert!(records.includes_named(name), "{name} in {records:?}");
        }
        assert!(!records.includes_named("Globex"));
    }

    #[test]
    fn fields_of_text_records_are_named_by_their_header_or_key() {
        let table = text(
            "| ID | Last name | Notes |\n|----|----|----|\n| 7 | Gibbons | User cannot print \\| escalate |",
        )
        .records();
        let record = table.iter().next().unwrap();
        assert_eq!(record.fields["lastName"], "Gibbons");
        assert_eq!(record.fields["notes"], "User cannot print | escalate");
        let sentence = text(
            "- Ticket #1001: VPN drops every 30 minutes (status New). Company: Acme Corporation.",
        )
        .records();
        let record = sentence.iter().next().unwrap();
        assert_eq!(record.id, Some(1001));
        assert_eq!(record.fields["name"], "VPN drops every 30 minutes");
        assert_eq!(record.fields["status"], "New");
        assert_eq!(record.fields["company"], "Acme Corporation");
    }

    #[test]
    fn a_name_in_text_is_found_as_whole_words_and_in_json_only_exactly() {
        let from_text = text("- Contact #5 Wanda Gibbons").records();
        assert!(from_text.includes_named("Gibbons"));
        assert!(!from_text.includes_named("Gibb"));
        let from_json = text(r#"[{"id": 5, "name": "Wanda Gibbons"}]"#).records();
        assert!(!from_json.includes_named("Gibbons"));
        assert!(from_json.includes_named("wanda gibbons"));
    }

    #[rstest]
    #[case::a_message_only("Refused to update member: nothing was sent to ConnectWise.")]
    #[case::a_json_error(r#"{"error": "Failed to update ticket", "status": 400}"#)]
    #[case::a_failure_naming_a_record("Failed to update ticket #1001: ConnectWise said 400.")]
    #[case::a_refusal_naming_a_record("Ticket #1001 cannot be deleted by this integration.")]
    #[case::empty("")]
    fn a_message_returns_no_data(#[case] said: &str) {
        let reply = wrapped(said);
        assert_eq!(reply.data(), Value::Null, "{reply:?}");
        assert!(reply.records().is_empty());
    }

    #[test]
    fn structured_content_holding_only_a_message_returns_no_data() {
        let reply = structured(json!({"error": "Failed to update ticket", "status": 400}));
        assert_eq!(reply.data(), Value::Null);
        let reference =
            structured(json!({"outcome": "denied", "message": "No access", "data": null}));
        assert_eq!(reference.data(), Value::Null);
    }

    #[test]
    fn a_sentence_beside_a_list_is_the_message_not_a_record() {
        let reply = text("Read company #19.\n- Contact #5 Wanda Gibbons\n- Contact #6 Tom Cruz");
        assert_eq!(reply.records().ids(), vec![5, 6]);
        assert_eq!(reply.message(), "Read company #19.");
    }

    #[rstest]
    #[case::a_failure(
        "Failed to update ticket: ConnectWise said 400 (summary is required).",
        true
    )]
    #[case::an_error("Error: the board does not exist.", true)]
    #[case::could_not("Could not close the ticket.", true)]
    #[case::unsuccessful("The update was unsuccessful.", true)]
    #[case::a_refusal("I cannot delete tickets.", true)]
    #[case::no_errors("Updated ticket #1001 with no errors.", false)]
    #[case::a_success("Created ticket #1234: Printer on fire.", false)]
    #[case::refusal_words_in_a_table(
        "Found 1 contact:\n| id | notes |\n|---|---|\n| 5 | User cannot print; error 42 failed |",
        false
    )]
    #[case::refusal_words_in_a_list(
        "Found 1 contact:\n- Contact #5 Wanda Gibbons (notes: access denied, could not print)",
        false
    )]
    #[case::refusal_words_in_json(r#"[{"id": 5, "notes": "error: failed, cannot print"}]"#, false)]
    #[case::refusal_words_in_wrapped_json(
        r#"{"result": [{"id": 5, "notes": "error: failed"}]}"#,
        false
    )]
    fn failures_and_refusals_are_read_in_the_message_only(#[case] said: &str, #[case] fails: bool) {
        assert_eq!(wrapped(said).reports_failure(), fails, "{said}");
        assert_eq!(text(said).reports_failure(), fails, "{said}");
    }

    #[rstest]
    #[case::the_reference("It needs Service Desk / Service Tickets permission Add at level All or My.", &[])]
    #[case::slashes_and_lower_case("You do not have permission (service desk / service tickets / add).", &[])]
    #[case::in_other_words("Ask for the Add level on Service Tickets in the Service Desk module.", &[])]
    #[case::no_function("You need the Service Desk Add permission.", &["the function \"Service Tickets\""])]
    #[case::no_operation("Service Desk / Service Tickets is not granted.", &["the operation \"Add\""])]
    #[case::a_word_inside_another("Service Desk / Service Tickets: additional rights needed.", &["the operation \"Add\""])]
    fn a_permission_is_named_in_any_wording(#[case] message: &str, #[case] unnamed: &[&str]) {
        assert_eq!(
            unnamed_permission_parts(message, "Service Desk", "Service Tickets", "Add"),
            unnamed
        );
    }

    #[test]
    fn an_ampersand_and_the_word_and_name_the_same_module() {
        assert!(
            unnamed_permission_parts(
                "Time and Expense / Time Entry Edit",
                "Time & Expense",
                "Time Entry",
                "Edit"
            )
            .is_empty()
        );
    }

    #[test]
    fn the_text_block_repeating_the_structure_is_not_part_of_the_message() {
        let structured = json!({"outcome": "allowed", "data": [1]});
        let mut result = rmcp::model::CallToolResult::success(vec![
            rmcp::model::ContentBlock::text("Found 1 record(s)."),
            rmcp::model::ContentBlock::text(structured.to_string()),
        ]);
        result.structured_content = Some(structured);
        let reply = ToolReply::from_result(&result);
        assert_eq!(reply.text, "Found 1 record(s).");
        assert_eq!(reply.data(), json!([1]));
    }

    #[test]
    fn fields_count_as_named_only_as_whole_words() {
        assert!(names_word("Fields: name, type, company.", "company"));
        assert!(!names_word("Fields: companyType.", "company"));
        assert!(!names_word("confirm to proceed", "id"));
    }
}
