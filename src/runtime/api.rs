//! HTTP calls to the chat server, which is the origin the widget is served from: the
//! browser's own `fetch`, bodies read as text and decoded by the protocol's lean codec
//! ([`porchlight_protocol::lean`]).

use super::Error;
use porchlight_protocol::{
    ConversationId, EventRecord, FrameError, PastConversation, Seq, SessionToken, SiteConfig,
    SiteId, lean, transcript_path,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// GETs `url` (with the session token as the credential, if given) and returns its body.
/// Not generic, so the one fetch serves every read; each caller decodes its own body.
async fn get(url: &str, token: Option<&SessionToken>) -> Result<String, Error> {
    let unreachable = |_: JsValue| Error::Unreachable { url: url.into() };
    let init = RequestInit::new();
    if let Some(token) = token {
        let headers = Headers::new().map_err(unreachable)?;
        headers
            .append("Authorization", &format!("Bearer {token}"))
            .map_err(unreachable)?;
        init.set_headers(&headers);
    }
    let window = web_sys::window().ok_or_else(|| unreachable(JsValue::NULL))?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .and_then(JsCast::dyn_into)
        .map_err(unreachable)?;
    if !response.ok() {
        return Err(match response.status() {
            403 => Error::IdentityRequired,
            code => Error::Status {
                url: url.into(),
                code,
            },
        });
    }
    Ok(JsFuture::from(response.text().map_err(unreachable)?)
        .await
        .map_err(unreachable)?
        .as_string()
        .unwrap_or_default())
}

/// Decodes a body read from `url`, naming the address in the error.
fn decoded<T>(
    url: &str,
    body: &str,
    decode: fn(&str) -> Result<T, FrameError>,
) -> Result<T, Error> {
    decode(body).map_err(|error| Error::Decode {
        url: url.into(),
        error,
    })
}

/// Fetches the site's configuration, in `language` (a language tag, or empty for the
/// browser's own) when the site leaves the choice to the visitor.
pub async fn site_config(site: &SiteId, language: &str) -> Result<SiteConfig, Error> {
    let url = format!("/api/v1/sites/{site}/config?lang={language}");
    decoded(&url, &get(&url, None).await?, lean::decode_site_config)
}

/// Fetches the session's past conversations, newest first.
pub async fn history(site: &SiteId, token: &SessionToken) -> Result<Vec<PastConversation>, Error> {
    let url = format!("/api/v1/sites/{site}/history");
    decoded(&url, &get(&url, Some(token)).await?, lean::decode_history)
}

/// Reads `conversation`'s events after `after`: what the server could not replay.
pub async fn transcript(
    site: &SiteId,
    token: &SessionToken,
    conversation: &ConversationId,
    after: Seq,
) -> Result<Vec<EventRecord>, Error> {
    let url = transcript_path(site, conversation, after);
    decoded(&url, &get(&url, Some(token)).await?, lean::decode_events)
}
