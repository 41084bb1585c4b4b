//! Request validation cost (`switchyard_providers::validate`), which runs on every request:
//! a typical ~2 KB chat request (system prompt, a few turns with a tool call and its result,
//! one tool), a 100-message conversation, and, for scale, parsing the same bodies into the
//! envelope the gateway already builds.

// Benchmark inputs are constants: a failure to parse or validate one is a bug in the
// benchmark, and aborting the run loudly is the right answer.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_providers::validate::{validate, Limits};
use switchyard_providers::{Endpoint, JsonEnvelope};

/// A typical chat request of about 2 KB: a system prompt, a user turn, an assistant turn that
/// called the tool, the tool's result, a follow-up; one tool with a JSON Schema; sampling
/// parameters; text with the escapes real prompts carry (`\n`, quotes).
const TYPICAL: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful travel assistant for a European rail company.\nAnswer briefly and politely, in the language the customer writes in.\nWhen the customer asks about the weather at a destination, call the get_weather tool and summarise its answer in one sentence; never invent a forecast.\nIf a question is about tickets, refunds or delays, say that the booking desk handles it and give the phone number 0800 123 456.\nDo not discuss competitors, prices of other companies, or anything unrelated to travel."},{"role":"user","content":"Hi! I'm taking the 9:40 train from Brussels to Paris tomorrow morning. Do you know what the weather will be like when I arrive, and should I bring an umbrella?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_Xk3VbQ9sL2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"date\":\"tomorrow\",\"unit\":\"celsius\"}"}}]},{"role":"tool","tool_call_id":"call_Xk3VbQ9sL2","content":"{\"city\":\"Paris\",\"forecast\":\"light rain in the morning, clearing after noon\",\"temperature_c\":14,\"wind_kmh\":12}"},{"role":"assistant","content":"Tomorrow morning Paris expects light rain clearing after noon, around 14 °C, so yes, an umbrella is a good idea."},{"role":"user","content":"Thanks. And will it be \"warm\" enough to walk along the Seine in the afternoon, or should I pack a jacket as well? I'll be there until about 6 pm."}],"temperature":0.7,"top_p":1,"max_tokens":512,"stream":true,"stream_options":{"include_usage":true},"user":"customer-4821","tool_choice":"auto","tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather and short forecast for a city","parameters":{"type":"object","properties":{"city":{"type":"string","description":"City name, e.g. Paris"},"date":{"type":"string","description":"today, tomorrow, or an ISO date"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"],"additionalProperties":false},"strict":true}}]}"#;

/// A conversation of 100 messages: a system prompt, then users and assistants taking turns.
fn long_conversation() -> String {
    let mut messages = vec![
        r#"{"role":"system","content":"You are a patient tutor. Explain step by step."}"#
            .to_owned(),
    ];
    for i in 1..100 {
        let (role, text) = if i % 2 == 1 {
            ("user", "Could you explain the next step of the proof again, more slowly? I lost track after the induction hypothesis.")
        } else {
            ("assistant", "Sure. We assume the claim holds for n and show it for n + 1:\nadd the next term to both sides and simplify.")
        };
        messages.push(format!(
            r#"{{"role":"{role}","content":{}}}"#,
            serde_json::to_string(text).expect("a string encodes")
        ));
    }
    format!(
        r#"{{"model":"gpt-4o","temperature":0.2,"messages":[{}]}}"#,
        messages.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let typical = Bytes::from_static(TYPICAL.as_bytes());
    let long = Bytes::from(long_conversation());
    let mut g = c.benchmark_group("validate");
    // 2,042 and 13,935 bytes.
    for (name, raw) in [("chat_typical_2kb", &typical), ("chat_100_messages", &long)] {
        let body = JsonEnvelope::parse(raw.clone()).expect("the benchmark body is JSON");
        validate(Endpoint::ChatCompletions, &body, &limits).expect("the benchmark body is valid");
        g.bench_function(name, |b| {
            b.iter(|| validate(Endpoint::ChatCompletions, black_box(&body), &limits))
        });
        // The parse the gateway already does, for scale.
        g.bench_function(format!("{name}/envelope_parse"), |b| {
            b.iter(|| JsonEnvelope::parse(black_box(raw.clone())))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
