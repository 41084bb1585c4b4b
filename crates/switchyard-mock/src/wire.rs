//! Writing a [`Reply`] onto the wire, with the delays and breakages it asks for.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use pingora::apps::{HttpPersistentSettings, ReusedHttpStream};
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;

/// Stands for a send time in a streamed piece (`--stamp`): the 16 `#` become the unix time in
/// microseconds, zero-padded to 16 digits, right before the piece is written. Same length, so
/// nothing moves; JSON leaves `#` unescaped, so it appears verbatim inside a rendered event.
pub const STAMP_PLACEHOLDER: &str = "t=################ ";

const STAMP_DIGITS: &[u8] = b"################";

/// `piece` with every stamp placeholder replaced by `micros`; `None` when it has none.
pub fn stamp_piece(piece: &[u8], micros: u64) -> Option<Bytes> {
    let at = find(piece, STAMP_DIGITS)?;
    let digits = format!("{:016}", micros % 10_u64.pow(16));
    let mut out = piece.to_vec();
    let mut from = at;
    while let Some(rel) = find(&out[from..], STAMP_DIGITS) {
        let start = from + rel;
        out[start..start + STAMP_DIGITS.len()].copy_from_slice(digits.as_bytes());
        from = start + STAMP_DIGITS.len();
    }
    Some(Bytes::from(out))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

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

/// Writes the reply; returns the connection for reuse when it ended cleanly. With `stamp`,
/// stream pieces holding [`STAMP_PLACEHOLDER`] get the time right before their write.
pub async fn write(
    mut session: ServerSession,
    reply: Reply,
    stamp: bool,
) -> Option<ReusedHttpStream> {
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
                return break_off(session).await;
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
                    return break_off(session).await;
                }
                if i > 0 && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let piece = if stamp {
                    stamp_piece(&piece, now_micros()).unwrap_or(piece)
                } else {
                    piece
                };
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

/// Breaks a reply off after part of it was written. HTTP/1.1: the connection closes once the
/// session is dropped, after what was written. HTTP/2: dropping the session resets the stream
/// (RST_STREAM CANCEL), and a reset discards that stream's frames still queued in the
/// connection, so first give the connection task a moment to put them on the wire; otherwise a
/// client would see no headers or fewer chunks than over HTTP/1.1.
async fn break_off(session: ServerSession) -> Option<ReusedHttpStream> {
    if session.is_http2() {
        tokio::time::sleep(H2_FLUSH_GRACE).await;
    }
    drop(session);
    None
}

/// How long an HTTP/2 stream's written frames get to leave before the stream is reset.
const H2_FLUSH_GRACE: Duration = Duration::from_millis(50);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_replace_the_placeholder_in_place() {
        let piece = format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{STAMP_PLACEHOLDER}\"}}}}]}}\n\n"
        );
        let out = stamp_piece(piece.as_bytes(), 1_712_345_678_901_234).unwrap();
        assert_eq!(out.len(), piece.len());
        let text = std::str::from_utf8(&out).unwrap();
        assert!(
            text.contains(r#""content":"t=1712345678901234 ""#),
            "{text}"
        );
        // Small values are zero-padded, so the length never changes.
        let out = stamp_piece(piece.as_bytes(), 42).unwrap();
        assert!(std::str::from_utf8(&out)
            .unwrap()
            .contains("t=0000000000000042 "));
        // Every placeholder of a piece is stamped; pieces without one are left alone.
        let two = format!("{STAMP_PLACEHOLDER}{STAMP_PLACEHOLDER}");
        let out = stamp_piece(two.as_bytes(), 7).unwrap();
        assert_eq!(&out[..], b"t=0000000000000007 t=0000000000000007 ");
        assert!(stamp_piece(b"data: [DONE]\n\n", 1).is_none());
    }

    #[test]
    fn the_clock_is_in_microseconds() {
        let a = now_micros();
        // After 2020-01-01 and before 2286 (16 digits).
        assert!(a > 1_577_836_800_000_000 && a < 10_u64.pow(16), "{a}");
    }
}
