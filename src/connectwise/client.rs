//! A small ConnectWise REST client on reqwest: Basic auth, `clientId`, the versioned
//! `Accept` header, a bound on every call, and `429 Retry-After` honoured.

use std::time::Duration;

use serde_json::Value;

use super::credentials::Credentials;

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
}

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
    timeout: Duration,
    max_retries: u32,
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
            timeout,
            max_retries: 3,
        })
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
        let url = format!("{}{}", self.credentials.api_url(), path);
        let mut attempt = 0;
        loop {
            let mut request = self.request(method.clone(), &url).query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = self.execute(request).await?;
            match retry_after(&response) {
                Some(wait) if response.status == 429 && attempt < self.max_retries => {
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => return Ok(response.into_response()),
            }
        }
    }

    /// Uploads a file as ConnectWise's documents endpoint takes it (multipart/form-data).
    pub async fn upload(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> Result<Response, ClientError> {
        let url = format!("{}{}", self.credentials.api_url(), path);
        let request = self.request(reqwest::Method::POST, &url).multipart(form);
        Ok(self.execute(request).await?.into_response())
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
