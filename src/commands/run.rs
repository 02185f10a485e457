//! `cw-conform run`: the features against the mock (or a sandbox), with an integration,
//! and the conformance report.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use super::terminal::ColorChoice;
use super::{CommandError, exit};
use crate::baseline::{Baseline, Scope};
use crate::cleanup::LeftBehind;
use crate::fixtures::Fixtures;
use crate::harness::sandbox::{PreflightFailed, SandboxRun, estimate, preflight};
use crate::harness::{self, IntegrationUnderTest, Partition, RunOptions};
use crate::integration::mcp::IntegrationConfig;
use crate::integration::mcp::shared::FixedSite;
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
    /// The project's own JSON (`schemas/report.schema.json`).
    Json,
    /// Cucumber's standard JSON, as cucumber-html-reporter, Allure and ReportPortal read it.
    Cucumber,
}

impl Format {
    /// Whether a person reads it (progress may share standard output with it).
    fn readable(self) -> bool {
        self == Format::Pretty
    }
}

/// One report a run writes: a format and where it goes (standard output when `None`).
/// Given as `--format junit=reports/conformance.xml`, or `--format pretty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutput {
    /// The format.
    pub format: Format,
    /// The file it is written to; standard output when `None`.
    pub path: Option<PathBuf>,
}

impl std::str::FromStr for ReportOutput {
    type Err = String;

    /// `FORMAT` or `FORMAT=PATH`.
    fn from_str(text: &str) -> Result<ReportOutput, String> {
        let (name, path) = match text.split_once('=') {
            Some((name, "")) => {
                return Err(format!(
                    "\"{text}\" names no file after \"{name}=\" (write {name}=PATH, or {name} alone for standard output)"
                ));
            }
            Some((name, path)) => (name, Some(PathBuf::from(path))),
            None => (text, None),
        };
        let format = <Format as clap::ValueEnum>::from_str(name, true).map_err(|_| {
            format!(
                "unknown report format \"{name}\" in \"{text}\" (expected pretty, junit, json or cucumber, each optionally =PATH)"
            )
        })?;
        Ok(ReportOutput { format, path })
    }
}

/// The reports a run writes, from the repeated `--format` and the one `--output`: every
/// format with `=PATH` goes to its file, at most one goes to standard output (or to
/// `--output`, which keeps `--format X --output F` meaning what it always did). No
/// format at all is `pretty`.
pub fn report_outputs(
    formats: Vec<ReportOutput>,
    output: Option<PathBuf>,
) -> Result<Vec<ReportOutput>, CommandError> {
    let mut outputs = if formats.is_empty() {
        vec![ReportOutput {
            format: Format::Pretty,
            path: None,
        }]
    } else {
        formats
    };
    let on_stdout: Vec<&ReportOutput> = outputs.iter().filter(|o| o.path.is_none()).collect();
    if on_stdout.len() > 1 {
        return Err(CommandError::Usage(format!(
            "--format: only one report can go to standard output, and {} would; give the others a file (--format {}=PATH)",
            on_stdout.len(),
            format_name(on_stdout[1].format)
        )));
    }
    if let Some(path) = output {
        match outputs.iter_mut().find(|o| o.path.is_none()) {
            Some(stdout) => stdout.path = Some(path),
            None => {
                return Err(CommandError::Usage(format!(
                    "--output {} names no report: every --format has its own file (drop --output, or give one --format without =PATH)",
                    path.display()
                )));
            }
        }
    }
    let mut paths: Vec<&PathBuf> = outputs.iter().filter_map(|o| o.path.as_ref()).collect();
    paths.sort();
    if let Some(twice) = paths.windows(2).find(|w| w[0] == w[1]) {
        return Err(CommandError::Usage(format!(
            "--format: two reports would be written to {}",
            twice[0].display()
        )));
    }
    Ok(outputs)
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Pretty => "pretty",
        Format::Junit => "junit",
        Format::Json => "json",
        Format::Cucumber => "cucumber",
    }
}

/// Creates the folders the reports go in, before the run, so a missing folder fails in a
/// moment, not after the whole suite.
fn prepare_folders(outputs: &[ReportOutput]) -> Result<(), CommandError> {
    for path in outputs.iter().filter_map(|o| o.path.as_ref()) {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(CommandError::io(format!(
                "create the folder {} for the report {}",
                folder.display(),
                path.display()
            )))?;
        }
    }
    Ok(())
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

/// What `run` was asked to do: the command line of `cw-conform run`.
#[derive(Debug, Clone, clap::Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags of `run` (quiet, writes, existing-record writes, server reuse)"
)]
pub struct RunArgs {
    /// Only scenarios matching this tag expression, e.g. "@SD-01 or @SD-02".
    #[arg(long, short)]
    pub tags: Option<String>,
    /// Scenarios run at once (default: 16 for the reference integration; one per CPU
    /// for an MCP integration, whose servers start a process each).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Threads the scenarios are spread over (default: one per CPU against the mock with
    /// the reference integration, where each thread also runs its scenarios' mock and
    /// requests; one per two CPUs otherwise). Each runs its share of the scenarios;
    /// --concurrency counts them all, so never more threads than that.
    #[arg(long, value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
    /// Do not print the step-by-step progress, only the report.
    #[arg(long)]
    pub quiet: bool,
    /// Colour the progress display: auto (when standard output is a terminal and
    /// NO_COLOR is not set), always or never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// A report: pretty (the summary by rule), junit, json (the project's own,
    /// schemas/report.schema.json) or cucumber (Cucumber's standard JSON), each to
    /// standard output or, as FORMAT=PATH, to a file (its folders are created).
    /// Repeatable: --format junit=reports/conformance.xml --format json=reports/run.json.
    /// At most one goes to standard output; when none does, the summary does.
    #[arg(long = "format", value_name = "FORMAT[=PATH]")]
    pub formats: Vec<ReportOutput>,
    /// Write the one report without =PATH (pretty by default) to this file instead of
    /// standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Against a sandbox: let scenarios that write run (everything created is marked
    /// and removed afterwards).
    #[arg(long)]
    pub allow_writes: bool,
    /// Against a sandbox: let scenarios tagged @existing-records change records the run
    /// did not create (none of the built-in scenarios needs it).
    #[arg(long)]
    pub allow_existing_record_writes: bool,
    /// Against a sandbox: the folder of the run ledgers (what each run created, kept
    /// until it is removed).
    #[arg(long, value_name = "DIR", default_value = crate::ledger::DEFAULT_DIR)]
    pub ledger_dir: PathBuf,
    /// The integration the scenarios drive: the built-in reference integration, or an
    /// MCP server described by --integration-config.
    #[arg(long, value_enum, default_value_t = IntegrationKind::Reference)]
    pub integration: IntegrationKind,
    /// The integration config of an MCP server (`cw-conform mcp-probe` writes one).
    #[arg(long, value_name = "FILE")]
    pub integration_config: Option<PathBuf>,
    /// Against a sandbox: `all` fails the run (exit 1) when it checked fewer rules than
    /// its scenarios ask for (some were left out); `ran` (default) only says so.
    #[arg(long, value_enum, default_value_t = RequireRules::Ran)]
    pub require_rules: RequireRules,
    /// Run only shard K of N (`2/4`) of the selected scenarios, for a CI matrix: sorted
    /// by feature path then line, the i-th scenario goes to shard i mod N + 1. The
    /// coverage gate waits for `cw-conform report merge`.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<Partition>,
    /// Known failures (a TOML file of scenario, rule and reason): the violations it
    /// lists are expected; the run fails on new ones, and on entries that no longer
    /// fail or name no scenario.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the run's violations in this file, as a baseline to edit (each reason is
    /// a placeholder to replace; --baseline keeps the reasons it has).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// With --integration mcp: start one server per API member and role (per set of
    /// credentials) and keep it across scenarios, instead of one per scenario. Each
    /// scenario still has its own mock ConnectWise; the server's own caches do not
    /// start afresh, and the report says so.
    #[arg(long)]
    pub reuse_servers: bool,
    /// With an MCP server already running (its config has `url` and no `command`): the
    /// address of the mock ConnectWise the server is configured with (default
    /// 127.0.0.1:8787). The run prints what to configure, then runs the scenarios one at
    /// a time against it.
    #[arg(long, value_name = "ADDR")]
    pub mock_addr: Option<std::net::SocketAddr>,
    /// Your own feature files or folders (default: the built-in features).
    pub paths: Vec<PathBuf>,
}

impl RunArgs {
    /// The reports the run writes, each with where it goes ([`report_outputs`]).
    pub fn outputs(&self) -> Result<Vec<ReportOutput>, CommandError> {
        report_outputs(self.formats.clone(), self.output.clone())
    }

    /// Against a sandbox: what scenarios may write.
    pub fn writes(&self) -> Result<SandboxWrites, CommandError> {
        SandboxWrites::from_flags(self.allow_writes, self.allow_existing_record_writes)
    }
}

/// Where the mock ConnectWise for an MCP server already running is served, unless
/// `--mock-addr` says.
pub const DEFAULT_MOCK_ADDRESS: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8787);

/// For an MCP server already running: serves the mock ConnectWise it is configured with at
/// the fixed address, and says what to configure. `None` for any other integration.
fn fixed_site(
    args: &RunArgs,
    config: Option<&IntegrationConfig>,
) -> Result<Option<Arc<FixedSite>>, CommandError> {
    let Some(config) = config.filter(|c| c.server.is_running_already()) else {
        return match args.mock_addr {
            Some(address) => Err(CommandError::Usage(format!(
                "--mock-addr {address} is for an MCP server already running (an integration config with url and no command); the harness gives a server it starts a mock of each scenario's own"
            ))),
            None => Ok(None),
        };
    };
    if args.reuse_servers {
        return Err(CommandError::Usage(format!(
            "--reuse-servers is for servers the harness starts; the MCP server at {} is already running and is used as it is",
            config.server.shown()
        )));
    }
    let address = args.mock_addr.unwrap_or(DEFAULT_MOCK_ADDRESS);
    let site = FixedSite::start(address, &harness::world::api_member_credentials(""))
        .map_err(CommandError::io(format!(
            "serve the mock ConnectWise on {address} for the MCP server already running at {} (choose another address with --mock-addr)",
            config.server.shown()
        )))?;
    let settings = site.credentials();
    eprintln!(
        "The MCP server at {url} is already running, so the harness cannot give it each scenario's own mock ConnectWise. \
It serves one at {site} and runs the scenarios one at a time, giving each a fresh ConnectWise there \
(its records, its requests, its API member's role).\n\
Configure the server with (these are the mock's own made-up settings, not a secret of yours):\n  \
ConnectWise site  {site}\n  \
company ID        {company}\n  \
public key        {public}\n  \
private key       {private}\n  \
client ID         {client}\n\
Scenarios that give the integration other settings (a wrong key, another member) are left out and listed.",
        url = config.server.shown(),
        site = settings.site,
        company = settings.company_id,
        public = settings.public_key,
        private = settings.private_key.expose(),
        client = settings.client_id.as_deref().unwrap_or_default(),
    );
    Ok(Some(Arc::new(site)))
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
pub(super) fn interrupt_listener() -> Result<impl std::future::Future<Output = ()>, CommandError> {
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

/// What starting a sandbox run needs of a command's arguments.
pub(super) struct SandboxArgs<'a> {
    /// Print nothing about the mock target.
    pub(super) quiet: bool,
    /// What scenarios may write.
    pub(super) writes: SandboxWrites,
    /// Where the run's ledger goes.
    pub(super) ledger_dir: &'a std::path::Path,
}

/// Starts a sandbox run, when the environment asks for one: the settings are read (every
/// problem at once), then the preflight checks the site, the company, and every profile's
/// keys and role (every problem at once) before the run's ledger is made.
pub(super) async fn sandbox_run(
    args: &SandboxArgs<'_>,
    environment: &Environment<'_>,
    fixtures: &Fixtures,
) -> Result<Option<Arc<SandboxRun>>, CommandError> {
    if !environment.sandbox_requested() {
        if !args.quiet {
            eprintln!("target: the built-in mock ConnectWise");
        }
        return Ok(None);
    }
    // A profile whose keys are not set is a problem the preflight lists with the others,
    // not one that stops the others being checked.
    let (sandbox, unset) = Sandbox::with_profile_problems(environment)?;
    if let Some(path) = &sandbox.chosen_by_dotenv {
        eprintln!(
            "warning: {} set CONNECTWISE_SITE: this run goes to a ConnectWise sandbox, not the mock",
            path.display()
        );
    }
    let profiles = sandbox.profiles.len();
    let requests = crate::harness::sandbox::PREFLIGHT_REQUESTS_PER_PROFILE * profiles as u64
        + crate::harness::documented::PROBE_REQUESTS;
    let rate = sandbox.requests_per_minute;
    eprintln!(
        "preflight: checking {} on {}: about {} at {rate} a minute, about {}",
        crate::report::count(profiles, "profile", "profiles"),
        crate::connectwise::redacted_url(&sandbox.site),
        crate::report::count(
            usize::try_from(requests).unwrap_or(usize::MAX),
            "request",
            "requests"
        ),
        minutes(std::time::Duration::from_secs(
            requests * 60 / u64::from(rate.max(1))
        ))
    );
    let checked = preflight(&sandbox, fixtures).await;
    let members = match (checked, unset.is_empty()) {
        (Ok(members), true) => members,
        (Ok(_), false) => {
            return Err(PreflightFailed {
                problems: unset.iter().map(ToString::to_string).collect(),
            }
            .into());
        }
        (Err(mut failed), _) => {
            let mut problems: Vec<String> = unset.iter().map(ToString::to_string).collect();
            problems.append(&mut failed.problems);
            return Err(PreflightFailed { problems }.into());
        }
    };
    let behaviours = crate::harness::documented::probe(&sandbox, fixtures, &members)
        .await
        .map_err(|problems| crate::harness::sandbox::PreflightFailed { problems })?;
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
    for own in behaviours.iter() {
        eprintln!("  behaviour {own}");
    }
    let run = SandboxRun::start(
        sandbox,
        args.writes != SandboxWrites::None,
        args.writes == SandboxWrites::AlsoExisting,
        args.ledger_dir,
    )
    .map_err(CommandError::io(format!(
        "start the run's ledger in {}",
        args.ledger_dir.display()
    )))?
    .verified(members)
    .with_behaviours(behaviours);
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
pub(super) async fn clean_up(run: &SandboxRun, ledger_dir: &std::path::Path) -> Vec<LeftBehind> {
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

/// Runs the features on `shared` (the fixtures the report is built from too) and prints
/// (or writes) the report; returns the exit code.
pub async fn run(args: RunArgs, shared: Arc<Fixtures>) -> Result<u8, CommandError> {
    let fixtures: &Fixtures = &shared;
    let outputs = args.outputs()?;
    let writes = args.writes()?;
    let config = integration_config(&args, fixtures)?;
    // A bad baseline is refused before anything runs.
    let baseline = args
        .baseline
        .as_deref()
        .map(|path| Baseline::load(path, &fixtures.rules))
        .transpose()?;
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
    let sandbox = sandbox_run(
        &SandboxArgs {
            quiet: args.quiet,
            writes,
            ledger_dir: &args.ledger_dir,
        },
        &environment,
        fixtures,
    )
    .await?;
    // A whole-suite run must check every rule; a sandbox run cannot (some scenarios need
    // the mock), nor can a filtered one.
    let selected_whole_suite = args.tags.is_none() && args.paths.is_empty() && sandbox.is_none();
    // One shard checks only its share of the rules: the gate is the merge's to apply.
    let whole_suite = selected_whole_suite && args.partition.is_none();
    prepare_folders(&outputs)?;
    // A machine-readable report on standard output leaves no room for progress.
    let progress = !args.quiet
        && outputs
            .iter()
            .all(|o| o.path.is_some() || o.format.readable());
    let fixed_site = fixed_site(&args, config.as_deref())?;
    let options = RunOptions {
        fixtures: Arc::clone(&shared),
        tags: args.tags,
        paths: args.paths,
        // A server already running serves one scenario at a time.
        concurrency: if fixed_site.is_some() {
            1
        } else {
            args.concurrency
                .unwrap_or_else(|| default_concurrency(args.integration))
        },
        threads: args.threads,
        color: args.color.enabled(),
        progress,
        cucumber_json: outputs.iter().any(|o| o.format == Format::Cucumber),
        sandbox: sandbox.clone(),
        integration: config
            .clone()
            .map_or(IntegrationUnderTest::Reference, IntegrationUnderTest::Mcp),
        partition: args.partition,
        reuse_servers: args.reuse_servers,
        fixed_site,
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
    if let Some(baseline) = &baseline {
        let scope = if args.partition.is_some() {
            Scope::Shard
        } else {
            Scope::Whole
        };
        baseline.apply(&mut summary, scope);
    }
    if let Some(path) = &args.write_baseline {
        write_baseline(path, &summary, baseline.as_ref())?;
    }
    // Rules whose scenarios ask only for actions an MCP integration does not offer are not
    // applicable: its own report judges coverage.
    let gate = whole_suite && summary.not_offered.is_empty();
    let unchecked = if sandbox.is_some() {
        rules_left_unchecked(&summary)
    } else {
        Vec::new()
    };
    let judging = report::Judging {
        catalog: &fixtures.rules,
        whole_suite: gate,
        integration: config.as_ref().map(|c| c.name.clone()),
        whole_suite_for_integration: whole_suite,
        required_unchecked: if args.require_rules == RequireRules::All {
            unchecked.clone()
        } else {
            Vec::new()
        },
    };
    let mut text = report::render_text(&summary, &judging);
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
    let mut on_stdout = false;
    for output in &outputs {
        let rendered = match output.format {
            Format::Pretty => text.clone(),
            Format::Junit => report::junit::render(&summary, &judging),
            Format::Json => report::json::render(&summary, &judging),
            Format::Cucumber => {
                let Some(written) = &summary.cucumber_json else {
                    eprintln!(
                        "error: no Cucumber JSON report: the run was interrupted before cucumber finished it"
                    );
                    continue;
                };
                report::cucumber::render(written).map_err(|e| CommandError::Io {
                    what: "read cucumber's JSON report of the run".into(),
                    source: std::io::Error::other(e),
                })?
            }
        };
        if let Some(path) = &output.path {
            std::fs::write(path, &rendered).map_err(CommandError::io(format!(
                "write the report {}",
                path.display()
            )))?;
        } else {
            on_stdout = true;
            print!("{rendered}");
        }
    }
    // Every report went to a file: the summary still goes to standard output.
    if !on_stdout {
        print!("{text}");
    }
    if args.partition.is_some() && summary.scenarios.is_empty() && summary.conforms() {
        eprintln!(
            "note: no scenario fell to this shard (there are fewer selected scenarios than shards)"
        );
        return Ok(exit::CONFORMS);
    }
    let (code, message) = exit_code(&summary, &judging);
    if let Some(message) = message {
        eprintln!("error: {message}");
    }
    Ok(code)
}

/// Writes the run's violations as a baseline, keeping the reasons `kept` gives.
fn write_baseline(
    path: &std::path::Path,
    summary: &harness::RunSummary,
    kept: Option<&Baseline>,
) -> Result<(), CommandError> {
    let violations: usize = summary
        .scenarios
        .iter()
        .filter(|s| s.violated())
        .map(|s| s.rules().len())
        .sum();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(CommandError::io(format!("create {}", parent.display())))?;
    }
    std::fs::write(path, crate::baseline::record(summary, kept))
        .map_err(CommandError::io(format!("write {}", path.display())))?;
    eprintln!(
        "wrote {} to the baseline {}: replace each \"{}\" with why the failure is expected",
        report::count(violations, "expected failure", "expected failures"),
        path.display(),
        crate::baseline::PLACEHOLDER_REASON
    );
    Ok(())
}

/// The exit code of a finished run, and what to say about it on standard error. It agrees
/// with every report: 0 exactly when they show no failure and no error (the same
/// [`report::Judging`] decides both); 1 for a verdict against the integration; 2 when the
/// features or the harness, not the integration, are at fault; 130 when interrupted.
pub fn exit_code(
    summary: &harness::RunSummary,
    judging: &report::Judging<'_>,
) -> (u8, Option<String>) {
    if summary.interrupted {
        return (exit::INTERRUPTED, None);
    }
    if !summary.parse_errors.is_empty() || summary.feature_errors().next().is_some() {
        return (
            exit::USAGE,
            Some("the features have mistakes (listed under \"Feature errors\"); no rule was judged by those scenarios".into()),
        );
    }
    if summary.scenarios.is_empty() {
        return (exit::USAGE, Some("no scenario matched".into()));
    }
    let not_judged = summary.not_judged().count();
    if not_judged > 0 && summary.failed().next().is_none() {
        let causes = report::verdict::not_judged_causes(summary);
        let first = causes.first().map_or("", |(cause, _)| *cause);
        return (
            exit::USAGE,
            Some(format!(
                "{} could not be judged ({}), and nothing else failed: this is a harness or configuration error, not a verdict on the integration; the first cause:\n{first}",
                report::count(not_judged, "scenario", "scenarios"),
                report::count(causes.len(), "cause", "causes"),
            )),
        );
    }
    if judging.conforms(summary) {
        (exit::CONFORMS, None)
    } else {
        (exit::FAILED, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{RunSummary, ScenarioResult};
    use crate::model::RuleCatalog;

    /// Runs of every kind that decides an exit code.
    fn runs() -> Vec<(&'static str, RunSummary)> {
        let passed = || ScenarioResult::sample(&["SD-01"], None);
        let mut not_judged = passed();
        not_judged.not_judged = Some("the integration timed out".into());
        let mut mistaken = passed();
        mistaken.feature_error = Some("x.feature:9: step not implemented".into());
        let mut audit = ScenarioResult::sample(&["LP-02"], None);
        audit.exercised = false;
        let run = |scenarios: Vec<ScenarioResult>| RunSummary {
            scenarios,
            ..RunSummary::default()
        };
        vec![
            ("passed", run(vec![passed()])),
            (
                "failed",
                run(vec![ScenarioResult::sample(
                    &["SD-01"],
                    Some("observed allowed"),
                )]),
            ),
            ("not judged", run(vec![not_judged])),
            ("feature mistake", run(vec![passed(), mistaken])),
            (
                "malformed feature",
                RunSummary {
                    parse_errors: vec![crate::report::samples::feature_error()],
                    ..run(vec![passed()])
                },
            ),
            (
                "sandbox record left behind",
                RunSummary {
                    left_behind: vec![crate::report::samples::left_behind(
                        "the delete was refused",
                    )],
                    ..run(vec![passed()])
                },
            ),
            (
                "interrupted",
                RunSummary {
                    interrupted: true,
                    ..run(vec![passed()])
                },
            ),
            ("nothing ran", run(Vec::new())),
            ("rule not exercised", run(vec![audit])),
        ]
    }

    fn judgings(catalog: &RuleCatalog) -> Vec<report::Judging<'_>> {
        let mcp = report::Judging {
            integration: Some("acme".into()),
            ..report::Judging::new(catalog, false)
        };
        let required = report::Judging {
            required_unchecked: vec!["SD-02".parse().unwrap()],
            ..report::Judging::new(catalog, false)
        };
        vec![
            report::Judging::new(catalog, false),
            report::Judging::new(catalog, true),
            mcp,
            required,
        ]
    }

    /// JUnit's failures and errors, from its root element.
    fn junit_counts(xml: &str) -> (usize, usize) {
        let root = xml.lines().nth(1).unwrap();
        let number = |key: &str| -> usize {
            let start = root.find(&format!(" {key}=\"")).unwrap() + key.len() + 3;
            root[start..].split('"').next().unwrap().parse().unwrap()
        };
        (number("failures"), number("errors"))
    }

    /// The exit code is 0 exactly when the JUnit report has no failure and no error, and
    /// the JSON report says the run conforms; never a clean report with exit 1, never a
    /// report with failures and exit 0.
    #[test]
    fn the_exit_code_agrees_with_every_report() {
        let catalog = &crate::fixtures::Fixtures::builtin().unwrap().rules;
        for (kind, summary) in runs() {
            for judging in judgings(catalog) {
                let (code, _) = exit_code(&summary, &judging);
                let (failures, errors) = junit_counts(&report::junit::render(&summary, &judging));
                let json: serde_json::Value =
                    serde_json::from_str(&report::json::render(&summary, &judging)).unwrap();
                let clean = failures == 0 && errors == 0;
                assert_eq!(
                    code == exit::CONFORMS,
                    clean,
                    "{kind} (whole suite: {}, integration: {:?}, required unchecked: {:?}): exit {code} with JUnit failures={failures} errors={errors}",
                    judging.whole_suite,
                    judging.integration,
                    judging.required_unchecked
                );
                assert_eq!(json["conforms"], clean, "{kind}: {json:#}");
            }
        }
    }

    #[test]
    fn a_record_left_on_the_sandbox_or_a_feature_error_never_exits_0() {
        let catalog = &crate::fixtures::Fixtures::builtin().unwrap().rules;
        let judging = report::Judging::new(catalog, false);
        let codes: Vec<(&str, u8)> = runs()
            .iter()
            .map(|(kind, summary)| (*kind, exit_code(summary, &judging).0))
            .collect();
        assert!(
            codes.contains(&("sandbox record left behind", exit::FAILED)),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("malformed feature", exit::USAGE)),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("feature mistake", exit::USAGE)),
            "{codes:?}"
        );
    }

    #[rstest::rstest]
    #[case::one_to_stdout(&["pretty"], None, &[("pretty", None)])]
    #[case::none_is_pretty(&[], None, &[("pretty", None)])]
    #[case::files_and_stdout(
        &["junit=reports/c.xml", "json=r.json", "pretty"],
        None,
        &[("junit", Some("reports/c.xml")), ("json", Some("r.json")), ("pretty", None)]
    )]
    #[case::output_takes_the_stdout_one(&["junit"], Some("c.xml"), &[("junit", Some("c.xml"))])]
    #[case::output_alone_is_pretty(&[], Some("s.txt"), &[("pretty", Some("s.txt"))])]
    fn formats_and_output_make_the_reports(
        #[case] formats: &[&str],
        #[case] output: Option<&str>,
        #[case] expected: &[(&str, Option<&str>)],
    ) {
        let formats = formats.iter().map(|f| f.parse().unwrap()).collect();
        let outputs = report_outputs(formats, output.map(PathBuf::from)).unwrap();
        let shown: Vec<(&str, Option<PathBuf>)> = outputs
            .into_iter()
            .map(|o| (format_name(o.format), o.path))
            .collect();
        let expected: Vec<(&str, Option<PathBuf>)> = expected
            .iter()
            .map(|(f, p)| (*f, p.map(PathBuf::from)))
            .collect();
        assert_eq!(shown, expected);
    }

    #[rstest::rstest]
    #[case::two_on_stdout(&["json", "junit"], None, "only one report can go to standard output")]
    #[case::output_with_no_stdout_report(&["json=r.json"], Some("x"), "--output x names no report")]
    #[case::one_file_twice(&["json=r", "junit=r"], None, "two reports would be written to r")]
    fn formats_that_do_not_fit_together_are_refused(
        #[case] formats: &[&str],
        #[case] output: Option<&str>,
        #[case] expected: &str,
    ) {
        let formats = formats.iter().map(|f| f.parse().unwrap()).collect();
        let error = report_outputs(formats, output.map(PathBuf::from)).unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }

    #[test]
    fn a_format_names_a_known_format_and_a_file() {
        assert!(
            "html"
                .parse::<ReportOutput>()
                .unwrap_err()
                .contains("unknown report format \"html\"")
        );
        assert!(
            "junit="
                .parse::<ReportOutput>()
                .unwrap_err()
                .contains("names no file")
        );
        assert_eq!(
            "cucumber=out/c.json".parse::<ReportOutput>().unwrap(),
            ReportOutput {
                format: Format::Cucumber,
                path: Some("out/c.json".into())
            }
        );
    }

    #[test]
    fn mcp_servers_run_no_more_at_once_than_there_are_cores() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mcp = default_concurrency(IntegrationKind::Mcp);
        assert!((1..=cores.max(2)).contains(&mcp), "{mcp} on {cores} cores");
        assert_eq!(default_concurrency(IntegrationKind::Reference), 16);
    }
}
