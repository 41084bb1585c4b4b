//! Writes the seed corpus (`tests/fuzz/corpus/<target>/seed-*`) from the crates' golden
//! fixtures and example configs, with the selector and cut bytes each target reads. Run
//! after changing an input encoding or a fixture:
//! `cargo test -p switchyard-fuzz-harness --test seeds -- --ignored`.

// Test helpers fail loudly, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use switchyard_fuzz_harness::dialects::CASES;
use switchyard_fuzz_harness::input::cut_header;
use switchyard_providers::bedrock::eventstream;
use switchyard_providers::{Endpoint, ProviderKind};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(path: &str) -> Vec<u8> {
    let p = root()
        .join("crates/switchyard-providers/tests/fixtures")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn write(target: &str, name: &str, parts: &[&[u8]]) {
    let dir = root().join("tests/fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), parts.concat()).unwrap();
}

/// The ConverseStream fixture framed as Bedrock sends it.
fn converse_stream() -> Vec<u8> {
    let events: Vec<(String, Value)> =
        serde_json::from_slice(&fixture("bedrock/converse_stream_events.json")).unwrap();
    events
        .iter()
        .flat_map(|(kind, payload)| eventstream::event(kind, payload.to_string().as_bytes()))
        .collect()
}

fn case(kind: ProviderKind, endpoint: Endpoint, stream: bool) -> u8 {
    CASES
        .iter()
        .position(|c| c.kind == kind && c.endpoint == endpoint && c.stream == stream)
        .unwrap() as u8
}

const OPENAI_CHAT: &[u8] = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
const OPENAI_STREAM: &[u8] = b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n";
const OPENAI_EMBED: &[u8] = br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}"#;
const TITAN_EMBED: &[u8] = br#"{"embedding":[0.1,-0.2,0.3],"inputTextTokenCount":2}"#;
const FORM: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--XyZ-ish\x00\xff\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nen\r\n--XyZ--\r\n";
const CHAT_REQUEST: &[u8] = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],"temperature":0.2,"max_tokens":50,"stream_options":{"include_usage":true},"response_format":{"type":"json_object"},"stop":["x"]}"#;
const TOOLS_REQUEST: &[u8] = br##"{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","$defs":{"A":{"type":"object","properties":{"x":{"$ref":"#/$defs/B"},"y":{"$ref":"#/$defs/B"}}},"B":{"type":["string","null"],"enum":["p","q"]}},"properties":{"a":{"$ref":"#/$defs/A"},"b":{"anyOf":[{"$ref":"#/$defs/A"},{"type":"null"}]}},"required":["a"]}}}],"tool_choice":"auto"}"##;
const EMBED_REQUEST: &[u8] = br#"{"model":"text-embedding-3-small","input":["a","b"],"encoding_format":"base64","dimensions":8}"#;

#[test]
#[ignore = "writes the seed corpus; run by hand"]
fn write_seeds() {
    let conf = |p: &str| std::fs::read(root().join(p)).unwrap();
    write("config", "switchyard", &[&conf("conf/switchyard.yaml")]);
    write("config", "routing", &[&conf("conf/examples/routing.yaml")]);
    write(
        "config",
        "providers",
        &[&conf("conf/examples/providers.yaml")],
    );
    write(
        "config",
        "portkey-header",
        &[br#"{"strategy": {"mode": "fallback"}, "targets": [{"provider": "a", "override_params": {"model": "x"}}, {"provider": "openai", "api_key": "sk-client"}], "retry": {"attempts": 2}}"#],
    );
    write(
        "config",
        "switchyard-header",
        &[br#"{"strategy": {"mode": "loadbalance"}, "targets": [{"route": "cheap", "weight": 2}, {"provider": "b", "model": "x", "timeouts": {"total": "5s"}}]}"#],
    );

    write("envelope", "chat", &[CHAT_REQUEST]);
    write("envelope", "embed", &[EMBED_REQUEST]);
    write(
        "envelope",
        "bedrock-tools",
        &[&fixture("bedrock/openai_tool_request.json")],
    );
    write(
        "envelope",
        "escapes",
        &[br#"{"a\"b":"\u00e9\ud83d\ude00","n":-1.5e3,"x":[null,true,{}]}"#],
    );

    write("multipart", "fixed", &[FORM]);
    let ct = b"multipart/form-data; boundary=\"XyZ\"";
    write(
        "multipart",
        "quoted-boundary",
        &[&[ct.len() as u8], ct, FORM],
    );

    for (name, path) in [
        ("anthropic-text", "anthropic/stream_text.sse"),
        ("anthropic-thinking", "anthropic/stream_thinking_utf8.sse"),
        ("cohere-tools", "cohere/stream_tools.sse"),
        ("gemini-text", "gemini/stream_text.sse"),
        ("azure-filter", "azure-openai/stream_prompt_filter.sse"),
    ] {
        write("sse", name, &[&cut_header(&[7, 0, 61, 1]), &fixture(path)]);
    }
    // One data line of 1000 bytes: repeated, a single event that outgrows the limit.
    let long_line = [&b"data: "[..], &[b'x'; 1000], b"\r"].concat();
    write(
        "sse_limit",
        "long-line",
        &[&cut_header(&[9, 100]), &long_line],
    );

    let frames = converse_stream();
    write(
        "eventstream",
        "converse",
        &[&[0], &cut_header(&[13, 1, 100]), &frames],
    );
    let mut bad = frames.clone();
    bad[30] ^= 0x20;
    write("eventstream", "fix-crcs", &[&[1], &cut_header(&[5]), &bad]);

    use Endpoint::{ChatCompletions as Chat, Completions, Embeddings};
    use ProviderKind as K;
    let cuts = cut_header(&[11, 2, 0, 40]);
    let responses: Vec<(&str, u8, Vec<u8>)> = vec![
        (
            "openai-chat",
            case(K::OpenAi, Chat, false),
            OPENAI_CHAT.to_vec(),
        ),
        (
            "openai-stream",
            case(K::OpenAi, Chat, true),
            OPENAI_STREAM.to_vec(),
        ),
        (
            "openai-embed",
            case(K::OpenAi, Embeddings, false),
            OPENAI_EMBED.to_vec(),
        ),
        (
            "openai-completions-stream",
            case(K::OpenAi, Completions, true),
            OPENAI_STREAM.to_vec(),
        ),
        (
            "anthropic-chat",
            case(K::Anthropic, Chat, false),
            fixture("anthropic/message_tool_use.json"),
        ),
        (
            "anthropic-stream",
            case(K::Anthropic, Chat, true),
            fixture("anthropic/stream_tool_use.sse"),
        ),
        (
            "anthropic-stream-error",
            case(K::Anthropic, Chat, true),
            fixture("anthropic/stream_error_overloaded.sse"),
        ),
        (
            "gemini-chat",
            case(K::Gemini, Chat, false),
            fixture("gemini/chat_function_call.json"),
        ),
        (
            "gemini-stream",
            case(K::Gemini, Chat, true),
            fixture("gemini/stream_tool.sse"),
        ),
        (
            "gemini-blocked",
            case(K::Gemini, Chat, false),
            fixture("gemini/prompt_blocked.json"),
        ),
        (
            "gemini-embed",
            case(K::Gemini, Embeddings, false),
            fixture("gemini/embed_batch.json"),
        ),
        (
            "vertex-embed",
            case(K::VertexAi, Embeddings, false),
            fixture("gemini/vertex_predict.json"),
        ),
        (
            "bedrock-chat",
            case(K::Bedrock, Chat, false),
            fixture("bedrock/converse_tool_use_response.json"),
        ),
        (
            "bedrock-stream",
            case(K::Bedrock, Chat, true),
            converse_stream(),
        ),
        (
            "bedrock-embed",
            case(K::Bedrock, Embeddings, false),
            TITAN_EMBED.to_vec(),
        ),
        (
            "azure-stream",
            case(K::AzureOpenAi, Chat, true),
            fixture("azure-openai/stream_prompt_filter.sse"),
        ),
        (
            "cohere-chat",
            case(K::Cohere, Chat, false),
            fixture("cohere/chat_tools.json"),
        ),
        (
            "cohere-stream",
            case(K::Cohere, Chat, true),
            fixture("cohere/stream_text.sse"),
        ),
        (
            "cohere-embed",
            case(K::Cohere, Embeddings, false),
            fixture("cohere/embed.json"),
        ),
    ];
    for (name, case, body) in responses {
        // Flags 3: the client asked for usage and base64; the provider adds stream usage.
        let flags = if name == "bedrock-stream" { 7 } else { 3 };
        write("response", name, &[&[case, flags], &cuts, &body]);
    }

    // Status 429 (100 + 329), then the dialect's index in `dialects::DIALECTS`.
    let s429 = 329u16.to_be_bytes();
    let s404 = 304u16.to_be_bytes();
    write("error_body", "openai", &[&s429, &[0], br#"{"error":{"message":"Rate limit","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#]);
    write(
        "error_body",
        "anthropic",
        &[&s404, &[1], &fixture("anthropic/error_not_found.json")],
    );
    write(
        "error_body",
        "gemini",
        &[&s429, &[2], &fixture("gemini/error_429.json")],
    );
    write(
        "error_body",
        "bedrock",
        &[
            &s429,
            &[4],
            br#"{"message":"Too many requests, please wait before trying again."}"#,
        ],
    );
    write(
        "error_body",
        "azure",
        &[
            &s404,
            &[5],
            &fixture("azure-openai/error_deployment_not_found.json"),
        ],
    );
    write("error_body", "cohere", &[&s429, &[6], br#"{"message":"You are using a Trial key, which is limited to 10 API calls / minute."}"#]);

    let kind = |k: K| ProviderKind::ALL.iter().position(|x| *x == k).unwrap() as u8;
    // Selector: endpoint index in `Endpoint::ALL` (0 chat, 1 completions, 2 embeddings),
    // bit 3 stream, bit 4 client key, bit 5 provider stream usage.
    write(
        "request",
        "openai-chat-stream",
        &[&[kind(K::OpenAi), 8 | 32], CHAT_REQUEST],
    );
    write(
        "request",
        "mistral-chat",
        &[&[kind(K::Mistral), 0], CHAT_REQUEST],
    );
    write(
        "request",
        "anthropic-tools",
        &[
            &[kind(K::Anthropic), 8],
            &fixture("bedrock/openai_tool_request.json"),
        ],
    );
    write(
        "request",
        "gemini-chat",
        &[&[kind(K::Gemini), 8 | 16], CHAT_REQUEST],
    );
    write(
        "request",
        "gemini-tools-refs",
        &[&[kind(K::Gemini), 0], TOOLS_REQUEST],
    );
    write(
        "request",
        "bedrock-tools",
        &[
            &[kind(K::Bedrock), 8],
            &fixture("bedrock/openai_tool_request.json"),
        ],
    );
    write(
        "request",
        "azure-embed",
        &[&[kind(K::AzureOpenAi), 2], EMBED_REQUEST],
    );
    write(
        "request",
        "cohere-embed",
        &[&[kind(K::Cohere), 2], EMBED_REQUEST],
    );
    write(
        "request",
        "vertex-embed",
        &[&[kind(K::VertexAi), 2], EMBED_REQUEST],
    );
    write(
        "request",
        "openai-transcription",
        &[
            &[kind(K::OpenAi), 6],
            br#"{"model":"whisper-1","language":"en","temperature":0}"#,
        ],
    );
}
