//! `cw-conform docs`: writes the living documentation (HTML and Markdown) into a folder.

use std::path::PathBuf;

use super::{CommandError, exit};
use crate::docs::{self, Documentation, Sources};
use crate::fixtures::Fixtures;
use crate::model::SecurityRole;

/// What `docs` is asked to write: the command line of `cw-conform docs`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DocsArgs {
    /// The folder to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// A run report, from `cw-conform run --format json --output FILE` (repeatable:
    /// each scenario shows its result in the latest run).
    #[arg(long, value_name = "FILE")]
    pub results: Vec<PathBuf>,
    /// Your own feature files or folders, as `run` takes them (default: the built-in
    /// features; repeatable).
    #[arg(long, value_name = "PATH")]
    pub features: Vec<PathBuf>,
    /// Role profiles or role files for the matrix, comma-separated (default: every
    /// shipped profile).
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// The integration's name, shown on every page (default: the one the latest run
    /// report names, if any).
    #[arg(long, value_name = "NAME")]
    pub integration: Option<String>,
}

/// Writes the site and prints the pages written.
pub fn docs(args: DocsArgs, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let roles: Vec<SecurityRole> = args
        .roles
        .iter()
        .map(|r| fixtures.role(r))
        .collect::<Result<_, _>>()?;
    let generated = docs::generation_date()?;
    let documentation = Documentation::gather(
        fixtures,
        Sources {
            features: args.features,
            results: args.results,
            roles,
            integration: args.integration,
        },
        generated,
    )?;
    let output = &args.output;
    std::fs::create_dir_all(output)
        .map_err(CommandError::io(format!("create {}", output.display())))?;
    let pages = docs::html::pages(&documentation, fixtures)
        .into_iter()
        .chain(docs::markdown::pages(&documentation, fixtures));
    for (name, content) in pages {
        let path = output.join(name);
        std::fs::write(&path, content)
            .map_err(CommandError::io(format!("write {}", path.display())))?;
        println!("{}", path.display());
    }
    Ok(exit::CONFORMS)
}
