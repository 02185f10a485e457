//! An answer on its way out of the mock: status, JSON body and extra headers.

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
    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Answer {
            status,
            body: Some(value.to_string()),
            headers: Vec::new(),
            answered: Box::new(Answered::of(status, value)),
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
