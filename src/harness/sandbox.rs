//! Running the features against a real ConnectWise sandbox: which scenarios can run there,
//! and the run's state (its [`Ledger`]). What the run creates is recorded by the ledger's
//! gate in the sandbox client and removed by [`crate::cleanup`].

use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use cucumber::gherkin;

use crate::cleanup::LeftBehind;
use crate::fixtures::Fixtures;
use crate::ledger::{EarlierRun, Ledger};
use crate::target::Sandbox;

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
        })
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

static CURRENT: RwLock<Option<Arc<SandboxRun>>> = RwLock::new(None);

/// Installs (or clears) the sandbox of the run about to start.
pub(crate) fn install(run: Option<Arc<SandboxRun>>) {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = run;
}

/// The sandbox of the current run, if it is one.
pub(crate) fn current() -> Option<Arc<SandboxRun>> {
    CURRENT
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Why a step can only run against the mock: it names a seeded record, sets up its own
/// role or account, or checks content only the seed data has.
pub(crate) fn needs_mock(step: &str) -> Option<&'static str> {
    let seeded_record = step
        .split('#')
        .skip(1)
        .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    if seeded_record {
        return Some("refers to a record seeded in the mock");
    }
    let patterns: [(&str, &'static str); 10] = [
        ("an API member whose role grants", "writes its own role"),
        ("are added to the role", "writes its own role"),
        ("the role also grants", "writes its own role"),
        ("signs in as the member", "signs in as a seeded member"),
        (
            "the integration is configured with",
            "changes the credentials",
        ),
        (
            "the integration sends no client ID",
            "changes the credentials",
        ),
        ("the result includes", "expects records seeded in the mock"),
        ("the result lists", "expects records seeded in the mock"),
        ("ConnectWise holds ", "arranges records in the mock"),
        (
            "ConnectWise was asked for every page",
            "compares the pages asked for with the records the mock holds",
        ),
    ];
    patterns
        .iter()
        .find(|(pattern, _)| step.contains(pattern))
        .map(|(_, reason)| *reason)
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
    if tags.iter().any(|t| *t == "mock-only") {
        return Some("needs the mock (inline roles, seeded records or injected faults)".to_owned());
    }
    if tags.iter().any(|t| *t == "existing-records") && !run.allow_existing {
        return Some(
            "changes records the run did not create (run with --allow-existing-record-writes)"
                .to_owned(),
        );
    }
    let steps = super::steps_of(feature, rule, scenario);
    let mut writes = tags.iter().any(|t| *t == "writes");
    for step in steps {
        if let Some(reason) = needs_mock(&step.value) {
            return Some(format!("{reason} (tag it @mock-only)"));
        }
        if let Some(profile) = step
            .value
            .strip_prefix("an API member with the role \"")
            .and_then(|r| r.strip_suffix('"'))
            && !run.sandbox.profiles.contains_key(profile)
        {
            return Some(format!(
                "no API member on the sandbox has the role \"{profile}\" (add one to the profiles file)"
            ));
        }
    }
    writes |= super::runner::actions_asked(fixtures, feature, rule, scenario)
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
