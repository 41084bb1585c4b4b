//! Anthropic's Messages API (`POST /v1/messages`) served through canonical chat.
//!
//! ## Request → chat
//!
//! | Messages | chat |
//! |---|---|
//! | `model`, `max_tokens` (required, ≥ 1) | `model`, `max_completion_tokens` (dialects that need `max_tokens` rename it) |
//! | `system` (string or text blocks) | a first `system` message (a string, or text parts) |
//! | user `text` / `image` (`base64` → data URL, `url`) / `document` | `text` / `image_url` / `file` parts |
//! | `document` PDF (`base64`) | `file` part with `file_data` `data:application/pdf;base64,…` and `filename` = `title` or `document.pdf`; the target's dialect sends it or answers a clear 400 |
//! | `document` plain text | a text part (`title`, blank line, text) |
//! | `tool_result` (string or text/image blocks, `is_error`) | a `tool` message per result, before the rest of the turn; images move to the user message after them; `is_error` becomes an `Error: ` prefix |
//! | assistant `text` / `tool_use` | `content` (joined) / `tool_calls` (arguments = the input's JSON text) |
//! | assistant `thinking` / `redacted_thinking` | dropped (no chat field; signatures mean nothing elsewhere) |
//! | `tools` (`name`, `description`, `input_schema`, `strict`) | function tools (`parameters` = `input_schema`, copied byte for byte) |
//! | `tool_choice` `auto` / `any` / `tool` / `none` | `auto` / `required` / `{"type":"function",…}` / `none` |
//! | `disable_parallel_tool_use: true` | `parallel_tool_calls: false` (when tools are given) |
//! | `stop_sequences`, `temperature`, `top_p`, `top_k` | `stop`, `temperature`, `top_p`, `top_k` (dialects without `top_k` refuse it) |
//! | `metadata.user_id` | `user` |
//! | `thinking` `enabled` + `budget_tokens` | `reasoning_effort`: < 4,096 `low`, < 16,384 `medium`, else `high` ([`effort_for_budget`]) |
//! | `thinking` `adaptive` / `disabled` | nothing (the provider's default) |
//! | `output_config.effort` (wins over `thinking`) | `reasoning_effort` (`max` → `xhigh`) |
//! | `output_config.format` `json_schema` | `response_format` `json_schema` named `output` |
//! | `stream: true` | `stream: true`, `stream_options.include_usage: true` |
//! | `cache_control` (anywhere), `service_tier` | ignored: they steer caching and scheduling, not the answer |
//!
//! Refused with a 400 naming the member: server tools (`tools[i].type` other than
//! `custom`), image or document sources other than the above (uploaded files, document
//! URLs), document `context` and enabled `citations`, a final assistant message (a prefill:
//! chat models answer it instead of continuing it), unknown block types and members, and
//! every other top-level field (`container`, `mcp_servers`, `context_management`, …).
//! Anthropic targets that need those take the body untranslated
//! ([`crate::inbound::passthrough`]).
//!
//! ## Chat output → response
//!
//! `stop` → `end_turn` (`tool_use` when tool calls came with it), `length` → `max_tokens`,
//! `tool_calls` → `tool_use`, `content_filter` → `refusal`; `stop_sequence` is always null
//! (chat does not say which stop sequence matched). Usage: `input_tokens` = prompt tokens
//! minus cached ones, `cache_read_input_tokens` = cached, `output_tokens` = completion.
//! Refusal text becomes a text block. The stream's shape is documented on [`Sink`].

mod request;
mod response;

pub use request::{effort_for_budget, to_chat};
pub use response::{error_event, Render, Sink};
