//! `cw-conform mcp-probe -- COMMAND [ARGS…]`: starts an MCP server, lists its tools with
//! their input schemas and annotations, and writes a starting integration config: each
//! harness action mapped to the tool whose name matches it (with an argument template
//! guessed from the tool's input schema), the actions it found no tool for commented out,
//! and notes where a tool's hints disagree with what the action does.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion, Tool};
use serde_json::{Map, Value};

use super::client::{ServerFailure, StartupSlots, start};
use super::process::Launch;
use super::redact::Redactor;
use crate::model::{Action, ActionCatalog, ActionKind};

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct ProbeRequest {
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables set for it (`--env KEY=VALUE`).
    pub env: Vec<(String, String)>,
    /// Bound on start-up and each request.
    pub timeout: Duration,
}

/// What the server said about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    /// Its name and version, if it gave them.
    pub server: Option<Implementation>,
    /// The protocol revision agreed.
    pub protocol_version: String,
    /// Its instructions, if any.
    pub instructions: Option<String>,
    /// Its tools.
    pub tools: Vec<Tool>,
}

impl ProbeRequest {
    fn shown(&self) -> String {
        std::iter::once(self.command.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Whether an environment variable's value is a secret, by its name.
fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    ["PRIVATE", "SECRET", "PASSWORD", "TOKEN"]
        .iter()
        .any(|w| name.contains(w))
}

/// Starts the server, lists its tools and stops it.
pub async fn probe(request: &ProbeRequest) -> Result<Probed, ServerFailure> {
    let shown = request.shown();
    let launch = Launch {
        program: request.command.clone(),
        args: request.args.clone(),
        env: request.env.clone(),
        pass_env: Vec::new(),
        // The server also sees the probe's own environment: its secrets are redacted too.
        redactor: Redactor::new(
            request
                .env
                .iter()
                .cloned()
                .chain(std::env::vars())
                .filter(|(k, _)| is_secret(k))
                .map(|(_, v)| v),
        ),
        inherit_env: true,
    };
    let client = ClientConfig::new(
        ClientCapabilities::builder().enable_elicitation().build(),
        Implementation::new("cw-conform-probe", env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::V_2025_11_25);
    let slots = StartupSlots::per_cpu();
    let (_process, service, tools) =
        start(&launch, client, &shown, request.timeout, &slots).await?;
    let info = service.peer().peer_info();
    Ok(Probed {
        server: info.as_ref().and_then(|i| i.server_info.clone()),
        protocol_version: info
            .as_ref()
            .map(|i| i.protocol_version.to_string())
            .unwrap_or_default(),
        instructions: info.as_ref().and_then(|i| i.instructions.clone()),
        tools,
    })
}

fn hints(tool: &Tool) -> String {
    let Some(a) = &tool.annotations else {
        return "no annotations".to_owned();
    };
    let flag = |value: Option<bool>, yes: &str, no: &str| match value {
        Some(true) => Some(yes.to_owned()),
        Some(false) => Some(no.to_owned()),
        None => None,
    };
    let shown: Vec<String> = [
        flag(a.read_only_hint, "readOnlyHint", "not readOnlyHint"),
        flag(a.destructive_hint, "destructiveHint", "not destructiveHint"),
        flag(a.idempotent_hint, "idempotentHint", "not idempotentHint"),
        flag(a.open_world_hint, "openWorldHint", "not openWorldHint"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if shown.is_empty() {
        "no hints".to_owned()
    } else {
        shown.join(", ")
    }
}

/// The tools, one block each: name, description, annotations, input schema.
pub fn listing(probed: &Probed) -> String {
    let mut out = String::new();
    let server = probed.server.as_ref().map_or_else(
        || "the server".to_owned(),
        |s| format!("{} {}", s.name, s.version),
    );
    let _ = writeln!(
        out,
        "{server} (protocol {}): {} tool(s)",
        probed.protocol_version,
        probed.tools.len()
    );
    for tool in &probed.tools {
        let _ = writeln!(
            out,
            "\n{}: {}",
            tool.name,
            tool.description.as_deref().unwrap_or("(no description)")
        );
        let _ = writeln!(out, "  annotations: {}", hints(tool));
        let schema = serde_json::to_string(tool.input_schema.as_ref()).unwrap_or_default();
        let _ = writeln!(out, "  input schema: {schema}");
    }
    out
}

/// Lowercase letters and digits only: how names are compared.
fn normalized(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn verbs(kind: ActionKind) -> &'static [&'static str] {
    match kind {
        ActionKind::Connect => &["connect", "test", "check", "ping", "whoami"],
        ActionKind::Search => &["search", "list", "find", "query"],
        ActionKind::Get => &["get", "read", "fetch", "retrieve", "show"],
        ActionKind::Create => &["create", "add", "new", "post"],
        ActionKind::Update => &["update", "edit", "patch", "modify", "change"],
        ActionKind::Close => &["close", "resolve", "complete"],
        ActionKind::Merge => &["merge"],
        ActionKind::Delete => &["delete", "remove"],
        ActionKind::Attach => &["attach", "upload", "add"],
    }
}

fn plural(word: &str) -> String {
    if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else if word.ends_with('s') {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// Names a tool performing the action might have, normalized.
fn candidates(action: &Action) -> Vec<String> {
    let parts: Vec<&str> = action.name.split('.').collect();
    let own_verb = parts
        .last()
        .is_some_and(|last| *last == action.kind.as_str() || verbs(action.kind).contains(last));
    let subject = if own_verb && parts.len() > 1 {
        parts[..parts.len() - 1].join("")
    } else {
        parts.join("")
    };
    let subject = normalized(&subject);
    let mut names = vec![normalized(&action.name)];
    // A list is named in the plural or the singular; one record only in the singular.
    let nouns = if action.kind == ActionKind::Search {
        vec![subject.clone(), plural(&subject)]
    } else {
        vec![subject.clone()]
    };
    for verb in verbs(action.kind) {
        for noun in nouns.clone() {
            names.push(format!("{verb}{noun}"));
            names.push(format!("{noun}{verb}"));
        }
    }
    if action.kind == ActionKind::Search {
        // `get_tickets` lists; `get_ticket` reads one.
        names.push(format!("get{}", plural(&subject)));
    }
    names
}

/// The tool whose name matches the action, if any.
fn matching<'a>(action: &Action, tools: &'a [Tool]) -> Option<&'a Tool> {
    let names = candidates(action);
    names
        .iter()
        .find_map(|name| tools.iter().find(|t| normalized(&t.name) == *name))
}

/// An argument template guessed from the tool's input schema, and the required properties
/// it could not fill.
fn guess_arguments(action: &Action, tool: &Tool) -> (Map<String, Value>, Vec<String>) {
    let properties = tool
        .input_schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let required: Vec<String> = tool
        .input_schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let resource = normalized(action.name.split('.').next().unwrap_or_default());
    let id_names = [
        "id".to_owned(),
        "recordid".to_owned(),
        "parentid".to_owned(),
        format!("{resource}id"),
    ];
    let query_names = [
        "query",
        "q",
        "search",
        "searchtext",
        "text",
        "term",
        "keyword",
        "keywords",
    ];
    let field_names = [
        "fields",
        "data",
        "body",
        "payload",
        "record",
        "values",
        "attributes",
        "properties",
    ];
    let mut arguments = Map::new();
    let mut unfilled = Vec::new();
    for (name, schema) in &properties {
        let key = normalized(name);
        let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
        let searched = action.kind == ActionKind::Search
            && schema.get("type").and_then(Value::as_str) == Some("string")
            && (key.ends_with("contains")
                || action
                    .search_field
                    .as_deref()
                    .is_some_and(|field| key == normalized(field)));
        let template = if id_names.contains(&key) {
            Some("{id}".to_owned())
        } else if query_names.contains(&key.as_str()) || searched {
            Some("{query}".to_owned())
        } else if field_names.contains(&key.as_str()) || (is_object && key == resource) {
            Some("{fields}".to_owned())
        } else if action.writes() || action.kind == ActionKind::Search {
            // A flat tool takes each field as an argument of its own.
            Some(format!("{{fields.{name}}}"))
        } else {
            None
        };
        match template {
            Some(template) => {
                arguments.insert(name.clone(), Value::from(template));
            }
            None if required.contains(name) => unfilled.push(name.clone()),
            None => {}
        }
    }
    (arguments, unfilled)
}

/// Notes where the tool's hints disagree with what the action does.
fn hint_notes(action: &Action, tool: &Tool) -> Vec<String> {
    let hints = tool.annotations.clone().unwrap_or_default();
    let mut notes = Vec::new();
    if !action.writes() && hints.read_only_hint != Some(true) {
        notes.push("a read, but the tool is not annotated readOnlyHint".to_owned());
    }
    if action.writes() && hints.read_only_hint == Some(true) {
        notes.push("a write, but the tool claims readOnlyHint".to_owned());
    }
    if action.kind == ActionKind::Delete && hints.destructive_hint == Some(false) {
        notes.push("a delete, but the tool claims it is not destructive".to_owned());
    }
    notes
}

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A key, bare when TOML allows it.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        quoted(name)
    }
}

/// A JSON value as an inline TOML value.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "\"\"".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", key(k), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A guess at the placeholder an environment variable the server was started with takes.
fn env_placeholder(name: &str, value: &str) -> Option<&'static str> {
    let name = name.to_ascii_uppercase();
    if name.contains("PRIVATE") {
        Some("{private_key}")
    } else if name.contains("PUBLIC") {
        Some("{public_key}")
    } else if name.contains("CLIENT") {
        Some("{client_id}")
    } else if name.contains("COMPANY") {
        Some("{company_id}")
    } else if value.contains("/apis/3.0") {
        Some("{api_url}")
    } else if name.contains("SITE") || name.contains("URL") || name.contains("HOST") {
        Some("{site}")
    } else {
        None
    }
}

/// A starting integration config for the probed server.
pub fn starting_config(probed: &Probed, request: &ProbeRequest, catalog: &ActionCatalog) -> String {
    let mut out = String::new();
    let name = probed
        .server
        .as_ref()
        .map_or_else(|| request.shown(), |s| s.name.clone());
    let _ = writeln!(
        out,
        "# A starting integration config for `{}`, written by cw-conform mcp-probe.\n# Check every mapping, fill in [server.env], then run:\n#   cw-conform run --integration mcp --integration-config THIS_FILE\n# An action left out of [actions] is not offered by this integration: its scenarios are\n# left out and the rules they check are reported as not offered.",
        request.shown()
    );
    let _ = writeln!(out, "name = {}\n", quoted(&name));
    let _ = writeln!(out, "[server]");
    // A relative path is read from the config's folder: write it as the probe found it.
    let command = if request.command.contains('/') && Path::new(&request.command).is_relative() {
        std::env::current_dir().map_or_else(
            |_| request.command.clone(),
            |dir| {
                dir.join(request.command.trim_start_matches("./"))
                    .display()
                    .to_string()
            },
        )
    } else {
        request.command.clone()
    };
    let _ = writeln!(out, "command = {}", quoted(&command));
    let _ = writeln!(out, "args = {}", inline(&Value::from(request.args.clone())));
    let _ = writeln!(
        out,
        "# startup_timeout_seconds = 10\n# call_timeout_seconds = 5\n# The server starts from an empty environment (PATH, HOME, LANG, LC_*, TMPDIR … are\n# passed on); name here what else of your environment it needs:\n# pass_env = [\"NODE_EXTRA_CA_CERTS\"]\n"
    );
    let _ = writeln!(
        out,
        "[server.env]\n# The variables your server reads; cw-conform fills in each scenario's values:\n# {{site}} {{api_url}} {{company_id}} {{public_key}} {{private_key}} {{client_id}}"
    );
    let mut used: Vec<&str> = Vec::new();
    for (variable, value) in &request.env {
        if let Some(placeholder) = env_placeholder(variable, value) {
            used.push(placeholder);
            let _ = writeln!(out, "{} = {}", key(variable), quoted(placeholder));
        } else {
            let shown = if is_secret(variable) {
                "[redacted]"
            } else {
                value.as_str()
            };
            let _ = writeln!(
                out,
                "# {} = {}  (given to the probe; map or drop it)",
                key(variable),
                quoted(shown)
            );
        }
    }
    let unused: Vec<&str> = [
        "{site}",
        "{company_id}",
        "{public_key}",
        "{private_key}",
        "{client_id}",
    ]
    .into_iter()
    .filter(|p| {
        let site_as_api_url = *p == "{site}" && used.contains(&"{api_url}");
        !(used.contains(p) || site_as_api_url)
    })
    .collect();
    if !used.is_empty() && !unused.is_empty() {
        let _ = writeln!(out, "# Not mapped yet: {}", unused.join(" "));
    }
    if used.is_empty() {
        let _ = writeln!(
            out,
            "# CONNECTWISE_SITE = \"{{site}}\"\n# CONNECTWISE_COMPANY_ID = \"{{company_id}}\"\n# CONNECTWISE_PUBLIC_KEY = \"{{public_key}}\"\n# CONNECTWISE_PRIVATE_KEY = \"{{private_key}}\"\n# CONNECTWISE_CLIENT_ID = \"{{client_id}}\""
        );
    }
    let confirm = probed
        .tools
        .iter()
        .find(|t| normalized(&t.name).contains("confirm"));
    let _ = writeln!(
        out,
        "\n# If the server holds writes for a person without elicitation, say how:\n# [confirmation]\n# tool = {}\n# token = \"/confirmation/token\"   # JSON pointer to the token in the held result\n# (or: argument = \"confirm\", a flag the same tool is called again with)",
        quoted(confirm.map_or("confirm", |t| t.name.as_ref()))
    );
    let _ = writeln!(out, "\n[actions]");
    let mut missing = Vec::new();
    for action in catalog.iter() {
        let Some(tool) = matching(action, &probed.tools) else {
            missing.push(action);
            continue;
        };
        let (arguments, unfilled) = guess_arguments(action, tool);
        let _ = writeln!(
            out,
            "# {} ({}): {} [{}]",
            action.phrase,
            action.kind,
            tool.name,
            hints(tool)
        );
        for note in hint_notes(action, tool) {
            let _ = writeln!(out, "# note: {note}");
        }
        if !unfilled.is_empty() {
            let _ = writeln!(
                out,
                "# TODO: the tool requires {} (no placeholder guessed)",
                unfilled.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "{} = {{ tool = {}, arguments = {} }}",
            quoted(&action.name),
            quoted(&tool.name),
            inline(&Value::Object(arguments))
        );
    }
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "\n# No tool found for these actions: map one, or leave them out (not offered).",
        );
        for action in missing {
            let _ = writeln!(
                out,
                "# {} = {{ tool = \"…\" }}   # {} ({})",
                quoted(&action.name),
                action.phrase,
                action.kind
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::fixtures::Fixtures;
    use crate::integration::mcp::IntegrationConfig;

    fn tool(name: &str, schema: Value, read_only: Option<bool>) -> Tool {
        let Value::Object(schema) = schema else {
            panic!("not an object")
        };
        let mut tool = Tool::new(name.to_owned(), "a tool", Arc::new(schema));
        if let Some(read_only) = read_only {
            tool = tool.with_annotations(rmcp::model::ToolAnnotations::new().read_only(read_only));
        }
        tool
    }

    #[test]
    fn tools_are_matched_by_name_in_either_order_with_synonyms() {
        let fixtures = Fixtures::builtin().unwrap();
        let tools = vec![
            tool("get_ticket", json!({"type": "object"}), Some(true)),
            tool("listCompanies", json!({"type": "object"}), Some(true)),
            tool("ticket_note_detail", json!({"type": "object"}), None),
        ];
        let found = |action: &str| {
            matching(fixtures.actions.get(action).unwrap(), &tools).map(|t| t.name.to_string())
        };
        assert_eq!(found("ticket.get").as_deref(), Some("get_ticket"));
        assert_eq!(found("company.search").as_deref(), Some("listCompanies"));
        assert_eq!(
            found("ticket.note.detail").as_deref(),
            Some("ticket_note_detail")
        );
        assert_eq!(found("ticket.delete"), None);
        // A list tool does not read one record.
        let lists = vec![tool("get_projects", json!({"type": "object"}), Some(true))];
        let project_get = fixtures.actions.get("project.get").unwrap();
        assert!(matching(project_get, &lists).is_none());
        let project_search = fixtures.actions.get("project.search").unwrap();
        assert!(matching(project_search, &lists).is_some());
    }

    #[test]
    fn a_search_text_goes_to_the_property_named_after_the_searched_field() {
        let fixtures = Fixtures::builtin().unwrap();
        let search = tool(
            "search_tickets",
            json!({"type": "object", "properties": {
                "summary_contains": {"type": "string"},
                "board": {"type": "string"}
            }}),
            Some(true),
        );
        let (arguments, _) =
            guess_arguments(fixtures.actions.get("ticket.search").unwrap(), &search);
        assert_eq!(
            Value::Object(arguments),
            json!({"summary_contains": "{query}", "board": "{fields.board}"})
        );
    }

    #[test]
    fn arguments_are_guessed_from_the_input_schema() {
        let fixtures = Fixtures::builtin().unwrap();
        let update = tool(
            "update_ticket",
            json!({"type": "object", "properties": {
                "ticketId": {"type": "integer"},
                "summary": {"type": "string"},
                "mode": {"type": "string"}
            }, "required": ["ticketId"]}),
            Some(false),
        );
        let (arguments, unfilled) =
            guess_arguments(fixtures.actions.get("ticket.update").unwrap(), &update);
        assert_eq!(
            Value::Object(arguments),
            json!({"ticketId": "{id}", "summary": "{fields.summary}", "mode": "{fields.mode}"})
        );
        assert!(unfilled.is_empty());
        let get = tool(
            "get_ticket",
            json!({"type": "object", "properties": {"id": {"type": "integer"}, "expand": {"type": "boolean"}}, "required": ["id", "expand"]}),
            Some(true),
        );
        let (arguments, unfilled) =
            guess_arguments(fixtures.actions.get("ticket.get").unwrap(), &get);
        assert_eq!(Value::Object(arguments), json!({"id": "{id}"}));
        assert_eq!(unfilled, vec!["expand".to_owned()]);
    }

    #[test]
    fn the_starting_config_loads_and_notes_what_it_could_not_map() {
        let fixtures = Fixtures::builtin().unwrap();
        let probed = Probed {
            server: Some(Implementation::new("acme-cw", "1.0")),
            protocol_version: "2025-11-25".into(),
            instructions: None,
            tools: vec![
                tool(
                    "get_ticket",
                    json!({"type": "object", "properties": {"id": {"type": "integer"}}}),
                    None,
                ),
                tool(
                    "delete_ticket",
                    json!({"type": "object", "properties": {"id": {"type": "integer"}}}),
                    Some(true),
                ),
            ],
        };
        let request = ProbeRequest {
            command: "acme-cw-mcp".into(),
            args: vec!["--stdio".into()],
            env: vec![
                ("CW_URL".into(), "https://x".into()),
                ("CW_PRIVATE".into(), "canary-secret-1".into()),
                ("DEBUG".into(), "1".into()),
            ],
            timeout: Duration::from_secs(1),
        };
        let written = starting_config(&probed, &request, &fixtures.actions);
        assert!(!written.contains("canary-secret-1"), "{written}");
        assert!(written.contains("CW_URL = \"{site}\""), "{written}");
        assert!(written.contains("# note: a read, but the tool is not annotated readOnlyHint"));
        assert!(written.contains("# note: a write, but the tool claims readOnlyHint"));
        assert!(written.contains("# \"ticket.create\" = { tool = \"…\" }"));
        let config = IntegrationConfig::parse(
            "probe.toml",
            &written,
            std::path::Path::new("."),
            &fixtures.actions,
        )
        .unwrap_or_else(|e| panic!("{e}\n{written}"));
        assert_eq!(config.tool_for("ticket.get").unwrap().tool, "get_ticket");
        assert_eq!(
            config.not_offered(&fixtures.actions).len(),
            fixtures.actions.iter().count() - 2
        );
    }
}
