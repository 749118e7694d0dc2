//! The chat panel: header with the close button, the transcript, a status line and the
//! composer. Escape closes it and hands focus back to the launcher.

use super::composer::Composer;
use super::focus_soon;
use super::launcher::LAUNCHER_ID;
use super::transcript::Transcript;
use crate::machine::{Input, LinkState};
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::Texts;

#[component]
pub fn Panel(texts: Texts) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let open = move || runtime.widget.with(|w| w.open);
    let close = move || {
        runtime.dispatch(Input::Close);
        focus_soon(LAUNCHER_ID);
    };
    let status = move || {
        runtime.widget.with(|w| match (&w.notice, w.link) {
            (_, LinkState::Reconnecting) => Some("Reconnecting…".to_string()),
            (Some(notice), _) => Some(notice.clone()),
            _ => None,
        })
    };
    view! {
        <section
            class="pl-panel"
            role="dialog"
            aria-labelledby="pl-title"
            hidden=move || !open()
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    close();
                }
            }
        >
            <header class="pl-header">
                <div>
                    <h1 id="pl-title" class="pl-title">{texts.title.clone()}</h1>
                    <p class="pl-subtitle">{texts.subtitle.clone()}</p>
                </div>
                <button
                    class="pl-close"
                    type="button"
                    aria-label=texts.close_label.clone()
                    on:click=move |_| close()
                >
                    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
                        <path
                            fill="none"
                            stroke="currentColor"
                            stroke-width="2"
                            stroke-linecap="round"
                            d="M6 6l12 12M18 6L6 18"
                        />
                    </svg>
                </button>
            </header>
            <Transcript />
            <p class="pl-status" role="status">{status}</p>
            <Composer texts=texts />
        </section>
    }
}
