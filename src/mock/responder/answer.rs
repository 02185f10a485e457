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
        Answer::written(status, records, answered)
    }

    fn written(status: u16, value: &(impl Serialize + ?Sized), answered: Answered) -> Self {
        // Written straight into bytes: a `Value`'s `Display` goes through a formatter, which
        // costs a serving mock a sixth of its time.
        match serde_json::to_string(value) {
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
