//! HTTP calls to the chat server, which is the origin the widget is served from.

use gloo_net::http::Request;
use porchlight_protocol::{SiteConfig, SiteId};

/// Fetches the site's configuration.
pub async fn site_config(site: &SiteId) -> Result<SiteConfig, String> {
    let url = format!("/api/v1/sites/{site}/config");
    let response = Request::get(&url).send().await.map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response
        .json::<SiteConfig>()
        .await
        .map_err(|e| e.to_string())
}
