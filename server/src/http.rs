//! The HTTP surface: the demo host page, the embed loader, the widget app, the site
//! configuration and history API, the control API and the WebSocket upgrade, all in one [`app`] router so tests can
//! serve it on port 0.

use crate::assets;
use crate::config::ServerConfig;
use crate::console_socket::serve_console;
use crate::control::{self, ApiError};
use crate::guard;
use crate::locales;
use crate::socket::serve_connection;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use porchlight_protocol::console::CONSOLE_SOCKET_PATH;
use porchlight_protocol::limits::MAX_FRAME_BYTES;
use porchlight_protocol::{ConversationId, Seq, SessionToken};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;
use tower_http::set_header::SetResponseHeaderLayer;

/// The embed loader, served at `/porchlight.js`.
const LOADER_JS: &str = include_str!("../../loader/porchlight.js");
/// The demo host page, served at `/`; `{{SITE}}` becomes the configured site id.
const DEMO_HTML: &str = include_str!("../assets/demo.html");
/// The demo host page's stylesheet (a file, so the page needs no inline styles).
const DEMO_CSS: &str = include_str!("../assets/demo.css");

/// The demo page allows only its own origin: it embeds the widget with nothing inline.
const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     frame-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The agent console's page policy.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// How much a socket reads at once (the buffer grows for a larger frame).
const SOCKET_READ_CHUNK: usize = 4 * 1024;

/// The whole router.
pub fn app(state: AppState) -> Router {
    let widget = assets::built_files(&state.widget_dir);
    // Validated in the config, so it is always a valid header value.
    let widget_csp = HeaderValue::from_str(&state.desk.config.widget_csp())
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let widget = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            widget_csp,
        ))
        .service(widget);
    // The console: its own scripts and WebAssembly only, framed by nobody, and no
    // Referer leaves it (its address may still carry the admin token).
    let console = assets::built_files(&state.console_dir);
    let console = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONSOLE_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .service(console);
    let control = control::routes()
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            control::durable_changes,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::require_admin,
        ));
    Router::new()
        .route("/", get(demo_page))
        .route("/demo.css", get(demo_css))
        .route("/porchlight.js", get(loader))
        .route("/api/v1/sites/{site}/config", get(site_config))
        .route("/api/v1/sites/{site}/history", get(history))
        .route(
            "/api/v1/sites/{site}/conversations/{conversation}/events",
            get(transcript),
        )
        .route("/api/v1/ws", get(websocket))
        .route(CONSOLE_SOCKET_PATH, get(console_websocket))
        .merge(control)
        .nest_service("/widget", widget)
        .nest_service("/console", console)
        .layer(axum::middleware::from_fn(assets::cache_policy))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

async fn demo_page(State(state): State<AppState>) -> Response {
    let html = DEMO_HTML.replace("{{SITE}}", state.desk.config.site.site.as_str());
    ([(header::CONTENT_SECURITY_POLICY, DEMO_CSP)], Html(html)).into_response()
}

async fn demo_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        DEMO_CSS,
    )
        .into_response()
}

async fn loader(State(state): State<AppState>, headers: HeaderMap) -> Response {
    assets::loader_response(&state.loader, &headers)
}

/// The placeholder in the loader that the site's embedding options replace.
const LOADER_OPTIONS: &str = "var options = ['', 2147483000, 4, 4];";

/// The loader with the site's embedding options written in ([`assets::loader_options`]):
/// what the widget page needs before its code runs, passed on in its address, and where
/// the frame sits on the host page.
pub fn loader_script(config: &ServerConfig) -> String {
    crate::script::compact(LOADER_JS).replacen(LOADER_OPTIONS, &assets::loader_options(config), 1)
}

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
struct Lang {
    lang: Option<String>,
}

/// The site configuration in the language the site names, or with `language = "auto"`
/// the best one for the visitor's `?lang=` (the host page's choice) or else the browser's
/// `Accept-Language` (the visitor's `navigator.languages`), its direction and texts merged
/// with the site's.
async fn site_config(
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
fn check_identity(state: &AppState, token: &SessionToken) -> Result<(), ApiError> {
    if !state.desk.config.identity.enforce || state.desk.identity(token).is_some_and(|i| i.verified)
    {
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
struct Page {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

fn bad_query(e: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
}

/// The visitor's earlier conversations, newest first, a page of at most [`HISTORY_PAGE`]
/// (`?offset=` skips the newest ones).
async fn history(
    State(state): State<AppState>,
    Path(site): Path<String>,
    page: Result<Query<Page>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_site(&state, &site)?;
    let Query(Page { offset, limit }) = page.map_err(bad_query)?;
    let limit = limit.unwrap_or(HISTORY_PAGE).min(HISTORY_PAGE);
    let token = bearer_token(&headers)?;
    check_identity(&state, &token)?;
    let past = state
        .desk
        .history(&token, offset, limit)
        .ok_or_else(unauthorized)?;
    state.desk.durable().await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(past)).into_response())
}

/// `?after=SEQ&limit=N` of a transcript read.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct After {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// The events of one of the visitor's conversations after a seq, at most
/// [`TRANSCRIPT_PAGE`]: what a widget told to replay over HTTP reads. Someone else's
/// conversation is as unknown as a missing one.
async fn transcript(
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
    check_identity(&state, &token)?;
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
        .ok_or_else(not_found)?;
    state.desk.durable().await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(events)).into_response())
}

/// Whether `origin` (an `Origin` header) names this server, as `host` (the `Host` header)
/// does: only the widget, served from here, may open the chat socket. A page elsewhere
/// cannot ride a visitor's browser into the API.
pub fn is_own_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// The `Origin` and `Host` headers of an upgrade request.
fn origin_and_host(headers: &HeaderMap) -> (Option<&str>, Option<&str>) {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    (header(header::ORIGIN), header(header::HOST))
}

/// Upgrades to a WebSocket whose messages may be up to twice the frame limit: frames
/// between the two get a clean close 1009 from the connection; anything larger is cut off
/// by the socket library itself. Its buffers start small (most frames are far below a
/// kilobyte) and grow only for a large frame, so an idle socket costs little memory. The
/// socket holds one of the server's socket slots while it lives; with none free the
/// upgrade is refused with 503.
fn upgrade_bounded<F, Fut>(state: &AppState, upgrade: WebSocketUpgrade, serve: F) -> Response
where
    F: FnOnce(axum::extract::ws::WebSocket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(slot) = Arc::clone(&state.sockets).try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            "the server holds as many sockets as it may; try again shortly",
        )
        .into_response();
    };
    upgrade
        .max_message_size(2 * MAX_FRAME_BYTES)
        .max_frame_size(2 * MAX_FRAME_BYTES)
        .read_buffer_size(SOCKET_READ_CHUNK)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            serve(socket).await;
            drop(slot);
        })
}

fn foreign(message: &'static str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "foreign_origin", message).into_response()
}

/// The widget's chat socket: only from the widget's own origin, and at most
/// `limits.sockets_per_address` at once from one address (429 `too_many_connections`).
async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (origin, host) = origin_and_host(&headers);
    if !is_own_origin(origin, host) {
        return foreign("the chat socket accepts only the widget's own origin");
    }
    let client = match state.clients.open_socket(peer.ip(), Instant::now()) {
        Ok(client) => client,
        Err(refusal) => {
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                refusal.to_string(),
            )
            .into_response();
        }
    };
    upgrade_bounded(&state.clone(), upgrade, move |socket| {
        let (sink, stream) = socket.split();
        serve_connection(sink, stream, state, Some(client))
    })
}

/// The agent console's socket: only from a page of this server, named by one of its own
/// Host names; the admin secret comes in the first frame.
async fn console_websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (origin, host) = origin_and_host(&headers);
    if !state.admin.is_own_host(host) || !is_own_origin(origin, host) {
        return foreign("the console socket accepts only the console's own origin and host");
    }
    upgrade_bounded(&state.clone(), upgrade, move |socket| {
        let (sink, stream) = socket.split();
        serve_console(sink, stream, state)
    })
}

#[cfg(test)]
mod tests {
    use super::is_own_origin;

    #[test]
    fn only_the_servers_own_origin_may_open_the_socket() {
        assert!(is_own_origin(
            Some("http://127.0.0.1:3000"),
            Some("127.0.0.1:3000")
        ));
        assert!(is_own_origin(
            Some("https://Chat.Example"),
            Some("chat.example")
        ));
        assert!(!is_own_origin(
            Some("http://evil.example"),
            Some("chat.example")
        ));
        assert!(!is_own_origin(
            Some("http://chat.example.evil"),
            Some("chat.example")
        ));
        assert!(!is_own_origin(Some("null"), Some("chat.example")));
        assert!(!is_own_origin(None, Some("chat.example")));
        assert!(!is_own_origin(Some("http://chat.example"), None));
    }
}
