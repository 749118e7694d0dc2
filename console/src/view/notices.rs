//! Two live regions: `#pc-announcer` (polite, visually hidden) says new requests and new
//! visitor messages; `#pc-alert` (`role="alert"`) shows a refusal as a sentence until
//! dismissed or replaced. Both stay in the page so assistive technology tracks them; each
//! new notice is a new text node, so the same sentence twice is said twice.

use crate::runtime::Runtime;
use crate::state::Input;
use leptos::prelude::*;

#[component]
pub fn Notices() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let alert = Memo::new(move |_| runtime.console.with(|c| c.alert.clone()));
    let announcement = Memo::new(move |_| runtime.console.with(|c| c.announcement.clone()));
    view! {
        <div id="pc-alert" class="pc-alert" role="alert">
            {move || {
                alert
                    .get()
                    .map(|notice| {
                        view! {
                            <p class="pc-alert-text">{notice.text}</p>
                            <button
                                type="button"
                                class="pc-dismiss"
                                on:click=move |_| runtime.dispatch(Input::DismissAlert)
                            >
                                "Dismiss"
                            </button>
                        }
                    })
            }}
        </div>
        <div id="pc-announcer" class="pc-visually-hidden" aria-live="polite" aria-atomic="true">
            {move || announcement.get().map(|notice| view! { <p>{notice.text}</p> })}
        </div>
    }
}
