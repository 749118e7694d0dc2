//! The composer of the signed-in agent's own live chat: the textbox, Send and Close chat.
//! Enter sends, Shift+Enter starts a new line. On a social channel it does what the
//! platform allows now ([`Console::composer`](crate::state::Console::composer), asked again
//! every second at the server's mock time): a textbox disabled with the reason beside it
//! (`aria-describedby`) once nothing may be sent, the `HUMAN_AGENT` tag's note, WhatsApp's
//! template picker, and on comments the reply kind (public or private) and Hide / Delete,
//! each confirmed first in an inline region that takes the focus and gives it back.

use crate::runtime::{Runtime, now_ms};
use crate::state::{Input, ReplyKind, words};
use leptos::prelude::*;
use porchlight_protocol::ConversationId;
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::text;
use porchlight_web::composer;

/// What the comment tools ask to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommentAct {
    Hide,
    Delete,
}

impl CommentAct {
    fn button(self) -> &'static str {
        match self {
            CommentAct::Hide => ".pc-hide-comment",
            CommentAct::Delete => ".pc-delete-comment",
        }
    }
}

#[component]
pub fn Composer(id: ConversationId, name: String) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let rules_id = id.clone();
    let rules = Memo::new(move |_| {
        runtime.now.track();
        runtime
            .console
            .with(|c| c.composer(&rules_id, now_ms()).unwrap_or_default())
    });
    // One memo per part, so a part is redrawn only when it changes (and keeps the focus).
    let disabled = Memo::new(move |_| rules.with(|r| r.disabled));
    let why = Memo::new(move |_| rules.with(|r| r.why.clone()));
    let tagged = Memo::new(move |_| rules.with(|r| r.tagged));
    let comments = Memo::new(move |_| rules.with(|r| r.comments));
    let templates = Memo::new(move |_| rules.with(|r| r.templates.clone()));
    let draft = RwSignal::new(String::new());
    let submit = move || {
        let text = draft.get_untracked();
        if !disabled.get_untracked() && text::message_text(&text).is_ok() {
            runtime.send_text(text);
            draft.set(String::new());
        }
    };
    let described_by = move || {
        let ids: Vec<&str> = [
            why.with(Option::is_some).then_some("pc-composer-why"),
            tagged.get().then_some("pc-tag-note"),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    };
    let reply_kinds = move || {
        comments.get().then(|| {
            let choices = [
                (ReplyKind::Public, "Reply as comment"),
                (ReplyKind::Private, "Private reply"),
            ]
            .map(|(kind, label)| {
                view! {
                    <label class="pc-radio">
                        <input
                            type="radio"
                            name="pc-reply-kind"
                            value=kind.value()
                            prop:checked=move || rules.with(|r| r.reply == kind)
                            disabled=move || disabled.get()
                            on:change=move |_| runtime.dispatch(Input::ReplyAs(kind))
                        />
                        {label}
                    </label>
                }
            });
            view! {
                <fieldset class="pc-reply-kind">
                    <legend>"Reply as"</legend>
                    {choices.into_iter().collect_view()}
                </fieldset>
            }
        })
    };
    let tools_id = id.clone();
    view! {
        {move || comments.get().then(|| view! { <CommentTools id=tools_id.clone() /> })}
        <form
            class="pc-composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            {reply_kinds}
            <label for="pc-composer">"Message"</label>
            <textarea
                id="pc-composer"
                rows="3"
                maxlength=MAX_MESSAGE_CHARS
                disabled=move || disabled.get()
                aria-describedby=described_by
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    runtime
                        .quietly(Input::Draft {
                            empty: text.trim().is_empty(),
                            now_ms: now_ms(),
                        });
                    draft.set(text);
                }
                on:keydown=move |ev| {
                    if composer::enter_sends(&ev) {
                        submit();
                    }
                }
            ></textarea>
            {move || why.get().map(|why| view! { <p id="pc-composer-why" class="pc-why">{why}</p> })}
            {move || {
                tagged
                    .get()
                    .then(|| view! { <p id="pc-tag-note" class="pc-tag-note">{words::TAG_NOTE}</p> })
            }}
            {move || (!templates.with(Vec::is_empty)).then(|| view! { <Templates templates /> })}
            <div class="pc-composer-actions">
                <button type="submit" class="pc-send" disabled=move || disabled.get()>
                    "Send"
                </button>
                <button
                    type="button"
                    class="pc-close-chat"
                    aria-label=format!("Close chat with {name}")
                    on:click=move |_| runtime.dispatch(Input::CloseChat(id.clone()))
                >
                    "Close chat"
                </button>
            </div>
        </form>
    }
}

/// WhatsApp's template picker: the channel's approved templates and "Send template".
#[component]
fn Templates(templates: Memo<Vec<String>>) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let chosen = RwSignal::new(None::<String>);
    let send = move |_| {
        let template = chosen
            .get_untracked()
            .filter(|t| templates.with_untracked(|all| all.contains(t)))
            .or_else(|| templates.with_untracked(|all| all.first().cloned()));
        if let Some(template) = template {
            runtime.send_template(template);
        }
    };
    view! {
        <div class="pc-templates">
            <label for="pc-template">"Template"</label>
            <select id="pc-template" on:change=move |ev| chosen.set(Some(event_target_value(&ev)))>
                <For
                    each=move || templates.get()
                    key=|name| name.clone()
                    children=move |name| {
                        let this = name.clone();
                        let value = name.clone();
                        view! {
                            <option
                                value=value
                                prop:selected=move || chosen.with(|c| c.as_ref() == Some(&this))
                            >
                                {name}
                            </option>
                        }
                    }
                />
            </select>
            <button type="button" class="pc-send-template" on:click=send>
                "Send template"
            </button>
        </div>
    }
}

/// Hide comment and Delete comment, each asking first in an inline region.
#[component]
fn CommentTools(id: ConversationId) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let can = Memo::new(move |_| {
        runtime.console.with(|c| {
            c.composer(&id, now_ms())
                .map_or((false, false), |r| (r.can_hide, r.can_delete))
        })
    });
    let confirming = RwSignal::new(None::<CommentAct>);
    let ask = move |act: CommentAct| {
        confirming.set(Some(act));
        super::focus_soon(".pc-confirm-region .pc-confirm");
    };
    let cancel = move || {
        if let Some(act) = confirming.get_untracked() {
            confirming.set(None);
            super::focus_soon(act.button());
        }
    };
    let confirm = move |act: CommentAct| {
        confirming.set(None);
        runtime.dispatch(match act {
            CommentAct::Hide => Input::HideComment,
            CommentAct::Delete => Input::DeleteComment,
        });
        super::focus_soon("#pc-chat-title");
    };
    let region = move || {
        confirming.get().map(|act| {
            let (question, yes) = match act {
                CommentAct::Hide => (words::CONFIRM_HIDE, "Hide"),
                CommentAct::Delete => (words::CONFIRM_DELETE, "Delete"),
            };
            view! {
                <div
                    class="pc-confirm-region"
                    role="group"
                    aria-labelledby="pc-confirm-question"
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            ev.prevent_default();
                            cancel();
                        }
                    }
                >
                    <p id="pc-confirm-question">{question}</p>
                    <button type="button" class="pc-confirm" on:click=move |_| confirm(act)>
                        {yes}
                    </button>
                    <button type="button" class="pc-cancel" on:click=move |_| cancel()>
                        "Cancel"
                    </button>
                </div>
            }
        })
    };
    let tools = move || {
        let (hide, delete) = can.get();
        (hide || delete || confirming.with(Option::is_some)).then(|| {
            view! {
                <div class="pc-comment-tools">
                    {hide
                        .then(|| {
                            view! {
                                <button
                                    type="button"
                                    class="pc-hide-comment"
                                    disabled=move || confirming.with(Option::is_some)
                                    on:click=move |_| ask(CommentAct::Hide)
                                >
                                    "Hide comment"
                                </button>
                            }
                        })}
                    {delete
                        .then(|| {
                            view! {
                                <button
                                    type="button"
                                    class="pc-delete-comment"
                                    disabled=move || confirming.with(Option::is_some)
                                    on:click=move |_| ask(CommentAct::Delete)
                                >
                                    "Delete comment"
                                </button>
                            }
                        })}
                    {region}
                </div>
            }
        })
    };
    // Redrawn when what is offered changes, or a question opens or closes (the focus
    // moves then anyway).
    tools
}
