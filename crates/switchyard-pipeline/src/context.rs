//! What a stage sees of a request: the per-request context the gateway fills in as the
//! request moves on, and the views handed to the hooks that act on one part of it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use switchyard_providers::inbound::InboundApi;
use switchyard_providers::{Endpoint, Form, JsonEnvelope, ProviderKind, UpstreamRequest, Usage};

/// The client's request line and headers (Pingora's request header derefs to this).
pub type RequestHead = http::request::Parts;

/// Label used before a route or provider is known.
pub const NONE: &str = "none";

/// Who is calling: the gateway key a request was admitted with.
#[derive(Debug, Clone, Default)]
pub struct KeyIdentity {
    /// The key's name from the config (logged and labelled; never the key itself).
    pub name: Arc<str>,
    /// Free-form labels from the config (`team`, `app`, …).
    pub metadata: BTreeMap<String, String>,
}

/// The state of one request, shared by the gateway and every stage.
///
/// The gateway fills fields in as the request moves on; stages read them and may set the
/// ones documented as theirs. Anything a stage needs to remember between its own hooks goes
/// in [`RequestCx::extensions`], keyed by a type the stage owns.
pub struct RequestCx {
    /// When the request arrived.
    pub start: Instant,
    /// Our id for it (`x-switchyard-request-id`).
    pub request_id: String,
    /// The endpoint, once matched (absent for unknown paths).
    pub endpoint: Option<Endpoint>,
    /// The API the client speaks. Whatever it is, stages see the request body and the answer's
    /// events in the canonical (chat completions) form; the gateway translates at the edges.
    pub api: InboundApi,
    /// The gateway key, once a stage admitted the request with one.
    pub key: Option<Arc<KeyIdentity>>,
    /// Set by the stage that authenticated the request when the gateway key came in
    /// `Authorization`: that header then holds no provider key for zero-config routing.
    pub authorization_is_gateway_key: bool,
    /// The client's `model`.
    pub model: Option<String>,
    /// The client asked for a stream.
    pub stream: bool,
    /// The metadata header (`x-switchyard-metadata` / `x-portkey-metadata`), once parsed.
    pub metadata: Option<Arc<Map<String, Value>>>,
    /// Route label: a route name, `direct`, `catalog`, `zero_config`, `request_config`, `none`.
    pub route: Arc<str>,
    /// Label of the provider that answered (or was tried last).
    pub provider: Arc<str>,
    /// Upstream attempts made.
    pub attempts: u32,
    /// Path of the route node that answered (`config.targets[1]`).
    pub option_path: Option<String>,
    /// Retries of the target that answered.
    pub retries: u32,
    /// The status sent to the client (0 until a header is written; 499 if the client left).
    pub status: u16,
    /// The error code, when the request failed.
    pub error: Option<&'static str>,
    /// What lies behind `error` when known (e.g. the kind of a broken connection).
    pub detail: Option<&'static str>,
    /// Token usage reported by the provider.
    pub usage: Option<Usage>,
    /// Time until the response header was written.
    pub first_byte: Option<Duration>,
    /// Headers every response to this request carries, added by stages (rate-limit figures,
    /// cache status, …). Written after the gateway's own.
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    /// Per-request state of stages, keyed by type.
    pub extensions: http::Extensions,
}

impl RequestCx {
    /// A fresh context; `none` is the shared `"none"` label.
    pub fn new(none: &Arc<str>) -> Self {
        Self {
            start: Instant::now(),
            request_id: String::new(),
            endpoint: None,
            api: InboundApi::Chat,
            key: None,
            authorization_is_gateway_key: false,
            model: None,
            stream: false,
            metadata: None,
            route: none.clone(),
            provider: none.clone(),
            attempts: 0,
            option_path: None,
            retries: 0,
            status: 0,
            error: None,
            detail: None,
            usage: None,
            first_byte: None,
            response_headers: Vec::new(),
            extensions: http::Extensions::new(),
        }
    }

    /// The status as recorded: 499 when the client left before a header was written.
    pub fn final_status(&self) -> u16 {
        if self.status == 0 {
            499
        } else {
            self.status
        }
    }
}

/// The client's request body, parsed once. Stages in `before_route` may replace it (masking,
/// rewriting); the gateway never parses it again.
pub struct RequestBody {
    /// The JSON body (for a multipart endpoint: the form's text fields).
    pub json: JsonEnvelope,
    /// The multipart form, for endpoints that take one.
    pub form: Option<Form>,
}

/// One attempt at one target, after the dialect has built the provider's request.
pub struct AttemptCx<'a> {
    /// The provider's label (its config name, or a kind in zero-config mode).
    pub provider: &'a str,
    /// The provider's kind.
    pub kind: ProviderKind,
    /// The model sent upstream.
    pub model: &'a str,
    /// The target's place in the route tree (`config.targets[0]`).
    pub target_path: &'a str,
    /// 0 for a target's first try, then 1, 2… for retries.
    pub retry: u32,
    /// The request about to be sent; a stage may change its headers or body.
    pub request: &'a mut UpstreamRequest,
}

/// How one attempt ended, for stages that watch attempts (metrics, traces, limits).
#[derive(Debug, Clone, Copy)]
pub struct AttemptReport<'a> {
    /// The provider's label.
    pub provider: &'a str,
    /// The model sent upstream.
    pub model: &'a str,
    /// A bounded outcome label: `ok`, `http_429`, `http_4xx`, `http_5xx`, `error_in_stream`,
    /// or a transport error's label (`connect_error`, `first_byte_timeout`, …).
    pub outcome: &'static str,
    /// The provider's status, when it answered.
    pub status: Option<u16>,
    /// From sending the request to the verdict.
    pub elapsed: Duration,
}

/// A response a stage gives instead of the provider's (a cache hit, a plugin's own answer).
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The content type.
    pub content_type: &'static str,
    /// The body, complete (a replayed stream is its whole SSE text).
    pub body: Bytes,
}
