//! The signed-in page: a header with who is signed in, the online toggle and load (agents),
//! the mock clock while it runs ahead, the link's state and "Sign out"; then the one
//! `<main>`: notices, the folders beside the open chat, and the Simulate panel. A refused
//! token leaves for the wrong-token screen.

use super::app::GateHandle;
use super::aria_bool;
use super::chat::ChatView;
use super::folders::Folders;
use super::notices::Notices;
use super::simulate::Simulate;
use crate::runtime::Runtime;
use crate::state::{Input, LinkState, Stop, Who, words};
use leptos::prelude::*;
use porchlight_protocol::AdminToken;

#[component]
pub fn Desk(token: AdminToken, who: Who) -> impl IntoView {
    let gate = expect_context::<GateHandle>();
    let runtime = Runtime::new(token.clone(), who.clone());
    provide_context(runtime);
    let link = Memo::new(move |_| runtime.console.with(|c| (c.link.clone(), c.attempts)));
    Effect::new(move |_| {
        if link.with(|(l, _)| *l == LinkState::Stopped(Stop::WrongToken)) {
            gate.wrong_token();
        }
    });
    let is_agent = who.agent().is_some();
    let fallback_name = match &who {
        Who::Agent(id) => id.to_string(),
        Who::Admin => "Admin".to_string(),
    };
    let name = Memo::new(move |_| {
        runtime.console.with(|c| {
            c.me()
                .map_or_else(|| fallback_name.clone(), |me| me.name.clone())
        })
    });
    let me = Memo::new(move |_| {
        runtime
            .console
            .with(|c| c.me().map(|m| (m.online, m.load, m.max_chats)))
    });
    let mock_clock = Memo::new(move |_| runtime.console.with(|c| c.mock_clock()));
    let link_text = move || {
        link.with(|(state, attempts)| match state {
            LinkState::Connecting if *attempts == 0 => "Connecting…",
            LinkState::Connecting | LinkState::Reconnecting => "Reconnecting…",
            LinkState::Online | LinkState::Stopped(_) => "",
        })
    };
    let stopped = move || {
        link.with(|(state, _)| match state {
            LinkState::Stopped(Stop::Refused(why)) => Some(why.clone()),
            _ => None,
        })
    };
    let agent_controls = is_agent.then(|| {
        view! {
            <button
                type="button"
                id="pc-online"
                class="pc-toggle"
                aria-pressed=move || aria_bool(me.get().is_some_and(|m| m.0))
                disabled=move || me.get().is_none()
                on:click=move |_| {
                    if let Some((online, _, _)) = me.get_untracked() {
                        runtime.dispatch(Input::SetOnline(!online));
                    }
                }
            >
                <span class="pc-toggle-dot" aria-hidden="true"></span>
                "Online"
            </button>
            <p id="pc-load" class="pc-load">
                {move || me.get().map(|(_, load, max)| words::load(load, max))}
            </p>
        }
    });
    view! {
        <header class="pc-header">
            <h1 class="pc-title">"Porchlight console"</h1>
            <p class="pc-user">
                "Signed in as " <strong id="pc-user-name">{move || name.get()}</strong>
            </p>
            {agent_controls}
            {move || mock_clock.get().map(|line| view! { <p id="pc-clock" class="pc-clock">{line}</p> })}
            <p id="pc-link" class="pc-link" role="status">
                {link_text}
            </p>
            <button
                type="button"
                id="pc-sign-out"
                on:click=move |_| gate.sign_out(token.clone())
            >
                "Sign out"
            </button>
        </header>
        <main id="pc-main" class="pc-main">
            <Notices />
            {move || stopped().map(|why| view! { <p class="pc-stopped">{why}</p> })}
            <div class="pc-desk">
                <Folders />
                <ChatView />
            </div>
            <Simulate />
        </main>
    }
}
