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

use std::collections::HashMap;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use rmcp::service::ClientInitializeError;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
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

/// Ports below the range the system hands out for port 0 (the mocks' and every client's
/// own ports): one chosen here is not taken by a socket of the run in the moment between
/// the choice and the server's listening on it. Linux's range, else the common default.
fn unhanded_ports() -> std::ops::Range<u16> {
    let first_handed = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    first_handed.saturating_sub(12_000).max(1024)..first_handed
}

/// A port of 127.0.0.1 free now, for a server the harness starts: a random one below the
/// range handed out for port 0 ([`unhanded_ports`]), so no mock or client of the run takes
/// it first. (Another program could; the server then fails to listen, says so on its
/// standard error, and the failure shows it.)
pub fn free_port() -> std::io::Result<u16> {
    use std::hash::{BuildHasher, Hasher};
    let ports = unhanded_ports();
    let span = u64::from(ports.end - ports.start);
    for attempt in 0..64u64 {
        if span == 0 {
            break;
        }
        let mut random = std::collections::hash_map::RandomState::new().build_hasher();
        random.write_u64(attempt);
        let offset = u16::try_from(random.finish() % span).unwrap_or_default();
        let port = ports.start + offset;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something takes connections at the host and port of `url`, or the server's
/// process ends (`Err` with how). Unbounded: the caller bounds it.
pub async fn until_listening(url: &str, process: &ServerProcess) -> Result<(), String> {
    let Some(address) = url::Url::parse(url).ok().and_then(|u| {
        let host = u
            .host_str()?
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned();
        Some((host, u.port_or_known_default()?))
    }) else {
        return Err(format!("\"{url}\" is not a URL with a host and a port"));
    };
    loop {
        if let Some(status) = process.exit_status() {
            return Err(format!(
                "the server process ended before it listened: {status}"
            ));
        }
        if tokio::net::TcpStream::connect((address.0.as_str(), address.1))
            .await
            .is_ok()
            && process.exit_status().is_none()
        {
            return Ok(());
        }
        tokio::time::sleep(LISTEN_POLL).await;
    }
}

/// rmcp's Streamable HTTP client for `url`, sending `headers` (the config's
/// `[server.headers]`, filled in) with every request: replies and SSE events bounded like a
/// stdio line, no silent reconnection to a new session (a server that lost its session broke
/// the scenario's connection, and says so). `Err` names a header whose value is not one a
/// request can carry (never the value: it may be a secret).
pub fn http_client(
    url: &str,
    headers: &[(String, String)],
) -> Result<StreamableHttpClientTransport<impl StreamableHttpClient>, String> {
    // The client's TLS uses the ring provider; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut custom = HashMap::new();
    for (name, value) in headers {
        let name_of = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("the header \"{name}\": not an HTTP header name"))?;
        let mut value_of = HeaderValue::from_str(value).map_err(|_| {
            format!("the header {name}: its value holds a line break or another control character")
        })?;
        value_of.set_sensitive(true);
        custom.insert(name_of, value_of);
    }
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned())
        .max_json_response_size(MAX_MESSAGE_BYTES)
        .max_sse_event_size(MAX_MESSAGE_BYTES)
        .reinit_on_expired_session(false)
        .custom_headers(custom);
    Ok(StreamableHttpClientTransport::from_config(config))
}

/// How a server refused the harness's connection, if it did: the HTTP status of a refusal
/// for want of a credential (`401 Unauthorized`), or of one the credential does not allow
/// (`403 Forbidden`).
pub type Refusal = fn(&ClientInitializeError) -> Option<&'static str>;

/// The [`Refusal`] of the client of `transport` (whose error type only it names).
pub fn refusal<C: StreamableHttpClient>(_transport: &StreamableHttpClientTransport<C>) -> Refusal {
    refusal_of::<C::Error>
}

fn refusal_of<E: std::error::Error + Send + Sync + 'static>(
    error: &ClientInitializeError,
) -> Option<&'static str> {
    let ClientInitializeError::TransportError { error, .. } = error else {
        return None;
    };
    match error.error.downcast_ref::<StreamableHttpError<E>>()? {
        StreamableHttpError::AuthRequired(_) => Some("401 Unauthorized"),
        StreamableHttpError::InsufficientScope(_) => Some("403 Forbidden"),
        StreamableHttpError::HttpStatus(status) => match status.status {
            401 => Some("401 Unauthorized"),
            403 => Some("403 Forbidden"),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chosen_port_is_free_and_outside_the_range_handed_out_for_port_0() {
        let ports = unhanded_ports();
        assert!(ports.start >= 1024 && ports.start < ports.end, "{ports:?}");
        let port = free_port().unwrap();
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let handed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(!ports.contains(&handed.local_addr().unwrap().port()));
    }
}
