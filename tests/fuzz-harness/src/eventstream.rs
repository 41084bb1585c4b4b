//! The AWS event-stream decoder that Bedrock's ConverseStream answers go through.

use switchyard_providers::bedrock::eventstream::{Decoder, FrameError, Message, MAX_MESSAGE_BYTES};

use crate::input::{byte, Chunked};

/// Input: a flags byte (bit 0: fix the checksums first, see [`fix_checksums`]), then a
/// [`Chunked`] stream. The messages and the first error must not depend on where the stream
/// is cut, and after each drain the decoder holds less than one largest message.
pub fn run(data: &[u8]) {
    let mut rest = data;
    let flags = byte(&mut rest);
    let input = Chunked::read(rest);
    let mut stream = input.stream.to_vec();
    if flags & 1 == 1 {
        fix_checksums(&mut stream);
    }
    let whole = decode(&[&stream]);
    let split = decode(&input.cut(&stream));
    assert_eq!(whole, split, "messages depend on the cuts");
}

/// The messages decoded, the first error, and the bytes left over when there was none (after
/// an error the stream is dead, and how much of it had arrived depends on the cuts).
type Decoded = (Vec<Message>, Option<FrameError>, usize);

fn decode(chunks: &[&[u8]]) -> Decoded {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for chunk in chunks {
        d.push(chunk);
        loop {
            match d.next_message() {
                Ok(Some(m)) => {
                    let _ = m.header(":event-type");
                    out.push(m);
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e), 0),
            }
        }
        assert!(
            d.pending_bytes() < MAX_MESSAGE_BYTES,
            "holds more than a message"
        );
    }
    (out, None, d.pending_bytes())
}

/// Rewrites both CRC32s of every whole frame (as its length fields delimit it) to match, so
/// the fuzzer reaches header and payload parsing instead of stopping at the checksums.
pub fn fix_checksums(stream: &mut [u8]) {
    let mut at = 0;
    while stream.len() - at >= 12 {
        let frame = &mut stream[at..];
        let total = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        if total < 16 || total > frame.len() {
            return;
        }
        let prelude = crc32fast::hash(&frame[..8]);
        frame[8..12].copy_from_slice(&prelude.to_be_bytes());
        let message = crc32fast::hash(&frame[..total - 4]);
        frame[total - 4..total].copy_from_slice(&message.to_be_bytes());
        at += total;
    }
}
