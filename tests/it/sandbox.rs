//! The sandbox path of `cw-conform run`, without a network: `cw-conform serve` plays a
//! ConnectWise sandbox on loopback and `cw-conform run` is pointed at it through the
//! `CONNECTWISE_*` variables, as a user points it at a real sandbox.
//!
//! The served API member has canary keys; no output, report or log may show them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use cw_conform::fixtures::Fixtures;
use cw_conform::target::{Sandbox, TargetError};
use rstest::rstest;
use serde_json::Value;

use crate::cli::{Caller, PATIENCE, POLL, Running, Scratch, Served, cw_conform};

const COMPANY: &str = "northwind";
const PUBLIC: &str = "CANARY-PUB-3f9a";
const PRIVATE: &str = "CANARY-PRIV-8c2e";
const CLIENT: &str = "CANARY-CLIENT-1d7b";

/// Finds what the harness created on a sandbox: every record it creates carries this mark.
const MARKED: (&str, &str) = ("conditions", "lastName contains \"[cw-conform \"");

/// A served mock ConnectWise whose API member has the canary keys, and runs pointed at it.
struct LoopbackSandbox {
    served: Served,
    scratch: Scratch,
}

impl LoopbackSandbox {
    /// `cw-conform serve` with the canary keys and `extra` options.
    fn start(extra: &[&str]) -> Self {
        let scratch = Scratch::new();
        let mut args = vec![
            "--public-key",
            PUBLIC,
            "--private-key",
            PRIVATE,
            "--client-id",
            CLIENT,
        ];
        args.extend_from_slice(extra);
        let served = Served::start(&scratch, &args);
        LoopbackSandbox { served, scratch }
    }

    /// `cw-conform run ARGS` with exactly the `CONNECTWISE_*` settings of this sandbox
    /// (requests at 900 a minute, so the runs are quick).
    fn run(&self, args: &[&str]) -> Command {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        self.command(&all)
    }

    /// `cw-conform ARGS` with exactly the `CONNECTWISE_*` settings of this sandbox.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = cw_conform(&self.scratch, args);
        command
            .env("CONNECTWISE_SITE", &self.served.site)
            .env("CONNECTWISE_COMPANY_ID", COMPANY)
            .env("CONNECTWISE_PUBLIC_KEY", PUBLIC)
            .env("CONNECTWISE_PRIVATE_KEY", PRIVATE)
            .env("CONNECTWISE_CLIENT_ID", CLIENT)
            .env("CONNECTWISE_REQUESTS_PER_MINUTE", "900");
        command
    }

    /// An ordinary HTTP client signed in as the served API member.
    fn caller(&self) -> Caller {
        Caller::new(
            &format!("{}/v4_6_release/apis/3.0", self.served.site),
            COMPANY,
            PUBLIC,
            PRIVATE,
            CLIENT,
        )
    }

    /// A file the run wrote, as JSON.
    fn report(&self, name: &str) -> (String, Value) {
        let text = self.scratch.read(name);
        let report = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name} is not JSON ({e}):\n{text}"));
        (text, report)
    }

    /// Stops the mock; returns what it printed after its banner.
    fn stop(self) -> String {
        let (finished, after_banner) = self.served.stop();
        finished.assert_code(0);
        after_banner
    }
}

/// The scenarios of a JSON report that carry a tag.
fn tagged<'a>(report: &'a Value, tag: &str) -> Vec<&'a Value> {
    report["scenarios"]
        .as_array()
        .expect("a scenarios list")
        .iter()
        .filter(|s| s["tags"].as_array().unwrap().iter().any(|t| t == tag))
        .collect()
}

/// `METHOD path -> status` of every request a scenario recorded.
fn requests(scenario: &Value) -> Vec<String> {
    scenario["requests"]
        .as_array()
        .expect("a requests list")
        .iter()
        .map(|r| {
            format!(
                "{} {} -> {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                r["status"]
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sandbox_run_passes_the_smoke_set_and_never_shows_the_keys() {
    let sandbox = LoopbackSandbox::start(&[]);
    let banner = sandbox.served.banner().to_owned();
    assert!(
        !banner.contains(PRIVATE),
        "the banner shows the private key given:\n{banner}"
    );
    assert!(
        banner.contains("private key:   (the one you gave)"),
        "{banner}"
    );

    let run = Running::start(sandbox.run(&[
        "--allow-writes",
        "--format",
        "json",
        "--output",
        "report.json",
    ]))
    .finish();

    run.assert_code(0);
    let (text, report) = sandbox.report("report.json");
    let smoke = tagged(&report, "CL-04");
    assert_eq!(smoke.len(), 2, "the smoke scenarios that ran: {report:#}");
    for scenario in &smoke {
        assert_eq!(scenario["failure"], Value::Null, "{scenario:#}");
        let steps = scenario["steps"].as_array().unwrap();
        assert!(
            !steps.is_empty() && steps.iter().all(|s| s["status"] == "passed"),
            "{scenario:#}"
        );
    }
    let write = tagged(&report, "writes");
    assert_eq!(write.len(), 1, "{report:#}");
    let sent = requests(write[0]);
    assert!(
        sent.iter()
            .any(|r| r.starts_with("POST /company/contacts -> 201")),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|r| r.starts_with("DELETE /company/contacts/") && r.ends_with("-> 204")),
        "{sent:?}"
    );
    assert!(
        tagged(&report, "mock-only").is_empty(),
        "a @mock-only scenario ran on the sandbox"
    );
    let left_out = report["left_out"].as_array().expect("a left_out list");
    assert!(!left_out.is_empty(), "nothing was left out: {report:#}");
    for left in left_out {
        assert!(
            !left["reason"].as_str().unwrap_or_default().is_empty(),
            "{left}"
        );
    }
    assert!(
        left_out
            .iter()
            .any(|l| l["reason"].as_str().unwrap().contains("needs the mock")),
        "no scenario was left out for needing the mock: {left_out:#?}"
    );
    assert!(
        run.stdout
            .contains(&format!("Left out of this run ({}):", left_out.len())),
        "the summary does not list what was left out: {run}"
    );
    let marked = sandbox.caller().get("/company/contacts", &[MARKED]).await;
    assert_eq!(
        marked.ids(),
        Vec::<i64>::new(),
        "the run left marked contacts behind"
    );
    let served_output = sandbox.stop();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{COMPANY}+{PUBLIC}:{PRIVATE}"));
    for (place, shown) in [
        ("the run's standard output", run.stdout.as_str()),
        ("the run's standard error", run.stderr.as_str()),
        ("the JSON report", text.as_str()),
        ("serve's output after its banner", served_output.as_str()),
    ] {
        for secret in [PRIVATE, PUBLIC, basic.as_str()] {
            assert!(!shown.contains(secret), "{place} shows {secret}:\n{shown}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_allow_writes_the_write_smoke_is_left_out_and_nothing_is_written() {
    let sandbox = LoopbackSandbox::start(&[]);
    let caller = sandbox.caller();
    let before = caller
        .get("/company/contacts", &[("pageSize", "1000")])
        .await;
    before.assert_status(200);

    let run =
        Running::start(sandbox.run(&["--format", "json", "--output", "report.json"])).finish();

    run.assert_code(0);
    let (_, report) = sandbox.report("report.json");
    let left_out = report["left_out"].as_array().expect("a left_out list");
    let write = left_out
        .iter()
        .find(|l| {
            l["name"]
                .as_str()
                .unwrap()
                .starts_with("Smoke: one reversible write")
        })
        .unwrap_or_else(|| panic!("the write smoke scenario was not left out: {left_out:#?}"));
    assert!(
        write["reason"].as_str().unwrap().contains("--allow-writes"),
        "{write}"
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("Smoke: one reversible write") && l.contains("--allow-writes")),
        "the summary does not say why the write was left out: {run}"
    );
    assert!(
        tagged(&report, "writes").is_empty(),
        "a @writes scenario ran: {report:#}"
    );
    let smoke = tagged(&report, "CL-04");
    assert_eq!(
        smoke.len(),
        1,
        "only the read smoke scenario runs: {report:#}"
    );
    for scenario in report["scenarios"].as_array().unwrap() {
        for request in requests(scenario) {
            assert!(request.starts_with("GET "), "a write was sent: {request}");
        }
    }
    let after = caller
        .get("/company/contacts", &[("pageSize", "1000")])
        .await;
    assert_eq!(after.json(), before.json(), "the contacts changed");
    sandbox.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_429_with_retry_after_to_the_first_requests() {
    let sandbox = LoopbackSandbox::start(&["--rate-limit-first", "3"]);
    let caller = sandbox.caller();

    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(caller.get("/company/companies", &[]).await);
    }

    for reply in &replies[..3] {
        reply.assert_status(429);
        assert_eq!(reply.header("retry-after"), Some("1"), "{reply}");
    }
    replies[3].assert_status(200);
    sandbox.stop();
}

#[test]
fn a_run_waits_out_a_rate_limit_and_still_passes() {
    let plain = LoopbackSandbox::start(&[]);
    let limited = LoopbackSandbox::start(&["--rate-limit-first", "3"]);
    let args = [
        "--tags",
        "@CL-04 and not @writes",
        "--format",
        "json",
        "--output",
        "report.json",
    ];

    let unhindered = Running::start(plain.run(&args));
    let waiting = Running::start(limited.run(&args));
    let (unhindered, waiting) = (unhindered.finish(), waiting.finish());

    unhindered.assert_code(0);
    waiting.assert_code(0);
    let (_, report) = limited.report("report.json");
    let smoke = tagged(&report, "CL-04");
    assert_eq!(smoke.len(), 1, "{report:#}");
    assert_eq!(
        requests(smoke[0]),
        [429, 429, 429, 200].map(|status| format!("GET /company/companies -> {status}")),
        "the client did not retry the search after each 429"
    );
    assert!(
        waiting.elapsed >= unhindered.elapsed + Duration::from_millis(900),
        "the rate-limited run took {:.2} s, the other {:.2} s: the Retry-After waits are missing",
        waiting.elapsed.as_secs_f64(),
        unhindered.elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_removes_the_contact_it_created() {
    // Every answer takes 300 ms and the run sends one request a second, so the contact
    // lives on the mock for a while before the scenario deletes it itself.
    let sandbox = LoopbackSandbox::start(&["--delay-ms", "300"]);
    let caller = sandbox.caller();
    let mut command = sandbox.run(&["--allow-writes", "--tags", "@CL-04"]);
    command.env("CONNECTWISE_REQUESTS_PER_MINUTE", "60");
    let mut run = Running::start(command);

    let deadline = Instant::now() + PATIENCE;
    let contact = loop {
        let marked = caller.get("/company/contacts", &[MARKED]).await;
        marked.assert_status(200);
        if let Some(id) = marked.ids().first() {
            break *id;
        }
        assert!(
            !run.has_ended(),
            "the run ended before its contact appeared: {}",
            run.finish()
        );
        assert!(
            Instant::now() < deadline,
            "no marked contact appeared within {PATIENCE:?}: {}",
            run.stdout()
        );
        tokio::time::sleep(POLL).await;
    };
    // The run has noted the contact once its step passed.
    run.wait_for_stdout("✔  When the AI asks to create a contact");
    run.interrupt();
    let run = run.finish();

    run.assert_code(130);
    assert!(
        !run.stdout.contains("When the person confirms"),
        "the scenario deleted the contact itself before the interrupt: {run}"
    );
    assert!(
        run.stderr.contains("cleaned up"),
        "no word of the cleanup: {run}"
    );
    caller
        .get(&format!("/company/contacts/{contact}"), &[])
        .await
        .assert_status(404);
    let marked = caller.get("/company/contacts", &[MARKED]).await;
    assert_eq!(marked.ids(), Vec::<i64>::new(), "marked contacts are left");
    sandbox.stop();
}

/// Complete settings for a sandbox that is never reached.
fn settings() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("CONNECTWISE_SITE", "http://127.0.0.1:9"),
        ("CONNECTWISE_COMPANY_ID", COMPANY),
        ("CONNECTWISE_PUBLIC_KEY", PUBLIC),
        ("CONNECTWISE_PRIVATE_KEY", PRIVATE),
        ("CONNECTWISE_CLIENT_ID", CLIENT),
    ])
}

#[rstest]
#[case::private_key_unset("CONNECTWISE_PRIVATE_KEY", None, "CONNECTWISE_PRIVATE_KEY is not set")]
#[case::plain_http_elsewhere(
    "CONNECTWISE_SITE",
    Some("http://example.com"),
    "plain http is accepted only for loopback addresses"
)]
#[case::numeric_company_id(
    "CONNECTWISE_COMPANY_ID",
    Some("19"),
    "CONNECTWISE_COMPANY_ID is invalid"
)]
#[case::rate_out_of_range(
    "CONNECTWISE_REQUESTS_PER_MINUTE",
    Some("5000"),
    "CONNECTWISE_REQUESTS_PER_MINUTE is invalid"
)]
fn a_bad_setting_stops_the_run_naming_it(
    #[case] name: &'static str,
    #[case] value: Option<&'static str>,
    #[case] message: &str,
) {
    let scratch = Scratch::new();
    let mut vars = settings();
    match value {
        Some(value) => vars.insert(name, value),
        None => vars.remove(name),
    };
    let mut command = cw_conform(&scratch, &["run", "--quiet"]);
    command.envs(&vars);

    let run = Running::start(command).finish();

    run.assert_code(2);
    assert!(
        run.stderr.contains(message),
        "the error does not say {message:?}: {run}"
    );
    assert!(
        !run.output().contains(PRIVATE),
        "the private key is shown: {run}"
    );
}

/// A password in the site URL: no output, report or error may show it.
const SITE_PASSWORD: &str = "CANARY-SITE-PASS-5e1d";

/// Every file a command left in its scratch directory, with its text.
fn files_in(scratch: &Scratch) -> Vec<(String, String)> {
    std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            (path.display().to_string(), text)
        })
        .collect()
}

#[rstest]
#[case::json_report(&["run", "--format", "json", "--output", "report.json"])]
#[case::junit_report(&["run", "--format", "junit", "--output", "report.xml"])]
#[case::json_on_stdout(&["run", "--format", "json"])]
#[case::live_audit(&["audit", "--live"])]
#[case::mcp_serve(&["mcp-serve"])]
fn a_site_url_with_a_password_is_refused_and_never_shown(#[case] args: &[&str]) {
    let sandbox = LoopbackSandbox::start(&[]);
    let port = sandbox
        .served
        .site
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .to_owned();
    let mut command = sandbox.command(args);
    command.env(
        "CONNECTWISE_SITE",
        format!("http://cw-user:{SITE_PASSWORD}@127.0.0.1:{port}"),
    );

    let run = Running::start(command).finish();

    run.assert_code(2);
    assert!(
        run.stderr.contains(&format!(
            "CONNECTWISE_SITE is invalid: \"http://***@127.0.0.1:{port}\": a user name or password in the site URL is not used"
        )),
        "the error does not name the site and why: {run}"
    );
    assert!(
        !run.output().contains(SITE_PASSWORD),
        "the site's password is shown: {run}"
    );
    for (path, text) in files_in(&sandbox.scratch) {
        assert!(
            !text.contains(SITE_PASSWORD),
            "{path} shows the site's password:\n{text}"
        );
    }
    let served_output = sandbox.stop();
    assert!(!served_output.contains(SITE_PASSWORD), "{served_output}");
}

#[test]
fn settings_in_a_dotenv_file_of_the_working_directory_are_read() {
    let scratch = Scratch::new();
    let mut dotenv = String::new();
    for (name, value) in settings() {
        if name != "CONNECTWISE_CLIENT_ID" {
            let _ = writeln!(dotenv, "{name}={value}");
        }
    }
    scratch.write(".env", &dotenv);

    let run = Running::start(cw_conform(&scratch, &["run", "--quiet"])).finish();

    run.assert_code(2);
    assert!(
        run.stderr.contains("CONNECTWISE_CLIENT_ID is not set"),
        "{run}"
    );
    assert!(
        !run.output().contains(PRIVATE),
        "the private key is shown: {run}"
    );
}

#[test]
fn the_example_profiles_file_maps_shipped_roles_to_variables() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sandbox-profiles.example.toml");
    let path = path.to_str().unwrap().to_owned();
    let mut vars: BTreeMap<&str, String> = settings()
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect();
    vars.insert("CONNECTWISE_PROFILES", path.clone());
    for (name, value) in [
        ("CW_READ_ONLY_DISCOVERY_PUBLIC_KEY", "read-only-public"),
        ("CW_READ_ONLY_DISCOVERY_PRIVATE_KEY", "read-only-private"),
        ("CW_CUSTOMER_SYNC_PUBLIC_KEY", "sync-public"),
        ("CW_CUSTOMER_SYNC_PRIVATE_KEY", "sync-private"),
    ] {
        vars.insert(name, value.to_owned());
    }

    let sandbox = Sandbox::from_vars(&|name| vars.get(name).cloned())
        .unwrap_or_else(|e| panic!("the example does not load: {e}"));

    let keys: BTreeMap<&str, (&str, &str)> = sandbox
        .profiles
        .iter()
        .map(|(name, keys)| {
            (
                name.as_str(),
                (keys.public_key.as_str(), keys.private_key.expose()),
            )
        })
        .collect();
    assert_eq!(
        keys,
        BTreeMap::from([
            ("customer-sync", ("sync-public", "sync-private")),
            ("least-privilege", (PUBLIC, PRIVATE)),
            (
                "read-only-discovery",
                ("read-only-public", "read-only-private")
            ),
        ])
    );
    let fixtures = Fixtures::builtin().unwrap();
    for profile in keys.keys() {
        assert!(
            fixtures.roles.contains_key(*profile),
            "{profile} is not a shipped role"
        );
    }
    vars.remove("CW_CUSTOMER_SYNC_PRIVATE_KEY");
    let error = Sandbox::from_vars(&|name| vars.get(name).cloned()).unwrap_err();
    assert_eq!(
        error,
        TargetError::Missing("CW_CUSTOMER_SYNC_PRIVATE_KEY".to_owned())
    );
}

/// Every record the served sandbox holds, read through the API as its (full-access)
/// member: each top-level collection, and each child collection of every parent record,
/// all pages. What a customer would see.
async fn snapshot(caller: &Caller) -> BTreeMap<String, Vec<Value>> {
    let fixtures = Fixtures::builtin().unwrap();
    let endpoints = &fixtures.permissions.endpoints;
    let mut data = BTreeMap::new();
    let read_all = async |path: String, data: &mut BTreeMap<String, Vec<Value>>| {
        let mut records = Vec::new();
        for page in 1.. {
            let page = page.to_string();
            let reply = caller
                .get(&path, &[("pageSize", "1000"), ("page", &page)])
                .await;
            if reply.status != 200 {
                break; // not readable by path (a special endpoint)
            }
            let batch = reply.json().as_array().cloned().unwrap_or_default();
            let done = batch.len() < 1000;
            records.extend(batch);
            if done {
                break;
            }
        }
        data.insert(path, records);
    };
    for endpoint in endpoints.iter().filter(|e| !e.path.contains('{')) {
        read_all(endpoint.path.clone(), &mut data).await;
    }
    for child in endpoints.iter().filter(|e| e.path.contains("{parentId}")) {
        let (parent, _) = child.path.split_once("/{parentId}").unwrap();
        let ids: Vec<i64> = data
            .get(parent)
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_i64())
            .collect();
        for id in ids {
            read_all(child.path.replace("{parentId}", &id.to_string()), &mut data).await;
        }
    }
    data
}

/// What changed between two snapshots: records added, removed or changed, as
/// `path/id: what`.
fn changes(
    before: &BTreeMap<String, Vec<Value>>,
    after: &BTreeMap<String, Vec<Value>>,
) -> Vec<(String, i64, String)> {
    let by_id = |records: Option<&Vec<Value>>| -> BTreeMap<i64, Value> {
        records
            .into_iter()
            .flatten()
            .filter_map(|r| Some((r["id"].as_i64()?, r.clone())))
            .collect()
    };
    let mut found = Vec::new();
    let paths: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for path in paths {
        let (old, new) = (by_id(before.get(path)), by_id(after.get(path)));
        for (id, record) in &new {
            match old.get(id) {
                None => found.push((path.clone(), *id, format!("added {record}"))),
                Some(was) if was != record => {
                    found.push((path.clone(), *id, format!("changed from {was} to {record}")));
                }
                Some(_) => {}
            }
        }
        for id in old.keys().filter(|id| !new.contains_key(id)) {
            found.push((path.clone(), *id, "deleted".to_owned()));
        }
    }
    found
}

/// A tiny deterministic generator, so a failing interrupt moment can be replayed.
struct Moments(u64);

impl Moments {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }
}

/// The profiles file that maps every shipped role profile to the one served member, so
/// every scenario a sandbox can run does run.
fn every_profile(scratch: &Scratch) -> String {
    let fixtures = Fixtures::builtin().unwrap();
    let mut text = String::new();
    for name in fixtures.roles.keys().filter(|n| *n != "least-privilege") {
        let _ = write!(
            text,
            "[profile.{name}]\npublic_key_env = \"CONNECTWISE_PUBLIC_KEY\"\nprivate_key_env = \"CONNECTWISE_PRIVATE_KEY\"\n"
        );
    }
    scratch.write("profiles.toml", &text).display().to_string()
}

/// The records a JSON report lists as left behind, as (path, id, mark).
fn left_behind(report: &Value) -> Vec<(String, i64, String)> {
    report["left_behind"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_owned(),
                r["id"].as_i64().unwrap_or_default(),
                r["mark"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The one property that matters most on a customer's sandbox: interrupted at any moment,
/// a whole-suite run with writes leaves the data as it was, except records it lists as
/// left behind (each carrying its own token); records that quote the mark or carry
/// another run's token are never touched. After a SIGKILL, `sandbox cleanup` finds and
/// removes what the killed run left, from its ledger.
#[tokio::test(flavor = "multi_thread")]
async fn interrupted_at_any_moment_a_run_leaves_the_sandbox_as_it_was() {
    let sandbox = LoopbackSandbox::start(&["--role", "full-access"]);
    let caller = sandbox.caller();
    let profiles = every_profile(&sandbox.scratch);
    for planted in [
        "[cw-conform] quoted in a customer's contact",
        "[cw-conform 0123456789abcdef.1] another run's contact",
    ] {
        let body =
            serde_json::json!({"firstName": "Planted", "lastName": planted, "company": {"id": 2}});
        caller
            .send(reqwest::Method::POST, "/company/contacts", &[], Some(&body))
            .await
            .assert_status(201);
    }
    let baseline = snapshot(&caller).await;
    let run = |n: usize| {
        let output = format!("report-{n}.json");
        let mut command = sandbox.run(&[
            "--allow-writes",
            "--quiet",
            "--format",
            "json",
            "--output",
            &output,
        ]);
        command.env("CONNECTWISE_PROFILES", &profiles);
        (command, output)
    };

    // One whole run, to know how long a run takes (once it has started its ledger) and
    // that it cleans up after itself.
    let (command, output) = run(0);
    let mut whole = Running::start(command);
    whole.wait_for_stderr("sandbox run ");
    let started = Instant::now();
    let whole = whole.finish();
    let span = u64::try_from(started.elapsed().as_millis()).unwrap();
    let (_, report) = sandbox.report(&output);
    assert!(
        report["scenarios"].as_array().unwrap().len() > 4,
        "too few scenarios ran on the sandbox to test anything: {whole}"
    );
    assert_eq!(
        changes(&baseline, &snapshot(&caller).await),
        Vec::new(),
        "{whole}"
    );

    let mut moments = Moments(0x5eed);
    let mut allowed: Vec<(String, i64, String)> = Vec::new();
    let mut interrupted = 0;
    for n in 1..=20 {
        let (command, output) = run(n);
        let mut running = Running::start(command);
        // From the moment the run holds its ledger (it listens for Ctrl-C before that)
        // through the first three quarters of a whole run.
        running.wait_for_stderr("sandbox run ");
        let wait = moments.next_below(span * 3 / 4);
        thread::sleep(Duration::from_millis(wait));
        running.interrupt();
        let finished = running.finish();
        if finished.code == Some(130) {
            interrupted += 1;
            assert!(
                sandbox.scratch.path().join(&output).exists(),
                "an interrupted run wrote no report: {finished}"
            );
        }
        if let Ok(text) = std::fs::read_to_string(sandbox.scratch.path().join(&output)) {
            let report: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                report["interrupted"],
                finished.code == Some(130),
                "{finished}"
            );
            for (path, id, mark) in left_behind(&report) {
                assert!(mark.starts_with("[cw-conform "), "{mark}");
                allowed.push((path, id, mark));
            }
        }
        let after = snapshot(&caller).await;
        for (path, id, what) in changes(&baseline, &after) {
            assert!(
                allowed
                    .iter()
                    .any(|(p, i, mark)| *p == path && *i == id && what.contains(mark.as_str())),
                "interrupt {n} after {wait} ms changed {path}/{id} ({what}) and did not list it\n{finished}"
            );
        }
    }

    assert!(
        interrupted >= 10,
        "only {interrupted} of 20 interrupts landed while the run was going"
    );

    // SIGKILL once a marked record exists: nothing can clean up, the ledger remembers. (A
    // scenario may remove its record itself just before the kill lands: then try again.)
    for attempt in 21.. {
        assert!(attempt < 31, "ten SIGKILLs left nothing behind to clean up");
        let (command, _) = run(attempt);
        let running = Running::start(command);
        let deadline = Instant::now() + PATIENCE;
        while changes(&baseline, &snapshot(&caller).await).is_empty() {
            assert!(
                Instant::now() < deadline,
                "the run created nothing within {PATIENCE:?}"
            );
            tokio::time::sleep(POLL).await;
        }
        running.kill();
        if !changes(&baseline, &snapshot(&caller).await).is_empty() {
            break;
        }
    }

    // The next run says what earlier runs left.
    let mut next = sandbox.run(&[
        "--tags",
        "@smoke and not @writes",
        "--format",
        "json",
        "--output",
        "next.json",
    ]);
    next.env("CONNECTWISE_PROFILES", &profiles);
    Running::start(next).finish();
    let (_, next) = sandbox.report("next.json");
    assert!(
        !next["earlier_leftovers"].as_array().unwrap().is_empty(),
        "the report does not mention the killed run's records: {next}"
    );

    // Without a terminal or --yes, cleanup lists and deletes nothing.
    let cleanup = |yes: bool| {
        let mut args = vec!["sandbox", "cleanup"];
        if yes {
            args.push("--yes");
        }
        let mut command = sandbox.command(&args);
        command
            .env("CONNECTWISE_PROFILES", &profiles)
            .stdin(std::process::Stdio::null());
        Running::start(command).finish()
    };
    let listed = cleanup(false);
    listed.assert_code(1);
    assert!(listed.stdout.contains("Nothing was deleted"), "{listed}");
    assert!(!changes(&baseline, &snapshot(&caller).await).is_empty());
    let removed = cleanup(true);
    removed.assert_code(0);
    assert_eq!(
        changes(&baseline, &snapshot(&caller).await),
        Vec::new(),
        "{removed}"
    );
    let again = cleanup(true);
    again.assert_code(0);
    assert!(again.stdout.contains("Nothing to clean up"), "{again}");
    let output = format!("{}{}{}", listed.output(), removed.output(), again.output());
    assert!(!output.contains(PRIVATE), "a key was shown:\n{output}");
    sandbox.stop();
}
