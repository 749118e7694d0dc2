//! The two sockets' upgrades: the widget's chat socket and the agent console's, each only
//! from the server's own origin, within the server's socket slots and the per-address
//! bound, with frames bounded before they are read.

use crate::http::console_socket::serve_console;
use crate::http::errors::ApiError;
use crate::http::socket::serve_connection;
use crate::http::state::AppState;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use porchlight_protocol::limits::MAX_FRAME_BYTES;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;

/// How much a socket reads at once (the buffer grows for a larger frame).
const SOCKET_READ_CHUNK: usize = 4 * 1024;

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
pub(super) async fn websocket(
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
pub(super) async fn console_websocket(
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
