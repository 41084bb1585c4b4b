//! OpenAI's API and the family of providers that copy it: the request passes through with at
//! most `model` (and, for token accounting, `stream_options`) rewritten; responses pass
//! through byte for byte while the translator watches for usage and for an error in the
//! first stream event.

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE};
use http::HeaderValue;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::compat;
use crate::dialect::{
    Call, Dialect, Output, ProviderEndpoint, ResponseTranslator, UpstreamRequest, Verdict,
};
use crate::endpoint::Endpoint;
use crate::envelope::Edit;
use crate::error::{ErrorBody, TranslateError};
use crate::headers;
use crate::sse::{data_event, SseFramer};
use crate::usage::{find_usage, Tail, Usage};

/// The OpenAI dialect.
#[derive(Debug)]
pub struct OpenAi;

/// How many trailing bytes of a passthrough JSON body are kept to read `usage` from.
const USAGE_TAIL_BYTES: usize = 4096;

impl Dialect for OpenAi {
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        let path = format!("{}{}", provider.base_path, call.endpoint.suffix());
        passthrough_request(provider, call, path, wants_injected_usage(provider, call))
    }

    fn response_translator(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Box<dyn ResponseTranslator> {
        passthrough_translator(call, wants_injected_usage(provider, call))
    }
}

/// The request for an API that takes OpenAI's body as is (OpenAI, Azure OpenAI, the
/// compatible family): the client's body with at most `model` rewritten and, when
/// `inject_usage`, `stream_options.include_usage` set, sent to `path`.
pub fn passthrough_request(
    provider: &ProviderEndpoint,
    call: &Call<'_>,
    path: String,
    inject_usage: bool,
) -> Result<UpstreamRequest, TranslateError> {
    let model_json;
    let mut edits: Vec<Edit<'_>> = Vec::with_capacity(2);
    if call.body.get_str("model").ok().flatten().as_deref() != Some(call.model) {
        model_json = json_string(call.model);
        edits.push(Edit::Set("model", &model_json));
    }
    let stream_options;
    if inject_usage {
        stream_options = with_include_usage(call.body.get_raw("stream_options"))?;
        edits.push(Edit::Set("stream_options", &stream_options));
    }
    let quirk_edits = compat::edits(provider.kind, &provider.name, call.endpoint, call.body)?;
    for (key, value) in &quirk_edits {
        edits.push(match value {
            Some(v) => Edit::Set(key, v),
            None => Edit::Remove(key),
        });
    }
    let (body, content_type) = match call.form {
        Some(form) => {
            // The form's text fields arrive as `call.body`; `model` is set here (indexed as
            // written: no second parse).
            let fields = call.body.apply(&edits);
            let ct = format!("multipart/form-data; boundary={}", form.boundary());
            let ct = HeaderValue::from_str(&ct).map_err(|_| TranslateError::InvalidRequest {
                message: "the multipart boundary is not a valid header value".into(),
                param: None,
            })?;
            (form.rebuild(&fields), ct)
        }
        None => (
            call.body.rewrite(&edits),
            HeaderValue::from_static("application/json"),
        ),
    };

    let mut hs = Vec::with_capacity(5 + provider.headers.len());
    hs.push((CONTENT_TYPE, content_type));
    hs.push(headers::fixed(
        ACCEPT,
        if call.stream {
            "text/event-stream"
        } else if call.endpoint == Endpoint::AudioSpeech {
            "*/*"
        } else {
            "application/json"
        },
    ));
    // Bodies are inspected on the way back (usage, stream errors): ask for them unencoded.
    hs.push(headers::fixed(ACCEPT_ENCODING, "identity"));
    hs.extend(headers::credential(provider, call.client_key)?);
    hs.extend(provider.headers.iter().cloned());
    Ok(UpstreamRequest {
        method: call.endpoint.method(),
        path,
        headers: hs,
        body,
    })
}

/// The translator for an OpenAI-format answer; `strip_usage_chunk` when the request had
/// usage injected that the client did not ask for.
pub fn passthrough_translator(
    call: &Call<'_>,
    strip_usage_chunk: bool,
) -> Box<dyn ResponseTranslator> {
    if call.stream {
        let mut t = SsePassthrough::new(strip_usage_chunk);
        // Chat and completions streams end with `data: [DONE]`; the Responses API's end with
        // its `response.completed` event, read by the client.
        t.require_done = matches!(
            call.endpoint,
            Endpoint::ChatCompletions | Endpoint::Completions
        );
        Box::new(t)
    } else {
        let json = matches!(
            call.endpoint,
            Endpoint::ChatCompletions | Endpoint::Completions | Endpoint::Embeddings
        );
        Box::new(JsonPassthrough::new(json))
    }
}

/// True when the gateway adds `stream_options.include_usage` that the client did not ask for.
pub fn wants_injected_usage(provider: &ProviderEndpoint, call: &Call<'_>) -> bool {
    // Only chat and completions streams take `stream_options.include_usage`.
    let takes_it = matches!(
        call.endpoint,
        Endpoint::ChatCompletions | Endpoint::Completions
    );
    if !(takes_it && provider.stream_usage && call.stream) {
        return false;
    }
    !call.include_usage()
}

fn with_include_usage(existing: Option<&str>) -> Result<Vec<u8>, TranslateError> {
    let mut map = match existing {
        None | Some("null") => serde_json::Map::new(),
        Some(raw) => serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw)
            .map_err(|_| TranslateError::InvalidRequest {
                message: "`stream_options` must be an object".into(),
                param: Some("stream_options".into()),
            })?,
    };
    map.insert("include_usage".into(), serde_json::Value::Bool(true));
    serde_json::to_vec(&map).map_err(|e| TranslateError::InvalidRequest {
        message: e.to_string(),
        param: Some("stream_options".into()),
    })
}

fn json_string(s: &str) -> Vec<u8> {
    // Encoding a &str cannot fail.
    serde_json::to_vec(s).unwrap_or_else(|_| b"\"\"".to_vec())
}

/// A non-streamed body, forwarded as it arrives; usage is read from its tail.
///
/// With `check_json` (the JSON endpoints) the verdict waits for the end of the body, which
/// must look like a JSON object or array (its first and last non-blank bytes): a 200 whose
/// body is an HTML page, plain text or nothing is an attempt failure, which may fail over —
/// not a success passed on. A structural check, not a parse: the body is not held twice.
#[derive(Debug)]
pub struct JsonPassthrough {
    tail: Tail,
    usage: Option<Usage>,
    check_json: bool,
    first: Option<u8>,
    last: Option<u8>,
    verdict: Verdict,
}

impl JsonPassthrough {
    /// A passthrough; `check_json` for bodies that must be JSON.
    pub fn new(check_json: bool) -> Self {
        Self {
            tail: Tail::new(USAGE_TAIL_BYTES),
            usage: None,
            check_json,
            first: None,
            last: None,
            verdict: if check_json {
                Verdict::Pending
            } else {
                Verdict::Healthy
            },
        }
    }
}

impl ResponseTranslator for JsonPassthrough {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        if self.check_json {
            let mut bytes = chunk.iter().copied().filter(|b| !b.is_ascii_whitespace());
            if self.first.is_none() {
                self.first = bytes.next();
            }
            if let Some(b) = chunk
                .iter()
                .rev()
                .copied()
                .find(|b| !b.is_ascii_whitespace())
            {
                self.last = Some(b);
            }
        }
        self.tail.push(&chunk);
        out.push(chunk);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Output) -> Result<(), TranslateError> {
        self.usage = find_usage(self.tail.bytes());
        if self.verdict == Verdict::Pending {
            let json = matches!(
                (self.first, self.last),
                (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']'))
            );
            self.verdict = if json {
                Verdict::Healthy
            } else {
                Verdict::Failed {
                    status: 502,
                    error: ErrorBody::new(
                        "the provider answered with a success status but a body that is not JSON",
                        "upstream_error",
                        Some("bad_upstream_response"),
                    ),
                }
            };
        }
        Ok(())
    }

    fn verdict(&self) -> Verdict {
        self.verdict.clone()
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn is_passthrough(&self) -> bool {
        true
    }
}

/// An OpenAI SSE stream. Chunks are forwarded untouched unless the gateway injected
/// `include_usage`, in which case events are re-emitted one by one so the extra usage-only
/// chunk can be withheld from the client.
#[derive(Debug)]
pub struct SsePassthrough {
    framer: SseFramer,
    strip_usage_chunk: bool,
    verdict: Verdict,
    usage: Option<Usage>,
    /// `data: [DONE]` was seen: the stream is complete.
    done: bool,
    /// A stream without `data: [DONE]` is incomplete (chat and completions streams).
    pub require_done: bool,
}

impl SsePassthrough {
    /// A translator; `strip_usage_chunk` when the gateway asked for usage the client did not.
    pub fn new(strip_usage_chunk: bool) -> Self {
        Self {
            framer: SseFramer::new(),
            strip_usage_chunk,
            verdict: Verdict::Pending,
            usage: None,
            done: false,
            require_done: true,
        }
    }

    fn observe(&mut self, data: &Bytes, out: &mut Output) {
        if data.as_ref() == b"[DONE]" {
            self.done = true;
        }
        if self.verdict == Verdict::Pending {
            self.verdict = first_event_verdict(data);
        }
        let mut forward = true;
        if let Some(u) = find_usage(data) {
            self.usage = Some(u);
            forward = !(self.strip_usage_chunk && has_no_choices(data));
        }
        if self.strip_usage_chunk && forward {
            out.push(data_event(data));
        }
    }

    fn drain(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        while let Some(event) = self.framer.next_event().map_err(stream_too_large)? {
            self.observe(&event.data, out);
        }
        Ok(())
    }
}

impl ResponseTranslator for SsePassthrough {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        self.framer.push(&chunk).map_err(stream_too_large)?;
        if !self.strip_usage_chunk {
            out.push(chunk);
        }
        self.drain(out)
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        self.drain(out)?;
        if let Some(event) = self.framer.finish().map_err(stream_too_large)? {
            self.observe(&event.data, out);
        }
        if self.require_done && !self.done {
            // Closed cleanly but cut short: before the verdict the attempt fails (and may fail
            // over); after it the client's stream ends with an error event, never looking
            // complete.
            return Err(TranslateError::BadResponse(
                "the provider's stream ended before `data: [DONE]`".into(),
            ));
        }
        if self.verdict == Verdict::Pending {
            self.verdict = Verdict::Healthy;
        }
        Ok(())
    }

    fn verdict(&self) -> Verdict {
        self.verdict.clone()
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn buffered(&self) -> usize {
        self.framer.pending_bytes()
    }

    fn is_passthrough(&self) -> bool {
        !self.strip_usage_chunk
    }
}

fn stream_too_large(e: crate::sse::SseTooLarge) -> TranslateError {
    TranslateError::BadResponse(e.to_string())
}

fn has_no_choices(data: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        choices: Option<Vec<IgnoredAny>>,
    }
    serde_json::from_slice::<Probe>(data)
        .map(|p| p.choices.is_none_or(|c| c.is_empty()))
        .unwrap_or(false)
}

/// Judges a stream by its first event: an `{"error": ...}` event means the provider failed
/// even though it answered 200.
pub fn first_event_verdict(data: &[u8]) -> Verdict {
    if memchr::memmem::find(data, b"\"error\"").is_none() {
        return Verdict::Healthy;
    }
    #[derive(Deserialize)]
    struct Probe {
        error: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Probe>(data) {
        Ok(Probe { error: Some(e) }) if !e.is_null() => {
            let body = serde_json::to_vec(&serde_json::json!({ "error": e })).unwrap_or_default();
            let error = ErrorBody::from_openai_json(&body)
                .unwrap_or_else(|| ErrorBody::new(e.to_string(), "upstream_error", None));
            Verdict::Failed {
                status: status_for_stream_error(&error),
                error,
            }
        }
        _ => Verdict::Healthy,
    }
}

/// The status to report for an error that arrived inside a 200 stream.
fn status_for_stream_error(e: &ErrorBody) -> u16 {
    let text = format!("{} {}", e.kind, e.code.as_deref().unwrap_or(""));
    if text.contains("rate_limit") {
        429
    } else if text.contains("overloaded") {
        503
    } else if text.contains("invalid_request") {
        400
    } else {
        502
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::JsonEnvelope;
    use crate::kind::AuthStyle;
    use crate::kind::ProviderKind;
    use crate::secret::Secret;
    use http::header::AUTHORIZATION;
    use std::time::SystemTime;

    fn provider(stream_usage: bool) -> ProviderEndpoint {
        ProviderEndpoint {
            name: "local".into(),
            kind: ProviderKind::OpenAi,
            authority: "127.0.0.1:9000".into(),
            base_path: "/v1".into(),
            api_key: Secret::new("sk-test"),
            headers: vec![],
            stream_usage,
            auth: AuthStyle::Bearer,
            options: Default::default(),
        }
    }

    fn call<'a>(body: &'a JsonEnvelope, model: &'a str, stream: bool) -> Call<'a> {
        Call {
            endpoint: Endpoint::ChatCompletions,
            body,
            model,
            stream,
            form: None,
            client_key: None,
            now: SystemTime::UNIX_EPOCH,
        }
    }

    fn env(s: &str) -> JsonEnvelope {
        JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    #[test]
    fn same_model_passes_the_body_through_untouched() {
        let body = env(r#"{"model":"gpt-4o","messages":[]}"#);
        let req = OpenAi
            .build_request(&provider(false), &call(&body, "gpt-4o", false))
            .unwrap();
        assert_eq!(req.body.as_ptr(), body.raw().as_ptr());
        assert_eq!(req.path, "/v1/chat/completions");
        assert_eq!(req.method, "POST");
        let auth = req
            .headers
            .iter()
            .find(|(n, _)| n == AUTHORIZATION)
            .unwrap();
        assert_eq!(auth.1, "Bearer sk-test");
        assert!(format!("{:?}", req.headers).contains("Sensitive"));
        assert!(!format!("{:?}", req.headers).contains("sk-test"));
    }

    #[test]
    fn alias_is_rewritten_and_usage_requested_for_streams() {
        let body = env(r#"{"model":"fast","stream":true,"messages":[]}"#);
        let req = OpenAi
            .build_request(&provider(true), &call(&body, "gpt-4o-mini", true))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(v["model"], "gpt-4o-mini");
        assert_eq!(v["stream_options"]["include_usage"], true);
    }

    #[test]
    fn client_key_wins_over_configured_key() {
        let body = env(r#"{"model":"m"}"#);
        let mut c = call(&body, "m", false);
        c.client_key = Some("sk-client");
        let req = OpenAi.build_request(&provider(false), &c).unwrap();
        let auth = req
            .headers
            .iter()
            .find(|(n, _)| n == AUTHORIZATION)
            .unwrap();
        assert_eq!(auth.1, "Bearer sk-client");
    }

    #[test]
    fn passthrough_stream_is_forwarded_and_usage_read() {
        let mut t = SsePassthrough::new(false);
        let mut out = Vec::new();
        let input = b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n";
        t.push(Bytes::from_static(&input[..20]), &mut out).unwrap();
        assert_eq!(t.verdict(), Verdict::Pending);
        t.push(Bytes::from_static(&input[20..]), &mut out).unwrap();
        t.finish(&mut out).unwrap();
        assert_eq!(t.verdict(), Verdict::Healthy);
        assert_eq!(out.concat(), input.to_vec());
        assert_eq!(t.usage().unwrap().total_tokens, 4);
    }

    #[test]
    fn injected_usage_chunk_is_hidden_from_the_client() {
        let mut t = SsePassthrough::new(true);
        let mut out = Vec::new();
        let input = b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n";
        t.push(Bytes::from_static(input), &mut out).unwrap();
        t.finish(&mut out).unwrap();
        let text = String::from_utf8(out.concat()).unwrap();
        assert_eq!(
            text,
            "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\ndata: [DONE]\n\n"
        );
        assert_eq!(t.usage().unwrap().prompt_tokens, 3);
    }

    #[test]
    fn an_error_as_first_event_fails_the_attempt() {
        let v = first_event_verdict(
            br#"{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}"#,
        );
        match v {
            Verdict::Failed { status, error } => {
                assert_eq!(status, 429);
                assert_eq!(error.message, "Rate limit reached");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            first_event_verdict(br#"{"choices":[{"delta":{"content":"\"error\""}}]}"#),
            Verdict::Healthy
        );
    }

    #[test]
    fn json_passthrough_reads_usage_from_the_tail() {
        let mut t = JsonPassthrough::new(true);
        let mut out = Vec::new();
        let padding = "x".repeat(10_000);
        let body = format!(
            r#"{{"choices":[{{"message":{{"content":"{padding}"}}}}],"usage":{{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}}}"#
        );
        for piece in body.as_bytes().chunks(777) {
            t.push(Bytes::copy_from_slice(piece), &mut out).unwrap();
        }
        t.finish(&mut out).unwrap();
        assert_eq!(out.concat(), body.as_bytes());
        assert_eq!(t.usage().unwrap().total_tokens, 3);
    }

    #[test]
    fn a_success_whose_body_is_not_json_fails_the_attempt() {
        for (body, json) in [
            (&b"  {\"id\":\"x\"}\n"[..], true),
            (b"[1,2]", true),
            (b"<html>Bad gateway</html>", false),
            (b"upstream connect error", false),
            (b"", false),
            (b"{\"cut\":", false),
        ] {
            let mut t = JsonPassthrough::new(true);
            let mut out = Vec::new();
            for piece in body.chunks(3) {
                t.push(Bytes::copy_from_slice(piece), &mut out).unwrap();
            }
            assert_eq!(t.verdict(), Verdict::Pending);
            t.finish(&mut out).unwrap();
            assert_eq!(
                matches!(t.verdict(), Verdict::Healthy),
                json,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        // Bodies that are not JSON by design (speech audio) are passed as they come.
        let mut t = JsonPassthrough::new(false);
        assert_eq!(t.verdict(), Verdict::Healthy);
        t.finish(&mut Vec::new()).unwrap();
        assert_eq!(t.verdict(), Verdict::Healthy);
    }

    #[test]
    fn a_stream_cut_short_before_done_is_an_error() {
        let complete = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
        for (text, whole) in [(complete, true), (&complete[..complete.len() - 16], false)] {
            let mut t = SsePassthrough::new(false);
            let mut out = Vec::new();
            t.push(Bytes::copy_from_slice(text.as_bytes()), &mut out)
                .unwrap();
            assert_eq!(t.finish(&mut out).is_ok(), whole, "{text:?}");
        }
    }
}
