//! The access log: one JSON line per request (`target: access`), registered when
//! `log.access_log` is on. Carries the gateway key's name, never a key.

use switchyard_pipeline::{Hooks, RequestCx, RequestHead, Stage};

/// The stage writing the access log.
pub struct AccessLog;

impl Stage for AccessLog {
    fn name(&self) -> &str {
        "access_log"
    }

    fn hooks(&self) -> Hooks {
        Hooks::ON_COMPLETE
    }

    fn on_complete(&self, cx: &mut RequestCx, head: &RequestHead) {
        if !log::log_enabled!(target: "access", log::Level::Info) {
            return;
        }
        let model = cx.model.as_deref().unwrap_or("");
        // Client-chosen text: bounded.
        let model = match model.char_indices().nth(200) {
            Some((i, _)) => &model[..i],
            None => model,
        };
        let usage = cx.usage.unwrap_or_default();
        log::info!(target: "access",
            request_id = cx.request_id.as_str(),
            method = head.method.as_str(),
            path = head.uri.path(),
            status = cx.final_status(),
            route = &*cx.route,
            provider = &*cx.provider,
            model = model,
            stream = cx.stream,
            attempts = cx.attempts,
            duration_ms = cx.start.elapsed().as_secs_f64() * 1000.0,
            ttfb_ms = cx.first_byte.map_or(0.0, |t| t.as_secs_f64() * 1000.0),
            prompt_tokens = usage.prompt_tokens,
            completion_tokens = usage.completion_tokens,
            error = cx.error.unwrap_or(""),
            detail = cx.detail.unwrap_or(""),
            key = cx.key.as_ref().map_or("", |k| &*k.name);
            "request");
    }
}
