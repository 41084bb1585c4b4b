//! Every OpenAI-compatible kind in the registry, each pointed at the mock: the same client
//! program gets plain, streamed, tool-calling and image answers from all of them (embeddings
//! from the kinds that serve only embeddings), with each kind's auth style, documented
//! endpoint list and known parameter quirks applied on the wire.

use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
};
use futures::StreamExt;
use serde_json::{json, Value};
use switchyard_providers::compat::quirks;
use switchyard_providers::{AuthStyle, DialectKind, Endpoint, ProviderKind};
use switchyard_tests::*;

fn compatible_kinds() -> Vec<ProviderKind> {
    ProviderKind::ALL
        .iter()
        .copied()
        .filter(|k| k.info().dialect == DialectKind::OpenAi)
        .collect()
}

fn config(mock: &MockServer) -> String {
    let mut yaml = String::from("providers:\n");
    for kind in compatible_kinds() {
        yaml.push_str(&format!(
            "  p-{name}:\n    kind: {name}\n    base_url: {base}\n    api_key: sk-{name}\n    models: []\n",
            name = kind.name(),
            base = mock.base_url()
        ));
    }
    yaml
}

const PNG_DATA_URL: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[tokio::test]
async fn every_registry_kind_answers_plain_streamed_tools_and_images() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock)).await;
    let client = gw.openai();
    let kinds = compatible_kinds();
    assert!(kinds.len() >= 50, "only {} compatible kinds", kinds.len());
    let mut chat_kinds = 0;
    for kind in kinds {
        let model = format!("p-{}/gpt-4o-mini", kind.name());
        if !kind.info().serves.allows(Endpoint::ChatCompletions) {
            embeddings_only(&gw, &mock, kind).await;
            continue;
        }
        chat_kinds += 1;

        let req = CreateChatCompletionRequestArgs::default()
            .model(&model)
            .messages([ChatCompletionRequestUserMessageArgs::default()
                .content("hello registry")
                .build()
                .unwrap()
                .into()])
            .build()
            .unwrap();
        let plain = client.chat().create(req.clone()).await.unwrap();
        let text = plain.choices[0].message.content.clone().unwrap();
        assert!(
            text.starts_with("You said: hello registry"),
            "{kind}: {text}"
        );
        assert_eq!(plain.model, "gpt-4o-mini");

        // The provider saw its own credentials in its own style, and the upstream model name.
        let seen = mock.requests().await;
        let last = seen.last().unwrap();
        assert_eq!(last["body"]["model"], "gpt-4o-mini", "{kind}");
        let auth = last["headers"]["authorization"].as_str();
        match kind.info().auth {
            AuthStyle::Bearer => assert_eq!(
                auth,
                Some(format!("Bearer sk-{}", kind.name()).as_str()),
                "{kind}"
            ),
            AuthStyle::None => assert_eq!(auth, None, "{kind}"),
            other => panic!("{kind}: unexpected auth style {other:?} in the compatible family"),
        }

        let mut streamed = String::new();
        let mut finish = None;
        let mut stream = client
            .chat()
            .create_stream({
                let mut r = req.clone();
                r.stream = Some(true);
                r
            })
            .await
            .unwrap();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            for c in chunk.choices {
                streamed.push_str(c.delta.content.as_deref().unwrap_or_default());
                if c.finish_reason.is_some() {
                    finish = c.finish_reason;
                }
            }
        }
        assert_eq!(streamed, text, "{kind}: stream and plain answers differ");
        assert!(finish.is_some(), "{kind}: no finish_reason in the stream");

        let tools = json!({
            "model": model,
            "messages": [{"role": "user", "content": "weather in Paris"}],
            "tools": [{"type": "function", "function": {"name": "get_weather",
                "parameters": {"type": "object", "properties": {"input": {"type": "string"}}}}}]
        });
        let r = gw.post("/v1/chat/completions", &tools).await;
        if quirks(kind).refuse.contains(&"tools") {
            // No function calling (Perplexity): refused by name, not silently dropped.
            assert_eq!(r.status(), 400, "{kind}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["param"], "tools");
        } else {
            assert_eq!(r.status(), 200, "{kind}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{kind}");
            assert_eq!(
                v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
                "get_weather"
            );
        }

        let image = json!({
            "model": model,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": PNG_DATA_URL}}
            ]}]
        });
        let r = gw.post("/v1/chat/completions", &image).await;
        assert_eq!(r.status(), 200, "{kind}");
        let v: Value = r.json().await.unwrap();
        assert!(v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("what is this"));
    }
    assert!(chat_kinds >= 45, "only {chat_kinds} chat kinds");
}

/// A kind that serves only embeddings: the embeddings answer comes back with the kind's
/// credentials on the wire, and a chat request is refused before it reaches the provider.
#[allow(clippy::unwrap_used)] // a helper of the tests, failing them like their own asserts
async fn embeddings_only(gw: &Gateway, mock: &MockServer, kind: ProviderKind) {
    assert!(
        kind.info().serves.allows(Endpoint::Embeddings),
        "{kind} serves neither chat nor embeddings"
    );
    let model = format!("p-{}/embed-model", kind.name());
    let r = gw
        .post(
            "/v1/embeddings",
            &json!({"model": model, "input": ["hello registry", "again"]}),
        )
        .await;
    assert_eq!(r.status(), 200, "{kind}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2, "{kind}");
    assert!(v["data"][0]["embedding"].as_array().is_some(), "{kind}");
    let seen = mock.requests().await;
    let last = seen.last().unwrap();
    assert_eq!(last["body"]["model"], "embed-model", "{kind}");
    assert_eq!(
        last["headers"]["authorization"],
        format!("Bearer sk-{}", kind.name()),
        "{kind}"
    );

    let before = seen.len();
    let r = gw.post("/v1/chat/completions", &chat(&model, "hi")).await;
    assert_eq!(r.status(), 400, "{kind}");
    let v: Value = r.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(kind.name()) && message.contains("chat_completions"),
        "{kind}: {message}"
    );
    assert_eq!(
        mock.requests().await.len(),
        before,
        "{kind}: chat reached the provider"
    );
}

#[tokio::test]
async fn quirks_are_mapped_on_the_wire_and_unsupported_parameters_refused() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock)).await;

    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({
                "model": "p-mistral/mistral-small-latest",
                "seed": 42,
                "max_completion_tokens": 64,
                "tool_choice": "required",
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
                "user": "end-user-1",
                "messages": [
                    {"role": "developer", "content": "Answer briefly."},
                    {"role": "user", "content": "hi"}
                ]
            }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let seen = mock.requests().await;
    let sent = &seen.last().unwrap()["body"];
    assert_eq!(sent["random_seed"], 42);
    assert!(sent.get("seed").is_none());
    assert_eq!(sent["max_tokens"], 64);
    assert!(sent.get("max_completion_tokens").is_none());
    assert_eq!(sent["tool_choice"], "any");
    assert!(sent.get("user").is_none());
    assert_eq!(sent["messages"][0]["role"], "system");

    // OpenAI itself gets the body as sent.
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "p-openai/gpt-4o", "seed": 42, "user": "u",
                    "messages": [{"role": "developer", "content": "x"}, {"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let seen = mock.requests().await;
    let sent = &seen.last().unwrap()["body"];
    assert_eq!(sent["seed"], 42);
    assert_eq!(sent["user"], "u");
    assert_eq!(sent["messages"][0]["role"], "developer");

    let before = mock.requests().await.len();
    for (model, extra, param) in [
        ("p-groq/llama-3.1-8b-instant", json!({"n": 2}), "n"),
        (
            "p-groq/llama-3.1-8b-instant",
            json!({"logprobs": true}),
            "logprobs",
        ),
        (
            "p-cerebras/llama3.1-8b",
            json!({"frequency_penalty": 0.5}),
            "frequency_penalty",
        ),
        (
            "p-ollama/llama3",
            json!({"tool_choice": "required", "tools": [{"type": "function", "function": {"name": "f"}}]}),
            "tool_choice",
        ),
    ] {
        let mut body = chat(model, "hi");
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = gw.post("/v1/chat/completions", &body).await;
        assert_eq!(r.status(), 400, "{model} {param}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["param"], param, "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(v["error"]["message"].as_str().unwrap().contains(param));
    }
    assert_eq!(
        mock.requests().await.len(),
        before,
        "refused requests never reach the provider"
    );
}

#[tokio::test]
async fn documented_endpoints_and_the_newer_kinds_quirks_hold_on_the_wire() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock)).await;

    // Voyage calls OpenAI's `dimensions` `output_dimension`.
    let r = gw
        .post(
            "/v1/embeddings",
            &json!({"model": "p-voyage/voyage-3.5", "input": "a", "dimensions": 256, "input_type": "query"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let seen = mock.requests().await;
    let sent = &seen.last().unwrap()["body"];
    assert_eq!(sent["output_dimension"], 256);
    assert!(sent.get("dimensions").is_none());
    assert_eq!(sent["input_type"], "query");

    // AI21 takes `max_tokens`; Scaleway drops what it does not support yet.
    let mut body = chat("p-ai21/jamba-mini", "hi");
    body["max_completion_tokens"] = json!(32);
    assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 200);
    let seen = mock.requests().await;
    let sent = &seen.last().unwrap()["body"];
    assert_eq!(sent["max_tokens"], 32);
    assert!(sent.get("max_completion_tokens").is_none());

    let mut body = chat("p-scaleway/llama-3.3-70b-instruct", "hi");
    body["user"] = json!("end-user-1");
    body["metadata"] = json!({"team": "a"});
    body["store"] = json!(false);
    body["modalities"] = json!(["text"]);
    assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 200);
    let seen = mock.requests().await;
    let sent = &seen.last().unwrap()["body"];
    for dropped in ["user", "metadata", "store"] {
        assert!(sent.get(dropped).is_none(), "{dropped} reached Scaleway");
    }
    assert_eq!(sent["modalities"], json!(["text"]));

    // Refused before anything is sent: an endpoint the provider's documentation does not
    // list, and audio output from a provider that cannot give it.
    let before = mock.requests().await.len();
    let r = gw
        .post(
            "/v1/embeddings",
            &json!({"model": "p-reka/reka-flash", "input": "a"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("does not serve embeddings"));
    let mut body = chat("p-scaleway/llama-3.3-70b-instruct", "hi");
    body["modalities"] = json!(["text", "audio"]);
    let r = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["param"], "modalities");
    assert_eq!(
        mock.requests().await.len(),
        before,
        "refused requests never reach the provider"
    );
}
