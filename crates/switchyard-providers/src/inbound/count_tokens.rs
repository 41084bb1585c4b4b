//! `POST /v1/messages/count_tokens` for targets that cannot count: an estimate.
//!
//! Anthropic targets count exactly (send the body through [`crate::inbound::passthrough`]).
//! For any other target the gateway answers `{"input_tokens": N}` itself, with N estimated
//! as follows — deliberately simple, stated, and on the high side where it must guess:
//!
//! - **Text**: every byte of text the model reads — `system`, text blocks, tool results'
//!   text, plain-text documents, `tool_use` names and inputs (as JSON), and each tool's name,
//!   description and `input_schema` (as JSON) — summed, then divided by 4, rounded up
//!   ([`BYTES_PER_TOKEN`]).
//! - **Images**: [`IMAGE_TOKENS`] each. Anthropic bills about width × height / 750 tokens and
//!   resizes images above ~1.15 megapixels, which caps that near 1,600; the gateway does not
//!   decode images, so it charges the cap.
//! - **PDFs**: [`PDF_PAGE_TOKENS`] per page, pages counted as `/Type /Page` objects in the
//!   decoded file (at least one). Anthropic sends each page as an image (≈1,600) plus its text
//!   (1,500–3,000 by its PDF guide).
//! - **Tools**: when `tools` is non-empty, the tool-use system prompt Anthropic documents for
//!   current models: [`TOOL_PROMPT_AUTO`] for `tool_choice` `auto` or `none` (the default),
//!   [`TOOL_PROMPT_FORCED`] for `any` or `tool`.
//!
//! Thinking blocks of earlier turns count as text.

use base64::Engine;
use bytes::Bytes;
use memchr::memmem;
use serde_json::Value;

use crate::canonical::invalid;
use crate::envelope::JsonEnvelope;
use crate::error::TranslateError;

/// Bytes of text per estimated token.
pub const BYTES_PER_TOKEN: u64 = 4;
/// Tokens per image.
pub const IMAGE_TOKENS: u64 = 1_600;
/// Tokens per PDF page.
pub const PDF_PAGE_TOKENS: u64 = 3_000;
/// Tool-use system prompt, `tool_choice` `auto` or `none`.
pub const TOOL_PROMPT_AUTO: u64 = 346;
/// Tool-use system prompt, `tool_choice` `any` or `tool`.
pub const TOOL_PROMPT_FORCED: u64 = 313;

/// Anthropic's answer, `{"input_tokens":N}`, for a `count_tokens` body.
pub fn count_tokens(body: &JsonEnvelope) -> Result<Bytes, TranslateError> {
    let n = estimate(body)?;
    Ok(Bytes::from(format!("{{\"input_tokens\":{n}}}")))
}

#[derive(Default)]
struct Tally {
    text_bytes: u64,
    fixed: u64,
}

impl Tally {
    fn text(&mut self, s: &str) {
        self.text_bytes += s.len() as u64;
    }

    fn json(&mut self, v: &Value) {
        self.text_bytes += serde_json::to_string(v).map_or(0, |s| s.len() as u64);
    }

    fn tokens(&self) -> u64 {
        self.text_bytes.div_ceil(BYTES_PER_TOKEN) + self.fixed
    }
}

/// The estimated input tokens of a Messages (or `count_tokens`) body.
pub fn estimate(body: &JsonEnvelope) -> Result<u64, TranslateError> {
    let mut t = Tally::default();
    let field = |key: &str| -> Result<Option<Value>, TranslateError> {
        body.get::<Value>(key, "JSON")
            .map_err(|e| invalid(e.to_string(), key))
    };
    match field("system")? {
        None => {}
        Some(Value::String(s)) => t.text(&s),
        Some(Value::Array(blocks)) => {
            for b in &blocks {
                block(&mut t, b);
            }
        }
        Some(_) => {
            return Err(invalid(
                "`system` must be a string or text blocks",
                "system",
            ))
        }
    }
    let Some(Value::Array(messages)) = field("messages")? else {
        return Err(invalid("`messages` must be an array", "messages"));
    };
    for (i, m) in messages.iter().enumerate() {
        match m.get("content") {
            Some(Value::String(s)) => t.text(s),
            Some(Value::Array(blocks)) => {
                for b in blocks {
                    block(&mut t, b);
                }
            }
            _ => {
                let param = format!("messages[{i}].content");
                return Err(invalid(
                    format!("`{param}` must be a string or an array of blocks"),
                    &param,
                ));
            }
        }
    }
    if let Some(Value::Array(tools)) = field("tools")? {
        for tool in &tools {
            for k in ["name", "description"] {
                if let Some(Value::String(s)) = tool.get(k) {
                    t.text(s);
                }
            }
            if let Some(schema) = tool.get("input_schema") {
                t.json(schema);
            }
        }
        if !tools.is_empty() {
            let forced = matches!(
                field("tool_choice")?
                    .as_ref()
                    .and_then(|c| c.get("type"))
                    .and_then(Value::as_str),
                Some("any" | "tool")
            );
            t.fixed += if forced {
                TOOL_PROMPT_FORCED
            } else {
                TOOL_PROMPT_AUTO
            };
        }
    }
    Ok(t.tokens())
}

fn block(t: &mut Tally, b: &Value) {
    let str_of = |k: &str| b.get(k).and_then(Value::as_str);
    match str_of("type") {
        Some("text") => t.text(str_of("text").unwrap_or_default()),
        Some("thinking") => t.text(str_of("thinking").unwrap_or_default()),
        Some("image") => t.fixed += IMAGE_TOKENS,
        Some("document") => document(t, b),
        Some("tool_use") => {
            t.text(str_of("name").unwrap_or_default());
            if let Some(input) = b.get("input") {
                t.json(input);
            }
        }
        Some("tool_result") => match b.get("content") {
            Some(Value::String(s)) => t.text(s),
            Some(Value::Array(inner)) => {
                for c in inner {
                    block(t, c);
                }
            }
            _ => {}
        },
        // Other blocks (server tool results, search results…): their JSON as text.
        _ => t.json(b),
    }
}

fn document(t: &mut Tally, b: &Value) {
    let source = b.get("source");
    let field = |k: &str| source.and_then(|s| s.get(k)).and_then(Value::as_str);
    match (field("type"), field("media_type")) {
        (Some("base64"), Some("application/pdf")) => {
            let pages = field("data")
                .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                .map_or(1, |pdf| pdf_pages(&pdf).max(1));
            t.fixed += pages * PDF_PAGE_TOKENS;
        }
        (Some("text"), _) => t.text(field("data").unwrap_or_default()),
        _ => t.fixed += PDF_PAGE_TOKENS,
    }
}

/// Page objects in a PDF: `/Type /Page` or `/Type/Page`, not `/Pages`.
fn pdf_pages(pdf: &[u8]) -> u64 {
    let mut n = 0;
    for needle in [&b"/Type /Page"[..], &b"/Type/Page"[..]] {
        for at in memmem::find_iter(pdf, needle) {
            if pdf.get(at + needle.len()) != Some(&b's') {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(s: &str) -> u64 {
        estimate(&JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()).unwrap()
    }

    #[test]
    fn text_is_bytes_over_four_rounded_up() {
        // "You are brief." (14) + "Hello" (5) = 19 bytes → 5 tokens.
        assert_eq!(
            est(
                r#"{"model":"m","system":"You are brief.","messages":[{"role":"user","content":"Hello"}]}"#
            ),
            5
        );
        assert_eq!(est(r#"{"model":"m","messages":[]}"#), 0);
    }

    #[test]
    fn images_pdfs_and_tools_are_counted_as_documented() {
        let pdf = base64::engine::general_purpose::STANDARD
            .encode(b"%PDF-1.4 1 0 obj <</Type /Pages /Count 2>> 2 0 obj <</Type /Page>> 3 0 obj <</Type/Page>>");
        let body = format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":[{{"type":"image","source":{{"type":"base64","media_type":"image/png","data":"AAAA"}}}},{{"type":"document","source":{{"type":"base64","media_type":"application/pdf","data":"{pdf}"}}}},{{"type":"text","text":"abcd"}}]}}]}}"#
        );
        assert_eq!(est(&body), IMAGE_TOKENS + 2 * PDF_PAGE_TOKENS + 1);
        let tools = r#"{"model":"m","messages":[{"role":"user","content":"abcd"}],"tools":[{"name":"abcd","input_schema":{}}]}"#;
        // "abcd" + "abcd" + "{}" = 10 bytes → 3 tokens, plus the prompt.
        assert_eq!(est(tools), 3 + TOOL_PROMPT_AUTO);
        let forced = tools.replace("]}", r#"],"tool_choice":{"type":"any"}}"#);
        assert_eq!(est(&forced), 3 + TOOL_PROMPT_FORCED);
    }

    #[test]
    fn the_answer_is_anthropic_shaped_and_bad_bodies_name_the_field() {
        let body = JsonEnvelope::parse(Bytes::from_static(
            br#"{"model":"m","messages":[{"role":"user","content":"12345678"}]}"#,
        ))
        .unwrap();
        assert_eq!(&count_tokens(&body).unwrap()[..], br#"{"input_tokens":2}"#);
        let bad = JsonEnvelope::parse(Bytes::from_static(
            br#"{"model":"m","messages":[{"role":"user","content":3}]}"#,
        ))
        .unwrap();
        assert!(matches!(
            estimate(&bad),
            Err(TranslateError::InvalidRequest { param: Some(p), .. }) if p == "messages[0].content"
        ));
    }
}
