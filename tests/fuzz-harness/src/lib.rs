//! The properties Switchyard's fuzz targets check, one plain function per target.
//!
//! Every parser that takes untrusted bytes — configs (the file and the per-request header),
//! JSON request bodies, multipart forms, provider answers (SSE, the AWS event stream, JSON)
//! and provider error bodies — gets a function that feeds it one input and panics when a
//! property breaks. The cargo-fuzz targets in `tests/fuzz/fuzz_targets/` are one-line calls
//! of these, and `tests/corpus.rs` replays every committed corpus file through them under a
//! plain `cargo test`, so a regression fails CI without libFuzzer.
//!
//! Inputs that are streams carry the points they are cut at ([`input::Chunked`]), so the
//! fuzzer chooses the splits as it chooses the bytes.
//!
//! Only the crates' public APIs are used: the harness sees what the gateway sees.

// A harness reports a broken property by panicking: that is what libFuzzer records.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod config;
pub mod dialects;
pub mod envelope;
pub mod eventstream;
pub mod input;
pub mod multipart;
pub mod sse;

/// A target's function: feeds one input, panics when a property breaks.
pub type Target = fn(&[u8]);

/// Every target: its name (the fuzz target's and the corpus directory's) and its function.
pub const TARGETS: &[(&str, Target)] = &[
    ("config", config::run),
    ("envelope", envelope::run),
    ("multipart", multipart::run),
    ("sse", sse::run),
    ("sse_limit", sse::limit),
    ("eventstream", eventstream::run),
    ("response", dialects::response),
    ("error_body", dialects::error_body),
    ("request", dialects::request),
];
