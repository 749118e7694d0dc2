//! The composer: a labelled textbox and a Send button, shown (by the stylesheet, from the
//! panel's `data-phase`) while the visitor can write.
//! Enter sends, Shift+Enter starts a new line ([`composer::enter_sends`], shared with the
//! agent console), and blank messages are not sent. Each edit tells the runtime whether the
//! draft is empty, for the live chat's typing indicator.

use super::texts;
use crate::machine::LinkState;
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::text;
use porchlight_web::composer;

/// The textbox's element id, so the launcher can move focus into it.
pub const COMPOSER_ID: &str = "pl-composer-input";

#[component]
pub fn Composer() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let draft = RwSignal::new(String::new());
    let submit = move || {
        let text = draft.get_untracked();
        if text::message_text(&text).is_ok() {
            runtime.send_text(text);
            draft.set(String::new());
        }
    };
    view! {
        <form
            class="pl-composer"
            // No link without an accepted identity: nothing to write into.
            hidden=move || runtime.widget.with(|w| w.link == LinkState::Refused)
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <label for=COMPOSER_ID class="pl-visually-hidden">
                {texts.composer_label.as_str()}
            </label>
            <textarea
                id=COMPOSER_ID
                rows="2"
                // maxlength counts UTF-16 units, so it never lets more characters through.
                maxlength=MAX_MESSAGE_CHARS
                placeholder=texts.composer_placeholder.as_str()
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    runtime.draft(text.trim().is_empty());
                    draft.set(text);
                }
                on:keydown=move |ev| {
                    if composer::enter_sends(&ev) {
                        submit();
                    }
                }
            ></textarea>
            <button class="pl-send" type="submit">
                {texts.send_label.as_str()}
            </button>
        </form>
    }
}
