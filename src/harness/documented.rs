//! ConnectWise's documented behaviours on a sandbox. A sandbox follows one value of each
//! `[settings]` switch: found by the preflight's read-only probes where one can tell
//! ([`probe`]), otherwise as the profiles file's `[behaviour]` table declares (the mock's
//! defaults when it says nothing). A scenario that chooses another value runs there when
//! [`fit`] says the chosen behaviour is a reshaping of the sandbox's answers or stricter
//! than them: the [`Emulator`] in the harness's client answers as ConnectWise would under
//! the chosen value, with the mock's own decision and answer. A more permissive value is
//! left out up front ([`super::sandbox::exclusion`]).
//!
//! MCP integrations send their requests straight to ConnectWise, so nothing can be
//! emulated for them; they do not run against a sandbox at all.

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use super::sandbox::VerifiedMember;
use crate::connectwise::Emulation;
use crate::connectwise::behaviour::{Behaviour, Fit, SWITCHES, fit};
use crate::connectwise::security::{BadCredentials, PageZero, Route, Settings, SetupTableReads};
use crate::fixtures::Fixtures;
use crate::model::{Operation, SecurityRole};
use crate::target::Sandbox;

/// How the harness knows what a sandbox does for a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A read-only request in the preflight showed it.
    Probed,
    /// The profiles file's `[behaviour]` table says so, or (when it does not) the mock's
    /// default is assumed.
    Declared,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Found::Probed => "probed",
            Found::Declared => "declared",
        })
    }
}

/// What a sandbox does for one switch, and how the harness knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnBehaviour {
    /// The behaviour.
    pub behaviour: Behaviour,
    /// Probed or declared.
    pub found: Found,
}

impl std::fmt::Display for OwnBehaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.behaviour, self.found)
    }
}

/// What a sandbox does for every switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnBehaviours(Vec<OwnBehaviour>);

impl OwnBehaviours {
    /// Every switch as declared: the profiles file's `declared` values over the mock's
    /// defaults (`settings`).
    pub fn declared(settings: &Settings, declared: &[Behaviour]) -> OwnBehaviours {
        OwnBehaviours(
            SWITCHES
                .iter()
                .filter_map(|switch| {
                    let behaviour = declared
                        .iter()
                        .find(|b| b.switch() == *switch)
                        .copied()
                        .or_else(|| Behaviour::of(settings, switch))?;
                    Some(OwnBehaviour {
                        behaviour,
                        found: Found::Declared,
                    })
                })
                .collect(),
        )
    }

    /// What the sandbox does for `switch`.
    pub fn of(&self, switch: &str) -> Option<OwnBehaviour> {
        self.0
            .iter()
            .find(|own| own.behaviour.switch() == switch)
            .copied()
    }

    /// Each switch, in the order of [`SWITCHES`].
    pub fn iter(&self) -> impl Iterator<Item = &OwnBehaviour> {
        self.0.iter()
    }

    /// `settings` with every switch as the sandbox has it.
    pub fn applied(&self, settings: &Settings) -> Settings {
        let mut own = settings.clone();
        for behaviour in &self.0 {
            behaviour.behaviour.apply(&mut own);
        }
        own
    }

    fn found(&mut self, behaviour: Behaviour) {
        if let Some(own) = self
            .0
            .iter_mut()
            .find(|own| own.behaviour.switch() == behaviour.switch())
        {
            *own = OwnBehaviour {
                behaviour,
                found: Found::Probed,
            };
        }
    }
}

/// The requests [`probe`] sends at most: one with bad keys, page 0 and page 1 of the
/// companies, and two setup-table reads.
pub const PROBE_REQUESTS: u64 = 5;

/// Keys no sandbox accepts, for the probe of how bad credentials are refused.
const PROBE_PUBLIC_KEY: &str = "cw-conform-probe-not-a-member";

/// Finds what the sandbox does for each switch a read-only request can tell, and takes the
/// rest as declared: bad credentials (one request with keys that cannot be valid), page 0
/// (page 0 compared with page 1 of the companies), setup-table reads (a setup table read by
/// a verified member whose role lacks its function). A probe whose answer fits no
/// documented behaviour is a problem, naming the request and the answer.
pub async fn probe(
    sandbox: &Sandbox,
    fixtures: &Fixtures,
    members: &[VerifiedMember],
) -> Result<OwnBehaviours, Vec<String>> {
    let settings = &fixtures.permissions.settings;
    let mut own = OwnBehaviours::declared(settings, &sandbox.declared);
    let mut problems = Vec::new();
    match probe_bad_credentials(sandbox).await {
        Ok(Some(shape)) => own.found(Behaviour::BadCredentials(shape)),
        Ok(None) => {}
        Err(problem) => problems.push(problem),
    }
    match probe_page_zero(sandbox, fixtures, members).await {
        Ok(Some(page_zero)) => own.found(Behaviour::PageZero(page_zero)),
        Ok(None) => {}
        Err(problem) => problems.push(problem),
    }
    if let Some(reads) = probe_setup_tables(sandbox, fixtures, members).await {
        own.found(Behaviour::SetupTableReads(reads));
    }
    if problems.is_empty() {
        Ok(own)
    } else {
        Err(problems)
    }
}

/// How the sandbox refuses keys it does not know.
async fn probe_bad_credentials(sandbox: &Sandbox) -> Result<Option<BadCredentials>, String> {
    let Some(mut credentials) = sandbox.credentials(&sandbox.default_profile) else {
        return Ok(None);
    };
    PROBE_PUBLIC_KEY.clone_into(&mut credentials.public_key);
    credentials.private_key = crate::connectwise::Secret::new(PROBE_PUBLIC_KEY.to_owned());
    let Ok(client) = sandbox.client(credentials).await else {
        return Ok(None);
    };
    let path = "/system/info";
    let Ok(answer) = client.get(path, &[]).await else {
        return Ok(None);
    };
    match answer.status {
        401 if answer.error_message() == Some("UserNotAuthenticated") => {
            Ok(Some(BadCredentials::UserNotAuthenticated))
        }
        401 => Ok(Some(BadCredentials::Unauthorized)),
        404 => Ok(Some(BadCredentials::NotFound)),
        status => Err(format!(
            "bad credentials: GET {path} with keys no member has was answered {status} {}, neither a 401 nor a 404 refusal",
            answer.body
        )),
    }
}

/// Whether the sandbox serves page 0 as the first page or refuses it, read as a member
/// that may read the companies.
async fn probe_page_zero(
    sandbox: &Sandbox,
    fixtures: &Fixtures,
    members: &[VerifiedMember],
) -> Result<Option<PageZero>, String> {
    let path = "/company/companies";
    let Some(Route::Collection { endpoint, .. }) = fixtures.permissions.route(path, "GET") else {
        return Ok(None);
    };
    let Some(reader) = members.iter().find(|m| {
        m.role
            .level(&endpoint.function, Operation::Inquire)
            .grants_any()
    }) else {
        return Ok(None);
    };
    let Some(client) = member_client(sandbox, reader).await else {
        return Ok(None);
    };
    let page = |n: &str| {
        [
            ("page", n.to_owned()),
            ("pageSize", "1".to_owned()),
            ("fields", "id".to_owned()),
            ("orderBy", "id asc".to_owned()),
        ]
    };
    let (Ok(zero), Ok(first)) = (
        client.get(path, &page("0")).await,
        client.get(path, &page("1")).await,
    ) else {
        return Ok(None);
    };
    match (zero.status, first.status) {
        (400, _) => Ok(Some(PageZero::BadRequest)),
        (200, 200) if zero.body == first.body => Ok(Some(PageZero::FirstPage)),
        _ => Err(format!(
            "page 0: GET {path} as profile \"{}\" answered page 0 with {} {} and page 1 with {} {}: page 0 is neither served as the first page nor refused",
            reader.profile, zero.status, zero.body, first.status, first.body
        )),
    }
}

/// Who may read a setup table: a setup table outside the service desk read by a member
/// without its function (refused: Table Setup is needed), then a service desk setup table
/// read by a member with neither its function nor the service desk's (refused: Service
/// Desk rights are needed; read: open). `None` when no verified member lacks the rights
/// that tell them apart, or an answer is neither a read nor a refusal.
async fn probe_setup_tables(
    sandbox: &Sandbox,
    fixtures: &Fixtures,
    members: &[VerifiedMember],
) -> Option<SetupTableReads> {
    let permissions = &fixtures.permissions;
    let service_desk = &permissions.settings.service_desk_function;
    let lacking = |service: bool| {
        permissions
            .endpoints
            .iter()
            .filter(|e| {
                e.setup_table && e.parent.is_none() && e.path.starts_with("/service/") == service
            })
            .find_map(|endpoint| {
                members
                    .iter()
                    .find(|m| {
                        let cannot = |f| !m.role.level(f, Operation::Inquire).grants_any();
                        cannot(&endpoint.function) && (!service || cannot(service_desk))
                    })
                    .map(|member| (endpoint, member))
            })
    };
    let reads =
        async |found: Option<(&crate::connectwise::security::Endpoint, &VerifiedMember)>| {
            let (endpoint, member) = found?;
            let client = member_client(sandbox, member).await?;
            let answer = client
                .get(&endpoint.path, &[("pageSize", "1".to_owned())])
                .await
                .ok()?;
            match answer.status {
                200 => Some(true),
                403 => Some(false),
                _ => None,
            }
        };
    match (reads(lacking(false)).await, reads(lacking(true)).await) {
        (Some(false), _) => Some(SetupTableReads::TableSetup),
        (_, Some(true)) => Some(SetupTableReads::Open),
        (Some(true), Some(false)) => Some(SetupTableReads::ServiceDesk),
        _ => None,
    }
}

async fn member_client(
    sandbox: &Sandbox,
    member: &VerifiedMember,
) -> Option<crate::connectwise::Client> {
    let credentials = sandbox.credentials(&member.profile)?;
    sandbox.client(credentials).await.ok()
}

/// Why a scenario choosing `chosen` cannot run on a sandbox that does `own`, if it cannot.
pub(crate) fn impossible(own: OwnBehaviour, chosen: Behaviour) -> Option<String> {
    (fit(own.behaviour, chosen) == Fit::Impossible).then(|| {
        format!(
            "chooses {chosen}, more permissive than or not a reshaping of what this sandbox does, {own}"
        )
    })
}

/// A behaviour a scenario chose that its sandbox does not follow but the harness
/// emulates, as a report shows it: `setup_table_reads = "table-setup" (the sandbox's
/// own: setup_table_reads = "open" (probed))`.
pub(crate) fn emulated_behaviour(own: OwnBehaviour, chosen: Behaviour) -> String {
    format!("{chosen} (the sandbox's own: {own})")
}

/// Answers as ConnectWise would under the scenario's chosen behaviours, in the harness's
/// client to the sandbox: a request they refuse and the sandbox's own would not (page 0;
/// a setup table the member's verified role may not read under the chosen rule) is answered
/// here and never sent, and a refusal of credentials is reshaped. The decisions and the
/// answers are the mock's own. Each request it answers or reshapes is noted.
#[derive(Debug)]
pub(crate) struct Emulator {
    /// The fixtures with the scenario's chosen settings.
    chosen: Arc<Fixtures>,
    /// The settings as the sandbox has them.
    own: Settings,
    /// The member's verified role.
    role: SecurityRole,
    /// What was emulated, a line per request.
    noted: Arc<Mutex<Vec<String>>>,
}

impl Emulator {
    pub(crate) fn new(
        chosen: Arc<Fixtures>,
        own: Settings,
        role: SecurityRole,
        noted: Arc<Mutex<Vec<String>>>,
    ) -> Emulator {
        Emulator {
            chosen,
            own,
            role,
            noted,
        }
    }

    fn note(&self, method: &str, path: &str, what: &str, switch: &str) {
        let chosen = Behaviour::of(&self.chosen.permissions.settings, switch);
        let own = Behaviour::of(&self.own, switch);
        if let (Some(chosen), Some(own)) = (chosen, own) {
            self.noted
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!(
                    "{method} {path} {what} by the harness, not the sandbox: the scenario chose {chosen}, the sandbox follows {own}"
                ));
        }
    }
}

impl Emulation for Emulator {
    fn instead_of_sending(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Option<(u16, Value)> {
        if !method.eq_ignore_ascii_case("GET") {
            return None;
        }
        let chosen = &self.chosen.permissions.settings;
        let Route::Collection { endpoint, .. } = self.chosen.permissions.route(path, "GET")? else {
            return None;
        };
        // Page 0, refused under the chosen behaviour and served by the sandbox.
        let (chosen_least, own_least) = (
            chosen.page_zero.lowest_page(),
            self.own.page_zero.lowest_page(),
        );
        if let Some((_, text)) = query.iter().find(|(k, _)| k.eq_ignore_ascii_case("page"))
            && let Ok(page) = text.trim().parse::<usize>()
            && page < chosen_least
            && page >= own_least
        {
            self.note(method, path, "answered 400", "page_zero");
            return Some(crate::mock::documented::page_refused(text, chosen_least));
        }
        // A setup table the chosen rule refuses the member's role and the sandbox's allows.
        if endpoint.setup_table {
            let permissions = &self.chosen.permissions;
            let under = |reads| permissions.inquire_level(endpoint, reads, &self.role);
            if !under(chosen.setup_table_reads).grants_any()
                && under(self.own.setup_table_reads).grants_any()
            {
                self.note(method, path, "answered 403", "setup_table_reads");
                return Some(crate::mock::documented::refused_by_role(chosen));
            }
        }
        None
    }

    fn reshaped(
        &self,
        method: &str,
        path: &str,
        status: u16,
        _body: &Value,
    ) -> Option<(u16, Value)> {
        let chosen = &self.chosen.permissions.settings;
        let shapes = Behaviour::BadCredentials(self.own.bad_credentials);
        let wanted = Behaviour::BadCredentials(chosen.bad_credentials);
        if status != 401 || fit(shapes, wanted) != Fit::Emulated {
            return None;
        }
        self.note(
            method,
            path,
            "refused as the chosen shape",
            "bad_credentials",
        );
        Some(crate::mock::documented::credentials_refused(
            chosen,
            chosen.bad_credentials,
            path,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures_with(change: impl FnOnce(&mut Settings)) -> Arc<Fixtures> {
        let mut fixtures = (*Fixtures::shared_builtin().expect("fixtures load")).clone();
        change(&mut fixtures.permissions.settings);
        Arc::new(fixtures)
    }

    fn emulator(
        change: impl FnOnce(&mut Settings),
        role: &str,
    ) -> (Emulator, Arc<Mutex<Vec<String>>>) {
        let chosen = fixtures_with(change);
        let own = Fixtures::shared_builtin()
            .expect("fixtures load")
            .permissions
            .settings
            .clone();
        let role = chosen.role(role).expect("a shipped role");
        let noted = Arc::default();
        (Emulator::new(chosen, own, role, Arc::clone(&noted)), noted)
    }

    #[test]
    fn a_setup_table_the_chosen_rule_refuses_is_answered_403_as_the_mock_does_and_noted() {
        let (emulator, noted) = emulator(
            |s| s.setup_table_reads = SetupTableReads::TableSetup,
            "customer-sync",
        );
        let settings = &emulator.chosen.permissions.settings;
        let refused = emulator.instead_of_sending("GET", "/service/boards", &[]);
        assert_eq!(
            refused,
            Some(crate::mock::documented::refused_by_role(settings))
        );
        assert_eq!(refused.map(|(status, _)| status), Some(403));
        let noted = noted.lock().expect("not poisoned").clone();
        assert_eq!(noted.len(), 1, "{noted:?}");
        assert!(
            noted[0].contains("setup_table_reads = \"table-setup\"")
                && noted[0].contains("setup_table_reads = \"open\""),
            "{noted:?}"
        );
        // Not a setup table, or not a read: the sandbox answers.
        assert_eq!(
            emulator.instead_of_sending("GET", "/service/tickets", &[]),
            None
        );
        assert_eq!(
            emulator.instead_of_sending("POST", "/service/boards", &[]),
            None
        );
    }

    #[test]
    fn a_role_the_chosen_rule_lets_read_goes_to_the_sandbox() {
        let (emulator, noted) = emulator(
            |s| s.setup_table_reads = SetupTableReads::TableSetup,
            "full-access",
        );
        assert_eq!(
            emulator.instead_of_sending("GET", "/service/boards", &[]),
            None
        );
        assert!(noted.lock().expect("not poisoned").is_empty());
    }

    #[test]
    fn page_zero_is_refused_only_where_the_chosen_behaviour_refuses_it() {
        let (refusing, _) = emulator(|s| s.page_zero = PageZero::BadRequest, "least-privilege");
        let page = |n: &str| [("page", n.to_owned()), ("pageSize", "5".to_owned())];
        let (status, body) = refusing
            .instead_of_sending("GET", "/company/companies", &page("0"))
            .expect("page 0 refused");
        assert_eq!(status, 400);
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("page \"0\"")),
            "{body}"
        );
        assert_eq!(
            refusing.instead_of_sending("GET", "/company/companies", &page("1")),
            None
        );
        let (serving, _) = emulator(|_| {}, "least-privilege");
        assert_eq!(
            serving.instead_of_sending("GET", "/company/companies", &page("0")),
            None
        );
    }

    #[test]
    fn a_401_is_reshaped_into_the_chosen_refusal_and_nothing_else_is() {
        let (emulator, noted) = emulator(
            |s| s.bad_credentials = BadCredentials::NotFound,
            "least-privilege",
        );
        let (status, body) = emulator
            .reshaped("GET", "/system/info", 401, &Value::Null)
            .expect("reshaped");
        assert_eq!(status, 404);
        assert_eq!(body["code"], "NotFound", "{body}");
        assert_eq!(
            emulator.reshaped("GET", "/system/info", 404, &Value::Null),
            None
        );
        assert_eq!(
            emulator.reshaped("GET", "/system/info", 200, &Value::Null),
            None
        );
        assert_eq!(noted.lock().expect("not poisoned").len(), 1);
        let (same, _) = emulator_same();
        assert_eq!(
            same.reshaped("GET", "/system/info", 401, &Value::Null),
            None
        );
    }

    fn emulator_same() -> (Emulator, Arc<Mutex<Vec<String>>>) {
        emulator(|_| {}, "least-privilege")
    }

    #[test]
    fn declared_behaviours_override_the_mock_defaults_and_probes_override_both() {
        let settings = Fixtures::shared_builtin()
            .expect("fixtures load")
            .permissions
            .settings
            .clone();
        let declared = [Behaviour::CloseRule(
            crate::connectwise::security::CloseRuleSource::NewerDocument,
        )];
        let mut own = OwnBehaviours::declared(&settings, &declared);
        assert_eq!(own.iter().count(), SWITCHES.len());
        assert_eq!(
            own.of("close_rule").map(|o| o.to_string()),
            Some("close_rule = \"newer-document\" (declared)".to_owned())
        );
        own.found(Behaviour::PageZero(PageZero::BadRequest));
        assert_eq!(
            own.of("page_zero").map(|o| o.to_string()),
            Some("page_zero = \"bad-request\" (probed)".to_owned())
        );
        assert_eq!(own.applied(&settings).page_zero, PageZero::BadRequest);
    }
}
