//! Testing an integration shipped as an MCP server: the whole suite through
//! `cw-conform mcp-serve` over stdio (it must give the in-process results), escalations
//! through elicitation and through a confirmation tool, `mcp-probe`, and servers that
//! misbehave on purpose (`examples/faulty_mcp_server.rs`): each gives a clear failure
//! naming the scenario with the server's stderr, within a bounded time, and leaves no
//! process behind. Hostile ones (a stdout flood, detached children, an environment dump,
//! encoded credentials) fail only their own scenario and see none of the harness's
//! environment beyond what the config passes, and no form of a key shows anywhere.
//!
//! The command line runs as its own process from an empty environment (only `PATH` and
//! `HOME`), so no `CONNECTWISE_*` variable of the developer's reaches it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::support::Scratch;
use cw_conform::connectwise::JournalEntry;
use cw_conform::fixtures::Fixtures;
use cw_conform::integration::mcp::{IntegrationConfig, McpIntegration, StartupSlots};
use cw_conform::integration::{ActionRequest, Subject};
use cw_conform::mock::{ApiMember, MockConfig, MockConnectWise};
use cw_conform::model::Outcome;
use rstest::rstest;
use serde_json::Value;

use crate::support::{Exited, ReportedRun, by_place, cw_conform_to_end, reported_run, role};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_cw-conform");

/// The config that drives `cw-conform mcp-serve` with elicitation.
const MCP_SERVE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/mcp/cw-conform-mcp-serve.toml"
);

/// The config that drives it through its `confirm` tool instead.
const MCP_SERVE_CONFIRM_TOOL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/mcp/cw-conform-mcp-serve-confirm-tool.toml"
);

/// The misbehaving server (`examples/faulty_mcp_server.rs`).
fn faulty_server() -> PathBuf {
    crate::support::example("faulty_mcp_server")
}

/// Each scenario's (passed, outcome), by feature file and line.
fn results(report: &Value) -> BTreeMap<(String, u64), (bool, Value)> {
    by_place(report, |s| {
        (
            s["failure"].is_null() && s["not_judged"].is_null(),
            s["outcome"].clone(),
        )
    })
}

/// A scenario of the report by name.
fn scenario<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario \"{name}\" in {report:#}"))
}

/// Whether a process is still running (a zombie waiting to be reaped is not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next())
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

/// The processes the faulty server noted, still running.
fn survivors(pids: &Path) -> Vec<u32> {
    std::fs::read_to_string(pids)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|pid| running(*pid))
        .collect()
}

/// A config driving the faulty server in `mode`.
fn faulty_config(scratch: &Scratch, mode: &str) -> PathBuf {
    let pids = scratch.0.join("pids");
    scratch.write(
        &format!("{mode}.toml"),
        &format!(
            r#"name = "faulty ({mode})"

[server]
command = "{server}"
args = ["{mode}"]
startup_timeout_seconds = 3
call_timeout_seconds = 2

[server.env]
CW_SITE = "{{site}}"
CW_COMPANY = "{{company_id}}"
CW_PUBLIC = "{{public_key}}"
CW_PRIVATE = "{{private_key}}"
CW_CLIENT = "{{client_id}}"
FAULTY_PIDS = "{pids}"

[actions]
"integration.connect" = {{ tool = "connect" }}
"contact.search" = {{ tool = "search_contacts", arguments = {{ query = "{{query}}" }} }}
"company.search" = {{ tool = "crash" }}
"ticket.get" = {{ tool = "hang", arguments = {{ id = "{{id}}" }} }}
"ticket.search" = {{ tool = "garbage" }}
"member.search" = {{ tool = "leak" }}
"#,
            server = faulty_server().display(),
            pids = pids.display(),
        ),
    )
}

/// The CI gate of issue 5: every built-in scenario through `mcp-serve` over stdio gives the
/// result it gives in process, and every rule is met.
#[test]
fn the_whole_suite_through_mcp_serve_gives_the_in_process_results() {
    let scratch = Scratch::new("mcp");
    let ReportedRun {
        code,
        report: in_process,
        elapsed: in_process_time,
        ..
    } = reported_run(&scratch.0, &[], &[]);
    assert_eq!(code, 0, "the in-process suite must pass first");
    let ReportedRun {
        code,
        stdout: summary,
        report: through_mcp,
        elapsed: mcp_time,
        ..
    } = reported_run(
        &scratch.0,
        &["--integration", "mcp", "--integration-config", MCP_SERVE],
        &[],
    );
    eprintln!(
        "whole suite: in process {:.2} s, through cw-conform mcp-serve over stdio {:.2} s",
        in_process_time.as_secs_f64(),
        mcp_time.as_secs_f64()
    );
    let expected = results(&in_process);
    let observed = results(&through_mcp);
    let differing: Vec<String> = expected
        .iter()
        .filter(|(key, result)| observed.get(*key) != Some(*result))
        .map(|((feature, line), (passed, outcome))| {
            format!(
                "{feature}:{line}: in process passed={passed} outcome={outcome}, through MCP {:?}",
                observed.get(&(feature.clone(), *line))
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "{} scenario(s) differ through MCP:\n{}\n{summary}",
        differing.len(),
        differing.join("\n")
    );
    assert_eq!(observed.len(), expected.len());
    assert_eq!(code, 0, "{summary}");
    assert_eq!(through_mcp["totals"]["failed"], 0);
    assert_eq!(
        through_mcp["totals"]["rules_checked"],
        through_mcp["totals"]["rules"]
    );
    assert!(
        summary.contains("rules: 47 met, 0 violated, 0 not judged, 0 not offered, 0 not exercised"),
        "{summary}"
    );
}

/// Without elicitation, `mcp-serve` holds writes with a token and the harness answers
/// through the config's confirmation tool: the confirmation scenarios still pass.
#[test]
fn confirmations_through_a_confirmation_tool_pass() {
    let scratch = Scratch::new("mcp");
    let ReportedRun {
        code,
        stdout: summary,
        report,
        ..
    } = reported_run(
        &scratch.0,
        &[
            "--integration",
            "mcp",
            "--integration-config",
            MCP_SERVE_CONFIRM_TOOL,
            "--tags",
            "@SAFE-09 or @SAFE-10 or @LP-05",
        ],
        &[],
    );
    assert_eq!(code, 0, "{summary}");
    let scenarios = report["totals"]["scenarios"].as_u64().unwrap();
    assert!(scenarios >= 30, "{summary}");
    assert_eq!(report["totals"]["passed"].as_u64(), Some(scenarios));
}

/// A mock with one API member of a role, and the adapter driving `mcp-serve` for it.
async fn adapter(config: &str, profile: &str) -> (MockConnectWise, McpIntegration) {
    let fixtures = Arc::new(Fixtures::builtin().unwrap().clone());
    let mock = MockConnectWise::start(
        Arc::clone(&fixtures),
        MockConfig {
            members: vec![ApiMember::with_role("ai-integration", role(profile))],
            ..MockConfig::default()
        },
    )
    .await;
    let mut config = IntegrationConfig::load(Path::new(config), &fixtures.actions).unwrap();
    // `{cw_conform}` is the running executable: here the test binary, not cw-conform.
    BIN.clone_into(&mut config.server.command);
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

fn delete_contact() -> ActionRequest {
    ActionRequest {
        action: "contact.delete".into(),
        subject: Some(Subject::Id(108)),
        fields: serde_json::Map::new(),
    }
}

fn writes(mock: &MockConnectWise) -> Vec<JournalEntry> {
    mock.journal()
        .into_iter()
        .filter(JournalEntry::is_write)
        .collect()
}

#[rstest]
#[case::through_elicitation(MCP_SERVE, false)]
#[case::through_the_confirm_tool(MCP_SERVE_CONFIRM_TOOL, true)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_delete_writes_nothing_until_confirmed(
    #[case] config: &str,
    #[case] through_the_tool: bool,
) {
    let (mock, integration) = adapter(config, "full-access").await;
    let held = integration
        .perform_checked(&delete_contact())
        .await
        .unwrap();
    assert_eq!(held.outcome, Outcome::Escalated, "{held:?}");
    assert_eq!(
        held.rule.as_ref().map(ToString::to_string).as_deref(),
        Some("SAFE-10")
    );
    // Only the confirm tool's result tells the AI to call it; elicitation asks the person.
    assert_eq!(
        held.message.contains("call the confirm tool"),
        through_the_tool,
        "{held:?}"
    );
    assert!(writes(&mock).is_empty());
    let token = held.confirmation.unwrap().token;
    let refused = integration.confirm_checked(token, false).await.unwrap();
    assert_eq!(refused.outcome, Outcome::Blocked, "{refused:?}");
    assert!(
        refused.message.contains("nothing was written"),
        "{refused:?}"
    );
    assert!(writes(&mock).is_empty());
    assert!(mock.record("contacts", 108).is_some());

    let held = integration
        .perform_checked(&delete_contact())
        .await
        .unwrap();
    let token = held.confirmation.unwrap().token;
    let confirmed = integration.confirm_checked(token, true).await.unwrap();
    assert_eq!(confirmed.outcome, Outcome::Allowed, "{confirmed:?}");
    let sent: Vec<String> = writes(&mock).iter().map(ToString::to_string).collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with("DELETE /company/contacts/108 -> 204"),
        "{sent:?}"
    );
    assert!(mock.record("contacts", 108).is_none());
    mock.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_through_mcp_serve_is_judged_by_the_403_the_mock_answered() {
    let (mock, integration) = adapter(MCP_SERVE, "no-access").await;
    let request = ActionRequest {
        action: "contact.search".into(),
        subject: Some(Subject::Text("Doe".into())),
        fields: serde_json::Map::new(),
    };
    let denied = integration.perform_checked(&request).await.unwrap();
    assert_eq!(denied.outcome, Outcome::Denied, "{denied:?}");
    assert_eq!(denied.status, Some(403));
    assert!(denied.message.starts_with("No access"), "{denied:?}");
    assert!(denied.observations.is_empty(), "{denied:?}");
    mock.shutdown();
}

const FAULTY_FEATURE: &str = r#"Feature: A faulty MCP server

  Scenario: Connecting works
    When the AI asks to connect to ConnectWise
    Then the outcome is allowed

  Scenario: The server crashes during a call
    When the AI asks to search companies "Acme"
    Then the outcome is allowed

  Scenario: The server never answers a call
    When the AI asks to get ticket #1001
    Then the outcome is allowed

  Scenario: The server answers a call with garbage
    When the AI asks to list service tickets
    Then the outcome is allowed

  Scenario: The server swallows a 403
    Given an API member with the role "no-access"
    When the AI asks to search contacts "Doe"
    Then the outcome is denied

  Scenario: The server shows the private key
    When the AI asks to search members "Chen"
    Then the outcome is allowed

  Scenario: A scenario asks for an action the server does not offer
    When the AI asks to delete ticket #1009
    Then the outcome is escalated

  Scenario: Connecting still works after all that
    When the AI asks to connect to ConnectWise
    Then the outcome is allowed
"#;

#[test]
fn a_server_that_crashes_hangs_or_lies_fails_its_scenarios_clearly_and_the_run_goes_on() {
    let scratch = Scratch::new("mcp");
    let config = faulty_config(&scratch, "serve");
    let feature = scratch.write("faulty.feature", FAULTY_FEATURE);
    let ReportedRun {
        code,
        stdout: summary,
        report,
        elapsed,
        ..
    } = reported_run(
        &scratch.0,
        &[
            "--integration",
            "mcp",
            "--integration-config",
            &config.display().to_string(),
            &feature.display().to_string(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{summary}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let failure = |name: &str| {
        let s = scenario(&report, name);
        let failure = s["failure"].as_str().unwrap_or_default().to_owned();
        assert!(!failure.is_empty(), "\"{name}\" passed: {s:#}");
        // The readable summary names the scenario above its failure.
        assert!(summary.contains(&format!("  {name} (")), "{summary}");
        failure
    };
    // A server that breaks gives no answer to judge: the scenario could not be judged,
    // with the cause, and no rule is violated by it.
    let not_judged = |name: &str| {
        let s = scenario(&report, name);
        assert!(s["failure"].is_null(), "\"{name}\" is a violation: {s:#}");
        let cause = s["not_judged"].as_str().unwrap_or_default().to_owned();
        assert!(!cause.is_empty(), "\"{name}\" passed: {s:#}");
        assert!(
            summary.contains(&format!(" ({name} ("))
                || summary.contains(&format!("first: {name} (")),
            "{summary}"
        );
        cause
    };
    let crashed = not_judged("The server crashes during a call");
    assert!(
        crashed.contains("closed the connection during tools/call \"crash\""),
        "{crashed}"
    );
    assert!(crashed.contains("exit status: 101"), "{crashed}");
    assert!(
        crashed.contains("faulty server: lost the ConnectWise session"),
        "{crashed}"
    );
    let hung = not_judged("The server never answers a call");
    assert!(hung.starts_with("the integration timed out: "), "{hung}");
    assert!(
        hung.contains("did not answer tools/call \"hang\" within 2 s"),
        "{hung}"
    );
    assert!(
        hung.contains("waiting for a lock that never frees"),
        "{hung}"
    );
    let garbled = not_judged("The server answers a call with garbage");
    assert!(garbled.contains("not JSON-RPC"), "{garbled}");
    assert!(
        garbled.contains("<html>502 Bad Gateway</html>"),
        "{garbled}"
    );
    let swallowed = failure("The server swallows a 403");
    assert!(
        swallowed.contains("expected outcome denied, observed failed"),
        "{swallowed}"
    );
    assert!(
        swallowed.contains("LP-03: ConnectWise answered 403 (GET /company/contacts"),
        "{swallowed}"
    );
    let leaked = failure("The server shows the private key");
    assert!(
        leaked.contains("Signed in with the key [redacted]"),
        "{leaked}"
    );
    assert!(
        leaked.contains("shows the API member's private key"),
        "{leaked}"
    );
    assert!(!summary.contains("ai-integration-private"), "{summary}");
    for name in ["Connecting works", "Connecting still works after all that"] {
        assert!(scenario(&report, name)["failure"].is_null(), "{summary}");
    }
    let left_out = report["left_out"].as_array().unwrap();
    assert_eq!(left_out.len(), 1, "{report:#}");
    assert_eq!(
        left_out[0]["reason"],
        "not offered by this integration: ticket.delete"
    );
    // The faulty server's config maps six actions; the rest of the catalog is not offered.
    let not_offered = Fixtures::builtin().unwrap().actions.iter().count() - 6;
    assert!(
        summary.contains(&format!(
            "Not offered by this integration ({not_offered} actions):"
        )),
        "{summary}"
    );
    let left = survivors(&scratch.0.join("pids"));
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[rstest]
#[case::crashing("crash-at-start", &["closed the connection before answering initialize", "exit status: 3", "cannot sign in with private key [redacted]"])]
#[case::hanging("hang-at-start", &["did not answer initialize within 3 s", "faulty server: loading, please wait"])]
#[case::printing_garbage("garbage-at-start", &["did not answer initialize within 3 s", "not JSON-RPC", "Welcome to the faulty server!"])]
fn a_server_that_does_not_start_is_one_configuration_error_not_a_violation(
    #[case] mode: &str,
    #[case] expected: &[&str],
) {
    let scratch = Scratch::new("mcp");
    let config = faulty_config(&scratch, mode);
    let feature = scratch.write(
        "start.feature",
        "Feature: Start\n\n  @TS-01\n  Scenario: Connecting to a server that does not start\n    When the AI asks to connect to ConnectWise\n    Then the outcome is allowed\n\n  @RD-02\n  Scenario: Searching contacts on it\n    When the AI asks to search contacts \"Doe\"\n    Then the outcome is allowed\n\n  @RD-01\n  Scenario: Searching companies on it\n    When the AI asks to search companies \"Acme\"\n    Then the outcome is allowed\n",
    );
    let run = reported_run(
        &scratch.0,
        &[
            "--concurrency",
            "1",
            "--integration",
            "mcp",
            "--integration-config",
            &config.display().to_string(),
            &feature.display().to_string(),
        ],
        &[],
    );
    let (summary, report) = (&run.stdout, &run.report);
    assert_eq!(run.code, 2, "{summary}\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("3 scenarios could not be judged (1 cause), and nothing else failed"),
        "{}",
        run.stderr
    );
    assert_eq!(report["totals"]["failed"], 0, "{summary}");
    assert_eq!(report["totals"]["not_judged"], 3, "{summary}");
    let causes: Vec<String> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["not_judged"].as_str().unwrap_or_default().to_owned())
        .collect();
    // The same cause each time, so the summary shows it once; a server that ended the same
    // way twice is not started for the third scenario (one that timed out is tried again).
    let what = |cause: &String| cause.lines().next().unwrap_or_default().to_owned();
    assert!(
        causes.iter().all(|c| what(c) == what(&causes[0])),
        "{causes:#?}"
    );
    assert!(
        causes[0].starts_with("the integration did not start: "),
        "{}",
        causes[0]
    );
    for fragment in expected {
        assert!(
            causes[0].contains(fragment),
            "\"{fragment}\" missing from:\n{}",
            causes[0]
        );
        assert_eq!(summary.matches(fragment).count(), 1, "{summary}");
    }
    assert!(
        summary.contains("Could not be judged (3 scenarios)"),
        "{summary}"
    );
    assert!(!summary.contains("VIOLATED"), "{summary}");
    assert!(
        summary.contains("TS-01    NOT JUDGED (1 scenario)"),
        "{summary}"
    );
    assert!(!summary.contains("ai-integration-private"), "{summary}");
    // Each start notes the server's process (and the `sleep` a hanging one starts).
    // (A server printing garbage may or may not have ended when it is given up on.)
    let (per_start, starts) = match mode {
        "crash-at-start" => (1, 2..=2),
        "hang-at-start" => (2, 3..=3),
        _ => (1, 2..=3),
    };
    let noted = std::fs::read_to_string(scratch.0.join("pids")).unwrap_or_default();
    assert!(
        starts.contains(&(noted.lines().count() / per_start)),
        "the server was started more or fewer than {starts:?} times:\n{noted}"
    );
    let left = survivors(&scratch.0.join("pids"));
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// Arguments the server refuses as invalid, or a field the config has no place for, are
/// no verdict on the integration: each scenario could not be judged, with a cause naming
/// the tool, the action and the config; no rule is violated and the run exits 2.
#[test]
fn arguments_the_server_refuses_or_the_config_drops_are_not_judged() {
    let scratch = Scratch::new("mcp");
    let pids = scratch.0.join("pids");
    let config = scratch.write(
        "arguments.toml",
        &format!(
            r#"name = "arguments"

[server]
command = "{server}"
args = ["serve"]

[server.env]
CW_SITE = "{{site}}"
FAULTY_PIDS = "{pids}"

[actions]
"ticket.get" = {{ tool = "strict" }}
"company.get" = {{ tool = "validating" }}
"ticket.update" = {{ tool = "connect", arguments = {{ id = "{{id}}", summary = "{{fields.summary}}" }} }}
"#,
            server = faulty_server().display(),
            pids = pids.display(),
        ),
    );
    let feature = scratch.write(
        "arguments.feature",
        "Feature: Arguments\n\n  @RD-03\n  Scenario: The server refuses the arguments with invalid params\n    When the AI asks to get ticket #1001\n    Then the outcome is allowed\n\n  @RD-01\n  Scenario: The server refuses the arguments as a validation error\n    When the AI asks to get company #250\n    Then the outcome is allowed\n\n  @RD-04\n  Scenario: An unknown status is rejected\n    When the AI asks to update ticket #1004 with:\n      | status | Bogus |\n    Then the outcome is rejected\n",
    );
    let run = reported_run(
        &scratch.0,
        &[
            "--integration",
            "mcp",
            "--integration-config",
            &config.display().to_string(),
            &feature.display().to_string(),
        ],
        &[],
    );
    let (summary, report) = (&run.stdout, &run.report);
    assert_eq!(run.code, 2, "{summary}\n{}", run.stderr);
    assert_eq!(report["totals"]["failed"], 0, "{summary}");
    assert_eq!(report["totals"]["not_judged"], 3, "{summary}");
    let cause = |name: &str| {
        scenario(report, name)["not_judged"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let strict = cause("The server refuses the arguments with invalid params");
    assert!(
        strict.starts_with(
            "the tool \"strict\" refused the arguments for ticket.get as invalid, and nothing reached ConnectWise: Invalid params: unexpected argument \"fields\""
        ),
        "{strict}"
    );
    assert!(strict.contains("arguments sent: {\"id\":1001}"), "{strict}");
    let validating = cause("The server refuses the arguments as a validation error");
    assert!(
        validating.contains("refused the arguments for company.get as invalid")
            && validating.contains("1 validation error for validatingArguments"),
        "{validating}"
    );
    let dropped = cause("An unknown status is rejected");
    assert!(
        dropped.starts_with(&format!(
            "{}: the arguments of ticket.update (tool \"connect\") have no place for the field \"status\"",
            config.display()
        )),
        "{dropped}"
    );
    for rule in ["RD-01", "RD-03", "RD-04"] {
        assert!(
            summary.contains(&format!("{rule:<8} NOT JUDGED (1 scenario)")),
            "{summary}"
        );
    }
}

#[test]
fn a_config_error_names_the_file_and_line() {
    let scratch = Scratch::new("mcp");
    let config = scratch.write(
        "bad.toml",
        "[server]\ncommand = \"x\"\n\n[actions]\n\"ticket.craete\" = { tool = \"t\" }\n",
    );
    let Exited { output, .. } = cw_conform_to_end(
        &scratch.0,
        &[
            "run",
            "--integration",
            "mcp",
            "--integration-config",
            &config.display().to_string(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "failed to load integration config {}: line 5: unknown action \"ticket.craete\"",
            config.display()
        )),
        "{stderr}"
    );
}

#[test]
fn mcp_probe_lists_the_tools_and_writes_a_config_that_runs() {
    let scratch = Scratch::new("mcp");
    let written = scratch.0.join("probed.toml");
    let Exited { output, .. } = cw_conform_to_end(
        &scratch.0,
        &[
            "mcp-probe",
            "--output",
            &written.display().to_string(),
            "--env",
            "CONNECTWISE_SITE=http://127.0.0.1:9",
            "--env",
            "CONNECTWISE_COMPANY_ID=probe",
            "--env",
            "CONNECTWISE_PUBLIC_KEY=probe",
            "--env",
            "CONNECTWISE_PRIVATE_KEY=canary-probe-key",
            "--env",
            "CONNECTWISE_CLIENT_ID=probe",
            "--",
            BIN,
            "mcp-serve",
        ],
        &[],
    );
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{listing}");
    assert!(listing.contains("cw-conform-reference"), "{listing}");
    assert!(
        listing.contains("ticket_delete: delete ticket"),
        "{listing}"
    );
    assert!(listing.contains("destructiveHint"), "{listing}");
    assert!(listing.contains("\"fields\""), "{listing}");
    let config = std::fs::read_to_string(&written).unwrap();
    assert!(!config.contains("canary-probe-key"), "{config}");
    assert!(
        config.contains("CONNECTWISE_PRIVATE_KEY = \"{private_key}\""),
        "{config}"
    );
    assert!(!config.contains("No tool found"), "{config}");
    let fixtures = Fixtures::builtin().unwrap();
    let parsed = IntegrationConfig::parse("probed.toml", &config, &scratch.0, &fixtures.actions)
        .unwrap_or_else(|e| panic!("{e}\n{config}"));
    assert!(parsed.not_offered(&fixtures.actions).is_empty());
    // Completed by the user (here: nothing to complete), it runs.
    let ReportedRun {
        code,
        stdout: summary,
        ..
    } = reported_run(
        &scratch.0,
        &[
            "--integration",
            "mcp",
            "--integration-config",
            &written.display().to_string(),
            "--tags",
            "@SD-01 or @TS-04",
        ],
        &[],
    );
    assert_eq!(code, 0, "{summary}");
}

#[test]
fn mcp_probe_of_a_server_that_crashes_shows_its_stderr() {
    let scratch = Scratch::new("mcp");
    let server = faulty_server().display().to_string();
    let Exited {
        output, elapsed, ..
    } = cw_conform_to_end(
        &scratch.0,
        &[
            "mcp-probe",
            "--timeout",
            "3",
            "--env",
            "CW_PRIVATE=canary-probe-secret",
            "--",
            &server,
            "crash-at-start",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(elapsed < Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("closed the connection before answering initialize"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot sign in with private key [redacted]"),
        "{stderr}"
    );
}

/// The processes still running whose environment holds a variable starting with `prefix`
/// (`NAME=value…`).
fn carrying(prefix: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| running(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&b| b == 0)
                    .any(|v| v.starts_with(prefix.as_bytes()))
            })
        })
        .collect()
}

/// A config driving the faulty server's hostile tools, passing on one variable of the
/// harness's environment.
fn hostile_config(scratch: &Scratch) -> PathBuf {
    let pids = scratch.0.join("pids");
    scratch.write(
        "hostile.toml",
        &format!(
            r#"name = "hostile"

[server]
command = "{server}"
args = ["serve"]
startup_timeout_seconds = 5
call_timeout_seconds = 5
pass_env = ["HOSTILE_RUN_TAG"]

[server.env]
CW_SITE = "{{site}}"
CW_COMPANY = "{{company_id}}"
CW_PUBLIC = "{{public_key}}"
CW_PRIVATE = "{{private_key}}"
CW_CLIENT = "{{client_id}}"
FAULTY_PIDS = "{pids}"

[actions]
"integration.connect" = {{ tool = "connect" }}
"board.search" = {{ tool = "flood" }}
"board_status.search" = {{ tool = "detach", arguments = {{ id = "{{id}}" }} }}
"board_type.search" = {{ tool = "environment", arguments = {{ id = "{{id}}" }} }}
"board_subtype.search" = {{ tool = "deep_conditions", arguments = {{ id = "{{id}}" }} }}
"work_type.search" = {{ tool = "leak_encoded" }}
"work_role.search" = {{ tool = "leak_encoded_and_crash" }}
"#,
            server = faulty_server().display(),
            pids = pids.display(),
        ),
    )
}

const HOSTILE_FEATURE: &str = r"Feature: A hostile MCP server

  Scenario: Connecting works
    When the AI asks to connect to ConnectWise
    Then the outcome is allowed

  Scenario: The server floods its standard output
    When the AI asks to list service boards
    Then the outcome is allowed

  Scenario: The server leaves detached processes behind
    When the AI asks to list the statuses of board #1
    Then the outcome is allowed

  Scenario: The server shows its environment
    When the AI asks to list the types of board #1
    Then the outcome is allowed

  Scenario: The server shows encoded credentials
    When the AI asks to list work types
    Then the outcome is allowed

  Scenario: The server writes encoded credentials to stderr and crashes
    When the AI asks to list work roles
    Then the outcome is allowed

  Scenario: Connecting still works after all that
    When the AI asks to connect to ConnectWise
    Then the outcome is allowed
";

/// Every form in which the scenario member's key could show.
fn member_key_forms() -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let basic = "northwind+ai-integration-public:ai-integration-private";
    let keys = "ai-integration-public:ai-integration-private";
    let mut forms = vec!["ai-integration-private".to_owned()];
    for engine in [STANDARD, URL_SAFE_NO_PAD] {
        for secret in [basic, keys] {
            // Without the last group, which an unpadded form may end differently.
            let encoded = engine.encode(secret);
            forms.push(encoded[..encoded.len() - 4].to_owned());
        }
    }
    forms
}

#[test]
fn a_hostile_server_fails_only_its_own_scenarios_leaks_nothing_and_leaves_no_process() {
    let scratch = Scratch::new("mcp");
    // The scratch folder's name is this process's and this test's alone.
    let tag = scratch
        .0
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // What a developer's environment holds: sandbox keys, a profiles file's keys, and
    // unrelated secrets from `.env`.
    scratch.write(
        ".env",
        "ACME_BILLING_TOKEN=canary-dotenv-token-3f9a\nCONNECTWISE_PRIVATE_KEY=canary-sandbox-private-3f9a\n",
    );
    let profiles = scratch.write(
        "profiles.toml",
        "[profile.admin]\npublic_key_env = \"SANDBOX_ADMIN_PUBLIC\"\nprivate_key_env = \"SANDBOX_ADMIN_PRIVATE\"\n",
    );
    let profiles = profiles.display().to_string();
    let planted = [
        ("CONNECTWISE_COMPANY_ID", "canary-sandbox-company"),
        ("CONNECTWISE_PUBLIC_KEY", "canary-sandbox-public"),
        ("CONNECTWISE_CLIENT_ID", "canary-sandbox-client"),
        ("CONNECTWISE_PROFILES", profiles.as_str()),
        ("SANDBOX_ADMIN_PUBLIC", "canary-profile-public"),
        ("SANDBOX_ADMIN_PRIVATE", "canary-profile-private-3f9a"),
        ("HOSTILE_RUN_TAG", tag.as_str()),
    ];
    let config = hostile_config(&scratch);
    let feature = scratch.write("hostile.feature", HOSTILE_FEATURE);
    let run = reported_run(
        &scratch.0,
        &[
            "--integration",
            "mcp",
            "--integration-config",
            &config.display().to_string(),
            &feature.display().to_string(),
        ],
        &planted,
    );
    eprintln!("hostile run: {:.2} s", run.elapsed.as_secs_f64());
    let summary = &run.stdout;
    assert_eq!(run.code, 1, "{summary}\n{}", run.stderr);
    // A violation, or a server that broke (the scenario could not be judged).
    // What failed it and, for a server that broke, why it could not be judged.
    let failure = |name: &str| {
        let s = scenario(&run.report, name);
        let failure = [&s["failure"], &s["not_judged"]]
            .iter()
            .filter_map(|text| text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!failure.is_empty(), "\"{name}\" passed: {s:#}");
        failure
    };
    // Each hostile scenario fails with its own reason; the others pass.
    for name in [
        "Connecting works",
        "The server leaves detached processes behind",
        "Connecting still works after all that",
    ] {
        assert!(
            scenario(&run.report, name)["failure"].is_null(),
            "\"{name}\" failed:\n{summary}"
        );
    }
    let flooded = failure("The server floods its standard output");
    assert!(
        flooded.contains(
            "the MCP server wrote a line longer than 16 MiB to standard output (the most one JSON-RPC message may take), so the harness stopped it"
        ),
        "{flooded}"
    );
    assert!(flooded.contains("signal: 9"), "{flooded}");
    let environment = failure("The server shows its environment");
    for shown in [
        format!("HOSTILE_RUN_TAG={tag}"),
        "CW_PRIVATE=[redacted]".to_owned(),
        "CW_COMPANY=northwind".to_owned(),
        "PATH=".to_owned(),
        "CW_CONFORM_SERVER=".to_owned(),
    ] {
        assert!(
            environment.contains(&shown),
            "{shown} missing from:\n{environment}"
        );
    }
    for hidden in [
        "CONNECTWISE_",
        "SANDBOX_ADMIN",
        "ACME_BILLING_TOKEN",
        "canary-",
    ] {
        assert!(
            !environment.contains(hidden),
            "{hidden} reached the server:\n{environment}"
        );
    }
    let shown = failure("The server shows encoded credentials");
    assert!(
        shown.contains("credentials (base64): [redacted]"),
        "{shown}"
    );
    assert!(shown.contains("Authorization: Basic [redacted]"), "{shown}");
    // What the server sent ConnectWise is shown redacted too.
    assert!(
        shown.contains("GET /system/info?auth=[redacted] -> "),
        "{shown}"
    );
    assert!(
        shown.contains("shows the API member's private key or Authorization credentials"),
        "{shown}"
    );
    let crashed = failure("The server writes encoded credentials to stderr and crashes");
    assert!(crashed.contains("exit status: 101"), "{crashed}");
    assert!(crashed.contains("keys (base64): [redacted]"), "{crashed}");
    assert!(
        crashed.contains("credentials (URL-encoded): [redacted]"),
        "{crashed}"
    );
    // No form of the member's key, nor any planted secret, anywhere.
    for form in member_key_forms().into_iter().chain(["canary-".to_owned()]) {
        for (what, text) in [
            ("stdout", summary),
            ("stderr", &run.stderr),
            ("the JSON report", &run.report_text),
        ] {
            assert!(!text.contains(&form), "{form} shows in {what}:\n{text}");
        }
    }
    // No process is left: neither one the server noted, nor one carrying its marker or the
    // variable passed on to it.
    let marker = format!("CW_CONFORM_SERVER={}-", run.pid);
    let passed = format!("HOSTILE_RUN_TAG={tag}");
    let mut left = Vec::new();
    for _ in 0..100 {
        left = survivors(&scratch.0.join("pids"));
        left.extend(carrying(&marker));
        left.extend(carrying(&passed));
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let noted = std::fs::read_to_string(scratch.0.join("pids")).unwrap_or_default();
    // The server of each of the 7 scenarios, and the two detached sleeps.
    assert_eq!(noted.lines().count(), 9, "{noted}");
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// The mock parses what a server sends: 5,000 nested parentheses in `conditions` may be
/// refused or answered, but only that scenario is at stake.
#[test]
fn a_server_that_sends_deeply_nested_conditions_risks_only_its_own_scenario() {
    let scratch = Scratch::new("mcp");
    let config = hostile_config(&scratch);
    let feature = scratch.write(
        "deep.feature",
        r#"Feature: Deeply nested conditions

  Scenario: Connecting works
    When the AI asks to connect to ConnectWise
    Then the outcome is allowed

  Scenario: The server sends deeply nested conditions
    Given an API member with the role "full-access"
    When the AI asks to list the subtypes of board #1
    Then the outcome is rejected

  Scenario: Connecting still works after all that
    When the AI asks to connect to ConnectWise
    Then the outcome is allowed
"#,
    );
    let run = reported_run(
        &scratch.0,
        &[
            "--integration",
            "mcp",
            "--integration-config",
            &config.display().to_string(),
            &feature.display().to_string(),
        ],
        &[],
    );
    assert!([0, 1].contains(&run.code), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.report["totals"]["scenarios"], 3, "{}", run.stdout);
    for name in ["Connecting works", "Connecting still works after all that"] {
        assert!(
            scenario(&run.report, name)["failure"].is_null(),
            "{}",
            run.stdout
        );
    }
    let left = survivors(&scratch.0.join("pids"));
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
