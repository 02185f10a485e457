//! The mock ConnectWise: one responder that behaves like ConnectWise on the wire
//! (authentication, security-role enforcement with `None`, `My` and `All`, JSON and error
//! shapes, paging and conditions) over an in-memory store, served by the mock's own
//! bounded HTTP server ([`server`]) on a port of its own: one per scenario
//! ([`MockConnectWise::start`]), or one for `cw-conform serve` ([`MockConnectWise::serve`]).
//!
//! It knows nothing of Gherkin or of the integration under test. Several API members,
//! each with its own keys and security role, can use one server at once. Every request is
//! journalled (without its headers) so a scenario can prove what ConnectWise received; the
//! body only of an authenticated request. A scenario's mock keeps its whole journal; a
//! served mock keeps the most recent requests only ([`Retention`]).
//!
//! Hostile input is bounded: the query language limits nesting and path length
//! ([`query`]), paging numbers must be whole numbers from 1 to 2,147,483,647, and the
//! server limits URL, header and body sizes ([`Limits`]).

pub mod query;
mod responder;
pub mod retention;

/// What ConnectWise answers under one of its documented behaviours, as the mock's responder
/// answers it (status and JSON body): on a sandbox that follows another behaviour, the
/// harness answers so in its place ([`crate::harness::documented`]).
pub(crate) mod documented {
    use serde_json::Value;

    use super::responder::{self, Answer};
    use crate::connectwise::security::{BadCredentials, Settings};

    fn wire(answer: &Answer) -> (u16, Value) {
        let body = answer
            .body
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or(Value::Null);
        (answer.status, body)
    }

    /// The refusal of credentials ConnectWise does not accept, when it refuses them as
    /// `shape` says, of a request to `path`.
    pub(crate) fn credentials_refused(
        settings: &Settings,
        shape: BadCredentials,
        path: &str,
    ) -> (u16, Value) {
        wire(&responder::credentials_refused(settings, shape, path))
    }

    /// The refusal of a request the member's role does not allow.
    pub(crate) fn refused_by_role(settings: &Settings) -> (u16, Value) {
        wire(&responder::refused_by_role(settings))
    }

    /// The refusal of `page=<text>` where ConnectWise serves pages from `least`.
    pub(crate) fn page_refused(text: &str, least: usize) -> (u16, Value) {
        wire(&responder::paging_refused("page", text, least))
    }
}
pub mod server;
pub mod store;

use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::connectwise::{API_PREFIX, Credentials, Secret};
use crate::fixtures::Fixtures;
use crate::model::SecurityRole;

pub use crate::connectwise::journal::{self, JournalEntry};
pub use retention::Retention;
pub use server::Limits;
pub use store::{Grown, Store};

use retention::Journal;

/// Who entered the records a scenario arranges on the mock, in their `_info` (on a sandbox
/// it is the setup member).
pub const ARRANGED_BY: &str = "cw-conform-setup";

/// An API member the mock authenticates: its member identifier, keys and security role.
#[derive(Debug, Clone)]
pub struct ApiMember {
    /// The member identifier (`ai-integration`); must match a seeded member record for
    /// `My` ownership and `/system/myAccount`.
    pub identifier: String,
    /// Public key.
    pub public_key: String,
    /// Private key.
    pub private_key: Secret,
    /// The member's security role.
    pub role: SecurityRole,
}

impl ApiMember {
    /// A member with keys derived from its identifier (for tests and scenarios).
    pub fn with_role(identifier: &str, role: SecurityRole) -> Self {
        let (public_key, private_key) = ApiMember::keys_of(identifier);
        ApiMember {
            identifier: identifier.to_owned(),
            public_key,
            private_key,
            role,
        }
    }

    /// The public and private key of a member made by [`Self::with_role`]: they follow from
    /// its identifier alone, so its role can change behind the same keys.
    pub fn keys_of(identifier: &str) -> (String, Secret) {
        (
            format!("{identifier}-public"),
            Secret::new(format!("{identifier}-private")),
        )
    }
}

/// A fault the mock answers with instead of the next requests (rate limiting, outages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After` seconds, for 429.
    pub retry_after: Option<u64>,
    /// How many requests get it.
    pub times: usize,
}

/// How the mock is set up.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The sign-in company code (`companyId` in the credentials).
    pub company_id: String,
    /// The company name `/login/companyinfo` reports.
    pub company_name: String,
    /// The client IDs accepted; empty accepts any non-empty `clientId`.
    pub client_ids: Vec<String>,
    /// The API members.
    pub members: Vec<ApiMember>,
    /// A delay before every answer (to observe a run in flight).
    pub delay: Option<std::time::Duration>,
    /// How much of the journal is kept.
    pub retention: Retention,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            company_id: "northwind".into(),
            company_name: "Northwind IT".into(),
            client_ids: Vec::new(),
            members: Vec::new(),
            delay: None,
            retention: Retention::Everything,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    /// Shared, so a request holds its member without copying the member's role.
    pub(crate) members: Vec<Arc<ApiMember>>,
    pub(crate) journal: Journal,
    pub(crate) faults: Vec<Fault>,
}

impl Inner {
    /// What a read is answered from, taken under the lock and used outside it: the records
    /// (a copy that shares them, and even the map of collections, until a write) and the
    /// members. A read neither looks at nor changes the journal or the faults.
    pub(crate) fn for_reading(&self) -> Inner {
        Inner {
            store: self.store.clone(),
            members: self.members.clone(),
            journal: Journal::default(),
            faults: Vec::new(),
        }
    }
}

pub(crate) struct Shared {
    pub(crate) fixtures: Arc<Fixtures>,
    pub(crate) delay: Option<std::time::Duration>,
    pub(crate) company_id: String,
    pub(crate) company_name: String,
    pub(crate) client_ids: Vec<String>,
    pub(crate) inner: Mutex<Inner>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads a mock's journal; cheap to clone.
#[derive(Clone)]
pub struct JournalReader {
    shared: Arc<Shared>,
}

impl JournalReader {
    /// Every request received so far (the most recent ones, for a served mock).
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.shared.lock().journal.entries()
    }

    /// How many requests the journal holds.
    pub fn len(&self) -> usize {
        self.shared.lock().journal.len()
    }

    /// Whether no request was received yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for JournalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalReader")
            .field("entries", &self.len())
            .finish()
    }
}

/// A running mock ConnectWise.
pub struct MockConnectWise {
    server: Option<server::Server>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MockConnectWise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConnectWise")
            .field("site", &self.site())
            .finish_non_exhaustive()
    }
}

/// Why a mock cannot hold the records asked for ([`MockConnectWise::hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// The seed has no record of the kind to copy.
    NothingToCopy,
    /// The collection already holds more: this many.
    HoldsMore(usize),
}

/// A record as a scenario arranges it on the mock: one without `_info` gets the one
/// ConnectWise stamps on a create (by [`ARRANGED_BY`]), as every record it holds has one.
fn arranged(mut record: serde_json::Value) -> serde_json::Value {
    if record.is_object() && record.get("_info").is_none() {
        responder::stamp(&mut record, ARRANGED_BY, true);
    }
    record
}

impl MockConnectWise {
    /// Starts a scenario's mock on `127.0.0.1` with an OS-chosen port, on the mock's own
    /// HTTP server with the default [`Limits`], as a task of the caller's runtime.
    ///
    /// Not on wiremock: a wiremock server of its own starts an OS thread and a Tokio
    /// runtime, and answers through a second copy of each request; that was most of what
    /// a scenario cost. It binds a port of its own, so no other scenario's requests (a
    /// server stopped late, say) can reach it.
    pub async fn start(fixtures: Arc<Fixtures>, config: MockConfig) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| panic!("failed to bind 127.0.0.1 for a mock ConnectWise: {e}"));
        Self::serve(listener, fixtures, config, Limits::default())
            .unwrap_or_else(|e| panic!("failed to serve a mock ConnectWise on 127.0.0.1: {e}"))
    }

    /// Serves a mock on a listener of the caller's choosing (`cw-conform serve --port`)
    /// with the mock's own HTTP server, which holds every request to `limits` and keeps
    /// nothing per request beyond the journal's [`Retention`]. Must be called within a
    /// Tokio runtime.
    pub fn serve(
        listener: TcpListener,
        fixtures: Arc<Fixtures>,
        config: MockConfig,
        limits: Limits,
    ) -> std::io::Result<Self> {
        let shared = Self::shared(fixtures, config);
        let responder = responder::ConnectWise::new(Arc::clone(&shared));
        let server = server::Server::start(listener, responder, limits)?;
        Ok(MockConnectWise {
            server: Some(server),
            shared,
        })
    }

    fn shared(fixtures: Arc<Fixtures>, config: MockConfig) -> Arc<Shared> {
        Arc::new(Shared {
            company_id: config.company_id,
            company_name: config.company_name,
            client_ids: config.client_ids,
            delay: config.delay,
            inner: Mutex::new(Inner {
                store: Store::seeded(&fixtures.seed),
                members: config.members.into_iter().map(Arc::new).collect(),
                journal: Journal::new(config.retention),
                faults: Vec::new(),
            }),
            fixtures,
        })
    }

    /// The site URL (`http://127.0.0.1:PORT`), what a client calls `site`.
    pub fn site(&self) -> String {
        self.server
            .as_ref()
            .map(|server| format!("http://{}", server.address()))
            .unwrap_or_default()
    }

    /// The REST base URL (`http://127.0.0.1:PORT/v4_6_release/apis/3.0`).
    pub fn api_url(&self) -> String {
        format!("{}{API_PREFIX}", self.site())
    }

    /// The sign-in company code.
    pub fn company_id(&self) -> &str {
        &self.shared.company_id
    }

    /// Credentials for a registered member (with any client ID the mock accepts).
    pub fn credentials_for(&self, identifier: &str) -> Option<Credentials> {
        let inner = self.shared.lock();
        let member = inner.members.iter().find(|m| m.identifier == identifier)?;
        Some(Credentials {
            site: self.site(),
            company_id: self.shared.company_id.clone(),
            public_key: member.public_key.clone(),
            private_key: member.private_key.clone(),
            client_id: Some(
                self.shared
                    .client_ids
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "cw-conform".to_owned()),
            ),
        })
    }

    /// Adds a member record (an API member, licence class A) for an identifier the seed
    /// does not have, so `My` ownership and `/system/myAccount` work for it. The record is
    /// shaped like the seeded member `like` (the same fields, its own identifier, names and
    /// email), so a member added here reads as the seed's API member does.
    pub fn ensure_member_record(&self, identifier: &str, like: &str) {
        let mut inner = self.shared.lock();
        if inner
            .store
            .find_by("members", "identifier", identifier)
            .is_some()
        {
            return;
        }
        let mut record = inner
            .store
            .find_by("members", "identifier", like)
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"licenseClass": "A"}));
        if let Some(fields) = record.as_object_mut() {
            fields.shift_remove("id");
            let domain = fields
                .get("officeEmail")
                .and_then(serde_json::Value::as_str)
                .and_then(|email| email.split_once('@'))
                .map(|(_, domain)| domain.to_owned());
            if let Some(domain) = domain {
                fields.insert(
                    "officeEmail".into(),
                    format!("{identifier}@{domain}").into(),
                );
            }
            fields.insert("identifier".into(), identifier.into());
            fields.insert("firstName".into(), "API".into());
            fields.insert("lastName".into(), identifier.into());
            fields.insert("inactiveFlag".into(), false.into());
            fields.insert("adminFlag".into(), false.into());
        }
        inner.store.insert("members", record);
    }

    /// Adds an API member, or replaces the one with the same identifier.
    pub fn add_member(&self, member: ApiMember) {
        let mut inner = self.shared.lock();
        inner.members.retain(|m| m.identifier != member.identifier);
        inner.members.push(Arc::new(member));
    }

    /// Answers the next requests with a fault.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Every request received so far (the most recent ones, for a served mock).
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.lock().journal.entries()
    }

    /// A handle that reads the journal later, from elsewhere (an integration adapter that
    /// judges by what ConnectWise received).
    pub fn journal_reader(&self) -> JournalReader {
        JournalReader {
            shared: Arc::clone(&self.shared),
        }
    }

    /// A copy of one record, as stored now.
    pub fn record(&self, collection: &str, id: i64) -> Option<serde_json::Value> {
        self.shared.lock().store.get(collection, id).cloned()
    }

    /// Copies of a collection's records, as stored now.
    pub fn records(&self, collection: &str) -> Vec<serde_json::Value> {
        self.shared
            .lock()
            .store
            .all(collection)
            .iter()
            .map(|record| serde_json::Value::clone(record))
            .collect()
    }

    /// How many records a collection holds now.
    pub fn count(&self, collection: &str) -> usize {
        self.shared.lock().store.all(collection).len()
    }

    /// The ids of a collection's records, as stored now (without copying the records).
    pub fn ids(&self, collection: &str) -> Vec<i64> {
        self.shared
            .lock()
            .store
            .all(collection)
            .iter()
            .filter_map(|record| store::record_id(record))
            .collect()
    }

    /// Adds records to a collection, as if ConnectWise had held them all along (the data a
    /// scenario arranges); each gets the collection's next free id, and the ids are returned.
    /// A record without `_info` gets the one ConnectWise stamps on a create (by
    /// [`ARRANGED_BY`]), as every record it holds has one (and a sandbox's arranged records,
    /// created through the API, do).
    pub fn insert(
        &self,
        collection: &str,
        records: impl IntoIterator<Item = serde_json::Value>,
    ) -> Vec<i64> {
        let records = records.into_iter().map(arranged);
        self.shared.lock().store.insert_all(collection, records)
    }

    /// Makes a collection hold `count` records, as a ConnectWise holding that many would:
    /// the records it holds, then copies of its seed records (all but the site's own
    /// company), each another record of the kind ([`store::copy_of`]) with the next free
    /// id. While the scenario has not changed the collection, it is grown as `grown` grew
    /// it before, so a run builds each such collection once and its scenarios share it
    /// (each copies it on its first write).
    pub fn hold(&self, collection: &str, count: usize, grown: &Grown) -> Result<(), Shortfall> {
        let Some(seed) = self.shared.fixtures.seed.get(collection) else {
            return Err(Shortfall::NothingToCopy);
        };
        let templates: Vec<&serde_json::Value> = seed
            .iter()
            .map(|r| r.value())
            .filter(|r| !store::is_owner_company(r))
            .collect();
        if templates.is_empty() {
            return Err(Shortfall::NothingToCopy);
        }
        let mut inner = self.shared.lock();
        let held = inner.store.all(collection).len();
        if count < held {
            return Err(Shortfall::HoldsMore(held));
        }
        grown.grow(&mut inner.store, collection, count, seed, |serial| {
            arranged(store::copy_of(templates[serial % templates.len()], serial))
        });
        Ok(())
    }

    /// Stops the server: it accepts no more connections and closes the open ones.
    pub fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}
