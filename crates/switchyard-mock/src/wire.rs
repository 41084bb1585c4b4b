//! Writing a [`Reply`] onto the wire, with the delays and breakages it asks for.

use std::time::Duration;

use bytes::Bytes;
use pingora::apps::{HttpPersistentSettings, ReusedHttpStream};
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;

/// What to send back.
pub enum Reply {
    /// A complete body with an exact length.
    Body {
        /// Status.
        status: u16,
        /// Content type.
        content_type: &'static str,
        /// Body.
        body: Vec<u8>,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Drop the connection halfway through the body.
        cut: bool,
    },
    /// A chunked stream of pre-rendered pieces.
    Stream {
        /// Status.
        status: u16,
        /// Content type.
        content_type: &'static str,
        /// The pieces, written one by one.
        pieces: Vec<Bytes>,
        /// Delay between pieces.
        delay: Duration,
        /// Drop the connection after this many pieces.
        reset_after: Option<usize>,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
}

impl Reply {
    /// A JSON body.
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        Reply::Body {
            status,
            content_type: "application/json",
            body,
            headers: Vec::new(),
            cut: false,
        }
    }

    /// A 200 `text/event-stream` of pre-rendered events, paced and broken off as the
    /// scripted behaviour asks (`chunk_delay_ms`, `reset_after_chunks`).
    pub fn event_stream(
        pieces: Vec<Bytes>,
        b: &crate::script::Behaviour,
        opts: &crate::MockOptions,
    ) -> Self {
        Reply::Stream {
            status: 200,
            content_type: "text/event-stream; charset=utf-8",
            pieces,
            delay: b
                .chunk_delay_ms
                .map_or(opts.chunk_delay, Duration::from_millis),
            reset_after: b.reset_after_chunks,
            headers: Vec::new(),
        }
    }

    /// Adds headers.
    pub fn with_headers(mut self, extra: impl IntoIterator<Item = (String, String)>) -> Self {
        match &mut self {
            Reply::Body { headers, .. } | Reply::Stream { headers, .. } => headers.extend(extra),
        }
        self
    }
}

/// Writes the reply; returns the connection for reuse when it ended cleanly.
pub async fn write(mut session: ServerSession, reply: Reply) -> Option<ReusedHttpStream> {
    match reply {
        Reply::Body {
            status,
            content_type,
            body,
            headers,
            cut,
        } => {
            let header = build(status, content_type, &headers, Some(body.len()))?;
            session.write_response_header(Box::new(header)).await.ok()?;
            if cut {
                let half = Bytes::copy_from_slice(&body[..body.len() / 2]);
                let _ = session.write_response_body(half, false).await;
                return None;
            }
            session
                .write_response_body(Bytes::from(body), true)
                .await
                .ok()?;
        }
        Reply::Stream {
            status,
            content_type,
            pieces,
            delay,
            reset_after,
            headers,
        } => {
            let header = build(status, content_type, &headers, None)?;
            session.write_response_header(Box::new(header)).await.ok()?;
            for (i, piece) in pieces.into_iter().enumerate() {
                if reset_after == Some(i) {
                    return None;
                }
                if i > 0 && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                session.write_response_body(piece, false).await.ok()?;
            }
            session.write_response_body(Bytes::new(), true).await.ok()?;
        }
    }
    let settings = HttpPersistentSettings::for_session(&session);
    session
        .finish()
        .await
        .ok()
        .flatten()
        .map(|s| ReusedHttpStream::from_reusable_stream(s, settings))
}

fn build(
    status: u16,
    content_type: &str,
    headers: &[(String, String)],
    len: Option<usize>,
) -> Option<ResponseHeader> {
    let mut h = ResponseHeader::build(status, Some(headers.len() + 3)).ok()?;
    h.insert_header("content-type", content_type).ok()?;
    match len {
        Some(n) => h.insert_header("content-length", n).ok()?,
        None => h.insert_header("transfer-encoding", "chunked").ok()?,
    }
    for (k, v) in headers {
        h.append_header(k.clone(), v.as_str()).ok()?;
    }
    Some(h)
}
