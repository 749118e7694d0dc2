//! The open conversation, beside the folders: its heading and facts (the channel, its
//! reply window, the comment's state, the story it is about), the transcript (each event a
//! list item: messages with author and text, lifecycle events as system lines), the
//! pre-chat answers, "Visitor is typing…", and — only in the signed-in agent's own live
//! chat — the [`Composer`] and "Close chat". Everything else is read-only. New visitor
//! messages are announced by the announcer, so the transcript is not a live region.

use super::composer::Composer;
use super::{channel_badge, focus_soon};
use crate::runtime::{Runtime, now_ms};
use crate::state::channels::{Story, comment_of, story};
use crate::state::{Chat, Input, OutKind, words};
use leptos::prelude::*;
use porchlight_protocol::channels::ChannelKind;
use porchlight_protocol::console::Stage;
use porchlight_protocol::{AuthorKind, ConversationEvent, ConversationId, EventRecord};

/// The chat view, or a hint while no conversation is open.
#[component]
pub fn ChatView() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let open = Memo::new(move |_| {
        runtime
            .console
            .with(|c| c.chat.as_ref().map(|ch| ch.id.clone()))
    });
    move || match open.get() {
        Some(id) => view! { <ChatPane id /> }.into_any(),
        None => view! {
            <section class="pc-chat-empty" aria-label="Conversation">
                <p>"Open a conversation to read it here."</p>
            </section>
        }
        .into_any(),
    }
}

/// How the heading's facts read.
#[derive(Clone, PartialEq, Eq)]
struct Facts {
    name: String,
    email: Option<String>,
    channel: String,
    stage: &'static str,
    agent: Option<String>,
    stage_raw: Option<Stage>,
    kind: ChannelKind,
    /// A comment conversation: what was done about the comment.
    comment: Option<String>,
    story: Option<Story>,
}

fn author_class(kind: AuthorKind) -> &'static str {
    match kind {
        AuthorKind::Visitor => "pc-msg pc-from-visitor",
        AuthorKind::Bot => "pc-msg pc-from-bot",
        AuthorKind::Agent => "pc-msg pc-from-agent",
    }
}

/// One stored event as a transcript line. Visitor messages are signed with `visitor` (the
/// desk names the visitor as the widget shows them: "You").
fn record_view(record: EventRecord, visitor: &str) -> impl IntoView + use<> {
    let seq = record.seq.0;
    match record.event {
        ConversationEvent::MessageReceived { author, text, .. } => view! {
            <li class=author_class(author.kind) data-seq=seq>
                <span class="pc-author">
                    {if author.kind == AuthorKind::Visitor { visitor.to_string() } else { author.name }}
                </span>
                <p class="pc-text">{text}</p>
            </li>
        }
        .into_any(),
        event => {
            let (line, quote) = words::system_line(&event).unwrap_or_default();
            view! {
                <li class="pc-system" data-seq=seq>
                    <p class="pc-system-text">{line}</p>
                    {quote.map(|q| view! { <p class="pc-quote">{q}</p> })}
                </li>
            }
            .into_any()
        }
    }
}

/// One part of the open chat, recomputed when the console changes; the part's default
/// while no chat is open.
fn chat_part<T>(runtime: Runtime, part: fn(&Chat) -> T) -> Memo<T>
where
    T: Default + PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| {
        runtime
            .console
            .with(|c| c.chat.as_ref().map(part).unwrap_or_default())
    })
}

#[component]
fn ChatPane(id: ConversationId) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let facts_id = id.clone();
    let facts = Memo::new(move |_| {
        runtime.console.with(|c| {
            let s = c.conversations.get(&facts_id);
            Facts {
                name: s.map_or_else(|| "Visitor".into(), words::visitor_name),
                email: s
                    .and_then(|s| s.email.clone())
                    .filter(|e| !e.trim().is_empty()),
                channel: s.map(|s| c.channel_name(s)).unwrap_or_default(),
                stage: s.map_or("", |s| words::stage_word(s.stage)),
                agent: s.and_then(|s| s.agent.as_ref()).map(|a| c.agent_name(a)),
                stage_raw: s.map(|s| s.stage),
                kind: s.map_or(ChannelKind::Web, |s| c.kind_of(s)),
                comment: s.and_then(comment_of).map(words::comment_state),
                story: s.and_then(|s| s.story.as_ref()).map(story),
            }
        })
    });
    let write_id = id.clone();
    let can_write = Memo::new(move |_| runtime.console.with(|c| c.can_write(&write_id)));
    let loaded = chat_part(runtime, |ch| ch.loaded);
    let events = chat_part(runtime, |ch| ch.events.clone());
    let pending_id = id.clone();
    let pending = Memo::new(move |_| {
        runtime.console.with(|c| {
            c.pending(&pending_id)
                .map(|o| {
                    let (author, text) = match &o.kind {
                        OutKind::Text => ("You", o.text.clone()),
                        OutKind::Private => ("You, privately", o.text.clone()),
                        OutKind::Template(name) => ("You", words::pending_template(name)),
                    };
                    (o.id.clone(), author, text, o.acked.is_some())
                })
                .collect::<Vec<_>>()
        })
    });
    let answers = chat_part(runtime, |ch| ch.answers.clone());
    let identity = chat_part(runtime, |ch| ch.identity.clone());
    let typing = chat_part(runtime, |ch| ch.visitor_typing);
    // Keep the newest line in view.
    let log = NodeRef::<leptos::html::Ol>::new();
    Effect::new(move |_| {
        let count = events.with(Vec::len) + pending.with(Vec::len);
        if let (Some(log), true) = (log.get(), count > 0) {
            log.set_scroll_top(log.scroll_height());
        }
    });
    focus_soon("#pc-chat-title");
    let close_view = {
        let id = id.clone();
        move |_| {
            runtime.dispatch(Input::CloseView);
            focus_soon(format!("li[data-conversation=\"{id}\"] .pc-open"));
        }
    };
    let read_only = move || {
        (!can_write.get()).then(|| {
            let f = facts.get();
            let why = match (f.stage_raw, f.agent) {
                (Some(Stage::Live), Some(agent)) => format!("Read only: {agent} has this chat."),
                (Some(Stage::Queued | Stage::Connecting), _) => {
                    "Read only until the request is accepted.".to_string()
                }
                (Some(Stage::Bot), _) => "Read only: the visitor is talking to the bot.".into(),
                _ => "Read only: this conversation is closed.".to_string(),
            };
            view! { <p class="pc-read-only">{why}</p> }
        })
    };
    let composer_id = id.clone();
    let window_id = id.clone();
    let has_window = Memo::new(move |_| {
        runtime
            .console
            .with(|c| c.window_line(&window_id, now_ms()).is_some())
    });
    let window_id = id.clone();
    let window = move || {
        let window_id = window_id.clone();
        has_window
            .get()
            .then(|| super::row::window_line(runtime, window_id))
    };
    view! {
        <section class="pc-chat" data-conversation=id.to_string() aria-labelledby="pc-chat-title">
            <div class="pc-chat-head">
                <div>
                    <h2 id="pc-chat-title" tabindex="-1">
                        {move || facts.get().name}
                    </h2>
                    <p class="pc-chat-meta">
                        {move || {
                            let f = facts.get();
                            let mut parts: Vec<String> = Vec::new();
                            parts.extend(f.email);
                            if !f.stage.is_empty() {
                                parts.push(f.stage.to_string());
                            }
                            if let Some(agent) = f.agent {
                                parts.push(format!("Agent: {agent}"));
                            }
                            let rest = (!parts.is_empty()).then(|| format!(" · {}", parts.join(" · ")));
                            view! {
                                {(!f.channel.is_empty()).then(|| channel_badge(f.kind, f.channel))}
                                {rest}
                            }
                        }}
                    </p>
                    {window}
                    {move || {
                        facts
                            .get()
                            .comment
                            .map(|line| view! { <p class="pc-comment-state">{line}</p> })
                    }}
                    {move || facts.get().story.map(story_view)}
                </div>
                <button type="button" class="pc-close-view" on:click=close_view>
                    "Hide conversation"
                </button>
            </div>
            <div class="pc-chat-body">
                <ol class="pc-log" aria-label="Transcript" tabindex="0" node_ref=log>
                    <For
                        each=move || events.get()
                        key=|r| r.seq
                        children=move |r| record_view(r, &facts.get_untracked().name)
                    />
                    <For
                        each=move || pending.get()
                        key=|(id, _, _, acked)| (id.clone(), *acked)
                        children=|(id, author, text, acked)| {
                            view! {
                                <li class="pc-msg pc-from-agent pc-pending" data-id=id.to_string()>
                                    <span class="pc-author">{author}</span>
                                    <p class="pc-text">{text}</p>
                                    <span class="pc-delivery">
                                        {if acked { "Sent" } else { "Sending…" }}
                                    </span>
                                </li>
                            }
                        }
                    />
                </ol>
                <section class="pc-details" aria-labelledby="pc-answers-title">
                    {move || {
                        identity
                            .get()
                            .map(|known| {
                                let badge = if known.verified { "Verified" } else { "Not verified" };
                                let lines = [
                                    ("User id".to_string(), Some(known.user_id)),
                                    ("Name".to_string(), known.name),
                                    ("Email".to_string(), known.email),
                                ]
                                    .into_iter()
                                    .filter_map(|(label, value)| Some((label, value?)))
                                    .chain(known.custom)
                                    .map(|(label, value)| view! {
                                        <dt>{label}</dt>
                                        <dd>{value}</dd>
                                    })
                                    .collect_view();
                                view! {
                                    <h3 class="pc-identity-title">
                                        "Signed-in user "
                                        <span
                                            class="pc-identity-badge"
                                            class:pc-verified=known.verified
                                        >
                                            {badge}
                                        </span>
                                    </h3>
                                    <dl class="pc-answers pc-identity">{lines}</dl>
                                }
                            })
                    }}
                    <h3 id="pc-answers-title">"Pre-chat answers"</h3>
                    <dl class="pc-answers">
                        {move || {
                            answers
                                .get()
                                .into_iter()
                                .map(|line| {
                                    view! {
                                        <dt>{line.label}</dt>
                                        <dd>{line.value}</dd>
                                    }
                                })
                                .collect_view()
                        }}
                    </dl>
                    {move || {
                        (loaded.get() && answers.with(Vec::is_empty))
                            .then(|| view! { <p class="pc-no-answers">"No pre-chat answers."</p> })
                    }}
                </section>
            </div>
            {move || (!loaded.get()).then(|| view! { <p class="pc-loading">"Loading the conversation…"</p> })}
            {move || typing.get().then(|| view! { <p class="pc-visitor-typing">"Visitor is typing…"</p> })}
            {read_only}
            {move || {
                can_write
                    .get()
                    .then(|| view! { <Composer id=composer_id.clone() name=facts.get_untracked().name /> })
            }}
        </section>
    }
}

/// The story a conversation is about: a link to it while the platform serves it (never the
/// media itself: the page's policy allows images from itself only), else a placeholder.
fn story_view(story: Story) -> impl IntoView {
    let Story {
        about,
        link,
        placeholder,
    } = story;
    view! {
        <div class="pc-story">
            <p class="pc-story-about">{about}</p>
            {link
                .map(|href| {
                    view! {
                        <a class="pc-story-link" href=href rel="noopener noreferrer" target="_blank">
                            "View the story"
                        </a>
                    }
                })}
            {placeholder.map(|text| view! { <p class="pc-story-gone">{text}</p> })}
        </div>
    }
}
