//! Who a visitor says they are: the identity a site passes to the widget
//! (`Porchlight('identify', …)`) and the widget carries in `hello`, with the proof the site's
//! server made (`user_hash` or `jwt`). Every string is bounded here, on both sides.

use crate::limits::{
    MAX_CUSTOM_ATTRIBUTES, MAX_CUSTOM_KEY_BYTES, MAX_FIELD_CHARS, MAX_NAME_CHARS, MAX_PROOF_BYTES,
    MAX_USER_ID_BYTES,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A visitor's identity as the host page states it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The site's own id of the user.
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Other attributes the site wants agents to see, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
    /// Hex HMAC-SHA256 of `user_id` under the site's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hash: Option<String>,
    /// A short-lived HS256 token signed with the site's secret (`sub` = `user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<String>,
}

/// A visitor's identity as agents see it: what the site said, without the proof, and
/// whether the server verified it (with the site's secret) or took it as claimed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIdentity {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
    pub verified: bool,
}

/// Why an identity is not acceptable as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityProblem {
    #[error("user_id must be 1 to {MAX_USER_ID_BYTES} bytes")]
    UserId,
    #[error("name is longer than {MAX_NAME_CHARS} characters")]
    Name,
    #[error("email is longer than {MAX_FIELD_CHARS} characters")]
    Email,
    #[error("at most {MAX_CUSTOM_ATTRIBUTES} custom attributes")]
    TooManyCustom,
    #[error(
        "custom attribute names are 1 to {MAX_CUSTOM_KEY_BYTES} bytes, values at most {MAX_FIELD_CHARS} characters"
    )]
    Custom,
    #[error("user_hash and jwt are at most {MAX_PROOF_BYTES} bytes")]
    Proof,
}

fn chars_within(text: &str, max: usize) -> bool {
    text.chars().count() <= max
}

impl Identity {
    /// An identity of `user_id` with nothing else.
    pub fn new(user_id: impl Into<String>) -> Self {
        Identity {
            user_id: user_id.into(),
            ..Identity::default()
        }
    }

    /// The identity without its proof, `verified` or not.
    pub fn known(&self, verified: bool) -> KnownIdentity {
        KnownIdentity {
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
            custom: self.custom.clone(),
            verified,
        }
    }

    /// Checks every string against the protocol's bounds.
    pub fn check(&self) -> Result<(), IdentityProblem> {
        if self.user_id.trim().is_empty() || self.user_id.len() > MAX_USER_ID_BYTES {
            return Err(IdentityProblem::UserId);
        }
        if self
            .name
            .as_deref()
            .is_some_and(|n| !chars_within(n, MAX_NAME_CHARS))
        {
            return Err(IdentityProblem::Name);
        }
        if self
            .email
            .as_deref()
            .is_some_and(|e| !chars_within(e, MAX_FIELD_CHARS))
        {
            return Err(IdentityProblem::Email);
        }
        if self.custom.len() > MAX_CUSTOM_ATTRIBUTES {
            return Err(IdentityProblem::TooManyCustom);
        }
        if self.custom.iter().any(|(k, v)| {
            k.is_empty() || k.len() > MAX_CUSTOM_KEY_BYTES || !chars_within(v, MAX_FIELD_CHARS)
        }) {
            return Err(IdentityProblem::Custom);
        }
        if [&self.user_hash, &self.jwt]
            .into_iter()
            .flatten()
            .any(|p| p.len() > MAX_PROOF_BYTES)
        {
            return Err(IdentityProblem::Proof);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        assert_eq!(Identity::new("u-1").check(), Ok(()));
        assert_eq!(Identity::new("").check(), Err(IdentityProblem::UserId));
        assert_eq!(
            Identity::new("x".repeat(MAX_USER_ID_BYTES + 1)).check(),
            Err(IdentityProblem::UserId)
        );
        let mut id = Identity::new("u");
        id.name = Some("n".repeat(MAX_NAME_CHARS + 1));
        assert_eq!(id.check(), Err(IdentityProblem::Name));
        let mut id = Identity::new("u");
        id.custom = (0..=MAX_CUSTOM_ATTRIBUTES)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        assert_eq!(id.check(), Err(IdentityProblem::TooManyCustom));
        let mut id = Identity::new("u");
        id.custom.insert(String::new(), "v".into());
        assert_eq!(id.check(), Err(IdentityProblem::Custom));
        let mut id = Identity::new("u");
        id.jwt = Some("j".repeat(MAX_PROOF_BYTES + 1));
        assert_eq!(id.check(), Err(IdentityProblem::Proof));
    }

    #[test]
    fn absent_members_are_omitted() {
        let json = serde_json::to_string(&Identity::new("u")).expect("serializes");
        assert_eq!(json, r#"{"user_id":"u"}"#);
    }
}
