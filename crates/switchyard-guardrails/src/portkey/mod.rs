//! Portkey compatibility: hooks from Portkey configs, and `hook_results` in Portkey's shape.
//!
//! Accepted config keys (snake_case as in Portkey's docs, or camelCase as its gateway
//! converts them): `before_request_hooks` / `after_request_hooks` (raw hook objects),
//! `input_guardrails` / `output_guardrails` (shorthand), `input_mutators` / `output_mutators`.
//!
//! A raw hook: `{"type": "guardrail" | "mutator", "id", "checks": [{"id", "parameters",
//! "is_enabled"}], "deny", "async", "sequential", "on_fail", "on_success"}`; `name`,
//! `guardrail_version_id` and `eventType` are accepted and ignored. A hook without `checks`
//! refers to a stored guardrail by its `id`.
//!
//! The shorthand: a list of guardrail ids (references), or of objects whose keys other than
//! `deny`, `on_fail`, `on_success`, `async`, `id`, `type`, `guardrail_version_id` and
//! `sequential` are check ids (`default.` is prefixed when the id has no namespace) mapped to
//! their parameters, e.g. `{"default.contains": {"operator": "none", "words": ["Apple"]},
//! "deny": true}` (Portkey's `convertHooksShorthand`). Hooks without an id are named
//! `input_guardrail_<n>` / `output_guardrail_<n>` (Portkey appends random characters; a
//! pure crate numbers them). The checks of one shorthand object run in the order of their
//! keys as parsed (`serde_json` sorts object keys); use raw hooks when order matters.
//!
//! References (Portkey's hosted guardrails, `pg-…` ids) resolve against `named`: guardrail
//! ids mapped to raw hook objects, from the gateway's own config. An id `named` lacks is an
//! error, as are unknown keys at every level.

pub mod results;

use serde_json::{Map, Value};

use crate::checks::Check;
use crate::hook::{Hook, HookType};
use crate::input::HookEvent;
use crate::ConfigError;

/// The hooks of one Portkey config level.
#[derive(Debug, Default)]
pub struct Hooks {
    /// Run on the request.
    pub before: Vec<Hook>,
    /// Run on the answer.
    pub after: Vec<Hook>,
}

impl Hooks {
    /// True when there is no hook.
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }
}

/// Hook keys of a Portkey config object, each with its camelCase spelling.
const KEYS: &[(&str, &str)] = &[
    ("before_request_hooks", "beforeRequestHooks"),
    ("after_request_hooks", "afterRequestHooks"),
    ("input_guardrails", "inputGuardrails"),
    ("output_guardrails", "outputGuardrails"),
    ("input_mutators", "inputMutators"),
    ("output_mutators", "outputMutators"),
];

/// The hooks in a Portkey config object (the top level or a target); other keys are left
/// to the config's own parser. Raw hooks come first, then the shorthand, as in Portkey.
pub fn parse_config(config: &Value, named: &Map<String, Value>) -> Result<Hooks, ConfigError> {
    let Some(obj) = config.as_object() else {
        return Err(ConfigError::Shape(
            "a Portkey config must be a JSON object".into(),
        ));
    };
    let get = |i: usize| -> Result<Option<&Value>, ConfigError> {
        let (snake, camel) = KEYS[i];
        match (obj.get(snake), obj.get(camel)) {
            (Some(_), Some(_)) => Err(ConfigError::Shape(format!(
                "`{snake}` and `{camel}` are the same setting; give one"
            ))),
            (a, b) => Ok(a.or(b)),
        }
    };
    let mut hooks = Hooks::default();
    if let Some(list) = get(0)? {
        hooks
            .before
            .extend(parse_hooks(list, HookEvent::BeforeRequest, named)?);
    }
    if let Some(list) = get(1)? {
        hooks
            .after
            .extend(parse_hooks(list, HookEvent::AfterRequest, named)?);
    }
    if let Some(list) = get(2)? {
        let start = hooks.before.len();
        hooks.before.extend(parse_shorthand(
            list,
            HookEvent::BeforeRequest,
            HookType::Guardrail,
            named,
            start,
        )?);
    }
    if let Some(list) = get(3)? {
        let start = hooks.after.len();
        hooks.after.extend(parse_shorthand(
            list,
            HookEvent::AfterRequest,
            HookType::Guardrail,
            named,
            start,
        )?);
    }
    if let Some(list) = get(4)? {
        let start = hooks.before.len();
        hooks.before.extend(parse_shorthand(
            list,
            HookEvent::BeforeRequest,
            HookType::Mutator,
            named,
            start,
        )?);
    }
    if let Some(list) = get(5)? {
        let start = hooks.after.len();
        hooks.after.extend(parse_shorthand(
            list,
            HookEvent::AfterRequest,
            HookType::Mutator,
            named,
            start,
        )?);
    }
    Ok(hooks)
}

/// A list of raw hook objects (`before_request_hooks` / `after_request_hooks`).
pub fn parse_hooks(
    list: &Value,
    event: HookEvent,
    named: &Map<String, Value>,
) -> Result<Vec<Hook>, ConfigError> {
    let items = list.as_array().ok_or_else(|| {
        ConfigError::Shape(format!("{} must be a list of hook objects", side(event)))
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, h)| parse_hook(h, event, &format!("{}[{i}]", side(event)), named, 0))
        .collect()
}

/// A shorthand list (`input_guardrails` / `output_guardrails` / `*_mutators`): ids or
/// inline check objects. `first` numbers the generated ids.
pub fn parse_shorthand(
    list: &Value,
    event: HookEvent,
    kind: HookType,
    named: &Map<String, Value>,
    first: usize,
) -> Result<Vec<Hook>, ConfigError> {
    let prefix = match event {
        HookEvent::BeforeRequest => "input",
        HookEvent::AfterRequest => "output",
    };
    let items = list.as_array().ok_or_else(|| {
        ConfigError::Shape(format!(
            "`{prefix}_guardrails` must be a list of guardrail ids or objects"
        ))
    })?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let generated = format!("{prefix}_guardrail_{}", first + i);
        let hook = match item {
            Value::String(id) => resolve(id, event, &Map::new(), named, 0)?,
            Value::Object(obj) => shorthand_object(obj, event, kind, generated, named)?,
            _ => {
                return Err(ConfigError::Shape(format!(
                    "`{prefix}_guardrails[{i}]` must be a guardrail id or an object"
                )))
            }
        };
        out.push(hook);
    }
    Ok(out)
}

/// Keys of a shorthand object that configure the hook rather than name a check.
const SHORTHAND_HOOK_KEYS: &[&str] = &[
    "deny",
    "on_fail",
    "onFail",
    "on_success",
    "onSuccess",
    "async",
    "id",
    "type",
    "guardrail_version_id",
    "guardrailVersionId",
    "sequential",
];

fn shorthand_object(
    obj: &Map<String, Value>,
    event: HookEvent,
    kind: HookType,
    generated: String,
    named: &Map<String, Value>,
) -> Result<Hook, ConfigError> {
    let id = match obj.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(hook_error(&generated, "`id` must be a string")),
        None => generated,
    };
    let mut hook = empty_hook(id, kind, event);
    hook_settings(&mut hook, obj)?;
    for (key, params) in obj {
        if SHORTHAND_HOOK_KEYS.contains(&key.as_str()) {
            continue;
        }
        let Value::Object(params) = params else {
            return Err(hook_error(
                &hook.id,
                format!("the parameters of `{key}` must be an object"),
            ));
        };
        let check_id = match params.get("id") {
            Some(Value::String(s)) => s.as_str(),
            _ => key.as_str(),
        };
        let check_id = if check_id.contains('.') {
            check_id.to_owned()
        } else {
            format!("default.{check_id}")
        };
        hook.checks.push(Check::new(&check_id, params)?);
    }
    if hook.checks.is_empty() && obj.contains_key("id") {
        return resolve(&hook.id.clone(), event, obj, named, 0);
    }
    refuse_mixed_transforms(&hook)?;
    Ok(hook)
}

/// Keys of a raw hook object.
const HOOK_KEYS: &[&str] = &[
    "type",
    "id",
    "name",
    "checks",
    "deny",
    "async",
    "sequential",
    "on_fail",
    "onFail",
    "on_success",
    "onSuccess",
    "guardrail_version_id",
    "guardrailVersionId",
    "eventType",
];

fn parse_hook(
    value: &Value,
    event: HookEvent,
    at: &str,
    named: &Map<String, Value>,
    depth: usize,
) -> Result<Hook, ConfigError> {
    let obj = value
        .as_object()
        .ok_or_else(|| ConfigError::Shape(format!("{at} must be a hook object")))?;
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(hook_error(at, "`id` must be a non-empty string")),
        None => return Err(hook_error(at, "missing `id`")),
    };
    if let Some(k) = obj.keys().find(|k| !HOOK_KEYS.contains(&k.as_str())) {
        return Err(hook_error(
            &id,
            format!("unknown key `{k}` (accepted: {})", HOOK_KEYS.join(", ")),
        ));
    }
    let kind = match obj.get("type") {
        None => HookType::Guardrail,
        Some(Value::String(t)) if t == "guardrail" => HookType::Guardrail,
        Some(Value::String(t)) if t == "mutator" => HookType::Mutator,
        Some(other) => {
            return Err(hook_error(
                &id,
                format!("`type` must be \"guardrail\" or \"mutator\", not {other}"),
            ))
        }
    };
    let Some(checks) = obj.get("checks") else {
        return resolve(&id, event, obj, named, depth);
    };
    let mut hook = empty_hook(id, kind, event);
    hook_settings(&mut hook, obj)?;
    let list = checks
        .as_array()
        .ok_or_else(|| hook_error(&hook.id, "`checks` must be a list"))?;
    for (i, c) in list.iter().enumerate() {
        hook.checks.push(parse_check(c, &hook.id, i)?);
    }
    refuse_mixed_transforms(&hook)?;
    Ok(hook)
}

fn parse_check(value: &Value, hook: &str, i: usize) -> Result<Check, ConfigError> {
    let obj = value
        .as_object()
        .ok_or_else(|| hook_error(hook, format!("`checks[{i}]` must be an object")))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "id" | "parameters" | "is_enabled"))
    {
        return Err(hook_error(
            hook,
            format!("`checks[{i}]`: unknown key `{k}` (accepted: id, parameters, is_enabled)"),
        ));
    }
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| hook_error(hook, format!("`checks[{i}]` needs a string `id`")))?;
    let empty = Map::new();
    let params = match obj.get("parameters") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(hook_error(
                hook,
                format!("`checks[{i}].parameters` must be an object"),
            ))
        }
    };
    let mut check = Check::new(id, params)?;
    match obj.get("is_enabled") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => check.set_enabled(*b && check.enabled()),
        Some(_) => {
            return Err(hook_error(
                hook,
                format!("`checks[{i}].is_enabled` must be true or false"),
            ))
        }
    }
    Ok(check)
}

/// A guardrail stored under `id` in `named`; settings given beside the reference (`deny`,
/// `async`…) override the stored ones.
fn resolve(
    id: &str,
    event: HookEvent,
    overrides: &Map<String, Value>,
    named: &Map<String, Value>,
    depth: usize,
) -> Result<Hook, ConfigError> {
    let stored = named
        .get(id)
        .filter(|_| depth < 4)
        .ok_or_else(|| ConfigError::UnknownGuardrail(id.to_owned()))?;
    let mut def = stored
        .as_object()
        .cloned()
        .ok_or_else(|| hook_error(id, "a stored guardrail must be a hook object"))?;
    if !def.contains_key("checks") {
        return Err(hook_error(id, "a stored guardrail must have `checks`"));
    }
    def.insert("id".into(), Value::String(id.to_owned()));
    for (k, v) in overrides {
        if k != "id" && k != "checks" {
            def.insert(k.clone(), v.clone());
        }
    }
    parse_hook(&Value::Object(def), event, id, named, depth + 1)
}

fn empty_hook(id: String, kind: HookType, event: HookEvent) -> Hook {
    Hook {
        id,
        kind,
        event,
        checks: Vec::new(),
        deny: false,
        is_async: false,
        sequential: false,
        on_fail: None,
        on_success: None,
    }
}

fn hook_settings(hook: &mut Hook, obj: &Map<String, Value>) -> Result<(), ConfigError> {
    let flag = |key: &str| -> Result<bool, ConfigError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(hook_error(
                &hook.id,
                format!("`{key}` must be true or false"),
            )),
        }
    };
    hook.deny = flag("deny")?;
    hook.is_async = flag("async")?;
    hook.sequential = flag("sequential")?;
    let action = |snake: &str, camel: &str| -> Result<Option<Map<String, Value>>, ConfigError> {
        match obj.get(snake).or_else(|| obj.get(camel)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(_) => Err(hook_error(&hook.id, format!("`{snake}` must be an object"))),
        }
    };
    hook.on_fail = action("on_fail", "onFail")?;
    hook.on_success = action("on_success", "onSuccess")?;
    Ok(())
}

/// A webhook may replace the whole body; a mask rewrites texts inside it. In one hook the
/// two cannot both apply, so the combination is refused rather than one silently lost.
fn refuse_mixed_transforms(hook: &Hook) -> Result<(), ConfigError> {
    let replaces = hook
        .checks
        .iter()
        .any(|c| c.webhook().is_some_and(|w| !w.is_log()));
    if replaces && hook.masks() {
        return Err(hook_error(
            &hook.id,
            "a hook cannot combine `default.webhook` with masking checks; put them in separate hooks",
        ));
    }
    Ok(())
}

fn side(event: HookEvent) -> &'static str {
    match event {
        HookEvent::BeforeRequest => "`before_request_hooks`",
        HookEvent::AfterRequest => "`after_request_hooks`",
    }
}

fn hook_error(hook: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Hook {
        hook: hook.to_owned(),
        message: message.into(),
    }
}
