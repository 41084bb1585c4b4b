//! The Server-Sent Events framer every streaming dialect reads through.

use switchyard_providers::sse::{SseEvent, SseFramer, SseTooLarge, MAX_EVENT_BYTES};

use crate::input::Chunked;

/// Input: a [`Chunked`] stream. The events must not depend on where the stream is cut: fed
/// in the chosen chunks they equal the events of the stream fed whole.
pub fn run(data: &[u8]) {
    let input = Chunked::read(data);
    let whole = events(std::iter::once(input.stream));
    let split = events(input.chunks().into_iter());
    assert_eq!(whole, split, "events depend on the cuts");
}

/// Input: a [`Chunked`] stream (at least 256 bytes, at most 200k lines once repeated), fed over and
/// over past [`MAX_EVENT_BYTES`]: the framer must either refuse (`SseTooLarge`) or keep every
/// event and what it holds within the limit. A target of its own, as each input costs
/// 16 MiB of framing.
pub fn limit(data: &[u8]) {
    past_the_limit(&Chunked::read(data));
}

fn events<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> Result<Vec<SseEvent>, SseTooLarge> {
    let mut f = SseFramer::new();
    let mut out = Vec::new();
    for chunk in chunks {
        f.push(chunk)?;
        while let Some(e) = f.next_event()? {
            out.push(e);
        }
    }
    out.extend(f.finish()?);
    assert_eq!(f.pending_bytes(), 0, "finish leaves nothing behind");
    Ok(out)
}

fn past_the_limit(input: &Chunked<'_>) {
    // Bounded work per input: at least 256 bytes per round, at most 200k lines in all (the
    // limit is about long lines and events, not many short ones).
    let len = input.stream.len();
    let lines = memchr::memchr2_iter(b'\n', b'\r', input.stream).count();
    if len < 256 || lines * (MAX_EVENT_BYTES / len + 1) > 200_000 {
        return;
    }
    let chunks = input.chunks();
    let mut f = SseFramer::new();
    // Refusing (`SseTooLarge`) is fine; holding more than the limit without refusing is not.
    let _ = feed_past_the_limit(&mut f, &chunks);
}

fn feed_past_the_limit(f: &mut SseFramer, chunks: &[&[u8]]) -> Result<(), SseTooLarge> {
    let mut pushed = 0;
    while pushed <= MAX_EVENT_BYTES + 1 {
        for chunk in chunks {
            f.push(chunk)?;
            pushed += chunk.len();
            while let Some(e) = f.next_event()? {
                assert!(e.data.len() <= MAX_EVENT_BYTES, "an event over the limit");
            }
            // At most one partial line and one event's data.
            assert!(
                f.pending_bytes() <= 2 * MAX_EVENT_BYTES,
                "held over the limit"
            );
        }
    }
    if let Some(e) = f.finish()? {
        assert!(e.data.len() <= MAX_EVENT_BYTES, "an event over the limit");
    }
    Ok(())
}
