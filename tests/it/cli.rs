//! The `cw-conform` command line, run as its own process exactly as a user runs it: `run`
//! and its reports, `matrix`, `explain`, `audit` and `serve`.
//!
//! Every child starts from an empty environment (only `PATH` and `HOME`) in a scratch
//! directory, so neither the developer's `CONNECTWISE_*` variables nor a `.env` file can
//! reach it, and is killed when its [`Running`] guard is dropped, also when an assertion
//! fails. The `sandbox` module uses the same helpers:
//!
//! ```ignore
//! let scratch = Scratch::new("it");
//! let audit = Running::start(cw_conform(&scratch, &["audit", "full-access"])).finish();
//! audit.assert_code(1);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{BufRead as _, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Reply, place, run_reporting, security_denial};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_cw-conform");

/// The longest a child may run, or a wait may last, before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How often a wait looks again.
pub const POLL: Duration = Duration::from_millis(10);

/// The last line of `serve`'s banner.
const BANNER_END: &str = "Press Ctrl-C to stop.";

pub use crate::support::Scratch;

/// `cw-conform ARGS` in `dir` with nothing inherited: only `PATH` and `HOME` from the
/// environment, so no `CONNECTWISE_*` variable reaches it unless the test sets it.
pub fn cw_conform(dir: &Scratch, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for kept in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(kept) {
            command.env(kept, value);
        }
    }
    command
}

/// Runs `cw-conform ARGS` in `dir` to the end.
pub fn cw_conform_finished(dir: &Scratch, args: &[&str]) -> Finished {
    Running::start(cw_conform(dir, args)).finish()
}

/// Reads a child's stream line by line into `sink`, as it comes.
fn collect(stream: impl Read + Send + 'static, sink: Arc<Mutex<String>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_str(&String::from_utf8_lossy(&line));
            line.clear();
        }
    })
}

/// A child process that is killed when dropped; its output is collected as it comes.
pub struct Running {
    child: Child,
    what: String,
    started: Instant,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Starts the command, with piped output.
    pub fn start(mut command: Command) -> Self {
        let what = std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|part| part.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("failed to start {what}: {e}"));
        let stdout = Arc::<Mutex<String>>::default();
        let stderr = Arc::<Mutex<String>>::default();
        let readers = vec![
            collect(
                child.stdout.take().expect("stdout is piped"),
                Arc::clone(&stdout),
            ),
            collect(
                child.stderr.take().expect("stderr is piped"),
                Arc::clone(&stderr),
            ),
        ];
        Running {
            child,
            what,
            started,
            stdout,
            stderr,
            readers,
        }
    }

    /// What it printed on standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until standard output contains `text` and returns it; fails the test when
    /// the process ends first or [`PATIENCE`] runs out.
    pub fn wait_for_stdout(&mut self, text: &str) -> String {
        self.wait_for(text, Self::stdout)
    }

    /// Waits until standard error contains `text`, as [`Running::wait_for_stdout`].
    pub fn wait_for_stderr(&mut self, text: &str) -> String {
        self.wait_for(text, Self::stderr)
    }

    fn wait_for(&mut self, text: &str, stream: fn(&Self) -> String) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let exited = self.child.try_wait().expect("the child can be polled");
            if exited.is_some() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
            }
            let stdout = stream(self);
            if stdout.contains(text) {
                return stdout;
            }
            if let Some(status) = exited {
                panic!(
                    "{} ended ({status}) without printing {text:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
                    self.what,
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not print {text:?} within {PATIENCE:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
                self.what,
                self.stderr()
            );
            thread::sleep(POLL);
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has ended.
    pub fn has_ended(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("the child can be polled")
            .is_some()
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill can be run");
        assert!(status.success(), "kill -INT {} failed", self.child.id());
    }

    /// Sends SIGKILL, which nothing can catch, and waits for the end.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the end, at most [`PATIENCE`].
    pub fn finish(self) -> Finished {
        self.finish_within(PATIENCE)
    }

    /// Waits for the end, at most `patience` (a whole-suite run).
    pub fn finish_within(mut self, patience: Duration) -> Finished {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("the child can be polled") {
                break status;
            }
            assert!(
                self.started.elapsed() < patience,
                "{} did not finish within {patience:?}\n--- stdout\n{}\n--- stderr\n{}",
                self.what,
                self.stdout(),
                self.stderr()
            );
            thread::sleep(POLL);
        };
        let elapsed = self.started.elapsed();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Finished {
            what: self.what.clone(),
            code: status.code(),
            stdout: self.stdout(),
            stderr: self.stderr(),
            elapsed,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A child that ended, with everything it printed.
#[derive(Debug)]
pub struct Finished {
    /// The command line.
    pub what: String,
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// From start to end.
    pub elapsed: Duration,
}

impl Finished {
    /// Fails the test, showing the output, unless the exit code is `expected`.
    #[track_caller]
    pub fn assert_code(&self, expected: i32) {
        assert_eq!(self.code, Some(expected), "unexpected exit code: {self}");
    }

    /// Standard output and standard error together.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl fmt::Display for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ended with {:?} after {:.2} s\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.code,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }
}

/// `cw-conform serve --port 0 ARGS`, running until dropped or stopped.
pub struct Served {
    process: Running,
    banner: String,
    /// The site URL it printed (`http://127.0.0.1:PORT`).
    pub site: String,
}

impl Served {
    /// Starts the mock and waits for its banner.
    pub fn start(dir: &Scratch, args: &[&str]) -> Self {
        let mut all = vec!["serve", "--port", "0"];
        all.extend_from_slice(args);
        let mut process = Running::start(cw_conform(dir, &all));
        let banner = process.wait_for_stdout(BANNER_END);
        let site = banner
            .lines()
            .find_map(|line| line.strip_prefix("Mock ConnectWise serving at "))
            .unwrap_or_else(|| panic!("the banner names no site:\n{banner}"))
            .trim()
            .to_owned();
        let port = site
            .strip_prefix("http://127.0.0.1:")
            .and_then(|port| port.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("the site {site:?} is not http://127.0.0.1:PORT"));
        assert_ne!(
            port, 0,
            "the banner shows port 0 instead of the port chosen"
        );
        Served {
            process,
            banner,
            site,
        }
    }

    /// The process id of the server.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the server has ended (crashed, say).
    pub fn has_ended(&mut self) -> bool {
        self.process.has_ended()
    }

    /// The banner, up to and including "Press Ctrl-C to stop.".
    pub fn banner(&self) -> &str {
        &self.banner
    }

    /// The first word after `label:` in the banner (`public key`, `REST base URL`, …).
    pub fn banner_value(&self, label: &str) -> String {
        self.banner
            .lines()
            .find_map(|line| line.trim_start().strip_prefix(label)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("the banner has no {label:?}:\n{}", self.banner))
            .to_owned()
    }

    /// Stops it as Ctrl-C does; returns how it ended and what it printed after the
    /// banner.
    pub fn stop(mut self) -> (Finished, String) {
        self.process.interrupt();
        // It has served for as long as the test needed: its patience starts now.
        self.process.started = Instant::now();
        let finished = self.process.finish();
        let after = finished
            .stdout
            .split_once(BANNER_END)
            .map_or_else(|| finished.stdout.clone(), |(_, rest)| rest.to_owned());
        let after = format!("{after}{}", finished.stderr);
        (finished, after)
    }
}

/// An ordinary HTTP client calling a served mock as one API member, the way any
/// ConnectWise client does: Basic `company+public:private` and a `clientId` header.
pub struct Caller {
    http: reqwest::Client,
    api_url: String,
    user: String,
    password: String,
    client_id: String,
}

impl Caller {
    /// A client for the REST base URL with the given credentials.
    pub fn new(api_url: &str, company: &str, public: &str, private: &str, client: &str) -> Self {
        Caller {
            http: cw_conform::connectwise::http::client_builder()
                .expect("TLS set up")
                .timeout(Duration::from_secs(20))
                .build()
                .expect("a reqwest client"),
            api_url: api_url.to_owned(),
            user: format!("{company}+{public}"),
            password: private.to_owned(),
            client_id: client.to_owned(),
        }
    }

    /// Sends a request to a path under the REST base URL and reads the whole reply.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api_url))
            .basic_auth(&self.user, Some(&self.password))
            .header("clientId", &self.client_id)
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("failed to call {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        Reply {
            status,
            headers,
            text,
        }
    }

    /// `GET` with query parameters.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path, query, None).await
    }
}

/// The repository's own copy of a fixture.
fn fixture(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
}

/// Every action name of `fixtures/actions.toml`, in file order.
fn action_names() -> Vec<String> {
    let catalog: toml::Table = toml::from_str(&fixture("fixtures/actions.toml")).unwrap();
    catalog["action"]
        .as_array()
        .expect("actions.toml has [[action]] tables")
        .iter()
        .map(|action| {
            action["name"]
                .as_str()
                .expect("an action has a name")
                .to_owned()
        })
        .collect()
}

/// The shipped role profiles: the files of `fixtures/roles/`.
fn shipped_roles() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/roles");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// A feature of the user's own: one scenario whose expectation is `expected`.
fn own_feature(expected: &str) -> String {
    format!(
        "Feature: Our integration's own expectations

  Scenario: A member without access searches companies
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"Acme\"
    Then the outcome is {expected}
"
    )
}

#[test]
fn a_run_of_one_rule_exits_0_and_prints_the_totals() {
    let scratch = Scratch::new("it");

    let run = cw_conform_finished(&scratch, &["run", "--quiet", "--tags", "@SD-02"]);

    run.assert_code(0);
    let scenarios = regex::Regex::new(r"(?m)^(\d+) scenarios \((\d+) passed, 0 failed\)").unwrap();
    let captures = scenarios
        .captures(&run.stdout)
        .unwrap_or_else(|| panic!("no scenario totals: {run}"));
    let total: usize = captures[1].parse().unwrap();
    assert!(total > 0, "no scenario ran: {run}");
    assert_eq!(
        &captures[1], &captures[2],
        "not every scenario passed: {run}"
    );
    assert!(
        run.stdout
            .lines()
            .any(|line| line == format!("{total} passed, 0 failed")),
        "no \"{total} passed, 0 failed\" line: {run}"
    );
    assert!(
        !run.stdout.contains('✔'),
        "--quiet printed the step-by-step progress: {run}"
    );
}

#[test]
fn an_invalid_tag_expression_exits_2_naming_it() {
    let scratch = Scratch::new("it");

    let run = cw_conform_finished(&scratch, &["run", "--tags", "not valid((("]);

    run.assert_code(2);
    assert!(
        run.stderr
            .contains("invalid tag expression \"not valid(((\""),
        "the error does not name the expression: {run}"
    );
}

#[rstest]
#[case::met("denied", 0)]
#[case::not_met("allowed", 1)]
fn a_user_feature_runs_with_the_shipped_steps(#[case] expected: &str, #[case] code: i32) {
    let scratch = Scratch::new("it");
    scratch.write("ours.feature", &own_feature(expected));

    let run = cw_conform_finished(&scratch, &["run", "--quiet", "ours.feature"]);

    run.assert_code(code);
    if code == 0 {
        assert!(run.stdout.contains("1 passed, 0 failed"), "{run}");
    } else {
        assert!(run.stdout.contains("0 passed, 1 failed"), "{run}");
        let report = run.stdout.split_once("Failed scenarios:").map(|(_, r)| r);
        let report = report.unwrap_or_else(|| panic!("no failure report: {run}"));
        assert!(
            report.contains("A member without access searches companies (ours.feature:3)"),
            "the report does not name the scenario and where it is: {run}"
        );
        assert!(
            report.contains("Then the outcome is allowed (line 6)"),
            "the report does not name the failed step: {run}"
        );
        assert!(
            report.contains("observed denied"),
            "the report does not say what was observed: {run}"
        );
    }
}

#[test]
fn a_user_feature_with_an_unknown_step_fails_as_not_implemented() {
    let scratch = Scratch::new("it");
    scratch.write(
        "juggling.feature",
        "Feature: A step nobody wrote

  Scenario: The AI juggles tickets
    Given an API member with the role \"least-privilege\"
    When the AI juggles three tickets at once
",
    );

    let run = cw_conform_finished(&scratch, &["run", "--quiet", "juggling.feature"]);

    run.assert_code(2);
    assert!(run.stdout.contains("step not implemented"), "{run}");
    assert!(
        run.stdout
            .contains("When the AI juggles three tickets at once"),
        "the report does not name the unknown step: {run}"
    );
}

/// A mistake in a feature, made as a new user would: the author's, not the
/// integration's. Exit 2, a JUnit `<error>` (never a `<failure>`), the file and line, a
/// one-line did-you-mean where a name is misspelt, and no rule marked violated (the rule the
/// scenario is tagged with is not met either).
#[rstest]
#[case::unknown_action_phrase(
    "When the AI asks to serch companies \"Acme\"",
    &["mistake.feature:6:", "unknown action \"serch companies\" (did you mean \"search companies\"?)"]
)]
#[case::unknown_role(
    "Given an API member with the role \"least-privelege\"",
    &["mistake.feature:6:", "did you mean \"least-privilege\"?"]
)]
#[case::unknown_outcome_word(
    "Then the outcome is alowed",
    &["mistake.feature:6:", "unknown outcome \"alowed\"", "did you mean \"allowed\"?"]
)]
#[case::undefined_step(
    "When the AI juggles three tickets at once",
    &["mistake.feature:6:", "step not implemented"]
)]
fn a_feature_mistake_is_the_authors_never_the_integrations(
    #[case] step: &str,
    #[case] expected: &[&str],
) {
    let scratch = Scratch::new("it");
    scratch.write(
        "mistake.feature",
        &format!(
            "Feature: A mistake\n\n  @RD-01\n  Scenario: Looking up a company\n    Given an API member with the role \"least-privilege\"\n    {step}\n    When the AI asks to search companies \"Acme\"\n    Then the outcome is allowed\n"
        ),
    );

    let run = cw_conform_finished(
        &scratch,
        &[
            "run",
            "--quiet",
            "--format",
            "junit",
            "--output",
            "report.xml",
            "mistake.feature",
        ],
    );

    run.assert_code(2);
    for fragment in expected {
        assert!(run.stdout.contains(fragment), "{fragment:?} missing: {run}");
    }
    let feature_errors = run
        .stdout
        .split("Feature errors (1)")
        .nth(1)
        .unwrap_or_else(|| panic!("no feature errors section: {run}"));
    // One line of suggestion, not the whole catalog.
    assert!(
        feature_errors.lines().take(4).all(|l| l.len() < 200),
        "{feature_errors}"
    );
    assert!(!run.stdout.contains("VIOLATED"), "{run}");
    assert!(!run.stdout.contains("RD-01    met"), "{run}");
    for internal in ["left == right", "Step panicked", "assertion"] {
        assert!(!run.stdout.contains(internal), "{internal:?} shown: {run}");
    }
    let report = read_junit(&scratch.read("report.xml"));
    assert_eq!(report.failures, 0, "{report:?}");
    assert_eq!(report.declared_failures, 0, "{report:?}");
    assert!(
        report.errors.iter().any(|m| m == "feature error"),
        "{report:?}"
    );
}

/// A feature of the user's own that passes.
const SOUND_FEATURE: &str = "Feature: Sound

  Scenario: A member without access is denied
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"Acme\"
    Then the outcome is denied
";

#[rstest]
#[case::scenario_without_steps(
    "Feature: Empty scenario\n\n  Scenario: nothing here\n",
    "broken.feature:3: the Scenario \"nothing here\" has no steps"
)]
#[case::outline_without_examples(
    "Feature: F\n\n  Scenario Outline: o\n    Given an API member with the role \"<role>\"\n    When the AI asks to search companies \"Acme\"\n    Then the outcome is denied\n",
    "broken.feature:3: the Scenario Outline \"o\" has no Examples"
)]
#[case::examples_without_rows(
    "Feature: F\n\n  Scenario Outline: o\n    Given an API member with the role \"<role>\"\n    Then the outcome is denied\n\n    Examples:\n      | role |\n",
    "broken.feature:7: the Examples of the Scenario Outline \"o\" have a header but no rows"
)]
#[case::placeholder_no_column_fills(
    "Feature: F\n\n  Scenario Outline: o\n    Given an API member with the role \"<role>\"\n    Then the outcome is <outcome>\n\n    Examples:\n      | role      |\n      | no-access |\n",
    "broken.feature:5: the placeholder <outcome> of the Scenario Outline \"o\" is filled by no column"
)]
#[case::empty_file("", "broken.feature: the file is empty")]
#[case::not_gherkin(
    "Feature: F\n\n  Scenario: s\n    Given a\n  Blah blah: nope\n",
    "broken.feature:6: not valid Gherkin"
)]
fn a_malformed_feature_is_a_feature_error_and_never_a_pass(
    #[case] text: &str,
    #[case] error: &str,
) {
    let scratch = Scratch::new("it");
    scratch.write("features/broken.feature", text);
    scratch.write("features/sound.feature", SOUND_FEATURE);
    let broken = Path::new("features").join("broken.feature");
    let error = error.replace("broken.feature", &broken.display().to_string());

    let run = cw_conform_finished(
        &scratch,
        &[
            "run",
            "--quiet",
            "--format",
            "junit",
            "--output",
            "report.xml",
            "features",
        ],
    );

    run.assert_code(2);
    assert!(
        run.stdout.contains(&format!("\n  {error}")),
        "the summary does not name the error {error:?}: {run}"
    );
    assert!(
        run.stdout.contains("\n1 scenario (1 passed, 0 failed)"),
        "only the sound feature's scenario may run (and pass): {run}"
    );
    assert!(run.stdout.contains("Feature errors (1), "), "{run}");
    assert!(run.stdout.contains("(none of its scenarios ran)"), "{run}");
    assert!(run.stderr.contains("the features have mistakes"), "{run}");
    let xml = scratch.read("report.xml");
    let report = read_junit(&xml);
    assert_eq!(report.declared_errors, 1, "errors=\n{xml}");
    assert_eq!(report.errors.len(), 1, "<error> elements\n{xml}");
    assert_eq!(
        report.declared_tests,
        report.testcases.len(),
        "tests=\n{xml}"
    );
    assert!(
        report
            .testcases
            .iter()
            .any(|(name, _)| name.starts_with(&error)),
        "no testcase names the error {error:?}:\n{xml}"
    );
}

#[test]
fn the_json_report_lists_feature_errors_and_the_run_does_not_conform() {
    let scratch = Scratch::new("it");
    scratch.write(
        "empty.feature",
        "Feature: Empty scenario\n\n  Scenario: nothing here\n",
    );

    let run = cw_conform_finished(
        &scratch,
        &["run", "--quiet", "--format", "json", "empty.feature"],
    );

    run.assert_code(2);
    let report: Value = crate::support::run_report(&run.stdout);
    assert_eq!(report["conforms"], false, "{report:#}");
    assert_eq!(
        report["parse_errors"],
        json!(["empty.feature:3: the Scenario \"nothing here\" has no steps"]),
        "{report:#}"
    );
    assert_eq!(report["totals"]["passed"], 0, "{report:#}");
    assert_eq!(report["scenarios"], json!([]), "{report:#}");
}

/// What a JUnit report says, read with an XML parser.
#[derive(Debug, Default)]
struct JunitReport {
    /// `tests` and `failures` of `<testsuites>`.
    declared_tests: usize,
    declared_failures: usize,
    /// `<testcase>` elements: name → the values of its `rule` properties.
    testcases: Vec<(String, Vec<String>)>,
    /// `<failure>` elements.
    failures: usize,
    /// `errors` of `<testsuites>`, and the `<error>` elements with their `message`.
    declared_errors: usize,
    errors: Vec<String>,
}

fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element
        .attributes()
        .map(|a| a.expect("a well-formed attribute"))
        .find(|a| a.key.as_ref() == name.as_bytes())
        .map(|a| {
            a.unescape_value()
                .expect("a valid attribute value")
                .into_owned()
        })
}

/// Walks every event of the document; fails the test unless it is well-formed XML with one
/// `<testsuites>` root.
fn read_junit(xml: &str) -> JunitReport {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut report = JunitReport::default();
    let mut open: Vec<String> = Vec::new();
    let mut roots = 0;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed XML at byte {position}: {e}\n{xml}"));
        let element = match &event {
            Event::Start(e) | Event::Empty(e) => Some(e.clone()),
            _ => None,
        };
        if let Some(element) = element {
            let name = String::from_utf8(element.name().as_ref().to_vec()).unwrap();
            // Every attribute must parse and unescape, and hold no raw `<` (which XML
            // forbids in attribute values, though quick-xml reads past it).
            for attr in element.attributes() {
                let attr = attr.expect("a well-formed attribute");
                attr.unescape_value().expect("a valid attribute value");
                assert!(
                    !attr.value.contains(&b'<'),
                    "a raw < in the attribute {:?} of <{name}>",
                    String::from_utf8_lossy(attr.key.as_ref())
                );
            }
            if open.is_empty() {
                roots += 1;
            }
            match (name.as_str(), open.last().map(String::as_str)) {
                ("testsuites", None) => {
                    let number = |key: &str| -> usize {
                        attribute(&element, key)
                            .and_then(|v| v.parse().ok())
                            .unwrap_or_else(|| panic!("<testsuites> has no number {key}"))
                    };
                    report.declared_tests = number("tests");
                    report.declared_failures = number("failures");
                    report.declared_errors = number("errors");
                }
                ("testcase", _) => {
                    let name = attribute(&element, "name").expect("a testcase has a name");
                    report.testcases.push((name, Vec::new()));
                }
                ("property", Some("properties"))
                    if attribute(&element, "name").as_deref() == Some("rule") =>
                {
                    let value = attribute(&element, "value").expect("a rule has a value");
                    report
                        .testcases
                        .last_mut()
                        .expect("a property inside a testcase")
                        .1
                        .push(value);
                }
                ("failure", _) => report.failures += 1,
                ("error", _) => report
                    .errors
                    .push(attribute(&element, "message").expect("an error has a message")),
                _ => {}
            }
            if matches!(event, Event::Start(_)) {
                open.push(name);
            }
        }
        match event {
            Event::End(end) => {
                let name = String::from_utf8(end.name().as_ref().to_vec()).unwrap();
                assert_eq!(
                    open.pop().as_deref(),
                    Some(name.as_str()),
                    "mismatched end tag"
                );
            }
            Event::Text(text) => {
                text.decode().expect("text in UTF-8");
            }
            Event::GeneralRef(reference) => {
                let known = reference
                    .resolve_char_ref()
                    .expect("a valid character reference")
                    .is_some()
                    || resolve_predefined_entity(&reference.decode().expect("UTF-8")).is_some();
                assert!(known, "an unknown entity in the report: {reference:?}");
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "elements left open at the end: {open:?}");
    assert_eq!(roots, 1, "the document has {roots} root elements");
    report
}

/// Two user scenarios, one that conforms and one that does not, both checking SD-02.
const MIXED_FEATURE: &str = "Feature: Mixed results

  @SD-02
  Scenario: A member without access is denied
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"Acme\"
    Then the outcome is denied

  @SD-02 @LP-03
  Scenario: A member without access is \"allowed\" & <wrongly> so
    Given an API member with the role \"no-access\"
    When the AI asks to search companies \"Acme\"
    Then the outcome is allowed
";

#[rstest]
// Failures: the failed scenario, and the rules it violates (SD-02 and LP-03).
#[case::builtin(&["--tags", "@SD-02"], 0, 0)]
#[case::user_features(&["mixed.feature"], 1, 3)]
fn the_junit_report_is_well_formed_and_counts_its_testcases(
    #[case] selection: &[&str],
    #[case] code: i32,
    #[case] failures: usize,
) {
    let scratch = Scratch::new("it");
    scratch.write("mixed.feature", MIXED_FEATURE);

    let run = run_reporting(&scratch, "junit", "report.xml", selection);

    run.assert_code(code);
    let xml = scratch.read("report.xml");
    assert!(xml.starts_with("<?xml "), "no XML declaration:\n{xml}");
    let report = read_junit(&xml);
    assert!(!report.testcases.is_empty(), "no testcase:\n{xml}");
    assert_eq!(
        report.declared_tests,
        report.testcases.len(),
        "tests=\n{xml}"
    );
    assert_eq!(
        report.declared_failures, report.failures,
        "failures=\n{xml}"
    );
    assert_eq!(report.failures, failures, "<failure> elements\n{xml}");
    assert!(
        report
            .testcases
            .iter()
            .any(|(name, rules)| name.starts_with("SD-02 ") && rules == &["SD-02"]),
        "no testcase for the rule SD-02:\n{xml}"
    );
    for (name, rules) in &report.testcases {
        // A rule's own testcase (the `rules` suite) names the rule first.
        if let [rule] = rules.as_slice()
            && name.starts_with(&format!("{rule} "))
        {
            continue;
        }
        assert!(
            rules.iter().any(|r| r == "SD-02"),
            "the testcase {name:?} has no rule property SD-02 (has {rules:?})"
        );
    }
    assert!(
        run.stdout.contains("passed"),
        "with --output the summary goes to standard output: {run}"
    );
}

#[test]
fn the_json_report_lists_the_scenarios_behind_every_rule() {
    let scratch = Scratch::new("it");
    scratch.write("mixed.feature", MIXED_FEATURE);

    let run = run_reporting(&scratch, "json", "report.json", &["mixed.feature"]);

    run.assert_code(1);
    let report: Value = crate::support::run_report(&scratch.read("report.json"));
    let scenarios = report["scenarios"].as_array().expect("a scenarios list");
    assert_eq!(report["totals"]["scenarios"], json!(scenarios.len()));
    assert_eq!(report["totals"]["failed"], json!(1));
    assert_eq!(report["conforms"], json!(false));
    let mut expected: BTreeMap<String, BTreeSet<(String, u64)>> = BTreeMap::new();
    for scenario in scenarios {
        let place = place(scenario);
        for tag in scenario["tags"].as_array().unwrap() {
            expected
                .entry(tag.as_str().unwrap().to_owned())
                .or_default()
                .insert(place.clone());
        }
    }
    let rules = report["rules"].as_array().expect("a rules list");
    assert!(rules.len() > 2, "the rules list is not the catalog");
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        let listed: BTreeSet<(String, u64)> = rule["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(place)
            .collect();
        assert_eq!(
            listed,
            expected.get(id).cloned().unwrap_or_default(),
            "the scenarios listed under {id}"
        );
        let verdict = match id {
            "SD-02" | "LP-03" => "violated",
            _ => "not checked",
        };
        assert_eq!(rule["verdict"], json!(verdict), "the verdict of {id}");
    }
    assert_eq!(expected["SD-02"].len(), 2, "{report:#}");
}

/// The Markdown matrix as header cells and rows of cells.
fn markdown_table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().to_owned())
            .collect()
    };
    let header = text
        .lines()
        .find(|line| line.starts_with("| action |"))
        .map_or_else(|| panic!("no table header:\n{text}"), cells);
    let rows = text
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(cells)
        .collect();
    (header, rows)
}

#[test]
fn the_matrix_has_a_row_per_action_and_a_column_per_shipped_role() {
    let scratch = Scratch::new("it");

    let matrix = cw_conform_finished(&scratch, &["matrix"]);

    matrix.assert_code(0);
    let (header, rows) = markdown_table(&matrix.stdout);
    let roles: Vec<String> = header[3..].to_vec();
    assert_eq!(
        roles.iter().cloned().collect::<BTreeSet<_>>(),
        shipped_roles(),
        "the role columns"
    );
    assert_eq!(
        roles.len(),
        shipped_roles().len(),
        "a role column is repeated"
    );
    let names: Vec<String> = rows
        .iter()
        .map(|row| row[0].trim_matches('`').to_owned())
        .collect();
    assert_eq!(names, action_names(), "the action rows");
    let mut cells: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (name, row) in names.iter().zip(&rows) {
        assert_eq!(row.len(), header.len(), "the row of {name}");
        for (role, cell) in roles.iter().zip(&row[3..]) {
            cells.insert((name.as_str(), role.as_str()), cell.as_str());
        }
    }
    assert_eq!(cells[&("ticket.create", "full-access")], "allowed");
    assert_eq!(cells[&("ticket.create", "read-only-discovery")], "denied");
    for role in &roles {
        assert_eq!(
            cells[&("member.update", role.as_str())],
            "blocked (SAFE-01)",
            "member.update under {role}"
        );
    }
}

#[test]
fn the_html_matrix_is_a_page_with_the_same_table() {
    let scratch = Scratch::new("it");

    let matrix = cw_conform_finished(&scratch, &["matrix", "--format", "html"]);

    matrix.assert_code(0);
    let page = matrix.stdout.trim();
    assert!(page.starts_with("<!DOCTYPE html>"), "{matrix}");
    assert!(page.ends_with("</html>"), "{matrix}");
    assert_eq!(
        page.matches("<table class=\"matrix\">").count(),
        1,
        "{matrix}"
    );
    assert_eq!(page.matches("</table>").count(), 1, "{matrix}");
    assert!(
        page.contains("<thead><tr>"),
        "no header row to keep in view"
    );
    assert!(page.contains("<dl class=\"legend\">"), "no legend");
    assert!(
        page.contains(&format!("by cw-conform {}", env!("CARGO_PKG_VERSION"))),
        "no version"
    );
    let actions = action_names();
    assert_eq!(
        page.matches("<tr>").count(),
        actions.len() + 1,
        "a header and a row per action"
    );
    for role in shipped_roles() {
        assert!(
            page.contains(&format!("<th scope=\"col\">{role}</th>")),
            "no column for {role}"
        );
    }
    for action in &actions {
        assert!(
            page.contains(&format!("<code>{action}</code>")),
            "no row for {action}"
        );
    }
}

#[test]
fn explain_names_the_function_the_level_and_the_change() {
    let scratch = Scratch::new("it");

    let explain = cw_conform_finished(
        &scratch,
        &["explain", "ticket.create", "--role", "read-only-discovery"],
    );

    explain.assert_code(0);
    let text = &explain.stdout;
    assert!(text.contains("expected outcome: denied"), "{explain}");
    assert!(
        text.lines()
            .any(|line| line.contains("Service Desk / Service Tickets Add")
                && line.contains("grants None")),
        "no line naming the function, the operation and the level None: {explain}"
    );
    let change = text
        .lines()
        .find(|line| line.trim_start().starts_with("to allow it:"))
        .unwrap_or_else(|| panic!("no change suggested: {explain}"));
    assert!(
        change.contains("Service Desk / Service Tickets Add to My") && change.contains("All"),
        "the change does not say what to set: {change}"
    );
}

#[test]
fn explain_names_the_safety_rule_that_blocks_whatever_the_role() {
    let scratch = Scratch::new("it");

    let explain = cw_conform_finished(
        &scratch,
        &["explain", "member.update", "--role", "full-access"],
    );

    explain.assert_code(0);
    assert!(
        explain.stdout.contains("expected outcome: blocked"),
        "{explain}"
    );
    assert!(explain.stdout.contains("SAFE-01"), "{explain}");
}

#[test]
fn explain_of_an_unknown_action_exits_2_naming_it() {
    let scratch = Scratch::new("it");

    let explain = cw_conform_finished(
        &scratch,
        &["explain", "ticket.juggle", "--role", "full-access"],
    );

    explain.assert_code(2);
    assert!(
        explain.stderr.contains("unknown action \"ticket.juggle\""),
        "{explain}"
    );
}

#[rstest]
#[case::read_only(&["read-only-discovery"], 0, &["read-only-discovery: no findings"])]
#[case::administrator_like(&["full-access"], 1, &["administrator-like"])]
#[case::blocked_anyway(&["least-privilege"], 1, &["blocked anyway: System / Table Setup Add"])]
#[case::missing_grant(
    &["read-only-discovery", "--workflows", "service-tickets"],
    1,
    &["missing grant", "\"service-tickets\"", "Service Desk / Service Tickets Add"]
)]
#[case::unknown_workflow(&["read-only-discovery", "--workflows", "juggling"], 2, &["unknown workflow \"juggling\""])]
fn audit_reviews_a_role(#[case] args: &[&str], #[case] code: i32, #[case] lines: &[&str]) {
    let scratch = Scratch::new("it");
    let mut all = vec!["audit"];
    all.extend_from_slice(args);

    let audit = cw_conform_finished(&scratch, &all);

    audit.assert_code(code);
    let output = audit.output();
    assert!(
        output
            .lines()
            .any(|line| lines.iter().all(|part| line.contains(part))),
        "no line with {lines:?}: {audit}"
    );
}

#[test]
fn audit_of_a_role_file_with_an_unknown_level_names_the_file_line_and_value() {
    let scratch = Scratch::new("it");
    let file = scratch.write(
        "our-role.toml",
        "name = \"our-role\"
summary = \"what our integration needs\"

[[grant]]
function = \"Companies / Contacts\"
inquire = \"Sometimes\"
",
    );

    let audit = cw_conform_finished(&scratch, &["audit", file.to_str().unwrap()]);

    audit.assert_code(2);
    let error = &audit.stderr;
    assert!(
        error.contains(file.to_str().unwrap()),
        "the file is not named: {audit}"
    );
    assert!(error.contains("line 6"), "the line is not named: {audit}");
    assert!(
        error.contains("\"Sometimes\""),
        "the value is not named: {audit}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_an_ordinary_client_with_the_printed_credentials() {
    let scratch = Scratch::new("it");
    let served = Served::start(&scratch, &["--role", "read-only-discovery"]);
    let api_url = served.banner_value("REST base URL");
    assert_eq!(api_url, format!("{}/v4_6_release/apis/3.0", served.site));
    assert!(
        served.banner().contains("\"read-only-discovery\""),
        "{}",
        served.banner()
    );
    let caller = Caller::new(
        &api_url,
        &served.banner_value("company ID"),
        &served.banner_value("public key"),
        &served.banner_value("private key"),
        "our-integration",
    );

    let everything = caller.get("/company/companies", &[]).await;
    let acme = caller
        .get(
            "/company/companies",
            &[("conditions", "name like \"Acme*\"")],
        )
        .await;
    let created = caller
        .send(
            Method::POST,
            "/company/companies",
            &[],
            Some(&json!({"identifier": "NewCo", "name": "New Co"})),
        )
        .await;

    everything.assert_status(200);
    acme.assert_status(200);
    let names: Vec<String> = acme
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!names.is_empty(), "no Acme company: {acme}");
    assert!(names.iter().all(|n| n.starts_with("Acme")), "{names:?}");
    assert!(
        everything.ids().len() > names.len(),
        "the conditions did not narrow the list"
    );
    created.assert(403, &security_denial());
    let (stopped, _) = served.stop();
    stopped.assert_code(0);
}

/// "The one just created" names a record of one collection: using it for another is the
/// feature author's mistake, and the harness must not act on whatever record of that other
/// collection happens to have the same id.
#[rstest]
#[case::update("update contact the one just created with:\n      | lastName | Changed |")]
#[case::delete("delete contact the one just created")]
#[case::check_exists("the contact just created still exists")]
fn the_one_just_created_cannot_be_used_for_another_collection(#[case] misuse: &str) {
    let scratch = Scratch::new("it");
    let keyword = if misuse.starts_with("the contact") {
        "Then"
    } else {
        "When the AI asks to"
    };
    scratch.write(
        "misuse.feature",
        &format!(
            "Feature: A record of the wrong kind

  Scenario: A note is not a contact
    Given an API member with the role \"full-access\"
    When the AI asks to add an internal note to ticket #1001 with:
      | text | Called the customer |
    Then the outcome is allowed
    {keyword} {misuse}
"
        ),
    );

    let run = cw_conform_finished(&scratch, &["run", "--quiet", "misuse.feature"]);

    run.assert_code(2);
    assert!(
        run.stdout
            .contains("the record just created is in /service/tickets/1001/notes"),
        "the failure does not name the mix-up: {run}"
    );
    assert!(run.stdout.contains("Feature errors (1)"), "{run}");
    assert!(
        !run.stdout.contains("FAILS"),
        "a rule is blamed for the feature's mistake: {run}"
    );
}
