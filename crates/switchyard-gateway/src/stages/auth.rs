//! Gateway keys (`auth.keys`): every request must present one, as `Authorization: Bearer`,
//! `x-switchyard-api-key` or `x-portkey-api-key`. Registered only when keys are configured.

use std::sync::Arc;

use switchyard_config::GatewayKey;
use switchyard_pipeline::{GatewayError, Hooks, KeyIdentity, RequestCx, RequestHead, Stage, Step};
use switchyard_providers::Secret;

use crate::intake::{bearer, first_header, names};

/// The `admit` stage that checks gateway keys.
pub struct Auth {
    keys: Vec<(Secret, Arc<KeyIdentity>)>,
}

impl Auth {
    /// A stage accepting `keys`.
    pub fn new(keys: &[GatewayKey]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|k| {
                    let id = KeyIdentity {
                        name: Arc::from(k.name.as_str()),
                        metadata: Default::default(),
                    };
                    (k.key.clone(), Arc::new(id))
                })
                .collect(),
        }
    }

    fn check(&self, cx: &mut RequestCx, head: &RequestHead) -> Result<(), GatewayError> {
        let dedicated = first_header(head, &names::API_KEY);
        let (presented, from_authorization) = match (dedicated, bearer(head)) {
            (Some(k), _) => (k, false),
            (None, Some(k)) => (k, true),
            (None, None) => {
                return Err(GatewayError::Unauthorized(
                    "missing gateway API key: send it as `Authorization: Bearer <key>` or `x-switchyard-api-key`",
                ))
            }
        };
        // Every key is compared, each in constant time, so the time taken says nothing about
        // which key (or how much of one) matched.
        let mut found = None;
        for (secret, id) in &self.keys {
            if secret.ct_eq(presented.as_bytes()) {
                found = Some(id);
            }
        }
        let id = found.ok_or(GatewayError::Unauthorized("invalid gateway API key"))?;
        cx.key = Some(id.clone());
        cx.authorization_is_gateway_key = from_authorization;
        Ok(())
    }
}

impl Stage for Auth {
    fn name(&self) -> &str {
        "auth"
    }

    fn hooks(&self) -> Hooks {
        Hooks::ADMIT
    }

    fn admit<'a>(&'a self, cx: &'a mut RequestCx, head: &'a RequestHead) -> Step<'a> {
        match self.check(cx, head) {
            Ok(()) => Step::CONTINUE,
            Err(e) => Step::fail(e),
        }
    }
}
