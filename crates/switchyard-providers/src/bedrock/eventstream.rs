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

    /// Decodes `bytes` fed one byte at a time: the whole message or the first error.
    fn decode_bytewise(bytes: &[u8]) -> Result<Vec<Message>, FrameError> {
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for b in bytes {
            d.push(std::slice::from_ref(b));
            while let Some(m) = d.next_message()? {
                got.push(m);
            }
        }
        assert_eq!(d.pending_bytes(), 0);
        Ok(got)
    }

    fn one(bytes: &[u8]) -> Message {
        let mut d = Decoder::new();
        d.push(bytes);
        let m = d.next_message().unwrap().unwrap();
        assert_eq!(d.pending_bytes(), 0);
        assert_eq!(decode_bytewise(bytes).unwrap(), vec![m.clone()]);
        m
    }

    const FOO_BAR: &[u8] = b"{'foo':'bar'}";

    /// AWS's event-stream test vectors as `aws/aws-sdk-js-v3` keeps them in
    /// `packages/eventstream-codec/src/TestVectors.fixture.ts` (commit 9a71e608), the same
    /// set the other AWS SDKs decode. `all_headers` carries one header of every type (int32,
    /// string, bool false and true, byte, byte array, timestamp, int16, int64, uuid): all are
    /// walked, only strings are kept.
    #[test]
    fn aws_vectors_with_headers_of_every_type_decode() {
        let all_headers: &[u8] = &[
            0, 0, 0, 204, 0, 0, 0, 175, 15, 174, 100, 202, 10, 101, 118, 101, 110, 116, 45, 116,
            121, 112, 101, 4, 0, 0, 160, 12, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121,
            112, 101, 7, 0, 16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115,
            111, 110, 10, 98, 111, 111, 108, 32, 102, 97, 108, 115, 101, 1, 9, 98, 111, 111, 108,
            32, 116, 114, 117, 101, 0, 4, 98, 121, 116, 101, 2, 207, 8, 98, 121, 116, 101, 32, 98,
            117, 102, 6, 0, 20, 73, 39, 109, 32, 97, 32, 108, 105, 116, 116, 108, 101, 32, 116,
            101, 97, 112, 111, 116, 33, 9, 116, 105, 109, 101, 115, 116, 97, 109, 112, 8, 0, 0, 0,
            0, 0, 132, 95, 237, 5, 105, 110, 116, 49, 54, 3, 0, 42, 5, 105, 110, 116, 54, 52, 5, 0,
            0, 0, 0, 2, 135, 87, 178, 4, 117, 117, 105, 100, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
            12, 13, 14, 15, 16, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 171, 165,
            241, 12,
        ];
        let m = one(all_headers);
        assert_eq!(
            m.headers,
            vec![("content-type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(&m.payload[..], FOO_BAR);

        let int32_header: &[u8] = &[
            0, 0, 0, 45, 0, 0, 0, 16, 65, 196, 36, 184, 10, 101, 118, 101, 110, 116, 45, 116, 121,
            112, 101, 4, 0, 0, 160, 12, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125,
            54, 244, 128, 160,
        ];
        let m = one(int32_header);
        assert!(m.headers.is_empty());
        assert_eq!(&m.payload[..], FOO_BAR);

        let payload_no_headers: &[u8] = &[
            0, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97,
            114, 39, 125, 195, 101, 57, 54,
        ];
        let m = one(payload_no_headers);
        assert!(m.headers.is_empty());
        assert_eq!(&m.payload[..], FOO_BAR);
        assert_eq!(encode(&[], FOO_BAR), payload_no_headers);

        let payload_one_str_header: &[u8] = &[
            0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45,
            116, 121, 112, 101, 7, 0, 16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47,
            106, 115, 111, 110, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 141, 156,
            8, 177,
        ];
        let m = one(payload_one_str_header);
        assert_eq!(m.header("content-type"), Some("application/json"));
        assert_eq!(&m.payload[..], FOO_BAR);
        // The encoder writes the same bytes.
        assert_eq!(
            encode(&[("content-type", "application/json")], FOO_BAR),
            payload_one_str_header
        );

        let m = one(&[0, 0, 0, 16, 0, 0, 0, 0, 5, 194, 72, 235, 125, 152, 200, 255]);
        assert!(m.headers.is_empty() && m.payload.is_empty());
    }

    /// The same fixture's `corrupted_*` vectors: each must be refused.
    #[test]
    fn aws_corrupted_vectors_are_refused() {
        let good: [u8; 61] = [
            0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45,
            116, 121, 112, 101, 7, 0, 16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47,
            106, 115, 111, 110, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 141, 156,
            8, 177,
        ];
        // corrupted_headers: a payload byte changed (`'` → `a`).
        let mut corrupted_headers = good;
        corrupted_headers[45] = 97;
        // corrupted_header_len: headers length 33.
        let mut corrupted_header_len = good;
        corrupted_header_len[7] = 33;
        // corrupted_length: total length 62.
        let mut corrupted_length = good;
        corrupted_length[3] = 62;
        let corrupted_payload: &[u8] = &[
            0, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 91, 39, 102, 111, 111, 39, 58, 39, 98, 97,
            114, 39, 125, 195, 101, 57, 54,
        ];
        for (name, bytes, want) in [
            (
                "corrupted_headers",
                &corrupted_headers[..],
                FrameError::Checksum("message"),
            ),
            (
                "corrupted_header_len",
                &corrupted_header_len[..],
                FrameError::Checksum("prelude"),
            ),
            (
                "corrupted_length",
                &corrupted_length[..],
                FrameError::Checksum("prelude"),
            ),
            (
                "corrupted_payload",
                corrupted_payload,
                FrameError::Checksum("message"),
            ),
        ] {
            let mut d = Decoder::new();
            d.push(bytes);
            assert_eq!(d.next_message(), Err(want.clone()), "{name}");
            assert_eq!(decode_bytewise(bytes), Err(want), "{name}, byte by byte");
        }
    }

    /// Messages from `awslabs/aws-c-event-stream` `tests/message_streaming_decoder_test.c`
    /// (commit d47b14c6): an int32 header, a bool header, and empty byte-array and string
    /// values.
    #[test]
    fn aws_c_event_stream_header_vectors_decode() {
        // `test_streaming_decoder_incoming_application_one_int32_header_pair_valid`.
        let int32: &[u8] = &[
            0x00, 0x00, 0x00, 0x1b, 0x00, 0x00, 0x00, 0x0b, 0xe5, 0xc0, 0xa0, 0x72, 0x05, b'e',
            b'v', b'e', b'n', b't', 0x04, 0x00, 0x00, 0x00, 0x20, 0x04, 0xa1, 0xd4, 0x7c,
        ];
        let m = one(int32);
        assert!(m.headers.is_empty() && m.payload.is_empty());
        // `..._one_bool_header_pair_valid`.
        let boolean: &[u8] = &[
            0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x07, 0x29, 0x86, 0x01, 0x58, 0x05, b'e',
            b'v', b'e', b'n', b't', 0x00, 0x4b, 0x4d, 0x2b, 0xe7,
        ];
        let m = one(boolean);
        assert!(m.headers.is_empty() && m.payload.is_empty());
        // `..._variable_headers_with_empty_length_pair_valid`.
        let empty_values: &[u8] = &[
            0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x12, 0x2D, 0x9A, 0xD2, 0x45, 0x04, b'b',
            b'u', b'f', b'f', 0x06, 0x00, 0x00, 0x06, b's', b't', b'r', b'i', b'n', b'g', 0x07,
            0x00, 0x00, 0xC8, 0x4C, 0xF8, 0x53,
        ];
        let m = one(empty_values);
        assert_eq!(m.headers, vec![("string".to_owned(), String::new())]);
        assert_eq!(m.header("string"), Some(""));
        assert!(m.payload.is_empty());
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
