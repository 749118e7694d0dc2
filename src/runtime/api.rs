//! HTTP calls to the chat server, which is the origin the widget is served from. Bodies are
//! read as text and decoded by the protocol's lean codec ([`porchlight_protocol::lean`]).

use gloo_net::http::{Request, Response};
use porchlight_protocol::{
    ConversationId, EventRecord, FrameError, PastConversation, Seq, SessionToken, SiteConfig,
    SiteId, lean, transcript_path,
};

/// Reads a JSON body with `decode`, or says why there is none.
async fn json<T>(
    url: &str,
    response: Response,
    decode: fn(&str) -> Result<T, FrameError>,
) -> Result<T, String> {
    if !response.ok() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let text = response.text().await.map_err(|e| e.to_string())?;
    decode(&text).map_err(|e| e.to_string())
}

/// Fetches the site's configuration.
pub async fn site_config(site: &SiteId) -> Result<SiteConfig, String> {
    let url = format!("/api/v1/sites/{site}/config");
    let response = Request::get(&url).send().await.map_err(|e| e.to_string())?;
    json(&url, response, lean::decode_site_config).await
}

/// A GET with the session token as the credential.
async fn get_as<T>(
    url: &str,
    token: &SessionToken,
    decode: fn(&str) -> Result<T, FrameError>,
) -> Result<T, String> {
    let response = Request::get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    json(url, response, decode).await
}

/// Fetches the session's past conversations, newest first.
pub async fn history(site: &SiteId, token: &SessionToken) -> Result<Vec<PastConversation>, String> {
    get_as(
        &format!("/api/v1/sites/{site}/history"),
        token,
        lean::decode_history,
    )
    .await
}

/// Reads `conversation`'s events after `after`: what the server could not replay.
pub async fn transcript(
    site: &SiteId,
    token: &SessionToken,
    conversation: &ConversationId,
    after: Seq,
) -> Result<Vec<EventRecord>, String> {
    get_as(
        &transcript_path(site, conversation, after),
        token,
        lean::decode_events,
    )
    .await
}
