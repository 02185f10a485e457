//! Gherkin glue: the cucumber World, the steps (one module per domain concept) and the
//! runner. It only connects the features to the mock, the integration and the reports.

pub mod arrange;
mod context;
pub mod documented;
mod features;
pub mod partition;
mod runner;
pub mod sandbox;
mod steps;
pub mod world;

use crate::integration::IntegrationError;

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
