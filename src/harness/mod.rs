//! Gherkin glue: the cucumber World, the steps (one module per domain concept) and the
//! runner. It only connects the features to the mock, the integration and the reports.

mod features;
mod runner;
pub mod sandbox;
mod steps;
pub mod world;

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::fixtures::Fixtures;
use crate::integration::mcp::IntegrationConfig;

pub use features::FeatureError;
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

static FIXTURES: OnceLock<Arc<Fixtures>> = OnceLock::new();

static MCP_INTEGRATION: RwLock<Option<Arc<IntegrationConfig>>> = RwLock::new(None);

/// Installs (or clears) the MCP integration the run about to start tests instead of the
/// reference integration.
fn install_mcp_integration(config: Option<Arc<IntegrationConfig>>) {
    *MCP_INTEGRATION
        .write()
        .unwrap_or_else(PoisonError::into_inner) = config;
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
