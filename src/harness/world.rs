//! The cucumber World: one scenario's own mock ConnectWise (or the sandbox), API member
//! and integration.

use crate::harness::{mistake, not_judged};
use std::sync::{Arc, PoisonError};

use super::context::RunContext;
use super::sandbox::SandboxRun;
use crate::connectwise::behaviour::{Behaviour, Fit, SWITCHES, fit};
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

/// The settings the API member of every scenario signs in with on its mock, at `site`: the
/// company, its keys (which follow from its identifier, whatever its role) and the client
/// ID the mock accepts. A server already running is configured with them once.
pub fn api_member_credentials(site: &str) -> Credentials {
    let (public_key, private_key) = ApiMember::keys_of(API_MEMBER);
    Credentials {
        site: site.to_owned(),
        company_id: MockConfig::default().company_id,
        public_key,
        private_key,
        client_id: Some(CLIENT_ID.to_owned()),
    }
}

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

/// One scenario's state. Each scenario has its own mock, so scenarios run concurrently
/// without sharing anything.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct ConformanceWorld {
    /// The run this scenario belongs to (handed over by the runner's before-hook).
    run: Arc<RunContext>,
    /// The run's fixtures, or the scenario's own once a step switched how ConnectWise
    /// behaves.
    pub(crate) fixtures: Arc<Fixtures>,
    /// What the scenario runs against: its own mock, or the run's sandbox.
    pub(crate) target: Target,
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
    /// Against a sandbox: the requests the scenario's clients sent.
    pub(crate) recorder: Recorder,
    /// This scenario's number within the run (the ledger's scope of what it created).
    pub(crate) scope: u64,
    /// Whether the scenario is tagged `@existing-records` (set by the runner's before-hook).
    pub(crate) existing_records: bool,
    /// Whether the scenario is a Scenario Outline row whose every action is meant to be
    /// refused ([`super::arrange::a_row_meant_to_be_refused`]): on a sandbox its rows share
    /// the records they arrange (set by the runner's before-hook).
    pub(crate) refused_row: bool,
    /// Actions the integration performed (or answered held) in this scenario: a rule is met
    /// only by scenarios that exercised the integration.
    pub(crate) performed: usize,
    /// On a sandbox: the documented behaviours the scenario chose that the sandbox does not
    /// follow and the harness emulates, as a report shows each.
    pub(crate) emulated: Vec<String>,
    /// On a sandbox: each request the harness answered or reshaped in the sandbox's place.
    pub(crate) emulated_requests: Arc<std::sync::Mutex<Vec<String>>>,
}

/// What a scenario runs against.
pub(crate) enum Target {
    /// The scenario's own mock ConnectWise (started on first use), and another site for a
    /// scenario about a wrong URL (started by its step).
    Mock {
        /// The mock, once started.
        mock: Option<MockConnectWise>,
        /// Another ConnectWise site, which does not know the company.
        other_site: Option<MockConnectWise>,
    },
    /// A real ConnectWise sandbox, with the run's state (its members and ledger).
    Sandbox(Arc<SandboxRun>),
}

/// The message of a step that needs the mock, run against a sandbox.
const NEEDS_MOCK: &str = "this step needs the mock ConnectWise; tag the scenario @mock-only";

impl Target {
    /// The scenario's ConnectWise sites as far as they are mocks: the mock, then the other
    /// site (none against a sandbox).
    fn mocks(&self) -> impl Iterator<Item = &MockConnectWise> {
        let (mock, other_site) = match self {
            Target::Mock { mock, other_site } => (mock.as_ref(), other_site.as_ref()),
            Target::Sandbox(_) => (None, None),
        };
        mock.into_iter().chain(other_site)
    }
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
    /// A World on its own: the built-in fixtures, the mock and the reference integration.
    /// Cucumber builds every World this way; the runner's before-hook then hands it its
    /// run ([`Self::begin`]).
    fn new() -> Self {
        let fixtures = Fixtures::shared_builtin().unwrap_or_else(|e| panic!("{e}"));
        ConformanceWorld::on(Arc::new(RunContext::new(fixtures, None, None, false, None)))
    }

    /// A scenario of `run`, not yet started.
    fn on(run: Arc<RunContext>) -> Self {
        ConformanceWorld {
            fixtures: Arc::clone(&run.fixtures),
            target: match &run.sandbox {
                Some(sandbox) => Target::Sandbox(Arc::clone(sandbox)),
                None => Target::Mock {
                    mock: None,
                    other_site: None,
                },
            },
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
            recorder: Recorder::default(),
            scope: run.next_scope(),
            existing_records: false,
            refused_row: false,
            performed: 0,
            emulated: Vec::new(),
            emulated_requests: Arc::default(),
            run,
        }
    }

    /// Makes this World a scenario of `run` (the runner's before-hook, before the first
    /// step); `existing_records`: the scenario is tagged `@existing-records`.
    pub(crate) fn begin(&mut self, run: Arc<RunContext>, existing_records: bool) {
        *self = ConformanceWorld {
            existing_records,
            ..ConformanceWorld::on(run)
        };
    }

    /// The run this scenario belongs to.
    pub(crate) fn run(&self) -> &Arc<RunContext> {
        &self.run
    }

    /// The sandbox run, when the scenario runs on a sandbox instead of the mock.
    pub(crate) fn sandbox(&self) -> Option<&Arc<SandboxRun>> {
        match &self.target {
            Target::Sandbox(run) => Some(run),
            Target::Mock { .. } => None,
        }
    }

    /// The sandbox profile whose member holds the API member's role (the role's name when
    /// none does, or on the mock).
    pub(crate) fn profile(&self) -> String {
        let name = self.role.as_ref().map_or_else(
            || crate::target::DEFAULT_ROLE.to_owned(),
            |r| r.name.clone(),
        );
        match (&self.target, &self.role) {
            (Target::Sandbox(run), Some(role)) => run.profile_for(role).unwrap_or(name),
            _ => name,
        }
    }

    /// The large collections this run's mocks were made to hold ([`MockConnectWise::hold`]).
    pub(crate) fn grown(&self) -> &Arc<crate::mock::Grown> {
        &self.run.grown
    }

    /// The scenario's mock, started on first use.
    pub(crate) async fn mock(&mut self) -> &MockConnectWise {
        let Target::Mock { mock, .. } = &mut self.target else {
            panic!("{NEEDS_MOCK}");
        };
        if mock.is_none() {
            let config = MockConfig {
                client_ids: vec![CLIENT_ID.to_owned()],
                ..MockConfig::default()
            };
            *mock = Some(MockConnectWise::start(Arc::clone(&self.fixtures), config).await);
        }
        mock.as_ref().expect("the mock was started above")
    }

    /// Starts another ConnectWise site (a mock, as `config` describes it) for a scenario
    /// about a wrong URL, and returns its URL; its requests join the scenario's journal.
    pub(crate) async fn start_other_site(&mut self, config: MockConfig) -> String {
        let Target::Mock { other_site, .. } = &mut self.target else {
            panic!("{NEEDS_MOCK}");
        };
        let site = MockConnectWise::start(Arc::clone(&self.fixtures), config).await;
        other_site.insert(site).site()
    }

    /// Gives the API member a role (replacing any earlier one) and resets the integration.
    pub(crate) async fn set_role(&mut self, role: SecurityRole) {
        if let Target::Sandbox(_) = self.target {
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
        if let Target::Sandbox(run) = &self.target {
            let run = Arc::clone(run);
            self.switch_on_sandbox(&run, change).await;
            return;
        }
        let Target::Mock { mock, .. } = &mut self.target else {
            unreachable!("a sandbox was handled above");
        };
        if self.result.is_some() || mock.as_ref().is_some_and(|m| !m.journal().is_empty()) {
            mistake!("choose how ConnectWise behaves before the scenario's first action");
        }
        if let Some(mock) = mock.take() {
            mock.shutdown();
        }
        let mut fixtures = (*self.fixtures).clone();
        change(&mut fixtures.permissions.settings);
        self.fixtures = Arc::new(fixtures);
        self.integration = None;
        if let Some(role) = self.role.clone() {
            self.set_role(role).await;
        }
    }

    /// A switch on a sandbox: the sandbox keeps its own behaviour, and the harness's client
    /// answers as the chosen one where [`crate::connectwise::behaviour::fit`] says it can
    /// (the scenarios it cannot show were left out before they started).
    async fn switch_on_sandbox(&mut self, run: &SandboxRun, change: impl FnOnce(&mut Settings)) {
        if self.result.is_some() || self.journal_len() > 0 {
            mistake!("choose how ConnectWise behaves before the scenario's first action");
        }
        let before = self.fixtures.permissions.settings.clone();
        let mut chosen = before.clone();
        change(&mut chosen);
        let mut others = chosen.clone();
        for switch in SWITCHES {
            if let Some(kept) = Behaviour::of(&before, switch) {
                kept.apply(&mut others);
            }
        }
        if others != before {
            mistake!(
                "a sandbox cannot be switched so: only its documented behaviours ({}) can be chosen there; tag the scenario @mock-only",
                SWITCHES.join(", ")
            );
        }
        for switch in SWITCHES {
            let (Some(own), Some(wanted)) = (
                run.own_behaviour(&self.run.fixtures, switch),
                Behaviour::of(&chosen, switch),
            ) else {
                continue;
            };
            self.emulated.retain(|e| !e.starts_with(switch));
            match fit(own.behaviour, wanted) {
                Fit::Same => {}
                Fit::Emulated => self
                    .emulated
                    .push(super::documented::emulated_behaviour(own, wanted)),
                Fit::Impossible => mistake!(
                    "this sandbox cannot show {wanted}: it follows {own} (the scenario should have been left out)"
                ),
            }
        }
        let mut fixtures = (*self.fixtures).clone();
        fixtures.permissions.settings = chosen;
        self.fixtures = Arc::new(fixtures);
        self.reset_integration().await;
    }

    /// The harness's stand-in for the behaviours a sandbox scenario chose that the sandbox
    /// does not follow, if it chose any: it answers as the member's verified role would be
    /// answered under them.
    fn emulator(&self, run: &SandboxRun) -> Option<Arc<super::documented::Emulator>> {
        if self.emulated.is_empty() {
            return None;
        }
        let own = match &run.behaviours {
            Some(own) => own.clone(),
            None => super::documented::OwnBehaviours::declared(
                &self.run.fixtures.permissions.settings,
                &run.sandbox.declared,
            ),
        };
        let profile = self.profile();
        let role = run
            .members
            .iter()
            .find(|m| m.profile == profile)
            .map(|m| m.role.clone())
            .or_else(|| self.role.clone())?;
        Some(Arc::new(super::documented::Emulator::new(
            Arc::clone(&self.fixtures),
            own.applied(&self.run.fixtures.permissions.settings),
            role,
            Arc::clone(&self.emulated_requests),
        )))
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
        let mut credentials = if let Target::Sandbox(run) = &self.target {
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
        self.connect(true).await
    }

    /// A ConnectWise client with the integration's credentials; against a sandbox, its
    /// requests join the scenario's journal when `recorded`. (A check of what a sandbox
    /// holds is the harness's look, as reading the mock's store is: not recorded.)
    async fn connect(&mut self, recorded: bool) -> Client {
        let credentials = self.credentials().await;
        for server in &self.servers {
            server.server().harness_requests_follow();
        }
        match &self.target {
            Target::Sandbox(run) => {
                let gate = crate::ledger::LedgerGate::new(
                    Arc::clone(&run.ledger),
                    &self.profile(),
                    self.scope,
                    run.allow_existing && self.existing_records,
                );
                let mut client = run
                    .sandbox
                    .client_as_given(credentials)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .read_only(!run.allow_writes)
                    .with_gate(Arc::new(gate));
                if let Some(emulator) = self.emulator(run) {
                    client = client.with_emulation(emulator);
                }
                if recorded {
                    client.with_recorder(Arc::clone(&self.recorder))
                } else {
                    client
                }
            }
            Target::Mock { .. } => Client::new(credentials).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    /// A record as ConnectWise holds it now: from the mock's store, or read from the sandbox
    /// (which needs Inquire on it).
    pub(crate) async fn record(&mut self, collection: &str, id: i64) -> Option<serde_json::Value> {
        match &self.target {
            Target::Mock { mock, .. } => return mock.as_ref()?.record(collection, id),
            Target::Sandbox(_) => {}
        }
        let endpoint = self.fixtures.permissions.endpoint_for(collection)?.clone();
        assert!(
            endpoint.parent.is_none(),
            "{collection} records can be checked only on the mock; tag the scenario @mock-only"
        );
        self.record_at(collection, &endpoint.path, id).await
    }

    /// The id of the member with this identifier, as ConnectWise holds it (a member the
    /// scenario only refers to: read, never changed).
    pub(crate) async fn member_id(&mut self, identifier: &str) -> i64 {
        let found = if let Target::Mock { .. } = &self.target {
            self.mock()
                .await
                .records("members")
                .iter()
                .find(|m| m["identifier"].as_str() == Some(identifier))
                .and_then(|m| m["id"].as_i64())
        } else {
            let client = self.reading_client().await;
            let condition = format!("identifier = \"{identifier}\"");
            let response = client
                .get("/system/members", &[("conditions", condition)])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            response.body.as_array().and_then(|members| {
                members
                    .iter()
                    .find(|m| m["identifier"].as_str() == Some(identifier))
                    .and_then(|m| m["id"].as_i64())
            })
        };
        found.unwrap_or_else(|| panic!("ConnectWise has no member {identifier}"))
    }

    /// An id past the largest one ConnectWise holds in the collection at `path` (read, never
    /// written): a record number that names no record.
    pub(crate) async fn id_past_the_largest(&mut self, collection: &str, path: &str) -> i64 {
        const PAST: i64 = 100_000;
        let largest = if let Target::Mock { .. } = &self.target {
            self.mock().await.ids(collection).into_iter().max()
        } else {
            let client = self.reading_client().await;
            let query = [
                ("orderBy", "id desc".to_owned()),
                ("pageSize", "1".to_owned()),
                ("fields", "id".to_owned()),
            ];
            let response = client
                .get(path, &query)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                response.status, 200,
                "cannot read the largest id of {collection} on the sandbox: ConnectWise answered {} {}",
                response.status, response.body
            );
            response
                .body
                .as_array()
                .and_then(|records| records.first())
                .and_then(|record| record["id"].as_i64())
        };
        largest.unwrap_or(0) + PAST
    }

    /// A record the scenario arranged, as ConnectWise holds it now.
    pub(crate) async fn arranged_record(
        &mut self,
        arranged: &super::arrange::Arranged,
    ) -> Option<serde_json::Value> {
        if let Target::Mock { .. } = &self.target {
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
        if let Target::Sandbox(run) = &self.target
            && let Some(credentials) = run.sandbox.credentials(super::arrange::SETUP_PROFILE)
        {
            return run
                .sandbox
                .client(credentials)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .read_only(true);
        }
        self.connect(false).await
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

    /// The record the last action created in `collection` (a collection path, as for
    /// [`Self::just_created`]), as ConnectWise holds it now: on a sandbox read at the path
    /// it was created in, so a child record (a ticket's configuration) is found under its
    /// parent.
    pub(crate) async fn just_created_record(
        &mut self,
        collection: &str,
        path: &str,
    ) -> (i64, Option<serde_json::Value>) {
        let id = self.just_created(path);
        let created_in = self
            .created
            .as_ref()
            .map(|c| c.collection.clone())
            .unwrap_or_default();
        let record = match &self.target {
            Target::Mock { mock, .. } => mock.as_ref().and_then(|m| m.record(collection, id)),
            Target::Sandbox(_) => self.record_at(collection, &created_in, id).await,
        };
        (id, record)
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
        let run = Arc::clone(&self.run);
        let integration: Arc<dyn Integration> = if let Some(mcp) = &run.mcp {
            assert!(
                matches!(self.target, Target::Mock { .. }),
                "an MCP integration is judged by the mock's journal; it cannot run against a sandbox"
            );
            if let Some(failure) = mcp.repeated_start_failure() {
                not_judged(&IntegrationError::NotStarted(failure));
            }
            let credentials = self.credentials().await;
            let started = match &mcp.kept {
                Some(kept) => kept
                    .lease(&credentials, &self.profile(), self.journal_readers())
                    .await
                    .map(ScenarioServer::Kept),
                None => McpIntegration::start(
                    Arc::clone(&mcp.config),
                    Arc::clone(&self.fixtures),
                    &credentials,
                    self.journal_readers(),
                    &mcp.slots,
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
                    mcp.start_failed(&failure);
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

    /// Keeps what servers the scenario started elsewhere (LP-02's stage servers) were found
    /// doing, judged with the scenario's own at its end.
    pub(crate) fn keep_findings(&mut self, findings: Vec<Finding>) {
        self.found.extend(findings);
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
        self.target
            .mocks()
            .map(MockConnectWise::journal_reader)
            .collect()
    }

    /// How many requests ConnectWise has received, without copying them.
    pub(crate) fn journal_len(&self) -> usize {
        match &self.target {
            Target::Mock { mock: Some(_), .. } => self
                .target
                .mocks()
                .map(|mock| mock.journal_reader().len())
                .sum(),
            _ => self
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
        match &self.target {
            Target::Mock { mock: Some(_), .. } => self
                .target
                .mocks()
                .flat_map(MockConnectWise::journal)
                .collect(),
            _ => self
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
        let emulated: String = self
            .emulated_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .flat_map(|line| ["\nemulated: ", line.as_str()])
            .collect();
        self.shown(format!(
            "{result}\nConnectWise received:\n{}{emulated}",
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
        let wrote = matches!(self.target, Target::Sandbox(_))
            && self.refused_row
            && self.journal().iter().any(|e| e.is_write() && e.succeeded());
        match &mut self.target {
            Target::Mock { mock, other_site } => {
                for mock in [mock.take(), other_site.take()].into_iter().flatten() {
                    mock.shutdown();
                }
            }
            Target::Sandbox(run) => {
                // A row meant to be refused that ConnectWise let a write through may have
                // changed the records its rows share: the next row arranges new ones.
                if wrote {
                    run.shared.lock().await.clear();
                }
                // What cannot be removed now stays in the ledger; the run's final cleanup
                // tries again and reports it.
                crate::cleanup::clean(&run.sandbox, &run.ledger, Some(self.scope)).await;
            }
        }
    }
}
