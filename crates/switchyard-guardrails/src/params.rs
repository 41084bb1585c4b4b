//! Reading a check's `parameters` object: typed getters that name the check and the
//! parameter in every error, and a final sweep that refuses parameters nobody read (a typo
//! such as `regex` for `rule` would otherwise silently disable a check).

use serde_json::{Map, Value};

use crate::error::ConfigError;

/// Parameters every check accepts (Portkey reads `failOnError` and `timeout` from
/// `parameters`; the shorthand form leaves `id` and `is_enabled` there).
const COMMON: &[&str] = &["failOnError", "is_enabled", "id", "timeout", "credentials"];

pub(crate) struct Params<'a> {
    check: &'a str,
    map: &'a Map<String, Value>,
    read: Vec<&'static str>,
}

impl<'a> Params<'a> {
    pub(crate) fn new(check: &'a str, map: &'a Map<String, Value>) -> Self {
        Self {
            check,
            map,
            read: Vec::new(),
        }
    }

    fn get(&mut self, name: &'static str) -> Option<&'a Value> {
        self.read.push(name);
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::Parameter {
            check: self.check.to_owned(),
            message: message.into(),
        }
    }

    fn wrong(&self, name: &str, expected: &str) -> ConfigError {
        self.error(format!("`{name}` must be {expected}"))
    }

    pub(crate) fn bool(&mut self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.wrong(name, "true or false")),
        }
    }

    /// A flag Portkey's check accepts but ignores (its tests pass `not: false` to
    /// `default.contains`): `false` is accepted, `true` is refused rather than ignored.
    pub(crate) fn no_op_flag(
        &mut self,
        name: &'static str,
        instead: &str,
    ) -> Result<(), ConfigError> {
        if self.bool(name, false)? {
            return Err(self.error(format!(
                "`{name}: true` has no effect on this check; {instead}"
            )));
        }
        Ok(())
    }

    pub(crate) fn opt_str(&mut self, name: &'static str) -> Result<Option<&'a str>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong(name, "a string")),
        }
    }

    pub(crate) fn str(&mut self, name: &'static str) -> Result<&'a str, ConfigError> {
        match self.opt_str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.error(format!("missing parameter `{name}`"))),
        }
    }

    /// An integer count; Portkey's manifest defaults apply when absent.
    pub(crate) fn count(&mut self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                        .map(|f| f as u64)
                })
                .ok_or_else(|| self.wrong(name, "a whole number of at least 0")),
        }
    }

    pub(crate) fn opt_u64(&mut self, name: &'static str) -> Result<Option<u64>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong(name, "a whole number of at least 0")),
        }
    }

    /// A list of strings; `comma` also accepts one comma-separated string.
    pub(crate) fn strings(
        &mut self,
        name: &'static str,
        comma: bool,
    ) -> Result<Option<Vec<String>>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.wrong(name, "a list of strings")),
            Some(Value::String(s)) if comma => Ok(Some(
                s.split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect(),
            )),
            Some(_) => Err(self.wrong(name, "a list of strings")),
        }
    }

    pub(crate) fn nonempty_strings(
        &mut self,
        name: &'static str,
    ) -> Result<Vec<String>, ConfigError> {
        match self.strings(name, false)? {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(self.error(format!(
                "missing parameter `{name}` (a non-empty list of strings)"
            ))),
        }
    }

    pub(crate) fn value(&mut self, name: &'static str) -> Option<&'a Value> {
        self.get(name)
    }

    /// Refuses any parameter no getter asked for.
    pub(crate) fn finish(self) -> Result<(), ConfigError> {
        for key in self.map.keys() {
            if !self.read.contains(&key.as_str()) && !COMMON.contains(&key.as_str()) {
                let mut known: Vec<&str> = self
                    .read
                    .iter()
                    .copied()
                    .filter(|k| !COMMON.contains(k))
                    .collect();
                known.sort_unstable();
                known.dedup();
                return Err(ConfigError::Parameter {
                    check: self.check.to_owned(),
                    message: format!(
                        "unknown parameter `{key}` (accepted: {})",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Portkey's `operator` for list checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// At least one present.
    Any,
    /// Every one present.
    All,
    /// None present.
    None,
}

impl Operator {
    pub(crate) fn read(p: &mut Params<'_>, default: Option<Operator>) -> Result<Self, ConfigError> {
        match (p.opt_str("operator")?, default) {
            (Some("any"), _) => Ok(Operator::Any),
            (Some("all"), _) => Ok(Operator::All),
            (Some("none"), _) => Ok(Operator::None),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(p.error("missing parameter `operator` (any, all or none)")),
            (Some(other), _) => Err(p.error(format!(
                "`operator` must be any, all or none, not `{other}`"
            ))),
        }
    }

    /// Portkey's rule: any → something found, all → nothing missing, none → nothing found.
    pub fn passes(self, found: usize, total: usize) -> bool {
        match self {
            Operator::Any => found > 0,
            Operator::All => found == total,
            Operator::None => found == 0,
        }
    }

    /// The name in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Any => "any",
            Operator::All => "all",
            Operator::None => "none",
        }
    }
}
