//! The API endpoints the gateway serves: OpenAI's, and Anthropic's Messages (served through
//! the [`crate::inbound`] translation).

/// One endpoint the gateway serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`
    ChatCompletions,
    /// `POST /v1/completions` (legacy text completions)
    Completions,
    /// `POST /v1/embeddings`
    Embeddings,
    /// `GET /v1/models`, answered by the gateway from its configuration
    Models,
    /// `GET /v1/models/{id}`, answered by the gateway from its configuration
    Model,
    /// `POST /v1/images/generations` (JSON in, JSON out)
    ImagesGenerations,
    /// `POST /v1/audio/speech` (JSON in, audio bytes out)
    AudioSpeech,
    /// `POST /v1/audio/transcriptions` (multipart form in)
    AudioTranscriptions,
    /// `POST /v1/audio/translations` (multipart form in)
    AudioTranslations,
    /// `POST /v1/messages` (Anthropic Messages, see [`crate::inbound::messages`])
    Messages,
    /// `POST /v1/messages/count_tokens` (Anthropic token counting, see
    /// [`crate::inbound::count_tokens`])
    MessagesCountTokens,
    /// `POST /v1/responses` (OpenAI Responses, stateless, see [`crate::inbound::responses`])
    Responses,
}

/// How an endpoint's request body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEncoding {
    /// `application/json`
    Json,
    /// `multipart/form-data` (an uploaded file beside text fields)
    Multipart,
}

/// What a client's path resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathMatch {
    /// A known endpoint with the right method.
    Found(Endpoint),
    /// A known path with a method it does not accept; carries the one it does.
    WrongMethod(Endpoint),
    /// No such path.
    NotFound,
}

impl Endpoint {
    /// Every endpoint, for tables and tests.
    pub const ALL: [Endpoint; 12] = [
        Endpoint::ChatCompletions,
        Endpoint::Completions,
        Endpoint::Embeddings,
        Endpoint::Models,
        Endpoint::Model,
        Endpoint::ImagesGenerations,
        Endpoint::AudioSpeech,
        Endpoint::AudioTranscriptions,
        Endpoint::AudioTranslations,
        Endpoint::Messages,
        Endpoint::MessagesCountTokens,
        Endpoint::Responses,
    ];

    /// The path below an OpenAI-style base URL (which ends in `/v1`).
    pub fn suffix(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "/chat/completions",
            Endpoint::Completions => "/completions",
            Endpoint::Embeddings => "/embeddings",
            Endpoint::Models | Endpoint::Model => "/models",
            Endpoint::ImagesGenerations => "/images/generations",
            Endpoint::AudioSpeech => "/audio/speech",
            Endpoint::AudioTranscriptions => "/audio/transcriptions",
            Endpoint::AudioTranslations => "/audio/translations",
            Endpoint::Messages => "/messages",
            Endpoint::MessagesCountTokens => "/messages/count_tokens",
            Endpoint::Responses => "/responses",
        }
    }

    /// How the request body is encoded.
    pub fn encoding(self) -> BodyEncoding {
        match self {
            Endpoint::AudioTranscriptions | Endpoint::AudioTranslations => BodyEncoding::Multipart,
            _ => BodyEncoding::Json,
        }
    }

    /// True when a `stream` parameter asks for an SSE answer.
    pub fn can_stream(self) -> bool {
        matches!(
            self,
            Endpoint::ChatCompletions
                | Endpoint::Completions
                | Endpoint::AudioTranscriptions
                | Endpoint::Messages
                | Endpoint::Responses
        )
    }

    /// The HTTP method the endpoint takes.
    pub fn method(self) -> &'static str {
        match self {
            Endpoint::Models | Endpoint::Model => "GET",
            _ => "POST",
        }
    }

    /// A short, stable label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat_completions",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Models => "models",
            Endpoint::Model => "model",
            Endpoint::ImagesGenerations => "images_generations",
            Endpoint::AudioSpeech => "audio_speech",
            Endpoint::AudioTranscriptions => "audio_transcriptions",
            Endpoint::AudioTranslations => "audio_translations",
            Endpoint::Messages => "messages",
            Endpoint::MessagesCountTokens => "messages_count_tokens",
            Endpoint::Responses => "responses",
        }
    }

    /// Matches a request path (query string already removed) and method. Both `/v1/x`
    /// and `/x` are accepted, as OpenAI clients configured without `/v1` send the latter.
    pub fn match_request(method: &str, path: &str) -> PathMatch {
        let path = path.strip_suffix('/').unwrap_or(path);
        let rest = path.strip_prefix("/v1").unwrap_or(path);
        if rest
            .strip_prefix("/models/")
            .is_some_and(|id| !id.is_empty())
        {
            return if method == "GET" {
                PathMatch::Found(Endpoint::Model)
            } else {
                PathMatch::WrongMethod(Endpoint::Model)
            };
        }
        let Some(endpoint) = Self::ALL
            .into_iter()
            .filter(|e| *e != Endpoint::Model)
            .find(|e| e.suffix() == rest)
        else {
            return PathMatch::NotFound;
        };
        if endpoint.method() == method {
            PathMatch::Found(endpoint)
        } else {
            PathMatch::WrongMethod(endpoint)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_and_without_the_version_prefix() {
        assert_eq!(
            Endpoint::match_request("POST", "/v1/chat/completions"),
            PathMatch::Found(Endpoint::ChatCompletions)
        );
        assert_eq!(
            Endpoint::match_request("POST", "/chat/completions"),
            PathMatch::Found(Endpoint::ChatCompletions)
        );
        assert_eq!(
            Endpoint::match_request("GET", "/v1/models/"),
            PathMatch::Found(Endpoint::Models)
        );
        assert_eq!(
            Endpoint::match_request("GET", "/v1/models/openai/gpt-4o"),
            PathMatch::Found(Endpoint::Model)
        );
        assert_eq!(
            Endpoint::match_request("DELETE", "/v1/models/x"),
            PathMatch::WrongMethod(Endpoint::Model)
        );
        assert_eq!(
            Endpoint::match_request("POST", "/v1/audio/transcriptions"),
            PathMatch::Found(Endpoint::AudioTranscriptions)
        );
        assert_eq!(
            Endpoint::AudioTranscriptions.encoding(),
            BodyEncoding::Multipart
        );
        assert_eq!(Endpoint::AudioSpeech.encoding(), BodyEncoding::Json);
    }

    #[test]
    fn inbound_api_paths_match_like_the_others() {
        for (path, endpoint) in [
            ("/v1/messages", Endpoint::Messages),
            ("/messages", Endpoint::Messages),
            ("/v1/messages/count_tokens", Endpoint::MessagesCountTokens),
            ("/v1/responses", Endpoint::Responses),
            ("/v1/responses/", Endpoint::Responses),
        ] {
            assert_eq!(
                Endpoint::match_request("POST", path),
                PathMatch::Found(endpoint),
                "{path}"
            );
        }
        assert_eq!(
            Endpoint::match_request("GET", "/v1/messages"),
            PathMatch::WrongMethod(Endpoint::Messages)
        );
        assert!(Endpoint::Messages.can_stream() && Endpoint::Responses.can_stream());
        assert!(!Endpoint::MessagesCountTokens.can_stream());
        assert_eq!(Endpoint::MessagesCountTokens.encoding(), BodyEncoding::Json);
        let labels: std::collections::HashSet<_> =
            Endpoint::ALL.iter().map(|e| e.label()).collect();
        assert_eq!(labels.len(), Endpoint::ALL.len());
    }

    #[test]
    fn wrong_method_and_unknown_paths_are_distinguished() {
        assert_eq!(
            Endpoint::match_request("GET", "/v1/chat/completions"),
            PathMatch::WrongMethod(Endpoint::ChatCompletions)
        );
        assert_eq!(
            Endpoint::match_request("POST", "/v1/nope"),
            PathMatch::NotFound
        );
        assert_eq!(
            Endpoint::match_request("POST", "/v2/models"),
            PathMatch::NotFound
        );
    }
}
