//! HTTP calls to the server the console is served from: the agents to sign in as.

use crate::state::gate::{AgentChoice, MockState};
use gloo_net::http::Request;
use porchlight_protocol::AdminToken;

/// Why the agents could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The server refused the token (401).
    Unauthorized,
    /// Anything else, said for the agent.
    Failed(String),
}

/// The configured agents, from `GET /mock/state` with the admin token.
pub async fn agents(token: &AdminToken) -> Result<Vec<AgentChoice>, ApiError> {
    let response = Request::get("/mock/state")
        .header("Authorization", &format!("Bearer {token}"))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| ApiError::Failed(format!("the server could not be reached ({e})")))?;
    match response.status() {
        401 | 403 => return Err(ApiError::Unauthorized),
        status if !response.ok() => {
            return Err(ApiError::Failed(format!("the server answered {status}")));
        }
        _ => {}
    }
    response
        .json::<MockState>()
        .await
        .map(|state| state.agents)
        .map_err(|e| ApiError::Failed(format!("the server's answer was not understood ({e})")))
}
