//! ConnectWise's error body: `{"code", "message", "errors"}`.

use serde::{Deserialize, Serialize};

/// One field-level validation error inside an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationError {
    /// `NotFound`, `ObjectExists`, `OutOfRange`, `MaxLengthField`, …
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// The resource (`ticket`).
    pub resource: String,
    /// The field path (`status/id`).
    pub field: String,
}

/// The JSON body ConnectWise sends with an error status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `Security`, `Unauthorized`, `NotFound`, `InvalidObject`, …
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Field-level errors, `null` when there are none.
    pub errors: Option<Vec<ValidationError>>,
}

impl ErrorBody {
    /// An error without field-level details.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            errors: None,
        }
    }

    /// A 400 `InvalidObject` naming the invalid fields.
    pub fn invalid_object(resource: &str, errors: Vec<ValidationError>) -> Self {
        ErrorBody {
            code: "InvalidObject".into(),
            message: format!("{resource} object is invalid"),
            errors: Some(errors),
        }
    }

    /// The body as ConnectWise prints it: indented JSON with CRLF line ends.
    pub fn to_wire(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_default()
            .replace('\n', "\r\n")
    }
}
