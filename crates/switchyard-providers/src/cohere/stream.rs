//! Cohere's SSE chat stream → OpenAI chunks, event by event.

use bytes::Bytes;
use serde::Deserialize;

use super::response::{finish_reason, generation_error, WireToolCall, WireUsage};
use crate::canonical::ChunkWriter;
use crate::dialect::Output;
use crate::error::{ErrorBody, TranslateError};
use crate::sse::SseFramer;
use crate::translator::{Progress, StreamAnswer};

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    delta: Option<EventDelta>,
    /// Cohere's error shape, should an error arrive as an event.
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize, Default)]
struct EventDelta {
    #[serde(default)]
    message: Option<EventMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct EventMessage {
    #[serde(default)]
    content: Option<EventContent>,
    #[serde(default)]
    tool_plan: Option<String>,
    #[serde(default)]
    tool_calls: Option<WireToolCall>,
}

#[derive(Deserialize, Default)]
struct EventContent {
    #[serde(default)]
    text: Option<String>,
}

/// A streamed chat answer, translated event by event into OpenAI chunks.
#[derive(Debug)]
pub(super) struct ChatStream {
    provider: String,
    framer: SseFramer,
    writer: ChunkWriter,
    progress: Progress,
    /// Cohere's tool-call indexes in order of appearance; OpenAI's index is the position.
    tool_slots: Vec<u64>,
    ended: bool,
}

impl ChatStream {
    pub(super) fn new(provider: &str, model: &str, created: u64, include_usage: bool) -> Self {
        Self {
            provider: provider.to_owned(),
            framer: SseFramer::new(),
            writer: ChunkWriter::new("chatcmpl-cohere", model, created, include_usage),
            progress: Progress::default(),
            tool_slots: Vec::new(),
            ended: false,
        }
    }

    fn slot(&mut self, cohere_index: Option<u64>) -> u32 {
        let key = cohere_index.unwrap_or(self.tool_slots.len() as u64);
        let at = match self.tool_slots.iter().position(|&k| k == key) {
            Some(i) => i,
            None => {
                self.tool_slots.push(key);
                self.tool_slots.len() - 1
            }
        };
        at as u32
    }

    fn fail(&mut self, error: ErrorBody, out: &mut Output) {
        self.ended = true;
        self.progress.fail(502, error, out);
    }

    fn on_event(&mut self, data: &[u8], out: &mut Output) -> Result<(), TranslateError> {
        if self.ended || data == b"[DONE]" {
            return Ok(());
        }
        let ev: WireEvent = serde_json::from_slice(data)
            .map_err(|e| TranslateError::BadResponse(format!("cohere stream event: {e}")))?;
        let delta = ev.delta.unwrap_or_default();
        let msg = delta.message.unwrap_or_default();
        match ev.kind.as_str() {
            // `message-start` only opens the stream: the verdict waits for the next event, so
            // a generation that fails at once (`message-end` with ERROR) can still fail over.
            "message-start" => {
                if let Some(id) = ev.id {
                    self.writer.set_id(id);
                }
                self.writer.start(out);
            }
            "content-start" | "content-delta" => {
                self.progress.healthy();
                if let Some(text) = msg.content.and_then(|c| c.text) {
                    self.writer.content(&text, out);
                }
            }
            "tool-plan-delta" => {
                self.progress.healthy();
                if let Some(plan) = msg.tool_plan {
                    self.writer.content(&plan, out);
                }
            }
            "tool-call-start" => {
                self.progress.healthy();
                let slot = self.slot(ev.index);
                let call = msg.tool_calls.unwrap_or_default();
                let id = call.id.unwrap_or_else(|| format!("call_{slot}"));
                let name = call.function.name.unwrap_or_default();
                self.writer.tool_call_start(slot, &id, &name, out);
                if let Some(args) = call.function.arguments {
                    self.writer.tool_call_arguments(slot, &args, out);
                }
            }
            "tool-call-delta" => {
                self.progress.healthy();
                let slot = self.slot(ev.index);
                if let Some(args) = msg.tool_calls.and_then(|c| c.function.arguments) {
                    self.writer.tool_call_arguments(slot, &args, out);
                }
            }
            "message-end" => {
                self.progress.usage = delta.usage.as_ref().map(WireUsage::usage);
                match finish_reason(delta.finish_reason.as_deref()) {
                    Some(reason) if delta.error.is_none() => {
                        self.progress.healthy();
                        self.ended = true;
                        self.writer.finish(reason, out);
                        self.writer.done(self.progress.usage, out);
                    }
                    _ => {
                        let error = generation_error(&self.provider, delta.error);
                        self.fail(error, out);
                    }
                }
            }
            "" => {
                let error =
                    generation_error(
                        &self.provider,
                        Some(ev.message.unwrap_or_else(|| {
                            "the provider sent an event without a type".to_owned()
                        })),
                    );
                self.fail(error, out);
            }
            // content-end, tool-call-end, citation-start/-end, debug: nothing for OpenAI.
            _ => self.progress.healthy(),
        }
        Ok(())
    }

    fn drain(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        while let Some(event) = self
            .framer
            .next_event()
            .map_err(|e| TranslateError::BadResponse(e.to_string()))?
        {
            self.on_event(&event.data, out)?;
        }
        Ok(())
    }
}

impl StreamAnswer for ChatStream {
    fn buffered(&self) -> usize {
        self.framer.pending_bytes()
    }

    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        self.framer
            .push(&chunk)
            .map_err(|e| TranslateError::BadResponse(e.to_string()))?;
        self.drain(out)
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        self.drain(out)?;
        if let Some(event) = self
            .framer
            .finish()
            .map_err(|e| TranslateError::BadResponse(e.to_string()))?
        {
            self.on_event(&event.data, out)?;
        }
        if !self.ended {
            return Err(TranslateError::BadResponse(
                "the cohere stream ended before its message-end event".into(),
            ));
        }
        Ok(())
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }
}
