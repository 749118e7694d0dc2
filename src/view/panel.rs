//! The chat panel: header (title, previous conversations, close), then either the history
//! or the conversation — transcript, quick replies, typing line, status, the phase's form,
//! actions and composer. The conversation carries `data-phase` (and `data-confirm`), from
//! which the stylesheet shows only what the phase offers. Escape closes the panel and hands
//! focus back to the launcher, or first cancels an open end-chat confirmation. Focus moves
//! to what a new phase asks of the visitor when the phase changes under their focus, and to
//! the first invalid field when a form's errors are reported.

use super::actions::{Actions, NEW_CONVERSATION_ID, cancel_end};
use super::choices::Choices;
use super::composer::{COMPOSER_ID, Composer};
use super::fields::field_id;
use super::history::{HISTORY_BUTTON_ID, HistoryView};
use super::launcher::LAUNCHER_ID;
use super::leave_message::{LEAVE_MESSAGE_TEXT_ID, LeaveMessage};
use super::prechat::{PRECHAT_SUBMIT_ID, PreChat};
use super::rating::{FIRST_STAR_ID, Rating};
use super::status::Status;
use super::transcript::Transcript;
use super::typing::Typing;
use super::{focus_if_lost, focus_soon, mount_while, texts, use_phase};
use crate::machine::{History, Input, Phase};
use crate::runtime::Runtime;
use leptos::prelude::*;
use porchlight_protocol::SiteConfig;

/// The `data-phase` value the stylesheet keys on.
fn phase_key(phase: Phase) -> &'static str {
    match phase {
        Phase::Starting => "starting",
        Phase::Bot => "bot",
        Phase::PreChat => "prechat",
        Phase::Waiting => "waiting",
        Phase::Live => "live",
        Phase::Missed => "missed",
        Phase::MessageLeft => "message-left",
        Phase::Rating => "rating",
        Phase::Ended => "ended",
    }
}

/// Where focus belongs in `phase`: the first thing the visitor can do there.
pub fn focus_target(runtime: Runtime, phase: Phase) -> String {
    let first_field = || {
        runtime
            .widget
            .with_untracked(|w| w.open_fields().next().map(|f| field_id(&f.name)))
    };
    match phase {
        Phase::PreChat => first_field().unwrap_or_else(|| PRECHAT_SUBMIT_ID.into()),
        Phase::Missed => first_field().unwrap_or_else(|| LEAVE_MESSAGE_TEXT_ID.into()),
        Phase::Rating => FIRST_STAR_ID.into(),
        Phase::MessageLeft | Phase::Ended => NEW_CONVERSATION_ID.into(),
        Phase::Starting | Phase::Bot | Phase::Waiting | Phase::Live => COMPOSER_ID.into(),
    }
}

/// The first control with a reported error: a field in the form's order, else the form's
/// own input.
fn first_error(runtime: Runtime, phase: Phase) -> Option<String> {
    runtime.widget.with_untracked(|w| {
        let field = w
            .prechat
            .iter()
            .find(|f| w.form_errors.iter().any(|e| e.field == f.name));
        match (field, &w.problem, phase) {
            (Some(field), ..) => Some(field_id(&field.name)),
            (None, Some(_), Phase::Rating) => Some(FIRST_STAR_ID.into()),
            (None, Some(_), _) => Some(LEAVE_MESSAGE_TEXT_ID.into()),
            (None, None, _) => None,
        }
    })
}

#[component]
pub fn Panel(config: &'static SiteConfig) -> impl IntoView {
    provide_context(config);
    let runtime = expect_context::<Runtime>();
    let texts = texts();
    let phase = use_phase(runtime);
    let open = move || runtime.widget.with(|w| w.open);
    let in_history = Memo::new(move |_| runtime.widget.with(|w| w.history != History::Closed));
    let reported = Memo::new(move |_| runtime.widget.with(|w| w.errors_reported));
    Effect::new(move |before: Option<(Phase, u32)>| {
        let now = (phase.get(), reported.get());
        match before {
            Some((phase, _)) if phase != now.0 => focus_if_lost(focus_target(runtime, now.0)),
            Some((_, reported)) if reported != now.1 => {
                if let Some(id) = first_error(runtime, now.0) {
                    focus_soon(id);
                }
            }
            _ => {}
        }
        now
    });
    let form_host = NodeRef::new();
    mount_while(form_host, move || phase.get() == Phase::PreChat, PreChat);
    mount_while(
        form_host,
        move || phase.get() == Phase::Missed,
        LeaveMessage,
    );
    mount_while(form_host, move || phase.get() == Phase::Rating, Rating);
    let history_host = NodeRef::new();
    mount_while(history_host, move || in_history.get(), HistoryView);
    let close = move || {
        runtime.dispatch(Input::Close);
        focus_soon(LAUNCHER_ID);
    };
    view! {
        <section
            class="pl-panel"
            role="dialog"
            aria-labelledby="pl-title"
            hidden=move || !open()
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    if runtime.widget.with_untracked(|w| w.confirming_end) {
                        cancel_end(runtime);
                    } else {
                        close();
                    }
                }
            }
        >
            <header class="pl-header">
                <div class="pl-heading">
                    <h1 id="pl-title" class="pl-title">{texts.title.as_str()}</h1>
                    <p class="pl-subtitle">{texts.subtitle.as_str()}</p>
                </div>
                <button
                    id=HISTORY_BUTTON_ID
                    class="pl-icon-button pl-history"
                    type="button"
                    aria-label=texts.previous_conversations.as_str()
                    title=texts.previous_conversations.as_str()
                    aria-pressed=move || in_history.get().to_string()
                    on:click=move |_| {
                        if in_history.get_untracked() {
                            runtime.dispatch(Input::CloseHistory);
                        } else {
                            runtime.dispatch(Input::OpenHistory);
                        }
                    }
                >
                    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
                        <path
                            fill="none"
                            stroke="currentColor"
                            stroke-width="2"
                            stroke-linecap="round"
                            d="M3 12a9 9 0 1 0 3-6.7M3 4v4h4M12 7v5l3 2"
                        />
                    </svg>
                </button>
                <button
                    class="pl-icon-button pl-close"
                    type="button"
                    aria-label=texts.close_label.as_str()
                    on:click=move |_| close()
                >
                    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
                        <path
                            fill="none"
                            stroke="currentColor"
                            stroke-width="2"
                            stroke-linecap="round"
                            d="M6 6l12 12M18 6L6 18"
                        />
                    </svg>
                </button>
            </header>
            <div
                class="pl-conversation"
                data-phase=move || phase_key(phase.get())
                data-confirm=move || runtime.widget.with(|w| w.confirming_end).to_string()
                hidden=move || in_history.get()
            >
                <Transcript />
                <Choices />
                <Typing />
                <Status />
                // The phase's form, if it has one (see `mount_while`).
                <div class="pl-mount" node_ref=form_host></div>
                <Actions />
                <Composer />
            </div>
            <div class="pl-mount" node_ref=history_host></div>
        </section>
    }
}
