//! IBANs: a country code, two check digits and the country's BBAN, written in capitals
//! either compact or in groups of four. A candidate counts only with its country's exact
//! length (from the SWIFT IBAN registry) and an ISO 7064 mod-97 remainder of 1.

use super::{char_at, char_before, Finding, PiiKind};

#[derive(Clone, Debug)]
pub(super) struct Iban;

impl Iban {
    pub(super) fn new() -> Result<Self, regex::Error> {
        Ok(Self)
    }

    /// Scans, from `from`, for two capitals and two digits at a word start, then reads
    /// exactly the country's number of characters (single spaces between groups allowed).
    pub(super) fn find(&self, text: &str, from: usize, out: &mut Vec<Finding>) {
        let b = text.as_bytes();
        let mut i = from;
        while i + 4 <= b.len() {
            let starts = b[i].is_ascii_uppercase()
                && b[i + 1].is_ascii_uppercase()
                && b[i + 2].is_ascii_digit()
                && b[i + 3].is_ascii_digit();
            if !starts || char_before(text, i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                i += 1;
                continue;
            }
            match read_iban(b, i) {
                Some(end)
                    if !char_at(text, end).is_some_and(|c| c.is_alphanumeric() || c == '_') =>
                {
                    out.push(Finding {
                        kind: PiiKind::Iban,
                        range: i..end,
                        label: "IBAN",
                    });
                    i = end;
                }
                _ => i += 1,
            }
        }
    }
}

/// The end of a valid IBAN starting at `start`, if one does.
fn read_iban(b: &[u8], start: usize) -> Option<usize> {
    let cc = std::str::from_utf8(b.get(start..start + 2)?).ok()?;
    let len = country_length(cc)?;
    let mut chars = Vec::with_capacity(len);
    let mut i = start;
    while chars.len() < len {
        let c = *b.get(i)?;
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            chars.push(c);
            i += 1;
        } else if c == b' '
            && chars.len() >= 4
            && b.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric())
        {
            i += 1;
        } else {
            return None;
        }
    }
    mod97_is_one(&chars).then_some(i)
}

/// ISO 7064 MOD 97-10 over an IBAN: the first four characters moved to the end, letters
/// read as 10–35, the number taken mod 97 must be 1.
pub(crate) fn mod97_is_one(iban: &[u8]) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        match c {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        }
    }
    rem == 1
}

/// The IBAN length of a country, per the SWIFT IBAN registry.
fn country_length(cc: &str) -> Option<usize> {
    const LENGTHS: &[(&str, usize)] = &[
        ("AD", 24),
        ("AE", 23),
        ("AL", 28),
        ("AT", 20),
        ("AZ", 28),
        ("BA", 20),
        ("BE", 16),
        ("BG", 22),
        ("BH", 22),
        ("BI", 27),
        ("BR", 29),
        ("BY", 28),
        ("CH", 21),
        ("CR", 22),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DJ", 27),
        ("DK", 18),
        ("DO", 28),
        ("EE", 20),
        ("EG", 29),
        ("ES", 24),
        ("FI", 18),
        ("FK", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GE", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("GT", 28),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IL", 23),
        ("IQ", 23),
        ("IS", 26),
        ("IT", 27),
        ("JO", 30),
        ("KW", 30),
        ("KZ", 20),
        ("LB", 28),
        ("LC", 32),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("LY", 25),
        ("MC", 27),
        ("MD", 24),
        ("ME", 22),
        ("MK", 19),
        ("MN", 20),
        ("MR", 27),
        ("MT", 31),
        ("MU", 30),
        ("NI", 28),
        ("NL", 18),
        ("NO", 15),
        ("OM", 23),
        ("PK", 24),
        ("PL", 28),
        ("PS", 29),
        ("PT", 25),
        ("QA", 29),
        ("RO", 24),
        ("RS", 22),
        ("RU", 33),
        ("SA", 24),
        ("SC", 31),
        ("SD", 18),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("SO", 23),
        ("ST", 25),
        ("SV", 28),
        ("TL", 23),
        ("TN", 24),
        ("TR", 26),
        ("UA", 29),
        ("VA", 22),
        ("VG", 24),
        ("XK", 20),
        ("YE", 30),
    ];
    LENGTHS.iter().find(|(c, _)| *c == cc).map(|&(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        Iban::new().unwrap().find(text, 0, &mut out);
        out.iter().map(|f| &text[f.range.clone()]).collect()
    }

    #[test]
    fn finds_valid_ibans() {
        // Examples from the SWIFT registry and national banks' documentation.
        for i in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "GB82 WEST 1234 5698 7654 32",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91ABNA0417164300",
            "NO9386011117947",
            "BE68539007547034",
        ] {
            assert_eq!(found(&format!("pay to {i} please")), [i], "{i}");
        }
    }

    #[test]
    fn checksum_and_length_failures() {
        // One digit changed: the mod-97 check fails.
        assert!(found("DE88 3704 0044 0532 0130 00").is_empty());
        assert!(found("GB82 WEST 1234 5698 7654 33").is_empty());
        // Too short for Germany.
        assert!(found("DE89 3704 0044 0532 0130").is_empty());
        // Unknown country.
        assert!(found("ZZ89370400440532013000").is_empty());
        // Glued to a word.
        assert!(found("xDE89370400440532013000").is_empty());
    }

    #[test]
    fn a_following_word_is_not_swallowed() {
        let t = "IBAN DE89 3704 0044 0532 0130 00 IS mine";
        assert_eq!(found(t), ["DE89 3704 0044 0532 0130 00"]);
    }
}
