//! Running the features against a real ConnectWise sandbox: the preflight (every profile's
//! member reachable, signed in and holding exactly its role), which scenarios can run there
//! (a scenario runs as a member whose real settings equal the role it asks for), and the
//! run's state (its [`Ledger`]). What the run creates is recorded by the ledger's gate in
//! the sandbox client and removed by [`crate::cleanup`].

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use cucumber::gherkin;

use super::documented::{OwnBehaviour, OwnBehaviours};
use crate::audit::{self, LiveAuditError};
use crate::cleanup::LeftBehind;
use crate::connectwise::{ClientError, Credentials, redacted_url};
use crate::fixtures::Fixtures;
use crate::ledger::{EarlierRun, Ledger};
use crate::model::{RoleDifference, SecurityRole};
use crate::target::{Sandbox, TargetError};

pub(crate) use super::steps::roles::scenario_role_name;

/// The fields that carry a run's mark: the first of them a new record has (or `notes`).
pub const MARK_FIELDS: [&str; 7] = [
    "summary",
    "name",
    "lastName",
    "title",
    "text",
    "notes",
    "description",
];

/// A sandbox run: the sandbox, what it may write, and its ledger.
#[derive(Debug, Clone)]
pub struct SandboxRun {
    /// The sandbox.
    pub sandbox: Sandbox,
    /// Whether scenarios that write may run (`--allow-writes`).
    pub allow_writes: bool,
    /// Whether scenarios tagged `@existing-records` may change records the run did not
    /// create (`--allow-existing-record-writes`).
    pub allow_existing: bool,
    /// The run's durable record of what it created.
    pub ledger: Arc<Ledger>,
    /// Earlier runs on this sandbox whose ledgers still list records.
    pub earlier: Vec<EarlierRun>,
    /// Each profile's member, as the preflight verified it (empty when none ran).
    pub members: Vec<VerifiedMember>,
    /// The records the catalog sweeps meant to be refused share, one of each kind for the
    /// whole run, by name ([`super::arrange::shared_record`]).
    pub(crate) shared: Arc<tokio::sync::Mutex<super::arrange::SharedRecords>>,
    /// What the sandbox does for each `[settings]` switch, probed or declared (`None`
    /// until the preflight found it: then the profiles file's declarations over the
    /// mock's defaults stand).
    pub behaviours: Option<OwnBehaviours>,
}

/// A profile's API member as the preflight found it: signed in, and holding exactly the
/// profile's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMember {
    /// The role profile (`least-privilege`).
    pub profile: String,
    /// The member identifier ConnectWise names, when it names one.
    pub member: Option<String>,
    /// The member's real settings (`/system/mySecurity`), equal to the profile's role.
    pub role: SecurityRole,
}

/// What keeps a sandbox from being run against, every problem found at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the sandbox is not ready: {}{}",
    crate::report::count(.problems.len(), "problem", "problems"),
    listed(.problems)
)]
pub struct PreflightFailed {
    /// Each problem, naming the profile it concerns.
    pub problems: Vec<String>,
}

/// Each problem on a line of its own, `  - `, its further lines indented.
fn listed(problems: &[String]) -> String {
    problems.iter().fold(String::new(), |mut out, problem| {
        let _ = write!(out, "\n  - {}", problem.replace('\n', "\n    "));
        out
    })
}

/// The requests the preflight sends for each profile: the company's codebase
/// (`/login/companyinfo`), the member's settings (`/system/mySecurity`) and its Customize
/// items (`/system/mySecurity/customizeItems`, one page of 1,000; a site with more items
/// takes a request for each further page).
pub const PREFLIGHT_REQUESTS_PER_PROFILE: u64 = 3;

/// Checks the sandbox before anything runs: the site answers and knows the company (its
/// codebase), and for every profile the member's keys sign in and its real settings
/// (`/system/mySecurity`) equal the profile's role, cell by cell. Reads only.
pub async fn preflight(
    sandbox: &Sandbox,
    fixtures: &Fixtures,
) -> Result<Vec<VerifiedMember>, PreflightFailed> {
    let site = redacted_url(&sandbox.site);
    let mut problems = Vec::new();
    let mut members = Vec::new();
    let mut codebase_checked = false;
    let names: Vec<&str> = sandbox.profiles.keys().map(String::as_str).collect();
    let mut roles = resolve_roles(fixtures, &names).into_iter();
    for profile in sandbox.profiles.keys() {
        let expected = roles
            .next()
            .unwrap_or_else(|| resolve_role(fixtures, profile));
        let Some(credentials) = sandbox.credentials(profile) else {
            continue;
        };
        let client = match sandbox.client(credentials).await {
            Ok(client) => client,
            Err(error) => {
                // The site and company are the same for every profile: say it once.
                if !codebase_checked {
                    problems.push(match error {
                        TargetError::Client(
                            ClientError::Unreachable { .. } | ClientError::Timeout { .. },
                        ) => {
                            format!("connectivity: {error}")
                        }
                        other => format!("codebase: {other}"),
                    });
                }
                codebase_checked = true;
                continue;
            }
        };
        codebase_checked = true;
        let security = match audit::read_security(fixtures, &client).await {
            Ok(mut security) => audit::read_customize_items(fixtures, &client, &mut security.role)
                .await
                .map(|()| security),
            Err(error) => Err(error),
        };
        match security {
            Ok(security) => {
                let expected = match expected {
                    Ok(role) => role,
                    Err(error) => {
                        problems.push(format!("profile \"{profile}\": {error}"));
                        continue;
                    }
                };
                let differences = expected.differences(&security.role);
                if differences.is_empty() {
                    members.push(VerifiedMember {
                        profile: profile.clone(),
                        member: security.member,
                        role: security.role,
                    });
                } else {
                    let cells = differences.iter().fold(String::new(), |mut out, d| {
                        let _ = write!(out, "\n{d}");
                        out
                    });
                    problems.push(format!(
                        "profile \"{profile}\": the member {} does not hold the role \"{profile}\" on {site} ({} differ; `cw-conform sandbox plan --roles {profile}` lists the settings to make):{cells}",
                        security.member.as_deref().unwrap_or("(unnamed)"),
                        counted(&differences),
                    ));
                }
            }
            Err(LiveAuditError::Refused { status: 401, .. }) => problems.push(format!(
                "credentials: profile \"{profile}\": ConnectWise refused the member's keys (401); check the keys the profile names"
            )),
            Err(error) => problems.push(format!("profile \"{profile}\": {error}")),
        }
    }
    if problems.is_empty() {
        Ok(members)
    } else {
        Err(PreflightFailed { problems })
    }
}

/// How many settings differ, by kind: `3 cells`, `1 Customize setting`, or both.
fn counted(differences: &[RoleDifference]) -> String {
    let cells = differences
        .iter()
        .filter(|d| matches!(d, RoleDifference::Cell(_)))
        .count();
    let customize = differences.len() - cells;
    let shown_cells = crate::report::count(cells, "cell", "cells");
    let shown_customize =
        crate::report::count(customize, "Customize setting", "Customize settings");
    match (cells, customize) {
        (_, 0) => shown_cells,
        (0, _) => shown_customize,
        _ => format!("{shown_cells} and {shown_customize}"),
    }
}

impl SandboxRun {
    /// Starts a sandbox run: its ledger (a new file in `ledger_dir`, held for as long as
    /// the run lives) and the earlier runs whose ledgers still list records.
    pub fn start(
        sandbox: Sandbox,
        allow_writes: bool,
        allow_existing: bool,
        ledger_dir: &Path,
    ) -> std::io::Result<SandboxRun> {
        let ledger = Ledger::create(ledger_dir, &sandbox.site, &sandbox.company_id)?;
        let earlier =
            crate::ledger::earlier_leftovers(ledger_dir, &sandbox.site, &sandbox.company_id);
        Ok(SandboxRun {
            sandbox,
            allow_writes,
            allow_existing,
            ledger: Arc::new(ledger),
            earlier,
            members: Vec::new(),
            shared: Arc::default(),
            behaviours: None,
        })
    }

    /// The run, with the members the preflight verified: scenarios then run as the member
    /// whose real settings equal the role they ask for.
    #[must_use]
    pub fn verified(mut self, members: Vec<VerifiedMember>) -> SandboxRun {
        self.members = members;
        self
    }

    /// The run, with what the sandbox does for each `[settings]` switch.
    #[must_use]
    pub fn with_behaviours(mut self, behaviours: OwnBehaviours) -> SandboxRun {
        self.behaviours = Some(behaviours);
        self
    }

    /// What the sandbox does for `switch`: as the preflight found it, else as the
    /// profiles file declares, else the mock's default.
    pub fn own_behaviour(&self, fixtures: &Fixtures, switch: &str) -> Option<OwnBehaviour> {
        match &self.behaviours {
            Some(own) => own.of(switch),
            None => OwnBehaviours::declared(&fixtures.permissions.settings, &self.sandbox.declared)
                .of(switch),
        }
    }

    /// The profile of the member that holds `role`: the verified member whose real
    /// settings grant the same, or (without a preflight) the profile of that name.
    pub fn profile_for(&self, role: &SecurityRole) -> Option<String> {
        if self.members.is_empty() {
            return self
                .sandbox
                .profiles
                .contains_key(&role.name)
                .then(|| role.name.clone());
        }
        self.members
            .iter()
            .find(|m| m.role.grants_same_as(role))
            .map(|m| m.profile.clone())
    }

    /// The credentials of the member that holds `role`.
    pub fn credentials_for(&self, role: &SecurityRole) -> Option<Credentials> {
        self.sandbox.credentials(&self.profile_for(role)?)
    }

    /// Removes everything the run created that is still there, and returns what could not
    /// be removed. When the ledger proves nothing is left, its file is deleted.
    pub async fn clean_up(&self) -> Vec<LeftBehind> {
        let left = crate::cleanup::clean(&self.sandbox, &self.ledger, None).await;
        self.settle(left)
    }

    /// What is left according to the ledger, given what a cleanup reported (the ledger
    /// wins when they disagree); deletes the ledger file when it proves nothing is left.
    pub fn settle(&self, reported: Vec<LeftBehind>) -> Vec<LeftBehind> {
        if self.ledger.finish_if_clean() {
            return Vec::new();
        }
        if reported.is_empty() {
            crate::cleanup::listed(&self.ledger)
        } else {
            reported
        }
    }
}

/// Why a scenario can only run against the mock, by kind. Most are beyond any sandbox: a
/// sandbox cannot be told to fail, holds one site, follows one of ConnectWise's documented
/// behaviours (which one is `cw-conform parity`'s question), should not be filled with more
/// than a page of 1,000 records, and is never signed in to with a person's keys. One is
/// work left: a scenario that names the seed instead of arranging what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockOnly {
    /// The scenario makes ConnectWise fail in a way a sandbox cannot be made to.
    Fault(&'static str),
    /// The scenario needs a second ConnectWise site.
    SecondSite(&'static str),
    /// The scenario needs more records than a sandbox run should create: more than one of
    /// ConnectWise's largest pages (1,000 records) holds. Its paging is also checked on a
    /// sandbox with a small page and a few arranged records.
    Volume(&'static str),
    /// The scenario signs in as a person's own account: a sandbox run signs in only as the
    /// API members of its profiles, never with a person's keys.
    PersonalAccount(&'static str),
    /// The scenario names records or members seeded in the mock.
    Seed(&'static str),
}

impl MockOnly {
    /// Whether a sandbox can never run the scenario, however it is set up.
    pub fn beyond_any_sandbox(self) -> bool {
        !matches!(self, MockOnly::Seed(_))
    }
}

impl std::fmt::Display for MockOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MockOnly::Fault(why) => write!(f, "{FAULT}: {why}"),
            MockOnly::SecondSite(why) => write!(f, "{SECOND_SITE}: {why}"),
            MockOnly::Volume(why) => write!(f, "{VOLUME}: {why}"),
            MockOnly::PersonalAccount(why) => write!(f, "{PERSONAL_ACCOUNT}: {why}"),
            MockOnly::Seed(why) => write!(f, "{SEED}: {why}"),
        }
    }
}

/// How a left-out reason begins when the scenario injects a fault a sandbox cannot produce.
pub const FAULT: &str = "injects a fault a sandbox cannot produce";
/// How a left-out reason begins when the scenario selects one of ConnectWise's documented
/// behaviours that the sandbox can show neither by itself nor emulated: one more
/// permissive than the sandbox's own (see [`crate::connectwise::behaviour::fit`]).
pub const ALTERNATIVE: &str =
    "selects one of ConnectWise's documented behaviours this sandbox cannot show";
/// How a left-out reason begins when the scenario needs a second site.
pub const SECOND_SITE: &str = "needs a second ConnectWise site";
/// How a left-out reason begins when the scenario needs more records than a sandbox run
/// should create.
pub const VOLUME: &str = "needs more records than a sandbox run creates";
/// How a left-out reason begins when the scenario signs in as a person's own account.
pub const PERSONAL_ACCOUNT: &str = "signs in as a person's own account";
/// The reasons of the kinds beyond any sandbox, as they begin.
pub const BEYOND_ANY_SANDBOX: [&str; 5] =
    [FAULT, ALTERNATIVE, SECOND_SITE, VOLUME, PERSONAL_ACCOUNT];
/// How a left-out reason begins when the scenario names the mock's seed (work left).
pub const SEED: &str = "needs the mock";

/// Why a step can only run against the mock: it names a seeded record, chooses a modelled
/// behaviour, injects a fault, or checks content only the seed data has.
pub(crate) fn needs_mock(step: &str) -> Option<MockOnly> {
    let seeded_record = step
        .split('#')
        .skip(1)
        .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    if seeded_record {
        return Some(MockOnly::Seed("refers to a record seeded in the mock"));
    }
    let patterns: [(&str, MockOnly); 7] = [
        (
            "ConnectWise requires SSL",
            MockOnly::Fault("serves ConnectWise over plain http (a sandbox is https only)"),
        ),
        (
            "signs in as the member",
            MockOnly::PersonalAccount(
                "a sandbox run signs in only as the API members of its profiles, never with a person's keys",
            ),
        ),
        (
            "the integration is configured with a wrong ConnectWise URL",
            MockOnly::SecondSite("sends the integration to a site that is not the sandbox"),
        ),
        (
            "the result includes",
            MockOnly::Seed("expects records seeded in the mock"),
        ),
        (
            "the result lists",
            MockOnly::Seed("expects records seeded in the mock"),
        ),
        (
            "ConnectWise holds ",
            MockOnly::Volume(
                "fills a collection past ConnectWise's largest page (the same paging runs on a sandbox with a small page)",
            ),
        ),
        (
            "ConnectWise was asked for every page",
            MockOnly::Volume(
                "compares the pages asked for with every record of a collection past ConnectWise's largest page",
            ),
        ),
    ];
    patterns
        .iter()
        .find(|(pattern, _)| step.contains(pattern))
        .map(|(_, why)| *why)
}

/// Why a scenario's steps can only run against the mock (see [`needs_mock`]): a check that
/// the result includes a record is the seed's only when no step arranged that record.
pub(crate) fn needs_mock_of(steps: &[&gherkin::Step]) -> Option<MockOnly> {
    let arranged: Vec<&str> = steps
        .iter()
        .filter_map(|step| arranged_name(&step.value))
        .collect();
    steps.iter().find_map(|step| {
        let text = step.value.as_str();
        let names_arranged = text.starts_with("the result ")
            && text.rsplit('"').nth(1).is_some_and(|name| {
                arranged.contains(&name) || super::arrange::MEMBER_PHRASES.contains(&name)
            });
        if names_arranged {
            None
        } else {
            needs_mock(text)
        }
    })
}

/// The name a step arranging a record gives it (`a service ticket "VPN" owned by …`), or a
/// group of records (`12 contacts "Paged", more than fit on a page of 5`).
fn arranged_name(step: &str) -> Option<&str> {
    let (kind, rest) = step.split_once(" \"")?;
    if let Some(single) = kind.strip_prefix("a ").or_else(|| kind.strip_prefix("an ")) {
        super::arrange::kind(single)?;
    } else {
        let (count, plural) = kind.split_once(' ')?;
        if !count.chars().all(|c| c.is_ascii_digit() || c == ',') {
            return None;
        }
        super::arrange::kind_of_plural(plural)?;
    }
    rest.split_once('"').map(|(name, _)| name)
}

/// Whether a scenario arranges records of its own (on a sandbox, the setup member creates
/// them).
pub(crate) fn arranges(steps: &[&gherkin::Step]) -> bool {
    steps
        .iter()
        .any(|step| arranged_name(&step.value).is_some())
}

/// The roles a scenario signs in with, in order: each role its steps set up (a profile, a
/// table of its own, a profile with more grants), when a step that uses it follows; the
/// default profile when no step sets one. `None` for a role a step cannot read (the step
/// reports that mistake itself).
pub(crate) fn roles_needed(
    fixtures: &Fixtures,
    steps: &[&gherkin::Step],
) -> Vec<Option<SecurityRole>> {
    let mut needed = Vec::new();
    let mut current: Option<Option<SecurityRole>> = None;
    let mut pending = false;
    for step in steps {
        let text = step.value.as_str();
        let set = if let Some(name) = text
            .strip_prefix("an API member with the role \"")
            .and_then(|r| r.strip_suffix('"'))
        {
            Some(fixtures.role(name).ok())
        } else if text.starts_with("an API member whose role grants") {
            Some(if text.contains("grants nothing") {
                let mut role = SecurityRole::new("", "a role written in the scenario");
                role.name = super::steps::roles::scenario_role_name(&role);
                Some(role)
            } else {
                step.table.as_ref().and_then(|table| {
                    super::steps::roles::inline_role(&table.rows, &fixtures.permissions.functions)
                        .ok()
                })
            })
        } else if let Some(rest) = text.strip_prefix("the role also grants \"") {
            let base = current.clone().flatten();
            Some(base.and_then(|role| also_grants(fixtures, role, rest)))
        } else if let Some(rest) = text.strip_prefix("the role limits \"") {
            let base = current.clone().flatten();
            Some(base.and_then(|role| {
                let (function, items) = rest.split_once("\" to ")?;
                super::steps::roles::limited(&fixtures.permissions, role, function, items).ok()
            }))
        } else if let Some(workflow) = text
            .strip_prefix("the write permissions of the workflow \"")
            .and_then(|r| r.strip_suffix("\" are added to the role"))
        {
            let base = current.clone().flatten();
            Some(base.and_then(|role| with_workflow(fixtures, role, workflow)))
        } else {
            None
        };
        match set {
            Some(role) => {
                current = Some(role);
                pending = true;
            }
            None if pending => {
                needed.push(current.clone().flatten());
                pending = false;
            }
            None => {}
        }
    }
    if pending {
        needed.push(current.clone().flatten());
    }
    if current.is_none() {
        needed.push(fixtures.role(crate::target::DEFAULT_ROLE).ok());
    }
    needed
}

/// `role` with the write permissions of a workflow added, as the step `the write
/// permissions of the workflow "W" are added to the role` gives them.
fn with_workflow(
    fixtures: &Fixtures,
    mut role: SecurityRole,
    workflow: &str,
) -> Option<SecurityRole> {
    let grants = crate::oracle::workflow_grants(fixtures, workflow);
    if grants.is_empty() {
        return None;
    }
    for needed in grants {
        let name: crate::model::FunctionName = needed.function.to_string().parse().ok()?;
        let function = fixtures
            .permissions
            .functions
            .find(&name.module, &name.function)?
            .clone();
        let mut levels = role.levels(&function);
        levels.set(needed.operation, crate::model::Level::All);
        role.grant(function, levels);
    }
    role.name = super::steps::roles::scenario_role_name(&role);
    Some(role)
}

/// `role` with the grant of a `the role also grants "F" Operation Level` step (`rest`: the
/// text after the first quote).
fn also_grants(fixtures: &Fixtures, mut role: SecurityRole, rest: &str) -> Option<SecurityRole> {
    let (function, levels) = rest.split_once("\" ")?;
    let (operation, level) = levels.split_once(' ')?;
    let name: crate::model::FunctionName = function.parse().ok()?;
    let function = fixtures
        .permissions
        .functions
        .find(&name.module, &name.function)?
        .clone();
    let mut granted = role.levels(&function);
    granted.set(operation.parse().ok()?, level.parse().ok()?);
    role.grant(function, granted);
    role.name = super::steps::roles::scenario_role_name(&role);
    Some(role)
}

/// Why a scenario cannot run on the sandbox, if it cannot.
pub(crate) fn exclusion(
    run: &SandboxRun,
    fixtures: &Fixtures,
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> Option<String> {
    let tags: Vec<&String> = super::tags_of(feature, rule, scenario).collect();
    let steps: Vec<&gherkin::Step> = super::steps_of(feature, rule, scenario).collect();
    if tags.iter().any(|t| *t == "mock-only") {
        return Some(match needs_mock_of(&steps) {
            Some(why) => why.to_string(),
            None => "needs the mock: tagged @mock-only (the seed's data)".to_owned(),
        });
    }
    if tags.iter().any(|t| *t == "existing-records") && !run.allow_existing {
        return Some(
            "changes records the run did not create (run with --allow-existing-record-writes)"
                .to_owned(),
        );
    }
    if let Some(reason) = needs_mock_of(&steps) {
        return Some(reason.to_string());
    }
    for chosen in steps
        .iter()
        .filter_map(|step| super::steps::switches::behaviour_of_step(&step.value))
    {
        if let Some(why) = run
            .own_behaviour(fixtures, chosen.switch())
            .and_then(|own| super::documented::impossible(own, chosen))
        {
            return Some(format!("{ALTERNATIVE}: {why}"));
        }
    }
    if arranges(&steps) {
        if !run.allow_writes {
            return Some(
                "arranges the records it needs on the sandbox (run with --allow-writes)".to_owned(),
            );
        }
        if !run
            .sandbox
            .profiles
            .contains_key(super::arrange::SETUP_PROFILE)
        {
            return Some(format!(
                "arranges the records it needs, and the profiles file names no setup member (add the profile \"{}\" that `cw-conform sandbox plan` lists)",
                super::arrange::SETUP_PROFILE
            ));
        }
    }
    for role in roles_needed(fixtures, &steps).into_iter().flatten() {
        if run.profile_for(&role).is_some() {
            continue;
        }
        let shipped = fixtures.roles.contains_key(&role.name);
        return Some(if shipped {
            format!(
                "no API member on the sandbox holds the role \"{}\" (create it: `cw-conform sandbox plan --roles {}`, then add its member to the profiles file)",
                role.name, role.name
            )
        } else {
            format!(
                "no API member on the sandbox holds the scenario's own role \"{}\" (create it: `cw-conform sandbox plan --roles {}`, then add its member to the profiles file)",
                role.name, role.name
            )
        });
    }
    let writes = tags.iter().any(|t| *t == "writes")
        || super::runner::actions_asked(fixtures, feature, rule, scenario)
            .iter()
            .any(|name| {
                fixtures
                    .actions
                    .get(name)
                    .is_some_and(crate::model::Action::writes)
            });
    (writes && !run.allow_writes)
        .then(|| "writes to the sandbox (run with --allow-writes)".to_owned())
}

/// The roles the built-in scenarios that can run on a sandbox sign in with: the role
/// profiles first (in name order), then the scenarios' own roles, each role once (two
/// roles that grant the same count once).
pub fn roles_the_suite_needs(fixtures: &Fixtures) -> Vec<SecurityRole> {
    let loaded = super::features::load(super::runner::builtin_features());
    let mut profiles: Vec<SecurityRole> = Vec::new();
    let mut own: Vec<SecurityRole> = Vec::new();
    for feature in &loaded.features {
        for (rule, scenario) in super::scenarios_of(feature) {
            if super::tags_of(feature, rule, scenario).any(|t| t == "mock-only") {
                continue;
            }
            let steps: Vec<&gherkin::Step> = super::steps_of(feature, rule, scenario).collect();
            for mut role in roles_needed(fixtures, &steps).into_iter().flatten() {
                if profiles
                    .iter()
                    .chain(own.iter())
                    .any(|r| r.grants_same_as(&role))
                {
                    continue;
                }
                if fixtures.roles.contains_key(&role.name) {
                    profiles.push(role);
                } else {
                    role.summary = written_in(feature, scenario, &role);
                    own.push(role);
                }
            }
        }
    }
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    profiles.extend(own);
    let any_arranges = loaded.features.iter().any(|feature| {
        super::scenarios_of(feature).any(|(rule, scenario)| {
            let steps: Vec<&gherkin::Step> = super::steps_of(feature, rule, scenario).collect();
            arranges(&steps)
        })
    });
    if any_arranges {
        profiles.push(super::arrange::setup_role(fixtures));
    }
    profiles
}

/// A role of a built-in scenario, by the name [`roles_the_suite_needs`] and the left-out
/// reasons give it (`scenario-1a2b3c4d`), whether or not the scenario can run on a sandbox.
pub fn scenario_role(fixtures: &Fixtures, name: &str) -> Option<SecurityRole> {
    scenario_roles(fixtures, &[name]).pop()
}

/// The built-in scenarios' own roles of `names` (those found), from one reading of the
/// features: resolving a hundred members' roles reads them once, not a hundred times.
fn scenario_roles(fixtures: &Fixtures, names: &[&str]) -> Vec<SecurityRole> {
    let mut found: Vec<SecurityRole> = Vec::new();
    let loaded = super::features::load(super::runner::builtin_features());
    for feature in &loaded.features {
        for (rule, scenario) in super::scenarios_of(feature) {
            let steps: Vec<&gherkin::Step> = super::steps_of(feature, rule, scenario).collect();
            for mut role in roles_needed(fixtures, &steps).into_iter().flatten() {
                if names.contains(&role.name.as_str()) && !found.iter().any(|r| r.name == role.name)
                {
                    role.summary = written_in(feature, scenario, &role);
                    found.push(role);
                    if found.len() == names.len() {
                        return found;
                    }
                }
            }
        }
    }
    found
}

/// Each of `names` resolved as [`resolve_role`] does, reading the built-in features once
/// for all the scenario roles among them.
pub fn resolve_roles(
    fixtures: &Fixtures,
    names: &[&str],
) -> Vec<Result<SecurityRole, crate::fixtures::FixtureError>> {
    let wanted: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with("scenario-"))
        .collect();
    let own = if wanted.is_empty() {
        Vec::new()
    } else {
        scenario_roles(fixtures, &wanted)
    };
    names
        .iter()
        .map(|name| match own.iter().find(|r| r.name == *name) {
            Some(role) => Ok(role.clone()),
            None if *name == super::arrange::SETUP_PROFILE => {
                Ok(super::arrange::setup_role(fixtures))
            }
            None => fixtures.role(name),
        })
        .collect()
}

/// A role by the name a profile, a members file or `sandbox plan --roles` gives it: a
/// role profile, a role file, or a built-in scenario's own role (`scenario-1a2b3c4d`).
pub fn resolve_role(
    fixtures: &Fixtures,
    name: &str,
) -> Result<SecurityRole, crate::fixtures::FixtureError> {
    if name == super::arrange::SETUP_PROFILE {
        return Ok(super::arrange::setup_role(fixtures));
    }
    if name.starts_with("scenario-")
        && let Some(role) = scenario_role(fixtures, name)
    {
        return Ok(role);
    }
    fixtures.role(name)
}

/// Where a scenario's own role is written, for the plan, and for a role limited to some
/// Customize items, what it limits (its summary says).
fn written_in(
    feature: &gherkin::Feature,
    scenario: &gherkin::Scenario,
    role: &SecurityRole,
) -> String {
    let limits = if role.limited().next().is_some() {
        format!(" It is {}.", role.summary)
    } else {
        String::new()
    };
    format!(
        "The role the scenario \"{}\" writes ({}:{}).{limits}",
        scenario.name,
        feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        scenario.position.line
    )
}

/// What a sandbox run is about to do, worked out before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// Scenarios that will run.
    pub scenarios: usize,
    /// Requests they send, about: a sign-in each, and for each action its request, the
    /// lookups it makes first and, for a write, the re-read and delete of the cleanup.
    pub requests: u64,
}

impl Estimate {
    /// How long the requests take at `per_minute`.
    pub fn duration(&self, per_minute: u32) -> std::time::Duration {
        std::time::Duration::from_secs(self.requests * 60 / u64::from(per_minute.max(1)))
    }
}

/// Estimates a sandbox run from the scenarios it would run and the actions they ask for.
pub fn estimate(
    options: &super::RunOptions,
    run: &SandboxRun,
    fixtures: &Fixtures,
) -> Result<Estimate, super::RunError> {
    let files = if options.paths.is_empty() {
        super::runner::builtin_features()
    } else {
        super::runner::user_features(&options.paths)?
    };
    let tags = options
        .tags
        .as_ref()
        .map(|expression| {
            expression
                .parse::<gherkin::tagexpr::TagOperation>()
                .map_err(|e| super::RunError::Tags {
                    expression: expression.clone(),
                    reason: e.to_string(),
                })
        })
        .transpose()?;
    let mut estimate = Estimate {
        scenarios: 0,
        requests: 0,
    };
    for feature in &super::features::load(files).features {
        for (rule, scenario) in super::scenarios_of(feature) {
            use cucumber::tag::Ext as _;
            if tags
                .as_ref()
                .is_some_and(|t| !t.eval(super::tags_of(feature, rule, scenario)))
                || exclusion(run, fixtures, feature, rule, scenario).is_some()
            {
                continue;
            }
            estimate.scenarios += 1;
            estimate.requests += 1;
            for name in super::runner::actions_asked(fixtures, feature, rule, scenario) {
                if let Some(action) = fixtures.actions.get(&name) {
                    let lookups = action.validate.len() + action.related.len();
                    let cleanup = if action.writes() { 2 } else { 0 };
                    estimate.requests += 1 + lookups as u64 + cleanup;
                }
            }
        }
    }
    Ok(estimate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_behaviour_step_never_needs_the_mock() {
        for step in [
            "ConnectWise serves page 0 as the first page",
            "ConnectWise refuses page 0",
            "ConnectWise lets setup tables be read with Table Setup Inquire only",
            "ConnectWise answers bad credentials with 404, as a cloud site may",
            "ConnectWise governs closing tickets as the newer document says",
        ] {
            assert_eq!(needs_mock(step), None, "{step}");
        }
    }
}
