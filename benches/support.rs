//! Shared inputs for the translation benchmarks: typical requests, responses and stream
//! events, so every provider's figures are measured on the same content.

// Benchmark inputs are constants: a failure to parse one is a bug in the benchmark, and
// aborting the run loudly is the right answer.
#![allow(clippy::expect_used)]

use bytes::Bytes;
use switchyard_providers::JsonEnvelope;

/// A typical chat request: a system prompt, a short conversation, one tool.
pub const CHAT_REQUEST: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant that answers briefly."},{"role":"user","content":"What is the weather like in Paris today?"},{"role":"assistant","content":"Let me check."},{"role":"user","content":"Please use the tool."}],"temperature":0.7,"max_tokens":256,"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}"#;

/// The typical request as an envelope, streamed or not.
pub fn chat_request(stream: bool) -> JsonEnvelope {
    let body = if stream {
        CHAT_REQUEST.replacen('{', "{\"stream\":true,", 1)
    } else {
        CHAT_REQUEST.to_owned()
    };
    JsonEnvelope::parse(Bytes::from(body)).expect("the benchmark request is valid JSON")
}

/// A typical OpenAI chat response body.
pub const OPENAI_RESPONSE: &str = r#"{"id":"chatcmpl-123","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"It is sunny in Paris today, around 21 degrees, with a light breeze from the west.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":57,"completion_tokens":19,"total_tokens":76,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_1"}"#;

/// A typical OpenAI stream event (one content delta).
pub const OPENAI_EVENT: &str = "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" sunny\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
