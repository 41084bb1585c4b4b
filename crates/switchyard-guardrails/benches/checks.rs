//! Cost of each built-in check on a typical 2 KB request text, and of the body plumbing
//! around them. Run: `cargo bench -p switchyard-guardrails --bench checks`.

// Setup failures should stop a bench run loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use switchyard_guardrails::pii::{KindSet, PiiDetector, PiiKind};
use switchyard_guardrails::{Check, CheckInput, HookEvent};
use switchyard_providers::text::{self, RequestBody, StreamMasker, DEFAULT_WINDOW};
use switchyard_providers::JsonEnvelope;

/// About 2 KB of the kind of text a user sends: prose, a few numbers, a URL, a code block
/// and a small JSON object, no PII.
fn prose() -> String {
    let para = "I am planning a trip to Lisbon in early May for a conference about distributed \
        systems. Could you suggest a three-day itinerary that balances sightseeing with time to \
        prepare my talk? I would like to visit the Alfama district, try some local food, and \
        maybe take a day trip to Sintra. My budget is around 900 euros for everything except \
        the flights, and I prefer public transport over taxis. ";
    let mut s = para.repeat(4);
    s.push_str("See https://www.visitlisboa.com/en/events for events. Version 2.4.1 of the app.\n");
    s.push_str("```python\nprint(sum(range(10)))\n```\n");
    s.push_str("{\"city\": \"Lisbon\", \"days\": 3, \"budget\": 900}\n");
    s.truncate(2048);
    s
}

/// The same text with a few values to mask.
fn with_pii() -> String {
    let mut s = prose();
    s.truncate(1900);
    s.push_str(" Mail jane.doe@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111.");
    s
}

fn check(id: &str, params: Value) -> Check {
    Check::new(id, params.as_object().unwrap()).unwrap()
}

fn benches(c: &mut Criterion) {
    let text = prose();
    let pii_text = with_pii();
    let metadata = json!({"user": "u1", "team": "research"})
        .as_object()
        .cloned()
        .unwrap();
    let input = || {
        CheckInput::from_text(HookEvent::BeforeRequest, &text)
            .with_model(Some("gpt-4o-mini"))
            .with_metadata(Some(&metadata))
    };
    let cases: Vec<(&str, Check)> = vec![
        (
            "regexMatch",
            check(
                "default.regexMatch",
                json!({"rule": "(?i)ignore (all|previous) instructions"}),
            ),
        ),
        (
            "regexReplace",
            check(
                "default.regexReplace",
                json!({"rule": "/\\b\\d{3}-\\d{2}-\\d{4}\\b/g"}),
            ),
        ),
        (
            "contains",
            check(
                "default.contains",
                json!({"words": ["bomb", "weapon", "hack", "exploit", "Sintra"], "operator": "none"}),
            ),
        ),
        (
            "contains_ignoreCase_wholeWords",
            check(
                "default.contains",
                json!({"words": ["bomb", "weapon", "hack", "exploit", "sintra"], "operator": "none", "ignoreCase": true, "wholeWords": true}),
            ),
        ),
        (
            "wordCount",
            check(
                "default.wordCount",
                json!({"minWords": 1, "maxWords": 1000}),
            ),
        ),
        (
            "sentenceCount",
            check(
                "default.sentenceCount",
                json!({"minSentences": 1, "maxSentences": 100}),
            ),
        ),
        (
            "characterCount",
            check("default.characterCount", json!({"maxCharacters": 4000})),
        ),
        (
            "jsonSchema",
            check(
                "default.jsonSchema",
                json!({"schema": {"type": "object", "required": ["city", "days"], "properties": {"days": {"type": "integer", "minimum": 1}}}}),
            ),
        ),
        (
            "jsonKeys",
            check(
                "default.jsonKeys",
                json!({"keys": ["city", "days"], "operator": "all"}),
            ),
        ),
        ("validUrls", check("default.validUrls", json!({}))),
        (
            "containsCode",
            check("default.containsCode", json!({"format": "Python"})),
        ),
        ("alluppercase", check("default.alluppercase", json!({}))),
        (
            "endsWith",
            check("default.endsWith", json!({"suffix": "thanks"})),
        ),
        ("notNull", check("default.notNull", json!({}))),
        (
            "modelWhitelist",
            check(
                "default.modelWhitelist",
                json!({"models": ["gpt-4o", "gpt-4o-mini", "o3"]}),
            ),
        ),
        (
            "requiredMetadataKeys",
            check(
                "default.requiredMetadataKeys",
                json!({"metadataKeys": ["user", "team"]}),
            ),
        ),
        ("pii_detect_clean", check("switchyard.pii", json!({}))),
    ];
    let mut group = c.benchmark_group("check_2kb");
    for (name, ch) in &cases {
        group.bench_function(*name, |b| {
            let input = input();
            b.iter(|| black_box(ch.run_local(black_box(&input))))
        });
    }
    let redact = check("switchyard.pii", json!({"redact": true}));
    group.bench_function("pii_redact_4_values", |b| {
        let input = CheckInput::from_text(HookEvent::BeforeRequest, &pii_text);
        b.iter(|| black_box(redact.run_local(black_box(&input))))
    });
    group.finish();

    // Each detector alone on the clean text: where the PII check's time goes.
    let mut group = c.benchmark_group("pii_find_2kb");
    for (name, t) in [("clean", &text), ("4_values", &pii_text)] {
        for kind in PiiKind::ALL {
            let d = PiiDetector::new(KindSet::empty().with(kind)).unwrap();
            group.bench_function(format!("{}/{name}", kind.category()), |b| {
                let mut out = Vec::new();
                b.iter(|| {
                    out.clear();
                    d.find(black_box(t), &mut out);
                    black_box(out.len())
                })
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("body_2kb");
    let body = json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are a helpful travel assistant."},
        {"role": "user", "content": pii_text},
    ]})
    .to_string();
    let env = JsonEnvelope::parse(Bytes::from(body)).unwrap();
    group.bench_function("request_texts", |b| {
        b.iter(|| black_box(text::request_texts(black_box(&env), RequestBody::Chat).unwrap()))
    });
    let detector = PiiDetector::new(KindSet::all()).unwrap();
    group.bench_function("extract_mask_rewrite_request", |b| {
        b.iter(|| {
            let found = text::request_texts(&env, RequestBody::Chat).unwrap();
            let texts: Vec<String> = found
                .texts()
                .map(|t| detector.mask(t).unwrap_or_else(|| t.to_owned()))
                .collect();
            black_box(text::rewrite_request(&env, RequestBody::Chat, &found, &texts).unwrap())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("stream");
    // 2 KB answered in 4-character deltas, as a model streams it: cost per event.
    let deltas: Vec<Vec<u8>> = pii_text
        .as_bytes()
        .chunks(4)
        .map(|d| {
            json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": {"content": String::from_utf8_lossy(d)}, "finish_reason": null}]})
            .to_string()
            .into_bytes()
        })
        .collect();
    group.bench_function("masker_per_event", |b| {
        let mut m = StreamMasker::new(detector.clone(), DEFAULT_WINDOW);
        let mut i = 0;
        b.iter(|| {
            let out = m.push(black_box(&deltas[i % deltas.len()])).unwrap();
            i += 1;
            black_box(out)
        })
    });
    group.finish();
}

criterion_group! {
    name = checks;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = benches
}
criterion_main!(checks);
