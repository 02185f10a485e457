//! An answer on its way out of the mock: status, JSON body and extra headers.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use crate::connectwise::error::ErrorBody;
use crate::connectwise::journal::Answered;

/// The `Content-Type` of every answer with a body.
pub(crate) const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// An answer on its way out: status, JSON body and extra headers.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Option<String>,
    pub(crate) headers: Vec<(&'static str, String)>,
    /// Its shape, for the journal (boxed: an answer travels in every `Err` of the
    /// responder).
    pub(crate) answered: Box<Answered>,
}

impl Answer {
    /// An answer with a JSON body, written compactly as ConnectWise writes it.
    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Answer::written(status, value, Answered::of(status, value))
    }

    /// A list of records (borrowed from the store where they are shown as stored), written
    /// without copying them into one value.
    pub(crate) fn records(status: u16, records: &[Cow<'_, Value>]) -> Self {
        let answered = Answered::of_records(records.iter().map(AsRef::as_ref));
        Answer::with_body(status, list_body(records), answered)
    }

    fn written(status: u16, value: &(impl Serialize + ?Sized), answered: Answered) -> Self {
        // Written straight into bytes: a `Value`'s `Display` goes through a formatter, which
        // costs a serving mock a sixth of its time.
        Answer::with_body(status, serde_json::to_string(value), answered)
    }

    fn with_body(status: u16, body: serde_json::Result<String>, answered: Answered) -> Self {
        match body {
            Ok(body) => Answer {
                status,
                body: Some(body),
                headers: Vec::new(),
                answered: Box::new(answered),
            },
            // Only JSON values are answered, and they always serialise.
            Err(e) => Answer::error(
                500,
                &ErrorBody::new(
                    "InternalError",
                    format!("The mock could not write its answer: {e}."),
                ),
            ),
        }
    }

    pub(crate) fn error(status: u16, body: &ErrorBody) -> Self {
        Answer {
            status,
            body: Some(body.to_wire()),
            headers: Vec::new(),
            answered: Box::new(Answered::of(
                status,
                &serde_json::to_value(body).unwrap_or(Value::Null),
            )),
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Answer {
            status,
            body: None,
            headers: Vec::new(),
            answered: Box::new(Answered::Nothing),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Answer::error(400, &ErrorBody::new("BadRequest", message))
    }

    /// 414 for a request target (path and query) of `length` bytes, beyond `limit`.
    pub(crate) fn uri_too_long(length: usize, limit: usize) -> Self {
        Answer::error(
            414,
            &ErrorBody::new(
                "UriTooLong",
                format!("The request URL is {length} bytes long; at most {limit} are allowed."),
            ),
        )
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Answer::error(404, &ErrorBody::new("NotFound", message))
    }
}

/// A list of records written compactly, as `serde_json::to_string` writes it, into one
/// buffer sized once: after the first record the rest are taken to be about its size
/// ([`list_capacity`]), so a page of a thousand records is not copied through ten doublings
/// (each a fresh allocation the size of the page so far).
fn list_body(records: &[Cow<'_, Value>]) -> serde_json::Result<String> {
    let mut body = Vec::new();
    body.push(b'[');
    for (index, record) in records.iter().enumerate() {
        if index == 0 {
            serde_json::to_writer(&mut body, record.as_ref())?;
            let capacity = list_capacity(body.len() - 1, records.len());
            body.reserve_exact(capacity.saturating_sub(body.len()));
        } else {
            body.push(b',');
            serde_json::to_writer(&mut body, record.as_ref())?;
        }
    }
    body.push(b']');
    // serde_json writes only UTF-8.
    String::from_utf8(body).map_err(serde::ser::Error::custom)
}

/// The bytes to set aside for a list of `count` records whose first is `first` bytes long:
/// the brackets and commas, and each record an eighth longer than the first (records of a
/// kind differ in the lengths of their names and numbers). At least what the first record
/// and the brackets take, so a list of one is never copied.
fn list_capacity(first: usize, count: usize) -> usize {
    let rest = count.saturating_sub(1);
    let each = first + first / 8 + 1;
    2 + first + rest.saturating_mul(each)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Records of one kind whose names grow with their serial, as grown collections' do.
    fn records(count: usize) -> Vec<Value> {
        (0..count)
            .map(|serial| {
                json!({
                    "id": serial,
                    "name": format!("Acme \"Paged\" {serial:04}"),
                    "types": [{"id": 1, "name": "Client"}],
                    "note": "caf\u{e9} \u{1f600}",
                })
            })
            .collect()
    }

    #[test]
    fn a_list_is_written_as_serde_json_writes_it() {
        for count in [0, 1, 2, 1000] {
            let records = records(count);
            let shown: Vec<Cow<'_, Value>> = records.iter().map(Cow::Borrowed).collect();
            let body = list_body(&shown).unwrap();
            assert_eq!(
                body,
                serde_json::to_string(&records).unwrap(),
                "{count} records"
            );
        }
    }

    #[test]
    fn a_page_of_a_kind_fits_the_room_set_aside_after_its_first_record() {
        let records = records(1000);
        let shown: Vec<Cow<'_, Value>> = records.iter().map(Cow::Borrowed).collect();
        let first = serde_json::to_string(&records[0]).unwrap().len();
        let capacity = list_capacity(first, records.len());
        let body = list_body(&shown).unwrap();
        assert!(
            body.len() <= capacity,
            "{} bytes written, {capacity} set aside",
            body.len()
        );
        assert!(
            capacity < body.len() + body.len() / 4,
            "{capacity} bytes set aside for {} written",
            body.len()
        );
        assert_eq!(body.capacity(), capacity, "the buffer never grew");
        assert_eq!(list_capacity(first, 1), first + 2, "a list of one");
        assert_eq!(list_capacity(0, 0), 2, "an empty list");
    }
}
