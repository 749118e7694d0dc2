//! The WebSocket frames of protocol v1. Every frame is one JSON text message with a
//! `type` tag. What the widget asks is imperative ([`ClientFrame`]); what the server tells
//! is a fact ([`ServerFrame`]).
//!
//! The delivery contract: every event in a conversation carries a gap-free increasing
//! [`Seq`]; every visitor message carries a client-made [`MessageId`] that the server acks,
//! and a resent id is the same message. The first client frame is always `hello`.

use crate::form::{Answers, FieldError};
use crate::identity::Identity;
use crate::ids::{ChoiceId, ConversationId, MessageId, RequestId, Seq, SessionToken, SiteId};
use crate::limits::MAX_FRAME_BYTES;
use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks, sent in `hello` and `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;

/// A frame from the widget to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// The first frame on every connection: who we are and what we already hold.
    Hello {
        version: u32,
        site: SiteId,
        /// The session to resume; `None` starts a new one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<SessionToken>,
        /// The conversation the client holds events of, if any. When the session has moved
        /// on to another conversation, the server replays that one from the start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation: Option<ConversationId>,
        /// The last event seq the client holds; the server replays everything after it.
        #[serde(default)]
        last_seq: Seq,
    },
    /// Post a visitor message. Resending the same `id` never stores it twice.
    SendText { id: MessageId, text: String },
    /// Pick one of the bot's quick replies; stored as a visitor message under `id`.
    Choose { id: MessageId, choice: ChoiceId },
    /// Ask for a human, with the pre-chat form's answers. Resending the same `request`
    /// makes one request.
    RequestAgent {
        request: RequestId,
        answers: Answers,
    },
    /// The visitor started or stopped typing (the widget throttles these).
    Typing { typing: bool },
    /// The visitor ends the chat, or withdraws a request still waiting for an agent.
    EndChat {},
    /// Rate the ended chat from 1 to 5 stars, with an optional comment.
    Rate {
        stars: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// Leave a message after nobody could take the chat. Resending `request` stores one.
    LeaveMessage {
        request: RequestId,
        answers: Answers,
        text: String,
    },
    /// Start a new conversation; the ended one stays readable as history.
    StartNew {},
    /// Liveness probe; the server answers `pong`.
    Ping {},
}

/// A frame from the server to the widget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerFrame {
    /// The answer to `hello`, and to `start_new`: the session and conversation the client now
    /// belongs to. Replayed events follow, then a `status`. A conversation other than the
    /// one the client held starts again from seq 1.
    Welcome {
        version: u32,
        /// The token to keep; differs from the one sent when the server started afresh.
        token: SessionToken,
        conversation: ConversationId,
        /// The seq of the newest event the server holds for this conversation.
        last_seq: Seq,
        /// How the events the client lacks reach it.
        replay: Replay,
    },
    /// Something happened in the conversation.
    Event {
        seq: Seq,
        /// Server time, milliseconds since the Unix epoch.
        at_ms: u64,
        event: ConversationEvent,
    },
    /// The visitor message `id` is stored as event `seq`.
    Ack { id: MessageId, seq: Seq },
    /// Where the conversation stands. Sent after `welcome` and on every change; not
    /// numbered, since only the latest one matters.
    Status { status: ChatStatus },
    /// An agent started or stopped typing.
    Typing { name: String, typing: bool },
    /// The pre-chat answers of `request` were refused, field by field; nothing happened.
    FormRejected {
        request: RequestId,
        errors: Vec<FieldError>,
    },
    /// The last frame was refused; the connection stays open unless the code says otherwise.
    Error { code: ErrorCode, message: String },
    /// The answer to `ping`.
    Pong {},
}

/// How the events after the client's `last_seq` reach it, as `welcome` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replay {
    /// They follow `welcome` on this socket, in seq order.
    Socket,
    /// Too many to replay on the socket: the client reads those up to the welcome's
    /// `last_seq` over HTTP ([`transcript_path`]); newer events follow on the socket.
    Http,
    /// The server holds nothing of the session presented (its store was wiped, or the
    /// session expired): this is a new session, and what the client held is gone.
    Lost,
}

/// The HTTP path of a conversation's events after seq `after`, read with the session token
/// as `Authorization: Bearer TOKEN`; the answer is a JSON array of [`EventRecord`]s.
pub fn transcript_path(site: &SiteId, conversation: &ConversationId, after: Seq) -> String {
    format!(
        "/api/v1/sites/{site}/conversations/{conversation}/events?after={}",
        after.0
    )
}

/// Where a conversation stands, as the visitor should see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChatStatus {
    /// Talking to the bot; no human asked for yet.
    Bot {},
    /// Broadcasting (or every agent busy): waiting in line at `position` (1 is next).
    Queued {
        position: u32,
        /// How long the visitor has waited so far.
        waited_ms: u64,
    },
    /// Time-based routing: an agent has been picked and is being asked to accept.
    Connecting { waited_ms: u64 },
    /// An agent accepted: the live chat is on.
    Live { agent: String },
    /// Nobody took the chat in time, or nobody was online: the visitor may leave a message.
    Missed {},
    /// The visitor left a message; somebody will answer by email.
    MessageLeft {},
    /// The chat is over; `rated` once the visitor has rated it.
    Ended { rated: bool },
}

/// What happened in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConversationEvent {
    /// A message from the visitor, the bot or an agent. `id` is the client's id for
    /// visitor messages, so the sender can match it to what it sent.
    MessageReceived {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<MessageId>,
        author: Author,
        text: String,
        /// Quick replies the bot offers with this message.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<Choice>,
    },
    /// The visitor asked to talk to a human.
    AgentRequested {},
    /// An agent accepted the chat.
    AgentJoined { name: String },
    /// The chat was ended by the visitor or the agent.
    ChatEnded { by: AuthorKind },
    /// Nobody took the chat.
    Missed {},
    /// The visitor left a message for later.
    MessageLeft { text: String },
    /// The visitor rated the chat.
    Rated {
        stars: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
}

/// One stored event, as the history API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    pub seq: Seq,
    pub at_ms: u64,
    pub event: ConversationEvent,
}

/// A past conversation of the visitor's session, from
/// `GET /api/v1/sites/{site}/history` (header `Authorization: Bearer TOKEN`), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PastConversation {
    pub conversation: ConversationId,
    /// When its first event happened, milliseconds since the Unix epoch.
    pub started_ms: u64,
    pub events: Vec<EventRecord>,
}

/// A quick reply the bot offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: ChoiceId,
    pub label: String,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Author {
    pub kind: AuthorKind,
    /// Display name; always rendered as text.
    pub name: String,
}

/// The kind of author, which decides how a message is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    Visitor,
    Bot,
    Agent,
}

/// Why the server refused a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON or not a known frame.
    MalformedFrame,
    /// The frame is larger than [`MAX_FRAME_BYTES`].
    FrameTooLarge,
    /// The client speaks a protocol version the server does not.
    UnsupportedVersion,
    /// The first frame was not `hello`, or `hello` came twice.
    HelloExpected,
    /// The site in `hello` is not served here.
    UnknownSite,
    /// The message text is empty or too long.
    InvalidText,
    /// The frame makes no sense in the conversation's current state (rating a live chat,
    /// typing to the bot, …).
    NotNow,
    /// The quick reply is not one the bot offers.
    UnknownChoice,
    /// A rating must be 1 to 5 stars, with a comment of at most the message length.
    InvalidRating,
    /// More frames than [`FRAMES_PER_SECOND`](crate::limits::FRAMES_PER_SECOND) allows; the
    /// frame was dropped. Too many refused frames close the connection (code 1008).
    RateLimited,
    /// The server could not make the change durable (its storage failed); nothing was acked
    /// and the client sends it again later, with the same id.
    Unavailable,
    /// This client opened more sessions or connections than the server allows from one
    /// address; it may try again later.
    TooManySessions,
    /// The queue for an agent is full; the visitor may leave a message or try later.
    QueueFull,
    /// The conversation holds the most events one may; the visitor may start a new one.
    ConversationFull,
    /// The session holds the most conversations one may.
    TooManyConversations,
    /// The identity in `hello` was refused (malformed, forged, expired or for another
    /// user); the connection closes.
    IdentityRefused,
    /// This site takes chats from verified signed-in users only, and `hello` carried no
    /// verified identity (or an HTTP read came from a session without one); the connection
    /// closes.
    IdentityRequired,
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the frame is {bytes} bytes, more than the {MAX_FRAME_BYTES} allowed")]
    TooLarge { bytes: usize },
    #[error("the frame is not a valid message: {0}")]
    Malformed(String),
}

impl FrameError {
    /// The error code to send back for this decoding failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::TooLarge { .. } => ErrorCode::FrameTooLarge,
            FrameError::Malformed(_) => ErrorCode::MalformedFrame,
        }
    }
}

/// Parses a frame of any direction, checking its size first.
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { bytes: text.len() });
    }
    serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// A frame as JSON text.
pub(crate) fn encode<T: Serialize>(frame: &T) -> String {
    // Frames hold only strings, integers and enums with string keys, which serde_json
    // always serializes.
    serde_json::to_string(frame).expect("wire frames always serialize")
}

impl ClientFrame {
    /// Parses a frame received from a widget, checking its size first.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        decode(text)
    }

    /// Parses a frame received from a widget, where `hello` may carry the visitor's
    /// `identity` (an optional member after `last_seq`): the frame and that identity. Any
    /// other frame with an `identity` member is malformed.
    pub fn decode_with_identity(text: &str) -> Result<(Self, Option<Identity>), FrameError> {
        let mut value: serde_json::Value = decode(text)?;
        let identity = match value.as_object_mut() {
            Some(members) if members.get("type").and_then(|t| t.as_str()) == Some("hello") => {
                members.remove("identity")
            }
            _ => None,
        };
        let malformed = |e: serde_json::Error| FrameError::Malformed(e.to_string());
        let identity = match identity {
            None | Some(serde_json::Value::Null) => None,
            Some(identity) => Some(serde_json::from_value(identity).map_err(malformed)?),
        };
        let frame = serde_json::from_value(value).map_err(malformed)?;
        Ok((frame, identity))
    }

    /// The frame as JSON text, with `identity` as `hello`'s last member when both are
    /// given (ignored for other frames).
    pub fn encode_with_identity(&self, identity: Option<&Identity>) -> String {
        let mut text = encode(self);
        if let (ClientFrame::Hello { .. }, Some(identity)) = (self, identity) {
            text.pop();
            text.push_str(",\"identity\":");
            text.push_str(&encode(identity));
            text.push('}');
        }
        text
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        encode(self)
    }
}

impl ServerFrame {
    /// Parses a frame received from the server, checking its size first.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        decode(text)
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        encode(self)
    }

    /// An error frame with the code's standard wording.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_frames_are_refused_before_parsing() {
        let text = format!(
            "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert!(matches!(
            ClientFrame::decode(&text),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn unknown_types_and_fields_are_malformed() {
        for text in [
            "",
            "null",
            "{\"type\":\"launch_missiles\"}",
            "{\"type\":\"ping\",\"extra\":1}",
            "{\"type\":\"send_text\",\"id\":\"a b\",\"text\":\"hi\"}",
        ] {
            let err = ClientFrame::decode(text).expect_err(text);
            assert_eq!(err.code(), ErrorCode::MalformedFrame, "{text}");
        }
    }
}
