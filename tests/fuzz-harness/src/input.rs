//! How a fuzz input is read: leading selector bytes, then a stream and where it is cut.

/// Takes the first byte of `data` (0 once empty).
pub fn byte(data: &mut &[u8]) -> u8 {
    match data.split_first() {
        Some((b, rest)) => {
            *data = rest;
            *b
        }
        None => 0,
    }
}

/// The most cuts an input asks for: enough to split any token, few enough to stay fast.
const MAX_CUTS: u8 = 8;

/// A stream and the lengths of its chunks. Encoding: one byte `n`, then `n % 9` chunk
/// lengths of one byte each (0 is an empty chunk), then the stream; what the lengths leave
/// over is the last chunk.
#[derive(Debug)]
pub struct Chunked<'a> {
    lens: Vec<usize>,
    /// The whole stream.
    pub stream: &'a [u8],
}

impl<'a> Chunked<'a> {
    /// Reads the cut header and the stream from the rest of `data`.
    pub fn read(mut data: &'a [u8]) -> Self {
        let n = byte(&mut data) % (MAX_CUTS + 1);
        let lens = (0..n).map(|_| usize::from(byte(&mut data))).collect();
        Self { lens, stream: data }
    }

    /// The chunks in order; their concatenation is the stream.
    pub fn chunks(&self) -> Vec<&'a [u8]> {
        self.cut(self.stream)
    }

    /// Another stream (e.g. the stream with checksums fixed) cut at the same lengths.
    pub fn cut<'b>(&self, stream: &'b [u8]) -> Vec<&'b [u8]> {
        let mut rest = stream;
        let mut out = Vec::with_capacity(self.lens.len() + 1);
        for &len in &self.lens {
            let (head, tail) = rest.split_at(len.min(rest.len()));
            out.push(head);
            rest = tail;
        }
        out.push(rest);
        out
    }
}

/// The header [`Chunked::read`] takes for `lens`, for writing seeds.
pub fn cut_header(lens: &[u8]) -> Vec<u8> {
    assert!(lens.len() <= usize::from(MAX_CUTS));
    let mut out = vec![lens.len() as u8];
    out.extend_from_slice(lens);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_stream_in_order() {
        let mut data = cut_header(&[2, 0, 200]);
        data.extend_from_slice(b"abcdefg");
        let c = Chunked::read(&data);
        assert_eq!(c.stream, b"abcdefg");
        assert_eq!(
            c.chunks(),
            vec![&b"ab"[..], &b""[..], &b"cdefg"[..], &b""[..]]
        );
        assert_eq!(Chunked::read(&[]).chunks(), vec![&b""[..]]);
    }
}
