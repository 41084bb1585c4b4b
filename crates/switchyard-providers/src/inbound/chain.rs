//! Two response translators in a row: the provider's (provider format → canonical chat) and
//! an inbound API's (canonical chat → the client's format).

use bytes::Bytes;

use crate::dialect::{Output, ResponseTranslator, Verdict};
use crate::error::TranslateError;
use crate::usage::Usage;

/// `inner`'s output fed into `outer`. The verdict and usage are `inner`'s — the provider's
/// word on the attempt — unless `outer` alone failed; the content type is `outer`'s.
#[derive(Debug)]
pub struct Chain<A, B> {
    inner: A,
    outer: B,
    /// `inner`'s output for one push, reused so a stream allocates it once.
    mid: Output,
}

impl<A: ResponseTranslator, B: ResponseTranslator> Chain<A, B> {
    /// `inner` then `outer`.
    pub fn new(inner: A, outer: B) -> Self {
        Self {
            inner,
            outer,
            mid: Vec::new(),
        }
    }

    /// The outer translator, e.g. to end an inbound stream with its own error events.
    pub fn outer_mut(&mut self) -> &mut B {
        &mut self.outer
    }

    fn forward(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        for chunk in self.mid.drain(..) {
            self.outer.push(chunk, out)?;
        }
        Ok(())
    }
}

impl<A: ResponseTranslator, B: ResponseTranslator> ResponseTranslator for Chain<A, B> {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        self.inner.push(chunk, &mut self.mid)?;
        self.forward(out)
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        self.inner.finish(&mut self.mid)?;
        self.forward(out)?;
        self.outer.finish(out)
    }

    fn verdict(&self) -> Verdict {
        match (self.inner.verdict(), self.outer.verdict()) {
            (failed @ Verdict::Failed { .. }, _) => failed,
            (_, failed @ Verdict::Failed { .. }) => failed,
            (inner, _) => inner,
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.inner.usage().or_else(|| self.outer.usage())
    }

    fn content_type(&self) -> &'static str {
        self.outer.content_type()
    }

    fn is_passthrough(&self) -> bool {
        self.inner.is_passthrough() && self.outer.is_passthrough()
    }

    fn buffered(&self) -> usize {
        self.inner.buffered() + self.outer.buffered()
    }
}

/// A boxed translator is a translator, so a dialect's `Box<dyn ResponseTranslator>` can be
/// the inner half of a [`Chain`].
impl<T: ResponseTranslator + ?Sized> ResponseTranslator for Box<T> {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        (**self).push(chunk, out)
    }
    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        (**self).finish(out)
    }
    fn verdict(&self) -> Verdict {
        (**self).verdict()
    }
    fn usage(&self) -> Option<Usage> {
        (**self).usage()
    }
    fn content_type(&self) -> &'static str {
        (**self).content_type()
    }
    fn is_passthrough(&self) -> bool {
        (**self).is_passthrough()
    }
    fn buffered(&self) -> usize {
        (**self).buffered()
    }
}
