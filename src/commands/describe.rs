//! `cw-conform steps`, `actions`, `rules` and `roles`: the harness describes itself, so a
//! vendor writing scenarios needs the binary, not the source tree.
//!
//! Each listing is rendered from the same data the harness runs on: the step tables that a
//! unit test checks against cucumber's registered steps, the action catalog with the
//! oracle and the policy, the rule catalog, the role profiles.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{CommandError, exit};
use crate::fixtures::Fixtures;
use crate::harness::{StepDoc, vocabulary};
use crate::model::{Action, ActionKind, SecurityRole, SourceDocument};
use crate::oracle;
use crate::policy::Decision;

/// Formats of the listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Readable text for the terminal.
    Text,
    /// A Markdown table.
    Markdown,
    /// JSON, for tools.
    Json,
}

/// The width listings wrap their prose at.
const WIDTH: usize = 96;

/// `first` (ending with the space it needs) followed by `text`, wrapped at [`WIDTH`] between words, every line after the
/// first starting with `indent`.
fn wrap(first: &str, text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            indent.clone_into(&mut line);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out
}

/// A Markdown table cell: pipes escaped, on one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("\"{e}\""))
    );
}

// ---------------------------------------------------------------------------------------
// steps

/// Renders every step the harness understands.
pub fn render_steps(format: ListFormat) -> String {
    let steps = vocabulary();
    match format {
        ListFormat::Text => {
            let header = format!(
                "{} steps. `And` and `But` continue the keyword before them; <placeholders> are \
                 parameters, [brackets] optional, a|b alternatives.",
                steps.len()
            );
            let mut out = wrap("", &header, "");
            out.push('\n');
            for doc in &steps {
                let _ = writeln!(out, "\n{} {}", doc.keyword, doc.form);
                let _ = writeln!(out, "{}", wrap("    ", doc.description, "    "));
                for parameter in doc.parameters {
                    let first = format!("    {}: ", parameter.name);
                    let _ = writeln!(out, "{}", wrap(&first, parameter.meaning, "      "));
                }
                let _ = writeln!(out, "    Example: {} {}", doc.keyword, doc.example);
                for row in doc.table.iter().flat_map(|t| t.lines()) {
                    let _ = writeln!(out, "               {row}");
                }
            }
            out
        }
        ListFormat::Markdown => {
            let mut out =
                String::from("| keyword | step | parameters | example |\n|---|---|---|---|\n");
            for doc in &steps {
                let parameters: Vec<String> = doc
                    .parameters
                    .iter()
                    .map(|p| format!("`{}`: {}", p.name, p.meaning))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | `{}`<br>{} | {} | `{} {}` |",
                    doc.keyword,
                    cell(doc.form),
                    cell(doc.description),
                    cell(&parameters.join("<br>")),
                    doc.keyword,
                    cell(doc.example)
                );
            }
            out
        }
        ListFormat::Json => {
            let steps: Vec<Value> = steps.iter().map(|doc| step_json(doc)).collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&steps).unwrap_or_default()
            )
        }
    }
}

fn step_json(doc: &StepDoc) -> Value {
    json!({
        "keyword": doc.keyword,
        "step": doc.form,
        "regex": doc.pattern.regex(),
        "description": doc.description,
        "parameters": doc.parameters,
        "example": format!("{} {}", doc.keyword, doc.example),
        "table": doc.table,
    })
}

/// `cw-conform steps`.
pub fn steps(format: ListFormat) -> Result<u8, CommandError> {
    print!("{}", render_steps(format));
    Ok(exit::CONFORMS)
}

// ---------------------------------------------------------------------------------------
// actions

/// What the listing says about one action.
struct ActionListing<'a> {
    action: &'a Action,
    method: &'static str,
    path: String,
    /// `Module / Function` and the operation ConnectWise checks.
    checks: Option<(String, String)>,
    /// The lookups before a write, when a reference is named rather than given by id.
    lookups: Vec<(String, String)>,
    /// `pass`, `block` or `escalate`, with the rule.
    policy: (&'static str, Option<String>),
    /// Fields the policy refuses to write (with the rule), for a write that passes.
    blocked_fields: Vec<(String, Vec<String>)>,
}

/// The request an action's main call makes, with `{parentId}` and `{id}` placeholders.
fn request(action: &Action) -> (&'static str, String) {
    let path = &action.path;
    match action.kind {
        ActionKind::Connect | ActionKind::Search => ("GET", path.clone()),
        ActionKind::Get => ("GET", format!("{path}/{{id}}")),
        ActionKind::Create | ActionKind::Attach => ("POST", path.clone()),
        ActionKind::Update | ActionKind::Close => ("PATCH", format!("{path}/{{id}}")),
        ActionKind::Merge => ("POST", format!("{path}/{{id}}/merge")),
        ActionKind::Delete => ("DELETE", format!("{path}/{{id}}")),
    }
}

fn listing<'a>(fixtures: &Fixtures, action: &'a Action) -> ActionListing<'a> {
    let (method, path) = request(action);
    let checks = oracle::requirement(fixtures, action)
        .map(|r| (r.function.to_string(), r.operation.to_string()));
    // Every reference field named, so the listing shows each lookup the action may make.
    let named: serde_json::Map<String, Value> = action
        .validate
        .iter()
        .map(|field| (field.clone(), Value::from("a name")))
        .collect();
    let lookups = oracle::lookup_requirements(fixtures, action, &named)
        .into_iter()
        .map(|r| (r.function.to_string(), r.operation.to_string()))
        .collect();
    let policy = match fixtures.policy.decide(action, &serde_json::Map::new()) {
        Decision::Pass => ("pass", None),
        Decision::Block { rule, .. } => ("block", Some(rule.to_string())),
        Decision::Escalate { rule, .. } => ("escalate", Some(rule.to_string())),
    };
    let blocked_fields = if action.writes() && policy.0 != "block" {
        fixtures
            .policy
            .field_blocks
            .iter()
            .filter(|b| b.resource == action.resource)
            .map(|b| (b.rule.to_string(), b.fields.clone()))
            .collect()
    } else {
        Vec::new()
    };
    ActionListing {
        action,
        method,
        path,
        checks,
        lookups,
        policy,
        blocked_fields,
    }
}

impl ActionListing<'_> {
    fn checks_text(&self) -> String {
        self.checks.as_ref().map_or_else(
            || "no security function (any signed-in member)".to_owned(),
            |(function, operation)| format!("{function}: {operation}"),
        )
    }

    fn lookups_text(&self) -> String {
        if self.lookups.is_empty() {
            return "none".to_owned();
        }
        self.lookups
            .iter()
            .map(|(function, operation)| format!("{function}: {operation}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn policy_text(&self) -> String {
        let mut text = match &self.policy {
            (word, Some(rule)) => format!("{word} ({rule})"),
            (word, None) => (*word).to_owned(),
        };
        for (rule, fields) in &self.blocked_fields {
            let _ = write!(text, "; blocks writing {} ({rule})", fields.join(", "));
        }
        text
    }
}

/// Renders the action catalog: what each action sends, what ConnectWise checks, what the
/// integration looks up first and what its policy does.
pub fn render_actions(fixtures: &Fixtures, format: ListFormat) -> String {
    let listings: Vec<ActionListing> = fixtures
        .actions
        .iter()
        .map(|a| listing(fixtures, a))
        .collect();
    match format {
        ListFormat::Text => {
            let header = format!(
                "{} actions. Use a phrase in `When the AI asks to <phrase>`. ConnectWise checks \
                 the function and operation at level My (records the member owns) or All; \
                 lookups are made before a write that names a record instead of giving its id.",
                listings.len()
            );
            let mut out = wrap("", &header, "");
            out.push('\n');
            let mut workflow = "";
            for listing in &listings {
                if listing.action.workflow != workflow {
                    workflow = &listing.action.workflow;
                    let _ = writeln!(out, "\nworkflow {workflow}");
                }
                let _ = writeln!(
                    out,
                    "  {}  [{}]",
                    listing.action.phrase, listing.action.name
                );
                let _ = writeln!(out, "    request:  {} {}", listing.method, listing.path);
                let _ = writeln!(out, "    checks:   {}", listing.checks_text());
                let _ = writeln!(
                    out,
                    "{}",
                    wrap("    lookups:  ", &listing.lookups_text(), "              ")
                );
                let _ = writeln!(
                    out,
                    "{}",
                    wrap("    policy:   ", &listing.policy_text(), "              ")
                );
            }
            out
        }
        ListFormat::Markdown => {
            let mut out = String::from(
                "| phrase | action | workflow | request | ConnectWise checks | lookups | policy |\n\
                 |---|---|---|---|---|---|---|\n",
            );
            for listing in &listings {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | `{} {}` | {} | {} | {} |",
                    cell(&listing.action.phrase),
                    listing.action.name,
                    listing.action.workflow,
                    listing.method,
                    listing.path,
                    cell(&listing.checks_text()),
                    cell(&listing.lookups_text()),
                    cell(&listing.policy_text())
                );
            }
            out
        }
        ListFormat::Json => {
            let actions: Vec<Value> = listings
                .iter()
                .map(|l| {
                    json!({
                        "name": l.action.name,
                        "phrase": l.action.phrase,
                        "kind": l.action.kind.as_str(),
                        "workflow": l.action.workflow,
                        "method": l.method,
                        "path": l.path,
                        "checks": l.checks.as_ref().map(|(function, operation)| json!({
                            "function": function,
                            "operation": operation,
                        })),
                        "lookups": l.lookups.iter().map(|(function, operation)| json!({
                            "function": function,
                            "operation": operation,
                        })).collect::<Vec<_>>(),
                        "policy": {
                            "decision": l.policy.0,
                            "rule": l.policy.1,
                            "blocked_fields": l.blocked_fields.iter().map(|(rule, fields)| json!({
                                "rule": rule,
                                "fields": fields,
                            })).collect::<Vec<_>>(),
                        },
                    })
                })
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&actions).unwrap_or_default()
            )
        }
    }
}

/// `cw-conform actions`.
pub fn actions(fixtures: &Fixtures, format: ListFormat) -> Result<u8, CommandError> {
    print!("{}", render_actions(fixtures, format));
    Ok(exit::CONFORMS)
}

// ---------------------------------------------------------------------------------------
// rules

/// Renders the rule catalog.
pub fn render_rules(fixtures: &Fixtures, format: ListFormat) -> String {
    match format {
        ListFormat::Text => {
            let mut out = format!(
                "{} rules. Tag a scenario with the IDs it checks (@SD-01).\n",
                fixtures.rules.len()
            );
            // A section several rules cite is summarised under the first of them.
            let mut summarised: Vec<(&str, &str, &str)> = Vec::new();
            for rule in fixtures.rules.iter() {
                let first = format!("{:<8}", rule.id.as_str());
                let _ = writeln!(out, "\n{}", wrap(&first, &rule.summary, "        "));
                let source = format!("source: {}, {}", rule.source, rule.section);
                let _ = writeln!(out, "{}", wrap("        ", &source, "          "));
                let cited = (rule.source.as_str(), rule.section.as_str());
                if let Some((.., under)) = summarised.iter().find(|(d, s, _)| (*d, *s) == cited) {
                    let _ = writeln!(out, "        (the section is summarised under {under})");
                } else if let Some(section) = fixtures.sources.section(cited.0, cited.1) {
                    out.push_str(&indented_summary(&section.summary, "        > "));
                    summarised.push((cited.0, cited.1, rule.id.as_str()));
                }
            }
            let _ = writeln!(
                out,
                "\nIntegrity checks, not rules of the documents (so never tags): an MCP \
                 integration is\nheld to them in every scenario, and a breach fails the run."
            );
            for check in crate::model::Integrity::ALL {
                let first = format!("{:<8}", check.id());
                let _ = writeln!(out, "\n{}", wrap(&first, check.summary(), "        "));
            }
            out
        }
        ListFormat::Markdown => {
            let mut out =
                String::from("| rule | statement | source | section |\n|---|---|---|---|\n");
            for rule in fixtures.rules.iter() {
                let section = match fixtures.sources.document(&rule.source) {
                    Some(document) => format!(
                        "[{}](#{})",
                        cell(&rule.section),
                        section_anchor(&document.name, &rule.section)
                    ),
                    None => cell(&rule.section),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {section} |",
                    rule.id.as_str(),
                    cell(&rule.summary),
                    cell(&rule.source),
                );
            }
            out.push_str(
                "\nIntegrity checks, not rules of the documents (never tags): an MCP integration \
                 is held to them in every scenario, and a breach fails the run.\n\n\
                 | check | what breaks it |\n|---|---|\n",
            );
            for check in crate::model::Integrity::ALL {
                let _ = writeln!(out, "| {} | {} |", check.id(), cell(check.summary()));
            }
            out.push_str("\n## What the source documents say\n");
            for document in fixtures.sources.iter() {
                out.push('\n');
                out.push_str(&document_markdown(document, "###"));
            }
            out
        }
        ListFormat::Json => {
            let rules: Vec<Value> = fixtures
                .rules
                .iter()
                .map(|rule| {
                    json!({
                        "id": rule.id.as_str(),
                        "statement": rule.summary,
                        "source": rule.source,
                        "section": rule.section,
                        "section_summary": fixtures
                            .sources
                            .section(&rule.source, &rule.section)
                            .map(|section| section.summary.as_str()),
                    })
                })
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&rules).unwrap_or_default()
            )
        }
    }
}

/// `cw-conform rules`.
pub fn rules(fixtures: &Fixtures, format: ListFormat) -> Result<u8, CommandError> {
    print!("{}", render_rules(fixtures, format));
    Ok(exit::CONFORMS)
}

/// A section summary for the terminal: each line behind `prefix`, paragraphs wrapped, table
/// lines kept as they are.
fn indented_summary(summary: &str, prefix: &str) -> String {
    let mut out = String::new();
    for block in summary.split("\n\n") {
        if block.lines().all(|l| l.starts_with('|')) {
            for line in block.lines() {
                let _ = writeln!(out, "{prefix}{line}");
            }
        } else {
            let _ = writeln!(out, "{}", wrap(prefix, block, prefix));
        }
    }
    out
}

/// The anchor GitHub and most Markdown renderers give the heading `### name: section`.
fn section_anchor(document: &str, section: &str) -> String {
    format!("{document}: {section}")
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// One summary as Markdown, its sections under `level` headings that name the document.
fn document_markdown(document: &SourceDocument, level: &str) -> String {
    let mut out = format!(
        "{} {}: `{}`\n\n{}\n",
        &level[1..],
        document.title,
        document.file,
        document.about
    );
    for section in &document.sections {
        let _ = write!(
            out,
            "\n{level} {}: {}\n\n{}\n",
            document.name, section.heading, section.summary
        );
    }
    out
}

/// Renders the summaries of the source documents, or of the one named (by file name or
/// short name).
pub fn render_sources(
    fixtures: &Fixtures,
    name: Option<&str>,
    format: ListFormat,
) -> Result<String, CommandError> {
    let documents: Vec<&SourceDocument> = match name {
        None => fixtures.sources.iter().collect(),
        Some(name) => {
            let Some(document) = fixtures.sources.document(name) else {
                let names: Vec<&str> = fixtures.sources.iter().map(|d| d.name.as_str()).collect();
                // A misspelling, or the start of one name (`least-privilege`).
                let mut suggestion =
                    crate::model::spelling::did_you_mean(name, names.iter().copied());
                let starting: Vec<&&str> = names.iter().filter(|n| n.starts_with(name)).collect();
                if let [only] = starting.as_slice()
                    && suggestion.is_empty()
                {
                    suggestion = format!(" (did you mean \"{only}\"?)");
                }
                let known = if suggestion.is_empty() {
                    format!(" (expected one of {})", names.join(", "))
                } else {
                    suggestion
                };
                return Err(CommandError::Usage(format!(
                    "unknown source document \"{name}\"{known}; run `cw-conform sources` for both"
                )));
            };
            vec![document]
        }
    };
    Ok(match format {
        ListFormat::Text => {
            let mut out = wrap(
                "",
                "The source documents the rules cite, summarised in this project's words (the \
                 documents carry no licence, so their text is not reproduced).",
                "",
            );
            out.push('\n');
            for document in documents {
                let _ = writeln!(out, "\n{}: {}", document.title, document.file);
                out.push_str(&indented_summary(&document.about, "  "));
                for section in &document.sections {
                    let _ = writeln!(out, "\n  {}", section.heading);
                    out.push_str(&indented_summary(&section.summary, "    "));
                }
            }
            out
        }
        ListFormat::Markdown => documents
            .into_iter()
            .map(|d| document_markdown(d, "##"))
            .collect::<Vec<_>>()
            .join("\n"),
        ListFormat::Json => {
            let documents: Vec<Value> = documents
                .into_iter()
                .map(|d| serde_json::to_value(d).unwrap_or_default())
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&documents).unwrap_or_default()
            )
        }
    })
}

/// `cw-conform sources [NAME]`.
pub fn sources(
    fixtures: &Fixtures,
    name: Option<&str>,
    format: ListFormat,
) -> Result<u8, CommandError> {
    print!("{}", render_sources(fixtures, name, format)?);
    Ok(exit::CONFORMS)
}

// ---------------------------------------------------------------------------------------
// roles

/// A role as a role file: the TOML `--role FILE` accepts, every grant with its four levels.
pub fn role_file(role: &SecurityRole) -> String {
    let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
    let mut out = format!(
        "# The role \"{}\" as a role file (from `cw-conform roles {}`).\n\
         # Edit it and pass its path wherever a role is asked for: `--role my-role.toml`,\n\
         # `Given an API member with the role \"my-role.toml\"`. A function the file does not\n\
         # list is None for every operation; levels are None, My or All.\n",
        role.name, role.name
    );
    let _ = writeln!(out, "name = {}", quoted(&role.name));
    let _ = writeln!(out, "summary = {}", quoted(&role.summary));
    for (function, levels) in role.grants() {
        let _ = writeln!(out, "\n[[grant]]");
        let _ = writeln!(out, "function = {}", quoted(&function.to_string()));
        let _ = writeln!(out, "add = \"{}\"", levels.add);
        let _ = writeln!(out, "edit = \"{}\"", levels.edit);
        let _ = writeln!(out, "delete = \"{}\"", levels.delete);
        let _ = writeln!(out, "inquire = \"{}\"", levels.inquire);
    }
    out
}

/// Renders the list of built-in role profiles.
pub fn render_roles(fixtures: &Fixtures, format: ListFormat) -> String {
    match format {
        ListFormat::Text => {
            let width = fixtures.roles.keys().map(String::len).max().unwrap_or(0);
            let mut out = format!(
                "{} role profiles. `cw-conform roles NAME` prints one as a role file to copy \
                 and edit.\n\n",
                fixtures.roles.len()
            );
            for role in fixtures.roles.values() {
                let indent = " ".repeat(width + 2);
                let first = format!("{:<width$}  ", role.name);
                let _ = writeln!(out, "{}", wrap(&first, &role.summary, &indent));
            }
            out
        }
        ListFormat::Markdown => {
            let mut out = String::from("| role | grants | summary |\n|---|---|---|\n");
            for role in fixtures.roles.values() {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    role.name,
                    role.grants().count(),
                    cell(&role.summary)
                );
            }
            out
        }
        ListFormat::Json => {
            let roles: Vec<Value> = fixtures
                .roles
                .values()
                .map(|role| {
                    json!({
                        "name": role.name,
                        "summary": role.summary,
                        "grants": role.grants().map(|(function, levels)| json!({
                            "function": function.to_string(),
                            "add": levels.add.as_str(),
                            "edit": levels.edit.as_str(),
                            "delete": levels.delete.as_str(),
                            "inquire": levels.inquire.as_str(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&roles).unwrap_or_default()
            )
        }
    }
}

/// `cw-conform roles [NAME]`: the profiles, or one of them (or a role file) as a role file.
pub fn roles(
    fixtures: &Fixtures,
    name: Option<&str>,
    format: ListFormat,
) -> Result<u8, CommandError> {
    match name {
        None => print!("{}", render_roles(fixtures, format)),
        Some(name) => {
            let role = fixtures.role(name)?;
            if format == ListFormat::Json {
                print_json(&json!({
                    "name": role.name,
                    "role_file": role_file(&role),
                }));
            } else {
                print!("{}", role_file(&role));
            }
        }
    }
    Ok(exit::CONFORMS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::parse_role;
    use crate::harness::Keyword;

    fn fixtures() -> &'static Fixtures {
        Fixtures::builtin().unwrap()
    }

    #[test]
    fn every_profile_round_trips_through_its_role_file() {
        let fixtures = fixtures();
        for role in fixtures.roles.values() {
            let text = role_file(role);
            let parsed = parse_role("printed.toml", &text, &fixtures.permissions.functions)
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(&parsed, role, "{text}");
        }
    }

    #[test]
    fn a_role_file_quotes_what_toml_needs_quoted() {
        let fixtures = fixtures();
        let mut role = fixtures.roles["least-privilege"].clone();
        role.name = "say \"hi\"".into();
        role.summary = "back\\slash".into();
        let parsed = parse_role(
            "printed.toml",
            &role_file(&role),
            &fixtures.permissions.functions,
        )
        .unwrap();
        assert_eq!(parsed, role);
    }

    #[test]
    fn the_actions_listing_has_every_action_with_what_it_needs() {
        let fixtures = fixtures();
        let json: Vec<Value> =
            serde_json::from_str(&render_actions(fixtures, ListFormat::Json)).unwrap();
        assert_eq!(json.len(), fixtures.actions.iter().count());
        let create = json.iter().find(|a| a["name"] == "ticket.create").unwrap();
        assert_eq!(create["method"], "POST");
        assert_eq!(create["path"], "/service/tickets");
        assert_eq!(
            create["checks"]["function"],
            "Service Desk / Service Tickets"
        );
        assert_eq!(create["checks"]["operation"], "Add");
        assert!(
            create["lookups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["function"] == "Companies / Company Maintenance"),
            "{create}"
        );
        let markdown = render_actions(fixtures, ListFormat::Markdown);
        assert_eq!(
            markdown.lines().count(),
            2 + fixtures.actions.iter().count(),
            "{markdown}"
        );
    }

    #[test]
    fn the_actions_listing_names_the_rule_of_each_block_and_escalation() {
        let fixtures = fixtures();
        let json: Vec<Value> =
            serde_json::from_str(&render_actions(fixtures, ListFormat::Json)).unwrap();
        for action in fixtures.actions.iter() {
            let listed = json
                .iter()
                .find(|a| a["name"] == action.name.as_str())
                .unwrap();
            let expected = oracle::expect(fixtures, action, &fixtures.roles["full-access"]);
            let decision = listed["policy"]["decision"].as_str().unwrap();
            match decision {
                "pass" => assert!(listed["policy"]["rule"].is_null()),
                "block" | "escalate" => assert!(
                    listed["policy"]["rule"]
                        .as_str()
                        .is_some_and(|r| !r.is_empty()),
                    "{listed}"
                ),
                other => panic!("unexpected decision {other}"),
            }
            if expected.outcome == crate::model::Outcome::Escalated {
                assert_eq!(decision, "escalate", "{}", action.name);
            }
        }
    }

    #[test]
    fn every_request_line_is_one_connectwise_routes() {
        let fixtures = fixtures();
        // A blocked action is never sent, so only the others need a route.
        for action in fixtures.actions.iter().filter(|a| {
            !matches!(
                fixtures.policy.decide(a, &serde_json::Map::new()),
                Decision::Block { .. }
            )
        }) {
            let (method, path) = request(action);
            let sample = path.replace("{parentId}", "1").replace("{id}", "1");
            assert!(
                fixtures.permissions.route(&sample, method).is_some(),
                "{} {method} {path}",
                action.name
            );
        }
    }

    #[test]
    fn the_rules_listing_has_every_rule_and_its_source() {
        let fixtures = fixtures();
        let text = render_rules(fixtures, ListFormat::Text);
        for rule in fixtures.rules.iter() {
            assert!(text.contains(rule.id.as_str()), "{}", rule.id);
            assert!(
                text.contains(&format!("source: {}", rule.source)),
                "{}",
                rule.id
            );
        }
        for check in crate::model::Integrity::ALL {
            assert!(text.contains(&format!("\n{:<8}", check.id())), "{text}");
        }
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    }

    /// Every rule is shown with what its section says: under the rule in text, behind a
    /// link to the section in Markdown, as a field in JSON.
    #[test]
    fn the_rules_listing_shows_what_each_cited_section_says() {
        let fixtures = fixtures();
        let text = render_rules(fixtures, ListFormat::Text);
        let markdown = render_rules(fixtures, ListFormat::Markdown);
        let json: Vec<Value> =
            serde_json::from_str(&render_rules(fixtures, ListFormat::Json)).unwrap();
        for rule in fixtures.rules.iter() {
            let section = fixtures
                .sources
                .section(&rule.source, &rule.section)
                .unwrap();
            let first_words: String = section
                .summary
                .split_whitespace()
                .take(4)
                .collect::<Vec<_>>()
                .join(" ");
            // The rule's block: from its ID to the next blank line.
            let block = text
                .split("\n\n")
                .find(|b| b.starts_with(&format!("{:<8}", rule.id.as_str())))
                .unwrap();
            let quoted: String = block
                .lines()
                .filter_map(|l| l.trim_start().strip_prefix("> "))
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                quoted.starts_with(&first_words)
                    || block.contains("(the section is summarised under "),
                "{}: {block}",
                rule.id
            );
            let document = fixtures.sources.document(&rule.source).unwrap();
            let anchor = section_anchor(&document.name, &rule.section);
            assert!(markdown.contains(&format!("](#{anchor})")), "{}", rule.id);
            assert!(
                markdown.contains(&format!("### {}: {}\n", document.name, rule.section)),
                "{anchor}"
            );
            let listed = json.iter().find(|r| r["id"] == rule.id.as_str()).unwrap();
            assert_eq!(listed["section_summary"], section.summary.as_str());
        }
    }

    #[test]
    fn the_sources_listing_has_every_section_and_refuses_an_unknown_name() {
        let fixtures = fixtures();
        let text = render_sources(fixtures, None, ListFormat::Text).unwrap();
        for document in fixtures.sources.iter() {
            assert!(text.contains(&document.file), "{}", document.file);
            for section in &document.sections {
                assert!(
                    text.contains(&format!("\n  {}\n", section.heading)),
                    "{}",
                    section.heading
                );
            }
        }
        let one = render_sources(
            fixtures,
            Some("connectwise-permissions-overview.txt"),
            ListFormat::Json,
        )
        .unwrap();
        let json: Vec<Value> = serde_json::from_str(&one).unwrap();
        assert_eq!(json.len(), 1);
        assert_eq!(json[0]["name"], "connectwise-permissions-overview");
        let error = render_sources(
            fixtures,
            Some("connectwise-permisions-overview"),
            ListFormat::Text,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "unknown source document \"connectwise-permisions-overview\" (did you mean \"connectwise-permissions-overview\"?); run `cw-conform sources` for both"
        );
    }

    #[test]
    fn text_listings_fit_in_100_columns() {
        let fixtures = fixtures();
        for (what, text) in [
            ("steps", render_steps(ListFormat::Text)),
            ("actions", render_actions(fixtures, ListFormat::Text)),
            ("rules", render_rules(fixtures, ListFormat::Text)),
            ("roles", render_roles(fixtures, ListFormat::Text)),
            (
                "sources",
                render_sources(fixtures, None, ListFormat::Text).unwrap(),
            ),
        ] {
            // A step is written on one line, so a step's own line may be longer.
            let long: Vec<&str> = text
                .lines()
                .filter(|l| l.chars().count() > 100)
                .filter(|l| {
                    !["Given ", "When ", "Then ", "    Example: "]
                        .iter()
                        .any(|k| l.starts_with(k))
                })
                .collect();
            assert!(long.is_empty(), "{what}: {long:#?}");
        }
    }

    #[test]
    fn the_steps_listing_shows_each_step_with_its_example() {
        let text = render_steps(ListFormat::Text);
        for doc in vocabulary() {
            assert!(
                text.contains(&format!("Example: {} {}", doc.keyword, doc.example)),
                "{}",
                doc.example
            );
        }
        let json: Vec<Value> = serde_json::from_str(&render_steps(ListFormat::Json)).unwrap();
        assert_eq!(json.len(), vocabulary().len());
        assert!(
            json.iter()
                .all(|s| s["regex"].as_str().is_some_and(|r| r.starts_with('^')))
        );
        assert!(
            json.iter()
                .any(|s| s["keyword"] == serde_json::to_value(Keyword::When).unwrap())
        );
    }

    #[test]
    fn wrap_breaks_between_words_and_indents() {
        let text = "word ".repeat(40);
        let wrapped = wrap("  ", &text, "  ");
        assert!(wrapped.lines().count() > 1);
        assert!(wrapped.lines().all(|l| l.len() <= WIDTH));
        assert!(wrapped.lines().all(|l| l.starts_with("  word")));
        assert_eq!(wrapped.split_whitespace().count(), 40);
    }
}
