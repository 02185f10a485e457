//! `cw-conform sandbox plan`: the security roles (cell by cell), API members and profiles
//! file to create on a sandbox before running against it.
//!
//! `cw-conform sandbox cleanup`: finds what earlier runs left on the sandbox (a run that
//! was killed, or whose cleanup could not finish) from their ledgers, lists it, and removes
//! it once confirmed. Only records a ledger lists, re-read and still carrying that run's
//! mark, are deleted; runs still going (they hold their ledger's lock) are never touched.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;

use super::{CommandError, exit};
use crate::cleanup::{self, LeftBehind};
use crate::connectwise::redacted_url;
use crate::fixtures::Fixtures;
use crate::ledger::{self, Ledger};
use crate::plan::{self, PlannedRole};
use crate::target::Sandbox;

/// Formats of `sandbox plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Markdown.
    Markdown,
    /// A standalone HTML page.
    Html,
    /// The profiles file alone (TOML), to save as `sandbox-profiles.toml`.
    Profiles,
    /// For `serve` standing in for a sandbox: a members file (`serve --members`) with
    /// each planned member, its role and mock-only keys.
    Members,
    /// For `serve` standing in for a sandbox: the `.env` settings that give a run the
    /// members file's keys (`--site` is the URL `serve` prints).
    Env,
}

/// What `sandbox plan` was asked to do: the command line of `cw-conform sandbox plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Role profiles, role files or scenario roles (`scenario-1a2b3c4d`, as a left-out
    /// scenario names it), comma-separated (default: the roles the built-in scenarios
    /// need).
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// markdown, or html for a person; profiles for the profiles file alone; members and
    /// env to stand `serve` in for a sandbox on which the plan was carried out.
    #[arg(long, value_enum, default_value_t = PlanFormat::Markdown)]
    pub format: PlanFormat,
    /// With `--format env`: the site `serve` prints (`http://127.0.0.1:8089`).
    #[arg(long, default_value = "http://127.0.0.1:8089")]
    pub site: String,
    /// With `--format env`: the profiles file the run reads.
    #[arg(long, default_value = "sandbox-profiles.toml")]
    pub profiles: String,
    /// Write the plan to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Prints (or writes) the roles to create on a sandbox, their API members and the profiles
/// file.
pub fn plan(args: &PlanArgs, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let roles = if args.roles.is_empty() {
        crate::harness::sandbox::roles_the_suite_needs(fixtures)
    } else {
        let mut roles = Vec::new();
        for name in &args.roles {
            roles.push(crate::harness::sandbox::resolve_role(fixtures, name)?);
        }
        roles
    };
    let planned: Vec<PlannedRole> = roles.into_iter().map(PlannedRole::new).collect();
    let text = match args.format {
        PlanFormat::Markdown => plan::markdown(&fixtures.permissions, &planned),
        PlanFormat::Html => plan::html(&fixtures.permissions, &planned),
        PlanFormat::Profiles => plan::profiles_file(&planned),
        PlanFormat::Members => plan::members_file(&planned),
        PlanFormat::Env => plan::env_file(&planned, &args.site, &args.profiles),
    };
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .map_err(CommandError::io(format!("write {}", path.display())))?,
        None => print!("{text}"),
    }
    Ok(exit::CONFORMS)
}

/// What `sandbox cleanup` was asked to do: the command line of `cw-conform sandbox
/// cleanup`.
#[derive(Debug, Clone, clap::Args)]
pub struct CleanupArgs {
    /// The folder of the run ledgers.
    #[arg(long, value_name = "DIR", default_value = crate::ledger::DEFAULT_DIR)]
    pub ledger_dir: PathBuf,
    /// Delete without asking.
    #[arg(long)]
    pub yes: bool,
    /// Only the run with this token (the 16 hexadecimal digits of its mark).
    #[arg(long)]
    pub token: Option<String>,
}

/// An earlier run's ledger, adopted for cleanup.
struct Earlier {
    ledger: Ledger,
    unresolved: Vec<LeftBehind>,
}

/// Asks on the terminal; without one, the answer is no.
fn confirmed(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes")
}

/// Lists (and, once confirmed, removes) what earlier runs left on the sandbox the
/// `CONNECTWISE_*` variables name. Exit 0 when nothing is left, 1 when something is.
pub async fn cleanup(args: CleanupArgs) -> Result<u8, CommandError> {
    let sandbox = Sandbox::from_env()?;
    let token = match &args.token {
        Some(text) => Some(ledger::RunToken::parse(text).ok_or_else(|| {
            CommandError::Usage(format!(
                "--token \"{text}\" is not a run token (16 hexadecimal digits, as in [cw-conform TOKEN.N])"
            ))
        })?),
        None => None,
    };
    let files = ledger::files_in(&args.ledger_dir).map_err(CommandError::io(format!(
        "read the ledger folder {}",
        args.ledger_dir.display()
    )))?;
    let site = redacted_url(&sandbox.site);
    let mut earlier = Vec::new();
    for file in files {
        let ledger = match Ledger::adopt(&file) {
            Ok(ledger) => ledger,
            Err(error) => {
                eprintln!("skipped: {error}");
                continue;
            }
        };
        let state = ledger.state();
        if token.as_ref().is_some_and(|t| t != ledger.token())
            || state.site != site
            || state.company != sandbox.company_id
        {
            continue;
        }
        if state.is_clean() {
            let _ = ledger.finish_if_clean();
            continue;
        }
        // Reads only: what did the creates whose answer never came make?
        let unresolved = cleanup::look_for_pending(&sandbox, &ledger).await;
        earlier.push(Earlier { ledger, unresolved });
    }
    let count: usize = earlier
        .iter()
        .map(|e| e.ledger.state().outstanding().len() + e.unresolved.len())
        .sum();
    if count == 0 {
        for run in &earlier {
            let _ = run.ledger.finish_if_clean();
        }
        println!(
            "Nothing to clean up: no ledger in {} lists a record on {site} (company {}).",
            args.ledger_dir.display(),
            sandbox.company_id
        );
        return Ok(exit::CONFORMS);
    }
    let records = crate::report::count(count, "record", "records");
    println!("Earlier runs left {records} on {site}:");
    for run in &earlier {
        println!(
            "  run {} ({}):",
            run.ledger.token(),
            run.ledger.path().display()
        );
        for record in run.ledger.state().outstanding() {
            println!("    {record}");
        }
        for left in &run.unresolved {
            println!("    {left}");
        }
    }
    if !args.yes
        && !confirmed(&format!(
            "Delete {}?",
            if count == 1 {
                "this record"
            } else {
                "these records"
            }
        ))
    {
        println!("Nothing was deleted (confirm on a terminal, or pass --yes).");
        return Ok(exit::FAILED);
    }
    let mut left = Vec::new();
    for run in &earlier {
        let mut still = cleanup::clean(&sandbox, &run.ledger, None).await;
        if !run.ledger.finish_if_clean() && still.is_empty() {
            still = cleanup::listed(&run.ledger);
        }
        left.extend(still);
    }
    if left.is_empty() {
        println!("Removed: the ledgers show nothing left behind.");
        Ok(exit::CONFORMS)
    } else {
        println!("Still on the sandbox ({}):", left.len());
        for record in &left {
            println!("  {record}");
        }
        Ok(exit::FAILED)
    }
}
