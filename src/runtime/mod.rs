//! The runtime: the only part of the widget that does I/O. [`Runtime::dispatch`] feeds an
//! [`Input`] to the conversation machine and carries out the [`Effect`]s it returns —
//! socket, timers, storage and the host page — using the submodules:
//!
//! - [`link`]: the WebSocket (the shared [`porchlight_web::link::Link`]).
//! - [`storage`]: the session token, the panel's open state and the outbox.
//! - [`host`]: postMessage to and from the host page's loader.
//! - [`api`]: the site configuration and the conversation history over HTTP.
//! - [`boot`]: the start — the configuration load, then the panel as the page left it.
//! - [`sound`]: the chime for a new message while the panel is closed.
//!
//! Ids, jitter, the backoff policy and the clock come from [`porchlight_web`].
//!
//! It also keeps the clock: [`Runtime::now`] ticks every second while the visitor waits
//! for an agent, so the wait clock moves while the machine stays free of time.

pub mod api;
pub mod boot;
mod error;
pub mod host;
pub mod link;
pub mod sound;
pub mod storage;

use crate::machine::{Effect, HEARTBEAT_TICK_MS, Input, Phase, SavedOutbox, Widget};
use leptos::prelude::*;
use leptos::task::spawn_local;
use porchlight_protocol::{MessageId, RequestId, SiteId, lean};
use porchlight_web::link::Link;
use porchlight_web::{backoff, random};
use std::time::Duration;

pub use error::Error;
pub use porchlight_web::time::now_ms;

/// A `Copy` handle the components use to read the widget and send it inputs.
#[derive(Clone, Copy)]
pub struct Runtime {
    /// The machine's state; views read it, only [`Runtime::dispatch`] writes it.
    pub widget: RwSignal<Widget>,
    /// The local time in milliseconds, updated every second while a wait clock shows.
    pub now: RwSignal<u64>,
    /// The live socket, if any. Not `Send`, hence local storage.
    link: StoredValue<Option<Link>, LocalStorage>,
    /// The outbox as last written to browser storage.
    saved_outbox: StoredValue<Option<SavedOutbox>>,
}

impl Runtime {
    /// A runtime for `site`, resuming the stored session if there is one.
    pub fn new(site: SiteId) -> Self {
        let token = storage::load_token(&site);
        let saved = storage::load_outbox(&site);
        let runtime = Runtime {
            widget: RwSignal::new(Widget::new(site.clone(), token)),
            now: RwSignal::new(now_ms()),
            link: StoredValue::new_local(None),
            saved_outbox: StoredValue::new(saved.clone()),
        };
        if let Some(saved) = saved {
            runtime.dispatch(Input::Restored(saved));
        }
        if let Some(identity) = storage::load_identity(&site) {
            runtime.dispatch(Input::Identify(identity));
        }
        if let Some((conversation, seq)) = storage::load_seen(&site) {
            runtime.dispatch(Input::Seen { conversation, seq });
        }
        set_interval(
            move || {
                let waiting = runtime
                    .widget
                    .try_with_untracked(|w| w.open && w.phase() == Phase::Waiting);
                if waiting == Some(true) {
                    runtime.now.set(now_ms());
                }
            },
            Duration::from_secs(1),
        );
        set_interval(
            move || runtime.dispatch(Input::Heartbeat { now_ms: now_ms() }),
            Duration::from_millis(HEARTBEAT_TICK_MS),
        );
        // Back online, or back to a visible tab: a dropped link need not wait for its backoff.
        let retry = move |_| runtime.dispatch(Input::RetryNow);
        std::mem::forget(window_event_listener(leptos::ev::online, retry));
        std::mem::forget(window_event_listener(leptos::ev::visibilitychange, retry));
        runtime
    }

    /// The widget's site.
    pub fn site(self) -> SiteId {
        self.widget.with_untracked(|w| w.site.clone())
    }

    /// Applies `input` and carries out the effects.
    pub fn dispatch(self, input: Input) {
        let effects = self
            .widget
            .try_update(|w| w.update(input))
            .unwrap_or_default();
        self.keep_outbox();
        for effect in effects {
            self.run(effect);
        }
    }

    /// Writes the outbox to browser storage when it changed, before anything is sent: a
    /// reload at any moment finds every message not yet stored by the server.
    fn keep_outbox(self) {
        let Some(outbox) = self.widget.try_with_untracked(Widget::saved_outbox) else {
            return;
        };
        if self.saved_outbox.with_value(|saved| *saved != outbox) {
            let site = self.site();
            storage::save_outbox(&site, outbox.as_ref());
            self.saved_outbox.set_value(outbox);
        }
    }

    /// Sends a visitor message under a fresh id.
    pub fn send_text(self, text: String) {
        self.dispatch(Input::Send {
            id: Self::message_id(),
            text,
        });
    }

    /// Tells the machine the composer's draft changed. A draft changes the machine only when
    /// it sends something, so the view is told only then: typing stays cheap.
    pub fn draft(self, empty: bool) {
        let input = Input::Draft {
            empty,
            now_ms: now_ms(),
        };
        let effects = self
            .widget
            .try_update_untracked(|w| w.update(input))
            .unwrap_or_default();
        if !effects.is_empty() {
            self.widget.notify();
        }
        for effect in effects {
            self.run(effect);
        }
    }

    /// A fresh client-made message id.
    pub fn message_id() -> MessageId {
        MessageId::new(random::hex_id()).expect("hex is a valid id")
    }

    /// A fresh client-made request id.
    pub fn request_id() -> RequestId {
        RequestId::new(random::hex_id()).expect("hex is a valid id")
    }

    fn run(self, effect: Effect) {
        match effect {
            Effect::Connect => {
                if let Some(old) = self.link.try_update_value(|l| l.take()).flatten() {
                    old.detach();
                    // One of the old link's callbacks may be running this very effect.
                    set_timeout(move || drop(old), Duration::ZERO);
                }
                match link::open(self) {
                    Ok(link) => self.link.set_value(Some(link)),
                    Err(err) => {
                        leptos::logging::warn!("{err}");
                        self.dispatch(Input::LinkClosed);
                    }
                }
            }
            Effect::Transmit(frame) => {
                // `hello` carries the visitor's identity, if the host page gave one.
                let text = self.widget.with_untracked(|w| {
                    lean::encode_client_frame_with_identity_text(
                        &frame,
                        w.identity.as_ref().map(|i| i.json.as_str()),
                    )
                });
                let sent = self.link.with_value(|l| l.as_ref().map(|l| l.send(&text)));
                if sent != Some(true) {
                    // The socket is gone; its close event schedules the reconnect, and the
                    // outbox is resent after the next welcome.
                    leptos::logging::warn!("chat link not open; frame kept for resend");
                }
            }
            Effect::SaveToken(token) => {
                let site = self.site();
                storage::save_token(&site, &token);
            }
            Effect::ScheduleReconnect { attempt } => {
                let delay = backoff::delay_ms(attempt, random::unit());
                set_timeout(
                    move || self.dispatch(Input::ReconnectDue),
                    Duration::from_millis(u64::from(delay)),
                );
            }
            Effect::PanelChanged { open } => {
                let site = self.site();
                storage::save_open(&site, open);
                host::panel_changed(open);
            }
            Effect::Host(event) => host::event(event),
            Effect::Chime => sound::chime(),
            Effect::SaveSeen(conversation, seq) => {
                let site = self.site();
                storage::save_seen(&site, &conversation, seq);
            }
            Effect::FetchHistory { token } => {
                let site = self.site();
                spawn_local(async move {
                    let result = api::history(&site, &token).await;
                    if let Err(err) = &result {
                        leptos::logging::warn!("cannot load the conversation history: {err}");
                    }
                    self.dispatch(Input::HistoryLoaded(result));
                });
            }
            Effect::FetchTranscript {
                token,
                conversation,
                after,
            } => {
                let site = self.site();
                spawn_local(async move {
                    let result = api::transcript(&site, &token, &conversation, after).await;
                    if let Err(err) = &result {
                        leptos::logging::warn!("cannot read the missed messages: {err}");
                    }
                    self.dispatch(Input::TranscriptLoaded {
                        conversation,
                        result,
                    });
                });
            }
        }
    }
}
