//! An answer on its way out of the mock: status, JSON body and extra headers.

use serde::Serialize;

use crate::connectwise::error::ErrorBody;

/// The `Content-Type` of every answer with a body.
pub(crate) const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// An answer on its way out: status, JSON body and extra headers.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Option<String>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// An answer with a JSON body, written compactly as ConnectWise writes it.
    pub(crate) fn json(status: u16, value: &(impl Serialize + ?Sized)) -> Self {
        // Written straight into bytes: a `Value`'s `Display` goes through a formatter, which
        // costs a serving mock a sixth of its time.
        match serde_json::to_string(value) {
            Ok(body) => Answer {
                status,
                body: Some(body),
                headers: Vec::new(),
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
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Answer {
            status,
            body: None,
            headers: Vec::new(),
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
