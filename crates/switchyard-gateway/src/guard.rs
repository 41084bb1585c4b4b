//! Every client connection, guarded: a place among a bounded number, a deadline for each
//! request head, a cap on its size, and OpenAI-shaped answers where Pingora would send bare
//! ones.
//!
//! Pingora reads request heads with per-read timeouts only (a client sending one byte a
//! minute keeps a connection and up to 1 MiB of buffer forever), keeps HTTP/1.1 keep-alives
//! open with no timeout after the first request, and answers malformed heads with a bare
//! `400`. [`Guarded`] wraps the connection's byte stream below Pingora's HTTP code:
//!
//! - **waiting** (a new connection, or a keep-alive one between requests): until the first
//!   byte of a head arrives, the connection may idle for `idle_timeout` and is then closed
//!   quietly; while the gateway is at its connection cap, waiting connections are the ones
//!   closed to make room ([`Connections`]);
//! - **head**: from its first byte, the head must be complete within `header_timeout` (else
//!   `408`) and within `max_header_size` bytes (else `431`), answered as JSON;
//! - **busy**: the gateway has the request (`request_filter` ran); reads pass through until
//!   the request is over and the gateway re-arms the guard for the next one.
//!
//! A response Pingora writes on its own while no request was handed to the gateway (its
//! bare `400` for a malformed head, its `405` for `CONNECT`) is replaced by the same status
//! with an OpenAI-shaped body and `connection: close`.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use atomic_waker::AtomicWaker;
use bytes::{Bytes, BytesMut};
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::tls::{SslDigest, TlsRef};
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream,
    TimingDigest, UniqueID, UniqueIDType, ALPN,
};
use switchyard_providers::ErrorBody;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The limits a guard enforces.
#[derive(Clone, Copy, Debug)]
pub struct GuardLimits {
    /// From the first byte of a request head to its end.
    pub header_timeout: Duration,
    /// A connection waiting for a request (new or kept alive).
    pub idle_timeout: Duration,
    /// Largest request head.
    pub max_header_size: usize,
}

/// Most bytes read at once while a head is read.
const HEAD_READ: usize = 4096;

const WAITING: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;

/// What the gateway and the connection registry share with one connection's guard.
pub struct ConnState {
    phase: AtomicU8,
    /// Set by the registry to close a waiting connection.
    evict: AtomicBool,
    /// Set when a request has been handed to the gateway since the head began.
    handed: AtomicBool,
    /// Bumped on every return to waiting, so stale registry entries can be told apart.
    epoch: AtomicUsize,
    waker: AtomicWaker,
}

impl ConnState {
    fn new() -> Self {
        Self {
            phase: AtomicU8::new(WAITING),
            evict: AtomicBool::new(false),
            handed: AtomicBool::new(false),
            epoch: AtomicUsize::new(0),
            waker: AtomicWaker::new(),
        }
    }

    /// Resolves once the registry has chosen this connection to be closed to make room.
    pub fn evicted(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            self.waker.register(cx.waker());
            if self.evict.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// The gateway has the request: its head is complete; reads pass through.
    pub fn busy(&self) {
        self.handed.store(true, Ordering::Relaxed);
        self.phase.store(BUSY, Ordering::Relaxed);
    }
}

/// The connections the gateway holds, bounded.
pub struct Connections {
    live: AtomicUsize,
    /// Connections reading a request head (see [`Connections::reading_heads`]).
    heads: AtomicUsize,
    max: usize,
    /// Connections that entered the waiting phase, oldest first (entries go stale when a
    /// connection moves on; they are skipped and compacted away).
    waiting: Mutex<VecDeque<(usize, Weak<ConnState>)>>,
}

impl Connections {
    /// At most `max` connections at once.
    pub fn new(max: usize) -> Self {
        Self {
            live: AtomicUsize::new(0),
            heads: AtomicUsize::new(0),
            max,
            waiting: Mutex::new(VecDeque::new()),
        }
    }

    /// Connections open now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Connections that have begun sending a request the gateway has not been handed yet
    /// (roughly: a request that was served since counts until the connection reads again).
    /// Shutdown waits for them: Pingora drops a connection whose head is incomplete when it
    /// stops.
    pub fn reading_heads(&self) -> usize {
        self.heads.load(Ordering::Relaxed)
    }

    /// A place for a new connection: when all are taken, the longest-waiting idle or
    /// unfinished-head connection is closed to make room; when none is waiting, `None` (the
    /// new connection is refused, the others are unharmed).
    pub fn admit(self: &Arc<Self>) -> Option<Slot> {
        loop {
            let live = self.live.load(Ordering::Relaxed);
            if live < self.max {
                if self
                    .live
                    .compare_exchange(live, live + 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    return Some(Slot(self.clone()));
                }
                continue;
            }
            // Full: evict one waiting connection; its place frees when it closes, so the new
            // connection takes the place now (briefly one over the cap).
            if self.evict_one() {
                self.live.fetch_add(1, Ordering::AcqRel);
                return Some(Slot(self.clone()));
            }
            return None;
        }
    }

    /// A new connection's shared state, waiting (so evictable) from its first moment, while
    /// the front still reads its first bytes.
    pub fn register(&self) -> Arc<ConnState> {
        let conn = Arc::new(ConnState::new());
        self.enqueue(&conn);
        conn
    }

    fn evict_one(&self) -> bool {
        let Ok(mut q) = self.waiting.lock() else {
            return false;
        };
        while let Some((epoch, weak)) = q.pop_front() {
            let Some(conn) = weak.upgrade() else {
                continue;
            };
            if conn.epoch.load(Ordering::Relaxed) == epoch
                && conn.phase.load(Ordering::Relaxed) != BUSY
                && !conn.evict.swap(true, Ordering::AcqRel)
            {
                conn.waker.wake();
                return true;
            }
        }
        false
    }

    fn enqueue(&self, conn: &Arc<ConnState>) {
        let epoch = conn.epoch.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut q) = self.waiting.lock() {
            q.push_back((epoch, Arc::downgrade(conn)));
            // Stale entries are dropped once they outnumber the live connections twice over.
            let live = self.live.load(Ordering::Relaxed);
            if q.len() > 2 * live + 64 {
                q.retain(|(e, w)| {
                    w.upgrade().is_some_and(|c| {
                        c.epoch.load(Ordering::Relaxed) == *e
                            && c.phase.load(Ordering::Relaxed) != BUSY
                    })
                });
            }
        }
    }
}

/// One connection counted in [`Connections::reading_heads`] while held.
struct HeadMark(Arc<Connections>);

impl HeadMark {
    fn new(registry: &Arc<Connections>) -> Self {
        registry.heads.fetch_add(1, Ordering::AcqRel);
        Self(registry.clone())
    }
}

impl Drop for HeadMark {
    fn drop(&mut self) {
        self.0.heads.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One connection's place; given back when the connection closes.
pub struct Slot(Arc<Connections>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A client connection with its guard.
pub struct Guarded {
    inner: Stream,
    conn: Arc<ConnState>,
    registry: Arc<Connections>,
    limits: GuardLimits,
    _slot: Slot,
    /// Bytes read ahead to tell HTTP/2 from HTTP/1 (h2c), given back to the first reads.
    prefix: Bytes,
    h2: bool,
    /// The phase deadline (idle while waiting, the head's once it started).
    deadline: Option<Pin<Box<Sleep>>>,
    /// The phase `deadline` was set for.
    deadline_phase: u8,
    head_bytes: usize,
    /// The answer to send when the connection is shut down after a refused head.
    refusal: Option<BytesMut>,
    /// The next read fails (after a read that went over the size cap).
    fail_next: bool,
    /// A response Pingora writes on its own, being replaced.
    own: Option<OwnResponse>,
    /// Held from a head's first byte until the connection is read again in another phase.
    reading: Option<HeadMark>,
    /// HTTP/2: the client's frames, followed until its first request.
    frames: FrameScan,
}

/// Follows an HTTP/2 client's frame headers (RFC 9113, 4.1) until its first `HEADERS`
/// frame: until then the connection has asked for nothing and may be closed to make room,
/// like an idle HTTP/1 connection (Pingora's HTTP/2 idle timeout would otherwise keep it for
/// `idle_timeout`, out of reach of the connection cap).
#[derive(Debug)]
struct FrameScan {
    /// Bytes of the connection preface still to pass.
    preface: usize,
    head: [u8; 9],
    head_len: usize,
    /// Bytes of the current frame's payload still to pass.
    payload: usize,
    requested: bool,
}

impl FrameScan {
    fn new() -> Self {
        Self {
            preface: 24,
            head: [0; 9],
            head_len: 0,
            payload: 0,
            requested: false,
        }
    }

    /// Follows `bytes`; whether a `HEADERS` frame has been seen.
    fn feed(&mut self, mut bytes: &[u8]) -> bool {
        const HEADERS: u8 = 1;
        while !bytes.is_empty() && !self.requested {
            let skip = if self.preface > 0 {
                &mut self.preface
            } else if self.payload > 0 {
                &mut self.payload
            } else {
                let k = (9 - self.head_len).min(bytes.len());
                self.head[self.head_len..self.head_len + k].copy_from_slice(&bytes[..k]);
                self.head_len += k;
                bytes = &bytes[k..];
                if self.head_len == 9 {
                    self.head_len = 0;
                    self.payload = usize::from(self.head[0]) << 16
                        | usize::from(self.head[1]) << 8
                        | usize::from(self.head[2]);
                    self.requested = self.head[3] == HEADERS;
                }
                continue;
            };
            let k = (*skip).min(bytes.len());
            *skip -= k;
            bytes = &bytes[k..];
        }
        self.requested
    }
}

struct OwnResponse {
    /// Pingora's bytes, until its header is complete.
    seen: BytesMut,
    /// Our replacement and how much of it is written.
    reply: Option<(Bytes, usize)>,
}

impl fmt::Debug for Guarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("inner", &self.inner)
            .finish()
    }
}

impl Guarded {
    /// Wraps a connection that holds `slot`, registered as `conn` ([`Connections::register`]).
    /// `prefix` is what was read ahead; `h2` whether it was the HTTP/2 preface (the connection
    /// then speaks HTTP/2, whose own limits apply once it has sent a request).
    pub fn new(
        inner: Stream,
        slot: Slot,
        conn: Arc<ConnState>,
        registry: Arc<Connections>,
        limits: GuardLimits,
        prefix: Bytes,
        h2: bool,
    ) -> Self {
        Self {
            inner,
            conn,
            registry,
            limits,
            _slot: slot,
            prefix,
            h2,
            deadline: None,
            deadline_phase: BUSY,
            head_bytes: 0,
            refusal: None,
            fail_next: false,
            own: None,
            reading: None,
            frames: FrameScan::new(),
        }
    }

    /// The state the gateway shares with this connection.
    pub fn state(&self) -> &Arc<ConnState> {
        &self.conn
    }

    /// The request is over: the connection waits for the next one.
    pub fn rearm(&self) {
        self.conn.handed.store(false, Ordering::Relaxed);
        self.conn.phase.store(WAITING, Ordering::Relaxed);
        self.registry.enqueue(&self.conn);
    }

    fn refuse(&mut self, status: u16, message: &str, code: &'static str) -> io::Error {
        self.refusal = Some(BytesMut::from(
            &json_response(
                status,
                &ErrorBody::new(message, "invalid_request_error", Some(code)),
            )[..],
        ));
        io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
    }

    /// Arms the deadline for `phase` if it is not armed for it yet.
    fn arm(&mut self, phase: u8) {
        if self.deadline_phase == phase && self.deadline.is_some() {
            return;
        }
        if phase == WAITING {
            // A new wait (a new connection, or the next request on a kept-alive one).
            self.head_bytes = 0;
            self.fail_next = false;
            self.own = None;
        }
        let after = if phase == HEAD {
            self.limits.header_timeout
        } else {
            self.limits.idle_timeout
        };
        self.deadline = Some(Box::pin(tokio::time::sleep_until(Instant::now() + after)));
        self.deadline_phase = phase;
    }
}

/// A complete HTTP/1.1 response with an OpenAI-shaped error body that closes the connection.
fn json_response(status: u16, body: &ErrorBody) -> Bytes {
    let body = body.to_json();
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut out = BytesMut::with_capacity(160 + body.len());
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    out.freeze()
}

/// The status line's code of a response head, e.g. `HTTP/1.1 400 Bad Request`.
fn status_of(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let code = line.split(|&b| b == b' ').nth(1)?;
    std::str::from_utf8(code).ok()?.trim().parse().ok()
}

/// Pingora's own answers, as the client is told them.
fn own_reply(status: u16) -> Bytes {
    let (message, code) = match status {
        405 => ("this method is not supported", "method_not_allowed"),
        431 => ("the request headers are too large", "headers_too_large"),
        _ => (
            "malformed HTTP request: the request line or headers are not valid",
            "bad_request",
        ),
    };
    json_response(
        status,
        &ErrorBody::new(message, "invalid_request_error", Some(code)),
    )
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.h2 {
            return this.poll_read_h2(cx, buf);
        }
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        let phase = this.conn.phase.load(Ordering::Relaxed);
        if phase != HEAD {
            this.reading = None;
        }
        if phase == BUSY {
            this.deadline = None;
            this.deadline_phase = BUSY;
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        if this.fail_next {
            let e = this.refuse(
                431,
                &format!(
                    "the request headers exceed {} bytes",
                    this.limits.max_header_size
                ),
                "headers_too_large",
            );
            return Poll::Ready(Err(e));
        }
        this.conn.waker.register(cx.waker());
        if this.conn.evict.load(Ordering::Acquire) {
            // Closed to make room: as if the client had gone (no answer, no log line).
            return Poll::Ready(Ok(()));
        }
        this.arm(phase);
        if let Some(d) = this.deadline.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                if phase == WAITING {
                    return Poll::Ready(Ok(()));
                }
                let e = this.refuse(
                    408,
                    "the request headers were not received in time",
                    "request_timeout",
                );
                return Poll::Ready(Err(e));
            }
        }
        // Never read more than the head may still hold (+1 to see it go over). Heads are small:
        // read them through a scratch buffer (no unsafe cursor moves on `buf`).
        let room = (this.limits.max_header_size + 1)
            .saturating_sub(this.head_bytes)
            .min(buf.remaining())
            .min(HEAD_READ);
        let mut scratch = [std::mem::MaybeUninit::<u8>::uninit(); HEAD_READ];
        let mut limited = ReadBuf::uninit(&mut scratch[..room]);
        match Pin::new(&mut this.inner).poll_read(cx, &mut limited) {
            Poll::Ready(Ok(())) => {
                let n = limited.filled().len();
                buf.put_slice(limited.filled());
                if n > 0 {
                    if phase == WAITING {
                        this.conn.phase.store(HEAD, Ordering::Relaxed);
                        this.arm(HEAD);
                        this.reading = Some(HeadMark::new(&this.registry));
                    }
                    this.head_bytes += n;
                    if this.head_bytes > this.limits.max_header_size {
                        this.fail_next = true;
                    }
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl Guarded {
    /// HTTP/2 reads pass through; until the client's first request the connection may be
    /// closed to make room (seen by Pingora as the client leaving).
    fn poll_read_h2(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.frames.requested {
            self.conn.waker.register(cx.waker());
            if self.conn.evict.load(Ordering::Acquire) {
                return Poll::Ready(Ok(()));
            }
        }
        let before = buf.filled().len();
        let polled = if self.prefix.is_empty() {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        } else {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix.split_to(n));
            Poll::Ready(Ok(()))
        };
        if polled.is_ready() && !self.frames.requested && self.frames.feed(&buf.filled()[before..])
        {
            self.conn.busy();
        }
        polled
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.h2 || this.conn.handed.load(Ordering::Relaxed) {
            return Pin::new(&mut this.inner).poll_write(cx, data);
        }
        // Nothing was handed to the gateway: this is Pingora answering on its own. Take its
        // header in, and send ours instead once its status is known.
        let own = this.own.get_or_insert_with(|| OwnResponse {
            seen: BytesMut::new(),
            reply: None,
        });
        if own.reply.is_none() {
            own.seen.extend_from_slice(data);
            if memchr::memmem::find(&own.seen, b"\r\n\r\n").is_some() || own.seen.len() > 4096 {
                let status = status_of(&own.seen).unwrap_or(400);
                own.reply = Some((own_reply(status), 0));
            }
            return Poll::Ready(Ok(data.len()));
        }
        // Anything after its header (an empty body) is swallowed too.
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(own) = this.own.as_mut() {
            if let Some((reply, written)) = own.reply.as_mut() {
                while *written < reply.len() {
                    let n = match Pin::new(&mut this.inner).poll_write(cx, &reply[*written..]) {
                        Poll::Ready(Ok(n)) => n,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => return Poll::Pending,
                    };
                    if n == 0 {
                        return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                    }
                    *written += n;
                }
            }
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A refused head: the answer goes out before the connection closes.
        {
            let this = &mut *self;
            if let Some(reply) = this.refusal.as_mut() {
                while !reply.is_empty() {
                    match Pin::new(&mut this.inner).poll_write(cx, reply) {
                        Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => reply.clear(),
                        Poll::Ready(Ok(n)) => {
                            let _ = reply.split_to(n);
                        }
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }
        }
        if self.own.as_ref().is_some_and(|o| o.reply.is_some())
            && self.as_mut().poll_flush(cx).is_pending()
        {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[async_trait]
impl Shutdown for Guarded {
    async fn shutdown(&mut self) {
        let _ = tokio::io::AsyncWriteExt::shutdown(self).await;
    }
}

impl UniqueID for Guarded {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for Guarded {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        if self.h2 {
            // h2c told apart by its preface: Pingora takes it as negotiated HTTP/2.
            return Some(ALPN::H2);
        }
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for Guarded {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for Guarded {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }
}

impl GetSocketDigest for Guarded {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }
}

#[async_trait]
impl Peek for Guarded {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        // Protocol detection is done before the guard is put on (see `front`).
        let _ = buf;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read() {
        assert_eq!(
            status_of(b"HTTP/1.1 400 Bad Request\r\nServer: x\r\n\r\n"),
            Some(400)
        );
        assert_eq!(
            status_of(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n"),
            Some(405)
        );
        assert_eq!(status_of(b"garbage"), None);
    }

    #[test]
    fn replies_are_complete_json_responses() {
        let r = own_reply(400);
        let text = std::str::from_utf8(&r).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("connection: close"));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "bad_request");
    }

    #[test]
    fn http2_frames_are_followed_to_the_first_request() {
        let mut scan = FrameScan::new();
        let mut bytes = H2_PREFACE_FOR_TEST.to_vec();
        // SETTINGS (empty), WINDOW_UPDATE (4 bytes), PING (8 bytes), split anywhere.
        bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
        bytes.extend_from_slice(&[0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
        for chunk in bytes.chunks(5) {
            assert!(!scan.feed(chunk));
        }
        // A HEADERS frame's header, even cut in two.
        assert!(!scan.feed(&[0, 0, 3, 1]));
        assert!(scan.feed(&[5, 0, 0, 0, 1]));
    }

    const H2_PREFACE_FOR_TEST: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    #[test]
    fn a_full_registry_evicts_the_longest_waiting_connection() {
        let reg = Arc::new(Connections::new(2));
        let a = reg.admit().unwrap();
        let b = reg.admit().unwrap();
        let ca = reg.register();
        let cb = reg.register();
        // b is busy: only a can be evicted.
        cb.busy();
        let c = reg.admit().expect("a waiting connection makes room");
        assert!(ca.evict.load(Ordering::Relaxed));
        assert!(!cb.evict.load(Ordering::Relaxed));
        // Nothing else waits: the next one is refused.
        assert!(reg.admit().is_none());
        drop((a, b, c));
        assert_eq!(reg.live(), 0);
    }
}
