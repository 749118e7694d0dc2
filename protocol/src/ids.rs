//! Typed identifiers. Each wraps a string or number so the compiler keeps them apart, and
//! each string identifier is checked when parsed: 1 to [`MAX_ID_BYTES`] bytes of ASCII
//! letters, digits, `-` and `_`, so an id is always safe to log, store and put in a URL.

use crate::limits::MAX_ID_BYTES;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an identifier cannot be empty")]
    Empty,
    #[error("an identifier can be at most {MAX_ID_BYTES} bytes long")]
    TooLong,
    #[error("an identifier may contain only letters, digits, '-' and '_'")]
    BadCharacter,
}

fn check_id(value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }
    if value.len() > MAX_ID_BYTES {
        return Err(IdError::TooLong);
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(IdError::BadCharacter);
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_id(&value)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    };
}

string_id!(
    /// The site a widget belongs to, as written in the embed snippet's `data-site`.
    SiteId
);
string_id!(
    /// The visitor's secret session token, issued by the server in `welcome` and kept in
    /// the widget's storage so a reload resumes the same conversation.
    SessionToken
);
string_id!(
    /// One conversation on the server.
    ConversationId
);
string_id!(
    /// One of the bot's quick replies, as the bot script names it.
    ChoiceId
);
string_id!(
    /// A client-made id for a request to talk to a human or to leave a message. Resending
    /// the same id never makes a second request (a double click is one request).
    RequestId
);
string_id!(
    /// The name of a pre-chat form field, as the site configuration gives it.
    FieldName
);
string_id!(
    /// A human agent, as named in the server's config and control API.
    AgentId
);
string_id!(
    /// Where a conversation came from: a channel of the site's team, as configured
    /// (`web` is the widget; social channels are named by their configuration).
    ChannelId
);
string_id!(
    /// The server's admin secret: it opens the control API and the agent console.
    /// Random at each start unless given with `--admin-token`.
    AdminToken
);
string_id!(
    /// A visitor message's id, made by the client before sending. The server acks it and
    /// treats a resent id as the same message, so resending is always safe.
    MessageId
);

/// The position of a server event in its conversation: gap-free and increasing from 1.
/// `Seq(0)` means "nothing yet".
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    /// The sequence number after this one.
    pub fn next(self) -> Seq {
        Seq(self.0 + 1)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_letters_digits_dash_and_underscore() {
        assert!(MessageId::new("a-Z_09").is_ok());
    }

    #[test]
    fn ids_reject_empty_long_and_odd_characters() {
        assert_eq!(MessageId::new(""), Err(IdError::Empty));
        assert_eq!(MessageId::new("x".repeat(65)), Err(IdError::TooLong));
        assert_eq!(MessageId::new("a b"), Err(IdError::BadCharacter));
        assert_eq!(SiteId::new("<script>"), Err(IdError::BadCharacter));
    }

    #[test]
    fn ids_are_checked_when_deserialized() {
        let bad: Result<SessionToken, _> = serde_json::from_str("\"../etc\"");
        assert!(bad.is_err());
        let good: SessionToken = serde_json::from_str("\"abc\"").expect("valid token");
        assert_eq!(good.as_str(), "abc");
    }
}
