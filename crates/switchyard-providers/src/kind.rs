//! The registry of provider kinds: the one table that says, for each `kind:` a config may
//! name, which dialect translates for it, where it lives by default and how it takes a key.

use std::fmt;

/// Which dialect module speaks to a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialectKind {
    /// OpenAI's own API, and every provider that copies it.
    OpenAi,
    /// Google's `generateContent` API: Gemini (AI Studio) and Vertex AI.
    Gemini,
    /// AWS Bedrock's Converse API.
    Bedrock,
    /// Anthropic's Messages API.
    Anthropic,
    /// Azure OpenAI: OpenAI's body on deployment URLs with an `api-version`.
    AzureOpenAi,
    /// Cohere's v2 API (`/v2/chat`, `/v2/embed`).
    Cohere,
}

/// How a provider expects its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>`
    Bearer,
    /// The key alone in the named header.
    Header(&'static str),
    /// AWS Signature Version 4 with the provider's AWS credentials.
    AwsSigV4,
    /// No credentials at all.
    None,
}

impl AuthStyle {
    /// Parses a config `auth:` override: `bearer`, `none`, `sigv4` or `header:<name>` is
    /// not accepted here because header names must be `'static`; the kinds carry those.
    pub fn from_config(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "bearer" => Some(Self::Bearer),
            "none" => Some(Self::None),
            "sigv4" | "aws-sigv4" => Some(Self::AwsSigV4),
            _ => None,
        }
    }
}

/// Facts about one provider kind.
#[derive(Debug)]
pub struct KindInfo {
    /// The name used in config (`kind:`) and in the `x-switchyard-provider` header.
    pub name: &'static str,
    /// The dialect that translates for it.
    pub dialect: DialectKind,
    /// Where the provider lives when the config names no `base_url`. May hold `{region}`,
    /// `{project}` and `{location}`, filled from the provider's config (which must then
    /// set them). A host starting with `{location}-` loses that prefix when the location is
    /// `global` (Google's global endpoint has no regional host).
    pub default_base_url: Option<&'static str>,
    /// How it takes its key.
    pub auth: AuthStyle,
    /// Whether it accepts `stream_options.include_usage`, so the gateway may ask for token
    /// usage on streams the client did not ask it for.
    pub stream_usage: bool,
}

macro_rules! kinds {
    ($( $variant:ident => $info:expr ),+ $(,)?) => {
        /// A provider kind, as named by `kind:` in config.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ProviderKind { $( #[allow(missing_docs)] $variant ),+ }

        impl ProviderKind {
            /// Every kind, in registry order.
            pub const ALL: &'static [ProviderKind] = &[ $( ProviderKind::$variant ),+ ];

            /// This kind's entry in the registry.
            pub fn info(self) -> &'static KindInfo {
                match self { $( ProviderKind::$variant => { const I: KindInfo = $info; &I } ),+ }
            }
        }
    };
}

kinds! {
    OpenAi => KindInfo {
        name: "openai",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.openai.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: true,
    },
    OpenAiCompatible => KindInfo {
        name: "openai-compatible",
        dialect: DialectKind::OpenAi,
        default_base_url: None,
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    // The OpenAI-compatible registry: sources for every URL, auth style and quirk are in
    // docs/providers.md; quirks live in `compat.rs`.
    Groq => KindInfo {
        name: "groq",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.groq.com/openai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Mistral => KindInfo {
        name: "mistral",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.mistral.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    DeepSeek => KindInfo {
        name: "deepseek",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.deepseek.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Together => KindInfo {
        name: "together",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.together.xyz/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Fireworks => KindInfo {
        name: "fireworks",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.fireworks.ai/inference/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    OpenRouter => KindInfo {
        name: "openrouter",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://openrouter.ai/api/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    XAi => KindInfo {
        name: "xai",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.x.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: true,
    },
    Perplexity => KindInfo {
        name: "perplexity",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.perplexity.ai"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Cerebras => KindInfo {
        name: "cerebras",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.cerebras.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    DeepInfra => KindInfo {
        name: "deepinfra",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.deepinfra.com/v1/openai"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Ollama => KindInfo {
        name: "ollama",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:11434/v1"),
        auth: AuthStyle::None,
        stream_usage: true,
    },
    Vllm => KindInfo {
        name: "vllm",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:8000/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: true,
    },
    LmStudio => KindInfo {
        name: "lm-studio",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:1234/v1"),
        auth: AuthStyle::None,
        stream_usage: false,
    },
    LlamaCpp => KindInfo {
        name: "llama-cpp",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:8080/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Novita => KindInfo {
        name: "novita",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.novita.ai/openai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Nebius => KindInfo {
        name: "nebius",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.tokenfactory.nebius.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    SambaNova => KindInfo {
        name: "sambanova",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.sambanova.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Hyperbolic => KindInfo {
        name: "hyperbolic",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.hyperbolic.xyz/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Lambda => KindInfo {
        name: "lambda",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.lambda.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Moonshot => KindInfo {
        name: "moonshot",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.moonshot.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    ZAi => KindInfo {
        name: "zai",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.z.ai/api/paas/v4"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Zhipu => KindInfo {
        name: "zhipu",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://open.bigmodel.cn/api/paas/v4"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    DashScope => KindInfo {
        name: "dashscope",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    SiliconFlow => KindInfo {
        name: "siliconflow",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.siliconflow.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    GithubModels => KindInfo {
        name: "github-models",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://models.github.ai/inference"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    HuggingFace => KindInfo {
        name: "huggingface",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://router.huggingface.co/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    NvidiaNim => KindInfo {
        name: "nvidia-nim",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://integrate.api.nvidia.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Featherless => KindInfo {
        name: "featherless",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.featherless.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Nscale => KindInfo {
        name: "nscale",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://inference.api.nscale.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    OvhCloud => KindInfo {
        name: "ovhcloud",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    InferenceNet => KindInfo {
        name: "inference-net",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.inference.net/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Gemini => KindInfo {
        name: "gemini",
        dialect: DialectKind::Gemini,
        default_base_url: Some("https://generativelanguage.googleapis.com/v1beta"),
        auth: AuthStyle::Header("x-goog-api-key"),
        stream_usage: false,
    },
    VertexAi => KindInfo {
        name: "vertex-ai",
        dialect: DialectKind::Gemini,
        default_base_url: Some("https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/publishers/google"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
    },
    Bedrock => KindInfo {
        name: "bedrock",
        dialect: DialectKind::Bedrock,
        default_base_url: Some("https://bedrock-runtime.{region}.amazonaws.com"),
        auth: AuthStyle::AwsSigV4,
        stream_usage: false,
    },
    Anthropic => KindInfo {
        name: "anthropic",
        dialect: DialectKind::Anthropic,
        default_base_url: Some("https://api.anthropic.com/v1"),
        auth: AuthStyle::Header("x-api-key"),
        // Anthropic streams always carry usage; there is nothing to ask for.
        stream_usage: false,
    },
    AzureOpenAi => KindInfo {
        name: "azure-openai",
        dialect: DialectKind::AzureOpenAi,
        // The resource endpoint (`https://{resource}.openai.azure.com`): config must give it.
        default_base_url: None,
        auth: AuthStyle::Header("api-key"),
        stream_usage: true,
    },
    Cohere => KindInfo {
        name: "cohere",
        dialect: DialectKind::Cohere,
        default_base_url: Some("https://api.cohere.com"),
        auth: AuthStyle::Bearer,
        // Usage always comes in `message-end`: nothing to ask for.
        stream_usage: false,
    },
}

impl ProviderKind {
    /// Looks a kind up by its config name (case-insensitive, `_` and `-` alike).
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted = name.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.iter().copied().find(|k| k.info().name == wanted)
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Every config name, for error messages.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.name()).collect()
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for kind in ProviderKind::ALL {
            assert!(
                seen.insert(kind.name()),
                "duplicate kind name {}",
                kind.name()
            );
            assert_eq!(ProviderKind::from_name(kind.name()), Some(*kind));
        }
    }

    #[test]
    fn lookup_is_forgiving_about_case_and_separators() {
        assert_eq!(
            ProviderKind::from_name("OpenAI"),
            Some(ProviderKind::OpenAi)
        );
        assert_eq!(
            ProviderKind::from_name("openai_compatible"),
            Some(ProviderKind::OpenAiCompatible)
        );
        assert_eq!(ProviderKind::from_name("nope"), None);
    }

    #[test]
    fn default_base_urls_are_https_and_versioned() {
        for kind in ProviderKind::ALL {
            if let Some(url) = kind.info().default_base_url {
                assert!(url.starts_with("https://") || url.starts_with("http://localhost"));
                assert!(!url.ends_with('/'), "{url} must not end with a slash");
            }
        }
    }
}
