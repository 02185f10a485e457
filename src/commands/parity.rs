//! `cw-conform parity`: the same scenarios on the mock and on the sandbox the environment
//! names, and every difference between what the two answered ([`crate::parity`]).
//!
//! The two runs go one after the other in this process: each run installs its own target
//! and integration when it starts (`harness::run_until`), so the second sees nothing of the
//! first. The sandbox side runs one scenario at a time, so no scenario's records show in
//! another's lists (but the records the refused catalog sweeps share for the whole run,
//! [`crate::harness::arrange`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::run::{SandboxArgs, SandboxWrites, clean_up, interrupt_listener, sandbox_run};
use super::{CommandError, exit};
use crate::fixtures::Fixtures;
use crate::harness::{self, RunOptions};
use crate::parity;
use crate::target::Environment;

/// Report formats of `parity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ParityFormat {
    /// Each scenario's differences, for a person.
    Text,
    /// The same as JSON.
    Json,
}

/// What `parity` was asked to do.
#[derive(Debug, Clone, clap::Args)]
pub struct ParityArgs {
    /// Only scenarios matching this tag expression.
    #[arg(long, short)]
    pub tags: Option<String>,
    /// text or json.
    #[arg(long, value_enum, default_value_t = ParityFormat::Text)]
    pub format: ParityFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Let scenarios that write run on the sandbox (everything created is marked and
    /// removed afterwards).
    #[arg(long)]
    pub allow_writes: bool,
    /// The folder of the run ledgers (what the sandbox run created, kept until it is
    /// removed).
    #[arg(long, value_name = "DIR", default_value = crate::ledger::DEFAULT_DIR)]
    pub ledger_dir: PathBuf,
    /// Your own feature files or folders (default: the built-in features).
    pub paths: Vec<PathBuf>,
}

/// Runs the scenarios on the mock and on the sandbox, and prints (or writes) every
/// difference. Exit 1 when they differ, 0 when not; 2 when there is no sandbox to compare
/// with, nothing ran on both, or the sandbox run left records behind.
pub async fn parity(args: ParityArgs, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let environment = Environment::load()?;
    if !environment.sandbox_requested() {
        return Err(CommandError::Usage(
            "parity compares the mock with a ConnectWise sandbox: set CONNECTWISE_SITE and the sandbox's other CONNECTWISE_* settings (see the README's \"Against a sandbox\")".into(),
        ));
    }
    let interrupt = interrupt_listener()?;
    let Some(run) = sandbox_run(
        &SandboxArgs {
            quiet: true,
            writes: SandboxWrites::from_flags(args.allow_writes, false)?,
            ledger_dir: &args.ledger_dir,
        },
        &environment,
        fixtures,
    )
    .await?
    else {
        return Err(CommandError::Usage(
            "no sandbox is configured to compare the mock with".into(),
        ));
    };
    let on_mock = RunOptions {
        tags: args.tags.clone(),
        paths: args.paths.clone(),
        progress: false,
        ..RunOptions::default()
    };
    eprintln!("parity: running the scenarios on the mock…");
    let mock = harness::run(&on_mock, Box::new(std::io::sink())).await?;
    let on_sandbox = RunOptions {
        tags: args.tags,
        paths: args.paths,
        progress: false,
        concurrency: 1,
        sandbox: Some(Arc::clone(&run)),
        ..RunOptions::default()
    };
    eprintln!("parity: running them on the sandbox, one at a time…");
    let mut sandbox = harness::run_until(&on_sandbox, Box::new(std::io::sink()), interrupt).await?;
    sandbox.left_behind = clean_up(&run, &args.ledger_dir).await;
    if sandbox.interrupted {
        eprintln!("interrupted: nothing was compared");
        return Ok(exit::INTERRUPTED);
    }
    let report = parity::compare(&mock, &sandbox);
    let rendered = match args.format {
        ParityFormat::Text => parity::render_text(&report),
        ParityFormat::Json => parity::render_json(&report),
    };
    match &args.output {
        Some(path) => std::fs::write(path, &rendered).map_err(CommandError::io(format!(
            "write the parity report {}",
            path.display()
        )))?,
        None => print!("{rendered}"),
    }
    if !sandbox.left_behind.is_empty() {
        eprintln!(
            "error: the sandbox run left {} behind; the parity report is not to be trusted until they are removed",
            crate::report::count(sandbox.left_behind.len(), "record", "records")
        );
        return Ok(exit::USAGE);
    }
    if report.scenarios.is_empty() {
        eprintln!(
            "error: no scenario ran on both the mock and the sandbox, so nothing was compared (the report lists why each was left out)"
        );
        return Ok(exit::USAGE);
    }
    Ok(if report.differs() {
        exit::FAILED
    } else {
        exit::CONFORMS
    })
}
