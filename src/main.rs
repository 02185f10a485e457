//! `cw-conform`: parse the command line, call the library, map the result to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cw_conform::commands::describe::ListFormat;
use cw_conform::commands::docs::DocsArgs;
use cw_conform::commands::inspect::MatrixFormat;
use cw_conform::commands::mcp::ProbeArgs;
use cw_conform::commands::parity::ParityArgs;
use cw_conform::commands::report::MergeArgs;
use cw_conform::commands::run::RunArgs;
use cw_conform::commands::sandbox::{CleanupArgs, PlanArgs};
use cw_conform::commands::serve::ServeArgs;
use cw_conform::commands::{self, CommandError, exit};
use cw_conform::fixtures::Fixtures;

/// mimalloc instead of the system allocator: a run builds and drops many small JSON values
/// (records, pages, requests), and glibc's malloc and free were about 40 % of the suite's
/// instructions; mimalloc takes a quarter off the suite's CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "cw-conform",
    version,
    about = "Conformance harness for AI integrations with ConnectWise PSA"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the features against the built-in mock ConnectWise and print the conformance report.
    Run(RunArgs),
    /// Serve the reference integration as an MCP server over stdio, for the API member the
    /// CONNECTWISE_* variables name.
    McpServe {
        /// Serve Streamable HTTP at http://ADDR/mcp instead of stdio (127.0.0.1:0 picks a
        /// free port; the address is written to standard error once it listens).
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
    },
    /// Start an MCP server, list its tools, and write a starting integration config.
    McpProbe(ProbeArgs),
    /// Print the expected outcome of every action under every role profile.
    Matrix {
        /// Role profiles or role files, comma-separated (default: every shipped profile).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// markdown or html.
        #[arg(long, value_enum, default_value_t = MatrixFormat::Markdown)]
        format: MatrixFormat,
    },
    /// Explain why an action gives its outcome under a role, and what to change.
    Explain {
        /// The action's name (`ticket.create`) or phrase ("create a service ticket").
        action: String,
        /// Role profile name or role file.
        #[arg(long)]
        role: String,
    },
    /// Review a role for least privilege; exit 1 when there are findings.
    Audit {
        /// Role profile name or role file (not with --live).
        role: Option<String>,
        /// Workflows the role should allow, comma-separated (e.g. service-tickets,time).
        #[arg(long, value_delimiter = ',')]
        workflows: Vec<String>,
        /// Audit the sandbox API member's own settings (CONNECTWISE_* variables).
        #[arg(long)]
        live: bool,
    },
    /// Work on the sandbox the CONNECTWISE_* variables name.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Serve the mock ConnectWise until stopped, for a vendor's own client.
    Serve(ServeArgs),
    /// Run the scenarios that can run on both on the mock and on the sandbox the
    /// CONNECTWISE_* variables name, and list every difference between what they answered
    /// (exit 1 when they differ).
    Parity(ParityArgs),
    /// Every step a scenario can use, with its parameters and an example.
    Steps {
        /// text, markdown or json.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Every action of the catalog: its phrase, request, the security function ConnectWise
    /// checks, the lookups it makes first, and what the safety policy does with it.
    Actions {
        /// text, markdown or json.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Every rule: its ID, statement, source document and section, and what that section
    /// says (summarised).
    Rules {
        /// text, markdown or json.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// What the two source documents the rules cite say, section by section, in this
    /// project's words.
    Sources {
        /// One document: its file name or short name (connectwise-permissions-overview,
        /// least-privilege-access-settings).
        name: Option<String>,
        /// text, markdown or json.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// The built-in role profiles; with a NAME, that profile as a role file to edit.
    Roles {
        /// A profile name (or a role file, printed in full).
        name: Option<String>,
        /// text, markdown or json.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// The built-in features.
    #[command(subcommand)]
    Features(FeaturesCommand),
    /// Work on run reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Write the living documentation (a static site, HTML and Markdown) into a folder.
    ///
    /// Every rule with its source document and section, the scenarios that check it, the
    /// expected outcome of every action under every role with a legend, and, given run
    /// reports, the latest verdict of every scenario with its evidence. Every page names
    /// the date (SOURCE_DATE_EPOCH fixes it), the cw-conform version and the integration.
    Docs(DocsArgs),
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Join the JSON reports of a partitioned run's shards (`run --partition K/N --format
    /// json --output F`) into one report: verdicts, the coverage gate and the baseline are
    /// judged on the whole, and the exit code is the one the unpartitioned run would give.
    Merge(MergeArgs),
}

#[derive(Debug, Subcommand)]
enum FeaturesCommand {
    /// Write the built-in features and fixtures into DIR (created if missing), to copy and
    /// edit into scenarios of your own.
    Export {
        /// The folder to write to.
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// The security roles to create on the sandbox (cell by cell), the API members to
    /// create with them, and the profiles file to fill in.
    Plan(PlanArgs),
    /// Find what earlier runs left on the sandbox (from their ledgers), list it, and
    /// remove it once confirmed; exit 0 when nothing is left, 1 when something is.
    Cleanup(CleanupArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::from(exit::USAGE);
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit::USAGE)
        }
    }
}

async fn execute(command: Command) -> Result<u8, CommandError> {
    let shared = Fixtures::shared_builtin()?;
    let fixtures: &Fixtures = &shared;
    match command {
        Command::Parity(args) => commands::parity::parity(args, fixtures).await,
        Command::Run(args) => commands::run::run(args, std::sync::Arc::clone(&shared)).await,
        Command::McpServe { http } => commands::mcp::serve(fixtures, http).await,
        Command::McpProbe(args) => commands::mcp::probe(args, fixtures).await,
        Command::Matrix { roles, format } => commands::inspect::matrix(&roles, format, fixtures),
        Command::Explain { action, role } => commands::inspect::explain(&action, &role, fixtures),
        Command::Audit {
            role,
            workflows,
            live,
        } => commands::inspect::audit(role.as_deref(), &workflows, live, fixtures).await,
        Command::Sandbox(SandboxCommand::Plan(args)) => commands::sandbox::plan(&args, fixtures),
        Command::Sandbox(SandboxCommand::Cleanup(args)) => commands::sandbox::cleanup(args).await,
        Command::Steps { format } => commands::describe::steps(format),
        Command::Actions { format } => commands::describe::actions(fixtures, format),
        Command::Rules { format } => commands::describe::rules(fixtures, format),
        Command::Sources { name, format } => {
            commands::describe::sources(fixtures, name.as_deref(), format)
        }
        Command::Roles { name, format } => {
            commands::describe::roles(fixtures, name.as_deref(), format)
        }
        Command::Report(ReportCommand::Merge(args)) => commands::report::merge(&args, fixtures),
        Command::Features(FeaturesCommand::Export { dir, force }) => {
            commands::export::export(&dir, force)
        }
        Command::Docs(args) => commands::docs::docs(args, fixtures),
        Command::Serve(args) => commands::serve::serve(args, fixtures).await,
    }
}
