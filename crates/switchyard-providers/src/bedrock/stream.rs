//! A ConverseStream answer (AWS event-stream frames) → OpenAI chunks, frame by frame.

use bytes::Bytes;
use serde::Deserialize;

use super::eventstream::{Decoder, Message as Frame};
use super::response::{finish_reason, WireUsage};
use crate::canonical::{ChunkWriter, FinishReason};
use crate::dialect::Output;
use crate::error::{ErrorBody, TranslateError};
use crate::translator::{Progress, StreamAnswer};

/// The status for an exception inside a stream.
fn status_for_exception(kind: &str) -> u16 {
    match kind.to_ascii_lowercase().as_str() {
        "throttlingexception" => 429,
        "validationexception" => 400,
        "modelstreamerrorexception" | "modelerrorexception" => 424,
        "modeltimeoutexception" => 408,
        "serviceunavailableexception" => 503,
        "accessdeniedexception" => 403,
        "resourcenotfoundexception" => 404,
        _ => 500,
    }
}

/// A ConverseStream answer, translated frame by frame into OpenAI chunks.
#[derive(Debug)]
pub struct StreamTranslator {
    provider: String,
    decoder: Decoder,
    writer: ChunkWriter,
    progress: Progress,
    /// Converse content-block index → OpenAI tool-call index, for tool-use blocks.
    tools: Vec<(u64, u32)>,
    /// Nothing more is written: an error ended the stream.
    ended: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    #[serde(default)]
    content_block_index: u64,
    #[serde(default)]
    start: Option<StartBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    tool_use: Option<ToolUseStart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStart {
    tool_use_id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    #[serde(default)]
    content_block_index: u64,
    delta: Option<DeltaBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaBody {
    text: Option<String>,
    tool_use: Option<ToolUseDelta>,
}

#[derive(Deserialize)]
struct ToolUseDelta {
    #[serde(default)]
    input: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ExceptionBody {
    #[serde(default, alias = "Message")]
    message: Option<String>,
}

fn payload<'a, T: Deserialize<'a>>(frame: &'a Frame, what: &str) -> Result<T, TranslateError> {
    serde_json::from_slice(&frame.payload)
        .map_err(|e| TranslateError::BadResponse(format!("ConverseStream {what} event: {e}")))
}

impl StreamTranslator {
    /// A translator writing through `writer`.
    pub fn new(provider: &str, writer: ChunkWriter) -> Self {
        Self {
            provider: provider.to_owned(),
            decoder: Decoder::new(),
            writer,
            progress: Progress::default(),
            tools: Vec::new(),
            ended: false,
        }
    }

    fn fail(&mut self, exception: &str, message: String, out: &mut Output) {
        let status = status_for_exception(exception);
        let error = ErrorBody::new(message, ErrorBody::kind_for_status(status), Some(exception))
            .with_provider(&self.provider);
        self.ended = true;
        self.progress.fail(status, error, out);
    }

    fn tool_index(&mut self, block: u64) -> u32 {
        if let Some((_, i)) = self.tools.iter().find(|(b, _)| *b == block) {
            return *i;
        }
        let i = self.tools.len() as u32;
        self.tools.push((block, i));
        i
    }

    fn handle(&mut self, frame: &Frame, out: &mut Output) -> Result<(), TranslateError> {
        match frame.header(":message-type") {
            Some("event") => {}
            Some("exception") => {
                let kind = frame.header(":exception-type").unwrap_or("exception");
                let message = serde_json::from_slice::<ExceptionBody>(&frame.payload)
                    .ok()
                    .and_then(|b| b.message)
                    .unwrap_or_else(|| String::from_utf8_lossy(&frame.payload).into_owned());
                self.fail(kind, message, out);
                return Ok(());
            }
            Some("error") => {
                let kind = frame.header(":error-code").unwrap_or("error").to_owned();
                let message = frame
                    .header(":error-message")
                    .unwrap_or("event stream error")
                    .to_owned();
                self.fail(&kind, message, out);
                return Ok(());
            }
            _ => return Ok(()),
        }
        self.progress.healthy();
        match frame.header(":event-type").unwrap_or_default() {
            "messageStart" => self.writer.start(out),
            "contentBlockStart" => {
                let start: BlockStart = payload(frame, "contentBlockStart")?;
                if let Some(tu) = start.start.and_then(|s| s.tool_use) {
                    let i = self.tool_index(start.content_block_index);
                    self.writer
                        .tool_call_start(i, &tu.tool_use_id, &tu.name, out);
                }
            }
            "contentBlockDelta" => {
                let d: BlockDelta = payload(frame, "contentBlockDelta")?;
                let Some(delta) = d.delta else {
                    return Ok(());
                };
                if let Some(t) = delta.text {
                    self.writer.content(&t, out);
                }
                if let Some(tu) = delta.tool_use {
                    let Some(&(_, i)) =
                        self.tools.iter().find(|(b, _)| *b == d.content_block_index)
                    else {
                        return Err(TranslateError::BadResponse(
                            "ConverseStream tool input for a block that never started".into(),
                        ));
                    };
                    self.writer.tool_call_arguments(i, &tu.input, out);
                }
            }
            "messageStop" => {
                let stop: MessageStop = payload(frame, "messageStop")?;
                let reason = stop
                    .stop_reason
                    .as_deref()
                    .map_or(FinishReason::Stop, finish_reason);
                self.writer.finish(reason, out);
            }
            "metadata" => {
                let m: Metadata = payload(frame, "metadata")?;
                if let Some(u) = m.usage {
                    self.progress.usage = Some(u.into());
                }
            }
            // contentBlockStop, and events added after this was written.
            _ => {}
        }
        Ok(())
    }
}

impl StreamAnswer for StreamTranslator {
    fn buffered(&self) -> usize {
        self.decoder.pending_bytes()
    }

    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        self.decoder.push(&chunk);
        while let Some(frame) = self
            .decoder
            .next_message()
            .map_err(|e| TranslateError::BadResponse(e.to_string()))?
        {
            self.handle(&frame, out)?;
            if self.ended {
                break;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        if self.decoder.pending_bytes() > 0 {
            return Err(TranslateError::BadResponse(
                "ConverseStream ended inside an event-stream message".into(),
            ));
        }
        if !self.writer.is_finished() {
            self.fail(
                "modelStreamErrorException",
                "the ConverseStream answer ended before messageStop".into(),
                out,
            );
            return Ok(());
        }
        self.ended = true;
        self.writer.done(self.progress.usage, out);
        Ok(())
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }
}
