//! `cw-conform mcp-serve`: the reference integration served as an MCP server over stdio
//! (or, with `--http ADDR`, over Streamable HTTP at `http://ADDR/mcp`), for one API member
//! configured from the environment (the same variables as a sandbox run).
//!
//! - One tool per catalog action: the action's name with `.` replaced by `_`
//!   (`ticket_create`), its phrase as the description, and the input `id` (the record
//!   number, or for child actions the parent's), `query` (search text) and `fields` (an
//!   object). Reads are annotated `readOnlyHint`, deletes `destructiveHint`.
//! - A held write (an escalation) asks the person through `elicitation/create` when the
//!   client declared the capability: on accept it is sent, on decline nothing is written.
//!   Otherwise the result is `escalated` with a token, and the `confirm` tool
//!   (`{"token": N, "accept": true|false}`) answers it.
//! - Every result's text is the reference integration's message; `structuredContent`
//!   carries `outcome`, `message`, `data`, `missing`, `rule`, `status` and `confirmation`;
//!   `isError` is set for denied, blocked, rejected, unauthenticated and failed outcomes.
//!
//! Nothing is written to standard output but JSON-RPC; keys never appear in results.

use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitRequestParams,
    ElicitationAction, ElicitationSchema, Implementation, InitializeResult, JsonObject,
    ListToolsResult, PaginatedRequestParams, PrimitiveSchemaDefinition, ProtocolVersion,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{ElicitationMode, RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::{Value, json};

use crate::connectwise::{Client, ClientError, Credentials, RateLimit};
use crate::fixtures::Fixtures;
use crate::integration::{ActionRequest, ReferenceIntegration, Subject, ToolResult};
use crate::model::{Action, ActionKind, Outcome};
use crate::target::{Environment, Purpose, TargetError};

/// The name of the tool that answers a held action when elicitation is not available.
pub const CONFIRM_TOOL: &str = "confirm";

/// The variables `mcp-serve` reads.
pub const VARIABLES: [&str; 5] = [
    "CONNECTWISE_SITE",
    "CONNECTWISE_COMPANY_ID",
    "CONNECTWISE_PUBLIC_KEY",
    "CONNECTWISE_PRIVATE_KEY",
    "CONNECTWISE_CLIENT_ID",
];

/// A setting `mcp-serve` cannot start without, or a failure to serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServeError {
    /// A required variable is not set.
    #[error(
        "{0} is not set (mcp-serve reads CONNECTWISE_SITE, CONNECTWISE_COMPANY_ID, CONNECTWISE_PUBLIC_KEY, CONNECTWISE_PRIVATE_KEY and CONNECTWISE_CLIENT_ID)"
    )]
    Missing(String),
    /// A variable has a bad value.
    #[error(transparent)]
    Invalid(#[from] TargetError),
    /// The ConnectWise client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The MCP connection failed.
    #[error("failed to serve MCP over stdio: {0}")]
    Transport(String),
    /// The HTTP address could not be listened on.
    #[error("failed to listen for Streamable HTTP on {address}: {reason}")]
    Listen {
        /// The address asked for.
        address: String,
        /// Why.
        reason: String,
    },
}

/// What `mcp-serve` is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSettings {
    /// The API member.
    pub credentials: Credentials,
    /// `CONNECTWISE_REQUESTS_PER_MINUTE`, if set.
    pub requests_per_minute: Option<u32>,
}

impl ServeSettings {
    /// Reads the settings through a variable lookup. The site must be https (plain http
    /// only on loopback); an empty `CONNECTWISE_CLIENT_ID` sends no `clientId` header
    /// (ConnectWise then refuses the calls, which is what a scenario about it checks).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<ServeSettings, ServeError> {
        ServeSettings::from_environment(&Environment::lookup(Box::new(var)))
    }

    /// Reads the settings from the one reader of the `CONNECTWISE_*` variables, as a
    /// scenario configures them (see [`Purpose::McpServe`]).
    pub fn from_environment(environment: &Environment<'_>) -> Result<ServeSettings, ServeError> {
        let connection =
            environment
                .connection(Purpose::McpServe)
                .map_err(|error| match error {
                    TargetError::Missing(name) => ServeError::Missing(name),
                    other => ServeError::Invalid(other),
                })?;
        Ok(ServeSettings {
            credentials: connection.credentials,
            requests_per_minute: connection.requests_per_minute,
        })
    }
}

/// The tool name of an action: its name with `.` replaced by `_`.
pub fn tool_name(action: &Action) -> String {
    action.name.replace('.', "_")
}

fn input_schema() -> Arc<JsonObject> {
    let schema = json!({
        "type": "object",
        "properties": {
            "id": {
                "type": "integer",
                "description": "The record number; for an action on a child record (a ticket's notes or tasks, an agreement's additions), the parent's number."
            },
            "query": {
                "type": "string",
                "description": "Search text (for searches and lists)."
            },
            "fields": {
                "type": "object",
                "description": "Fields to write, or for a list the fields to match exactly. Referenced records (company, board, status, owner …) may be given by name.",
                "additionalProperties": true
            }
        },
        "additionalProperties": false
    });
    Arc::new(match schema {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    })
}

fn annotations(action: &Action) -> ToolAnnotations {
    let annotations = ToolAnnotations::with_title(action.name.clone()).open_world(true);
    match action.kind {
        ActionKind::Connect | ActionKind::Search | ActionKind::Get => annotations
            .read_only(true)
            .destructive(false)
            .idempotent(true),
        ActionKind::Delete => annotations.read_only(false).destructive(true),
        _ => annotations.read_only(false).destructive(false),
    }
}

/// Every tool `mcp-serve` offers: one per catalog action, and `confirm`.
pub fn tools(fixtures: &Fixtures) -> Vec<Tool> {
    let mut tools: Vec<Tool> = fixtures
        .actions
        .iter()
        .map(|action| {
            Tool::new(tool_name(action), action.phrase.clone(), input_schema())
                .with_annotations(annotations(action))
        })
        .collect();
    let confirm_schema = json!({
        "type": "object",
        "properties": {
            "token": {"type": "integer", "description": "The token of the held action (structuredContent.confirmation.token)."},
            "accept": {"type": "boolean", "description": "true sends the held action; false cancels it and writes nothing."}
        },
        "required": ["token", "accept"],
        "additionalProperties": false
    });
    tools.push(
        Tool::new(
            CONFIRM_TOOL,
            "Confirm or refuse an action held for confirmation (outcome escalated). Only needed when the client does not support elicitation.",
            Arc::new(match confirm_schema {
                Value::Object(map) => map,
                _ => JsonObject::new(),
            }),
        )
        .with_annotations(
            ToolAnnotations::with_title("confirm")
                .read_only(false)
                .destructive(true)
                .open_world(true),
        ),
    );
    tools
}

fn is_error(outcome: Outcome) -> bool {
    !matches!(
        outcome,
        Outcome::Allowed | Outcome::Partial | Outcome::Escalated
    )
}

/// The MCP result of a tool result: the message as text, everything as structured content.
pub fn call_result(result: &ToolResult) -> CallToolResult {
    let structured = json!({
        "outcome": result.outcome,
        "message": result.message,
        "data": result.data,
        "missing": result.missing,
        "rule": result.rule.as_ref().map(ToString::to_string),
        "status": result.status,
        "confirmation": result.confirmation,
    });
    let content = vec![
        ContentBlock::text(result.message.clone()),
        ContentBlock::text(structured.to_string()),
    ];
    let mut call = if is_error(result.outcome) {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    call.structured_content = Some(structured);
    call
}

/// How a server writes a tool result for the AI. `mcp-serve` uses [`call_result`] (the
/// message as text, everything as structured content); `examples/text_integration.rs`
/// serves the same behaviour in plain text and Markdown.
pub type Presentation = fn(&ToolResult) -> CallToolResult;

/// The reference integration as an MCP server.
#[derive(Debug)]
pub struct ReferenceServer {
    integration: ReferenceIntegration,
    tools: Vec<Tool>,
    actions: BTreeMap<String, Action>,
    present: Presentation,
}

/// Arguments that do not fit the input schema.
fn bad_input(message: String) -> Box<ToolResult> {
    Box::new(ToolResult::new(Outcome::Rejected, message))
}

impl ReferenceServer {
    /// Serves the reference integration calling ConnectWise through `client`.
    pub fn new(client: Client, fixtures: Arc<Fixtures>) -> Self {
        let actions = fixtures
            .actions
            .iter()
            .map(|a| (tool_name(a), a.clone()))
            .collect();
        ReferenceServer {
            tools: tools(&fixtures),
            integration: ReferenceIntegration::new(client, fixtures),
            actions,
            present: call_result,
        }
    }

    /// The same server writing its results with `present`.
    #[must_use]
    pub fn presenting(self, present: Presentation) -> Self {
        ReferenceServer { present, ..self }
    }

    /// The request a tool's arguments make (`id`, `query`, `fields`), or the result that
    /// refuses arguments that do not fit the input schema.
    pub fn request(
        action: &Action,
        arguments: &JsonObject,
    ) -> Result<ActionRequest, Box<ToolResult>> {
        let id = match arguments.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.is_i64() => n.as_i64(),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            Some(other) => {
                return Err(bad_input(format!(
                    "id must be a record number, not {other}"
                )));
            }
        };
        let query = match arguments.get("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(bad_input(format!("query must be text, not {other}"))),
        };
        let fields = match arguments.get("fields") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(other) => {
                return Err(bad_input(format!("fields must be an object, not {other}")));
            }
        };
        if let Some(unknown) = arguments
            .keys()
            .find(|k| !["id", "query", "fields"].contains(&k.as_str()))
        {
            return Err(bad_input(format!(
                "unknown argument \"{unknown}\" (expected id, query and fields)"
            )));
        }
        let subject = id.map(Subject::Id).or(query.map(Subject::Text));
        Ok(ActionRequest {
            action: action.name.clone(),
            subject,
            fields,
        })
    }

    async fn confirm(&self, arguments: &JsonObject) -> CallToolResult {
        let token = arguments.get("token").and_then(|t| {
            t.as_u64()
                .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))
        });
        let accept = arguments.get("accept").and_then(Value::as_bool);
        match (token, accept) {
            (Some(token), Some(accept)) => {
                match self.integration.answer_held(token, accept).await {
                    Ok(result) => (self.present)(&result),
                    Err(error) => (self.present)(&bad_input(error.to_string())),
                }
            }
            _ => (self.present)(&bad_input(
                "confirm needs token (a number) and accept (true or false)".to_owned(),
            )),
        }
    }

    /// Asks the person through elicitation, then sends or cancels the held action.
    async fn ask(
        &self,
        held: &ToolResult,
        token: u64,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        let schema = ElicitationSchema::builder()
            .required_property(
                "confirm",
                PrimitiveSchemaDefinition::Boolean(
                    rmcp::model::BooleanSchema::new()
                        .title("Send it")
                        .description("Yes sends the action to ConnectWise; no cancels it and writes nothing."),
                ),
            )
            .build_unchecked();
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: held.message.clone(),
            requested_schema: schema,
        };
        match context.peer.create_elicitation(params).await {
            Ok(answer) => {
                let confirmed = answer.action == ElicitationAction::Accept
                    && answer
                        .content
                        .as_ref()
                        .and_then(|c| c.get("confirm"))
                        .and_then(Value::as_bool)
                        .unwrap_or(true);
                match self.integration.answer_held(token, confirmed).await {
                    Ok(result) => (self.present)(&result),
                    Err(error) => (self.present)(&bad_input(error.to_string())),
                }
            }
            Err(error) => {
                let Ok(mut cancelled) = self.integration.answer_held(token, false).await else {
                    return (self.present)(&bad_input(format!(
                        "the confirmation request got no answer: {error}"
                    )));
                };
                cancelled.message = format!(
                    "{} (the confirmation request got no answer: {error})",
                    cancelled.message
                );
                (self.present)(&cancelled)
            }
        }
    }

    async fn run(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let arguments = request.arguments.clone().unwrap_or_default();
        if request.name == CONFIRM_TOOL {
            return Ok(self.confirm(&arguments).await);
        }
        let Some(action) = self.actions.get(request.name.as_ref()) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool \"{}\"", request.name),
                None,
            ));
        };
        let request = match Self::request(action, &arguments) {
            Ok(request) => request,
            Err(result) => return Ok((self.present)(&result)),
        };
        let mut result = self.integration.perform_action(&request).await;
        let Some(token) = result.confirmation.as_ref().map(|c| c.token) else {
            return Ok((self.present)(&result));
        };
        if can_elicit(&context) {
            return Ok(self.ask(&result, token, &context).await);
        }
        result.message = format!(
            "{} To proceed, call the {CONFIRM_TOOL} tool with {{\"token\": {token}, \"accept\": true}}; to cancel, with \"accept\": false.",
            result.message
        );
        Ok((self.present)(&result))
    }
}

/// Whether the client can be asked through `elicitation/create` (it declared form
/// elicitation, on a protocol revision that still has server-to-client requests).
fn can_elicit(context: &RequestContext<RoleServer>) -> bool {
    let before_requests_ended = context
        .protocol_version()
        .is_some_and(|v| v < ProtocolVersion::V_2026_07_28);
    before_requests_ended
        && context
            .peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
}

impl ServerHandler for ReferenceServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(
                "The cw-conform reference integration for ConnectWise PSA: one tool per action. Writes that need a person's confirmation ask through elicitation, or return a token for the confirm tool.",
            );
        info.server_info = Implementation::new("cw-conform-reference", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.run(request, context).await.map(CallToolResponse::from)
    }
}

/// Serves the reference integration over stdio until the client closes the connection.
pub async fn serve_stdio(
    fixtures: Arc<Fixtures>,
    settings: ServeSettings,
) -> Result<(), ServeError> {
    serve_stdio_presenting(fixtures, settings, call_result).await
}

/// Serves the reference integration over stdio, writing its results with `present`.
pub async fn serve_stdio_presenting(
    fixtures: Arc<Fixtures>,
    settings: ServeSettings,
    present: Presentation,
) -> Result<(), ServeError> {
    let mut client = Client::new(settings.credentials)?;
    if let Some(rate) = settings.requests_per_minute {
        client = client.with_rate_limit(Arc::new(RateLimit::per_minute(rate)));
    }
    let server = ReferenceServer::new(client, fixtures).presenting(present);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| ServeError::Transport(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| ServeError::Transport(e.to_string()))?;
    Ok(())
}

/// The path `mcp-serve --http` answers MCP at.
pub const HTTP_PATH: &str = "/mcp";

/// Serves the reference integration over Streamable HTTP at `http://ADDRESS/mcp` until the
/// process ends: a session of its own (and a server with its own held actions) for each
/// client that initializes one. Writes `listening on http://ADDRESS/mcp` to standard error
/// once it takes connections. Any other path is answered 404.
pub async fn serve_http(
    fixtures: Arc<Fixtures>,
    settings: ServeSettings,
    address: std::net::SocketAddr,
) -> Result<(), ServeError> {
    let mut client = Client::new(settings.credentials)?;
    if let Some(rate) = settings.requests_per_minute {
        client = client.with_rate_limit(Arc::new(RateLimit::per_minute(rate)));
    }
    let listen_failed = |e: std::io::Error| ServeError::Listen {
        address: address.to_string(),
        reason: e.to_string(),
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(listen_failed)?;
    let bound = listener.local_addr().map_err(listen_failed)?;
    eprintln!("cw-conform mcp-serve: listening on http://{bound}{HTTP_PATH}");
    serve_streamable_http(listener, move || {
        Ok(ReferenceServer::new(client.clone(), Arc::clone(&fixtures)))
    })
    .await;
    Ok(())
}

/// Serves MCP over Streamable HTTP at [`HTTP_PATH`] on `listener`, forever: `server` makes
/// the handler of each new session. (Also how the tests serve a server that misbehaves.)
pub async fn serve_streamable_http<S, F>(listener: tokio::net::TcpListener, server: F)
where
    S: ServerHandler + Send + 'static,
    F: Fn() -> Result<S, std::io::Error> + Send + Sync + 'static,
{
    serve_streamable_http_requiring(listener, server, None).await;
}

/// A header a hosted server requires of every request, as its credential.
#[derive(Clone)]
pub struct RequiredHeader {
    /// Its name.
    pub name: hyper::header::HeaderName,
    /// The value it must have.
    pub value: hyper::header::HeaderValue,
}

impl std::fmt::Debug for RequiredHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequiredHeader({}: [redacted])", self.name)
    }
}

/// [`serve_streamable_http`], answering `401 Unauthorized` (with a `WWW-Authenticate`
/// challenge) to a request that lacks the `required` header or has another value in it,
/// as a hosted server does without its credential.
pub async fn serve_streamable_http_requiring<S, F>(
    listener: tokio::net::TcpListener,
    server: F,
    required: Option<RequiredHeader>,
) where
    S: ServerHandler + Send + 'static,
    F: Fn() -> Result<S, std::io::Error> + Send + Sync + 'static,
{
    use rmcp::transport::StreamableHttpService;
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

    let service = Arc::new(StreamableHttpService::new(
        server,
        Arc::new(LocalSessionManager::default()),
        rmcp::transport::StreamableHttpServerConfig::default(),
    ));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let service = Arc::clone(&service);
        let required = required.clone();
        tokio::spawn(async move {
            let answer = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let service = Arc::clone(&service);
                    let refused = required
                        .as_ref()
                        .is_some_and(|r| request.headers().get(&r.name) != Some(&r.value));
                    async move {
                        if refused {
                            Ok(unauthorized())
                        } else if request.uri().path() == HTTP_PATH {
                            Ok::<_, std::convert::Infallible>(service.handle(request).await)
                        } else {
                            Ok(not_found())
                        }
                    }
                },
            );
            // A client that goes away ends only its own connection.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), answer)
                .await;
        });
    }
}

/// The answer to a request without the required header.
fn unauthorized() -> hyper::Response<
    http_body_util::combinators::BoxBody<hyper::body::Bytes, std::convert::Infallible>,
> {
    use http_body_util::BodyExt as _;
    let body = http_body_util::Full::new(hyper::body::Bytes::from_static(
        b"this MCP server requires its credential header\n",
    ))
    .boxed();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = hyper::StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static("Bearer realm=\"cw-conform\""),
    );
    response
}

/// The answer to a path other than [`HTTP_PATH`].
fn not_found() -> hyper::Response<
    http_body_util::combinators::BoxBody<hyper::body::Bytes, std::convert::Infallible>,
> {
    use http_body_util::BodyExt as _;
    let body = http_body_util::Full::new(hyper::body::Bytes::from_static(
        b"cw-conform mcp-serve answers MCP at /mcp only\n",
    ))
    .boxed();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = hyper::StatusCode::NOT_FOUND;
    response
}

#[cfg(test)]
mod tests {

    use super::*;

    use crate::target::vars;

    const SETTINGS: [(&str, &str); 5] = [
        ("CONNECTWISE_SITE", "http://127.0.0.1:8089"),
        ("CONNECTWISE_COMPANY_ID", "19"),
        ("CONNECTWISE_PUBLIC_KEY", "pub"),
        ("CONNECTWISE_PRIVATE_KEY", "canary-private-7d1e"),
        ("CONNECTWISE_CLIENT_ID", ""),
    ];

    #[test]
    fn settings_keep_what_a_scenario_configures_wrongly() {
        let settings = ServeSettings::from_vars(&vars(&SETTINGS)).unwrap();
        // A numeric company ID and a missing client ID are what TS-01 and TS-02 check.
        assert_eq!(settings.credentials.company_id, "19");
        assert_eq!(settings.credentials.client_id, None);
        assert!(!format!("{settings:?}").contains("canary-private-7d1e"));
    }

    #[test]
    fn settings_name_what_is_missing_or_invalid() {
        let missing: Vec<(&str, &str)> = SETTINGS[1..].to_vec();
        assert_eq!(
            ServeSettings::from_vars(&vars(&missing)).unwrap_err(),
            ServeError::Missing("CONNECTWISE_SITE".into())
        );
        let mut plain = SETTINGS.to_vec();
        plain[0] = ("CONNECTWISE_SITE", "http://na.myconnectwise.net");
        assert!(
            ServeSettings::from_vars(&vars(&plain))
                .unwrap_err()
                .to_string()
                .starts_with("CONNECTWISE_SITE is invalid")
        );
    }

    #[test]
    fn one_tool_per_action_with_hints_and_the_confirm_tool() {
        let fixtures = Fixtures::builtin().unwrap();
        let tools = tools(fixtures);
        assert_eq!(tools.len(), fixtures.actions.iter().count() + 1);
        let find = |name: &str| tools.iter().find(|t| t.name == name).unwrap();
        let read = find("ticket_get").annotations.clone().unwrap();
        assert_eq!(read.read_only_hint, Some(true));
        let delete = find("ticket_delete").annotations.clone().unwrap();
        assert_eq!(delete.destructive_hint, Some(true));
        assert_eq!(delete.read_only_hint, Some(false));
        assert_eq!(
            find("ticket_create").description.as_deref(),
            Some("create a service ticket")
        );
        assert!(find(CONFIRM_TOOL).input_schema.contains_key("required"));
    }

    #[test]
    fn refusals_are_errors_with_the_message_and_the_structure() {
        let mut denied = ToolResult::new(Outcome::Denied, "No access: …");
        denied.status = Some(403);
        let result = call_result(&denied);
        assert_eq!(result.is_error, Some(true));
        assert_eq!(
            result.content[0].as_text().map(|t| t.text.as_str()),
            Some("No access: …")
        );
        let structured = result.structured_content.unwrap();
        assert_eq!(structured["outcome"], "denied");
        assert_eq!(structured["status"], 403);
        let partial = call_result(&ToolResult::new(Outcome::Partial, "Read #1"));
        assert_eq!(partial.is_error, Some(false));
    }
}
