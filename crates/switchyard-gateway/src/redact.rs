//! Secrets never travel back to clients: a provider's error body or response header that
//! echoes the credential it was sent (some do, in 401s and request-id headers) is passed on
//! with every configured secret replaced by `[REDACTED]`.
//!
//! The secrets are the providers' keys, the values of their configured headers (treated as
//! credentials) and AWS secrets, found in one pass with an Aho–Corasick automaton built at
//! config load; a zero-config client's own key is checked per request. Gateway keys are not
//! among them: they are never sent upstream, and the gateway holds only their digests.

use std::borrow::Cow;

use aho_corasick::AhoCorasick;
use switchyard_config::Config;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Shortest value treated as a secret (shorter ones would redact ordinary words).
const MIN_SECRET: usize = 8;

/// The configured secrets, ready to be found.
pub struct Redactor {
    secrets: Option<AhoCorasick>,
}

impl Redactor {
    /// The secrets of `config`.
    pub fn new(config: &Config) -> Self {
        let mut secrets: Vec<String> = Vec::new();
        for p in &config.providers {
            secrets.push(p.api_key.expose().to_owned());
            for (_, v) in &p.headers {
                if let Ok(v) = v.to_str() {
                    secrets.push(v.to_owned());
                }
            }
            if let Some(aws) = &p.options.aws {
                secrets.push(aws.secret_access_key.expose().to_owned());
                if let Some(t) = &aws.session_token {
                    secrets.push(t.expose().to_owned());
                }
            }
        }
        secrets.retain(|s| s.len() >= MIN_SECRET);
        secrets.sort();
        secrets.dedup();
        Self {
            secrets: (!secrets.is_empty())
                .then(|| AhoCorasick::new(&secrets).ok())
                .flatten(),
        }
    }

    /// `bytes` with every secret (and `extra`, a per-request one) replaced.
    pub fn redact<'b>(&self, bytes: &'b [u8], extra: Option<&str>) -> Cow<'b, [u8]> {
        let mut out = Cow::Borrowed(bytes);
        if let Some(ac) = &self.secrets {
            if ac.is_match(bytes) {
                out = Cow::Owned(ac.replace_all_bytes(bytes, &vec![REDACTED; ac.patterns_len()]));
            }
        }
        if let Some(key) = extra.filter(|k| k.len() >= MIN_SECRET) {
            if memchr::memmem::find(&out, key.as_bytes()).is_some() {
                let replaced = replace(&out, key.as_bytes(), REDACTED.as_bytes());
                out = Cow::Owned(replaced);
            }
        }
        out
    }
}

fn replace(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut rest = hay;
    while let Some(i) = memchr::memmem::find(rest, needle) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(with);
        rest = &rest[i + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        switchyard_config::load_str(
            "providers:\n  p: { kind: openai, base_url: 'http://127.0.0.1:1/v1', api_key: sk-provider-123456, headers: { x-org: org-secret-9999 } }\n",
            "t.yaml",
            &|_| None,
        )
        .unwrap()
    }

    #[test]
    fn every_configured_secret_is_replaced() {
        let r = Redactor::new(&config());
        let body = br#"{"error":{"message":"bad key sk-provider-123456 for org-secret-9999"}}"#;
        let out = r.redact(body, None);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(!text.contains("sk-provider"), "{text}");
        assert!(!text.contains("org-secret"), "{text}");
        assert_eq!(text.matches(REDACTED).count(), 2);
        // Nothing to replace: the same bytes, not a copy.
        assert!(matches!(r.redact(b"all fine", None), Cow::Borrowed(_)));
    }

    #[test]
    fn a_client_key_is_replaced_per_request() {
        let r = Redactor::new(&config());
        let out = r.redact(
            b"key sk-client-77777777 twice sk-client-77777777",
            Some("sk-client-77777777"),
        );
        assert_eq!(&*out, b"key [REDACTED] twice [REDACTED]");
    }
}
