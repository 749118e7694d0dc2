//! The pre-chat form, shown after "Talk to a person" (or at once when the site has no bot).
//! It is validated by the machine with the same rules the server runs; errors show inline
//! (the panel moves focus to the first invalid field). The submit button is disabled while
//! the request is pending, so a double click is one request.

use super::fields::Fields;
use super::texts;
use crate::machine::Input;
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::Answers;

/// The submit button's id, focused when the form has no fields.
pub const PRECHAT_SUBMIT_ID: &str = "pl-prechat-submit";

#[component]
pub fn PreChat() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let values = RwSignal::new(Answers::new());
    let can_cancel = runtime.widget.with_untracked(|w| w.bot_enabled);
    view! {
        <form
            class="pl-form pl-prechat"
            aria-labelledby="pl-prechat-title"
            novalidate
            on:submit=move |ev| {
                ev.prevent_default();
                runtime
                    .dispatch(Input::SubmitPreChat {
                        request: Runtime::request_id(),
                        answers: values.get_untracked(),
                    });
            }
        >
            <h2 id="pl-prechat-title" class="pl-form-title">{texts.prechat_title.as_str()}</h2>
            <Fields values />
            <div class="pl-form-actions">
                <button
                    id=PRECHAT_SUBMIT_ID
                    class="pl-button pl-primary"
                    type="submit"
                    disabled=move || runtime.widget.with(|w| w.agent_request.is_some())
                >
                    {texts.prechat_submit.as_str()}
                </button>
                {can_cancel
                    .then(|| {
                        view! {
                            <button
                                class="pl-button pl-prechat-cancel"
                                type="button"
                                on:click=move |_| runtime.dispatch(Input::CancelPreChat)
                            >
                                {texts.cancel.as_str()}
                            </button>
                        }
                    })}
            </div>
        </form>
    }
}
