//! The bot's quick replies: one button per choice of the newest bot message, shown only
//! while the bot is talking and nothing the visitor sent is still on its way.

use super::composer::COMPOSER_ID;
use super::focus_soon;
use crate::machine::Input;
use crate::runtime::Runtime;
use leptos::prelude::*;

#[component]
pub fn Choices() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    // A memo, so the buttons are redrawn (and lose focus) only when the offer changes.
    let choices = Memo::new(move |_| runtime.widget.with(|w| w.choices().to_vec()));
    move || {
        let choices = choices.get();
        (!choices.is_empty()).then(|| {
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
        })
    }
}
