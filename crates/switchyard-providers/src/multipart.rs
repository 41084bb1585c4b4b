//! `multipart/form-data` request bodies (RFC 7578), as OpenAI's audio endpoints take them.
//!
//! The gateway needs a form's text fields (`model` to route on, `stream`, anything a
//! conditional rule reads) and must forward the form with `model` renamed and override
//! parameters applied, without copying the uploaded file more than once. A [`Form`] indexes
//! the parts of the original buffer; [`Form::fields_envelope`] presents the text fields as a
//! JSON object so routing and dialects read them like any JSON body; [`Form::rebuild`] writes
//! the form back with text fields taken from such an envelope.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use crate::envelope::{put_json_string, JsonEnvelope};

/// Why a body is not a usable form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// The `Content-Type` is not `multipart/form-data` with a boundary.
    #[error("expected `Content-Type: multipart/form-data; boundary=...`")]
    NotMultipart,
    /// The body does not follow the multipart grammar.
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
}

#[derive(Clone, Debug)]
struct Part {
    name: String,
    /// Present for file parts.
    filename: Option<String>,
    /// The part's header block, without the blank line.
    headers: Range<usize>,
    /// The part's content.
    content: Range<usize>,
}

/// A parsed `multipart/form-data` body: parts indexed into the original bytes.
#[derive(Clone)]
pub struct Form {
    raw: Bytes,
    boundary: String,
    parts: Vec<Part>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Forms carry user data (audio, prompts): show only their shape.
        let names: Vec<&str> = self.parts.iter().map(|p| p.name.as_str()).collect();
        f.debug_struct("Form")
            .field("len", &self.raw.len())
            .field("parts", &names)
            .finish()
    }
}

/// The boundary named by a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<&str> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        // RFC 2046: 1 to 70 characters.
        (!v.is_empty() && v.len() <= 70).then_some(v)
    })
}

impl Form {
    /// Parses `raw` sent with `content_type`.
    pub fn parse(content_type: &str, raw: Bytes) -> Result<Self, FormError> {
        let boundary = boundary(content_type).ok_or(FormError::NotMultipart)?;
        let delimiter = format!("--{boundary}");
        let d = delimiter.as_bytes();
        let finder = memchr::memmem::Finder::new(d);
        // The first delimiter may follow a preamble.
        let mut at = finder
            .find(&raw)
            .ok_or(FormError::Malformed("no boundary delimiter"))?;
        let mut parts = Vec::new();
        loop {
            let after = at + d.len();
            let rest = raw.get(after..).unwrap_or_default();
            if rest.starts_with(b"--") {
                break;
            }
            // Transport padding, then CRLF.
            let line_end = memchr::memmem::find(rest, b"\r\n")
                .ok_or(FormError::Malformed("boundary line without CRLF"))?;
            if rest[..line_end].iter().any(|b| *b != b' ' && *b != b'\t') {
                return Err(FormError::Malformed("text after a boundary"));
            }
            let head_start = after + line_end + 2;
            let head_len =
                memchr::memmem::find(raw.get(head_start..).unwrap_or_default(), b"\r\n\r\n")
                    .ok_or(FormError::Malformed("part headers without a blank line"))?;
            let headers = head_start..head_start + head_len;
            let content_start = headers.end + 4;
            let next = raw
                .get(content_start..)
                .and_then(|tail| find_delimiter(tail, &finder))
                .ok_or(FormError::Malformed("a part is not closed by a boundary"))?;
            // The CRLF before the delimiter belongs to the delimiter.
            let content = content_start..content_start + next - 2;
            let (name, filename) = disposition(&raw[headers.clone()])?;
            // As `JsonEnvelope` refuses a duplicate key: the gateway reads one value and
            // rewrites one part, while which one the provider reads is up to its parser.
            // Array fields (`timestamp_granularities[]`) repeat by design.
            if filename.is_none()
                && !name.ends_with("[]")
                && parts
                    .iter()
                    .any(|p: &Part| p.filename.is_none() && p.name == name)
            {
                return Err(FormError::Malformed(
                    "a text field appears twice (only `name[]` fields may repeat)",
                ));
            }
            parts.push(Part {
                name,
                filename,
                headers,
                content,
            });
            at = content_start + next;
        }
        Ok(Self {
            raw,
            boundary: boundary.to_owned(),
            parts,
        })
    }

    /// The boundary.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The value of a text field, if present and UTF-8.
    pub fn text(&self, name: &str) -> Option<&str> {
        let p = self
            .parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())?;
        std::str::from_utf8(&self.raw[p.content.clone()]).ok()
    }

    /// True when a file part with this name is present.
    pub fn has_file(&self, name: &str) -> bool {
        self.parts
            .iter()
            .any(|p| p.name == name && p.filename.is_some())
    }

    /// The size of a file part's content.
    pub fn file_len(&self, name: &str) -> Option<usize> {
        self.parts
            .iter()
            .find(|p| p.name == name && p.filename.is_some())
            .map(|p| p.content.len())
    }

    /// The text fields as a JSON object of strings (the first of repeated names; array fields
    /// such as `timestamp_granularities[]` keep their name). Routing and dialects read it like
    /// any JSON body.
    pub fn fields_envelope(&self) -> JsonEnvelope {
        let mut out = BytesMut::with_capacity(64);
        out.put_u8(b'{');
        let mut seen: Vec<&str> = Vec::new();
        for p in self.parts.iter().filter(|p| p.filename.is_none()) {
            let Ok(value) = std::str::from_utf8(&self.raw[p.content.clone()]) else {
                continue;
            };
            if seen.contains(&p.name.as_str()) {
                continue;
            }
            if !seen.is_empty() {
                out.put_u8(b',');
            }
            seen.push(&p.name);
            put_json_string(&mut out, &p.name);
            out.put_u8(b':');
            put_json_string(&mut out, value);
        }
        out.put_u8(b'}');
        // Built from strings only, so it always parses.
        JsonEnvelope::parse(out.freeze()).unwrap_or_else(|_| JsonEnvelope::empty())
    }

    /// The form again, with each text field present in `fields` set to its value there (a JSON
    /// string as its text, anything else as its JSON), fields that `fields` adds appended,
    /// and file parts copied as they came.
    pub fn rebuild(&self, fields: &JsonEnvelope) -> Bytes {
        let d = self.boundary.as_bytes();
        let mut out = BytesMut::with_capacity(self.raw.len() + 128);
        let mut written: Vec<&str> = Vec::new();
        for p in &self.parts {
            out.put_slice(b"--");
            out.put_slice(d);
            out.put_slice(b"\r\n");
            out.put_slice(&self.raw[p.headers.clone()]);
            out.put_slice(b"\r\n\r\n");
            let replaced = match (&p.filename, fields.get_raw(&p.name)) {
                (None, Some(raw)) if !written.contains(&p.name.as_str()) => {
                    put_field_value(&mut out, raw);
                    true
                }
                _ => false,
            };
            if !replaced {
                out.put_slice(&self.raw[p.content.clone()]);
            }
            written.push(&p.name);
            out.put_slice(b"\r\n");
        }
        for key in fields.keys() {
            if written.contains(&key) || self.has_file(key) {
                continue;
            }
            let Some(raw) = fields.get_raw(key) else {
                continue;
            };
            out.put_slice(b"--");
            out.put_slice(d);
            out.put_slice(b"\r\nContent-Disposition: form-data; name=\"");
            out.put_slice(key.replace('"', "%22").as_bytes());
            out.put_slice(b"\"\r\n\r\n");
            put_field_value(&mut out, raw);
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"--");
        out.put_slice(d);
        out.put_slice(b"--\r\n");
        out.freeze()
    }
}

/// A JSON value as a form field's text: strings unquoted, everything else as JSON.
fn put_field_value(out: &mut BytesMut, raw_json: &str) {
    match serde_json::from_str::<String>(raw_json) {
        Ok(s) => out.put_slice(s.as_bytes()),
        Err(_) => out.put_slice(raw_json.as_bytes()),
    }
}

/// The offset of the next delimiter line in `tail` (`CRLF--boundary` followed by `--` or by
/// optional padding and CRLF), pointing just past the CRLF.
fn find_delimiter(tail: &[u8], finder: &memchr::memmem::Finder<'_>) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = finder.find(&tail[from..]) {
        let at = from + i;
        let after = &tail[at + finder.needle().len()..];
        let padding = after
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        let ends_line = after.starts_with(b"--") || after[padding..].starts_with(b"\r\n");
        if at >= 2 && &tail[at - 2..at] == b"\r\n" && ends_line {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `name` and `filename` from a part's `Content-Disposition`.
fn disposition(headers: &[u8]) -> Result<(String, Option<String>), FormError> {
    let text = std::str::from_utf8(headers)
        .map_err(|_| FormError::Malformed("part headers are not UTF-8"))?;
    let line = text
        .split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(v)
        })
        .ok_or(FormError::Malformed("a part has no Content-Disposition"))?;
    let mut name = None;
    let mut filename = None;
    for param in line.split(';').skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v)
            .to_owned();
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v),
            "filename" => filename = Some(v),
            _ => {}
        }
    }
    let name = name.ok_or(FormError::Malformed("a part has no name"))?;
    Ok((name, filename))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn body() -> Bytes {
        Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--XyZ-ish\x00\xff\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nen\r\n--XyZ--\r\n",
        )
    }

    #[test]
    fn text_fields_and_files_are_indexed() {
        let f = Form::parse(CT, body()).unwrap();
        assert_eq!(f.text("model"), Some("whisper-1"));
        assert_eq!(f.text("language"), Some("en"));
        assert!(f.has_file("file"));
        assert_eq!(f.text("file"), None);
        let env = f.fields_envelope();
        assert_eq!(env.get_str("model").unwrap().as_deref(), Some("whisper-1"));
        assert!(!env.has("file"));
    }

    #[test]
    fn rebuild_renames_the_model_and_keeps_the_file_bytes() {
        let f = Form::parse(CT, body()).unwrap();
        let fields = JsonEnvelope::parse(Bytes::from_static(
            br#"{"model":"whisper-large","language":"en","temperature":0}"#,
        ))
        .unwrap();
        let out = f.rebuild(&fields);
        let again = Form::parse(CT, out.clone()).unwrap();
        assert_eq!(again.text("model"), Some("whisper-large"));
        assert_eq!(again.text("temperature"), Some("0"));
        assert_eq!(again.text("language"), Some("en"));
        let file = again.parts.iter().find(|p| p.name == "file").unwrap();
        assert_eq!(&out[file.content.clone()], b"RIFF\r\n--XyZ-ish\x00\xff");
    }

    #[test]
    fn unchanged_fields_give_the_same_bytes() {
        let f = Form::parse(CT, body()).unwrap();
        assert_eq!(f.rebuild(&f.fields_envelope()), body());
    }

    #[test]
    fn bad_forms_are_errors() {
        assert_eq!(
            Form::parse("application/json", body()).unwrap_err(),
            FormError::NotMultipart
        );
        for bad in [
            &b""[..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            b"--XyZ\r\nNo-Disposition: x\r\n\r\nv\r\n--XyZ--",
            b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--",
        ] {
            assert!(Form::parse(CT, Bytes::copy_from_slice(bad)).is_err());
        }
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\""),
            Some("a b")
        );
    }

    /// Found by fuzzing (the `multipart` target, a form whose `model` came twice): routing
    /// read one `model`, the rewrite replaced another, and the provider got both.
    #[test]
    fn a_repeated_text_field_is_refused() {
        let twice = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n\xff\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--XyZ--\r\n",
        );
        assert_eq!(
            Form::parse(CT, twice).unwrap_err(),
            FormError::Malformed("a text field appears twice (only `name[]` fields may repeat)")
        );
        let arrays = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nword\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nsegment\r\n--XyZ--\r\n",
        );
        let f = Form::parse(CT, arrays).unwrap();
        assert_eq!(f.text("timestamp_granularities[]"), Some("word"));
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Ok(f) = Form::parse(CT, Bytes::from(data)) {
                let _ = f.rebuild(&f.fields_envelope());
            }
        }
    }
}
