//! The front door: every client connection passes here before Pingora's HTTP code sees it.
//!
//! [`Front`] is the listening service's application. For each accepted connection it takes a
//! place among `server.max_connections` (evicting the longest-waiting idle connection when
//! all are taken, refusing the new one only when none waits), tells HTTP/2 from HTTP/1 on
//! plaintext when h2c is on (by the preface, under the header deadline — Pingora would wait
//! for 24 bytes forever), puts the connection under its [`Guarded`] limits and hands it to
//! Pingora's HTTP proxy, which runs the gateway.

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use pingora::apps::{HttpServerApp, ServerApp};
use pingora::protocols::{Stream, ALPN};
use pingora::proxy::HttpProxy;
use pingora::server::ShutdownWatch;
use tokio::io::AsyncReadExt;

use crate::guard::{Connections, GuardLimits, Guarded};
use crate::proxy::Gateway;

/// HTTP/2's connection preface (RFC 9113, 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The gateway listener's application.
pub struct Front {
    proxy: Arc<HttpProxy<Gateway>>,
    conns: Arc<Connections>,
    limits: GuardLimits,
    h2c: bool,
}

impl Front {
    /// A front for `proxy`: `conns` bounds the connections, `h2c` accepts plaintext HTTP/2.
    pub fn new(
        proxy: HttpProxy<Gateway>,
        conns: Arc<Connections>,
        limits: GuardLimits,
        h2c: bool,
    ) -> Self {
        Self {
            proxy: Arc::new(proxy),
            conns,
            limits,
            h2c,
        }
    }
}

/// Reads until the bytes are, or cannot be, HTTP/2's preface: `(what was read, is_h2)`. An
/// HTTP/1 request differs from the preface within its first bytes, so this never waits for
/// more than a short request holds.
async fn sniff(stream: &mut Stream) -> io::Result<(Bytes, bool)> {
    let mut buf = BytesMut::with_capacity(64);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let k = buf.len().min(H2_PREFACE.len());
        if buf[..k] != H2_PREFACE[..k] {
            return Ok((buf.freeze(), false));
        }
        if buf.len() >= H2_PREFACE.len() {
            return Ok((buf.freeze(), true));
        }
    }
}

#[async_trait]
impl ServerApp for Front {
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        if stream.as_any().is::<Guarded>() {
            // A connection handed back for reuse: already guarded.
            return self.proxy.process_new(stream, shutdown).await;
        }
        let Some(slot) = self.conns.admit() else {
            // Every place is taken by a busy connection: this one is closed unanswered.
            return None;
        };
        // Waiting from the start: a connection that has said nothing may be closed to make room.
        let conn = self.conns.register();
        let (prefix, h2) = if stream.get_ssl_digest().is_some() {
            // TLS: HTTP/2 when ALPN chose it (the handshake is done before this point).
            (Bytes::new(), stream.selected_alpn_proto() == Some(ALPN::H2))
        } else if self.h2c {
            let sniffed = pingora::time::timeout(self.limits.header_timeout, sniff(&mut stream));
            tokio::select! {
                seen = sniffed => match seen {
                    Ok(Ok(seen)) => seen,
                    // Silent, too slow, or gone before saying anything.
                    _ => return None,
                },
                () = conn.evicted() => return None,
            }
        } else {
            (Bytes::new(), false)
        };
        let guarded: Stream = Box::new(Guarded::new(
            stream,
            slot,
            conn,
            self.conns.clone(),
            self.limits,
            prefix,
            h2,
        ));
        self.proxy.process_new(guarded, shutdown).await
    }

    async fn cleanup(&self) {
        // The listener has stopped. Pingora's cleanup closes every connection waiting for a
        // request head, including one whose head is arriving: a request accepted just before
        // the listener closed (or, on an upgrade, just before the hand-over) would be lost.
        // So the heads being read are let in first (bounded by the header deadline); then
        // idle keep-alive connections are woken and closed.
        let end = tokio::time::Instant::now() + self.limits.header_timeout;
        let mut quiet = 0;
        while quiet < 2 && tokio::time::Instant::now() < end {
            quiet = if self.conns.reading_heads() == 0 {
                quiet + 1
            } else {
                0
            };
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.proxy.http_cleanup().await;
    }
}
