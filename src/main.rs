//! `cw-conform`: parse the command line, call the library, map the result to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cw_conform::commands::describe::ListFormat;
use cw_conform::commands::inspect::MatrixFormat;
use cw_conform::commands::mcp::ProbeArgs;
use cw_conform::commands::run::{
    Format, IntegrationKind, ReportOutput, RequireRules, RunArgs, SandboxWrites,
};
use cw_conform::commands::sandbox::PlanFormat;
use cw_conform::commands::serve::ServeArgs;
use cw_conform::commands::terminal::ColorChoice;
use cw_conform::commands::{self, CommandError, exit};
use cw_conform::fixtures::Fixtures;
use cw_conform::harness::Partition;

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
    Run {
        /// Only scenarios matching this tag expression, e.g. "@SD-01 or @SD-02".
        #[arg(long, short)]
        tags: Option<String>,
        /// Scenarios run at once (default: 16 for the reference integration; one per CPU
        /// for an MCP integration, whose servers start a process each).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Do not print the step-by-step progress, only the report.
        #[arg(long)]
        quiet: bool,
        /// Colour the progress display: auto (when standard output is a terminal and
        /// NO_COLOR is not set), always or never.
        #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
        /// A report: pretty (the summary by rule), junit, json (the project's own,
        /// schemas/report.schema.json) or cucumber (Cucumber's standard JSON), each to
        /// standard output or, as FORMAT=PATH, to a file (its folders are created).
        /// Repeatable: --format junit=reports/conformance.xml --format json=reports/run.json.
        /// At most one goes to standard output; when none does, the summary does.
        #[arg(long = "format", value_name = "FORMAT[=PATH]")]
        formats: Vec<ReportOutput>,
        /// Write the one report without =PATH (pretty by default) to this file instead of
        /// standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Against a sandbox: let scenarios that write run (everything created is marked
        /// and removed afterwards).
        #[arg(long)]
        allow_writes: bool,
        /// Against a sandbox: let scenarios tagged @existing-records change records the run
        /// did not create (none of the built-in scenarios needs it).
        #[arg(long)]
        allow_existing_record_writes: bool,
        /// Against a sandbox: the folder of the run ledgers (what each run created, kept
        /// until it is removed).
        #[arg(long, value_name = "DIR", default_value = cw_conform::ledger::DEFAULT_DIR)]
        ledger_dir: PathBuf,
        /// The integration the scenarios drive: the built-in reference integration, or an
        /// MCP server described by --integration-config.
        #[arg(long, value_enum, default_value_t = IntegrationKind::Reference)]
        integration: IntegrationKind,
        /// The integration config of an MCP server (`cw-conform mcp-probe` writes one).
        #[arg(long, value_name = "FILE")]
        integration_config: Option<PathBuf>,
        /// Against a sandbox: `all` fails the run (exit 1) when it checked fewer rules than
        /// its scenarios ask for (some were left out); `ran` (default) only says so.
        #[arg(long, value_enum, default_value_t = RequireRules::Ran)]
        require_rules: RequireRules,
        /// Run only shard K of N (`2/4`) of the selected scenarios, for a CI matrix: sorted
        /// by feature path then line, the i-th scenario goes to shard i mod N + 1. The
        /// coverage gate waits for `cw-conform report merge`.
        #[arg(long, value_name = "K/N")]
        partition: Option<Partition>,
        /// Known failures (a TOML file of scenario, rule and reason): the violations it
        /// lists are expected; the run fails on new ones, and on entries that no longer
        /// fail or name no scenario.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Record the run's violations in this file, as a baseline to edit (each reason is
        /// a placeholder to replace; --baseline keeps the reasons it has).
        #[arg(long, value_name = "FILE")]
        write_baseline: Option<PathBuf>,
        /// With --integration mcp: start one server per API member and role (per set of
        /// credentials) and keep it across scenarios, instead of one per scenario. Each
        /// scenario still has its own mock ConnectWise; the server's own caches do not
        /// start afresh, and the report says so.
        #[arg(long)]
        reuse_servers: bool,
        /// With an MCP server already running (its config has `url` and no `command`): the
        /// address of the mock ConnectWise the server is configured with (default
        /// 127.0.0.1:8787). The run prints what to configure, then runs the scenarios one at
        /// a time against it.
        #[arg(long, value_name = "ADDR")]
        mock_addr: Option<std::net::SocketAddr>,
        /// Your own feature files or folders (default: the built-in features).
        paths: Vec<PathBuf>,
    },
    /// Serve the reference integration as an MCP server over stdio, for the API member the
    /// CONNECTWISE_* variables name.
    McpServe {
        /// Serve Streamable HTTP at http://ADDR/mcp instead of stdio (127.0.0.1:0 picks a
        /// free port; the address is written to standard error once it listens).
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
    },
    /// Start an MCP server, list its tools, and write a starting integration config.
    McpProbe {
        /// Write the config to this file (the tool listing then goes to standard output;
        /// otherwise the config goes to standard output and the listing to standard error).
        #[arg(long)]
        output: Option<PathBuf>,
        /// A variable to start the server with, KEY=VALUE (repeatable).
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// Seconds the server may take to start and to answer.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// The server's command and arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
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
    Serve {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Role profile name (least-privilege, read-only-discovery, …) or a role .toml file.
        #[arg(long, default_value = "least-privilege")]
        role: String,
        /// The sign-in company code clients must send.
        #[arg(long, default_value = "northwind")]
        company_id: String,
        /// The API member's public key (default: a mock-only key, printed at start).
        #[arg(long)]
        public_key: Option<String>,
        /// The API member's private key (default: a mock-only key, printed at start).
        #[arg(long)]
        private_key: Option<String>,
        /// A client ID to require (default: any).
        #[arg(long)]
        client_id: Option<String>,
        /// Answer the first N API requests with 429 and `Retry-After: 1` (rate-limit drill).
        #[arg(long, default_value_t = 0)]
        rate_limit_first: usize,
        /// Wait this many milliseconds before every answer.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// The largest request body accepted, in bytes; a larger one is answered 413
        /// without being read into memory.
        #[arg(long, default_value_t = cw_conform::mock::server::DEFAULT_MAX_BODY_BYTES)]
        max_body_bytes: usize,
        /// A members file: several API members, each with its own role and keys, as a
        /// sandbox has them (instead of --role, --public-key and --private-key).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["public_key", "private_key"])]
        members: Option<PathBuf>,
    },
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
    /// Every rule: its ID, statement, source document and section.
    Rules {
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
    Docs {
        /// The folder to write into (created if missing).
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
        /// A run report, from `cw-conform run --format json --output FILE` (repeatable:
        /// each scenario shows its result in the latest run).
        #[arg(long, value_name = "FILE")]
        results: Vec<PathBuf>,
        /// Your own feature files or folders, as `run` takes them (default: the built-in
        /// features; repeatable).
        #[arg(long, value_name = "PATH")]
        features: Vec<PathBuf>,
        /// Role profiles or role files for the matrix, comma-separated (default: every
        /// shipped profile).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// The integration's name, shown on every page (default: the one the latest run
        /// report names, if any).
        #[arg(long, value_name = "NAME")]
        integration: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Join the JSON reports of a partitioned run's shards (`run --partition K/N --format
    /// json --output F`) into one report: verdicts, the coverage gate and the baseline are
    /// judged on the whole, and the exit code is the one the unpartitioned run would give.
    Merge {
        /// The shards' JSON reports, one per shard.
        #[arg(required = true, value_name = "SHARD.json")]
        shards: Vec<PathBuf>,
        /// Report format: pretty (the summary by rule), junit or json.
        #[arg(long, value_enum, default_value_t = Format::Pretty)]
        format: Format,
        /// Write the report to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Known failures, applied to the merged run (as `run --baseline`).
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
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
    Plan {
        /// Role profiles, role files or scenario roles (`scenario-1a2b3c4d`, as a left-out
        /// scenario names it), comma-separated (default: the roles the built-in scenarios
        /// need).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// markdown, or html for a person.
        #[arg(long, value_enum, default_value_t = PlanFormat::Markdown)]
        format: PlanFormat,
        /// Write the plan to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Find what earlier runs left on the sandbox (from their ledgers), list it, and
    /// remove it once confirmed; exit 0 when nothing is left, 1 when something is.
    Cleanup {
        /// The folder of the run ledgers.
        #[arg(long, value_name = "DIR", default_value = cw_conform::ledger::DEFAULT_DIR)]
        ledger_dir: PathBuf,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
        /// Only the run with this token (the 16 hexadecimal digits of its mark).
        #[arg(long)]
        token: Option<String>,
    },
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
    let fixtures = Fixtures::builtin()?;
    match command {
        Command::Run {
            tags,
            concurrency,
            quiet,
            color,
            formats,
            output,
            allow_writes,
            allow_existing_record_writes,
            ledger_dir,
            integration,
            integration_config,
            require_rules,
            partition,
            baseline,
            write_baseline,
            reuse_servers,
            mock_addr,
            paths,
        } => {
            let args = RunArgs {
                require_rules,
                partition,
                baseline,
                write_baseline,
                tags,
                concurrency,
                quiet,
                color: color.enabled(),
                outputs: commands::run::report_outputs(formats, output)?,
                writes: SandboxWrites::from_flags(allow_writes, allow_existing_record_writes)?,
                ledger_dir,
                integration,
                integration_config,
                paths,
                reuse_servers,
                mock_addr,
            };
            commands::run::run(args, fixtures).await
        }
        Command::McpServe { http } => commands::mcp::serve(fixtures, http).await,
        Command::McpProbe {
            output,
            env,
            timeout,
            command,
        } => {
            commands::mcp::probe(
                ProbeArgs {
                    output,
                    env,
                    timeout,
                    command,
                },
                fixtures,
            )
            .await
        }
        Command::Matrix { roles, format } => commands::inspect::matrix(&roles, format, fixtures),
        Command::Explain { action, role } => commands::inspect::explain(&action, &role, fixtures),
        Command::Audit {
            role,
            workflows,
            live,
        } => commands::inspect::audit(role.as_deref(), &workflows, live, fixtures).await,
        Command::Sandbox(SandboxCommand::Plan {
            roles,
            format,
            output,
        }) => commands::sandbox::plan(
            &commands::sandbox::PlanArgs {
                roles,
                format,
                output,
            },
            fixtures,
        ),
        Command::Sandbox(SandboxCommand::Cleanup {
            ledger_dir,
            yes,
            token,
        }) => {
            commands::sandbox::cleanup(commands::sandbox::CleanupArgs {
                ledger_dir,
                yes,
                token,
            })
            .await
        }
        Command::Steps { format } => commands::describe::steps(format),
        Command::Actions { format } => commands::describe::actions(fixtures, format),
        Command::Rules { format } => commands::describe::rules(fixtures, format),
        Command::Roles { name, format } => {
            commands::describe::roles(fixtures, name.as_deref(), format)
        }
        Command::Report(ReportCommand::Merge {
            shards,
            format,
            output,
            baseline,
        }) => commands::report::merge(
            &commands::report::MergeArgs {
                shards,
                format,
                output,
                baseline,
            },
            fixtures,
        ),
        Command::Features(FeaturesCommand::Export { dir, force }) => {
            commands::export::export(&dir, force)
        }
        Command::Docs {
            output,
            results,
            features,
            roles,
            integration,
        } => commands::docs::docs(
            commands::docs::DocsArgs {
                output,
                results,
                features,
                roles,
                integration,
            },
            fixtures,
        ),
        Command::Serve {
            port,
            role,
            company_id,
            public_key,
            private_key,
            client_id,
            rate_limit_first,
            delay_ms,
            max_body_bytes,
            members,
        } => {
            let args = ServeArgs {
                members,
                port,
                role,
                company_id,
                public_key,
                private_key,
                client_id,
                rate_limit_first,
                delay_ms,
                max_body_bytes,
            };
            commands::serve::serve(args, fixtures).await
        }
    }
}
