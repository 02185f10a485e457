//! `cw-conform mcp-serve` and `cw-conform mcp-probe`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{CommandError, exit};
use crate::fixtures::Fixtures;
use crate::integration::mcp;

/// Serves the reference integration as an MCP server, for the API member the
/// `CONNECTWISE_*` variables name: over stdio, or over Streamable HTTP at
/// `http://ADDRESS/mcp` when `http` gives an address.
pub async fn serve(
    fixtures: &Fixtures,
    http: Option<std::net::SocketAddr>,
) -> Result<u8, CommandError> {
    let settings =
        mcp::server::ServeSettings::from_environment(&crate::target::Environment::load()?)?;
    eprintln!(
        "cw-conform mcp-serve: the reference integration for {} (company {}) on {}",
        crate::connectwise::redacted_url(&settings.credentials.site),
        settings.credentials.company_id,
        http.map_or_else(|| "stdio".to_owned(), |a| format!("Streamable HTTP ({a})"))
    );
    let fixtures = Arc::new(fixtures.clone());
    match http {
        Some(address) => mcp::server::serve_http(fixtures, settings, address).await?,
        None => mcp::server::serve_stdio(fixtures, settings).await?,
    }
    Ok(exit::CONFORMS)
}

/// What `mcp-probe` was asked to do: the command line of `cw-conform mcp-probe`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// Write the config to this file (the tool listing then goes to standard output;
    /// otherwise the config goes to standard output and the listing to standard error).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// A variable to start the server with, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Seconds the server may take to start and to answer.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// The server's command and arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Starts a server, lists its tools, and writes a starting integration config.
pub async fn probe(args: ProbeArgs, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let env = args
        .env
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .ok_or_else(|| {
                    CommandError::Usage(format!("--env takes KEY=VALUE, not \"{pair}\""))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Some((program, rest)) = args.command.split_first() else {
        return Err(CommandError::Usage(
            "give the server's command after --".into(),
        ));
    };
    let request = mcp::probe::ProbeRequest {
        command: program.clone(),
        args: rest.to_vec(),
        env,
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let probed = match mcp::probe::probe(&request).await {
        Ok(probed) => probed,
        Err(failure) => {
            eprintln!("error: {failure}");
            return Ok(exit::FAILED);
        }
    };
    let listing = mcp::probe::listing(&probed);
    let config = mcp::probe::starting_config(&probed, &request, &fixtures.actions);
    if let Some(path) = &args.output {
        std::fs::write(path, &config)
            .map_err(CommandError::io(format!("write {}", path.display())))?;
        print!("{listing}");
        println!(
            "\nWrote a starting integration config to {}",
            path.display()
        );
    } else {
        eprint!("{listing}");
        print!("{config}");
    }
    Ok(exit::CONFORMS)
}
