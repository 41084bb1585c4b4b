//! OpenAI chat request → Anthropic Messages body.
//!
//! - `system`/`developer` messages are hoisted into the top-level `system` (text only).
//! - Turns alternate as the API requires: consecutive messages of one role are merged, and
//!   `tool` results become `tool_result` blocks of a user turn (consecutive results, and a
//!   user message right after them, share that turn, results first).
//! - Assistant `tool_calls` become `tool_use` blocks whose `input` is the parsed arguments.
//! - Images: `data:` URLs become `base64` sources, `http(s)` URLs `url` sources (Anthropic
//!   fetches them). PDF `file_data` becomes a `document` block.
//! - Parameters Anthropic has no equivalent for are refused with a 400 naming them.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::DEFAULT_MAX_TOKENS;
use crate::canonical::{
    invalid, unsupported, ChatRequest, Content, ContentPart, ImageSource, Message, ResponseFormat,
    ToolCall, ToolChoice,
};
use crate::dialect::{Call, ProviderEndpoint};
use crate::error::TranslateError;

/// Anthropic-only parameters a client may send through the OpenAI API.
const PASSED_THROUGH: &[&str] = &["top_k"];

/// The Messages body for a chat completions call.
pub(super) fn messages_body(
    provider: &ProviderEndpoint,
    call: &Call<'_>,
) -> Result<Bytes, TranslateError> {
    let req = ChatRequest::from_envelope(call.body)?;
    let name = provider.name.as_str();
    req.reject_extra(name, PASSED_THROUGH)?;
    refuse_unsupported(&req, name)?;

    let mut body = Map::new();
    body.insert("model".into(), Value::String(call.model.to_owned()));
    let max_tokens = req
        .max_output_tokens()
        .or(provider.options.default_max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    body.insert("max_tokens".into(), json!(max_tokens));
    let (system, messages) = conversation(&req.messages, name)?;
    match system.len() {
        0 => {}
        1 => {
            if let Some(Value::Object(mut block)) = system.into_iter().next() {
                body.insert("system".into(), block.remove("text").unwrap_or_default());
            }
        }
        _ => {
            body.insert("system".into(), Value::Array(system));
        }
    }
    body.insert("messages".into(), Value::Array(messages));
    if call.stream {
        body.insert("stream".into(), Value::Bool(true));
    }
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(req.stop));
    }
    if let Some(t) = req.temperature {
        if !(0.0..=1.0).contains(&t) {
            return Err(invalid(
                format!("`temperature` must be between 0 and 1 for provider {name} (got {t})"),
                "temperature",
            ));
        }
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(k) = req.extra.get("top_k") {
        if !k.is_u64() {
            return Err(invalid("`top_k` must be a non-negative integer", "top_k"));
        }
        body.insert("top_k".into(), k.clone());
    }
    if let Some(user) = &req.user {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    tools(&req, name, &mut body)?;
    if let Some(ResponseFormat::JsonSchema { json_schema }) = &req.response_format {
        let Some(schema) = &json_schema.schema else {
            return Err(invalid(
                "`response_format.json_schema.schema` is required",
                "response_format",
            ));
        };
        body.insert(
            "output_config".into(),
            json!({ "format": { "type": "json_schema", "schema": schema } }),
        );
    }
    serde_json::to_vec(&Value::Object(body))
        .map(Bytes::from)
        .map_err(|e| TranslateError::InvalidRequest {
            message: e.to_string(),
            param: None,
        })
}

fn refuse_unsupported(req: &ChatRequest, name: &str) -> Result<(), TranslateError> {
    if req.n.is_some_and(|n| n != 1) {
        return Err(invalid(
            format!("`n` other than 1 is not supported by provider {name}"),
            "n",
        ));
    }
    if req.seed.is_some() {
        return Err(unsupported(name, "seed"));
    }
    if req.presence_penalty.is_some() {
        return Err(unsupported(name, "presence_penalty"));
    }
    if req.frequency_penalty.is_some() {
        return Err(unsupported(name, "frequency_penalty"));
    }
    if req.reasoning_effort.is_some() {
        return Err(unsupported(name, "reasoning_effort"));
    }
    if matches!(req.response_format, Some(ResponseFormat::JsonObject)) {
        return Err(invalid(
            format!(
                "`response_format` `json_object` is not supported by provider {name}: use `json_schema`"
            ),
            "response_format",
        ));
    }
    Ok(())
}

/// Turns of the conversation, merged so roles alternate.
#[derive(Default)]
struct Turns {
    list: Vec<Value>,
    last_role: Option<&'static str>,
    last: Vec<Value>,
}

impl Turns {
    fn push(&mut self, role: &'static str, blocks: Vec<Value>) {
        if blocks.is_empty() {
            return;
        }
        if self.last_role != Some(role) {
            self.flush();
            self.last_role = Some(role);
        }
        self.last.extend(blocks);
    }

    fn flush(&mut self) {
        if let Some(role) = self.last_role.take() {
            let content = std::mem::take(&mut self.last);
            self.list.push(json!({ "role": role, "content": content }));
        }
    }

    fn finish(mut self) -> Vec<Value> {
        self.flush();
        self.list
    }
}

/// The `system` text blocks and the `messages` turns.
fn conversation(
    messages: &[Message],
    name: &str,
) -> Result<(Vec<Value>, Vec<Value>), TranslateError> {
    let mut system = Vec::new();
    let mut turns = Turns::default();
    for (i, m) in messages.iter().enumerate() {
        match m {
            Message::System { content, name: n } | Message::Developer { content, name: n } => {
                refuse_name(n, i, name)?;
                for part in content.parts() {
                    match part {
                        ContentPart::Text { text } if text.is_empty() => {}
                        ContentPart::Text { text } => {
                            system.push(json!({ "type": "text", "text": text }))
                        }
                        _ => {
                            return Err(invalid(
                                format!("messages[{i}]: system messages may only hold text for provider {name}"),
                                "messages",
                            ))
                        }
                    }
                }
            }
            Message::User { content, name: n } => {
                refuse_name(n, i, name)?;
                let blocks = user_blocks(content, i, name)?;
                if blocks.is_empty() {
                    return Err(invalid(
                        format!("messages[{i}]: user message content must not be empty"),
                        "messages",
                    ));
                }
                turns.push("user", blocks);
            }
            Message::Assistant {
                content,
                tool_calls,
                refusal,
                name: n,
            } => {
                refuse_name(n, i, name)?;
                let mut blocks = Vec::new();
                if let Some(c) = content {
                    for part in c.parts() {
                        match part {
                            ContentPart::Text { text } | ContentPart::Refusal { refusal: text } => {
                                push_text(&mut blocks, text)
                            }
                            _ => {
                                return Err(invalid(
                                    format!("messages[{i}]: assistant messages may only hold text for provider {name}"),
                                    "messages",
                                ))
                            }
                        }
                    }
                }
                if let Some(r) = refusal {
                    push_text(&mut blocks, r.clone());
                }
                for (j, call) in tool_calls.iter().enumerate() {
                    blocks.push(tool_use(call, i, j)?);
                }
                turns.push("assistant", blocks);
            }
            Message::Tool {
                content,
                tool_call_id,
            } => {
                let mut result = Map::new();
                result.insert("type".into(), json!("tool_result"));
                result.insert("tool_use_id".into(), json!(tool_call_id));
                match content {
                    Content::Text(t) if t.is_empty() => {}
                    Content::Text(t) => {
                        result.insert("content".into(), json!(t));
                    }
                    Content::Parts(_) => {
                        let blocks = user_blocks(content, i, name)?;
                        if !blocks.is_empty() {
                            result.insert("content".into(), Value::Array(blocks));
                        }
                    }
                }
                turns.push("user", vec![Value::Object(result)]);
            }
        }
    }
    let messages = turns.finish();
    if messages.is_empty() {
        return Err(invalid(
            format!("provider {name} needs at least one user or assistant message"),
            "messages",
        ));
    }
    Ok((system, messages))
}

fn refuse_name(n: &Option<String>, i: usize, provider: &str) -> Result<(), TranslateError> {
    match n {
        Some(_) => Err(invalid(
            format!("messages[{i}].name is not supported by provider {provider}"),
            "messages",
        )),
        None => Ok(()),
    }
}

/// Anthropic refuses empty text blocks; an empty string carries nothing anyway.
fn push_text(blocks: &mut Vec<Value>, text: String) {
    if !text.is_empty() {
        blocks.push(json!({ "type": "text", "text": text }));
    }
}

fn user_blocks(content: &Content, i: usize, name: &str) -> Result<Vec<Value>, TranslateError> {
    let mut blocks = Vec::new();
    let parts = match content {
        Content::Text(t) => {
            push_text(&mut blocks, t.clone());
            return Ok(blocks);
        }
        Content::Parts(p) => p,
    };
    for part in parts {
        match part {
            ContentPart::Text { text } => push_text(&mut blocks, text.clone()),
            ContentPart::ImageUrl { image_url } => {
                let source = match image_url.source()? {
                    ImageSource::Data { media_type, base64 } => {
                        json!({ "type": "base64", "media_type": media_type, "data": base64 })
                    }
                    ImageSource::Url(u)
                        if u.starts_with("https://") || u.starts_with("http://") =>
                    {
                        json!({ "type": "url", "url": u })
                    }
                    ImageSource::Url(_) => {
                        return Err(invalid(
                            format!(
                                "messages[{i}]: image URLs must be http(s) or base64 data URLs"
                            ),
                            "messages",
                        ))
                    }
                };
                blocks.push(json!({ "type": "image", "source": source }));
            }
            ContentPart::File { file } => {
                let pdf = file
                    .file_data
                    .as_deref()
                    .and_then(|d| d.strip_prefix("data:application/pdf;base64,"));
                match pdf {
                    Some(data) => blocks.push(json!({
                        "type": "document",
                        "source": { "type": "base64", "media_type": "application/pdf", "data": data },
                    })),
                    None => {
                        return Err(invalid(
                            format!("messages[{i}]: provider {name} takes files only as PDF `file_data` (data:application/pdf;base64,…)"),
                            "messages",
                        ))
                    }
                }
            }
            ContentPart::InputAudio { .. } => {
                return Err(invalid(
                    format!("messages[{i}]: audio input is not supported by provider {name}"),
                    "messages",
                ))
            }
            ContentPart::Refusal { refusal } => push_text(&mut blocks, refusal.clone()),
        }
    }
    Ok(blocks)
}

fn tool_use(call: &ToolCall, i: usize, j: usize) -> Result<Value, TranslateError> {
    let args = call.function.arguments.trim();
    let input: Value = if args.is_empty() {
        json!({})
    } else {
        serde_json::from_str(args).map_err(|_| {
            invalid(
                format!("messages[{i}].tool_calls[{j}].function.arguments is not valid JSON"),
                "messages",
            )
        })?
    };
    if !input.is_object() {
        return Err(invalid(
            format!("messages[{i}].tool_calls[{j}].function.arguments must be a JSON object"),
            "messages",
        ));
    }
    Ok(json!({ "type": "tool_use", "id": call.id, "name": call.function.name, "input": input }))
}

fn tools(
    req: &ChatRequest,
    name: &str,
    body: &mut Map<String, Value>,
) -> Result<(), TranslateError> {
    let mut list = Vec::with_capacity(req.tools.len());
    for t in &req.tools {
        if t.kind != "function" {
            return Err(invalid(
                format!("tool type `{}` is not supported by provider {name}", t.kind),
                "tools",
            ));
        }
        let mut tool = Map::new();
        tool.insert("name".into(), json!(t.function.name));
        if let Some(d) = &t.function.description {
            tool.insert("description".into(), json!(d));
        }
        let schema = t
            .function
            .parameters
            .clone()
            .unwrap_or_else(|| json!({ "type": "object", "properties": {} }));
        tool.insert("input_schema".into(), schema);
        if let Some(strict) = t.function.strict {
            tool.insert("strict".into(), json!(strict));
        }
        list.push(Value::Object(tool));
    }
    let no_parallel = req.parallel_tool_calls == Some(false);
    let choice = match (&req.tool_choice, list.is_empty()) {
        (Some(ToolChoice::Required | ToolChoice::Function(_)), true) => {
            return Err(invalid("`tool_choice` requires `tools`", "tool_choice"))
        }
        (_, true) => None,
        (None | Some(ToolChoice::Auto), false) => {
            (no_parallel || req.tool_choice.is_some()).then(|| json!({ "type": "auto" }))
        }
        (Some(ToolChoice::None), false) => Some(json!({ "type": "none" })),
        (Some(ToolChoice::Required), false) => Some(json!({ "type": "any" })),
        (Some(ToolChoice::Function(f)), false) => Some(json!({ "type": "tool", "name": f })),
    };
    if !list.is_empty() {
        body.insert("tools".into(), Value::Array(list));
    }
    if let Some(mut choice) = choice {
        if no_parallel && choice["type"] != "none" {
            choice["disable_parallel_tool_use"] = Value::Bool(true);
        }
        body.insert("tool_choice".into(), choice);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn build(s: &str) -> Result<Value, TranslateError> {
        let body = env(s);
        messages_body(&provider(), &call(&body, false)).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn a_plain_request_gets_model_max_tokens_and_messages() {
        let v =
            build(r#"{"model":"fast","messages":[{"role":"user","content":"Hello"}]}"#).unwrap();
        assert_eq!(
            v,
            json!({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}]})
        );
    }

    #[test]
    fn the_default_max_tokens_comes_from_the_provider_then_the_client() {
        let body = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
        let mut p = provider();
        p.options.default_max_tokens = Some(1000);
        let v: Value =
            serde_json::from_slice(&messages_body(&p, &call(&body, true)).unwrap()).unwrap();
        assert_eq!(v["max_tokens"], 1000);
        assert_eq!(v["stream"], true);
        let v = build(r#"{"model":"m","max_completion_tokens":77,"max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#).unwrap();
        assert_eq!(v["max_tokens"], 77);
    }

    #[test]
    fn system_and_developer_messages_are_hoisted() {
        let v = build(r#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"x"}]}"#).unwrap();
        assert_eq!(v["system"], "be brief");
        let v = build(r#"{"model":"m","messages":[{"role":"system","content":"a"},{"role":"developer","content":[{"type":"text","text":"b"}]},{"role":"user","content":"x"}]}"#).unwrap();
        assert_eq!(
            v["system"],
            json!([{"type":"text","text":"a"},{"type":"text","text":"b"}])
        );
        assert_eq!(v["messages"].as_array().unwrap().len(), 1);
        let e =
            build(r#"{"model":"m","messages":[{"role":"system","content":"only"}]}"#).unwrap_err();
        assert!(e.to_string().contains("at least one user"), "{e}");
    }

    #[test]
    fn parameters_map_to_anthropic_names() {
        let v = build(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["END","STOP"],"temperature":0.5,"top_p":0.9,"user":"u-42","top_k":40,"n":1}"#).unwrap();
        assert_eq!(v["stop_sequences"], json!(["END", "STOP"]));
        assert_eq!(v["temperature"], 0.5);
        assert_eq!(v["top_p"], 0.9);
        assert_eq!(v["top_k"], 40);
        assert_eq!(v["metadata"], json!({"user_id": "u-42"}));
        let v = build(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END"}"#)
            .unwrap();
        assert_eq!(v["stop_sequences"], json!(["END"]));
    }

    #[test]
    fn parameters_without_an_equivalent_are_refused_by_name() {
        for (extra, param) in [
            (r#""n":2"#, "n"),
            (r#""seed":1"#, "seed"),
            (r#""presence_penalty":0.1"#, "presence_penalty"),
            (r#""frequency_penalty":0.1"#, "frequency_penalty"),
            (r#""logit_bias":{"1":1}"#, "logit_bias"),
            (r#""logprobs":true"#, "logprobs"),
            (r#""reasoning_effort":"low""#, "reasoning_effort"),
            (r#""temperature":1.5"#, "temperature"),
            (
                r#""response_format":{"type":"json_object"}"#,
                "response_format",
            ),
        ] {
            let e = build(&format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],{extra}}}"#
            ))
            .unwrap_err();
            let TranslateError::InvalidRequest { param: Some(p), .. } = &e else {
                panic!("{e:?}")
            };
            assert_eq!(p, param, "{extra}");
        }
    }

    #[test]
    fn json_schema_response_format_becomes_output_config() {
        let v = build(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}}}}"#).unwrap();
        assert_eq!(v["output_config"]["format"]["type"], "json_schema");
        assert_eq!(
            v["output_config"]["format"]["schema"]["required"],
            json!(["a"])
        );
        let v = build(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}"#).unwrap();
        assert!(v.get("output_config").is_none());
    }

    #[test]
    fn images_become_base64_or_url_sources() {
        let v = build(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"high"}}]}]}"#).unwrap();
        assert_eq!(
            v["messages"][0]["content"],
            json!([
                {"type":"text","text":"what?"},
                {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
                {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}
            ])
        );
        let e = build(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}"#).unwrap_err();
        assert!(e.to_string().contains("audio"), "{e}");
        let e = build(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}"#).unwrap_err();
        assert!(e.to_string().contains("http(s)"), "{e}");
    }

    #[test]
    fn pdf_files_become_documents() {
        let v = build(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}}]}]}"#).unwrap();
        assert_eq!(
            v["messages"][0]["content"][0],
            json!({"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}})
        );
        assert!(build(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}"#).is_err());
    }

    #[test]
    fn tool_round_trips_alternate_and_merge_results() {
        let v = build(r#"{"model":"m","messages":[
            {"role":"user","content":"weather in Paris and Rome?"},
            {"role":"assistant","content":"Checking.","tool_calls":[
                {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"toolu_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
            {"role":"tool","tool_call_id":"toolu_1","content":"21C"},
            {"role":"tool","tool_call_id":"toolu_2","content":[{"type":"text","text":"25C"}]},
            {"role":"user","content":"thanks"}
        ]}"#).unwrap();
        assert_eq!(
            v["messages"],
            json!([
                {"role":"user","content":[{"type":"text","text":"weather in Paris and Rome?"}]},
                {"role":"assistant","content":[
                    {"type":"text","text":"Checking."},
                    {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
                    {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}]},
                {"role":"user","content":[
                    {"type":"tool_result","tool_use_id":"toolu_1","content":"21C"},
                    {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"25C"}]},
                    {"type":"text","text":"thanks"}]}
            ])
        );
        let e = build(r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}"#).unwrap_err();
        assert!(e.to_string().contains("arguments"), "{e}");
    }

    #[test]
    fn tools_and_tool_choice_map_to_anthropic() {
        let tools = r#""tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},{"type":"function","function":{"name":"now"}}]"#;
        let with = |extra: &str| {
            build(&format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],{tools}{extra}}}"#
            ))
        };
        let v = with("").unwrap();
        assert_eq!(
            v["tools"],
            json!([
                {"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
                {"name":"now","input_schema":{"type":"object","properties":{}}}
            ])
        );
        assert!(v.get("tool_choice").is_none());
        assert_eq!(
            with(r#","tool_choice":"auto""#).unwrap()["tool_choice"],
            json!({"type":"auto"})
        );
        assert_eq!(
            with(r#","tool_choice":"none""#).unwrap()["tool_choice"],
            json!({"type":"none"})
        );
        assert_eq!(
            with(r#","tool_choice":"required""#).unwrap()["tool_choice"],
            json!({"type":"any"})
        );
        assert_eq!(
            with(r#","tool_choice":{"type":"function","function":{"name":"now"}},"parallel_tool_calls":false"#).unwrap()["tool_choice"],
            json!({"type":"tool","name":"now","disable_parallel_tool_use":true})
        );
        assert_eq!(
            with(r#","parallel_tool_calls":false"#).unwrap()["tool_choice"],
            json!({"type":"auto","disable_parallel_tool_use":true})
        );
        let e = build(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("tools"), "{e}");
    }

    #[test]
    fn message_names_are_refused() {
        let e = build(r#"{"model":"m","messages":[{"role":"user","content":"x","name":"bob"}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("name"), "{e}");
    }
}
