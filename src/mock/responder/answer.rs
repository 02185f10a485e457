//! An answer on its way out of the mock: status, JSON body and extra headers.

use serde_json::Value;

use crate::connectwise::error::ErrorBody;

/// An answer on its way out: status, JSON body and extra headers.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Option<String>,
    pub(super) headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub(super) fn json(status: u16, value: &Value) -> Self {
        Answer {
            status,
            body: Some(value.to_string()),
            headers: Vec::new(),
        }
    }

    pub(super) fn error(status: u16, body: &ErrorBody) -> Self {
        Answer {
            status,
            body: Some(body.to_wire()),
            headers: Vec::new(),
        }
    }

    pub(super) fn empty(status: u16) -> Self {
        Answer {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Answer::error(400, &ErrorBody::new("BadRequest", message))
    }

    pub(super) fn not_found(message: impl Into<String>) -> Self {
        Answer::error(404, &ErrorBody::new("NotFound", message))
    }
}
