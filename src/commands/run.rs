//! `cw-conform run`: the features against the mock (or a sandbox), with an integration,
//! and the conformance report.

use std::path::PathBuf;
use std::sync::Arc;

use super::{CommandError, exit};
use crate::fixtures::Fixtures;
use crate::harness::sandbox::SandboxRun;
use crate::harness::{self, IntegrationUnderTest, RunOptions};
use crate::integration::mcp::{self, IntegrationConfig};
use crate::report;
use crate::target::Sandbox;

/// Report formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The readable summary by rule ID.
    Pretty,
    /// JUnit XML.
    Junit,
    /// JSON.
    Json,
}

/// The integrations `run` can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IntegrationKind {
    /// The reference integration built into the crate.
    Reference,
    /// An MCP server described by an integration config.
    Mcp,
}

/// What `run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// A tag expression.
    pub tags: Option<String>,
    /// Scenarios run at once.
    pub concurrency: usize,
    /// Only the report, no progress.
    pub quiet: bool,
    /// Colour the progress display.
    pub color: bool,
    /// The report format.
    pub format: Format,
    /// Where the report goes (standard output when `None`).
    pub output: Option<PathBuf>,
    /// Against a sandbox: let writing scenarios run.
    pub allow_writes: bool,
    /// The integration to drive.
    pub integration: IntegrationKind,
    /// Its config, for MCP.
    pub integration_config: Option<PathBuf>,
    /// The user's own features (the built-in ones when empty).
    pub paths: Vec<PathBuf>,
}

fn integration_config(
    args: &RunArgs,
    fixtures: &Fixtures,
) -> Result<Option<Arc<IntegrationConfig>>, CommandError> {
    match (args.integration, &args.integration_config) {
        (IntegrationKind::Mcp, Some(path)) => Ok(Some(Arc::new(IntegrationConfig::load(
            path,
            &fixtures.actions,
        )?))),
        (IntegrationKind::Mcp, None) => Err(CommandError::Usage(
            "--integration mcp needs --integration-config FILE".into(),
        )),
        (IntegrationKind::Reference, Some(_)) => Err(CommandError::Usage(
            "--integration-config is for --integration mcp".into(),
        )),
        (IntegrationKind::Reference, None) => Ok(None),
    }
}

/// After Ctrl-C: removes what the run created on a sandbox and says what is left.
async fn interrupted() -> u8 {
    eprintln!("interrupted: removing what the run created on the sandbox…");
    harness::sandbox::clean_up(None).await;
    harness::sandbox::sweep_in_flight().await;
    let left = harness::sandbox::left_behind();
    if left.is_empty() {
        eprintln!("cleaned up: nothing was left behind");
    } else {
        eprintln!("could not remove {} record(s):", left.len());
        for record in &left {
            eprintln!("  {record}");
        }
    }
    exit::INTERRUPTED
}

/// Runs the features and prints (or writes) the report; returns the exit code.
pub async fn run(args: RunArgs, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let config = integration_config(&args, fixtures)?;
    if config.is_some() && Sandbox::requested() {
        return Err(CommandError::Usage(
            "an MCP integration is judged by what the mock ConnectWise receives; unset CONNECTWISE_SITE to run it".into(),
        ));
    }
    let sandbox = if Sandbox::requested() {
        Some(Arc::new(SandboxRun {
            sandbox: Sandbox::from_env()?,
            allow_writes: args.allow_writes,
        }))
    } else {
        None
    };
    // A whole-suite run must check every rule; a sandbox run cannot (some scenarios need
    // the mock), nor can a filtered one.
    let whole_suite = args.tags.is_none() && args.paths.is_empty() && sandbox.is_none();
    // A machine-readable report on standard output leaves no room for progress.
    let progress = !args.quiet && (args.format == Format::Pretty || args.output.is_some());
    let options = RunOptions {
        tags: args.tags,
        paths: args.paths,
        concurrency: args.concurrency,
        color: args.color,
        progress,
        sandbox,
        integration: config
            .clone()
            .map_or(IntegrationUnderTest::Reference, IntegrationUnderTest::Mcp),
    };
    let summary = tokio::select! {
        summary = harness::run(&options, Box::new(std::io::stdout())) => summary?,
        _ = tokio::signal::ctrl_c() => return Ok(interrupted().await),
    };
    // Rules whose scenarios ask only for actions an MCP integration does not offer are not
    // applicable: its own report judges coverage.
    let gate = whole_suite && summary.not_offered.is_empty();
    let mut text = report::render_text(&summary, &fixtures.rules, gate);
    if let Some(config) = &config {
        text.push_str(&mcp::report::render(
            &summary,
            &fixtures.rules,
            config,
            &fixtures.actions,
            whole_suite,
        ));
    }
    let rendered = match args.format {
        Format::Pretty => text.clone(),
        Format::Junit => report::junit::render(&summary, &fixtures.rules, gate),
        Format::Json => report::json::render(&summary, &fixtures.rules, gate),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &rendered)
                .map_err(CommandError::io(format!("write {}", path.display())))?;
            print!("{text}");
        }
        None => print!("{rendered}"),
    }
    if summary.scenarios.is_empty() && summary.parse_errors.is_empty() {
        eprintln!("error: no scenario matched");
        return Ok(exit::USAGE);
    }
    let conforms = report::conforms(&summary, &fixtures.rules, gate)
        && (config.is_none() || mcp::report::conforms(&summary, &fixtures.rules, whole_suite));
    Ok(if conforms {
        exit::CONFORMS
    } else {
        exit::FAILED
    })
}
