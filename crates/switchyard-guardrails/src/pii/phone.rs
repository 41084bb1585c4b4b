//! Phone numbers, tuned for few false positives.
//!
//! Accepted:
//! - international: `+` then 8–15 digits (E.164's range), grouped or not, with spaces,
//!   dots, dashes and at most one pair of parentheses (`+1 (415) 555-2671`,
//!   `+44 20 7946 0958`, `+49 (0)30 1234567`, `+14155552671`);
//! - national with a trunk `0`: 10–11 digits in at least three groups, or 11 in two
//!   (`020 7946 0958`, `01 23 45 67 89`, `030-1234-5678`, `07700 900123`);
//! - North American: `(415) 555-2671`, `415-555-2671`, `415.555.2671`, `1-415-555-2671`
//!   (area code and exchange starting 2–9).
//!
//! Refused: bare digit runs without `+` (order numbers, timestamps), dates, IP addresses,
//! decimals, version numbers and anything glued to letters or further digits.

use regex::Regex;

use super::{char_at, char_before, next_group, Finding, PiiKind};

#[derive(Clone, Debug)]
pub(super) struct Phone {
    re: Regex,
}

impl Phone {
    pub(super) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            re: Regex::new(r"\+?\(?[0-9][0-9 ().\-]{5,24}[0-9]")?,
        })
    }

    /// Finds values starting at or after byte `from` (a char boundary).
    pub(super) fn find(&self, text: &str, from: usize, out: &mut Vec<Finding>) {
        let mut from = from.min(text.len());
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        while let Some(m) = self.re.find_at(text, from) {
            let start = m.start();
            from = next_group(text, start, m.end());
            if char_before(text, start).is_some_and(|c| {
                c.is_alphanumeric() || c == '+' || c == '_' || c == '.' || c == '-' || c == '/'
            }) {
                continue;
            }
            // A later group of a longer number (`2024 01 15 10 30`) is not a phone number.
            let after_number = matches!(char_before(text, start), Some(' ' | '.' | '-'))
                && char_before(text, start - 1).is_some_and(|c| c.is_ascii_digit());
            if after_number {
                continue;
            }
            let Some(len) = longest_phone(&text[start..m.end()]) else {
                continue;
            };
            let end = start + len;
            let after_ok = match char_at(text, end) {
                None => true,
                Some(c) if c.is_alphanumeric() || c == '_' => false,
                // `.5`, `-7`: a decimal or a longer dashed number, not the end of a phone.
                Some('.' | '-' | '/') => {
                    !char_at(text, end + 1).is_some_and(|c| c.is_ascii_digit())
                }
                Some(_) => true,
            };
            if after_ok {
                out.push(Finding {
                    kind: PiiKind::Phone,
                    range: start..end,
                    label: "phone number",
                });
                from = end;
            }
        }
    }
}

/// The length of the longest prefix of `cand` ending at a group boundary that is a phone
/// number, trying whole groups from the longest down.
fn longest_phone(cand: &str) -> Option<usize> {
    let bytes = cand.as_bytes();
    // Prefix ends: after each digit that a non-digit (or the end) follows.
    let mut ends: Vec<usize> = (0..bytes.len())
        .filter(|&i| {
            bytes[i].is_ascii_digit() && bytes.get(i + 1).is_none_or(|b| !b.is_ascii_digit())
        })
        .map(|i| i + 1)
        .collect();
    ends.reverse();
    ends.into_iter().find(|&end| is_phone(&cand[..end]))
}

fn is_phone(s: &str) -> bool {
    let (plus, body) = match s.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let Some(groups) = groups(body) else {
        return false;
    };
    let digits: usize = groups.iter().map(|g| g.digits.len()).sum();
    if plus {
        let first = groups.first().and_then(|g| g.digits.bytes().next());
        (8..=15).contains(&digits)
            && first != Some(b'0')
            && !groups.first().is_some_and(|g| g.paren)
    } else {
        national(&groups, digits)
    }
}

struct Group<'a> {
    digits: &'a str,
    paren: bool,
    /// The separator after this group (`' '`, `'.'`, `'-'`, or none at the end).
    sep: Option<u8>,
}

/// Splits `s` into digit groups: runs of digits, optionally one run in parentheses,
/// separated by one of ` `, `.`, `-` (a `)` may be followed by a space). `None` when the
/// layout is anything else.
fn groups(s: &str) -> Option<Vec<Group<'_>>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut parens = 0;
    while i < b.len() {
        let paren = b[i] == b'(';
        if paren {
            parens += 1;
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i];
        if paren {
            if b.get(i) != Some(&b')') || digits.len() > 5 {
                return None;
            }
            i += 1;
        }
        let sep = match b.get(i) {
            None => None,
            Some(&c @ (b' ' | b'.' | b'-')) => {
                i += 1;
                Some(c)
            }
            // `(0)30`: a parenthesised trunk digit may sit right against the next group.
            Some(c) if paren && c.is_ascii_digit() => Some(b'0'),
            Some(_) => return None,
        };
        if sep.is_some() && i >= b.len() {
            return None;
        }
        out.push(Group { digits, paren, sep });
    }
    (parens <= 1).then_some(out)
}

fn national(groups: &[Group<'_>], digits: usize) -> bool {
    // One kind of separator between plain groups: `415-555 2671` is not a layout anyone writes.
    let seps: Vec<u8> = groups
        .iter()
        .filter(|g| !g.paren)
        .filter_map(|g| g.sep)
        .collect();
    if seps.windows(2).any(|w| w[0] != w[1]) {
        return false;
    }
    let sizes: Vec<usize> = groups.iter().map(|g| g.digits.len()).collect();
    let first = groups.first().map(|g| g.digits.as_bytes());
    // North American Numbering Plan: [1] NXX NXX XXXX.
    let nanp = |g: &[Group<'_>]| {
        g.len() == 3
            && g[0].digits.len() == 3
            && g[1].digits.len() == 3
            && g[2].digits.len() == 4
            && !g[1].paren
            && !g[2].paren
            && g[0].digits.as_bytes()[0] >= b'2'
            && g[1].digits.as_bytes()[0] >= b'2'
    };
    if nanp(groups) {
        return true;
    }
    if groups.len() == 4 && groups[0].digits == "1" && !groups[0].paren && nanp(&groups[1..]) {
        return true;
    }
    // A trunk-prefixed national number: 0 then a non-zero digit, 10 or 11 digits in 3+ groups.
    let trunk = first.is_some_and(|d| d.len() >= 2 && d[0] == b'0' && d[1] != b'0');
    trunk
        && (10..=11).contains(&digits)
        && (groups.len() >= 3 || (groups.len() == 2 && digits == 11))
        && sizes.iter().all(|&n| (2..=6).contains(&n))
        && !groups.iter().skip(1).any(|g| g.paren)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        Phone::new().unwrap().find(text, 0, &mut out);
        out.iter().map(|f| &text[f.range.clone()]).collect()
    }

    #[test]
    fn international_numbers() {
        for p in [
            "+14155552671",
            "+1 415-555-2671",
            "+1 (415) 555-2671",
            "+44 20 7946 0958",
            "+49 (0)30 1234567",
            "+33 1 23 45 67 89",
            "+81-3-1234-5678",
        ] {
            assert_eq!(found(&format!("call {p} now")), [p], "{p}");
        }
    }

    #[test]
    fn national_numbers() {
        for p in [
            "(415) 555-2671",
            "415-555-2671",
            "415.555.2671",
            "1-415-555-2671",
            "020 7946 0958",
            "01 23 45 67 89",
            "07700 900123",
            "030-1234-5678",
        ] {
            assert_eq!(found(&format!("Tel: {p}.")), [p], "{p}");
        }
    }

    #[test]
    fn things_that_are_not_phone_numbers() {
        for t in [
            "order 4155552671 shipped",
            "on 2024-01-15 at 10:30",
            "host 192.168.100.200 is up",
            "pi is 3.14159265358979",
            "version 10.20.3000.4",
            "ISBN 978-3-16-148410-0",
            "total 1 000 000 units",
            "+0 123 456 7890",
            "call 123-456-7890",
            "x415-555-2671",
            "415-555-26711",
            "2024 01 15 10 30 00",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }

    #[test]
    fn a_trailing_group_too_many_is_trimmed() {
        assert_eq!(found("ring 020 7946 0958 12"), ["020 7946 0958"]);
    }
}
