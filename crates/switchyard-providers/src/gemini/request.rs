//! OpenAI chat request → `GenerateContentRequest`.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::schema;
use crate::canonical::{
    invalid, ChatRequest, Content, ContentPart, ImageSource, Message, ResponseFormat, ToolChoice,
};
use crate::envelope::JsonEnvelope;
use crate::error::TranslateError;

/// The signature Google documents for function calls the model did not produce in this
/// session (OpenAI clients do not keep Gemini's thought signatures): Gemini 3 refuses a
/// replayed function call without one.
const FOREIGN_THOUGHT_SIGNATURE: &str = "skip_thought_signature_validator";

/// Extra (non-OpenAI) fields a client may send that Gemini honours.
const ALLOWED_EXTRA: &[&str] = &["top_k"];

/// The `generateContent` body for a chat request.
pub(crate) fn chat_body(
    provider: &str,
    env: &JsonEnvelope,
    stream: bool,
) -> Result<Vec<u8>, TranslateError> {
    let req = ChatRequest::from_envelope(env)?;
    req.reject_extra(provider, ALLOWED_EXTRA)?;
    let body = build(provider, &req, stream)?;
    serde_json::to_vec(&body).map_err(|e| TranslateError::InvalidRequest {
        message: e.to_string(),
        param: None,
    })
}

fn build(provider: &str, req: &ChatRequest, stream: bool) -> Result<Value, TranslateError> {
    let mut out = Map::new();
    let (system, contents) = contents(&req.messages)?;
    out.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        out.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    if !req.tools.is_empty() {
        let mut decls = Vec::with_capacity(req.tools.len());
        for (i, tool) in req.tools.iter().enumerate() {
            if tool.kind != "function" {
                return Err(invalid(
                    format!(
                        "tool type `{}` is not supported by provider {provider}",
                        tool.kind
                    ),
                    &format!("tools[{i}].type"),
                ));
            }
            let mut d = Map::new();
            d.insert("name".into(), Value::String(tool.function.name.clone()));
            if let Some(desc) = &tool.function.description {
                d.insert("description".into(), Value::String(desc.clone()));
            }
            if let Some(params) = &tool.function.parameters {
                let param = format!("tools[{i}].function.parameters");
                if let Some(p) = schema::parameters(params, &param)? {
                    d.insert("parameters".into(), p);
                }
            }
            decls.push(Value::Object(d));
        }
        out.insert("tools".into(), json!([{ "functionDeclarations": decls }]));
    }
    if let Some(choice) = &req.tool_choice {
        if req.tools.is_empty() {
            if matches!(choice, ToolChoice::Required | ToolChoice::Function(_)) {
                return Err(invalid(
                    "`tool_choice` requires `tools`".to_owned(),
                    "tool_choice",
                ));
            }
        } else {
            let config = match choice {
                ToolChoice::None => json!({"mode": "NONE"}),
                ToolChoice::Auto => json!({"mode": "AUTO"}),
                ToolChoice::Required => json!({"mode": "ANY"}),
                ToolChoice::Function(name) => {
                    json!({"mode": "ANY", "allowedFunctionNames": [name]})
                }
            };
            out.insert(
                "toolConfig".into(),
                json!({ "functionCallingConfig": config }),
            );
        }
    }
    if req.parallel_tool_calls == Some(false) {
        // Gemini decides alone how many calls a turn makes.
        return Err(TranslateError::InvalidRequest {
            message: format!(
                "`parallel_tool_calls: false` is not supported by provider {provider}"
            ),
            param: Some("parallel_tool_calls".into()),
        });
    }
    let config = generation_config(provider, req, stream)?;
    if !config.is_empty() {
        out.insert("generationConfig".into(), Value::Object(config));
    }
    Ok(Value::Object(out))
}

fn generation_config(
    provider: &str,
    req: &ChatRequest,
    stream: bool,
) -> Result<Map<String, Value>, TranslateError> {
    let mut g = Map::new();
    if let Some(t) = req.temperature {
        g.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        g.insert("topP".into(), json!(p));
    }
    if let Some(k) = req.extra.get("top_k") {
        let k = k
            .as_u64()
            .ok_or_else(|| invalid("`top_k` must be a positive integer", "top_k"))?;
        g.insert("topK".into(), json!(k));
    }
    if let Some(m) = req.max_output_tokens() {
        g.insert("maxOutputTokens".into(), json!(m));
    }
    if !req.stop.is_empty() {
        g.insert("stopSequences".into(), json!(req.stop));
    }
    if let Some(n) = req.n {
        if n == 0 {
            return Err(invalid("`n` must be at least 1", "n"));
        }
        if n > 1 && stream {
            return Err(TranslateError::InvalidRequest {
                message: format!(
                    "`n` greater than 1 is not supported with `stream` by provider {provider}"
                ),
                param: Some("n".into()),
            });
        }
        if n > 1 {
            g.insert("candidateCount".into(), json!(n));
        }
    }
    if let Some(seed) = req.seed {
        let seed = i32::try_from(seed)
            .map_err(|_| invalid("`seed` must fit in a 32-bit integer for Gemini", "seed"))?;
        g.insert("seed".into(), json!(seed));
    }
    if let Some(p) = req.presence_penalty {
        g.insert("presencePenalty".into(), json!(p));
    }
    if let Some(p) = req.frequency_penalty {
        g.insert("frequencyPenalty".into(), json!(p));
    }
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            g.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            g.insert("responseMimeType".into(), json!("application/json"));
            if let Some(s) = &json_schema.schema {
                g.insert(
                    "responseSchema".into(),
                    schema::to_gemini(s, "response_format.json_schema.schema")?,
                );
            }
        }
    }
    if let Some(effort) = &req.reasoning_effort {
        // The budgets Google's own OpenAI-compatible endpoint uses for these levels.
        let budget = match effort.as_str() {
            "none" => 0,
            "low" | "minimal" => 1024,
            "medium" => 8192,
            "high" => 24576,
            other => {
                return Err(invalid(
                    format!(
                        "unknown `reasoning_effort` `{other}` (none, minimal, low, medium or high)"
                    ),
                    "reasoning_effort",
                ))
            }
        };
        g.insert("thinkingConfig".into(), json!({ "thinkingBudget": budget }));
    }
    Ok(g)
}

/// The system parts and the conversation. System and developer messages are hoisted into
/// `systemInstruction`; consecutive turns of the same role are merged, as Vertex AI wants
/// user and model turns to alternate.
fn contents(messages: &[Message]) -> Result<(Vec<Value>, Vec<Value>), TranslateError> {
    let mut system = Vec::new();
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        let (role, parts) = match m {
            Message::System { content, .. } | Message::Developer { content, .. } => {
                for p in content.parts() {
                    match p {
                        ContentPart::Text { text } => system.push(json!({ "text": text })),
                        _ => {
                            return Err(invalid(
                                "system messages may only hold text",
                                &format!("messages[{i}].content"),
                            ))
                        }
                    }
                }
                continue;
            }
            Message::User { content, .. } => ("user", user_parts(content, i)?),
            Message::Assistant {
                content,
                tool_calls,
                ..
            } => {
                let mut parts = Vec::new();
                if let Some(c) = content {
                    let text = c.text();
                    if !text.is_empty() {
                        parts.push(json!({ "text": text }));
                    }
                }
                for (k, call) in tool_calls.iter().enumerate() {
                    let args: Value = if call.function.arguments.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&call.function.arguments).map_err(|_| {
                            invalid(
                                "tool call arguments must be a JSON object",
                                &format!("messages[{i}].tool_calls[{k}].function.arguments"),
                            )
                        })?
                    };
                    if !args.is_object() {
                        return Err(invalid(
                            "tool call arguments must be a JSON object",
                            &format!("messages[{i}].tool_calls[{k}].function.arguments"),
                        ));
                    }
                    call_names.insert(call.id.as_str(), call.function.name.as_str());
                    let mut part = json!({
                        "functionCall": { "name": call.function.name, "args": args }
                    });
                    if k == 0 {
                        part["thoughtSignature"] = json!(FOREIGN_THOUGHT_SIGNATURE);
                    }
                    parts.push(part);
                }
                if parts.is_empty() {
                    // An empty model turn is refused by Gemini; it carries nothing anyway.
                    continue;
                }
                ("model", parts)
            }
            Message::Tool {
                content,
                tool_call_id,
            } => {
                let Some(name) = call_names.get(tool_call_id.as_str()) else {
                    return Err(invalid(
                        format!("`tool_call_id` `{tool_call_id}` answers no earlier tool call"),
                        &format!("messages[{i}].tool_call_id"),
                    ));
                };
                let text = content.text();
                // A JSON result is passed as JSON; anything else as text.
                let output = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
                (
                    "user",
                    vec![json!({
                        "functionResponse": { "name": name, "response": { "output": output } }
                    })],
                )
            }
        };
        match out.last_mut() {
            Some((r, p)) if *r == role => p.extend(parts),
            _ => out.push((role, parts)),
        }
    }
    if out.is_empty() {
        return Err(invalid(
            "Gemini needs at least one user or assistant message",
            "messages",
        ));
    }
    let contents = out
        .into_iter()
        .map(|(role, parts)| json!({ "role": role, "parts": parts }))
        .collect();
    Ok((system, contents))
}

fn user_parts(content: &Content, i: usize) -> Result<Vec<Value>, TranslateError> {
    let param = format!("messages[{i}].content");
    let mut parts = Vec::new();
    for p in content.parts() {
        match p {
            ContentPart::Text { text } => parts.push(json!({ "text": text })),
            ContentPart::ImageUrl { image_url } => match image_url.source()? {
                ImageSource::Data { media_type, base64 } => parts.push(inline(media_type, base64)),
                ImageSource::Url(_) => {
                    return Err(invalid(
                        "Gemini cannot fetch image URLs: send the image as a `data:` URL",
                        &param,
                    ))
                }
            },
            ContentPart::InputAudio { input_audio } => {
                let mime = match input_audio.format.as_str() {
                    "wav" => "audio/wav",
                    "mp3" => "audio/mp3",
                    other => {
                        return Err(invalid(
                            format!("audio format `{other}` is not supported (wav or mp3)"),
                            &param,
                        ))
                    }
                };
                parts.push(inline(mime, &input_audio.data));
            }
            ContentPart::File { file } => {
                let Some(data) = &file.file_data else {
                    return Err(invalid(
                        "Gemini takes files inline only: send `file_data` as a data URL",
                        &param,
                    ));
                };
                let url = crate::canonical::ImageUrl {
                    url: data.clone(),
                    detail: None,
                };
                match url.source()? {
                    ImageSource::Data { media_type, base64 } => {
                        parts.push(inline(media_type, base64))
                    }
                    ImageSource::Url(_) => {
                        return Err(invalid("`file_data` must be a base64 data URL", &param))
                    }
                }
            }
            ContentPart::Refusal { .. } => {
                return Err(invalid("user messages cannot hold a refusal", &param))
            }
        }
    }
    if parts.is_empty() {
        return Err(invalid("a user message needs content", &param));
    }
    Ok(parts)
}

fn inline(mime: &str, data: &str) -> Value {
    json!({ "inlineData": { "mimeType": mime, "data": data } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn body(s: &str) -> Result<Value, TranslateError> {
        let env = JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap();
        chat_body("g", &env, false).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn maps_a_multi_turn_conversation_with_tools() {
        let v = body(
            r#"{"model":"m","messages":[
                {"role":"system","content":"be brief"},
                {"role":"developer","content":"and kind"},
                {"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO"}}]},
                {"role":"assistant","content":null,"tool_calls":[
                    {"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
                    {"id":"b","type":"function","function":{"name":"g","arguments":""}}]},
                {"role":"tool","tool_call_id":"a","content":"{\"ok\":true}"},
                {"role":"tool","tool_call_id":"b","content":"plain"},
                {"role":"user","content":"thanks"}
            ],
            "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"x":{"type":"integer"}},"additionalProperties":false,"$schema":"x"}}},
                     {"type":"function","function":{"name":"g","parameters":{"type":"object","properties":{}}}}],
            "tool_choice":{"type":"function","function":{"name":"f"}},
            "temperature":0.5,"top_p":0.9,"max_completion_tokens":64,"stop":["END"],"n":2,"seed":7,
            "presence_penalty":0.1,"frequency_penalty":0.2,"top_k":40,"user":"u1",
            "response_format":{"type":"json_object"}}"#,
        )
        .unwrap();
        assert_eq!(
            v["systemInstruction"],
            json!({"parts":[{"text":"be brief"},{"text":"and kind"}]})
        );
        let c = v["contents"].as_array().unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0]["role"], "user");
        assert_eq!(
            c[0]["parts"][1],
            json!({"inlineData":{"mimeType":"image/png","data":"iVBO"}})
        );
        assert_eq!(c[1]["role"], "model");
        assert_eq!(
            c[1]["parts"][0]["functionCall"],
            json!({"name":"f","args":{"x":1}})
        );
        assert_eq!(
            c[1]["parts"][0]["thoughtSignature"],
            FOREIGN_THOUGHT_SIGNATURE
        );
        assert!(c[1]["parts"][1].get("thoughtSignature").is_none());
        assert_eq!(c[2]["role"], "user");
        assert_eq!(
            c[2]["parts"][0],
            json!({"functionResponse":{"name":"f","response":{"output":{"ok":true}}}})
        );
        assert_eq!(
            c[2]["parts"][1]["functionResponse"]["response"]["output"],
            "plain"
        );
        assert_eq!(c[2]["parts"][2], json!({"text":"thanks"}));
        let decl = &v["tools"][0]["functionDeclarations"];
        assert_eq!(
            decl[0]["parameters"],
            json!({"type":"object","properties":{"x":{"type":"integer"}}})
        );
        assert!(decl[1].get("parameters").is_none());
        assert_eq!(
            v["toolConfig"],
            json!({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}})
        );
        assert_eq!(
            v["generationConfig"],
            json!({"temperature":0.5,"topP":0.9,"topK":40,"maxOutputTokens":64,"stopSequences":["END"],
                   "candidateCount":2,"seed":7,"presencePenalty":0.1,"frequencyPenalty":0.2,
                   "responseMimeType":"application/json"})
        );
    }

    #[test]
    fn json_schema_becomes_a_response_schema() {
        let v = body(r#"{"model":"m","messages":[{"role":"user","content":"x"}],
            "response_format":{"type":"json_schema","json_schema":{"name":"n","strict":true,
              "schema":{"type":"object","properties":{"a":{"type":["string","null"]}},"required":["a"],"additionalProperties":false}}}}"#).unwrap();
        assert_eq!(
            v["generationConfig"]["responseSchema"],
            json!({"type":"object","properties":{"a":{"type":"string","nullable":true}},"required":["a"]})
        );
        assert_eq!(
            v["generationConfig"]["responseMimeType"],
            "application/json"
        );
    }

    #[test]
    fn refuses_what_gemini_cannot_do() {
        let err = |s: &str| body(s).unwrap_err().to_string();
        let base = r#""model":"m","messages":[{"role":"user","content":"x"}]"#;
        assert_eq!(
            err(&format!(r#"{{{base},"logit_bias":{{"1":1}}}}"#)),
            "`logit_bias` is not supported by provider g"
        );
        assert!(err(&format!(r#"{{{base},"parallel_tool_calls":false}}"#))
            .contains("parallel_tool_calls"));
        assert!(err(
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}"#
        )
        .contains("data:"));
        assert!(err(
            r#"{"model":"m","messages":[{"role":"tool","tool_call_id":"zz","content":"x"}]}"#
        )
        .contains("zz"));
        assert!(
            err(r#"{"model":"m","messages":[{"role":"system","content":"only"}]}"#)
                .contains("at least one")
        );
        assert!(err(&format!(r#"{{{base},"tool_choice":"required"}}"#)).contains("tools"));
        let env = JsonEnvelope::parse(Bytes::from(format!(r#"{{{base},"n":2}}"#))).unwrap();
        assert!(chat_body("g", &env, true)
            .unwrap_err()
            .to_string()
            .contains("`n`"));
    }

    #[test]
    fn reasoning_effort_sets_a_thinking_budget() {
        let v = body(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"}"#,
        )
        .unwrap();
        assert_eq!(
            v["generationConfig"]["thinkingConfig"],
            json!({"thinkingBudget":1024})
        );
    }
}
