//! The one table that maps a [`DialectKind`] to the dialect implementing it. Adding a
//! dialect means a variant in [`crate::kind`] and an arm here; nothing else names them all.

use crate::dialect::Dialect;
use crate::kind::DialectKind;

/// The dialect implementation for a kind: the one registration table.
pub fn dialect_for(kind: DialectKind) -> &'static dyn Dialect {
    match kind {
        DialectKind::OpenAi => &crate::openai::OpenAi,
        DialectKind::Gemini => &crate::gemini::Gemini,
        DialectKind::Bedrock => &crate::bedrock::Bedrock,
        DialectKind::Anthropic => &crate::anthropic::Anthropic,
        DialectKind::AzureOpenAi => &crate::azure::AzureOpenAi,
        DialectKind::Cohere => &crate::cohere::Cohere,
    }
}
