//! The leave-a-message form, when nobody could take the chat: the pre-chat fields prefilled
//! with the answers already given, and the message itself. Validated like the pre-chat form;
//! the submit button is disabled while the message is on its way.

use super::fields::{Fields, aria_invalid, problem_text, row};
use super::texts;
use crate::machine::Input;
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;

/// The message textarea's id.
pub const LEAVE_MESSAGE_TEXT_ID: &str = "pl-leave-message-text";

/// The problem with the form's own input (the message, the rating), as text.
pub fn problem(runtime: Runtime) -> Memo<Option<String>> {
    let texts = texts();
    Memo::new(move |_| {
        runtime
            .widget
            .with(|w| w.problem.as_ref().map(|p| problem_text(texts, p)))
    })
}

#[component]
pub fn LeaveMessage() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let values = RwSignal::new(runtime.widget.with_untracked(|w| w.answers.clone()));
    let text = RwSignal::new(String::new());
    let error = problem(runtime);
    let message = view! {
        <textarea
            id=LEAVE_MESSAGE_TEXT_ID
            rows="4"
            maxlength=MAX_MESSAGE_CHARS
            required
            aria-invalid=aria_invalid(error)
            aria-describedby="pl-leave-message-text-error"
            on:input=move |ev| text.set(event_target_value(&ev))
        ></textarea>
    };
    view! {
        <form
            class="pl-form pl-leave-message"
            aria-labelledby="pl-leave-message-title"
            novalidate
            on:submit=move |ev| {
                ev.prevent_default();
                runtime
                    .dispatch(Input::LeaveMessage {
                        request: Runtime::request_id(),
                        answers: values.get_untracked(),
                        text: text.get_untracked(),
                    });
            }
        >
            <h2 id="pl-leave-message-title" class="pl-form-title">{texts.missed_title.as_str()}</h2>
            <Fields values />
            {row(
                LEAVE_MESSAGE_TEXT_ID.to_string(),
                texts.composer_label.as_str(),
                true,
                "pl-field",
                message,
                error,
            )}
            <div class="pl-form-actions">
                <button
                    class="pl-button pl-primary"
                    type="submit"
                    disabled=move || runtime.widget.with(|w| w.leave_request.is_some())
                >
                    {texts.leave_message_submit.as_str()}
                </button>
            </div>
        </form>
    }
}
