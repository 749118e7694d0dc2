//! "Ann is typing…": a polite live region outside the log, empty (and without size) while
//! nobody types, so it is announced once when an agent starts.

use super::texts;
use crate::runtime::Runtime;
use leptos::prelude::*;

#[component]
pub fn Typing() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let template = &texts().agent_typing;
    let line = Memo::new(move |_| {
        runtime.widget.with(|w| {
            w.agent_typing
                .as_ref()
                .map(|name| template.replace("{agent}", name))
        })
    });
    view! { <p class="pl-typing" aria-live="polite">{move || line.get()}</p> }
}
