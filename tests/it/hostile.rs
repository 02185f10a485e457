//! Hostile input: `cw-conform serve` (run as its own process, as a user runs it) and the
//! in-process mocks answer every oversized or malformed request in ConnectWise's error
//! shape, stay up, and do not grow with what a client sends.
//!
//! Memory is judged from `/proc/PID/status` of the served process: `VmHWM`, its peak
//! resident size, after a request against `VmRSS` before it. Answers are awaited with a
//! client timeout, so a hung server fails the test; no test measures elapsed time.

use std::net::TcpListener;
use std::time::Duration;

use base64::Engine as _;
use cw_conform::mock::{ApiMember, Limits, MockConfig, MockConnectWise, Retention, query};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::cli::{Caller, Scratch, Served};
use crate::support::{AI, Reply, Wire, fixtures, role};

/// How long any answer may take before the test fails.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// The keys `serve` uses when none are given.
const SERVE_AUTHORIZATION: (&str, &str, &str) = (
    "northwind",
    "ai-integration-public",
    "ai-integration-private",
);

/// One mebibyte.
const MIB: usize = 1024 * 1024;

/// `cw-conform serve` with a role that may do everything, and a caller signed in to it.
fn serve(scratch: &Scratch, extra: &[&str]) -> (Served, Caller) {
    let mut args = vec!["--role", "full-access"];
    args.extend_from_slice(extra);
    let served = Served::start(scratch, &args);
    let (company, public, private) = SERVE_AUTHORIZATION;
    let caller = Caller::new(
        &served.banner_value("REST base URL"),
        company,
        public,
        private,
        "hostile-tests",
    );
    (served, caller)
}

/// The `Authorization` header of `serve`'s default API member.
fn serve_authorization() -> String {
    let (company, public, private) = SERVE_AUTHORIZATION;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{company}+{public}:{private}"));
    format!("Basic {encoded}")
}

/// A field of `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`).
fn memory(pid: u32, field: &str) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("failed to read /proc/{pid}/status: {e}"));
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status:\n{status}"));
    kib * 1024
}

/// Asserts a ConnectWise error body: `code`, a message containing `says`, no field errors.
#[track_caller]
fn assert_cw_error(reply: &Reply, status: u16, code: &str, says: &str) {
    reply.assert_status(status);
    let body = reply.json();
    assert_eq!(body["code"], code, "unexpected code: {reply}");
    assert_eq!(body["errors"], Value::Null, "unexpected errors: {reply}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(says),
        "the message does not say {says:?}: {reply}"
    );
}

/// How a raw request sends its body.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// With `Content-Length`.
    Declared,
    /// `Transfer-Encoding: chunked`, no length.
    Chunked,
}

/// Sends `POST path` with `size` bytes of body over a plain TCP connection, writing the
/// body while reading the answer (as a client that streams an upload does), and returns
/// the answer once the whole body has been sent or refused.
async fn post_raw(
    site_url: &str,
    path: &str,
    authorization: Option<&str>,
    size: usize,
    framing: Framing,
) -> Reply {
    let address = site_url.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&address).await.unwrap();
    let (mut reading, mut writing) = stream.into_split();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nclientId: hostile-tests\r\n\
         Content-Type: application/json\r\n"
    );
    if let Some(authorization) = authorization {
        head = head + "Authorization: " + authorization + "\r\n";
    }
    let framing_header = match framing {
        Framing::Declared => format!("Content-Length: {size}"),
        Framing::Chunked => "Transfer-Encoding: chunked".to_owned(),
    };
    head = head + &framing_header + "\r\n\r\n";
    // The writer keeps its half open until the answer is read: a client that shuts down
    // its side early gets no answer from hyper.
    let writer = tokio::spawn(async move {
        let written = write_body(&mut writing, head, size, framing).await;
        (writing, written)
    });
    let reply = tokio::time::timeout(ANSWER_WITHIN, read_reply(&mut reading))
        .await
        .unwrap_or_else(|_| panic!("no answer to POST {path} within {ANSWER_WITHIN:?}"));
    // The server may stop reading once it has answered; all that matters is that it has
    // seen (or refused) everything before memory is measured.
    let _ = tokio::time::timeout(ANSWER_WITHIN, writer).await;
    reply
}

/// Writes a request head and `size` bytes of body.
async fn write_body(
    writing: &mut tokio::net::tcp::OwnedWriteHalf,
    head: String,
    size: usize,
    framing: Framing,
) -> std::io::Result<()> {
    writing.write_all(head.as_bytes()).await?;
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        let part = &chunk[..chunk.len().min(size - sent)];
        if let Framing::Chunked = framing {
            writing
                .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                .await?;
        }
        writing.write_all(part).await?;
        if let Framing::Chunked = framing {
            writing.write_all(b"\r\n").await?;
        }
        sent += part.len();
    }
    if let Framing::Chunked = framing {
        writing.write_all(b"0\r\n\r\n").await?;
    }
    writing.flush().await
}

/// Reads one HTTP/1.1 response with a `Content-Length` body.
async fn read_reply(reading: &mut tokio::net::tcp::OwnedReadHalf) -> Reply {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    let (head_end, length) = loop {
        let n = reading.read(&mut buffer).await.unwrap();
        assert!(
            n > 0,
            "the connection closed mid-answer: {}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buffer[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |n| n.trim().parse().unwrap());
            break (end + 4, length);
        }
    };
    while received.len() < head_end + length {
        let n = reading.read(&mut buffer).await.unwrap();
        assert!(n > 0, "the connection closed mid-body");
        received.extend_from_slice(&buffer[..n]);
    }
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head}"));
    Reply {
        status,
        headers: reqwest::header::HeaderMap::new(),
        text: String::from_utf8_lossy(&received[head_end..head_end + length]).into_owned(),
    }
}

/// `depth` parentheses around `id = 1001`.
fn nested(depth: usize) -> String {
    format!("{}id = 1001{}", "(".repeat(depth), ")".repeat(depth))
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_deeply_nested_conditions_with_400_and_stays_up() {
    let scratch = Scratch::new("it");
    let (mut served, caller) = serve(&scratch, &[]);

    // 2,000 levels: a 12 KB URL once encoded, within the URL limit.
    for param in ["conditions", "childConditions"] {
        let reply = caller
            .get("/service/tickets", &[(param, &nested(2_000))])
            .await;
        assert_cw_error(&reply, 400, "BadRequest", "nest deeper than 64");
        assert!(reply.json()["message"].as_str().unwrap().contains(param));
    }
    let fine = caller
        .get(
            "/service/tickets",
            &[("conditions", &nested(query::MAX_NESTING))],
        )
        .await;

    fine.assert_status(200);
    assert_eq!(fine.ids(), [1001]);
    assert!(!served.has_ended(), "serve ended");
    served.stop().0.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scenario_mock_answers_deep_nesting_and_long_paths_with_400() {
    let wire = Wire::with_role(role("full-access")).await;
    // Within the 16 KiB URL limit once encoded.
    let deep_path = vec!["board"; 1_500].join("/");

    let deep = wire
        .get("/service/tickets")
        .query(&[("conditions", &nested(2_000))])
        .send()
        .await;
    let long_order = wire
        .get("/service/tickets")
        .query(&[("orderBy", &deep_path)])
        .send()
        .await;
    let long_fields = wire
        .get("/service/tickets")
        .query(&[("fields", &deep_path)])
        .send()
        .await;

    assert_cw_error(&deep, 400, "BadRequest", "nest deeper than 64");
    assert_cw_error(&long_order, 400, "BadRequest", "has 1500 segments");
    assert_cw_error(&long_fields, 400, "BadRequest", "has 1500 segments");
    wire.get("/service/tickets/1001")
        .send()
        .await
        .assert_status(200);
    wire.shutdown();
}

#[rstest::rstest]
#[case::declared(Framing::Declared)]
#[case::chunked(Framing::Chunked)]
#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_a_100_mb_body_with_413_without_holding_it(#[case] framing: Framing) {
    let scratch = Scratch::new("it");
    let (served, caller) = serve(&scratch, &[]);
    let before = memory(served.pid(), "VmRSS");

    let reply = post_raw(
        &served.site,
        "/v4_6_release/apis/3.0/service/tickets",
        Some(&serve_authorization()),
        100 * MIB,
        framing,
    )
    .await;

    assert_cw_error(&reply, 413, "RequestTooLarge", "10485760");
    let growth = memory(served.pid(), "VmHWM").saturating_sub(before);
    assert!(
        growth < 200 * MIB,
        "serve's peak memory grew by {} MiB for a refused 100 MiB body",
        growth / MIB
    );
    caller.get("/system/info", &[]).await.assert_status(200);
    served.stop().0.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_a_large_body_before_inviting_it_with_100_continue() {
    let scratch = Scratch::new("it");
    let (served, caller) = serve(&scratch, &[]);
    let address = served.site.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&address).await.unwrap();
    let (mut reading, mut writing) = stream.into_split();
    let head = format!(
        "POST /v4_6_release/apis/3.0/service/tickets HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: {}\r\nclientId: hostile-tests\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        serve_authorization(),
        100 * MIB
    );

    writing.write_all(head.as_bytes()).await.unwrap();
    let reply = tokio::time::timeout(ANSWER_WITHIN, read_reply(&mut reading))
        .await
        .unwrap_or_else(|_| panic!("no answer within {ANSWER_WITHIN:?}"));

    // The first answer is the refusal: no `100 Continue` asked for the body first.
    assert_cw_error(&reply, 413, "RequestTooLarge", "104857600 bytes long");
    drop(writing);
    caller.get("/system/info", &[]).await.assert_status(200);
    served.stop().0.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_its_body_limit_from_max_body_bytes() {
    let scratch = Scratch::new("it");
    let (served, caller) = serve(&scratch, &["--max-body-bytes", "1000"]);
    let summary = "x".repeat(1_000);

    let refused = caller
        .send(
            Method::POST,
            "/service/tickets",
            &[],
            Some(&json!({"summary": summary, "company": {"id": 19}})),
        )
        .await;
    let accepted = caller
        .send(
            Method::POST,
            "/service/tickets",
            &[],
            Some(&json!({"summary": "Small", "company": {"id": 19}})),
        )
        .await;

    assert_cw_error(&refused, 413, "RequestTooLarge", "at most 1000 are allowed");
    accepted.assert_status(201);
    served.stop().0.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_an_unauthenticated_large_body_with_401_without_reading_it() {
    let scratch = Scratch::new("it");
    let (served, _caller) = serve(&scratch, &[]);
    let before = memory(served.pid(), "VmRSS");

    let reply = post_raw(
        &served.site,
        "/v4_6_release/apis/3.0/service/tickets",
        None,
        100 * MIB,
        Framing::Chunked,
    )
    .await;

    assert_cw_error(&reply, 401, "Unauthorized", "Unauthorized");
    let growth = memory(served.pid(), "VmHWM").saturating_sub(before);
    assert!(
        growth < 200 * MIB,
        "serve's peak memory grew by {} MiB for an unauthenticated 100 MiB body",
        growth / MIB
    );
    served.stop().0.assert_code(0);
}

/// A mock served in-process by the bounded server, with `AI` as its full-access member.
fn served_in_process(retention: Retention, limits: Limits) -> MockConnectWise {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = MockConfig {
        members: vec![ApiMember::with_role(AI, role("full-access"))],
        retention,
        ..MockConfig::default()
    };
    MockConnectWise::serve(listener, fixtures(), config, limits).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unauthenticated_body_is_neither_parsed_nor_journalled() {
    let mock = served_in_process(Retention::SERVE, Limits::default());
    let credentials = mock.credentials_for(AI).unwrap();
    let body = json!({"summary": "x".repeat(MIB), "company": {"id": 19}}).to_string();
    let path = "/v4_6_release/apis/3.0/service/tickets";

    let refused = post_raw(&mock.site(), path, None, 0, Framing::Declared).await;
    let http = cw_conform::connectwise::http::client_builder()
        .expect("TLS set up")
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap();
    let wrong_key = http
        .post(format!("{}{path}", mock.site()))
        .header("Authorization", "Basic bm9ydGh3aW5kK3g6eQ==")
        .header("clientId", "hostile-tests")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let accepted = http
        .post(format!("{}{path}", mock.site()))
        .header("Authorization", credentials.authorization().expose())
        .header("clientId", "hostile-tests")
        .body(body.clone())
        .send()
        .await
        .unwrap();

    refused.assert_status(401);
    assert_eq!(wrong_key.status().as_u16(), 401);
    assert_eq!(accepted.status().as_u16(), 201);
    let journal = mock.journal();
    let shown: Vec<(u16, Option<&str>, bool)> = journal
        .iter()
        .map(|e| (e.status, e.member.as_deref(), e.body.is_some()))
        .collect();
    assert_eq!(
        shown,
        [
            (401, None, false),
            (401, None, false),
            (201, Some(AI), true)
        ]
    );
    mock.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scenario_mock_does_not_journal_an_unauthenticated_body() {
    let wire = Wire::with_role(role("full-access")).await;
    let ticket = json!({"summary": "Sent without keys", "company": {"id": 19}});

    wire.unauthenticated(Method::POST, "/service/tickets")
        .json(&ticket)
        .send()
        .await
        .assert_status(401);
    wire.post("/service/tickets")
        .json(&ticket)
        .send()
        .await
        .assert_status(201);

    let bodies: Vec<Option<Value>> = wire.mock().journal().into_iter().map(|e| e.body).collect();
    assert_eq!(bodies, [None, Some(ticket)]);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_served_journal_keeps_only_the_most_recent_requests() {
    let retention = Retention::Recent {
        entries: 10,
        bytes: MIB,
    };
    let mock = served_in_process(retention, Limits::default());
    let credentials = mock.credentials_for(AI).unwrap();
    let http = cw_conform::connectwise::http::client_builder()
        .expect("TLS set up")
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap();

    for n in 0..30 {
        let reply = http
            .get(format!(
                "{}/v4_6_release/apis/3.0/service/tickets",
                mock.site()
            ))
            .query(&[("pageSize", n + 1)])
            .header("Authorization", credentials.authorization().expose())
            .header("clientId", "hostile-tests")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200);
    }

    let queries: Vec<String> = mock.journal().into_iter().map(|e| e.query).collect();
    let expected: Vec<String> = (21..=30).map(|n| format!("pageSize={n}")).collect();
    assert_eq!(queries, expected);
    mock.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_long_urls_with_414_and_serves_long_but_allowed_ones() {
    let scratch = Scratch::new("it");
    let (served, caller) = serve(&scratch, &[]);
    // `summary != "xxx…"` matches every ticket; the URL grows with the text.
    let condition = |length: usize| format!("summary != \"{}\"", "x".repeat(length));

    let allowed = caller
        .get("/service/tickets", &[("conditions", &condition(15_000))])
        .await;
    let over = caller
        .get("/service/tickets", &[("conditions", &condition(17_000))])
        .await;
    let far_over = caller
        .get("/service/tickets", &[("conditions", &condition(60_000))])
        .await;

    allowed.assert_status(200);
    assert!(!allowed.ids().is_empty(), "{allowed}");
    assert_cw_error(&over, 414, "UriTooLong", "at most 16384 are allowed");
    assert_cw_error(&far_over, 414, "UriTooLong", "at most 16384 are allowed");
    caller.get("/system/info", &[]).await.assert_status(200);
    served.stop().0.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scenario_mock_answers_long_urls_with_414() {
    let wire = Wire::with_role(role("full-access")).await;
    let condition = |length: usize| format!("summary != \"{}\"", "x".repeat(length));

    let allowed = wire
        .get("/service/tickets")
        .query(&[("conditions", &condition(15_000))])
        .send()
        .await;
    let over = wire
        .get("/service/tickets")
        .query(&[("conditions", &condition(40_000))])
        .send()
        .await;

    allowed.assert_status(200);
    assert_cw_error(&over, 414, "UriTooLong", "at most 16384 are allowed");
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_many_or_huge_headers_with_431() {
    let scratch = Scratch::new("it");
    let (served, caller) = serve(&scratch, &[]);
    let http = cw_conform::connectwise::http::client_builder()
        .expect("TLS set up")
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap();
    let info = format!("{}/v4_6_release/apis/3.0/system/info", served.site);
    let send = |headers: Vec<(String, &'static str)>| {
        let mut request = http
            .get(&info)
            .header("Authorization", serve_authorization())
            .header("clientId", "hostile-tests");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = response.text().await.unwrap();
            Reply {
                status,
                headers,
                text,
            }
        }
    };

    let many = send((0..150).map(|n| (format!("x-many-{n}"), "1")).collect()).await;
    let huge_value: &'static str = "h".repeat(100 * 1024).leak();
    let huge = send(vec![("x-huge".into(), huge_value)]).await;
    // Beyond hyper's head buffer hyper itself answers a bare 431 and closes; the client
    // may see the reset of the unread rest instead. Either way it is never served.
    let beyond_the_buffer = http
        .get(&info)
        .header("Authorization", serve_authorization())
        .header("x-huger", "h".repeat(400 * 1024))
        .send()
        .await;

    assert_cw_error(
        &many,
        431,
        "RequestHeaderFieldsTooLarge",
        "at most 100 are allowed",
    );
    assert_cw_error(
        &huge,
        431,
        "RequestHeaderFieldsTooLarge",
        "at most 65536 are allowed",
    );
    if let Ok(response) = beyond_the_buffer {
        assert_eq!(response.status().as_u16(), 431, "{response:?}");
    }
    caller.get("/system/info", &[]).await.assert_status(200);
    served.stop().0.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_bad_paging_numbers_with_400_naming_them() {
    let scratch = Scratch::new("it");
    let (served, caller) = serve(&scratch, &[]);
    let cases = [
        // page=0 is served as the first page, or refused, as the `page_zero` switch says
        // (tests/it/clients.rs); by default it is served, so pages run from 0.
        ("page", "-1", "expected a whole number"),
        ("page", "two", "expected a whole number"),
        ("page", "99999999999999999999999", "from 0 to 2147483647"),
        ("page", "2147483648", "from 0 to 2147483647"),
        ("pageSize", "0", "from 1 to 2147483647"),
        ("pageSize", "1e9", "expected a whole number"),
    ];

    for (param, value, says) in cases {
        let reply = caller.get("/service/tickets", &[(param, value)]).await;

        assert_cw_error(
            &reply,
            400,
            "BadRequest",
            &format!("Invalid {param} \"{value}\""),
        );
        assert_cw_error(&reply, 400, "BadRequest", says);
    }
    served.stop().0.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_far_past_the_end_is_empty_not_an_overflow() {
    let wire = Wire::with_role(role("full-access")).await;

    let reply = wire
        .get("/service/tickets?page=2147483647&pageSize=1000")
        .send()
        .await;

    reply.assert_status(200);
    assert_eq!(reply.ids(), Vec::<i64>::new());
    wire.shutdown();
}

/// Adds `n` companies, so a list is longer than the largest page.
async fn add_companies(wire: &Wire, n: usize) {
    for i in 0..n {
        wire.post("/company/companies")
            .json(&json!({"identifier": format!("Bulk{i}"), "name": format!("Bulk {i}")}))
            .send()
            .await
            .assert_status(201);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_size_of_100000_serves_at_most_1000_records() {
    let wire = Wire::with_role(role("full-access")).await;
    add_companies(&wire, 1_000).await;

    let reply = wire.get("/company/companies?pageSize=100000").send().await;

    reply.assert_status(200);
    assert_eq!(reply.ids().len(), 1_000);
    let link = reply.header("link").unwrap_or_default();
    assert!(
        link.contains("pageSize=1000&page=2>; rel=\"next\""),
        "{link}"
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reject_switch_refuses_a_page_size_above_1000() {
    let mut fixtures = (*fixtures()).clone();
    fixtures.permissions.settings.page_size_above_max =
        cw_conform::connectwise::security::PageSizeAboveMax::Reject;
    let config = MockConfig {
        members: vec![ApiMember::with_role(AI, role("full-access"))],
        ..MockConfig::default()
    };
    let mock = MockConnectWise::start(std::sync::Arc::new(fixtures), config).await;
    let credentials = mock.credentials_for(AI).unwrap();
    let http = cw_conform::connectwise::http::client().expect("an HTTP client");
    let get = |page_size: &'static str| {
        http.get(format!("{}/company/companies", mock.api_url()))
            .query(&[("pageSize", page_size)])
            .header("Authorization", credentials.authorization().expose())
            .header("clientId", "hostile-tests")
            .send()
    };

    let refused = get("1001").await.unwrap();
    let largest = get("1000").await.unwrap();

    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({"code": "BadRequest", "message": "Invalid pageSize \"1001\": at most 1000 records per page.", "errors": null})
    );
    assert_eq!(largest.status().as_u16(), 200);
    mock.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_malformed_json_with_400() {
    let scratch = Scratch::new("it");
    let (served, _caller) = serve(&scratch, &[]);
    let http = cw_conform::connectwise::http::client_builder()
        .expect("TLS set up")
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap();

    for body in ["{\"summary\": ", "[1, 2", "\u{0}\u{1}not json"] {
        let response = http
            .post(format!(
                "{}/v4_6_release/apis/3.0/service/tickets",
                served.site
            ))
            .header("Authorization", serve_authorization())
            .header("clientId", "hostile-tests")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let reply = Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        };
        assert_cw_error(&reply, 400, "BadRequest", "not valid JSON");
    }
    served.stop().0.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_does_not_grow_with_the_requests_it_answers() {
    let scratch = Scratch::new("it");
    let (served, caller) = serve(&scratch, &[]);
    let read = || {
        caller.get(
            "/service/tickets",
            &[("conditions", "id > 0"), ("pageSize", "5")],
        )
    };
    // Warm up: every pool and buffer of a steady load exists before the measure.
    for _ in 0..500 {
        read().await.assert_status(200);
    }
    let before = memory(served.pid(), "VmRSS");

    for _ in 0..4_000 {
        read().await.assert_status(200);
    }

    let growth = memory(served.pid(), "VmRSS").saturating_sub(before);
    // Keeping ~9 KB per request, as serve on wiremock did, is 35 MiB here.
    assert!(
        growth < 12 * MIB,
        "serve grew by {} KiB over 4,000 reads",
        growth / 1024
    );
    served.stop().0.assert_code(0);
}
