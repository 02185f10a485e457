//! Gherkin glue: the cucumber World, the steps (one module per domain concept) and the
//! runner. It only connects the features to the mock, the integration and the reports.

pub mod arrange;
mod features;
pub mod partition;
mod runner;
pub mod sandbox;
mod steps;
pub mod world;

use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use crate::fixtures::Fixtures;
use crate::integration::mcp::IntegrationConfig;
use crate::integration::mcp::shared::SharedServers;
use crate::integration::{IntegrationError, ServerFailure};

pub use features::FeatureError;
pub use partition::{Partition, PartitionError};
pub use runner::{
    IntegrationUnderTest, LeftOut, NotOffered, RunError, RunOptions, RunSummary, ScenarioResult,
    StepRecord, run, run_until,
};
pub use steps::{Keyword, Parameter, Pattern, StepDoc, vocabulary};
pub use world::ConformanceWorld;

// A mistake in a feature file (an unknown action phrase, role, function, operation, level
// or outcome word, a table of the wrong shape, a step that refers to something no earlier
// step made) is the author's to fix, never counted against the integration. A step reports
// one with `mistake!`; the runner records it apart from failures, and the run exits 2.

/// Stops the step with a feature mistake, formatted like `panic!`.
macro_rules! mistake {
    ($($arg:tt)*) => {
        $crate::harness::feature_mistake(format!($($arg)*))
    };
}
pub(crate) use mistake;

/// What a feature mistake's panic message starts with (cucumber's progress display
/// shows only string payloads).
pub(crate) const MISTAKE_PREFIX: &str = "feature error: ";

/// Stops the step with a feature mistake.
pub(crate) fn feature_mistake(message: impl Into<String>) -> ! {
    panic!("{MISTAKE_PREFIX}{}", message.into())
}

/// What the panic message of a step that could not be judged starts with: the integration
/// gave no answer to judge ([`IntegrationError`]). The runner records the scenario as
/// *could not be judged*, with the cause, apart from failures and feature errors.
pub(crate) const NOT_JUDGED_PREFIX: &str = "could not be judged: ";

/// Stops the step: the integration gave no answer that can be judged.
pub(crate) fn not_judged(error: &IntegrationError) -> ! {
    panic!("{NOT_JUDGED_PREFIX}{error}")
}

/// How often each start-up failure has happened in this run, by its message.
static START_FAILURES: Mutex<Vec<(ServerFailure, usize)>> = Mutex::new(Vec::new());

/// Times the same start-up failure may happen before the run stops starting the server:
/// a wrong command or an environment that makes it exit fails the same way every time, and
/// starting it once for each scenario only repeats the cause. (A start-up that timed out is
/// always tried again: the start-up slots keep queueing out of its bound.)
const START_ATTEMPTS: usize = 2;

/// Records that the server failed to start (only failures that recur on every start count:
/// a server that was merely slow to answer is started again).
fn start_failed(failure: &ServerFailure) {
    if !failure.ends_every_start() {
        return;
    }
    let mut failures = START_FAILURES
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match failures.iter_mut().find(|(f, _)| f == failure) {
        Some((_, count)) => *count += 1,
        None => failures.push((failure.clone(), 1)),
    }
}

/// A start-up failure that has already repeated in this run: the server is not started
/// again, and the scenario is not judged for the same cause.
fn repeated_start_failure() -> Option<ServerFailure> {
    START_FAILURES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(_, count)| *count >= START_ATTEMPTS)
        .map(|(failure, _)| failure.clone())
}

static FIXTURES: OnceLock<Arc<Fixtures>> = OnceLock::new();

static MCP_INTEGRATION: RwLock<Option<Arc<IntegrationConfig>>> = RwLock::new(None);

/// The servers kept across scenarios, when the run reuses them.
static SHARED_SERVERS: RwLock<Option<Arc<SharedServers>>> = RwLock::new(None);

/// Installs (or clears) the MCP integration the run about to start tests instead of the
/// reference integration, and whether its servers are kept across scenarios.
fn install_mcp_integration(config: Option<Arc<IntegrationConfig>>, reuse_servers: bool) {
    START_FAILURES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    *SHARED_SERVERS
        .write()
        .unwrap_or_else(PoisonError::into_inner) = config
        .as_ref()
        .filter(|_| reuse_servers)
        .map(|config| Arc::new(SharedServers::new(Arc::clone(config), fixtures())));
    *MCP_INTEGRATION
        .write()
        .unwrap_or_else(PoisonError::into_inner) = config;
}

/// The servers kept across scenarios, when the current run reuses them.
fn shared_servers() -> Option<Arc<SharedServers>> {
    SHARED_SERVERS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The MCP integration of the current run, if it tests one.
pub(crate) fn mcp_integration() -> Option<Arc<IntegrationConfig>> {
    MCP_INTEGRATION
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The fixtures scenarios use: the built-in ones unless the runner installed others.
fn fixtures() -> Arc<Fixtures> {
    Arc::clone(FIXTURES.get_or_init(|| {
        Arc::new(
            Fixtures::builtin()
                .unwrap_or_else(|e| panic!("{e}"))
                .clone(),
        )
    }))
}

/// The features as written (Scenario Outlines not expanded), checked as a run checks them:
/// the built-in ones when `paths` is empty, else the files and folders given. The features
/// that can run, and the errors of those that cannot. For the living documentation.
pub(crate) fn features_as_written(
    paths: &[std::path::PathBuf],
) -> Result<(Vec<cucumber::gherkin::Feature>, Vec<FeatureError>), RunError> {
    let files = if paths.is_empty() {
        runner::builtin_features()
    } else {
        runner::user_features(paths)?
    };
    let loaded = features::load_as_written(files);
    Ok((loaded.features, loaded.errors))
}

/// A feature's scenarios, each with the rule it belongs to (none for a scenario outside
/// any rule), in the feature's order: its own scenarios, then each rule's.
pub(crate) fn scenarios_of(
    feature: &cucumber::gherkin::Feature,
) -> impl Iterator<
    Item = (
        Option<&cucumber::gherkin::Rule>,
        &cucumber::gherkin::Scenario,
    ),
> {
    feature.scenarios.iter().map(|s| (None, s)).chain(
        feature
            .rules
            .iter()
            .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s))),
    )
}

/// Every tag that applies to a scenario: its feature's, its rule's and its own, in that
/// order (the order cucumber evaluates tag expressions in).
pub(crate) fn tags_of<'a>(
    feature: &'a cucumber::gherkin::Feature,
    rule: Option<&'a cucumber::gherkin::Rule>,
    scenario: &'a cucumber::gherkin::Scenario,
) -> impl Iterator<Item = &'a String> + Clone {
    feature
        .tags
        .iter()
        .chain(rule.into_iter().flat_map(|r| &r.tags))
        .chain(&scenario.tags)
}

/// Every step a scenario runs: its feature's background, its rule's background, then its
/// own steps.
pub(crate) fn steps_of<'a>(
    feature: &'a cucumber::gherkin::Feature,
    rule: Option<&'a cucumber::gherkin::Rule>,
    scenario: &'a cucumber::gherkin::Scenario,
) -> impl Iterator<Item = &'a cucumber::gherkin::Step> {
    feature
        .background
        .iter()
        .flat_map(|b| &b.steps)
        .chain(
            rule.into_iter()
                .flat_map(|r| r.background.iter().flat_map(|b| &b.steps)),
        )
        .chain(&scenario.steps)
}
