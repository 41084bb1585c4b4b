//! Anthropic's Messages API (`POST {base}/messages`, base `https://api.anthropic.com/v1`).
//!
//! Requests are decoded once into the canonical [`ChatRequest`](crate::canonical::ChatRequest) and rewritten as a Messages
//! body (`request`); answers come back as an Anthropic `message` or as its named SSE events
//! and are rewritten into OpenAI's chat completion or chunks (`response`); error bodies and
//! stream `error` events become OpenAI-shaped errors (`error`).
//!
//! Settings read from [`crate::ProviderOptions`]: `api_version` (the `anthropic-version`
//! header, default [`DEFAULT_API_VERSION`]) and `default_max_tokens` (sent when the client
//! gives no token limit, as Anthropic requires one; default [`DEFAULT_MAX_TOKENS`]).

mod error;
mod request;
mod response;

use http::{HeaderName, HeaderValue};

use crate::dialect::{Call, Dialect, ProviderEndpoint, ResponseTranslator, UpstreamRequest};
use crate::endpoint::Endpoint;
use crate::error::{ErrorBody, TranslateError};
use crate::translator::{Buffered, Streamed};

use self::response::{MessageAnswer, StreamTranslator};
use crate::headers;

pub use error::{error_from_body, status_for_error_type};

/// The `anthropic-version` sent when the provider's config names none.
pub const DEFAULT_API_VERSION: &str = "2023-06-01";

/// The `max_tokens` sent when neither the client nor the provider's `default_max_tokens`
/// gives one: Anthropic refuses a request without it.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Anthropic dialect.
#[derive(Debug)]
pub struct Anthropic;

impl Dialect for Anthropic {
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        match call.endpoint {
            Endpoint::ChatCompletions => {}
            other => {
                return Err(TranslateError::UnsupportedEndpoint {
                    kind: provider.kind.name(),
                    endpoint: other.label(),
                })
            }
        }
        let body = request::messages_body(provider, call)?;
        let mut hs = Vec::with_capacity(6 + provider.headers.len());
        hs.extend(headers::json_exchange(call.stream));
        let version = provider
            .options
            .api_version
            .as_deref()
            .unwrap_or(DEFAULT_API_VERSION);
        let version =
            HeaderValue::from_str(version).map_err(|_| TranslateError::InvalidRequest {
                message: format!(
                    "the api_version of provider {} is not a valid header value",
                    provider.name
                ),
                param: None,
            })?;
        hs.push((HeaderName::from_static("anthropic-version"), version));
        // `x-api-key` (the kind's style); config validation refuses SigV4 for this kind.
        hs.extend(headers::credential(provider, call.client_key)?);
        hs.extend(provider.headers.iter().cloned());
        Ok(UpstreamRequest {
            method: "POST",
            path: format!("{}/messages", provider.base_path),
            headers: hs,
            body,
        })
    }

    fn response_translator(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Box<dyn ResponseTranslator> {
        if call.stream {
            Streamed::boxed(StreamTranslator::new(provider, call))
        } else {
            Buffered::boxed(MessageAnswer::new(provider, call))
        }
    }

    /// Anthropic fetches `http(s)` image URLs itself (`source.type: url`).
    fn needs_inline_images(&self) -> bool {
        false
    }

    fn error_body(&self, provider: &ProviderEndpoint, status: u16, body: &[u8]) -> ErrorBody {
        error_from_body(Some(status), body, &provider.name)
            .map(|(_, e)| e)
            .unwrap_or_else(|| ErrorBody::from_provider(status, body, &provider.name))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Shared fixtures for this module's tests.
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;

    use crate::dialect::{Call, ProviderEndpoint};
    use crate::endpoint::Endpoint;
    use crate::envelope::JsonEnvelope;
    use crate::kind::{AuthStyle, ProviderKind};
    use crate::secret::Secret;

    pub fn provider() -> ProviderEndpoint {
        ProviderEndpoint {
            name: "claude".into(),
            kind: ProviderKind::Anthropic,
            authority: "api.anthropic.com".into(),
            base_path: "/v1".into(),
            api_key: Secret::new("sk-ant-test"),
            headers: vec![],
            stream_usage: false,
            auth: AuthStyle::Header("x-api-key"),
            options: Default::default(),
        }
    }

    pub fn env(s: &str) -> JsonEnvelope {
        JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    pub fn call<'a>(body: &'a JsonEnvelope, stream: bool) -> Call<'a> {
        Call {
            form: None,
            endpoint: Endpoint::ChatCompletions,
            body,
            model: "claude-sonnet-4-5",
            stream,
            client_key: None,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn the_request_goes_to_messages_with_anthropic_headers() {
        let body = env(r#"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#);
        let req = Anthropic
            .build_request(&provider(), &call(&body, false))
            .unwrap();
        assert_eq!(req.path, "/v1/messages");
        assert_eq!(req.method, "POST");
        let get = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(get("x-api-key").as_deref(), Some("sk-ant-test"));
        assert_eq!(get("anthropic-version").as_deref(), Some("2023-06-01"));
        assert_eq!(get("content-type").as_deref(), Some("application/json"));
        assert!(get("authorization").is_none());
        assert!(!format!("{:?}", req.headers).contains("sk-ant-test"));
    }

    #[test]
    fn api_version_and_client_key_are_honoured() {
        let body = env(r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#);
        let mut p = provider();
        p.options.api_version = Some("2024-01-01".into());
        let mut c = call(&body, true);
        c.client_key = Some("sk-ant-client");
        let req = Anthropic.build_request(&p, &c).unwrap();
        let get = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(get("anthropic-version").as_deref(), Some("2024-01-01"));
        assert_eq!(get("x-api-key").as_deref(), Some("sk-ant-client"));
        assert_eq!(get("accept").as_deref(), Some("text/event-stream"));
    }

    #[test]
    fn embeddings_and_legacy_completions_are_refused() {
        let body = env(r#"{"model":"m","input":"x"}"#);
        for endpoint in [Endpoint::Embeddings, Endpoint::Completions] {
            let mut c = call(&body, false);
            c.endpoint = endpoint;
            let e = Anthropic.build_request(&provider(), &c).unwrap_err();
            assert!(matches!(
                e,
                TranslateError::UnsupportedEndpoint {
                    kind: "anthropic",
                    ..
                }
            ));
            assert!(e.to_string().contains("anthropic"), "{e}");
        }
    }

    #[test]
    fn provider_errors_become_openai_errors() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
        let e = Anthropic.error_body(&provider(), 529, body);
        assert_eq!(e.message, "Overloaded");
        assert_eq!(e.kind, "api_error");
        assert_eq!(e.code.as_deref(), Some("overloaded_error"));
        assert_eq!(e.provider.as_deref(), Some("claude"));
        let html = Anthropic.error_body(&provider(), 502, b"<html>bad gateway</html>");
        assert!(html.message.contains("<html>bad gateway</html>"));
        assert_eq!(html.provider.as_deref(), Some("claude"));
    }
}
