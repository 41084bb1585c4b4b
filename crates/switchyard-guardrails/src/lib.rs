//! Guardrails for Switchyard: built-in checks, PII masking, Portkey's hook configs and
//! results, and the webhook protocol — pure code. This crate never opens a socket, reads a
//! clock or a file: the gateway runs hooks as pipeline stages, makes the webhook calls and
//! stamps times; the bodies are read and rewritten by `switchyard_providers::text`.
//!
//! Pieces:
//! - [`Check`]: one check, built once from a check id and Portkey-style parameters (regexes
//!   and schemas compiled then), `Send + Sync`, run any number of times on a
//!   [`CheckInput`] to give a [`CheckResult`] (Portkey's verdict semantics: `true` = passed).
//!   [`checks::BUILT_IN`] lists the ids and their parameters.
//! - [`Hook`]: checks with one verdict and `deny`; [`HookRun`] steps through them, handing
//!   webhook calls to the gateway; [`HookResult`] is the outcome.
//! - [`pii`]: e-mail, phone, card (Luhn), IBAN (mod-97) and API-key detection, masked with
//!   stable placeholders (`[EMAIL]`, `[PHONE]`, `[CARD]`, `[IBAN]`, `[SECRET]`); it is a
//!   `switchyard_providers::text::Redactor`, so it also masks streams.
//! - [`portkey`]: hooks from Portkey configs (`before_request_hooks`, `input_guardrails`…)
//!   and `hook_results` / 246 / 446 in Portkey's shape.
//! - [`webhook`]: the body `default.webhook` POSTs and how its answer becomes a result.
//!
//! ## JSON Schema: `boon`
//!
//! `default.jsonSchema` validates with [`boon`] (drafts 4, 6, 7, 2019-09 and 2020-12; it
//! passes the JSON-Schema-Test-Suite, including `format`). Measured on the 2-core
//! machine (clean `cargo build` of a crate using it beside `serde_json` and `regex`, minus
//! the same crate without it; CPU seconds, since other builds shared the machine):
//! `jsonschema` 0.61 with default features off adds 26 crates to this workspace (among them
//! `fancy-regex`, `num-*`, `fraction`, `uuid-simd`, `referencing`) and about 3× boon's
//! compile time; `boon` 0.6 adds 6 crates, its URL/IDNA dependencies already being in
//! Pingora's tree. See `BUILD_COST` in this crate's README section of the report for the
//! figures. Schemas may not `$ref` other documents: compiling a schema reads no file and no
//! URL.

pub mod checks;
mod error;
mod hook;
mod input;
mod params;
pub mod pii;
pub mod portkey;
mod verdict;
pub mod webhook;

pub use checks::{Check, Scope, Step};
pub use error::ConfigError;
pub use hook::{Hook, HookResult, HookRun, HookType};
pub use input::{request_type, CheckInput, HookEvent};
pub use params::Operator;
pub use verdict::CheckResult;
