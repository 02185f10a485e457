//! The AI side: an integration performs actions for the AI and returns tool results.
//!
//! [`Integration`] is what the harness tests; [`reference::ReferenceIntegration`] is the
//! integration the source documents describe; [`mcp::McpIntegration`] drives a vendor's
//! integration shipped as an MCP server and judges it by what the mock ConnectWise
//! received ([`mcp`] also serves the reference integration as an MCP server).

pub mod finding;
pub mod mcp;
pub mod reference;

use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{Outcome, RuleId};

pub use finding::{Check, Finding};
pub use mcp::ServerFailure;
pub use reference::ReferenceIntegration;

/// The record an action is about: `#1001` or a search text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Subject {
    /// A record id (for child actions: the parent's id).
    Id(i64),
    /// A search text or a name.
    Text(String),
}

/// What the AI asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRequest {
    /// The action's catalog name (`ticket.create`).
    pub action: String,
    /// The record it is about, if any.
    pub subject: Option<Subject>,
    /// Fields given by the AI (names of referenced records are resolved by the integration).
    pub fields: Map<String, Value>,
}

/// What is held for confirmation, so a person can decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confirmation {
    /// Token to confirm or refuse with.
    pub token: u64,
    /// The action's catalog name.
    pub action: String,
    /// The record it is about, if any.
    pub record: Option<i64>,
    /// The fields that would be written.
    pub fields: Vec<String>,
    /// Why it is held.
    pub reason: String,
}

/// What the AI reads back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolResult {
    /// The outcome.
    pub outcome: Outcome,
    /// A message the AI can act on.
    pub message: String,
    /// The data returned (records, or `null`).
    pub data: Value,
    /// For partial results: the fields whose lookups were refused.
    pub missing: Vec<String>,
    /// For escalated results: what awaits confirmation.
    pub confirmation: Option<Confirmation>,
    /// The rule that decided a blocked, escalated or rejected outcome.
    pub rule: Option<RuleId>,
    /// The HTTP status of the main ConnectWise answer, if one was received.
    pub status: Option<u16>,
    /// What the harness observed beyond the outcome: where an integration under test said
    /// something the requests ConnectWise received contradict (a 403 it did not report).
    pub observations: Vec<String>,
    /// What the harness found beyond the outcome (a request the action had no business
    /// sending, a secret shown, a contradiction, an annotation broken): see [`Finding`].
    pub findings: Vec<Finding>,
}

impl ActionRequest {
    /// The request an action's catalog example describes.
    pub fn example(action: &crate::model::Action) -> Self {
        let subject = action.example.subject.as_ref().map(|s| match s {
            crate::model::ExampleSubject::Id(id) => Subject::Id(*id),
            crate::model::ExampleSubject::Text(text) => Subject::Text(text.clone()),
        });
        ActionRequest {
            action: action.name.clone(),
            subject,
            fields: action.example.fields.clone(),
        }
    }
}

impl ToolResult {
    /// A result with only an outcome and a message.
    pub fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        ToolResult {
            outcome,
            message: message.into(),
            data: Value::Null,
            missing: Vec::new(),
            confirmation: None,
            rule: None,
            status: None,
            observations: Vec::new(),
            findings: Vec::new(),
        }
    }
}

/// Why an integration gave no tool result that can be judged: the harness, the config or
/// the server's start-up failed, not the integration's handling of the action. A scenario
/// that meets one *could not be judged*: it counts as neither met nor violated, and is
/// listed with this cause. Never returned to the AI as an outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationError {
    /// The server did not start, or did not complete the MCP handshake (`initialize`,
    /// `tools/list`) within its start-up bound.
    #[error("the integration did not start: {0}")]
    NotStarted(ServerFailure),
    /// The server did not answer a tool call within the call bound.
    #[error("the integration timed out: {0}")]
    TimedOut(ServerFailure),
    /// The server broke during a call: it closed the connection, ended, or broke the
    /// protocol.
    #[error("the integration's server failed: {0}")]
    Broken(ServerFailure),
    /// The scenario sets a field (or a record id or search text) that the config's
    /// argument template for the action has no placeholder for: it would be dropped.
    #[error(
        "{config}: the arguments of {action} (tool \"{tool}\") have no place for {what} the scenario sets; add it to the action's `arguments` (for example \"{{fields}}\" or \"{{fields.NAME}}\")"
    )]
    NoArgument {
        /// The integration config file.
        config: String,
        /// The action's catalog name.
        action: String,
        /// The tool it is mapped to.
        tool: String,
        /// What would be dropped: `the field "status"`, `the record id`, `the search text`.
        what: String,
    },
    /// The server refused the arguments as invalid before anything reached ConnectWise (an
    /// MCP invalid-params error, or a validation error about the arguments).
    #[error(
        "the tool \"{tool}\" refused the arguments for {action} as invalid, and nothing reached ConnectWise: {message}\n  arguments sent: {arguments}\n  (check the action's `arguments` in {config} against the tool's input schema; `cw-conform mcp-probe` lists it)"
    )]
    InvalidArguments {
        /// The integration config file.
        config: String,
        /// The action's catalog name.
        action: String,
        /// The tool.
        tool: String,
        /// The arguments sent, as JSON.
        arguments: String,
        /// What the server said.
        message: String,
    },
    /// A person answered under a token the integration never gave (a harness mistake).
    #[error("nothing is waiting for confirmation under {token}")]
    NotHeld {
        /// The token.
        token: u64,
    },
}

impl IntegrationError {
    /// The server failure behind the error, if a server failed.
    pub fn server_failure(&self) -> Option<&ServerFailure> {
        match self {
            IntegrationError::NotStarted(failure)
            | IntegrationError::TimedOut(failure)
            | IntegrationError::Broken(failure) => Some(failure),
            _ => None,
        }
    }
}

/// Something that performs actions for the AI against ConnectWise.
///
/// A tool result is the integration's answer, to be judged; an [`IntegrationError`] is no
/// answer at all (the scenario could not be judged).
pub trait Integration: Send + Sync {
    /// Performs an action.
    fn perform<'a>(
        &'a self,
        request: &'a ActionRequest,
    ) -> BoxFuture<'a, Result<ToolResult, IntegrationError>>;

    /// Answers a held action: `accept` sends it, refusing writes nothing.
    fn confirm(
        &self,
        token: u64,
        accept: bool,
    ) -> BoxFuture<'_, Result<ToolResult, IntegrationError>>;

    /// Whether the integration offers the action (an MCP integration offers the actions
    /// its config maps to a tool). Asking for one it does not offer exercises nothing.
    fn offers(&self, _action: &str) -> bool {
        true
    }

    /// Ends the integration's use and returns what it was found doing beyond the outcomes
    /// of its tool results (an MCP server: every finding of its life, the requests made
    /// outside any call and the secrets it showed; see [`Finding`]). The reference
    /// integration is trusted and finds nothing.
    fn finish(&self) -> BoxFuture<'_, Vec<Finding>> {
        Box::pin(async { Vec::new() })
    }

    /// `text` as it may be shown: an integration under test that controls what ConnectWise
    /// receives (the query strings in the journal) has its API member's secrets redacted.
    fn shown(&self, text: String) -> String {
        text
    }
}
