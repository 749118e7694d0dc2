//! The visitor's HTTP API: the site configuration in the visitor's language, the
//! session's earlier conversations, and a conversation's events after a seq. A read of the
//! visitor's data needs the session token as its credential.

use crate::http::errors::ApiError;
use crate::http::state::AppState;
use crate::locales;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use porchlight_protocol::{ConversationId, Seq, SessionToken};

fn check_site(state: &AppState, site: &str) -> Result<(), ApiError> {
    if site == state.desk.config.site.site.as_str() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_site",
            format!("no site {site:?} is served here"),
        ))
    }
}

/// `?lang=de-AT,de,en` of a configuration read: the visitor's languages, most wanted first.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Lang {
    lang: Option<String>,
}

/// The site configuration in the language the site names, or with `language = "auto"`
/// the best one for the visitor's `?lang=` (the host page's choice) or else the browser's
/// `Accept-Language` (the visitor's `navigator.languages`), its direction and texts merged
/// with the site's.
pub(super) async fn site_config(
    State(state): State<AppState>,
    Path(site): Path<String>,
    lang: Result<Query<Lang>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_site(&state, &site)?;
    let Query(Lang { lang }) = lang.map_err(bad_query)?;
    let lang = lang.filter(|l| !l.trim().is_empty()).or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let locales = locales::built_in()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "locales", e.to_string()))?;
    let served = locales::served(&state.desk.config, locales, lang.as_deref());
    Ok((
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::VARY, "Accept-Language"),
        ],
        Json(served),
    )
        .into_response())
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "send the session token as `Authorization: Bearer TOKEN`",
    )
}

/// The session token a visitor's request carries as its credential.
fn bearer_token(headers: &HeaderMap) -> Result<SessionToken, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| SessionToken::new(t.trim()).ok())
        .ok_or_else(unauthorized)
}

/// With `[identity] enforce`, a visitor read is answered only for a session whose visitor
/// proved who they are.
/// Takes one read from the session's budget (`limits.reads_per_minute`).
fn check_reads(state: &AppState, token: &SessionToken) -> Result<(), ApiError> {
    if state.reads.take(token, tokio::time::Instant::now()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_reads",
            "this session reads its history too often; try again in a few seconds",
        ))
    }
}

async fn check_identity(state: &AppState, token: &SessionToken) -> Result<(), ApiError> {
    if !state.desk.config.identity.enforce {
        return Ok(());
    }
    state.desk.recall(Some(token), None).await?;
    if state.desk.identity(token).is_some_and(|i| i.verified) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "identity_required",
        "this site's chat is for signed-in users only",
    ))
}

/// The most events one transcript read returns; a client wanting more reads again after
/// the last it got.
pub const TRANSCRIPT_PAGE: usize = 500;

/// The most conversations one history read returns.
pub const HISTORY_PAGE: usize = 50;

/// `?offset=N&limit=N` of a history read.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Page {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

fn bad_query(e: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
}

/// The visitor's earlier conversations, newest first, a page of at most [`HISTORY_PAGE`]
/// (`?offset=` skips the newest ones).
pub(super) async fn history(
    State(state): State<AppState>,
    Path(site): Path<String>,
    page: Result<Query<Page>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_site(&state, &site)?;
    let Query(Page { offset, limit }) = page.map_err(bad_query)?;
    let limit = limit.unwrap_or(HISTORY_PAGE).min(HISTORY_PAGE);
    let token = bearer_token(&headers)?;
    check_reads(&state, &token)?;
    check_identity(&state, &token).await?;
    let past = state
        .desk
        .history(&token, offset, limit)
        .await?
        .ok_or_else(unauthorized)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(past)).into_response())
}

/// `?after=SEQ&limit=N` of a transcript read.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct After {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// The events of one of the visitor's conversations after a seq, at most
/// [`TRANSCRIPT_PAGE`]: what a widget told to replay over HTTP reads. Someone else's
/// conversation is as unknown as a missing one.
pub(super) async fn transcript(
    State(state): State<AppState>,
    Path((site, conversation)): Path<(String, String)>,
    after: Result<Query<After>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_site(&state, &site)?;
    let Query(After { after, limit }) = after.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("`after` must be a seq: {e}"),
        )
    })?;
    let token = bearer_token(&headers)?;
    check_reads(&state, &token)?;
    check_identity(&state, &token).await?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_conversation",
            "no such conversation in this session",
        )
    };
    let conversation = ConversationId::new(conversation).map_err(|_| not_found())?;
    let events = state
        .desk
        .transcript(
            &token,
            &conversation,
            Seq(after),
            limit.unwrap_or(TRANSCRIPT_PAGE).min(TRANSCRIPT_PAGE),
        )
        .await?
        .ok_or_else(not_found)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(events)).into_response())
}
