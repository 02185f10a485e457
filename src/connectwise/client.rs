//! A small ConnectWise REST client on reqwest: Basic auth, `clientId`, the versioned
//! `Accept` header, a bound on every call, and `429 Retry-After` honoured.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::credentials::Credentials;
use super::journal::JournalEntry;

/// The API version the client asks for.
pub const API_VERSION: &str = "2025.16";

/// A call that got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The site could not be reached or the connection broke.
    #[error("failed to reach ConnectWise at {site}: {reason}")]
    Unreachable {
        /// The site URL (never contains a secret).
        site: String,
        /// What went wrong.
        reason: String,
    },
    /// No answer within the bound.
    #[error("ConnectWise at {site} did not answer within {seconds} s")]
    Timeout {
        /// The site URL.
        site: String,
        /// The bound.
        seconds: u64,
    },
    /// The client could not be built.
    #[error("failed to build the HTTP client: {0}")]
    Build(String),
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

/// Spaces requests evenly so a run stays under a rate (ConnectWise throttles above about
/// 1,000 requests a minute).
#[derive(Debug)]
pub struct RateLimit {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl RateLimit {
    /// At most `per_minute` requests a minute.
    pub fn per_minute(per_minute: u32) -> Self {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        RateLimit {
            interval,
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    async fn acquire(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = (*next).max(now) + self.interval;
    }
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
    max_retries: u32,
    rate_limit: Option<Arc<RateLimit>>,
    recorder: Option<Recorder>,
    read_only: bool,
    gate: Option<Arc<dyn WriteGate>>,
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
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Client {
            http,
            credentials,
            api_prefix: super::API_PREFIX.to_owned(),
            timeout,
            max_retries: 3,
            rate_limit: None,
            recorder: None,
            read_only: false,
            gate: None,
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

    /// The codebase the site reports for a company (`/login/companyinfo/{companyId}`, no
    /// authentication), or `None` when the site does not know the company.
    pub async fn codebase(&self) -> Result<Option<String>, ClientError> {
        let url = format!(
            "{}/login/companyinfo/{}",
            self.credentials.site.trim_end_matches('/'),
            self.credentials.company_id
        );
        let raw = self.execute(self.http.get(url)).await?;
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

    /// Sends a request with an optional JSON body; retries after `429` as told by
    /// `Retry-After` (at most three times, each wait at most 60 s).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Response, ClientError> {
        let url = format!("{}{path}", self.api_url());
        let ticket = self.guard_write(method.as_str(), path, body)?;
        let mut attempt = 0;
        let result = loop {
            let mut request = self.request(method.clone(), &url).query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = match self.execute(request).await {
                Ok(response) => response,
                Err(error) => break Err(error),
            };
            self.record(method.as_str(), path, query, body.cloned(), response.status);
            match retry_after(&response) {
                Some(wait) if response.status == 429 && attempt < self.max_retries => {
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => break Ok(response.into_response()),
            }
        };
        self.settle(ticket, &result);
        result
    }

    fn settle(&self, ticket: Option<u64>, result: &Result<Response, ClientError>) {
        if let (Some(gate), Some(ticket)) = (&self.gate, ticket) {
            gate.after_write(ticket, result.as_ref().ok());
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
            self.record("POST", path, &[], None, response.status);
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
    ) {
        if let Some(recorder) = &self.recorder {
            let query = query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
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
        let site = self.credentials.site.clone();
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
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable {
                site,
                reason: reason_of(&e),
            })?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
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

fn retry_after(raw: &Raw) -> Option<Duration> {
    let seconds: u64 = raw.retry.as_deref()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(60)))
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
