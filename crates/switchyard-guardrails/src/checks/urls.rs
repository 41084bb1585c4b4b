//! `default.validUrls`: every `http(s)://` URL in the text is well formed.
//!
//! Portkey sends a HEAD request to each URL (or, with `onlyDNS`, resolves its host); this
//! crate does no I/O, so it checks form only — `onlyDNS` is accepted and changes nothing.
//! URLs are found as Portkey finds them (`https?://` up to whitespace, a comma, a quote, a
//! brace or a bracket), minus sentence punctuation at the end (`.`, `,`, `;`, `:`, `!`, `?`,
//! and a `)` without its `(`). Well formed means: a host that is a DNS name of at least two
//! labels (letters, digits, inner hyphens, 1–63 characters each, a TLD that is not all
//! digits), `localhost`, a dotted-quad IPv4 address or a bracketed IPv6 address; an optional
//! port 1–65535; and a path, query and fragment of RFC 3986 characters with valid
//! percent-escapes. As in Portkey, a text without any URL fails the check.

use std::net::{Ipv4Addr, Ipv6Addr};

use regex::Regex;

use crate::input::CheckInput;
use crate::params::Params;
use crate::verdict::{invert, Outcome};
use crate::ConfigError;

#[derive(Clone, Debug)]
pub(crate) struct ValidUrls {
    re: Regex,
    not: bool,
}

impl ValidUrls {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        // Accepted for compatibility; no lookup is made either way.
        let _only_dns = p.bool("onlyDNS", false)?;
        Ok(Self {
            re: Regex::new(r#"https?://[^\s,"'{}\[\]]+"#).map_err(|e| p.error(e.to_string()))?,
            not: p.bool("not", false)?,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let text = input.text();
        if text.is_empty() {
            return Outcome::error("Missing text to analyze");
        }
        let urls: Vec<&str> = self
            .re
            .find_iter(text)
            .map(|m| trim_punctuation(m.as_str()))
            .collect();
        if urls.is_empty() {
            return Outcome::verdict(false, "No URLs found in the text.")
                .with("not", self.not)
                .with("validationMethod", "syntax");
        }
        let invalid = urls.iter().filter(|u| !well_formed(u)).count();
        let all_valid = invalid == 0;
        let verdict = invert(all_valid, self.not);
        let total = urls.len();
        let valid = total - invalid;
        let explanation = match (verdict, self.not) {
            (true, false) => format!("All URLs are valid ({valid} found)."),
            (true, true) => format!("All URLs are invalid as expected ({invalid} of {total})."),
            (false, false) => format!("Some URLs are invalid ({invalid} of {total} failed)."),
            (false, true) => {
                format!("Some URLs are valid when they should all be invalid ({valid} of {total}).")
            }
        };
        Outcome::verdict(verdict, explanation)
            .with("verdict", verdict)
            .with("not", self.not)
            .with("validCount", valid)
            .with("invalidCount", invalid)
            .with("validationMethod", "syntax")
    }
}

fn trim_punctuation(url: &str) -> &str {
    let mut u = url;
    loop {
        let trimmed = u.trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let trimmed = match trimmed.strip_suffix(')') {
            Some(t) if t.matches('(').count() < t.matches(')').count() + 1 => t,
            _ => trimmed,
        };
        if trimmed.len() == u.len() {
            return u;
        }
        u = trimmed;
    }
}

/// True when `url` (starting `http://` or `https://`) is well formed (see the module docs).
pub(crate) fn well_formed(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hp)) => {
            if !userinfo
                .chars()
                .all(|c| unreserved(c) || sub_delim(c) || c == ':' || c == '%')
            {
                return false;
            }
            hp
        }
        None => authority,
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.parse::<Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => ("", None),
            p => match p.strip_prefix(':') {
                Some(p) => ("", Some(p)),
                None => return false,
            },
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if !hostport.starts_with('[') && !valid_host(host) {
        return false;
    }
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if !matches!(p.parse::<u32>(), Ok(1..=65535)) {
            return false;
        }
    }
    valid_tail(tail)
}

fn valid_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<Ipv4Addr>().is_ok();
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().count() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

/// Path, query and fragment: RFC 3986 `pchar`, `/`, `?` (and `#` once), with valid escapes.
/// Non-ASCII letters are allowed (IRIs, as browsers display them).
fn valid_tail(tail: &str) -> bool {
    let b = tail.as_bytes();
    let mut hashes = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
                continue;
            }
            b'#' => {
                hashes += 1;
                if hashes > 1 {
                    return false;
                }
            }
            c if c >= 0x80 => {}
            c => {
                let c = c as char;
                if !(unreserved(c) || sub_delim(c) || matches!(c, ':' | '@' | '/' | '?')) {
                    return false;
                }
            }
        }
        i += 1;
    }
    true
}

fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

fn sub_delim(c: char) -> bool {
    matches!(
        c,
        '!' | '$' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | ';' | '='
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_urls() {
        for u in [
            "https://example.com",
            "http://example.com/",
            "https://sub.example.co.uk/path/to?q=1&r=a%20b#frag",
            "https://example.com:8443/x",
            "http://localhost:8080/health",
            "http://127.0.0.1/",
            "http://[::1]:9090/metrics",
            "https://user:pw@example.com/",
            "https://de.wikipedia.org/wiki/Straße",
            "https://bücher.example/",
        ] {
            assert!(well_formed(u), "{u}");
        }
    }

    #[test]
    fn malformed_urls() {
        for u in [
            "https://",
            "https://example",
            "https://-bad.com/",
            "https://exa mple.com",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https://example.com:http/",
            "https://example..com/",
            "https://999.1.1.1/",
            "https://1.2.3.4.5/",
            "https://example.com/%zz",
            "https://example.com/a#b#c",
            "https://example.com/<script>",
            "http://[::zz]/",
            "https://example.123/",
        ] {
            assert!(!well_formed(u), "{u}");
        }
    }

    #[test]
    fn sentence_punctuation_is_not_part_of_a_url() {
        assert_eq!(
            trim_punctuation("https://example.com."),
            "https://example.com"
        );
        assert_eq!(
            trim_punctuation("https://example.com/a)."),
            "https://example.com/a"
        );
        assert_eq!(
            trim_punctuation("https://en.wikipedia.org/wiki/Rust_(programming_language)"),
            "https://en.wikipedia.org/wiki/Rust_(programming_language)"
        );
    }
}
