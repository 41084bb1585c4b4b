//! OpenAI chat requests → the Converse request body.

use serde_json::{json, Map, Value};

use crate::canonical::{
    invalid, unsupported, ChatRequest, Content, ContentPart, ImageSource, ImageUrl, Message,
    ResponseFormat, ToolChoice,
};
use crate::dialect::ProviderEndpoint;
use crate::error::TranslateError;

/// The Converse request body for a chat request.
pub fn converse_body(
    req: &ChatRequest,
    provider: &ProviderEndpoint,
) -> Result<Value, TranslateError> {
    let name = provider.name.as_str();
    req.reject_extra(name, &[])?;
    if req.n.is_some_and(|n| n != 1) {
        return Err(unsupported(name, "n"));
    }
    for (set, param) in [
        (req.seed.is_some(), "seed"),
        (req.presence_penalty.is_some(), "presence_penalty"),
        (req.frequency_penalty.is_some(), "frequency_penalty"),
        (req.reasoning_effort.is_some(), "reasoning_effort"),
        (
            req.parallel_tool_calls == Some(false),
            "parallel_tool_calls",
        ),
        (
            !matches!(req.response_format, None | Some(ResponseFormat::Text)),
            "response_format",
        ),
    ] {
        if set {
            return Err(unsupported(name, param));
        }
    }

    let mut system: Vec<Value> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut has_tool_blocks = false;
    for m in &req.messages {
        let (role, blocks) = match m {
            Message::System { content, .. } | Message::Developer { content, .. } => {
                for part in content.parts() {
                    match part {
                        ContentPart::Text { text } if !text.is_empty() => {
                            system.push(json!({ "text": text }))
                        }
                        ContentPart::Text { .. } => {}
                        _ => {
                            return Err(invalid(
                                "system and developer messages may only hold text for Bedrock",
                                "messages",
                            ))
                        }
                    }
                }
                continue;
            }
            Message::User { content, .. } => ("user", user_blocks(name, content)?),
            Message::Assistant {
                content,
                tool_calls,
                refusal,
                ..
            } => {
                let mut blocks = Vec::new();
                if let Some(c) = content {
                    for part in c.parts() {
                        match part {
                            ContentPart::Text { text } | ContentPart::Refusal { refusal: text } => {
                                if !text.is_empty() {
                                    blocks.push(json!({ "text": text }));
                                }
                            }
                            _ => {
                                return Err(invalid(
                                    "assistant messages may only hold text and tool calls",
                                    "messages",
                                ))
                            }
                        }
                    }
                }
                if let Some(r) = refusal.as_deref().filter(|r| !r.is_empty()) {
                    blocks.push(json!({ "text": r }));
                }
                for call in tool_calls {
                    has_tool_blocks = true;
                    blocks.push(json!({"toolUse": {
                        "toolUseId": call.id,
                        "name": call.function.name,
                        "input": tool_input(&call.function.arguments)?,
                    }}));
                }
                ("assistant", blocks)
            }
            Message::Tool {
                content,
                tool_call_id,
            } => {
                has_tool_blocks = true;
                (
                    "user",
                    vec![json!({"toolResult": {
                        "toolUseId": tool_call_id,
                        "content": [{ "text": content.text() }],
                    }})],
                )
            }
        };
        if blocks.is_empty() {
            continue;
        }
        // Converse wants roles to alternate: consecutive turns of one role (several tool
        // results, a tool result then a user note) become one message.
        match turns.last_mut() {
            Some((r, existing)) if *r == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    if turns.is_empty() {
        return Err(invalid(
            "Bedrock needs at least one user or assistant message",
            "messages",
        ));
    }

    let mut body = Map::new();
    body.insert(
        "messages".into(),
        Value::Array(
            turns
                .into_iter()
                .map(|(role, content)| json!({ "role": role, "content": content }))
                .collect(),
        ),
    );
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }

    let mut inference = Map::new();
    if let Some(max) = req
        .max_output_tokens()
        .or(provider.options.default_max_tokens)
    {
        inference.insert("maxTokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        inference.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        inference.insert("topP".into(), json!(p));
    }
    if !req.stop.is_empty() {
        inference.insert("stopSequences".into(), json!(req.stop));
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }

    if let Some(tool_config) = tool_config(req, name, has_tool_blocks)? {
        body.insert("toolConfig".into(), tool_config);
    }

    if let Some(user) = &req.user {
        let ok = !user.is_empty()
            && user.len() <= 256
            && user.chars().all(|c| {
                c.is_ascii_alphanumeric() || c.is_whitespace() || ":_@$#=/+,.-".contains(c)
            });
        if !ok {
            return Err(invalid(
                "`user` is sent to Bedrock as request metadata: at most 256 characters of letters, digits, spaces and :_@$#=/+,.-",
                "user",
            ));
        }
        body.insert("requestMetadata".into(), json!({ "user": user }));
    }
    Ok(Value::Object(body))
}

fn tool_config(
    req: &ChatRequest,
    provider: &str,
    has_tool_blocks: bool,
) -> Result<Option<Value>, TranslateError> {
    if req.tools.is_empty() {
        if has_tool_blocks {
            return Err(invalid(
                "the conversation holds tool calls: Bedrock needs the `tools` they were made with",
                "tools",
            ));
        }
        if matches!(
            req.tool_choice,
            Some(ToolChoice::Required | ToolChoice::Function(_))
        ) {
            return Err(invalid("`tool_choice` needs `tools`", "tool_choice"));
        }
        return Ok(None);
    }
    let choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => Some(json!({ "auto": {} })),
        Some(ToolChoice::Required) => Some(json!({ "any": {} })),
        Some(ToolChoice::Function(n)) => Some(json!({ "tool": { "name": n } })),
        Some(ToolChoice::None) if has_tool_blocks => {
            return Err(TranslateError::InvalidRequest {
                message: format!(
                    "`tool_choice: \"none\"` is not supported by provider {provider} in a conversation that holds tool calls"
                ),
                param: Some("tool_choice".into()),
            })
        }
        Some(ToolChoice::None) => return Ok(None),
    };
    let mut tools = Vec::with_capacity(req.tools.len());
    for t in &req.tools {
        if t.kind != "function" {
            return Err(invalid(
                format!("tool type `{}` is not supported (only `function`)", t.kind),
                "tools",
            ));
        }
        if t.function.strict == Some(true) {
            return Err(unsupported(provider, "tools[].function.strict"));
        }
        let schema = t
            .function
            .parameters
            .clone()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        let mut spec = Map::new();
        spec.insert("name".into(), json!(t.function.name));
        if let Some(d) = t.function.description.as_deref().filter(|d| !d.is_empty()) {
            spec.insert("description".into(), json!(d));
        }
        spec.insert("inputSchema".into(), json!({ "json": schema }));
        tools.push(json!({ "toolSpec": spec }));
    }
    let mut config = Map::new();
    config.insert("tools".into(), Value::Array(tools));
    if let Some(c) = choice {
        config.insert("toolChoice".into(), c);
    }
    Ok(Some(Value::Object(config)))
}

fn tool_input(arguments: &str) -> Result<Value, TranslateError> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(invalid(
            "tool call `arguments` must be a JSON object for Bedrock",
            "messages",
        )),
    }
}

fn user_blocks(provider: &str, content: &Content) -> Result<Vec<Value>, TranslateError> {
    let mut blocks = Vec::new();
    for part in content.parts() {
        match part {
            ContentPart::Text { text } if !text.is_empty() => blocks.push(json!({ "text": text })),
            ContentPart::Text { .. } => {}
            ContentPart::ImageUrl { image_url } => blocks.push(image_block(&image_url)?),
            ContentPart::InputAudio { .. } => {
                return Err(unsupported(provider, "messages[].content[].input_audio"))
            }
            ContentPart::File { .. } => {
                return Err(unsupported(provider, "messages[].content[].file"))
            }
            ContentPart::Refusal { .. } => {
                return Err(invalid("user messages cannot hold a refusal", "messages"))
            }
        }
    }
    Ok(blocks)
}

fn image_block(image: &ImageUrl) -> Result<Value, TranslateError> {
    match image.source()? {
        ImageSource::Data { media_type, base64 } => {
            let format = match media_type.to_ascii_lowercase().as_str() {
                "image/png" => "png",
                "image/jpeg" | "image/jpg" => "jpeg",
                "image/gif" => "gif",
                "image/webp" => "webp",
                other => {
                    return Err(invalid(
                        format!(
                        "image type `{other}` is not supported by Bedrock (png, jpeg, gif, webp)"
                    ),
                        "messages",
                    ))
                }
            };
            Ok(json!({"image": {"format": format, "source": {"bytes": base64}}}))
        }
        ImageSource::Url(_) => Err(invalid(
            "Bedrock takes images inline only: send a `data:` URL",
            "messages",
        )),
    }
}
