//! Gherkin glue: the cucumber World, the steps (one module per domain concept) and the
//! runner. It only connects the features to the mock, the integration and the reports.

mod runner;
pub mod sandbox;
mod steps;
pub mod world;

use std::sync::{Arc, OnceLock};

use crate::fixtures::Fixtures;

pub use runner::{LeftOut, RunError, RunOptions, RunSummary, ScenarioResult, StepRecord, run};
pub use world::ConformanceWorld;

static FIXTURES: OnceLock<Arc<Fixtures>> = OnceLock::new();

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
