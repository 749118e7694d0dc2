//! The conversation's actions: "Talk to a person" with the bot, "End chat" (with an
//! in-panel confirmation that takes focus and closes with Escape) while waiting or live,
//! and "Start a new conversation" once the chat is over. Which of them shows is decided
//! by the stylesheet from the panel's `data-phase` and `data-confirm`, so the view keeps
//! one binding for all of them.

use super::{focus_soon, texts};
use crate::machine::{Input, LinkState};
use crate::runtime::Runtime;
use leptos::prelude::*;

/// The "End chat" button's id, where focus returns when the confirmation is cancelled.
pub const END_CHAT_ID: &str = "pl-end-chat";
/// The confirmation's "End chat" button, focused when the confirmation opens.
pub const CONFIRM_END_ID: &str = "pl-confirm-end";
/// The "Start a new conversation" button's id.
pub const NEW_CONVERSATION_ID: &str = "pl-new-conversation";

/// Closes the end-chat confirmation and hands focus back to its button.
pub fn cancel_end(runtime: Runtime) {
    runtime.dispatch(Input::CancelEndChat);
    focus_soon(END_CHAT_ID);
}

#[component]
pub fn Actions() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let requesting = move || runtime.widget.with(|w| w.agent_request.is_some());
    let starting = move || runtime.widget.with(|w| w.starting_new);
    view! {
        <div
            class="pl-actions"
            // No link without an accepted identity: no person to talk to.
            hidden=move || runtime.widget.with(|w| w.link == LinkState::Refused)
        >
            <button
                class="pl-button pl-talk-to-human"
                type="button"
                disabled=requesting
                on:click=move |_| {
                    runtime
                        .dispatch(Input::TalkToHuman {
                            request: Runtime::request_id(),
                        })
                }
            >
                {texts.talk_to_human.as_str()}
            </button>
            <button
                id=END_CHAT_ID
                class="pl-button pl-end-chat"
                type="button"
                on:click=move |_| {
                    runtime.dispatch(Input::AskEndChat);
                    focus_soon(CONFIRM_END_ID);
                }
            >
                {texts.end_chat.as_str()}
            </button>
            <div
                class="pl-confirm"
                role="alertdialog"
                aria-labelledby="pl-confirm-text"
            >
                <p id="pl-confirm-text">{texts.end_chat_confirm.as_str()}</p>
                <button
                    id=CONFIRM_END_ID
                    class="pl-button pl-primary pl-confirm-end"
                    type="button"
                    on:click=move |_| {
                        runtime.dispatch(Input::ConfirmEndChat);
                        focus_soon(END_CHAT_ID);
                    }
                >
                    {texts.end_chat.as_str()}
                </button>
                <button
                    class="pl-button pl-confirm-cancel"
                    type="button"
                    on:click=move |_| cancel_end(runtime)
                >
                    {texts.cancel.as_str()}
                </button>
            </div>
            <button
                id=NEW_CONVERSATION_ID
                class="pl-button pl-new-conversation"
                type="button"
                disabled=starting
                on:click=move |_| runtime.dispatch(Input::StartNew)
            >
                {texts.new_conversation.as_str()}
            </button>
        </div>
    }
}
