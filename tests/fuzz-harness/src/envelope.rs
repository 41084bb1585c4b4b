//! JSON request bodies: `JsonEnvelope::parse`, every getter, and `rewrite`.

use bytes::Bytes;
use serde_json::Value;
use switchyard_providers::envelope::Edit;
use switchyard_providers::JsonEnvelope;

/// A key that needs escaping, set by every rewrite.
const ODD_KEY: &str = "k\"\\\u{1}é😀";
const ODD_VALUE: &[u8] = br#"[1,{"a":null},"\u00e9"]"#;

/// Parses the input as a request body; when it is one, every getter agrees with a full
/// parse, and a rewrite with a few edits is again a valid body holding exactly the edits
/// and the untouched fields byte for byte.
pub fn run(data: &[u8]) {
    let Ok(env) = JsonEnvelope::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    let _ = format!("{env:?}");
    let keys: Vec<String> = env.keys().map(str::to_owned).collect();
    // serde_json refuses numbers out of f64's range that the envelope keeps raw; the
    // getters are compared with a full parse only when there is one.
    let full: Option<serde_json::Map<String, Value>> = serde_json::from_slice(data).ok();
    if let Some(full) = &full {
        assert_eq!(keys.len(), full.len(), "keys are unique and all indexed");
    }
    for key in &keys {
        let raw = env.get_raw(key).expect("every key has a value");
        let _ = (env.has(key), env.get_str(key), env.get_bool(key));
        let _ = env.get::<Value>(key, "anything");
        let Some(value) = full.as_ref().and_then(|f| f.get(key)) else {
            continue;
        };
        assert_eq!(
            serde_json::from_str::<Value>(raw).ok().as_ref(),
            Some(value),
            "raw value of `{key}`"
        );
        assert_eq!(env.has(key), !value.is_null());
        let s = env.get_str(key);
        match value {
            Value::String(v) => assert_eq!(s, Ok(Some(v.clone()))),
            Value::Null => assert_eq!(s, Ok(None)),
            _ => assert!(s.is_err()),
        }
        let b = env.get_bool(key);
        match value {
            Value::Bool(v) => assert_eq!(b, Ok(Some(*v))),
            Value::Null => assert_eq!(b, Ok(None)),
            _ => assert!(b.is_err()),
        }
        let got: Option<Value> = env.get(key, "anything").expect("any JSON is a Value");
        assert_eq!(got.is_none(), value.is_null());
    }

    assert_eq!(env.rewrite(&[]), env.raw(), "no edit, no copy");
    assert_eq!(env.rewrite(&[Edit::Remove("\u{0}absent")]), env.raw());

    let removed = keys.iter().find(|k| *k != "model" && *k != ODD_KEY);
    let mut edits = vec![
        Edit::Set("model", br#""fuzz""#),
        Edit::Set(ODD_KEY, ODD_VALUE),
    ];
    if let Some(k) = removed {
        edits.push(Edit::Remove(k));
    }
    let out = env.rewrite(&edits);
    let again = JsonEnvelope::parse(out.clone())
        .unwrap_or_else(|e| panic!("a rewrite does not parse ({e}): {out:?}"));
    assert_eq!(again.get_str("model"), Ok(Some("fuzz".to_owned())));
    assert_eq!(again.get_raw(ODD_KEY).map(str::as_bytes), Some(ODD_VALUE));
    for key in &keys {
        if Some(key) == removed {
            assert!(again.get_raw(key).is_none(), "`{key}` was removed");
        } else if key != "model" && key != ODD_KEY {
            assert_eq!(again.get_raw(key), env.get_raw(key), "`{key}` untouched");
        }
    }
    // Untouched keys keep their order; set keys stay in place or come last.
    let kept: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| Some(*k) != removed.map(String::as_str))
        .collect();
    let got: Vec<&str> = again.keys().collect();
    assert_eq!(got[..kept.len()], kept[..], "field order");
}
