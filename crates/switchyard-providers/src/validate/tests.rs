use bytes::Bytes;
use proptest::prelude::*;

use super::*;

fn envelope(body: &str) -> JsonEnvelope {
    JsonEnvelope::parse(Bytes::copy_from_slice(body.as_bytes())).unwrap()
}

fn check_with(endpoint: Endpoint, body: &str, limits: &Limits) -> Result<(), Invalid> {
    validate(endpoint, &envelope(body), limits)
}

fn check(endpoint: Endpoint, body: &str) -> Result<(), Invalid> {
    check_with(endpoint, body, &Limits::default())
}

use Endpoint::{
    AudioSpeech as Speech, AudioTranscriptions as Transcribe, AudioTranslations as Translate,
    ChatCompletions as Chat, Completions, Embeddings, ImagesGenerations as Images,
};

/// A chat request with these messages.
fn msgs(messages: &str) -> String {
    format!(r#"{{"model":"gpt-4o","messages":{messages}}}"#)
}

/// A chat request with one user message and these extra top-level fields.
fn chat(extra: &str) -> String {
    format!(r#"{{"model":"gpt-4o","messages":[{{"role":"user","content":"hi"}}],{extra}}}"#)
}

/// A legacy completions request with these fields besides `model`.
fn completion(fields: &str) -> String {
    format!(r#"{{"model":"gpt-3.5-turbo-instruct",{fields}}}"#)
}

fn embedding(fields: &str) -> String {
    format!(r#"{{"model":"text-embedding-3-small",{fields}}}"#)
}

fn image(fields: &str) -> String {
    format!(r#"{{"model":"gpt-image-1",{fields}}}"#)
}

fn speech(fields: &str) -> String {
    format!(r#"{{"model":"tts-1",{fields}}}"#)
}

/// A form's text fields as the gateway presents them (every value a string).
fn form(fields: &str) -> String {
    format!(r#"{{"model":"whisper-1",{fields}}}"#)
}

fn invalid_cases() -> Vec<(Endpoint, String, &'static str, Code)> {
    use Code::*;
    let user_hi = r#"{"role":"user","content":"hi"}"#;
    let call = |call: &str| {
        msgs(&format!(
            r#"[{user_hi},{{"role":"assistant","content":null,"tool_calls":[{call}]}}]"#
        ))
    };
    let tool = |tool: &str| chat(&format!(r#""tools":[{tool}]"#));
    let function = |f: &str| tool(&format!(r#"{{"type":"function","function":{f}}}"#));
    let part = |p: &str| msgs(&format!(r#"[{{"role":"user","content":[{p}]}}]"#));
    let tool_defs = (0..129)
        .map(|i| format!(r#"{{"type":"function","function":{{"name":"f{i}"}}}}"#))
        .collect::<Vec<_>>()
        .join(",");
    let inputs = vec!["\"x\""; 2049].join(",");
    let long_speech = "a".repeat(4097);
    vec![
        // Messages and roles.
        (
            Chat,
            msgs(r#"[{"role":"alien","content":"hi"}]"#),
            "messages[0].role",
            InvalidValue,
        ),
        (
            Chat,
            r#"{"model":"gpt-4o"}"#.into(),
            "messages",
            MissingRequiredParameter,
        ),
        (
            Chat,
            r#"{"model":"gpt-4o","messages":null}"#.into(),
            "messages",
            InvalidType,
        ),
        (
            Chat,
            msgs(r#"{"role":"user","content":"hi"}"#),
            "messages",
            InvalidType,
        ),
        (Chat, msgs("[]"), "messages", EmptyArray),
        (Chat, msgs(r#"["hi"]"#), "messages[0]", InvalidType),
        (
            Chat,
            msgs(r#"[{"content":"hi"}]"#),
            "messages[0].role",
            MissingRequiredParameter,
        ),
        (
            Chat,
            msgs(r#"[{"role":1,"content":"hi"}]"#),
            "messages[0].role",
            InvalidType,
        ),
        (
            Chat,
            msgs(r#"[{"role":"user"}]"#),
            "messages[0].content",
            MissingRequiredParameter,
        ),
        (
            Chat,
            msgs(r#"[{"role":"user","content":null}]"#),
            "messages[0].content",
            InvalidType,
        ),
        (
            Chat,
            msgs(
                r#"[{"role":"system","content":"s"},{"role":"user","content":{"type":"text","text":"x"}}]"#,
            ),
            "messages[1].content",
            InvalidType,
        ),
        (
            Chat,
            msgs(r#"[{"role":"user","content":42}]"#),
            "messages[0].content",
            InvalidType,
        ),
        (
            Chat,
            msgs(r#"[{"role":"system","content":[]}]"#),
            "messages[0].content",
            EmptyArray,
        ),
        (
            Chat,
            msgs(r#"[{"role":"user","content":"x","name":5}]"#),
            "messages[0].name",
            InvalidType,
        ),
        // Content parts.
        (
            Chat,
            part(r#"{"text":"x"}"#),
            "messages[0].content[0].type",
            MissingRequiredParameter,
        ),
        (
            Chat,
            part(r#"{"type":"image","source":{}}"#),
            "messages[0].content[0].type",
            InvalidValue,
        ),
        (
            Chat,
            part(r#"{"type":"text"}"#),
            "messages[0].content[0].text",
            MissingRequiredParameter,
        ),
        (
            Chat,
            part(r#"{"type":"text","text":5}"#),
            "messages[0].content[0].text",
            InvalidType,
        ),
        (
            Chat,
            part(r#"{"type":"text","text":"x"},{"type":"image_url","image_url":{"detail":"low"}}"#),
            "messages[0].content[1].image_url.url",
            MissingRequiredParameter,
        ),
        (
            Chat,
            part(r#"{"type":"image_url","image_url":{"url":7}}"#),
            "messages[0].content[0].image_url.url",
            InvalidType,
        ),
        (
            Chat,
            part(r#"{"type":"image_url"}"#),
            "messages[0].content[0].image_url",
            MissingRequiredParameter,
        ),
        (
            Chat,
            part(r#"{"type":"input_audio","input_audio":{"data":"UklGR"}}"#),
            "messages[0].content[0].input_audio.format",
            MissingRequiredParameter,
        ),
        (
            Chat,
            part(r#"{"type":"file","file":"abc"}"#),
            "messages[0].content[0].file",
            InvalidType,
        ),
        (
            Chat,
            part(r#""just text""#),
            "messages[0].content[0]",
            InvalidType,
        ),
        (
            Chat,
            msgs(
                r#"[{"role":"system","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]"#,
            ),
            "messages[0].content[1].type",
            InvalidValue,
        ),
        (
            Chat,
            part(r#"{"type":"refusal","refusal":"no"}"#),
            "messages[0].content[0].type",
            InvalidValue,
        ),
        (
            Chat,
            msgs(
                r#"[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]"#,
            ),
            "messages[1].content[0].type",
            InvalidValue,
        ),
        (
            Chat,
            msgs(
                r#"[{"role":"developer","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]"#,
            ),
            "messages[0].content[0].type",
            InvalidValue,
        ),
        // Tool and function messages.
        (
            Chat,
            msgs(
                r#"[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"42"}]"#,
            ),
            "messages[2].tool_call_id",
            MissingRequiredParameter,
        ),
        (
            Chat,
            msgs(
                r#"[{"role":"user","content":"a"},{"role":"tool","content":"42","tool_call_id":7}]"#,
            ),
            "messages[1].tool_call_id",
            InvalidType,
        ),
        (
            Chat,
            msgs(r#"[{"role":"user","content":"a"},{"role":"function","content":"42"}]"#),
            "messages[1].name",
            MissingRequiredParameter,
        ),
        (
            Chat,
            msgs(r#"[{"role":"function","name":"f","content":[{"type":"text","text":"x"}]}]"#),
            "messages[0].content",
            InvalidType,
        ),
        (
            Chat,
            msgs(r#"[{"role":"tool","tool_call_id":"c","content":null}]"#),
            "messages[0].content",
            InvalidType,
        ),
        // Assistant tool calls.
        (
            Chat,
            msgs(r#"[{"role":"assistant","content":null,"tool_calls":{}}]"#),
            "messages[0].tool_calls",
            InvalidType,
        ),
        (
            Chat,
            call(r#"{"type":"function","function":{"name":"f","arguments":"{}"}}"#),
            "messages[1].tool_calls[0].id",
            MissingRequiredParameter,
        ),
        (
            Chat,
            call(r#"{"id":"c1","type":"function"}"#),
            "messages[1].tool_calls[0].function",
            MissingRequiredParameter,
        ),
        (
            Chat,
            call(
                r#"{"id":"c1","type":"function","function":{"name":"f","arguments":{"city":"Paris"}}}"#,
            ),
            "messages[1].tool_calls[0].function.arguments",
            InvalidType,
        ),
        (
            Chat,
            call(r#"{"id":"c1","type":"function","function":{"arguments":"{}"}}"#),
            "messages[1].tool_calls[0].function.name",
            MissingRequiredParameter,
        ),
        (
            Chat,
            call(r#"{"id":"c1","type":"retrieval","function":{"name":"f","arguments":"{}"}}"#),
            "messages[1].tool_calls[0].type",
            InvalidValue,
        ),
        (
            Chat,
            call(r#"{"id":"c1","type":"custom","custom":{"name":"f"}}"#),
            "messages[1].tool_calls[0].custom.input",
            MissingRequiredParameter,
        ),
        (
            Chat,
            msgs(r#"[{"role":"assistant","content":"a","audio":{}}]"#),
            "messages[0].audio.id",
            MissingRequiredParameter,
        ),
        // Sampling parameters.
        (
            Chat,
            chat(r#""temperature":3"#),
            "temperature",
            DecimalAboveMaxValue,
        ),
        (
            Chat,
            chat(r#""temperature":-0.1"#),
            "temperature",
            DecimalBelowMinValue,
        ),
        (
            Chat,
            chat(r#""temperature":"0.5""#),
            "temperature",
            InvalidType,
        ),
        (Chat, chat(r#""top_p":1.5"#), "top_p", DecimalAboveMaxValue),
        (Chat, chat(r#""n":0"#), "n", IntegerBelowMinValue),
        (Chat, chat(r#""n":129"#), "n", IntegerAboveMaxValue),
        (Chat, chat(r#""n":1.5"#), "n", InvalidType),
        (
            Chat,
            chat(r#""max_tokens":0"#),
            "max_tokens",
            IntegerBelowMinValue,
        ),
        (
            Chat,
            chat(r#""max_completion_tokens":-5"#),
            "max_completion_tokens",
            IntegerBelowMinValue,
        ),
        (
            Chat,
            chat(r#""max_tokens":"100""#),
            "max_tokens",
            InvalidType,
        ),
        (
            Chat,
            chat(r#""presence_penalty":2.5"#),
            "presence_penalty",
            DecimalAboveMaxValue,
        ),
        (
            Chat,
            chat(r#""frequency_penalty":-3"#),
            "frequency_penalty",
            DecimalBelowMinValue,
        ),
        (Chat, chat(r#""logprobs":"yes""#), "logprobs", InvalidType),
        (
            Chat,
            chat(r#""top_logprobs":21"#),
            "top_logprobs",
            IntegerAboveMaxValue,
        ),
        (Chat, chat(r#""seed":1.5"#), "seed", InvalidType),
        (
            Chat,
            chat(r#""stop":["a","b","c","d","e"]"#),
            "stop",
            ArrayAboveMaxLength,
        ),
        (Chat, chat(r#""stop":["a",1]"#), "stop[1]", InvalidType),
        (Chat, chat(r#""stop":7"#), "stop", InvalidType),
        (
            Chat,
            chat(r#""logit_bias":[1,2]"#),
            "logit_bias",
            InvalidType,
        ),
        (
            Chat,
            chat(r#""logit_bias":{"hello":5}"#),
            "logit_bias",
            InvalidValue,
        ),
        (
            Chat,
            chat(r#""logit_bias":{"50256":"x"}"#),
            "logit_bias",
            InvalidType,
        ),
        (Chat, chat(r#""user":42"#), "user", InvalidType),
        (Chat, chat(r#""stream":"yes""#), "stream", InvalidType),
        (
            Chat,
            chat(r#""stream":true,"stream_options":{"include_usage":"yes"}"#),
            "stream_options.include_usage",
            InvalidType,
        ),
        (
            Chat,
            chat(r#""parallel_tool_calls":"true""#),
            "parallel_tool_calls",
            InvalidType,
        ),
        (
            Chat,
            chat(r#""metadata":{"user":7}"#),
            "metadata.user",
            InvalidType,
        ),
        (
            Chat,
            chat(&format!(r#""safety_identifier":"{}""#, "u".repeat(65))),
            "safety_identifier",
            StringAboveMaxLength,
        ),
        // Tools.
        (
            Chat,
            chat(r#""tools":{"type":"function"}"#),
            "tools",
            InvalidType,
        ),
        (
            Chat,
            tool(r#"{"function":{"name":"f"}}"#),
            "tools[0].type",
            MissingRequiredParameter,
        ),
        (
            Chat,
            tool(r#"{"type":"retrieval"}"#),
            "tools[0].type",
            InvalidValue,
        ),
        (
            Chat,
            tool(r#"{"type":"function"}"#),
            "tools[0].function",
            MissingRequiredParameter,
        ),
        (
            Chat,
            function(r#"{"name":"get weather"}"#),
            "tools[0].function.name",
            InvalidValue,
        ),
        (
            Chat,
            function(&format!(r#"{{"name":"{}"}}"#, "f".repeat(65))),
            "tools[0].function.name",
            StringAboveMaxLength,
        ),
        (
            Chat,
            function(r#"{"description":"no name"}"#),
            "tools[0].function.name",
            MissingRequiredParameter,
        ),
        (
            Chat,
            function(r#"{"name":"f","parameters":"{\"type\":\"object\"}"}"#),
            "tools[0].function.parameters",
            InvalidType,
        ),
        (
            Chat,
            function(r#"{"name":"f","strict":"yes"}"#),
            "tools[0].function.strict",
            InvalidType,
        ),
        (
            Chat,
            chat(&format!(r#""tools":[{tool_defs}]"#)),
            "tools",
            ArrayAboveMaxLength,
        ),
        (
            Chat,
            tool(r#"{"type":"custom","custom":{"name":"a/b"}}"#),
            "tools[0].custom.name",
            InvalidValue,
        ),
        (
            Chat,
            chat(r#""tool_choice":"any""#),
            "tool_choice",
            InvalidValue,
        ),
        (
            Chat,
            chat(r#""tool_choice":{"type":"function"}"#),
            "tool_choice.function",
            MissingRequiredParameter,
        ),
        (
            Chat,
            chat(r#""tool_choice":{"type":"function","function":{}}"#),
            "tool_choice.function.name",
            MissingRequiredParameter,
        ),
        (
            Chat,
            chat(
                r#""tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"sometimes","tools":[]}}"#,
            ),
            "tool_choice.allowed_tools.mode",
            InvalidValue,
        ),
        (
            Chat,
            chat(r#""tool_choice":{}"#),
            "tool_choice.type",
            MissingRequiredParameter,
        ),
        (
            Chat,
            chat(r#""functions":[{"name":"a b"}]"#),
            "functions[0].name",
            InvalidValue,
        ),
        (
            Chat,
            chat(r#""function_call":"maybe""#),
            "function_call",
            InvalidValue,
        ),
        // Response format.
        (
            Chat,
            chat(r#""response_format":"json""#),
            "response_format",
            InvalidType,
        ),
        (
            Chat,
            chat(r#""response_format":{"type":"xml"}"#),
            "response_format.type",
            InvalidValue,
        ),
        (
            Chat,
            chat(r#""response_format":{"type":"json_schema"}"#),
            "response_format.json_schema",
            MissingRequiredParameter,
        ),
        (
            Chat,
            chat(r#""response_format":{"type":"json_schema","json_schema":{"schema":{}}}"#),
            "response_format.json_schema.name",
            MissingRequiredParameter,
        ),
        (
            Chat,
            chat(r#""response_format":{"json_schema":{"name":"x"}}"#),
            "response_format.type",
            MissingRequiredParameter,
        ),
        // Legacy completions.
        (
            Completions,
            completion(r#""max_tokens":5"#),
            "prompt",
            MissingRequiredParameter,
        ),
        (
            Completions,
            completion(r#""prompt":{"text":"x"}"#),
            "prompt",
            InvalidType,
        ),
        (
            Completions,
            completion(r#""prompt":["a",1]"#),
            "prompt[1]",
            InvalidType,
        ),
        (
            Completions,
            completion(r#""prompt":[[]]"#),
            "prompt[0]",
            EmptyArray,
        ),
        (
            Completions,
            completion(r#""prompt":[[1,"a"]]"#),
            "prompt[0][1]",
            InvalidType,
        ),
        (
            Completions,
            completion(r#""prompt":"x","best_of":21"#),
            "best_of",
            IntegerAboveMaxValue,
        ),
        (
            Completions,
            completion(r#""prompt":"x","logprobs":6"#),
            "logprobs",
            IntegerAboveMaxValue,
        ),
        (
            Completions,
            completion(r#""prompt":"x","max_tokens":-1"#),
            "max_tokens",
            IntegerBelowMinValue,
        ),
        (
            Completions,
            completion(r#""prompt":"x","echo":"no""#),
            "echo",
            InvalidType,
        ),
        (
            Completions,
            completion(r#""prompt":"x","temperature":2.5"#),
            "temperature",
            DecimalAboveMaxValue,
        ),
        // Embeddings.
        (
            Embeddings,
            embedding(r#""dimensions":3"#),
            "input",
            MissingRequiredParameter,
        ),
        (
            Embeddings,
            embedding(r#""input":"""#),
            "input",
            InvalidValue,
        ),
        (Embeddings, embedding(r#""input":[]"#), "input", EmptyArray),
        (
            Embeddings,
            embedding(r#""input":null"#),
            "input",
            InvalidType,
        ),
        (
            Embeddings,
            embedding(r#""input":[1.5]"#),
            "input[0]",
            InvalidType,
        ),
        (
            Embeddings,
            embedding(&format!(r#""input":[{inputs}]"#)),
            "input",
            ArrayAboveMaxLength,
        ),
        (
            Embeddings,
            embedding(r#""input":"x","encoding_format":"int8""#),
            "encoding_format",
            InvalidValue,
        ),
        (
            Embeddings,
            embedding(r#""input":"x","dimensions":0"#),
            "dimensions",
            IntegerBelowMinValue,
        ),
        // Images.
        (
            Images,
            image(r#""n":2"#),
            "prompt",
            MissingRequiredParameter,
        ),
        (Images, image(r#""prompt":null"#), "prompt", InvalidType),
        (
            Images,
            image(r#""prompt":"x","n":11"#),
            "n",
            IntegerAboveMaxValue,
        ),
        (
            Images,
            image(r#""prompt":"x","response_format":"png""#),
            "response_format",
            InvalidValue,
        ),
        (
            Images,
            image(r#""prompt":"x","partial_images":4"#),
            "partial_images",
            IntegerAboveMaxValue,
        ),
        (
            Images,
            image(r#""prompt":"x","size":1024"#),
            "size",
            InvalidType,
        ),
        // Speech.
        (
            Speech,
            speech(r#""voice":"alloy""#),
            "input",
            MissingRequiredParameter,
        ),
        (
            Speech,
            speech(r#""input":"hi""#),
            "voice",
            MissingRequiredParameter,
        ),
        (
            Speech,
            speech(r#""input":"hi","voice":"alloy","speed":5"#),
            "speed",
            DecimalAboveMaxValue,
        ),
        (
            Speech,
            speech(r#""input":"hi","voice":"alloy","speed":0.1"#),
            "speed",
            DecimalBelowMinValue,
        ),
        (
            Speech,
            speech(r#""input":"hi","voice":"alloy","response_format":"ogg""#),
            "response_format",
            InvalidValue,
        ),
        (
            Speech,
            speech(&format!(r#""input":"{long_speech}","voice":"alloy""#)),
            "input",
            StringAboveMaxLength,
        ),
        (
            Speech,
            speech(r#""input":"hi","voice":{}"#),
            "voice.id",
            MissingRequiredParameter,
        ),
        (
            Speech,
            speech(r#""input":"hi","voice":3"#),
            "voice",
            InvalidType,
        ),
        // Transcriptions and translations (form fields, as strings).
        (
            Transcribe,
            form(r#""temperature":"hot""#),
            "temperature",
            InvalidValue,
        ),
        (
            Transcribe,
            form(r#""response_format":"xml""#),
            "response_format",
            InvalidValue,
        ),
        (
            Transcribe,
            form(r#""stream":"maybe""#),
            "stream",
            InvalidValue,
        ),
        (
            Transcribe,
            form(r#""timestamp_granularities[]":"char""#),
            "timestamp_granularities[]",
            InvalidValue,
        ),
        (
            Translate,
            form(r#""response_format":"diarized_json""#),
            "response_format",
            InvalidValue,
        ),
    ]
}

#[test]
fn invalid_requests_name_the_param_and_explain() {
    let cases = invalid_cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    for (endpoint, body, param, code) in cases {
        let e = match check(endpoint, &body) {
            Ok(()) => panic!("accepted for {endpoint:?}: {body}"),
            Err(e) => e,
        };
        assert_eq!(
            (e.param.as_deref(), e.code),
            (Some(param), code),
            "{endpoint:?} {body}\n→ {}",
            e.message
        );
        // Every message names the field it is about, as OpenAI's do.
        assert!(
            e.message.contains(&format!("'{param}'")),
            "message without its param: {}",
            e.message
        );
    }
}

#[test]
fn messages_read_like_openai_errors() {
    let message = |endpoint, body: &str| check(endpoint, body).unwrap_err().message;
    assert_eq!(
        message(Chat, &msgs(r#"[{"role":"alien","content":"hi"}]"#)),
        "Invalid value for 'messages[0].role': 'alien'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'."
    );
    assert_eq!(
        message(Chat, &chat(r#""temperature":3"#)),
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead."
    );
    assert_eq!(
        message(Chat, &msgs(r#"[{"role":"user","content":{"type":"text"}}]"#)),
        "Invalid type for 'messages[0].content': expected one of a string or array of objects, but got an object instead."
    );
    assert_eq!(
        message(Chat, &msgs(r#"[{"role":"tool","content":"x"}]"#)),
        "Missing required parameter: 'messages[0].tool_call_id'."
    );
    assert_eq!(
        message(Chat, &msgs("[]")),
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."
    );
    assert_eq!(
        message(
            Chat,
            &msgs(r#"[{"role":"system","content":[{"type":"image_url","image_url":{"url":"u"}}]}]"#)
        ),
        "Invalid value for 'messages[0].content[0].type': 'image_url' parts are not allowed in system messages. Supported values are: 'text'."
    );
    // Values echoed in messages are cut short.
    let long = "x".repeat(10_000);
    let m = message(
        Chat,
        &msgs(&format!(r#"[{{"role":"{long}","content":"hi"}}]"#)),
    );
    assert!(m.len() < 300, "{m}");
}

#[test]
fn the_gateway_limits_apply() {
    let limits = Limits {
        max_messages: 2,
        max_n: 4,
        max_tokens: Some(1000),
        max_tools: 1,
        max_stop: 1,
        max_depth: 8,
    };
    let three = msgs(
        r#"[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]"#,
    );
    let two_tools = chat(
        r#""tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}]"#,
    );
    let cases = [
        (Chat, three, "messages", Code::ArrayAboveMaxLength),
        (Chat, chat(r#""n":5"#), "n", Code::IntegerAboveMaxValue),
        (
            Chat,
            chat(r#""max_tokens":1001"#),
            "max_tokens",
            Code::IntegerAboveMaxValue,
        ),
        (
            Chat,
            chat(r#""max_completion_tokens":5000"#),
            "max_completion_tokens",
            Code::IntegerAboveMaxValue,
        ),
        (
            Completions,
            completion(r#""prompt":"x","max_tokens":1001"#),
            "max_tokens",
            Code::IntegerAboveMaxValue,
        ),
        (Chat, two_tools, "tools", Code::ArrayAboveMaxLength),
        (
            Chat,
            chat(r#""stop":["a","b"]"#),
            "stop",
            Code::ArrayAboveMaxLength,
        ),
        (
            Chat,
            chat(r#""x":[[[[[[[[1]]]]]]]]"#),
            "x",
            Code::NestingTooDeep,
        ),
        (
            Images,
            image(r#""prompt":"x","n":5"#),
            "n",
            Code::IntegerAboveMaxValue,
        ),
    ];
    for (endpoint, body, param, code) in cases {
        let e = check_with(endpoint, &body, &limits).unwrap_err();
        assert_eq!(
            (e.param.as_deref(), e.code),
            (Some(param), code),
            "{body}: {}",
            e.message
        );
    }
    let e = check_with(Chat, &chat(r#""max_tokens":1001"#), &limits).unwrap_err();
    assert!(
        e.message.contains("<= 1000 (the limit this gateway sets)"),
        "{}",
        e.message
    );
    // At the limits, everything passes.
    for body in [
        chat(r#""n":4,"max_tokens":1000,"stop":["a"],"x":[[[[[[1]]]]]]"#),
        msgs(r#"[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]"#),
    ] {
        assert_eq!(check_with(Chat, &body, &limits), Ok(()), "{body}");
    }
    // Images stay at OpenAI's 10 when the gateway allows more.
    assert!(check(Images, &image(r#""prompt":"x","n":10"#)).is_ok());
}

#[test]
fn invalid_converts_to_a_translate_error() {
    let e = check(Chat, &msgs(r#"[{"role":"alien","content":"hi"}]"#)).unwrap_err();
    let message = e.message.clone();
    assert_eq!(
        TranslateError::from(e),
        TranslateError::InvalidRequest {
            message,
            param: Some("messages[0].role".into()),
        }
    );
    assert_eq!(Code::ArrayAboveMaxLength.as_str(), "array_above_max_length");
}

/// Requests real clients send, which must pass.
#[test]
fn requests_real_clients_send_pass() {
    let cases: Vec<(Endpoint, String)> = vec![
        // crates/switchyard-providers/tests/fixtures/bedrock/openai_tool_request.json: an
        // assistant turn with `content: null` and a tool call, the tool's answer, a forced
        // tool choice.
        (Chat, include_str!("../../tests/fixtures/bedrock/openai_tool_request.json").to_owned()),
        // tests/anthropic.rs: a provider's own top-level field (`system`) beside OpenAI's.
        (Chat, r#"{"model": "claude-sonnet-4-5", "max_tokens": 4096, "system": "be brief", "messages": [{"role": "user", "content": "hi"}]}"#.into()),
        (Chat, r#"{"model": "claude", "temperature": 0.2, "stop": ["END"], "user": "u-1", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}"#.into()),
        (Chat, r#"{"model": "claude", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "stream me"}]}"#.into()),
        (Chat, r#"{"model": "claude", "max_completion_tokens": 300, "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}, "strict": true}}}"#.into()),
        // tests/cohere.rs, tests/gemini.rs: images as data URLs and plain URLs, tool choice
        // strings, `parallel_tool_calls`, `logit_bias`, `n`.
        (Chat, r#"{"model": "chat", "messages": [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]}"#.into()),
        (Chat, r#"{"model": "chat", "tool_choice": "required", "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}], "messages": [{"role": "user", "content": "weather?"}]}"#.into()),
        (Chat, r#"{"model": "gem/gemini-2.0-flash", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"1": 1}, "parallel_tool_calls": false, "n": 2}"#.into()),
        // tests/routing.rs: `max_tokens` and `user` used for conditional routing.
        (Chat, chat(r#""max_tokens": 4000, "user": "vip-7""#)),
        // OpenAI's Python SDK sends `null` for every optional argument passed as `None`.
        (Chat, chat(r#""temperature":null,"top_p":null,"n":null,"stop":null,"max_tokens":null,"max_completion_tokens":null,"presence_penalty":null,"frequency_penalty":null,"logit_bias":null,"logprobs":null,"top_logprobs":null,"user":null,"seed":null,"stream":null,"stream_options":null,"tools":null,"tool_choice":null,"parallel_tool_calls":null,"response_format":null,"metadata":null,"store":null,"reasoning_effort":null,"service_tier":null,"modalities":null,"audio":null,"prediction":null,"web_search_options":null,"functions":null,"function_call":null,"safety_identifier":null,"prompt_cache_key":null,"verbosity":null"#)),
        // Messages as SDKs and frameworks write them: `name: null`, assistant tool turns with
        // `content: null` / `""` / `[]`, `refusal: null`, legacy function turns.
        (Chat, msgs(r#"[{"role":"developer","content":"rules","name":null},{"role":"user","content":"hi","name":"ann"},{"role":"assistant","content":"","refusal":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"},{"role":"assistant","content":[],"tool_calls":[{"id":"c2","function":{"name":"g","arguments":""}}]},{"role":"tool","tool_call_id":"c2","content":[{"type":"text","text":"ok"}]},{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"refusal","refusal":"no"}]},{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}},{"role":"function","name":"f","content":null},{"role":"assistant","tool_calls":[]}]"#)),
        // Every user part type; `detail`; extra keys on parts (`cache_control`).
        (Chat, msgs(r#"[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"high"}},{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},{"type":"file","file":{"file_id":"file-1"}},{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBER"}}]}]"#)),
        // Keys in any order, escaped keys, a URL as a plain string (vLLM's form), images in
        // tool results (Anthropic and Gemini take them).
        (Chat, r#"{"messages":[{"content":[{"image_url":"https://x/y.png","type":"image_url"}],"r\u006fle":"user"},{"content":null,"tool_calls":[{"function":{"arguments":"{}","name":"f"},"type":"function","id":"c"}],"role":"assistant"},{"content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}],"tool_call_id":"c","role":"tool"}],"mo\u0064el":"gpt-4o"}"#.into()),
        // Integers written as integral decimals, huge seeds, 4 stops, empty arrays.
        (Chat, chat(r#""max_tokens":256.0,"n":1.0,"seed":-9223372036854775808,"stop":["a","b","c","d"],"tools":[],"top_logprobs":0,"logprobs":true"#)),
        (Chat, chat(r#""seed":18446744073709551615,"stop":[],"stop_token_ids":[1,2]"#)),
        // Range bounds are inclusive.
        (Chat, chat(r#""temperature":2,"top_p":0,"presence_penalty":-2,"frequency_penalty":2.0,"n":128,"top_logprobs":20"#)),
        // Tools: strict schemas, custom tools, dotted names (Azure, Gemini), every tool choice.
        (Chat, chat(r#""tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false},"strict":true}},{"type":"custom","custom":{"name":"grammar-tool","format":{"type":"grammar","grammar":{"definition":"x","syntax":"lark"}}}},{"type":"function","function":{"name":"ns.search:v2"}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}}"#)),
        (Chat, chat(r#""tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"f"}}]}}"#)),
        (Chat, chat(r#""tool_choice":{"type":"custom","custom":{"name":"grammar-tool"}}"#)),
        (Chat, chat(r#""tool_choice":{"function":{"name":"f"}}"#)),
        (Chat, chat(r#""tool_choice":"none","functions":[{"name":"f","parameters":{}}],"function_call":{"name":"f"}"#)),
        (Chat, chat(r#""response_format":{"type":"json_object"}"#)),
        (Chat, chat(r#""response_format":{"type":"text"},"metadata":{"session":"s1"},"modalities":["text","audio"],"audio":{"voice":"alloy","format":"wav"},"prediction":{"type":"content","content":"x"},"reasoning_effort":"xhigh","service_tier":"fast""#)),
        // Legacy completions: every prompt form, `null`, scoring with `max_tokens: 0`.
        (Completions, completion(r#""prompt":"Say this is a test","max_tokens":7,"temperature":0,"suffix":null,"echo":false,"best_of":1,"logprobs":null"#)),
        (Completions, completion(r#""prompt":["a","b"],"n":2,"stop":"\n""#)),
        (Completions, completion(r#""prompt":[1212,318,257]"#)),
        (Completions, completion(r#""prompt":[[1212,318],[257]]"#)),
        (Completions, completion(r#""prompt":null"#)),
        (Completions, completion(r#""prompt":[]"#)),
        (Completions, completion(r#""prompt":"x","echo":true,"logprobs":5,"max_tokens":0"#)),
        // tests/gemini.rs, tests/bedrock.rs: embeddings as a string, strings, with base64.
        (Embeddings, embedding(r#""input":"alpha","encoding_format":"base64""#)),
        (Embeddings, embedding(r#""input":["a","b"],"dimensions":256,"user":null,"encoding_format":null"#)),
        (Embeddings, embedding(r#""input":[1212,318]"#)),
        (Embeddings, embedding(r#""input":[[1212,318],[257]]"#)),
        // tests/modalities.rs, tests/azure_openai.rs: images and speech.
        (Images, r#"{"model": "az/dalle-prod", "prompt": "a yard", "response_format": "b64_json"}"#.into()),
        (Images, image(r#""prompt":"a","n":2,"size":"1024x1024","quality":"high","style":null,"background":"transparent","output_format":"webp","output_compression":80,"moderation":"low","partial_images":0,"stream":false,"user":"u""#)),
        (Speech, r#"{"model": "voice", "input": "hi", "voice": "alloy", "response_format": "wav"}"#.into()),
        (Speech, speech(r#""input":"All aboard.","voice":{"id":"voice_123"},"speed":0.25,"instructions":"calm","stream_format":"sse""#)),
        (Speech, speech(&format!(r#""input":"{}","voice":"marin","speed":4"#, "é".repeat(4096)))),
        // Form fields as the gateway presents them (tests/modalities.rs, the OpenAI SDKs).
        (Transcribe, form(r#""language":"en","prompt":"names","response_format":"verbose_json","temperature":"0.2","stream":"true","timestamp_granularities[]":"word""#)),
        (Transcribe, form(r#""stream":"False","temperature":"0","response_format":"diarized_json","chunking_strategy":"auto""#)),
        (Translate, form(r#""response_format":"srt","temperature":"1""#)),
        // A body without a body.
        (Endpoint::Models, "{}".into()),
    ];
    for (endpoint, body) in cases {
        assert_eq!(check(endpoint, &body), Ok(()), "{endpoint:?}: {body}");
    }
}

#[test]
fn form_envelopes_from_multipart_pass() {
    let body = Bytes::from_static(
        b"--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
--b\r\nContent-Disposition: form-data; name=\"temperature\"\r\n\r\n0.4\r\n\
--b\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nsegment\r\n\
--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--b--\r\n",
    );
    let form = crate::Form::parse("multipart/form-data; boundary=b", body).unwrap();
    let fields = form.fields_envelope();
    assert_eq!(validate(Transcribe, &fields, &Limits::default()), Ok(()));
}

/// `depth` arrays nested in one top-level field.
fn nested(depth: usize) -> String {
    let mut s = String::with_capacity(depth * 2 + 64);
    s.push_str(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"deep":"#);
    s.push_str(&"[".repeat(depth));
    if depth == 0 {
        s.push('0');
    }
    s.push_str(&"]".repeat(depth));
    s.push('}');
    s
}

#[test]
fn depth_is_counted_from_the_body() {
    let limits = Limits::default();
    // The body is level 1, so a field may hold 63 nested arrays under the default 64.
    assert_eq!(check(Chat, &nested(63)), Ok(()));
    let e = check(Chat, &nested(64)).unwrap_err();
    assert_eq!(
        (e.code, e.param.as_deref()),
        (Code::NestingTooDeep, Some("deep"))
    );
    assert!(e.message.contains("deeper than 64 levels"), "{}", e.message);
    // Inside a known field too, and in nested objects.
    let mut deep_schema = String::from(r#"{"type":"object""#);
    for _ in 0..70 {
        deep_schema.push_str(r#","p":{"x":1"#);
    }
    deep_schema.push_str(&"}".repeat(71));
    let body = chat(&format!(
        r#""tools":[{{"type":"function","function":{{"name":"f","parameters":{deep_schema}}}}}]"#
    ));
    let e = check(Chat, &body).unwrap_err();
    assert_eq!(
        (e.code, e.param.as_deref()),
        (Code::NestingTooDeep, Some("tools[0].function.parameters"))
    );
    // A configured depth above serde_json's recursion limit is capped, never a crash.
    let lax = Limits {
        max_depth: 100_000,
        ..limits
    };
    assert_eq!(check_with(Chat, &nested(MAX_DEPTH - 1), &lax), Ok(()));
    let e = check_with(Chat, &nested(MAX_DEPTH), &lax).unwrap_err();
    assert_eq!(e.code, Code::NestingTooDeep);
}

#[test]
fn a_hundred_thousand_nested_arrays_are_refused_without_overflow() {
    for endpoint in [Chat, Completions, Embeddings, Images, Speech, Transcribe] {
        let e = check(endpoint, &nested(100_000)).unwrap_err();
        assert_eq!(e.code, Code::NestingTooDeep, "{endpoint:?}");
    }
    // Inside a content part's own key too (the first content array is a type error).
    let body = msgs(&format!(
        r#"[{{"role":"user","content":[{{"type":"text","text":"x","extra":{}1{}}}]}}]"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    ));
    let e = check(Chat, &body).unwrap_err();
    assert_eq!(
        (e.code, e.param.as_deref()),
        (Code::NestingTooDeep, Some("messages[0].content[0]"))
    );
}

/// Arbitrary JSON values, a few levels deep.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z_\\[\\]]{0,8}|system|user|assistant|tool|text|image_url|function|auto"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                "role|content|type|text|name|tool_calls|tool_call_id|function|arguments|id|image_url|url|[a-z]{1,4}",
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const TOP_KEYS: &str = "model|messages|prompt|input|tools|tool_choice|response_format|stop|n|temperature|max_tokens|logit_bias|stream|stream_options|voice|speed|functions|metadata|[a-z]{1,6}";

proptest! {
    #[test]
    fn random_json_never_panics(
        fields in proptest::collection::btree_map(TOP_KEYS, json(), 0..8),
        depth in 1usize..200,
    ) {
        let body = serde_json::to_string(&fields).unwrap();
        let env = envelope(&body);
        let limits = Limits { max_depth: depth, ..Limits::default() };
        for endpoint in Endpoint::ALL {
            if let Err(e) = validate(endpoint, &env, &limits) {
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(env) = JsonEnvelope::parse(Bytes::from(bytes)) {
            for endpoint in Endpoint::ALL {
                let _ = validate(endpoint, &env, &Limits::default());
            }
        }
    }

    #[test]
    // From 3: the messages array and a message object are levels 2 and 3.
    fn nesting_passes_exactly_up_to_the_limit(max_depth in 3usize..140, depth in 0usize..160) {
        let limits = Limits { max_depth, ..Limits::default() };
        let allowed = max_depth.min(MAX_DEPTH);
        let result = check_with(Chat, &nested(depth), &limits);
        // The body is one level, the field's arrays the rest.
        prop_assert_eq!(result.is_ok(), depth < allowed, "{:?}", result);
    }

    #[test]
    fn unknown_roles_are_refused_at_their_index(
        role in "[a-z]{1,12}".prop_filter("not a role", |r| !["system", "developer", "user", "assistant", "tool", "function"].contains(&r.as_str())),
        before in 0usize..5,
    ) {
        let mut messages = vec![r#"{"role":"user","content":"x"}"#.to_owned(); before];
        messages.push(format!(r#"{{"role":"{role}","content":"x"}}"#));
        let e = check(Chat, &msgs(&format!("[{}]", messages.join(",")))).unwrap_err();
        let param = format!("messages[{before}].role");
        prop_assert_eq!(e.param.as_deref(), Some(param.as_str()));
        prop_assert_eq!(e.code, Code::InvalidValue);
    }
}

/// The walk on bytes that did not come through the envelope (so need not be JSON): it must
/// answer, never panic or loop.
fn walk_raw(text: &str) -> Result<(), Invalid> {
    let limits = Limits::default();
    let mut cx = walk::Cx::new(&limits);
    match walk::body(&mut cx, text, |_| None, chat::Chat::default()) {
        Ok(()) => Ok(()),
        Err(walk::Stop) => Err(cx.take_error().unwrap()),
    }
}

#[test]
fn cut_bodies_are_refused_by_the_walk() {
    let body = include_str!("../../tests/fixtures/bedrock/openai_tool_request.json").trim_end();
    assert_eq!(walk_raw(body), Ok(()));
    for cut in 0..body.len() {
        if let Some(prefix) = body.get(..cut) {
            assert!(walk_raw(prefix).is_err(), "accepted a cut body: {prefix}");
        }
    }
}

proptest! {
    #[test]
    fn the_walk_never_panics_on_bytes_that_are_not_json(
        text in "\\PC{0,120}|[\\[\\]{}\":,\\\\a-z0-9 .eE+-]{0,200}",
    ) {
        let _ = walk_raw(&text);
        let _ = walk_raw(&format!("{{\"messages\":{text}"));
    }
}
