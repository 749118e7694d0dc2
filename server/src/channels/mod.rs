//! The social channels beside the widget's socket: Messenger, Facebook
//! comments, WhatsApp, Instagram (DMs, story replies and mentions, comments) and Telegram.
//!
//! - [`inbound`]: each platform's (simplified) webhook payload, parsed into what a
//!   customer did ([`Inbound`]); anything else is a typed error naming the problem.
//! - [`outbound`]: every agent send as the platform's send call would carry it, for the
//!   channel's outbox.
//!
//! What an agent may send, and when, is the protocol's
//! [`channels`](porchlight_protocol::channels) rules; the desk applies them
//! (`desk/channel.rs`).

pub mod inbound;
pub mod outbound;

pub use inbound::{Content, Customer, Inbound, InboundError};
