//! The HTTP layer: everything a browser, a console or a test reaches over the network,
//! in one [`app`] router so tests serve it on port 0. It calls the desk and reads nothing
//! else of the server's state.
//!
//! - [`loader`]: the embed loader with the site's options, and the demo host page.
//! - [`visitor`]: the visitor API — site configuration, history, transcripts.
//! - [`upgrade`]: the two sockets' upgrades (origin, `Host`, slots);
//!   [`socket`] is one widget's chat socket, [`console_socket`] one agent console's.
//! - [`control`]: the JSON control API under `/mock/`; [`guard`] its admin secret, `Host`
//!   check and JSON-only bodies; [`errors`] the error shape every JSON answer shares.
//! - [`assets`]: the built widget and console files, compressed copies and caching.
//! - [`framing`], [`limiter`], [`clients`], [`reads`]: what bounds every socket, client
//!   address and session's reads;
//!   [`listen`] the accept loop (header-read timer, connection cap).
//! - [`state`]: what the handlers share; [`script`] the rule for shipping hand-written
//!   scripts (shared with xtask).

pub mod assets;
pub mod clients;
pub mod console_socket;
pub mod control;
pub mod errors;
pub mod framing;
pub mod guard;
pub mod limiter;
pub mod listen;
pub mod loader;
pub mod reads;
pub mod script;
pub mod socket;
pub mod state;
pub mod upgrade;
pub mod visitor;

pub use loader::loader_script;
pub use upgrade::is_own_origin;

use crate::http::state::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use porchlight_protocol::console::CONSOLE_SOCKET_PATH;
use tower_http::set_header::SetResponseHeaderLayer;

/// The agent console's page policy.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

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
        .route("/", get(loader::demo_page))
        .route("/demo.css", get(loader::demo_css))
        .route("/porchlight.js", get(loader::loader))
        .route("/api/v1/sites/{site}/config", get(visitor::site_config))
        .route("/api/v1/sites/{site}/history", get(visitor::history))
        .route(
            "/api/v1/sites/{site}/conversations/{conversation}/events",
            get(visitor::transcript),
        )
        .route("/api/v1/ws", get(upgrade::websocket))
        .route(CONSOLE_SOCKET_PATH, get(upgrade::console_websocket))
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
