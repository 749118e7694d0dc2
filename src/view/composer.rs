//! The composer: a labelled textbox and a Send button. Enter sends, Shift+Enter starts a
//! new line, and blank messages are not sent.

use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::{Texts, text};

/// The textbox's element id, so the launcher can move focus into it.
pub const COMPOSER_ID: &str = "pl-composer-input";

#[component]
pub fn Composer(texts: Texts) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
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
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <label for=COMPOSER_ID class="pl-visually-hidden">
                {texts.composer_label}
            </label>
            <textarea
                id=COMPOSER_ID
                rows="2"
                // maxlength counts UTF-16 units, so it never lets more characters through.
                maxlength=MAX_MESSAGE_CHARS
                placeholder=texts.composer_placeholder
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button class="pl-send" type="submit">
                {texts.send_label}
            </button>
        </form>
    }
}
