//! The registered stages, sorted by hook, and the calls the gateway makes at each moment of
//! a request. A hook no stage declares costs one branch; a panicking stage ends its request
//! (or, in hooks that cannot fail, is logged and counted) and never the process.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::context::{AttemptCx, AttemptReport, RequestBody, RequestCx, RequestHead};
use crate::error::GatewayError;
use crate::stage::{AttemptFlow, BoxFuture, EventFlow, Flow, Hooks, Stage, Step};

/// The stages of a running gateway, in registration order within each hook.
#[derive(Default)]
pub struct Pipeline {
    all: Vec<Arc<dyn Stage>>,
    admit: Vec<Arc<dyn Stage>>,
    before_route: Vec<Arc<dyn Stage>>,
    before_attempt: Vec<Arc<dyn Stage>>,
    after_attempt: Vec<Arc<dyn Stage>>,
    on_response_head: Vec<Arc<dyn Stage>>,
    on_response_body: Vec<Arc<dyn Stage>>,
    on_event: Vec<Arc<dyn Stage>>,
    on_complete: Vec<Arc<dyn Stage>>,
    hooks: Hooks,
    panics: AtomicU64,
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a stage after those already registered.
    pub fn register(&mut self, stage: Arc<dyn Stage>) {
        let hooks = stage.hooks();
        let lists: [(Hooks, &mut Vec<Arc<dyn Stage>>); 8] = [
            (Hooks::ADMIT, &mut self.admit),
            (Hooks::BEFORE_ROUTE, &mut self.before_route),
            (Hooks::BEFORE_ATTEMPT, &mut self.before_attempt),
            (Hooks::AFTER_ATTEMPT, &mut self.after_attempt),
            (Hooks::ON_RESPONSE_HEAD, &mut self.on_response_head),
            (Hooks::ON_RESPONSE_BODY, &mut self.on_response_body),
            (Hooks::ON_EVENT, &mut self.on_event),
            (Hooks::ON_COMPLETE, &mut self.on_complete),
        ];
        for (hook, list) in lists {
            if hooks.contains(hook) {
                list.push(stage.clone());
            }
        }
        self.hooks = self.hooks | hooks;
        self.all.push(stage);
    }

    /// True when some stage declares `hook`.
    #[inline]
    pub fn uses(&self, hook: Hooks) -> bool {
        self.hooks.contains(hook)
    }

    /// The registered stages' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.all.iter().map(|s| s.name()).collect()
    }

    /// Panics caught in stages since start.
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// Runs `admit` on every stage that has it; the first that does not continue decides.
    pub async fn admit(&self, cx: &mut RequestCx, head: &RequestHead) -> Flow {
        for s in &self.admit {
            let step = self.guard(s, || s.admit(cx, head));
            match self.settle(s, step).await {
                Flow::Continue => {}
                other => return other,
            }
        }
        Flow::Continue
    }

    /// Runs `before_route` on every stage that has it.
    pub async fn before_route(
        &self,
        cx: &mut RequestCx,
        head: &RequestHead,
        body: &mut RequestBody,
    ) -> Flow {
        for s in &self.before_route {
            let step = self.guard(s, || s.before_route(cx, head, body));
            match self.settle(s, step).await {
                Flow::Continue => {}
                other => return other,
            }
        }
        Flow::Continue
    }

    /// Runs `before_attempt` on every stage that has it.
    pub fn before_attempt(&self, cx: &mut RequestCx, attempt: &mut AttemptCx<'_>) -> AttemptFlow {
        for s in &self.before_attempt {
            match catch_unwind(AssertUnwindSafe(|| s.before_attempt(cx, attempt))) {
                Ok(AttemptFlow::Continue) => {}
                Ok(other) => return other,
                Err(_) => return AttemptFlow::Fail(self.panicked(s)),
            }
        }
        AttemptFlow::Continue
    }

    /// Runs `after_attempt` on every stage that has it.
    pub fn after_attempt(&self, cx: &mut RequestCx, report: &AttemptReport<'_>) {
        for s in &self.after_attempt {
            if catch_unwind(AssertUnwindSafe(|| s.after_attempt(cx, report))).is_err() {
                self.panicked(s);
            }
        }
    }

    /// Runs `on_response_head` on every stage that has it.
    pub fn on_response_head(&self, cx: &mut RequestCx, status: u16) {
        for s in &self.on_response_head {
            if catch_unwind(AssertUnwindSafe(|| s.on_response_head(cx, status))).is_err() {
                self.panicked(s);
            }
        }
    }

    /// Runs `on_response_body` on every stage that has it.
    pub async fn on_response_body(&self, cx: &mut RequestCx, body: &mut Bytes) -> Flow {
        for s in &self.on_response_body {
            let step = self.guard(s, || s.on_response_body(cx, body));
            match self.settle(s, step).await {
                Flow::Continue => {}
                other => return other,
            }
        }
        Flow::Continue
    }

    /// Runs `on_event` on every stage that has it.
    pub fn on_event(&self, cx: &mut RequestCx, event: &mut Bytes) -> EventFlow {
        for s in &self.on_event {
            match catch_unwind(AssertUnwindSafe(|| s.on_event(cx, event))) {
                Ok(EventFlow::Continue) => {}
                Ok(end) => return end,
                Err(_) => return EventFlow::End(self.panicked(s)),
            }
        }
        EventFlow::Continue
    }

    /// Runs `on_complete` on every stage that has it.
    pub fn on_complete(&self, cx: &mut RequestCx, head: &RequestHead) {
        for s in &self.on_complete {
            if catch_unwind(AssertUnwindSafe(|| s.on_complete(cx, head))).is_err() {
                self.panicked(s);
            }
        }
    }

    /// Calls a hook that returns a [`Step`], turning a panic into a failed step.
    fn guard<'a>(&self, s: &Arc<dyn Stage>, call: impl FnOnce() -> Step<'a>) -> Step<'a> {
        match catch_unwind(AssertUnwindSafe(call)) {
            Ok(step) => step,
            Err(_) => Step::fail(self.panicked(s)),
        }
    }

    /// Waits for a step, turning a panic while it runs into a failure.
    async fn settle(&self, s: &Arc<dyn Stage>, step: Step<'_>) -> Flow {
        match step {
            Step::Ready(flow) => flow,
            Step::Pending(fut) => match (CatchUnwind { fut }).await {
                Ok(flow) => flow,
                Err(()) => Flow::Fail(self.panicked(s)),
            },
        }
    }

    fn panicked(&self, s: &Arc<dyn Stage>) -> GatewayError {
        self.panics.fetch_add(1, Ordering::Relaxed);
        log::error!(target: "switchyard", stage = s.name(); "a stage panicked; its request ends with a 500");
        GatewayError::StagePanicked(s.name().to_owned())
    }
}

/// A boxed future polled inside `catch_unwind`.
struct CatchUnwind<'a> {
    fut: BoxFuture<'a, Flow>,
}

impl Future for CatchUnwind<'_> {
    type Output = Result<Flow, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = &mut self.fut;
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(flow)) => Poll::Ready(Ok(flow)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}
