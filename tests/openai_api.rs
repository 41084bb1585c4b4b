//! The OpenAI API through the gateway, driven by a real OpenAI SDK (`async-openai`): the same
//! program gets the same answers from the gateway as from the provider directly.

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, ChatCompletionStreamOptions, CreateChatCompletionRequest,
    CreateChatCompletionRequestArgs,
};
use async_openai::types::completions::CreateCompletionRequestArgs;
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use async_openai::Client;
use futures::StreamExt;
use switchyard_tests::*;

fn direct(mock: &MockServer) -> Client<OpenAIConfig> {
    init();
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(mock.base_url())
            .with_api_key("sk-mock-key"),
    )
}

fn request(model: &str, text: &str, stream: bool, usage: bool) -> CreateChatCompletionRequest {
    let mut b = CreateChatCompletionRequestArgs::default();
    b.model(model)
        .messages([ChatCompletionRequestUserMessageArgs::default()
            .content(text)
            .build()
            .unwrap()
            .into()]);
    if stream {
        b.stream(true);
    }
    if usage {
        b.stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        });
    }
    b.build().unwrap()
}

/// Content, finish reason and usage of a streamed answer.
async fn collect_stream(
    client: &Client<OpenAIConfig>,
    req: CreateChatCompletionRequest,
) -> (String, Option<String>, Option<u32>, usize) {
    let mut stream = client.chat().create_stream(req).await.unwrap();
    let (mut text, mut finish, mut usage, mut chunks) = (String::new(), None, None, 0);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        chunks += 1;
        if let Some(u) = chunk.usage {
            usage = Some(u.total_tokens);
        }
        for c in chunk.choices {
            if let Some(t) = c.delta.content {
                text.push_str(&t);
            }
            if let Some(f) = c.finish_reason {
                finish = Some(format!("{f:?}"));
            }
        }
    }
    (text, finish, usage, chunks)
}

#[tokio::test]
async fn plain_chat_matches_the_provider_directly() {
    let mock = MockServer::start_with(&["--api-key", "sk-mock-key"]).await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let via_gateway = gw
        .openai()
        .chat()
        .create(request("fast", "hello there", false, false))
        .await
        .unwrap();
    let via_direct = direct(&mock)
        .chat()
        .create(request("gpt-4o-mini", "hello there", false, false))
        .await
        .unwrap();
    assert_eq!(
        via_gateway.choices[0].message.content,
        via_direct.choices[0].message.content
    );
    assert_eq!(
        via_gateway.choices[0].message.content.as_deref(),
        Some("You said: hello there t1 t2 t3 t4")
    );
    assert_eq!(
        via_gateway.choices[0].finish_reason,
        via_direct.choices[0].finish_reason
    );
    assert_eq!(via_gateway.model, "gpt-4o-mini");
    assert_eq!(
        via_gateway.usage.as_ref().map(|u| u.total_tokens),
        via_direct.usage.as_ref().map(|u| u.total_tokens)
    );
}

#[tokio::test]
async fn streamed_chat_matches_the_provider_directly() {
    let mock = MockServer::start_with(&["--api-key", "sk-mock-key", "--chunks", "12"]).await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let (g_text, g_finish, g_usage, g_chunks) =
        collect_stream(&gw.openai(), request("fast", "stream me", true, false)).await;
    let (d_text, d_finish, d_usage, d_chunks) = collect_stream(
        &direct(&mock),
        request("gpt-4o-mini", "stream me", true, false),
    )
    .await;
    assert_eq!(g_text, d_text);
    assert!(g_text.starts_with("You said: stream me t1"), "{g_text}");
    assert_eq!(g_finish, d_finish);
    assert_eq!(g_finish.as_deref(), Some("Stop"));
    // The client did not ask for usage, so it gets none (the gateway's own accounting chunk
    // is withheld) and exactly the provider's chunks.
    assert_eq!(g_usage, None);
    assert_eq!(d_usage, None);
    assert_eq!(g_chunks, d_chunks);
}

#[tokio::test]
async fn streamed_usage_reaches_clients_that_ask_and_metrics_always() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let (_, _, usage, _) =
        collect_stream(&gw.openai(), request("fast", "count me", true, true)).await;
    let (_, _, direct_usage, _) = collect_stream(
        &direct(&mock),
        request("gpt-4o-mini", "count me", true, true),
    )
    .await;
    assert!(usage.is_some());
    assert_eq!(usage, direct_usage);
    collect_stream(&gw.openai(), request("fast", "and me", true, false)).await;
    let m = gw.metrics().await;
    // 2 prompt words + 5 chunks each, for both requests.
    assert_eq!(
        metric(
            &m,
            "switchyard_tokens_total",
            &[("route", "fast"), ("type", "completion")]
        ),
        10.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "switchyard_tokens_total",
            &[("route", "fast"), ("type", "prompt")]
        ),
        4.0
    );
}

#[tokio::test]
async fn embeddings_models_and_completions_work_through_the_sdk() {
    let mock = MockServer::start_with(&["--api-key", "sk-mock-key"]).await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let client = gw.openai();

    let req = CreateEmbeddingRequestArgs::default()
        .model("local/text-embedding-3-small")
        .input(vec!["alpha", "beta"])
        .build()
        .unwrap();
    let got = client.embeddings().create(req.clone()).await.unwrap();
    let mut direct_req = req;
    direct_req.model = "text-embedding-3-small".into();
    let want = direct(&mock).embeddings().create(direct_req).await.unwrap();
    assert_eq!(got.data.len(), 2);
    assert_eq!(got.data[1].embedding, want.data[1].embedding);
    assert_eq!(got.usage.prompt_tokens, 2);

    let models = client.models().list().await.unwrap();
    let ids: Vec<&str> = models.data.iter().map(|m| m.id.as_str()).collect();
    assert!(ids.contains(&"fast"), "{ids:?}");
    assert!(ids.contains(&"local/gpt-4o-mini"), "{ids:?}");
    assert!(ids.contains(&"gpt-4o-mini"), "{ids:?}");
    // Every listed id can be retrieved (the SDK's `models.retrieve`), route aliases included,
    // and so can any routable `provider/model`; others are a 404.
    for id in [
        "fast",
        "local/gpt-4o-mini",
        "gpt-4o-mini",
        "local/some-other-model",
    ] {
        let m = client.models().retrieve(id).await.unwrap();
        assert_eq!(m.id, id);
    }
    let missing = client.models().retrieve("no-such-model").await;
    assert!(missing.is_err(), "{missing:?}");

    let req = CreateCompletionRequestArgs::default()
        .model("fast")
        .prompt("once upon")
        .build()
        .unwrap();
    let c = client.completions().create(req).await.unwrap();
    assert_eq!(c.choices[0].text, "You said: once upon t1 t2 t3 t4");
    let req = CreateCompletionRequestArgs::default()
        .model("fast")
        .prompt("a time")
        .stream(true)
        .build()
        .unwrap();
    let mut s = client.completions().create_stream(req).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = s.next().await {
        text.push_str(
            &chunk
                .unwrap()
                .choices
                .iter()
                .map(|c| c.text.as_str())
                .collect::<String>(),
        );
    }
    assert_eq!(text, "You said: a time t1 t2 t3 t4");
}

#[tokio::test]
async fn models_resolve_by_alias_provider_slash_model_and_catalog_name() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    for (model, upstream) in [
        ("fast", "gpt-4o-mini"),
        ("local/o3-mini", "o3-mini"),
        ("gpt-4o-mini", "gpt-4o-mini"),
    ] {
        let r = gw.post("/v1/chat/completions", &chat(model, "hi")).await;
        assert_eq!(r.status(), 200, "{model}");
        let route = r.headers()["x-switchyard-route"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["model"], upstream, "{model} went to {route}");
    }
    let seen = mock.requests().await;
    assert_eq!(seen[1]["body"]["model"], "o3-mini");
}

#[tokio::test]
async fn zero_config_headers_route_with_the_clients_own_key() {
    let mock = MockServer::start_with(&["--api-key", "sk-client-own"]).await;
    let gw = Gateway::start(
        "zero_config: { enabled: true, allow_custom_host: true, allow_private_networks: true }\n",
    )
    .await;
    for header in ["x-switchyard-provider", "x-portkey-provider"] {
        let custom = if header.starts_with("x-portkey") {
            "x-portkey-custom-host"
        } else {
            "x-switchyard-custom-host"
        };
        let r = http()
            .post(gw.url("/v1/chat/completions"))
            .header(header, "openai")
            .header(custom, mock.base_url())
            .bearer_auth("sk-client-own")
            .json(&chat("gpt-4o", "zero config"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{header}: {}", r.text().await.unwrap());
        assert_eq!(r.headers()["x-switchyard-route"], "zero_config");
    }
    let seen = mock.requests().await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["headers"]["authorization"], "Bearer sk-client-own");
    // With the gateway's default (no custom hosts), a client cannot pick the upstream.
    let locked = Gateway::start("").await;
    let r = http()
        .post(locked.url("/v1/chat/completions"))
        .header("x-switchyard-provider", "openai")
        .header("x-switchyard-custom-host", mock.base_url())
        .json(&chat("gpt-4o", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_provider_header_can_name_a_configured_provider() {
    let mock = MockServer::start_with(&["--api-key", "sk-mock-key"]).await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .header("x-portkey-provider", "local")
        .json(&chat("gpt-4.1", "named"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen = mock.requests().await;
    assert_eq!(seen[0]["headers"]["authorization"], "Bearer sk-mock-key");
    assert_eq!(seen[0]["body"]["model"], "gpt-4.1");
}
