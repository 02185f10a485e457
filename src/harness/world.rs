//! The cucumber World: one scenario's own mock ConnectWise (or the sandbox), API member
//! and integration.

use crate::harness::{mistake, not_judged};
use std::sync::{Arc, PoisonError};

use super::sandbox::{self, SandboxRun};
use crate::connectwise::security::Settings;
use crate::connectwise::{Client, Credentials, Recorder};
use crate::fixtures::Fixtures;
use crate::integration::mcp::McpIntegration;
use crate::integration::mcp::redact::REDACTED;
use crate::integration::mcp::shared::Lease;
use crate::integration::{
    ActionRequest, Confirmation, Finding, Integration, IntegrationError, ReferenceIntegration,
    ToolResult,
};
use crate::mock::journal::{self, JournalEntry};
use crate::mock::{ApiMember, JournalReader, MockConfig, MockConnectWise};
use crate::model::SecurityRole;

/// The member identifier the integration's API member has in the seed data.
pub const API_MEMBER: &str = "ai-integration";

/// The client ID registered for the integration: the mock refuses any other.
pub const CLIENT_ID: &str = "5c9f3d2e-8a41-4b6f-9e07-1d2c3b4a5f60";

/// A change a step makes to the credentials the integration uses.
pub(crate) type CredentialChange = Box<dyn Fn(&mut Credentials) + Send + Sync>;

/// Whether two collection paths are the same collection, any parent id matching any
/// other (`/service/tickets/7/notes` and `/service/tickets/{parentId}/notes`).
fn same_collection(a: &str, b: &str) -> bool {
    let shape = |path: &str| -> Vec<String> {
        path.trim_matches('/')
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') || segment.parse::<i64>().is_ok() {
                    "*".to_owned()
                } else {
                    segment.to_ascii_lowercase()
                }
            })
            .collect()
    };
    shape(a) == shape(b)
}

/// Runs `work` (an integration call) on the runtime's worker threads. Cucumber polls every
/// scenario of a run in one task, so work done inline would run the scenarios one CPU at a
/// time; spawned, they use every core. A panic inside comes back as the step's panic.
async fn on_worker<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    match tokio::spawn(work).await {
        Ok(value) => value,
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("the integration call was cancelled: {error}"),
        },
    }
}

static NEXT_SCOPE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// One scenario's state. Each scenario has its own mock, so scenarios run concurrently
/// without sharing anything.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct ConformanceWorld {
    pub(crate) fixtures: Arc<Fixtures>,
    pub(crate) mock: Option<MockConnectWise>,
    /// Another ConnectWise site, for scenarios about a wrong URL.
    pub(crate) other_site: Option<MockConnectWise>,
    /// The member identifier the integration signs in as.
    pub(crate) member: String,
    /// The last record an action created.
    pub(crate) created: Option<Created>,
    /// The records the scenario arranged, by the names its steps give them.
    pub(crate) arranged: std::collections::BTreeMap<String, super::arrange::Arranged>,
    /// Findings of the last audit.
    pub(crate) findings: Option<Vec<crate::audit::Finding>>,
    /// The role given to the API member, once a step has chosen one.
    pub(crate) role: Option<SecurityRole>,
    /// Changes to the credentials the integration uses (for authentication scenarios).
    pub(crate) credential_change: Option<CredentialChange>,
    pub(crate) integration: Option<Arc<dyn Integration>>,
    /// Every MCP server used in the scenario, the current one last: each is stopped (or,
    /// kept across scenarios, left) and judged when it is replaced and at the end.
    servers: Vec<ScenarioServer>,
    /// What the servers already stopped were found doing.
    found: Vec<Finding>,
    /// The last tool result the AI received.
    pub(crate) result: Option<ToolResult>,
    /// What the last escalated result holds for confirmation.
    pub(crate) held: Option<Confirmation>,
    /// The journal length before the last action, to look at what it sent.
    pub(crate) mark: usize,
    /// The sandbox, when the run targets one instead of the mock.
    pub(crate) sandbox: Option<Arc<SandboxRun>>,
    /// Against a sandbox: the requests the scenario's clients sent.
    pub(crate) recorder: Recorder,
    /// This scenario's number within the run (the ledger's scope of what it created).
    pub(crate) scope: u64,
    /// Whether the scenario is tagged `@existing-records` (set by the runner's before-hook).
    pub(crate) existing_records: bool,
    /// Actions the integration performed (or answered held) in this scenario: a rule is met
    /// only by scenarios that exercised the integration.
    pub(crate) performed: usize,
}

/// An MCP server a scenario uses: started for it, or kept across scenarios
/// (`run --reuse-servers`) and held for its turn.
enum ScenarioServer {
    Own(Arc<McpIntegration>),
    Kept(Lease),
}

impl ScenarioServer {
    fn server(&self) -> &Arc<McpIntegration> {
        match self {
            ScenarioServer::Own(server) => server,
            ScenarioServer::Kept(lease) => lease.server(),
        }
    }

    /// Stops the server, or ends the scenario's turn on a kept one: what it was found doing.
    async fn finish(self) -> Vec<Finding> {
        match self {
            ScenarioServer::Own(server) => server.stop().await,
            ScenarioServer::Kept(lease) => lease.release().await,
        }
    }
}

/// A record an action created: the collection it was created in and its id. A step that
/// refers to "the one just created" for another collection is a feature error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Created {
    /// The collection path it was created in (`/service/tickets/7/notes`).
    pub(crate) collection: String,
    /// Its id.
    pub(crate) id: i64,
}

impl std::fmt::Debug for ConformanceWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConformanceWorld")
            .field("role", &self.role.as_ref().map(|r| &r.name))
            .field("result", &self.result)
            .field("journal", &self.journal())
            .finish_non_exhaustive()
    }
}

impl ConformanceWorld {
    fn new() -> Self {
        ConformanceWorld {
            fixtures: super::fixtures(),
            mock: None,
            other_site: None,
            member: API_MEMBER.to_owned(),
            findings: None,
            created: None,
            arranged: std::collections::BTreeMap::new(),
            role: None,
            credential_change: None,
            integration: None,
            servers: Vec::new(),
            found: Vec::new(),
            result: None,
            held: None,
            mark: 0,
            sandbox: sandbox::current(),
            recorder: Recorder::default(),
            scope: NEXT_SCOPE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            existing_records: false,
            performed: 0,
        }
    }

    /// The sandbox profile whose member holds the API member's role (the role's name when
    /// none does, or on the mock).
    pub(crate) fn profile(&self) -> String {
        let name = self.role.as_ref().map_or_else(
            || crate::target::DEFAULT_ROLE.to_owned(),
            |r| r.name.clone(),
        );
        match (&self.sandbox, &self.role) {
            (Some(run), Some(role)) => run.profile_for(role).unwrap_or(name),
            _ => name,
        }
    }

    /// The scenario's mock, started on first use.
    pub(crate) async fn mock(&mut self) -> &MockConnectWise {
        assert!(
            self.sandbox.is_none(),
            "this step needs the mock ConnectWise; tag the scenario @mock-only"
        );
        if self.mock.is_none() {
            let config = MockConfig {
                client_ids: vec![CLIENT_ID.to_owned()],
                ..MockConfig::default()
            };
            let mock = MockConnectWise::start(Arc::clone(&self.fixtures), config).await;
            self.mock = Some(mock);
        }
        self.mock.as_ref().expect("the mock was started above")
    }

    /// Gives the API member a role (replacing any earlier one) and resets the integration.
    pub(crate) async fn set_role(&mut self, role: SecurityRole) {
        if self.sandbox.is_some() {
            // On a sandbox the role is the one the profile's API member has there.
            self.role = Some(role);
            self.reset_integration().await;
            return;
        }
        let member = ApiMember::with_role(&self.member, role.clone());
        self.mock().await.add_member(member);
        self.role = Some(role);
        self.reset_integration().await;
    }

    /// Changes how this scenario's ConnectWise behaves where the documents disagree or are
    /// uncertain (a switch of `permissions.toml`'s `[settings]`). The mock starts again
    /// with the switch, holding the seed data, and the API member keeps its role; so the
    /// switch must come before the scenario's first action.
    pub(crate) async fn switch(&mut self, change: impl FnOnce(&mut Settings)) {
        if self.sandbox.is_some() {
            mistake!("a sandbox cannot be switched; tag the scenario @mock-only");
        }
        if self.result.is_some() || self.mock.as_ref().is_some_and(|m| !m.journal().is_empty()) {
            mistake!("choose how ConnectWise behaves before the scenario's first action");
        }
        let mut fixtures = (*self.fixtures).clone();
        change(&mut fixtures.permissions.settings);
        self.fixtures = Arc::new(fixtures);
        if let Some(mock) = self.mock.take() {
            mock.shutdown();
        }
        self.integration = None;
        if let Some(role) = self.role.clone() {
            self.set_role(role).await;
        }
    }

    /// The credentials the integration uses, with any change a step asked for.
    pub(crate) async fn credentials(&mut self) -> Credentials {
        if self.role.is_none() {
            let role = self
                .fixtures
                .role("least-privilege")
                .unwrap_or_else(|e| panic!("{e}"));
            self.set_role(role).await;
        }
        let mut credentials = if let Some(run) = &self.sandbox {
            let role = self.role.as_ref().expect("a role was given above");
            run.credentials_for(role).unwrap_or_else(|| {
                panic!(
                    "no API member on the sandbox holds the role \"{}\" (`cw-conform sandbox plan --roles {}` lists its settings)",
                    role.name, role.name
                )
            })
        } else {
            let member = self.member.clone();
            self.mock()
                .await
                .credentials_for(&member)
                .expect("the API member was registered with its role")
        };
        if let Some(change) = &self.credential_change {
            change(&mut credentials);
        }
        credentials
    }

    /// A raw ConnectWise client with the integration's credentials. What it sends is the
    /// harness's own, not the MCP server's (see [`McpIntegration::harness_requests_follow`]).
    pub(crate) async fn client(&mut self) -> Client {
        let credentials = self.credentials().await;
        for server in &self.servers {
            server.server().harness_requests_follow();
        }
        match self.sandbox.clone() {
            Some(run) => {
                let gate = crate::ledger::LedgerGate::new(
                    Arc::clone(&run.ledger),
                    &self.profile(),
                    self.scope,
                    run.allow_existing && self.existing_records,
                );
                run.sandbox
                    .client_as_given(credentials)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .with_recorder(Arc::clone(&self.recorder))
                    .read_only(!run.allow_writes)
                    .with_gate(Arc::new(gate))
            }
            None => Client::new(credentials).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    /// A record as ConnectWise holds it now: from the mock's store, or read from the sandbox
    /// (which needs Inquire on it).
    pub(crate) async fn record(&mut self, collection: &str, id: i64) -> Option<serde_json::Value> {
        if let Some(mock) = &self.mock {
            return mock.record(collection, id);
        }
        self.sandbox.as_ref()?;
        let endpoint = self.fixtures.permissions.endpoint_for(collection)?.clone();
        assert!(
            endpoint.parent.is_none(),
            "{collection} records can be checked only on the mock; tag the scenario @mock-only"
        );
        self.record_at(collection, &endpoint.path, id).await
    }

    /// A record the scenario arranged, as ConnectWise holds it now.
    pub(crate) async fn arranged_record(
        &mut self,
        arranged: &super::arrange::Arranged,
    ) -> Option<serde_json::Value> {
        if self.sandbox.is_none() {
            return self.mock().await.record(&arranged.collection, arranged.id);
        }
        self.record_at(&arranged.collection, &arranged.path, arranged.id)
            .await
    }

    /// A record read from the sandbox at `path/id`.
    async fn record_at(
        &mut self,
        collection: &str,
        path: &str,
        id: i64,
    ) -> Option<serde_json::Value> {
        let client = self.reading_client().await;
        let response = client
            .get(&format!("{path}/{id}"), &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        match response.status {
            200 => Some(response.body),
            404 => None,
            status => panic!(
                "cannot check {collection} #{id} on the sandbox: ConnectWise answered {status}"
            ),
        }
    }

    /// A client that reads what ConnectWise holds now, for the checks of a scenario: on a
    /// sandbox the setup member when the profiles file has one (it may read every kind of
    /// record, and what it reads is not the integration's), else the integration's member.
    async fn reading_client(&mut self) -> Client {
        if let Some(run) = &self.sandbox
            && let Some(credentials) = run.sandbox.credentials(super::arrange::SETUP_PROFILE)
        {
            return run
                .sandbox
                .client(credentials)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .read_only(true);
        }
        self.client().await
    }

    /// The id of the record the last action created, for a step that refers to "the one
    /// just created" in `collection` (a collection path; `{parentId}` or an id stand for
    /// any parent). Naming another collection is a feature error: the step would act on
    /// whatever record happens to have that id there.
    pub(crate) fn just_created(&self, collection: &str) -> i64 {
        let created = self
            .created
            .as_ref()
            .unwrap_or_else(|| mistake!("no record was created before this step refers to it"));
        if !same_collection(&created.collection, collection) {
            mistake!(
                "the record just created is in {} (#{}), but this step refers to it as a record of {collection}",
                created.collection,
                created.id
            );
        }
        created.id
    }

    /// Performs an action through the integration under test. An integration that gives
    /// no answer to judge stops the scenario as *could not be judged*.
    pub(crate) async fn perform(&mut self, request: &ActionRequest) -> ToolResult {
        let integration = self.integration().await;
        self.mark = self.journal_len();
        let worker = Arc::clone(&integration);
        let request_owned = request.clone();
        let result = on_worker(async move { worker.perform(&request_owned).await })
            .await
            .unwrap_or_else(|error| not_judged(&error));
        if integration.offers(&request.action) {
            self.performed += 1;
        }
        result
    }

    /// Answers a held action as a person would (see [`Self::perform`]).
    pub(crate) async fn confirm(&mut self, token: u64, accept: bool) -> ToolResult {
        let integration = self.integration().await;
        self.mark = self.journal_len();
        let result = on_worker(async move { integration.confirm(token, accept).await })
            .await
            .unwrap_or_else(|error| not_judged(&error));
        self.performed += 1;
        result
    }

    /// The integration under test, built on first use: the reference integration, or the
    /// run's MCP server started for this scenario's API member. A server that cannot start
    /// stops the scenario as *could not be judged*, with its stderr; once the same start-up
    /// failure has repeated, the server is not started again in this run.
    pub(crate) async fn integration(&mut self) -> Arc<dyn Integration> {
        if let Some(integration) = &self.integration {
            return Arc::clone(integration);
        }
        let integration: Arc<dyn Integration> = if let Some(config) = super::mcp_integration() {
            assert!(
                self.sandbox.is_none(),
                "an MCP integration is judged by the mock's journal; it cannot run against a sandbox"
            );
            if let Some(failure) = super::repeated_start_failure() {
                not_judged(&IntegrationError::NotStarted(failure));
            }
            let credentials = self.credentials().await;
            let started = match super::shared_servers() {
                Some(kept) => kept
                    .lease(&credentials, &self.profile(), self.journal_readers())
                    .await
                    .map(ScenarioServer::Kept),
                None => McpIntegration::start(
                    config,
                    Arc::clone(&self.fixtures),
                    &credentials,
                    self.journal_readers(),
                )
                .await
                .map(|server| ScenarioServer::Own(Arc::new(server))),
            };
            match started {
                Ok(server) => {
                    let integration = Arc::clone(server.server());
                    self.servers.push(server);
                    integration
                }
                Err(failure) => {
                    super::start_failed(&failure);
                    not_judged(&IntegrationError::NotStarted(failure))
                }
            }
        } else {
            let client = self.client().await;
            Arc::new(ReferenceIntegration::new(
                client,
                Arc::clone(&self.fixtures),
            ))
        };
        self.integration = Some(Arc::clone(&integration));
        integration
    }

    /// Drops the integration so the next step starts a new one (with a new role or
    /// credentials); an MCP server is stopped and judged now, so what the next one does is
    /// not laid at its door.
    pub(crate) async fn reset_integration(&mut self) {
        self.integration = None;
        for server in std::mem::take(&mut self.servers) {
            let found = server.finish().await;
            self.found.extend(found);
        }
    }

    /// Stops the scenario's MCP servers and returns everything they were found doing (see
    /// [`Finding`]): what fails among them fails the scenario.
    pub(crate) async fn stop_integrations(&mut self) -> Vec<Finding> {
        self.reset_integration().await;
        std::mem::take(&mut self.found)
    }

    /// Readers of what the scenario's ConnectWise sites receive: the mock, then the other
    /// site of a wrong-URL scenario.
    fn journal_readers(&self) -> Vec<JournalReader> {
        [&self.mock, &self.other_site]
            .into_iter()
            .flatten()
            .map(MockConnectWise::journal_reader)
            .collect()
    }

    /// How many requests ConnectWise has received, without copying them.
    pub(crate) fn journal_len(&self) -> usize {
        match &self.mock {
            Some(mock) => {
                mock.journal_reader().len()
                    + self
                        .other_site
                        .as_ref()
                        .map_or(0, |other| other.journal_reader().len())
            }
            None => self
                .recorder
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
        }
    }

    /// Every request ConnectWise received: the mock's journal followed by the other site's
    /// (a wrong-URL scenario sends everything there), or against a sandbox what the
    /// scenario's clients sent.
    pub(crate) fn journal(&self) -> Vec<JournalEntry> {
        match &self.mock {
            Some(mock) => {
                let mut entries = mock.journal();
                if let Some(other) = &self.other_site {
                    entries.extend(other.journal());
                }
                entries
            }
            None => self
                .recorder
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// The requests received since the last action started.
    pub(crate) fn since_mark(&self) -> Vec<JournalEntry> {
        self.journal().into_iter().skip(self.mark).collect()
    }

    /// The last tool result, or a failure saying no action was taken.
    pub(crate) fn result(&self) -> &ToolResult {
        self.result
            .as_ref()
            .unwrap_or_else(|| mistake!("no action was performed before this step"))
    }

    /// Context for failure messages: the result and the requests ConnectWise received.
    pub(crate) fn evidence(&self) -> String {
        let result = self.result.as_ref().map_or_else(
            || "no tool result".to_owned(),
            |r| {
                let observed: String = r
                    .observations
                    .iter()
                    .flat_map(|o| ["\nobserved: ", o.as_str()])
                    .collect();
                format!(
                    "observed outcome: {}\nthe AI was told: {}{observed}",
                    r.outcome, r.message
                )
            },
        );
        self.shown(format!(
            "{result}\nConnectWise received:\n{}",
            journal::render(&self.journal())
        ))
    }

    /// The requests ConnectWise received, as a report shows them: paths, query strings and
    /// bodies passed through [`Self::shown`].
    pub(crate) fn shown_journal(&self) -> Vec<JournalEntry> {
        let mut entries = self.journal();
        if self.integration.is_none() {
            return entries;
        }
        for entry in &mut entries {
            entry.path = self.shown(std::mem::take(&mut entry.path));
            entry.query = self.shown(std::mem::take(&mut entry.query));
            if let Some(body) = &mut entry.body {
                let text = body.to_string();
                let shown = self.shown(text.clone());
                if shown != text {
                    *body = serde_json::from_str(&shown)
                        .unwrap_or_else(|_| serde_json::Value::from(REDACTED));
                }
            }
        }
        entries
    }

    /// `text` with what the integration under test must not show (its API member's
    /// secrets, which it may have sent to ConnectWise in a query string) redacted.
    pub(crate) fn shown(&self, text: String) -> String {
        match &self.integration {
            Some(integration) => integration.shown(text),
            None => text,
        }
    }

    /// Stops the mock without blocking (see [`MockConnectWise::shutdown`]); against a
    /// sandbox, removes what the scenario created.
    pub(crate) async fn finish(&mut self) {
        for mock in [self.mock.take(), self.other_site.take()]
            .into_iter()
            .flatten()
        {
            mock.shutdown();
        }
        if let Some(run) = &self.sandbox {
            // What cannot be removed now stays in the ledger; the run's final cleanup tries
            // again and reports it.
            crate::cleanup::clean(&run.sandbox, &run.ledger, Some(self.scope)).await;
        }
    }
}
