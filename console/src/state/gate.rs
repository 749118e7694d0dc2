//! Before the desk: the admin token from the URL's fragment, who signs in, and the agents
//! to pick from (read from the control API's `GET /mock/state`).

use super::Who;
use porchlight_protocol::{AdminToken, AgentId};
use serde::Deserialize;

/// What the console shows before (or instead of) the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// No token in the URL or the tab's storage.
    NoToken,
    /// The server refused the token (or it is not even a well-formed token).
    WrongToken,
    /// Reading the agents.
    Loading(AdminToken),
    /// The agents could not be read, for this reason.
    Failed(AdminToken, String),
    /// Pick an agent, or sign in as an admin.
    Picking(AdminToken, Vec<AgentChoice>),
    /// Signed in: the desk.
    SignedIn(AdminToken, Who),
}

/// An agent on the sign-in screen.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AgentChoice {
    pub id: AgentId,
    pub name: String,
    #[serde(default)]
    pub online: bool,
}

/// The part of `GET /mock/state` the sign-in screen reads; everything else is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MockState {
    pub agents: Vec<AgentChoice>,
}

/// The token in a URL fragment such as `#token=abc` (`location.hash`, with or without the
/// `#`): `None` when there is none, `Some(Err(()))` when it is not a well-formed token.
pub fn token_from_hash(hash: &str) -> Option<Result<AdminToken, ()>> {
    let value = hash
        .trim_start_matches('#')
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))?;
    Some(AdminToken::new(value).map_err(|_| ()))
}

/// How the sign-in choice is kept in the tab's storage.
pub fn encode_who(who: &Who) -> String {
    match who {
        Who::Admin => "admin".into(),
        Who::Agent(id) => format!("agent:{id}"),
    }
}

/// The sign-in choice kept by [`encode_who`], if well-formed.
pub fn decode_who(raw: &str) -> Option<Who> {
    if raw == "admin" {
        return Some(Who::Admin);
    }
    let id = raw.strip_prefix("agent:")?;
    AgentId::new(id).ok().map(Who::Agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_fragment() {
        let token = token_from_hash("#token=s3cr3t-_x")
            .expect("a token")
            .expect("valid");
        assert_eq!(token.as_str(), "s3cr3t-_x");
        let later = token_from_hash("#a=b&token=abc")
            .expect("a token")
            .expect("valid");
        assert_eq!(later.as_str(), "abc");
        assert_eq!(token_from_hash(""), None);
        assert_eq!(token_from_hash("#"), None);
        assert_eq!(token_from_hash("#tokens=abc"), None);
    }

    #[test]
    fn a_malformed_token_is_wrong_not_missing() {
        assert_eq!(token_from_hash("#token="), Some(Err(())));
        assert_eq!(token_from_hash("#token=a%20b"), Some(Err(())));
        assert_eq!(token_from_hash("#token=<script>"), Some(Err(())));
    }

    #[test]
    fn the_sign_in_choice_round_trips() {
        let ann = Who::Agent(AgentId::new("ann").expect("id"));
        for who in [Who::Admin, ann] {
            assert_eq!(decode_who(&encode_who(&who)), Some(who));
        }
        assert_eq!(decode_who("agent:"), None);
        assert_eq!(decode_who("agent:a b"), None);
        assert_eq!(decode_who("root"), None);
    }

    #[test]
    fn the_mock_state_gives_the_agents_and_ignores_the_rest() {
        let json = r#"{"mode":"broadcast","agents":[{"id":"ann","name":"Ann","online":true,
            "max_chats":2,"engaged":[],"live":[]},{"id":"bob","name":"Bob"}],"queue":[]}"#;
        let state: MockState = serde_json::from_str(json).expect("parses");
        assert_eq!(
            state.agents,
            vec![
                AgentChoice {
                    id: AgentId::new("ann").expect("id"),
                    name: "Ann".into(),
                    online: true
                },
                AgentChoice {
                    id: AgentId::new("bob").expect("id"),
                    name: "Bob".into(),
                    online: false
                },
            ]
        );
    }
}
