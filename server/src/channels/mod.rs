//! The social channels beside the widget's socket: Messenger, Facebook
//! comments, WhatsApp, Instagram (DMs, story replies and mentions, comments) and Telegram.
//!
//! - [`inbound`]: what a customer did ([`Inbound`]), parsed from a channel's (simplified)
//!   webhook payload by the platform's parser below, or a typed error naming the problem;
//!   the checks the parsers share.
//! - `meta_messages`: Messenger and Instagram DMs (one payload shape), with Instagram's
//!   story replies and story mentions.
//! - `comments`: Facebook Page comments and Instagram comments.
//! - `whatsapp`: WhatsApp Cloud API messages.
//! - `telegram`: Telegram Bot API updates from private chats.
//! - `samples` (tests only): payloads shaped like the platforms' samples, which the
//!   parsers' unit tests share.
//! - [`outbound`]: every agent send as the platform's send call would carry it, for the
//!   channel's outbox.
//!
//! What an agent may send, and when, is the protocol's
//! [`channels`](porchlight_protocol::channels) rules; the desk applies them
//! (`desk/channel.rs`).

mod comments;
pub mod inbound;
mod meta_messages;
pub mod outbound;
#[cfg(test)]
mod samples;
mod telegram;
mod whatsapp;

pub use inbound::{Content, Customer, Inbound, InboundError};
