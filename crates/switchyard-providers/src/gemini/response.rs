//! `GenerateContentResponse` → OpenAI chat completion (whole) and chunks (streamed).

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::GoogleError;
use crate::canonical::{
    AssistantMessage, ChatCompletion, Choice, ChunkWriter, FinishReason, FunctionCall, ToolCall,
    UsageOut,
};
use crate::dialect::Output;
use crate::error::{ErrorBody, TranslateError};
use crate::sse::SseFramer;
use crate::translator::{Progress, StreamAnswer, Whole, WholeAnswer};
use crate::usage::Usage;

/// One `GenerateContentResponse` (a whole answer, or one streamed chunk of it).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Response {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    model_version: Option<String>,
    #[serde(default)]
    response_id: Option<String>,
    #[serde(default)]
    error: Option<GoogleError>,
}

impl Response {
    /// Why Gemini refused the prompt as a whole: no candidates, and a block reason.
    fn blocked_reason(&self) -> Option<&str> {
        if !self.candidates.is_empty() {
            return None;
        }
        self.prompt_feedback.as_ref()?.block_reason.as_deref()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<CandidateContent>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    index: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
struct CandidateContent {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    #[serde(default)]
    text: Option<String>,
    /// A thought summary, not part of the answer.
    #[serde(default)]
    thought: bool,
    #[serde(default)]
    function_call: Option<WireFunctionCall>,
}

#[derive(Debug, Deserialize)]
struct WireFunctionCall {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    args: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    total_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

impl From<UsageMetadata> for Usage {
    fn from(u: UsageMetadata) -> Self {
        // OpenAI counts reasoning tokens as completion tokens.
        let completion = u.candidates_token_count + u.thoughts_token_count;
        Usage {
            prompt_tokens: u.prompt_token_count,
            completion_tokens: completion,
            total_tokens: if u.total_token_count > 0 {
                u.total_token_count
            } else {
                u.prompt_token_count + completion
            },
            cached_tokens: u.cached_content_token_count,
        }
    }
}

/// Gemini's finish reason in OpenAI's terms.
fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(
            "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION"
            | "MODEL_ARMOR",
        ) => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// The status and error for a prompt Gemini refused to answer at all.
fn blocked_prompt(provider: &str, reason: &str) -> (u16, ErrorBody) {
    let error = ErrorBody::new(
        format!("provider {provider} blocked the prompt ({reason})"),
        "invalid_request_error",
        Some("content_filter"),
    )
    .with_provider(provider);
    (400, error)
}

/// The status and error for an error object that arrived with a 2xx status.
fn google_failure(provider: &str, e: GoogleError) -> (u16, ErrorBody) {
    let status = e.status_or(502);
    (status, e.into_error_body(status, provider))
}

fn call_id(call: &WireFunctionCall, n: usize) -> String {
    match &call.id {
        Some(id) if !id.is_empty() => id.clone(),
        _ => format!("call_{n}"),
    }
}

fn arguments(call: &WireFunctionCall) -> String {
    match &call.args {
        Some(a) if !a.is_null() => serde_json::to_string(a).unwrap_or_else(|_| "{}".into()),
        _ => "{}".into(),
    }
}

fn bad(e: impl std::fmt::Display) -> TranslateError {
    TranslateError::BadResponse(e.to_string())
}

/// A non-streamed answer, rebuilt as one chat completion once whole.
#[derive(Debug)]
pub struct ChatAnswer {
    provider: String,
    model: String,
    created: u64,
}

impl ChatAnswer {
    /// The answer to one call.
    pub fn new(provider: &str, model: &str, created: u64) -> Self {
        Self {
            provider: provider.to_owned(),
            model: model.to_owned(),
            created,
        }
    }

    fn completion(&self, r: Response) -> ChatCompletion {
        let usage = r.usage_metadata.map(Usage::from);
        let choices = r
            .candidates
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let mut text = String::new();
                let mut calls = Vec::new();
                for p in c.content.map(|c| c.parts).unwrap_or_default() {
                    if let Some(f) = p.function_call {
                        calls.push(ToolCall {
                            id: call_id(&f, calls.len()),
                            kind: "function".into(),
                            function: FunctionCall {
                                arguments: arguments(&f),
                                name: f.name,
                            },
                        });
                    } else if let (Some(t), false) = (p.text, p.thought) {
                        text.push_str(&t);
                    }
                }
                let finish = if calls.is_empty() {
                    finish_reason(c.finish_reason.as_deref())
                } else {
                    FinishReason::ToolCalls
                };
                Choice {
                    index: c.index.unwrap_or(i as u32),
                    message: AssistantMessage {
                        role: "assistant",
                        content: (!text.is_empty() || calls.is_empty()).then_some(text),
                        tool_calls: calls,
                        refusal: None,
                    },
                    finish_reason: finish,
                    logprobs: None,
                }
            })
            .collect();
        ChatCompletion {
            id: format!("chatcmpl-{}", r.response_id.as_deref().unwrap_or("gemini")),
            object: "chat.completion",
            created: self.created,
            model: r.model_version.unwrap_or_else(|| self.model.clone()),
            choices,
            usage: usage.map(UsageOut::from),
        }
    }
}

impl WholeAnswer for ChatAnswer {
    const WHAT: &'static str = "gemini response";

    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let r: Response = serde_json::from_slice(body).map_err(bad)?;
        if let Some(e) = r.error {
            let (status, error) = google_failure(&self.provider, e);
            return Ok(Whole::failed(status, error));
        }
        if let Some(reason) = r.blocked_reason() {
            let (status, error) = blocked_prompt(&self.provider, reason);
            return Ok(Whole::failed(status, error));
        }
        let usage = r.usage_metadata.map(Usage::from);
        Ok(Whole::healthy(self.completion(r).to_bytes(), usage))
    }
}

/// A streamed answer (`alt=sse`), translated event by event. Gemini sends each function
/// call whole, so a call becomes a start chunk and one arguments chunk at its own index.
#[derive(Debug)]
pub struct StreamTranslator {
    provider: String,
    framer: SseFramer,
    writer: ChunkWriter,
    progress: Progress,
    calls: u32,
    /// An error event was written: nothing more goes out, not even `[DONE]`.
    failed: bool,
}

impl StreamTranslator {
    /// A translator for one stream.
    pub fn new(provider: &str, model: &str, created: u64, include_usage: bool) -> Self {
        Self {
            provider: provider.to_owned(),
            framer: SseFramer::new(),
            writer: ChunkWriter::new("chatcmpl-gemini", model, created, include_usage),
            progress: Progress::default(),
            calls: 0,
            failed: false,
        }
    }

    fn event(&mut self, data: &[u8], out: &mut Output) -> Result<(), TranslateError> {
        if self.failed || data.trim_ascii().is_empty() {
            return Ok(());
        }
        let first = self.progress.is_pending();
        let r: Response = serde_json::from_slice(data).map_err(bad)?;
        if let Some(e) = r.error {
            let (status, error) = google_failure(&self.provider, e);
            self.progress.fail(status, error, out);
            self.failed = true;
            return Ok(());
        }
        if first {
            if let Some(reason) = r.blocked_reason() {
                let (status, error) = blocked_prompt(&self.provider, reason);
                self.progress.fail(status, error, out);
                self.failed = true;
                return Ok(());
            }
            self.progress.healthy();
            if let Some(id) = &r.response_id {
                self.writer.set_id(format!("chatcmpl-{id}"));
            }
            if let Some(m) = &r.model_version {
                self.writer.set_model(m.clone());
            }
        }
        if let Some(u) = r.usage_metadata {
            self.progress.usage = Some(u.into());
        }
        if r.candidates.is_empty() {
            if r.prompt_feedback.and_then(|f| f.block_reason).is_some() {
                // Blocked after the answer began: the answer ends here.
                self.writer.finish(FinishReason::ContentFilter, out);
            }
            return Ok(());
        }
        for c in r.candidates {
            if c.index.unwrap_or(0) != 0 {
                continue;
            }
            for p in c.content.map(|c| c.parts).unwrap_or_default() {
                if let Some(f) = p.function_call {
                    let index = self.calls;
                    self.calls += 1;
                    self.writer
                        .tool_call_start(index, &call_id(&f, index as usize), &f.name, out);
                    self.writer.tool_call_arguments(index, &arguments(&f), out);
                } else if let (Some(t), false) = (p.text, p.thought) {
                    self.writer.content(&t, out);
                }
            }
            if let Some(reason) = c.finish_reason.as_deref() {
                let finish = if self.calls > 0 {
                    FinishReason::ToolCalls
                } else {
                    finish_reason(Some(reason))
                };
                self.writer.finish(finish, out);
            }
        }
        Ok(())
    }

    fn drain(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        while let Some(e) = self.framer.next_event().map_err(bad)? {
            self.event(&e.data, out)?;
        }
        Ok(())
    }
}

impl StreamAnswer for StreamTranslator {
    fn buffered(&self) -> usize {
        self.framer.pending_bytes()
    }

    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        self.framer.push(&chunk).map_err(bad)?;
        self.drain(out)
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        self.drain(out)?;
        if let Some(e) = self.framer.finish().map_err(bad)? {
            self.event(&e.data, out)?;
        }
        if self.failed {
            return Ok(());
        }
        self.progress.healthy();
        let finish = if self.calls > 0 {
            FinishReason::ToolCalls
        } else {
            FinishReason::Stop
        };
        self.writer.finish(finish, out);
        self.writer.done(self.progress.usage, out);
        Ok(())
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }
}
