//! One conversation in a folder: the visitor's name (the button that opens the chat),
//! email, the first words, the channel, the agent where it tells something, history's
//! status and rating, the countdown and the reply window (`role="timer"`, which is not
//! announced), and Accept or Start chat. Each button's accessible name names the visitor.

use super::channel_badge;
use crate::runtime::{Runtime, now_ms};
use crate::state::folders::{Action, Row};
use crate::state::{Input, words};
use leptos::prelude::*;
use porchlight_protocol::ConversationId;
use porchlight_protocol::console::{DeadlineKind, Folder};
use porchlight_web::time::clock;

#[component]
pub fn RowView(id: ConversationId, folder: Folder) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let row_id = id.clone();
    let row = Memo::new(move |_| runtime.console.with(|c| c.row(&row_id, folder)));
    let open_id = id.clone();
    let is_open = Memo::new(move |_| {
        runtime
            .console
            .with(|c| c.chat.as_ref().is_some_and(|ch| ch.id == open_id))
    });
    view! {
        <li
            class="pc-row"
            class=("pc-current", move || is_open.get())
            data-conversation=id.to_string()
        >
            {move || row.get().map(|row| row_body(runtime, row, is_open))}
        </li>
    }
}

/// The reply window's time left (or what is still allowed) for conversation `id`, as a
/// timer that is not announced. Moves with the runtime's clock, like the countdown, and at
/// once when the desk's clock or the customer's last message moves.
pub fn window_line(runtime: Runtime, id: ConversationId) -> impl IntoView {
    let line = move || {
        runtime.now.track();
        runtime
            .console
            .with(|c| c.window_line(&id, now_ms()))
            .unwrap_or_default()
    };
    view! {
        <p class="pc-window" role="timer">
            {line}
        </p>
    }
}

fn row_body(runtime: Runtime, row: Row, is_open: Memo<bool>) -> impl IntoView {
    let Row {
        id,
        name,
        email,
        preview,
        channel,
        kind,
        window,
        agent,
        deadline,
        status,
        rating,
        action,
    } = row;
    let open_id = id.clone();
    let window_id = id.clone();
    let window = window.then(|| window_line(runtime, window_id));
    let countdown = deadline.map(|deadline| {
        let lead = match deadline.kind {
            DeadlineKind::Queue => "Missed in ",
            DeadlineKind::Acceptance => "Start within ",
        };
        let left = move || {
            // Redrawn on every tick of the runtime's clock, read afresh for the exact time.
            runtime.now.track();
            let ms = runtime
                .console
                .with_untracked(|c| c.remaining_ms(deadline.at_ms, now_ms()));
            clock(ms)
        };
        view! {
            <p class="pc-deadline">
                {lead}
                <span class="pc-countdown" role="timer">
                    {left}
                </span>
            </p>
        }
    });
    let rating = rating.map(|r| {
        let stars = words::stars(r.stars);
        let (symbols, number) = stars.split_once(' ').unwrap_or((&stars, ""));
        view! {
            <span class="pc-rating">
                <span aria-hidden="true">{symbols.to_string()}</span>
                {format!(" {number}")}
                {r.comment.map(|c| view! { " " <q class="pc-comment">{c}</q> })}
            </span>
        }
    });
    let button = action.map(|action| {
        let accept_id = id.clone();
        let (class, text, label) = match action {
            Action::Accept => ("pc-accept", "Accept", format!("Accept {name}")),
            Action::Start => ("pc-start", "Start chat", format!("Start chat with {name}")),
        };
        view! {
            <button
                type="button"
                class=class
                aria-label=label
                on:click=move |_| runtime.dispatch(Input::Accept(accept_id.clone()))
            >
                {text}
            </button>
        }
    });
    view! {
        <div class="pc-row-head">
            <button
                type="button"
                class="pc-open"
                aria-label=format!("Open chat with {name}")
                aria-current=move || is_open.get().then_some("true")
                on:click=move |_| runtime.dispatch(Input::Open(open_id.clone()))
            >
                <span class="pc-name">{name.clone()}</span>
            </button>
            {email.map(|e| view! { <span class="pc-email">{e}</span> })}
        </div>
        <p class="pc-preview">{preview}</p>
        <p class="pc-meta">
            {channel_badge(kind, channel)}
            {agent
                .map(|a| {
                    view! {
                        <span class="pc-agent-line">
                            "Agent: " <span class="pc-agent">{a}</span>
                        </span>
                    }
                })}
            {status.map(|s| view! { <span class="pc-status">{s}</span> })}
            {rating}
        </p>
        {countdown}
        {window}
        {button}
    }
}
