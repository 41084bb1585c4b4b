//! Token usage, as OpenAI reports it, and how to find it in a body without parsing all of it.

use std::sync::LazyLock;

use memchr::memmem;
use serde::{Deserialize, Serialize};

/// Token counts for one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Their sum, as the provider reports it.
    #[serde(default)]
    pub total_tokens: u64,
    /// Prompt tokens served from the provider's prompt cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached_tokens: u64,
}

impl Usage {
    /// The usage of a call that only reads its input (embeddings): `tokens` prompt tokens.
    pub fn prompt_only(tokens: u64) -> Self {
        Self {
            prompt_tokens: tokens,
            completion_tokens: 0,
            total_tokens: tokens,
            cached_tokens: 0,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// OpenAI's usage object; the Responses API names the counts `input_tokens` and
/// `output_tokens`.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default, alias = "input_tokens")]
    prompt_tokens: u64,
    #[serde(default, alias = "output_tokens")]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(w: WireUsage) -> Self {
        Usage {
            prompt_tokens: w.prompt_tokens,
            completion_tokens: w.completion_tokens,
            total_tokens: if w.total_tokens > 0 {
                w.total_tokens
            } else {
                w.prompt_tokens + w.completion_tokens
            },
            cached_tokens: w
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
        }
    }
}

/// Finds the last `"usage": {...}` object in OpenAI-format JSON and decodes it.
///
/// In valid JSON the byte sequence `"usage"` followed by `:` can only be an object key: inside
/// a string its quotes would be escaped. The last such key in a chat or embeddings response
/// is the top-level one, which OpenAI writes after `choices`/`data`. Used on a bounded tail
/// of passthrough bodies so that usage is counted without buffering or parsing the response.
pub fn find_usage(json: &[u8]) -> Option<Usage> {
    // A forward scan with a searcher built once: this runs on every event of an OpenAI stream
    // with `include_usage` (each chunk carries `"usage":null`), where building a searcher
    // per call and a reverse two-way scan cost more than the rest of the event's handling.
    let mut last = None;
    for at in USAGE_KEY.find_iter(json) {
        if object_after_key(json, at).is_some() {
            last = Some(at);
        }
    }
    let mut end = last?;
    loop {
        if let Some(rest) = object_after_key(json, end) {
            let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<WireUsage>();
            if let Some(Ok(w)) = stream.next() {
                return Some(w.into());
            }
        }
        // The last candidate did not decode: look further back (rare: malformed usage).
        end = USAGE_KEY_REV.rfind(&json[..end])?;
    }
}

static USAGE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(USAGE_NEEDLE));
static USAGE_KEY_REV: LazyLock<memmem::FinderRev<'static>> =
    LazyLock::new(|| memmem::FinderRev::new(USAGE_NEEDLE));
const USAGE_NEEDLE: &[u8] = b"\"usage\"";

/// The bytes from the `{` of the object that follows the key found at `at`, if an object
/// follows (`"usage": null` has none).
fn object_after_key(json: &[u8], at: usize) -> Option<&[u8]> {
    let rest = skip_ws(json.get(at + USAGE_NEEDLE.len()..)?);
    let rest = skip_ws(rest.strip_prefix(b":")?);
    (rest.first() == Some(&b'{')).then_some(rest)
}

fn skip_ws(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .take_while(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
        .count();
    &b[n..]
}

/// Keeps the last `cap` bytes of a body that is being forwarded chunk by chunk, so usage can
/// be read from its end without holding the whole body.
#[derive(Debug)]
pub struct Tail {
    buf: Vec<u8>,
    cap: usize,
}

impl Tail {
    /// A tail window of `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            buf: Vec::with_capacity(cap.min(4096)),
            cap,
        }
    }

    /// Records the next chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        if chunk.len() >= self.cap {
            self.buf.clear();
            self.buf.extend_from_slice(&chunk[chunk.len() - self.cap..]);
            return;
        }
        let overflow = (self.buf.len() + chunk.len()).saturating_sub(self.cap);
        if overflow > 0 {
            self.buf.drain(..overflow);
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The bytes held.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_usage_in_a_chat_response() {
        let body = br#"{"id":"x","choices":[{"message":{"content":"say \"usage\": {\"prompt_tokens\": 99}"}}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":4}},"system_fingerprint":null}"#;
        assert_eq!(
            find_usage(body),
            Some(Usage {
                prompt_tokens: 9,
                completion_tokens: 12,
                total_tokens: 21,
                cached_tokens: 4
            })
        );
    }

    #[test]
    fn null_usage_and_missing_usage_read_as_none() {
        assert_eq!(find_usage(br#"{"usage":null}"#), None);
        assert_eq!(find_usage(br#"{"choices":[]}"#), None);
        assert_eq!(find_usage(br#"{"content":"usage"}"#), None);
    }

    #[test]
    fn embeddings_usage_fills_the_total() {
        let u = find_usage(br#"{"data":[],"usage":{"prompt_tokens":5}}"#).unwrap();
        assert_eq!((u.prompt_tokens, u.total_tokens), (5, 5));
    }

    #[test]
    fn the_tail_keeps_only_the_last_bytes() {
        let mut t = Tail::new(8);
        t.push(b"0123");
        t.push(b"456789");
        assert_eq!(t.bytes(), b"23456789");
        t.push(b"abcdefghijk");
        assert_eq!(t.bytes(), b"defghijk");
    }
}
