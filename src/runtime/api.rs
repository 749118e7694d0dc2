//! HTTP calls to the chat server, which is the origin the widget is served from.

use gloo_net::http::{Request, Response};
use porchlight_protocol::{PastConversation, SessionToken, SiteConfig, SiteId};
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

/// Fetches the session's past conversations, newest first.
pub async fn history(site: &SiteId, token: &SessionToken) -> Result<Vec<PastConversation>, String> {
    let url = format!("/api/v1/sites/{site}/history");
    let response = Request::get(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    json(&url, response).await
}
