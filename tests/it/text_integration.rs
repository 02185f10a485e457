//! A conforming integration that answers in plain text and Markdown through FastMCP's
//! `{"result": "<text>"}` wrapping (`examples/text_integration.rs`, driven by
//! `fixtures/mcp/text-integration.toml`): the whole suite through it meets every rule it
//! exercises and violates none, and each form it writes (a table, a sentence, a denial in
//! its own words, a failure in words, missing fields in words) is read as what it says.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::support::Scratch;
use cw_conform::fixtures::Fixtures;
use cw_conform::integration::mcp::reply::Records;
use cw_conform::integration::mcp::{IntegrationConfig, McpIntegration, StartupSlots};
use cw_conform::integration::{ActionRequest, Subject, ToolResult};
use cw_conform::mock::{ApiMember, MockConfig, MockConnectWise};
use cw_conform::model::{Level, Levels, Outcome, SecurityRole};
use serde_json::{Map, Value, json};

use crate::support::{role, role_granting};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_cw-conform");

/// The shipped config for the text server.
const CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/mcp/text-integration.toml"
);

/// The command line of the shipped config (relative to its folder).
const SHIPPED_COMMAND: &str = r#"command = "../../target/debug/examples/text_integration""#;

/// The text server, built by `cargo test` with the other examples.
fn text_server() -> PathBuf {
    let path = Path::new(BIN)
        .parent()
        .unwrap()
        .join("examples")
        .join("text_integration");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it (or run `cargo build --example text_integration`)",
        path.display()
    );
    path
}

/// The shipped config with the command of the text server this build made (the target
/// folder may be elsewhere than the config's `../../target`).
fn config_text() -> String {
    let shipped = std::fs::read_to_string(CONFIG).unwrap();
    assert!(shipped.contains(SHIPPED_COMMAND), "{shipped}");
    shipped.replace(
        SHIPPED_COMMAND,
        &format!(
            "command = {}",
            Value::from(text_server().display().to_string())
        ),
    )
}

#[test]
fn the_whole_suite_through_a_server_answering_in_text_meets_every_rule_it_exercises() {
    let scratch = Scratch::new("text");
    let config = scratch.0.join("text-integration.toml");
    std::fs::write(&config, config_text()).unwrap();
    let report = scratch.0.join("report.json");
    let output = Command::new(BIN)
        .args(["run", "--quiet", "--format", "json", "--output"])
        .arg(&report)
        .args(["--integration", "mcp", "--integration-config"])
        .arg(&config)
        .current_dir(&scratch.0)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &scratch.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&output.stdout);
    let report: Value =
        crate::support::run_report(&std::fs::read_to_string(&report).unwrap_or_else(|_| {
            panic!(
                "no report; stdout:\n{summary}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        }));
    let failed: Vec<String> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["failure"].is_null())
        .map(|s| {
            format!(
                "{}:{} {}\n{}",
                s["feature"], s["line"], s["name"], s["failure"]
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} scenario(s) fail through the text server:\n{}",
        failed.len(),
        failed.join("\n\n")
    );
    assert_eq!(output.status.code(), Some(0), "{summary}");
    let totals = &report["totals"];
    assert!(totals["scenarios"].as_u64().unwrap() >= 290, "{totals}");
    assert_eq!(totals["passed"], totals["scenarios"], "{totals}");
    assert_eq!(totals["rules_checked"], totals["rules"], "{totals}");
    assert!(summary.contains(" 0 violated"), "{summary}");
}

/// A mock with one API member of `role`, and the adapter driving the text server for it.
async fn adapter(role: SecurityRole) -> (MockConnectWise, McpIntegration) {
    let fixtures = Arc::new(Fixtures::builtin().unwrap().clone());
    let mock = MockConnectWise::start(
        Arc::clone(&fixtures),
        MockConfig {
            members: vec![ApiMember::with_role("ai-integration", role)],
            ..MockConfig::default()
        },
    )
    .await;
    let scratch = Scratch::new("text");
    let path = scratch.0.join("text-integration.toml");
    std::fs::write(&path, config_text()).unwrap();
    let config = IntegrationConfig::load(&path, &fixtures.actions).unwrap();
    let credentials = mock.credentials_for("ai-integration").unwrap();
    let integration = McpIntegration::start(
        Arc::new(config),
        fixtures,
        &credentials,
        vec![mock.journal_reader()],
        &StartupSlots::per_cpu(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    (mock, integration)
}

fn request(action: &str, subject: Option<Subject>, fields: Value) -> ActionRequest {
    let fields = match fields {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    ActionRequest {
        action: action.into(),
        subject,
        fields,
    }
}

async fn performed(integration: &McpIntegration, request: &ActionRequest) -> ToolResult {
    integration.perform_checked(request).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_form_the_text_server_writes_is_read_as_what_it_says() {
    let (mock, integration) = adapter(role("read-only-discovery")).await;
    let search = request(
        "company.search",
        Some(Subject::Text("Acme".into())),
        json!({}),
    );
    let found = performed(&integration, &search).await;
    assert_eq!(found.outcome, Outcome::Allowed, "{found:?}");
    assert!(
        found.message.contains("| ID | Identifier | Name |"),
        "{found:?}"
    );
    let records = Records::read(&found.data);
    assert!(records.includes_named("Acme Corporation"), "{records:?}");
    assert_eq!(records.ids(), vec![19], "{records:?}");

    let create = request(
        "ticket.create",
        None,
        json!({"summary": "Printer on fire", "company": "Acme"}),
    );
    let denied = performed(&integration, &create).await;
    assert_eq!(denied.outcome, Outcome::Denied, "{denied:?}");
    assert!(
        denied
            .message
            .contains("(Service Desk / Service Tickets / Add)")
            && !denied.message.contains("permission Add"),
        "{denied:?}"
    );
    assert!(denied.observations.is_empty(), "{denied:?}");
    assert_eq!(denied.data, Value::Null, "{denied:?}");
    mock.shutdown();

    let (mock, integration) = adapter(role("full-access")).await;
    let without_summary = request("ticket.create", None, json!({"company": "Acme"}));
    let failed = performed(&integration, &without_summary).await;
    assert_eq!(failed.outcome, Outcome::Failed, "{failed:?}");
    assert!(
        failed
            .message
            .starts_with("Failed to create a service ticket: ConnectWise said 400"),
        "{failed:?}"
    );
    // Reported in words, so not a success the journal contradicts.
    assert!(failed.observations.is_empty(), "{failed:?}");

    let created = performed(
        &integration,
        &request(
            "ticket.create",
            None,
            json!({"summary": "Printer on fire", "company": "Acme"}),
        ),
    )
    .await;
    assert_eq!(created.outcome, Outcome::Allowed, "{created:?}");
    let created_id = Records::read(&created.data).ids();
    assert_eq!(created_id.len(), 1, "{created:?}");
    assert!(
        mock.record("tickets", created_id[0]).is_some(),
        "{created:?}"
    );
    mock.shutdown();

    let tickets_only = role_granting(
        "Service Desk / Service Tickets",
        Levels {
            inquire: Level::All,
            ..Levels::default()
        },
    );
    let (mock, integration) = adapter(tickets_only).await;
    let read = performed(
        &integration,
        &request("ticket.get", Some(Subject::Id(1004)), json!({})),
    )
    .await;
    assert_eq!(read.outcome, Outcome::Partial, "{read:?}");
    // Boards and statuses are setup tables, readable without their own grant (the mock's
    // default `setup_table_reads = "open"`); the company and the owner are not.
    assert_eq!(
        read.missing,
        ["company", "owner"].map(String::from),
        "{read:?}"
    );
    let records = Records::read(&read.data);
    assert_eq!(records.ids(), vec![1004], "{read:?}");
    assert!(
        records.includes_named("VPN drops every 30 minutes"),
        "{records:?}"
    );
    mock.shutdown();
}
