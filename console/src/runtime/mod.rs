//! The runtime: the only part of the console that does I/O. [`Runtime::dispatch`] feeds an
//! [`Input`] to the [`Console`] state and carries out the [`Effect`]s it returns, using:
//!
//! - [`link`]: the WebSocket to the desk (the shared [`porchlight_web::link::Link`]).
//! - [`storage`]: the admin token and who signed in, in the tab's session storage.
//! - [`api`]: the agents to sign in as, over HTTP.
//!
//! Ids, jitter, the backoff policy and the clock come from [`porchlight_web`].
//!
//! It also keeps the clock: every second [`Runtime::now`] moves (the countdowns read it)
//! and the state is told the time (pings, a silent link, typing that stopped).

pub mod api;
pub mod link;
pub mod storage;

use crate::state::{Console, Effect, Input, SEARCH_DEBOUNCE_MS, TICK_MS, Who};
use leptos::prelude::*;
use porchlight_protocol::{AdminToken, MessageId};
use porchlight_web::link::Link;
use porchlight_web::{backoff, random};
use std::time::Duration;

pub use porchlight_web::time::now_ms;

/// A fresh client-made message id.
fn fresh_id() -> MessageId {
    MessageId::new(random::hex_id()).expect("hex is a valid id")
}

/// A `Copy` handle the components use to read the console and send it inputs.
#[derive(Clone, Copy)]
pub struct Runtime {
    /// The console's state; views read it, only [`Runtime::dispatch`] writes it.
    pub console: RwSignal<Console>,
    /// The local time in milliseconds, moved every second for the countdowns.
    pub now: RwSignal<u64>,
    /// The live socket, if any. Not `Send`, hence local storage.
    link: StoredValue<Option<Link>, LocalStorage>,
}

impl Runtime {
    /// A runtime signed in as `who`, connecting at once. Everything it started stops when
    /// the component that made it goes away (sign-out).
    pub fn new(token: AdminToken, who: Who) -> Self {
        let runtime = Runtime {
            console: RwSignal::new(Console::new(token, who)),
            now: RwSignal::new(now_ms()),
            link: StoredValue::new_local(None),
        };
        let clock = set_interval_with_handle(
            move || {
                let now = now_ms();
                runtime.now.try_set(now);
                runtime.quietly(Input::Tick { now_ms: now });
            },
            Duration::from_millis(TICK_MS),
        )
        .ok();
        // Back online, or back to a visible tab: a dropped link need not wait for its backoff.
        let online = window_event_listener(leptos::ev::online, move |_| {
            runtime.dispatch(Input::RetryNow)
        });
        let visible = window_event_listener(leptos::ev::visibilitychange, move |_| {
            runtime.dispatch(Input::RetryNow)
        });
        on_cleanup(move || {
            if let Some(clock) = clock {
                clock.clear();
            }
            online.remove();
            visible.remove();
            runtime.disconnect();
        });
        runtime.dispatch(Input::Start);
        runtime
    }

    /// Applies `input` and carries out the effects.
    pub fn dispatch(self, input: Input) {
        let effects = self
            .console
            .try_update(|c| c.update(input))
            .unwrap_or_default();
        self.run_all(effects);
    }

    /// Like [`Runtime::dispatch`], but tells the view only when something is to be done:
    /// for inputs (clock ticks, draft edits) that change nothing shown unless they act.
    pub fn quietly(self, input: Input) {
        let effects = self
            .console
            .try_update_untracked(|c| c.update(input))
            .unwrap_or_default();
        if !effects.is_empty() {
            self.console.notify();
        }
        self.run_all(effects);
    }

    /// Like [`Runtime::dispatch`]; whether the state had anything done (a frame sent).
    pub fn act(self, input: Input) -> bool {
        let effects = self
            .console
            .try_update(|c| c.update(input))
            .unwrap_or_default();
        let acted = !effects.is_empty();
        self.run_all(effects);
        acted
    }

    /// Sends `text` in the open chat under a fresh id (on a comment: as the chosen reply).
    pub fn send_text(self, text: String) {
        self.dispatch(Input::Send {
            id: fresh_id(),
            text,
        });
    }

    /// Sends the WhatsApp template `template` in the open chat under a fresh id.
    pub fn send_template(self, template: String) {
        self.dispatch(Input::SendTemplate {
            id: fresh_id(),
            template,
        });
    }

    fn run_all(self, effects: Vec<Effect>) {
        for effect in effects {
            self.run(effect);
        }
    }

    fn disconnect(self) {
        if let Some(old) = self.link.try_update_value(|l| l.take()).flatten() {
            old.detach();
            // One of the old link's callbacks may be running this very effect.
            set_timeout(move || drop(old), Duration::ZERO);
        }
    }

    fn run(self, effect: Effect) {
        match effect {
            Effect::Connect => {
                self.disconnect();
                match link::open(self) {
                    Ok(link) => self.link.set_value(Some(link)),
                    Err(err) => {
                        leptos::logging::warn!("cannot open the console link: {err}");
                        self.dispatch(Input::LinkClosed);
                    }
                }
            }
            Effect::Disconnect => self.disconnect(),
            Effect::Transmit(frame) => {
                let sent = self
                    .link
                    .try_with_value(|l| l.as_ref().map(|l| l.send(&frame.encode())))
                    .flatten();
                if sent != Some(true) {
                    // The socket is gone; its close event schedules the reconnect, and what
                    // matters is sent again after the next welcome.
                    leptos::logging::warn!("console link not open; frame not sent");
                }
            }
            Effect::ScheduleReconnect { attempt } => {
                let delay = backoff::delay_ms(attempt, random::unit());
                set_timeout(
                    move || self.dispatch(Input::ReconnectDue),
                    Duration::from_millis(u64::from(delay)),
                );
            }
            Effect::ScheduleSearch { query } => {
                set_timeout(
                    move || self.dispatch(Input::SearchDue(query)),
                    Duration::from_millis(SEARCH_DEBOUNCE_MS),
                );
            }
        }
    }
}
