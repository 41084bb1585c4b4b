//! Switchyard's request pipeline: the public, stable interface every feature of the gateway
//! and every compiled-in plugin implements.
//!
//! A request meets the stages at named moments — `admit`, `before_route`, `before_attempt`,
//! `after_attempt`, `on_response_head`, `on_response_body`, `on_event`, `on_complete` (see
//! [`Stage`] for when each runs and what it may change). Gateway keys, limits, the cache,
//! guardrails, cost accounting, metrics and the access log are all stages; so is a user's
//! plugin (see `examples/request-tagger` in the repository).
//!
//! What a stage gets: a typed per-request context ([`RequestCx`]) with what the gateway knows
//! so far, plus a view of the part of the request it acts on. What it may do: continue,
//! modify the request or response, answer itself ([`Flow::Respond`]), or end the request with
//! a [`GatewayError`] — which the gateway turns into an OpenAI-shaped error with the right
//! status.
//!
//! This crate does no I/O and does not depend on Pingora: a stage can be unit-tested by
//! calling its hooks with a context built by hand.
//!
//! Stability: items here change only with a new minor version of Switchyard, and then only
//! by addition (enums that may grow are `#[non_exhaustive]` where a stage matches on them).

pub mod context;
pub mod error;
pub mod pipeline;
pub mod plugin;
pub mod stage;

pub use context::{
    AttemptCx, AttemptReport, KeyIdentity, Reply, RequestBody, RequestCx, RequestHead, NONE,
};
pub use error::{GatewayError, UpstreamError};
pub use pipeline::Pipeline;
pub use plugin::Plugin;
pub use stage::{AttemptFlow, BoxFuture, EventFlow, Flow, Hooks, Stage, Step};
/// The request and answer types stages handle, from the translation crate.
pub use switchyard_providers::inbound::InboundApi;
pub use switchyard_providers::{
    Endpoint, ErrorBody, Form, JsonEnvelope, ProviderKind, UpstreamRequest, Usage,
};
