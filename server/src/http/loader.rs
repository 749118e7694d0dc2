//! The embed loader with the site's options written in, and the demo host page that
//! embeds it.

use crate::config::ServerConfig;
use crate::http::assets;
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};

/// The embed loader, served at `/porchlight.js`.
const LOADER_JS: &str = include_str!("../../../loader/porchlight.js");
/// The demo host page, served at `/`; `{{SITE}}` becomes the configured site id.
const DEMO_HTML: &str = include_str!("../../assets/demo.html");
/// The demo host page's stylesheet (a file, so the page needs no inline styles).
const DEMO_CSS: &str = include_str!("../../assets/demo.css");

/// The demo page allows only its own origin: it embeds the widget with nothing inline.
const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     frame-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

pub(super) async fn demo_page(State(state): State<AppState>) -> Response {
    let html = DEMO_HTML.replace("{{SITE}}", state.desk.config.site.site.as_str());
    ([(header::CONTENT_SECURITY_POLICY, DEMO_CSP)], Html(html)).into_response()
}

pub(super) async fn demo_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        DEMO_CSS,
    )
        .into_response()
}

pub(super) async fn loader(State(state): State<AppState>, headers: HeaderMap) -> Response {
    assets::loader_response(&state.loader, &headers)
}

/// The placeholder in the loader that the site's embedding options replace.
const LOADER_OPTIONS: &str = "var options = ['', 2147483000, 4, 4];";

/// The loader with the site's embedding options written in ([`assets::loader_options`]):
/// what the widget page needs before its code runs, passed on in its address, and where
/// the frame sits on the host page.
pub fn loader_script(config: &ServerConfig) -> String {
    crate::http::script::compact(LOADER_JS).replacen(
        LOADER_OPTIONS,
        &assets::loader_options(config),
        1,
    )
}
