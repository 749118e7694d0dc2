//! The bot's quick replies: one button per choice of the newest bot message, shown only
//! while the bot is talking and nothing the visitor sent is still on its way.

use super::composer::COMPOSER_ID;
use super::{focus_soon, mount_while};
use crate::machine::Input;
use crate::runtime::Runtime;
use leptos::prelude::*;

/// The buttons of the offer on show, built once per offer (see `mount_while`).
fn buttons() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let choices = runtime.widget.with_untracked(|w| w.choices().to_vec());
    view! {
        <div class="pl-choices">
            {choices
                .into_iter()
                .map(|choice| {
                    let label = choice.label.clone();
                    view! {
                        <button
                            class="pl-choice"
                            type="button"
                            on:click=move |_| {
                                runtime
                                    .dispatch(Input::Choose {
                                        id: Runtime::message_id(),
                                        choice: choice.id.clone(),
                                    });
                                focus_soon(COMPOSER_ID);
                            }
                        >
                            {label}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

#[component]
pub fn Choices() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    // A memo, so the buttons are redrawn (and lose focus) only when the offer changes.
    let choices = Memo::new(move |_| runtime.widget.with(|w| w.choices().to_vec()));
    let host = NodeRef::new();
    mount_while(host, move || choices.with(|c| !c.is_empty()), buttons);
    view! { <div class="pl-mount" node_ref=host></div> }
}
