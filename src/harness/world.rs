//! The cucumber World: one scenario's own mock ConnectWise, API member and integration.

use std::sync::Arc;

use crate::connectwise::{Client, Credentials};
use crate::fixtures::Fixtures;
use crate::integration::{Confirmation, Integration, ReferenceIntegration, ToolResult};
use crate::mock::journal::{self, JournalEntry};
use crate::mock::{ApiMember, MockConfig, MockConnectWise};
use crate::model::SecurityRole;

/// The member identifier the integration's API member has in the seed data.
pub const API_MEMBER: &str = "ai-integration";

/// The client ID registered for the integration: the mock refuses any other.
pub const CLIENT_ID: &str = "5c9f3d2e-8a41-4b6f-9e07-1d2c3b4a5f60";

/// A change a step makes to the credentials the integration uses.
pub(crate) type CredentialChange = Box<dyn Fn(&mut Credentials) + Send + Sync>;

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
    /// The id of the last record an action created.
    pub(crate) created: Option<i64>,
    /// Findings of the last audit.
    pub(crate) findings: Option<Vec<crate::audit::Finding>>,
    /// The role given to the API member, once a step has chosen one.
    pub(crate) role: Option<SecurityRole>,
    /// Changes to the credentials the integration uses (for authentication scenarios).
    pub(crate) credential_change: Option<CredentialChange>,
    pub(crate) integration: Option<Arc<dyn Integration>>,
    /// The last tool result the AI received.
    pub(crate) result: Option<ToolResult>,
    /// What the last escalated result holds for confirmation.
    pub(crate) held: Option<Confirmation>,
    /// The journal length before the last action, to look at what it sent.
    pub(crate) mark: usize,
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
            role: None,
            credential_change: None,
            integration: None,
            result: None,
            held: None,
            mark: 0,
        }
    }

    /// The scenario's mock, started on first use.
    pub(crate) async fn mock(&mut self) -> &MockConnectWise {
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
        let member = ApiMember::with_role(&self.member, role.clone());
        self.mock().await.add_member(member);
        self.role = Some(role);
        self.integration = None;
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
        let member = self.member.clone();
        let mut credentials = self
            .mock()
            .await
            .credentials_for(&member)
            .expect("the API member was registered with its role");
        if let Some(change) = &self.credential_change {
            change(&mut credentials);
        }
        credentials
    }

    /// A raw ConnectWise client with the integration's credentials.
    pub(crate) async fn client(&mut self) -> Client {
        let credentials = self.credentials().await;
        Client::new(credentials).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The integration under test, built on first use.
    pub(crate) async fn integration(&mut self) -> Arc<dyn Integration> {
        if let Some(integration) = &self.integration {
            return Arc::clone(integration);
        }
        let client = self.client().await;
        let integration: Arc<dyn Integration> = Arc::new(ReferenceIntegration::new(
            client,
            Arc::clone(&self.fixtures),
        ));
        self.integration = Some(Arc::clone(&integration));
        integration
    }

    /// Every request the mock received.
    pub(crate) fn journal(&self) -> Vec<JournalEntry> {
        self.mock
            .as_ref()
            .map(MockConnectWise::journal)
            .unwrap_or_default()
    }

    /// The requests received since the last action started.
    pub(crate) fn since_mark(&self) -> Vec<JournalEntry> {
        self.journal().into_iter().skip(self.mark).collect()
    }

    /// The last tool result, or a failure saying no action was taken.
    pub(crate) fn result(&self) -> &ToolResult {
        self.result
            .as_ref()
            .expect("no action was performed before this step")
    }

    /// Context for failure messages: the result and the requests ConnectWise received.
    pub(crate) fn evidence(&self) -> String {
        let result = self.result.as_ref().map_or_else(
            || "no tool result".to_owned(),
            |r| format!("observed outcome: {}\nmessage: {}", r.outcome, r.message),
        );
        format!(
            "{result}\nConnectWise received:\n{}",
            journal::render(&self.journal())
        )
    }

    /// Stops the mock without blocking (see [`MockConnectWise::shutdown`]).
    pub(crate) fn finish(&mut self) {
        for mock in [self.mock.take(), self.other_site.take()]
            .into_iter()
            .flatten()
        {
            mock.shutdown();
        }
    }
}
