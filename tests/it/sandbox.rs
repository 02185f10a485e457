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
        let scratch = Scratch::new("it");
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
        let report = crate::support::run_report(&text);
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
        left_out.iter().any(|l| {
            let reason = l["reason"].as_str().unwrap();
            cw_conform::harness::sandbox::BEYOND_ANY_SANDBOX
                .iter()
                .any(|kind| reason.starts_with(kind))
        }),
        "no scenario was left out as beyond any sandbox: {left_out:#?}"
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
    let group: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("  writes to the sandbox (run with --allow-writes) ("))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    assert!(
        group
            .iter()
            .any(|l| l.starts_with("    Smoke: one reversible write")),
        "the summary does not group the write under why it was left out: {run}"
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
    // The first requests are the preflight's (it reads each member's settings): it waits
    // out the 429s, and the scenario then finds ConnectWise answering.
    assert!(
        waiting
            .stderr
            .contains("  profile least-privilege: member ai-integration, role verified"),
        "the preflight did not get through the 429s: {waiting}"
    );
    assert_eq!(
        requests(smoke[0]),
        ["GET /company/companies -> 200"],
        "{report:#}"
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
    let scratch = Scratch::new("it");
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
    let scratch = Scratch::new("it");
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
        ("CW_SETUP_PUBLIC_KEY", "setup-public"),
        ("CW_SETUP_PRIVATE_KEY", "setup-private"),
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
            ("setup", ("setup-public", "setup-private")),
        ])
    );
    let fixtures = Fixtures::builtin().unwrap();
    for profile in keys.keys().filter(|p| **p != "setup") {
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

/// A members file for `serve` and a profiles file for the run: the API member the caller
/// signs in as holds full access (`CONNECTWISE_ROLE`), and every other shipped role
/// profile has a member of its own (keys `ROLE-public`, `ROLE-private` in the variables
/// `KEY_ROLE_PUBLIC`, `KEY_ROLE_PRIVATE`), so every scenario a sandbox can run does run.
fn every_profile(scratch: &Scratch) -> (String, String) {
    let fixtures = Fixtures::builtin().unwrap();
    let mut members = format!(
        "[[member]]\nidentifier = \"ai-integration\"\nrole = \"full-access\"\npublic_key = \"{PUBLIC}\"\nprivate_key = \"{PRIVATE}\"\n"
    );
    let mut profiles = String::new();
    for name in fixtures.roles.keys().filter(|n| *n != "full-access") {
        let stem = name.to_ascii_uppercase().replace('-', "_");
        let _ = write!(
            members,
            "\n[[member]]\nidentifier = \"cw-conform-{name}\"\nrole = \"{name}\"\npublic_key = \"{name}-public\"\nprivate_key = \"{name}-private\"\n"
        );
        let _ = write!(
            profiles,
            "[profile.{name}]\npublic_key_env = \"KEY_{stem}_PUBLIC\"\nprivate_key_env = \"KEY_{stem}_PRIVATE\"\n"
        );
    }
    (
        scratch
            .write("members.toml", &members)
            .display()
            .to_string(),
        scratch
            .write("profiles.toml", &profiles)
            .display()
            .to_string(),
    )
}

/// Points a command at the profiles [`every_profile`] wrote.
fn with_every_profile(command: &mut Command, profiles: &str) {
    let fixtures = Fixtures::builtin().unwrap();
    command
        .env("CONNECTWISE_PROFILES", profiles)
        .env("CONNECTWISE_ROLE", "full-access");
    for name in fixtures.roles.keys().filter(|n| *n != "full-access") {
        let stem = name.to_ascii_uppercase().replace('-', "_");
        command
            .env(format!("KEY_{stem}_PUBLIC"), format!("{name}-public"))
            .env(format!("KEY_{stem}_PRIVATE"), format!("{name}-private"));
    }
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
    let scratch = Scratch::new("it");
    let (members, profiles) = every_profile(&scratch);
    let served = serving_members(&scratch, &members);
    let sandbox = LoopbackSandbox { served, scratch };
    let caller = sandbox.caller();
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
        with_every_profile(&mut command, &profiles);
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
            let report: Value = crate::support::run_report(&text);
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
    // scenario may remove its record itself just before the kill lands, or the run may end
    // between two looks at the data: then try again.)
    for attempt in 21.. {
        assert!(attempt < 31, "ten SIGKILLs left nothing behind to clean up");
        let (mut command, _) = run(attempt);
        // Two requests a second: a created record stays long enough to be seen.
        command.env("CONNECTWISE_REQUESTS_PER_MINUTE", "120");
        let mut running = Running::start(command);
        let deadline = Instant::now() + PATIENCE;
        let mut created = false;
        while !running.has_ended() {
            assert!(
                Instant::now() < deadline,
                "the run neither created anything nor ended within {PATIENCE:?}"
            );
            if !changes(&baseline, &snapshot(&caller).await).is_empty() {
                created = true;
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        if !created {
            continue;
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
    with_every_profile(&mut next, &profiles);
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
        with_every_profile(&mut command, &profiles);
        command.stdin(std::process::Stdio::null());
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

/// The example members file: one API member for each role profile, and the setup member.
fn example_members() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sandbox-members.example.toml")
        .display()
        .to_string()
}

/// The profiles file in the Markdown `sandbox plan` prints (its TOML block).
fn profiles_from_plan(plan: &str) -> String {
    let (_, rest) = plan
        .split_once("```toml\n")
        .unwrap_or_else(|| panic!("the plan has no profiles file:\n{plan}"));
    let (toml, _) = rest.split_once("```").unwrap();
    toml.to_owned()
}

/// `cw-conform serve --members` playing a sandbox whose roles and members were made from
/// `sandbox plan`, and runs pointed at it with the plan's profiles file.
pub(crate) struct PlannedSandbox {
    pub(crate) served: Served,
    pub(crate) scratch: Scratch,
    /// The plan's profiles file, in the scratch directory.
    profiles: String,
    /// The role profiles the plan lists.
    roles: Vec<String>,
}

/// `serve` with the members of the file `members`, answering the harness's client id.
fn serving_members(scratch: &Scratch, members: &str) -> Served {
    Served::start(scratch, &["--members", members, "--client-id", CLIENT])
}

impl PlannedSandbox {
    /// `run --allow-writes --tags @LP-02`, its JSON report to `report` in the scratch folder.
    fn lp02_run(&self, report: &str) -> Command {
        self.command(&[
            "run",
            "--allow-writes",
            "--tags",
            "@LP-02",
            "--format",
            "json",
            "--output",
            report,
        ])
    }

    /// `serve` with the members of `members` (a members file).
    fn start(members: &str) -> Self {
        Self::start_with(|_, _| members.to_owned(), &[])
    }

    /// `serve` with one member for each role the plan lists, as a person following the
    /// plan makes them: identifier `cw-conform-ROLE`, keys `ROLE-public`, `ROLE-private`.
    fn with_a_member_for_each_role() -> Self {
        Self::serving_a_member_for_each_role(&[])
    }

    /// As [`Self::with_a_member_for_each_role`], with `extra` options for `serve`.
    pub(crate) fn serving_a_member_for_each_role(extra: &[&str]) -> Self {
        Self::start_with(
            |scratch, roles| {
                let members = roles.iter().fold(String::new(), |mut out, role| {
                    let _ = write!(
                        out,
                        "[[member]]\nidentifier = \"cw-conform-{role}\"\nrole = \"{role}\"\npublic_key = \"{role}-public\"\nprivate_key = \"{role}-private\"\n\n"
                    );
                    out
                });
                scratch
                    .write("members.toml", &members)
                    .display()
                    .to_string()
            },
            extra,
        )
    }

    /// `serve` with the members file `members` writes from the plan's roles.
    fn start_with(members: impl FnOnce(&Scratch, &[String]) -> String, extra: &[&str]) -> Self {
        let scratch = Scratch::new("it");
        let plan = crate::cli::cw_conform_finished(&scratch, &["sandbox", "plan"]);
        plan.assert_code(0);
        let roles: Vec<String> = plan
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("## Role `")?.strip_suffix('`'))
            .map(str::to_owned)
            .collect();
        let profiles = scratch
            .write("sandbox-profiles.toml", &profiles_from_plan(&plan.stdout))
            .display()
            .to_string();
        let members = members(&scratch, &roles);
        let mut args = vec!["--members", &members, "--client-id", CLIENT];
        args.extend_from_slice(extra);
        let served = Served::start(&scratch, &args);
        PlannedSandbox {
            served,
            scratch,
            profiles,
            roles,
        }
    }

    /// `cw-conform ARGS` with the default member's keys, the plan's profiles file and each
    /// profile's keys (the example members file's: `ROLE-public`, `ROLE-private`).
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = cw_conform(&self.scratch, args);
        command
            .env("CONNECTWISE_SITE", &self.served.site)
            .env("CONNECTWISE_COMPANY_ID", COMPANY)
            .env("CONNECTWISE_PUBLIC_KEY", "least-privilege-public")
            .env("CONNECTWISE_PRIVATE_KEY", "least-privilege-private")
            .env("CONNECTWISE_CLIENT_ID", CLIENT)
            .env("CONNECTWISE_REQUESTS_PER_MINUTE", "900")
            .env("CONNECTWISE_PROFILES", &self.profiles);
        for role in &self.roles {
            let stem = role.to_ascii_uppercase().replace('-', "_");
            command
                .env(format!("CW_{stem}_PUBLIC_KEY"), format!("{role}-public"))
                .env(format!("CW_{stem}_PRIVATE_KEY"), format!("{role}-private"));
        }
        command
    }

    /// An ordinary HTTP client signed in as the plan's member of `role`.
    pub(crate) fn caller(&self, role: &str) -> Caller {
        Caller::new(
            &format!("{}/v4_6_release/apis/3.0", self.served.site),
            COMPANY,
            &format!("{role}-public"),
            &format!("{role}-private"),
            CLIENT,
        )
    }
}

#[test]
fn sandbox_plan_lists_each_role_cell_by_cell_its_member_and_the_profiles_file() {
    let scratch = Scratch::new("it");

    let plan = crate::cli::cw_conform_finished(
        &scratch,
        &[
            "sandbox",
            "plan",
            "--roles",
            "customer-sync,read-only-discovery",
        ],
    );
    let page = crate::cli::cw_conform_finished(
        &scratch,
        &[
            "sandbox",
            "plan",
            "--roles",
            "customer-sync",
            "--format",
            "html",
            "--output",
            "plan.html",
        ],
    );
    let unknown =
        crate::cli::cw_conform_finished(&scratch, &["sandbox", "plan", "--roles", "read-only"]);

    plan.assert_code(0);
    let fixtures = Fixtures::builtin().unwrap();
    let role = fixtures.role("customer-sync").unwrap();
    for function in fixtures.permissions.functions.iter() {
        let levels = role.levels(function);
        let row = format!(
            "| {} | {} | {} | {} | {} | {} |",
            function.module,
            function.function,
            levels.add,
            levels.edit,
            levels.delete,
            levels.inquire
        );
        assert!(plan.stdout.contains(&row), "no row {row}:\n{}", plan.stdout);
    }
    assert!(
        plan.stdout.contains("| cw-conform-read-only-discovery | read-only-discovery | CW_READ_ONLY_DISCOVERY_PUBLIC_KEY | CW_READ_ONLY_DISCOVERY_PRIVATE_KEY |"),
        "{plan}"
    );
    let profiles = profiles_from_plan(&plan.stdout);
    assert!(
        profiles.contains("[profile.customer-sync]\npublic_key_env = \"CW_CUSTOMER_SYNC_PUBLIC_KEY\"\nprivate_key_env = \"CW_CUSTOMER_SYNC_PRIVATE_KEY\""),
        "{profiles}"
    );
    page.assert_code(0);
    let html = scratch.read("plan.html");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<style>"),
        "{html}"
    );
    assert!(
        html.contains("<tr><td>Companies</td><td>Contacts</td><td class=\"None\">None</td><td class=\"None\">None</td><td class=\"None\">None</td><td class=\"All\">All</td></tr>"),
        "{html}"
    );
    unknown.assert_code(2);
    assert!(unknown.stderr.contains("\"read-only\""), "{unknown}");
}

/// `serve` with one member for each role `sandbox plan` lists stands in for a sandbox:
/// every member is verified, and a run with `--allow-writes` runs at least 90 % of ALL
/// scenarios (those choosing a documented behaviour stricter than the sandbox's own run with
/// the harness emulating it, and say so), leaves out only scenarios no sandbox can run (a
/// behaviour more permissive than its own, naming both), none for naming the seed or for a
/// role limited to Customize items, each with its reason, passes, and
/// leaves the data as it was: every collection reads the same before and after
/// (what the setup member arranged and the scenarios created is gone), and a record the run
/// did not create, one quoting a mark among them, is untouched.
#[tokio::test(flavor = "multi_thread")]
async fn serve_with_several_members_stands_in_for_a_sandbox_and_every_member_is_verified() {
    let sandbox = PlannedSandbox::with_a_member_for_each_role();
    assert!(
        sandbox.roles.len() >= 3 && sandbox.roles.iter().any(|r| r == "setup"),
        "the plan lists too few roles, or no setup member: {:?}",
        sandbox.roles
    );
    let caller = sandbox.caller("full-access");
    let planted = serde_json::json!({
        "firstName": "Planted",
        "lastName": "[cw-conform] quoted in a customer's contact",
        "company": {"id": 2}
    });
    caller
        .send(
            reqwest::Method::POST,
            "/company/contacts",
            &[],
            Some(&planted),
        )
        .await
        .assert_status(201);
    let before = snapshot(&caller).await;
    let everyone = Running::start(sandbox.command(&[
        "run",
        "--allow-writes",
        "--format",
        "json",
        "--output",
        "report.json",
    ]))
    // The whole suite, the setup member's creates and their cleanup at 900 requests a
    // minute: a guard against a hang, not a time being checked.
    .finish_within(Duration::from_secs(45 * 60));
    let mut default_only = sandbox.command(&[
        "run",
        "--allow-writes",
        "--format",
        "json",
        "--output",
        "default-only.json",
    ]);
    default_only.env_remove("CONNECTWISE_PROFILES");
    let default_only = Running::start(default_only).finish();

    everyone.assert_code(0);
    assert!(
        everyone.stderr.contains(&format!(
            "target: ConnectWise sandbox {}, company {COMPANY}",
            sandbox.served.site
        )),
        "{everyone}"
    );
    for role in &sandbox.roles {
        assert!(
            everyone.stderr.contains(&format!(
                "  profile {role}: member cw-conform-{role}, role verified"
            )),
            "the banner does not name {role}'s member: {everyone}"
        );
    }
    let report: Value = crate::support::run_report(&sandbox.scratch.read("report.json"));
    let ran = report["scenarios"].as_array().unwrap();
    assert!(
        everyone
            .stderr
            .contains(&format!("estimate: {} scenarios sending about ", ran.len())),
        "the estimate does not count the scenarios that ran: {everyone}"
    );
    for scenario in ran {
        assert_eq!(scenario["failure"], Value::Null, "{scenario:#}");
    }
    assert_eq!(left_behind(&report), Vec::new(), "{everyone}");
    assert_eq!(
        changes(&before, &snapshot(&caller).await),
        Vec::new(),
        "{everyone}"
    );
    let left_out = report["left_out"].as_array().unwrap();
    let reason = |l: &Value| l["reason"].as_str().unwrap().to_owned();
    let named = |l: &Value| format!("{}: {}", l["name"], reason(l));
    let (beyond, left): (Vec<&Value>, Vec<&Value>) = left_out.iter().partition(|l| {
        cw_conform::harness::sandbox::BEYOND_ANY_SANDBOX
            .iter()
            .any(|k| reason(l).starts_with(k))
    });
    // No scenario is left out for naming the mock's seed: each arranges what it needs.
    let seed: Vec<String> = left_out
        .iter()
        .filter(|l| reason(l).starts_with(cw_conform::harness::sandbox::SEED))
        .map(named)
        .collect();
    assert_eq!(seed, Vec::<String>::new(), "{everyone}");
    // None is left out for want of a member (the roles limited to Customize items among
    // them), a setup member or a permission the run has: every scenario a sandbox can run
    // at all runs.
    let lacking: Vec<String> = left.iter().map(|l| named(l)).collect();
    assert_eq!(lacking, Vec::<String>::new(), "{everyone}");
    let total = ran.len() + left_out.len();
    let possible = total - beyond.len();
    eprintln!(
        "serve standing in for a sandbox with the plan's members: {} of {total} scenarios ran ({:.1}%); {} of the {possible} that nothing beyond a sandbox's reach keeps out ({:.1}%)",
        ran.len(),
        percent(ran.len(), total),
        ran.len(),
        percent(ran.len(), possible),
    );
    // At least 90 % of ALL scenarios run (the share from this run's own report, not a
    // count written down here): a scenario that chooses one of ConnectWise's documented
    // behaviours runs too, the harness emulating it where the sandbox follows another.
    assert!(
        ran.len() * 10 >= total * 9,
        "{} of all {total} scenarios ran ({:.1}%), fewer than 90 %; left out:\n{}",
        ran.len(),
        percent(ran.len(), total),
        left_out.iter().map(named).collect::<Vec<_>>().join("\n")
    );
    // Those that ran with an emulated behaviour say so, each naming the sandbox's own; the
    // sandbox's own behaviours are in the report, each probed or declared.
    let emulated: Vec<&Value> = ran
        .iter()
        .filter(|s| s["emulated"].as_array().is_some_and(|e| !e.is_empty()))
        .collect();
    assert!(
        emulated.iter().any(|s| s["emulated"][0]
            .as_str()
            .is_some_and(|e| e.starts_with("setup_table_reads = \"table-setup\" (the sandbox's own: setup_table_reads = \"open\" (probed))"))),
        "no scenario ran with an emulated setup-table rule: {everyone}"
    );
    assert_eq!(
        report["sandbox_behaviours"],
        serde_json::json!([
            "close_rule = \"older-table\" (declared)",
            "setup_table_reads = \"open\" (probed)",
            "page_zero = \"first-page\" (probed)",
            "bad_credentials = \"unauthorized\" (probed)"
        ]),
        "{everyone}"
    );
    // A behaviour more permissive than the sandbox's own is left out naming both.
    assert!(
        left_out.iter().any(
            |l| reason(l).starts_with(cw_conform::harness::sandbox::ALTERNATIVE)
                && reason(l).contains("close_rule = \"newer-document\"")
                && reason(l).contains("close_rule = \"older-table\" (declared)")
        ),
        "{everyone}"
    );

    default_only.assert_code(0);
    let (_, alone) = {
        let text = sandbox.scratch.read("default-only.json");
        let value: Value = crate::support::run_report(&text);
        (text, value)
    };
    let alone_ran = alone["scenarios"].as_array().unwrap().len();
    assert!(
        alone_ran < ran.len(),
        "with one member {alone_ran} ran, with the plan's {}",
        ran.len()
    );
    let reason = "no API member on the sandbox holds the role \"customer-sync\" (create it: `cw-conform sandbox plan --roles customer-sync`, then add its member to the profiles file)";
    assert!(
        default_only
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("  {reason} ("))),
        "the left-out scenarios are not grouped under their reason: {default_only}"
    );
    let output = format!("{}{}", everyone.output(), default_only.output());
    for key in ["customer-sync-private", "setup-private"] {
        assert!(!output.contains(key), "a key was shown");
    }
}

#[test]
fn a_member_whose_role_differs_or_whose_keys_are_refused_stops_the_run_with_every_problem() {
    let sandbox = PlannedSandbox::start(&example_members());
    let mut command = sandbox.command(&["run", "--allow-writes"]);
    // The example files, which agree (the setup member among them) but for this: the
    // read-only-discovery profile names the customer-sync member's keys, and the
    // customer-sync profile has a wrong private key.
    let profiles =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sandbox-profiles.example.toml");
    command
        .env("CONNECTWISE_PROFILES", profiles)
        .env("CW_READ_ONLY_DISCOVERY_PUBLIC_KEY", "customer-sync-public")
        .env(
            "CW_READ_ONLY_DISCOVERY_PRIVATE_KEY",
            "customer-sync-private",
        )
        .env("CW_CUSTOMER_SYNC_PRIVATE_KEY", "WRONG-PRIVATE-0c4f");

    let run = Running::start(command).finish();

    run.assert_code(2);
    assert!(
        run.stderr.contains("the sandbox is not ready: 2 problems"),
        "{run}"
    );
    assert!(
        run.stderr.contains(
            "credentials: profile \"customer-sync\": ConnectWise refused the member's keys (401)"
        ),
        "{run}"
    );
    let fixtures = Fixtures::builtin().unwrap();
    let expected = fixtures.role("read-only-discovery").unwrap();
    let held = fixtures.role("customer-sync").unwrap();
    let differences = expected.differences(&held);
    assert!(!differences.is_empty());
    assert!(
        run.stderr.contains(
            "profile \"read-only-discovery\": the member cw-conform-customer-sync does not hold the role \"read-only-discovery\""
        ),
        "{run}"
    );
    for difference in &differences {
        assert!(
            run.stderr.contains(&difference.to_string()),
            "the cell {difference} is not named: {run}"
        );
    }
    assert!(
        !run.stdout.contains("Conformance by rule"),
        "scenarios ran: {run}"
    );
    let ledgers = sandbox.scratch.path().join(".cw-conform/ledgers");
    assert!(
        std::fs::read_dir(&ledgers).map_or(true, |mut d| d.next().is_none()),
        "a ledger was started for a run that never ran"
    );
    for secret in ["WRONG-PRIVATE-0c4f", "customer-sync-private"] {
        assert!(!run.output().contains(secret), "{secret} shown: {run}");
    }
}

#[test]
fn broken_settings_and_an_unreachable_site_are_all_listed_before_anything_runs() {
    let scratch = Scratch::new("it");
    let mut vars = settings();
    vars.remove("CONNECTWISE_PUBLIC_KEY");
    vars.insert("CONNECTWISE_COMPANY_ID", "19");
    vars.insert("CONNECTWISE_REQUESTS_PER_MINUTE", "lots");
    let mut broken = cw_conform(&scratch, &["run", "--quiet"]);
    broken.envs(&vars);
    let mut unreachable = cw_conform(&scratch, &["run", "--quiet"]);
    unreachable.envs(settings());

    let broken = Running::start(broken).finish();
    let unreachable = Running::start(unreachable).finish();

    broken.assert_code(2);
    for expected in [
        "the sandbox settings have 3 problems:",
        "  - CONNECTWISE_PUBLIC_KEY is not set",
        "  - CONNECTWISE_COMPANY_ID is invalid: \"19\"",
        "  - CONNECTWISE_REQUESTS_PER_MINUTE is invalid: \"lots\"",
    ] {
        assert!(
            broken.stderr.contains(expected),
            "no {expected:?}: {broken}"
        );
    }
    unreachable.assert_code(2);
    assert!(
        unreachable
            .stderr
            .contains("the sandbox is not ready: 1 problem\n  - connectivity: failed to reach ConnectWise at http://127.0.0.1:9"),
        "{unreachable}"
    );
    assert!(!unreachable.stdout.contains("CL-04"), "{unreachable}");
    for finished in [&broken, &unreachable] {
        assert!(!finished.output().contains(PRIVATE), "{finished}");
    }
}

#[test]
fn a_dotenv_that_switches_the_target_is_named_in_a_warning() {
    let sandbox = LoopbackSandbox::start(&[]);
    let mut dotenv = format!("CONNECTWISE_SITE={}\n", sandbox.served.site);
    for (name, value) in settings()
        .into_iter()
        .filter(|(n, _)| *n != "CONNECTWISE_SITE")
    {
        let _ = writeln!(dotenv, "{name}={value}");
    }
    sandbox.scratch.write(".env", &dotenv);
    let mut command = cw_conform(
        &sandbox.scratch,
        &["run", "--tags", "@CL-04 and not @writes"],
    );
    command.env("CONNECTWISE_REQUESTS_PER_MINUTE", "900");

    let run = Running::start(command).finish();

    run.assert_code(0);
    assert!(
        run.stderr.contains("warning: .env set CONNECTWISE_SITE: this run goes to a ConnectWise sandbox, not the mock"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("  profile least-privilege: member ai-integration, role verified"),
        "{run}"
    );
    assert!(!run.output().contains(PRIVATE), "{run}");
    sandbox.stop();
}

#[test]
fn require_rules_all_fails_a_sandbox_run_that_checked_fewer_rules_than_asked() {
    let sandbox = LoopbackSandbox::start(&[]);
    let tags = "@CL-04 or @SAFE-01";

    let lenient = Running::start(sandbox.run(&["--tags", tags])).finish();
    let strict = Running::start(sandbox.run(&["--tags", tags, "--require-rules", "all"])).finish();
    let complete = Running::start(sandbox.run(&[
        "--tags",
        "@CL-04 and not @writes",
        "--require-rules",
        "all",
    ]))
    .finish();

    let says = "This sandbox run checked fewer rules than its scenarios ask for: 1 rule left unchecked (SAFE-01)";
    lenient.assert_code(0);
    assert!(lenient.stdout.contains(says), "{lenient}");
    strict.assert_code(1);
    assert!(strict.stdout.contains(says), "{strict}");
    complete.assert_code(0);
    assert!(!complete.stdout.contains("fewer rules"), "{complete}");
    sandbox.stop();
}

#[test]
fn a_scenario_role_runs_on_a_sandbox_only_as_a_member_that_holds_it() {
    let scratch = Scratch::new("it");
    let feature = scratch.write(
        "own_role.feature",
        "@CL-01\nFeature: A role of the scenario's own\n\n  Scenario: Companies read with a role written here\n    Given an API member whose role grants:\n      | function                        | inquire |\n      | Companies / Company Maintenance | All     |\n    When the AI asks to search companies \"Acme\"\n    Then the outcome is allowed\n",
    );
    let role_file = scratch.write(
        "company-reader.toml",
        "name = \"company-reader\"\nsummary = \"Companies read-only\"\n\n[[grant]]\nfunction = \"Companies / Company Maintenance\"\ninquire = \"All\"\n",
    );
    let members = scratch.write(
        "members.toml",
        &format!(
            "[[member]]\nidentifier = \"ai-integration\"\nrole = \"least-privilege\"\npublic_key = \"{PUBLIC}\"\nprivate_key = \"{PRIVATE}\"\n\n[[member]]\nidentifier = \"company-reader\"\nrole = \"{}\"\npublic_key = \"reader-public\"\nprivate_key = \"reader-private\"\n",
            role_file.display()
        ),
    );
    let profiles = scratch.write(
        "profiles.toml",
        &format!(
            "[profile.\"{}\"]\npublic_key_env = \"READER_PUBLIC\"\nprivate_key_env = \"READER_PRIVATE\"\n",
            role_file.display()
        ),
    );
    let served = serving_members(&scratch, &members.display().to_string());
    let sandbox = LoopbackSandbox { served, scratch };
    let feature = feature.display().to_string();

    let without =
        Running::start(sandbox.run(&["--format", "json", "--output", "without.json", &feature]))
            .finish();
    let mut with = sandbox.run(&["--format", "json", "--output", "with.json", &feature]);
    with.env("CONNECTWISE_PROFILES", profiles.display().to_string())
        .env("READER_PUBLIC", "reader-public")
        .env("READER_PRIVATE", "reader-private");
    let with = Running::start(with).finish();

    let (_, without_report) = sandbox.report("without.json");
    let left = without_report["left_out"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{without}");
    let reason = left[0]["reason"].as_str().unwrap();
    assert!(
        reason
            .starts_with("no API member on the sandbox holds the scenario's own role \"scenario-")
            && reason.contains("`cw-conform sandbox plan --roles scenario-"),
        "{reason}"
    );
    with.assert_code(0);
    let (_, with_report) = sandbox.report("with.json");
    let ran = with_report["scenarios"].as_array().unwrap();
    assert_eq!(ran.len(), 1, "{with}");
    assert_eq!(ran[0]["failure"], Value::Null, "{with}");
    let searched = requests(&ran[0]);
    assert!(
        searched
            .iter()
            .any(|r| r.starts_with("GET /company/companies -> 200")),
        "{searched:?}"
    );
    sandbox.stop();
}

#[test]
fn a_members_file_with_a_mistake_is_refused_naming_the_file_line_and_value() {
    let scratch = Scratch::new("it");
    let members = scratch.write(
        "members.toml",
        "[[member]]\nidentifier = \"one\"\nrole = \"least-privilege\"\npublic_key = \"one-public\"\nprivate_key = \"one-private\"\n\n[[member]]\nidentifier = \"two\"\nrole = \"read-onyl-discovery\"\npublic_key = \"two-public\"\nprivate_key = \"two-private\"\n",
    );
    let duplicate = scratch.write(
        "duplicate.toml",
        "[[member]]\nidentifier = \"one\"\nrole = \"least-privilege\"\npublic_key = \"same\"\nprivate_key = \"one-private\"\n\n[[member]]\nidentifier = \"two\"\nrole = \"customer-sync\"\npublic_key = \"same\"\nprivate_key = \"two-private\"\n",
    );

    let unknown = crate::cli::cw_conform_finished(
        &scratch,
        &[
            "serve",
            "--port",
            "0",
            "--members",
            &members.display().to_string(),
        ],
    );
    let shared = crate::cli::cw_conform_finished(
        &scratch,
        &[
            "serve",
            "--port",
            "0",
            "--members",
            &duplicate.display().to_string(),
        ],
    );

    unknown.assert_code(2);
    assert!(
        unknown.stderr.contains(&format!(
            "failed to load the members file {}: line 9: member \"two\": ",
            members.display()
        )) && unknown.stderr.contains("\"read-onyl-discovery\""),
        "{unknown}"
    );
    shared.assert_code(2);
    assert!(
        shared
            .stderr
            .contains("the member \"two\" has the public key of another member"),
        "{shared}"
    );
    for finished in [&unknown, &shared] {
        assert!(!finished.output().contains("-private"), "{finished}");
    }
}

/// The role the built-in scenarios need that limits a function to some Customize items,
/// as `sandbox plan` lists it.
fn limited_role_of_the_plan() -> cw_conform::model::SecurityRole {
    let fixtures = Fixtures::builtin().unwrap();
    let limited: Vec<_> = cw_conform::harness::sandbox::roles_the_suite_needs(fixtures)
        .into_iter()
        .filter(|role| role.limited().next().is_some())
        .collect();
    assert_eq!(
        limited.len(),
        1,
        "the plan should list one limited role: {:?}",
        limited.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    limited.into_iter().next().unwrap()
}

/// A members file with a member for each of `roles` (identifier `cw-conform-ROLE`, keys
/// `ROLE-public` and `ROLE-private`), the member of `role` holding `held` instead: a role
/// and a `customize` table.
fn members_holding(roles: &[String], role: &str, held: &str) -> String {
    roles.iter().fold(String::new(), |mut out, name| {
        let holds = if name == role {
            held.to_owned()
        } else {
            format!("role = \"{name}\"\n")
        };
        let _ = write!(
            out,
            "[[member]]\nidentifier = \"cw-conform-{name}\"\n{holds}public_key = \"{name}-public\"\nprivate_key = \"{name}-private\"\n\n"
        );
        out
    })
}

/// The scenarios limiting a role to some Customize items run on `serve` standing in for a
/// sandbox, as the member `sandbox plan` lists for that role (its `customize` table in the
/// members file), and pass: the limit is enforced by the member's own settings.
#[test]
fn the_customize_limit_scenarios_run_as_the_member_holding_the_limited_role() {
    let limited = limited_role_of_the_plan();
    let sandbox = PlannedSandbox::start_with(
        |scratch, roles| {
            let held = "role = \"least-privilege\"\ncustomize = { \"Companies / Configurations\" = [\"Firewall\"] }\n";
            scratch
                .write("members.toml", &members_holding(roles, &limited.name, held))
                .display()
                .to_string()
        },
        &[],
    );

    let run = Running::start(sandbox.lp02_run("report.json"))
        // The preflight of every profile the plan lists, and the LP-02 scenarios, at 900
        // requests a minute: a guard against a hang on a loaded machine, not a time checked.
        .finish_within(Duration::from_secs(5 * 60));

    run.assert_code(0);
    assert!(
        run.stderr.contains(&format!(
            "  profile {0}: member cw-conform-{0}, role verified",
            limited.name
        )),
        "{run}"
    );
    let report: Value = crate::support::run_report(&sandbox.scratch.read("report.json"));
    let limiting: Vec<&Value> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["name"]
                .as_str()
                .unwrap()
                .starts_with("A role limited to firewalls")
        })
        .collect();
    assert_eq!(limiting.len(), 2, "{run}");
    for scenario in limiting {
        assert_eq!(scenario["failure"], Value::Null, "{scenario:#}");
    }
    let left_out: Vec<String> = report["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["name"].as_str().unwrap().contains("firewalls"))
        .map(ToString::to_string)
        .collect();
    assert_eq!(left_out, Vec::<String>::new(), "{run}");
    assert!(!run.output().contains("-private"), "{run}");
}

/// The preflight reads each member's Customize items: a member whose role has the profile's
/// cells but other items, or no limit at all, stops the run (exit 2) with the difference
/// named item by item, before anything runs; without a member holding the limited role,
/// the scenarios limiting a role are left out naming the role to create.
#[rstest]
#[case::other_items(
    "role = \"least-privilege\"\ncustomize = { \"Companies / Configurations\" = [\"Firewall\", \"Server\"] }\n",
    "1 Customize setting differ",
    "Companies / Configurations Customize item \"Server\": expected disallowed, ConnectWise allows it"
)]
#[case::no_limit(
    "role = \"least-privilege\"\n",
    "1 Customize setting differ",
    "Companies / Configurations Customize: expected only \"Firewall\", ConnectWise allows every item"
)]
fn a_member_whose_customize_items_differ_from_its_profile_stops_the_run(
    #[case] held: &str,
    #[case] counted: &str,
    #[case] difference: &str,
) {
    let limited = limited_role_of_the_plan();
    let sandbox = PlannedSandbox::start_with(
        |scratch, roles| {
            scratch
                .write("members.toml", &members_holding(roles, &limited.name, held))
                .display()
                .to_string()
        },
        &[],
    );
    let mut without = sandbox.lp02_run("without.json");
    // The profiles file without the limited role's profile.
    let profiles = sandbox.scratch.read("sandbox-profiles.toml");
    let (kept, dropped) = profiles
        .split_once(&format!("[profile.{}]", limited.name))
        .unwrap();
    let (_, after) = dropped.split_once("\n\n").unwrap_or((dropped, ""));
    let without_profiles = sandbox
        .scratch
        .write("without-profiles.toml", &format!("{kept}{after}"));
    without.env("CONNECTWISE_PROFILES", &without_profiles);

    // The preflight of every profile the plan lists at 900 requests a minute, then (without
    // the limited role's profile) the LP-02 scenarios: a guard against a hang on a loaded
    // machine, not a time checked.
    let run = Running::start(sandbox.command(&["run", "--allow-writes", "--tags", "@LP-02"]))
        .finish_within(Duration::from_secs(5 * 60));
    let without = Running::start(without).finish_within(Duration::from_secs(5 * 60));

    run.assert_code(2);
    for expected in [
        "the sandbox is not ready: 1 problem".to_owned(),
        format!(
            "profile \"{0}\": the member cw-conform-{0} does not hold the role \"{0}\"",
            limited.name
        ),
        format!(
            "({counted}; `cw-conform sandbox plan --roles {}`",
            limited.name
        ),
        difference.to_owned(),
    ] {
        assert!(run.stderr.contains(&expected), "no {expected:?}: {run}");
    }
    assert!(
        !run.stdout.contains("Conformance by rule"),
        "scenarios ran: {run}"
    );
    without.assert_code(0);
    let report: Value = crate::support::run_report(&sandbox.scratch.read("without.json"));
    let reasons: Vec<&str> = report["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["name"]
                .as_str()
                .unwrap()
                .starts_with("A role limited to firewalls")
        })
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    let reason = format!(
        "no API member on the sandbox holds the scenario's own role \"{0}\" (create it: `cw-conform sandbox plan --roles {0}`, then add its member to the profiles file)",
        limited.name
    );
    assert_eq!(reasons, [reason.as_str(), reason.as_str()], "{without}");
    assert!(!run.output().contains("-private"), "{run}");
}

/// A members file's `customize` table limits the member's role, and the mock enforces the
/// limit for that member only: its configurations are the firewalls, and
/// `/system/mySecurity/customizeItems` lists only "Firewall". A mistake in the table names
/// the file, the line and the value.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_of_the_members_file_carries_its_customize_limits() {
    let scratch = Scratch::new("it");
    let members = scratch.write(
        "members.toml",
        "[[member]]\nidentifier = \"everything\"\nrole = \"least-privilege\"\npublic_key = \"everything-public\"\nprivate_key = \"everything-private\"\n\n[[member]]\nidentifier = \"firewalls\"\nrole = \"least-privilege\"\ncustomize = { \"Companies / Configurations\" = [\"Firewall\"] }\npublic_key = \"firewalls-public\"\nprivate_key = \"firewalls-private\"\n",
    );
    let mistakes = [
        (
            "customize = { \"Companies / Configurations\" = [\"Firewal\"] }",
            "line 4: member \"one\": customize: unknown item \"Firewal\" in the Customize allow-list of \"Companies / Configurations\"",
        ),
        (
            "customize = { \"Companies / Contacts\" = [\"Firewall\"] }",
            "line 4: member \"one\": customize: \"Companies / Contacts\" has no Customize allow-list",
        ),
        (
            "customize = { \"Companies / Configuration\" = [\"Firewall\"] }",
            "line 4: member \"one\": customize: unknown security function \"Companies / Configuration\"",
        ),
    ];
    let served = serving_members(&scratch, &members.display().to_string());
    let api = format!("{}/v4_6_release/apis/3.0", served.site);
    let caller = |name: &str| {
        Caller::new(
            &api,
            COMPANY,
            &format!("{name}-public"),
            &format!("{name}-private"),
            CLIENT,
        )
    };
    let types = |reply: &crate::support::Reply| -> Vec<String> {
        reply
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let items = |reply: &crate::support::Reply| -> Vec<String> {
        reply
            .json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["customizeIdentifier"] == "Configurations")
            .map(|i| i["itemIdentifier"].as_str().unwrap().to_owned())
            .collect()
    };

    let read = |member: &str, path: &'static str| {
        let caller = caller(member);
        async move { caller.send(reqwest::Method::GET, path, &[], None).await }
    };
    let limited = read("firewalls", "/company/configurations").await;
    let everything = read("everything", "/company/configurations").await;
    let limited_items = read("firewalls", "/system/mySecurity/customizeItems").await;
    let every_item = read("everything", "/system/mySecurity/customizeItems").await;
    let refused: Vec<_> = mistakes
        .iter()
        .map(|(line, _)| {
            let file = scratch.write(
                "mistaken.toml",
                &format!("[[member]]\nidentifier = \"one\"\nrole = \"least-privilege\"\n{line}\npublic_key = \"one-public\"\nprivate_key = \"one-private\"\n"),
            );
            crate::cli::cw_conform_finished(
                &scratch,
                &["serve", "--port", "0", "--members", &file.display().to_string()],
            )
        })
        .collect();

    limited.assert_status(200);
    assert_eq!(types(&limited), ["Firewall"], "{limited}");
    everything.assert_status(200);
    assert!(
        types(&everything).iter().any(|t| t != "Firewall"),
        "{everything}"
    );
    limited_items.assert_status(200);
    assert_eq!(items(&limited_items), ["Firewall"], "{limited_items}");
    assert_eq!(
        items(&every_item),
        ["Workstation", "Server", "Firewall"],
        "{every_item}"
    );
    for (finished, (_, expected)) in refused.iter().zip(mistakes) {
        finished.assert_code(2);
        assert!(
            finished.stderr.contains("failed to load the members file ")
                && finished.stderr.contains(expected),
            "no {expected:?}: {finished}"
        );
        assert!(!finished.output().contains("-private"), "{finished}");
    }
    let (stopped, _) = served.stop();
    stopped.assert_code(0);
}

/// `part` of `whole`, in percent.
fn percent(part: usize, whole: usize) -> f64 {
    f64::from(u32::try_from(part).unwrap()) * 100.0 / f64::from(u32::try_from(whole).unwrap())
}
