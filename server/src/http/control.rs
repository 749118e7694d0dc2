//! The control API: JSON over HTTP under `/mock/`, so tests and site owners can watch
//! routing and drive agents by hand. Documented in the README with curl examples.
//!
//! Errors are `{"error": CODE, "message": "…"}`: 404 for an unknown agent or
//! conversation, 409 for an operation not allowed now, 400 for a malformed body.

use crate::channels::inbound::parse as parse_inbound;
use crate::desk::channel::ChannelAction;
use crate::desk::{Desk, DeskError};
use crate::http::errors::ApiError;
use crate::http::state::AppState;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use porchlight_protocol::{AgentId, ChannelId, ConversationId};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use tokio::time::Instant;

/// Middleware for the control API: a successful change is answered only once it is
/// durable; when the database cannot be written it is 503 `unavailable` (the change is kept
/// and written later).
pub async fn durable_changes(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let changes = request.method() != axum::http::Method::GET;
    let response = next.run(request).await;
    if !changes || !response.status().is_success() {
        return response;
    }
    match state.desk.durable().await {
        Ok(()) => response,
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The control routes, to be merged into the app.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mock/state", get(state))
        .route("/mock/conversations/{id}", get(conversation))
        .route("/mock/agents/{agent}/accept", post(accept))
        .route("/mock/agents/{agent}/messages", post(message))
        .route("/mock/agents/{agent}/typing", post(typing))
        .route("/mock/agents/{agent}/close", post(close))
        .route("/mock/agents/{agent}/online", post(online))
        .route("/mock/agents/{agent}/template", post(template))
        .route("/mock/agents/{agent}/private-reply", post(private_reply))
        .route("/mock/agents/{agent}/hide", post(hide))
        .route("/mock/agents/{agent}/delete", post(delete))
        .route(
            "/mock/channels/{channel}/inbound",
            post(inbound).layer(DefaultBodyLimit::max(MAX_INBOUND_BYTES)),
        )
        .route("/mock/channels/{channel}/outbox", get(outbox))
        .route("/mock/clock", post(clock))
}

/// The largest webhook payload the inbound endpoints read.
pub const MAX_INBOUND_BYTES: usize = 64 * 1024;

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("malformed body: {e}"),
        )
    })
}

fn agent_id(raw: String) -> Result<AgentId, ApiError> {
    AgentId::new(raw.clone()).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_agent",
            format!("no agent {raw:?}"),
        )
    })
}

fn conversation_id(raw: String) -> Result<ConversationId, ApiError> {
    ConversationId::new(raw.clone()).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_conversation",
            format!("no conversation {raw:?}"),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConversationBody {
    conversation: ConversationId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    conversation: ConversationId,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypingBody {
    conversation: ConversationId,
    typing: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnlineBody {
    online: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    conversation: ConversationId,
    template: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_secs: u64,
}

fn channel_id(raw: String) -> Result<ChannelId, ApiError> {
    ChannelId::new(raw.clone()).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_channel",
            format!("no channel {raw:?}"),
        )
    })
}

async fn state(State(state): State<AppState>) -> Response {
    Json(state.desk.state(Instant::now())).into_response()
}

fn conversation_view(state: &AppState, id: &ConversationId) -> Result<Response, ApiError> {
    state
        .desk
        .conversation(id)
        .map(|view| Json(view).into_response())
        .ok_or_else(|| DeskError::UnknownConversation(id.clone()).into())
}

async fn conversation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    conversation_view(&state, &conversation_id(id)?)
}

/// Parses the agent and the body, runs `op` on the desk, and answers with the
/// conversation it touched.
fn agent_call<B: DeserializeOwned>(
    state: &AppState,
    agent: String,
    bytes: &Bytes,
    op: impl FnOnce(&Arc<Desk>, &AgentId, B, Instant) -> Result<ConversationId, DeskError>,
) -> Result<Response, ApiError> {
    let agent = agent_id(agent)?;
    let conversation = op(&state.desk, &agent, body(bytes)?, Instant::now())?;
    conversation_view(state, &conversation)
}

async fn accept(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    agent_call(
        &state,
        agent,
        &bytes,
        |desk, agent, b: ConversationBody, now| {
            desk.accept(agent, &b.conversation, now)?;
            Ok(b.conversation)
        },
    )
}

async fn message(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    agent_call(&state, agent, &bytes, |desk, agent, b: MessageBody, _| {
        desk.agent_message(agent, &b.conversation, None, &b.text)?;
        Ok(b.conversation)
    })
}

async fn typing(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    agent_call(&state, agent, &bytes, |desk, agent, b: TypingBody, _| {
        desk.agent_typing(agent, &b.conversation, b.typing)?;
        Ok(b.conversation)
    })
}

async fn close(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    agent_call(
        &state,
        agent,
        &bytes,
        |desk, agent, b: ConversationBody, now| {
            desk.close(agent, &b.conversation, now)?;
            Ok(b.conversation)
        },
    )
}

async fn online(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let agent = agent_id(agent)?;
    let OnlineBody { online } = body(&bytes)?;
    state.desk.set_online(&agent, online, Instant::now())?;
    Ok(Json(state.desk.state(Instant::now())).into_response())
}

/// Parses the agent and a body `B`, and carries out the channel action `B` names.
fn channel_call<B: DeserializeOwned>(
    state: &AppState,
    agent: String,
    bytes: &Bytes,
    action: impl FnOnce(B) -> (ConversationId, ChannelAction),
) -> Result<Response, ApiError> {
    agent_call(state, agent, bytes, |desk, agent, b: B, _| {
        let (conversation, action) = action(b);
        desk.channel_action(agent, &conversation, None, &action)?;
        Ok(conversation)
    })
}

async fn template(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    channel_call(&state, agent, &bytes, |b: TemplateBody| {
        (b.conversation, ChannelAction::Template(b.template))
    })
}

async fn private_reply(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    channel_call(&state, agent, &bytes, |b: MessageBody| {
        (b.conversation, ChannelAction::PrivateReply(b.text))
    })
}

async fn hide(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    channel_call(&state, agent, &bytes, |b: ConversationBody| {
        (b.conversation, ChannelAction::Hide)
    })
}

async fn delete(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    channel_call(&state, agent, &bytes, |b: ConversationBody| {
        (b.conversation, ChannelAction::Delete)
    })
}

/// A platform's webhook for `channel`: every customer event it carries joins or opens a
/// conversation. Answers with the conversation of the last one, and all of them.
async fn inbound(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let channel = channel_id(channel)?;
    let kind = state
        .desk
        .config
        .channel(&channel)
        .map(|c| c.kind)
        .ok_or_else(|| DeskError::UnknownChannel(channel.clone()))?;
    let events = parse_inbound(kind, &bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_payload", e.to_string()))?;
    let mut conversations = Vec::new();
    for event in events {
        conversations.push(state.desk.customer_wrote(&channel, event, Instant::now())?);
    }
    Ok(Json(serde_json::json!({
        "conversation": conversations.last(),
        "conversations": conversations,
    }))
    .into_response())
}

/// What agents sent on `channel`, as the platform received it, oldest first.
async fn outbox(
    State(state): State<AppState>,
    Path(channel): Path<String>,
) -> Result<Response, ApiError> {
    let channel = channel_id(channel)?;
    let records = state
        .desk
        .outbox(&channel)
        .ok_or(DeskError::UnknownChannel(channel))?;
    Ok(Json(records).into_response())
}

/// Moves the mock's wall clock forward (for the platforms' reply windows).
async fn clock(State(state): State<AppState>, bytes: Bytes) -> Result<Response, ApiError> {
    let ClockBody { advance_secs } = body(&bytes)?;
    let (now_ms, offset_ms) = state.desk.advance_clock(advance_secs)?;
    Ok(Json(serde_json::json!({"now_ms": now_ms, "offset_ms": offset_ms})).into_response())
}
