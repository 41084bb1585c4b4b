//! Translation cost for the inbound APIs: a typical Messages request and a typical Responses
//! request turned into a chat request, one canonical chat stream event (a text delta) turned
//! into a Messages and a Responses event, and a complete chat answer into each API's body.
//! The content is the shared benchmark content (`CHAT_REQUEST`, `OPENAI_RESPONSE`,
//! `OPENAI_EVENT`), so the figures compare with the dialects'.

#![allow(clippy::expect_used)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::{OPENAI_EVENT, OPENAI_RESPONSE};
use switchyard_providers::inbound::{to_chat, InboundApi, InboundTranslator};
use switchyard_providers::{JsonEnvelope, ResponseTranslator};

/// The typical chat request's content as a Messages request.
const MESSAGES_REQUEST: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":256,"system":"You are a helpful assistant that answers briefly.","messages":[{"role":"user","content":"What is the weather like in Paris today?"},{"role":"assistant","content":"Let me check."},{"role":"user","content":"Please use the tool."}],"temperature":0.7,"tools":[{"name":"get_weather","description":"Current weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}"#;

/// The typical chat request's content as a Responses request.
const RESPONSES_REQUEST: &str = r#"{"model":"gpt-4o-mini","instructions":"You are a helpful assistant that answers briefly.","input":[{"role":"user","content":"What is the weather like in Paris today?"},{"role":"assistant","content":"Let me check."},{"role":"user","content":"Please use the tool."}],"temperature":0.7,"max_output_tokens":256,"store":false,"tools":[{"type":"function","name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":false}]}"#;

/// The chat stream's first chunk, fed once before measuring single events.
const PRELUDE: &str = "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"It is\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

fn envelope(s: &str, stream: bool) -> JsonEnvelope {
    let body = if stream {
        s.replacen('{', "{\"stream\":true,", 1)
    } else {
        s.to_owned()
    };
    JsonEnvelope::parse(Bytes::from(body)).expect("benchmark request is valid JSON")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("inbound");
    for (api, name, request) in [
        (InboundApi::Messages, "messages", MESSAGES_REQUEST),
        (InboundApi::Responses, "responses", RESPONSES_REQUEST),
    ] {
        let plain = envelope(request, false);
        let streamed = envelope(request, true);
        g.bench_function(format!("request/{name}_to_chat"), |b| {
            b.iter(|| to_chat(api, black_box(&plain)).expect("translates"))
        });
        g.bench_function(format!("response/chat_to_{name}"), |b| {
            let body = Bytes::from_static(OPENAI_RESPONSE.as_bytes());
            b.iter(|| {
                let mut t = InboundTranslator::new(api, &plain, false)
                    .expect("translator")
                    .expect("not chat");
                let mut out = Vec::with_capacity(1);
                let _ = t.push(body.clone(), &mut out);
                let _ = t.finish(&mut out);
                black_box(out)
            })
        });
        g.bench_function(format!("stream/event_chat_to_{name}"), |b| {
            let mut t = InboundTranslator::new(api, &streamed, true)
                .expect("translator")
                .expect("not chat");
            let mut out = Vec::with_capacity(4);
            let _ = t.push(Bytes::from_static(PRELUDE.as_bytes()), &mut out);
            let event = Bytes::from_static(OPENAI_EVENT.as_bytes());
            b.iter(|| {
                out.clear();
                let _ = t.push(event.clone(), &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
