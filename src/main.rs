//! `cw-conform`: parse the command line, call the library, map the result to an exit code.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use cw_conform::connectwise::Secret;
use cw_conform::fixtures::Fixtures;
use cw_conform::harness::sandbox::SandboxRun;
use cw_conform::harness::{self, IntegrationUnderTest, RunOptions};
use cw_conform::integration::mcp::{self, IntegrationConfig};
use cw_conform::mock::{ApiMember, Fault, MockConfig, MockConnectWise};
use cw_conform::target::Sandbox;
use cw_conform::{audit, oracle, report, target};

/// Everything conforms.
const EXIT_CONFORMS: u8 = 0;
/// At least one scenario failed.
const EXIT_FAILED: u8 = 1;
/// Bad usage, a fixture error, a bad environment variable or features that cannot be read.
const EXIT_USAGE: u8 = 2;
/// The run was interrupted (Ctrl-C); what it created on a sandbox was removed.
const EXIT_INTERRUPTED: u8 = 130;

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
        /// Scenarios run at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Do not print the step-by-step progress, only the report.
        #[arg(long)]
        quiet: bool,
        /// Colour the progress display.
        #[arg(long)]
        color: bool,
        /// Report format: pretty (the summary by rule), junit or json.
        #[arg(long, value_enum, default_value_t = Format::Pretty)]
        format: Format,
        /// Write the report to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Against a sandbox: let scenarios that write run (everything created is marked
        /// and removed afterwards).
        #[arg(long)]
        allow_writes: bool,
        /// The integration the scenarios drive: the built-in reference integration, or an
        /// MCP server described by --integration-config.
        #[arg(long, value_enum, default_value_t = IntegrationKind::Reference)]
        integration: IntegrationKind,
        /// The integration config of an MCP server (see fixtures/mcp/).
        #[arg(long, value_name = "FILE")]
        integration_config: Option<PathBuf>,
        /// Your own feature files or folders (default: the built-in features).
        paths: Vec<PathBuf>,
    },
    /// Serve the reference integration as an MCP server over stdio, for the API member the
    /// CONNECTWISE_* variables name.
    McpServe,
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
    },
}

/// Report formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Pretty,
    Junit,
    Json,
}

/// The integrations `run` can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum IntegrationKind {
    Reference,
    Mcp,
}

/// Formats of `matrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MatrixFormat {
    Markdown,
    Html,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `.env` is read before any thread starts, as setting the environment requires.
    target::load_dotenv();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

async fn execute(command: Command) -> anyhow::Result<u8> {
    let fixtures = Fixtures::builtin()?;
    match command {
        Command::Run {
            tags,
            concurrency,
            quiet,
            color,
            format,
            output,
            allow_writes,
            integration,
            integration_config,
            paths,
        } => {
            let config = match (integration, integration_config) {
                (IntegrationKind::Mcp, Some(path)) => {
                    Some(Arc::new(IntegrationConfig::load(&path, &fixtures.actions)?))
                }
                (IntegrationKind::Mcp, None) => {
                    anyhow::bail!("--integration mcp needs --integration-config FILE")
                }
                (IntegrationKind::Reference, Some(_)) => {
                    anyhow::bail!("--integration-config is for --integration mcp")
                }
                (IntegrationKind::Reference, None) => None,
            };
            if config.is_some() && Sandbox::requested() {
                anyhow::bail!(
                    "an MCP integration is judged by what the mock ConnectWise receives; unset CONNECTWISE_SITE to run it"
                );
            }
            let sandbox = if Sandbox::requested() {
                Some(Arc::new(SandboxRun {
                    sandbox: Sandbox::from_env()?,
                    allow_writes,
                }))
            } else {
                None
            };
            let whole_suite = tags.is_none() && paths.is_empty();
            // A machine-readable report on standard output leaves no room for progress.
            let progress = !quiet && (format == Format::Pretty || output.is_some());
            // A sandbox run cannot check every rule: some scenarios need the mock.
            let whole_suite = whole_suite && sandbox.is_none();
            let options = RunOptions {
                tags,
                paths,
                concurrency,
                color,
                progress,
                sandbox,
                integration: config
                    .clone()
                    .map_or(IntegrationUnderTest::Reference, IntegrationUnderTest::Mcp),
            };
            let summary = tokio::select! {
                summary = harness::run(&options, Box::new(std::io::stdout())) => summary?,
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("interrupted: removing what the run created on the sandbox…");
                    harness::sandbox::clean_up(None).await;
                    harness::sandbox::sweep_marked(fixtures).await;
                    let left = harness::sandbox::left_behind();
                    if left.is_empty() {
                        eprintln!("cleaned up: nothing was left behind");
                    } else {
                        eprintln!("could not remove {} record(s):", left.len());
                        for record in &left {
                            eprintln!("  {record}");
                        }
                    }
                    return Ok(EXIT_INTERRUPTED);
                }
            };
            // Rules whose scenarios ask only for actions an MCP integration does not offer
            // are not applicable: its own report judges coverage.
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
            let rendered = match format {
                Format::Pretty => text.clone(),
                Format::Junit => report::junit::render(&summary, &fixtures.rules, gate),
                Format::Json => report::json::render(&summary, &fixtures.rules, gate),
            };
            match &output {
                Some(path) => {
                    std::fs::write(path, &rendered)
                        .map_err(|e| anyhow::anyhow!("failed to write {}: {e}", path.display()))?;
                    print!("{text}");
                }
                None => print!("{rendered}"),
            }
            if summary.scenarios.is_empty() && summary.parse_errors.is_empty() {
                eprintln!("error: no scenario matched");
                return Ok(EXIT_USAGE);
            }
            let conforms = report::conforms(&summary, &fixtures.rules, gate)
                && (config.is_none()
                    || mcp::report::conforms(&summary, &fixtures.rules, whole_suite));
            Ok(if conforms { EXIT_CONFORMS } else { EXIT_FAILED })
        }
        Command::McpServe => {
            let settings = mcp::server::ServeSettings::from_vars(&|name| std::env::var(name).ok())?;
            eprintln!(
                "cw-conform mcp-serve: the reference integration for {} (company {}) on stdio",
                settings.credentials.site, settings.credentials.company_id
            );
            mcp::server::serve_stdio(Arc::new(fixtures.clone()), settings).await?;
            Ok(EXIT_CONFORMS)
        }
        Command::McpProbe {
            output,
            env,
            timeout,
            command,
        } => {
            let mut env_pairs = Vec::new();
            for pair in env {
                let Some((key, value)) = pair.split_once('=') else {
                    anyhow::bail!("--env takes KEY=VALUE, not \"{pair}\"");
                };
                env_pairs.push((key.to_owned(), value.to_owned()));
            }
            let Some((program, args)) = command.split_first() else {
                anyhow::bail!("give the server's command after --");
            };
            let request = mcp::probe::ProbeRequest {
                command: program.clone(),
                args: args.to_vec(),
                env: env_pairs,
                timeout: std::time::Duration::from_secs(timeout.max(1)),
            };
            let probed = match mcp::probe::probe(&request).await {
                Ok(probed) => probed,
                Err(failure) => {
                    eprintln!("error: {failure}");
                    return Ok(EXIT_FAILED);
                }
            };
            let listing = mcp::probe::listing(&probed);
            let config = mcp::probe::starting_config(&probed, &request, &fixtures.actions);
            if let Some(path) = &output {
                std::fs::write(path, &config)
                    .map_err(|e| anyhow::anyhow!("failed to write {}: {e}", path.display()))?;
                print!("{listing}");
                println!(
                    "\nWrote a starting integration config to {}",
                    path.display()
                );
            } else {
                eprint!("{listing}");
                print!("{config}");
            }
            Ok(EXIT_CONFORMS)
        }
        Command::Matrix { roles, format } => {
            let roles = if roles.is_empty() {
                fixtures.roles.values().cloned().collect()
            } else {
                roles
                    .iter()
                    .map(|r| fixtures.role(r))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let rendered = match format {
                MatrixFormat::Markdown => report::matrix::markdown(fixtures, &roles),
                MatrixFormat::Html => report::matrix::html(fixtures, &roles),
            };
            print!("{rendered}");
            Ok(EXIT_CONFORMS)
        }
        Command::Explain { action, role } => {
            let found = fixtures
                .actions
                .get(&action)
                .or_else(|| fixtures.actions.by_phrase(&action));
            let Some(found) = found else {
                let known: Vec<&str> = fixtures.actions.iter().map(|a| a.name.as_str()).collect();
                anyhow::bail!(
                    "unknown action \"{action}\" (expected one of {})",
                    known.join(", ")
                );
            };
            let role = fixtures.role(&role)?;
            print!("{}", oracle::explain(fixtures, found, &role));
            Ok(EXIT_CONFORMS)
        }
        Command::Audit {
            role,
            workflows,
            live,
        } => {
            let known = fixtures.actions.workflows();
            if let Some(unknown) = workflows.iter().find(|w| !known.contains(&w.as_str())) {
                anyhow::bail!(
                    "unknown workflow \"{unknown}\" (expected one of {})",
                    known.join(", ")
                );
            }
            let (name, findings) = match (role, live) {
                (Some(role), false) => {
                    let role = fixtures.role(&role)?;
                    let findings = audit::audit_role(fixtures, &role, &workflows);
                    (role.name, findings)
                }
                (None, true) => {
                    let settings = target::Sandbox::from_env()?;
                    let client = settings.client_for_default().await?;
                    let (_, findings) = audit::audit_live(fixtures, &client, &workflows).await?;
                    ("the sandbox API member".to_owned(), findings)
                }
                _ => anyhow::bail!("give either a role (name or file) or --live"),
            };
            if findings.is_empty() {
                println!("{name}: no findings");
                return Ok(EXIT_CONFORMS);
            }
            println!("{name}: {} finding(s)", findings.len());
            for finding in &findings {
                println!("  {finding}");
            }
            Ok(EXIT_FAILED)
        }
        Command::Serve {
            port,
            role,
            company_id,
            public_key,
            private_key,
            client_id,
            rate_limit_first,
            delay_ms,
        } => {
            let role = fixtures.role(&role)?;
            let listener = TcpListener::bind(("127.0.0.1", port))
                .map_err(|e| anyhow::anyhow!("failed to bind 127.0.0.1:{port}: {e}"))?;
            // Keys are printed only when the mock chose them: a key you gave stays yours.
            let shown_public = public_key.is_none();
            let public_key = public_key.unwrap_or_else(|| "ai-integration-public".to_owned());
            let shown_private = private_key.is_none();
            let private_key = private_key.unwrap_or_else(|| "ai-integration-private".to_owned());
            let member = ApiMember {
                identifier: "ai-integration".to_owned(),
                public_key: public_key.clone(),
                private_key: Secret::new(private_key.clone()),
                role: role.clone(),
            };
            let config = MockConfig {
                company_id: company_id.clone(),
                client_ids: client_id.iter().cloned().collect(),
                members: vec![member],
                delay: (delay_ms > 0).then(|| std::time::Duration::from_millis(delay_ms)),
                ..MockConfig::default()
            };
            let mock =
                MockConnectWise::start_on(listener, Arc::new(fixtures.clone()), config).await;
            if rate_limit_first > 0 {
                mock.inject_fault(Fault {
                    status: 429,
                    retry_after: Some(1),
                    times: rate_limit_first,
                });
            }
            println!("Mock ConnectWise serving at {}", mock.site());
            println!("  REST base URL: {}", mock.api_url());
            println!("  company ID:    {company_id}");
            if shown_public {
                println!("  public key:    {public_key}  (mock-only default)");
            } else {
                println!("  public key:    (the one you gave)");
            }
            if shown_private {
                println!("  private key:   {private_key}  (mock-only default)");
            } else {
                println!("  private key:   (the one you gave)");
            }
            println!(
                "  client ID:     {}",
                client_id.as_deref().unwrap_or("any non-empty value")
            );
            println!("  member:        ai-integration, role \"{}\"", role.name);
            println!("Press Ctrl-C to stop.");
            tokio::signal::ctrl_c().await?;
            mock.shutdown();
            Ok(EXIT_CONFORMS)
        }
    }
}
