//! Gateway keys as the gateway holds them: SHA-256 digests, never the keys themselves — a
//! config file or a memory dump holds nothing a client could present — and minting a new
//! key (`switchyard keys new`).

use std::fmt;

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use crate::Secret;

/// The SHA-256 digest of a gateway key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    /// The digest of `key`, as presented by a client or written in a config.
    pub fn of(key: &[u8]) -> Self {
        let d = digest::digest(&digest::SHA256, key);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// Parses 64 hex digits (either case), as `key_sha256:` holds them.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Self(out))
    }

    /// The 64 lowercase hex digits of the digest.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
        s
    }

    /// Equality in time independent of where the digests differ.
    pub fn ct_eq(&self, other: &KeyDigest) -> bool {
        let mut diff = 0u8;
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            diff |= a ^ b;
        }
        diff == 0
    }
}

/// A digest is not a usable secret, but it identifies a key: kept out of logs anyway.
impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(***)")
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A freshly minted gateway key and its digest.
#[derive(Debug)]
pub struct MintedKey {
    /// The key, to hand to its user once.
    pub key: Secret,
    /// What the config holds (`key_sha256:`).
    pub digest: KeyDigest,
}

/// The prefix of minted keys (recognisable in a leaked-secret scan).
pub const KEY_PREFIX: &str = "sy-";

/// Mints a key from 32 bytes of the operating system's randomness: `sy-` and 64 hex digits.
pub fn mint() -> Result<MintedKey, String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "the operating system's random source failed".to_owned())?;
    let key = format!("{KEY_PREFIX}{}", KeyDigest(bytes).to_hex());
    let digest = KeyDigest::of(key.as_bytes());
    Ok(MintedKey {
        key: Secret::new(key),
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_sha256_and_round_trip_through_hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let d = KeyDigest::of(b"abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(d.to_hex(), hex);
        assert_eq!(KeyDigest::from_hex(hex), Some(d));
        assert_eq!(KeyDigest::from_hex(&hex.to_uppercase()), Some(d));
        assert_eq!(KeyDigest::from_hex(&hex[1..]), None);
        assert_eq!(KeyDigest::from_hex(&format!("{}g", &hex[1..])), None);
        assert!(d.ct_eq(&KeyDigest::of(b"abc")));
        assert!(!d.ct_eq(&KeyDigest::of(b"abd")));
        assert_eq!(format!("{d:?}"), "KeyDigest(***)");
    }

    #[test]
    fn minted_keys_are_random_and_hash_to_their_digest() {
        let a = mint().unwrap();
        let b = mint().unwrap();
        assert_ne!(a.key.expose(), b.key.expose());
        assert!(a.key.expose().starts_with(KEY_PREFIX));
        assert_eq!(a.key.expose().len(), KEY_PREFIX.len() + 64);
        assert_eq!(a.digest, KeyDigest::of(a.key.expose().as_bytes()));
    }
}
