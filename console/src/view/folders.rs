//! The folders as tabs (`role="tablist"`; arrow keys, Home and End move between them, and
//! every tab is also on the Tab sequence), each with its count; below them the folder's
//! filters — channel on the queue and history, agent (admins) on engaged, live chats and
//! history, search on history — and its rows.

use super::aria_bool;
use super::row::RowView;
use crate::runtime::Runtime;
use crate::state::folders::{FOLDERS, filters_agent, filters_channel, slug};
use crate::state::{Input, Who, words};
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

/// The folder's filters and, on history, the search box.
#[component]
fn Filters(folder: Memo<Folder>) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let admin = runtime.console.with_untracked(|c| c.who == Who::Admin);
    let channels = Memo::new(move |_| {
        runtime.console.with(|c| {
            c.channels
                .iter()
                .map(|ch| (ch.id.clone(), ch.name.clone()))
                .collect::<Vec<_>>()
        })
    });
    let agents = Memo::new(move |_| {
        runtime.console.with(|c| {
            c.agents
                .iter()
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect::<Vec<_>>()
        })
    });
    let channel_filter = Memo::new(move |_| runtime.console.with(|c| c.channel_filter.clone()));
    let agent_filter = Memo::new(move |_| runtime.console.with(|c| c.agent_filter.clone()));
    let channel_select = move || {
        filters_channel(folder.get()).then(|| {
            view! {
                <div class="pc-filter">
                    <label for="pc-filter-channel">"Channel"</label>
                    <select
                        id="pc-filter-channel"
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            let channel = ChannelId::new(value).ok();
                            runtime.dispatch(Input::FilterChannel(channel));
                        }
                    >
                        <option value="" prop:selected=move || channel_filter.get().is_none()>
                            "All channels"
                        </option>
                        {move || {
                            channels
                                .get()
                                .into_iter()
                                .map(|(id, name)| {
                                    let selected_id = id.clone();
                                    view! {
                                        <option
                                            value=id.to_string()
                                            prop:selected=move || {
                                                channel_filter.get().as_ref() == Some(&selected_id)
                                            }
                                        >
                                            {name}
                                        </option>
                                    }
                                })
                                .collect_view()
                        }}
                    </select>
                </div>
            }
        })
    };
    let agent_select = move || {
        (admin && filters_agent(folder.get())).then(|| {
            view! {
                <div class="pc-filter">
                    <label for="pc-filter-agent">"Agent"</label>
                    <select
                        id="pc-filter-agent"
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            let agent = AgentId::new(value).ok();
                            runtime.dispatch(Input::FilterAgent(agent));
                        }
                    >
                        <option value="" prop:selected=move || agent_filter.get().is_none()>
                            "All agents"
                        </option>
                        {move || {
                            agents
                                .get()
                                .into_iter()
                                .map(|(id, name)| {
                                    let selected_id = id.clone();
                                    view! {
                                        <option
                                            value=id.to_string()
                                            prop:selected=move || {
                                                agent_filter.get().as_ref() == Some(&selected_id)
                                            }
                                        >
                                            {name}
                                        </option>
                                    }
                                })
                                .collect_view()
                        }}
                    </select>
                </div>
            }
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
            {agent_select}
            {search}
        </div>
    }
}
