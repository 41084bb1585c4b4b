//! Nodes every endpoint uses: any value, booleans, strings (bounded, enumerated), integers and
//! numbers within bounds, objects whose content is not inspected, string arrays and maps.

use std::fmt;

use super::lexer::Text;
use super::walk::{elements, value, value_here, Cx, Got, Map, Node, Num, Res, Seq};
use super::Code;

/// Anything; only its depth is checked.
pub(super) struct Any;

impl<'a> Node<'a> for Any {
    fn expected(&self) -> &'static str {
        "any value"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn boolean(self, _: &mut Cx<'a>, _: bool) -> Res {
        Ok(())
    }
    fn number(self, _: &mut Cx<'a>, _: Num) -> Res {
        Ok(())
    }
    fn string(self, _: &mut Cx<'a>, _: Text<'a>) -> Res {
        Ok(())
    }
    const OPAQUE: bool = true;
    fn opaque(self, _: &mut Cx<'a>, _: Got) -> Res {
        Ok(())
    }
}

/// `true` or `false` (or `null`).
pub(super) struct Bool;

impl<'a> Node<'a> for Bool {
    fn expected(&self) -> &'static str {
        "a boolean"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn boolean(self, _: &mut Cx<'a>, _: bool) -> Res {
        Ok(())
    }
}

/// A string of any length, `null` allowed or not; sets `seen` when a string (not `null`) came.
pub(super) struct Str<'o> {
    pub(super) nullable: bool,
    pub(super) seen: Option<&'o mut bool>,
}

impl Str<'_> {
    /// A string or `null`.
    pub(super) const OPTIONAL: Str<'static> = Str {
        nullable: true,
        seen: None,
    };
    /// A string.
    pub(super) const REQUIRED: Str<'static> = Str {
        nullable: false,
        seen: None,
    };
}

/// A string, noting that it came.
pub(super) fn str_seen(seen: &mut bool) -> Str<'_> {
    Str {
        nullable: false,
        seen: Some(seen),
    }
}

impl<'a> Node<'a> for Str<'_> {
    fn expected(&self) -> &'static str {
        "a string"
    }
    fn null(self, cx: &mut Cx<'a>) -> Res {
        if self.nullable {
            Ok(())
        } else {
            Err(cx.wrong_type("a string", Got::Null))
        }
    }
    fn string(self, _: &mut Cx<'a>, _: Text<'a>) -> Res {
        if let Some(seen) = self.seen {
            *seen = true;
        }
        Ok(())
    }
}

/// A string of at most `max` characters (or `null`).
pub(super) struct MaxChars(pub(super) usize);

impl<'a> Node<'a> for MaxChars {
    fn expected(&self) -> &'static str {
        "a string"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        // Bytes bound characters from above: count only when it can matter.
        if v.quoted.len() > self.0 {
            let len = v.get().chars().count();
            if len > self.0 {
                return Err(cx.string_too_long(self.0, len));
            }
        }
        Ok(())
    }
}

/// One of a fixed set of strings (or `null` when `nullable`).
pub(super) struct OneOf {
    pub(super) values: &'static [&'static str],
    pub(super) nullable: bool,
}

impl OneOf {
    pub(super) const fn optional(values: &'static [&'static str]) -> Self {
        Self {
            values,
            nullable: true,
        }
    }
}

impl<'a> Node<'a> for OneOf {
    fn expected(&self) -> &'static str {
        "a string"
    }
    fn null(self, cx: &mut Cx<'a>) -> Res {
        if self.nullable {
            Ok(())
        } else {
            Err(cx.wrong_type("a string", Got::Null))
        }
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        let v = v.get();
        if self.values.contains(&&*v) {
            Ok(())
        } else {
            Err(cx.not_one_of(&v, self.values))
        }
    }
}

/// An integer bound and whether it is the gateway's rather than OpenAI's.
#[derive(Clone, Copy)]
pub(super) struct Bound {
    pub(super) value: i128,
    pub(super) gateway: bool,
}

impl Bound {
    pub(super) const fn api(value: i128) -> Option<Self> {
        Some(Self {
            value,
            gateway: false,
        })
    }
}

/// An integer within bounds (or `null`).
pub(super) struct Int {
    pub(super) min: Option<Bound>,
    pub(super) max: Option<Bound>,
}

impl Int {
    pub(super) const ANY: Int = Int {
        min: None,
        max: None,
    };

    pub(super) const fn range(min: i128, max: i128) -> Self {
        Self {
            min: Bound::api(min),
            max: Bound::api(max),
        }
    }

    pub(super) const fn at_least(min: i128) -> Self {
        Self {
            min: Bound::api(min),
            max: None,
        }
    }

    /// At most `max` from the API and at most `cap` from the gateway; the tighter one wins.
    pub(super) fn capped(min: i128, api_max: Option<i128>, cap: Option<u64>) -> Self {
        let api = api_max.map(|value| Bound {
            value,
            gateway: false,
        });
        let gateway = cap.map(|c| Bound {
            value: i128::from(c),
            gateway: true,
        });
        let max = match (api, gateway) {
            (Some(a), Some(g)) if g.value < a.value => Some(g),
            (Some(a), _) => Some(a),
            (None, g) => g,
        };
        Self {
            min: Bound::api(min),
            max,
        }
    }
}

impl<'a> Node<'a> for Int {
    fn expected(&self) -> &'static str {
        "an integer"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn number(self, cx: &mut Cx<'a>, v: Num) -> Res {
        let Some(n) = v.integer() else {
            return Err(cx.wrong_type("an integer", v.got()));
        };
        if let Some(min) = self.min.filter(|m| n < m.value) {
            return Err(cx.fail(Code::IntegerBelowMinValue, |p| {
                format!(
                    "Invalid '{p}': integer below minimum value. Expected a value >= {}, but got {v} instead.",
                    min.value
                )
            }));
        }
        if let Some(max) = self.max.filter(|m| n > m.value) {
            let why = if max.gateway {
                " (the limit this gateway sets)"
            } else {
                ""
            };
            return Err(cx.fail(Code::IntegerAboveMaxValue, |p| {
                format!(
                    "Invalid '{p}': integer above maximum value. Expected a value <= {}{why}, but got {v} instead.",
                    max.value
                )
            }));
        }
        Ok(())
    }
}

/// A number within bounds, inclusive (or `null`).
pub(super) struct Number {
    pub(super) min: f64,
    pub(super) max: f64,
}

impl<'a> Node<'a> for Number {
    fn expected(&self) -> &'static str {
        "a number"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn number(self, cx: &mut Cx<'a>, v: Num) -> Res {
        range(cx, v.float(), &v, self.min, self.max)
    }
}

/// Checks `x` (shown as `shown`) against `min..=max`.
pub(super) fn range(cx: &mut Cx<'_>, x: f64, shown: &dyn fmt::Display, min: f64, max: f64) -> Res {
    if x < min {
        return Err(cx.fail(Code::DecimalBelowMinValue, |p| {
            format!(
                "Invalid '{p}': decimal below minimum value. Expected a value >= {min}, but got {shown} instead."
            )
        }));
    }
    if x > max {
        return Err(cx.fail(Code::DecimalAboveMaxValue, |p| {
            format!(
                "Invalid '{p}': decimal above maximum value. Expected a value <= {max}, but got {shown} instead."
            )
        }));
    }
    Ok(())
}

/// An object of any content (or `null`).
pub(super) struct Object;

impl<'a> Node<'a> for Object {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    const OPAQUE: bool = true;
    fn opaque(self, cx: &mut Cx<'a>, got: Got) -> Res {
        object_only(cx, got)
    }
}

/// The check of an opaque node that takes objects only.
pub(super) fn object_only(cx: &mut Cx<'_>, got: Got) -> Res {
    match got {
        Got::Object => Ok(()),
        other => Err(cx.wrong_type("an object", other)),
    }
}

/// An array of strings (or `null`).
pub(super) struct Strings;

impl<'a> Node<'a> for Strings {
    fn expected(&self) -> &'static str {
        "an array of strings"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        elements(cx, seq, |_| Str::REQUIRED)?;
        Ok(())
    }
}

/// An object whose values are strings (or `null`): `metadata`.
pub(super) struct StringMap;

impl<'a> Node<'a> for StringMap {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        while let Some(key) = map.next_text(cx)? {
            match key.raw() {
                Some(k) => value(cx, map, k, Str::REQUIRED)?,
                None => value_here(cx, map, Str::REQUIRED)?,
            }
        }
        Ok(())
    }
}

/// One of a fixed set of strings, each standing for a `T` that is written to `out`.
pub(super) struct Pick<'o, T: Copy + 'static> {
    pub(super) names: &'static [&'static str],
    pub(super) values: &'static [T],
    pub(super) out: &'o mut Option<T>,
}

impl<'a, T: Copy + 'static> Node<'a> for Pick<'_, T> {
    fn expected(&self) -> &'static str {
        "a string"
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        let v = v.get();
        match self.names.iter().position(|n| *n == v) {
            Some(i) => {
                *self.out = self.values.get(i).copied();
                Ok(())
            }
            None => Err(cx.not_one_of(&v, self.names)),
        }
    }
}
