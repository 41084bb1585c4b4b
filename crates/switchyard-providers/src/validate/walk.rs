//! The walk: a serde visitor that checks a JSON value against a [`Node`] while serde_json reads
//! it, without building anything. A node says what it accepts for each JSON kind; the walk
//! tracks the path (for `param`) and the nesting depth, and stops at the first problem, kept in
//! [`Cx`] while a placeholder serde error unwinds the parser.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Code, Invalid, Limits, MAX_DEPTH};
use crate::envelope::JsonEnvelope;

/// The walk stopped: the reason is in [`Cx`].
pub(super) struct Stop;

/// A check's outcome.
pub(super) type Res = Result<(), Stop>;

/// Turns a [`Stop`] into the parser's error type, to unwind it.
pub(super) fn halt<E: de::Error>(_: Stop) -> E {
    E::custom("request refused by validation")
}

/// The JSON kind a value turned out to be, named as OpenAI's messages name it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Got {
    Null,
    Boolean,
    Integer,
    Decimal,
    String,
    Array,
    Object,
}

impl Got {
    fn describe(self) -> &'static str {
        match self {
            Got::Null => "null",
            Got::Boolean => "a boolean",
            Got::Integer => "an integer",
            Got::Decimal => "a decimal number",
            Got::String => "a string",
            Got::Array => "an array",
            Got::Object => "an object",
        }
    }
}

/// A JSON number as serde_json reports it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Num {
    U(u64),
    I(i64),
    F(f64),
}

impl Num {
    pub(super) fn got(self) -> Got {
        match self {
            Num::F(f) if f.fract() != 0.0 => Got::Decimal,
            _ => Got::Integer,
        }
    }

    /// The value as an integer; integral decimals (`256.0`) count, as in JSON Schema.
    pub(super) fn integer(self) -> Option<i128> {
        match self {
            Num::U(u) => Some(i128::from(u)),
            Num::I(i) => Some(i128::from(i)),
            // 2^63: beyond it an f64 no longer says which integer was meant.
            Num::F(f) if f.fract() == 0.0 && f.abs() < 9.223_372_036_854_776e18 => Some(f as i128),
            Num::F(_) => None,
        }
    }

    pub(super) fn float(self) -> f64 {
        match self {
            Num::U(u) => u as f64,
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::U(u) => write!(f, "{u}"),
            Num::I(i) => write!(f, "{i}"),
            Num::F(x) => write!(f, "{x}"),
        }
    }
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Segments kept for `param`; known paths are at most six deep
/// (`messages[0].tool_calls[0].function.name`), deeper ones are reported at this depth.
const PATH_SEGMENTS: usize = 8;

struct Path<'a> {
    segs: [Seg<'a>; PATH_SEGMENTS],
    len: usize,
    /// Pushes beyond `segs`, so pops stay balanced.
    overflow: usize,
}

impl<'a> Path<'a> {
    fn push(&mut self, seg: Seg<'a>) {
        if self.len < PATH_SEGMENTS {
            self.segs[self.len] = seg;
            self.len += 1;
        } else {
            self.overflow += 1;
        }
    }

    fn pop(&mut self) {
        if self.overflow > 0 {
            self.overflow -= 1;
        } else {
            self.len = self.len.saturating_sub(1);
        }
    }

    fn render(&self) -> String {
        let mut out = String::with_capacity(32);
        for seg in &self.segs[..self.len] {
            // Writing into a String cannot fail.
            let _ = match seg {
                Seg::Key(k) if out.is_empty() => write!(out, "{k}"),
                Seg::Key(k) => write!(out, ".{k}"),
                Seg::Index(i) => write!(out, "[{i}]"),
            };
        }
        out
    }
}

/// The walk's state: limits, depth, path, and the problem once one is found.
pub(super) struct Cx<'a> {
    pub(super) limits: &'a Limits,
    max_depth: usize,
    depth: usize,
    path: Path<'a>,
    err: Option<Invalid>,
}

impl<'a> Cx<'a> {
    pub(super) fn new(limits: &'a Limits) -> Self {
        Self {
            limits,
            max_depth: limits.max_depth.clamp(1, MAX_DEPTH),
            depth: 0,
            path: Path {
                segs: [Seg::Index(0); PATH_SEGMENTS],
                len: 0,
                overflow: 0,
            },
            err: None,
        }
    }

    pub(super) fn take_error(&mut self) -> Option<Invalid> {
        self.err.take()
    }

    pub(super) fn push_key(&mut self, key: &'a str) {
        self.path.push(Seg::Key(key));
    }

    pub(super) fn push_index(&mut self, index: usize) {
        self.path.push(Seg::Index(index));
    }

    pub(super) fn pop(&mut self) {
        self.path.pop();
    }

    /// Records the problem at the current path; `message` gets the rendered path.
    pub(super) fn fail(&mut self, code: Code, message: impl FnOnce(&str) -> String) -> Stop {
        let param = self.path.render();
        self.err = Some(Invalid {
            message: message(&param),
            param: Some(param),
            code,
        });
        Stop
    }

    pub(super) fn wrong_type(&mut self, expected: &str, got: Got) -> Stop {
        self.fail(Code::InvalidType, |p| {
            format!(
                "Invalid type for '{p}': expected {expected}, but got {} instead.",
                got.describe()
            )
        })
    }

    /// `key` is required in the object at the current path.
    pub(super) fn missing(&mut self, key: &'a str) -> Stop {
        self.push_key(key);
        self.fail(Code::MissingRequiredParameter, |p| {
            format!("Missing required parameter: '{p}'.")
        })
    }

    /// A string outside its enumeration.
    pub(super) fn not_one_of(&mut self, value: &str, allowed: &[&str]) -> Stop {
        let value = shorten(value);
        self.fail(Code::InvalidValue, |p| {
            format!(
                "Invalid value for '{p}': '{value}'. Supported values are: {}.",
                quoted_list(allowed)
            )
        })
    }

    pub(super) fn empty_array(&mut self) -> Stop {
        self.fail(Code::EmptyArray, |p| {
            format!(
                "Invalid '{p}': empty array. Expected an array with minimum length 1, but got an empty array instead."
            )
        })
    }

    pub(super) fn too_long(&mut self, max: usize, len: usize, why: &str) -> Stop {
        self.fail(Code::ArrayAboveMaxLength, |p| {
            format!(
                "Invalid '{p}': array too long. Expected an array with maximum length {max}{why}, but got an array with length {len} instead."
            )
        })
    }

    pub(super) fn string_too_long(&mut self, max: usize, len: usize) -> Stop {
        self.fail(Code::StringAboveMaxLength, |p| {
            format!(
                "Invalid '{p}': string too long. Expected a string with maximum length {max}, but got a string with length {len} instead."
            )
        })
    }

    fn enter(&mut self) -> Res {
        self.depth += 1;
        if self.depth > self.max_depth {
            let max = self.max_depth;
            return Err(self.fail(Code::NestingTooDeep, |p| {
                let at = if p.is_empty() {
                    String::new()
                } else {
                    format!(" (in '{p}')")
                };
                format!(
                    "Invalid request body: arrays and objects are nested deeper than {max} levels{at}."
                )
            }));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }
}

/// A value for messages: at most 64 characters of it.
pub(super) fn shorten(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// `'a', 'b' and 'c'`.
pub(super) fn quoted_list(items: &[&str]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == items.len() { " and " } else { ", " });
        }
        out.push('\'');
        out.push_str(item);
        out.push('\'');
    }
    out
}

/// What a value may be. Each method handles one JSON kind; the defaults refuse it, naming
/// [`Node::expected`].
pub(super) trait Node<'a>: Sized {
    /// What the value must be, for type errors: "a string", "an array of objects".
    fn expected(&self) -> &'static str;

    fn null(self, cx: &mut Cx<'a>) -> Res {
        Err(cx.wrong_type(self.expected(), Got::Null))
    }

    fn boolean(self, cx: &mut Cx<'a>, _v: bool) -> Res {
        Err(cx.wrong_type(self.expected(), Got::Boolean))
    }

    fn number(self, cx: &mut Cx<'a>, v: Num) -> Res {
        Err(cx.wrong_type(self.expected(), v.got()))
    }

    fn string(self, cx: &mut Cx<'a>, _v: &str) -> Res {
        Err(cx.wrong_type(self.expected(), Got::String))
    }

    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, _seq: A) -> Result<(), A::Error> {
        Err(halt(cx.wrong_type(self.expected(), Got::Array)))
    }

    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, _map: A) -> Result<(), A::Error> {
        Err(halt(cx.wrong_type(self.expected(), Got::Object)))
    }
}

/// Walks one value with a node.
pub(super) struct Walk<'c, 'a, N> {
    cx: &'c mut Cx<'a>,
    node: N,
}

impl<'c, 'a, N: Node<'a>> DeserializeSeed<'a> for Walk<'c, 'a, N> {
    type Value = ();

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'c, 'a, N: Node<'a>> Visitor<'a> for Walk<'c, 'a, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.node.expected())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.node.null(self.cx).map_err(halt)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.node.boolean(self.cx, v).map_err(halt)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.node.number(self.cx, Num::U(v)).map_err(halt)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.node.number(self.cx, Num::I(v)).map_err(halt)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.node.number(self.cx, Num::F(v)).map_err(halt)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.node.string(self.cx, v).map_err(halt)
    }

    fn visit_seq<A: SeqAccess<'a>>(self, seq: A) -> Result<(), A::Error> {
        self.cx.enter().map_err(halt)?;
        self.node.array(self.cx, seq)?;
        self.cx.leave();
        Ok(())
    }

    fn visit_map<A: MapAccess<'a>>(self, map: A) -> Result<(), A::Error> {
        self.cx.enter().map_err(halt)?;
        self.node.object(self.cx, map)?;
        self.cx.leave();
        Ok(())
    }
}

/// Walks the value of `key` (the key just read from `map`) with `node`.
pub(super) fn value<'a, A: MapAccess<'a>, N: Node<'a>>(
    cx: &mut Cx<'a>,
    map: &mut A,
    key: &'a str,
    node: N,
) -> Result<(), A::Error> {
    cx.push_key(key);
    map.next_value_seed(Walk { cx: &mut *cx, node })?;
    cx.pop();
    Ok(())
}

/// Walks the value of the key just read with `node`, the key already on the path (or not
/// worth naming).
pub(super) fn value_here<'a, A: MapAccess<'a>, N: Node<'a>>(
    cx: &mut Cx<'a>,
    map: &mut A,
    node: N,
) -> Result<(), A::Error> {
    map.next_value_seed(Walk { cx, node })
}

/// Walks the value of a key that is not checked (only its depth is).
pub(super) fn skip_value<'a, A: MapAccess<'a>>(
    cx: &mut Cx<'a>,
    map: &mut A,
) -> Result<(), A::Error> {
    value_here(cx, map, Any)
}

/// Walks every element of `seq`, the `i`-th with `node(i)`; returns how many there were.
pub(super) fn elements<'a, A: SeqAccess<'a>, N: Node<'a>>(
    cx: &mut Cx<'a>,
    seq: &mut A,
    mut node: impl FnMut(usize) -> N,
) -> Result<usize, A::Error> {
    let mut i = 0;
    loop {
        cx.push_index(i);
        let more = seq.next_element_seed(Walk {
            cx: &mut *cx,
            node: node(i),
        })?;
        cx.pop();
        if more.is_none() {
            return Ok(i);
        }
        i += 1;
    }
}

/// Reads the next key of `map`, mapped through `known` (escaped keys are decoded first).
pub(super) fn next_key<'a, A: MapAccess<'a>, K>(
    map: &mut A,
    known: fn(&str) -> K,
) -> Result<Option<K>, A::Error> {
    map.next_key_seed(KeySeed(known))
}

struct KeySeed<K>(fn(&str) -> K);

impl<'a, K> DeserializeSeed<'a> for KeySeed<K> {
    type Value = K;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<K, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a, K> Visitor<'a> for KeySeed<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<K, E> {
        Ok((self.0)(v))
    }
}

/// Reads the next key of `map` as a slice of the body, for paths that name keys no table
/// knows (`metadata.<key>`); `Some(None)` for a key with escapes.
pub(super) fn next_borrowed_key<'a, A: MapAccess<'a>>(
    map: &mut A,
) -> Result<Option<Option<&'a str>>, A::Error> {
    map.next_key_seed(BorrowedKey)
}

struct BorrowedKey;

impl<'a> DeserializeSeed<'a> for BorrowedKey {
    type Value = Option<&'a str>;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for BorrowedKey {
    type Value = Option<&'a str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An endpoint's top-level fields: checks each known one, and what must be present at the end.
pub(super) trait Fields<'a> {
    /// Walks the value of top-level `key` (every key comes here once, known or not).
    fn field<A: MapAccess<'a>>(
        &mut self,
        cx: &mut Cx<'a>,
        key: &'a str,
        map: &mut A,
    ) -> Result<(), A::Error>;

    /// Called after the last field.
    fn finish(self, cx: &mut Cx<'a>) -> Res;
}

/// The body: an object whose fields go to an endpoint's [`Fields`].
pub(super) struct Top<'c, 'a, F> {
    cx: &'c mut Cx<'a>,
    body: &'a JsonEnvelope,
    fields: F,
}

impl<'c, 'a, F> Top<'c, 'a, F> {
    pub(super) fn new(cx: &'c mut Cx<'a>, body: &'a JsonEnvelope, fields: F) -> Self {
        Self { cx, body, fields }
    }
}

impl<'c, 'a, F: Fields<'a>> Visitor<'a> for Top<'c, 'a, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        let Top {
            cx,
            body,
            mut fields,
        } = self;
        cx.enter().map_err(halt)?;
        while let Some(key) = map.next_key_seed(TopKey { body })? {
            cx.push_key(key);
            fields.field(cx, key, &mut map)?;
            cx.pop();
        }
        fields.finish(cx).map_err(halt)?;
        cx.leave();
        Ok(())
    }
}

/// A top-level key as a slice of the body; a key with escapes is found among the envelope's
/// decoded keys, which live as long as the body.
struct TopKey<'a> {
    body: &'a JsonEnvelope,
}

impl<'a> DeserializeSeed<'a> for TopKey<'a> {
    type Value = &'a str;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<&'a str, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for TopKey<'a> {
    type Value = &'a str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<&'a str, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'a str, E> {
        Ok(self.body.keys().find(|k| *k == v).unwrap_or(""))
    }
}

// ---- Nodes shared by every endpoint ----

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
    fn string(self, _: &mut Cx<'a>, _: &str) -> Res {
        Ok(())
    }
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Walk {
                cx: &mut *cx,
                node: Any,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            skip_value(cx, &mut map)?;
        }
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
    fn string(self, _: &mut Cx<'a>, _: &str) -> Res {
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
    fn string(self, cx: &mut Cx<'a>, v: &str) -> Res {
        // Bytes bound characters from above: count only when it can matter.
        if v.len() > self.0 {
            let len = v.chars().count();
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
    fn string(self, cx: &mut Cx<'a>, v: &str) -> Res {
        if self.values.contains(&v) {
            Ok(())
        } else {
            Err(cx.not_one_of(v, self.values))
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
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, map: A) -> Result<(), A::Error> {
        Any.object(cx, map)
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
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        elements(cx, &mut seq, |_| Str::REQUIRED)?;
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
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = next_borrowed_key(&mut map)? {
            match key {
                Some(k) => value(cx, &mut map, k, Str::REQUIRED)?,
                None => value_here(cx, &mut map, Str::REQUIRED)?,
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
    fn string(self, cx: &mut Cx<'a>, v: &str) -> Res {
        match self.names.iter().position(|n| *n == v) {
            Some(i) => {
                *self.out = self.values.get(i).copied();
                Ok(())
            }
            None => Err(cx.not_one_of(v, self.names)),
        }
    }
}
