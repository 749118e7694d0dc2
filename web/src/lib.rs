//! Browser-side pieces shared by the widget and the agent console. Nothing here knows a
//! frame type or a Leptos signal: each app keeps a thin wrapper that decodes its own frames
//! and dispatches its own inputs.
//!
//! - [`backoff`]: the reconnect delay policy (pure, tested natively).
//! - [`time`]: the local clock, and how a duration reads (`m:ss`, pure).
//! - [`random`]: client-made ids and jitter from the browser's crypto.
//! - [`link`]: a WebSocket on the page's own origin with plain callbacks.
//! - [`composer`]: when a key in a message box sends the draft.
//!
//! The widget's bundle is budgeted, so the functions here that are not generic are
//! `#[inline]`: they are compiled with the app that calls them, as if they were its own,
//! instead of bringing this crate's own copies of the standard library's helpers (string
//! formatting, vector growth) into the bundle beside the app's.

pub mod backoff;
pub mod composer;
pub mod link;
pub mod random;
pub mod time;
