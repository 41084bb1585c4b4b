//! The registry of provider kinds: the one table that says, for each `kind:` a config may
//! name, which dialect translates for it, where it lives by default and how it takes a key.

use std::fmt;

use crate::endpoint::Endpoint;

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

/// Which endpoints a provider kind serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serves {
    /// Not pinned down: self-hosted servers (which serve whatever their build and flags
    /// enable) and providers whose documentation gives no list. Every request is forwarded
    /// and the provider answers what it does not serve.
    Unlisted,
    /// Exactly these, as the provider's documentation lists them: a request for any other
    /// endpoint is refused with a 400 before anything is sent.
    Only(&'static [Endpoint]),
}

impl Serves {
    /// Whether a request for `endpoint` may be sent to the provider.
    pub fn allows(self, endpoint: Endpoint) -> bool {
        match self {
            Serves::Unlisted => true,
            Serves::Only(list) => list.contains(&endpoint),
        }
    }

    /// Whether the provider's documentation lists `endpoint` (false for [`Serves::Unlisted`]:
    /// not known, as opposed to allowed).
    pub fn documents(self, endpoint: Endpoint) -> bool {
        matches!(self, Serves::Only(list) if list.contains(&endpoint))
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
    /// The endpoints it serves (enforced for the OpenAI-compatible family, see
    /// [`crate::compat::edits`]).
    pub serves: Serves,
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
        serves: Serves::Unlisted,
    },
    OpenAiCompatible => KindInfo {
        name: "openai-compatible",
        dialect: DialectKind::OpenAi,
        default_base_url: None,
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    // The OpenAI-compatible registry: sources for every URL, auth style and quirk are in
    // docs/providers.md; quirks live in `compat.rs`.
    Groq => KindInfo {
        name: "groq",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.groq.com/openai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Mistral => KindInfo {
        name: "mistral",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.mistral.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    DeepSeek => KindInfo {
        name: "deepseek",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.deepseek.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Together => KindInfo {
        name: "together",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.together.xyz/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Fireworks => KindInfo {
        name: "fireworks",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.fireworks.ai/inference/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    OpenRouter => KindInfo {
        name: "openrouter",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://openrouter.ai/api/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    XAi => KindInfo {
        name: "xai",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.x.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: true,
        serves: Serves::Unlisted,
    },
    Perplexity => KindInfo {
        name: "perplexity",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.perplexity.ai"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Cerebras => KindInfo {
        name: "cerebras",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.cerebras.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    DeepInfra => KindInfo {
        name: "deepinfra",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.deepinfra.com/v1/openai"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Ollama => KindInfo {
        name: "ollama",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:11434/v1"),
        auth: AuthStyle::None,
        stream_usage: true,
        serves: Serves::Unlisted,
    },
    Vllm => KindInfo {
        name: "vllm",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:8000/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: true,
        serves: Serves::Unlisted,
    },
    LmStudio => KindInfo {
        name: "lm-studio",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:1234/v1"),
        auth: AuthStyle::None,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    LlamaCpp => KindInfo {
        name: "llama-cpp",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:8080/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Novita => KindInfo {
        name: "novita",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.novita.ai/openai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Nebius => KindInfo {
        name: "nebius",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.tokenfactory.nebius.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    SambaNova => KindInfo {
        name: "sambanova",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.sambanova.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Hyperbolic => KindInfo {
        name: "hyperbolic",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.hyperbolic.xyz/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Lambda => KindInfo {
        name: "lambda",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.lambda.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Moonshot => KindInfo {
        name: "moonshot",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.moonshot.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    ZAi => KindInfo {
        name: "zai",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.z.ai/api/paas/v4"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Zhipu => KindInfo {
        name: "zhipu",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://open.bigmodel.cn/api/paas/v4"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    DashScope => KindInfo {
        name: "dashscope",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    SiliconFlow => KindInfo {
        name: "siliconflow",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.siliconflow.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    GithubModels => KindInfo {
        name: "github-models",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://models.github.ai/inference"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    HuggingFace => KindInfo {
        name: "huggingface",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://router.huggingface.co/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    NvidiaNim => KindInfo {
        name: "nvidia-nim",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://integrate.api.nvidia.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Featherless => KindInfo {
        name: "featherless",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.featherless.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Nscale => KindInfo {
        name: "nscale",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://inference.api.nscale.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    OvhCloud => KindInfo {
        name: "ovhcloud",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    InferenceNet => KindInfo {
        name: "inference-net",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.inference.net/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    // Added with their own documentation as the source (one citation each in
    // docs/providers/compat-sources.md, "Kinds cited from the providers' own documentation").
    // `default_base_url: None` where the URL is per account, workspace or deployment: the
    // config must then give `base_url`.
    Databricks => KindInfo {
        name: "databricks",
        dialect: DialectKind::OpenAi,
        // `https://<workspace>/serving-endpoints`; `model` is the serving endpoint's name.
        default_base_url: None,
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Only(&[
            Endpoint::ChatCompletions,
            Endpoint::Completions,
            Endpoint::Embeddings,
            Endpoint::Responses,
        ]),
    },
    CloudflareWorkersAi => KindInfo {
        name: "cloudflare-workers-ai",
        dialect: DialectKind::OpenAi,
        // `https://api.cloudflare.com/client/v4/accounts/<account_id>/ai/v1`.
        default_base_url: None,
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Only(&[
            Endpoint::ChatCompletions,
            Endpoint::Embeddings,
            Endpoint::Responses,
        ]),
    },
    AzureFoundry => KindInfo {
        name: "azure-foundry",
        dialect: DialectKind::OpenAi,
        // Azure's v1 API, `https://<resource>.openai.azure.com/openai/v1` (or the Foundry
        // resource's `services.ai.azure.com` host): OpenAI's paths, no `api-version`.
        default_base_url: None,
        // An API key or a Microsoft Entra token, both as a bearer token (Azure's v1 examples
        // pass the key to the plain OpenAI client).
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Upstage => KindInfo {
        name: "upstage",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.upstage.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Baseten => KindInfo {
        name: "baseten",
        dialect: DialectKind::OpenAi,
        // Model APIs (a dedicated deployment's own URL goes in `base_url`).
        default_base_url: Some("https://inference.baseten.co/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Ai21 => KindInfo {
        name: "ai21",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.ai21.com/studio/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Reka => KindInfo {
        name: "reka",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.reka.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Only(&[Endpoint::ChatCompletions]),
    },
    Voyage => KindInfo {
        name: "voyage",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.voyageai.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        // Embeddings (and `/rerank`, which the gateway does not route yet).
        serves: Serves::Only(&[Endpoint::Embeddings]),
    },
    Jina => KindInfo {
        name: "jina",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.jina.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        // Embeddings (and `/rerank`, which the gateway does not route yet).
        serves: Serves::Only(&[Endpoint::Embeddings]),
    },
    Friendli => KindInfo {
        name: "friendli",
        dialect: DialectKind::OpenAi,
        // Serverless endpoints.
        default_base_url: Some("https://api.friendli.ai/serverless/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    MiniMax => KindInfo {
        name: "minimax",
        dialect: DialectKind::OpenAi,
        // International; users in China use `https://api.minimaxi.com/v1`.
        default_base_url: Some("https://api.minimax.io/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Qianfan => KindInfo {
        name: "qianfan",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://qianfan.baidubce.com/v2"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Scaleway => KindInfo {
        name: "scaleway",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.scaleway.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: true,
        serves: Serves::Only(&[
            Endpoint::ChatCompletions,
            Endpoint::Embeddings,
            Endpoint::Responses,
            Endpoint::AudioTranscriptions,
        ]),
    },
    Venice => KindInfo {
        name: "venice",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.venice.ai/api/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: true,
        serves: Serves::Unlisted,
    },
    VercelAiGateway => KindInfo {
        name: "vercel-ai-gateway",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://ai-gateway.vercel.sh/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Sglang => KindInfo {
        name: "sglang",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:30000/v1"),
        // A bearer key, if the server was started to require one.
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    LocalAi => KindInfo {
        name: "localai",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("http://localhost:8080/v1"),
        // Checked only when API keys are configured (`API_KEY`).
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Xinference => KindInfo {
        name: "xinference",
        dialect: DialectKind::OpenAi,
        // Self-hosted, `http://<host>:<port>/v1`: Xinference's docs give no default port.
        default_base_url: None,
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Predibase => KindInfo {
        name: "predibase",
        dialect: DialectKind::OpenAi,
        // `https://serving.app.predibase.com/<tenant_id>/deployments/v2/llms/<deployment>/v1`;
        // `model` is an adapter (`repo/version`) or empty for the base model.
        default_base_url: None,
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Hunyuan => KindInfo {
        name: "hunyuan",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://api.hunyuan.cloud.tencent.com/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    StepFun => KindInfo {
        name: "stepfun",
        dialect: DialectKind::OpenAi,
        // International; the China platform is `https://api.stepfun.com/v1`.
        default_base_url: Some("https://api.stepfun.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    VolcengineArk => KindInfo {
        name: "volcengine-ark",
        dialect: DialectKind::OpenAi,
        // Ark's V3 API (Doubao and hosted models); `model` is a model or an endpoint id.
        default_base_url: Some("https://ark.cn-beijing.volces.com/api/v3"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Chutes => KindInfo {
        name: "chutes",
        dialect: DialectKind::OpenAi,
        default_base_url: Some("https://llm.chutes.ai/v1"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Gemini => KindInfo {
        name: "gemini",
        dialect: DialectKind::Gemini,
        default_base_url: Some("https://generativelanguage.googleapis.com/v1beta"),
        auth: AuthStyle::Header("x-goog-api-key"),
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    VertexAi => KindInfo {
        name: "vertex-ai",
        dialect: DialectKind::Gemini,
        default_base_url: Some("https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/publishers/google"),
        auth: AuthStyle::Bearer,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Bedrock => KindInfo {
        name: "bedrock",
        dialect: DialectKind::Bedrock,
        default_base_url: Some("https://bedrock-runtime.{region}.amazonaws.com"),
        auth: AuthStyle::AwsSigV4,
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    Anthropic => KindInfo {
        name: "anthropic",
        dialect: DialectKind::Anthropic,
        default_base_url: Some("https://api.anthropic.com/v1"),
        auth: AuthStyle::Header("x-api-key"),
        // Anthropic streams always carry usage; there is nothing to ask for.
        stream_usage: false,
        serves: Serves::Unlisted,
    },
    AzureOpenAi => KindInfo {
        name: "azure-openai",
        dialect: DialectKind::AzureOpenAi,
        // The resource endpoint (`https://{resource}.openai.azure.com`): config must give it.
        default_base_url: None,
        auth: AuthStyle::Header("api-key"),
        stream_usage: true,
        serves: Serves::Unlisted,
    },
    Cohere => KindInfo {
        name: "cohere",
        dialect: DialectKind::Cohere,
        default_base_url: Some("https://api.cohere.com"),
        auth: AuthStyle::Bearer,
        // Usage always comes in `message-end`: nothing to ask for.
        stream_usage: false,
        serves: Serves::Unlisted,
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
    fn serves_tells_allowed_from_documented() {
        let only = Serves::Only(&[Endpoint::Embeddings]);
        assert!(only.allows(Endpoint::Embeddings) && only.documents(Endpoint::Embeddings));
        assert!(!only.allows(Endpoint::ChatCompletions));
        assert!(!only.documents(Endpoint::ChatCompletions));
        assert!(Serves::Unlisted.allows(Endpoint::ChatCompletions));
        assert!(!Serves::Unlisted.documents(Endpoint::ChatCompletions));
    }

    #[test]
    fn per_account_kinds_have_no_default_url_and_every_list_is_non_empty() {
        for kind in [
            ProviderKind::OpenAiCompatible,
            ProviderKind::Databricks,
            ProviderKind::CloudflareWorkersAi,
            ProviderKind::AzureFoundry,
            ProviderKind::Predibase,
            ProviderKind::Xinference,
            ProviderKind::AzureOpenAi,
        ] {
            assert_eq!(kind.info().default_base_url, None, "{kind}");
        }
        for kind in ProviderKind::ALL {
            if let Serves::Only(list) = kind.info().serves {
                assert!(!list.is_empty(), "{kind} serves nothing");
            }
        }
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
