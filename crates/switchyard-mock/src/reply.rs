//! Deterministic answers: the same request always gets the same content, split into the same
//! pieces whether it is streamed or not, so a test can compare both.

/// The text pieces of a reply: the first echoes the last user text, the rest are numbered
/// tokens. Joined, they are the non-streamed content.
pub fn pieces(last_user: &str, chunks: usize) -> Vec<String> {
    let echo: String = last_user.chars().take(200).collect();
    let mut out = Vec::with_capacity(chunks.max(1));
    out.push(format!("You said: {echo}"));
    for i in 1..chunks {
        out.push(format!(" t{i}"));
    }
    out
}

/// `s` cut into at most `parts` pieces of about equal length (in characters), e.g. tool-call
/// arguments streamed as fragments.
pub fn split_even(s: &str, parts: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let size = chars.len().div_ceil(parts.max(1)).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// A crude token count: whitespace-separated words.
pub fn count_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// A deterministic embedding of `dims` floats in [-1, 1].
pub fn embedding(input: &str, dims: usize) -> Vec<f32> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in input.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (0..dims)
        .map(|i| {
            h ^= i as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
            ((h >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Standard base64 (with padding), as OpenAI's `encoding_format: base64` uses.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(T[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn pieces_are_exact_in_number() {
        assert_eq!(pieces("hi", 3), vec!["You said: hi", " t1", " t2"]);
        assert_eq!(pieces("hi", 0).len(), 1);
    }

    #[test]
    fn embeddings_are_deterministic() {
        assert_eq!(embedding("a", 4), embedding("a", 4));
        assert_ne!(embedding("a", 4), embedding("b", 4));
        assert!(embedding("x", 16).iter().all(|v| (-1.0..=1.0).contains(v)));
    }
}
