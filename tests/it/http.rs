//! Integrations served over Streamable HTTP, in both forms of `transport = "http"`:
//!
//! - started by the harness (`cw-conform mcp-serve --http 127.0.0.1:{port}`, the shipped
//!   `fixtures/mcp/cw-conform-mcp-serve-http.toml`): a representative set of scenarios
//!   (escalations through elicitation, denials, wrong settings, roles, paging) gives the
//!   verdicts it gives in process, which `tests/it/mcp.rs` holds the stdio run to as well;
//! - already running (`url` alone): the reference integration served by the test itself,
//!   configured with the mock address the run prints, each scenario finding a fresh
//!   ConnectWise there; a server that stops answering mid-run leaves its scenarios not
//!   judged, and the run goes on to its end;
//! - a hosted server that wants its own credential: given `[server.headers]` with the token
//!   from the environment it serves the scenarios, without it it refuses (401) and nothing
//!   passes, showing the token back breaks INT-01, and the token shows nowhere;
//! - config errors naming the file, the line and the value.
//!
//! Everything listens on 127.0.0.1; the command line runs from an empty environment.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cw_conform::connectwise::Client;
use cw_conform::fixtures::Fixtures;
use cw_conform::harness::world::api_member_credentials;
use cw_conform::integration::mcp::server::{
    ReferenceServer, RequiredHeader, serve_streamable_http_requiring,
};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ListToolsResult, PaginatedRequestParams, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler};
use serde_json::Value;

use crate::support::{
    Exited, ReportedRun, Scratch, by_place, cw_conform_to_end, place, reported_run,
};

/// The shipped config that starts `cw-conform mcp-serve --http` for each scenario.
const MCP_SERVE_HTTP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/mcp/cw-conform-mcp-serve-http.toml"
);

/// Scenarios that cover what a transport can get wrong: writes held and confirmed through
/// elicitation (SAFE-09), wrong settings and sites (TS-01), roles and their denials
/// (LP-01, SD-01), searches and pages (RD-04). The whole suite (310 scenarios) takes about
/// 3 minutes over HTTP on 2 busy cores; `tests/it/mcp.rs` runs it whole over stdio.
const REPRESENTATIVE: &str = "@SAFE-09 or @TS-01 or @LP-01 or @SD-01 or @RD-04";

/// Whether a scenario of a report passed: it neither failed nor stopped unjudged or on a
/// feature error.
fn passed(scenario: &Value) -> bool {
    ["failure", "not_judged", "feature_error"]
        .iter()
        .all(|field| scenario[field].is_null())
}

/// Each scenario's verdict (passed, outcome, not judged), by feature file and line.
type Verdicts = BTreeMap<(String, u64), (bool, Value, bool)>;

/// The [`Verdicts`] of a JSON report.
fn verdicts(report: &Value) -> Verdicts {
    by_place(report, |s| {
        (passed(s), s["outcome"].clone(), !s["not_judged"].is_null())
    })
}

/// The scenarios whose verdict differs from `expected`'s, each explained.
fn differing(expected: &Verdicts, observed: &Verdicts) -> Vec<String> {
    observed
        .iter()
        .filter(|(key, verdict)| expected.get(*key) != Some(*verdict))
        .map(|((feature, line), verdict)| {
            format!(
                "{feature}:{line}: in process {:?}, over HTTP {verdict:?}",
                expected.get(&(feature.clone(), *line))
            )
        })
        .collect()
}

/// Fails the test, naming each scenario whose verdict in `observed` is not the one it has
/// `in_process` and showing `observed`'s summary, unless none differs; `how` words the
/// observed run ("over HTTP"). Returns both runs' verdicts, in-process first.
fn assert_verdicts_as_in_process(
    in_process: &ReportedRun,
    observed: &ReportedRun,
    how: &str,
) -> (Verdicts, Verdicts) {
    let expected = verdicts(&in_process.report);
    let seen = verdicts(&observed.report);
    let differ = differing(&expected, &seen);
    assert!(
        differ.is_empty(),
        "{} scenario(s) differ {how}:\n{}\n{}",
        differ.len(),
        differ.join("\n"),
        observed.stdout
    );
    (expected, seen)
}

#[test]
fn scenarios_through_mcp_serve_started_over_http_give_the_in_process_verdicts() {
    let scratch = Scratch::new("http");
    let in_process = reported_run(&scratch.0, &["--tags", REPRESENTATIVE], &[]);
    assert_eq!(in_process.code, 0, "{}", in_process.stdout);
    let over_http = reported_run(
        &scratch.0,
        &[
            "--tags",
            REPRESENTATIVE,
            "--integration",
            "mcp",
            "--integration-config",
            MCP_SERVE_HTTP,
        ],
        &[],
    );
    let (expected, observed) = assert_verdicts_as_in_process(&in_process, &over_http, "over HTTP");
    assert_eq!(observed.len(), expected.len(), "{}", over_http.stdout);
    assert!(observed.len() > 40, "{} scenarios", observed.len());
    assert_eq!(
        over_http.code, 0,
        "{}\n{}",
        over_http.stdout, over_http.stderr
    );
    // Held writes were confirmed and refused through elicitation over HTTP.
    let escalations = over_http.report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["steps"].as_array().into_iter().flatten())
        .filter(|step| {
            step["text"]
                .as_str()
                .is_some_and(|t| t.ends_with("the outcome is escalated"))
                && step["status"] == "passed"
        })
        .count();
    assert!(escalations > 5, "{escalations} escalations");
    assert_eq!(
        over_http.report["integration"]["transport"],
        "Streamable HTTP at http://127.0.0.1:{port}/mcp, started by the harness"
    );
    assert!(
        over_http.stdout.contains(
            "Reached over Streamable HTTP at http://127.0.0.1:{port}/mcp, started by the harness."
        ),
        "{}",
        over_http.stdout
    );
}

/// The reference integration, answering the first `answers` tool calls of its whole life
/// and then none: it stops answering mid-run, as a hosted server whose backend hangs. With
/// `flood`, it answers each call with a text of that many bytes instead; with `echo`, with
/// a text that shows the `Authorization` header the call came with.
struct Tiring {
    inner: ReferenceServer,
    calls: Arc<AtomicUsize>,
    answers: usize,
    flood: Option<usize>,
    echo: bool,
}

impl ServerHandler for Tiring {
    fn get_info(&self) -> ServerConfig {
        self.inner.get_info()
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.inner.list_tools(request, context).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.answers {
            std::future::pending::<()>().await;
        }
        if self.echo {
            let authorization = context
                .extensions
                .get::<hyper::http::request::Parts>()
                .and_then(|parts| parts.headers.get(hyper::header::AUTHORIZATION))
                .and_then(|value| value.to_str().ok())
                .unwrap_or("none")
                .to_owned();
            return Ok(CallToolResponse::from(
                rmcp::model::CallToolResult::success(vec![rmcp::model::ContentBlock::text(
                    format!("Signed in to Acme with {authorization}; 3 tickets found."),
                )]),
            ));
        }
        if let Some(bytes) = self.flood {
            return Ok(CallToolResponse::from(
                rmcp::model::CallToolResult::success(vec![rmcp::model::ContentBlock::text(
                    "x".repeat(bytes),
                )]),
            ));
        }
        self.inner.call_tool(request, context).await
    }
}

/// A free port of 127.0.0.1 for the mock address (free now; the run binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves the reference integration over Streamable HTTP from this test, configured as the
/// run will print (its ConnectWise at `127.0.0.1:mock_port`), answering `answers` tool
/// calls (`usize::MAX`: all), each with a text of `flood` bytes if given. Returns its URL.
async fn serve_reference(mock_port: u16, answers: usize, flood: Option<usize>) -> String {
    serve_reference_requiring(mock_port, answers, flood, None, false).await
}

/// [`serve_reference`], refusing (401) every request without the `required` header, and
/// with `echo` answering each call with the `Authorization` header it came with.
async fn serve_reference_requiring(
    mock_port: u16,
    answers: usize,
    flood: Option<usize>,
    required: Option<RequiredHeader>,
    echo: bool,
) -> String {
    let credentials = api_member_credentials(&format!("http://127.0.0.1:{mock_port}"));
    let client = Client::new(credentials).unwrap();
    let fixtures = Arc::new(Fixtures::builtin().unwrap().clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    tokio::spawn(serve_streamable_http_requiring(
        listener,
        move || {
            Ok(Tiring {
                inner: ReferenceServer::new(client.clone(), Arc::clone(&fixtures)),
                calls: Arc::clone(&calls),
                answers,
                flood,
                echo,
            })
        },
        required,
    ));
    url
}

/// The shipped config's actions, for a server already running at `url`.
/// The arguments of a run of the scenarios `tags` through the server already running that
/// `config` names, with the mock ConnectWise at `mock_addr`.
fn hosted_args<'a>(tags: &'a str, config: &'a str, mock_addr: &'a str) -> [&'a str; 8] {
    [
        "--tags",
        tags,
        "--integration",
        "mcp",
        "--integration-config",
        config,
        "--mock-addr",
        mock_addr,
    ]
}

fn running_config(scratch: &Scratch, url: &str, call_timeout: u64) -> String {
    let shipped = include_str!("../../fixtures/mcp/cw-conform-mcp-serve.toml");
    let actions = shipped.split_once("[actions]").unwrap().1;
    scratch
        .write(
            "hosted.toml",
            &format!(
                "name = \"Acme hosted\"\n[server]\ntransport = \"http\"\nurl = \"{url}\"\ncall_timeout_seconds = {call_timeout}\n[actions]{actions}"
            ),
        )
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_already_running_gets_one_mock_address_and_each_scenario_a_fresh_mock() {
    let scratch = Scratch::new("http");
    let mock_port = free_port();
    let url = serve_reference(mock_port, usize::MAX, None).await;
    let config = running_config(&scratch, &url, 30);
    let mock_addr = format!("127.0.0.1:{mock_port}");
    let (in_process, hosted) = tokio::task::spawn_blocking(move || {
        let in_process = reported_run(&scratch.0, &["--tags", REPRESENTATIVE], &[]);
        let hosted = reported_run(
            &scratch.0,
            &hosted_args(REPRESENTATIVE, &config, &mock_addr),
            &[],
        );
        (in_process, hosted)
    })
    .await
    .unwrap();
    // The run said what to configure before it ran.
    for line in [
        &format!("It serves one at http://127.0.0.1:{mock_port}"),
        &format!("ConnectWise site  http://127.0.0.1:{mock_port}"),
        "company ID        northwind",
        "public key        ai-integration-public",
        "client ID         5c9f3d2e-8a41-4b6f-9e07-1d2c3b4a5f60",
    ] {
        assert!(hosted.stderr.contains(line), "{line}\n{}", hosted.stderr);
    }
    // Every scenario that ran gives its in-process verdict: each found the seed data and
    // its own role, whatever the scenarios before it wrote or were given.
    let (expected, observed) =
        assert_verdicts_as_in_process(&in_process, &hosted, "against the server already running");
    let roles: std::collections::BTreeSet<&str> = hosted.report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["steps"].as_array().into_iter().flatten())
        .filter_map(|step| step["text"].as_str())
        .filter_map(|text| {
            text.split_once("an API member with the role \"")
                .map(|(_, r)| r)
        })
        .collect();
    assert!(roles.len() > 2, "{roles:?}");
    // Those that give the integration other settings are left out, each with the reason.
    let left_out = hosted.report["left_out"].as_array().unwrap();
    assert_eq!(observed.len() + left_out.len(), expected.len());
    assert!(!left_out.is_empty());
    for left in left_out {
        let reason = left["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("needs a server started for it, not one already running: "),
            "{reason}"
        );
        assert!(expected.contains_key(&place(left)), "{left}");
    }
    assert!(
        left_out.iter().any(|l| l["reason"]
            .as_str()
            .unwrap()
            .contains("a wrong private key")),
        "{left_out:?}"
    );
    assert_eq!(hosted.code, 0, "{}\n{}", hosted.stdout, hosted.stderr);
    assert_eq!(
        hosted.report["integration"]["transport"],
        format!("Streamable HTTP, already running at {url}")
    );
}

/// The token the hosted server of [`a_hosted_server_gets_its_credential_header_and_never_sees_it_shown`]
/// requires; never in its config file.
const TOKEN: &str = "acme-mcp-token-5f1c9e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_server_gets_its_credential_header_and_never_sees_it_shown() {
    let scratch = Scratch::new("http");
    let mock_port = free_port();
    let required = RequiredHeader {
        name: hyper::header::AUTHORIZATION,
        value: hyper::header::HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    };
    let url = serve_reference_requiring(mock_port, usize::MAX, None, Some(required), false).await;
    let bare = running_config(&scratch, &url, 30);
    let with_header = with_authorization(&scratch, &bare);
    let mock_addr = format!("127.0.0.1:{mock_port}");
    let (with, without) = tokio::task::spawn_blocking(move || {
        let token = [("ACME_MCP_TOKEN", TOKEN)];
        let with = reported_run(
            &scratch.0,
            &hosted_args("@SD-01", &with_header, &mock_addr),
            &token,
        );
        let without = reported_run(
            &scratch.0,
            &hosted_args("@SD-01", &bare, &mock_addr),
            &token,
        );
        (with, without)
    })
    .await
    .unwrap();
    // With its credential, the server serves the scenarios.
    let scenarios = with.report["scenarios"].as_array().unwrap();
    assert!(!scenarios.is_empty(), "{}", with.stdout);
    assert!(scenarios.iter().all(passed), "{}", with.stdout);
    assert_eq!(with.code, 0, "{}\n{}", with.stdout, with.stderr);
    // Without it, the server refuses the connection and nothing is judged.
    let scenarios = without.report["scenarios"].as_array().unwrap();
    assert!(!scenarios.is_empty(), "{}", without.stdout);
    assert!(!scenarios.iter().any(passed), "{}", without.stdout);
    for scenario in scenarios {
        let cause = scenario["not_judged"]
            .as_str()
            .unwrap_or_else(|| panic!("{scenario}"));
        assert!(
            cause.contains("refused the connection: 401 Unauthorized"),
            "{cause}"
        );
    }
    assert_eq!(without.code, 2, "{}\n{}", without.stdout, without.stderr);
    // The token shows nowhere: neither in what the runs print nor in their reports.
    for run in [&with, &without] {
        for shown in [&run.stdout, &run.stderr, &run.report.to_string()] {
            assert!(!shown.contains(TOKEN), "{shown}");
        }
    }
}

/// The config at `bare` with the `Authorization` header that takes [`TOKEN`] from
/// `ACME_MCP_TOKEN`; the token itself is not in the file.
fn with_authorization(scratch: &Scratch, bare: &str) -> String {
    let text = std::fs::read_to_string(bare).unwrap().replacen(
        "[actions]",
        "[server.headers]\nAuthorization = \"Bearer {env:ACME_MCP_TOKEN}\"\n[actions]",
        1,
    );
    assert!(!text.contains(TOKEN));
    scratch
        .write("hosted-auth.toml", &text)
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_shows_its_own_credential_in_a_result_breaks_int_01() {
    let scratch = Scratch::new("http");
    let mock_port = free_port();
    let url = serve_reference_requiring(mock_port, usize::MAX, None, None, true).await;
    let config = with_authorization(&scratch, &running_config(&scratch, &url, 30));
    let mock_addr = format!("127.0.0.1:{mock_port}");
    let echoed = tokio::task::spawn_blocking(move || {
        reported_run(
            &scratch.0,
            &hosted_args("@SD-01", &config, &mock_addr),
            &[("ACME_MCP_TOKEN", TOKEN)],
        )
    })
    .await
    .unwrap();
    let leaks: Vec<&Value> = echoed.report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["findings"].as_array().into_iter().flatten())
        .filter(|f| f["id"] == "INT-01")
        .collect();
    assert!(!leaks.is_empty(), "{}", echoed.stdout);
    assert!(
        echoed.report["integrity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "INT-01" && c["verdict"] == "broken"),
        "{}",
        echoed.report["integrity"]
    );
    assert_eq!(echoed.code, 1, "{}\n{}", echoed.stdout, echoed.stderr);
    for shown in [&echoed.stdout, &echoed.stderr, &echoed.report.to_string()] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_mid_run_leaves_its_scenarios_not_judged_and_the_run_ends() {
    let scratch = Scratch::new("http");
    let mock_port = free_port();
    // Enough answers for the first scenarios, then none.
    let url = serve_reference(mock_port, 3, None).await;
    let config = running_config(&scratch, &url, 1);
    let mock_addr = format!("127.0.0.1:{mock_port}");
    let hosted = tokio::task::spawn_blocking(move || {
        reported_run(&scratch.0, &hosted_args("@SD-01", &config, &mock_addr), &[])
    })
    .await
    .unwrap();
    let scenarios = hosted.report["scenarios"].as_array().unwrap();
    let not_judged: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s["not_judged"].as_str())
        .collect();
    assert!(scenarios.iter().any(passed), "{}", hosted.stdout);
    assert!(!not_judged.is_empty(), "{}", hosted.stdout);
    for cause in &not_judged {
        assert!(
            cause.contains(&format!("the MCP server `{url}` did not answer tools/call"))
                && cause.contains("within 1 s"),
            "{cause}"
        );
    }
    assert_eq!(hosted.report["totals"]["failed"], 0, "{}", hosted.stdout);
    assert_eq!(
        usize::try_from(hosted.report["totals"]["scenarios"].as_u64().unwrap()).unwrap(),
        scenarios.len()
    );
    // Not a verdict against the integration: a configuration or harness error.
    assert_eq!(hosted.code, 2, "{}\n{}", hosted.stdout, hosted.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_beyond_the_bound_on_one_message_is_not_judged() {
    let scratch = Scratch::new("http");
    let mock_port = free_port();
    // 20 MiB: beyond the 16 MiB one JSON-RPC message may take, over stdio or HTTP.
    let url = serve_reference(mock_port, usize::MAX, Some(20 * 1024 * 1024)).await;
    let config = running_config(&scratch, &url, 30);
    let mock_addr = format!("127.0.0.1:{mock_port}");
    let hosted = tokio::task::spawn_blocking(move || {
        reported_run(&scratch.0, &hosted_args("@SD-01", &config, &mock_addr), &[])
    })
    .await
    .unwrap();
    let scenarios = hosted.report["scenarios"].as_array().unwrap();
    assert!(!scenarios.is_empty());
    for scenario in scenarios {
        let cause = scenario["not_judged"]
            .as_str()
            .unwrap_or_else(|| panic!("{scenario}"));
        assert!(cause.contains("16 MiB"), "{cause}");
    }
    assert_eq!(hosted.code, 2, "{}\n{}", hosted.stdout, hosted.stderr);
}

#[test]
fn a_config_error_names_the_file_the_line_and_the_value() {
    let scratch = Scratch::new("http");
    for (text, line, message) in [
        (
            "[server]\ntransport = \"http\"\nurl = \"ftp://mcp.acme.example/mcp\"\n[actions]\n\"ticket.get\" = { tool = \"ticket_get\" }\n",
            3,
            "url = \"ftp://mcp.acme.example/mcp\" is not http(s)",
        ),
        (
            "[server]\ntransport = \"http\"\n[actions]\n\"ticket.get\" = { tool = \"ticket_get\" }\n",
            2,
            "transport = \"http\" needs url",
        ),
        (
            "[server]\ntransport = \"http\"\ncommand = \"acme-mcp\"\nurl = \"http://127.0.0.1:{port}/mcp\"\n[actions]\n\"ticket.get\" = { tool = \"ticket_get\" }\n",
            3,
            "the harness starts this server and chooses its port, but neither its args nor [server.env] pass \"{port}\" on to it",
        ),
    ] {
        let path = scratch.write("broken.toml", text);
        let Exited { output, .. } = cw_conform_to_end(
            &scratch.0,
            &[
                "run",
                "--integration",
                "mcp",
                "--integration-config",
                path.to_str().unwrap(),
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "failed to load integration config {}: line {line}: {message}",
                path.display()
            )),
            "{stderr}"
        );
        assert_eq!(output.status.code(), Some(2), "{stderr}");
    }
    // The mock address is for a server already running only.
    let Exited { output, .. } = cw_conform_to_end(
        &scratch.0,
        &[
            "run",
            "--integration",
            "mcp",
            "--integration-config",
            MCP_SERVE_HTTP,
            "--mock-addr",
            "127.0.0.1:1",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--mock-addr 127.0.0.1:1 is for an MCP server already running"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(2), "{stderr}");
}
