//! Every dialect on untrusted bytes: provider answers through its response translators,
//! provider error bodies through `error_body`, and client bodies through `build_request`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::de::IgnoredAny;
use serde_json::Value;
use switchyard_providers::sse::SseFramer;
use switchyard_providers::{
    dialect_for, AwsCredentials, Call, DialectKind, Endpoint, Form, JsonEnvelope, ProviderEndpoint,
    ProviderKind, ProviderOptions, Secret, Usage, Verdict,
};

use crate::eventstream::fix_checksums;
use crate::input::{byte, Chunked};
use crate::multipart::FIXED_CT;

/// One kind of provider answer: who answers, to which endpoint, streamed or not.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// The provider kind (its dialect answers).
    pub kind: ProviderKind,
    /// The endpoint called.
    pub endpoint: Endpoint,
    /// Whether the client asked for a stream.
    pub stream: bool,
}

const fn case(kind: ProviderKind, endpoint: Endpoint, stream: bool) -> Case {
    Case {
        kind,
        endpoint,
        stream,
    }
}

/// Every dialect (Vertex AI beside Gemini for its own embeddings answer) and every endpoint
/// it serves among chat (plain and streamed), embeddings and completions.
pub const CASES: &[Case] = {
    use Endpoint::{ChatCompletions as Chat, Completions, Embeddings};
    use ProviderKind as K;
    &[
        case(K::OpenAi, Chat, false),
        case(K::OpenAi, Chat, true),
        case(K::OpenAi, Embeddings, false),
        case(K::OpenAi, Completions, false),
        case(K::OpenAi, Completions, true),
        case(K::Anthropic, Chat, false),
        case(K::Anthropic, Chat, true),
        case(K::Gemini, Chat, false),
        case(K::Gemini, Chat, true),
        case(K::Gemini, Embeddings, false),
        case(K::VertexAi, Embeddings, false),
        case(K::Bedrock, Chat, false),
        case(K::Bedrock, Chat, true),
        case(K::Bedrock, Embeddings, false),
        case(K::AzureOpenAi, Chat, false),
        case(K::AzureOpenAi, Chat, true),
        case(K::AzureOpenAi, Embeddings, false),
        case(K::AzureOpenAi, Completions, false),
        case(K::AzureOpenAi, Completions, true),
        case(K::Cohere, Chat, false),
        case(K::Cohere, Chat, true),
        case(K::Cohere, Embeddings, false),
    ]
};

/// A configured provider of `kind` with every option set, as config validation leaves it.
pub fn provider(kind: ProviderKind, stream_usage: bool) -> ProviderEndpoint {
    let api_version = match kind.info().dialect {
        DialectKind::Anthropic => Some("2023-06-01".to_owned()),
        DialectKind::AzureOpenAi => Some("2024-10-21".to_owned()),
        _ => None,
    };
    ProviderEndpoint {
        name: "fuzz".to_owned(),
        kind,
        authority: "127.0.0.1:9".to_owned(),
        base_path: "/v1".to_owned(),
        api_key: Secret::new("sk-fuzz"),
        headers: Vec::new(),
        stream_usage,
        auth: kind.info().auth,
        options: ProviderOptions {
            api_version,
            region: Some("us-east-1".to_owned()),
            project: Some("fuzz-project".to_owned()),
            location: Some("us-central1".to_owned()),
            aws: Some(AwsCredentials {
                access_key_id: Secret::new("AKIDEXAMPLE"),
                secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                session_token: None,
            }),
            default_max_tokens: Some(64),
        },
    }
}

/// The time every call is made at.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// The client's request behind a fuzzed answer: plain, or asking for stream usage and
/// base64 embeddings (which change what translators write).
fn client_body(options: bool) -> JsonEnvelope {
    let body: &'static [u8] = if options {
        br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"input":"hi","prompt":"hi","stream_options":{"include_usage":true},"encoding_format":"base64"}"#
    } else {
        br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"input":"hi","prompt":"hi"}"#
    };
    JsonEnvelope::parse(Bytes::from_static(body)).expect("a valid request")
}

/// What a translator made of an answer.
#[derive(Debug, PartialEq)]
struct Translated {
    /// The first error from `push` or `finish`.
    error: Option<String>,
    verdict: Verdict,
    usage: Option<Usage>,
    /// The output, concatenated.
    out: Vec<u8>,
}

fn translate(case: Case, flags: u8, chunks: &[&[u8]]) -> Translated {
    let p = provider(case.kind, flags & 2 != 0);
    let body = client_body(flags & 1 != 0);
    let call = Call {
        endpoint: case.endpoint,
        body: &body,
        form: None,
        model: "m",
        stream: case.stream,
        client_key: None,
        now: now(),
    };
    let mut t = dialect_for(case.kind.info().dialect).response_translator(&p, &call);
    let mut out = Vec::new();
    let mut error = None;
    for chunk in chunks {
        if let Err(e) = t.push(Bytes::copy_from_slice(chunk), &mut out) {
            error = Some(e.to_string());
            break;
        }
    }
    if error.is_none() {
        if let Err(e) = t.finish(&mut out) {
            error = Some(e.to_string());
        }
    }
    let out: Vec<u8> = out.concat();
    let verdict = t.verdict();
    if let Verdict::Failed { error, .. } = &verdict {
        assert_json(&error.to_json(), "a failed verdict's error");
    }
    // Answers the dialect writes itself; the OpenAI family forwards the provider's events
    // (filtered, but not rewritten), JSON or not.
    let rewrites = !matches!(
        case.kind.info().dialect,
        DialectKind::OpenAi | DialectKind::AzureOpenAi
    );
    if error.is_none() && verdict == Verdict::Healthy && rewrites {
        match t.content_type() {
            "text/event-stream" => assert_events_are_json(&out),
            ct if ct.starts_with("application/json") => assert_json(&out, "a translated answer"),
            _ => {}
        }
    }
    Translated {
        error,
        verdict,
        usage: t.usage(),
        out,
    }
}

/// JSON by the grammar (`IgnoredAny`: numbers beyond `f64`, which a passthrough keeps as
/// the client wrote them, are still JSON).
fn assert_json(bytes: &[u8], what: &str) {
    if let Err(e) = serde_json::from_slice::<IgnoredAny>(bytes) {
        panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn assert_events_are_json(stream: &[u8]) {
    let mut f = SseFramer::new();
    f.push(stream).expect("small");
    while let Some(e) = f.next_event().expect("small") {
        if !e.is_done() {
            assert_json(&e.data, "a translated event");
        }
    }
    assert!(
        f.finish().expect("small").is_none(),
        "an unterminated event"
    );
}

/// Input: a case byte (into [`CASES`]), a flags byte (bit 0: the client asked for stream
/// usage and base64 embeddings; bit 1: the provider adds stream usage; bit 2: fix AWS
/// event-stream checksums first), then a [`Chunked`] answer body. Nothing may panic; a
/// healthy answer a dialect writes itself (all but the OpenAI family's) is JSON (or SSE
/// events of JSON); and what the translator makes
/// of the answer does not depend on where it is cut.
pub fn response(data: &[u8]) {
    let mut rest = data;
    let case = CASES[usize::from(byte(&mut rest)) % CASES.len()];
    let flags = byte(&mut rest);
    let input = Chunked::read(rest);
    let mut stream = input.stream.to_vec();
    if flags & 4 != 0 {
        fix_checksums(&mut stream);
    }
    let whole = translate(case, flags, &[&stream]);
    let split = translate(case, flags, &input.cut(&stream));
    if case.kind == ProviderKind::Bedrock {
        // Bedrock names each answer with a sequence number: compare all but the bytes.
        assert_eq!(
            (&whole.error, &whole.verdict, &whole.usage),
            (&split.error, &split.verdict, &split.usage),
            "{case:?}: the answer depends on the cuts"
        );
    } else {
        assert_eq!(whole, split, "{case:?}: the answer depends on the cuts");
    }
}

/// The dialects, in a fixed order for selector bytes.
const DIALECTS: [ProviderKind; 7] = [
    ProviderKind::OpenAi,
    ProviderKind::Anthropic,
    ProviderKind::Gemini,
    ProviderKind::VertexAi,
    ProviderKind::Bedrock,
    ProviderKind::AzureOpenAi,
    ProviderKind::Cohere,
];

/// Input: two bytes of status (mapped into 100..=999, as `http::StatusCode` allows), a
/// dialect byte, then the provider's error body. The client's error is OpenAI-shaped JSON.
pub fn error_body(data: &[u8]) {
    let mut rest = data;
    let status = 100 + u16::from_be_bytes([byte(&mut rest), byte(&mut rest)]) % 900;
    let kind = DIALECTS[usize::from(byte(&mut rest)) % DIALECTS.len()];
    let p = provider(kind, false);
    let e = dialect_for(kind.info().dialect).error_body(&p, status, rest);
    let json: Value = serde_json::from_slice(&e.to_json()).expect("an error body is JSON");
    assert!(
        json["error"]["message"].is_string(),
        "no error message: {json}"
    );
}

/// Input: a provider-kind byte (into `ProviderKind::ALL`), a byte choosing the endpoint
/// (low 3 bits), a stream (bit 3), a client key (bit 4) and provider stream usage (bit 5),
/// then the client's JSON body. A request is built or refused with an error; a built one
/// has a valid path, and a JSON body when it says so.
pub fn request(data: &[u8]) {
    let mut rest = data;
    let kind = ProviderKind::ALL[usize::from(byte(&mut rest)) % ProviderKind::ALL.len()];
    let sel = byte(&mut rest);
    let endpoint = Endpoint::ALL[usize::from(sel & 7)];
    let Ok(body) = JsonEnvelope::parse(Bytes::copy_from_slice(rest)) else {
        return;
    };
    let model = match body.get_str("model") {
        Ok(Some(m)) => m,
        _ => "fuzz-model".to_owned(),
    };
    let form = Form::parse(
        FIXED_CT,
        Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--XyZ--\r\n",
        ),
    )
    .expect("a valid form");
    let multipart = matches!(
        endpoint,
        Endpoint::AudioTranscriptions | Endpoint::AudioTranslations
    );
    let p = provider(kind, sel & 32 != 0);
    let call = Call {
        endpoint,
        body: &body,
        form: multipart.then_some(&form),
        model: &model,
        stream: sel & 8 != 0,
        client_key: (sel & 16 != 0).then_some("sk-client"),
        now: now(),
    };
    let Ok(req) = dialect_for(kind.info().dialect).build_request(&p, &call) else {
        return;
    };
    assert!(
        req.path.parse::<http::uri::PathAndQuery>().is_ok() && req.path.starts_with('/'),
        "{kind:?} {endpoint:?}: not a valid path: {:?}",
        req.path
    );
    let json = req
        .headers
        .iter()
        .any(|(n, v)| n == http::header::CONTENT_TYPE && v == "application/json");
    if json {
        assert_json(&req.body, "a request body");
    }
}
