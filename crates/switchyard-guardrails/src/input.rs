//! What a check looks at: the texts of the request or response, and the request's model,
//! metadata and type.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

use serde_json::{Map, Value};
use switchyard_providers::text::BodyTexts;

/// When a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookEvent {
    /// On the request, before routing (Portkey's `before_request_hooks`, `input_guardrails`).
    BeforeRequest,
    /// On the whole answer, before it is sent (`after_request_hooks`, `output_guardrails`).
    AfterRequest,
}

impl HookEvent {
    /// Portkey's name: `beforeRequestHook` or `afterRequestHook`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::BeforeRequest => "beforeRequestHook",
            HookEvent::AfterRequest => "afterRequestHook",
        }
    }
}

/// Portkey's request type names, as `requestType` in webhook bodies and in
/// `default.allowedRequestTypes`.
pub mod request_type {
    /// `/v1/chat/completions`.
    pub const CHAT_COMPLETE: &str = "chatComplete";
    /// `/v1/completions`.
    pub const COMPLETE: &str = "complete";
    /// `/v1/embeddings`.
    pub const EMBED: &str = "embed";
}

/// The input of one check run.
///
/// `texts` are every text segment of the body (in body order); `primary` the range of them
/// Portkey's checks read (the last message, choice 0…). Verdict checks read [`Self::text`],
/// the primary segments joined by `\n` (Portkey's `getText`); masking checks read and
/// rewrite the segments their scope names (see [`crate::Check::scope`]).
#[derive(Debug)]
pub struct CheckInput<'a> {
    /// When the hook runs.
    pub event: HookEvent,
    texts: Vec<Cow<'a, str>>,
    primary: Range<usize>,
    joined: OnceCell<String>,
    /// The request's `model`.
    pub model: Option<&'a str>,
    /// The request's metadata (`x-portkey-metadata` / `x-switchyard-metadata`).
    pub metadata: Option<&'a Map<String, Value>>,
    /// Portkey's request type (see [`request_type`]).
    pub request_type: &'a str,
}

impl<'a> CheckInput<'a> {
    /// An input over `texts`, of which `primary` are the ones Portkey's checks read.
    pub fn new(event: HookEvent, texts: Vec<Cow<'a, str>>, primary: Range<usize>) -> Self {
        let primary = primary.start.min(texts.len())..primary.end.min(texts.len());
        Self {
            event,
            texts,
            primary,
            joined: OnceCell::new(),
            model: None,
            metadata: None,
            request_type: request_type::CHAT_COMPLETE,
        }
    }

    /// An input over one text.
    pub fn from_text(event: HookEvent, text: &'a str) -> Self {
        Self::new(event, vec![Cow::Borrowed(text)], 0..1)
    }

    /// An input over the texts found in a body (`switchyard_providers::text`).
    pub fn from_body(event: HookEvent, body: &'a BodyTexts<'a>) -> Self {
        Self::new(
            event,
            body.segments
                .iter()
                .map(|s| Cow::Borrowed(&*s.text))
                .collect(),
            body.primary.clone(),
        )
    }

    /// With the request's model.
    pub fn with_model(mut self, model: Option<&'a str>) -> Self {
        self.model = model;
        self
    }

    /// With the request's metadata.
    pub fn with_metadata(mut self, metadata: Option<&'a Map<String, Value>>) -> Self {
        self.metadata = metadata;
        self
    }

    /// With Portkey's request type.
    pub fn with_request_type(mut self, request_type: &'a str) -> Self {
        self.request_type = request_type;
        self
    }

    /// Every segment.
    pub fn texts(&self) -> &[Cow<'a, str>] {
        &self.texts
    }

    /// The primary segments' range.
    pub fn primary(&self) -> Range<usize> {
        self.primary.clone()
    }

    /// The text verdict checks read: the non-empty primary segments joined by `\n`.
    pub fn text(&self) -> &str {
        let primary = self.texts.get(self.primary.clone()).unwrap_or_default();
        let mut non_empty = primary.iter().filter(|t| !t.is_empty());
        match (non_empty.next(), non_empty.next()) {
            (None, _) => "",
            (Some(only), None) => only,
            _ => self.joined.get_or_init(|| {
                primary
                    .iter()
                    .filter(|t| !t.is_empty())
                    .map(|t| &**t)
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_joins_the_non_empty_primary_segments() {
        let texts = vec!["system".into(), "a".into(), "".into(), "b".into()];
        let i = CheckInput::new(HookEvent::BeforeRequest, texts, 1..4);
        assert_eq!(i.text(), "a\nb");
        let i = CheckInput::new(HookEvent::BeforeRequest, vec!["x".into(), "".into()], 0..2);
        assert_eq!(i.text(), "x");
        let i = CheckInput::new(HookEvent::BeforeRequest, vec![], 0..9);
        assert_eq!(i.text(), "");
    }
}
