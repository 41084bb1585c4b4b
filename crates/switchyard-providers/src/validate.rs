//! Request validation: the shape, types and ranges of a request body, checked once before any
//! provider is called, so no malformed request reaches one.
//!
//! [`validate`] walks the body the gateway already parsed into a [`JsonEnvelope`] in one
//! streaming pass over its raw bytes — no `serde_json::Value` tree and no allocation unless the
//! request is refused or a checked string holds escapes — and answers with the first problem as
//! an [`Invalid`]: an OpenAI-style message, the exact `param` path OpenAI would name
//! (`messages[2].role`, `messages[0].content[1].type`, `tools[0].function.name`) and OpenAI's
//! error `code`. The pass reads the bytes with a small pull lexer (`walk`) rather than a serde
//! visitor: the envelope already proved them to be JSON, so all that is left is finding where
//! each value ends, and doing that with `memchr` instead of serde_json's byte-wise string
//! scanner made the pass about as cheap as the envelope parse itself (BENCHMARKS.md).
//!
//! # What is checked, and against what
//!
//! The reference is OpenAI's published OpenAPI description of its API
//! (<https://github.com/openai/openai-openapi>, `openapi.json`, schemas
//! `CreateChatCompletionRequest`, `ChatCompletionRequestMessage` and its role variants and
//! content parts, `ChatCompletionTool`, `ChatCompletionToolChoiceOption`, `StopConfiguration`,
//! `CreateCompletionRequest`, `CreateEmbeddingRequest`, `CreateImageRequest`,
//! `CreateSpeechRequest`, `CreateTranscriptionRequest`, `CreateTranslationRequest`), read at
//! commit `f85dbe223d40e1a31cba812ab2d755c7e98a92a3`. Messages follow the wording of the API's
//! own 400s ("Invalid type for 'messages[1].content': expected one of a string or array of
//! objects, but got an object instead.").
//!
//! The rule where the spec and the clients that really exist disagree is **never stricter than
//! OpenAI, and permissive where OpenAI-compatible providers behind this gateway accept more**:
//! - Unknown top-level fields pass through untouched (providers add their own); unknown keys
//!   inside messages, parts and tools pass too (`cache_control`, provider extensions).
//! - `null` is accepted for every optional field, as OpenAI's SDKs send it for `None`.
//! - Ranges are enforced only where the schema declares them (`minimum` / `maximum` /
//!   `maxItems` / `maxLength`), plus `max_tokens` ≥ 1 on chat, which the API enforces.
//!   Enumerations that OpenAI keeps extending (`reasoning_effort`, `service_tier`, image
//!   `size`/`quality`, `modalities`, voices) are checked as strings only.
//! - Integers may be written as integral decimals (`256.0`), as JSON Schema's `integer` allows.
//! - Function names may also hold `.` and `:` (Azure OpenAI and Gemini accept them; OpenAI
//!   answers its own 400 for them); an `image_url` part may carry its URL as a plain string
//!   (vLLM and other compatible servers accept it); tool results may carry the user parts
//!   (images, audio, files: Anthropic and Gemini accept them); an assistant message may have an
//!   empty content array, and `tools`, `tool_calls`, `stop` may be empty arrays.
//! - `model` is not checked here: the gateway reads it first (it answers `missing_model`).
//! - Form endpoints (transcriptions, translations) see their text fields as strings; the file
//!   part is checked by the form parser.
//!
//! Nesting deeper than [`Limits::max_depth`] is refused anywhere in the body, known field or
//! not: the walk recurses one level per container it checks (and skips unchecked ones in a
//! loop), so the limit also bounds its stack.

mod chat;
mod lexer;
mod media;
mod prompt;
mod sampling;
mod shapes;
mod tools;
mod walk;

use crate::endpoint::Endpoint;
use crate::envelope::JsonEnvelope;
use crate::error::TranslateError;

/// The deepest nesting [`validate`] ever accepts, whatever [`Limits::max_depth`] says. It bounds
/// the walk's recursion (one call per container it checks) and matches serde_json's recursion
/// limit, which the native dialects' decoders would hit next anyway.
pub const MAX_DEPTH: usize = 127;

/// Bounds on a request beyond the shape OpenAI defines; set by the gateway, per key where it
/// wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most entries in `messages` (OpenAI's own limit is 2,048).
    pub max_messages: usize,
    /// Deepest nesting of arrays and objects in the body, the body itself counting as 1
    /// (capped at [`MAX_DEPTH`]).
    pub max_depth: usize,
    /// Largest `n` (OpenAI: 128 for text, 10 for images; the smaller bound wins).
    pub max_n: u64,
    /// Largest `max_tokens` / `max_completion_tokens` a client may ask for; `None`: no cap
    /// beyond the model's.
    pub max_tokens: Option<u64>,
    /// Most entries in `tools` (and the deprecated `functions`); OpenAI's limit is 128.
    pub max_tools: usize,
    /// Most stop sequences in `stop` (OpenAI's limit is 4).
    pub max_stop: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_messages: 2048,
            max_depth: 64,
            max_n: 128,
            max_tokens: None,
            max_tools: 128,
            max_stop: 4,
        }
    }
}

/// OpenAI's machine-readable reason for a refused parameter (the error body's `code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// A value of the wrong JSON type.
    InvalidType,
    /// A value of the right type that is not allowed (unknown enum value, bad pattern).
    InvalidValue,
    /// A required field is absent.
    MissingRequiredParameter,
    /// An array that must hold something is empty.
    EmptyArray,
    /// An array longer than allowed.
    ArrayAboveMaxLength,
    /// A string longer than allowed.
    StringAboveMaxLength,
    /// An integer below its minimum.
    IntegerBelowMinValue,
    /// An integer above its maximum.
    IntegerAboveMaxValue,
    /// A number below its minimum.
    DecimalBelowMinValue,
    /// A number above its maximum.
    DecimalAboveMaxValue,
    /// Arrays and objects nested deeper than the gateway allows.
    NestingTooDeep,
}

impl Code {
    /// The code as OpenAI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidType => "invalid_type",
            Code::InvalidValue => "invalid_value",
            Code::MissingRequiredParameter => "missing_required_parameter",
            Code::EmptyArray => "empty_array",
            Code::ArrayAboveMaxLength => "array_above_max_length",
            Code::StringAboveMaxLength => "string_above_max_length",
            Code::IntegerBelowMinValue => "integer_below_min_value",
            Code::IntegerAboveMaxValue => "integer_above_max_value",
            Code::DecimalBelowMinValue => "decimal_below_min_value",
            Code::DecimalAboveMaxValue => "decimal_above_max_value",
            Code::NestingTooDeep => "nesting_too_deep",
        }
    }
}

/// Why a request is refused: the first problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// What is wrong, for a developer.
    pub message: String,
    /// The path of the field at fault, as OpenAI writes it (`messages[0].content[1].type`).
    pub param: Option<String>,
    /// OpenAI's error code.
    pub code: Code,
}

impl From<Invalid> for TranslateError {
    fn from(e: Invalid) -> Self {
        TranslateError::InvalidRequest {
            message: e.message,
            param: e.param,
        }
    }
}

/// Checks a request body for `endpoint` against OpenAI's request schema and `limits`.
///
/// `body` is the envelope the gateway parsed (for form endpoints, the form's text fields).
/// Runs in one pass over the body's bytes; returns the first problem found.
pub fn validate(endpoint: Endpoint, body: &JsonEnvelope, limits: &Limits) -> Result<(), Invalid> {
    match endpoint {
        Endpoint::ChatCompletions => run(body, limits, chat::Chat::default()),
        Endpoint::Completions => run(body, limits, prompt::Completions::default()),
        Endpoint::Embeddings => run(body, limits, prompt::Embeddings::default()),
        Endpoint::ImagesGenerations => run(body, limits, media::Images::default()),
        Endpoint::AudioSpeech => run(body, limits, media::Speech::default()),
        Endpoint::AudioTranscriptions => run(body, limits, media::Transcription::TRANSCRIPTION),
        Endpoint::AudioTranslations => run(body, limits, media::Transcription::TRANSLATION),
        // A GET without a body.
        Endpoint::Models | Endpoint::Model => Ok(()),
        // Translated to a chat request first (`inbound`), which is then validated as chat;
        // the translation refuses what its own format does not allow.
        Endpoint::Messages | Endpoint::MessagesCountTokens | Endpoint::Responses => Ok(()),
    }
}

fn run<'a, F: walk::Fields<'a>>(
    body: &'a JsonEnvelope,
    limits: &'a Limits,
    fields: F,
) -> Result<(), Invalid> {
    // The envelope was built from a UTF-8 check of these very bytes.
    let text = std::str::from_utf8(body.raw()).map_err(|e| Invalid {
        message: format!("request body is not UTF-8: {e}"),
        param: None,
        code: Code::InvalidValue,
    })?;
    let mut cx = walk::Cx::new(limits);
    let decoded_key = |k: &str| body.keys().find(|key| *key == k);
    match walk::body(&mut cx, text, decoded_key, fields) {
        Ok(()) => Ok(()),
        Err(walk::Stop) => Err(cx.take_error().unwrap_or_else(|| Invalid {
            message: "request refused".into(),
            param: None,
            code: Code::InvalidValue,
        })),
    }
}

#[cfg(test)]
mod tests;
