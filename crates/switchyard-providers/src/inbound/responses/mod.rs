//! OpenAI's Responses API (`POST /v1/responses`) served through canonical chat, stateless.
//!
//! ## Request → chat
//!
//! | Responses | chat |
//! |---|---|
//! | `instructions` | a first `system` message |
//! | `input` string | one user message |
//! | `message` items (`type` optional), roles `user` / `assistant` / `system` / `developer` | messages of that role |
//! | `input_text`, `output_text` parts | text (assistant, system and developer turns joined into one string) |
//! | `input_image` (`image_url`, `detail`) | `image_url` part |
//! | `input_file` (`file_data`, `file_id`, `filename`) | `file` part (the target's dialect sends it or refuses it) |
//! | assistant `refusal` part | the assistant message's `refusal` |
//! | `function_call` items (`call_id`, `name`, `arguments`) | `tool_calls` of the preceding assistant message (or a new one) |
//! | `function_call_output` (`call_id`, `output` string or `input_text` parts) | a `tool` message |
//! | `reasoning` items | dropped (no chat field) |
//! | `tools` `{type:"function", name, description, parameters, strict}` (flat) | `{type:"function", function:{…}}` (nested) |
//! | `tool_choice` `none` / `auto` / `required` / `{type:"function", name}` | the same in chat's shape |
//! | `parallel_tool_calls` | the same (when tools are given) |
//! | `text.format` `text` / `json_object` / `json_schema` (`name`, `schema`, `description`, `strict`) | `response_format` |
//! | `text.verbosity` | `verbosity` |
//! | `reasoning.effort` | `reasoning_effort` (`summary` is ignored: chat returns no reasoning to summarise) |
//! | `max_output_tokens`, `temperature`, `top_p` | `max_completion_tokens`, `temperature`, `top_p` |
//! | `user`, else `safety_identifier` | `user` |
//! | `stream: true` | `stream: true`, `stream_options.include_usage: true` |
//! | `metadata` | not sent; echoed in the response |
//! | `prompt_cache_key`, `prompt_cache_retention`, `service_tier`, `stream_options` | ignored (caching, scheduling, stream obfuscation) |
//! | `store: false`, `background: false`, `truncation: "disabled"`, `include: ["reasoning.encrypted_content"]` | accepted (nothing to do) |
//!
//! Refused with a 400 naming the member: `store: true`, `previous_response_id`,
//! `conversation`, `prompt`, `item_reference` items and `background: true` (the gateway keeps
//! no responses); hosted tools (`web_search`, `file_search`, `computer_use_preview`, `mcp`,
//! …) and their `tool_choice`; images by `file_id`, files by `file_url`; images in
//! `function_call_output`; `truncation: "auto"`; other `include` values; `top_logprobs`,
//! `max_tool_calls` and every other field.
//!
//! ## Chat output → response
//!
//! The `response` object: `id` `resp_<chat id>`, `created_at` = chat `created`, `status`
//! `completed`, or `incomplete` with `incomplete_details.reason` `max_output_tokens`
//! (`length`) or `content_filter`; `output` = a `message` item (`output_text` and `refusal`
//! parts) per run of text and a `function_call` item per call, in the order produced;
//! `usage` with `input_tokens_details.cached_tokens` and
//! `output_tokens_details.reasoning_tokens`; the request's settings echoed. The stream's
//! shape is documented on [`Sink`].

mod request;
mod response;

pub use request::to_chat;
pub use response::{Render, Sink};
