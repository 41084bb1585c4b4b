//! Payment card numbers: 13–19 digits, optionally grouped by one kind of separator (space
//! or dash), passing the Luhn checksum and starting with a known issuer prefix (Visa,
//! Mastercard, American Express, Discover, JCB, Diners Club, UnionPay, Maestro). A digit
//! run that fails Luhn is not a card, whatever it looks like.

use regex::Regex;

use super::{char_at, char_before, next_group, Finding, PiiKind};

#[derive(Clone, Debug)]
pub(super) struct Card {
    re: Regex,
}

impl Card {
    pub(super) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            re: Regex::new(r"[0-9](?:[ \-]?[0-9]){12,22}")?,
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
            if char_before(text, start).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some(len) = longest_card(&text[start..m.end()]) else {
                continue;
            };
            let end = start + len;
            if char_at(text, end).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            out.push(Finding {
                kind: PiiKind::Card,
                range: start..end,
                label: "card number",
            });
            from = end;
        }
    }
}

/// The longest prefix of `cand`, ending after a digit that ends a group, that is a card.
fn longest_card(cand: &str) -> Option<usize> {
    let b = cand.as_bytes();
    let sep = b.iter().copied().find(|c| !c.is_ascii_digit());
    let mut digits = Vec::with_capacity(b.len());
    let mut ends = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            digits.push(c - b'0');
            if b.get(i + 1).is_none_or(|n| !n.is_ascii_digit()) {
                ends.push((i + 1, digits.len()));
            }
        } else if Some(c) != sep {
            // Mixed separators: only the part before the change can be a card.
            break;
        }
    }
    // Without separators the only group boundary is the end.
    ends.into_iter()
        .rev()
        .find(|&(_, n)| is_card(&digits[..n]))
        .map(|(end, _)| end)
}

fn is_card(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && known_issuer(digits) && luhn(digits)
}

/// The Luhn (mod 10) checksum over decimal digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn known_issuer(d: &[u8]) -> bool {
    let prefix = |n: usize| {
        d.iter()
            .take(n)
            .fold(0u32, |acc, &x| acc * 10 + u32::from(x))
    };
    let len = d.len();
    match d.first() {
        // Visa.
        Some(4) => matches!(len, 13 | 16 | 19),
        // Mastercard 51–55, Maestro 50, 56–59.
        Some(5) => (16..=19).contains(&len),
        // American Express 34, 37; Diners 300–305, 36, 38–39; JCB 3528–3589.
        Some(3) => match prefix(2) {
            34 | 37 => len == 15,
            36 | 38 | 39 => (14..=19).contains(&len),
            30 => (300..=305).contains(&prefix(3)) && (14..=19).contains(&len),
            35 => (3528..=3589).contains(&prefix(4)) && (16..=19).contains(&len),
            _ => false,
        },
        // Mastercard 2221–2720.
        Some(2) => (2221..=2720).contains(&prefix(4)) && len == 16,
        // Discover 6011, 644–649, 65; UnionPay 62; Maestro 6x.
        Some(6) => (16..=19).contains(&len),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        Card::new().unwrap().find(text, 0, &mut out);
        out.iter().map(|f| &text[f.range.clone()]).collect()
    }

    #[test]
    fn finds_valid_cards_in_common_layouts() {
        for c in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555 5555 5555 4444",
            "2223 0031 2200 3222",
            "3782 822463 10005",
            "6011 1111 1111 1117",
            "3530 1113 3330 0000",
        ] {
            assert_eq!(found(&format!("pay with {c}, thanks")), [c], "{c}");
        }
    }

    #[test]
    fn luhn_failures_are_not_cards() {
        assert!(found("4111 1111 1111 1112").is_empty());
        assert!(found("1234 5678 9012 3456").is_empty());
        // Luhn-valid but no issuer starts with 9 or 1.
        assert!(found("9111111111111111").is_empty());
    }

    #[test]
    fn neighbours_and_separators() {
        assert!(found("x4111111111111111").is_empty());
        assert!(found("41111111111111110").is_empty());
        assert!(found("4111 1111-1111 1111").is_empty());
        // A CVV after the number is trimmed off, not glued on.
        assert_eq!(found("4111 1111 1111 1111 123"), ["4111 1111 1111 1111"]);
    }

    #[test]
    fn luhn_reference_values() {
        assert!(luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
        assert!(!luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 4]));
    }
}
