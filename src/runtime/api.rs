//! HTTP calls to the chat server, which is the origin the widget is served from.

use gloo_net::http::{Request, Response};
use porchlight_protocol::{
    ConversationId, EventRecord, PastConversation, Seq, SessionToken, SiteConfig, SiteId,
    transcript_path,
};
use serde::de::DeserializeOwned;

/// Reads a JSON body, or says why there is none.
async fn json<T: DeserializeOwned>(url: &str, response: Response) -> Result<T, String> {
    if !response.ok() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response.json::<T>().await.map_err(|e| e.to_string())
}

/// Fetches the site's configuration.
pub async fn site_config(site: &SiteId) -> Result<SiteConfig, String> {
    let url = format!("/api/v1/sites/{site}/config");
    let response = Request::get(&url).send().await.map_err(|e| e.to_string())?;
    json(&url, response).await
}

/// A GET with the session token as the credential.
async fn get_as<T: DeserializeOwned>(url: &str, token: &SessionToken) -> Result<T, String> {
    let response = Request::get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    json(url, response).await
}

/// Fetches the session's past conversations, newest first.
pub async fn history(site: &SiteId, token: &SessionToken) -> Result<Vec<PastConversation>, String> {
    get_as(&format!("/api/v1/sites/{site}/history"), token).await
}

/// Reads `conversation`'s events after `after`: what the server could not replay.
pub async fn transcript(
    site: &SiteId,
    token: &SessionToken,
    conversation: &ConversationId,
    after: Seq,
) -> Result<Vec<EventRecord>, String> {
    get_as(&transcript_path(site, conversation, after), token).await
}
