//! Shared inputs for the translation benchmarks — typical requests, responses and stream
//! events, so every provider's figures are measured on the same content — and the one
//! runner ([`bench_dialect`]) every dialect's benchmark uses.

// Benchmark inputs are constants: a failure to parse one is a bug in the benchmark, and
// aborting the run loudly is the right answer.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::SystemTime;

use bytes::Bytes;
use criterion::Criterion;
use switchyard_providers::{dialect_for, Call, Endpoint, JsonEnvelope, ProviderEndpoint};

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

/// One dialect's translation benchmark: its provider, the model sent upstream, and the
/// provider-format answer and stream event carrying the same content as the OpenAI ones.
pub struct DialectBench {
    /// Criterion group (the dialect's name).
    pub group: &'static str,
    /// Name of the request benchmark, e.g. `request/chat`.
    pub request: &'static str,
    /// The provider.
    pub provider: ProviderEndpoint,
    /// The upstream model name.
    pub model: &'static str,
    /// The attempt time (dialects that sign requests read it).
    pub now: SystemTime,
    /// A complete non-streamed answer.
    pub response: Bytes,
    /// Stream bytes fed once before measuring (e.g. a stream's opening events).
    pub stream_prelude: Option<Bytes>,
    /// One streamed content event.
    pub event: Bytes,
}

/// A chat call to `model` with `body`.
pub fn call<'a>(body: &'a JsonEnvelope, stream: bool, model: &'a str, now: SystemTime) -> Call<'a> {
    Call {
        endpoint: Endpoint::ChatCompletions,
        body,
        form: None,
        model,
        stream,
        client_key: None,
        now,
    }
}

/// Measures building the typical request, translating the typical answer, and translating
/// one stream event.
pub fn bench_dialect(c: &mut Criterion, spec: &DialectBench) {
    let dialect = dialect_for(spec.provider.kind.info().dialect);
    let p = &spec.provider;
    let plain = chat_request(false);
    let streamed = chat_request(true);
    let mut g = c.benchmark_group(spec.group);
    g.bench_function(spec.request, |b| {
        b.iter(|| dialect.build_request(p, &call(&plain, false, spec.model, spec.now)))
    });
    g.bench_function("response/json", |b| {
        b.iter(|| {
            let mut t = dialect.response_translator(p, &call(&plain, false, spec.model, spec.now));
            let mut out = Vec::with_capacity(2);
            let _ = t.push(spec.response.clone(), &mut out);
            let _ = t.finish(&mut out);
            black_box((out, t.usage()))
        })
    });
    g.bench_function("stream/event", |b| {
        let mut t = dialect.response_translator(p, &call(&streamed, true, spec.model, spec.now));
        let mut out = Vec::with_capacity(2);
        if let Some(prelude) = &spec.stream_prelude {
            let _ = t.push(prelude.clone(), &mut out);
        }
        b.iter(|| {
            out.clear();
            let _ = t.push(spec.event.clone(), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}
