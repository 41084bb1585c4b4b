//! The two traits a provider dialect implements and the data they work on. This is the
//! interface only: it names no dialect (the table that maps a kind to its implementation is
//! [`crate::registry`]).
//!
//! A dialect turns one routed call into an [`UpstreamRequest`] and gives a fresh
//! [`ResponseTranslator`] per attempt. The gateway owns sockets, timeouts and the commit
//! point; the dialect only says what to send and what the answer means.

use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde::Deserialize;

use crate::endpoint::Endpoint;
use crate::envelope::JsonEnvelope;
use crate::error::{ErrorBody, TranslateError};
use crate::kind::{AuthStyle, ProviderKind};
use crate::multipart::Form;
use crate::secret::Secret;
use crate::usage::Usage;

/// What translation needs to know about one configured provider.
#[derive(Clone, Debug)]
pub struct ProviderEndpoint {
    /// The name the config gives it, for errors and metrics.
    pub name: String,
    /// Its kind.
    pub kind: ProviderKind,
    /// The `Host` header value: `host` or `host:port`.
    pub authority: String,
    /// The base URL's path without a trailing slash, e.g. `/v1`.
    pub base_path: String,
    /// The key the gateway sends; empty when the provider takes none.
    pub api_key: Secret,
    /// Extra headers sent with every request (marked sensitive: they may hold credentials).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Ask for token usage on streams (`stream_options.include_usage`) and hide the extra
    /// usage chunk from clients that did not ask for it.
    pub stream_usage: bool,
    /// How credentials are sent (the kind's default unless the config overrides it).
    pub auth: AuthStyle,
    /// Settings only some kinds use.
    pub options: ProviderOptions,
}

/// Provider settings that only some kinds use; each kind documents which it reads.
#[derive(Clone, Debug, Default)]
pub struct ProviderOptions {
    /// API version: `anthropic-version` for Anthropic, `api-version` for Azure OpenAI.
    pub api_version: Option<String>,
    /// Cloud region (AWS Bedrock).
    pub region: Option<String>,
    /// Cloud project (Google Vertex AI).
    pub project: Option<String>,
    /// Cloud location (Google Vertex AI), e.g. `us-central1` or `global`.
    pub location: Option<String>,
    /// AWS credentials for SigV4 signing.
    pub aws: Option<AwsCredentials>,
    /// `max_tokens` to send when the client gives none and the provider requires one
    /// (Anthropic).
    pub default_max_tokens: Option<u32>,
}

/// AWS credentials.
#[derive(Clone, Debug)]
pub struct AwsCredentials {
    /// Access key id (not secret, but not logged either).
    pub access_key_id: Secret,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token for temporary credentials.
    pub session_token: Option<Secret>,
}

/// One routed call: what the client asked, and the model chosen for this provider.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The client's body. For a multipart endpoint: the form's text fields (with any
    /// override parameters applied), while [`Call::form`] holds the form itself.
    pub body: &'a JsonEnvelope,
    /// The client's `multipart/form-data` body, for endpoints that take one.
    pub form: Option<&'a Form>,
    /// The model name to send upstream.
    pub model: &'a str,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// A key the client brought for the provider (zero-config mode); wins over the configured one.
    pub client_key: Option<&'a str>,
    /// The time of the attempt, for dialects that sign requests.
    pub now: SystemTime,
}

impl Call<'_> {
    /// Whether the client asked for a usage chunk at the end of its stream
    /// (`stream_options.include_usage: true`). Absent, `null` or malformed reads as no.
    pub fn include_usage(&self) -> bool {
        #[derive(Deserialize)]
        struct StreamOptions {
            #[serde(default)]
            include_usage: Option<bool>,
        }
        self.body
            .get::<StreamOptions>("stream_options", "an object")
            .ok()
            .flatten()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The `created` timestamp of answers written for this call: [`Call::now`] in Unix
    /// seconds (0 before 1970).
    pub fn created(&self) -> u64 {
        crate::time::unix_seconds(self.now)
    }
}

/// An HTTP request for the provider. The gateway adds `Host` and `Content-Length`.
#[derive(Clone, Debug)]
pub struct UpstreamRequest {
    /// The method.
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// Headers besides `Host` and `Content-Length`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: Bytes,
}

/// Bytes for the client, in order.
pub type Output = Vec<Bytes>;

/// What the translator has concluded about a successful-status response so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not enough seen yet (a stream before its first event, a body not yet complete).
    Pending,
    /// The response is good to send.
    Healthy,
    /// The provider said 2xx but the content is an error (e.g. a stream whose first event is
    /// an error): treat it like an error status, which may fail over.
    Failed {
        /// The status the client should see if nothing else answers.
        status: u16,
        /// The error.
        error: ErrorBody,
    },
}

/// Translates one successful response, chunk by chunk.
pub trait ResponseTranslator: Send {
    /// Feeds a body chunk; appends what the client should receive to `out`.
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError>;
    /// The upstream body ended cleanly; appends any final bytes.
    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError>;
    /// What has been concluded so far.
    fn verdict(&self) -> Verdict;
    /// Token usage, once seen.
    fn usage(&self) -> Option<Usage>;
    /// The `Content-Type` the client gets.
    fn content_type(&self) -> &'static str;
    /// True when the output bytes are exactly the input bytes, so the provider's
    /// `Content-Length` still holds.
    fn is_passthrough(&self) -> bool;
    /// Bytes held inside the translator (a partial event, a whole answer being gathered), so
    /// the gateway can count them against its memory budget.
    fn buffered(&self) -> usize {
        0
    }
}

/// A provider dialect.
pub trait Dialect: Send + Sync {
    /// The request for one attempt.
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError>;

    /// A translator for a 2xx response to `call`.
    fn response_translator(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Box<dyn ResponseTranslator>;

    /// True when the provider cannot fetch image URLs itself: the gateway then fetches
    /// `http(s)` image URLs and hands the dialect `data:` URLs instead. A dialect that says
    /// false must pass URLs through (or refuse them with a clear error).
    fn needs_inline_images(&self) -> bool {
        false
    }

    /// The client-facing error for a non-2xx response with this body.
    fn error_body(&self, provider: &ProviderEndpoint, status: u16, body: &[u8]) -> ErrorBody {
        ErrorBody::from_provider(status, body, &provider.name)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;

    use super::*;

    fn call(body: &JsonEnvelope, now: SystemTime) -> Call<'_> {
        Call {
            endpoint: Endpoint::ChatCompletions,
            body,
            form: None,
            model: "m",
            stream: true,
            client_key: None,
            now,
        }
    }

    #[test]
    fn include_usage_is_what_the_client_asked_for() {
        for (body, want) in [
            (r#"{"stream_options":{"include_usage":true}}"#, true),
            (r#"{"stream_options":{"include_usage":false}}"#, false),
            (r#"{"stream_options":{}}"#, false),
            (r#"{"stream_options":null}"#, false),
            (r#"{"stream_options":"yes"}"#, false),
            (r#"{"stream_options":{"include_usage":"yes"}}"#, false),
            (r#"{}"#, false),
        ] {
            let env = JsonEnvelope::parse(Bytes::from_static(body.as_bytes())).unwrap();
            assert_eq!(call(&env, UNIX_EPOCH).include_usage(), want, "{body}");
        }
    }

    #[test]
    fn created_is_the_attempt_time_in_unix_seconds() {
        let env = JsonEnvelope::empty();
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
        assert_eq!(call(&env, now).created(), 1_700_000_000);
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(call(&env, before).created(), 0);
    }
}
