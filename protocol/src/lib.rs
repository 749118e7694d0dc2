//! Porchlight's protocol: everything the widget and the server must agree on, defined once.
//!
//! - [`ids`]: typed identifiers (site, session token, conversation, message, sequence number).
//! - [`limits`]: sizes and counts both sides enforce.
//! - [`wire`]: the WebSocket frames — requests go up ([`ClientFrame`]), facts come down
//!   ([`ServerFrame`]) — and their decoding with typed errors.
//! - [`channels`]: the social channels and their platforms' rules for what an agent may
//!   send, and when.
//! - [`console`]: the agent console's WebSocket frames — requests up ([`ConsoleFrame`]),
//!   the desk's facts down ([`DeskFrame`]) — and the folder rows they carry.
//! - [`text`]: validation of visitor-written text.
//! - [`form`]: the pre-chat form's fields and their validation.
//! - [`identity`]: who a visitor says they are, with the site's proof.
//! - [`config`]: the public site configuration the widget fetches at start.
//! - [`theme`]: colour scheme, stacking, launcher offsets and the contrast-checked text
//!   colour on the brand colour.
//! - [`lean`]: a small hand-written JSON codec for what the widget exchanges (server frames
//!   and HTTP bodies in, client frames out), giving the same answers as serde's without
//!   serde's bytes in the widget's bundle.
//!
//! The crate does no I/O and builds for wasm32 and native alike.

pub mod channels;
pub mod config;
pub mod console;
pub mod form;
pub mod identity;
pub mod ids;
pub mod lean;
pub mod limits;
pub mod text;
pub mod theme;
pub mod wire;

pub use config::{Color, ColorError, Position, SiteConfig, SiteConfigError, TextDirection, Texts};
pub use console::{ConsoleFrame, DeskFrame};
pub use form::{Answers, FieldError, FieldKind, FieldProblem, FormField};
pub use identity::{Identity, IdentityProblem, KnownIdentity};
pub use ids::{
    AdminToken, AgentId, ChannelId, ChoiceId, ConversationId, FieldName, IdError, MessageId,
    RequestId, Seq, SessionToken, SiteId,
};
pub use text::TextError;
pub use theme::ColorScheme;
pub use wire::{
    Author, AuthorKind, ChatStatus, Choice, ClientFrame, ConversationEvent, ErrorCode, EventRecord,
    FrameError, PROTOCOL_VERSION, PastConversation, Replay, ServerFrame, transcript_path,
};
