//! The [`Stage`] trait: what a feature or plugin implements to act on requests.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::context::{AttemptCx, AttemptReport, Reply, RequestBody, RequestCx, RequestHead};
use crate::error::GatewayError;

/// A boxed future, for hooks that must wait (a webhook, a shared store).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a request-level hook decided.
pub enum Flow {
    /// Go on to the next stage.
    Continue,
    /// Answer with this instead of asking a provider (a cache hit, a plugin's own answer).
    Respond(Reply),
    /// End the request with this error.
    Fail(GatewayError),
}

/// The result of a hook that may wait: either decided at once (no allocation) or a future.
pub enum Step<'a> {
    /// Decided without waiting.
    Ready(Flow),
    /// Decided after waiting.
    Pending(BoxFuture<'a, Flow>),
}

impl<'a> Step<'a> {
    /// Go on.
    pub const CONTINUE: Step<'static> = Step::Ready(Flow::Continue);

    /// End the request with `e`.
    pub fn fail(e: GatewayError) -> Self {
        Step::Ready(Flow::Fail(e))
    }

    /// A decision that needs to wait for `f`.
    pub fn wait(f: impl Future<Output = Flow> + Send + 'a) -> Self {
        Step::Pending(Box::pin(f))
    }
}

/// What `before_attempt` decided about one attempt.
pub enum AttemptFlow {
    /// Send it.
    Continue,
    /// Do not use this target; the route moves on to its next one as if the target could not
    /// serve the request (the reason is reported if nothing else serves it).
    Skip(GatewayError),
    /// End the whole request with this error.
    Fail(GatewayError),
}

/// What `on_event` decided about one stream event.
pub enum EventFlow {
    /// Send it (as possibly modified).
    Continue,
    /// End the stream with this error, sent as the stream's terminal error event.
    End(GatewayError),
}

/// The hooks a stage implements. The pipeline calls a hook only on the stages that declare
/// it, so a stage pays nothing for hooks it does not use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hooks(u16);

impl Hooks {
    /// No hook.
    pub const NONE: Hooks = Hooks(0);
    /// [`Stage::admit`].
    pub const ADMIT: Hooks = Hooks(1);
    /// [`Stage::before_route`].
    pub const BEFORE_ROUTE: Hooks = Hooks(1 << 1);
    /// [`Stage::before_attempt`].
    pub const BEFORE_ATTEMPT: Hooks = Hooks(1 << 2);
    /// [`Stage::after_attempt`].
    pub const AFTER_ATTEMPT: Hooks = Hooks(1 << 3);
    /// [`Stage::on_response_head`].
    pub const ON_RESPONSE_HEAD: Hooks = Hooks(1 << 4);
    /// [`Stage::on_response_body`].
    pub const ON_RESPONSE_BODY: Hooks = Hooks(1 << 5);
    /// [`Stage::on_event`].
    pub const ON_EVENT: Hooks = Hooks(1 << 6);
    /// [`Stage::on_complete`].
    pub const ON_COMPLETE: Hooks = Hooks(1 << 7);

    /// True when every hook of `other` is in `self`.
    pub const fn contains(self, other: Hooks) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets.
    pub const fn union(self, other: Hooks) -> Hooks {
        Hooks(self.0 | other.0)
    }
}

impl std::ops::BitOr for Hooks {
    type Output = Hooks;
    fn bitor(self, rhs: Hooks) -> Hooks {
        self.union(rhs)
    }
}

/// A feature or plugin acting on requests at named moments.
///
/// The hooks, in the order a request meets them:
///
/// 1. [`admit`](Stage::admit) — the endpoint is known, the body is not read yet: identify
///    the caller, refuse early (keys, request-rate limits).
/// 2. [`before_route`](Stage::before_route) — the body is parsed and the route resolved (the
///    context's `model`, `route`, `stream`, `metadata`), no provider chosen yet: validate,
///    rewrite the body, answer from a cache, refuse (guardrails, token limits, budgets).
///    Changing `model` here does not re-route.
/// 3. [`before_attempt`](Stage::before_attempt) — once per attempt, after the target's
///    dialect built the provider request: add headers, skip the target, or refuse.
/// 4. [`after_attempt`](Stage::after_attempt) — once per attempt, with its outcome.
/// 5. [`on_response_head`](Stage::on_response_head) — just before any response header is
///    written (success or error); add headers to `cx.response_headers` here at the latest.
/// 6. [`on_response_body`](Stage::on_response_body) — a non-streamed successful answer,
///    whole and translated, before any byte of it is sent: inspect, rewrite or refuse it.
///    Declaring this hook makes the gateway hold such answers back until it has run.
/// 7. [`on_event`](Stage::on_event) — each event of a streamed answer, translated, as it is
///    sent: inspect, rewrite, or end the stream with an error event.
/// 8. [`on_complete`](Stage::on_complete) — after the response ended, for every request
///    (failed ones and clients that left included): usage, status and timings are final.
///
/// Hooks that may wait return a [`Step`]: `Step::Ready` when the decision is immediate (no
/// allocation), `Step::wait(async { … })` otherwise. A panic in any hook ends that request
/// with a 500 (`stage_panicked`) and the gateway keeps serving.
pub trait Stage: Send + Sync + 'static {
    /// A short name for logs and errors.
    fn name(&self) -> &str;

    /// The hooks this stage implements; the others are never called.
    fn hooks(&self) -> Hooks;

    /// The request head has arrived.
    fn admit<'a>(&'a self, cx: &'a mut RequestCx, head: &'a RequestHead) -> Step<'a> {
        let _ = (cx, head);
        Step::CONTINUE
    }

    /// The body is parsed and the route resolved.
    fn before_route<'a>(
        &'a self,
        cx: &'a mut RequestCx,
        head: &'a RequestHead,
        body: &'a mut RequestBody,
    ) -> Step<'a> {
        let _ = (cx, head, body);
        Step::CONTINUE
    }

    /// An attempt is about to be sent.
    fn before_attempt(&self, cx: &mut RequestCx, attempt: &mut AttemptCx<'_>) -> AttemptFlow {
        let _ = (cx, attempt);
        AttemptFlow::Continue
    }

    /// An attempt ended.
    fn after_attempt(&self, cx: &mut RequestCx, report: &AttemptReport<'_>) {
        let _ = (cx, report);
    }

    /// A response header with `status` is about to be written.
    fn on_response_head(&self, cx: &mut RequestCx, status: u16) {
        let _ = (cx, status);
    }

    /// A whole non-streamed successful answer, before it is sent.
    fn on_response_body<'a>(&'a self, cx: &'a mut RequestCx, body: &'a mut Bytes) -> Step<'a> {
        let _ = (cx, body);
        Step::CONTINUE
    }

    /// One event of a streamed answer (`data: …\n\n`, possibly with an `event:` line).
    fn on_event(&self, cx: &mut RequestCx, event: &mut Bytes) -> EventFlow {
        let _ = (cx, event);
        EventFlow::Continue
    }

    /// The request is over.
    fn on_complete(&self, cx: &mut RequestCx, head: &RequestHead) {
        let _ = (cx, head);
    }
}
