//! A pull reader over JSON the envelope already validated: it only finds where each value
//! ends (strings eight bytes at a time, then with `memchr`), and decodes a string's escapes only
//! when a check needs its text. Every method answers `None` on bytes that are not what JSON
//! allows there instead of panicking, so the walk stays total on any input.

use std::borrow::Cow;

use super::walk::Num;

/// A string value as it sits in the body: its quoted slice, and whether it holds escapes.
#[derive(Clone, Copy)]
pub(super) struct Text<'a> {
    pub(super) quoted: &'a str,
    escaped: bool,
}

impl<'a> Text<'a> {
    /// The text between the quotes, when it holds no escapes (then it is the value itself).
    pub(super) fn raw(self) -> Option<&'a str> {
        if self.escaped {
            None
        } else {
            self.quoted.get(1..self.quoted.len().saturating_sub(1))
        }
    }

    /// The value, decoding escapes only when there are some.
    pub(super) fn get(self) -> Cow<'a, str> {
        match self.raw() {
            Some(s) => Cow::Borrowed(s),
            // serde_json's decoder, on a slice the envelope already proved to be a JSON string.
            None => serde_json::from_str::<String>(self.quoted)
                .map(Cow::Owned)
                .unwrap_or(Cow::Borrowed("")),
        }
    }

    pub(super) fn is_empty(self) -> bool {
        self.quoted.len() <= 2
    }
}

/// Words of a string looked at eight bytes at a time before `memchr` takes over.
const SHORT_WORDS: usize = 4;

/// Where the first `"` or `\\` in `rest` is. Most strings are short (keys, names,
/// enumerations): testing eight bytes at a time in a register costs less than setting up the
/// vector search, which takes over past the first 32 bytes.
fn quote_or_backslash(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Bytes of `w` equal to `b` get their high bit set; the lowest flagged byte is exact.
    let flag = |w: u64, b: u8| {
        let x = w ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut at = 0;
    for _ in 0..SHORT_WORDS {
        let Some(word) = rest.get(at..at + 8) else {
            break;
        };
        let w = u64::from_le_bytes(<[u8; 8]>::try_from(word).ok()?);
        let hits = flag(w, b'"') | flag(w, b'\\');
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    Some(at + memchr::memchr2(b'"', b'\\', rest.get(at..)?)?)
}

/// Reads JSON the envelope already validated, finding where each value ends. Every method
/// answers `None` on bytes that are not what JSON allows there instead of panicking.
pub(super) struct Lexer<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// The next byte after whitespace, not consumed.
    pub(super) fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Consumes `b` if it comes next.
    pub(super) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A string starting at the current byte (a `"`).
    pub(super) fn string(&mut self) -> Option<Text<'a>> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            i += quote_or_backslash(bytes.get(i..)?)?;
            if *bytes.get(i)? == b'"' {
                break;
            }
            // A backslash and the character it escapes (`\u` digits are plain bytes).
            escaped = true;
            i += 2;
        }
        self.pos = i + 1;
        // Both ends are ASCII quotes, so the slice falls on character boundaries.
        let quoted = self.text.get(start..self.pos)?;
        Some(Text { quoted, escaped })
    }

    pub(super) fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.pos + word.len();
        if self.text.get(self.pos..end)? == word {
            self.pos = end;
            Some(())
        } else {
            None
        }
    }

    pub(super) fn number(&mut self) -> Option<Num> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut integral = true;
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => integral = false,
                _ => break,
            }
            self.pos += 1;
        }
        let s = self.text.get(start..self.pos)?;
        // As serde_json reads numbers: integers that fit 64 bits stay integers.
        if integral {
            if let Ok(u) = s.parse::<u64>() {
                return Some(Num::U(u));
            }
            if let Ok(i) = s.parse::<i64>() {
                return Some(Num::I(i));
            }
        }
        s.parse::<f64>().ok().map(Num::F)
    }
}
