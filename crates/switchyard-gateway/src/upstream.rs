//! The upstream exchange: one attempt's connection, request and response, on Pingora's own
//! pooled connector.
//!
//! The gateway does the exchange itself inside `request_filter` instead of handing the
//! request to Pingora's proxy loop: that loop replays at most 64 KiB of request body on retry
//! and never retries on an HTTP status, while a gateway must fail over a 1 MB prompt on a 429.
//! Holding the body in memory and making each attempt here gives that, with Pingora's pools,
//! TLS and HTTP/2 underneath (see ARCHITECTURE.md, "The attempt loop").

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, HOST};
use http::HeaderValue;
use pingora::connectors::http::Connector;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::protocols::http::client::HttpSession;
use pingora::time::fast_timeout::fast_timeout;
use pingora::upstreams::peer::{HttpPeer, PeerOptions};
use switchyard_config::Timeouts;
use switchyard_providers::UpstreamRequest;
use tokio::time::Instant;

use crate::dns::Resolver;
use crate::error::{from_pingora, UpstreamError};
use crate::netguard::is_public;

/// Where one provider lives and how to reach it; built once per config load.
pub struct UpstreamTarget {
    /// Host name or IP literal.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Speak TLS.
    pub tls: bool,
    /// The `Host` header (and HTTP/2 `:authority`).
    pub authority: String,
    /// `authority` as a header value, made once.
    pub host_header: HeaderValue,
    /// Peer options with every timeout set.
    pub options: PeerOptions,
    /// The timeouts, for the phases Pingora does not time itself.
    pub timeouts: Timeouts,
    /// The pool this target's connections live in.
    pub connector: Arc<Connector>,
    /// Only public addresses may be reached (a destination a client chose: zero-config).
    pub public_only: bool,
}

impl UpstreamTarget {
    /// A target with explicit timeouts and, over TLS, HTTP/2 offered when `http2`.
    pub fn new(
        host: String,
        port: u16,
        tls: bool,
        authority: String,
        timeouts: Timeouts,
        http2: bool,
        connector: Arc<Connector>,
    ) -> Self {
        let mut options = PeerOptions::new();
        // Pingora sets no timeout by default; every one is explicit here.
        options.connection_timeout = Some(timeouts.connect);
        options.total_connection_timeout = Some(timeouts.connect);
        options.read_timeout = Some(timeouts.first_byte);
        options.write_timeout = Some(timeouts.idle);
        options.idle_timeout = Some(Duration::from_secs(90));
        options.verify_cert = true;
        options.verify_hostname = true;
        if tls && http2 {
            options.set_http_version(2, 1);
            options.max_h2_streams = 100;
        } else {
            options.set_http_version(1, 1);
        }
        let host_header = HeaderValue::from_str(&authority)
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        Self {
            host,
            port,
            tls,
            host_header,
            authority,
            options,
            timeouts,
            connector,
            public_only: false,
        }
    }
}

/// The response header has arrived; the body is still to be read.
pub struct Exchange {
    session: HttpSession,
    peer: HttpPeer,
    connector: Arc<Connector>,
    idle: Duration,
    total: Duration,
    deadline: Instant,
    done: bool,
}

/// Sends requests to providers.
#[derive(Default)]
pub struct Upstream {
    resolver: Resolver,
}

impl Upstream {
    /// The resolver (shared with the image fetcher, which checks addresses before it connects).
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Connects (or reuses a pooled connection), sends `req` and waits for the response
    /// header, within the target's timeouts and `deadline`.
    pub async fn send(
        &self,
        target: &UpstreamTarget,
        timeouts: &Timeouts,
        req: &UpstreamRequest,
        deadline: Instant,
    ) -> Result<Exchange, UpstreamError> {
        let total = timeouts.total;
        let addr = fast_timeout(
            left(deadline),
            self.resolver.resolve(&target.host, target.port),
        )
        .await
        .map_err(|_| UpstreamError::TotalTimeout(total))??;
        // Checked on the address connected to, after resolution (a name may point anywhere).
        if target.public_only && !is_public(addr.ip()) {
            return Err(UpstreamError::PrivateAddress(format!(
                "the provider host `{}` is on a loopback, private or link-local network, which requests that choose their own provider may not reach",
                target.host
            )));
        }
        let mut peer = HttpPeer::new(addr, target.tls, target.host.clone());
        peer.options = target.options.clone();
        if timeouts != &target.timeouts {
            peer.options.connection_timeout = Some(timeouts.connect);
            peer.options.total_connection_timeout = Some(timeouts.connect);
        }

        // A pooled connection the provider closed while idle fails on first use; that one
        // case is retried once on a fresh connection (nothing reached the provider).
        let mut allow_fresh_retry = true;
        loop {
            // Pingora's connector future is ~9 KB: pinned in a box once, so that only the
            // pointer moves through `fast_timeout` and the await below (moving the future
            // itself copied it several times per request).
            let connect = Box::pin(target.connector.get_http_session(&peer));
            let (mut session, reused) = fast_timeout(left(deadline), connect)
                .await
                .map_err(|_| UpstreamError::TotalTimeout(total))?
                .map_err(|e| from_pingora(&e, timeouts.first_byte, timeouts.connect))?;
            // The connector does not carry PeerOptions' read/write timeouts over to the
            // session (Pingora's proxy loop sets them itself), so they are set here.
            session.set_read_timeout(Some(timeouts.first_byte));
            session.set_write_timeout(Some(timeouts.idle));
            let header = request_header(target, req, session.as_http2().is_some())
                .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
            let exchange = Box::pin(write_and_read_head(&mut session, header, req.body.clone()));
            let sent = fast_timeout(left(deadline), exchange)
                .await
                .map_err(|_| UpstreamError::TotalTimeout(total))?;
            match sent {
                Ok(()) => {
                    return Ok(Exchange {
                        session,
                        peer,
                        connector: target.connector.clone(),
                        idle: timeouts.idle,
                        total,
                        deadline,
                        done: false,
                    })
                }
                Err(e) => {
                    let err = from_pingora(&e, timeouts.first_byte, timeouts.connect);
                    if reused && allow_fresh_retry && matches!(err, UpstreamError::Closed(_)) {
                        allow_fresh_retry = false;
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }
}

/// What is left of an attempt's total deadline.
///
/// The deadlines use Pingora's timer wheel (`fast_timeout`, 10 ms resolution, armed only if
/// the operation does not complete at once) rather than Tokio's timers: registering a Tokio
/// timer that becomes the earliest one wakes the runtime's parked timer driver through an
/// eventfd, a syscall and a cross-thread wake-up on every request and every stream read.
fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

async fn write_and_read_head(
    session: &mut HttpSession,
    header: RequestHeader,
    body: Bytes,
) -> pingora::Result<()> {
    session.write_request_header(Box::new(header)).await?;
    if !body.is_empty() {
        session.write_request_body(body, true).await?;
    }
    session.finish_request_body().await?;
    session.read_response_header().await?;
    // Informational responses (100 Continue) are not the answer.
    while session
        .response_header()
        .is_some_and(|h| h.status.is_informational())
    {
        session.read_response_header().await?;
    }
    Ok(())
}

fn request_header(
    target: &UpstreamTarget,
    req: &UpstreamRequest,
    h2: bool,
) -> pingora::Result<RequestHeader> {
    let bad = |e: http::Error| {
        pingora::Error::because(pingora::ErrorType::InvalidHTTPHeader, "bad request head", e)
    };
    // Built as `http` parts and converted once: Pingora's `insert_header` would parse each
    // name again and copy every non-standard one. Lowercase names, no case map, as HTTP/2
    // requires and every provider accepts.
    let uri = if h2 {
        // HTTP/2 carries scheme and authority in the URI, not in a Host header.
        http::Uri::builder()
            .scheme(if target.tls { "https" } else { "http" })
            .authority(target.authority.as_str())
            .path_and_query(req.path.as_str())
            .build()
            .map_err(bad)?
    } else {
        http::Uri::try_from(req.path.as_str()).map_err(|e| bad(e.into()))?
    };
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = http::Method::from_bytes(req.method.as_bytes()).map_err(|e| bad(e.into()))?;
    parts.uri = uri;
    let h = &mut parts.headers;
    h.reserve(req.headers.len() + 2);
    if !h2 {
        h.insert(HOST, target.host_header.clone());
    }
    if !(req.body.is_empty() && req.method == "GET") {
        h.insert(CONTENT_LENGTH, HeaderValue::from(req.body.len()));
    }
    for (name, value) in &req.headers {
        h.append(name.clone(), value.clone());
    }
    Ok(RequestHeader::from(parts))
}

impl Exchange {
    /// The response header.
    pub fn header(&self) -> Option<&ResponseHeader> {
        self.session.response_header()
    }

    /// The response status (0 if somehow absent).
    pub fn status(&self) -> u16 {
        self.header().map_or(0, |h| h.status.as_u16())
    }

    /// The next body chunk; `None` at the end. Stalls longer than the idle timeout and the
    /// attempt's total deadline are errors.
    pub async fn read_body(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        if self.done {
            return Ok(None);
        }
        self.session.set_read_timeout(Some(self.idle));
        let idle = self.idle;
        let chunk = fast_timeout(left(self.deadline), self.session.read_response_body())
            .await
            .map_err(|_| UpstreamError::TotalTimeout(self.total))?
            .map_err(|e| match e.etype() {
                pingora::ErrorType::ReadTimedout => UpstreamError::IdleTimeout(idle),
                _ => from_pingora(&e, idle, idle),
            })?;
        if chunk.is_none() {
            self.done = true;
        }
        Ok(chunk)
    }

    /// Reads the rest of the body, up to `limit` bytes (the rest is dropped), e.g. an error
    /// body that will be shown to the client.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Bytes, UpstreamError> {
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.read_body().await? {
            let room = limit.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        Ok(buf.freeze())
    }

    /// Ends the exchange: a fully read response returns its connection to the pool, anything
    /// else closes it.
    pub async fn finish(mut self) {
        if self.done && self.session.response_done() {
            let idle = self.peer.options.idle_timeout;
            // Boxed: the pool's future is ~5 KB, which would otherwise sit in every
            // streaming response's state for the whole stream.
            Box::pin(
                self.connector
                    .release_http_session(self.session, &self.peer, idle),
            )
            .await;
        } else {
            self.session.shutdown().await;
        }
    }
}
