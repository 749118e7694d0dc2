//! Previous conversations: a list named by date and first message (newest first), and a
//! chosen one's transcript, read-only, drawn like the live one. One "Back" button stays in
//! place across loading, list and transcript, so keyboard focus has a home.

use super::transcript::record_view;
use super::{config, focus_soon, mount_while, texts};
use crate::machine::{History, Input};
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::{ConversationEvent, PastConversation};
use wasm_bindgen::JsValue;

/// The header button that opens the history, where focus returns when it closes.
pub const HISTORY_BUTTON_ID: &str = "pl-history";
const BACK_ID: &str = "pl-history-back";

/// When a conversation started, in the site's language.
fn date(ms: u64, language: &str) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms as f64))
        .to_locale_string(language, &JsValue::UNDEFINED)
        .into()
}

/// The conversation's first message, shortened.
fn first_message(past: &PastConversation) -> String {
    let text = past.events.iter().find_map(|r| match &r.event {
        ConversationEvent::MessageReceived { text, .. } => Some(text.as_str()),
        _ => None,
    });
    let text = text.unwrap_or_default();
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The list of past conversations, built once while it shows (see `mount_while`).
fn past_list() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let language = config().language.as_str();
    let conversations = runtime.widget.with_untracked(|w| match &w.history {
        History::Loaded { conversations, .. } => conversations.clone(),
        _ => Vec::new(),
    });
    view! {
        <ul class="pl-history-list">
            {conversations
                .iter()
                .enumerate()
                .map(|(index, past)| {
                    view! {
                        <li>
                            <button
                                type="button"
                                on:click=move |_| {
                                    runtime.dispatch(Input::ShowPast(index));
                                    focus_soon(BACK_ID);
                                }
                            >
                                <span class="pl-history-date">
                                    {date(past.started_ms, language)}
                                </span>
                                " "
                                <span class="pl-history-first">{first_message(past)}</span>
                            </button>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// The past conversation being read, built once while it shows (see `mount_while`).
fn past_transcript() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let language = config().language.as_str();
    let past = runtime.widget.with_untracked(|w| match &w.history {
        History::Loaded {
            conversations,
            viewing: Some(index),
        } => conversations.get(*index).cloned(),
        _ => None,
    });
    let texts = texts();
    let (when, events) = past
        .map(|p| (date(p.started_ms, language), p.events))
        .unwrap_or_default();
    view! {
        <h3 class="pl-history-title">{when.clone()}</h3>
        <ol class="pl-log pl-past" aria-label=when tabindex="0">
            {events.into_iter().map(|r| record_view(r, texts)).collect_view()}
        </ol>
    }
}

#[component]
pub fn HistoryView() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let title = texts.previous_conversations.as_str();
    focus_soon(BACK_ID);
    let history = Memo::new(move |_| runtime.widget.with(|w| w.history.clone()));
    let (loading, failed, empty, back) = (
        texts.loading.as_str(),
        texts.history_failed.as_str(),
        texts.no_history.as_str(),
        texts.back.as_str(),
    );
    let note = move || match history.get() {
        History::Loading => Some(loading),
        History::Failed(_) => Some(failed),
        History::Loaded {
            conversations,
            viewing: None,
        } if conversations.is_empty() => Some(empty),
        _ => None,
    };
    // The list and a transcript come and go whole: mounted by hand, not rebuilt.
    let list_host = NodeRef::new();
    mount_while(
        list_host,
        move || {
            history.with(|h| {
                matches!(h, History::Loaded { conversations, viewing: None } if !conversations.is_empty())
            })
        },
        past_list,
    );
    let transcript_host = NodeRef::new();
    mount_while(
        transcript_host,
        move || {
            history.with(|h| {
                matches!(h, History::Loaded { conversations, viewing: Some(i) } if *i < conversations.len())
            })
        },
        past_transcript,
    );
    view! {
        <div class="pl-history-view">
            <div class="pl-history-bar">
                <button
                    id=BACK_ID
                    class="pl-button pl-history-back"
                    type="button"
                    on:click=move |_| {
                        runtime.dispatch(Input::HistoryBack);
                        let closed = runtime
                            .widget
                            .with_untracked(|w| w.history == History::Closed);
                        focus_soon(if closed { HISTORY_BUTTON_ID } else { BACK_ID });
                    }
                >
                    {back}
                </button>
                <h2 class="pl-form-title">{title}</h2>
            </div>
            <div class="pl-history-body">
                <p class="pl-history-note" role="status">{note}</p>
                <div class="pl-mount" node_ref=list_host></div>
                <div class="pl-mount" node_ref=transcript_host></div>
            </div>
        </div>
    }
}
