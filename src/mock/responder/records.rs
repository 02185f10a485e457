//! Record helpers: reference objects, reference checks, closing, JSON Patch as ConnectWise
//! takes it, and `_info` stamps.

use serde_json::{Map, Value};

use super::super::Inner;
use super::super::store::at_path;
use crate::connectwise::error::ValidationError;
use crate::connectwise::security::Endpoint;

use super::answer::Answer;

/// A reference object for a record: `{id, identifier?, name?}`.
pub(super) fn reference_of(record: &Value) -> Value {
    let mut reference = Map::new();
    for key in ["id", "identifier", "name"] {
        if let Some(value) = record.get(key) {
            reference.insert(key.into(), value.clone());
        }
    }
    if !reference.contains_key("name")
        && let (Some(first), Some(last)) = (
            record.get("firstName").and_then(Value::as_str),
            record.get("lastName").and_then(Value::as_str),
        )
    {
        reference.insert("name".into(), Value::from(format!("{first} {last}")));
    }
    Value::Object(reference)
}

/// Checks each reference field of a record and replaces it with the canonical reference.
pub(super) fn resolve_references(
    inner: &Inner,
    endpoint: &Endpoint,
    record: &mut Value,
) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for (field, reference) in &endpoint.references {
        let Some(given) = record.get(field).filter(|v| !v.is_null()).cloned() else {
            continue;
        };
        let within = reference.within.as_ref().and_then(|w| {
            record
                .get(w)
                .and_then(|v| v.get("id"))
                .and_then(Value::as_i64)
                .map(|id| (w, id))
        });
        let in_scope = |target: &Value| match within {
            Some((w, id)) => {
                at_path(target, &format!("{w}/id")).and_then(Value::as_i64) == Some(id)
            }
            None => true,
        };
        // Names repeat across parents (every board has a "New" status): look a name or
        // identifier up among the records of the same parent only.
        let find_by = |field: &str, value: &str| {
            inner
                .store
                .all(&reference.collection)
                .iter()
                .map(|r| r.value())
                .find(|r| {
                    in_scope(r)
                        && r.get(field)
                            .and_then(Value::as_str)
                            .is_some_and(|v| v.eq_ignore_ascii_case(value))
                })
        };
        let found = match &given {
            Value::Object(map) => {
                if let Some(id) = map.get("id").and_then(Value::as_i64) {
                    inner.store.get(&reference.collection, id)
                } else if let Some(identifier) = map.get("identifier").and_then(Value::as_str) {
                    find_by("identifier", identifier)
                } else {
                    map.get("name")
                        .and_then(Value::as_str)
                        .and_then(|n| find_by("name", n))
                }
            }
            Value::Number(n) => n
                .as_i64()
                .and_then(|id| inner.store.get(&reference.collection, id)),
            _ => None,
        };
        let found = found.filter(|target| in_scope(target));
        if let Some(target) = found {
            let canonical = reference_of(target);
            set_path(record, field, canonical);
        } else {
            let shown = given
                .get("id")
                .or_else(|| given.get("identifier"))
                .or_else(|| given.get("name"))
                .map_or_else(
                    || given.to_string(),
                    |v| v.to_string().trim_matches('"').to_owned(),
                );
            let message = match within {
                Some((w, id)) => format!(
                    "{} {shown} not found for {} {id}",
                    reference.noun,
                    endpoint
                        .references
                        .get(w.as_str())
                        .map_or(w.as_str(), |r| r.noun.as_str())
                ),
                None => format!("{} {shown} not found", reference.noun),
            };
            errors.push(ValidationError {
                code: "NotFound".into(),
                message,
                resource: endpoint.noun.clone(),
                field: format!("{field}/id"),
            });
        }
    }
    errors
}

/// Fills each of the endpoint's `default_references` the record does not name with the
/// referenced record carrying the flag (a board's default status), within the reference's
/// `within` scope; left empty when the scope is unknown or nothing carries the flag. A field
/// of `always` takes the flagged record even when the record names another.
pub(super) fn default_references(
    inner: &Inner,
    endpoint: &Endpoint,
    record: &mut Value,
    always: &[String],
) {
    for (field, flag) in &endpoint.default_references {
        if record.get(field).is_some_and(|v| !v.is_null()) && !always.contains(field) {
            continue;
        }
        let Some(reference) = endpoint.references.get(field) else {
            continue;
        };
        let scope = match &reference.within {
            Some(within) => match record
                .get(within)
                .and_then(|v| v.get("id"))
                .and_then(Value::as_i64)
            {
                Some(id) => Some((within.as_str(), id)),
                None => continue,
            },
            None => None,
        };
        let found = inner.store.all(&reference.collection).iter().find(|r| {
            r.get(flag).and_then(Value::as_bool) == Some(true)
                && scope.is_none_or(|(within, id)| {
                    at_path(r, &format!("{within}/id")).and_then(Value::as_i64) == Some(id)
                })
        });
        if let Some(target) = found {
            let reference = reference_of(target);
            set_path(record, field, reference);
        }
    }
}

pub(super) fn status_is_closed(
    inner: &Inner,
    endpoint: &Endpoint,
    record: &Value,
    rule: &crate::connectwise::security::CloseRule,
) -> bool {
    let Some(reference) = endpoint.references.get(&rule.status_field) else {
        return false;
    };
    record
        .get(&rule.status_field)
        .and_then(|s| s.get("id"))
        .and_then(Value::as_i64)
        .and_then(|id| inner.store.get(&reference.collection, id))
        .and_then(|status| status.get(&rule.closed_flag))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// ConnectWise sets `closedFlag` from the status.
pub(super) fn derive_closed_flag(inner: &Inner, endpoint: &Endpoint, record: &mut Value) {
    if let Some(rule) = &endpoint.close
        && record.get(&rule.status_field).is_some()
    {
        let closed = status_is_closed(inner, endpoint, record, rule);
        set_path(record, "closedFlag", Value::Bool(closed));
    }
}

pub(super) fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut fields: Vec<String> = new
        .iter()
        .filter(|(k, v)| k.as_str() != "_info" && old.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    fields.extend(
        old.keys()
            .filter(|k| !new.contains_key(*k) && k.as_str() != "_info")
            .cloned(),
    );
    fields
}

/// Applies ConnectWise's PATCH body: RFC 6902 operations whose paths are bare field
/// names (`summary`, `status/id`).
pub(super) fn apply_patch(record: &Value, operations: Vec<Value>) -> Result<Value, Answer> {
    let mut normalised = Vec::with_capacity(operations.len());
    for (index, mut operation) in operations.into_iter().enumerate() {
        let Some(map) = operation.as_object_mut() else {
            return Err(Answer::bad_request(format!(
                "Patch operation {index} is not an object."
            )));
        };
        let op = map
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !["add", "replace", "remove"].contains(&op.as_str()) {
            return Err(Answer::bad_request(format!(
                "Patch operation {index}: unsupported op {} (expected add, replace or remove).",
                map.get("op").cloned().unwrap_or(Value::Null)
            )));
        }
        map.insert("op".into(), Value::from(op));
        let Some(path) = map.get("path").and_then(Value::as_str) else {
            return Err(Answer::bad_request(format!(
                "Patch operation {index} has no path."
            )));
        };
        let pointer = format!("/{}", path.trim_start_matches('/'));
        map.insert("path".into(), Value::from(pointer));
        normalised.push(operation);
    }
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(normalised))
        .map_err(|e| Answer::bad_request(format!("Invalid patch: {e}.")))?;
    let mut updated = record.clone();
    json_patch::patch(&mut updated, &patch)
        .map_err(|e| Answer::bad_request(format!("Patch could not be applied: {e}.")))?;
    Ok(updated)
}

/// Sets a value at a `/`-separated path, creating objects on the way.
pub(super) fn set_path(record: &mut Value, path: &str, value: Value) {
    let mut current = record;
    let mut keys = path.split('/').peekable();
    while let Some(key) = keys.next() {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else { return };
        if keys.peek().is_none() {
            map.insert(key.to_owned(), value);
            return;
        }
        current = map
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Stamps `_info` as ConnectWise does on a write by `member` (and on a create, `created`).
pub(in crate::mock) fn stamp(record: &mut Value, member: &str, created: bool) {
    let now = now_utc();
    set_path(record, "_info/lastUpdated", Value::from(now.clone()));
    set_path(record, "_info/updatedBy", Value::from(member));
    if created {
        set_path(record, "_info/dateEntered", Value::from(now));
        set_path(record, "_info/enteredBy", Value::from(member));
    }
}

/// The current time as ConnectWise writes it (`2026-11-23T16:04:09Z`).
pub(super) fn now_utc() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn patch_paths_are_bare_field_names() {
        let record = json!({"id": 1, "summary": "old", "status": {"id": 1}});
        let updated = apply_patch(
            &record,
            vec![json!({"op": "replace", "path": "summary", "value": "new"})],
        )
        .unwrap();
        assert_eq!(updated["summary"], "new");
        assert!(apply_patch(&record, vec![json!({"op": "move", "path": "summary"})]).is_err());
    }

    #[test]
    fn the_clock_prints_connectwise_datetimes() {
        let now = now_utc();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }
}
