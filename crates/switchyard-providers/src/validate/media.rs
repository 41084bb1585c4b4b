//! Images, speech, transcriptions and translations.
//!
//! Transcriptions and translations arrive as multipart forms: the gateway hands over the form's
//! text fields as an envelope of strings, so numbers and booleans there are read from text.

use super::lexer::Text;
use super::shapes::{str_seen, Bool, Int, MaxChars, Number, OneOf, Str};
use super::walk::{
    elements, shorten, skip_value, value, value_here, Cx, Fields, Map, Node, Num, Res, Seq,
};
use super::Code;

/// `POST /v1/images/generations`.
#[derive(Default)]
pub(super) struct Images {
    prompt: bool,
}

impl<'a> Fields<'a> for Images {
    fn field(&mut self, cx: &mut Cx<'a>, key: &'a str, map: &mut Map<'_, 'a>) -> Res {
        let n = Int::capped(1, Some(10), Some(cx.limits.max_n));
        match key {
            "prompt" => value_here(cx, map, str_seen(&mut self.prompt)),
            "n" => value_here(cx, map, n),
            "response_format" => value_here(cx, map, OneOf::optional(&["url", "b64_json"])),
            // Sizes, qualities and styles differ by model and keep growing: strings only.
            "quality" | "size" | "style" | "background" | "moderation" | "output_format"
            | "user" => value_here(cx, map, Str::OPTIONAL),
            "output_compression" => value_here(cx, map, Int::ANY),
            "partial_images" => value_here(cx, map, Int::range(0, 3)),
            "stream" => value_here(cx, map, Bool),
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

/// `POST /v1/audio/speech`.
#[derive(Default)]
pub(super) struct Speech {
    input: bool,
    voice: bool,
}

/// The longest `input` and `instructions` OpenAI takes, in characters.
const SPEECH_MAX_CHARS: usize = 4096;

impl<'a> Fields<'a> for Speech {
    fn field(&mut self, cx: &mut Cx<'a>, key: &'a str, map: &mut Map<'_, 'a>) -> Res {
        match key {
            "input" => {
                self.input = true;
                value_here(cx, map, SpeechInput)
            }
            "voice" => value_here(cx, map, Voice(&mut self.voice)),
            "instructions" => value_here(cx, map, MaxChars(SPEECH_MAX_CHARS)),
            "response_format" => value_here(
                cx,
                map,
                OneOf::optional(&["mp3", "opus", "aac", "flac", "wav", "pcm"]),
            ),
            "speed" => value_here(
                cx,
                map,
                Number {
                    min: 0.25,
                    max: 4.0,
                },
            ),
            "stream_format" => value_here(cx, map, OneOf::optional(&["sse", "audio"])),
            _ => skip_value(cx, map),
        }
    }

    fn finish(self, cx: &mut Cx<'a>) -> Res {
        if !self.input {
            return Err(cx.missing("input"));
        }
        if !self.voice {
            return Err(cx.missing("voice"));
        }
        Ok(())
    }
}

/// The text to speak: a string of at most 4,096 characters.
struct SpeechInput;

impl<'a> Node<'a> for SpeechInput {
    fn expected(&self) -> &'static str {
        "a string"
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        MaxChars(SPEECH_MAX_CHARS).string(cx, v)
    }
}

/// A voice: a name, or a custom voice `{"id": …}`.
struct Voice<'o>(&'o mut bool);

impl<'a> Node<'a> for Voice<'_> {
    fn expected(&self) -> &'static str {
        "a string or an object"
    }
    fn string(self, _: &mut Cx<'a>, _: Text<'a>) -> Res {
        *self.0 = true;
        Ok(())
    }
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let mut id = false;
        while let Some(is_id) = map.next_key(cx, |k| k == "id")? {
            if is_id {
                value(cx, map, "id", str_seen(&mut id))?;
            } else {
                skip_value(cx, map)?;
            }
        }
        if !id {
            return Err(cx.missing("id"));
        }
        *self.0 = true;
        Ok(())
    }
}

/// `POST /v1/audio/transcriptions` and `/v1/audio/translations`: the form's text fields.
pub(super) struct Transcription {
    response_formats: &'static [&'static str],
    /// Transcriptions also take `stream` and `timestamp_granularities[]`.
    transcribe: bool,
}

impl Transcription {
    pub(super) const TRANSCRIPTION: Transcription = Transcription {
        response_formats: &[
            "json",
            "text",
            "srt",
            "verbose_json",
            "vtt",
            "diarized_json",
        ],
        transcribe: true,
    };
    pub(super) const TRANSLATION: Transcription = Transcription {
        response_formats: &["json", "text", "srt", "verbose_json", "vtt"],
        transcribe: false,
    };
}

impl<'a> Fields<'a> for Transcription {
    fn field(&mut self, cx: &mut Cx<'a>, key: &'a str, map: &mut Map<'_, 'a>) -> Res {
        match key {
            "response_format" => value_here(cx, map, OneOf::optional(self.response_formats)),
            "temperature" => value_here(cx, map, FormNumber),
            "language" | "prompt" => value_here(cx, map, Str::OPTIONAL),
            "stream" if self.transcribe => value_here(cx, map, FormBool),
            // Forms repeat `timestamp_granularities[]` once per value; the envelope keeps the
            // first.
            "timestamp_granularities[]" | "timestamp_granularities" if self.transcribe => {
                value_here(cx, map, Granularities)
            }
            _ => skip_value(cx, map),
        }
    }

    fn finish(self, _: &mut Cx<'a>) -> Res {
        // `file` is a file part and `model` is the gateway's: neither is in these fields.
        Ok(())
    }
}

/// A number written as form text (`"0.2"`), or a JSON number.
struct FormNumber;

impl<'a> Node<'a> for FormNumber {
    fn expected(&self) -> &'static str {
        "a number"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn number(self, _: &mut Cx<'a>, _: Num) -> Res {
        Ok(())
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        let v = v.get();
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(()),
            _ => {
                let shown = shorten(&v).to_owned();
                Err(cx.fail(Code::InvalidValue, |p| {
                    format!("Invalid '{p}': expected a number, but got '{shown}'.")
                }))
            }
        }
    }
}

/// A boolean written as form text. Python-backed servers read `true`/`false`, `1`/`0`,
/// `yes`/`no`, `on`/`off` in any case, so those are all accepted.
struct FormBool;

const FORM_BOOLS: &[&str] = &[
    "true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n",
];

impl<'a> Node<'a> for FormBool {
    fn expected(&self) -> &'static str {
        "a boolean"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn boolean(self, _: &mut Cx<'a>, _: bool) -> Res {
        Ok(())
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        let v = v.get();
        let v = v.trim();
        if FORM_BOOLS.iter().any(|b| b.eq_ignore_ascii_case(v)) {
            Ok(())
        } else {
            let shown = shorten(v).to_owned();
            Err(cx.fail(Code::InvalidValue, |p| {
                format!("Invalid '{p}': expected a boolean (true or false), but got '{shown}'.")
            }))
        }
    }
}

const GRANULARITIES: &[&str] = &["word", "segment"];

/// `word` / `segment`, one (a form field) or several (a JSON array).
struct Granularities;

impl<'a> Node<'a> for Granularities {
    fn expected(&self) -> &'static str {
        "a string or an array of strings"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        OneOf::optional(GRANULARITIES).string(cx, v)
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        elements(cx, seq, |_| OneOf {
            values: GRANULARITIES,
            nullable: false,
        })?;
        Ok(())
    }
}
