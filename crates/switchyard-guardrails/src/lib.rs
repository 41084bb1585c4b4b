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
//! `default.jsonSchema` validates with [`boon`] 0.6 rather than `jsonschema` 0.61 (default
//! features off). Both pass the JSON-Schema-Test-Suite (bowtie reports full compliance for
//! drafts 4 to 2020-12), so build cost decided. Measured on the 2-core machine while other
//! builds shared it, as CPU time (user + sys) of a clean `cargo build` of a scratch crate
//! using `serde_json` and `regex` plus the candidate: baseline 54 s, with `jsonschema` 298 s
//! (+244 s), with `boon` 125 s (+71 s). In this workspace most of boon's cost is already paid:
//! its `url` / `idna` / ICU dependencies are built for Pingora, leaving 6 new crates, whose
//! compile time was about 1/20 of the 26 crates `jsonschema` would add (`fancy-regex`,
//! `num-*`, `fraction`, `referencing`, `strum_macros`, `uuid-simd`…). Schemas default to
//! draft 2020-12 (as Portkey's validator), assert `format` (as Portkey's does), and may not
//! `$ref` other documents: compiling a schema reads no file and no URL.

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
