//! The conversation: stored messages in seq order, then the visitor's messages still on
//! their way. A `role="log"` list, so screen readers announce new messages politely.
//! All text is rendered as text nodes, never as HTML.

use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::AuthorKind;

fn author_class(kind: AuthorKind) -> &'static str {
    match kind {
        AuthorKind::Visitor => "pl-message pl-from-visitor",
        AuthorKind::Bot => "pl-message pl-from-bot",
        AuthorKind::Agent => "pl-message pl-from-agent",
    }
}

#[component]
pub fn Transcript() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let log = NodeRef::<leptos::html::Ol>::new();
    // Keep the newest message in view.
    Effect::new(move |_| {
        let count = runtime.widget.with(|w| w.messages.len() + w.outbox.len());
        if let (Some(log), true) = (log.get(), count > 0) {
            log.set_scroll_top(log.scroll_height());
        }
    });
    view! {
        <ol class="pl-log" role="log" aria-label="Conversation" node_ref=log>
            <For
                each=move || runtime.widget.with(|w| w.messages.clone())
                key=|m| m.seq
                children=|m| {
                    view! {
                        <li class=author_class(m.author.kind) data-seq=m.seq.0>
                            <span class="pl-author">{m.author.name}</span>
                            <p class="pl-text">{m.text}</p>
                        </li>
                    }
                }
            />
            <For
                each=move || runtime.widget.with(|w| w.outbox.clone())
                key=|o| (o.id.clone(), o.acked)
                children=|o| {
                    let state = if o.acked.is_some() { "Sent" } else { "Sending…" };
                    view! {
                        <li class="pl-message pl-from-visitor pl-pending" aria-busy="true">
                            <span class="pl-author">"You"</span>
                            <p class="pl-text">{o.text}</p>
                            <span class="pl-delivery">{state}</span>
                        </li>
                    }
                }
            />
        </ol>
    }
}
