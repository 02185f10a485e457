//! The mock driven as two widely used ConnectWise client libraries drive ConnectWise: the
//! request shapes of the Python `pyconnectwise` and of the Node `connectwise-rest`, copied
//! from their sources (headers, Basic credential, codebase lookup, query encoding, paging)
//! and checked against what ConnectWise answers (`connectwise-api.md`).
//!
//! - pyconnectwise sends `Content-Type: application/json`, `clientId` and the Basic
//!   credential on every request, the company-info lookup included; encodes the query as
//!   Python's `urlencode` does (spaces as `+`); asks `page` and `pageSize` after the
//!   caller's parameters; reads the next page number from the `Link` header with the
//!   pattern `page=(\d+)>; rel="(.*?)"` (so `page` must come last in each link), and
//!   stops when there is no `rel="next"`. A list answer without `Link` breaks it.
//! - connectwise-rest sends `Accept: application/vnd.connectwise.com+json; version=2021.1,
//!   application/json`, `Cache-Control: no-cache`, `clientId` and the credential; encodes
//!   the query as axios does (spaces as `+`, `:`, `,`, `[` and `]` left as they are); and
//!   pages by asking page after page with the same `pageSize` until a page is empty,
//!   from page 0 unless told otherwise (`page_zero` in `permissions.toml` says what the
//!   mock makes of it). It ignores `Link`.
//! - A third way: following `rel="next"` literally, as RFC 5988 clients do.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::{AI, Wire, role};

/// How a client library encodes one query value.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    /// Python's `urllib.parse.quote_plus` (what `requests` uses for `params`).
    Python,
    /// axios's `buildURL` encoder: `encodeURIComponent`, then `%3A`, `%24`, `%2C`, `%20`,
    /// `%5B` and `%5D` put back as `:`, `$`, `,`, `+`, `[` and `]`.
    Axios,
}

impl Encoding {
    fn encode(self, text: &str) -> String {
        let mut out = String::new();
        for byte in text.bytes() {
            let c = char::from(byte);
            let kept = match self {
                Encoding::Python => c.is_ascii_alphanumeric() || "_.-~".contains(c),
                Encoding::Axios => {
                    c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c) || ":$,[]".contains(c)
                }
            };
            if kept {
                out.push(c);
            } else if c == ' ' {
                out.push('+');
            } else {
                let _ = write!(out, "%{byte:02X}");
            }
        }
        out
    }

    fn query(self, pairs: &[(&str, String)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", self.encode(k), self.encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A client library's way of calling ConnectWise.
struct Library {
    name: &'static str,
    encoding: Encoding,
    http: reqwest::Client,
    base: String,
    headers: HeaderMap,
}

impl Library {
    /// pyconnectwise: `ConnectWiseManageAPIClient(company, url, client_id, public, private)`
    /// looks the codebase up with its own headers and builds the API URL from it.
    async fn pyconnectwise(wire: &Wire) -> Self {
        let credentials = wire.credentials(AI);
        let mut headers = HeaderMap::new();
        headers.insert("Content-Type", "application/json".parse().unwrap());
        headers.insert(
            "clientId",
            credentials.client_id.clone().unwrap().parse().unwrap(),
        );
        headers.insert("Authorization", basic(&credentials).parse().unwrap());
        let http = cw_conform::connectwise::http::client().expect("an HTTP client");
        let info: Value = http
            .get(format!(
                "{}/login/companyinfo/{}",
                credentials.site, credentials.company_id
            ))
            .headers(headers.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let codebase = info["Codebase"]
            .as_str()
            .unwrap_or_else(|| panic!("the company info has no Codebase: {info}"));
        Library {
            name: "pyconnectwise",
            encoding: Encoding::Python,
            base: format!(
                "{}/{}/apis/3.0",
                credentials.site,
                codebase.trim_matches('/')
            ),
            http,
            headers,
        }
    }

    /// connectwise-rest: `new ManageAPI({companyId, companyUrl, publicKey, privateKey,
    /// clientId})` with the default entry point and API version.
    fn connectwise_rest(wire: &Wire) -> Self {
        let credentials = wire.credentials(AI);
        let mut headers = HeaderMap::new();
        headers.insert(
            "Accept",
            "application/vnd.connectwise.com+json; version=2021.1, application/json"
                .parse()
                .unwrap(),
        );
        headers.insert("Cache-Control", "no-cache".parse().unwrap());
        headers.insert("Authorization", basic(&credentials).parse().unwrap());
        headers.insert(
            "clientId",
            credentials.client_id.clone().unwrap().parse().unwrap(),
        );
        Library {
            name: "connectwise-rest",
            encoding: Encoding::Axios,
            http: cw_conform::connectwise::http::client().expect("an HTTP client"),
            base: format!("{}/v4_6_release/apis/3.0", credentials.site),
            headers,
        }
    }

    /// Sends a request to a path under the API with the library's headers and encoding.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Answer {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            url = format!("{url}?{}", self.encoding.query(query));
        }
        self.send_url(method, &url, body).await
    }

    async fn send_url(&self, method: reqwest::Method, url: &str, body: Option<&Value>) -> Answer {
        let mut request = self
            .http
            .request(method.clone(), url)
            .headers(self.headers.clone());
        if let Some(body) = body {
            request = request.body(body.to_string());
            if !self.headers.contains_key("Content-Type") {
                request = request.header("Content-Type", "application/json");
            }
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Answer {
            request: format!("{} {method} {url}", self.name),
            status,
            headers,
            text,
        }
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Answer {
        self.send(reqwest::Method::GET, path, query, None).await
    }

    /// pyconnectwise's `endpoint.paginated(1, page_size, params).all()`: the caller's
    /// parameters, then `page` and `pageSize`; each next page is the number its regex
    /// reads from `Link`, asked with `page` and `pageSize` only.
    async fn every_page_by_link_number(
        &self,
        path: &str,
        params: &[(&str, String)],
        page_size: usize,
    ) -> Vec<Value> {
        let pattern = regex::Regex::new(r#"page=(\d+)>; rel="(.*?)""#).unwrap();
        let mut records = Vec::new();
        let mut query: Vec<(&str, String)> = params.to_vec();
        query.push(("page", "1".into()));
        query.push(("pageSize", page_size.to_string()));
        for _ in 0..100 {
            let answer = self.get(path, &query).await;
            answer.expect(StatusCode::OK);
            let link = answer.header("link").unwrap_or_else(|| {
                panic!("{answer}\npyconnectwise reads Link on every page and fails without it")
            });
            records.extend(answer.records());
            let next = link.split(',').find_map(|piece| {
                let found = pattern.captures(piece)?;
                (&found[2] == "next").then(|| found[1].to_owned())
            });
            match next {
                Some(page) => {
                    query = vec![("page", page), ("pageSize", page_size.to_string())];
                }
                None => return records,
            }
        }
        panic!("{}: more than 100 pages of {path}", self.name);
    }

    /// connectwise-rest's `cwm.paginate(api.getX, {startPage, pageSize}, params)`: page
    /// after page from `start_page` (the library's default is 0) with the caller's
    /// parameters until one is empty.
    async fn every_page_until_empty(
        &self,
        path: &str,
        params: &[(&str, String)],
        start_page: usize,
        page_size: usize,
    ) -> Vec<Value> {
        let mut records = Vec::new();
        for page in start_page..=100 {
            let mut query: Vec<(&str, String)> = params.to_vec();
            query.push(("page", page.to_string()));
            query.push(("pageSize", page_size.to_string()));
            let answer = self.get(path, &query).await;
            answer.expect(StatusCode::OK);
            let page = answer.records();
            if page.is_empty() {
                return records;
            }
            records.extend(page);
        }
        panic!("{}: more than 100 pages of {path}", self.name);
    }

    /// An RFC 5988 client: the first page with the caller's parameters, then every
    /// `rel="next"` URL exactly as given.
    async fn every_page_by_next_url(&self, path: &str, params: &[(&str, String)]) -> Vec<Value> {
        let mut answer = self.get(path, params).await;
        let mut records = Vec::new();
        for _ in 0..100 {
            answer.expect(StatusCode::OK);
            records.extend(answer.records());
            let Some(next) = answer.link("next") else {
                return records;
            };
            answer = self.send_url(reqwest::Method::GET, &next, None).await;
        }
        panic!("{}: more than 100 pages of {path}", self.name);
    }
}

/// The Basic credential every library sends: `company+public:private`, base64.
fn basic(credentials: &cw_conform::connectwise::Credentials) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}+{}:{}",
            credentials.company_id,
            credentials.public_key,
            credentials.private_key.expose()
        ))
    )
}

/// What ConnectWise answered a library.
struct Answer {
    request: String,
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n  -> {} {}\n  link: {}",
            self.request,
            self.status.as_u16(),
            self.text,
            self.header("link").unwrap_or("(none)")
        )
    }
}

impl Answer {
    #[track_caller]
    fn expect(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{self}");
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {self}"))
    }

    fn records(&self) -> Vec<Value> {
        self.json()
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("not a list: {self}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The URL of one relation of the `Link` header.
    fn link(&self, rel: &str) -> Option<String> {
        let wanted = format!("rel=\"{rel}\"");
        self.header("link")?.split(", ").find_map(|piece| {
            let (url, relation) = piece.split_once(">; ")?;
            (relation.trim() == wanted).then(|| url.trim_start_matches('<').to_owned())
        })
    }
}

fn ids(records: &[Value]) -> Vec<i64> {
    records
        .iter()
        .map(|r| {
            r["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("a record has no id: {r}"))
        })
        .collect()
}

/// A mock whose ConnectWise holds `extra` companies beyond the seed (more than a page).
async fn with_companies(extra: usize) -> Wire {
    let wire = Wire::with_role(role("customer-sync")).await;
    wire.mock().insert(
        "companies",
        (0..extra).map(|n| {
            json!({
                "identifier": format!("Client{n:03}"),
                "name": format!("Client {n:03} Ltd"),
                "status": {"id": 1, "name": "Active"},
                "_info": {"lastUpdated": format!("2026-10-{:02}T08:00:00Z", 1 + n % 28)},
            })
        }),
    );
    wire
}

fn every_company_id(wire: &Wire) -> Vec<i64> {
    let mut all = ids(&wire.mock().records("companies"));
    all.sort_unstable();
    all
}

/// Each id once, in any order.
#[track_caller]
fn assert_each_once(library: &str, got: &[i64], expected: &[i64]) {
    let unique: BTreeSet<i64> = got.iter().copied().collect();
    assert_eq!(
        unique.len(),
        got.len(),
        "{library} read some companies twice: {got:?}"
    );
    assert_eq!(
        unique.into_iter().collect::<Vec<_>>(),
        expected,
        "{library} did not read every company exactly once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pyconnectwise_reads_every_company_by_the_page_numbers_in_link() {
    let wire = with_companies(61).await;
    let library = Library::pyconnectwise(&wire).await;

    let records = library
        .every_page_by_link_number("/company/companies", &[], 25)
        .await;

    assert_each_once(library.name, &ids(&records), &every_company_id(&wire));
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn connectwise_rest_reads_every_company_page_by_page_until_an_empty_page() {
    let wire = with_companies(61).await;
    let library = Library::connectwise_rest(&wire);

    let records = library
        .every_page_until_empty("/company/companies", &[], 1, 25)
        .await;

    assert_each_once(library.name, &ids(&records), &every_company_id(&wire));
    wire.shutdown();
}

/// connectwise-rest's default start, page 0: ConnectWise numbers pages from 1 and does not
/// say what page 0 gets. Served as the first page (the `page_zero` default), the library
/// reads the first page twice; refused (`bad-request`), its paging fails at once with 400.
#[tokio::test(flavor = "multi_thread")]
async fn connectwise_rest_from_its_default_page_0_reads_the_first_page_twice_or_is_refused() {
    let wire = with_companies(61).await;
    let library = Library::connectwise_rest(&wire);
    let records = library
        .every_page_until_empty("/company/companies", &[], 0, 25)
        .await;
    let got = ids(&records);
    assert_eq!(
        got.len(),
        every_company_id(&wire).len() + 25,
        "the first page twice, then every other page once: {got:?}"
    );
    assert_eq!(got[..25], got[25..50], "page 0 is page 1");
    wire.shutdown();

    let wire = Wire::with_settings(role("customer-sync"), |settings| {
        settings.page_zero = cw_conform::connectwise::security::PageZero::BadRequest;
    })
    .await;
    let library = Library::connectwise_rest(&wire);
    let refused = library
        .get(
            "/company/companies",
            &[("page", "0".to_owned()), ("pageSize", "25".to_owned())],
        )
        .await;
    refused.expect(StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_str(&refused.text).unwrap_or_default();
    assert_eq!(body["code"], "BadRequest", "{refused}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("page \"0\"")),
        "{refused}"
    );
    wire.shutdown();
}

/// Following `rel="next"` literally reaches the same mock and keeps the conditions,
/// fields and order the first request asked for; the count endpoint agrees.
#[tokio::test(flavor = "multi_thread")]
async fn following_next_literally_keeps_the_query_and_the_count_agrees() {
    let wire = with_companies(61).await;
    for library in [
        Library::pyconnectwise(&wire).await,
        Library::connectwise_rest(&wire),
    ] {
        let conditions = ("conditions", "identifier like \"Client*\"".to_owned());
        let records = library
            .every_page_by_next_url(
                "/company/companies",
                &[
                    conditions.clone(),
                    ("fields", "id,identifier".into()),
                    ("orderBy", "identifier desc".into()),
                    ("pageSize", "10".into()),
                ],
            )
            .await;

        let identifiers: Vec<&str> = records
            .iter()
            .map(|r| r["identifier"].as_str().unwrap_or_default())
            .collect();
        let expected: Vec<String> = (0..61).rev().map(|n| format!("Client{n:03}")).collect();
        assert_eq!(identifiers, expected, "{}", library.name);
        assert!(
            records.iter().all(|r| r.as_object().unwrap().len() == 2),
            "{}: fields=id,identifier returned other fields: {:?}",
            library.name,
            records.first()
        );
        let count = library.get("/company/companies/count", &[conditions]).await;
        count.expect(StatusCode::OK);
        assert_eq!(count.json(), json!({"count": 61}), "{count}");
    }
    wire.shutdown();
}

/// The standard incremental-sync query, as each library encodes it.
#[tokio::test(flavor = "multi_thread")]
async fn the_incremental_sync_query_finds_what_changed_since() {
    let wire = with_companies(61).await;
    let changed: Vec<i64> = {
        let mut changed: Vec<i64> = wire
            .mock()
            .records("companies")
            .iter()
            .filter(|c| {
                c["_info"]["lastUpdated"]
                    .as_str()
                    .is_some_and(|t| t > "2026-10-20T00:00:00Z")
            })
            .filter_map(|c| c["id"].as_i64())
            .collect();
        changed.sort_unstable();
        changed
    };
    assert!(!changed.is_empty() && changed.len() < 61, "{changed:?}");
    for library in [
        Library::pyconnectwise(&wire).await,
        Library::connectwise_rest(&wire),
    ] {
        for field in ["lastUpdated", "_info/lastUpdated"] {
            let records = library
                .every_page_until_empty(
                    "/company/companies",
                    &[("conditions", format!("{field} > [2026-10-20T00:00:00Z]"))],
                    1,
                    1000,
                )
                .await;
            let mut got = ids(&records);
            got.sort_unstable();
            assert_eq!(got, changed, "{} with {field}", library.name);
        }
    }
    wire.shutdown();
}

/// A contact found by e-mail with `childConditions`, as both libraries pass it.
#[tokio::test(flavor = "multi_thread")]
async fn a_contact_is_found_by_email_with_child_conditions() {
    let wire = Wire::with_role(role("customer-sync")).await;
    for library in [
        Library::pyconnectwise(&wire).await,
        Library::connectwise_rest(&wire),
    ] {
        let answer = library
            .get(
                "/company/contacts",
                &[(
                    "childConditions",
                    "communicationItems/value like \"jane.doe@*\" AND communicationItems/communicationType=\"Email\"".into(),
                )],
            )
            .await;
        answer.expect(StatusCode::OK);
        assert_eq!(ids(&answer.records()), vec![101], "{answer}");
    }
    wire.shutdown();
}

/// A ticket's life as an integration lives it: created with references by id, changed
/// with a JSON Patch array, noted, read back, deleted; ConnectWise's statuses and bodies.
#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_is_created_patched_noted_and_deleted_as_the_libraries_send_it() {
    let wire = Wire::with_role(role("full-access")).await;
    for library in [
        Library::pyconnectwise(&wire).await,
        Library::connectwise_rest(&wire),
    ] {
        let created = library
            .send(
                reqwest::Method::POST,
                "/service/tickets",
                &[],
                Some(&json!({
                    "summary": format!("Printer offline ({})", library.name),
                    "company": {"id": 19},
                    "board": {"id": 1},
                })),
            )
            .await;
        created.expect(StatusCode::CREATED);
        let ticket = created.json();
        let id = ticket["id"].as_i64().unwrap();
        assert!(
            ticket["status"]["id"].is_i64(),
            "a new ticket gets its board's default status: {created}"
        );

        let patched = library
            .send(
                reqwest::Method::PATCH,
                &format!("/service/tickets/{id}"),
                &[],
                Some(&json!([
                    {"op": "replace", "path": "summary", "value": "Printer back online"},
                ])),
            )
            .await;
        patched.expect(StatusCode::OK);
        assert_eq!(
            patched.json()["summary"],
            "Printer back online",
            "{patched}"
        );

        let noted = library
            .send(
                reqwest::Method::POST,
                &format!("/service/tickets/{id}/notes"),
                &[],
                Some(&json!({"text": "Checked the spooler.", "internalAnalysisFlag": true})),
            )
            .await;
        noted.expect(StatusCode::CREATED);
        assert_eq!(noted.json()["ticketId"], id, "{noted}");

        let listed = library
            .get(&format!("/service/tickets/{id}/notes"), &[])
            .await;
        listed.expect(StatusCode::OK);
        assert_eq!(listed.records().len(), 1, "{listed}");
        let read = library.get(&format!("/service/tickets/{id}"), &[]).await;
        read.expect(StatusCode::OK);
        assert_eq!(read.json()["summary"], "Printer back online", "{read}");

        let deleted = library
            .send(
                reqwest::Method::DELETE,
                &format!("/service/tickets/{id}"),
                &[],
                None,
            )
            .await;
        deleted.expect(StatusCode::NO_CONTENT);
        let gone = library
            .get(&format!("/service/tickets/{id}/notes"), &[])
            .await;
        gone.expect(StatusCode::NOT_FOUND);
    }
    wire.shutdown();
}

/// The errors each library maps to its own exceptions: 400 `InvalidObject` with an
/// `ObjectExists` entry for an identifier in use (pyconnectwise's `ObjectExistsError`),
/// 401, 403 and 404, each in ConnectWise's `{code, message, errors}` shape.
#[tokio::test(flavor = "multi_thread")]
async fn errors_come_in_the_shapes_the_libraries_map() {
    let wire = Wire::with_role(role("customer-sync")).await;
    let admin = Wire::with_role(role("full-access")).await;
    for (wire_of, library) in [
        (&admin, Library::pyconnectwise(&admin).await),
        (&admin, Library::connectwise_rest(&admin)),
    ] {
        let taken = wire_of.mock().records("companies")[0]["identifier"]
            .as_str()
            .unwrap()
            .to_owned();
        let duplicate = library
            .send(
                reqwest::Method::POST,
                "/company/companies",
                &[],
                Some(&json!({"identifier": taken, "name": "Someone else"})),
            )
            .await;
        duplicate.expect(StatusCode::BAD_REQUEST);
        let body = duplicate.json();
        assert_eq!(body["code"], "InvalidObject", "{duplicate}");
        assert_eq!(body["errors"][0]["code"], "ObjectExists", "{duplicate}");
        assert_eq!(body["errors"][0]["field"], "identifier", "{duplicate}");
    }
    let library = Library::connectwise_rest(&wire);
    let refused = library
        .send(
            reqwest::Method::POST,
            "/company/companies",
            &[],
            Some(&json!({"identifier": "New", "name": "New Co"})),
        )
        .await;
    refused.expect(StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["code"], "Security", "{refused}");
    let missing = Library::connectwise_rest(&admin)
        .get("/service/tickets/999999", &[])
        .await;
    missing.expect(StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["code"], "NotFound", "{missing}");
    let mut stranger = Library::connectwise_rest(&wire);
    stranger
        .headers
        .insert("Authorization", "Basic bm9ib2R5K2E6Yg==".parse().unwrap());
    let unauthenticated = stranger.get("/company/companies", &[]).await;
    unauthenticated.expect(StatusCode::UNAUTHORIZED);
    assert!(
        unauthenticated.json()["code"].is_string(),
        "{unauthenticated}"
    );
    wire.shutdown();
    admin.shutdown();
}

/// Every answer names the API version, whatever `Accept` the library sent.
#[tokio::test(flavor = "multi_thread")]
async fn the_api_version_is_answered_whatever_accept_the_library_sends() {
    let wire = Wire::with_role(role("customer-sync")).await;
    for library in [
        Library::pyconnectwise(&wire).await,
        Library::connectwise_rest(&wire),
    ] {
        let info = library.get("/system/info", &[]).await;
        info.expect(StatusCode::OK);
        assert!(info.json()["version"].is_string(), "{info}");
        assert!(info.header("api-current-version").is_some(), "{info}");
    }
    wire.shutdown();
}

/// Conditions as clients and ConnectWise's own `_info` links write them: single or double
/// quotes, `AND`/`and`, parentheses, no spaces around `=`, `in (…)`, `True`/`false`.
#[tokio::test(flavor = "multi_thread")]
async fn conditions_are_read_as_clients_and_connectwise_write_them() {
    let wire = Wire::with_role(role("full-access")).await;
    let cases: [(&str, &[i64]); 6] = [
        ("company/id=19 AND closedFlag=False", &[1001, 1004, 1007]),
        (
            "(company/id = 19 and closedFlag = false)",
            &[1001, 1004, 1007],
        ),
        (
            "status/name='New' OR status/name='Resolved'",
            &[1002, 1006, 1007, 1010],
        ),
        (
            "company/id in (20, 22) and closedFlag = True",
            &[1005, 1008],
        ),
        ("summary not contains \"zzz\" and board/id=2", &[1010]),
        ("recordType='ServiceTicket' AND id>1008", &[1009, 1010]),
    ];
    for library in [
        Library::pyconnectwise(&wire).await,
        Library::connectwise_rest(&wire),
    ] {
        for (conditions, expected) in cases {
            let answer = library
                .get(
                    "/service/tickets",
                    &[
                        ("conditions", conditions.to_owned()),
                        ("orderBy", "id asc".into()),
                    ],
                )
                .await;
            answer.expect(StatusCode::OK);
            assert_eq!(ids(&answer.records()), expected, "{answer}");
        }
    }
    wire.shutdown();
}
