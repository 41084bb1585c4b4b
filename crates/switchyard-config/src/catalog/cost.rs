//! What a request cost, from its token counts and its model's prices. Pure arithmetic.
//!
//! # Token accounting
//!
//! Providers count differently, so the counts are first put in one shape, [`TokenCounts`],
//! whose buckets never overlap once split: every prompt token is exactly one of *uncached*,
//! *read from cache* or *written to cache*, and every generated token (reasoning included) is
//! an output token. Each provider convention has its own constructor:
//!
//! | provider (field names) | prompt total | cache reads | cache writes | reasoning |
//! |---|---|---|---|---|
//! | OpenAI, and the OpenAI-compatible family (`prompt_tokens`, `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`) | `prompt_tokens` (includes cached) | part of it | — | part of `completion_tokens` |
//! | Anthropic (`input_tokens`, `cache_read_input_tokens`, `cache_creation_input_tokens`) | the sum of the three | apart | apart | part of `output_tokens` |
//! | Bedrock Converse (`inputTokens`, `cacheReadInputTokens`, `cacheWriteInputTokens`) | the sum of the three | apart | apart | part of `outputTokens` |
//! | Gemini and Vertex AI (`promptTokenCount`, `cachedContentTokenCount`, `thoughtsTokenCount`) | `promptTokenCount` (includes cached) | part of it | — | apart from `candidatesTokenCount` |
//! | xAI (OpenAI's field names) | `prompt_tokens` (includes cached) | part of it | — | apart from `completion_tokens`, inside `total_tokens` |
//!
//! Switchyard's own [`Usage`] (what every dialect reports) follows OpenAI's convention, except
//! that an OpenAI-compatible provider's usage is passed through as that provider wrote it:
//! [`TokenCounts::from_usage`] takes the provider kind for that reason. `Usage` has no
//! cache-write count, so from it cache writes are priced as input.
//!
//! # Prices
//!
//! With `r` the prices of the tier the prompt size selects ([`Pricing::rates_for`]):
//! `uncached × r.input + cache reads × (r.cached_input, else r.input) + cache writes ×
//! (r.cache_write, else r.input) + output × r.output`. A bucket with tokens but no price
//! makes the request [`Unpriced`], never free: a model with no price at all is
//! [`Unpriced::NoPrice`], an embedding model asked to generate is
//! [`Unpriced::MissingRate`].
//!
//! # Units
//!
//! Costs are integer nano-dollars ([`NanoUsd`]): sums are exact and associative (budgets and
//! counters add them with `AtomicU64::fetch_add`, no float drift, no compare-and-swap loop),
//! a `u64` holds $18 billion, and rounding each bucket to the nearest nano-dollar loses less
//! than two nano-dollars a request — where micro-dollars would round a 10-token embedding at
//! $0.02/M to zero. [`NanoUsd::usd`] gives the `f64` for display and Prometheus.

use std::fmt;
use std::iter::Sum;
use std::ops::Add;

use switchyard_providers::{ProviderKind, Usage};

use super::Pricing;

/// One request's tokens, split so that no token is counted twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// Every prompt token: uncached, read from cache and written to cache.
    pub prompt: u64,
    /// Every generated token, reasoning included.
    pub completion: u64,
    /// Prompt tokens read from the provider's cache (part of `prompt`).
    pub cached_prompt: u64,
    /// Prompt tokens written to the provider's cache (part of `prompt`).
    pub cache_write: u64,
    /// Reasoning tokens (part of `completion`; priced as output, kept for reporting).
    pub reasoning: u64,
}

impl TokenCounts {
    /// OpenAI's convention (chat completions, completions, embeddings, and the
    /// OpenAI-compatible providers): `cached` is part of `prompt_tokens`, `reasoning` part of
    /// `completion_tokens`.
    pub fn openai(prompt_tokens: u64, completion_tokens: u64, cached: u64, reasoning: u64) -> Self {
        Self {
            prompt: prompt_tokens,
            completion: completion_tokens,
            cached_prompt: cached,
            cache_write: 0,
            reasoning,
        }
    }

    /// Anthropic's Messages API: `input_tokens` excludes cache reads and cache writes, which
    /// come apart; thinking is part of `output_tokens`.
    pub fn anthropic(
        input_tokens: u64,
        output_tokens: u64,
        cache_read_input_tokens: u64,
        cache_creation_input_tokens: u64,
    ) -> Self {
        Self {
            prompt: input_tokens
                .saturating_add(cache_read_input_tokens)
                .saturating_add(cache_creation_input_tokens),
            completion: output_tokens,
            cached_prompt: cache_read_input_tokens,
            cache_write: cache_creation_input_tokens,
            reasoning: 0,
        }
    }

    /// Bedrock's Converse API: like Anthropic's, `inputTokens` excludes
    /// `cacheReadInputTokens` and `cacheWriteInputTokens`.
    pub fn bedrock_converse(
        input_tokens: u64,
        output_tokens: u64,
        cache_read_input_tokens: u64,
        cache_write_input_tokens: u64,
    ) -> Self {
        Self::anthropic(
            input_tokens,
            output_tokens,
            cache_read_input_tokens,
            cache_write_input_tokens,
        )
    }

    /// Gemini and Vertex AI's `usageMetadata`: `cachedContentTokenCount` is part of
    /// `promptTokenCount`; `thoughtsTokenCount` is *not* part of `candidatesTokenCount` and
    /// is billed as output.
    pub fn gemini(
        prompt_token_count: u64,
        candidates_token_count: u64,
        cached_content_token_count: u64,
        thoughts_token_count: u64,
    ) -> Self {
        Self {
            prompt: prompt_token_count,
            completion: candidates_token_count.saturating_add(thoughts_token_count),
            cached_prompt: cached_content_token_count,
            cache_write: 0,
            reasoning: thoughts_token_count,
        }
    }

    /// Prompt tokens neither read from nor written to a cache. Counts that do not add up
    /// (more cached than prompt tokens) are clamped, never counted twice.
    pub fn uncached_prompt(&self) -> u64 {
        self.prompt
            .saturating_sub(self.cached_prompt)
            .saturating_sub(self.cache_write)
    }
}

impl TokenCounts {
    /// xAI's chat completions: OpenAI's field names, but `completion_tokens_details.
    /// reasoning_tokens` is *not* part of `completion_tokens` (it is part of `total_tokens`);
    /// reasoning is billed as output.
    pub fn xai(prompt_tokens: u64, completion_tokens: u64, cached: u64, reasoning: u64) -> Self {
        Self {
            completion: completion_tokens.saturating_add(reasoning),
            ..Self::openai(prompt_tokens, completion_tokens, cached, reasoning)
        }
    }

    /// From Switchyard's [`Usage`], which the native dialects fill in OpenAI's convention and
    /// which passthrough providers fill as they reported it. `Usage` carries no reasoning
    /// count; for xAI, whose `total_tokens` includes reasoning that `completion_tokens` does
    /// not, the difference is the reasoning.
    pub fn from_usage(kind: ProviderKind, u: &Usage) -> Self {
        match kind {
            ProviderKind::XAi => {
                let reasoning = u
                    .total_tokens
                    .saturating_sub(u.prompt_tokens.saturating_add(u.completion_tokens));
                Self::xai(
                    u.prompt_tokens,
                    u.completion_tokens,
                    u.cached_tokens,
                    reasoning,
                )
            }
            _ => Self::openai(u.prompt_tokens, u.completion_tokens, u.cached_tokens, 0),
        }
    }
}

/// An amount of US dollars, in nano-dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NanoUsd(pub u64);

impl NanoUsd {
    /// Nothing.
    pub const ZERO: NanoUsd = NanoUsd(0);

    /// In dollars, for display and Prometheus counters.
    pub fn usd(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `tokens × rate`, rounded to the nearest nano-dollar (saturating: token counts come
    /// from the network).
    fn of(tokens: u64, rate: super::Rate) -> Self {
        let pico = u128::from(tokens) * u128::from(rate.pico_usd_per_token());
        let nano = (pico + 500) / 1000;
        Self(u64::try_from(nano).unwrap_or(u64::MAX))
    }
}

impl Add for NanoUsd {
    type Output = NanoUsd;
    fn add(self, rhs: NanoUsd) -> NanoUsd {
        NanoUsd(self.0.saturating_add(rhs.0))
    }
}

impl Sum for NanoUsd {
    fn sum<I: Iterator<Item = NanoUsd>>(iter: I) -> NanoUsd {
        iter.fold(NanoUsd::ZERO, Add::add)
    }
}

impl fmt::Display for NanoUsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "${}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// What one request cost, by kind of token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Uncached prompt tokens.
    pub input: NanoUsd,
    /// Prompt tokens read from cache.
    pub cached_input: NanoUsd,
    /// Prompt tokens written to cache.
    pub cache_write: NanoUsd,
    /// Generated tokens.
    pub output: NanoUsd,
    /// Whether the long-context prices applied.
    pub long_context: bool,
}

impl Cost {
    /// The whole.
    pub fn total(&self) -> NanoUsd {
        self.input + self.cached_input + self.cache_write + self.output
    }
}

/// A kind of token, as priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Uncached prompt tokens.
    Input,
    /// Prompt tokens read from cache.
    CachedInput,
    /// Prompt tokens written to cache.
    CacheWrite,
    /// Generated tokens.
    Output,
}

/// Why a request has no cost: it is *unpriced*, which is not the same as free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Unpriced {
    /// The catalog does not know the model.
    #[error("the model is not in the catalog")]
    UnknownModel,
    /// The catalog knows the model but has no price for it.
    #[error("the catalog has no price for the model")]
    NoPrice,
    /// The request used tokens of a kind the model has no price for (an embedding model
    /// that generated tokens, a model priced for output only).
    #[error("the catalog has no price for the model's {0:?} tokens")]
    MissingRate(TokenKind),
}

impl Pricing {
    /// The cost of one request's tokens. See the [module docs](self) for the rules.
    pub fn cost(&self, tokens: &TokenCounts) -> Result<Cost, Unpriced> {
        if self.is_unpriced() {
            return Err(Unpriced::NoPrice);
        }
        let rates = self.rates_for(tokens.prompt);
        let cached = tokens.cached_prompt.min(tokens.prompt);
        let written = tokens.cache_write.min(tokens.prompt - cached);
        let priced = |n: u64, rate: Option<super::Rate>, kind: TokenKind| match (n, rate) {
            (0, _) => Ok(NanoUsd::ZERO),
            (n, Some(r)) => Ok(NanoUsd::of(n, r)),
            (_, None) => Err(Unpriced::MissingRate(kind)),
        };
        Ok(Cost {
            input: priced(tokens.uncached_prompt(), rates.input, TokenKind::Input)?,
            cached_input: priced(
                cached,
                rates.cached_input.or(rates.input),
                TokenKind::CachedInput,
            )?,
            cache_write: priced(
                written,
                rates.cache_write.or(rates.input),
                TokenKind::CacheWrite,
            )?,
            output: priced(tokens.completion, rates.output, TokenKind::Output)?,
            long_context: self.long_tier(tokens.prompt).is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LongContext, Rate, Rates};
    use super::*;

    fn rate(usd_per_million: f64) -> Option<Rate> {
        Some(Rate::from_usd_per_million(usd_per_million).unwrap())
    }

    /// Claude Sonnet 4.5's published prices: $3 in, $15 out, $0.30 cache hits, $3.75 5-minute
    /// cache writes; $6 / $22.50 / $0.60 / $7.50 above 200K prompt tokens.
    fn sonnet() -> Pricing {
        Pricing {
            base: Rates {
                input: rate(3.0),
                output: rate(15.0),
                cached_input: rate(0.3),
                cache_write: rate(3.75),
            },
            long_context: Some(LongContext {
                above: 200_000,
                rates: Rates {
                    input: rate(6.0),
                    output: rate(22.5),
                    cached_input: rate(0.6),
                    cache_write: rate(7.5),
                },
            }),
        }
    }

    /// GPT-4o: $2.50 in, $1.25 cached, $10 out.
    fn gpt4o() -> Pricing {
        Pricing {
            base: Rates {
                input: rate(2.5),
                output: rate(10.0),
                cached_input: rate(1.25),
                cache_write: None,
            },
            long_context: None,
        }
    }

    #[test]
    fn openai_cached_tokens_are_part_of_the_prompt() {
        // 1,000 prompt tokens of which 400 cached, 200 completion tokens of which 150 reasoning.
        let t = TokenCounts::openai(1_000, 200, 400, 150);
        let c = gpt4o().cost(&t).unwrap();
        assert_eq!(c.input, NanoUsd(600 * 2_500)); // 600 uncached × $2.50/M
        assert_eq!(c.cached_input, NanoUsd(400 * 1_250));
        assert_eq!(c.output, NanoUsd(200 * 10_000)); // reasoning is already in completion
        assert_eq!(c.total(), NanoUsd(4_000_000));
        assert_eq!(c.total().to_string(), "$0.004000000");
        assert!(!c.long_context);
    }

    #[test]
    fn anthropic_reports_cache_reads_and_writes_apart_from_input() {
        // input_tokens 10, cache_read 5,000, cache_creation 2,000, output 100.
        let t = TokenCounts::anthropic(10, 100, 5_000, 2_000);
        assert_eq!((t.prompt, t.uncached_prompt()), (7_010, 10));
        let c = sonnet().cost(&t).unwrap();
        assert_eq!(c.input, NanoUsd(10 * 3_000));
        assert_eq!(c.cached_input, NanoUsd(5_000 * 300));
        assert_eq!(c.cache_write, NanoUsd(2_000 * 3_750));
        assert_eq!(c.output, NanoUsd(100 * 15_000));
        assert_eq!(
            c.total(),
            NanoUsd(30_000 + 1_500_000 + 7_500_000 + 1_500_000)
        );
        assert_eq!(t, TokenCounts::bedrock_converse(10, 100, 5_000, 2_000));
    }

    #[test]
    fn gemini_thoughts_are_billed_as_output() {
        let t = TokenCounts::gemini(1_000, 50, 200, 300);
        assert_eq!(
            (t.completion, t.reasoning, t.uncached_prompt()),
            (350, 300, 800)
        );
    }

    #[test]
    fn switchyard_usage_is_openai_shaped() {
        let u = Usage {
            prompt_tokens: 7_010,
            completion_tokens: 100,
            total_tokens: 7_110,
            cached_tokens: 5_000,
        };
        let t = TokenCounts::from_usage(ProviderKind::Anthropic, &u);
        assert_eq!(
            (t.prompt, t.cached_prompt, t.cache_write),
            (7_010, 5_000, 0)
        );
        // Without a cache-write count the 2,010 other prompt tokens cost the input price.
        let c = sonnet().cost(&t).unwrap();
        assert_eq!(c.input, NanoUsd(2_010 * 3_000));
    }

    #[test]
    fn xai_reasoning_is_counted_on_top_of_completion_tokens() {
        // docs.x.ai: reasoning tokens are counted apart from completion_tokens, inside
        // total_tokens (prompt 32 + completion 9 + reasoning 94 = 135).
        let u = Usage {
            prompt_tokens: 32,
            completion_tokens: 9,
            total_tokens: 135,
            cached_tokens: 6,
        };
        let t = TokenCounts::from_usage(ProviderKind::XAi, &u);
        assert_eq!((t.completion, t.reasoning, t.cached_prompt), (103, 94, 6));
        assert_eq!(t, TokenCounts::xai(32, 9, 6, 94));
        // The same numbers from OpenAI mean the reasoning is already in the 9.
        let t = TokenCounts::from_usage(ProviderKind::OpenAi, &u);
        assert_eq!((t.completion, t.reasoning), (9, 0));
    }

    #[test]
    fn long_prompts_switch_the_whole_request_to_the_long_context_prices() {
        let at = sonnet()
            .cost(&TokenCounts::openai(200_000, 10, 0, 0))
            .unwrap();
        assert!(!at.long_context);
        assert_eq!(at.input, NanoUsd(200_000 * 3_000));
        let above = sonnet()
            .cost(&TokenCounts::openai(200_001, 10, 1, 0))
            .unwrap();
        assert!(above.long_context);
        assert_eq!(above.input, NanoUsd(200_000 * 6_000));
        assert_eq!(above.cached_input, NanoUsd(600));
        assert_eq!(above.output, NanoUsd(10 * 22_500));
    }

    #[test]
    fn unpriced_is_never_zero() {
        assert_eq!(
            Pricing::default().cost(&TokenCounts::default()),
            Err(Unpriced::NoPrice)
        );
        let embedding = Pricing {
            base: Rates {
                input: rate(0.02),
                ..Rates::default()
            },
            long_context: None,
        };
        // 10 tokens at $0.02/M: 0.2 micro-dollars, 200 nano-dollars.
        let c = embedding.cost(&TokenCounts::openai(10, 0, 0, 0)).unwrap();
        assert_eq!(c.total(), NanoUsd(200));
        assert_eq!(
            embedding.cost(&TokenCounts::openai(10, 1, 0, 0)),
            Err(Unpriced::MissingRate(TokenKind::Output))
        );
    }

    #[test]
    fn absent_cache_prices_fall_back_to_the_input_price() {
        let p = Pricing {
            base: Rates {
                input: rate(1.0),
                output: rate(2.0),
                ..Rates::default()
            },
            long_context: None,
        };
        let c = p.cost(&TokenCounts::anthropic(0, 0, 100, 100)).unwrap();
        assert_eq!(
            (c.cached_input, c.cache_write),
            (NanoUsd(100_000), NanoUsd(100_000))
        );
    }

    #[test]
    fn inconsistent_and_huge_counts_neither_double_count_nor_overflow() {
        let c = gpt4o()
            .cost(&TokenCounts {
                prompt: 10,
                cached_prompt: 50,
                cache_write: 50,
                ..TokenCounts::default()
            })
            .unwrap();
        assert_eq!(
            (c.input, c.cached_input, c.cache_write),
            (NanoUsd(0), NanoUsd(12_500), NanoUsd(0))
        );
        let c = gpt4o()
            .cost(&TokenCounts::openai(u64::MAX, u64::MAX, 0, 0))
            .unwrap();
        assert_eq!(c.total(), NanoUsd(u64::MAX));
    }

    #[test]
    fn rounding_is_to_the_nearest_nano_dollar() {
        // $0.000001/M is one pico-dollar a token: 500 tokens are half a nano-dollar.
        let p = Pricing {
            base: Rates {
                input: rate(0.000_001),
                output: rate(0.0375),
                ..Rates::default()
            },
            long_context: None,
        };
        let total = |prompt, completion| {
            p.cost(&TokenCounts::openai(prompt, completion, 0, 0))
                .unwrap()
                .total()
        };
        assert_eq!(total(499, 0), NanoUsd(0));
        assert_eq!(total(500, 0), NanoUsd(1));
        // $0.0375/M = 37.5 nano-dollars a token.
        assert_eq!(total(0, 1), NanoUsd(38));
        assert_eq!(total(0, 2), NanoUsd(75));
        assert_eq!(NanoUsd(1_500_000_000).usd(), 1.5);
    }
}
