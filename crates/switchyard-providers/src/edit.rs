//! Changes made to a client's body for one attempt before its dialect translates it: the
//! route's parameter overrides (`override_params`) and image URLs replaced by the bytes the
//! gateway fetched. Each is applied with [`JsonEnvelope::apply`], which indexes the new body
//! as it writes it: the body is parsed once per request, never once per attempt.
//!
//! The gateway decides *when* (which attempt, after which fetch); this module decides *how*.

use serde_json::{Map, Value};

use crate::envelope::{Edit, JsonEnvelope};
use crate::error::TranslateError;

/// `body` with `overrides` set, or `None` when there is nothing to set. `model` is left out:
/// the dialect writes the target's model itself.
pub fn with_overrides(body: &JsonEnvelope, overrides: &Map<String, Value>) -> Option<JsonEnvelope> {
    if overrides.is_empty() || (overrides.len() == 1 && overrides.contains_key("model")) {
        return None;
    }
    let encoded: Vec<(&str, Vec<u8>)> = overrides
        .iter()
        .filter(|(k, _)| k.as_str() != "model")
        // Encoding a `Value` cannot fail.
        .map(|(k, v)| (k.as_str(), serde_json::to_vec(v).unwrap_or_default()))
        .collect();
    let edits: Vec<Edit<'_>> = encoded.iter().map(|(k, v)| Edit::Set(k, v)).collect();
    Some(body.apply(&edits))
}

/// The `http(s)` image URLs of a chat request's messages, found once so the same parse can
/// put the fetched images back ([`ImageUrls::inline`]).
#[derive(Debug)]
pub struct ImageUrls {
    messages: Vec<Value>,
    /// Distinct remote URLs, in order of appearance.
    pub urls: Vec<String>,
}

impl ImageUrls {
    /// The remote image URLs of `body`'s `messages`, or `None` when it has none (the common
    /// case, decided without parsing when the text cannot contain one). Malformed messages
    /// also give `None`: the dialect reports them with a precise error.
    pub fn find(body: &JsonEnvelope) -> Option<ImageUrls> {
        let raw = body.get_raw("messages")?;
        let bytes = raw.as_bytes();
        if memchr::memmem::find(bytes, b"image_url").is_none()
            || memchr::memmem::find(bytes, b"http").is_none()
        {
            return None;
        }
        let mut messages = serde_json::from_str::<Vec<Value>>(raw).ok()?;
        let mut urls: Vec<String> = Vec::new();
        for_each_image_url(&mut messages, &mut |url| {
            if is_remote(url) && !urls.iter().any(|u| u == url) {
                urls.push(url.clone());
            }
        });
        (!urls.is_empty()).then_some(ImageUrls { messages, urls })
    }

    /// `body` with each URL in `fetched` (`(url, data_url)`) replaced by its `data:` URL.
    pub fn inline(
        mut self,
        body: &JsonEnvelope,
        fetched: &[(String, String)],
    ) -> Result<JsonEnvelope, TranslateError> {
        for_each_image_url(&mut self.messages, &mut |url| {
            if let Some((_, data)) = fetched.iter().find(|(u, _)| u == url) {
                url.clone_from(data);
            }
        });
        let encoded =
            serde_json::to_vec(&self.messages).map_err(|e| TranslateError::InvalidRequest {
                message: format!("re-encoding messages: {e}"),
                param: Some("messages".into()),
            })?;
        Ok(body.apply(&[Edit::Set("messages", &encoded)]))
    }
}

fn is_remote(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Calls `f` on every `image_url.url` string of every message's content parts.
fn for_each_image_url(messages: &mut [Value], f: &mut impl FnMut(&mut String)) {
    for m in messages {
        let Some(Value::Array(parts)) = m.get_mut("content") else {
            continue;
        };
        for part in parts {
            if part.get("type").and_then(Value::as_str) != Some("image_url") {
                continue;
            }
            match part.get_mut("image_url") {
                Some(Value::Object(o)) => {
                    if let Some(Value::String(url)) = o.get_mut("url") {
                        f(url);
                    }
                }
                Some(Value::String(url)) => f(url),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn env(s: &str) -> JsonEnvelope {
        JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    #[test]
    fn overrides_set_fields_but_not_the_model() {
        let body = env(r#"{"model":"m","temperature":1}"#);
        let mut o = Map::new();
        o.insert("model".into(), Value::from("other"));
        assert!(with_overrides(&body, &o).is_none());
        o.insert("temperature".into(), Value::from(0.5));
        o.insert("max_tokens".into(), Value::from(64));
        let edited = with_overrides(&body, &o).unwrap();
        assert_eq!(edited.get_raw("model"), Some(r#""m""#));
        assert_eq!(edited.get_raw("temperature"), Some("0.5"));
        assert_eq!(edited.get_raw("max_tokens"), Some("64"));
    }

    #[test]
    fn image_urls_are_found_once_and_replaced() {
        let body = env(r#"{"model":"m","messages":[{"role":"user","content":[
                {"type":"text","text":"what is this"},
                {"type":"image_url","image_url":{"url":"https://x.test/a.png"}},
                {"type":"image_url","image_url":"https://x.test/a.png"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}"#);
        let found = ImageUrls::find(&body).unwrap();
        assert_eq!(found.urls, vec!["https://x.test/a.png".to_owned()]);
        let inlined = found
            .inline(
                &body,
                &[(
                    "https://x.test/a.png".into(),
                    "data:image/png;base64,BB==".into(),
                )],
            )
            .unwrap();
        let messages = inlined.get_raw("messages").unwrap();
        assert!(!messages.contains("https://"));
        assert_eq!(messages.matches("BB==").count(), 2);
        assert!(messages.contains("AA=="));
        assert!(ImageUrls::find(&env(
            r#"{"messages":[{"role":"user","content":"hi http"}]}"#
        ))
        .is_none());
    }
}
