//! How the harness reaches a server: over the standard input and output of a process it
//! starts, or over Streamable HTTP, at a URL where a process it starts listens (on a free
//! port of 127.0.0.1 it chose) or where a server already runs.
//!
//! - [`Reach`]: the three ways, as [`super::client`] connects through them.
//! - [`free_port`]: the port a started HTTP server is given through `{port}`.
//! - [`until_listening`]: waits until a started server's port takes connections (or its
//!   process ends); the caller bounds the wait with the start-up timeout.
//! - [`http_client`]: rmcp's Streamable HTTP client, holding each JSON reply and each SSE
//!   event to [`MAX_MESSAGE_BYTES`] like a line of stdio.
//!
//! This module knows nothing of scenarios or judging.

use std::time::Duration;

use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpClientTransportConfig,
};

use super::process::{Launch, MAX_MESSAGE_BYTES, ServerProcess};

/// How the harness reaches a server.
#[derive(Debug)]
pub enum Reach<'a> {
    /// A process it starts, speaking JSON-RPC over its standard input and output.
    Stdio(&'a Launch),
    /// A process it starts, listening for Streamable HTTP at `url` (its port filled in).
    StartedHttp {
        /// The process.
        launch: &'a Launch,
        /// The MCP endpoint.
        url: String,
    },
    /// A server already running at `url`: nothing to start, nothing to kill.
    RunningHttp {
        /// The MCP endpoint.
        url: String,
    },
}

/// How long to wait between attempts to connect to a started server's port.
const LISTEN_POLL: Duration = Duration::from_millis(20);

/// A port of 127.0.0.1 free now, for a server the harness starts. (Another process could
/// take it before the server does; the server then fails to listen, and says so on its
/// standard error, which the failure shows.)
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something takes connections at the host and port of `url`, or the server's
/// process ends (`Err` with how). Unbounded: the caller bounds it.
pub async fn until_listening(url: &str, process: &ServerProcess) -> Result<(), String> {
    let Some(address) = url::Url::parse(url).ok().and_then(|u| {
        let host = u.host_str()?.trim_matches(|c| c == '[' || c == ']').to_owned();
        Some((host, u.port_or_known_default()?))
    }) else {
        return Err(format!("\"{url}\" is not a URL with a host and a port"));
    };
    loop {
        if let Some(status) = process.exit_status() {
            return Err(format!("the server process ended before it listened: {status}"));
        }
        if tokio::net::TcpStream::connect((address.0.as_str(), address.1))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(LISTEN_POLL).await;
    }
}

/// rmcp's Streamable HTTP client for `url`: replies and SSE events bounded like a stdio
/// line, no silent reconnection to a new session (a server that lost its session broke the
/// scenario's connection, and says so).
pub fn http_client(url: &str) -> StreamableHttpClientTransport<impl StreamableHttpClient> {
    // The client's TLS uses the ring provider; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned())
        .max_json_response_size(MAX_MESSAGE_BYTES)
        .max_sse_event_size(MAX_MESSAGE_BYTES)
        .reinit_on_expired_session(false);
    StreamableHttpClientTransport::from_config(config)
}
