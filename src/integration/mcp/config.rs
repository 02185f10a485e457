//! The integration config: how to start a vendor's MCP server, the environment that points
//! it at one scenario's ConnectWise and API member, and which tool performs each harness
//! action with which arguments. Validated on load; every error names the file, the line and
//! the bad value.
//!
//! ```toml
//! name = "Acme ConnectWise MCP"
//!
//! [server]
//! command = "npx"                      # a name on PATH, or a path (relative to this file)
//! args = ["-y", "@acme/connectwise-mcp"]
//! call_timeout_seconds = 5
//! pass_env = ["NODE_EXTRA_CA_CERTS"]   # passed on from the harness's environment
//!
//! [server.env]                         # filled in for each scenario
//! CW_SITE = "{site}"
//! CW_COMPANY = "{company_id}"
//! CW_PUBLIC_KEY = "{public_key}"
//! CW_PRIVATE_KEY = "{private_key}"
//! CW_CLIENT_ID = "{client_id}"
//!
//! [actions]                            # harness action = the tool that performs it
//! "ticket.get" = { tool = "get_ticket", arguments = { ticketId = "{id}" } }
//! "ticket.create" = { tool = "create_ticket", arguments = { ticket = "{fields}" } }
//! ```
//!
//! The server's environment is only what this file gives it: the process essentials
//! ([`super::process::ESSENTIAL_VARIABLES`]: `PATH`, `HOME`, `LANG`, `LC_*`, `TMPDIR` …),
//! the variables `pass_env` names, taken from the harness's environment when set there, and
//! `[server.env]`. The harness's own `CONNECTWISE_*` settings (a sandbox's keys) and every
//! other variable of its environment stay out; `pass_env` may not name a `CONNECTWISE_*`
//! variable, nor one `[server.env]` sets.
//!
//! A server that speaks Streamable HTTP instead of stdio says `transport = "http"` and its
//! `url`, in one of two forms:
//!
//! ```toml
//! [server]                             # the harness starts it on a port it chose
//! transport = "http"
//! command = "acme-mcp"
//! args = ["--listen", "127.0.0.1:{port}"]
//! url = "http://127.0.0.1:{port}/mcp"
//!
//! [server]                             # it is already running (hosted, or started by hand)
//! transport = "http"
//! url = "https://mcp.acme.example/mcp"
//! ```
//!
//! A server already running cannot be given each scenario's mock ConnectWise: the run
//! serves one at a fixed address for it ([`super::shared::RunningServer`]).
//!
//! A server on HTTP, a hosted one above all, usually wants a credential of its own. The
//! headers of `[server.headers]` go with every request; a value takes the user's token from
//! the harness's environment as `{env:NAME}` (the file is committed and shared, the token is
//! not), and may take the API member's settings (`{company_id}`, `{private_key}` …):
//!
//! ```toml
//! [server.headers]
//! Authorization = "Bearer {env:ACME_MCP_TOKEN}"
//! X-CW-Company = "{company_id}"
//! ```
//!
//! Each `{env:NAME}` must be set when the config loads. What a header takes from the
//! environment or the member's keys, and the whole value of a credential header
//! (`Authorization`, or a name with `key`, `token`, `secret` or `auth` in it), is a secret:
//! redacted wherever the run shows something, and `INT-01` when the server shows it.
//!
//! An action with no entry under `[actions]` is *not offered by this integration*: its
//! scenarios are left out of the run and listed in the report, and the rules they check are
//! *not offered* (unless other scenarios of theirs judge them).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

use super::process::MARKER_VARIABLE;
use crate::connectwise::{Credentials, Secret};
use crate::fixtures::line_of;
use crate::integration::{ActionRequest, IntegrationError, Subject};
use crate::model::{Action, ActionCatalog};

/// How long a server may take to start and answer `initialize`, unless the config says.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one tool call may take, unless the config says.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The MCP revision the harness asks for: the newest with an `initialize` handshake and
/// server-to-client requests (`elicitation/create`).
pub const DEFAULT_PROTOCOL_VERSION: &str = "2025-11-25";

/// Revisions a config may ask for (2026-07-28 has no server-to-client elicitation).
const PROTOCOL_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// Placeholders of the server's command, arguments and environment: one scenario's
/// ConnectWise and API member, and the running cw-conform executable.
pub const SERVER_PLACEHOLDERS: [&str; 7] = [
    "site",
    "api_url",
    "company_id",
    "public_key",
    "private_key",
    "client_id",
    "cw_conform",
];

/// The placeholder of a started HTTP server's arguments, environment and URL: the port the
/// harness chose for it.
pub const PORT_PLACEHOLDER: &str = "port";

/// Placeholders of a header value besides `{env:NAME}`: the scenario's ConnectWise and API
/// member (a hosted server may take the member's keys in headers of its own).
pub const HEADER_PLACEHOLDERS: [&str; 6] = [
    "site",
    "api_url",
    "company_id",
    "public_key",
    "private_key",
    "client_id",
];

/// The prefix of a placeholder naming a variable of the harness's environment.
pub const ENV_PREFIX: &str = "env:";

/// Headers the MCP transport sets itself, which `[server.headers]` may not.
const TRANSPORT_HEADERS: [&str; 9] = [
    "accept",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "host",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

/// Placeholders of a tool's argument template, filled from the AI's request.
pub const ARGUMENT_PLACEHOLDERS: [&str; 4] = ["id", "query", "fields", "action"];

/// Placeholders of the confirmation tool's argument template.
pub const CONFIRMATION_PLACEHOLDERS: [&str; 2] = ["token", "accept"];

/// An integration config that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read integration config {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is malformed or names something unknown.
    #[error("failed to load integration config {path}: {}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong, naming the bad value.
        message: String,
    },
}

/// How the harness speaks MCP with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// JSON-RPC over the standard input and output of a process the harness starts.
    Stdio,
    /// Streamable HTTP at `url`. With a command, the harness starts the server and `{port}`
    /// (in the URL, and in its arguments or environment) is the free port the harness chose;
    /// without one, the server is already running at `url`.
    Http {
        /// The MCP endpoint (`http://127.0.0.1:{port}/mcp`).
        url: String,
    },
}

/// An HTTP header sent with every request to a server speaking Streamable HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Its name, as the config writes it.
    pub name: String,
    /// Its value template: text, `{env:NAME}` and [`HEADER_PLACEHOLDERS`].
    pub value: String,
    /// The value of each `{env:NAME}` it names, read from the harness's environment on load.
    environment: BTreeMap<String, Secret>,
}

/// How to start the server (or where it already runs).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerCommand {
    /// How MCP is spoken with it.
    pub transport: Transport,
    /// The program: a name looked up on `PATH`, a path, or `{cw_conform}`. Empty for a
    /// server already running ([`Self::is_running_already`]).
    pub command: String,
    /// Its arguments (templates).
    pub args: Vec<String>,
    /// Environment variables set for it (templates).
    pub env: Vec<(String, String)>,
    /// Variables of the harness's environment passed on to it, besides the essentials.
    pub pass_env: Vec<String>,
    /// Headers sent with every request (Streamable HTTP only).
    pub headers: Vec<Header>,
    /// Bound on start-up and `initialize`.
    pub startup_timeout: Duration,
    /// Bound on each tool call.
    pub call_timeout: Duration,
    /// Whether the harness declares the elicitation capability.
    pub elicitation: bool,
    /// The MCP revision the harness asks for.
    pub protocol_version: String,
}

/// The tool that performs one harness action.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolMapping {
    /// The server's tool name.
    pub tool: String,
    /// The argument template (JSON), filled from the request.
    pub arguments: Map<String, Value>,
}

/// How a server that does not use elicitation holds a write for confirmation.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmationStyle {
    /// The result carries a token; a confirmation tool is called with it.
    Tool {
        /// The confirmation tool.
        tool: String,
        /// Its argument template (`{token}`, `{accept}`).
        arguments: Map<String, Value>,
        /// JSON pointer to the token in the structured result (or in the text parsed as
        /// JSON).
        token: String,
    },
    /// The result asks for confirmation; the same tool is called again with an argument set
    /// to `true` once a person confirms (and not at all if they refuse).
    Argument {
        /// The argument.
        argument: String,
        /// Text (case-insensitive) a result holding the action for confirmation contains.
        pattern: String,
    },
}

/// A validated integration config.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationConfig {
    /// The file it was loaded from, as given.
    pub path: String,
    /// The integration's name in the report.
    pub name: String,
    /// How to start the server.
    pub server: ServerCommand,
    /// How it holds a write for confirmation when it does not use elicitation.
    pub confirmation: Option<ConfirmationStyle>,
    tools: BTreeMap<String, ToolMapping>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: Option<String>,
    server: RawServer,
    confirmation: Option<RawConfirmation>,
    #[serde(default)]
    actions: BTreeMap<Spanned<String>, RawTool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    transport: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    command: Option<Spanned<String>>,
    #[serde(default)]
    args: Vec<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pass_env: Vec<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<Spanned<String>, Spanned<String>>,
    startup_timeout_seconds: Option<Spanned<i64>>,
    call_timeout_seconds: Option<Spanned<i64>>,
    elicitation: Option<bool>,
    protocol_version: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTool {
    tool: Spanned<String>,
    arguments: Option<Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfirmation {
    tool: Option<Spanned<String>>,
    arguments: Option<Spanned<toml::Table>>,
    token: Option<Spanned<String>>,
    argument: Option<Spanned<String>>,
    pattern: Option<Spanned<String>>,
}

/// The `{name}` placeholders of a template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_placeholder_name(&after[..end]) => {
                found.push(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    found
}

fn is_placeholder_name(name: &str) -> bool {
    if let Some(variable) = name.strip_prefix(ENV_PREFIX) {
        return is_variable_name(variable);
    }
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Whether `name` is an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
fn is_variable_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Fills `{name}` placeholders with text; `None` when a placeholder has no value.
pub fn fill_text(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut filled = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_placeholder_name(&after[..end]) => {
                filled.push_str(&value(&after[..end])?);
                rest = &after[end + 1..];
            }
            _ => {
                filled.push('{');
                rest = after;
            }
        }
    }
    filled.push_str(rest);
    Some(filled)
}

/// Fills a JSON template. A string that is exactly one placeholder takes the value's own
/// type (`"{fields}"` becomes an object, `"{id}"` a number); placeholders inside longer
/// strings are filled as text. A key whose placeholder has no value is left out.
pub fn fill_json(
    template: &Map<String, Value>,
    value: &dyn Fn(&str) -> Option<Value>,
) -> Map<String, Value> {
    template
        .iter()
        .filter_map(|(key, v)| fill_value(v, value).map(|filled| (key.clone(), filled)))
        .collect()
}

fn fill_value(template: &Value, value: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    match template {
        Value::String(text) => {
            let whole = text
                .strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .filter(|name| is_placeholder_name(name));
            match whole {
                Some(name) => value(name),
                None => fill_text(text, &|name| {
                    value(name).map(|v| match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                })
                .map(Value::String),
            }
        }
        Value::Object(map) => Some(Value::Object(fill_json(map, value))),
        Value::Array(items) => Some(Value::Array(
            items.iter().filter_map(|i| fill_value(i, value)).collect(),
        )),
        other => Some(other.clone()),
    }
}

/// The value of a server placeholder for one scenario's API member.
pub fn credential_value(credentials: &Credentials, name: &str) -> Option<String> {
    match name {
        "site" => Some(credentials.site.clone()),
        "api_url" => Some(credentials.api_url()),
        "company_id" => Some(credentials.company_id.clone()),
        "public_key" => Some(credentials.public_key.clone()),
        "private_key" => Some(credentials.private_key.expose().to_owned()),
        "client_id" => Some(credentials.client_id.clone().unwrap_or_default()),
        "cw_conform" => std::env::current_exe()
            .ok()
            .map(|p| p.display().to_string()),
        _ => None,
    }
}

/// The value of an argument placeholder for one request.
pub fn request_value(request: &ActionRequest, name: &str) -> Option<Value> {
    match name {
        "id" => match request.subject {
            Some(Subject::Id(id)) => Some(Value::from(id)),
            _ => None,
        },
        "query" => match &request.subject {
            Some(Subject::Text(text)) => Some(Value::from(text.clone())),
            _ => None,
        },
        "fields" => (!request.fields.is_empty()).then(|| Value::Object(request.fields.clone())),
        "action" => Some(Value::from(request.action.clone())),
        other => other
            .strip_prefix("fields.")
            .and_then(|field| request.fields.get(field).cloned()),
    }
}

/// The argument template used when an action names no `arguments`: cw-conform's own
/// convention (`mcp-serve`).
pub fn default_arguments() -> Map<String, Value> {
    let mut arguments = Map::new();
    arguments.insert("id".into(), Value::from("{id}"));
    arguments.insert("query".into(), Value::from("{query}"));
    arguments.insert("fields".into(), Value::from("{fields}"));
    arguments
}

/// Every placeholder a JSON template names (in values, nested objects and arrays).
fn template_placeholders(template: &Map<String, Value>) -> Vec<String> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::String(text) => found.extend(placeholders(text).into_iter().map(str::to_owned)),
            Value::Object(map) => map.values().for_each(|v| walk(v, found)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    template.values().for_each(|v| walk(v, &mut found));
    found
}

impl ToolMapping {
    /// What of the request the argument template has no place for, as a message names it
    /// (`the field "status"`, `the record id #1004`, `the search text "Acme"`): sent with
    /// these arguments, the server would never see it.
    pub fn dropped(&self, request: &ActionRequest) -> Vec<String> {
        let named = template_placeholders(&self.arguments);
        let has = |name: &str| named.iter().any(|n| n == name);
        let mut dropped = Vec::new();
        match &request.subject {
            Some(Subject::Id(id)) if !has("id") => dropped.push(format!("the record id #{id}")),
            Some(Subject::Text(text)) if !has("query") => {
                dropped.push(format!("the search text \"{text}\""));
            }
            _ => {}
        }
        if !has("fields") {
            dropped.extend(
                request
                    .fields
                    .keys()
                    .filter(|field| !has(&format!("fields.{field}")))
                    .map(|field| format!("the field \"{field}\"")),
            );
        }
        dropped
    }

    /// The arguments for one request. Everything the request sets must have a place in the
    /// template ([`Self::dropped`]): a field silently left out would judge a request the
    /// scenario never made.
    pub fn arguments_for(
        &self,
        request: &ActionRequest,
        config: &str,
    ) -> Result<Map<String, Value>, IntegrationError> {
        let dropped = self.dropped(request);
        if !dropped.is_empty() {
            return Err(IntegrationError::NoArgument {
                config: config.to_owned(),
                action: request.action.clone(),
                tool: self.tool.clone(),
                what: dropped.join(", "),
            });
        }
        Ok(fill_json(&self.arguments, &|name| {
            request_value(request, name)
        }))
    }
}

impl ServerCommand {
    /// The headers of every request, for one scenario's API member.
    pub fn headers_for(&self, credentials: &Credentials) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|h| (h.name.clone(), h.value_for(credentials)))
            .collect()
    }

    /// What the headers hold that is secret ([`Header::secrets_for`]), for the redactor.
    pub fn header_secrets(&self, credentials: &Credentials) -> Vec<String> {
        self.headers
            .iter()
            .flat_map(|h| h.secrets_for(credentials))
            .collect()
    }

    /// Whether the server is already running at its URL: the harness starts nothing.
    pub fn is_running_already(&self) -> bool {
        matches!(self.transport, Transport::Http { .. }) && self.command.is_empty()
    }

    /// How the server is reached, for the report: `stdio`, or Streamable HTTP and where.
    pub fn transport_shown(&self) -> String {
        match &self.transport {
            Transport::Stdio => "stdio".to_owned(),
            Transport::Http { url } if self.command.is_empty() => {
                format!("Streamable HTTP, already running at {url}")
            }
            Transport::Http { url } => {
                format!("Streamable HTTP at {url}, started by the harness")
            }
        }
    }

    /// The program to start, with `{cw_conform}` filled in.
    pub fn program(&self) -> String {
        fill_text(&self.command, &|name| {
            (name == "cw_conform")
                .then(|| {
                    std::env::current_exe()
                        .ok()
                        .map(|p| p.display().to_string())
                })
                .flatten()
        })
        .unwrap_or_else(|| self.command.clone())
    }

    /// The command line as shown in messages (no secrets: arguments are shown as templates);
    /// the URL of a server already running.
    pub fn shown(&self) -> String {
        if let (Transport::Http { url }, true) = (&self.transport, self.command.is_empty()) {
            return url.clone();
        }
        std::iter::once(self.command.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

struct Loader<'a> {
    path: &'a str,
    text: &'a str,
    /// The harness's environment, for `{env:NAME}`.
    environment: &'a dyn Fn(&str) -> Option<String>,
}

impl Loader<'_> {
    fn error(&self, at: Option<std::ops::Range<usize>>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            line: at.map(|span| line_of(self.text, span.start)),
            message: message.into(),
        }
    }

    fn check_placeholders(
        &self,
        span: std::ops::Range<usize>,
        template: &str,
        allowed: &[&str],
        what: &str,
    ) -> Result<(), ConfigError> {
        for name in placeholders(template) {
            let known = allowed.contains(&name)
                || (allowed.contains(&"fields") && name.starts_with("fields."));
            if !known {
                let expected: Vec<String> = allowed
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .chain(
                        allowed
                            .contains(&"fields")
                            .then(|| "{fields.NAME}".to_owned()),
                    )
                    .collect();
                return Err(self.error(
                    Some(span),
                    format!(
                        "unknown placeholder \"{{{name}}}\" in {what} (expected {})",
                        expected.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_json(
        &self,
        span: &std::ops::Range<usize>,
        value: &Value,
        allowed: &[&str],
        what: &str,
    ) -> Result<(), ConfigError> {
        match value {
            Value::String(text) => self.check_placeholders(span.clone(), text, allowed, what),
            Value::Object(map) => map
                .values()
                .try_for_each(|v| self.check_json(span, v, allowed, what)),
            Value::Array(items) => items
                .iter()
                .try_for_each(|v| self.check_json(span, v, allowed, what)),
            _ => Ok(()),
        }
    }

    fn table(
        &self,
        table: Spanned<toml::Table>,
        allowed: &[&str],
        what: &str,
    ) -> Result<Map<String, Value>, ConfigError> {
        let span = table.span();
        let json = serde_json::to_value(table.into_inner())
            .map_err(|e| self.error(Some(span.clone()), e.to_string()))?;
        let Value::Object(map) = json else {
            return Err(self.error(Some(span), format!("{what} must be a table")));
        };
        self.check_json(&span, &Value::Object(map.clone()), allowed, what)?;
        Ok(map)
    }

    fn timeout(
        &self,
        given: Option<Spanned<i64>>,
        default: Duration,
        what: &str,
    ) -> Result<Duration, ConfigError> {
        let Some(given) = given else {
            return Ok(default);
        };
        let span = given.span();
        let seconds = *given.get_ref();
        u64::try_from(seconds)
            .ok()
            .filter(|s| (1..=600).contains(s))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                self.error(
                    Some(span),
                    format!("{what} {seconds} is out of range (expected 1 to 600 seconds)"),
                )
            })
    }
}

impl Loader<'_> {
    /// `[server.headers]`: each name a header the transport does not set itself, given
    /// once; each value's placeholders known and each `{env:NAME}` set; the value, filled,
    /// a valid header value. A value is never shown: only the template the file writes.
    fn headers(
        &self,
        raw: BTreeMap<Spanned<String>, Spanned<String>>,
        http: bool,
    ) -> Result<Vec<Header>, ConfigError> {
        let mut headers: Vec<Header> = Vec::new();
        for (name, value) in raw {
            let (name_span, name) = (name.span(), name.into_inner());
            let (span, template) = (value.span(), value.into_inner());
            if !http {
                return Err(self.error(
                    Some(name_span),
                    format!(
                        "header {name} in [server.headers] is for a server speaking Streamable HTTP (transport = \"http\"); a server over stdio takes its settings in [server.env]"
                    ),
                ));
            }
            if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(self.error(
                    Some(name_span),
                    format!(
                        "\"{name}\" in [server.headers] is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
                    ),
                ));
            }
            if TRANSPORT_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(self.error(
                    Some(name_span),
                    format!(
                        "header {name} is set by the harness's MCP transport; [server.headers] may not set it"
                    ),
                ));
            }
            if let Some(first) = headers.iter().find(|h| h.name.eq_ignore_ascii_case(&name)) {
                return Err(self.error(
                    Some(name_span),
                    format!(
                        "header {name} is given twice in [server.headers] (as {} too; header names ignore case)",
                        first.name
                    ),
                ));
            }
            let what = format!("the value of header {name}");
            let mut environment = BTreeMap::new();
            for placeholder in placeholders(&template) {
                if let Some(variable) = placeholder.strip_prefix(ENV_PREFIX) {
                    let Some(value) = (self.environment)(variable) else {
                        return Err(self.error(
                            Some(span),
                            format!(
                                "{{{placeholder}}} in {what}: {variable} is not set in the environment of cw-conform (set it where the run starts; the config names it so that the value never sits in the file)"
                            ),
                        ));
                    };
                    environment.insert(variable.to_owned(), Secret::new(value));
                } else if !HEADER_PLACEHOLDERS.contains(&placeholder) {
                    return Err(self.error(
                        Some(span),
                        format!(
                            "unknown placeholder \"{{{placeholder}}}\" in {what} (expected {{env:NAME}}, {})",
                            HEADER_PLACEHOLDERS
                                .iter()
                                .map(|p| format!("{{{p}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            let header = Header {
                name,
                value: template,
                environment,
            };
            // The file's own text first, then what the environment gives it.
            let written = fill_text(&header.value, &|_| Some(String::new()));
            if written.is_some_and(|w| hyper::header::HeaderValue::from_str(&w).is_err()) {
                return Err(self.error(
                    Some(span),
                    format!(
                        "{what}, {:?}, is not a valid header value (a line break or another control character)",
                        header.value
                    ),
                ));
            }
            for (variable, value) in &header.environment {
                if hyper::header::HeaderValue::from_str(value.expose()).is_err() {
                    return Err(self.error(
                        Some(span),
                        format!(
                            "{{{ENV_PREFIX}{variable}}} in {what}: the value of {variable} is not a valid header value (it holds a line break or another control character)"
                        ),
                    ));
                }
            }
            headers.push(header);
        }
        Ok(headers)
    }
}

/// Whether a header by this name carries a credential whatever its value is made of.
fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "secret", "cookie", "password"]
        .iter()
        .any(|word| name.contains(word))
}

impl Header {
    /// Its value for one scenario's API member.
    pub fn value_for(&self, credentials: &Credentials) -> String {
        fill_text(&self.value, &|name| match name.strip_prefix(ENV_PREFIX) {
            Some(variable) => self
                .environment
                .get(variable)
                .map(|v| v.expose().to_owned()),
            None => credential_value(credentials, name),
        })
        .unwrap_or_default()
    }

    /// What of its value for this member is secret: every `{env:NAME}` value, and the
    /// whole value when it holds one of them or the member's keys, or the header is a
    /// credential by its name.
    pub fn secrets_for(&self, credentials: &Credentials) -> Vec<String> {
        let named = placeholders(&self.value);
        let holds_key = named
            .iter()
            .any(|p| ["public_key", "private_key"].contains(p));
        let mut secrets: Vec<String> = self
            .environment
            .values()
            .map(|v| v.expose().to_owned())
            .collect();
        if !secrets.is_empty() || holds_key || is_credential_header(&self.name) {
            secrets.push(self.value_for(credentials));
        }
        secrets
    }
}

fn non_empty(value: &Spanned<String>) -> bool {
    !value.get_ref().trim().is_empty()
}

impl IntegrationConfig {
    /// Loads and validates a config file against the action catalog.
    pub fn load(path: &Path, catalog: &ActionCatalog) -> Result<IntegrationConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&shown, &text, &base, catalog)
    }

    /// Parses and validates a config; relative command paths are taken from `base`, and
    /// `{env:NAME}` from the harness's environment.
    pub fn parse(
        path: &str,
        text: &str,
        base: &Path,
        catalog: &ActionCatalog,
    ) -> Result<IntegrationConfig, ConfigError> {
        Self::parse_in(path, text, base, catalog, &|name| std::env::var(name).ok())
    }

    /// [`Self::parse`], with `{env:NAME}` taken from `environment`.
    pub fn parse_in(
        path: &str,
        text: &str,
        base: &Path,
        catalog: &ActionCatalog,
        environment: &dyn Fn(&str) -> Option<String>,
    ) -> Result<IntegrationConfig, ConfigError> {
        let loader = Loader {
            path,
            text,
            environment,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            line: e.span().map(|span| line_of(text, span.start)),
            message: e.message().trim().to_owned(),
        })?;
        let server = Self::server(&loader, raw.server, base)?;
        let confirmation = match raw.confirmation {
            Some(confirmation) => Some(Self::confirmation(&loader, confirmation)?),
            None => None,
        };
        let mut tools = BTreeMap::new();
        for (action, tool) in raw.actions {
            let span = action.span();
            let action = action.into_inner();
            if catalog.get(&action).is_none() {
                return Err(loader.error(
                    Some(span),
                    format!(
                        "unknown action \"{action}\" (expected an action name as `cw-conform actions` lists them, such as ticket.create)"
                    ),
                ));
            }
            if !non_empty(&tool.tool) {
                return Err(loader.error(
                    Some(tool.tool.span()),
                    format!("the tool of \"{action}\" is empty"),
                ));
            }
            let arguments = match tool.arguments {
                Some(table) => loader.table(
                    table,
                    &ARGUMENT_PLACEHOLDERS,
                    &format!("the arguments of \"{action}\""),
                )?,
                None => default_arguments(),
            };
            tools.insert(
                action,
                ToolMapping {
                    tool: tool.tool.into_inner(),
                    arguments,
                },
            );
        }
        if tools.is_empty() {
            return Err(loader.error(
                None,
                "no action is mapped to a tool (add an [actions] table, e.g. \"ticket.get\" = { tool = \"get_ticket\" })",
            ));
        }
        let name = raw.name.unwrap_or_else(|| server.shown());
        Ok(IntegrationConfig {
            path: path.to_owned(),
            name,
            server,
            confirmation,
            tools,
        })
    }

    fn server(
        loader: &Loader<'_>,
        raw: RawServer,
        base: &Path,
    ) -> Result<ServerCommand, ConfigError> {
        let http = Self::http(loader, &raw)?;
        let headers = loader.headers(raw.headers, http.is_some())?;
        let Some(raw_command) = raw.command else {
            if http.is_none() {
                return Err(loader.error(
                    None,
                    "[server] needs command = \"…\" (the program that serves MCP over stdio), or transport = \"http\" with url = \"…\" (a server speaking Streamable HTTP)",
                ));
            }
            return Self::running_server(loader, &raw.args, &raw.env, &raw.pass_env)
                .map(|()| ServerCommand {
                    transport: http.map_or(Transport::Stdio, |(url, _)| Transport::Http { url }),
                    command: String::new(),
                    args: Vec::new(),
                    env: Vec::new(),
                    pass_env: Vec::new(),
                    headers,
                    startup_timeout: DEFAULT_STARTUP_TIMEOUT,
                    call_timeout: DEFAULT_CALL_TIMEOUT,
                    elicitation: true,
                    protocol_version: DEFAULT_PROTOCOL_VERSION.to_owned(),
                })
                .and_then(|running| {
                    Self::bounds(
                        loader,
                        running,
                        raw.startup_timeout_seconds,
                        raw.call_timeout_seconds,
                        raw.elicitation,
                        raw.protocol_version,
                    )
                });
        };
        if !non_empty(&raw_command) {
            return Err(loader.error(Some(raw_command.span()), "the server command is empty"));
        }
        loader.check_placeholders(
            raw_command.span(),
            raw_command.get_ref(),
            &["cw_conform"],
            "the server command",
        )?;
        let command_span = raw_command.span();
        let command = raw_command.into_inner();
        // A relative path is taken from the config's folder; a bare name is found on PATH.
        let command = if command.contains('/')
            && Path::new(&command).is_relative()
            && placeholders(&command).is_empty()
        {
            base.join(&command).display().to_string()
        } else {
            command
        };
        // A server the harness starts on HTTP learns its port from `{port}`.
        let allowed: Vec<&str> = SERVER_PLACEHOLDERS
            .iter()
            .copied()
            .chain(http.is_some().then_some(PORT_PLACEHOLDER))
            .collect();
        let mut port_given = false;
        let mut args = Vec::new();
        for arg in raw.args {
            loader.check_placeholders(
                arg.span(),
                arg.get_ref(),
                &allowed,
                "the server arguments",
            )?;
            port_given |= placeholders(arg.get_ref()).contains(&PORT_PLACEHOLDER);
            args.push(arg.into_inner());
        }
        let mut env = Vec::new();
        for (key, value) in raw.env {
            let name = key.get_ref();
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(loader.error(
                    Some(key.span()),
                    format!("\"{name}\" is not an environment variable name"),
                ));
            }
            if name == MARKER_VARIABLE {
                return Err(loader.error(
                    Some(key.span()),
                    format!(
                        "{MARKER_VARIABLE} is set by the harness to find the server's processes"
                    ),
                ));
            }
            loader.check_placeholders(
                value.span(),
                value.get_ref(),
                &allowed,
                &format!("the value of {name}"),
            )?;
            port_given |= placeholders(value.get_ref()).contains(&PORT_PLACEHOLDER);
            env.push((key.into_inner(), value.into_inner()));
        }
        if let Some((url, _)) = &http
            && !port_given
        {
            return Err(loader.error(
                Some(command_span),
                format!(
                    "the harness starts this server and chooses its port, but neither its args nor [server.env] pass \"{{port}}\" on to it (for example args = [\"--port\", \"{{port}}\"], to match url = \"{url}\")"
                ),
            ));
        }
        let pass_env = Self::pass_env(loader, raw.pass_env, &env)?;
        let started = ServerCommand {
            transport: http.map_or(Transport::Stdio, |(url, _)| Transport::Http { url }),
            command,
            args,
            env,
            pass_env,
            headers,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            elicitation: true,
            protocol_version: DEFAULT_PROTOCOL_VERSION.to_owned(),
        };
        Self::bounds(
            loader,
            started,
            raw.startup_timeout_seconds,
            raw.call_timeout_seconds,
            raw.elicitation,
            raw.protocol_version,
        )
    }

    /// The timeouts, elicitation and protocol revision of a server, given or defaulted.
    fn bounds(
        loader: &Loader<'_>,
        server: ServerCommand,
        startup_timeout: Option<Spanned<i64>>,
        call_timeout: Option<Spanned<i64>>,
        elicitation: Option<bool>,
        protocol_version: Option<Spanned<String>>,
    ) -> Result<ServerCommand, ConfigError> {
        let protocol_version = match protocol_version {
            Some(version) if !PROTOCOL_VERSIONS.contains(&version.get_ref().as_str()) => {
                return Err(loader.error(
                    Some(version.span()),
                    format!(
                        "unsupported protocol_version \"{}\" (expected one of {}: the harness answers elicitation/create, which later revisions replaced)",
                        version.get_ref(),
                        PROTOCOL_VERSIONS.join(", ")
                    ),
                ));
            }
            Some(version) => version.into_inner(),
            None => DEFAULT_PROTOCOL_VERSION.to_owned(),
        };
        Ok(ServerCommand {
            startup_timeout: loader.timeout(
                startup_timeout,
                DEFAULT_STARTUP_TIMEOUT,
                "startup_timeout_seconds",
            )?,
            call_timeout: loader.timeout(
                call_timeout,
                DEFAULT_CALL_TIMEOUT,
                "call_timeout_seconds",
            )?,
            elicitation: elicitation.unwrap_or(true),
            protocol_version,
            ..server
        })
    }

    /// `transport` and `url`: `None` for stdio, else the URL (a template with `{port}`
    /// when the harness starts the server) and its span.
    fn http(
        loader: &Loader<'_>,
        raw: &RawServer,
    ) -> Result<Option<(String, std::ops::Range<usize>)>, ConfigError> {
        let is_http = match &raw.transport {
            None => false,
            Some(transport) => match transport.get_ref().as_str() {
                "stdio" => false,
                "http" => true,
                other => {
                    return Err(loader.error(
                        Some(transport.span()),
                        format!(
                            "unknown transport \"{other}\" (expected \"stdio\", the default, or \"http\" for Streamable HTTP)"
                        ),
                    ));
                }
            },
        };
        let Some(url) = &raw.url else {
            return if is_http {
                Err(loader.error(
                    raw.transport.as_ref().map(Spanned::span),
                    if raw.command.is_some() {
                        "transport = \"http\" needs url = \"http://127.0.0.1:{port}/mcp\": where the server the harness starts answers MCP ({port} is the port the harness chooses)"
                    } else {
                        "transport = \"http\" needs url = \"…\": either with command (the harness starts the server; url = \"http://127.0.0.1:{port}/mcp\"), or alone (the server is already running there)"
                    },
                ))
            } else {
                Ok(None)
            };
        };
        if !is_http {
            return Err(loader.error(
                Some(url.span()),
                format!(
                    "url = \"{}\" is for a server speaking Streamable HTTP: add transport = \"http\" (over stdio the harness starts the command and needs no URL)",
                    url.get_ref()
                ),
            ));
        }
        let text = url.get_ref();
        let starts = raw.command.is_some();
        let has_port = placeholders(text).contains(&PORT_PLACEHOLDER);
        if !starts && has_port {
            return Err(loader.error(
                Some(url.span()),
                format!(
                    "url = \"{text}\" has {{port}}, but no command: the harness chooses the port only of a server it starts (a server already running takes its own URL)"
                ),
            ));
        }
        loader.check_placeholders(url.span(), text, &[PORT_PLACEHOLDER], "url")?;
        if starts && !has_port {
            return Err(loader.error(
                Some(url.span()),
                format!(
                    "url = \"{text}\" has no {{port}}: the harness starts this server on a port it chooses (for example url = \"http://127.0.0.1:{{port}}/mcp\")"
                ),
            ));
        }
        let parsed = fill_text(text, &|name| {
            (name == PORT_PLACEHOLDER).then(|| "1".to_owned())
        })
        .and_then(|filled| url::Url::parse(&filled).ok());
        let Some(parsed) = parsed.filter(|u| u.host_str().is_some_and(|h| !h.is_empty())) else {
            return Err(loader.error(
                Some(url.span()),
                format!(
                    "url = \"{text}\" is not a URL (expected http://HOST:PORT/PATH or https://…)"
                ),
            ));
        };
        if !["http", "https"].contains(&parsed.scheme()) {
            return Err(loader.error(
                Some(url.span()),
                format!(
                    "url = \"{text}\" is not http(s) (Streamable HTTP is served at an http:// or https:// URL)"
                ),
            ));
        }
        let loopback = parsed.host_str().is_some_and(|host| {
            host == "localhost"
                || host
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        if starts && !loopback {
            return Err(loader.error(
                Some(url.span()),
                format!(
                    "url = \"{text}\" is not on this machine: the harness starts this server here, so its URL is on 127.0.0.1 (or localhost); a server running elsewhere takes url alone, without command"
                ),
            ));
        }
        Ok(Some((text.clone(), url.span())))
    }

    /// A server already running takes nothing the harness would start it with.
    fn running_server(
        loader: &Loader<'_>,
        args: &[Spanned<String>],
        env: &BTreeMap<Spanned<String>, Spanned<String>>,
        pass_env: &[Spanned<String>],
    ) -> Result<(), ConfigError> {
        let given = args
            .first()
            .map(|a| ("args", a.span()))
            .or_else(|| env.keys().next().map(|k| ("[server.env]", k.span())))
            .or_else(|| pass_env.first().map(|p| ("pass_env", p.span())));
        match given {
            Some((what, span)) => Err(loader.error(
                Some(span),
                format!(
                    "{what} is for a server the harness starts, but this one has no command: it is already running at its url (configure it yourself with the mock ConnectWise `cw-conform run` prints)"
                ),
            )),
            None => Ok(()),
        }
    }

    /// The names of `pass_env`: variable names, each once, none of the harness's
    /// `CONNECTWISE_*` settings, none `[server.env]` sets.
    fn pass_env(
        loader: &Loader<'_>,
        raw: Vec<Spanned<String>>,
        env: &[(String, String)],
    ) -> Result<Vec<String>, ConfigError> {
        let mut names: Vec<String> = Vec::new();
        for name in raw {
            let span = name.span();
            let name = name.into_inner();
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let problem = if !valid {
                Some(format!(
                    "\"{name}\" in pass_env is not an environment variable name (expected letters, digits and _)"
                ))
            } else if name.to_ascii_uppercase().starts_with("CONNECTWISE_") {
                Some(format!(
                    "pass_env names {name}: the harness's own ConnectWise settings are never passed on (set the server's under [server.env] with placeholders such as \"{{private_key}}\")"
                ))
            } else if name == MARKER_VARIABLE {
                Some(format!(
                    "pass_env names {MARKER_VARIABLE}, which the harness sets to find the server's processes"
                ))
            } else if env.iter().any(|(key, _)| *key == name) {
                Some(format!(
                    "pass_env names {name}, which [server.env] sets already"
                ))
            } else if names.contains(&name) {
                Some(format!("pass_env names {name} twice"))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(loader.error(Some(span), problem));
            }
            names.push(name);
        }
        Ok(names)
    }

    fn confirmation(
        loader: &Loader<'_>,
        raw: RawConfirmation,
    ) -> Result<ConfirmationStyle, ConfigError> {
        match (raw.tool, raw.argument) {
            (Some(tool), None) => {
                if raw.pattern.is_some() {
                    return Err(loader.error(
                        raw.pattern.map(|p| p.span()),
                        "pattern belongs to the argument style of [confirmation], not to tool",
                    ));
                }
                if !non_empty(&tool) {
                    return Err(loader.error(Some(tool.span()), "the confirmation tool is empty"));
                }
                let Some(token) = raw.token else {
                    return Err(loader.error(
                        Some(tool.span()),
                        "a confirmation tool needs token = \"/json/pointer\" to the token in the held result",
                    ));
                };
                if !token.get_ref().starts_with('/') {
                    return Err(loader.error(
                        Some(token.span()),
                        format!(
                            "token \"{}\" is not a JSON pointer (expected e.g. \"/confirmation/token\")",
                            token.get_ref()
                        ),
                    ));
                }
                let arguments = if let Some(table) = raw.arguments {
                    loader.table(
                        table,
                        &CONFIRMATION_PLACEHOLDERS,
                        "the arguments of the confirmation tool",
                    )?
                } else {
                    let mut arguments = Map::new();
                    arguments.insert("token".into(), Value::from("{token}"));
                    arguments.insert("accept".into(), Value::from("{accept}"));
                    arguments
                };
                Ok(ConfirmationStyle::Tool {
                    tool: tool.into_inner(),
                    arguments,
                    token: token.into_inner(),
                })
            }
            (None, Some(argument)) => {
                if let Some(extra) = raw.token.map(|t| t.span()).or(raw.arguments.map(|a| a.span())) {
                    return Err(loader.error(
                        Some(extra),
                        "token and arguments belong to the tool style of [confirmation], not to argument",
                    ));
                }
                if !non_empty(&argument) {
                    return Err(loader.error(
                        Some(argument.span()),
                        "the confirmation argument is empty",
                    ));
                }
                let pattern = raw
                    .pattern
                    .map_or_else(|| "confirm".to_owned(), Spanned::into_inner);
                Ok(ConfirmationStyle::Argument {
                    argument: argument.into_inner(),
                    pattern: pattern.to_lowercase(),
                })
            }
            (Some(tool), Some(_)) => Err(loader.error(
                Some(tool.span()),
                "[confirmation] takes either tool (a confirmation tool) or argument (a confirmation argument), not both",
            )),
            (None, None) => Err(loader.error(
                None,
                "[confirmation] needs tool = \"…\" (a confirmation tool) or argument = \"…\" (a confirmation argument)",
            )),
        }
    }

    /// The tool that performs an action, if the integration offers it.
    pub fn tool_for(&self, action: &str) -> Option<&ToolMapping> {
        self.tools.get(action)
    }

    /// The catalog's actions no tool performs: not offered by this integration.
    pub fn not_offered<'a>(&self, catalog: &'a ActionCatalog) -> Vec<&'a Action> {
        catalog
            .iter()
            .filter(|a| !self.tools.contains_key(&a.name))
            .collect()
    }

    /// Every mapped action with its tool, by action name.
    pub fn mappings(&self) -> impl Iterator<Item = (&String, &ToolMapping)> {
        self.tools.iter()
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::connectwise::Secret;
    use crate::fixtures::Fixtures;

    fn parse(text: &str) -> Result<IntegrationConfig, ConfigError> {
        let fixtures = Fixtures::builtin().unwrap();
        IntegrationConfig::parse("acme.toml", text, Path::new("/etc/acme"), &fixtures.actions)
    }

    const MINIMAL: &str =
        "[server]\ncommand = \"acme-mcp\"\n[actions]\n\"ticket.get\" = { tool = \"get_ticket\" }\n";

    /// "An unknown status is rejected" was once judged allowed: the config had no place
    /// for the status, so it was never sent. A field with no place is an error naming it.
    #[test]
    fn a_field_the_arguments_have_no_place_for_is_an_error_naming_it() {
        let config = parse(
            "[server]\ncommand = \"acme-mcp\"\n[actions]\n\"ticket.update\" = { tool = \"update_ticket\", arguments = { ticketId = \"{id}\", summary = \"{fields.summary}\" } }\n",
        )
        .unwrap();
        let mapping = config.tool_for("ticket.update").unwrap();
        let mut request = ActionRequest {
            action: "ticket.update".into(),
            subject: Some(Subject::Id(1004)),
            fields: Map::new(),
        };
        request.fields.insert("summary".into(), json!("Printer"));
        assert_eq!(
            mapping.arguments_for(&request, "acme.toml").unwrap(),
            json!({"ticketId": 1004, "summary": "Printer"})
                .as_object()
                .unwrap()
                .clone()
        );
        request.fields.insert("status".into(), json!("Bogus"));
        let error = mapping.arguments_for(&request, "acme.toml").unwrap_err();
        assert_eq!(
            error.to_string(),
            "acme.toml: the arguments of ticket.update (tool \"update_ticket\") have no place for the field \"status\" the scenario sets; add it to the action's `arguments` (for example \"{fields}\" or \"{fields.NAME}\")"
        );
        request.subject = Some(Subject::Text("Acme".into()));
        let error = mapping.arguments_for(&request, "acme.toml").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no place for the search text \"Acme\", the field \"status\""),
            "{error}"
        );
    }

    #[test]
    fn the_shipped_configs_load_and_map_every_action() {
        let fixtures = Fixtures::builtin().unwrap();
        for file in [
            "cw-conform-mcp-serve.toml",
            "cw-conform-mcp-serve-confirm-tool.toml",
            "cw-conform-mcp-serve-http.toml",
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/mcp")
                .join(file);
            let config =
                IntegrationConfig::load(&path, &fixtures.actions).unwrap_or_else(|e| panic!("{e}"));
            assert!(config.not_offered(&fixtures.actions).is_empty(), "{file}");
            assert_eq!(
                config.tool_for("ticket.note.detail").unwrap().tool,
                "ticket_note_detail"
            );
        }
    }

    #[test]
    fn defaults_fill_what_a_minimal_config_leaves_out() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.name, "acme-mcp");
        assert_eq!(config.server.call_timeout, DEFAULT_CALL_TIMEOUT);
        assert_eq!(config.server.startup_timeout, DEFAULT_STARTUP_TIMEOUT);
        assert!(config.server.elicitation);
        assert_eq!(config.server.protocol_version, DEFAULT_PROTOCOL_VERSION);
        assert_eq!(
            config.tool_for("ticket.get").unwrap().arguments,
            default_arguments()
        );
        assert!(config.tool_for("ticket.create").is_none());
        assert!(config.server.pass_env.is_empty());
        let passing = parse(&MINIMAL.replace(
            "command = \"acme-mcp\"",
            "command = \"acme-mcp\"\npass_env = [\"VIRTUAL_ENV\", \"HTTPS_PROXY\"]",
        ))
        .unwrap();
        assert_eq!(passing.server.pass_env, ["VIRTUAL_ENV", "HTTPS_PROXY"]);
    }

    #[test]
    fn a_relative_command_path_is_taken_from_the_config_folder() {
        let config = parse(&MINIMAL.replace("acme-mcp", "./bin/acme-mcp")).unwrap();
        assert_eq!(config.server.command, "/etc/acme/./bin/acme-mcp");
        let on_path = parse(MINIMAL).unwrap();
        assert_eq!(on_path.server.command, "acme-mcp");
    }

    #[rstest]
    #[case::unknown_action(
        "[server]\ncommand = \"x\"\n[actions]\n\"ticket.craete\" = { tool = \"t\" }\n",
        4,
        "unknown action \"ticket.craete\""
    )]
    #[case::unknown_argument_placeholder(
        "[server]\ncommand = \"x\"\n[actions]\n\"ticket.get\" = { tool = \"t\", arguments = { ticket = \"{ticket_id}\" } }\n",
        4,
        "unknown placeholder \"{ticket_id}\" in the arguments of \"ticket.get\" (expected {id}, {query}, {fields}, {action}, {fields.NAME})"
    )]
    #[case::unknown_env_placeholder(
        "[server]\ncommand = \"x\"\n[server.env]\nCW_KEY = \"{secret}\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        4,
        "unknown placeholder \"{secret}\" in the value of CW_KEY"
    )]
    #[case::pass_env_not_a_name(
        "[server]\ncommand = \"x\"\npass_env = [\n  \"HTTPS_PROXY\",\n  \"NODE OPTIONS\",\n]\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        5,
        "\"NODE OPTIONS\" in pass_env is not an environment variable name"
    )]
    #[case::pass_env_of_the_harness_keys(
        "[server]\ncommand = \"x\"\npass_env = [\"CONNECTWISE_PRIVATE_KEY\"]\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "pass_env names CONNECTWISE_PRIVATE_KEY: the harness's own ConnectWise settings are never passed on"
    )]
    #[case::pass_env_of_a_set_variable(
        "[server]\ncommand = \"x\"\npass_env = [\"CW_KEY\"]\n[server.env]\nCW_KEY = \"{private_key}\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "pass_env names CW_KEY, which [server.env] sets already"
    )]
    #[case::pass_env_twice(
        "[server]\ncommand = \"x\"\npass_env = [\"VIRTUAL_ENV\", \"VIRTUAL_ENV\"]\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "pass_env names VIRTUAL_ENV twice"
    )]
    #[case::the_marker_set(
        "[server]\ncommand = \"x\"\n[server.env]\nCW_CONFORM_SERVER = \"1\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        4,
        "CW_CONFORM_SERVER is set by the harness"
    )]
    #[case::timeout_out_of_range(
        "[server]\ncommand = \"x\"\ncall_timeout_seconds = 0\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "call_timeout_seconds 0 is out of range (expected 1 to 600 seconds)"
    )]
    #[case::unknown_key(
        "[server]\ncommand = \"x\"\ncomand = \"y\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "unknown field `comand`"
    )]
    #[case::protocol_without_elicitation(
        "[server]\ncommand = \"x\"\nprotocol_version = \"2026-07-28\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "unsupported protocol_version \"2026-07-28\""
    )]
    #[case::both_confirmation_styles(
        "[server]\ncommand = \"x\"\n[confirmation]\ntool = \"confirm\"\nargument = \"confirm\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        4,
        "[confirmation] takes either tool"
    )]
    #[case::token_not_a_pointer(
        "[server]\ncommand = \"x\"\n[confirmation]\ntool = \"confirm\"\ntoken = \"confirmation.token\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        5,
        "token \"confirmation.token\" is not a JSON pointer"
    )]
    #[case::transport_unknown(
        "[server]\ntransport = \"websocket\"\ncommand = \"x\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        2,
        "unknown transport \"websocket\" (expected \"stdio\", the default, or \"http\""
    )]
    #[case::http_without_url_or_command(
        "[server]\ntransport = \"http\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        2,
        "transport = \"http\" needs url = \"…\": either with command"
    )]
    #[case::http_command_without_url(
        "[server]\ntransport = \"http\"\ncommand = \"x\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        2,
        "transport = \"http\" needs url = \"http://127.0.0.1:{port}/mcp\""
    )]
    #[case::url_not_http(
        "[server]\ntransport = \"http\"\nurl = \"ftp://mcp.acme.example/mcp\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "url = \"ftp://mcp.acme.example/mcp\" is not http(s)"
    )]
    #[case::url_not_a_url(
        "[server]\ntransport = \"http\"\nurl = \"mcp.acme.example\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "url = \"mcp.acme.example\" is not a URL"
    )]
    #[case::url_without_transport(
        "[server]\ncommand = \"x\"\nurl = \"http://127.0.0.1:{port}/mcp\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "is for a server speaking Streamable HTTP: add transport = \"http\""
    )]
    #[case::started_url_without_port(
        "[server]\ntransport = \"http\"\ncommand = \"x\"\nargs = [\"--port\", \"{port}\"]\nurl = \"http://127.0.0.1:8000/mcp\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        5,
        "url = \"http://127.0.0.1:8000/mcp\" has no {port}"
    )]
    #[case::started_port_not_passed_on(
        "[server]\ntransport = \"http\"\ncommand = \"acme-mcp\"\nargs = [\"serve\"]\nurl = \"http://127.0.0.1:{port}/mcp\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "neither its args nor [server.env] pass \"{port}\" on to it"
    )]
    #[case::started_elsewhere(
        "[server]\ntransport = \"http\"\ncommand = \"x\"\nargs = [\"{port}\"]\nurl = \"http://mcp.acme.example:{port}/mcp\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        5,
        "is not on this machine"
    )]
    #[case::running_with_port(
        "[server]\ntransport = \"http\"\nurl = \"http://127.0.0.1:{port}/mcp\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "has {port}, but no command"
    )]
    #[case::running_with_env(
        "[server]\ntransport = \"http\"\nurl = \"https://mcp.acme.example/mcp\"\n[server.env]\nCW_KEY = \"{private_key}\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        5,
        "[server.env] is for a server the harness starts, but this one has no command"
    )]
    #[case::port_over_stdio(
        "[server]\ncommand = \"x\"\nargs = [\"--port\", \"{port}\"]\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        3,
        "unknown placeholder \"{port}\" in the server arguments"
    )]
    #[case::other_url_placeholder(
        "[server]\ntransport = \"http\"\ncommand = \"x\"\nargs = [\"{port}\"]\nurl = \"http://127.0.0.1:{port}/{site}\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        5,
        "unknown placeholder \"{site}\" in url (expected {port})"
    )]
    fn an_invalid_config_names_the_file_the_line_and_the_value(
        #[case] text: &str,
        #[case] line: usize,
        #[case] message: &str,
    ) {
        let error = parse(text).unwrap_err();
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!(
                "failed to load integration config acme.toml: line {line}: "
            )),
            "{shown}"
        );
        assert!(shown.contains(message), "{shown}");
    }

    #[test]
    fn a_server_without_command_or_url_is_refused_saying_what_each_form_needs() {
        let error = parse("[actions]\n\"ticket.get\" = { tool = \"t\" }\n[server]\nname = 1\n")
            .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `name`"),
            "{error}"
        );
        let error = parse(
            "[server]\ncall_timeout_seconds = 5\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        )
        .unwrap_err();
        let shown = error.to_string();
        assert!(shown.contains("[server] needs command = \"…\""), "{shown}");
        assert!(shown.contains("transport = \"http\" with url"), "{shown}");
    }

    #[test]
    fn the_two_http_forms_load_with_their_url_and_say_how_they_are_reached() {
        let started = parse(
            "[server]\ntransport = \"http\"\ncommand = \"acme-mcp\"\nurl = \"http://localhost:{port}/mcp\"\ncall_timeout_seconds = 7\n[server.env]\nPORT = \"{port}\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        )
        .unwrap();
        assert_eq!(
            started.server.transport,
            Transport::Http {
                url: "http://localhost:{port}/mcp".into()
            }
        );
        assert!(!started.server.is_running_already());
        assert_eq!(started.server.call_timeout, Duration::from_secs(7));
        assert_eq!(
            started.server.env,
            [("PORT".to_owned(), "{port}".to_owned())]
        );
        assert_eq!(
            started.server.transport_shown(),
            "Streamable HTTP at http://localhost:{port}/mcp, started by the harness"
        );
        let running = parse(
            "name = \"Acme hosted\"\n[server]\ntransport = \"http\"\nurl = \"https://mcp.acme.example/mcp\"\ncall_timeout_seconds = 9\nelicitation = false\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        )
        .unwrap();
        assert!(running.server.is_running_already());
        assert!(running.server.command.is_empty());
        assert_eq!(running.server.call_timeout, Duration::from_secs(9));
        assert!(!running.server.elicitation);
        assert_eq!(running.server.shown(), "https://mcp.acme.example/mcp");
        assert_eq!(
            running.server.transport_shown(),
            "Streamable HTTP, already running at https://mcp.acme.example/mcp"
        );
        let stdio = parse(MINIMAL).unwrap();
        assert_eq!(stdio.server.transport, Transport::Stdio);
        assert_eq!(stdio.server.transport_shown(), "stdio");
    }

    /// A hosted server's config with these `[server.headers]` lines.
    fn hosted(headers: &str) -> String {
        format!(
            "[server]\ntransport = \"http\"\nurl = \"https://mcp.acme.example/mcp\"\n[server.headers]\n{headers}\n[actions]\n\"ticket.get\" = {{ tool = \"t\" }}\n"
        )
    }

    fn parse_with_token(text: &str) -> Result<IntegrationConfig, ConfigError> {
        let fixtures = Fixtures::builtin().unwrap();
        IntegrationConfig::parse_in(
            "acme.toml",
            text,
            Path::new("/etc/acme"),
            &fixtures.actions,
            &|name| match name {
                "ACME_TOKEN" => Some("tok-9f2c41".to_owned()),
                "BROKEN" => Some("line\nbreak".to_owned()),
                _ => None,
            },
        )
    }

    #[test]
    fn headers_take_the_token_from_the_environment_and_the_members_settings() {
        let config = parse_with_token(&hosted(
            "Authorization = \"Bearer {env:ACME_TOKEN}\"\nX-CW-Company = \"{company_id}\"\nX-CW-Key = \"{private_key}\"\nX-Client = \"cw-conform\"",
        ))
        .unwrap();
        let credentials = Credentials {
            site: "http://127.0.0.1:9".into(),
            company_id: "northwind".into(),
            public_key: "pub".into(),
            private_key: Secret::new("priv-7d1e"),
            client_id: None,
        };
        assert_eq!(
            config.server.headers_for(&credentials),
            [
                ("Authorization".to_owned(), "Bearer tok-9f2c41".to_owned()),
                ("X-CW-Company".to_owned(), "northwind".to_owned()),
                ("X-CW-Key".to_owned(), "priv-7d1e".to_owned()),
                ("X-Client".to_owned(), "cw-conform".to_owned()),
            ]
        );
        // The token and the credential headers are secrets; the company and a literal are not.
        assert_eq!(
            config.server.header_secrets(&credentials),
            ["tok-9f2c41", "Bearer tok-9f2c41", "priv-7d1e"]
        );
        // The config itself never shows the token.
        assert!(!format!("{config:?}").contains("tok-9f2c41"));
    }

    #[rstest]
    #[case::on_stdio(
        "[server]\ncommand = \"x\"\n[server.headers]\nAuthorization = \"Bearer {env:ACME_TOKEN}\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        4,
        "header Authorization in [server.headers] is for a server speaking Streamable HTTP"
    )]
    #[case::not_a_header_name(&hosted("\"X Token\" = \"{env:ACME_TOKEN}\""), 5, "\"X Token\" in [server.headers] is not an HTTP header name")]
    #[case::set_by_the_transport(&hosted("Accept = \"text/plain\""), 5, "header Accept is set by the harness's MCP transport")]
    #[case::given_twice(&hosted("Authorization = \"Bearer {env:ACME_TOKEN}\"\nauthorization = \"x\""), 6, "header authorization is given twice in [server.headers] (as Authorization too")]
    #[case::variable_unset(&hosted("Authorization = \"Bearer {env:ACME_TOKN}\""), 5, "{env:ACME_TOKN} in the value of header Authorization: ACME_TOKN is not set in the environment of cw-conform")]
    #[case::unknown_placeholder(&hosted("X-Port = \"{port}\""), 5, "unknown placeholder \"{port}\" in the value of header X-Port (expected {env:NAME}, {site}")]
    #[case::invalid_written_value(&hosted("X-Note = \"ring\\u0007\""), 5, "the value of header X-Note, \"ring\\u{7}\", is not a valid header value")]
    #[case::invalid_variable_value(&hosted("X-Key = \"{env:BROKEN}\""), 5, "{env:BROKEN} in the value of header X-Key: the value of BROKEN is not a valid header value")]
    #[case::env_outside_headers(
        "[server]\ncommand = \"x\"\n[server.env]\nKEY = \"{env:ACME_TOKEN}\"\n[actions]\n\"ticket.get\" = { tool = \"t\" }\n",
        4,
        "unknown placeholder \"{env:ACME_TOKEN}\" in the value of KEY"
    )]
    fn an_invalid_header_names_the_file_the_line_and_the_value_but_never_a_secret(
        #[case] text: &str,
        #[case] line: usize,
        #[case] message: &str,
    ) {
        let shown = parse_with_token(text).unwrap_err().to_string();
        assert!(
            shown.starts_with(&format!(
                "failed to load integration config acme.toml: line {line}: "
            )),
            "{shown}"
        );
        assert!(shown.contains(message), "{shown}");
        assert!(
            !shown.contains("tok-9f2c41") && !shown.contains("line\nbreak"),
            "{shown}"
        );
    }

    #[test]
    fn a_config_that_maps_nothing_is_refused() {
        let error = parse("[server]\ncommand = \"x\"\n").unwrap_err();
        assert!(
            error.to_string().contains("no action is mapped to a tool"),
            "{error}"
        );
    }

    #[test]
    fn arguments_take_the_request_values_with_their_types_and_leave_out_what_is_missing() {
        let template = json!({
            "ticketId": "{id}",
            "search": "{query}",
            "ticket": "{fields}",
            "summary": "{fields.summary}",
            "note": "Asked by the AI: {fields.summary}",
            "label": "{action} on #{id}",
            "options": {"dryRun": false, "tags": ["ai", "{fields.tag}"]}
        });
        let Value::Object(template) = template else {
            unreachable!()
        };
        let mut fields = Map::new();
        fields.insert("summary".into(), json!("Printer jammed"));
        let request = ActionRequest {
            action: "ticket.update".into(),
            subject: Some(Subject::Id(1001)),
            fields,
        };
        let filled = fill_json(&template, &|name| request_value(&request, name));
        assert_eq!(
            Value::Object(filled),
            json!({
                "ticketId": 1001,
                "ticket": {"summary": "Printer jammed"},
                "summary": "Printer jammed",
                "note": "Asked by the AI: Printer jammed",
                "label": "ticket.update on #1001",
                "options": {"dryRun": false, "tags": ["ai"]}
            })
        );
    }

    #[test]
    fn the_environment_is_filled_with_the_scenarios_member_and_site() {
        let credentials = Credentials {
            site: "http://127.0.0.1:9".into(),
            company_id: "northwind".into(),
            public_key: "pub".into(),
            private_key: Secret::new("priv"),
            client_id: None,
        };
        let value = |name: &str| credential_value(&credentials, name);
        assert_eq!(
            fill_text(
                "{api_url}|{company_id}+{public_key}:{private_key}|{client_id}|{ literal }",
                &value
            ),
            Some("http://127.0.0.1:9/v4_6_release/apis/3.0|northwind+pub:priv||{ literal }".into())
        );
        assert_eq!(
            placeholders("{site} and {nope} but not { x }"),
            vec!["site", "nope"]
        );
    }
}
