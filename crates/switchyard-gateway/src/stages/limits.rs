//! Rate limits on requests and tokens (`auth.keys[].limits`, `routes.<r>.limits`,
//! `limits.per_user`, `limits.global`) and budgets in money (`budget:` on keys and routes).
//! Registered only when some limit or budget is configured.
//!
//! `before_route` (the key, route and user are then known) checks the budgets, then charges
//! one request and the estimated tokens (prompt bytes / 4 + `max_tokens`) to every limit
//! that applies — all or none — and writes OpenAI's `x-ratelimit-*` headers for the
//! tightest. `before_attempt` charges each upstream attempt after the first to the key's
//! request limit (a config that fans one request out pays for it). `on_complete` settles the
//! token estimate with the usage the provider reported (streams included) and adds the
//! request's cost to the budgets. Counting: [`super::counters`].

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use switchyard_config::limits::{Limits, OnStoreError, Period, Rate};
use switchyard_config::Config;
use switchyard_pipeline::{
    AttemptCx, AttemptFlow, GatewayError, Hooks, RequestBody, RequestCx, RequestHead, Stage, Step,
};

use super::counters::{now_ms, scope_id, Charge, Counters, Receipt, Standing};
use super::spend::Spend;

/// The header naming the end user when the body has no `user`.
const USER_HEADER: &str = "x-switchyard-user";

/// A scope's limits, with the counter ids they use.
#[derive(Clone, Copy, Default)]
struct Scope {
    requests: Option<(u64, Rate)>,
    tokens: Option<(u64, Rate)>,
}

impl Scope {
    fn new(kind: &str, name: &str, l: &Limits) -> Self {
        Self {
            requests: l.requests.map(|r| (scope_id(&[kind, name, "requests"]), r)),
            tokens: l.tokens.map(|r| (scope_id(&[kind, name, "tokens"]), r)),
        }
    }

    fn is_empty(&self) -> bool {
        self.requests.is_none() && self.tokens.is_none()
    }
}

/// Which scope a charge belongs to, for the refusal message.
#[derive(Clone, Copy)]
enum Whose {
    Global,
    Key,
    Route,
    User,
}

/// What the stage keeps between hooks of one request.
#[derive(Clone, Default)]
struct Held {
    /// Token charges and the estimate each was charged.
    tokens: Vec<(Receipt, u64)>,
}

/// The limits stage.
pub struct LimitsStage {
    counters: Arc<Counters>,
    global: Scope,
    per_user: Option<Limits>,
    keys: Vec<(Arc<str>, Scope)>,
    routes: Vec<(String, Scope)>,
    spend: Spend,
    deny_when_down: bool,
}

impl LimitsStage {
    /// The stage for `config`, over `counters`.
    pub fn new(config: &Config, counters: Arc<Counters>, spend: Spend) -> Self {
        Self {
            counters,
            global: Scope::new("global", "", &config.limits.global),
            per_user: (!config.limits.per_user.is_empty()).then_some(config.limits.per_user),
            keys: config
                .auth
                .iter()
                .map(|k| {
                    (
                        Arc::from(k.name.as_str()),
                        Scope::new("key", &k.name, &k.limits),
                    )
                })
                .filter(|(_, s)| !s.is_empty())
                .collect(),
            routes: config
                .routes
                .iter()
                .map(|r| (r.name.clone(), Scope::new("route", &r.name, &r.limits)))
                .filter(|(_, s)| !s.is_empty())
                .collect(),
            spend,
            deny_when_down: config
                .limits
                .store
                .as_ref()
                .is_some_and(|s| s.on_error == OnStoreError::Deny),
        }
    }

    /// The counters every replica shares (keys, routes, global, budgets), to follow from the
    /// start. Per-user counters are followed once charged.
    pub fn watched(config: &Config) -> Vec<(u64, Period)> {
        let mut out = Vec::new();
        let mut push = |s: Scope| {
            for (id, r) in [s.requests, s.tokens].into_iter().flatten() {
                out.push((id, r.per));
            }
        };
        push(Scope::new("global", "", &config.limits.global));
        for k in &config.auth {
            push(Scope::new("key", &k.name, &k.limits));
        }
        for r in &config.routes {
            push(Scope::new("route", &r.name, &r.limits));
        }
        out.extend(Spend::watched(config));
        out
    }

    fn key_scope(&self, cx: &RequestCx) -> Option<&Scope> {
        let name = &cx.key.as_ref()?.name;
        self.keys.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    fn route_scope(&self, cx: &RequestCx) -> Option<&Scope> {
        self.routes
            .iter()
            .find(|(n, _)| n.as_str() == &*cx.route)
            .map(|(_, s)| s)
    }

    fn check(
        &self,
        cx: &mut RequestCx,
        head: &RequestHead,
        body: &RequestBody,
    ) -> Result<(), GatewayError> {
        if self.deny_when_down && !self.counters.store_up() {
            return Err(GatewayError::Refused {
                status: 503,
                code: "limits_store_unavailable",
                message: "the shared limits store is unreachable and this gateway is configured to refuse requests until it returns".into(),
                param: None,
                headers: vec![("retry-after", "1".into())],
            });
        }
        let now = now_ms();
        self.spend.check(cx, now)?;

        let user_scope = match &self.per_user {
            Some(l) => user(head, body).map(|u| Scope::new("user", &u, l)),
            None => None,
        };
        let scopes: [(Whose, Option<&Scope>); 4] = [
            (Whose::Global, Some(&self.global)),
            (Whose::Key, self.key_scope(cx)),
            (Whose::Route, self.route_scope(cx)),
            (Whose::User, user_scope.as_ref()),
        ];
        let estimate = estimate_tokens(body);
        let mut charges: Vec<(Charge, Whose, bool)> = Vec::with_capacity(8);
        for (whose, scope) in scopes {
            let Some(s) = scope else { continue };
            if let Some((id, r)) = s.requests {
                charges.push((charge(id, r, 1), whose, false));
            }
            if let Some((id, r)) = s.tokens {
                charges.push((charge(id, r, estimate), whose, true));
            }
        }
        if charges.is_empty() {
            return Ok(());
        }
        let plain: Vec<Charge> = charges.iter().map(|(c, _, _)| *c).collect();
        let mut out = Vec::with_capacity(plain.len());
        if let Err((i, reset)) = self.counters.charge_all(&plain, now, &mut out) {
            let (c, whose, tokens) = charges[i];
            return Err(self.refusal(cx, c, whose, tokens, reset, estimate));
        }
        let mut tightest: [Option<Standing>; 2] = [None, None];
        let mut held = Held::default();
        for ((_, _, tokens), (standing, receipt)) in charges.iter().zip(out) {
            let slot = &mut tightest[usize::from(*tokens)];
            if slot.is_none_or(|t| standing.remaining < t.remaining) {
                *slot = Some(standing);
            }
            if *tokens {
                held.tokens.push((receipt, estimate));
            }
        }
        for (dim, s) in ["requests", "tokens"].into_iter().zip(tightest) {
            if let Some(s) = s {
                headers(cx, dim, s.limit, s.remaining, s.reset);
            }
        }
        if !held.tokens.is_empty() {
            cx.extensions.insert(held);
        }
        Ok(())
    }

    fn refusal(
        &self,
        cx: &mut RequestCx,
        c: Charge,
        whose: Whose,
        tokens: bool,
        reset: Duration,
        estimate: u64,
    ) -> GatewayError {
        let (dim, unit) = if tokens {
            ("tokens", "tokens")
        } else {
            ("requests", "requests")
        };
        headers(cx, dim, c.limit, 0, reset);
        let scope = match whose {
            Whose::Global => "this gateway".to_owned(),
            Whose::Key => match &cx.key {
                Some(k) => format!("gateway key `{}`", k.name),
                None => "this key".to_owned(),
            },
            Whose::Route => format!("route `{}`", cx.route),
            Whose::User => "this user".to_owned(),
        };
        let mut message = format!(
            "rate limit reached for {scope}: {} {unit} per {}; try again in {}",
            c.limit,
            c.period.name(),
            duration_text(reset)
        );
        if tokens && estimate > c.limit {
            message = format!(
                "this request's estimated {estimate} tokens (prompt and max_tokens) exceed the limit of {scope}: {} tokens per {}",
                c.limit,
                c.period.name()
            );
        }
        let secs = reset.as_millis().div_ceil(1000).max(1);
        GatewayError::Refused {
            status: 429,
            code: "rate_limit_exceeded",
            message,
            param: None,
            headers: vec![("retry-after", secs.to_string())],
        }
    }
}

fn charge(scope: u64, r: Rate, amount: u64) -> Charge {
    Charge {
        scope,
        period: r.per,
        limit: r.limit,
        amount,
    }
}

/// The end user: the body's `user`, else the `x-switchyard-user` header.
fn user(head: &RequestHead, body: &RequestBody) -> Option<String> {
    if let Ok(Some(u)) = body.json.get_str("user") {
        if !u.is_empty() {
            return Some(u);
        }
    }
    head.headers
        .get(USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Tokens a request may use, before it is sent: its prompt-carrying fields at 4 bytes a
/// token (the JSON as sent, so a slight overestimate) plus the completion cap it asks for.
fn estimate_tokens(body: &RequestBody) -> u64 {
    let j = &body.json;
    let prompt: usize = ["messages", "prompt", "input", "system", "tools"]
        .iter()
        .filter_map(|k| j.get_raw(k))
        .map(str::len)
        .sum();
    let completion = ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .iter()
        .find_map(|k| j.get_raw(k).and_then(|v| v.trim().parse::<u64>().ok()))
        .unwrap_or(0);
    (prompt as u64)
        .div_ceil(switchyard_providers::inbound::count_tokens::BYTES_PER_TOKEN)
        .saturating_add(completion)
        .max(1)
}

/// OpenAI's headers, built at compile time (`HeaderName::from_static` validates its input:
/// calling it per request costs more than the rest of the stage).
static REQUEST_HEADERS: [HeaderName; 3] = [
    HeaderName::from_static("x-ratelimit-limit-requests"),
    HeaderName::from_static("x-ratelimit-remaining-requests"),
    HeaderName::from_static("x-ratelimit-reset-requests"),
];
static TOKEN_HEADERS: [HeaderName; 3] = [
    HeaderName::from_static("x-ratelimit-limit-tokens"),
    HeaderName::from_static("x-ratelimit-remaining-tokens"),
    HeaderName::from_static("x-ratelimit-reset-tokens"),
];

/// OpenAI's trio for one dimension, replacing any set earlier for this request.
fn headers(cx: &mut RequestCx, dim: &str, limit: u64, remaining: u64, reset: Duration) {
    let names = if dim == "requests" {
        &REQUEST_HEADERS
    } else {
        &TOKEN_HEADERS
    };
    let values = [
        HeaderValue::from(limit),
        HeaderValue::from(remaining),
        HeaderValue::from_str(&duration_text(reset)).unwrap_or(HeaderValue::from_static("0s")),
    ];
    if !cx.response_headers.is_empty() {
        cx.response_headers.retain(|(h, _)| !names.contains(h));
    }
    cx.response_headers
        .extend(names.iter().cloned().zip(values));
}

/// A duration as OpenAI writes resets: `20ms`, `1s`, `6m0s`, `1h2m3.5s` (integer arithmetic
/// only: this runs on every limited request).
pub(super) fn duration_text(d: Duration) -> String {
    use std::fmt::Write;
    let ms = d.as_millis();
    let mut out = String::with_capacity(16);
    if ms < 1000 {
        let _ = write!(out, "{ms}ms");
        return out;
    }
    let (h, m) = (ms / 3_600_000, (ms / 60_000) % 60);
    if h > 0 {
        let _ = write!(out, "{h}h{m}m");
    } else if m > 0 {
        let _ = write!(out, "{m}m");
    }
    let (s, frac) = ((ms % 60_000) / 1000, ms % 1000);
    let _ = write!(out, "{s}");
    let _ = match frac {
        0 => Ok(()),
        f if f % 100 == 0 => write!(out, ".{}", f / 100),
        f if f % 10 == 0 => write!(out, ".{:02}", f / 10),
        f => write!(out, ".{f:03}"),
    };
    out.push('s');
    out
}

impl Stage for LimitsStage {
    fn name(&self) -> &str {
        "limits"
    }

    fn hooks(&self) -> Hooks {
        Hooks::BEFORE_ROUTE | Hooks::BEFORE_ATTEMPT | Hooks::ON_COMPLETE
    }

    fn before_route<'a>(
        &'a self,
        cx: &'a mut RequestCx,
        head: &'a RequestHead,
        body: &'a mut RequestBody,
    ) -> Step<'a> {
        match self.check(cx, head, body) {
            Ok(()) => Step::CONTINUE,
            Err(e) => Step::fail(e),
        }
    }

    fn before_attempt(&self, cx: &mut RequestCx, attempt: &mut AttemptCx<'_>) -> AttemptFlow {
        self.spend.attempt(cx, attempt);
        if cx.attempts == 0 {
            return AttemptFlow::Continue;
        }
        // Each attempt after the first is one more request on the key's limit.
        let Some((id, r)) = self.key_scope(cx).and_then(|s| s.requests) else {
            return AttemptFlow::Continue;
        };
        let now = now_ms();
        let mut out = Vec::with_capacity(1);
        match self.counters.charge_all(&[charge(id, r, 1)], now, &mut out) {
            Ok(()) => {
                if let Some((s, _)) = out.first() {
                    headers(cx, "requests", s.limit, s.remaining, s.reset);
                }
                AttemptFlow::Continue
            }
            Err((_, reset)) => {
                AttemptFlow::Fail(self.refusal(cx, charge(id, r, 1), Whose::Key, false, reset, 0))
            }
        }
    }

    fn on_complete(&self, cx: &mut RequestCx, _head: &RequestHead) {
        if let Some(held) = cx.extensions.remove::<Held>() {
            let used = cx.usage.as_ref().map_or(0, |u| {
                u.total_tokens.max(u.prompt_tokens + u.completion_tokens)
            });
            for (receipt, estimate) in &held.tokens {
                self.counters
                    .settle(receipt, used as i64 - *estimate as i64);
            }
        }
        self.spend.record(cx, now_ms());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_read_like_openai() {
        assert_eq!(duration_text(Duration::from_millis(20)), "20ms");
        assert_eq!(duration_text(Duration::from_secs(1)), "1s");
        assert_eq!(duration_text(Duration::from_secs(360)), "6m0s");
        assert_eq!(duration_text(Duration::from_millis(3_723_500)), "1h2m3.5s");
        assert_eq!(duration_text(Duration::from_millis(59_050)), "59.05s");
        assert_eq!(duration_text(Duration::from_millis(61_007)), "1m1.007s");
    }
}
