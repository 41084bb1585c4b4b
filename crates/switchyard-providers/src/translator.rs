//! The two shapes of response translator the native dialects build on, so each dialect
//! writes only what its answers mean:
//!
//! - [`Buffered`]: a non-streamed answer is held until it ends, then translated in one go by
//!   a [`WholeAnswer`] (it is one JSON document: nothing can go to the client before it is
//!   complete). Its verdict stays pending until then.
//! - [`Streamed`]: a stream translated as it arrives by a [`StreamAnswer`], which keeps its
//!   verdict and usage in a [`Progress`].
//!
//! Both answer `verdict`, `usage`, `content_type` and `is_passthrough` here, once. OpenAI's
//! passthroughs (`crate::openai`) copy bytes instead and answer them themselves.

use bytes::Bytes;

use crate::dialect::{Output, ResponseTranslator, Verdict};
use crate::error::{ErrorBody, TranslateError};
use crate::sse;
use crate::usage::Usage;

/// The largest non-streamed answer held for translation unless a [`WholeAnswer`] says
/// otherwise.
pub(crate) const MAX_WHOLE_BYTES: usize = 32 * 1024 * 1024;

/// What a whole answer translated to.
#[derive(Debug)]
pub(crate) struct Whole {
    /// The client's body; none when the answer failed the attempt.
    pub(crate) body: Option<Bytes>,
    /// The verdict on the answer.
    pub(crate) verdict: Verdict,
    /// Token usage, when the answer carried it.
    pub(crate) usage: Option<Usage>,
}

impl Whole {
    /// A good answer.
    pub(crate) fn healthy(body: Bytes, usage: Option<Usage>) -> Self {
        Self {
            body: Some(body),
            verdict: Verdict::Healthy,
            usage,
        }
    }

    /// A 2xx answer whose content is an error: the attempt fails with `status`.
    pub(crate) fn failed(status: u16, error: ErrorBody) -> Self {
        Self {
            body: None,
            verdict: Verdict::Failed { status, error },
            usage: None,
        }
    }
}

/// A non-streamed answer that can only be translated once complete.
pub(crate) trait WholeAnswer: Send {
    /// Names the answer in the error for one too large, e.g. `Converse response`.
    const WHAT: &'static str;
    /// The largest body held; a larger one is a translation error.
    const MAX_BYTES: usize = MAX_WHOLE_BYTES;

    /// Translates the complete body.
    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError>;
}

/// Holds a non-streamed answer until it is complete, then translates it with `T`.
#[derive(Debug)]
pub(crate) struct Buffered<T> {
    answer: T,
    buf: Vec<u8>,
    verdict: Verdict,
    usage: Option<Usage>,
}

impl<T: WholeAnswer> Buffered<T> {
    /// A translator for one answer.
    pub(crate) fn new(answer: T) -> Self {
        Self {
            answer,
            buf: Vec::new(),
            verdict: Verdict::Pending,
            usage: None,
        }
    }

    /// [`Buffered::new`], boxed for [`crate::Dialect::response_translator`].
    pub(crate) fn boxed(answer: T) -> Box<dyn ResponseTranslator>
    where
        T: 'static,
    {
        Box::new(Self::new(answer))
    }
}

impl<T: WholeAnswer> ResponseTranslator for Buffered<T> {
    fn push(&mut self, chunk: Bytes, _out: &mut Output) -> Result<(), TranslateError> {
        if self.buf.len() + chunk.len() > T::MAX_BYTES {
            return Err(TranslateError::BadResponse(format!(
                "{} larger than {} bytes",
                T::WHAT,
                T::MAX_BYTES
            )));
        }
        self.buf.extend_from_slice(&chunk);
        Ok(())
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        let body = std::mem::take(&mut self.buf);
        let whole = self.answer.translate(&body)?;
        out.extend(whole.body);
        self.verdict = whole.verdict;
        self.usage = whole.usage;
        Ok(())
    }

    fn verdict(&self) -> Verdict {
        self.verdict.clone()
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn is_passthrough(&self) -> bool {
        false
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// What a stream translator has concluded so far.
#[derive(Debug)]
pub(crate) struct Progress {
    /// The verdict: pending until the first event that says anything.
    pub(crate) verdict: Verdict,
    /// Token usage, once seen.
    pub(crate) usage: Option<Usage>,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            verdict: Verdict::Pending,
            usage: None,
        }
    }
}

impl Progress {
    /// True until a verdict is reached.
    pub(crate) fn is_pending(&self) -> bool {
        self.verdict == Verdict::Pending
    }

    /// The stream is good, unless a verdict was already reached.
    pub(crate) fn healthy(&mut self) {
        if self.is_pending() {
            self.verdict = Verdict::Healthy;
        }
    }

    /// The provider reported an error in the stream. Before any verdict nothing has reached
    /// the client, so the attempt fails with `status` (and may fail over); after it, the
    /// client's stream ends with an OpenAI-shaped error event.
    pub(crate) fn fail(&mut self, status: u16, error: ErrorBody, out: &mut Output) {
        if self.is_pending() {
            self.verdict = Verdict::Failed { status, error };
        } else {
            out.push(sse::error_event(&error));
        }
    }
}

/// A stream translated as it arrives into OpenAI's chat completion chunks.
pub(crate) trait StreamAnswer: Send {
    /// Feeds a body chunk; appends what the client should receive to `out`.
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError>;
    /// The upstream body ended cleanly; appends any final bytes.
    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError>;
    /// What has been concluded so far.
    fn progress(&self) -> &Progress;
    /// Bytes held (a partial event).
    fn buffered(&self) -> usize {
        0
    }
}

/// A [`StreamAnswer`] as a [`ResponseTranslator`] writing Server-Sent Events.
#[derive(Debug)]
pub(crate) struct Streamed<T>(pub(crate) T);

impl<T: StreamAnswer + 'static> Streamed<T> {
    /// `answer`, boxed for [`crate::Dialect::response_translator`].
    pub(crate) fn boxed(answer: T) -> Box<dyn ResponseTranslator> {
        Box::new(Self(answer))
    }
}

impl<T: StreamAnswer> ResponseTranslator for Streamed<T> {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        self.0.push(chunk, out)
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        self.0.finish(out)
    }

    fn verdict(&self) -> Verdict {
        self.0.progress().verdict.clone()
    }

    fn usage(&self) -> Option<Usage> {
        self.0.progress().usage
    }

    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn is_passthrough(&self) -> bool {
        false
    }

    fn buffered(&self) -> usize {
        self.0.buffered()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    impl WholeAnswer for Echo {
        const WHAT: &'static str = "echo answer";
        const MAX_BYTES: usize = 8;

        fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
            if body == b"bad" {
                return Ok(Whole::failed(
                    429,
                    ErrorBody::new("slow down", "rate_limit_error", None),
                ));
            }
            Ok(Whole::healthy(
                Bytes::copy_from_slice(body),
                Some(Usage::default()),
            ))
        }
    }

    #[test]
    fn a_whole_answer_is_translated_once_at_its_end() {
        let mut t = Buffered::new(Echo);
        let mut out = Vec::new();
        t.push(Bytes::from_static(b"ab"), &mut out).unwrap();
        t.push(Bytes::from_static(b"cd"), &mut out).unwrap();
        assert!(out.is_empty());
        assert_eq!(t.verdict(), Verdict::Pending);
        t.finish(&mut out).unwrap();
        assert_eq!(out.concat(), b"abcd");
        assert_eq!(t.verdict(), Verdict::Healthy);
        assert_eq!(t.usage(), Some(Usage::default()));
        assert_eq!(t.content_type(), "application/json");
        assert!(!t.is_passthrough());
    }

    #[test]
    fn an_error_answer_fails_the_attempt_and_writes_nothing() {
        let mut t = Buffered::new(Echo);
        let mut out = Vec::new();
        t.push(Bytes::from_static(b"bad"), &mut out).unwrap();
        t.finish(&mut out).unwrap();
        assert!(out.is_empty());
        assert!(matches!(t.verdict(), Verdict::Failed { status: 429, .. }));
        assert_eq!(t.usage(), None);
    }

    #[test]
    fn an_answer_over_the_limit_is_an_error() {
        let mut t = Buffered::new(Echo);
        let mut out = Vec::new();
        t.push(Bytes::from_static(b"12345678"), &mut out).unwrap();
        let e = t.push(Bytes::from_static(b"9"), &mut out).unwrap_err();
        assert_eq!(
            e,
            TranslateError::BadResponse("echo answer larger than 8 bytes".into())
        );
    }

    #[test]
    fn a_stream_error_fails_the_attempt_before_the_verdict_and_ends_the_stream_after() {
        let error = ErrorBody::new("overloaded", "api_error", None);
        let mut p = Progress::default();
        let mut out = Vec::new();
        p.fail(529, error.clone(), &mut out);
        assert!(out.is_empty());
        assert!(matches!(p.verdict, Verdict::Failed { status: 529, .. }));
        p.healthy();
        assert!(matches!(p.verdict, Verdict::Failed { .. }));

        let mut p = Progress::default();
        p.healthy();
        p.fail(529, error.clone(), &mut out);
        assert_eq!(p.verdict, Verdict::Healthy);
        assert_eq!(out, vec![sse::error_event(&error)]);
    }
}
