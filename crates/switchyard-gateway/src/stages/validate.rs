//! Request validation (`validation:`, on by default): the body checked against OpenAI's
//! request schema and the configured bounds before any provider is asked, so a malformed
//! request ends with a 400 naming the exact `param` and OpenAI's error `code`. The checks are
//! `switchyard_providers::validate` (one pass over the body's bytes); a key's own `max_tokens`
//! cap (`auth.keys[].max_tokens`) lowers `validation.max_tokens` for its requests.

use std::collections::HashMap;
use std::sync::Arc;

use switchyard_config::{GatewayKey, Validation};
use switchyard_pipeline::{GatewayError, Hooks, RequestBody, RequestCx, RequestHead, Stage, Step};
use switchyard_providers::validate::{validate, Limits};
use switchyard_providers::Endpoint;

/// The `before_route` stage that validates request bodies.
pub struct Validate {
    limits: Limits,
    /// The limits of keys with a `max_tokens` cap of their own, by key name.
    per_key: HashMap<Arc<str>, Limits>,
}

impl Validate {
    /// A stage enforcing `config`, with the caps of `keys`.
    pub fn new(config: &Validation, keys: &[GatewayKey]) -> Self {
        let limits = config.limits;
        let per_key = keys
            .iter()
            .filter_map(|k| {
                let cap = k.max_tokens?;
                let max_tokens = Some(limits.max_tokens.map_or(cap, |global| global.min(cap)));
                Some((
                    Arc::from(k.name.as_str()),
                    Limits {
                        max_tokens,
                        ..limits
                    },
                ))
            })
            .collect();
        Self { limits, per_key }
    }

    fn limits(&self, cx: &RequestCx) -> &Limits {
        if self.per_key.is_empty() {
            return &self.limits;
        }
        cx.key
            .as_ref()
            .and_then(|k| self.per_key.get(&k.name))
            .unwrap_or(&self.limits)
    }
}

impl Stage for Validate {
    fn name(&self) -> &str {
        "validate"
    }

    fn hooks(&self) -> Hooks {
        Hooks::BEFORE_ROUTE
    }

    fn before_route<'a>(
        &'a self,
        cx: &'a mut RequestCx,
        _head: &'a RequestHead,
        body: &'a mut RequestBody,
    ) -> Step<'a> {
        let endpoint = match cx.endpoint {
            // Stages see Messages and Responses bodies translated to chat (the translation
            // already refused what its own format does not allow).
            Some(Endpoint::Messages | Endpoint::Responses) => Endpoint::ChatCompletions,
            Some(e) => e,
            None => return Step::CONTINUE,
        };
        match validate(endpoint, &body.json, self.limits(cx)) {
            Ok(()) => Step::CONTINUE,
            Err(e) => Step::fail(GatewayError::Refused {
                status: 400,
                code: e.code.as_str(),
                message: e.message,
                param: e.param,
                headers: Vec::new(),
            }),
        }
    }
}
