//! The rating form after the chat: five labelled radio buttons in a fieldset whose legend is
//! the site's question, and an optional comment. A missing rating is reported inline (the
//! panel moves focus to the first star).

use super::leave_message::problem;
use super::texts;
use crate::machine::{Input, MAX_STARS};
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;

/// The id of the first star, the form's focus target.
pub const FIRST_STAR_ID: &str = "pl-star-1";

#[component]
pub fn Rating() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let stars = RwSignal::new(None::<u8>);
    let comment = RwSignal::new(String::new());
    let error = problem(runtime);
    let radios = (1..=MAX_STARS)
        .map(|n| {
            let id = format!("pl-star-{n}");
            let label = if n == 1 {
                texts.one_star.clone()
            } else {
                texts.stars.replace("{n}", &n.to_string())
            };
            view! {
                <span class="pl-star">
                    <input
                        id=id.clone()
                        type="radio"
                        name="pl-stars"
                        value=n
                        on:change=move |_| stars.set(Some(n))
                    />
                    <label for=id>{label}</label>
                </span>
            }
        })
        .collect_view();
    view! {
        <form
            class="pl-form pl-rating"
            novalidate
            on:submit=move |ev| {
                ev.prevent_default();
                runtime
                    .dispatch(Input::Rate {
                        stars: stars.get_untracked(),
                        comment: comment.get_untracked(),
                    });
            }
        >
            <fieldset class="pl-stars" aria-describedby="pl-rating-error">
                <legend class="pl-form-title">{texts.rating_prompt.as_str()}</legend>
                {radios}
                <p id="pl-rating-error" class="pl-field-error">{move || error.get()}</p>
            </fieldset>
            <div class="pl-field">
                <label for="pl-rating-comment">{texts.rating_comment.as_str()}</label>
                <textarea
                    id="pl-rating-comment"
                    rows="2"
                    maxlength=MAX_MESSAGE_CHARS
                    on:input=move |ev| comment.set(event_target_value(&ev))
                ></textarea>
            </div>
            <div class="pl-form-actions">
                <button
                    class="pl-button pl-primary"
                    type="submit"
                    disabled=move || runtime.widget.with(|w| w.rating_sent)
                >
                    {texts.send_label.as_str()}
                </button>
            </div>
        </form>
    }
}
