//! The runtime: the only part of the widget that does I/O. [`Runtime::dispatch`] feeds an
//! [`Input`] to the conversation machine and carries out the [`Effect`]s it returns —
//! socket, timers, storage and the host page — using the submodules:
//!
//! - [`link`]: the WebSocket.
//! - [`storage`]: the session token and the panel's open state.
//! - [`host`]: postMessage to and from the host page's loader.
//! - [`random`]: client-made message ids and jitter.
//! - [`api`]: the site configuration over HTTP.

pub mod api;
pub mod host;
pub mod link;
pub mod random;
pub mod storage;

use crate::backoff;
use crate::machine::{Effect, Input, Widget};
use leptos::prelude::*;
use link::Link;
use porchlight_protocol::{MessageId, SiteId};
use std::time::Duration;

/// A `Copy` handle the components use to read the widget and send it inputs.
#[derive(Clone, Copy)]
pub struct Runtime {
    /// The machine's state; views read it, only [`Runtime::dispatch`] writes it.
    pub widget: RwSignal<Widget>,
    /// The live socket, if any. Not `Send`, hence local storage.
    link: StoredValue<Option<Link>, LocalStorage>,
}

impl Runtime {
    /// A runtime for `site`, resuming the stored session if there is one.
    pub fn new(site: SiteId) -> Self {
        let token = storage::load_token(&site);
        Runtime {
            widget: RwSignal::new(Widget::new(site, token)),
            link: StoredValue::new_local(None),
        }
    }

    /// Applies `input` and carries out the effects.
    pub fn dispatch(self, input: Input) {
        let effects = self
            .widget
            .try_update(|w| w.update(input))
            .unwrap_or_default();
        for effect in effects {
            self.run(effect);
        }
    }

    /// Sends a visitor message under a fresh id.
    pub fn send_text(self, text: String) {
        self.dispatch(Input::Send {
            id: MessageId::new(random::hex_id()).expect("hex is a valid id"),
            text,
        });
    }

    fn run(self, effect: Effect) {
        match effect {
            Effect::Connect => {
                if let Some(old) = self.link.try_update_value(|l| l.take()).flatten() {
                    old.detach();
                    // One of the old link's callbacks may be running this very effect.
                    set_timeout(move || drop(old), Duration::ZERO);
                }
                match Link::open(self) {
                    Ok(link) => self.link.set_value(Some(link)),
                    Err(err) => {
                        leptos::logging::warn!("cannot open the chat link: {err}");
                        self.dispatch(Input::LinkClosed);
                    }
                }
            }
            Effect::Transmit(frame) => {
                let sent = self
                    .link
                    .with_value(|l| l.as_ref().map(|l| l.send(&frame.encode())));
                if sent != Some(true) {
                    // The socket is gone; its close event schedules the reconnect, and the
                    // outbox is resent after the next welcome.
                    leptos::logging::warn!("chat link not open; frame kept for resend");
                }
            }
            Effect::SaveToken(token) => {
                let site = self.widget.with_untracked(|w| w.site.clone());
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
                let site = self.widget.with_untracked(|w| w.site.clone());
                storage::save_open(&site, open);
                host::panel_changed(open);
            }
        }
    }
}
