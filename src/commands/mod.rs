//! The commands of the `cw-conform` binary, as library functions: each takes plain
//! arguments (no command-line parsing here), writes its own output, and returns the exit
//! code. `src/main.rs` only parses the command line and calls them.

pub mod describe;
pub mod docs;
pub mod export;
pub mod inspect;
pub mod mcp;
pub mod parity;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod serve;
pub mod terminal;

use crate::audit::LiveAuditError;
use crate::fixtures::FixtureError;
use crate::harness::RunError;
use crate::integration::mcp::server::ServeError;
use crate::integration::mcp::{ConfigError, ServerFailure};
use crate::target::TargetError;

/// The documented exit codes.
pub mod exit {
    /// Everything conforms (or the command did what it was asked).
    pub const CONFORMS: u8 = 0;
    /// At least one scenario failed, the rule coverage gate failed, or an audit found
    /// something.
    pub const FAILED: u8 = 1;
    /// Bad usage, a fixture error, a bad environment variable, or a feature error (a
    /// feature file that cannot be read, is not valid Gherkin, or has a block that checks
    /// nothing).
    pub const USAGE: u8 = 2;
    /// The run was interrupted (Ctrl-C); what it created on a sandbox was removed.
    pub const INTERRUPTED: u8 = 130;
}

/// A command that could not do its work (exit code [`exit::USAGE`]).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The arguments do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A fixture (or a role file given by path) is malformed.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    /// The features could not be run.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A sandbox setting is missing or malformed.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The sandbox is not ready to run against (its preflight found problems).
    #[error(transparent)]
    Preflight(#[from] crate::harness::sandbox::PreflightFailed),
    /// A live audit could not read the API member's settings.
    #[error(transparent)]
    Audit(#[from] LiveAuditError),
    /// An MCP integration config is malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `mcp-serve` could not start or serve.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// An MCP server misbehaved.
    #[error(transparent)]
    Server(#[from] ServerFailure),
    /// A baseline of known failures is malformed.
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    /// Shard reports could not be merged.
    #[error(transparent)]
    Merge(#[from] crate::report::merge::MergeError),
    /// The living documentation could not be made.
    #[error(transparent)]
    Docs(#[from] crate::docs::DocsError),
    /// A file could not be written, or a port bound.
    #[error("failed to {what}: {source}")]
    Io {
        /// What was being done (`write reports/x.xml`).
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl CommandError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CommandError {
        let what = what.into();
        move |source| CommandError::Io { what, source }
    }
}
