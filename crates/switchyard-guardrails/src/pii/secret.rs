//! API-key-shaped secrets, by their issuers' published prefixes:
//!
//! | label | shape |
//! |---|---|
//! | Anthropic key | `sk-ant-` + 20 or more of `[A-Za-z0-9_-]` |
//! | OpenAI key | `sk-` (`sk-proj-`, `sk-svcacct-`, `sk-admin-`…) + 20 or more of `[A-Za-z0-9_-]` |
//! | AWS access key id | `AKIA`, `ASIA`, `ABIA` or `ACCA` + 16 of `[A-Z0-9]` |
//! | GitHub token | `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36 or more alphanumerics; `github_pat_` + 22 or more |
//! | Google API key | `AIza` + 35 of `[A-Za-z0-9_-]` |
//! | Slack token | `xoxb-`, `xoxp-`, `xoxa-`, `xoxo-`, `xoxr-`, `xoxs-` + 10 or more of `[A-Za-z0-9-]` |
//! | JWT | `eyJ…​.eyJ…​.…` (three base64url parts, header and payload JSON objects) |
//! | bearer token | `Bearer`, `bearer` or `BEARER`, spaces, 20 or more token characters (only the token is masked) |
//!
//! Each must stand alone: a letter, digit, `_` or `-` right before or after disqualifies it,
//! so `sk-learn` or a longer identifier containing `AKIA…` is left alone. A secret broken by
//! whitespace is matched up to the break; a fragment shorter than its shape's minimum is
//! not a secret.

use regex::Regex;

use super::{char_at, char_before, Finding, PiiKind};

#[derive(Clone, Debug)]
pub(super) struct Secret {
    re: Regex,
}

impl Secret {
    pub(super) fn new() -> Result<Self, regex::Error> {
        let alternatives = [
            r"sk-[A-Za-z0-9_\-]{20,}",
            r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
            r"gh[pousr]_[A-Za-z0-9]{36,255}",
            r"github_pat_[A-Za-z0-9_]{22,255}",
            r"AIza[A-Za-z0-9_\-]{35}",
            r"xox[bpaors]-[A-Za-z0-9\-]{10,}",
            r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{10,}",
            r"(?:Bearer|bearer|BEARER)[ \t]+[A-Za-z0-9._~+/\-]{20,}=*",
        ];
        Ok(Self {
            re: Regex::new(&alternatives.join("|"))?,
        })
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Finding>) {
        for m in self.re.find_iter(text) {
            let s = m.as_str();
            let glued = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
            if char_before(text, m.start()).is_some_and(glued) {
                continue;
            }
            let bearer = s.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("bearer"));
            if !bearer && char_at(text, m.end()).is_some_and(glued) {
                continue;
            }
            let start = if bearer {
                // Keep the scheme word: only the token, after the spaces, is secret.
                let after_word = m.start() + 6;
                after_word
                    + text
                        .get(after_word..m.end())
                        .and_then(|t| t.find(|c: char| c != ' ' && c != '\t'))
                        .unwrap_or(0)
            } else {
                m.start()
            };
            out.push(Finding {
                kind: PiiKind::Secret,
                range: start..m.end(),
                label: label(s),
            });
        }
    }
}

fn label(s: &str) -> &'static str {
    if s.starts_with("sk-ant-") {
        "Anthropic key"
    } else if s.starts_with("sk-") {
        "OpenAI key"
    } else if s.starts_with('A') && s.len() == 20 && !s.starts_with("AIza") {
        "AWS access key id"
    } else if s.starts_with("gh") {
        "GitHub token"
    } else if s.starts_with("AIza") {
        "Google API key"
    } else if s.starts_with("xox") {
        "Slack token"
    } else if s.starts_with("eyJ") {
        "JWT"
    } else {
        "bearer token"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(&str, &'static str)> {
        let mut out = Vec::new();
        Secret::new().unwrap().find(text, &mut out);
        out.iter()
            .map(|f| (&text[f.range.clone()], f.label))
            .collect()
    }

    // Shapes only: these are made-up values in each issuer's format.
    const OPENAI: &str = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cD0";
    const OPENAI_CLASSIC: &str = "sk-0123456789abcdefghijABCDEFGHIJ0123456789abcdef";
    const ANTHROPIC: &str = "sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp-AbCdEfGh_IjKl";
    const AWS: &str = "AKIAIOSFODNN7EXAMPLE";
    const GITHUB: &str = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
    const GOOGLE: &str = "AIzaSyA-0123456789abcdefghijklmnopqrstu";
    const SLACK: &str = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

    #[test]
    fn every_issuer_shape_is_found_and_labelled() {
        for (secret, label) in [
            (OPENAI, "OpenAI key"),
            (OPENAI_CLASSIC, "OpenAI key"),
            (ANTHROPIC, "Anthropic key"),
            (AWS, "AWS access key id"),
            (GITHUB, "GitHub token"),
            (GOOGLE, "Google API key"),
            (SLACK, "Slack token"),
            (JWT, "JWT"),
        ] {
            let text = format!("my key is {secret}, keep it safe");
            assert_eq!(found(&text), [(secret, label)], "{label}");
        }
    }

    #[test]
    fn bearer_keeps_the_scheme_word() {
        let t = "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789";
        assert_eq!(
            found(t),
            [("abcdefghijklmnopqrstuvwxyz0123456789", "bearer token")]
        );
    }

    #[test]
    fn lookalikes_are_left_alone() {
        for t in [
            "we use sk-learn and sk-image for this",
            "XAKIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPLEX",
            "the bearer of bad news arrived",
            "ghp_short",
            "eyJhbGciOiJIUzI1NiJ9 alone",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }

    #[test]
    fn secrets_split_by_whitespace() {
        // A key wrapped onto two lines: the first fragment is long enough to be masked.
        let t = format!("{}\n{}", &OPENAI[..30], &OPENAI[30..]);
        assert_eq!(found(&t), [(&OPENAI[..30], "OpenAI key")]);
        // Split right after the prefix: neither fragment has a key's shape.
        let t = format!("AKIA {}", &AWS[4..]);
        assert!(found(&t).is_empty());
        let t = "sk- 0123456789abcdefghijABCDEFGHIJ";
        assert!(found(t).is_empty());
    }
}
