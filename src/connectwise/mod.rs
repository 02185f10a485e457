//! What the harness knows about ConnectWise itself: credentials, the wire error shape,
//! the endpoint-to-security-function map, and an HTTP client.
//!
//! Shared by the mock (which plays ConnectWise) and the reference integration (which
//! talks to it). Nothing here knows about Gherkin or the AI side.

pub mod behaviour;
pub mod body;
pub mod client;
pub mod credentials;
pub mod error;
pub mod http;
pub mod journal;
pub mod security;

pub use client::{Client, ClientError, Emulation, RateLimit, Recorder, Response, WriteGate};
pub use credentials::{Credentials, Secret, redacted_url};
pub use error::ErrorBody;
pub use journal::JournalEntry;

/// The path prefix of ConnectWise's REST API on the router codebase.
pub const API_PREFIX: &str = "/v4_6_release/apis/3.0";
