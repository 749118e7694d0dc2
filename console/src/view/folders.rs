//! The folders as tabs (`role="tablist"`; arrow keys, Home and End move between them, and
//! every tab is also on the Tab sequence), each with its count; below them the folder's
//! filters — channel on the queue and history, post there too while comments are among
//! them, agent (admins) on engaged, live chats and history, search on history — and its
//! rows.

use super::aria_bool;
use super::row::RowView;
use crate::runtime::Runtime;
use crate::state::folders::{FOLDERS, filters_agent, filters_channel, slug};
use crate::state::{Console, Input, Who, words};
use leptos::prelude::*;
use porchlight_protocol::console::Folder;
use porchlight_protocol::{AgentId, ChannelId};

#[component]
pub fn Folders() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let admin = runtime.console.with_untracked(|c| c.who == Who::Admin);
    let folder = Memo::new(move |_| runtime.console.with(|c| c.folder));
    let show = move |f: Folder| {
        runtime.dispatch(Input::ShowFolder(f));
        super::focus_soon(format!("#pc-tab-{}", slug(f)));
    };
    let tabs = FOLDERS
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            let count = Memo::new(move |_| runtime.console.with(|c| c.count(f)));
            let on_key = move |ev: leptos::ev::KeyboardEvent| {
                let n = FOLDERS.len();
                let to = match ev.key().as_str() {
                    "ArrowRight" | "ArrowDown" => (i + 1) % n,
                    "ArrowLeft" | "ArrowUp" => (i + n - 1) % n,
                    "Home" => 0,
                    "End" => n - 1,
                    _ => return,
                };
                ev.prevent_default();
                show(FOLDERS[to]);
            };
            view! {
                <button
                    type="button"
                    role="tab"
                    class="pc-folder"
                    id=format!("pc-tab-{}", slug(f))
                    data-folder=slug(f)
                    aria-controls="pc-folder-panel"
                    aria-selected=move || aria_bool(folder.get() == f)
                    on:click=move |_| runtime.dispatch(Input::ShowFolder(f))
                    on:keydown=on_key
                >
                    {words::folder_label(f, admin)}
                    " "
                    <span class="pc-count">{move || count.get()}</span>
                </button>
            }
        })
        .collect_view();
    let ids = Memo::new(move |_| runtime.console.with(|c| c.folder_ids(c.folder)));
    let empty = move || {
        ids.with(Vec::is_empty).then(|| {
            let searching = runtime.console.with(|c| !c.search.trim().is_empty());
            view! { <p class="pc-empty">{words::empty_folder(folder.get(), searching)}</p> }
        })
    };
    view! {
        <section class="pc-folders" aria-labelledby="pc-folders-title">
            <h2 id="pc-folders-title" class="pc-visually-hidden">
                "Conversations"
            </h2>
            <div class="pc-tabs" role="tablist" aria-label="Folders">
                {tabs}
            </div>
            <div
                id="pc-folder-panel"
                class="pc-folder-panel"
                role="tabpanel"
                data-folder=move || slug(folder.get())
                aria-labelledby=move || format!("pc-tab-{}", slug(folder.get()))
            >
                <Filters folder />
                // One list per folder, so switching folders starts a fresh list.
                {move || {
                    let f = folder.get();
                    view! {
                        <ul class="pc-list" aria-label=words::folder_label(f, admin)>
                            <For
                                each=move || ids.get()
                                key=|id| id.clone()
                                children=move |id| view! { <RowView id folder=f /> }
                            />
                        </ul>
                    }
                }}
                {empty}
            </div>
        </section>
    }
}

/// What one filter's select shows: "All …" first, then the desk's options as
/// `(value, name)`, with the one in force (`chosen`) selected.
struct FilterSelect {
    id: &'static str,
    label: &'static str,
    all: &'static str,
    options: fn(&Console) -> Vec<(String, String)>,
    chosen: fn(&Console) -> Option<String>,
}

/// A labelled filter select; `pick` gets the picked value (empty for "All …").
fn filter_select(
    runtime: Runtime,
    select: FilterSelect,
    pick: impl Fn(String) + 'static,
) -> impl IntoView {
    let FilterSelect {
        id,
        label,
        all,
        options,
        chosen,
    } = select;
    let options = Memo::new(move |_| runtime.console.with(options));
    let chosen = Memo::new(move |_| runtime.console.with(chosen));
    view! {
        <div class="pc-filter">
            <label for=id>{label}</label>
            <select id=id on:change=move |ev| pick(event_target_value(&ev))>
                <option value="" prop:selected=move || chosen.with(Option::is_none)>
                    {all}
                </option>
                // Keyed, so options already there stay the same elements as others arrive.
                <For
                    each=move || options.get()
                    key=|option| option.clone()
                    children=move |(value, name)| {
                        let this = value.clone();
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
        </div>
    }
}

/// The folder's filters and, on history, the search box.
#[component]
fn Filters(folder: Memo<Folder>) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let admin = runtime.console.with_untracked(|c| c.who == Who::Admin);
    let channel_select = move || {
        filters_channel(folder.get()).then(|| {
            let pick =
                move |value| runtime.dispatch(Input::FilterChannel(ChannelId::new(value).ok()));
            let select = FilterSelect {
                id: "pc-filter-channel",
                label: "Channel",
                all: "All channels",
                options: |c| {
                    c.channels
                        .iter()
                        .map(|ch| (ch.id.to_string(), ch.name.clone()))
                        .collect()
                },
                chosen: |c| c.channel_filter.as_ref().map(ToString::to_string),
            };
            filter_select(runtime, select, pick)
        })
    };
    let has_posts = Memo::new(move |_| runtime.console.with(|c| !c.posts(c.folder).is_empty()));
    let post_select = move || {
        (filters_channel(folder.get()) && has_posts.get()).then(|| {
            let pick = move |value: String| {
                runtime.dispatch(Input::FilterPost((!value.is_empty()).then_some(value)))
            };
            let select = FilterSelect {
                id: "pc-filter-post",
                label: "Post",
                all: "All posts",
                options: |c| {
                    c.posts(c.folder)
                        .into_iter()
                        .map(|p| (p.clone(), p))
                        .collect()
                },
                chosen: |c| c.post_filter.clone(),
            };
            filter_select(runtime, select, pick)
        })
    };
    let agent_select = move || {
        (admin && filters_agent(folder.get())).then(|| {
            let pick = move |value| runtime.dispatch(Input::FilterAgent(AgentId::new(value).ok()));
            let select = FilterSelect {
                id: "pc-filter-agent",
                label: "Agent",
                all: "All agents",
                options: |c| {
                    c.agents
                        .iter()
                        .map(|a| (a.id.to_string(), a.name.clone()))
                        .collect()
                },
                chosen: |c| c.agent_filter.as_ref().map(ToString::to_string),
            };
            filter_select(runtime, select, pick)
        })
    };
    let search = move || {
        (folder.get() == Folder::History).then(|| {
            view! {
                <div class="pc-filter pc-search">
                    <label for="pc-search">"Search history"</label>
                    <input
                        id="pc-search"
                        type="search"
                        autocomplete="off"
                        prop:value=move || runtime.console.with(|c| c.search.clone())
                        on:input=move |ev| {
                            runtime.dispatch(Input::SearchTyped(event_target_value(&ev)))
                        }
                    />
                </div>
            }
        })
    };
    view! {
        <div class="pc-filters">
            {channel_select}
            {post_select}
            {agent_select}
            {search}
        </div>
    }
}
