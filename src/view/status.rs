//! Where the chat stands, in one `role="status"` region: the place in line or "connecting",
//! a left message or a rating received, and link trouble or the server's last error. The
//! wait clock ticks beside the words but is hidden from assistive technology, so only a
//! change of place is announced, not every second.

use super::{localized_digits, texts};
use crate::machine::{LinkState, Notice};
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::ChatStatus;
use porchlight_web::time::clock;

#[component]
pub fn Status() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let line = Memo::new(move |_| {
        runtime.widget.with(|w| match &w.status {
            Some(ChatStatus::Queued { position, .. }) => Some(texts.queued.replace(
                "{position}",
                &localized_digits(texts, &position.to_string()),
            )),
            Some(ChatStatus::Connecting { .. }) => Some(texts.connecting.clone()),
            Some(ChatStatus::MessageLeft {}) => Some(texts.message_left.clone()),
            Some(ChatStatus::Ended { rated: true }) => Some(texts.rating_thanks.clone()),
            _ => None,
        })
    });
    let waited = Memo::new(move |_| {
        let now = runtime.now.get();
        runtime.widget.with(|w| w.waited_ms(now)).map(|ms| {
            texts
                .waited
                .replace("{time}", &localized_digits(texts, &clock(ms)))
        })
    });
    let notice = Memo::new(move |_| {
        runtime.widget.with(|w| {
            match (&w.notice, w.link) {
                (_, LinkState::Reconnecting) => Some(&texts.reconnecting),
                (Some(Notice::Server(notice)), _) => Some(notice),
                (Some(Notice::RateLimited), _) => Some(&texts.rate_limited),
                (Some(Notice::Unavailable), _) => Some(&texts.unavailable),
                (Some(Notice::QueueFull), _) => Some(&texts.queue_full),
                (Some(Notice::IdentityRefused), _) => Some(&texts.identity_refused),
                (Some(Notice::SignedInOnly), _) => Some(&texts.signed_in_only),
                _ if w.session_lost => Some(&texts.session_lost),
                _ => None,
            }
            .cloned()
        })
    });
    view! {
        <div class="pl-status" role="status">
            <p class="pl-chat-status">
                <span>{shown(line)}</span>
                " "
                <span class="pl-waited" aria-hidden="true">{shown(waited)}</span>
            </p>
            <p class="pl-notice">{shown(notice)}</p>
        </div>
    }
}

/// A line's text as the view shows it: one closure type for every line, so the bundle
/// holds its render code once.
fn shown(line: Memo<Option<String>>) -> impl Fn() -> Option<String> + Send + Sync + Copy {
    move || line.get()
}
