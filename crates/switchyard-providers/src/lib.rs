//! Provider translation for Switchyard.
//!
//! The canonical model is OpenAI's HTTP API: clients speak it, and every provider dialect
//! translates between it and the provider's own wire format. This crate is **pure**: it
//! turns bytes and settings into bytes and decisions. It never opens a socket, reads a
//! clock (time comes in as [`Call::now`]) or touches Pingora types, so every translation is
//! testable without a network. It decides *how* a body changes; the gateway decides *when*.
//!
//! The interface:
//! - [`dialect`]: the [`Dialect`] and [`ResponseTranslator`] traits and the data they work
//!   on ([`Call`], [`ProviderEndpoint`], [`UpstreamRequest`], [`Verdict`]). It names no
//!   dialect.
//! - [`registry`]: [`dialect_for`], the one table from a [`DialectKind`] to its dialect;
//!   [`kind`]: the provider kinds, their dialect and auth style.
//!
//! What requests and answers are made of:
//! - [`envelope`]: a request body parsed once into top-level fields whose values stay raw,
//!   so a passthrough rewrite copies bytes instead of re-encoding them; [`multipart`] does
//!   the same for forms.
//! - [`canonical`]: OpenAI's chat request, completion and chunks, typed, and the
//!   embeddings list, which native dialects read and write through.
//! - [`sse`]: the incremental Server-Sent Events framer; [`headers`]: the request headers
//!   dialects build alike; [`error`]: the OpenAI-shaped error every client sees; [`usage`]:
//!   token counts; [`time`]: calendar time from a given instant; [`sigv4`]: AWS request
//!   signing (also used by the mock to verify); [`text`]: the texts a guardrail sees in a
//!   body, masked texts written back, and a stream masker for values split across events.
//! - `translator` (crate-private): `Buffered<T>` for answers translated once whole and
//!   `Streamed<T>` for streams, so each dialect writes only what its answers mean.
//!
//! The dialects, one module each: [`openai`] (the passthrough shared by the OpenAI-compatible
//! family, with [`compat`] for their quirks) and [`azure`]; [`anthropic`], [`gemini`],
//! [`bedrock`] and [`cohere`], each a folder with `mod.rs` (the [`Dialect`]), `request.rs`
//! (the request body), `response.rs` (whole answers) and, where streams need their own file,
//! `stream.rs`; embeddings, errors and wire framing (`bedrock/eventstream.rs`) beside them.

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod canonical;
pub mod cohere;
pub mod compat;
pub mod dialect;
pub mod edit;
pub mod endpoint;
pub mod envelope;
pub mod error;
pub mod gemini;
pub mod headers;
pub mod inbound;
pub mod kind;
pub mod multipart;
pub mod openai;
pub mod registry;
pub mod secret;
pub mod sigv4;
pub mod sse;
pub mod text;
pub mod time;
mod translator;
pub mod usage;
pub mod validate;

pub use dialect::{
    AwsCredentials, Call, Dialect, Output, ProviderEndpoint, ProviderOptions, ResponseTranslator,
    UpstreamRequest, Verdict,
};
pub use endpoint::Endpoint;
pub use envelope::{EnvelopeError, JsonEnvelope};
pub use error::{ErrorBody, TranslateError};
pub use kind::{AuthStyle, DialectKind, ProviderKind};
pub use multipart::{Form, FormError};
pub use registry::dialect_for;
pub use secret::Secret;
pub use usage::Usage;
