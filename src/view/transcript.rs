//! The conversation: stored events in seq order — messages as bubbles, lifecycle events as
//! system lines — then the visitor's messages still on their way. A `role="log"` list, so
//! screen readers announce new lines politely. [`record_view`] also draws past
//! conversations. All text is rendered as text nodes, never as HTML.

use super::texts;
use crate::machine::Delivery;
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::{AuthorKind, ConversationEvent, EventRecord, Texts};

fn author_class(kind: AuthorKind) -> &'static str {
    match kind {
        AuthorKind::Visitor => "pl-message pl-from-visitor",
        AuthorKind::Bot => "pl-message pl-from-bot",
        AuthorKind::Agent => "pl-message pl-from-agent",
    }
}

/// How an event reads: the author (messages only), the class, the line, and what the
/// visitor wrote with it, if anything.
fn parts(
    event: ConversationEvent,
    texts: &Texts,
) -> (Option<String>, &'static str, String, Option<String>) {
    let system = |line: String| (None, "pl-system", line, None);
    match event {
        ConversationEvent::MessageReceived { author, text, .. } => {
            (Some(author.name), author_class(author.kind), text, None)
        }
        ConversationEvent::AgentRequested {} => system(texts.agent_requested.clone()),
        ConversationEvent::AgentJoined { name } => {
            system(texts.agent_joined.replace("{agent}", &name))
        }
        ConversationEvent::ChatEnded { .. } => system(texts.chat_ended.clone()),
        ConversationEvent::Missed {} => system(texts.missed_title.clone()),
        ConversationEvent::MessageLeft { text } => {
            (None, "pl-system", texts.message_left.clone(), Some(text))
        }
        ConversationEvent::Rated { stars, comment } => (
            None,
            "pl-system",
            format!("{} ({stars}/5)", texts.rating_thanks),
            comment,
        ),
    }
}

/// One stored event as a list item: a message bubble, or a system line.
pub fn record_view(record: EventRecord, texts: &Texts) -> impl IntoView + use<> {
    let (author, class, line, quote) = parts(record.event, texts);
    let text_class = if author.is_some() {
        "pl-text"
    } else {
        "pl-system-text"
    };
    view! {
        <li class=class data-seq=record.seq.0>
            {author.map(|name| view! { <span class="pl-author">{name}</span> })}
            <p class=text_class>{line}</p>
            {quote.map(|q| view! { <p class="pl-quote">{q}</p> })}
        </li>
    }
}

#[component]
pub fn Transcript() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let conversation_label = texts.conversation_label.as_str();
    let you = texts.you.as_str();
    let delivery_texts = [
        texts.sending.as_str(),
        texts.sent.as_str(),
        texts.not_sent.as_str(),
    ];
    let log = NodeRef::<leptos::html::Ol>::new();
    // Keep the newest line in view.
    Effect::new(move |_| {
        let count = runtime.widget.with(|w| w.events.len() + w.outbox.len());
        if let (Some(log), true) = (log.get(), count > 0) {
            log.set_scroll_top(log.scroll_height());
        }
    });
    view! {
        <ol
            class="pl-log"
            role="log"
            aria-label=conversation_label
            tabindex="0"
            node_ref=log
        >
            <For
                each=move || runtime.widget.with(|w| w.events.clone())
                key=|r| r.seq
                children=move |r| record_view(r, texts)
            />
            <For
                each=move || {
                    runtime
                        .widget
                        .with(|w| {
                            w.outbox
                                .iter()
                                .map(|o| (o.id.clone(), o.text.clone(), w.delivery(o)))
                                .collect::<Vec<_>>()
                        })
                }
                key=|(id, _, delivery)| (id.clone(), *delivery)
                children=move |(_, text, delivery)| {
                    let (state, class) = match delivery {
                        Delivery::Sending => (delivery_texts[0], "pl-delivery"),
                        Delivery::Sent => (delivery_texts[1], "pl-delivery"),
                        Delivery::Retrying => (delivery_texts[2], "pl-delivery pl-retrying"),
                    };
                    view! {
                        <li class="pl-message pl-from-visitor pl-pending" aria-busy="true">
                            <span class="pl-author">{you}</span>
                            <p class="pl-text">{text}</p>
                            <span class=class>{state}</span>
                        </li>
                    }
                }
            />
        </ol>
    }
}
