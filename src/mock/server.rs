//! The HTTP/1.1 server the mock runs on, for each scenario and for `cw-conform serve`: a
//! small hyper server, a task of the caller's runtime, that holds every request to
//! [`Limits`] before the responder sees it.
//!
//! Why not wiremock: a wiremock server starts an OS thread and a runtime of its own, and
//! wiremock 0.6 collects every request body whole
//! before matching (`Request::from_hyper` calls `body.collect()`, with no size limit), and
//! each `MountedMock` keeps a clone of every request it matched, headers and body, in
//! `matched_requests` for `received_requests` and verification, even when request recording
//! is disabled (that switch only turns off the server-wide `received_requests` list). A
//! long-running `serve` would grow by every request it answers, and one large body is
//! buffered whole before anything can refuse it. Here:
//!
//! - the request target may be at most [`Limits::max_url_bytes`] long (414), and the
//!   headers at most [`Limits::max_header_count`] fields and [`Limits::max_header_bytes`]
//!   bytes (431), all answered in ConnectWise's error shape. hyper's own buffer
//!   ([`HEAD_BUFFER_BYTES`]) is larger than these, so a long-but-allowed URL is served and a
//!   longer one gets the 414 rather than a dropped connection; a head beyond even hyper's
//!   buffer (or a URL beyond hyper's 65,534 bytes) gets hyper's own bare 431 or 414;
//! - a body longer than [`Limits::max_body_bytes`] gets 413: at once when `Content-Length`
//!   says so, otherwise as soon as a chunked body passes the limit; it is never buffered
//!   beyond the limit;
//! - the body of a request the responder answers from its head alone (a failed
//!   authentication, an unknown path, a fault) is never read into memory;
//! - a body the server will not use is read and thrown away (at most [`DRAIN_BYTES`], for
//!   at most [`DRAIN_TIME`]) so the client can read the answer before the connection closes,
//!   unless the client waits for `100 Continue`: then it is never invited to send it;
//! - nothing is kept per request: the journal is bounded by its
//!   [`Retention`](super::Retention).
//!
//! It binds wherever the caller's listener is bound (`serve` binds 127.0.0.1).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, EXPECT, HeaderMap};
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use url::Url;

use super::responder::{Admission, Answer, ConnectWise, Request};
use crate::connectwise::error::ErrorBody;

/// The default [`Limits::max_body_bytes`]: 10 MiB, room for any JSON write and a document
/// upload of a few megabytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The default [`Limits::max_url_bytes`]: 16 KiB of path and query.
pub const DEFAULT_MAX_URL_BYTES: usize = 16 * 1024;

/// The default [`Limits::max_header_count`].
pub const DEFAULT_MAX_HEADER_COUNT: usize = 100;

/// The default [`Limits::max_header_bytes`]: 64 KiB of header names and values.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;

/// The default [`Limits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// hyper's read buffer per connection: a whole request head must fit in it. Larger than
/// the default URL and header limits together, so those are answered by this server in
/// ConnectWise's shape rather than by hyper.
pub const HEAD_BUFFER_BYTES: usize = 256 * 1024;

/// How many header fields hyper parses before refusing a head on its own.
const HEAD_FIELDS: usize = 4 * DEFAULT_MAX_HEADER_COUNT;

/// How long a client may take to send a request head.
const HEAD_READ_TIME: Duration = Duration::from_secs(30);

/// The most of an unused body read and thrown away before the connection is closed.
pub const DRAIN_BYTES: usize = 1024 * 1024 * 1024;

/// The longest an unused body is read and thrown away before the connection is closed.
pub const DRAIN_TIME: Duration = Duration::from_secs(30);

/// What the server holds every request to before the responder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body in bytes; a larger one gets 413 and is not buffered.
    pub max_body_bytes: usize,
    /// The longest request target (path and query) in bytes; a longer one gets 414.
    pub max_url_bytes: usize,
    /// The most header fields; more get 431.
    pub max_header_count: usize,
    /// The most bytes of header names and values together; more get 431.
    pub max_header_bytes: usize,
    /// How many connections are served at once; further ones wait to be accepted.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_url_bytes: DEFAULT_MAX_URL_BYTES,
            max_header_count: DEFAULT_MAX_HEADER_COUNT,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl Limits {
    /// The answer to a head beyond the URL or header limits.
    fn refuse_head(&self, parts: &Parts) -> Option<Answer> {
        let target = parts
            .uri
            .path_and_query()
            .map_or(0, |target| target.as_str().len());
        if target > self.max_url_bytes {
            return Some(Answer::uri_too_long(target, self.max_url_bytes));
        }
        let count = parts.headers.len();
        if count > self.max_header_count {
            return Some(headers_too_large(format!(
                "The request has {count} header fields; at most {} are allowed.",
                self.max_header_count
            )));
        }
        let bytes = header_bytes(&parts.headers);
        if bytes > self.max_header_bytes {
            return Some(headers_too_large(format!(
                "The request headers are {bytes} bytes long; at most {} are allowed.",
                self.max_header_bytes
            )));
        }
        None
    }

    /// The answer to a body of `length` bytes, when that is beyond the limit.
    fn refuse_body(&self, length: usize) -> Option<Answer> {
        (length > self.max_body_bytes).then(|| {
            Answer::error(
                413,
                &ErrorBody::new(
                    "RequestTooLarge",
                    format!(
                        "The request body is {length} bytes long; at most {} are allowed.",
                        self.max_body_bytes
                    ),
                ),
            )
        })
    }

    /// The answer to a chunked body that went past the limit.
    fn refuse_unbounded_body(&self) -> Answer {
        Answer::error(
            413,
            &ErrorBody::new(
                "RequestTooLarge",
                format!(
                    "The request body is longer than the {} bytes allowed.",
                    self.max_body_bytes
                ),
            ),
        )
    }
}

fn headers_too_large(message: String) -> Answer {
    Answer::error(431, &ErrorBody::new("RequestHeaderFieldsTooLarge", message))
}

/// The bytes of every header name and value.
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
}

/// A running server; stops accepting when [`stop`](Self::stop) is called or it is dropped.
#[derive(Debug)]
pub(crate) struct Server {
    address: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Server {
    /// Serves `responder` on `listener` from a task of its own.
    pub(crate) fn start(
        listener: std::net::TcpListener,
        responder: ConnectWise,
        limits: Limits,
    ) -> std::io::Result<Server> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let address = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let site = Site {
            responder,
            limits,
            address,
        };
        tokio::spawn(accept(listener, Arc::new(site), stopped));
        Ok(Server { address, stop })
    }

    /// The address it listens on.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting connections.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What every connection shares.
struct Site {
    responder: ConnectWise,
    limits: Limits,
    address: SocketAddr,
}

async fn accept(listener: TcpListener, site: Arc<Site>, mut stopped: watch::Receiver<bool>) {
    let connections = Arc::new(Semaphore::new(site.limits.max_connections.max(1)));
    loop {
        // The only change ever sent is the stop; a dropped sender stops too.
        let permit = tokio::select! {
            _ = stopped.changed() => return,
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => accepted.map(|(stream, _)| (stream, permit)),
        };
        match accepted {
            Ok((stream, permit)) => {
                tokio::spawn(serve_connection(
                    stream,
                    Arc::clone(&site),
                    permit,
                    stopped.clone(),
                ));
            }
            // Out of file descriptors, say: let connections close before trying again.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Serves one connection until the client closes it or the server stops: a stopped
/// mock answers nothing more, even on a connection kept alive.
async fn serve_connection(
    stream: TcpStream,
    site: Arc<Site>,
    _permit: OwnedSemaphorePermit,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let site = Arc::clone(&site);
        async move { Ok::<_, Infallible>(exchange(&site, request).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_READ_TIME)
        .max_buf_size(HEAD_BUFFER_BYTES)
        .max_headers(HEAD_FIELDS)
        .serve_connection(TokioIo::new(stream), service);
    // A broken or refused connection ends here; the client has had its answer or hung up.
    tokio::select! {
        _ = connection => {}
        _ = stopped.wait_for(|stop| *stop) => {}
    }
}

/// One request and its answer.
async fn exchange(site: &Site, request: hyper::Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, mut body) = request.into_parts();
    let waits_to_send = expects_continue(&parts.headers);
    let answer = match answer(site, &parts, &mut body).await {
        Ok(answer) => {
            if let Some(delay) = site.responder.delay() {
                tokio::time::sleep(delay).await;
            }
            answer
        }
        Err(refusal) => refusal,
    };
    if waits_to_send {
        // Not read means never invited: hyper sends no `100 Continue` for it, the client
        // sends nothing more, and hyper closes the connection after the answer.
        drop(body);
    } else {
        discard(body);
    }
    response(answer, site.responder.api_version())
}

/// Whether the client waits for `100 Continue` before sending its body.
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// The responder's answer (`Ok`), or the server's refusal of a request beyond its limits.
async fn answer(site: &Site, parts: &Parts, body: &mut Incoming) -> Result<Answer, Answer> {
    let limits = &site.limits;
    if let Some(refusal) = limits.refuse_head(parts) {
        return Err(refusal);
    }
    if let Some(refusal) = declared_length(&parts.headers).and_then(|n| limits.refuse_body(n)) {
        return Err(refusal);
    }
    let url = full_url(parts, site.address)?;
    let mut request = Request {
        method: parts.method.as_str(),
        url: &url,
        headers: &parts.headers,
        body: &[],
    };
    let member = match site.responder.admit(&request) {
        Admission::Answered(answer) => return Ok(answer),
        Admission::Admitted(member) => member,
    };
    let bytes = read_body(body, limits).await?;
    request.body = &bytes;
    Ok(site.responder.answer(&request, &member))
}

/// The `Content-Length` a request declares, if any (an unreadable one counts as none:
/// the body is then capped as it is read).
fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// The URL the responder reads: the request target on this server's own address.
fn full_url(parts: &Parts, address: SocketAddr) -> Result<Url, Answer> {
    let target = parts.uri.path_and_query().map_or("/", |t| t.as_str());
    Url::parse(&format!("http://{address}{target}"))
        .map_err(|e| Answer::bad_request(format!("The request URL {target} is not valid: {e}.")))
}

/// Reads a body into memory, refusing it as soon as it passes the limit.
async fn read_body(body: &mut Incoming, limits: &Limits) -> Result<Vec<u8>, Answer> {
    let expected = body.size_hint().exact().map_or(0, |n| {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(limits.max_body_bytes)
    });
    let mut bytes = Vec::with_capacity(expected);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            Answer::bad_request(format!("The request body could not be read: {e}."))
        })?;
        if let Some(data) = frame.data_ref() {
            if bytes.len() + data.len() > limits.max_body_bytes {
                return Err(limits.refuse_unbounded_body());
            }
            bytes.extend_from_slice(data);
        }
    }
    Ok(bytes)
}

/// Reads what is left of a body and throws it away, from a task of its own, so the client
/// can finish sending and read the answer; gives up after [`DRAIN_BYTES`] or
/// [`DRAIN_TIME`], and hyper then closes the connection.
fn discard(mut body: Incoming) {
    if body.is_end_stream() {
        return;
    }
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                seen += frame.data_ref().map_or(0, Bytes::len);
                if seen > DRAIN_BYTES {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    });
}

/// An answer as hyper sends it.
fn response(answer: Answer, api_version: &str) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(answer.status)
        .header("api-current-version", api_version);
    for (name, value) in answer.headers {
        builder = builder.header(name, value);
    }
    let body = match answer.body {
        Some(body) => {
            builder = builder.header(CONTENT_TYPE, super::responder::CONTENT_TYPE);
            Full::from(body)
        }
        None => Full::default(),
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut failed = Response::new(Full::default());
        *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        failed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(target: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = hyper::Request::builder().uri(target);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        match builder.body(()) {
            Ok(request) => request.into_parts().0,
            Err(e) => panic!("a test request: {e}"),
        }
    }

    #[test]
    fn a_url_at_the_limit_passes_and_one_byte_more_is_414() {
        let limits = Limits::default();
        let at_limit = format!("/{}", "a".repeat(limits.max_url_bytes - 1));
        let beyond = format!("{at_limit}a");
        assert!(limits.refuse_head(&parts(&at_limit, &[])).is_none());
        let refused = limits.refuse_head(&parts(&beyond, &[]));
        assert_eq!(refused.map(|a| a.status), Some(414));
    }

    #[test]
    fn too_many_or_too_long_headers_are_431_naming_the_size() {
        let limits = Limits::default();
        let names: Vec<String> = (0..=limits.max_header_count)
            .map(|n| format!("x-h{n}"))
            .collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
        let long = "v".repeat(limits.max_header_bytes);
        for (headers, size) in [
            (many, "101 header fields"),
            (vec![("x-long", long.as_str())], "65542 bytes"),
        ] {
            let refused = limits.refuse_head(&parts("/", &headers));
            let refused = refused.unwrap_or_else(|| panic!("not refused: {size}"));
            assert_eq!(refused.status, 431);
            let body = refused.body.unwrap_or_default();
            assert!(body.contains(size), "{body}");
            assert!(
                body.contains(r#""code": "RequestHeaderFieldsTooLarge""#),
                "{body}"
            );
        }
    }

    #[test]
    fn a_declared_body_beyond_the_limit_is_413_naming_its_length() {
        let limits = Limits {
            max_body_bytes: 100,
            ..Limits::default()
        };
        assert!(limits.refuse_body(100).is_none());
        let refused = limits
            .refuse_body(101)
            .unwrap_or_else(|| panic!("101 bytes passed"));
        assert_eq!(refused.status, 413);
        let body: serde_json::Value =
            serde_json::from_str(&refused.body.unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({
                "code": "RequestTooLarge",
                "message": "The request body is 101 bytes long; at most 100 are allowed.",
                "errors": null,
            })
        );
    }
}
