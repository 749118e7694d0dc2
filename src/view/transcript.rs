//! The conversation: stored events in seq order — messages as bubbles, lifecycle events as
//! system lines — then the visitor's messages still on their way: a list in a
//! `role="log"` box, so screen readers announce new lines politely. [`record_view`] also draws past
//! conversations. All text is rendered as text nodes, never as HTML.

use super::{localized_digits, texts};
use crate::machine::Delivery;
use crate::runtime::Runtime;
use leptos::either::Either;
use leptos::prelude::*;
use porchlight_protocol::{AuthorKind, ConversationEvent, EventRecord, MessageId, Seq, Texts};

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
            // The site's words and the stars, in the language's digits.
            localized_digits(texts, &format!("{} ({stars}/5)", texts.rating_thanks)),
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

/// One line of the log: a stored event, or a visitor message still on its way. Both kinds
/// go through one keyed list, so the list's diffing is built once.
#[derive(Clone)]
enum Line {
    Event(EventRecord),
    Pending(MessageId, String, Delivery),
}

/// What identifies a line across renders: an event by its seq; a pending message by its id
/// and how far it has got, so a change of state redraws it.
#[derive(Clone, PartialEq, Eq, Hash)]
enum LineKey {
    Event(Seq),
    Pending(MessageId, Delivery),
}

impl Line {
    fn key(&self) -> LineKey {
        match self {
            Line::Event(record) => LineKey::Event(record.seq),
            Line::Pending(id, _, delivery) => LineKey::Pending(id.clone(), *delivery),
        }
    }
}

#[component]
pub fn Transcript() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let log = NodeRef::<leptos::html::Div>::new();
    // Keep the newest line in view.
    Effect::new(move |_| {
        let count = runtime.widget.with(|w| w.events.len() + w.outbox.len());
        if let (Some(log), true) = (log.get(), count > 0) {
            log.set_scroll_top(log.scroll_height());
        }
    });
    let lines = move || {
        runtime.widget.with(|w| {
            let events = w.events.iter().cloned().map(Line::Event);
            let pending = w
                .outbox
                .iter()
                .map(|o| Line::Pending(o.id.clone(), o.text.clone(), w.delivery(o)));
            events.chain(pending).collect::<Vec<_>>()
        })
    };
    let line_view = move |line| match line {
        Line::Event(record) => Either::Left(record_view(record, texts)),
        Line::Pending(_, text, delivery) => {
            let (state, class) = match delivery {
                Delivery::Sending => (texts.sending.as_str(), "pl-delivery"),
                Delivery::Sent => (texts.sent.as_str(), "pl-delivery"),
                Delivery::Retrying => (texts.not_sent.as_str(), "pl-delivery pl-retrying"),
            };
            Either::Right(view! {
                <li class="pl-message pl-from-visitor pl-pending" aria-busy="true">
                    <span class="pl-author">{texts.you.as_str()}</span>
                    <p class="pl-text">{text}</p>
                    <span class=class>{state}</span>
                </li>
            })
        }
    };
    view! {
        <div
            class="pl-log"
            role="log"
            aria-label=texts.conversation_label.as_str()
            tabindex="0"
            node_ref=log
        >
            <ol>
                <For each=lines key=Line::key children=line_view />
            </ol>
        </div>
    }
}
