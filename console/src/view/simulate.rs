//! The Simulate panel (a disclosure, closed at first): a customer's message on a social
//! channel, delivered by the desk as that platform would — for rehearsing without webhooks.
//! Shown to agents and admins while any social channel is connected. The message is
//! cleared once sent; the channel and name stay for the next one.

use crate::runtime::Runtime;
use crate::state::Input;
use leptos::prelude::*;
use porchlight_protocol::ChannelId;
use porchlight_protocol::limits::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS};

#[component]
pub fn Simulate() -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let channels = Memo::new(move |_| {
        runtime.console.with(|c| {
            c.simulated_channels()
                .into_iter()
                .map(|ch| (ch.id.to_string(), ch.name.clone()))
                .collect::<Vec<_>>()
        })
    });
    let channel = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let picked = channel
            .get_untracked()
            .or_else(|| channels.with_untracked(|c| c.first().map(|(id, _)| id.clone())));
        let Some(Ok(channel)) = picked.map(ChannelId::new) else {
            return;
        };
        let sent = runtime.act(Input::Simulate {
            channel,
            name: name.get_untracked(),
            text: text.get_untracked(),
        });
        if sent {
            text.set(String::new());
        }
    };
    move || {
        (!channels.with(Vec::is_empty)).then(|| {
            view! {
                <details class="pc-simulate">
                    <summary>"Simulate a customer"</summary>
                    <form class="pc-sim-form" on:submit=submit>
                        <div class="pc-field">
                            <label for="pc-sim-channel">"Channel"</label>
                            <select
                                id="pc-sim-channel"
                                on:change=move |ev| channel.set(Some(event_target_value(&ev)))
                            >
                                <For
                                    each=move || channels.get()
                                    key=|option| option.clone()
                                    children=move |(value, label)| {
                                        view! { <option value=value>{label}</option> }
                                    }
                                />
                            </select>
                        </div>
                        <div class="pc-field">
                            <label for="pc-sim-name">"Customer name"</label>
                            <input
                                id="pc-sim-name"
                                type="text"
                                required
                                autocomplete="off"
                                maxlength=MAX_NAME_CHARS
                                prop:value=move || name.get()
                                on:input=move |ev| name.set(event_target_value(&ev))
                            />
                        </div>
                        <div class="pc-field pc-sim-message">
                            <label for="pc-sim-text">"Message"</label>
                            <textarea
                                id="pc-sim-text"
                                rows="2"
                                required
                                maxlength=MAX_MESSAGE_CHARS
                                prop:value=move || text.get()
                                on:input=move |ev| text.set(event_target_value(&ev))
                            ></textarea>
                        </div>
                        <button type="submit" class="pc-sim-send">
                            "Send as customer"
                        </button>
                    </form>
                </details>
            }
        })
    }
}
