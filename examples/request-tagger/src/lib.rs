//! An example Switchyard plugin: stamps a header on every provider request and refuses the
//! models it lists. It is deliberately small — copy it to start your own (see README.md).

use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use switchyard_pipeline::{
    AttemptCx, AttemptFlow, GatewayError, Hooks, Plugin, RequestBody, RequestCx, RequestHead,
    Stage, Step,
};

/// The plugin, as the binary registers it.
pub const PLUGIN: Plugin = Plugin {
    name: "request-tagger",
    about: "stamps a header on provider requests; refuses listed models",
    build,
};

/// The plugin's `with:` settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// Header to set on every provider request.
    header: Option<String>,
    /// Its value; `{key}`, `{route}` and `{request_id}` are replaced.
    #[serde(default)]
    value: String,
    /// Models (as clients send them) this gateway refuses.
    #[serde(default)]
    refuse_models: Vec<String>,
}

/// The stage.
pub struct RequestTagger {
    header: Option<HeaderName>,
    value: String,
    refuse_models: Vec<String>,
}

fn build(settings: &serde_json::Value) -> Result<Arc<dyn Stage>, String> {
    let s: Settings = serde_json::from_value(settings.clone()).map_err(|e| e.to_string())?;
    let header = match s.header {
        Some(h) => Some(
            HeaderName::try_from(h.as_str()).map_err(|_| format!("`{h}` is not a header name"))?,
        ),
        None => None,
    };
    if header.is_none() && s.refuse_models.is_empty() {
        return Err("set `header` or `refuse_models`".into());
    }
    Ok(Arc::new(RequestTagger {
        header,
        value: s.value,
        refuse_models: s.refuse_models,
    }))
}

impl RequestTagger {
    fn value_for(&self, cx: &RequestCx) -> String {
        let key = cx.key.as_ref().map_or("anonymous", |k| &*k.name);
        self.value
            .replace("{key}", key)
            .replace("{route}", &cx.route)
            .replace("{request_id}", &cx.request_id)
    }
}

impl Stage for RequestTagger {
    fn name(&self) -> &str {
        "request-tagger"
    }

    fn hooks(&self) -> Hooks {
        let mut hooks = Hooks::NONE;
        if self.header.is_some() {
            hooks = hooks | Hooks::BEFORE_ATTEMPT;
        }
        if !self.refuse_models.is_empty() {
            hooks = hooks | Hooks::BEFORE_ROUTE;
        }
        hooks
    }

    fn before_route<'a>(
        &'a self,
        cx: &'a mut RequestCx,
        _head: &'a RequestHead,
        _body: &'a mut RequestBody,
    ) -> Step<'a> {
        let model = cx.model.as_deref().unwrap_or("");
        if self.refuse_models.iter().any(|m| m == model) {
            return Step::fail(GatewayError::Refused {
                status: 403,
                code: "model_refused",
                message: format!("the model `{model}` is not available on this gateway"),
                param: Some("model".into()),
                headers: Vec::new(),
            });
        }
        Step::CONTINUE
    }

    fn before_attempt(&self, cx: &mut RequestCx, attempt: &mut AttemptCx<'_>) -> AttemptFlow {
        let Some(name) = &self.header else {
            return AttemptFlow::Continue;
        };
        match HeaderValue::try_from(self.value_for(cx)) {
            Ok(v) => {
                attempt.request.headers.retain(|(n, _)| n != name);
                attempt.request.headers.push((name.clone(), v));
                AttemptFlow::Continue
            }
            Err(_) => AttemptFlow::Fail(GatewayError::Internal(
                "request-tagger: the header value is not valid in HTTP".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_pipeline::{Flow, JsonEnvelope, KeyIdentity, ProviderKind, UpstreamRequest};

    fn cx() -> RequestCx {
        let mut cx = RequestCx::new(&Arc::from("none"));
        cx.key = Some(Arc::new(KeyIdentity {
            name: Arc::from("search"),
            metadata: Default::default(),
        }));
        cx.route = Arc::from("fast");
        cx.model = Some("gpt-4-32k".into());
        cx
    }

    #[test]
    fn settings_are_checked() {
        assert!(build(&serde_json::json!({})).is_err());
        assert!(build(&serde_json::json!({"header": "bad header"})).is_err());
        assert!(build(&serde_json::json!({"header": "x-a", "colour": 1})).is_err());
        let stage = build(&serde_json::json!({"header": "x-a", "value": "v"})).unwrap();
        assert_eq!(stage.hooks(), Hooks::BEFORE_ATTEMPT);
    }

    #[test]
    fn stamps_the_header_and_refuses_models() {
        let stage = build(&serde_json::json!({
            "header": "x-cost-center", "value": "team-{key}-{route}", "refuse_models": ["gpt-4-32k"]
        }))
        .unwrap();
        let mut cx = cx();
        let mut req = UpstreamRequest {
            method: "POST",
            path: "/v1/chat/completions".into(),
            headers: Vec::new(),
            body: Default::default(),
        };
        let mut attempt = AttemptCx {
            provider: "p",
            kind: ProviderKind::ALL[0],
            model: "m",
            target_path: "config.targets[0]",
            retry: 0,
            request: &mut req,
        };
        assert!(matches!(
            stage.before_attempt(&mut cx, &mut attempt),
            AttemptFlow::Continue
        ));
        assert_eq!(req.headers[0].1, "team-search-fast");

        let head = http::Request::new(()).into_parts().0;
        let mut body = RequestBody {
            json: JsonEnvelope::empty(),
            form: None,
        };
        let Step::Ready(Flow::Fail(e)) = stage.before_route(&mut cx, &head, &mut body) else {
            panic!("expected a refusal")
        };
        assert_eq!(e.status(), 403);
        assert_eq!(e.label(), "model_refused");
    }
}
