//! `cw-conform run`: the features against the mock (or a sandbox), with an integration,
//! and the conformance report.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use super::{CommandError, exit};
use crate::cleanup::LeftBehind;
use crate::fixtures::Fixtures;
use crate::harness::sandbox::{SandboxRun, estimate, preflight};
use crate::harness::{self, IntegrationUnderTest, RunOptions};
use crate::integration::mcp::IntegrationConfig;
use crate::model::RuleId;
use crate::report;
use crate::target::{Environment, Sandbox};

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

/// What a run may write on a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SandboxWrites {
    /// Nothing: scenarios that write are left out (the default).
    #[default]
    None,
    /// Records the run creates, and changes to them (`--allow-writes`).
    OwnRecords,
    /// Also changes to records the run did not create, in scenarios tagged
    /// `@existing-records` (`--allow-writes --allow-existing-record-writes`).
    AlsoExisting,
}

impl SandboxWrites {
    /// From the two flags; the second needs the first.
    pub fn from_flags(allow_writes: bool, allow_existing: bool) -> Result<Self, CommandError> {
        match (allow_writes, allow_existing) {
            (false, false) => Ok(SandboxWrites::None),
            (true, false) => Ok(SandboxWrites::OwnRecords),
            (true, true) => Ok(SandboxWrites::AlsoExisting),
            (false, true) => Err(CommandError::Usage(
                "--allow-existing-record-writes needs --allow-writes".into(),
            )),
        }
    }
}

/// What a run must check to conform, against a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RequireRules {
    /// The scenarios that ran must pass; rules left unchecked are only reported.
    #[default]
    Ran,
    /// Every rule the selected scenarios check must be checked: a sandbox run that left
    /// out scenarios for rules nothing else checked fails.
    All,
}

/// What `run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// A tag expression.
    pub tags: Option<String>,
    /// Scenarios run at once; `None` picks [`default_concurrency`].
    pub concurrency: Option<usize>,
    /// Only the report, no progress.
    pub quiet: bool,
    /// Colour the progress display.
    pub color: bool,
    /// The report format.
    pub format: Format,
    /// Where the report goes (standard output when `None`).
    pub output: Option<PathBuf>,
    /// Against a sandbox: what scenarios may write.
    pub writes: SandboxWrites,
    /// Where the run's ledger of created records is kept.
    pub ledger_dir: PathBuf,
    /// The integration to drive.
    pub integration: IntegrationKind,
    /// Its config, for MCP.
    pub integration_config: Option<PathBuf>,
    /// The user's own features (the built-in ones when empty).
    pub paths: Vec<PathBuf>,
    /// Whether checking fewer rules than asked fails a sandbox run.
    pub require_rules: RequireRules,
    /// An MCP integration: keep one server per credential set and role across scenarios.
    pub reuse_servers: bool,
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

/// Scenarios run at once unless `--concurrency` says: 16 for the reference integration (in
/// process, cheap), one per CPU for an MCP integration. Each MCP scenario starts a server
/// process; more of them than cores only queue, and a server waiting for a core spends its
/// start-up bound waiting (Python servers missed a 20 s bound at 16 on 2 cores).
pub fn default_concurrency(integration: IntegrationKind) -> usize {
    match integration {
        IntegrationKind::Reference => 16,
        IntegrationKind::Mcp => std::thread::available_parallelism().map_or(2, usize::from),
    }
}

/// Completes at the first Ctrl-C (SIGINT); listening starts at once.
fn interrupt_listener() -> Result<impl std::future::Future<Output = ()>, CommandError> {
    #[cfg(unix)]
    {
        let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .map_err(CommandError::io("listen for Ctrl-C"))?;
        Ok(async move {
            sigint.recv().await;
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Starts a sandbox run, when the environment asks for one: the settings are read (every
/// problem at once), then the preflight checks the site, the company, and every profile's
/// keys and role (every problem at once) before the run's ledger is made.
async fn sandbox_run(
    args: &RunArgs,
    environment: &Environment<'_>,
    fixtures: &Fixtures,
) -> Result<Option<Arc<SandboxRun>>, CommandError> {
    if !environment.sandbox_requested() {
        if !args.quiet {
            eprintln!("target: the built-in mock ConnectWise");
        }
        return Ok(None);
    }
    let sandbox = Sandbox::from_environment(environment)?;
    if let Some(path) = &sandbox.chosen_by_dotenv {
        eprintln!(
            "warning: {} set CONNECTWISE_SITE: this run goes to a ConnectWise sandbox, not the mock",
            path.display()
        );
    }
    let members = preflight(&sandbox, fixtures).await?;
    eprintln!(
        "target: ConnectWise sandbox {}, company {}",
        crate::connectwise::redacted_url(&sandbox.site),
        sandbox.company_id
    );
    for member in &members {
        eprintln!(
            "  profile {}: member {}, role verified ({})",
            member.profile,
            member.member.as_deref().unwrap_or("(unnamed)"),
            crate::report::count(
                member
                    .role
                    .grants()
                    .filter(|(_, levels)| **levels != crate::model::Levels::default())
                    .count(),
                "function granted",
                "functions granted"
            )
        );
    }
    let run = SandboxRun::start(
        sandbox,
        args.writes != SandboxWrites::None,
        args.writes == SandboxWrites::AlsoExisting,
        &args.ledger_dir,
    )
    .map_err(CommandError::io(format!(
        "start the run's ledger in {}",
        args.ledger_dir.display()
    )))?
    .verified(members);
    eprintln!(
        "sandbox run {} on {}: everything it creates is marked {}N] and recorded in {}",
        run.ledger.token(),
        crate::connectwise::redacted_url(&run.sandbox.site),
        run.ledger.token().mark_stem(),
        run.ledger.path().display()
    );
    Ok(Some(Arc::new(run)))
}

/// Prints how long a sandbox run will take, and (on a terminal, unless quiet) shows its
/// progress on standard error until the returned handle is dropped.
fn announce(
    options: &RunOptions,
    run: &SandboxRun,
    fixtures: &Fixtures,
    quiet: bool,
) -> Result<Option<Progress>, CommandError> {
    let estimate = estimate(options, run, fixtures)?;
    let rate = run.sandbox.requests_per_minute;
    let duration = estimate.duration(rate);
    eprintln!(
        "estimate: {} sending about {} at {rate} a minute: about {}",
        crate::report::count(estimate.scenarios, "scenario", "scenarios"),
        crate::report::count(
            usize::try_from(estimate.requests).unwrap_or(usize::MAX),
            "request",
            "requests"
        ),
        minutes(duration)
    );
    if quiet || !std::io::stderr().is_terminal() {
        return Ok(None);
    }
    let limit = Arc::clone(&run.sandbox.rate_limit);
    let expected = estimate.requests.max(1);
    let started = std::time::Instant::now();
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let sent = limit.sent();
            let left = expected.saturating_sub(sent) * 60 / u64::from(rate.max(1));
            eprint!(
                "\rprogress: {sent} of about {expected} requests, {} elapsed, about {} left   ",
                minutes(started.elapsed()),
                minutes(std::time::Duration::from_secs(left))
            );
        }
    });
    Ok(Some(Progress(task)))
}

/// The progress display; dropping it stops it and ends its line.
struct Progress(tokio::task::JoinHandle<()>);

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.abort();
        eprintln!();
    }
}

/// `2 min 5 s`, `40 s`.
fn minutes(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 {
        format!("{} min {} s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds} s")
    }
}

/// The rules the selected scenarios check that no scenario that ran checked: what a
/// sandbox run left unchecked by leaving scenarios out.
fn rules_left_unchecked(summary: &harness::RunSummary) -> Vec<RuleId> {
    let checked: std::collections::BTreeSet<RuleId> = summary
        .scenarios
        .iter()
        .flat_map(harness::ScenarioResult::rules)
        .collect();
    let asked: std::collections::BTreeSet<RuleId> = summary
        .left_out
        .iter()
        .flat_map(|left| left.tags.iter().filter_map(|t| RuleId::from_tag(t)))
        .collect();
    asked.difference(&checked).cloned().collect()
}

/// After the scenarios (or an interrupt): removes what the run created on the sandbox and
/// returns what is still there. A second Ctrl-C stops the cleanup; the ledger keeps what is
/// left for `cw-conform sandbox cleanup`. "Nothing was left behind" is said only when the
/// ledger proves it.
async fn clean_up(run: &SandboxRun, ledger_dir: &std::path::Path) -> Vec<LeftBehind> {
    let left = tokio::select! {
        left = run.clean_up() => left,
        _ = tokio::signal::ctrl_c() => run.settle(Vec::new()),
    };
    if left.is_empty() {
        eprintln!("cleaned up: the run's ledger shows nothing left behind on the sandbox");
    } else {
        eprintln!(
            "{} record(s) the run created are still on the sandbox; they are listed in {} and `cw-conform sandbox cleanup --ledger-dir {}` removes them",
            left.len(),
            run.ledger.path().display(),
            ledger_dir.display()
        );
    }
    left
}

/// Runs the features and prints (or writes) the report; returns the exit code.
pub async fn run(args: RunArgs, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let config = integration_config(&args, fixtures)?;
    if args.reuse_servers && config.is_none() {
        return Err(CommandError::Usage(
            "--reuse-servers is for --integration mcp: the reference integration runs in process and starts no server".into(),
        ));
    }
    let environment = Environment::load()?;
    if config.is_some() && environment.sandbox_requested() {
        return Err(CommandError::Usage(
            "an MCP integration is judged by what the mock ConnectWise receives; unset CONNECTWISE_SITE to run it".into(),
        ));
    }
    // Listen for Ctrl-C before anything is created, so no interrupt can end the process
    // without its cleanup.
    let interrupt = interrupt_listener()?;
    let sandbox = sandbox_run(&args, &environment, fixtures).await?;
    // A whole-suite run must check every rule; a sandbox run cannot (some scenarios need
    // the mock), nor can a filtered one.
    let whole_suite = args.tags.is_none() && args.paths.is_empty() && sandbox.is_none();
    // A machine-readable report on standard output leaves no room for progress.
    let progress = !args.quiet && (args.format == Format::Pretty || args.output.is_some());
    let options = RunOptions {
        tags: args.tags,
        paths: args.paths,
        concurrency: args
            .concurrency
            .unwrap_or_else(|| default_concurrency(args.integration)),
        color: args.color,
        progress,
        sandbox: sandbox.clone(),
        integration: config
            .clone()
            .map_or(IntegrationUnderTest::Reference, IntegrationUnderTest::Mcp),
        reuse_servers: args.reuse_servers,
    };
    let progress = match &sandbox {
        Some(run) => announce(&options, run, fixtures, args.quiet)?,
        None => None,
    };
    let mut summary = harness::run_until(&options, Box::new(std::io::stdout()), interrupt).await?;
    drop(progress);
    if summary.interrupted {
        eprintln!(
            "interrupted: removing what the run created on the sandbox (Ctrl-C again stops the cleanup)…"
        );
    }
    if let Some(run) = &sandbox {
        summary.left_behind = clean_up(run, &args.ledger_dir).await;
    }
    // Rules whose scenarios ask only for actions an MCP integration does not offer are not
    // applicable: its own report judges coverage.
    let gate = whole_suite && summary.not_offered.is_empty();
    let mut text = report::render_text(&summary, &fixtures.rules, gate);
    let unchecked = if sandbox.is_some() {
        rules_left_unchecked(&summary)
    } else {
        Vec::new()
    };
    if !unchecked.is_empty() {
        let ids: Vec<&str> = unchecked.iter().map(RuleId::as_str).collect();
        let _ = writeln!(
            text,
            "This sandbox run checked fewer rules than its scenarios ask for: {} left unchecked ({}), their scenarios were left out{}.",
            report::count(ids.len(), "rule", "rules"),
            ids.join(", "),
            if args.require_rules == RequireRules::All {
                "; --require-rules all makes that a failure"
            } else {
                ""
            }
        );
    }
    if let Some(config) = &config {
        text.push_str(&report::integration::render(
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
    if summary.interrupted {
        return Ok(exit::INTERRUPTED);
    }
    if !summary.parse_errors.is_empty() || summary.feature_errors().next().is_some() {
        eprintln!(
            "error: the features have mistakes (listed under \"Feature errors\"); no rule was judged by those scenarios"
        );
        return Ok(exit::USAGE);
    }
    if summary.scenarios.is_empty() {
        eprintln!("error: no scenario matched");
        return Ok(exit::USAGE);
    }
    let not_judged = summary.not_judged().count();
    if not_judged > 0 && summary.failed().next().is_none() {
        let causes = report::verdict::not_judged_causes(&summary);
        let first = causes.first().map_or("", |(cause, _)| *cause);
        eprintln!(
            "error: {} could not be judged ({}), and nothing else failed: this is a harness or configuration error, not a verdict on the integration; the first cause:\n{first}",
            report::count(not_judged, "scenario", "scenarios"),
            report::count(causes.len(), "cause", "causes"),
        );
        return Ok(exit::USAGE);
    }
    let conforms = report::conforms(&summary, &fixtures.rules, gate)
        && (args.require_rules == RequireRules::Ran || unchecked.is_empty())
        && (config.is_none()
            || report::integration::conforms(&summary, &fixtures.rules, whole_suite));
    Ok(if conforms {
        exit::CONFORMS
    } else {
        exit::FAILED
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_servers_run_no_more_at_once_than_there_are_cores() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mcp = default_concurrency(IntegrationKind::Mcp);
        assert!((1..=cores.max(2)).contains(&mcp), "{mcp} on {cores} cores");
        assert_eq!(default_concurrency(IntegrationKind::Reference), 16);
    }
}
