//! The MCP client adapter: an [`Integration`] that starts a vendor's MCP server for one
//! scenario's API member, calls the tool the config maps to each action, and judges the
//! call by the requests the mock ConnectWise received and the tool result
//! ([`super::judge`]).
//!
//! Escalations: when the server sends `elicitation/create` during a call, the call is held
//! open and the result is `escalated`; `When the person confirms` (or refuses) answers the
//! elicitation, and the rest of the call is judged. A server that does not use elicitation
//! can hold a write through a confirmation tool or argument the config declares.
//!
//! Every call is bounded. A server that crashes, hangs, writes something other than
//! JSON-RPC to standard output, writes a line beyond the bound on one message, or never
//! answers gives a [`ServerFailure`] with the tail of its standard error; when the adapter
//! is dropped the server and every process it started are killed ([`super::process`]).
//! Whatever the server controls that the harness shows (its stderr, error messages, tool
//! results, what it sent ConnectWise) passes through the API member's [`Redactor`].
//!
//! Everything ConnectWise receives from the moment the server starts until it is stopped
//! is judged: a tool call by the requests made while it ran ([`judge::judge`]), and at the
//! end ([`McpIntegration::stop`]) every request made outside any call (at start-up,
//! between calls, after the last one: [`judge::judge_outside`]), except the harness's own
//! (the requests a step sends itself, [`McpIntegration::harness_requests_follow`]). What
//! fails is a [`Finding`]: a secret shown in a result, an elicitation message or the
//! server's output (`INT-01`), a contradiction (`INT-02`: among others a write attempted
//! before the server asked the person), a tool annotation broken by the requests of its
//! call (`INT-03`: `readOnlyHint: true` and a write, `destructiveHint: false` and a
//! `DELETE`).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ErrorCode, Implementation, ProtocolVersion, Tool,
};
use rmcp::service::{RequestContext, RoleClient, RunningService, ServiceError};
use rmcp::{ClientHandler, ErrorData, ServiceExt};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::config::{
    ConfirmationStyle, IntegrationConfig, PORT_PLACEHOLDER, ServerCommand, ToolMapping, Transport,
    credential_value, fill_json, fill_text,
};
use super::judge::{self, Evidence, ToolReply};
use super::process::{Launch, MAX_MESSAGE_BYTES, ServerProcess};
use super::redact::{REDACTED, Redactor};
use super::transport;
use crate::connectwise::{Credentials, JournalEntry};
use crate::fixtures::Fixtures;
use crate::integration::{
    ActionRequest, Confirmation, Finding, Integration, IntegrationError, Subject, ToolResult,
};
use crate::mock::JournalReader;
use crate::model::{Action, Integrity, Outcome};

/// The server broke the protocol or its process: not an outcome of the integration, a
/// failure of the scenario. Shows the tail of the server's standard error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ServerFailure {
    /// What went wrong (`the MCP server … did not answer tools/call … within 5 s`).
    pub what: String,
    /// How the process ended, if it has.
    pub exit: Option<String>,
    /// The first lines of standard output that were not JSON-RPC.
    pub garbage: Vec<String>,
    /// How many such lines there were.
    pub garbage_count: usize,
    /// The last lines of standard error, secrets redacted.
    pub stderr: Vec<String>,
    /// Whether the harness started the server's process and watched its output (not so a
    /// server already running elsewhere: it has no exit or output to show).
    pub watched: bool,
}

impl ServerFailure {
    /// Whether the server would fail the same way on every start: it could not be started,
    /// or its process ended (a wrong command, a missing setting). A server that did not
    /// answer in time may only have been slow.
    pub fn ends_every_start(&self) -> bool {
        self.exit.is_some()
            || self.what.starts_with(SPAWN_FAILED)
            || self.what.starts_with(UNREACHABLE)
    }
}

/// How the message of a server that could not be started at all begins.
const SPAWN_FAILED: &str = "failed to start the MCP server";

/// How the message of a server already running that takes no connection begins.
const UNREACHABLE: &str = "failed to reach the MCP server";

impl fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.what)?;
        if let Some(exit) = &self.exit {
            write!(f, "\n  the server process ended: {exit}")?;
        }
        if self.garbage_count > 0 {
            write!(
                f,
                "\n  the server wrote {} line(s) to standard output that are not JSON-RPC, the first:",
                self.garbage_count
            )?;
            for line in &self.garbage {
                write!(f, "\n    {line}")?;
            }
        }
        if !self.watched {
            // A server running elsewhere: its output is its operator's to look at.
        } else if self.stderr.is_empty() {
            write!(f, "\n  the server wrote nothing to standard error")?;
        } else {
            write!(
                f,
                "\n  the server's standard error (last {} lines):",
                self.stderr.len()
            )?;
            for line in &self.stderr {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

/// An elicitation the server sent, waiting for the person's answer.
struct Elicitation {
    params: ElicitRequestParams,
    answer: oneshot::Sender<ElicitResult>,
}

/// The harness's side of the MCP connection: declares elicitation and passes each
/// elicitation on to the adapter, which answers it when the scenario says.
struct HarnessClient {
    config: ClientConfig,
    elicitations: mpsc::UnboundedSender<Elicitation>,
}

impl ClientHandler for HarnessClient {
    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let (answer, answered) = oneshot::channel();
        if self
            .elicitations
            .send(Elicitation { params, answer })
            .is_err()
        {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        }
        // Unanswered (the scenario ended): the person dismissed it.
        Ok(answered
            .await
            .unwrap_or_else(|_| ElicitResult::new(ElicitationAction::Cancel)))
    }

    fn get_info(&self) -> ClientConfig {
        self.config.clone()
    }
}

type Call = JoinHandle<Result<CallToolResult, ServiceError>>;

/// How a tool call went.
enum Called {
    /// The server answered.
    Answered(CallToolResult),
    /// The server asked the person first; the call stays open until they answer.
    AskedFirst(Elicitation, InFlight),
    /// The server refused the arguments with an MCP invalid-params error (its message).
    Invalid(String),
}

/// A tool call in flight; aborted (which cancels it on the wire) when dropped.
struct InFlight(Call);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a held action is answered.
enum Answer {
    /// The call is waiting for the elicitation's answer.
    Elicitation {
        schema: Value,
        answer: oneshot::Sender<ElicitResult>,
        call: InFlight,
    },
    /// The config's confirmation tool, with the server's token.
    Tool { token: Value },
    /// The same tool again, with the confirmation argument.
    Argument {
        tool: String,
        arguments: Map<String, Value>,
    },
}

/// An action held for confirmation.
struct Held {
    action: Action,
    request: ActionRequest,
    /// Journal lengths when the action was held: what ConnectWise receives from then on
    /// is judged with the answer.
    marks: Vec<usize>,
    answer: Answer,
}

/// What a tool promises about itself (its MCP annotations), as far as the harness can
/// check it by the requests of its calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Hints {
    /// `readOnlyHint: true`: the tool never writes.
    read_only: bool,
    /// `destructiveHint: false`: the tool never deletes.
    non_destructive: bool,
}

impl Hints {
    fn of(tool: &Tool) -> Hints {
        let annotations = tool.annotations.as_ref();
        Hints {
            read_only: annotations.and_then(|a| a.read_only_hint) == Some(true),
            non_destructive: annotations.and_then(|a| a.destructive_hint) == Some(false),
        }
    }

    /// The requests of a call of `tool` that break these hints.
    fn broken_by(self, tool: &str, requests: &[JournalEntry]) -> Vec<Finding> {
        let sent = requests.iter().filter(|e| e.status != 429);
        sent.filter_map(|entry| {
            let declared = if self.read_only && entry.is_write() {
                "readOnlyHint: true"
            } else if self.non_destructive && entry.method == "DELETE" {
                "destructiveHint: false"
            } else {
                return None;
            };
            Some(Finding::integrity(
                Integrity::AnnotationContradicted,
                format!("the tool \"{tool}\" declares {declared}, but its call sent {entry}"),
            ))
        })
        .collect()
    }
}

/// Which stretches of the journals the judgement has accounted for.
#[derive(Debug, Default)]
struct Windows {
    /// Per site: the requests made while a tool call ran.
    calls: Vec<Vec<Range<usize>>>,
    /// Per site: the requests the harness's own steps made.
    harness: Vec<Vec<Range<usize>>>,
    /// Where the harness's own requests began, while they may go on.
    harness_from: Option<Vec<usize>>,
    /// Journal lengths when the server was stopped.
    stopped: Option<Vec<usize>>,
}

impl Windows {
    fn claim(ranges: &mut Vec<Vec<Range<usize>>>, from: &[usize], to: &[usize]) {
        if ranges.len() < from.len() {
            ranges.resize_with(from.len(), Vec::new);
        }
        for ((site, &start), &end) in ranges.iter_mut().zip(from).zip(to) {
            if start < end {
                site.push(start..end);
            }
        }
    }

    /// When a request at `index` of `site` was made, if outside any call and outside the
    /// harness's own requests.
    fn outside(&self, site: usize, index: usize) -> Option<judge::Moment> {
        let inside = |ranges: &Vec<Vec<Range<usize>>>| {
            ranges
                .get(site)
                .is_some_and(|r| r.iter().any(|range| range.contains(&index)))
        };
        if inside(&self.calls) || inside(&self.harness) {
            return None;
        }
        let calls = self.calls.get(site).map(Vec::as_slice).unwrap_or_default();
        let first = calls.iter().map(|r| r.start).min();
        let last = calls.iter().map(|r| r.end).max();
        Some(match (first, last) {
            (Some(first), _) if index < first => judge::Moment::StartUp,
            (None, _) => judge::Moment::StartUp,
            (_, Some(last)) if index >= last => judge::Moment::AfterLastCall,
            _ => judge::Moment::BetweenCalls,
        })
    }
}

/// A vendor's MCP server, driven for one scenario's API member.
pub struct McpIntegration {
    config: Arc<IntegrationConfig>,
    fixtures: Arc<Fixtures>,
    /// The scenario's ConnectWise sites: the mock, and any other site.
    journals: Mutex<Vec<JournalReader>>,
    service: RunningService<RoleClient, HarnessClient>,
    elicitations: tokio::sync::Mutex<mpsc::UnboundedReceiver<Elicitation>>,
    held: Mutex<HashMap<u64, Held>>,
    next_token: AtomicU64,
    /// The server's process, when the harness started it (not a server already running).
    process: Option<ServerProcess>,
    /// Hides every form of the API member's secrets in what the server controls.
    redactor: Redactor,
    /// The journal lengths when the server was started, or when it began to serve the
    /// current scenario (see [`Self::serve`]).
    started: Mutex<Vec<usize>>,
    /// What the judgement has accounted for.
    windows: Mutex<Windows>,
    /// The annotations of each tool, by name.
    hints: HashMap<String, Hints>,
    /// The findings of every tool result returned so far.
    found: Mutex<Vec<Finding>>,
}

impl fmt::Debug for McpIntegration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpIntegration")
            .field("integration", &self.config.name)
            .field(
                "process",
                &self.process.as_ref().and_then(ServerProcess::id),
            )
            .finish_non_exhaustive()
    }
}

fn protocol_version(name: &str) -> ProtocolVersion {
    match name {
        "2024-11-05" => ProtocolVersion::V_2024_11_05,
        "2025-03-26" => ProtocolVersion::V_2025_03_26,
        "2025-06-18" => ProtocolVersion::V_2025_06_18,
        _ => ProtocolVersion::V_2025_11_25,
    }
}

/// An answer that accepts a form: every property filled with a value its schema allows
/// (`true` for a yes/no question, else its default, its first choice, its minimum, 0 or
/// `"yes"`).
fn accepting(schema: &Value) -> Value {
    let mut content = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, property) in properties {
        let first_choice = property
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
            .cloned()
            .or_else(|| {
                property
                    .get("oneOf")
                    .and_then(Value::as_array)
                    .and_then(|o| o.first())
                    .and_then(|o| o.get("const"))
                    .cloned()
            });
        // A confirmation is accepted by saying yes, whatever its default.
        let value = match property.get("type").and_then(Value::as_str) {
            Some("boolean") => Value::Bool(true),
            kind => property
                .get("default")
                .cloned()
                .or(first_choice)
                .unwrap_or_else(|| match kind {
                    Some("number" | "integer") => {
                        property.get("minimum").cloned().unwrap_or(Value::from(0))
                    }
                    _ => Value::from("yes"),
                }),
        };
        content.insert(name, value);
    }
    Value::Object(content)
}

/// The person's answer to a form with this requested schema.
fn answer_schema(schema: &Value, accept: bool) -> ElicitResult {
    if accept {
        ElicitResult::new(ElicitationAction::Accept).with_content(accepting(schema))
    } else {
        ElicitResult::new(ElicitationAction::Decline)
    }
}

/// The person's answer to an elicitation.
fn answer(params: &ElicitRequestParams, accept: bool) -> ElicitResult {
    match params {
        ElicitRequestParams::FormElicitationParams {
            requested_schema, ..
        } => answer_schema(
            &serde_json::to_value(requested_schema).unwrap_or(Value::Null),
            accept,
        ),
        _ if accept => ElicitResult::new(ElicitationAction::Accept),
        _ => ElicitResult::new(ElicitationAction::Decline),
    }
}

impl McpIntegration {
    /// Starts the server for one API member and checks that it offers the tools the
    /// config maps. `journals`: the mock (and any other site) whose requests judge calls;
    /// `slots`: the run's start-up slots, one of which the start-up waits for.
    pub async fn start(
        config: Arc<IntegrationConfig>,
        fixtures: Arc<Fixtures>,
        credentials: &Credentials,
        journals: Vec<JournalReader>,
        slots: &StartupSlots,
    ) -> Result<McpIntegration, ServerFailure> {
        let server = &config.server;
        // A server the harness starts on HTTP is given a free port through `{port}`.
        let port = match &server.transport {
            Transport::Http { .. } if !server.is_running_already() => {
                Some(transport::free_port().map_err(|e| {
                    not_spawned(
                        &server.shown(),
                        &std::io::Error::other(format!("no free port on 127.0.0.1: {e}")),
                    )
                })?)
            }
            _ => None,
        };
        let value = |name: &str| {
            if name == PORT_PLACEHOLDER {
                port.map(|p| p.to_string())
            } else {
                credential_value(credentials, name)
            }
        };
        let launch = Launch {
            program: server.program(),
            args: server
                .args
                .iter()
                .map(|a| fill_text(a, &value).unwrap_or_default())
                .collect(),
            env: server
                .env
                .iter()
                .map(|(k, v)| (k.clone(), fill_text(v, &value).unwrap_or_default()))
                .collect(),
            pass_env: server.pass_env.clone(),
            redactor: Redactor::for_member_and(credentials, server.header_secrets(credentials)),
            inherit_env: false,
        };
        let shown = server.shown();
        let capabilities = if server.elicitation {
            ClientCapabilities::builder().enable_elicitation().build()
        } else {
            ClientCapabilities::default()
        };
        let started: Vec<usize> = journals.iter().map(JournalReader::len).collect();
        let (sender, receiver) = mpsc::unbounded_channel();
        let client = HarnessClient {
            config: ClientConfig::new(
                capabilities,
                Implementation::new("cw-conform", env!("CARGO_PKG_VERSION")),
            )
            .with_protocol_version(protocol_version(&server.protocol_version)),
            elicitations: sender,
        };
        let redactor = launch.redactor.clone();
        let (process, service, tools) = match &server.transport {
            Transport::Stdio => {
                let (process, service, tools) =
                    start(&launch, client, &shown, server.startup_timeout, slots).await?;
                (Some(process), service, tools)
            }
            Transport::Http { url } => {
                let url = fill_text(url, &value).unwrap_or_else(|| url.clone());
                let headers = server.headers_for(credentials);
                connect_http(&launch, &url, &headers, server, client, &shown, slots).await?
            }
        };
        let offered: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        let confirmation_tool = match &config.confirmation {
            Some(ConfirmationStyle::Tool { tool, .. }) => Some(("the confirmation", tool)),
            _ => None,
        };
        let unknown = config
            .mappings()
            .map(|(action, mapping)| (action.as_str(), &mapping.tool))
            .chain(confirmation_tool)
            .find(|(_, tool)| !offered.contains(&tool.as_str()));
        if let Some((action, tool)) = unknown {
            return Err(failure(
                process.as_ref(),
                &redactor,
                format!(
                    "{}: {action} is mapped to the tool \"{tool}\", which the MCP server `{shown}` does not offer (it offers {})",
                    config.path,
                    if offered.is_empty() {
                        "no tools".to_owned()
                    } else {
                        offered.join(", ")
                    }
                ),
                false,
            )
            .await);
        }
        let hints = tools
            .iter()
            .map(|t| (t.name.to_string(), Hints::of(t)))
            .collect();
        Ok(McpIntegration {
            config,
            fixtures,
            journals: Mutex::new(journals),
            service,
            elicitations: tokio::sync::Mutex::new(receiver),
            held: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
            process,
            redactor,
            started: Mutex::new(started),
            windows: Mutex::new(Windows::default()),
            hints,
            found: Mutex::new(Vec::new()),
        })
    }

    /// Says that the requests ConnectWise receives from now on, until the next tool call
    /// or the end, are the harness's own (a step sending requests with the API member's
    /// credentials itself), not the server's.
    pub fn harness_requests_follow(&self) {
        let marks = self.marks();
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .harness_from
            .get_or_insert(marks);
    }

    /// Ends a stretch of the harness's own requests, if one is going on.
    fn harness_requests_end(&self) {
        let now = self.marks();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(from) = windows.harness_from.take() {
            Windows::claim(&mut windows.harness, &from, &now);
        }
    }

    /// Stops the server (dismissing anything held, killing its processes) and returns
    /// every finding of its life: those of its tool results, and what no tool call
    /// accounts for (the requests ConnectWise received outside any call, every secret the
    /// server showed in its output). Stopping again finds nothing more.
    pub async fn stop(&self) -> Vec<Finding> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        match &self.process {
            // Killed first: its descendants are found while their parent links lead to it.
            Some(process) => {
                process.kill();
                // The last of its output, and of its requests still being answered.
                process.settle().await;
            }
            // A server the harness did not start is only left: its session closed.
            None => self.service.cancellation_token().cancel(),
        }
        self.leave()
    }

    /// Ends the current scenario's use of a server that keeps running for the next one
    /// (`run --reuse-servers`): dismisses anything held and returns what was found while it
    /// served this scenario, judged as [`Self::stop`] judges a whole life. Whatever the
    /// server shows or sends from now on belongs to the next scenario it serves.
    pub fn leave(&self) -> Vec<Finding> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.harness_requests_end();
        let mut outside = Vec::new();
        {
            let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
            if windows.stopped.is_none() {
                let stopped = self.marks();
                windows.stopped = Some(stopped.clone());
                let started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
                for (site, journal) in self.journals().iter().enumerate() {
                    let start = started.get(site).copied().unwrap_or_default();
                    let end = stopped.get(site).copied().unwrap_or_default();
                    for (index, entry) in journal.entries().into_iter().enumerate() {
                        if !(start..end).contains(&index) {
                            continue;
                        }
                        if let Some(moment) = windows.outside(site, index) {
                            outside.push((moment, entry));
                        }
                    }
                }
            }
        }
        let mut findings =
            std::mem::take(&mut *self.found.lock().unwrap_or_else(PoisonError::into_inner));
        findings.extend(judge::judge_outside(&self.fixtures, &outside));
        for finding in &mut findings {
            finding.evidence = self.redact(&finding.evidence);
        }
        let (lines, count) = self
            .process
            .as_ref()
            .map(ServerProcess::take_secrets_shown)
            .unwrap_or_default();
        if count > 0 {
            findings.push(Finding::integrity(
                Integrity::SecretShown,
                format!(
                    "the server showed a secret of its API member in {} line(s) of its output (redacted here): {}",
                    count,
                    lines.join(" | ")
                ),
            ));
        }
        findings
    }

    /// Begins serving another scenario (`run --reuse-servers`), after [`Self::leave`]:
    /// what its sites receive from now on is judged, from a fresh start.
    pub fn serve(&self, journals: Vec<JournalReader>) {
        let marks: Vec<usize> = journals.iter().map(JournalReader::len).collect();
        *self.journals.lock().unwrap_or_else(PoisonError::into_inner) = journals;
        *self.started.lock().unwrap_or_else(PoisonError::into_inner) = marks;
        *self.windows.lock().unwrap_or_else(PoisonError::into_inner) = Windows::default();
    }

    /// Judges, with the current scenario, what the server sent while no scenario held it
    /// (`run --reuse-servers`): requests outside any call.
    pub fn sent_between_scenarios(&self, requests: &[JournalEntry]) {
        let outside: Vec<(judge::Moment, JournalEntry)> = requests
            .iter()
            .map(|entry| (judge::Moment::BetweenScenarios, entry.clone()))
            .collect();
        let mut findings = judge::judge_outside(&self.fixtures, &outside);
        for finding in &mut findings {
            finding.evidence = self.redact(&finding.evidence);
        }
        self.found
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(findings);
    }

    /// Whether the server's process has ended (it crashed, or was stopped); never for a
    /// server already running elsewhere.
    pub fn ended(&self) -> bool {
        self.process
            .as_ref()
            .is_some_and(|p| p.exit_status().is_some())
    }

    /// `text` with every form of every secret replaced by `[redacted]`.
    fn redact(&self, text: &str) -> String {
        self.redactor.redact(text).into_owned()
    }

    /// What ConnectWise received since `marks`, every site in turn; those requests are
    /// accounted for as a tool call's.
    fn window(&self, marks: &[usize]) -> Vec<JournalEntry> {
        let mut entries = Vec::new();
        let mut ends = Vec::new();
        for (journal, &mark) in self.journals().iter().zip(marks) {
            let all = journal.entries();
            ends.push(all.len().max(mark));
            entries.extend(all.into_iter().skip(mark));
        }
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        Windows::claim(&mut windows.calls, marks, &ends);
        entries
    }

    /// A call's outcome; a call that broke down still accounts for the requests made
    /// since `marks` (they are its own, not made outside any call).
    fn accounted<T, E>(&self, marks: &[usize], called: Result<T, E>) -> Result<T, E> {
        if called.is_err() {
            self.window(marks);
        }
        called
    }

    /// The findings of a tool's annotations against the requests of its call.
    fn annotations_broken(&self, tool: &str, requests: &[JournalEntry]) -> Vec<Finding> {
        self.hints
            .get(tool)
            .copied()
            .unwrap_or_default()
            .broken_by(tool, requests)
    }

    /// Journal lengths now, one per site.
    fn marks(&self) -> Vec<usize> {
        self.journals().iter().map(JournalReader::len).collect()
    }

    /// The current scenario's journal readers (cheap clones).
    fn journals(&self) -> Vec<JournalReader> {
        self.journals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn timeout(&self) -> Duration {
        self.config.server.call_timeout
    }

    /// Whether the server is reached over Streamable HTTP.
    fn over_http(&self) -> bool {
        matches!(self.config.server.transport, Transport::Http { .. })
    }

    async fn failure(&self, what: String, ended: bool) -> ServerFailure {
        failure(self.process.as_ref(), &self.redactor, what, ended).await
    }

    /// Calls a tool, within the call timeout. A server that breaks or does not answer is
    /// an [`IntegrationError`]: no answer to judge.
    async fn call(
        &self,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> Result<Called, IntegrationError> {
        self.harness_requests_end();
        let mut elicitations = self.elicitations.lock().await;
        // An elicitation outside any call is stale: dismiss it.
        while let Ok(stale) = elicitations.try_recv() {
            let _ = stale
                .answer
                .send(ElicitResult::new(ElicitationAction::Cancel));
        }
        let peer = self.service.peer().clone();
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let mut call = InFlight(tokio::spawn(async move { peer.call_tool(params).await }));
        let shown = self.config.server.shown();
        tokio::select! {
            joined = &mut call.0 => match joined {
                Ok(Ok(result)) => Ok(Called::Answered(result)),
                Ok(Err(ServiceError::McpError(data))) if data.code == ErrorCode::INVALID_PARAMS => {
                    Ok(Called::Invalid(self.redact(&data.message)))
                }
                Ok(Err(error)) => Err(IntegrationError::Broken(self.failure(describe(&shown, tool, &error, self.over_http()), true).await)),
                Err(error) => Err(IntegrationError::Broken(self.failure(format!("the call of the tool \"{tool}\" of `{shown}` failed: {error}"), true).await)),
            },
            Some(elicitation) = elicitations.recv() => Ok(Called::AskedFirst(elicitation, call)),
            () = tokio::time::sleep(self.timeout()) => Err(IntegrationError::TimedOut(self.failure(format!(
                "the MCP server `{shown}` did not answer tools/call \"{tool}\" within {} s",
                self.timeout().as_secs()
            ), false).await)),
        }
    }

    /// The arguments were refused as invalid: nothing the integration did can be judged.
    fn invalid(
        &self,
        action: &Action,
        tool: &str,
        arguments: &Map<String, Value>,
        message: &str,
    ) -> IntegrationError {
        IntegrationError::InvalidArguments {
            config: self.config.path.clone(),
            action: action.name.clone(),
            tool: tool.to_owned(),
            arguments: self.redact(&Value::Object(arguments.clone()).to_string()),
            message: self.redact(message),
        }
    }

    /// Awaits the rest of a call held open by an elicitation; a further elicitation of the
    /// same call gets the same answer.
    async fn finish(
        &self,
        tool: &str,
        call: &mut InFlight,
        accept: bool,
    ) -> Result<CallToolResult, IntegrationError> {
        let shown = self.config.server.shown();
        let mut elicitations = self.elicitations.lock().await;
        let deadline = tokio::time::sleep(self.timeout());
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                joined = &mut call.0 => return match joined {
                    Ok(Ok(result)) => Ok(result),
                    Ok(Err(error)) => Err(IntegrationError::Broken(self.failure(describe(&shown, tool, &error, self.over_http()), true).await)),
                    Err(error) => Err(IntegrationError::Broken(self.failure(format!("the call of the tool \"{tool}\" of `{shown}` failed: {error}"), true).await)),
                },
                Some(again) = elicitations.recv() => {
                    let _ = again.answer.send(answer(&again.params, accept));
                }
                () = &mut deadline => return Err(IntegrationError::TimedOut(self.failure(format!(
                    "the MCP server `{shown}` did not finish tools/call \"{tool}\" within {} s of the person's answer",
                    self.timeout().as_secs()
                ), false).await)),
            }
        }
    }

    fn hold(&self, held: Held, message: String, rule_text: &str) -> ToolResult {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let mut result = ToolResult::new(Outcome::Escalated, message.clone());
        result.rule = judge::cited_rule(None, rule_text, &self.fixtures.rules);
        result.confirmation = Some(Confirmation {
            token,
            action: held.action.name.clone(),
            record: match held.request.subject {
                Some(Subject::Id(id)) => Some(id),
                _ => None,
            },
            fields: judge::named_fields(&held.action, &held.request, &message),
            reason: message,
        });
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token, held);
        result
    }

    fn not_offered(&self, action: &Action) -> ToolResult {
        let mut result = ToolResult::new(
            Outcome::Blocked,
            format!(
                "not offered by this integration: {} maps no tool to {} ({})",
                self.config.path, action.name, action.phrase
            ),
        );
        result.observations.push(format!(
            "{} is not offered by this integration; nothing was sent to the server",
            action.name
        ));
        result
    }

    /// Performs an action through the server's tool and judges it.
    pub async fn perform_checked(
        &self,
        request: &ActionRequest,
    ) -> Result<ToolResult, IntegrationError> {
        self.perform_judged(request)
            .await
            .map(|r| self.found(self.screened(r)))
    }

    /// Answers a held action as the person did, and judges what follows.
    pub async fn confirm_checked(
        &self,
        token: u64,
        accept: bool,
    ) -> Result<ToolResult, IntegrationError> {
        self.confirm_judged(token, accept)
            .await
            .map(|r| self.found(self.screened(r)))
    }

    /// Keeps a result's findings for [`Self::stop`].
    fn found(&self, result: ToolResult) -> ToolResult {
        self.found
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(result.findings.iter().cloned());
        result
    }

    /// A result with every form of the API member's secrets redacted wherever the server's
    /// words went (message, data, the reason and fields of a held action, observations);
    /// showing one is a finding.
    fn screened(&self, mut result: ToolResult) -> ToolResult {
        let redactor = &self.redactor;
        let mut leaked = false;
        let mut screen = |text: &mut String| {
            if redactor.reveals(text) {
                *text = redactor.redact(text).into_owned();
                leaked = true;
            }
        };
        screen(&mut result.message);
        result.missing.iter_mut().for_each(&mut screen);
        result.observations.iter_mut().for_each(&mut screen);
        if let Some(confirmation) = &mut result.confirmation {
            screen(&mut confirmation.reason);
            confirmation.fields.iter_mut().for_each(&mut screen);
        }
        let data = result.data.to_string();
        if redactor.reveals(&data) {
            leaked = true;
            result.data = serde_json::from_str(&redactor.redact(&data))
                .unwrap_or_else(|_| Value::from(REDACTED));
        }
        if leaked {
            let note = "the tool result shows the API member's private key or Authorization credentials (redacted here)";
            result.observations.push(note.to_owned());
            let (what, text) = match &result.confirmation {
                Some(held) => (
                    "the confirmation request (elicitation message) or the result shows a secret of the API member (redacted here)",
                    held.reason.as_str(),
                ),
                None => (note, result.message.as_str()),
            };
            let evidence = format!("{what}: \"{}\"", around_redaction(text));
            result
                .findings
                .push(Finding::integrity(Integrity::SecretShown, evidence));
        }
        for finding in &mut result.findings {
            finding.evidence = redactor.redact(&finding.evidence).into_owned();
        }
        result
    }

    async fn perform_judged(
        &self,
        request: &ActionRequest,
    ) -> Result<ToolResult, IntegrationError> {
        let Some(action) = self.fixtures.actions.get(&request.action).cloned() else {
            return Ok(ToolResult::new(
                Outcome::Failed,
                format!("unknown action \"{}\"", request.action),
            ));
        };
        let Some(mapping) = self.config.tool_for(&action.name).cloned() else {
            return Ok(self.not_offered(&action));
        };
        let marks = self.marks();
        let arguments = mapping.arguments_for(request, &self.config.path)?;
        let called = self.call(&mapping.tool, arguments.clone()).await;
        match self.accounted(&marks, called)? {
            Called::AskedFirst(elicitation, call) => {
                Ok(self.elicited(&action, request, &marks, elicitation, call))
            }
            Called::Invalid(message) => {
                Err(self.invalid(&action, &mapping.tool, &arguments, &message))
            }
            Called::Answered(result) => {
                let reply = ToolReply::from_result(&result);
                let requests = self.window(&marks);
                if requests.is_empty() && refuses_arguments(&reply) {
                    return Err(self.invalid(&action, &mapping.tool, &arguments, &reply.text));
                }
                let broken = self.annotations_broken(&mapping.tool, &requests);
                if let Some(mut held) =
                    self.held_by_config(&action, request, &mapping, arguments, &reply, &requests)
                {
                    held.findings.extend(broken);
                    return Ok(held);
                }
                let mut judged = judge::judge(
                    Evidence {
                        action: &action,
                        request,
                        requests: &requests,
                        reply: &reply,
                    },
                    &self.fixtures,
                );
                judged.findings.extend(broken);
                judged.findings.extend(judge::unasked_write(
                    &self.fixtures,
                    &action,
                    request,
                    &requests,
                ));
                Ok(judged)
            }
        }
    }

    /// The server asked for confirmation through elicitation.
    fn elicited(
        &self,
        action: &Action,
        request: &ActionRequest,
        marks: &[usize],
        elicitation: Elicitation,
        call: InFlight,
    ) -> ToolResult {
        let before = self.window(marks);
        let (message, schema) = match &elicitation.params {
            ElicitRequestParams::FormElicitationParams {
                message,
                requested_schema,
                ..
            } => (
                message.clone(),
                serde_json::to_value(requested_schema).unwrap_or(Value::Null),
            ),
            ElicitRequestParams::UrlElicitationParams { message, url, .. } => {
                let url = crate::connectwise::redacted_url(url);
                (format!("{message} ({url})"), Value::Null)
            }
            other => (format!("{other:?}"), Value::Null),
        };
        let held = Held {
            action: action.clone(),
            request: request.clone(),
            marks: self.marks(),
            answer: Answer::Elicitation {
                schema,
                answer: elicitation.answer,
                call,
            },
        };
        let mut result = self.hold(held, message.clone(), &message);
        let written: Vec<String> = before
            .iter()
            .filter(|e| e.is_write() && e.succeeded())
            .map(ToString::to_string)
            .collect();
        if !written.is_empty() {
            // Asking after writing is no escalation: the write already happened.
            result.outcome = Outcome::Allowed;
            result.observations.push(format!(
                "the server asked for confirmation only after writing ({})",
                written.join(", ")
            ));
        }
        // A write attempted before asking breaks the promise of asking, whether or not
        // ConnectWise accepted it.
        let attempted: Vec<String> = before
            .iter()
            .filter(|e| e.is_write() && e.status != 429)
            .map(ToString::to_string)
            .collect();
        if let Some(mapping) = self.config.tool_for(&action.name) {
            let broken = self.annotations_broken(&mapping.tool, &before);
            result.findings.extend(broken);
        }
        if !attempted.is_empty() {
            result.findings.push(Finding::integrity(
                Integrity::Contradiction,
                format!(
                    "the server asked the person to confirm {} only after it had sent {}",
                    action.phrase,
                    attempted.join(", ")
                ),
            ));
        }
        result
    }

    /// Whether a completed call held the action through the config's confirmation style.
    fn held_by_config(
        &self,
        action: &Action,
        request: &ActionRequest,
        mapping: &ToolMapping,
        arguments: Map<String, Value>,
        reply: &ToolReply,
        requests: &[JournalEntry],
    ) -> Option<ToolResult> {
        let style = self.config.confirmation.as_ref()?;
        if reply.is_error || !action.writes() || requests.iter().any(JournalEntry::is_write) {
            return None;
        }
        let answer = match style {
            ConfirmationStyle::Tool { token, .. } => Answer::Tool {
                token: reply.pointer(token)?,
            },
            ConfirmationStyle::Argument { argument, pattern } => {
                if !reply.text.to_lowercase().contains(pattern.as_str()) {
                    return None;
                }
                let mut arguments = arguments;
                arguments.insert(argument.clone(), Value::Bool(true));
                Answer::Argument {
                    tool: mapping.tool.clone(),
                    arguments,
                }
            }
        };
        let held = Held {
            action: action.clone(),
            request: request.clone(),
            marks: self.marks(),
            answer,
        };
        let rule_text = reply
            .structured
            .as_ref()
            .and_then(|s| s.get("rule"))
            .and_then(Value::as_str)
            .map_or_else(|| reply.text.clone(), str::to_owned);
        Some(self.hold(held, reply.text.clone(), &rule_text))
    }

    async fn confirm_judged(
        &self,
        token: u64,
        accept: bool,
    ) -> Result<ToolResult, IntegrationError> {
        let held = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&token);
        let Some(held) = held else {
            return Err(IntegrationError::NotHeld { token });
        };
        let Held {
            action,
            request,
            marks,
            answer,
        } = held;
        let mapping_tool = self
            .config
            .tool_for(&action.name)
            .map(|m| m.tool.clone())
            .unwrap_or_default();
        let result = match answer {
            Answer::Elicitation {
                schema,
                answer,
                mut call,
            } => {
                let _ = answer.send(answer_schema(&schema, accept));
                let finished = self.finish(&mapping_tool, &mut call, accept).await;
                self.accounted(&marks, finished)?
            }
            Answer::Tool {
                token: server_token,
            } => {
                let Some(ConfirmationStyle::Tool {
                    tool, arguments, ..
                }) = &self.config.confirmation
                else {
                    // A token is only ever held through the config's confirmation tool.
                    return Err(IntegrationError::NotHeld { token });
                };
                let arguments = fill_json(arguments, &|name| match name {
                    "token" => Some(server_token.clone()),
                    "accept" => Some(Value::Bool(accept)),
                    _ => None,
                });
                let called = self.call(tool, arguments.clone()).await;
                match self.accounted(&marks, called)? {
                    Called::Answered(result) => result,
                    Called::AskedFirst(elicitation, call) => {
                        return Ok(self.elicited(&action, &request, &marks, elicitation, call));
                    }
                    Called::Invalid(message) => {
                        return Err(self.invalid(&action, tool, &arguments, &message));
                    }
                }
            }
            Answer::Argument { tool, arguments } => {
                if !accept {
                    let mut refused = ToolResult::new(
                        Outcome::Blocked,
                        format!(
                            "The person refused, so the tool \"{tool}\" was not called again; nothing was written."
                        ),
                    );
                    refused.observations.push(
                        "the confirmation argument style: on a refusal the harness does not call the server, so this result is the harness's own".to_owned(),
                    );
                    let written: Vec<String> = self
                        .window(&marks)
                        .iter()
                        .filter(|e| e.is_write() && e.succeeded())
                        .map(ToString::to_string)
                        .collect();
                    if !written.is_empty() {
                        refused.outcome = Outcome::Allowed;
                        refused.observations.push(format!(
                            "ConnectWise accepted writes before the person answered ({})",
                            written.join(", ")
                        ));
                    }
                    return Ok(refused);
                }
                let called = self.call(&tool, arguments.clone()).await;
                match self.accounted(&marks, called)? {
                    Called::Answered(result) => result,
                    Called::AskedFirst(elicitation, call) => {
                        return Ok(self.elicited(&action, &request, &marks, elicitation, call));
                    }
                    Called::Invalid(message) => {
                        return Err(self.invalid(&action, &tool, &arguments, &message));
                    }
                }
            }
        };
        let reply = ToolReply::from_result(&result);
        let requests = self.window(&marks);
        let mut judged = judge::judge(
            Evidence {
                action: &action,
                request: &request,
                requests: &requests,
                reply: &reply,
            },
            &self.fixtures,
        );
        judged
            .findings
            .extend(self.annotations_broken(&mapping_tool, &requests));
        Ok(judged)
    }
}

/// What frameworks say when a tool's input fails its schema (pydantic, JSON Schema
/// validators, Python's own argument binding), lowercased. A refusal in these words with
/// nothing sent to ConnectWise is a refusal of the arguments, not of the action.
const ARGUMENT_REFUSALS: [&str; 8] = [
    "validation error for",
    "validation errors for",
    "input validation error",
    "invalid params",
    "invalid arguments for tool",
    "unexpected keyword argument",
    "missing required argument",
    "is a required property",
];

/// Whether an error result refuses the tool's arguments as the framework validated them.
fn refuses_arguments(reply: &ToolReply) -> bool {
    let text = reply.text.to_lowercase();
    reply.is_error && ARGUMENT_REFUSALS.iter().any(|words| text.contains(words))
}

/// Server start-ups at once: one per CPU. A server waiting for a CPU is not slow; its
/// start-up bound starts when it has a slot ([`StartupSlots::take`]), so the bound measures
/// the server, not the queue of `--concurrency` others starting beside it. A run holds one
/// set for all its servers.
#[derive(Debug, Clone)]
pub struct StartupSlots(Arc<tokio::sync::Semaphore>);

impl StartupSlots {
    /// One slot per CPU.
    #[must_use]
    pub fn per_cpu() -> StartupSlots {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        StartupSlots(Arc::new(tokio::sync::Semaphore::new(cpus)))
    }

    /// Waits for a start-up slot (held until the handshake and the tool listing are done).
    async fn take(&self) -> tokio::sync::OwnedSemaphorePermit {
        Arc::clone(&self.0)
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the start-up slots are never closed"))
    }
}

impl Default for StartupSlots {
    fn default() -> Self {
        StartupSlots::per_cpu()
    }
}

/// The part of a redacted text around its first redaction (at most about 200
/// characters), `…` marking what was cut.
fn around_redaction(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = text
        .find(REDACTED)
        .map_or(0, |byte| text[..byte].chars().count());
    let start = at.saturating_sub(150);
    let end = (at + REDACTED.len() + 50).min(chars.len());
    let mut shown: String = chars[start..end].iter().collect();
    if start > 0 {
        shown.insert(0, '…');
    }
    if end < chars.len() {
        shown.push('…');
    }
    shown
}

/// Describes a failed call. Over HTTP the connection also ends when a reply goes beyond
/// the bound on one message (the client drops it unread, and cannot tell which it was).
fn describe(shown: &str, tool: &str, error: &ServiceError, over_http: bool) -> String {
    match error {
        ServiceError::TransportClosed | ServiceError::TransportSend(_) if over_http => format!(
            "the connection to the MCP server `{shown}` ended during tools/call \"{tool}\": the server went away, or its reply went beyond the {} MiB one JSON-RPC message may take",
            MAX_MESSAGE_BYTES / (1024 * 1024)
        ),
        ServiceError::TransportClosed | ServiceError::TransportSend(_) => {
            format!("the MCP server `{shown}` closed the connection during tools/call \"{tool}\"")
        }
        ServiceError::McpError(data) => format!(
            "the MCP server `{shown}` answered tools/call \"{tool}\" with a JSON-RPC error {}: {}",
            data.code.0, data.message
        ),
        other => format!("the MCP server `{shown}` failed tools/call \"{tool}\": {other}"),
    }
}

/// Why the MCP handshake failed.
pub(super) fn handshake_failure(
    shown: &str,
    error: &rmcp::service::ClientInitializeError,
) -> String {
    use rmcp::service::ClientInitializeError as Failed;
    match error {
        Failed::ConnectionClosed(_) | Failed::TransportError { .. } => {
            format!("the MCP server `{shown}` closed the connection before answering initialize")
        }
        Failed::JsonRpcError(data) => format!(
            "the MCP server `{shown}` refused initialize: JSON-RPC error {}: {}",
            data.code.0, data.message
        ),
        other => format!("the MCP server `{shown}` failed the MCP handshake: {other}"),
    }
}

/// Starts a server, completes the MCP handshake and lists its tools, each step bounded by
/// `timeout`; a failure carries the tail of the server's standard error. The process is
/// started, and the clock started, only once one of `slots` is free.
pub(super) async fn start<H: ClientHandler>(
    launch: &Launch,
    client: H,
    shown: &str,
    timeout: Duration,
    slots: &StartupSlots,
) -> Result<(ServerProcess, RunningService<RoleClient, H>, Vec<Tool>), ServerFailure> {
    let _slot = slots.take().await;
    let (process, from_server, to_server) =
        ServerProcess::spawn(launch).map_err(|e| not_spawned(shown, &e))?;
    let (service, tools) = handshake(
        (from_server, to_server),
        client,
        Some(&process),
        &launch.redactor,
        shown,
        timeout,
        None,
    )
    .await?;
    Ok((process, service, tools))
}

/// A server whose process could not be started.
fn not_spawned(shown: &str, error: &std::io::Error) -> ServerFailure {
    ServerFailure {
        what: format!("{SPAWN_FAILED} `{shown}`: {error}"),
        exit: None,
        garbage: Vec::new(),
        garbage_count: 0,
        stderr: Vec::new(),
        watched: true,
    }
}

/// Connects over Streamable HTTP, each step bounded by the start-up timeout: to a server
/// already running at `url`, or to one the harness starts from `launch` (`url` holding the
/// port it was given) once it listens. A started server waits for one of the run's
/// start-up `slots` like a stdio one.
async fn connect_http<H: ClientHandler>(
    launch: &Launch,
    url: &str,
    headers: &[(String, String)],
    server: &ServerCommand,
    client: H,
    shown: &str,
    slots: &StartupSlots,
) -> Result<
    (
        Option<ServerProcess>,
        RunningService<RoleClient, H>,
        Vec<Tool>,
    ),
    ServerFailure,
> {
    let timeout = server.startup_timeout;
    let redactor = &launch.redactor;
    let mut slot = None;
    let process = if server.is_running_already() {
        None
    } else {
        slot = Some(slots.take().await);
        let process = ServerProcess::spawn_listening(launch).map_err(|e| not_spawned(shown, &e))?;
        match tokio::time::timeout(timeout, transport::until_listening(url, &process)).await {
            Ok(Ok(())) => {}
            Ok(Err(ended)) => {
                let what = format!("the MCP server `{shown}` never listened at {url}: {ended}");
                return Err(failure(Some(&process), redactor, what, true).await);
            }
            Err(_) => {
                let what = format!(
                    "the MCP server `{shown}` did not listen at {url} within {} s",
                    timeout.as_secs()
                );
                return Err(failure(Some(&process), redactor, what, false).await);
            }
        }
        Some(process)
    };
    let transport = match transport::http_client(url, headers) {
        Ok(transport) => transport,
        Err(refused) => {
            let what = format!("the MCP server `{shown}` cannot be sent {refused}");
            return Err(failure(process.as_ref(), redactor, what, false).await);
        }
    };
    let refusal = transport::refusal(&transport);
    let handshaken = handshake(
        transport,
        client,
        process.as_ref(),
        redactor,
        shown,
        timeout,
        Some(refusal),
    )
    .await;
    drop(slot);
    let (service, tools) = handshaken?;
    Ok((process, service, tools))
}

/// Completes the MCP handshake over `transport` and lists the server's tools, each step
/// bounded by `timeout`.
async fn handshake<H, T, E, A>(
    transport: T,
    client: H,
    process: Option<&ServerProcess>,
    redactor: &Redactor,
    shown: &str,
    timeout: Duration,
    over_http: Option<transport::Refusal>,
) -> Result<(RunningService<RoleClient, H>, Vec<Tool>), ServerFailure>
where
    H: ClientHandler,
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let service = match tokio::time::timeout(timeout, client.serve(transport)).await {
        Ok(Ok(service)) => service,
        Ok(Err(error)) => {
            let refused = over_http.and_then(|refusal| refusal(&error));
            let what = match (process, over_http) {
                // A server wanting a credential it was not given, or refusing the one it was.
                _ if refused.is_some() => format!(
                    "{UNREACHABLE} at {shown}: it refused the connection: {} (a credential the server wants goes in the config's [server.headers], e.g. Authorization = \"Bearer {{env:NAME}}\")",
                    refused.unwrap_or_default()
                ),
                (Some(_), None) => handshake_failure(shown, &error),
                // What the HTTP connection said (a refusal, a status, a body that is not MCP).
                (Some(_), Some(_)) => format!("{}: {error}", handshake_failure(shown, &error)),
                // Nothing to show of a server running elsewhere but what the connection said.
                (None, _) => format!("{UNREACHABLE} at {shown}: {error}"),
            };
            return Err(failure(process, redactor, what, true).await);
        }
        Err(_) => {
            let what = format!(
                "the MCP server `{shown}` did not answer initialize within {} s",
                timeout.as_secs()
            );
            return Err(failure(process, redactor, what, false).await);
        }
    };
    let tools = match tokio::time::timeout(timeout, service.peer().list_all_tools()).await {
        Ok(Ok(tools)) => tools,
        Ok(Err(error)) => {
            let what = format!("the MCP server `{shown}` failed to list its tools: {error}");
            return Err(failure(process, redactor, what, true).await);
        }
        Err(_) => {
            let what = format!(
                "the MCP server `{shown}` did not answer tools/list within {} s",
                timeout.as_secs()
            );
            return Err(failure(process, redactor, what, false).await);
        }
    };
    Ok((service, tools))
}

/// A failure with what the process left behind. `ended`: the server closed the
/// connection, so wait a moment for it to exit (after a timeout the harness is the one
/// closing it, and an exit would say nothing).
pub(super) async fn failure(
    process: Option<&ServerProcess>,
    redactor: &Redactor,
    what: String,
    ended: bool,
) -> ServerFailure {
    let Some(process) = process else {
        return ServerFailure {
            what: redactor.redact(&what).into_owned(),
            exit: None,
            garbage: Vec::new(),
            garbage_count: 0,
            stderr: Vec::new(),
            watched: false,
        };
    };
    let exit = if ended {
        process.settle().await
    } else {
        process.exit_status()
    };
    let (garbage, garbage_count) = process.garbage();
    let what = match process.stopped_because() {
        Some(reason) => format!("{reason} ({what})"),
        None => what,
    };
    ServerFailure {
        what: process.redact(&what),
        exit,
        garbage,
        garbage_count,
        stderr: process.stderr_tail(),
        watched: true,
    }
}

impl Integration for McpIntegration {
    fn perform<'a>(
        &'a self,
        request: &'a ActionRequest,
    ) -> BoxFuture<'a, Result<ToolResult, IntegrationError>> {
        Box::pin(self.perform_checked(request))
    }

    fn confirm(
        &self,
        token: u64,
        accept: bool,
    ) -> BoxFuture<'_, Result<ToolResult, IntegrationError>> {
        Box::pin(self.confirm_checked(token, accept))
    }

    fn offers(&self, action: &str) -> bool {
        self.config.tool_for(action).is_some()
    }

    fn finish(&self) -> BoxFuture<'_, Vec<Finding>> {
        Box::pin(self.stop())
    }

    fn shown(&self, text: String) -> String {
        if self.redactor.reveals(&text) {
            self.redact(&text)
        } else {
            text
        }
    }
}

impl Drop for McpIntegration {
    fn drop(&mut self) {
        // Held calls first (their elicitations are dismissed), then the process group.
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        if let Some(process) = &self.process {
            process.kill();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_accepting_answer_says_yes_to_every_question() {
        let schema = json!({
            "type": "object",
            "properties": {
                "confirm": {"type": "boolean", "default": false},
                "reason": {"type": "string"},
                "choice": {"type": "string", "enum": ["send", "hold"]},
                "count": {"type": "integer", "minimum": 1}
            }
        });
        assert_eq!(
            accepting(&schema),
            json!({"confirm": true, "reason": "yes", "choice": "send", "count": 1})
        );
    }

    #[rstest::rstest]
    #[case::pydantic(
        "1 validation error for create_ticketArguments\nstatus\n  Input should be 'New'",
        true
    )]
    #[case::json_schema("Input validation error: 'ticketId' is a required property", true)]
    #[case::python("create_ticket() got an unexpected keyword argument 'fields'", true)]
    #[case::a_refusal_of_the_action("Writes to members are blocked (SAFE-01)", false)]
    #[case::an_unknown_value("There is no service board \"Plumbing\"", false)]
    fn a_validation_error_is_read_as_a_refusal_of_the_arguments(
        #[case] text: &str,
        #[case] refuses: bool,
    ) {
        let reply = ToolReply {
            is_error: true,
            text: text.to_owned(),
            structured: None,
        };
        assert_eq!(refuses_arguments(&reply), refuses);
        let success = ToolReply {
            is_error: false,
            ..reply
        };
        assert!(!refuses_arguments(&success));
    }

    /// The start-up bound starts with the slot: with every slot taken, a start-up waits
    /// (and its clock has not started); a freed slot lets the next one start.
    #[tokio::test]
    async fn start_ups_beyond_the_cpu_count_wait_for_a_slot() {
        let slots = StartupSlots::per_cpu();
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let mut taken = Vec::new();
        while let Ok(permit) = Arc::clone(&slots.0).try_acquire_owned() {
            taken.push(permit);
        }
        assert_eq!(taken.len(), cpus, "{} slots for {cpus} CPUs", taken.len());
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a start-up began with no slot free");
        drop(taken);
        let slot = waiting.await.unwrap();
        drop(slot);
    }

    /// Each run has slots of its own: one run holding every slot does not hold up another.
    #[tokio::test]
    async fn the_slots_of_one_run_do_not_hold_up_another() {
        let first = StartupSlots::per_cpu();
        let mut taken = Vec::new();
        while let Ok(permit) = Arc::clone(&first.0).try_acquire_owned() {
            taken.push(permit);
        }
        let second = StartupSlots::per_cpu();
        assert!(Arc::clone(&second.0).try_acquire_owned().is_ok());
        drop(taken);
    }

    fn entry(method: &str, path: &str, status: u16) -> JournalEntry {
        JournalEntry {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            status,
            member: Some("ai-integration".into()),
            body: None,
            answer: None,
        }
    }

    #[test]
    fn annotations_are_held_to_the_requests_of_the_call() {
        let read_only = Hints {
            read_only: true,
            non_destructive: false,
        };
        let broken =
            read_only.broken_by("ticket_search", &[entry("POST", "/service/tickets", 403)]);
        assert_eq!(broken.len(), 1);
        assert_eq!(
            broken[0].to_string(),
            "INT-03: the tool \"ticket_search\" declares readOnlyHint: true, but its call sent POST /service/tickets -> 403 (as ai-integration)"
        );
        assert!(
            read_only
                .broken_by("ticket_search", &[entry("GET", "/service/tickets", 200)])
                .is_empty()
        );
        let gentle = Hints {
            read_only: false,
            non_destructive: true,
        };
        assert_eq!(
            gentle
                .broken_by(
                    "contact_delete",
                    &[entry("DELETE", "/company/contacts/1", 204)]
                )
                .len(),
            1
        );
        assert!(
            gentle
                .broken_by(
                    "contact_update",
                    &[entry("PATCH", "/company/contacts/1", 200)]
                )
                .is_empty()
        );
        // Undeclared hints promise nothing.
        assert!(
            Hints::default()
                .broken_by("x", &[entry("DELETE", "/company/contacts/1", 204)])
                .is_empty()
        );
        let tool = Tool::new("t", "t", Arc::new(Map::new())).with_annotations(
            rmcp::model::ToolAnnotations::new()
                .read_only(true)
                .destructive(false),
        );
        assert_eq!(
            Hints::of(&tool),
            Hints {
                read_only: true,
                non_destructive: true
            }
        );
    }

    #[test]
    fn a_request_outside_the_calls_and_the_harness_requests_is_placed_in_time() {
        let mut windows = Windows::default();
        Windows::claim(&mut windows.calls, &[2], &[4]);
        Windows::claim(&mut windows.calls, &[6], &[8]);
        Windows::claim(&mut windows.harness, &[9], &[10]);
        let at = |index| windows.outside(0, index);
        assert_eq!(at(1), Some(judge::Moment::StartUp));
        assert_eq!(at(2), None);
        assert_eq!(at(5), Some(judge::Moment::BetweenCalls));
        assert_eq!(at(8), Some(judge::Moment::AfterLastCall));
        assert_eq!(at(9), None);
        assert_eq!(
            Windows::default().outside(0, 3),
            Some(judge::Moment::StartUp)
        );
    }

    #[test]
    fn a_shown_secret_is_evidenced_by_the_text_around_it() {
        let text = format!("{}No access (signed in with {REDACTED}).", "x".repeat(400));
        let shown = around_redaction(&text);
        assert!(shown.starts_with('…'), "{shown}");
        assert!(shown.ends_with("(signed in with [redacted])."), "{shown}");
        assert!(shown.chars().count() < 220, "{shown}");
        assert_eq!(around_redaction("short"), "short");
    }

    #[test]
    fn a_failure_shows_the_exit_the_stdout_garbage_and_the_stderr_tail() {
        let failure = ServerFailure {
            what: "the MCP server `x` did not answer initialize within 2 s".into(),
            exit: Some("exit status: 3".into()),
            garbage: vec!["hello".into()],
            garbage_count: 2,
            stderr: vec!["boom".into()],
            watched: true,
        };
        let shown = failure.to_string();
        assert!(shown.starts_with("the MCP server `x` did not answer initialize"));
        assert!(shown.contains("ended: exit status: 3"));
        assert!(shown.contains("2 line(s) to standard output that are not JSON-RPC"));
        assert!(shown.contains("\n    hello"));
        assert!(shown.contains("standard error (last 1 lines):\n    boom"));
    }
}
