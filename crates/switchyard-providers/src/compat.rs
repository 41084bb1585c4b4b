//! Known quirks of the OpenAI-compatible family: what each provider calls a parameter, and
//! what it cannot honour.
//!
//! The OpenAI dialect forwards a client's body with at most a few top-level fields edited;
//! this table says which. A parameter that only renames is mapped (`seed` → `random_seed` for
//! Mistral); a parameter that does not change the answer and that the provider refuses is
//! dropped (`user`); a parameter that would change the answer and that the provider cannot
//! honour is refused with a 400 naming it — never silently dropped, which would give a wrong
//! answer that looks right. Sources for every entry are listed in `docs/providers.md`.
//!
//! [`edits`] is also where a kind's documented endpoint list ([`crate::kind::Serves`]) is
//! enforced: a request for an endpoint the provider does not serve is refused before it is
//! sent, as the native dialects refuse theirs.

use serde_json::Value;

use crate::canonical::{invalid, unsupported};
use crate::endpoint::Endpoint;
use crate::envelope::JsonEnvelope;
use crate::error::TranslateError;
use crate::kind::ProviderKind;

/// What `tool_choice` values a provider accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    /// Everything OpenAI accepts.
    Full,
    /// OpenAI's `"required"` is spelled `"any"`.
    RequiredIsAny,
    /// Only `"auto"` and `"none"`: forcing a tool (`"required"` or a named function) is refused.
    AutoOnly,
}

/// One provider's quirks.
#[derive(Debug)]
pub struct Quirks {
    /// `max_completion_tokens` is sent as `max_tokens`.
    pub max_tokens_only: bool,
    /// Parameters renamed: (OpenAI's name, the provider's).
    pub rename: &'static [(&'static str, &'static str)],
    /// Parameters that do not change the answer and that the provider refuses: dropped.
    pub drop: &'static [&'static str],
    /// Parameters that change the answer and that the provider cannot honour: refused.
    pub refuse: &'static [&'static str],
    /// `n` must be 1.
    pub single_choice: bool,
    /// `tool_choice` support.
    pub tool_choice: ToolChoice,
    /// The `developer` role (OpenAI's newer name for `system`) is sent as `system`.
    pub developer_as_system: bool,
    /// Embeddings parameters renamed: (OpenAI's name, the provider's).
    pub embeddings_rename: &'static [(&'static str, &'static str)],
}

impl Quirks {
    /// No quirks: OpenAI itself, and providers configured as plain `openai-compatible`.
    pub const NONE: Quirks = Quirks {
        max_tokens_only: false,
        rename: &[],
        drop: &[],
        refuse: &[],
        single_choice: false,
        tool_choice: ToolChoice::Full,
        developer_as_system: false,
        embeddings_rename: &[],
    };

    /// The common case in the family: OpenAI's parameters, with `developer` sent as `system`.
    const FAMILY: Quirks = Quirks {
        developer_as_system: true,
        ..Quirks::NONE
    };

    /// `FAMILY` plus `max_completion_tokens` sent as `max_tokens`.
    const LEGACY_MAX: Quirks = Quirks {
        max_tokens_only: true,
        ..Quirks::FAMILY
    };

    /// True when nothing needs changing.
    pub fn is_none(&self) -> bool {
        !self.max_tokens_only
            && self.rename.is_empty()
            && self.drop.is_empty()
            && self.refuse.is_empty()
            && !self.single_choice
            && self.tool_choice == ToolChoice::Full
            && !self.developer_as_system
            && self.embeddings_rename.is_empty()
    }
}

const LOGPROBS: [&str; 3] = ["logit_bias", "logprobs", "top_logprobs"];

/// The quirks of a kind (the one table; kinds not named here have none).
pub fn quirks(kind: ProviderKind) -> &'static Quirks {
    use ProviderKind as K;
    match kind {
        K::Groq => &Quirks {
            refuse: &LOGPROBS,
            single_choice: true,
            ..Quirks::FAMILY
        },
        K::Mistral => &Quirks {
            rename: &[("seed", "random_seed")],
            drop: &["user", "store", "metadata", "service_tier"],
            refuse: &LOGPROBS,
            tool_choice: ToolChoice::RequiredIsAny,
            ..Quirks::LEGACY_MAX
        },
        K::Fireworks => &Quirks {
            tool_choice: ToolChoice::RequiredIsAny,
            ..Quirks::LEGACY_MAX
        },
        K::Perplexity => &Quirks {
            refuse: &[
                "tools",
                "tool_choice",
                "logit_bias",
                "logprobs",
                "top_logprobs",
            ],
            single_choice: true,
            ..Quirks::LEGACY_MAX
        },
        K::Cerebras => &Quirks {
            refuse: &[
                "logit_bias",
                "logprobs",
                "top_logprobs",
                "frequency_penalty",
                "presence_penalty",
            ],
            single_choice: true,
            ..Quirks::FAMILY
        },
        K::DeepInfra | K::Featherless => &Quirks {
            single_choice: true,
            tool_choice: ToolChoice::AutoOnly,
            ..Quirks::LEGACY_MAX
        },
        K::Ollama => &Quirks {
            drop: &["user"],
            refuse: &["logit_bias"],
            single_choice: true,
            tool_choice: ToolChoice::AutoOnly,
            ..Quirks::LEGACY_MAX
        },
        K::SambaNova => &Quirks {
            drop: &["user"],
            refuse: &["logit_bias", "logprobs", "top_logprobs"],
            ..Quirks::LEGACY_MAX
        },
        K::NvidiaNim => &Quirks {
            drop: &["user"],
            refuse: &LOGPROBS,
            single_choice: true,
            ..Quirks::LEGACY_MAX
        },
        K::Moonshot => &Quirks {
            tool_choice: ToolChoice::AutoOnly,
            ..Quirks::LEGACY_MAX
        },
        K::Nscale => &Quirks {
            drop: &["user", "stream_options"],
            ..Quirks::FAMILY
        },
        K::ZAi | K::Zhipu => &Quirks {
            drop: &["user"],
            refuse: &LOGPROBS,
            single_choice: true,
            ..Quirks::LEGACY_MAX
        },
        K::Scaleway => &Quirks {
            // Parameters its chat endpoint "does not yet support": the bookkeeping ones are
            // dropped, audio output is refused.
            drop: &[
                "user",
                "metadata",
                "store",
                "service_tier",
                "safety_identifier",
                "prompt_cache_key",
                "prediction",
            ],
            refuse: &["audio", "modalities"],
            ..Quirks::FAMILY
        },
        K::Voyage => &Quirks {
            embeddings_rename: &[("dimensions", "output_dimension")],
            ..Quirks::NONE
        },
        K::Ai21 | K::Friendli => &Quirks::LEGACY_MAX,
        K::DeepSeek
        | K::Together
        | K::OpenRouter
        | K::XAi
        | K::Novita
        | K::Nebius
        | K::Hyperbolic
        | K::SiliconFlow
        | K::HuggingFace => &Quirks::LEGACY_MAX,
        K::Vllm
        | K::LmStudio
        | K::LlamaCpp
        | K::Lambda
        | K::DashScope
        | K::GithubModels
        | K::OvhCloud
        | K::InferenceNet
        | K::Databricks
        | K::CloudflareWorkersAi
        | K::Upstage
        | K::Baseten
        | K::Reka
        | K::MiniMax
        | K::Qianfan
        | K::Venice
        | K::Sglang
        | K::LocalAi
        | K::Xinference
        | K::Predibase
        | K::Hunyuan
        | K::StepFun
        | K::VolcengineArk
        | K::Chutes => &Quirks::FAMILY,
        _ => &Quirks::NONE,
    }
}

/// An owned top-level edit: set `key` to this raw JSON, or remove it (`None`).
pub type OwnedEdit = (&'static str, Option<Vec<u8>>);

/// The edits a request to `endpoint` needs for a provider of this kind (named `provider` in
/// errors), or the error naming what it cannot honour: an endpoint the kind's documentation
/// does not list, or a parameter.
pub fn edits(
    kind: ProviderKind,
    provider: &str,
    endpoint: Endpoint,
    body: &JsonEnvelope,
) -> Result<Vec<OwnedEdit>, TranslateError> {
    if !kind.info().serves.allows(endpoint) {
        return Err(TranslateError::UnsupportedEndpoint {
            kind: kind.name(),
            endpoint: endpoint.label(),
        });
    }
    let quirks = quirks(kind);
    match endpoint {
        Endpoint::ChatCompletions | Endpoint::Completions => chat_edits(quirks, provider, body),
        Endpoint::Embeddings => Ok(renames(quirks.embeddings_rename, body)),
        _ => Ok(Vec::new()),
    }
}

/// `from` → `to` for each pair whose `from` is in the body.
fn renames(pairs: &[(&'static str, &'static str)], body: &JsonEnvelope) -> Vec<OwnedEdit> {
    let mut out: Vec<OwnedEdit> = Vec::new();
    for &(from, to) in pairs {
        if let Some(raw) = body.get_raw(from) {
            out.push((from, None));
            out.push((to, Some(raw.as_bytes().to_vec())));
        }
    }
    out
}

/// The edits a chat or completions body needs for a provider with these quirks, or the
/// error naming the parameter it cannot honour.
fn chat_edits(
    quirks: &Quirks,
    provider: &str,
    body: &JsonEnvelope,
) -> Result<Vec<OwnedEdit>, TranslateError> {
    let mut out: Vec<OwnedEdit> = Vec::new();
    if quirks.is_none() {
        return Ok(out);
    }
    let present = |key: &str| body.get_raw(key).is_some_and(|v| v != "null");
    for &param in quirks.refuse {
        if present(param) && !is_default(param, body.get_raw(param)) {
            return Err(unsupported(provider, param));
        }
    }
    if quirks.single_choice {
        if let Some(raw) = body.get_raw("n") {
            let n: Option<u64> =
                serde_json::from_str(raw).map_err(|_| invalid("`n` must be an integer", "n"))?;
            if n.is_some_and(|n| n > 1) {
                return Err(TranslateError::InvalidRequest {
                    message: format!("provider {provider} returns one choice: `n` must be 1"),
                    param: Some("n".into()),
                });
            }
        }
    }
    for &param in quirks.drop {
        if body.has(param) {
            out.push((param, None));
        }
    }
    out.extend(renames(quirks.rename, body));
    if quirks.max_tokens_only {
        if let Some(raw) = body.get_raw("max_completion_tokens") {
            out.push(("max_completion_tokens", None));
            if !present("max_tokens") {
                out.push(("max_tokens", Some(raw.as_bytes().to_vec())));
            }
        }
    }
    if let Some(raw) = body.get_raw("tool_choice") {
        let forced = raw.trim() != "\"auto\"" && raw.trim() != "\"none\"" && raw.trim() != "null";
        match quirks.tool_choice {
            ToolChoice::Full => {}
            ToolChoice::RequiredIsAny if raw.trim() == "\"required\"" => {
                out.push(("tool_choice", Some(b"\"any\"".to_vec())));
            }
            ToolChoice::RequiredIsAny => {}
            ToolChoice::AutoOnly if forced => {
                return Err(TranslateError::InvalidRequest {
                    message: format!(
                        "provider {provider} cannot force a tool call: `tool_choice` must be \"auto\" or \"none\""
                    ),
                    param: Some("tool_choice".into()),
                });
            }
            ToolChoice::AutoOnly => {}
        }
    }
    if quirks.developer_as_system {
        if let Some(raw) = body.get_raw("messages") {
            if let Some(rewritten) = developer_as_system(raw)? {
                out.push(("messages", Some(rewritten)));
            }
        }
    }
    Ok(out)
}

/// Values that ask for nothing (`logprobs: false`, an empty `logit_bias`) are not refused.
fn is_default(param: &str, raw: Option<&str>) -> bool {
    let Some(raw) = raw.map(str::trim) else {
        return true;
    };
    match param {
        "logprobs" => raw == "false",
        "top_logprobs" => raw == "0",
        "logit_bias" => raw == "{}",
        "tools" => raw == "[]",
        // Text output only, which is what every chat model gives anyway.
        "modalities" => {
            let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
            compact == "[\"text\"]"
        }
        _ => false,
    }
}

/// `messages` with every `developer` role turned into `system`, if any was there.
fn developer_as_system(raw: &str) -> Result<Option<Vec<u8>>, TranslateError> {
    if memchr::memmem::find(raw.as_bytes(), b"\"developer\"").is_none() {
        return Ok(None);
    }
    let mut messages: Vec<Value> = serde_json::from_str(raw)
        .map_err(|e| invalid(format!("invalid `messages`: {e}"), "messages"))?;
    let mut changed = false;
    for m in &mut messages {
        if let Some(role) = m.get_mut("role") {
            if role == "developer" {
                *role = Value::String("system".into());
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    serde_json::to_vec(&messages)
        .map(Some)
        .map_err(|e| invalid(format!("invalid `messages`: {e}"), "messages"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;

    fn env(s: &str) -> JsonEnvelope {
        JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    fn apply(kind: ProviderKind, body: &str) -> Result<Value, TranslateError> {
        apply_to(kind, Endpoint::ChatCompletions, body)
    }

    fn apply_to(
        kind: ProviderKind,
        endpoint: Endpoint,
        body: &str,
    ) -> Result<Value, TranslateError> {
        let body = env(body);
        let owned = edits(kind, "p", endpoint, &body)?;
        let e: Vec<crate::envelope::Edit<'_>> = owned
            .iter()
            .map(|(k, v)| match v {
                Some(v) => crate::envelope::Edit::Set(k, v),
                None => crate::envelope::Edit::Remove(k),
            })
            .collect();
        Ok(serde_json::from_slice(&body.rewrite(&e)).unwrap())
    }

    #[test]
    fn openai_and_plain_compatible_bodies_are_untouched() {
        for kind in [ProviderKind::OpenAi, ProviderKind::OpenAiCompatible] {
            assert!(quirks(kind).is_none());
        }
    }

    #[test]
    fn mistral_renames_maps_and_drops() {
        let v = apply(
            ProviderKind::Mistral,
            r#"{"model":"m","seed":7,"max_completion_tokens":50,"tool_choice":"required","user":"u1",
               "messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}]}"#,
        )
        .unwrap();
        assert_eq!(v["random_seed"], 7);
        assert!(v.get("seed").is_none());
        assert_eq!(v["max_tokens"], 50);
        assert!(v.get("max_completion_tokens").is_none());
        assert_eq!(v["tool_choice"], "any");
        assert!(v.get("user").is_none());
        assert_eq!(v["messages"][0]["role"], "system");
        assert_eq!(v["messages"][1]["content"], "hi");
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        let e = apply(
            ProviderKind::Groq,
            r#"{"model":"m","messages":[],"logprobs":true}"#,
        )
        .unwrap_err();
        assert!(
            matches!(e, TranslateError::InvalidRequest { param: Some(ref p), .. } if p == "logprobs")
        );
        let e = apply(ProviderKind::Groq, r#"{"model":"m","messages":[],"n":2}"#).unwrap_err();
        assert!(matches!(e, TranslateError::InvalidRequest { param: Some(ref p), .. } if p == "n"));
        let e = apply(
            ProviderKind::Perplexity,
            r#"{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"f"}}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(e, TranslateError::InvalidRequest { param: Some(ref p), .. } if p == "tools")
        );
        let e = apply(
            ProviderKind::Ollama,
            r#"{"model":"m","messages":[],"tool_choice":{"type":"function","function":{"name":"f"}}}"#,
        )
        .unwrap_err();
        assert!(
            matches!(e, TranslateError::InvalidRequest { param: Some(ref p), .. } if p == "tool_choice")
        );
    }

    #[test]
    fn harmless_values_pass() {
        let v = apply(
            ProviderKind::Groq,
            r#"{"model":"m","messages":[],"n":1,"logprobs":false}"#,
        )
        .unwrap();
        assert_eq!(v["n"], 1);
        let v = apply(
            ProviderKind::Ollama,
            r#"{"model":"m","messages":[],"tool_choice":"auto","max_tokens":5,"max_completion_tokens":9}"#,
        )
        .unwrap();
        assert_eq!(v["max_tokens"], 5);
        assert!(v.get("max_completion_tokens").is_none());
    }

    fn refused_endpoint(kind: ProviderKind, endpoint: Endpoint) -> bool {
        matches!(
            apply_to(kind, endpoint, r#"{"model":"m"}"#),
            Err(TranslateError::UnsupportedEndpoint { kind: k, endpoint: e })
                if k == kind.name() && e == endpoint.label()
        )
    }

    #[test]
    fn documented_endpoint_lists_are_enforced_and_unlisted_kinds_forward_everything() {
        use Endpoint as E;
        use ProviderKind as K;
        for (kind, served, refused) in [
            (
                K::Voyage,
                &[E::Embeddings][..],
                &[E::ChatCompletions, E::Completions, E::Responses][..],
            ),
            (
                K::Jina,
                &[E::Embeddings],
                &[E::ChatCompletions, E::ImagesGenerations],
            ),
            (
                K::Reka,
                &[E::ChatCompletions],
                &[E::Embeddings, E::Completions],
            ),
            (
                K::Databricks,
                &[
                    E::ChatCompletions,
                    E::Completions,
                    E::Embeddings,
                    E::Responses,
                ],
                &[E::ImagesGenerations, E::AudioSpeech],
            ),
            (
                K::CloudflareWorkersAi,
                &[E::ChatCompletions, E::Embeddings, E::Responses],
                &[E::Completions, E::ImagesGenerations],
            ),
            (
                K::Scaleway,
                &[
                    E::ChatCompletions,
                    E::Embeddings,
                    E::Responses,
                    E::AudioTranscriptions,
                ],
                &[E::Completions, E::AudioSpeech, E::ImagesGenerations],
            ),
            (K::Sglang, &E::ALL[..], &[]),
            (K::VercelAiGateway, &E::ALL[..], &[]),
            (K::OpenAi, &E::ALL[..], &[]),
        ] {
            for &e in served {
                assert!(!refused_endpoint(kind, e), "{kind} should serve {e:?}");
                assert!(kind.info().serves.allows(e));
            }
            for &e in refused {
                assert!(refused_endpoint(kind, e), "{kind} should refuse {e:?}");
            }
        }
    }

    #[test]
    fn voyage_names_the_embedding_size_output_dimension() {
        let v = apply_to(
            ProviderKind::Voyage,
            Endpoint::Embeddings,
            r#"{"model":"voyage-3.5","input":["a"],"dimensions":256,"input_type":"query"}"#,
        )
        .unwrap();
        assert_eq!(v["output_dimension"], 256);
        assert!(v.get("dimensions").is_none());
        assert_eq!(v["input_type"], "query");
        // Jina takes OpenAI's name as it is.
        let v = apply_to(
            ProviderKind::Jina,
            Endpoint::Embeddings,
            r#"{"model":"jina-embeddings-v3","input":"a","dimensions":256}"#,
        )
        .unwrap();
        assert_eq!(v["dimensions"], 256);
        // Chat renames never touch embeddings bodies (Mistral's `seed` rename is chat-only).
        let v = apply_to(
            ProviderKind::Mistral,
            Endpoint::Embeddings,
            r#"{"model":"mistral-embed","input":"a","seed":1,"user":"u"}"#,
        )
        .unwrap();
        assert_eq!(v["seed"], 1);
        assert_eq!(v["user"], "u");
    }

    #[test]
    fn scaleway_drops_bookkeeping_and_refuses_audio_output() {
        let v = apply(
            ProviderKind::Scaleway,
            r#"{"model":"m","user":"u","metadata":{"a":"b"},"store":false,"service_tier":"auto",
               "safety_identifier":"s","prompt_cache_key":"k","prediction":{"type":"content","content":"x"},
               "modalities":["text"],"temperature":0.2,
               "messages":[{"role":"developer","content":"d"},{"role":"user","content":"hi"}]}"#,
        )
        .unwrap();
        for dropped in [
            "user",
            "metadata",
            "store",
            "service_tier",
            "safety_identifier",
            "prompt_cache_key",
            "prediction",
        ] {
            assert!(v.get(dropped).is_none(), "{dropped} should be dropped");
        }
        assert_eq!(v["modalities"], json!(["text"]));
        assert_eq!(v["temperature"], 0.2);
        assert_eq!(v["messages"][0]["role"], "system");
        for (body, param) in [
            (
                r#"{"model":"m","messages":[],"modalities":["text","audio"]}"#,
                "modalities",
            ),
            (
                r#"{"model":"m","messages":[],"audio":{"voice":"alloy","format":"wav"}}"#,
                "audio",
            ),
        ] {
            let e = apply(ProviderKind::Scaleway, body).unwrap_err();
            assert!(
                matches!(e, TranslateError::InvalidRequest { param: Some(ref p), .. } if p == param),
                "{body}: {e:?}"
            );
        }
    }

    #[test]
    fn ai21_and_friendli_take_max_tokens() {
        for kind in [ProviderKind::Ai21, ProviderKind::Friendli] {
            let v = apply(
                kind,
                r#"{"model":"m","max_completion_tokens":40,"messages":[{"role":"developer","content":"d"}]}"#,
            )
            .unwrap();
            assert_eq!(v["max_tokens"], 40, "{kind}");
            assert!(v.get("max_completion_tokens").is_none(), "{kind}");
            assert_eq!(v["messages"][0]["role"], "system", "{kind}");
        }
    }

    #[test]
    fn family_kinds_keep_openai_parameters_and_send_developer_as_system() {
        use ProviderKind as K;
        for kind in [
            K::Databricks,
            K::CloudflareWorkersAi,
            K::Upstage,
            K::Baseten,
            K::Reka,
            K::MiniMax,
            K::Qianfan,
            K::Venice,
            K::Sglang,
            K::LocalAi,
            K::Xinference,
            K::Predibase,
            K::Hunyuan,
            K::StepFun,
            K::VolcengineArk,
            K::Chutes,
        ] {
            let v = apply(
                kind,
                r#"{"model":"m","max_completion_tokens":9,"seed":1,"user":"u",
                   "messages":[{"role":"developer","content":"d"},{"role":"user","content":"hi"}]}"#,
            )
            .unwrap();
            assert_eq!(v["messages"][0]["role"], "system", "{kind}");
            assert_eq!(v["max_completion_tokens"], 9, "{kind}");
            assert_eq!(v["seed"], 1, "{kind}");
            assert_eq!(v["user"], "u", "{kind}");
        }
    }

    #[test]
    fn openai_api_front_ends_get_bodies_as_sent() {
        // Azure's v1 API and Vercel's gateway implement OpenAI's API itself; Jina's
        // embeddings take OpenAI's names.
        for kind in [
            ProviderKind::AzureFoundry,
            ProviderKind::VercelAiGateway,
            ProviderKind::Jina,
        ] {
            assert!(quirks(kind).is_none(), "{kind}");
        }
    }

    #[test]
    fn the_registry_has_at_least_60_kinds() {
        assert!(ProviderKind::ALL.len() >= 60, "{}", ProviderKind::ALL.len());
    }

    #[test]
    fn the_registry_has_at_least_25_compatible_kinds() {
        let compatible = ProviderKind::ALL
            .iter()
            .filter(|k| k.info().dialect == crate::kind::DialectKind::OpenAi)
            .count();
        assert!(compatible >= 25, "{compatible}");
    }
}
