//! Server-Sent Events: an incremental parser that accepts the byte stream split anywhere,
//! and the encoder for the events the gateway writes itself.
//!
//! Parsing follows the WHATWG EventSource rules: lines end in `\n`, `\r\n` or `\r`; a blank
//! line ends an event; `data` lines are joined with `\n`; lines starting with `:` are
//! comments; one space after the colon is dropped.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::ErrorBody;

/// The largest single line or event the framer holds before declaring the stream broken.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when given.
    pub event: Option<String>,
    /// The joined `data:` lines.
    pub data: Bytes,
}

impl SseEvent {
    /// True for OpenAI's end-of-stream sentinel `data: [DONE]`.
    pub fn is_done(&self) -> bool {
        self.data.as_ref() == b"[DONE]"
    }
}

/// The stream broke the framer's limits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("stream event larger than {MAX_EVENT_BYTES} bytes")]
pub struct SseTooLarge;

/// Incremental SSE parser. Feed it chunks with [`SseFramer::push`], drain events with
/// [`SseFramer::next_event`]; [`SseFramer::finish`] flushes an event left without its
/// closing blank line when the stream ends.
#[derive(Debug, Default)]
pub struct SseFramer {
    /// Bytes not yet consumed: at most one partial line.
    buf: BytesMut,
    /// How much of `buf` is known to hold no line ending: a long line arriving in small
    /// chunks is scanned once, not once per chunk.
    scanned: usize,
    /// Data of the event being assembled.
    data: BytesMut,
    has_data: bool,
    event: Option<String>,
    /// The previous chunk ended in `\r`: a `\n` at the start of the next one belongs to it.
    skip_lf: bool,
}

impl SseFramer {
    /// A new, empty framer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes from the stream.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SseTooLarge> {
        if self.buf.len() > MAX_EVENT_BYTES {
            return Err(SseTooLarge);
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// The next complete event, if the bytes pushed so far hold one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseTooLarge> {
        loop {
            if self.skip_lf && !self.buf.is_empty() {
                if self.buf[0] == b'\n' {
                    self.buf.advance(1);
                }
                self.skip_lf = false;
            }
            let Some(eol) = memchr::memchr2(b'\n', b'\r', &self.buf[self.scanned..]) else {
                self.scanned = self.buf.len();
                if self.buf.len() > MAX_EVENT_BYTES {
                    return Err(SseTooLarge);
                }
                return Ok(None);
            };
            let line = self.buf.split_to(self.scanned + eol);
            self.scanned = 0;
            let terminator = self.buf[0];
            self.buf.advance(1);
            if terminator == b'\r' {
                if self.buf.is_empty() {
                    self.skip_lf = true;
                } else if self.buf[0] == b'\n' {
                    self.buf.advance(1);
                }
            }
            if let Some(event) = self.process_line(&line)? {
                return Ok(Some(event));
            }
        }
    }

    /// Ends the stream: an event whose closing blank line never came is still dispatched.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseTooLarge> {
        if let Some(event) = self.next_event()? {
            return Ok(Some(event));
        }
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.scanned = 0;
            self.process_line(&line)?;
        }
        Ok(self.dispatch())
    }

    /// Bytes held that have not formed an event yet.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() + self.data.len()
    }

    fn process_line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, SseTooLarge> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.data.len() + value.len() + 1 > MAX_EVENT_BYTES {
                    return Err(SseTooLarge);
                }
                if self.has_data {
                    self.data.put_u8(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            event,
            data: self.data.split().freeze(),
        })
    }
}

/// Encodes `data: <json>\n\n`.
pub fn data_event(json: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(json.len() + 8);
    out.put_slice(b"data: ");
    out.put_slice(json);
    out.put_slice(b"\n\n");
    out.freeze()
}

/// The terminal `data: [DONE]` event.
pub fn done_event() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

/// An error event in the shape OpenAI's SDKs raise on: `data: {"error":{...}}`.
pub fn error_event(err: &ErrorBody) -> Bytes {
    data_event(&err.to_json())
}

/// Splits an SSE byte stream written by the gateway's translators into whole events, one
/// `Bytes` per event (its lines and the blank line that ends it), for stages that look at
/// each event. Zero-copy when an event lies within one chunk; any split of the input gives
/// the same events. Line ends may be LF, CRLF or CR, as in [`SseFramer`].
#[derive(Debug, Default)]
pub struct EventSplitter {
    /// The start of an event whose end is in a later chunk.
    pending: BytesMut,
    /// No byte but line ends since the last line end.
    line_empty: bool,
    /// The last byte seen was a CR (a following LF belongs to it).
    prev_cr: bool,
    /// An event ended on a CR whose LF comes next: emit after the LF.
    end_after_lf: bool,
}

impl EventSplitter {
    /// A new splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; appends each event it completes to `out`.
    pub fn push(&mut self, chunk: Bytes, out: &mut Vec<Bytes>) {
        let mut start = 0;
        let mut i = 0;
        while let Some(off) = memchr::memchr2(b'\n', b'\r', &chunk[i..]) {
            let at = i + off;
            if off > 0 {
                self.line_empty = false;
                self.prev_cr = false;
            }
            let b = chunk[at];
            i = at + 1;
            if b == b'\n' && self.prev_cr {
                // The LF of a CRLF: not a line end of its own.
                self.prev_cr = false;
                if std::mem::take(&mut self.end_after_lf) {
                    self.emit(&chunk, start, i, out);
                    start = i;
                }
                continue;
            }
            self.prev_cr = b == b'\r';
            if !self.line_empty {
                self.line_empty = true;
                continue;
            }
            // A blank line: the event ends here (after the LF, when a CR has one next).
            self.line_empty = false;
            if b == b'\r' && chunk.get(i) == Some(&b'\n') {
                self.end_after_lf = true;
                continue;
            }
            self.emit(&chunk, start, i, out);
            start = i;
        }
        if i < chunk.len() {
            self.line_empty = false;
            self.prev_cr = false;
        }
        if start < chunk.len() {
            self.pending.extend_from_slice(&chunk[start..]);
        }
    }

    /// The input ended: whatever is left (an event without its blank line), if anything.
    pub fn finish(&mut self) -> Option<Bytes> {
        self.line_empty = false;
        self.prev_cr = false;
        self.end_after_lf = false;
        (!self.pending.is_empty()).then(|| self.pending.split().freeze())
    }

    fn emit(&mut self, chunk: &Bytes, start: usize, end: usize, out: &mut Vec<Bytes>) {
        if self.pending.is_empty() {
            out.push(chunk.slice(start..end));
        } else {
            self.pending.extend_from_slice(&chunk[start..end]);
            out.push(self.pending.split().freeze());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn splitter_yields_whole_events_for_any_split() {
        let text: &[u8] =
            b"data: {\"a\":1}\n\nevent: x\r\ndata: 2\r\n\r\ndata: 3\r\rdata: [DONE]\n\n";
        let whole = {
            let mut s = EventSplitter::new();
            let mut out = Vec::new();
            s.push(Bytes::from_static(text), &mut out);
            assert_eq!(s.finish(), None);
            out
        };
        assert_eq!(
            whole,
            vec![
                Bytes::from_static(b"data: {\"a\":1}\n\n"),
                Bytes::from_static(b"event: x\r\ndata: 2\r\n\r\n"),
                Bytes::from_static(b"data: 3\r\r"),
                Bytes::from_static(b"data: [DONE]\n\n"),
            ]
        );
        for a in 0..text.len() {
            for b in a..text.len() {
                let mut s = EventSplitter::new();
                let mut out = Vec::new();
                for part in [&text[..a], &text[a..b], &text[b..]] {
                    s.push(Bytes::copy_from_slice(part), &mut out);
                }
                out.extend(s.finish());
                let joined: Vec<u8> = out.concat();
                assert_eq!(joined, text, "split {a}/{b}");
                // The same event boundaries (a CR-ended event may lend its LF to the next).
                assert_eq!(out.len(), whole.len(), "split {a}/{b}: {out:?}");
            }
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn all_events(input: &[u8], split: &[usize]) -> Vec<SseEvent> {
        let mut f = SseFramer::new();
        let mut out = Vec::new();
        let mut last = 0;
        for &at in split.iter().chain(std::iter::once(&input.len())) {
            let at = at.clamp(last, input.len());
            f.push(&input[last..at]).unwrap();
            last = at;
            while let Some(e) = f.next_event().unwrap() {
                out.push(e);
            }
        }
        if let Some(e) = f.finish().unwrap() {
            out.push(e);
        }
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: Bytes::copy_from_slice(data.as_bytes()),
        }
    }

    #[test]
    fn parses_events_with_every_line_ending() {
        let input = b"data: a\n\ndata: b\r\n\r\nevent: x\rdata:c\r\rdata: d\ndata: e\n\n";
        assert_eq!(
            all_events(input, &[]),
            vec![
                ev(None, "a"),
                ev(None, "b"),
                ev(Some("x"), "c"),
                ev(None, "d\ne")
            ]
        );
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        let input = b": keep-alive\n\nid: 7\nretry: 10\ndata: x\n\n:\n\n";
        assert_eq!(all_events(input, &[]), vec![ev(None, "x")]);
    }

    #[test]
    fn an_event_without_its_blank_line_is_flushed_at_the_end() {
        assert_eq!(all_events(b"data: [DONE]", &[]), vec![ev(None, "[DONE]")]);
        assert!(all_events(b"data: x", &[])[0].data.as_ref() == b"x");
    }

    #[test]
    fn a_crlf_split_between_chunks_is_one_line_ending() {
        let input = b"data: a\r\n\r\ndata: b\r\n\r\n";
        for i in 0..=input.len() {
            assert_eq!(
                all_events(input, &[i]),
                vec![ev(None, "a"), ev(None, "b")],
                "split at {i}"
            );
        }
    }

    #[test]
    fn the_error_event_is_openai_shaped() {
        let e = error_event(&ErrorBody::new(
            "boom",
            "upstream_error",
            Some("stream_interrupted"),
        ));
        let text = std::str::from_utf8(&e).unwrap();
        assert!(text.starts_with("data: {\"error\":{\"message\":\"boom\""));
        assert!(text.ends_with("\n\n"));
    }

    /// Found while running the `sse` fuzz target past the limit: a line arriving in small
    /// chunks was rescanned from its start on every chunk, quadratic in its length (an 8 MiB
    /// line in 256-byte chunks meant scanning 128 GiB).
    #[test]
    fn a_long_line_in_small_chunks_is_scanned_once() {
        let mut f = SseFramer::new();
        f.push(b"data: ").unwrap();
        let chunk = [b'x'; 256];
        let mut len = 0;
        while len < MAX_EVENT_BYTES / 2 {
            f.push(&chunk).unwrap();
            assert_eq!(f.next_event(), Ok(None));
            len += chunk.len();
        }
        f.push(b"\r").unwrap();
        assert_eq!(f.next_event(), Ok(None));
        f.push(b"\ndata: y\n\n").unwrap();
        let e = f.next_event().unwrap().unwrap();
        assert_eq!(e.data.len(), len + 2);
        assert!(e.data.ends_with(b"x\ny"));
        assert_eq!(f.pending_bytes(), 0);
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_events(
            events in proptest::collection::vec("[ -~é😀]{0,20}", 1..6),
            crlf in any::<bool>(),
            splits in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let input: String = events.iter().map(|d| format!("data: {d}{nl}{nl}")).collect();
            let mut splits = splits;
            splits.sort_unstable();
            let whole = all_events(input.as_bytes(), &[]);
            let split = all_events(input.as_bytes(), &splits);
            prop_assert_eq!(&whole, &split);
            prop_assert_eq!(whole.len(), events.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024), at in 0usize..1024) {
            let _ = all_events(&bytes, &[at]);
        }
    }
}
