//! `POST /v1/completions` and `POST /v1/embeddings`: text given as a string, an array of
//! strings, an array of token ids or an array of token-id arrays.

use std::cell::Cell;

use super::lexer::Text;
use super::sampling::sampling;
use super::shapes::{Bool, Int, OneOf, Str};
use super::walk::{elements, skip_value, value_here, Cx, Fields, Got, Map, Node, Num, Res, Seq};
use super::Code;

/// Legacy completions' top-level fields.
#[derive(Default)]
pub(super) struct Completions {
    prompt: bool,
}

impl<'a> Fields<'a> for Completions {
    fn field(&mut self, cx: &mut Cx<'a>, key: &'a str, map: &mut Map<'_, 'a>) -> Res {
        if sampling(cx, key, map)? {
            return Ok(());
        }
        let cap = cx.limits.max_tokens;
        match key {
            "prompt" => {
                self.prompt = true;
                value_here(cx, map, Inputs::PROMPT)
            }
            // Completions take 0 (with `echo`, to score a prompt without generating).
            "max_tokens" => value_here(cx, map, Int::capped(0, None, cap)),
            "best_of" => value_here(cx, map, Int::range(0, 20)),
            "logprobs" => value_here(cx, map, Int::range(0, 5)),
            "echo" => value_here(cx, map, Bool),
            "suffix" => value_here(cx, map, Str::OPTIONAL),
            _ => skip_value(cx, map),
        }
    }

    fn finish(self, cx: &mut Cx<'a>) -> Res {
        if self.prompt {
            Ok(())
        } else {
            Err(cx.missing("prompt"))
        }
    }
}

/// Embeddings' top-level fields.
#[derive(Default)]
pub(super) struct Embeddings {
    input: bool,
}

impl<'a> Fields<'a> for Embeddings {
    fn field(&mut self, cx: &mut Cx<'a>, key: &'a str, map: &mut Map<'_, 'a>) -> Res {
        match key {
            "input" => {
                self.input = true;
                value_here(cx, map, Inputs::EMBEDDING)
            }
            "encoding_format" => value_here(cx, map, OneOf::optional(&["float", "base64"])),
            "dimensions" => value_here(cx, map, Int::at_least(1)),
            "user" => value_here(cx, map, Str::OPTIONAL),
            _ => skip_value(cx, map),
        }
    }

    fn finish(self, cx: &mut Cx<'a>) -> Res {
        if self.input {
            Ok(())
        } else {
            Err(cx.missing("input"))
        }
    }
}

const INPUT: &str =
    "one of a string, an array of strings, an array of integers or an array of arrays of integers";

/// A `prompt` or an `input`.
struct Inputs {
    nullable: bool,
    /// `""` refused (embeddings: "cannot be an empty string").
    non_empty: bool,
    /// Most entries in an array (embeddings: 2,048).
    max_items: Option<usize>,
    /// An empty array refused.
    min_one: bool,
}

impl Inputs {
    const PROMPT: Inputs = Inputs {
        nullable: true,
        non_empty: false,
        max_items: None,
        min_one: false,
    };
    const EMBEDDING: Inputs = Inputs {
        nullable: false,
        non_empty: true,
        max_items: Some(2048),
        min_one: true,
    };
}

impl<'a> Node<'a> for Inputs {
    fn expected(&self) -> &'static str {
        INPUT
    }
    fn null(self, cx: &mut Cx<'a>) -> Res {
        if self.nullable {
            Ok(())
        } else {
            Err(cx.wrong_type(INPUT, Got::Null))
        }
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        if self.non_empty && v.is_empty() {
            return Err(cx.fail(Code::InvalidValue, |p| {
                format!("Invalid '{p}': empty string. Expected a non-empty string or array.")
            }));
        }
        Ok(())
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        let kind = Cell::new(None);
        let n = elements(cx, seq, |_| Item { kind: &kind })?;
        if n == 0 && self.min_one {
            return Err(cx.empty_array());
        }
        if let Some(max) = self.max_items.filter(|m| n > *m) {
            return Err(cx.too_long(max, n, ""));
        }
        Ok(())
    }
}

/// The form of an array's entries: the first entry decides, the others must follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    String,
    Token,
    Tokens,
}

impl ItemKind {
    fn expected(kind: Option<ItemKind>) -> &'static str {
        match kind {
            None => "one of a string, an integer or an array of integers",
            Some(ItemKind::String) => "a string",
            Some(ItemKind::Token) => "an integer",
            Some(ItemKind::Tokens) => "an array of integers",
        }
    }
}

struct Item<'o> {
    kind: &'o Cell<Option<ItemKind>>,
}

impl Item<'_> {
    fn is(&self, cx: &mut Cx<'_>, kind: ItemKind, got: Got) -> Res {
        match self.kind.get() {
            None => {
                self.kind.set(Some(kind));
                Ok(())
            }
            Some(k) if k == kind => Ok(()),
            other => Err(cx.wrong_type(ItemKind::expected(other), got)),
        }
    }
}

impl<'a> Node<'a> for Item<'_> {
    fn expected(&self) -> &'static str {
        ItemKind::expected(self.kind.get())
    }
    fn string(self, cx: &mut Cx<'a>, _: Text<'a>) -> Res {
        self.is(cx, ItemKind::String, Got::String)
    }
    fn number(self, cx: &mut Cx<'a>, v: Num) -> Res {
        if v.integer().is_none() {
            return Err(cx.wrong_type(self.expected(), v.got()));
        }
        self.is(cx, ItemKind::Token, Got::Integer)
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        self.is(cx, ItemKind::Tokens, Got::Array)?;
        let n = elements(cx, seq, |_| Token)?;
        if n == 0 {
            return Err(cx.empty_array());
        }
        Ok(())
    }
}

/// A token id.
struct Token;

impl<'a> Node<'a> for Token {
    fn expected(&self) -> &'static str {
        "an integer"
    }
    fn number(self, cx: &mut Cx<'a>, v: Num) -> Res {
        match v.integer() {
            Some(_) => Ok(()),
            None => Err(cx.wrong_type("an integer", v.got())),
        }
    }
}
