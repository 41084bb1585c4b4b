//! `hook_results` as Portkey's gateway returns them, and what the answer's status becomes.
//!
//! Shapes from Portkey's `src/middlewares/hooks/index.ts` (`executeEachHook`,
//! `executeFunction`) and `src/handlers/responseHandlers.ts` / `handlerUtils.ts`:
//!
//! - a check: `{"data", "verdict", "id", "error"?: {"name", "message"}, "execution_time",
//!   "transformed", "created_at", "log": null, "fail_on_error"}` (`data` carries
//!   `explanation` and the check's details);
//! - a hook: `{"verdict", "id", "transformed", "checks", "feedback", "execution_time",
//!   "async", "type", "created_at", "deny"}`; a skipped hook `{"id", "type", "skipped": true}`;
//! - the body: `{"hook_results": {"before_request_hooks": [...], "after_request_hooks":
//!   [...]}}` added to the answer (status 246 when a hook failed), or with Portkey's
//!   `hooks_failed` error instead of the answer (status 446) when a failed hook denies.
//!
//! `created_at` is printed like JavaScript's `Date.toJSON()` (`2024-08-21T14:30:00.000Z`)
//! from the milliseconds the caller set; `null` when unset.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::hook::HookResult;
use crate::verdict::CheckResult;

/// The status of an answer whose hooks failed but did not deny.
pub const FAILED_STATUS: u16 = 246;
/// The status of a request a failed hook denied.
pub const DENIED_STATUS: u16 = 446;
/// The message of Portkey's `hooks_failed` error.
pub const DENIED_MESSAGE: &str = "The guardrail checks defined in the config failed. You can find more information in the `hook_results` object.";

/// What the hooks' results mean for the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Every hook passed (or none ran): answer as usual.
    Pass,
    /// A hook failed without `deny`: a 200 answer goes out as 246, with `hook_results`.
    Failed,
    /// A failed hook has `deny`: answer 446 with [`denied_body`].
    Denied,
}

impl Disposition {
    /// The status to send for an upstream answer of `upstream` (Portkey turns only 200s
    /// into 246).
    pub fn status(self, upstream: u16) -> u16 {
        match self {
            Disposition::Denied => DENIED_STATUS,
            Disposition::Failed if upstream == 200 => FAILED_STATUS,
            _ => upstream,
        }
    }
}

/// What `results` mean (skipped hooks do not count).
pub fn disposition<'r>(results: impl IntoIterator<Item = &'r HookResult>) -> Disposition {
    let mut out = Disposition::Pass;
    for r in results.into_iter().filter(|r| !r.skipped) {
        if r.deny {
            return Disposition::Denied;
        }
        if !r.verdict {
            out = Disposition::Failed;
        }
    }
    out
}

/// `{"before_request_hooks": [...], "after_request_hooks": [...]}`: the value of the
/// `hook_results` field to add to an answer body (e.g. with a `JsonEnvelope` edit).
pub fn hook_results(before: &[HookResult], after: &[HookResult]) -> Vec<u8> {
    let v = HookResults {
        before_request_hooks: before.iter().map(HookJson).collect(),
        after_request_hooks: Some(after.iter().map(HookJson).collect()),
    };
    to_vec(&v)
}

/// The 446 body: Portkey's `hooks_failed` error and the hook results.
pub fn denied_body(before: &[HookResult], after: &[HookResult]) -> Bytes {
    #[derive(Serialize)]
    struct Error {
        message: &'static str,
        #[serde(rename = "type")]
        kind: &'static str,
        param: Option<()>,
        code: Option<()>,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        error: Error,
        hook_results: HookResults<'a>,
    }
    let body = Body {
        error: Error {
            message: DENIED_MESSAGE,
            kind: "hooks_failed",
            param: None,
            code: None,
        },
        hook_results: HookResults {
            before_request_hooks: before.iter().map(HookJson).collect(),
            after_request_hooks: Some(after.iter().map(HookJson).collect()),
        },
    };
    Bytes::from(to_vec(&body))
}

/// The stream event Portkey sends with the before-request results ahead of a streamed
/// answer: `data: {"hook_results":{"before_request_hooks":[...]}}`.
pub fn stream_event(before: &[HookResult]) -> Bytes {
    #[derive(Serialize)]
    struct Body<'a> {
        hook_results: HookResults<'a>,
    }
    let body = Body {
        hook_results: HookResults {
            before_request_hooks: before.iter().map(HookJson).collect(),
            after_request_hooks: None,
        },
    };
    switchyard_providers::sse::data_event(&to_vec(&body))
}

/// The JSON of one check result.
pub fn check_json(r: &CheckResult) -> Value {
    serde_json::to_value(CheckJson(r)).unwrap_or(Value::Null)
}

/// The JSON of one hook result.
pub fn hook_json(r: &HookResult) -> Value {
    serde_json::to_value(HookJson(r)).unwrap_or(Value::Null)
}

fn to_vec<T: Serialize>(v: &T) -> Vec<u8> {
    // Plain data (strings, numbers, maps) always serializes.
    serde_json::to_vec(v).unwrap_or_default()
}

#[derive(Serialize)]
struct HookResults<'a> {
    before_request_hooks: Vec<HookJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_request_hooks: Option<Vec<HookJson<'a>>>,
}

struct HookJson<'a>(&'a HookResult);

impl Serialize for HookJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        if r.skipped {
            #[derive(Serialize)]
            struct Skipped<'a> {
                id: &'a str,
                #[serde(rename = "type")]
                kind: &'static str,
                skipped: bool,
            }
            return Skipped {
                id: &r.id,
                kind: r.kind.as_str(),
                skipped: true,
            }
            .serialize(s);
        }
        #[derive(Serialize)]
        struct Hook<'a> {
            verdict: bool,
            id: &'a str,
            transformed: bool,
            checks: Vec<CheckJson<'a>>,
            feedback: &'a Option<Value>,
            execution_time: u64,
            #[serde(rename = "async")]
            is_async: bool,
            #[serde(rename = "type")]
            kind: &'static str,
            created_at: Option<String>,
            deny: bool,
        }
        Hook {
            verdict: r.verdict,
            id: &r.id,
            transformed: r.transformed(),
            checks: r.checks.iter().map(CheckJson).collect(),
            feedback: &r.feedback,
            execution_time: r.execution_time_ms,
            is_async: r.is_async,
            kind: r.kind.as_str(),
            created_at: r.created_at_ms.map(js_date),
            deny: r.deny,
        }
        .serialize(s)
    }
}

struct CheckJson<'a>(&'a CheckResult);

impl Serialize for CheckJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Error<'a> {
            name: &'static str,
            message: &'a str,
        }
        #[derive(Serialize)]
        struct Check<'a> {
            data: Map<String, Value>,
            verdict: bool,
            id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<Error<'a>>,
            execution_time: u64,
            transformed: bool,
            created_at: Option<String>,
            log: Option<()>,
            fail_on_error: bool,
        }
        let r = self.0;
        let mut data = r.data.clone();
        data.insert("explanation".into(), Value::String(r.explanation.clone()));
        Check {
            data,
            verdict: r.verdict,
            id: &r.id,
            error: r.error.as_deref().map(|message| Error {
                name: "Error",
                message,
            }),
            execution_time: r.execution_time_ms,
            transformed: r.transformed(),
            created_at: r.created_at_ms.map(js_date),
            log: None,
            fail_on_error: r.fail_on_error,
        }
        .serialize(s)
    }
}

/// Milliseconds since the Unix epoch as JavaScript's `Date.toJSON()` prints them.
pub fn js_date(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{:03}Z",
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_dates() {
        assert_eq!(js_date(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(js_date(1_724_250_600_123), "2024-08-21T14:30:00.123Z");
        assert_eq!(js_date(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(js_date(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }
}
