//! Cohere's non-streamed chat answer → an OpenAI chat completion, and what streams share
//! with it (usage, finish reasons, the generation error).

use serde::Deserialize;

use crate::canonical::{AssistantMessage, ChatCompletion, Choice, FinishReason, UsageOut};
use crate::dialect::Verdict;
use crate::error::{ErrorBody, TranslateError};
use crate::translator::{Whole, WholeAnswer};
use crate::usage::Usage;

#[derive(Deserialize, Default)]
pub(super) struct WireUsage {
    #[serde(default)]
    billed_units: Option<WireUnits>,
    #[serde(default)]
    tokens: Option<WireUnits>,
    #[serde(default)]
    cached_tokens: Option<f64>,
}

#[derive(Deserialize, Default)]
pub(super) struct WireUnits {
    #[serde(default)]
    pub(super) input_tokens: Option<f64>,
    #[serde(default)]
    output_tokens: Option<f64>,
}

impl WireUsage {
    pub(super) fn usage(&self) -> Usage {
        let count = |pick: fn(&WireUnits) -> Option<f64>| {
            self.billed_units
                .as_ref()
                .and_then(pick)
                .or_else(|| self.tokens.as_ref().and_then(pick))
                .unwrap_or(0.0) as u64
        };
        let prompt_tokens = count(|u| u.input_tokens);
        let completion_tokens = count(|u| u.output_tokens);
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
            cached_tokens: self.cached_tokens.unwrap_or(0.0) as u64,
        }
    }
}

/// Cohere's finish reason in OpenAI's terms; `None` for `ERROR`.
pub(super) fn finish_reason(reason: Option<&str>) -> Option<FinishReason> {
    match reason.unwrap_or("COMPLETE") {
        "ERROR" => None,
        "MAX_TOKENS" | "TIMEOUT" | "ERROR_LIMIT" => Some(FinishReason::Length),
        "TOOL_CALL" => Some(FinishReason::ToolCalls),
        "ERROR_TOXIC" => Some(FinishReason::ContentFilter),
        _ => Some(FinishReason::Stop),
    }
}

pub(super) fn generation_error(provider: &str, message: Option<String>) -> ErrorBody {
    let message = message
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "the generation failed (finish_reason ERROR)".to_owned());
    ErrorBody::new(message, "api_error", Some("generation_error")).with_provider(provider)
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: String,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    message: WireMessage,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Vec<WireContent>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
    #[serde(default)]
    tool_plan: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireContent {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
pub(super) struct WireToolCall {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) function: WireFunction,
}

#[derive(Deserialize, Default)]
pub(super) struct WireFunction {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) arguments: Option<String>,
}

/// A non-streamed chat answer.
pub(super) struct ChatAnswer {
    pub(super) provider: String,
    pub(super) model: String,
    pub(super) created: u64,
}

impl WholeAnswer for ChatAnswer {
    const WHAT: &'static str = "cohere chat answer";

    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let w: WireResponse = serde_json::from_slice(body)
            .map_err(|e| TranslateError::BadResponse(format!("cohere chat answer: {e}")))?;
        let usage = w.usage.as_ref().map(WireUsage::usage);
        let Some(finish) = finish_reason(w.finish_reason.as_deref()) else {
            return Ok(Whole {
                body: None,
                verdict: Verdict::Failed {
                    status: 502,
                    error: generation_error(&self.provider, None),
                },
                usage,
            });
        };
        let text: String = w
            .message
            .content
            .iter()
            .filter_map(|c| match c {
                WireContent::Text { text } => Some(text.as_str()),
                WireContent::Other => None,
            })
            .collect();
        let tool_calls: Vec<crate::canonical::ToolCall> = w
            .message
            .tool_calls
            .into_iter()
            .enumerate()
            .map(|(i, c)| crate::canonical::ToolCall {
                id: c.id.unwrap_or_else(|| format!("call_{i}")),
                kind: "function".into(),
                function: crate::canonical::FunctionCall {
                    name: c.function.name.unwrap_or_default(),
                    arguments: c.function.arguments.unwrap_or_else(|| "{}".into()),
                },
            })
            .collect();
        let content = if !text.is_empty() {
            Some(text)
        } else if !tool_calls.is_empty() {
            w.message.tool_plan.filter(|p| !p.is_empty())
        } else {
            Some(String::new())
        };
        let completion = ChatCompletion {
            id: w.id,
            object: "chat.completion",
            created: self.created,
            model: self.model.clone(),
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage {
                    role: "assistant",
                    content,
                    tool_calls,
                    refusal: None,
                },
                finish_reason: finish,
                logprobs: None,
            }],
            usage: usage.map(UsageOut::from),
        };
        Ok(Whole::healthy(completion.to_bytes(), usage))
    }
}
