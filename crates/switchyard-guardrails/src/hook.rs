//! A guardrail (Portkey's hook object): checks run together, one verdict, and what to do
//! about it (`deny`).
//!
//! Running a hook: [`Hook::start`] gives a [`HookRun`]; [`HookRun::next_call`] runs the
//! built-in checks in order until one is a webhook, which the gateway calls and reports with
//! [`HookRun::answer`]; [`HookRun::finish`] gives the [`HookResult`]. A hook without
//! webhooks can use [`Hook::evaluate`].
//!
//! Semantics, as Portkey's `HooksManager`:
//! - the hook passes when every check passed or errored without `failOnError`;
//! - `deny` is set on the result when the hook has `deny: true` and failed (the gateway then
//!   answers 446; a failed hook without deny makes a 200 answer a 246);
//! - checks with `is_enabled: false` are skipped;
//! - masking checks compose: each runs on the texts the previous ones masked. Verdict checks
//!   see the masked texts when the hook is `sequential`, the original texts otherwise
//!   (Portkey runs parallel checks on the original context).

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::checks::{Check, Step};
use crate::input::{CheckInput, HookEvent};
use crate::verdict::CheckResult;
use crate::webhook::WebhookAnswer;

/// Portkey's hook `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookType {
    /// `guardrail`: checks with a verdict.
    Guardrail,
    /// `mutator`: checks run for their transformations.
    Mutator,
}

impl HookType {
    /// The name in configs and results.
    pub fn as_str(self) -> &'static str {
        match self {
            HookType::Guardrail => "guardrail",
            HookType::Mutator => "mutator",
        }
    }
}

/// One configured guardrail.
#[derive(Debug)]
pub struct Hook {
    /// Its id (from the config, or `input_guardrail_<n>` / `output_guardrail_<n>`).
    pub id: String,
    /// Guardrail or mutator.
    pub kind: HookType,
    /// Before the request or after the response.
    pub event: HookEvent,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// Refuse the request (446) when the hook fails.
    pub deny: bool,
    /// Run without holding the request (the gateway decides how; results are not waited for).
    pub is_async: bool,
    /// Later checks see earlier checks' masking.
    pub sequential: bool,
    /// Portkey's `on_fail` object (`{"feedback": {...}}`), kept for the result's feedback.
    pub on_fail: Option<Map<String, Value>>,
    /// Portkey's `on_success` object.
    pub on_success: Option<Map<String, Value>>,
}

/// The outcome of one hook, in the shape Portkey reports it (see [`crate::portkey::results`]).
#[derive(Clone, Debug)]
pub struct HookResult {
    /// The hook's id.
    pub id: String,
    /// Guardrail or mutator.
    pub kind: HookType,
    /// True when the hook passed.
    pub verdict: bool,
    /// True when the hook failed and has `deny`.
    pub deny: bool,
    /// The hook's `async`.
    pub is_async: bool,
    /// True when the gateway skipped the hook (e.g. an answer that was not a 200).
    pub skipped: bool,
    /// Each check's result.
    pub checks: Vec<CheckResult>,
    /// For masking: every input text after all masks, when any changed.
    pub texts: Option<Vec<String>>,
    /// A webhook's replacement request or response JSON.
    pub replaced_body: Option<Box<RawValue>>,
    /// Portkey's feedback object, when `on_success` / `on_fail` configured one.
    pub feedback: Option<Value>,
    /// Set by the caller: how long the hook took, in milliseconds.
    pub execution_time_ms: u64,
    /// Set by the caller: when the hook started, in milliseconds since the Unix epoch.
    pub created_at_ms: Option<u64>,
}

impl HookResult {
    /// True when a check changed the texts or a webhook replaced the body.
    pub fn transformed(&self) -> bool {
        self.texts.is_some() || self.replaced_body.is_some()
    }

    /// The result of a hook the gateway did not run.
    pub fn skipped(hook: &Hook) -> Self {
        Self {
            id: hook.id.clone(),
            kind: hook.kind,
            verdict: true,
            deny: false,
            is_async: hook.is_async,
            skipped: true,
            checks: Vec::new(),
            texts: None,
            replaced_body: None,
            feedback: None,
            execution_time_ms: 0,
            created_at_ms: None,
        }
    }
}

impl Hook {
    /// True when a check needs the gateway to make a call.
    pub fn has_webhooks(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.enabled() && c.webhook().is_some())
    }

    /// True when a check may rewrite texts.
    pub fn masks(&self) -> bool {
        self.checks.iter().any(|c| c.enabled() && c.masks())
    }

    /// Starts a run over `input`.
    pub fn start<'h, 'a>(&'h self, input: CheckInput<'a>) -> HookRun<'h, 'a> {
        HookRun {
            hook: self,
            input,
            next: 0,
            pending: None,
            results: Vec::new(),
            texts: None,
            replaced_body: None,
        }
    }

    /// Runs every check; a webhook check, which needs the gateway, gives an error result.
    pub fn evaluate(&self, input: CheckInput<'_>) -> HookResult {
        let mut run = self.start(input);
        while run.next_call().is_some() {
            run.answer(WebhookAnswer::Failed(
                "webhook checks need the gateway to call them",
            ));
        }
        run.finish()
    }
}

/// A hook being run (see the module docs).
#[derive(Debug)]
pub struct HookRun<'h, 'a> {
    hook: &'h Hook,
    input: CheckInput<'a>,
    next: usize,
    pending: Option<&'h Check>,
    results: Vec<CheckResult>,
    texts: Option<Vec<String>>,
    replaced_body: Option<Box<RawValue>>,
}

impl<'h, 'a> HookRun<'h, 'a> {
    /// The input the run started with.
    pub fn input(&self) -> &CheckInput<'a> {
        &self.input
    }

    /// Runs checks until one needs a call (returned: build its request from
    /// `check.webhook()`), or all have run (`None`). Call [`Self::answer`] before calling
    /// this again.
    pub fn next_call(&mut self) -> Option<&'h Check> {
        if let Some(p) = self.pending {
            return Some(p);
        }
        let hook = self.hook;
        while let Some(check) = hook.checks.get(self.next) {
            self.next += 1;
            if !check.enabled() {
                continue;
            }
            let result = {
                let masked = self
                    .texts
                    .as_ref()
                    .filter(|_| check.masks() || hook.sequential);
                match masked {
                    Some(texts) => {
                        let input = self.view(texts);
                        step(check, &input)
                    }
                    None => step(check, &self.input),
                }
            };
            match result {
                Some(r) => self.record(r),
                None => {
                    self.pending = Some(check);
                    return Some(check);
                }
            }
        }
        None
    }

    /// Reports the answer to the call [`Self::next_call`] returned.
    pub fn answer(&mut self, answer: WebhookAnswer<'_>) {
        if let Some(check) = self.pending.take() {
            let r = check.webhook_result(answer, self.input.event);
            self.record(r);
        }
    }

    /// The hook's result. Checks not run yet (a call never answered) are not in it.
    pub fn finish(self) -> HookResult {
        let hook = self.hook;
        let verdict = self.results.iter().all(CheckResult::counts_as_pass);
        HookResult {
            id: hook.id.clone(),
            kind: hook.kind,
            verdict,
            deny: hook.deny && !verdict,
            is_async: hook.is_async,
            skipped: false,
            feedback: feedback(&self.results, hook),
            checks: self.results,
            texts: self.texts,
            replaced_body: self.replaced_body,
            execution_time_ms: 0,
            created_at_ms: None,
        }
    }

    fn view<'v>(&'v self, texts: &'v [String]) -> CheckInput<'v> {
        CheckInput::new(
            self.input.event,
            texts.iter().map(|t| Cow::Borrowed(t.as_str())).collect(),
            self.input.primary(),
        )
        .with_model(self.input.model)
        .with_metadata(self.input.metadata)
        .with_request_type(self.input.request_type)
    }

    fn record(&mut self, r: CheckResult) {
        if let Some(t) = r
            .transformed
            .as_ref()
            .filter(|t| t.len() == self.input.texts().len())
        {
            self.texts = Some(t.clone());
        }
        if let Some(b) = &r.replaced_body {
            self.replaced_body = Some(b.clone());
        }
        self.results.push(r);
    }
}

fn step(check: &Check, input: &CheckInput<'_>) -> Option<CheckResult> {
    match check.run(input) {
        Step::Done(r) => Some(r),
        Step::Call(_) => None,
    }
}

/// Portkey's `createFeedbackObject`: the configured feedback of `on_success` or `on_fail`,
/// its metadata extended with the ids of the checks that passed, failed and errored.
fn feedback(results: &[CheckResult], hook: &Hook) -> Option<Value> {
    let passed = results.iter().all(|r| r.verdict || r.error.is_some());
    let config = if passed {
        &hook.on_success
    } else {
        &hook.on_fail
    };
    let fb = config.as_ref()?.get("feedback")?.as_object()?;
    let ids = |keep: &dyn Fn(&CheckResult) -> bool| {
        results
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut metadata = fb
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    metadata.insert("successfulChecks".into(), ids(&|r| r.verdict).into());
    metadata.insert(
        "failedChecks".into(),
        ids(&|r| !r.verdict && r.error.is_none()).into(),
    );
    metadata.insert(
        "erroredChecks".into(),
        ids(&|r| !r.verdict && r.error.is_some()).into(),
    );
    let mut out = Map::new();
    if let Some(v) = fb.get("value") {
        out.insert("value".into(), v.clone());
    }
    if let Some(w) = fb.get("weight") {
        out.insert("weight".into(), w.clone());
    }
    out.insert("metadata".into(), Value::Object(metadata));
    Some(Value::Object(out))
}
