//! The launcher: a round button in the corner that opens the chat panel — a pill with the
//! site's `launcher_label` beside the icon, if it has one, which is then its name too (the
//! visible words start the accessible name) — with a badge (drawn by the stylesheet from
//! `data-unread`, written in the language's digits; absent at none) counting the bot and
//! agent messages that came while it was closed.

use super::panel::focus_target;
use super::{config, focus_soon, localized_digits};
use crate::machine::{Input, Widget};
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::Texts;

/// The launcher's element id, so the panel can hand focus back to it.
pub const LAUNCHER_ID: &str = "pl-launcher";

#[component]
pub fn Launcher(texts: &'static Texts) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let open = move || runtime.widget.with(|w| w.open);
    let unread = move || runtime.widget.with(|w| w.unread);
    // The panel, built first, has put the configuration in context.
    let label = config().launcher_label.as_deref();
    view! {
        <button
            id=LAUNCHER_ID
            class="pl-launcher"
            type="button"
            aria-label=move || {
                let label = label.unwrap_or(&texts.open_label);
                match unread() {
                    0 => label.to_string(),
                    1 => texts.unread_one.replace("{label}", label),
                    n => {
                        texts
                            .unread_many
                            .replace("{label}", label)
                            .replace("{n}", &localized_digits(texts, &n.to_string()))
                    }
                }
            }
            aria-expanded=move || open().to_string()
            hidden=open
            data-unread=move || match unread() {
                0 => None,
                n => Some(localized_digits(texts, &n.to_string())),
            }
            on:click=move |_| {
                runtime.dispatch(Input::Open);
                focus_soon(focus_target(runtime, runtime.widget.with_untracked(Widget::phase)));
            }
        >
            <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">
                <path
                    fill="currentColor"
                    d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"
                />
            </svg>
            <span>{label}</span>
        </button>
    }
}
