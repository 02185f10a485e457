//! Integrations shipped as MCP servers (Model Context Protocol: JSON-RPC over stdio, or
//! Streamable HTTP).
//!
//! - [`config`]: the integration config (how to start a server or where it runs, its
//!   environment template, the tool and argument template for each harness action),
//!   validated on load.
//! - [`transport`]: how a server is reached: stdio, or Streamable HTTP at a port the harness
//!   chose for it or at the URL where it already runs.
//! - [`client`]: [`McpIntegration`], the [`super::Integration`] that drives a server for one
//!   scenario's API member and judges each call.
//! - [`judge`]: judging by what happened (the mock's journal) together with the tool result.
//! - [`reply`]: reading a tool result: the records it returns in any common form, and the
//!   message in which it refuses or reports a failure.
//! - [`process`]: the server's process: started from an environment of essentials and what
//!   the config passes, its output checked and bounded (16 MiB a line), its stderr tail kept,
//!   and on teardown its process group, its marked processes and its descendants killed.
//! - [`probe`]: `cw-conform mcp-probe`, which lists a server's tools and writes a starting
//!   config.
//! - [`server`]: `cw-conform mcp-serve`, the reference integration as an MCP server (over
//!   stdio, or Streamable HTTP with `--http`).
//! - [`shared`]: servers kept across scenarios (`run --reuse-servers`), one per credential
//!   set, each reaching the scenario that holds it through a relay the harness controls;
//!   and a server already running, given one fixed relay address (`run --mock-addr`).
//! - [`redact`]: the [`Redactor`] that hides every form of the API member's secrets in what
//!   a server controls.
//!
//! This module knows the AI side and MCP; it knows nothing of Gherkin nor of a run's
//! results (the per-integration report is `crate::report::integration`).

pub mod client;
pub mod config;
pub mod judge;
pub mod probe;
pub mod process;
pub mod redact;
pub mod reply;
pub mod server;
pub mod shared;
pub mod transport;

pub use client::{McpIntegration, ServerFailure, StartupSlots};
pub use config::{ConfigError, IntegrationConfig};
pub use redact::Redactor;
