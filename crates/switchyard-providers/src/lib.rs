//! Provider translation for Switchyard.
//!
//! The canonical model is OpenAI's HTTP API: clients speak it, and every provider dialect
//! translates between it and the provider's own wire format. This crate is **pure**: it
//! turns bytes and settings into bytes and decisions. It never opens a socket, reads a
//! clock or touches Pingora types, so every translation is testable without a network.
//!
//! Pieces:
//! - [`envelope::JsonEnvelope`]: a request body parsed once into top-level fields whose
//!   values stay raw, so a passthrough rewrite copies bytes instead of re-encoding them.
//! - [`sse::SseFramer`]: an incremental Server-Sent Events parser that accepts any split of
//!   the byte stream.
//! - [`dialect::Dialect`] and [`dialect::ResponseTranslator`]: the two traits a provider
//!   module implements; [`dialect::dialect_for`] is the one table that registers them.
//! - [`error::ErrorBody`]: the OpenAI-shaped error every client sees.

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod canonical;
pub mod cohere;
pub mod compat;
pub mod dialect;
pub mod endpoint;
pub mod envelope;
pub mod error;
pub mod gemini;
pub mod kind;
pub mod multipart;
pub mod openai;
pub mod secret;
pub mod sigv4;
pub mod sse;
pub mod usage;
pub mod validate;

pub use dialect::{
    dialect_for, AwsCredentials, Call, Dialect, Output, ProviderEndpoint, ProviderOptions,
    ResponseTranslator, UpstreamRequest, Verdict,
};
pub use endpoint::Endpoint;
pub use envelope::{EnvelopeError, JsonEnvelope};
pub use error::{ErrorBody, TranslateError};
pub use kind::{AuthStyle, DialectKind, ProviderKind};
pub use multipart::{Form, FormError};
pub use secret::Secret;
pub use usage::Usage;
