//! The Gherkin suite under `cargo test`: against the built-in mock, or, when asked with
//! `CW_CONFORM_TARGET=sandbox`, against the ConnectWise sandbox the `CONNECTWISE_*`
//! variables describe (writes only with `CW_CONFORM_ALLOW_WRITES=1`).
//!
//! `CW_CONFORM_TAGS` narrows the run to a tag expression.

use std::process::ExitCode;
use std::sync::Arc;

use cw_conform::fixtures::Fixtures;
use cw_conform::harness::sandbox::{SandboxRun, preflight};
use cw_conform::harness::{self, RunOptions};
use cw_conform::report;
use cw_conform::target::Sandbox;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("failed to start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let tags = var("CW_CONFORM_TAGS");
    let fixtures = match Fixtures::builtin() {
        Ok(fixtures) => fixtures,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let sandbox = match var("CW_CONFORM_TARGET").as_deref() {
        None | Some("mock") => None,
        Some("sandbox") => match Sandbox::from_env() {
            Ok(sandbox) => match preflight(&sandbox, fixtures).await {
                Err(problems) => {
                    eprintln!("{problems}");
                    return ExitCode::from(2);
                }
                Ok(members) => match SandboxRun::start(
                    sandbox,
                    var("CW_CONFORM_ALLOW_WRITES").as_deref() == Some("1"),
                    false,
                    std::path::Path::new(cw_conform::ledger::DEFAULT_DIR),
                ) {
                    Ok(run) => Some(Arc::new(run.verified(members))),
                    Err(error) => {
                        eprintln!("failed to start the run's ledger: {error}");
                        return ExitCode::from(2);
                    }
                },
            },
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(2);
            }
        },
        Some(other) => {
            eprintln!("CW_CONFORM_TARGET is invalid: \"{other}\" (expected mock or sandbox)");
            return ExitCode::from(2);
        }
    };
    let whole_suite = tags.is_none() && sandbox.is_none();
    let options = RunOptions {
        tags,
        progress: false,
        sandbox: sandbox.clone(),
        ..RunOptions::default()
    };
    match harness::run(&options, Box::new(std::io::stdout())).await {
        Ok(mut summary) => {
            if let Some(run) = &sandbox {
                summary.left_behind = run.clean_up().await;
            }
            print!(
                "{}",
                report::render_text(
                    &summary,
                    &report::Judging::new(&fixtures.rules, whole_suite)
                )
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
