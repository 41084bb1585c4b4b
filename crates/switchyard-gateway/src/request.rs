//! One request, from arrival to the last byte: the pipeline in the order a request meets it.
//!
//! ```text
//! match endpoint ─▶ admit ─▶ read + parse body ─▶ plan route ─▶ before_route
//!       ─▶ attempts (per target: edits, dialect, before_attempt, send, judge, after_attempt)
//!       ─▶ COMMIT (on_response_head, [on_response_body], header, [on_event]… body)
//! ... and, whatever happened, on_complete (from `Gateway::logging`).
//! ```
//!
//! Each `pipeline.…` call below runs the stages registered for that hook (see
//! `switchyard_pipeline::Stage`); a hook no stage declares costs one branch. A stage may
//! continue, change what it was handed, answer itself, or end the request with an error.

use std::time::Duration;

use bytes::Bytes;
use pingora::proxy::Session;
use switchyard_config::catalog::listing;
use switchyard_pipeline::{Flow, Hooks};
use switchyard_providers::inbound::passthrough::ClientHeaders;
use switchyard_providers::inbound::{self, InboundApi};
use switchyard_providers::Endpoint;

use crate::attempt::{self, Attempts};
use crate::ctx::RequestCtx;
use crate::error::GatewayError;
use crate::failure::Failure;
use crate::state::State;
use crate::{intake, plan, respond};

/// How long a client may take between two reads of its request body.
pub const CLIENT_IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves one request; `Ok` once a response has been written.
pub async fn serve(
    state: &State,
    session: &mut Session,
    ctx: &mut RequestCtx,
) -> Result<(), Failure> {
    let pipeline = &state.pipeline;
    let endpoint = intake::match_endpoint(session.req_header())?;
    ctx.endpoint = Some(endpoint);

    // admit: the head only — who is calling, may they at all.
    if pipeline.uses(Hooks::ADMIT) {
        let flow = pipeline.admit(&mut ctx.cx, session.req_header()).await;
        if answered(session, state, ctx, flow).await? {
            return Ok(());
        }
    }
    if matches!(endpoint, Endpoint::Models | Endpoint::Model) {
        let body = match endpoint {
            Endpoint::Model => model_body(state, session.req_header().uri.path())?,
            _ => state.models_body.clone(),
        };
        return respond::whole(session, pipeline, ctx, 200, "application/json", body, &[])
            .await
            .map_err(Failure::Abort);
    }

    // The body, read once within the size limit and parsed once.
    session.set_read_timeout(Some(CLIENT_IO_TIMEOUT));
    let server = &state.config.server;
    let raw = intake::read_body(
        session,
        server.max_body_size,
        server.body_timeout,
        &mut ctx.hold,
    )
    .await?;
    let mut body = intake::parse_body(endpoint, session.req_header(), raw)?;
    let model = body
        .json
        .get_str("model")?
        .filter(|m| !m.trim().is_empty())
        .ok_or(GatewayError::MissingModel)?;
    ctx.stream = endpoint.can_stream() && intake::streaming(&body)?;
    ctx.model = Some(model.clone());

    // An inbound API (Anthropic Messages, OpenAI Responses) is served through chat: from here
    // on stages and routing see the chat body; the client's own is kept for the targets that
    // take it as is, and the answer is translated back at the commit point.
    let mut original = None;
    if let Some(api) = InboundApi::for_endpoint(endpoint) {
        ctx.api = api;
        if api != InboundApi::Chat {
            let chat = inbound::to_chat(api, &body.json).map_err(GatewayError::from)?;
            original = Some(std::mem::replace(&mut body.json, chat));
        }
    } else if endpoint == Endpoint::MessagesCountTokens {
        ctx.api = InboundApi::Messages;
        original = Some(body.json.clone());
    }
    let head = session.req_header();
    let anthropic_version =
        intake::header_str(head, &intake::names::ANTHROPIC_VERSION).map(str::to_owned);
    let anthropic_beta =
        intake::header_str(head, &intake::names::ANTHROPIC_BETA).map(str::to_owned);

    // Which route tree to walk.
    let plan = plan::plan(state, session.req_header(), ctx, &model)?;

    // before_route: the whole request is known, no provider chosen yet.
    if pipeline.uses(Hooks::BEFORE_ROUTE) {
        let flow = pipeline
            .before_route(&mut ctx.cx, session.req_header(), &mut body)
            .await;
        if answered(session, state, ctx, flow).await? {
            return Ok(());
        }
    }

    // The attempts; the first good answer is committed and streamed to the client.
    let path = session.req_header().uri.path().to_owned();
    let attempts = Attempts {
        endpoint,
        body: &body,
        original: original.as_ref(),
        anthropic: ClientHeaders {
            anthropic_version: anthropic_version.as_deref(),
            anthropic_beta: anthropic_beta.as_deref(),
        },
        model: &model,
        plan,
        path: &path,
    };
    attempt::run(state, session, ctx, attempts).await
}

/// `GET /v1/models/{id}`: any id the listing shows, or any id a client may route with
/// (a route, `provider/model`, a model one provider lists). Ids may contain `/` and be
/// percent-encoded.
fn model_body(state: &State, path: &str) -> Result<Bytes, GatewayError> {
    let raw = path
        .split_once("/models/")
        .map_or("", |(_, id)| id.trim_end_matches('/'));
    let id = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let not_found = || GatewayError::ModelNotFound(id.chars().take(200).collect());
    let json = match state.models.get(&id) {
        Some(o) => serde_json::to_vec(o),
        None => {
            let created = state.models.data().first().map_or(0, |o| o.created);
            let o = listing::model_object(&state.config, &id, created).ok_or_else(not_found)?;
            serde_json::to_vec(&o)
        }
    };
    json.map(Bytes::from)
        .map_err(|e| GatewayError::Internal(format!("encoding a model: {e}")))
}

/// Acts on a stage's decision: `Ok(true)` when the request has been answered.
async fn answered(
    session: &mut Session,
    state: &State,
    ctx: &mut RequestCtx,
    flow: Flow,
) -> Result<bool, Failure> {
    match flow {
        Flow::Continue => Ok(false),
        Flow::Fail(e) => Err(e.into()),
        Flow::Respond(reply) => {
            if !session.is_body_done() {
                // The body was not read: the connection cannot carry another request.
                session.set_keepalive(None);
            }
            respond::reply(session, &state.pipeline, ctx, reply)
                .await
                .map_err(Failure::Abort)?;
            Ok(true)
        }
    }
}
