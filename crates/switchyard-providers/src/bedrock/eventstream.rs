//! The AWS event-stream binary framing (`application/vnd.amazon.eventstream`) that
//! ConverseStream answers in: an incremental decoder that accepts the bytes split anywhere
//! and checks both CRCs, and the encoder the mock provider and tests use.
//!
//! A message is: total length (u32 BE), headers length (u32 BE), CRC32 of those 8 bytes,
//! headers, payload, CRC32 of everything before it. A header is a name (u8 length, bytes),
//! a type byte and a value whose size depends on the type (7 = string with a u16 length).

use bytes::{Buf, Bytes, BytesMut};

/// Prelude (12 bytes) plus the trailing message CRC (4 bytes).
const OVERHEAD: usize = 16;
/// The largest message accepted: AWS caps event-stream messages at 16 MiB of payload and
/// 128 KiB of headers.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024 + 128 * 1024 + OVERHEAD;

/// One decoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// String-valued headers (other header types are skipped).
    pub headers: Vec<(String, String)>,
    /// The payload.
    pub payload: Bytes,
}

impl Message {
    /// A string header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why the byte stream is not a valid event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A length field out of range.
    #[error("event-stream message length {0} out of range")]
    Length(usize),
    /// A CRC did not match.
    #[error("event-stream {0} checksum mismatch")]
    Checksum(&'static str),
    /// A header could not be read.
    #[error("malformed event-stream header")]
    Header,
}

/// Incremental decoder.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
}

impl Decoder {
    /// A new decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes held that do not form a whole message yet.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, if the bytes so far hold one.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        if self.buf.len() < 12 {
            return Ok(None);
        }
        let total = be32(&self.buf[0..4]) as usize;
        let headers_len = be32(&self.buf[4..8]) as usize;
        if !(OVERHEAD..=MAX_MESSAGE_BYTES).contains(&total) || headers_len > total - OVERHEAD {
            return Err(FrameError::Length(total));
        }
        if crc32fast::hash(&self.buf[0..8]) != be32(&self.buf[8..12]) {
            return Err(FrameError::Checksum("prelude"));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        if crc32fast::hash(&frame[..total - 4]) != be32(&frame[total - 4..]) {
            return Err(FrameError::Checksum("message"));
        }
        let headers = parse_headers(&frame[12..12 + headers_len])?;
        let payload = frame.slice(12 + headers_len..total - 4);
        Ok(Some(Message { headers, payload }))
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn parse_headers(mut b: &[u8]) -> Result<Vec<(String, String)>, FrameError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let name_len = usize::from(b.get_u8());
        if b.len() < name_len + 1 {
            return Err(FrameError::Header);
        }
        let name = String::from_utf8_lossy(&b[..name_len]).into_owned();
        b.advance(name_len);
        let kind = b.get_u8();
        let fixed = match kind {
            0 | 1 => Some(0),
            2 => Some(1),
            3 => Some(2),
            4 => Some(4),
            5 | 8 => Some(8),
            9 => Some(16),
            6 | 7 => None,
            _ => return Err(FrameError::Header),
        };
        match fixed {
            Some(n) => {
                if b.len() < n {
                    return Err(FrameError::Header);
                }
                b.advance(n);
            }
            None => {
                if b.len() < 2 {
                    return Err(FrameError::Header);
                }
                let len = usize::from(b.get_u16());
                if b.len() < len {
                    return Err(FrameError::Header);
                }
                if kind == 7 {
                    out.push((name, String::from_utf8_lossy(&b[..len]).into_owned()));
                }
                b.advance(len);
            }
        }
    }
    Ok(out)
}

/// Encodes one message with string headers.
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        let value = &value.as_bytes()[..value.len().min(usize::from(u16::MAX))];
        h.push(name.len() as u8);
        h.extend_from_slice(name);
        h.push(7);
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value);
    }
    let total = (OVERHEAD + h.len() + payload.len()) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// An `event` message as Bedrock sends it.
pub fn event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// An `exception` message as Bedrock sends it.
pub fn exception(exception_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ConverseStream `messageStart` frame (headers as Bedrock sends them) decodes back, and
    /// flipping a bit in the payload or the prelude is caught by the CRCs.
    #[test]
    fn round_trips_and_checks_crcs() {
        let frame = event("messageStart", br#"{"p":"abcd","role":"assistant"}"#);
        let mut d = Decoder::new();
        d.push(&frame);
        let m = d.next_message().unwrap().unwrap();
        assert_eq!(m.header(":event-type"), Some("messageStart"));
        assert_eq!(m.header(":message-type"), Some("event"));
        assert_eq!(&m.payload[..], br#"{"p":"abcd","role":"assistant"}"#);
        assert_eq!(d.next_message().unwrap(), None);

        let mut bad = frame.clone();
        let last = bad.len() - 5;
        bad[last] ^= 1;
        let mut d = Decoder::new();
        d.push(&bad);
        assert_eq!(d.next_message(), Err(FrameError::Checksum("message")));

        let mut bad = frame.clone();
        bad[2] ^= 1;
        let mut d = Decoder::new();
        d.push(&bad);
        assert!(d.next_message().is_err());
    }

    #[test]
    fn the_empty_message_matches_the_spec_vector() {
        // aws-c-event-stream / smithy "empty message": 16 bytes, no headers, no payload.
        assert_eq!(
            encode(&[], b""),
            vec![
                0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98,
                0xc8, 0xff
            ]
        );
    }

    #[test]
    fn frames_split_anywhere_decode_the_same() {
        let mut bytes = event(
            "contentBlockDelta",
            "{\"delta\":{\"text\":\"héllo 😀\"}}".as_bytes(),
        );
        bytes.extend(event("messageStop", br#"{"stopReason":"end_turn"}"#));
        for i in 0..=bytes.len() {
            let mut d = Decoder::new();
            let mut got = Vec::new();
            d.push(&bytes[..i]);
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
            d.push(&bytes[i..]);
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
            assert_eq!(got.len(), 2, "split at {i}");
            assert_eq!(got[1].header(":event-type"), Some("messageStop"));
        }
    }

    #[test]
    fn skips_non_string_headers() {
        // A header of type 4 (int32) then a string header.
        let mut h = vec![3u8];
        h.extend_from_slice(b"num");
        h.push(4);
        h.extend_from_slice(&7u32.to_be_bytes());
        h.push(1);
        h.extend_from_slice(b"s");
        h.push(7);
        h.extend_from_slice(&2u16.to_be_bytes());
        h.extend_from_slice(b"ok");
        assert_eq!(parse_headers(&h).unwrap(), vec![("s".into(), "ok".into())]);
        assert_eq!(parse_headers(&[5, b'a']), Err(FrameError::Header));
    }
}
