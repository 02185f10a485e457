//! `cw-conform`: parse the command line, call the library, map the result to an exit code.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use cw_conform::connectwise::Secret;
use cw_conform::fixtures::Fixtures;
use cw_conform::harness::{self, RunOptions};
use cw_conform::mock::{ApiMember, MockConfig, MockConnectWise};
use cw_conform::report;

/// Everything conforms.
const EXIT_CONFORMS: u8 = 0;
/// At least one scenario failed.
const EXIT_FAILED: u8 = 1;
/// Bad usage, a fixture error or features that cannot be read.
const EXIT_USAGE: u8 = 2;

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
        /// Your own feature files or folders (default: the built-in features).
        paths: Vec<PathBuf>,
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
        /// The API member's public key.
        #[arg(long, default_value = "ai-integration-public")]
        public_key: String,
        /// The API member's private key (default: a mock-only key, printed at start).
        #[arg(long)]
        private_key: Option<String>,
        /// A client ID to require (default: any).
        #[arg(long)]
        client_id: Option<String>,
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
            paths,
        } => {
            let whole_suite = tags.is_none() && paths.is_empty();
            let options = RunOptions {
                tags,
                paths,
                concurrency,
                color,
                progress: !quiet,
            };
            let summary = harness::run(&options, Box::new(std::io::stdout())).await?;
            print!(
                "{}",
                report::render_text(&summary, &fixtures.rules, whole_suite)
            );
            if summary.scenarios.is_empty() && summary.parse_errors.is_empty() {
                eprintln!("error: no scenario matched");
                return Ok(EXIT_USAGE);
            }
            let conforms = report::conforms(&summary, &fixtures.rules, whole_suite);
            Ok(if conforms { EXIT_CONFORMS } else { EXIT_FAILED })
        }
        Command::Serve {
            port,
            role,
            company_id,
            public_key,
            private_key,
            client_id,
        } => {
            let role = fixtures.role(&role)?;
            let listener = TcpListener::bind(("127.0.0.1", port))
                .map_err(|e| anyhow::anyhow!("failed to bind 127.0.0.1:{port}: {e}"))?;
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
                ..MockConfig::default()
            };
            let mock =
                MockConnectWise::start_on(listener, Arc::new(fixtures.clone()), config).await;
            println!("Mock ConnectWise serving at {}", mock.site());
            println!("  REST base URL: {}", mock.api_url());
            println!("  company ID:    {company_id}");
            println!("  public key:    {public_key}");
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
