//! The Gherkin suite against the built-in mock, under `cargo test`.
//!
//! `CW_CONFORM_TAGS` narrows the run to a tag expression.

use std::process::ExitCode;

use cw_conform::fixtures::Fixtures;
use cw_conform::harness::{self, RunOptions};
use cw_conform::report;

#[tokio::main]
async fn main() -> ExitCode {
    let tags = std::env::var("CW_CONFORM_TAGS")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let whole_suite = tags.is_none();
    let options = RunOptions {
        tags,
        progress: false,
        ..RunOptions::default()
    };
    let fixtures = match Fixtures::builtin() {
        Ok(fixtures) => fixtures,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    match harness::run(&options, Box::new(std::io::stdout())).await {
        Ok(summary) => {
            print!(
                "{}",
                report::render_text(&summary, &fixtures.rules, whole_suite)
            );
            if report::conforms(&summary, &fixtures.rules, whole_suite)
                && !summary.scenarios.is_empty()
            {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}
