//! Servers kept across scenarios (`run --reuse-servers`): one server process per credential
//! set and role, started on first use, instead of one per scenario.
//!
//! Each scenario still has its own mock ConnectWise. A kept server is given, as its
//! ConnectWise site, the address of a [`Relay`] the harness controls (127.0.0.1, a port of
//! its own); the relay forwards every request to the site of the scenario that holds the
//! server now. Scenarios sharing a server take turns on it (a [`Lease`] each, one at a
//! time), so the relay routes to exactly one scenario's site, and what the server sends
//! while it serves a scenario lands in that scenario's journal and is judged there as
//! before ([`McpIntegration::leave`]). What it sends while no scenario holds it is answered
//! 503, kept, and judged with the next scenario it serves, or at the end of the run
//! ([`SharedServers::stop`]). What it shows in its output belongs to the scenario it
//! serves when it writes it.
//!
//! What reuse gives up: a server's own caches (a token, a record it read, a member it
//! looked up) live from one scenario into the next, so the run's report says reuse was on.
//!
//! A server already running (`transport = "http"`, `url` alone) is served the same way
//! through a [`FixedSite`]: one relay at an address the user chose and configured the
//! server with, routing to each scenario's own mock in turn. So every scenario finds a
//! fresh ConnectWise (store, journal, faults, its role behind the same keys: the API
//! member's keys follow from its identifier, not its role), scenarios take turns, and each
//! turn is an MCP session of its own, closed when the scenario ends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{OwnedMutexGuard, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::client::{McpIntegration, ServerFailure, StartupSlots};
use super::config::IntegrationConfig;
use super::judge;
use super::redact::Redactor;
use crate::connectwise::{API_PREFIX, Credentials, JournalEntry};
use crate::fixtures::Fixtures;
use crate::integration::Finding;
use crate::mock::JournalReader;

/// The largest request body the relay forwards (a document upload of a few megabytes).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Headers that belong to one hop of HTTP, not to the request forwarded.
const HOP_HEADERS: [&str; 6] = [
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
];

/// Where the relay sends requests now, and what it could not send anywhere.
#[derive(Debug)]
struct Route {
    /// The site of the scenario holding the server; `None` between scenarios.
    site: Mutex<Option<String>>,
    /// Requests made while no scenario held the server, answered 503.
    unrouted: Mutex<Vec<JournalEntry>>,
    /// Requests being forwarded now.
    in_flight: watch::Sender<usize>,
    client: reqwest::Client,
}

/// A request being forwarded; counted until it is answered.
struct Forwarding<'a>(&'a watch::Sender<usize>);

impl<'a> Forwarding<'a> {
    fn begin(in_flight: &'a watch::Sender<usize>) -> Self {
        in_flight.send_modify(|n| *n += 1);
        Forwarding(in_flight)
    }
}

impl Drop for Forwarding<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// The stable ConnectWise address a kept server is given: an HTTP server on 127.0.0.1 that
/// forwards each request to the site of the scenario holding the server.
#[derive(Debug)]
pub struct Relay {
    address: SocketAddr,
    route: Arc<Route>,
    accepting: JoinHandle<()>,
}

impl Relay {
    /// Starts a relay on 127.0.0.1, on a port of its own, routing nowhere yet.
    pub fn start() -> std::io::Result<Relay> {
        Relay::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts a relay on `address`, routing nowhere yet.
    pub fn start_on(address: SocketAddr) -> std::io::Result<Relay> {
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let route = Arc::new(Route {
            site: Mutex::new(None),
            unrouted: Mutex::new(Vec::new()),
            in_flight: watch::channel(0).0,
            client: crate::connectwise::http::client_builder()
                .map_err(std::io::Error::other)?
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(std::io::Error::other)?,
        });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&route)));
        Ok(Relay {
            address,
            route,
            accepting,
        })
    }

    /// The site URL a server is given (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Routes every request from now on to `site` (a scenario's mock, or the other site of
    /// a wrong-URL scenario).
    pub fn route_to(&self, site: &str) {
        *self
            .route
            .site
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(site.to_owned());
    }

    /// Routes nowhere from now on, once the requests being forwarded are answered.
    pub async fn release(&self) {
        *self
            .route
            .site
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let mut in_flight = self.route.in_flight.subscribe();
        let _ = in_flight.wait_for(|n| *n == 0).await;
    }

    /// The requests made while the relay routed nowhere, forgotten once returned.
    pub fn take_unrouted(&self) -> Vec<JournalEntry> {
        std::mem::take(
            &mut *self
                .route
                .unrouted
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Its connections are in the accepting task's set, and end with it.
        self.accepting.abort();
    }
}

async fn accept(listener: tokio::net::TcpListener, route: Arc<Route>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let route = Arc::clone(&route);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let route = Arc::clone(&route);
                async move { Ok::<_, Infallible>(forward(&route, request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// An answer of the relay's own, in ConnectWise's error shape.
fn own_answer(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Forwards one request to the site of the scenario holding the server, or keeps it and
/// answers 503 when none does.
async fn forward(route: &Route, request: hyper::Request<Incoming>) -> Response<Full<Bytes>> {
    let _forwarding = Forwarding::begin(&route.in_flight);
    let site = route
        .site
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let (parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, MAX_BODY_BYTES).collect().await else {
        return own_answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLarge",
            "the request body is larger than the harness's relay forwards",
        );
    };
    let body = body.to_bytes();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", hyper::http::uri::PathAndQuery::as_str);
    let Some(site) = site else {
        let path = parts.uri.path();
        route
            .unrouted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(JournalEntry {
                method: parts.method.to_string(),
                path: path.strip_prefix(API_PREFIX).unwrap_or(path).to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
                member: None,
                body: serde_json::from_slice(&body).ok(),
                answer: None,
            });
        return own_answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "no scenario is using this server now",
        );
    };
    let mut outgoing = route.client.request(
        parts.method.clone(),
        format!("{}{target}", site.trim_end_matches('/')),
    );
    for (name, value) in &parts.headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answered = match outgoing.body(body).send().await {
        Ok(answered) => answered,
        Err(error) => {
            return own_answer(
                StatusCode::BAD_GATEWAY,
                "BadGateway",
                &format!("the harness's relay could not reach the scenario's ConnectWise: {error}"),
            );
        }
    };
    let status = answered.status();
    let headers = answered.headers().clone();
    let Ok(bytes) = answered.bytes().await else {
        return own_answer(
            StatusCode::BAD_GATEWAY,
            "BadGateway",
            "the scenario's ConnectWise broke off its answer",
        );
    };
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// What identifies a kept server: the credentials it was started with, apart from the site
/// (it is given the relay's), and the role its API member holds. Members of different
/// roles may sign in with the same keys on the mock; a server may cache what its member
/// may do, so each role gets a server of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CredentialSet {
    role: String,
    company_id: String,
    public_key: String,
    private_key: String,
    client_id: Option<String>,
}

impl CredentialSet {
    fn of(credentials: &Credentials, role: &str) -> Self {
        CredentialSet {
            role: role.to_owned(),
            company_id: credentials.company_id.clone(),
            public_key: credentials.public_key.clone(),
            private_key: credentials.private_key.expose().to_owned(),
            client_id: credentials.client_id.clone(),
        }
    }
}

/// One kept server, its relay, and the lock scenarios take turns on.
#[derive(Debug)]
struct Kept {
    relay: Arc<Relay>,
    /// A server already running: each turn is an MCP session of its own, closed at its end.
    session_per_turn: bool,
    redactor: Redactor,
    /// The server, once started (again `None` after it ended).
    server: Arc<tokio::sync::Mutex<Option<Arc<McpIntegration>>>>,
}

/// The servers of a run with `--reuse-servers`, or the one server already running.
#[derive(Debug)]
pub struct SharedServers {
    config: Arc<IntegrationConfig>,
    fixtures: Arc<Fixtures>,
    /// The run's start-up slots.
    slots: StartupSlots,
    kept: Mutex<HashMap<CredentialSet, Arc<Kept>>>,
    started: AtomicUsize,
    /// A server already running, reached through the fixed site it was configured with.
    running: Option<(Arc<FixedSite>, Arc<Kept>)>,
}

/// The mock ConnectWise address a server already running is configured with: a relay on
/// an address of the user's choosing (`run --mock-addr`), routing to the mock of the
/// scenario whose turn it is, and the settings the server must be given.
#[derive(Debug)]
pub struct FixedSite {
    relay: Arc<Relay>,
    credentials: Credentials,
}

impl FixedSite {
    /// Listens on `address`; `member` gives the API member's settings (its site is
    /// replaced by this address).
    pub fn start(address: SocketAddr, member: &Credentials) -> std::io::Result<FixedSite> {
        let relay = Relay::start_on(address)?;
        let mut credentials = member.clone();
        credentials.site = relay.url();
        Ok(FixedSite {
            relay: Arc::new(relay),
            credentials,
        })
    }

    /// What the server must be configured with: this site, the company, the API member's
    /// keys and the client ID.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Which of a scenario's settings differ from the server's, if any (the site aside:
    /// the relay routes to the scenario's own).
    fn differences(&self, credentials: &Credentials) -> Vec<&'static str> {
        let mine = &self.credentials;
        [
            (mine.company_id != credentials.company_id, "the company ID"),
            (mine.public_key != credentials.public_key, "the public key"),
            (
                mine.private_key.expose() != credentials.private_key.expose(),
                "the private key",
            ),
            (mine.client_id != credentials.client_id, "the client ID"),
        ]
        .into_iter()
        .filter_map(|(differs, what)| differs.then_some(what))
        .collect()
    }
}

/// What a run with kept servers reports about them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerReuse {
    /// How many server processes the run started.
    pub servers_started: usize,
    /// What was found after the last scenario each server served: requests it made then,
    /// and secrets it showed in its output.
    pub findings: Vec<Finding>,
}

/// A scenario's turn on a kept server; [`Lease::release`] ends it.
#[derive(Debug)]
pub struct Lease {
    server: Arc<McpIntegration>,
    kept: Arc<Kept>,
    slot: OwnedMutexGuard<Option<Arc<McpIntegration>>>,
}

impl Lease {
    /// The server.
    pub fn server(&self) -> &Arc<McpIntegration> {
        &self.server
    }

    /// Ends the scenario's turn: once the requests being forwarded are answered, returns
    /// what was found while the server served it. A server whose process ended is started
    /// again for the next scenario; the session with a server already running is closed.
    pub async fn release(mut self) -> Vec<Finding> {
        self.kept.relay.release().await;
        if self.kept.session_per_turn {
            let findings = self.server.stop().await;
            *self.slot = None;
            return findings;
        }
        let findings = self.server.leave();
        if self.server.ended() {
            *self.slot = None;
        }
        findings
    }
}

impl SharedServers {
    /// No server started yet.
    pub fn new(
        config: Arc<IntegrationConfig>,
        fixtures: Arc<Fixtures>,
        slots: StartupSlots,
    ) -> Self {
        SharedServers {
            config,
            fixtures,
            slots,
            kept: Mutex::new(HashMap::new()),
            started: AtomicUsize::new(0),
            running: None,
        }
    }

    /// The server already running that `config` names, reached through `site`.
    pub fn running(
        config: Arc<IntegrationConfig>,
        fixtures: Arc<Fixtures>,
        slots: StartupSlots,
        site: Arc<FixedSite>,
    ) -> Self {
        let kept = Arc::new(Kept {
            relay: Arc::clone(&site.relay),
            session_per_turn: true,
            redactor: Redactor::for_member_and(
                &site.credentials,
                config.server.header_secrets(&site.credentials),
            ),
            server: Arc::default(),
        });
        SharedServers {
            running: Some((site, kept)),
            ..SharedServers::new(config, fixtures, slots)
        }
    }

    /// Whether this is a server already running (no process started, nothing reused).
    pub fn is_running_already(&self) -> bool {
        self.running.is_some()
    }

    fn kept(&self, credentials: &Credentials, role: &str) -> Result<Arc<Kept>, ServerFailure> {
        let set = CredentialSet::of(credentials, role);
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = kept.get(&set) {
            return Ok(Arc::clone(found));
        }
        let relay = Relay::start().map_err(|error| ServerFailure {
            what: format!(
                "failed to start the relay to the scenario's mock ConnectWise on 127.0.0.1: {error}"
            ),
            exit: None,
            garbage: Vec::new(),
            garbage_count: 0,
            stderr: Vec::new(),
            watched: false,
        })?;
        let new = Arc::new(Kept {
            relay: Arc::new(relay),
            session_per_turn: false,
            redactor: Redactor::for_member_and(
                credentials,
                self.config.server.header_secrets(credentials),
            ),
            server: Arc::default(),
        });
        kept.insert(set, Arc::clone(&new));
        Ok(new)
    }

    /// A turn on the server of these credentials and this role (its name) for a scenario
    /// whose sites are `journals`, once no other scenario holds it; the server is started
    /// on first use.
    pub async fn lease(
        &self,
        credentials: &Credentials,
        role: &str,
        journals: Vec<JournalReader>,
    ) -> Result<Lease, ServerFailure> {
        let kept = match &self.running {
            Some((site, kept)) => {
                let differences = site.differences(credentials);
                if !differences.is_empty() {
                    return Err(ServerFailure {
                        what: format!(
                            "this scenario gives the integration other settings ({}) than the MCP server already running at {} was configured with; it needs a server the harness starts for it",
                            differences.join(", "),
                            self.config.server.shown()
                        ),
                        exit: None,
                        garbage: Vec::new(),
                        garbage_count: 0,
                        stderr: Vec::new(),
                        watched: false,
                    });
                }
                Arc::clone(kept)
            }
            None => self.kept(credentials, role)?,
        };
        let mut slot = Arc::clone(&kept.server).lock_owned().await;
        kept.relay.route_to(&credentials.site);
        let between = kept.relay.take_unrouted();
        let server = if let Some(server) = slot.as_ref() {
            server.serve(journals);
            Arc::clone(server)
        } else {
            let mut relayed = credentials.clone();
            relayed.site = kept.relay.url();
            let started = McpIntegration::start(
                Arc::clone(&self.config),
                Arc::clone(&self.fixtures),
                &relayed,
                journals,
                &self.slots,
            )
            .await;
            if !kept.session_per_turn {
                self.started.fetch_add(1, Ordering::Relaxed);
            }
            match started {
                Ok(server) => {
                    let server = Arc::new(server);
                    *slot = Some(Arc::clone(&server));
                    server
                }
                Err(failure) => {
                    kept.relay.release().await;
                    return Err(failure);
                }
            }
        };
        server.sent_between_scenarios(&between);
        Ok(Lease { server, kept, slot })
    }

    /// Stops every server (after the last scenario, or on an interrupt) and reports on
    /// them.
    pub async fn stop(&self) -> ServerReuse {
        let kept: Vec<Arc<Kept>> = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, kept)| kept)
            .chain(self.running.iter().map(|(_, kept)| Arc::clone(kept)))
            .collect();
        let mut findings = Vec::new();
        for kept in kept {
            let mut slot = kept.server.lock().await;
            kept.relay.release().await;
            if let Some(server) = slot.take() {
                findings.extend(server.stop().await);
            }
            let between: Vec<(judge::Moment, JournalEntry)> = kept
                .relay
                .take_unrouted()
                .into_iter()
                .map(|entry| (judge::Moment::BetweenScenarios, entry))
                .collect();
            for mut finding in judge::judge_outside(&self.fixtures, &between) {
                finding.evidence = kept.redactor.redact(&finding.evidence).into_owned();
                findings.push(finding);
            }
        }
        ServerReuse {
            servers_started: self.started.load(Ordering::Relaxed),
            findings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn site(answer: u16) -> wiremock::MockServer {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(wiremock::ResponseTemplate::new(answer).set_body_string("{}"))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn the_relay_forwards_to_the_site_it_routes_to_and_keeps_what_it_cannot_route() {
        let first = site(200).await;
        let second = site(404).await;
        let relay = Relay::start().expect("the relay starts on 127.0.0.1");
        let client = crate::connectwise::http::client().expect("an HTTP client");
        let get = |path: &str| {
            client
                .get(format!("{}{API_PREFIX}{path}", relay.url()))
                .send()
        };

        relay.route_to(&first.uri());
        assert_eq!(
            get("/service/tickets").await.expect("answered").status(),
            200
        );
        relay.route_to(&second.uri());
        assert_eq!(
            get("/service/tickets").await.expect("answered").status(),
            404
        );
        relay.release().await;
        let unrouted = get("/company/companies?pageSize=1")
            .await
            .expect("answered");
        assert_eq!(unrouted.status(), 503);

        let first_received = first.received_requests().await.expect("recorded");
        assert_eq!(first_received.len(), 1);
        assert_eq!(
            first_received[0].url.path(),
            format!("{API_PREFIX}/service/tickets")
        );
        assert_eq!(second.received_requests().await.expect("recorded").len(), 1);
        let kept = relay.take_unrouted();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0].path, "/company/companies");
        assert_eq!(kept[0].query, "pageSize=1");
        assert_eq!(kept[0].status, 503);
        assert!(relay.take_unrouted().is_empty(), "returned once");
    }

    #[tokio::test]
    async fn the_relay_forwards_the_method_headers_and_body() {
        let site = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::header("clientId", "abc"))
            .and(wiremock::matchers::body_json(
                serde_json::json!({"summary": "x"}),
            ))
            .respond_with(wiremock::ResponseTemplate::new(201))
            .expect(1)
            .mount(&site)
            .await;
        let relay = Relay::start().expect("the relay starts on 127.0.0.1");
        relay.route_to(&site.uri());
        let answer = crate::connectwise::http::client()
            .expect("an HTTP client")
            .post(format!("{}/service/tickets", relay.url()))
            .header("clientId", "abc")
            .json(&serde_json::json!({"summary": "x"}))
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status(), 201);
    }
}
