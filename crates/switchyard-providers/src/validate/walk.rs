//! The walk: checks a JSON value against a [`Node`] while reading it, without building
//! anything. A node says what it accepts for each JSON kind; the walk tracks the path (for
//! `param`) and the nesting depth, and stops at the first problem, kept in [`Cx`].
//!
//! The bytes are read by [`Lexer`]; containers no node looks into are skipped in one loop that
//! only counts their depth.

use std::fmt::{self, Write as _};

use super::lexer::{Lexer, Text};
use super::shapes::Any;
use super::{Code, Invalid, Limits, MAX_DEPTH};

/// The walk stopped: the reason is in [`Cx`].
pub(super) struct Stop;

/// A check's outcome.
pub(super) type Res = Result<(), Stop>;

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

    /// Bytes that are not JSON where a value should be. The envelope already proved the body
    /// is JSON, so this is unreachable from the gateway; it keeps the walk total.
    fn malformed(&mut self, at: usize) -> Stop {
        self.fail(Code::InvalidValue, |p| {
            format!("Invalid request body: not valid JSON at byte {at} (in '{p}').")
        })
    }

    fn enter(&mut self) -> Res {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn too_deep(&mut self) -> Stop {
        let max = self.max_depth;
        self.fail(Code::NestingTooDeep, |p| {
            let at = if p.is_empty() {
                String::new()
            } else {
                format!(" (in '{p}')")
            };
            format!(
                "Invalid request body: arrays and objects are nested deeper than {max} levels{at}."
            )
        })
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

    fn string(self, cx: &mut Cx<'a>, _v: Text<'a>) -> Res {
        Err(cx.wrong_type(self.expected(), Got::String))
    }

    /// True for nodes that never look inside an array or object: the walk checks the
    /// container's kind with [`Node::opaque`] and skips its content in one tight loop, still
    /// counting its depth.
    const OPAQUE: bool = false;

    /// An array or object met by an [`Node::OPAQUE`] node.
    fn opaque(self, cx: &mut Cx<'a>, got: Got) -> Res {
        Err(cx.wrong_type(self.expected(), got))
    }

    /// Reads the elements it wants from `seq`; the walk skips what it leaves.
    fn array(self, cx: &mut Cx<'a>, _seq: &mut Seq<'_, 'a>) -> Res {
        Err(cx.wrong_type(self.expected(), Got::Array))
    }

    /// Reads the members it wants from `map`; the walk skips what it leaves.
    fn object(self, cx: &mut Cx<'a>, _map: &mut Map<'_, 'a>) -> Res {
        Err(cx.wrong_type(self.expected(), Got::Object))
    }
}

/// Walks the value at the lexer's position with `node`.
pub(super) fn walk<'a, N: Node<'a>>(cx: &mut Cx<'a>, lx: &mut Lexer<'a>, node: N) -> Res {
    let at = lx.pos();
    match lx.peek() {
        Some(b'"') => match lx.string() {
            Some(t) => node.string(cx, t),
            None => Err(cx.malformed(at)),
        },
        Some(open @ (b'{' | b'[')) => {
            lx.pos += 1;
            cx.enter()?;
            let object = open == b'{';
            if N::OPAQUE {
                node.opaque(cx, if object { Got::Object } else { Got::Array })?;
                skip_container(cx, lx)?;
            } else if object {
                let mut map = Map::new(lx);
                node.object(cx, &mut map)?;
                map.finish(cx)?;
            } else {
                let mut seq = Seq::new(lx);
                node.array(cx, &mut seq)?;
                seq.finish(cx)?;
            }
            cx.leave();
            Ok(())
        }
        Some(b't') => match lx.literal("true") {
            Some(()) => node.boolean(cx, true),
            None => Err(cx.malformed(at)),
        },
        Some(b'f') => match lx.literal("false") {
            Some(()) => node.boolean(cx, false),
            None => Err(cx.malformed(at)),
        },
        Some(b'n') => match lx.literal("null") {
            Some(()) => node.null(cx),
            None => Err(cx.malformed(at)),
        },
        Some(b'-' | b'0'..=b'9') => match lx.number() {
            Some(n) => node.number(cx, n),
            None => Err(cx.malformed(at)),
        },
        _ => Err(cx.malformed(at)),
    }
}

/// Skips the rest of the container the lexer is in (its opening bracket read and counted in
/// `cx`), counting the depth of the containers inside it without a call per value.
fn skip_container<'a>(cx: &mut Cx<'a>, lx: &mut Lexer<'a>) -> Res {
    let bytes = lx.text.as_bytes();
    let room = cx.max_depth.saturating_sub(cx.depth);
    // Containers open inside this one.
    let mut inner = 0usize;
    loop {
        let at = lx.pos;
        match bytes.get(at) {
            Some(b'"') => {
                if lx.string().is_none() {
                    return Err(cx.malformed(at));
                }
            }
            Some(b'[' | b'{') => {
                inner += 1;
                if inner > room {
                    return Err(cx.too_deep());
                }
                lx.pos += 1;
            }
            Some(b']' | b'}') => {
                lx.pos += 1;
                if inner == 0 {
                    return Ok(());
                }
                inner -= 1;
            }
            Some(_) => lx.pos += 1,
            None => return Err(cx.malformed(at)),
        }
    }
}

/// The elements of an array being walked.
pub(super) struct Seq<'l, 'a> {
    lx: &'l mut Lexer<'a>,
    first: bool,
    done: bool,
}

impl<'l, 'a> Seq<'l, 'a> {
    fn new(lx: &'l mut Lexer<'a>) -> Self {
        Self {
            lx,
            first: true,
            done: false,
        }
    }

    /// Walks the next element with `node`; `false` at the end of the array.
    pub(super) fn next<N: Node<'a>>(&mut self, cx: &mut Cx<'a>, node: N) -> Result<bool, Stop> {
        if self.done {
            return Ok(false);
        }
        match self.lx.peek() {
            Some(b']') => {
                self.lx.pos += 1;
                self.done = true;
                return Ok(false);
            }
            Some(b',') if !self.first => self.lx.pos += 1,
            _ if self.first => {}
            _ => return Err(cx.malformed(self.lx.pos())),
        }
        self.first = false;
        walk(cx, self.lx, node)?;
        Ok(true)
    }

    fn finish(&mut self, cx: &mut Cx<'a>) -> Res {
        while self.next(cx, Any)? {}
        Ok(())
    }
}

/// The members of an object being walked: each key, then its value.
pub(super) struct Map<'l, 'a> {
    lx: &'l mut Lexer<'a>,
    first: bool,
    done: bool,
    /// A key was read and its value not yet.
    pending: bool,
}

impl<'l, 'a> Map<'l, 'a> {
    fn new(lx: &'l mut Lexer<'a>) -> Self {
        Self {
            lx,
            first: true,
            done: false,
            pending: false,
        }
    }

    /// The next key as it sits in the body; `None` at the end of the object. A value left
    /// unread is skipped first.
    pub(super) fn next_text(&mut self, cx: &mut Cx<'a>) -> Result<Option<Text<'a>>, Stop> {
        if self.pending {
            self.value_here(cx, Any)?;
        }
        if self.done {
            return Ok(None);
        }
        let mut next = self.lx.peek();
        if next == Some(b'}') {
            self.lx.pos += 1;
            self.done = true;
            return Ok(None);
        }
        if !self.first {
            if next != Some(b',') {
                return Err(cx.malformed(self.lx.pos()));
            }
            self.lx.pos += 1;
            next = self.lx.peek();
        }
        self.first = false;
        let at = self.lx.pos();
        let key = match next {
            Some(b'"') => self.lx.string(),
            _ => None,
        };
        match key {
            Some(key) if self.lx.eat(b':') => {
                self.pending = true;
                Ok(Some(key))
            }
            _ => Err(cx.malformed(at)),
        }
    }

    /// The next key, mapped through `known`.
    pub(super) fn next_key<K>(
        &mut self,
        cx: &mut Cx<'a>,
        known: fn(&str) -> K,
    ) -> Result<Option<K>, Stop> {
        Ok(self.next_text(cx)?.map(|key| match key.raw() {
            Some(k) => known(k),
            None => known(&key.get()),
        }))
    }

    /// Walks the value of the key just read with `node`.
    pub(super) fn value_here<N: Node<'a>>(&mut self, cx: &mut Cx<'a>, node: N) -> Res {
        self.pending = false;
        walk(cx, self.lx, node)
    }

    fn finish(&mut self, cx: &mut Cx<'a>) -> Res {
        while self.next_text(cx)?.is_some() {}
        Ok(())
    }
}

/// Walks the value of `key` (the key just read from `map`) with `node`, naming `key` on the
/// path.
pub(super) fn value<'a, N: Node<'a>>(
    cx: &mut Cx<'a>,
    map: &mut Map<'_, 'a>,
    key: &'a str,
    node: N,
) -> Res {
    cx.push_key(key);
    map.value_here(cx, node)?;
    cx.pop();
    Ok(())
}

/// Walks the value of the key just read with `node`, the key already on the path (or not
/// worth naming).
pub(super) fn value_here<'a, N: Node<'a>>(cx: &mut Cx<'a>, map: &mut Map<'_, 'a>, node: N) -> Res {
    map.value_here(cx, node)
}

/// Walks the value of a key that is not checked (only its depth is).
pub(super) fn skip_value<'a>(cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
    map.value_here(cx, Any)
}

/// Walks every element of `seq`, the `i`-th with `node(i)`; returns how many there were.
pub(super) fn elements<'a, N: Node<'a>>(
    cx: &mut Cx<'a>,
    seq: &mut Seq<'_, 'a>,
    mut node: impl FnMut(usize) -> N,
) -> Result<usize, Stop> {
    let mut i = 0;
    loop {
        cx.push_index(i);
        let more = seq.next(cx, node(i))?;
        cx.pop();
        if !more {
            return Ok(i);
        }
        i += 1;
    }
}

/// An endpoint's top-level fields: checks each known one, and what must be present at the end.
pub(super) trait Fields<'a> {
    /// Walks the value of top-level `key` (every key comes here once, known or not; the key is
    /// already on the path).
    fn field(&mut self, cx: &mut Cx<'a>, key: &'a str, map: &mut Map<'_, 'a>) -> Res;

    /// Called after the last field.
    fn finish(self, cx: &mut Cx<'a>) -> Res;
}

/// Walks a body (a JSON object) with an endpoint's fields. `keys` finds a key written with
/// escapes among the body's decoded top-level keys (the envelope's), to name it on the path.
pub(super) fn body<'a, F: Fields<'a>>(
    cx: &mut Cx<'a>,
    text: &'a str,
    keys: impl Fn(&str) -> Option<&'a str>,
    mut fields: F,
) -> Res {
    let mut lx = Lexer::new(text);
    if !lx.eat(b'{') {
        return Err(cx.malformed(lx.pos()));
    }
    cx.enter()?;
    let mut map = Map::new(&mut lx);
    while let Some(key) = map.next_text(cx)? {
        let key = match key.raw() {
            Some(k) => k,
            None => keys(&key.get()).unwrap_or(""),
        };
        cx.push_key(key);
        fields.field(cx, key, &mut map)?;
        cx.pop();
    }
    fields.finish(cx)?;
    cx.leave();
    Ok(())
}
