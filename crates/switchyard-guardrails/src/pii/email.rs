//! E-mail addresses: `local@domain.tld`, with a letters-only TLD of 2–24 characters.
//!
//! An `@` inside a URL's authority (`https://user:pass@host/`) is a login, not an address,
//! and `https://medium.com/@name` has no local part; both are left alone. An address in a
//! URL's path or query (`?to=jane@example.com`) is still an address and is found.

use regex::Regex;

use super::{char_at, char_before, Finding, PiiKind};

#[derive(Clone, Debug)]
pub(super) struct Email {
    re: Regex,
}

impl Email {
    pub(super) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            re: Regex::new(
                r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}",
            )?,
        })
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Finding>) {
        for m in self.re.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            // The TLD must end the domain: `x@y.comma` is fine, `x@y.com3` is not a TLD.
            if char_at(text, end).is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_') {
                continue;
            }
            if char_before(text, start).is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            if in_url_authority(text, start) {
                continue;
            }
            out.push(Finding {
                kind: PiiKind::Email,
                range: start..end,
                label: "e-mail address",
            });
        }
    }
}

/// True when `start` lies in the authority of a URL that begins earlier in the same token:
/// after `://` with no `/`, `?` or `#` in between.
fn in_url_authority(text: &str, start: usize) -> bool {
    let before = text.get(..start).unwrap_or_default();
    let token_start = before
        .rfind(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '<' || c == '(')
        .map_or(0, |i| i + 1);
    let token = before.get(token_start..).unwrap_or_default();
    match token.find("://") {
        Some(i) => !token
            .get(i + 3..)
            .unwrap_or_default()
            .contains(['/', '?', '#']),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        Email::new().unwrap().find(text, &mut out);
        out.iter().map(|f| &text[f.range.clone()]).collect()
    }

    #[test]
    fn finds_plain_addresses() {
        assert_eq!(
            found("Write to jane.doe+news@mail.example.co.uk or bob@x.io."),
            ["jane.doe+news@mail.example.co.uk", "bob@x.io"]
        );
        assert_eq!(found("<ops@example.com>"), ["ops@example.com"]);
        assert_eq!(found("mailto:ops@example.com"), ["ops@example.com"]);
    }

    #[test]
    fn addresses_inside_urls() {
        // A query parameter holds a real address.
        assert_eq!(
            found("https://example.com/unsubscribe?to=jane@example.com&x=1"),
            ["jane@example.com"]
        );
        // A handle in a path and a login in the authority are not addresses.
        assert!(found("https://medium.com/@jane.doe/post").is_empty());
        assert!(found("see https://user:secret@db.example.com/x").is_empty());
        assert!(found("git clone ssh://git@github.com/org/repo").is_empty());
    }

    #[test]
    fn not_addresses() {
        assert!(found("@mention and a@b and x@y.c and name@host").is_empty());
        assert!(found("version 1.2@3.4").is_empty());
        assert!(found("user@example.com3").is_empty());
        assert!(found("no at sign here").is_empty());
    }
}
