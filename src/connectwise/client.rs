//! A small ConnectWise REST client on reqwest: Basic auth, `clientId`, the versioned
//! `Accept` header, a bound on every call, and `429 Too Many Requests` retried.
//!
//! After a `429` the client waits as `Retry-After` asks (delay-seconds or an HTTP-date),
//! or, without a usable `Retry-After`, backs off exponentially with jitter from 1 s. No
//! single wait is longer than [`MAX_RETRY_WAIT`] (60 s) and one request waits at most
//! [`RETRY_BUDGET`] (5 minutes) in all; a longer wait fails the request at once with
//! [`ClientError::RetryTooLong`] or [`ClientError::RetryBudget`]. A shared [`RateLimit`]
//! holds every client back for the wait, not only the one that got the `429`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use super::credentials::{Credentials, redacted_url};
use super::journal::{Answered, JournalEntry};

/// The API version the client asks for.
pub const API_VERSION: &str = "2025.16";

/// A call that got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The site could not be reached or the connection broke.
    #[error("failed to reach ConnectWise at {site}: {reason}")]
    Unreachable {
        /// The site URL, as [`redacted_url`] shows it.
        site: String,
        /// What went wrong.
        reason: String,
    },
    /// No answer within the bound.
    #[error("ConnectWise at {site} did not answer within {seconds} s")]
    Timeout {
        /// The site URL, as [`redacted_url`] shows it.
        site: String,
        /// The bound.
        seconds: u64,
    },
    /// The client could not be built.
    #[error("failed to build the HTTP client: {0}")]
    Build(String),
    /// ConnectWise asked to wait longer than [`MAX_RETRY_WAIT`] before trying again.
    #[error(
        "ConnectWise answered {method} {path} with 429 Too Many Requests and asked to wait {seconds} s, which exceeds the {bound} s the client waits at most"
    )]
    RetryTooLong {
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// The wait `Retry-After` asked for, in whole seconds (rounded up).
        seconds: u64,
        /// [`MAX_RETRY_WAIT`] in seconds.
        bound: u64,
    },
    /// ConnectWise kept answering `429` until the next wait would pass [`RETRY_BUDGET`].
    #[error(
        "ConnectWise kept answering {method} {path} with 429 Too Many Requests: {retries} retries waited {waited} s, and the next wait of {next} s would pass the {budget} s budget per request"
    )]
    RetryBudget {
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// Retries already made.
        retries: u32,
        /// Seconds already waited.
        waited: u64,
        /// The next wait, in whole seconds (rounded up).
        next: u64,
        /// [`RETRY_BUDGET`] in seconds.
        budget: u64,
    },
    /// A write was attempted while writes are disabled (a sandbox without `--allow-writes`).
    #[error(
        "refused to send {method} {path}: writes to the sandbox are disabled (use --allow-writes)"
    )]
    WritesDisabled {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// A write the sandbox gate refused: it would touch data the run did not create.
    #[error("refused to send {method} {path}: {reason}")]
    Refused {
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Sees every write before it is sent and hears how it ended: on a sandbox, the run's
/// ledger ([`crate::ledger::LedgerGate`]), which refuses writes to data the run did not
/// create and records each create durably before it goes out.
pub trait WriteGate: Send + Sync + std::fmt::Debug {
    /// Called before a write is sent; an error refuses it (nothing is sent). Returns a
    /// ticket for [`WriteGate::after_write`].
    fn before_write(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<u64, ClientError>;
    /// Called once the write's answer is in: `None` when none came (timeout, connection
    /// lost). Not called at all when the call was abandoned (an interrupt).
    fn after_write(&self, ticket: u64, answer: Option<&Response>);
}

/// Answers as ConnectWise would under a documented behaviour the site does not follow
/// (on a sandbox, [`crate::harness::documented::Emulator`]): a request the behaviour
/// refuses where the site would not is answered here and never sent, and an answer the
/// behaviour shapes otherwise is reshaped. Both are recorded as the answer ConnectWise gave.
pub trait Emulation: Send + Sync + std::fmt::Debug {
    /// The answer to give in place of sending the request, if the behaviour refuses it
    /// where the site would not.
    fn instead_of_sending(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Option<(u16, Value)>;
    /// The site's answer as the behaviour shapes it, if it shapes it otherwise.
    fn reshaped(&self, method: &str, path: &str, status: u16, body: &Value)
    -> Option<(u16, Value)>;
}

/// The longest the client waits after one `429`: a `Retry-After` asking for more fails the
/// request instead of stalling the run.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// The most one request waits in all across its retries after `429`s.
pub const RETRY_BUDGET: Duration = Duration::from_secs(5 * 60);

/// The first backoff after a `429` without a usable `Retry-After`; it doubles with each
/// retry, up to [`MAX_RETRY_WAIT`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Spaces requests evenly so a run stays under a rate (ConnectWise throttles above about
/// 1,000 requests a minute).
#[derive(Debug)]
pub struct RateLimit {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
    sent: std::sync::atomic::AtomicU64,
}

impl RateLimit {
    /// At most `per_minute` requests a minute.
    pub fn per_minute(per_minute: u32) -> Self {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        RateLimit {
            interval,
            next: tokio::sync::Mutex::new(Instant::now()),
            sent: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many requests have gone out under this limit so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn acquire(&self) {
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = (*next).max(now) + self.interval;
    }

    /// Holds every client sharing this limit back for `wait` (ConnectWise answered `429`).
    async fn hold_off(&self, wait: Duration) {
        let mut next = self.next.lock().await;
        *next = (*next).max(Instant::now() + wait);
    }
}

/// The waits of one request's retries after `429`: as `Retry-After` asks, or exponential
/// backoff with jitter, within [`MAX_RETRY_WAIT`] each and [`RETRY_BUDGET`] in all.
#[derive(Debug, Default)]
struct Backoff {
    retries: u32,
    waited: Duration,
}

impl Backoff {
    /// The wait before the next retry, given what `Retry-After` asked for (`None` when the
    /// `429` carried no usable `Retry-After`); an error when the wait is too long.
    fn next(
        &mut self,
        asked: Option<Duration>,
        method: &str,
        path: &str,
    ) -> Result<Duration, ClientError> {
        let wait = match asked {
            Some(asked) if asked > MAX_RETRY_WAIT => {
                return Err(ClientError::RetryTooLong {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    seconds: whole_seconds(asked),
                    bound: MAX_RETRY_WAIT.as_secs(),
                });
            }
            Some(asked) => asked,
            None => jittered(
                FIRST_BACKOFF
                    .saturating_mul(2_u32.saturating_pow(self.retries))
                    .min(MAX_RETRY_WAIT),
            ),
        };
        if self.waited + wait > RETRY_BUDGET {
            return Err(ClientError::RetryBudget {
                method: method.to_owned(),
                path: path.to_owned(),
                retries: self.retries,
                waited: whole_seconds(self.waited),
                next: whole_seconds(wait),
                budget: RETRY_BUDGET.as_secs(),
            });
        }
        self.retries += 1;
        self.waited += wait;
        Ok(wait)
    }
}

/// A duration in whole seconds, rounded up (a wait of 0.3 s is shown as 1 s, not 0 s).
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// "Equal jitter": half of `base`, plus a random part of the other half, so clients that
/// got a `429` together do not all come back at the same moment.
fn jittered(base: Duration) -> Duration {
    use std::hash::{BuildHasher as _, Hasher as _};
    let half = u64::try_from(base.as_millis() / 2).unwrap_or(u64::MAX);
    // A fresh `RandomState` is randomly keyed: enough randomness for jitter.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(half);
    let random = hasher.finish() % (half + 1);
    Duration::from_millis(half + random)
}

/// How long a `Retry-After` value asks to wait: delay-seconds or an HTTP-date (RFC 9110
/// section 10.2.3); a date already past asks for no wait. `None` when absent or unreadable.
fn retry_after(value: Option<&str>, now: SystemTime) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A shared record of the requests a client sent, with the status each got.
pub type Recorder = Arc<Mutex<Vec<JournalEntry>>>;

/// An HTTP answer from ConnectWise.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The `Link` header, if any.
    pub link: Option<String>,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `message` of a ConnectWise error body.
    pub fn error_message(&self) -> Option<&str> {
        self.body.get("message").and_then(Value::as_str)
    }
}

/// A ConnectWise client for one API member.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    credentials: Credentials,
    api_prefix: String,
    timeout: Duration,
    rate_limit: Option<Arc<RateLimit>>,
    recorder: Option<Recorder>,
    read_only: bool,
    gate: Option<Arc<dyn WriteGate>>,
    emulation: Option<Arc<dyn Emulation>>,
}

impl Client {
    /// Builds a client with a 10 s bound per call.
    pub fn new(credentials: Credentials) -> Result<Client, ClientError> {
        Self::with_timeout(credentials, Duration::from_secs(10))
    }

    /// Builds a client with the given bound per call.
    pub fn with_timeout(
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let http = super::http::client_builder()
            .map_err(ClientError::Build)?
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Client {
            http,
            credentials,
            api_prefix: super::API_PREFIX.to_owned(),
            timeout,
            rate_limit: None,
            recorder: None,
            read_only: false,
            gate: None,
            emulation: None,
        })
    }

    /// Uses the codebase `/login/companyinfo` reported (`v2025_1/`) instead of the router.
    #[must_use]
    pub fn with_codebase(mut self, codebase: &str) -> Self {
        self.api_prefix = format!("/{}/apis/3.0", codebase.trim_matches('/'));
        self
    }

    /// Shares a rate limit with other clients.
    #[must_use]
    pub fn with_rate_limit(mut self, limit: Arc<RateLimit>) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Records every request and its status.
    #[must_use]
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Refuses to send writes.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Passes every write through a gate first.
    #[must_use]
    pub fn with_gate(mut self, gate: Arc<dyn WriteGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Answers as a documented behaviour the site does not follow would.
    #[must_use]
    pub fn with_emulation(mut self, emulation: Arc<dyn Emulation>) -> Self {
        self.emulation = Some(emulation);
        self
    }

    /// The codebase the site reports for a company (`/login/companyinfo/{companyId}`, no
    /// authentication), or `None` when the site does not know the company.
    pub async fn codebase(&self) -> Result<Option<String>, ClientError> {
        let url = format!(
            "{}/login/companyinfo/{}",
            self.credentials.site.trim_end_matches('/'),
            self.credentials.company_id
        );
        let path = format!("/login/companyinfo/{}", self.credentials.company_id);
        let raw = self
            .until_not_throttled("GET", &path, || self.http.get(&url), |_| {})
            .await?;
        Ok(raw
            .body
            .get("Codebase")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// The REST base URL.
    pub fn api_url(&self) -> String {
        format!(
            "{}{}",
            self.credentials.site.trim_end_matches('/'),
            self.api_prefix
        )
    }

    /// The credentials in use.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// `GET` a path under `/apis/3.0` with query parameters.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Response, ClientError> {
        self.send(reqwest::Method::GET, path, query, None).await
    }

    /// Sends a request with an optional JSON body; after `429`, waits and retries as the
    /// module documentation says.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Response, ClientError> {
        if let Some((status, answer)) = self
            .emulation
            .as_ref()
            .and_then(|e| e.instead_of_sending(method.as_str(), path, query))
        {
            let answered = Answered::of(status, &answer);
            self.record(
                method.as_str(),
                path,
                query,
                body.cloned(),
                status,
                answered,
            );
            return Ok(Response {
                status,
                body: answer,
                link: None,
            });
        }
        let url = format!("{}{path}", self.api_url());
        let ticket = self.guard_write(method.as_str(), path, body)?;
        let build = || {
            let request = self.request(method.clone(), &url).query(query);
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        let record = |raw: &Raw| {
            self.record(
                method.as_str(),
                path,
                query,
                body.cloned(),
                raw.status,
                Answered::of(raw.status, &raw.body),
            );
        };
        let result = self
            .until_not_throttled(method.as_str(), path, build, record)
            .await
            .map(Raw::into_response);
        self.settle(ticket, &result);
        result
    }

    fn settle(&self, ticket: Option<u64>, result: &Result<Response, ClientError>) {
        if let (Some(gate), Some(ticket)) = (&self.gate, ticket) {
            gate.after_write(ticket, result.as_ref().ok());
        }
    }

    /// Sends the request `build` makes until the answer is not `429`, waiting before each
    /// retry as the module documentation says; `answered` hears every answer.
    async fn until_not_throttled(
        &self,
        method: &str,
        path: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
        answered: impl Fn(&Raw),
    ) -> Result<Raw, ClientError> {
        let mut backoff = Backoff::default();
        loop {
            let mut raw = self.execute(build()).await?;
            if let Some((status, body)) = self
                .emulation
                .as_ref()
                .and_then(|e| e.reshaped(method, path, raw.status, &raw.body))
            {
                (raw.status, raw.body) = (status, body);
            }
            answered(&raw);
            if raw.status != 429 {
                return Ok(raw);
            }
            let asked = retry_after(raw.retry.as_deref(), SystemTime::now());
            let wait = backoff.next(asked, method, path)?;
            self.wait_before_retry(wait).await;
        }
    }

    /// Waits before a retry; a shared rate limit holds back every client that uses it.
    async fn wait_before_retry(&self, wait: Duration) {
        match &self.rate_limit {
            // The next `acquire` waits until the hold-off has passed.
            Some(limit) => limit.hold_off(wait).await,
            None => tokio::time::sleep(wait).await,
        }
    }

    /// Uploads a file as ConnectWise's documents endpoint takes it (multipart/form-data).
    /// `fields` are the form's text fields as JSON, for the write gate to see.
    pub async fn upload(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
        fields: &Value,
    ) -> Result<Response, ClientError> {
        let url = format!("{}{path}", self.api_url());
        let ticket = self.guard_write("POST", path, Some(fields))?;
        let request = self.request(reqwest::Method::POST, &url).multipart(form);
        let result = self.execute(request).await.map(|response| {
            self.record(
                "POST",
                path,
                &[],
                None,
                response.status,
                Answered::of(response.status, &response.body),
            );
            response.into_response()
        });
        self.settle(ticket, &result);
        result
    }

    fn guard_write(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<u64>, ClientError> {
        if method == "GET" {
            return Ok(None);
        }
        if self.read_only {
            return Err(ClientError::WritesDisabled {
                method: method.to_owned(),
                path: path.to_owned(),
            });
        }
        self.gate
            .as_ref()
            .map(|gate| gate.before_write(method, path, body))
            .transpose()
    }

    fn record(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
        status: u16,
        answer: Answered,
    ) {
        if let Some(recorder) = &self.recorder {
            // Encoded as it went on the wire, as the mock journals it.
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            recorder
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(JournalEntry {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    query,
                    status,
                    member: None,
                    body,
                    answer: Some(answer),
                });
        }
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, url)
            .header("Authorization", self.credentials.authorization().expose())
            .header(
                "Accept",
                format!("application/vnd.connectwise.com+json; version={API_VERSION}"),
            );
        if let Some(client_id) = &self.credentials.client_id {
            request = request.header("clientId", client_id);
        }
        request
    }

    async fn execute(&self, request: reqwest::RequestBuilder) -> Result<Raw, ClientError> {
        if let Some(limit) = &self.rate_limit {
            limit.acquire().await;
        }
        let site = redacted_url(&self.credentials.site);
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                ClientError::Timeout {
                    site: site.clone(),
                    seconds: self.timeout.as_secs(),
                }
            } else {
                ClientError::Unreachable {
                    site: site.clone(),
                    reason: reason_of(&e),
                }
            }
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let link = header("link");
        let retry = header("retry-after");
        let mut response = response;
        let bytes = read_body(&mut response)
            .await
            .map_err(|e| ClientError::Unreachable {
                site,
                reason: reason_of(&e),
            })?;
        let body = super::body::parse(&bytes).unwrap_or(Value::Null);
        Ok(Raw {
            status,
            body,
            link,
            retry,
        })
    }
}

struct Raw {
    status: u16,
    body: Value,
    link: Option<String>,
    retry: Option<String>,
}

impl Raw {
    fn into_response(self) -> Response {
        Response {
            status: self.status,
            body: self.body,
            link: self.link,
        }
    }
}

/// The most set aside for a body before it is read, whatever `Content-Length` claims: a
/// longer body grows its buffer as it arrives.
const MOST_SET_ASIDE: usize = 64 * 1024 * 1024;

/// A body whole, in one buffer sized by `Content-Length` ([`body_capacity`]). Each chunk
/// is copied and let go as it arrives, so the connection reads the next into the buffer it
/// already has, instead of every chunk being kept (each in fresh memory) until the last is
/// in and then all copied once more.
async fn read_body(response: &mut reqwest::Response) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(body_capacity(response.content_length()));
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The bytes to set aside for a body of `content_length`: all of it, up to
/// [`MOST_SET_ASIDE`]; nothing when the length is not known.
fn body_capacity(content_length: Option<u64>) -> usize {
    content_length.map_or(0, |length| {
        usize::try_from(length).map_or(MOST_SET_ASIDE, |length| length.min(MOST_SET_ASIDE))
    })
}

/// The innermost cause of a reqwest error, without the URL's query (which never holds
/// secrets, but may be long).
fn reason_of(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use rstest::rstest;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::connectwise::Secret;

    /// A client for a wiremock server, with a bound no test reaches.
    fn client_for(server: &MockServer) -> Client {
        Client::with_timeout(
            Credentials {
                site: server.uri(),
                company_id: "northwind".into(),
                public_key: "pub".into(),
                private_key: Secret::new("private"),
                client_id: Some("client".into()),
            },
            Duration::from_secs(20),
        )
        .unwrap()
    }

    #[test]
    fn a_body_is_set_aside_as_long_as_it_says_up_to_a_bound() {
        assert_eq!(body_capacity(None), 0);
        assert_eq!(body_capacity(Some(0)), 0);
        assert_eq!(body_capacity(Some(1_500_000)), 1_500_000);
        assert_eq!(body_capacity(Some(u64::MAX)), MOST_SET_ASIDE);
    }

    /// A page far larger than one read of the connection arrives whole and parsed.
    #[tokio::test]
    async fn a_large_page_is_read_whole() {
        let server = MockServer::start().await;
        let records: Vec<Value> = (0..3000)
            .map(|id| serde_json::json!({"id": id, "name": format!("Company {id:04}")}))
            .collect();
        Mock::given(method("GET"))
            .and(path("/v4_6_release/apis/3.0/company/companies"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&records))
            .mount(&server)
            .await;

        let response = client_for(&server)
            .get("/company/companies", &[])
            .await
            .unwrap();

        assert_eq!(response.status, 200);
        assert_eq!(response.body, Value::Array(records));
    }

    /// Answers the first request with 429 (and `Retry-After`, when given), then 200.
    async fn throttled_once(retry_after: Option<&str>) -> MockServer {
        let server = MockServer::start().await;
        let mut throttled = ResponseTemplate::new(429).set_body_json(
            serde_json::json!({"error": "ConnectWiseAPI", "message": "Too many requests."}),
        );
        if let Some(value) = retry_after {
            throttled = throttled.insert_header("Retry-After", value);
        }
        Mock::given(method("GET"))
            .and(path("/v4_6_release/apis/3.0/service/tickets"))
            .respond_with(throttled)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v4_6_release/apis/3.0/service/tickets"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .mount(&server)
            .await;
        server
    }

    /// Real time (a paused clock would fire reqwest's own timeout while the server
    /// answers): the wait is at most a second, and nothing here measures it.
    #[rstest]
    #[case::retry_after_seconds(Some("1"))]
    #[case::no_retry_after(None)]
    #[tokio::test]
    async fn a_429_is_retried_once_and_the_retry_answers(#[case] retry_after: Option<&str>) {
        let server = throttled_once(retry_after).await;

        let response = client_for(&server)
            .get("/service/tickets", &[])
            .await
            .unwrap();

        assert_eq!(response.status, 200);
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn the_codebase_lookup_is_retried_after_a_429_too() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/login/companyinfo/northwind"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/login/companyinfo/northwind"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"Codebase": "v2025_1/"})),
            )
            .mount(&server)
            .await;

        let codebase = client_for(&server).codebase().await.unwrap();

        assert_eq!(codebase.as_deref(), Some("v2025_1/"));
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_bound_fails_at_once_naming_the_wait() {
        let server = throttled_once(Some("100000")).await;

        // A guard, not a measurement: a client that waited as asked would never finish.
        let error = tokio::time::timeout(
            Duration::from_secs(30),
            client_for(&server).get("/service/tickets", &[]),
        )
        .await
        .expect("the client waited instead of failing")
        .unwrap_err();

        assert_eq!(
            error.to_string(),
            "ConnectWise answered GET /service/tickets with 429 Too Many Requests and asked to wait 100000 s, which exceeds the 60 s the client waits at most"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[rstest]
    #[case::seconds("7", Some(7))]
    #[case::seconds_with_spaces(" 12 ", Some(12))]
    #[case::http_date_ahead("Thu, 01 Jan 1970 00:02:00 GMT", Some(60))]
    #[case::http_date_past("Thu, 01 Jan 1970 00:00:30 GMT", Some(0))]
    #[case::unreadable("soon", None)]
    #[case::negative("-3", None)]
    fn retry_after_reads_seconds_and_http_dates(#[case] value: &str, #[case] seconds: Option<u64>) {
        let now = UNIX_EPOCH + Duration::from_secs(60);
        assert_eq!(
            retry_after(Some(value), now),
            seconds.map(Duration::from_secs)
        );
    }

    #[test]
    fn retries_as_asked_until_the_budget_would_be_passed() {
        let mut backoff = Backoff::default();
        for _ in 0..5 {
            assert_eq!(
                backoff.next(Some(MAX_RETRY_WAIT), "GET", "/x").unwrap(),
                MAX_RETRY_WAIT
            );
        }

        let error = backoff
            .next(Some(Duration::from_secs(1)), "GET", "/x")
            .unwrap_err();

        assert_eq!(
            error.to_string(),
            "ConnectWise kept answering GET /x with 429 Too Many Requests: 5 retries waited 300 s, and the next wait of 1 s would pass the 300 s budget per request"
        );
    }

    #[test]
    fn without_retry_after_the_backoff_doubles_with_jitter_up_to_the_bound() {
        let mut backoff = Backoff::default();
        let mut waits = Vec::new();
        while let Ok(wait) = backoff.next(None, "GET", "/x") {
            waits.push(wait);
        }
        for (retry, wait) in waits.iter().enumerate() {
            let base = FIRST_BACKOFF
                .saturating_mul(2_u32.saturating_pow(u32::try_from(retry).unwrap()))
                .min(MAX_RETRY_WAIT);
            assert!(
                *wait >= base / 2 && *wait <= base,
                "retry {retry}: {wait:?} is not within [{:?}, {base:?}]",
                base / 2
            );
        }
        let total: Duration = waits.iter().sum();
        assert!(total <= RETRY_BUDGET, "{total:?}");
        assert!(waits.len() > 6, "gave up after {} retries", waits.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_off_delays_every_client_of_the_shared_rate_limit() {
        let limit = RateLimit::per_minute(600);
        limit.acquire().await;
        let start = Instant::now();

        limit.hold_off(Duration::from_secs(30)).await;
        limit.acquire().await;

        // Paused time: the clock moves only by the sleeps, so this is exact.
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }
}
