//! Streams are forwarded event by event, never buffered, and a stream that breaks after it
//! started ends with an error event instead of looking complete.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use switchyard_tests::*;

fn stream_body(model: &str) -> Value {
    json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "tick"}]})
}

#[tokio::test]
async fn the_first_event_arrives_before_the_provider_has_finished() {
    // 10 chunks 200 ms apart: the provider needs about 2 s for the whole answer.
    let mock = MockServer::start_with(&["--chunks", "10", "--chunk-delay-ms", "200"]).await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let started = Instant::now();
    let r = gw.post("/v1/chat/completions", &stream_body("fast")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = r.bytes_stream();
    let mut seen = String::new();
    let mut arrivals = Vec::new();
    while let Some(chunk) = body.next().await {
        seen.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        arrivals.push((started.elapsed(), sse_data(&seen).len()));
    }
    let events = sse_data(&seen);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let total = started.elapsed();
    let (first_at, _) = arrivals.iter().find(|(_, n)| *n >= 2).copied().unwrap();
    // The first content event came while the provider was still producing the rest.
    assert!(
        first_at + Duration::from_millis(1000) < total,
        "first content at {first_at:?} of {total:?}: buffered?"
    );
    // And events kept arriving spread over the provider's time, not in one burst at the end.
    let distinct_arrivals = arrivals
        .iter()
        .map(|(_, n)| n)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(distinct_arrivals >= 5, "{arrivals:?}");
}

#[tokio::test]
async fn a_stream_broken_midway_ends_with_an_error_event() {
    let mock = MockServer::start_with(&["--chunks", "8"]).await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    mock.script(json!([{"reset_after_chunks": 3}])).await;
    let r = gw.post("/v1/chat/completions", &stream_body("fast")).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let events = sse_data(&text);
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "upstream_error", "{text}");
    assert!(
        !events.iter().any(|e| e == "[DONE]"),
        "a broken stream must not look complete"
    );
    assert!(events.len() >= 3);
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_errors_total",
            &[("code", "connection_closed")]
        ),
        1.0,
        "{m}"
    );
}

#[tokio::test]
async fn an_openai_sdk_raises_on_a_broken_stream() {
    use async_openai::types::chat::{
        ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
    };
    let mock = MockServer::start_with(&["--chunks", "8"]).await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    mock.script(json!([{"reset_after_chunks": 4}])).await;
    let req = CreateChatCompletionRequestArgs::default()
        .model("fast")
        .stream(true)
        .messages([ChatCompletionRequestUserMessageArgs::default()
            .content("x")
            .build()
            .unwrap()
            .into()])
        .build()
        .unwrap();
    let mut s = gw.openai().chat().create_stream(req).await.unwrap();
    let mut saw_error = false;
    while let Some(item) = s.next().await {
        if item.is_err() {
            saw_error = true;
            break;
        }
    }
    assert!(
        saw_error,
        "the SDK finished a broken stream without an error"
    );
}

#[tokio::test]
async fn a_plain_body_broken_midway_is_not_delivered_as_complete() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    mock.script(json!([{"reset_after_chunks": 1}])).await;
    let r = gw.post("/v1/chat/completions", &chat("fast", "x")).await;
    // Either the header had gone out (then the body must fail to arrive whole) or not.
    if r.status() == 200 {
        assert!(
            r.bytes().await.is_err(),
            "a truncated body was delivered as complete"
        );
    } else {
        assert_eq!(r.status(), 502);
    }
}

#[tokio::test]
async fn a_malformed_event_is_forwarded_and_the_stream_completes() {
    // Passthrough does not judge content after the first event: the client sees what the
    // provider sent, and the gateway does not crash or hang on it.
    let mock = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    mock.script(json!([{"malformed": true}])).await;
    let r = gw.post("/v1/chat/completions", &stream_body("fast")).await;
    let text = r.text().await.unwrap();
    assert!(text.contains("data: {oops"));
    assert!(text.trim_end().ends_with("data: [DONE]"));
}

#[tokio::test]
async fn an_idle_stream_times_out_with_an_error_event() {
    let mock = MockServer::start_with(&["--chunks", "4", "--chunk-delay-ms", "1500"]).await;
    let gw = Gateway::start(&format!(
        "providers:\n  local:\n    kind: openai\n    base_url: {}\n    timeouts: {{ idle: 400ms }}\n",
        mock.base_url()
    ))
    .await;
    let started = Instant::now();
    let text = gw
        .post("/v1/chat/completions", &stream_body("local/gpt-4o"))
        .await
        .text()
        .await
        .unwrap();
    let events = sse_data(&text);
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "idle_timeout", "{text}");
    assert!(started.elapsed() < Duration::from_millis(1400));
}

#[tokio::test]
async fn many_concurrent_streams_each_arrive_whole() {
    let mock = MockServer::start_with(&["--chunks", "20", "--chunk-delay-ms", "5"]).await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let url = gw.url("/v1/chat/completions");
            tokio::spawn(async move {
                let body = json!({"model": "fast", "stream": true, "messages": [{"role": "user", "content": format!("n{i}")}]});
                let text = http().post(url).json(&body).send().await.unwrap().text().await.unwrap();
                let events = sse_data(&text);
                let content: String = events
                    .iter()
                    .filter_map(|e| serde_json::from_str::<Value>(e).ok())
                    .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
                    .collect();
                (i, content, events.last().cloned())
            })
        })
        .collect();
    for t in tasks {
        let (i, content, last) = t.await.unwrap();
        assert!(
            content.starts_with(&format!("You said: n{i} t1")),
            "{content}"
        );
        assert!(content.ends_with(" t19"));
        assert_eq!(last.as_deref(), Some("[DONE]"));
    }
}
