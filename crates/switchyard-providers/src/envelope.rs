//! A JSON request body parsed once into its top-level fields.
//!
//! Routing needs a few top-level fields (`model`, `stream`); a passthrough provider needs the
//! body back with at most `model` changed. Parsing into a full `serde_json::Value` and
//! printing it again would allocate a node per JSON value. Instead the body is validated in
//! one pass and each top-level value is kept as a byte range into the original buffer, so a
//! rewrite copies slices and never re-encodes what it does not touch.

use std::cell::Cell;
use std::fmt;
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Why a body is not a usable JSON object.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not UTF-8, not JSON, or trailing bytes after the value.
    #[error("request body is not valid JSON: {0}")]
    Invalid(String),
    /// Valid JSON, but not an object.
    #[error("request body must be a JSON object")]
    NotObject,
    /// The same top-level key twice: which one wins differs between parsers, so it is refused.
    #[error("duplicate key `{0}` in request body")]
    DuplicateKey(String),
    /// A field has the wrong JSON type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The field.
        field: String,
        /// What it must be, e.g. "a string".
        expected: &'static str,
    },
}

#[derive(Clone, Debug)]
struct Field {
    key: Box<str>,
    value: Range<usize>,
}

/// A JSON object whose top-level values are kept as raw byte ranges of the original body.
#[derive(Clone)]
pub struct JsonEnvelope {
    raw: Bytes,
    fields: Vec<Field>,
}

impl fmt::Debug for JsonEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies may carry user data; show only their shape.
        let keys: Vec<&str> = self.fields.iter().map(|f| &*f.key).collect();
        f.debug_struct("JsonEnvelope")
            .field("len", &self.raw.len())
            .field("keys", &keys)
            .finish()
    }
}

/// A replacement for one top-level field in [`JsonEnvelope::rewrite`].
#[derive(Clone, Copy, Debug)]
pub enum Edit<'a> {
    /// Set the field to this raw JSON (already encoded), replacing it in place or appending it.
    Set(&'a str, &'a [u8]),
    /// Remove the field if present.
    Remove(&'a str),
}

impl<'a> Edit<'a> {
    fn key(&self) -> &'a str {
        match self {
            Edit::Set(k, _) | Edit::Remove(k) => k,
        }
    }
}

impl JsonEnvelope {
    /// Validates `raw` as one JSON object and indexes its top-level fields.
    pub fn parse(raw: Bytes) -> Result<Self, EnvelopeError> {
        let text = std::str::from_utf8(&raw)
            .map_err(|e| EnvelopeError::Invalid(format!("not UTF-8 ({e})")))?;
        let not_object = Cell::new(false);
        let top = TopLevel {
            base: text.as_ptr() as usize,
            not_object: &not_object,
        };
        let mut de = serde_json::Deserializer::from_str(text);
        // The visitor says why it refused a value; serde_json's message is only shown.
        let parsed = de.deserialize_any(top).map_err(|e| {
            if not_object.get() {
                EnvelopeError::NotObject
            } else {
                EnvelopeError::Invalid(e.to_string())
            }
        })?;
        de.end()
            .map_err(|e| EnvelopeError::Invalid(e.to_string()))?;
        match parsed {
            TopLevelValue::Object(fields) => Ok(Self { raw, fields }),
            // Reported after the syntax check: a body that is not JSON says so first.
            TopLevelValue::DuplicateKey(key) => Err(EnvelopeError::DuplicateKey(key)),
        }
    }

    /// An empty object, `{}`.
    pub fn empty() -> Self {
        Self {
            raw: Bytes::from_static(b"{}"),
            fields: Vec::new(),
        }
    }

    /// The body as received.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The raw JSON of a top-level field, if present.
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        let field = self.fields.iter().find(|f| &*f.key == key)?;
        // The range came from a `&str` slice of this same buffer, so it is valid UTF-8.
        std::str::from_utf8(self.raw.get(field.value.clone())?).ok()
    }

    /// True when the field is present and not `null`.
    pub fn has(&self, key: &str) -> bool {
        self.get_raw(key).is_some_and(|v| v != "null")
    }

    /// A string field; `null` and absence both read as `None`.
    pub fn get_str(&self, key: &str) -> Result<Option<String>, EnvelopeError> {
        match self.get_raw(key) {
            None | Some("null") => Ok(None),
            Some(raw) => serde_json::from_str::<String>(raw).map(Some).map_err(|_| {
                EnvelopeError::WrongType {
                    field: key.to_owned(),
                    expected: "a string",
                }
            }),
        }
    }

    /// A boolean field; `null` and absence both read as `None`.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, EnvelopeError> {
        match self.get_raw(key) {
            None | Some("null") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(EnvelopeError::WrongType {
                field: key.to_owned(),
                expected: "a boolean",
            }),
        }
    }

    /// Any field decoded into `T`; `null` and absence both read as `None`.
    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        expected: &'static str,
    ) -> Result<Option<T>, EnvelopeError> {
        match self.get_raw(key) {
            None | Some("null") => Ok(None),
            Some(raw) => {
                serde_json::from_str(raw)
                    .map(Some)
                    .map_err(|_| EnvelopeError::WrongType {
                        field: key.to_owned(),
                        expected,
                    })
            }
        }
    }

    /// The envelope with `edits` applied, indexed as it is written: no second parse. Each
    /// `Set` value must already be one valid JSON value (it is copied as is). With no
    /// effective edit the envelope is cloned (the buffer is shared, not copied).
    pub fn apply(&self, edits: &[Edit<'_>]) -> JsonEnvelope {
        let touches = edits.iter().any(|e| match e {
            Edit::Set(..) => true,
            Edit::Remove(k) => self.fields.iter().any(|f| &*f.key == *k),
        });
        if !touches {
            return self.clone();
        }
        let extra: usize = edits
            .iter()
            .map(|e| match e {
                Edit::Set(k, v) => k.len() + v.len() + 8,
                Edit::Remove(_) => 0,
            })
            .sum();
        let mut out = BytesMut::with_capacity(self.raw.len() + extra);
        let mut fields = Vec::with_capacity(self.fields.len() + edits.len());
        out.put_u8(b'{');
        let mut applied = vec![false; edits.len()];
        for field in &self.fields {
            let edit = edits.iter().position(|e| e.key() == &*field.key);
            let value: &[u8] = match edit.map(|i| (i, edits[i])) {
                Some((i, Edit::Set(_, v))) => {
                    applied[i] = true;
                    v
                }
                Some((_, Edit::Remove(_))) => continue,
                None => &self.raw[field.value.clone()],
            };
            let range = put_indexed(&mut out, fields.is_empty(), &field.key, value);
            fields.push(Field {
                key: field.key.clone(),
                value: range,
            });
        }
        for (i, edit) in edits.iter().enumerate() {
            if let (Edit::Set(k, v), false) = (edit, applied[i]) {
                if fields.iter().any(|f| &*f.key == *k) {
                    continue;
                }
                let range = put_indexed(&mut out, fields.is_empty(), k, v);
                fields.push(Field {
                    key: (*k).into(),
                    value: range,
                });
            }
        }
        out.put_u8(b'}');
        JsonEnvelope {
            raw: out.freeze(),
            fields,
        }
    }

    /// Top-level keys in body order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| &*f.key)
    }

    /// The body with `edits` applied. Untouched fields are copied byte for byte, in order;
    /// a `Set` of an absent key is appended. With no effective edit the original buffer is
    /// returned without copying.
    pub fn rewrite(&self, edits: &[Edit<'_>]) -> Bytes {
        let touches = edits.iter().any(|e| match e {
            Edit::Set(..) => true,
            Edit::Remove(k) => self.fields.iter().any(|f| &*f.key == *k),
        });
        if !touches {
            return self.raw.clone();
        }
        let extra: usize = edits
            .iter()
            .map(|e| match e {
                Edit::Set(k, v) => k.len() + v.len() + 8,
                Edit::Remove(_) => 0,
            })
            .sum();
        let mut out = BytesMut::with_capacity(self.raw.len() + extra);
        out.put_u8(b'{');
        let mut first = true;
        let mut applied = vec![false; edits.len()];
        for field in &self.fields {
            let edit = edits.iter().position(|e| e.key() == &*field.key);
            let value: &[u8] = match edit.map(|i| (i, edits[i])) {
                Some((i, Edit::Set(_, v))) => {
                    applied[i] = true;
                    v
                }
                Some((_, Edit::Remove(_))) => continue,
                None => &self.raw[field.value.clone()],
            };
            put_member(&mut out, &mut first, &field.key, value);
        }
        for (i, edit) in edits.iter().enumerate() {
            if let (Edit::Set(k, v), false) = (edit, applied[i]) {
                put_member(&mut out, &mut first, k, v);
            }
        }
        out.put_u8(b'}');
        out.freeze()
    }
}

/// Writes one member and returns the byte range of its value.
fn put_indexed(out: &mut BytesMut, first: bool, key: &str, value: &[u8]) -> Range<usize> {
    if !first {
        out.put_u8(b',');
    }
    put_json_string(out, key);
    out.put_u8(b':');
    let start = out.len();
    out.put_slice(value);
    start..out.len()
}

fn put_member(out: &mut BytesMut, first: &mut bool, key: &str, value: &[u8]) {
    if !*first {
        out.put_u8(b',');
    }
    *first = false;
    put_json_string(out, key);
    out.put_u8(b':');
    out.put_slice(value);
}

/// Appends `s` as a JSON string literal.
pub fn put_json_string(out: &mut BytesMut, s: &str) {
    // serde_json's string escaping is exactly JSON's; writing into a Vec cannot fail.
    let mut buf = Vec::with_capacity(s.len() + 2);
    if serde_json::to_writer(&mut buf, s).is_ok() {
        out.put_slice(&buf);
    }
}

/// The first key that appears twice, the smallest in byte order when several do.
fn duplicate_key(fields: &[Field]) -> Option<&str> {
    if fields.len() < 2 {
        return None;
    }
    let mut keys: Vec<&str> = fields.iter().map(|f| &*f.key).collect();
    keys.sort_unstable();
    keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// Reads the top-level value: the fields of an object. Anything else is refused at once and
/// flagged in `not_object`, so the error is told apart by type rather than by serde_json's
/// wording.
struct TopLevel<'a> {
    base: usize,
    not_object: &'a Cell<bool>,
}

/// What [`TopLevel`] read.
enum TopLevelValue {
    /// An object with distinct keys.
    Object(Vec<Field>),
    /// An object with this key twice.
    DuplicateKey(String),
}

impl TopLevel<'_> {
    fn refuse<E: de::Error>(self, what: &str) -> Result<TopLevelValue, E> {
        self.not_object.set(true);
        Err(E::custom(format_args!(
            "expected a JSON object, found {what}"
        )))
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = TopLevelValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.refuse("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.refuse("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.refuse("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.refuse("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.refuse("a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.refuse("null")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.refuse("an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(Key(key)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            let text = value.get();
            let start = (text.as_ptr() as usize)
                .checked_sub(self.base)
                .ok_or_else(|| de::Error::custom("value outside the body"))?;
            fields.push(Field {
                key,
                value: start..start + text.len(),
            });
        }
        Ok(match duplicate_key(&fields) {
            Some(key) => TopLevelValue::DuplicateKey(key.to_owned()),
            None => TopLevelValue::Object(fields),
        })
    }
}

struct Key(Box<str>);

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.into()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(s: &str) -> JsonEnvelope {
        JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    #[test]
    fn apply_indexes_without_reparsing() {
        let e = env(r#"{"model":"a","n":1,"stream":true}"#);
        let applied = e.apply(&[
            Edit::Set("n", b"2"),
            Edit::Remove("stream"),
            Edit::Set("user", b"\"u\""),
        ]);
        assert_eq!(applied.raw().as_ref(), br#"{"model":"a","n":2,"user":"u"}"#);
        assert_eq!(applied.get_raw("n"), Some("2"));
        assert_eq!(applied.get_str("user").unwrap().as_deref(), Some("u"));
        assert_eq!(applied.get_raw("stream"), None);
        let reparsed = JsonEnvelope::parse(applied.raw().clone()).unwrap();
        assert_eq!(
            reparsed.keys().collect::<Vec<_>>(),
            applied.keys().collect::<Vec<_>>()
        );
        // No effective edit: the same buffer.
        let same = e.apply(&[Edit::Remove("absent")]);
        assert_eq!(same.raw().as_ptr(), e.raw().as_ptr());
    }

    #[test]
    fn reads_top_level_fields() {
        let e =
            env(r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#);
        assert_eq!(e.get_str("model").unwrap().as_deref(), Some("gpt-4o"));
        assert_eq!(e.get_bool("stream").unwrap(), Some(true));
        assert_eq!(
            e.get_raw("messages"),
            Some(r#"[{"role":"user","content":"hi"}]"#)
        );
        assert_eq!(e.get_str("absent").unwrap(), None);
    }

    #[test]
    fn escaped_keys_and_values_are_decoded() {
        let e = env(r#"{"mo\u0064el":"a\"b", "x" : null}"#);
        assert_eq!(e.get_str("model").unwrap().as_deref(), Some("a\"b"));
        assert_eq!(e.get_str("x").unwrap(), None);
        assert!(!e.has("x"));
    }

    #[test]
    fn rejects_non_objects_bad_json_and_duplicates() {
        let bad = |s: &str| JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap_err();
        assert_eq!(bad("[1,2]"), EnvelopeError::NotObject);
        assert_eq!(bad("\"x\""), EnvelopeError::NotObject);
        assert!(matches!(bad("{\"a\":"), EnvelopeError::Invalid(_)));
        assert!(matches!(bad("{} x"), EnvelopeError::Invalid(_)));
        assert!(matches!(bad(""), EnvelopeError::Invalid(_)));
        assert_eq!(
            bad(r#"{"model":"a","model":"b"}"#),
            EnvelopeError::DuplicateKey("model".into())
        );
        let invalid_utf8 =
            JsonEnvelope::parse(Bytes::from_static(b"{\"a\":\"\xff\"}")).unwrap_err();
        assert!(matches!(invalid_utf8, EnvelopeError::Invalid(_)));
    }

    #[test]
    fn refusals_are_told_apart_by_shape_not_by_message() {
        let bad = |s: &str| JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap_err();
        for s in [
            "null",
            "true",
            "false",
            "0",
            "-3",
            "1.5e3",
            "\"x\"",
            "\"a\\\"b\"",
            "[]",
            "[1,",
            " [1] x",
        ] {
            assert_eq!(bad(s), EnvelopeError::NotObject, "{s}");
        }
        for s in [
            "tru",
            "{",
            "{\"a\":[1,}",
            "x",
            "{\"a\":1,\"a\":2} x",
            "{\"a\":1}{}",
        ] {
            assert!(matches!(bad(s), EnvelopeError::Invalid(_)), "{s}");
        }
        assert_eq!(
            bad(r#"{"b":1,"a":1,"b":2,"a":2}"#),
            EnvelopeError::DuplicateKey("a".into())
        );
        assert_eq!(
            bad(r#"{"model":"a","mod\u0065l":"b"}"#),
            EnvelopeError::DuplicateKey("model".into())
        );
        // The messages clients see.
        assert_eq!(bad("[1]").to_string(), "request body must be a JSON object");
        assert_eq!(
            bad(r#"{"n":1,"n":2}"#).to_string(),
            "duplicate key `n` in request body"
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = env(r#"{"model":3,"stream":"yes"}"#);
        assert_eq!(
            e.get_str("model").unwrap_err().to_string(),
            "`model` must be a string"
        );
        assert_eq!(
            e.get_bool("stream").unwrap_err().to_string(),
            "`stream` must be a boolean"
        );
    }

    #[test]
    fn rewrite_replaces_in_place_and_keeps_other_bytes() {
        let e = env(r#"{ "model" : "alias", "messages":[1, 2 ,3], "n":1 }"#);
        let out = e.rewrite(&[Edit::Set("model", br#""gpt-4o-mini""#)]);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"gpt-4o-mini","messages":[1, 2 ,3],"n":1}"#
        );
        let out = e.rewrite(&[
            Edit::Remove("n"),
            Edit::Set("stream_options", br#"{"include_usage":true}"#),
        ]);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"alias","messages":[1, 2 ,3],"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn rewrite_without_effect_returns_the_same_buffer() {
        let e = env(r#"{"model":"a"}"#);
        let out = e.rewrite(&[Edit::Remove("absent")]);
        assert_eq!(out.as_ptr(), e.raw().as_ptr());
    }

    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = JsonEnvelope::parse(Bytes::from(bytes));
        }

        #[test]
        fn any_json_that_is_not_an_object_is_refused_as_such(v in any_json()) {
            prop_assume!(!v.is_object());
            let body = serde_json::to_vec(&v).unwrap();
            prop_assert_eq!(
                JsonEnvelope::parse(Bytes::from(body)).unwrap_err(),
                EnvelopeError::NotObject
            );
        }

        #[test]
        fn rewrite_of_any_object_stays_valid_json(
            map in proptest::collection::btree_map("[a-z\"\\\\]{1,6}", any::<i64>(), 0..8),
            model in "\\PC{0,12}",
        ) {
            let body = serde_json::to_vec(&map).unwrap();
            let e = JsonEnvelope::parse(Bytes::from(body)).unwrap();
            let encoded = serde_json::to_vec(&model).unwrap();
            let out = e.rewrite(&[Edit::Set("model", &encoded)]);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            prop_assert_eq!(v["model"].as_str(), Some(model.as_str()));
            for (k, n) in &map {
                if k != "model" {
                    prop_assert_eq!(v[k].as_i64(), Some(*n));
                }
            }
        }
    }
}
