//! A whole Converse answer → an OpenAI chat completion, and the usage and finish reasons
//! streams share with it.

use serde::Deserialize;
use serde_json::Value;

use crate::canonical::{
    AssistantMessage, ChatCompletion, Choice, FinishReason, FunctionCall, ToolCall,
};
use crate::error::TranslateError;
use crate::translator::{Whole, WholeAnswer};
use crate::usage::Usage;

/// Converse's token usage.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_write_input_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(w: WireUsage) -> Self {
        // Converse counts cache reads and writes apart from `inputTokens`; OpenAI's
        // `prompt_tokens` includes cached tokens.
        let prompt = w.input_tokens + w.cache_read_input_tokens + w.cache_write_input_tokens;
        Usage {
            prompt_tokens: prompt,
            completion_tokens: w.output_tokens,
            total_tokens: prompt + w.output_tokens,
            cached_tokens: w.cache_read_input_tokens,
        }
    }
}

/// Maps Converse's `stopReason`.
pub fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// A plain Converse answer, translated once whole.
#[derive(Debug)]
pub(super) struct ConverseAnswer {
    pub(super) id: String,
    pub(super) model: String,
    pub(super) created: u64,
}

impl WholeAnswer for ConverseAnswer {
    const WHAT: &'static str = "Converse response";

    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let (completion, usage) = translate_response(body, &self.id, &self.model, self.created)?;
        Ok(Whole::healthy(completion.to_bytes(), usage))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseResponse {
    output: Option<ConverseOutput>,
    stop_reason: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ConverseOutput {
    message: Option<ConverseMessage>,
}

#[derive(Deserialize)]
struct ConverseMessage {
    #[serde(default)]
    content: Vec<Value>,
}

/// Translates a Converse response body into an OpenAI chat completion; returns it and the
/// usage.
pub fn translate_response(
    body: &[u8],
    id: &str,
    model: &str,
    created: u64,
) -> Result<(ChatCompletion, Option<Usage>), TranslateError> {
    let r: ConverseResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::BadResponse(format!("Converse response: {e}")))?;
    let mut text = String::new();
    let mut has_text = false;
    let mut tool_calls = Vec::new();
    for block in r
        .output
        .and_then(|o| o.message)
        .map_or_else(Vec::new, |m| m.content)
    {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            text.push_str(t);
            has_text = true;
        } else if let Some(tu) = block.get("toolUse") {
            let field = |k: &str| tu.get(k).and_then(Value::as_str).unwrap_or_default();
            tool_calls.push(ToolCall {
                id: field("toolUseId").to_owned(),
                kind: "function".into(),
                function: FunctionCall {
                    name: field("name").to_owned(),
                    arguments: tu.get("input").map_or_else(
                        || "{}".to_owned(),
                        |i| serde_json::to_string(i).unwrap_or_default(),
                    ),
                },
            });
        }
    }
    let usage = r.usage.map(Usage::from);
    let finish = r
        .stop_reason
        .as_deref()
        .map_or(FinishReason::Stop, finish_reason);
    let completion = ChatCompletion {
        id: id.to_owned(),
        object: "chat.completion",
        created,
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: (has_text || tool_calls.is_empty()).then_some(text),
                tool_calls,
                refusal: None,
            },
            finish_reason: finish,
            logprobs: None,
        }],
        usage: usage.map(Into::into),
    };
    Ok((completion, usage))
}
