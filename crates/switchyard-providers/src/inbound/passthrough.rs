//! A Messages body sent to an Anthropic target untranslated, and its answer returned as is.
//!
//! Translation through chat loses what chat cannot say (thinking blocks, citations, server
//! tools, which stop sequence matched, prefills). When the target is Anthropic itself the
//! gateway should instead:
//!
//! 1. build the request with [`request`] (`/messages` or `/messages/count_tokens`, `model`
//!    rewritten to the target's, the client's `anthropic-version` and `anthropic-beta`
//!    headers kept, the provider's key);
//! 2. answer through [`Passthrough`], which forwards the bytes untouched (so the provider's
//!    `Content-Length` holds), reads usage — from the `message`'s `usage`, or from
//!    `message_start` and `message_delta` events — and fails the attempt when a stream's
//!    first event is an `error`, as the Anthropic dialect does;
//! 3. render provider errors with [`crate::inbound::InboundApi::error_body`] as usual (the
//!    Anthropic dialect's `error_body` keeps Anthropic's error type in `code`, so it comes
//!    back unchanged).
//!
//! The dialect table needs no change: the gateway picks this path when the endpoint is
//! `Messages` or `MessagesCountTokens` and the target's dialect kind is `Anthropic`.

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use memchr::memmem;
use serde::Deserialize;

use crate::anthropic::{error_from_body, DEFAULT_API_VERSION};
use crate::dialect::{
    Call, Output, ProviderEndpoint, ResponseTranslator, UpstreamRequest, Verdict,
};
use crate::endpoint::Endpoint;
use crate::envelope::Edit;
use crate::error::TranslateError;
use crate::headers;
use crate::sse::SseFramer;
use crate::usage::{Tail, Usage};

/// How many trailing bytes of a `message` body are kept to read `usage` from (it is the
/// body's last member).
const USAGE_TAIL_BYTES: usize = 4096;

/// Anthropic headers the client sent that go to the provider with its body.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientHeaders<'a> {
    /// `anthropic-version`; the provider's `api_version`, else
    /// [`crate::anthropic::DEFAULT_API_VERSION`], when absent.
    pub anthropic_version: Option<&'a str>,
    /// `anthropic-beta` (comma-separated feature names).
    pub anthropic_beta: Option<&'a str>,
}

fn header(name: &'static str, value: &str) -> Result<(HeaderName, HeaderValue), TranslateError> {
    let v = HeaderValue::from_str(value).map_err(|_| TranslateError::InvalidRequest {
        message: format!("the `{name}` header is not a valid header value"),
        param: None,
    })?;
    Ok((HeaderName::from_static(name), v))
}

/// The request for an Anthropic target: the client's body with `model` set to the target's.
pub fn request(
    provider: &ProviderEndpoint,
    call: &Call<'_>,
    client: ClientHeaders<'_>,
) -> Result<UpstreamRequest, TranslateError> {
    let suffix = match call.endpoint {
        Endpoint::Messages => "/messages",
        Endpoint::MessagesCountTokens => "/messages/count_tokens",
        other => {
            return Err(TranslateError::UnsupportedEndpoint {
                kind: provider.kind.name(),
                endpoint: other.label(),
            })
        }
    };
    let model = serde_json::to_vec(call.model).map_err(|e| TranslateError::InvalidRequest {
        message: e.to_string(),
        param: Some("model".into()),
    })?;
    let body = if call.body.get_str("model").ok().flatten().as_deref() == Some(call.model) {
        call.body.raw().clone()
    } else {
        call.body.rewrite(&[Edit::Set("model", &model)])
    };
    let mut hs = Vec::with_capacity(6 + provider.headers.len());
    hs.extend(headers::json_exchange(call.stream));
    let version = client
        .anthropic_version
        .or(provider.options.api_version.as_deref())
        .unwrap_or(DEFAULT_API_VERSION);
    hs.push(header("anthropic-version", version)?);
    if let Some(beta) = client.anthropic_beta {
        hs.push(header("anthropic-beta", beta)?);
    }
    hs.extend(headers::credential(provider, call.client_key)?);
    hs.extend(provider.headers.iter().cloned());
    Ok(UpstreamRequest {
        method: "POST",
        path: format!("{}{suffix}", provider.base_path),
        headers: hs,
        body,
    })
}

/// Anthropic's `usage`; in a stream, later counts are cumulative and replace earlier ones.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    fn merge(&mut self, newer: WireUsage) {
        self.input_tokens = newer.input_tokens.or(self.input_tokens);
        self.output_tokens = newer.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = newer
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = newer
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }

    /// The gateway's accounting, as the Anthropic dialect counts: every prompt token,
    /// cached or not, is a prompt token.
    fn canonical(self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let prompt =
            self.input_tokens.unwrap_or(0) + read + self.cache_creation_input_tokens.unwrap_or(0);
        let completion = self.output_tokens.unwrap_or(0);
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            cached_tokens: read,
        }
    }
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: Option<StartMessage>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// The last `"usage": {…}` object in a `message` body (its top-level one: `usage` is the
/// last member, and inside strings the key's quotes would be escaped).
fn usage_in(tail: &[u8]) -> Option<WireUsage> {
    let at = memmem::rfind(tail, b"\"usage\"")?;
    let rest = tail.get(at + 7..)?;
    let start = rest.iter().position(|c| *c == b'{')?;
    if rest[..start]
        .iter()
        .any(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t' | b':'))
    {
        return None;
    }
    serde_json::Deserializer::from_slice(&rest[start..])
        .into_iter::<WireUsage>()
        .next()?
        .ok()
}

/// Forwards an Anthropic answer untouched while reading its usage.
#[derive(Debug)]
pub struct Passthrough {
    provider: String,
    stream: Option<SseFramer>,
    tail: Tail,
    verdict: Verdict,
    usage: Option<WireUsage>,
}

impl Passthrough {
    /// A translator for one attempt at `provider`.
    pub fn new(provider: &ProviderEndpoint, stream: bool) -> Self {
        Self {
            provider: provider.name.clone(),
            stream: stream.then(SseFramer::new),
            tail: Tail::new(if stream { 0 } else { USAGE_TAIL_BYTES }),
            verdict: if stream {
                Verdict::Pending
            } else {
                Verdict::Healthy
            },
            usage: None,
        }
    }

    fn observe(&mut self, data: &[u8]) {
        let Ok(event) = serde_json::from_slice::<Event>(data) else {
            return;
        };
        match event.kind.as_str() {
            "ping" => return,
            "error" if self.verdict == Verdict::Pending => {
                if let Some((status, error)) = error_from_body(None, data, &self.provider) {
                    self.verdict = Verdict::Failed { status, error };
                    return;
                }
            }
            _ => {}
        }
        if self.verdict == Verdict::Pending {
            self.verdict = Verdict::Healthy;
        }
        for u in [event.message.and_then(|m| m.usage), event.usage]
            .into_iter()
            .flatten()
        {
            self.usage.get_or_insert_with(WireUsage::default).merge(u);
        }
    }

    fn drain(&mut self) -> Result<(), TranslateError> {
        loop {
            let Some(framer) = self.stream.as_mut() else {
                return Ok(());
            };
            let Some(event) = framer
                .next_event()
                .map_err(|e| TranslateError::BadResponse(e.to_string()))?
            else {
                return Ok(());
            };
            self.observe(&event.data);
        }
    }
}

impl ResponseTranslator for Passthrough {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        match self.stream.as_mut() {
            Some(framer) => {
                framer
                    .push(&chunk)
                    .map_err(|e| TranslateError::BadResponse(e.to_string()))?;
                out.push(chunk);
                self.drain()
            }
            None => {
                self.tail.push(&chunk);
                out.push(chunk);
                Ok(())
            }
        }
    }

    fn finish(&mut self, _out: &mut Output) -> Result<(), TranslateError> {
        match self.stream.as_mut() {
            Some(framer) => {
                if let Some(event) = framer
                    .finish()
                    .map_err(|e| TranslateError::BadResponse(e.to_string()))?
                {
                    self.observe(&event.data);
                }
                if self.verdict == Verdict::Pending {
                    self.verdict = Verdict::Healthy;
                }
            }
            None => self.usage = usage_in(self.tail.bytes()),
        }
        Ok(())
    }

    fn verdict(&self) -> Verdict {
        self.verdict.clone()
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.map(WireUsage::canonical)
    }

    fn content_type(&self) -> &'static str {
        if self.stream.is_some() {
            "text/event-stream"
        } else {
            "application/json"
        }
    }

    fn buffered(&self) -> usize {
        self.stream.as_ref().map_or(0, SseFramer::pending_bytes)
    }

    fn is_passthrough(&self) -> bool {
        true
    }
}
