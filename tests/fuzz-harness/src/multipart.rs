//! `multipart/form-data` bodies: `Form::parse` with a fixed and with a fuzzed boundary,
//! `fields_envelope`, and `rebuild` as the OpenAI dialect sends it on.

use bytes::Bytes;
use switchyard_providers::{Form, JsonEnvelope};

use crate::input::byte;

/// The content type of the fixed-boundary parse.
pub const FIXED_CT: &str = "multipart/form-data; boundary=XyZ";

/// Input: one byte `n`, `n` bytes of content type, then the body. The whole input is also
/// parsed as a body under [`FIXED_CT`].
pub fn run(data: &[u8]) {
    if let Ok(form) = Form::parse(FIXED_CT, Bytes::copy_from_slice(data)) {
        check(&form);
    }
    let mut rest = data;
    let n = usize::from(byte(&mut rest)).min(rest.len());
    let (ct, body) = rest.split_at(n);
    // A Content-Type the gateway can read (`HeaderValue::to_str`): visible ASCII, space, tab.
    if !ct.iter().all(|b| *b == b'\t' || (b' '..=b'~').contains(b)) {
        return;
    }
    let ct = std::str::from_utf8(ct).expect("ASCII");
    if let Ok(form) = Form::parse(ct, Bytes::copy_from_slice(body)) {
        check(&form);
    }
}

fn check(form: &Form) {
    let _ = format!("{form:?}");
    assert!(!form.boundary().is_empty());
    let fields = form.fields_envelope();
    for key in fields.keys() {
        assert!(
            matches!(fields.get_str(key), Ok(Some(_))),
            "text field `{key}` is a string"
        );
        let _ = (form.text(key), form.has_file(key), form.file_len(key));
    }
    // Rebuilt with its own fields, a form parses again to the same fields.
    let ct = format!("multipart/form-data; boundary={}", form.boundary());
    let rebuilt = form.rebuild(&fields);
    let again = Form::parse(&ct, rebuilt.clone())
        .unwrap_or_else(|e| panic!("a rebuilt form does not parse ({e}): {rebuilt:?}"));
    // Same fields; their order may change when a repeated name's first part was not UTF-8
    // (the rebuild writes the value at that first part).
    let map = |e: &JsonEnvelope| -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_slice(e.raw()).expect("fields are a JSON object")
    };
    assert_eq!(map(&again.fields_envelope()), map(&fields), "same fields");

    // With `model` renamed and a field added, as the OpenAI dialect does.
    let edited = JsonEnvelope::parse(Bytes::from_static(
        br#"{"model":"whisper \"large\"","temperature":0.5,"new\"field":"v"}"#,
    ))
    .expect("valid JSON");
    let rebuilt = form.rebuild(&edited);
    // An added name is written with `"` as `%22` (HTML's form encoding), so a client field
    // literally named `new%22field` meets it twice. Added names come from the gateway's
    // config (`override_params`), never from the client: that case is left out.
    let as_sent = form.rebuild(&JsonEnvelope::empty());
    if memchr::memmem::find(&as_sent, b"new%22field").is_some() {
        return;
    }
    let again = Form::parse(&ct, rebuilt.clone())
        .unwrap_or_else(|e| panic!("an edited form does not parse ({e}): {rebuilt:?}"));
    if !form.has_file("model") {
        assert_eq!(again.text("model"), Some("whisper \"large\""));
    }
}
