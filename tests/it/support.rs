//! A mock ConnectWise on 127.0.0.1 and a small HTTP client that calls it as one of its
//! API members, so a test reads as a sentence:
//!
//! ```ignore
//! let wire = Wire::with_role(role("read-only-discovery")).await;
//! let reply = wire.get("/service/tickets/1004").send().await;
//! reply.assert_status(200);
//! ```

use std::fmt;
use std::sync::Arc;

use cw_conform::connectwise::security::Settings;
use cw_conform::connectwise::{API_PREFIX, Credentials};
use cw_conform::fixtures::Fixtures;
use cw_conform::mock::{ApiMember, MockConfig, MockConnectWise};
use cw_conform::model::{FunctionName, Levels, SecurityRole};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// The API member every single-member test calls as; a seeded member record, so `My`
/// ownership works.
pub const AI: &str = "ai-integration";

/// A second seeded member, for tests with several members on one server.
pub const SYNC: &str = "ai-sync";

/// The 403 body ConnectWise sends for a security-role denial.
pub fn security_denial() -> Value {
    json!({
        "code": "Security",
        "message": "You do not have security permission to perform this action.",
        "errors": null,
    })
}

/// A ConnectWise error body without field-level errors.
pub fn cw_error(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message, "errors": null})
}

/// The built-in fixtures.
pub fn fixtures() -> Arc<Fixtures> {
    Arc::new(Fixtures::builtin().unwrap().clone())
}

/// A shipped role profile (`least-privilege`, `read-only-discovery`, …).
pub fn role(name: &str) -> SecurityRole {
    Fixtures::builtin().unwrap().role(name).unwrap()
}

/// A role granting one function (`"Service Desk / Service Tickets"`) the given levels.
pub fn role_granting(function: &str, levels: Levels) -> SecurityRole {
    SecurityRole::new("test-role", "built by the test").with_grant(function_named(function), levels)
}

/// Parses `Module / Function`.
pub fn function_named(function: &str) -> FunctionName {
    function.parse().unwrap()
}

/// A running mock ConnectWise and a client for it.
pub struct Wire {
    mock: MockConnectWise,
    http: reqwest::Client,
}

impl Wire {
    /// A mock whose only API member is [`AI`] with the given role.
    pub async fn with_role(role: SecurityRole) -> Self {
        Self::with_members(vec![ApiMember::with_role(AI, role)]).await
    }

    /// A mock whose only API member is [`AI`] with the given role, with one of the
    /// switches of `permissions.toml`'s `[settings]` changed.
    pub async fn with_settings(role: SecurityRole, change: impl FnOnce(&mut Settings)) -> Self {
        let mut fixtures = Fixtures::builtin().unwrap().clone();
        change(&mut fixtures.permissions.settings);
        Self::start(Arc::new(fixtures), vec![ApiMember::with_role(AI, role)]).await
    }

    /// A mock with several API members on one server.
    pub async fn with_members(members: Vec<ApiMember>) -> Self {
        Self::start(fixtures(), members).await
    }

    async fn start(fixtures: Arc<Fixtures>, members: Vec<ApiMember>) -> Self {
        let config = MockConfig {
            members,
            ..MockConfig::default()
        };
        let mock = MockConnectWise::start(fixtures, config).await;
        Wire {
            mock,
            http: cw_conform::connectwise::http::client().expect("an HTTP client"),
        }
    }

    /// The mock itself (journal, faults, store).
    pub fn mock(&self) -> &MockConnectWise {
        &self.mock
    }

    /// The credentials the mock issued to a member.
    pub fn credentials(&self, member: &str) -> Credentials {
        self.mock.credentials_for(member).unwrap()
    }

    /// A request as [`AI`] to a path under `/apis/3.0` (it may carry a query string).
    pub fn call(&self, method: Method, path: &str) -> Call {
        self.as_member(AI).call(method, path)
    }

    /// `GET` as [`AI`].
    pub fn get(&self, path: &str) -> Call {
        self.call(Method::GET, path)
    }

    /// `POST` as [`AI`].
    pub fn post(&self, path: &str) -> Call {
        self.call(Method::POST, path)
    }

    /// `PATCH` as [`AI`].
    pub fn patch(&self, path: &str) -> Call {
        self.call(Method::PATCH, path)
    }

    /// `PUT` as [`AI`].
    pub fn put(&self, path: &str) -> Call {
        self.call(Method::PUT, path)
    }

    /// `DELETE` as [`AI`].
    pub fn delete(&self, path: &str) -> Call {
        self.call(Method::DELETE, path)
    }

    /// Requests as another member.
    pub fn as_member(&self, identifier: &str) -> Member<'_> {
        Member {
            wire: self,
            credentials: self.credentials(identifier),
        }
    }

    /// A request with no headers at all to a path on the site (`/login/…`, `/v4_6_release/…`).
    pub fn bare(&self, method: Method, site_path: &str) -> Call {
        Call {
            builder: self
                .http
                .request(method, format!("{}{site_path}", self.mock.site())),
        }
    }

    /// A request to a path under `/apis/3.0` with a `clientId` header but no
    /// `Authorization`, for tests that set their own.
    pub fn unauthenticated(&self, method: Method, path: &str) -> Call {
        Call {
            builder: self
                .http
                .request(method, format!("{}{path}", self.mock.api_url()))
                .header("clientId", "cw-conform"),
        }
    }

    /// Stops the server.
    pub fn shutdown(self) {
        self.mock.shutdown();
    }
}

/// Requests as one API member.
pub struct Member<'a> {
    wire: &'a Wire,
    credentials: Credentials,
}

impl Member<'_> {
    /// A request to a path under `/apis/3.0` with this member's `Authorization` and
    /// `clientId`.
    pub fn call(&self, method: Method, path: &str) -> Call {
        self.call_on_site(method, &format!("{API_PREFIX}{path}"))
    }

    /// A request to any path on the site (another codebase, say) with this member's
    /// `Authorization` and `clientId`.
    pub fn call_on_site(&self, method: Method, site_path: &str) -> Call {
        let mut builder = self
            .wire
            .http
            .request(method, format!("{}{site_path}", self.wire.mock.site()))
            .header("Authorization", self.credentials.authorization().expose());
        if let Some(client_id) = &self.credentials.client_id {
            builder = builder.header("clientId", client_id);
        }
        Call { builder }
    }

    /// `GET` as this member.
    pub fn get(&self, path: &str) -> Call {
        self.call(Method::GET, path)
    }
}

/// A request on its way.
pub struct Call {
    builder: reqwest::RequestBuilder,
}

impl Call {
    /// Adds query parameters, form-encoded.
    #[must_use]
    pub fn query(self, pairs: &[(&str, &str)]) -> Self {
        Call {
            builder: self.builder.query(pairs),
        }
    }

    /// Sends a JSON body.
    #[must_use]
    pub fn json(self, body: &Value) -> Self {
        Call {
            builder: self.builder.json(body),
        }
    }

    /// Sends a raw body declared as JSON (for malformed bodies).
    #[must_use]
    pub fn raw_json(self, body: &str) -> Self {
        Call {
            builder: self
                .builder
                .header("Content-Type", "application/json")
                .body(body.to_owned()),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(self, name: &str, value: &str) -> Self {
        Call {
            builder: self.builder.header(name, value),
        }
    }

    /// Sends the request and reads the whole reply.
    pub async fn send(self) -> Reply {
        let response = self.builder.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply {
            status,
            headers,
            text,
        }
    }
}

/// A reply, read in full.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The raw body.
    pub text: String,
}

impl Reply {
    /// The body as JSON; fails the test, showing the reply, when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {self}"))
    }

    /// Fails the test, showing the reply, unless the status is `expected`.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) {
        assert_eq!(self.status, expected, "unexpected status: {self}");
    }

    /// Asserts the status and the exact JSON body.
    #[track_caller]
    pub fn assert(&self, status: u16, body: &Value) {
        self.assert_status(status);
        assert_eq!(&self.json(), body, "unexpected body: {self}");
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `id` of every record in a list body, in order.
    pub fn ids(&self) -> Vec<i64> {
        self.json()
            .as_array()
            .unwrap_or_else(|| panic!("the body is not a list: {self}"))
            .iter()
            .map(|r| {
                r["id"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("a record has no id: {r}"))
            })
            .collect()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.text)
    }
}

/// Where every JSON report `cw-conform run` writes must fit: `schemas/report.schema.json`.
pub fn report_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!("../../schemas/report.schema.json"))
        .expect("schemas/report.schema.json is JSON");
    jsonschema::draft202012::new(&schema).expect("schemas/report.schema.json is a valid schema")
}

/// How `report` departs from the report schema, one line per place; empty when it fits.
pub fn schema_departures(report: &Value) -> Vec<String> {
    report_schema()
        .iter_errors(report)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

/// A run's JSON report, parsed and checked against `schemas/report.schema.json`: fails the
/// test, naming every departure, when it is not JSON or does not fit the schema.
#[track_caller]
pub fn run_report(text: &str) -> Value {
    let report: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{text}"));
    let departures = schema_departures(&report);
    assert!(
        departures.is_empty(),
        "the report does not fit schemas/report.schema.json:\n{}\n{text}",
        departures.join("\n")
    );
    report
}

/// The shipped config of `cw-conform mcp-serve`.
const MCP_SERVE_CONFIG: &str = include_str!("../../fixtures/mcp/cw-conform-mcp-serve.toml");

/// The example `name` (`faulty_integration`, `faulty_mcp_server`, …), built by `cargo test`
/// with the other examples.
pub fn example(name: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(BIN)
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it (or run `cargo build --examples`)",
        path.display()
    );
    path
}

/// `examples/faulty_integration`.
pub fn faulty_integration() -> std::path::PathBuf {
    example("faulty_integration")
}

/// `mcp-serve`'s shipped config serving the faulty integration instead, with `args` in
/// place of its `args = ["mcp-serve"]` line (the line and anything to add after it), and
/// its bounds widened: a loaded machine must not turn a fault into a timeout.
pub fn faulty_integration_config(args: &str) -> String {
    let replacements = [
        (
            "command = \"{cw_conform}\"".to_owned(),
            format!("command = \"{}\"", faulty_integration().display()),
        ),
        ("args = [\"mcp-serve\"]".to_owned(), args.to_owned()),
        (
            "startup_timeout_seconds = 10".to_owned(),
            "startup_timeout_seconds = 60".to_owned(),
        ),
        (
            "call_timeout_seconds = 30".to_owned(),
            "call_timeout_seconds = 60".to_owned(),
        ),
    ];
    let mut text = MCP_SERVE_CONFIG.to_owned();
    for (from, to) in replacements {
        assert!(
            text.contains(&from),
            "the mcp-serve config no longer has {from}"
        );
        text = text.replace(&from, &to);
    }
    text
}

/// A scratch folder for one test (`cw-conform-PREFIX-PID-N` in the temporary folder),
/// removed with what it holds when dropped.
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub fn new(prefix: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "cw-conform-{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("failed to create {}: {e}", path.display()));
        Scratch(path)
    }

    /// The folder.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// Writes a file in the folder (`name` may name folders, which are created) and
    /// returns its path.
    pub fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let path = self.0.join(name);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .unwrap_or_else(|e| panic!("failed to create {}: {e}", folder.display()));
        }
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("failed to write {}: {e}", path.display()));
        path
    }

    /// Reads a file of the folder.
    pub fn read(&self, name: &str) -> String {
        let path = self.0.join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_cw-conform");

/// A `cw-conform` process that ran to its end.
pub struct Exited {
    /// Its exit status and both outputs.
    pub output: std::process::Output,
    /// How long it ran.
    pub elapsed: std::time::Duration,
    /// Its process id.
    pub pid: u32,
}

/// `cw-conform ARGS` run to its end in `dir`, from an environment of `PATH`, `HOME` (`dir`
/// itself) and `variables` alone, so no `CONNECTWISE_*` variable of the developer's
/// reaches it.
pub fn cw_conform_to_end(
    dir: &std::path::Path,
    args: &[&str],
    variables: &[(&str, &str)],
) -> Exited {
    let started = std::time::Instant::now();
    let child = std::process::Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .envs(variables.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("failed to start {BIN}: {e}"));
    let pid = child.id();
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("failed to wait for {BIN}: {e}"));
    Exited {
        output,
        elapsed: started.elapsed(),
        pid,
    }
}

/// What `cw-conform run` left: its exit code, its standard output and error, its JSON
/// report (checked against the schema, and as written).
pub struct ReportedRun {
    pub code: i32,
    /// Standard output: the readable summary.
    pub stdout: String,
    pub stderr: String,
    pub report: Value,
    pub report_text: String,
    pub elapsed: std::time::Duration,
    /// The process id of the run.
    pub pid: u32,
}

/// `cw-conform run --quiet --format json=FILE ARGS` in `dir` with `variables` in its
/// environment (see [`cw_conform_to_end`]), FILE a new one in `dir`; fails the test,
/// showing the arguments and both outputs, when the run writes no report or one that does
/// not fit the schema.
pub fn reported_run(
    dir: &std::path::Path,
    args: &[&str],
    variables: &[(&str, &str)],
) -> ReportedRun {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let report = dir.join(format!(
        "report-{}.json",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let format = format!("json={}", report.display());
    let mut all = vec!["run", "--quiet", "--format", &format];
    all.extend_from_slice(args);
    let exited = cw_conform_to_end(dir, &all, variables);
    let stdout = String::from_utf8_lossy(&exited.output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&exited.output.stderr).into_owned();
    let text = std::fs::read_to_string(&report).unwrap_or_else(|_| {
        panic!(
            "`cw-conform {}` wrote no report ({}); stdout:\n{stdout}\nstderr:\n{stderr}",
            all.join(" "),
            exited.output.status
        )
    });
    ReportedRun {
        code: exited.output.status.code().unwrap_or(-1),
        report: run_report(&text),
        report_text: text,
        stdout,
        stderr,
        elapsed: exited.elapsed,
        pid: exited.pid,
    }
}

/// `cw-conform run --quiet --format FORMAT --output OUTPUT ARGS` in `scratch`, run to its
/// end: a run whose one report goes to a file of `scratch` (its folders created).
pub fn run_reporting(
    scratch: &Scratch,
    format: &str,
    output: &str,
    args: &[&str],
) -> crate::cli::Finished {
    let mut all = vec!["run", "--quiet", "--format", format, "--output", output];
    all.extend_from_slice(args);
    crate::cli::cw_conform_finished(scratch, &all)
}

/// Where a scenario of a JSON report stands: its feature file and line.
pub fn place(scenario: &Value) -> (String, u64) {
    (
        scenario["feature"]
            .as_str()
            .unwrap_or_else(|| panic!("a scenario names no feature: {scenario}"))
            .to_owned(),
        scenario["line"]
            .as_u64()
            .unwrap_or_else(|| panic!("a scenario has no line: {scenario}")),
    )
}

/// What `verdict` says of each scenario of a JSON report, by [`place`].
pub fn by_place<T>(
    report: &Value,
    verdict: impl Fn(&Value) -> T,
) -> std::collections::BTreeMap<(String, u64), T> {
    report["scenarios"]
        .as_array()
        .unwrap_or_else(|| panic!("the report lists no scenarios: {report}"))
        .iter()
        .map(|s| (place(s), verdict(s)))
        .collect()
}
