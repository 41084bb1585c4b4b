//! The sampling parameters chat and legacy completions share: ranges, `stop`, `logit_bias`,
//! `stream` and `stream_options`.

use super::lexer::Text;
use super::shapes::{Bool, Int, Number, Str};
use super::walk::{
    elements, shorten, skip_value, value, value_here, Cx, Map, Node, Num, Res, Seq, Stop,
};
use super::Code;

/// The parameters chat and legacy completions share. Returns `false` for any other key (its
/// value not yet read).
pub(super) fn sampling<'a>(
    cx: &mut Cx<'a>,
    key: &str,
    map: &mut Map<'_, 'a>,
) -> Result<bool, Stop> {
    let max_n = Int::capped(1, Some(128), Some(cx.limits.max_n));
    match key {
        "temperature" => value_here(cx, map, Number { min: 0.0, max: 2.0 })?,
        "top_p" => value_here(cx, map, Number { min: 0.0, max: 1.0 })?,
        "presence_penalty" | "frequency_penalty" => value_here(
            cx,
            map,
            Number {
                min: -2.0,
                max: 2.0,
            },
        )?,
        "n" => value_here(cx, map, max_n)?,
        "seed" => value_here(cx, map, Int::ANY)?,
        "stop" => value_here(cx, map, StopSequences)?,
        "logit_bias" => value_here(cx, map, LogitBias)?,
        "stream" => value_here(cx, map, Bool)?,
        "stream_options" => value_here(cx, map, StreamOptions)?,
        "user" => value_here(cx, map, Str::OPTIONAL)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `stop`: a string, or up to `max_stop` strings.
struct StopSequences;

impl<'a> Node<'a> for StopSequences {
    fn expected(&self) -> &'static str {
        "a string or an array of strings"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn string(self, _: &mut Cx<'a>, _: Text<'a>) -> Res {
        Ok(())
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        let n = elements(cx, seq, |_| Str::REQUIRED)?;
        let max = cx.limits.max_stop;
        if n > max {
            return Err(cx.too_long(max, n, ""));
        }
        Ok(())
    }
}

/// `logit_bias`: token ids (as strings of digits) to numbers.
struct LogitBias;

impl<'a> Node<'a> for LogitBias {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        while let Some(key) = map.next_text(cx)? {
            let key = key.get();
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
                let shown = shorten(&key).to_owned();
                return Err(cx.fail(Code::InvalidValue, |p| {
                    format!(
                        "Invalid key in '{p}': '{shown}'. Keys must be token IDs (non-negative integers written as strings)."
                    )
                }));
            }
            value_here(cx, map, Bias)?;
        }
        Ok(())
    }
}

struct Bias;

impl<'a> Node<'a> for Bias {
    fn expected(&self) -> &'static str {
        "a number"
    }
    fn number(self, _: &mut Cx<'a>, _: Num) -> Res {
        Ok(())
    }
}

/// `stream_options`: `include_usage`, `include_obfuscation`.
struct StreamOptions;

impl<'a> Node<'a> for StreamOptions {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        while let Some(key) = map.next_key(cx, |k| match k {
            "include_usage" => Some("include_usage"),
            "include_obfuscation" => Some("include_obfuscation"),
            _ => None,
        })? {
            match key {
                Some(k) => value(cx, map, k, Bool)?,
                None => skip_value(cx, map)?,
            }
        }
        Ok(())
    }
}
