//! The screens before the desk: no token in the URL, a wrong token, and the picker where
//! one signs in as a configured agent or as an admin.

use super::app::GateHandle;
use crate::state::Who;
use crate::state::gate::AgentChoice;
use leptos::prelude::*;
use porchlight_protocol::AdminToken;

/// A page of its own before the desk: one heading, one `<main>`.
#[component]
fn GatePage(children: Children) -> impl IntoView {
    view! {
        <main id="pc-main" class="pc-gate">
            <h1 class="pc-gate-title">"Porchlight console"</h1>
            {children()}
        </main>
    }
}

#[component]
pub fn NoToken() -> impl IntoView {
    view! {
        <GatePage>
            <p class="pc-gate-message pc-no-token">
                "This console needs the server's admin token. Open the console URL printed by "
                <code>"cargo xtask demo"</code> " (it ends in " <code>"#token=…"</code> ")."
            </p>
        </GatePage>
    }
}

#[component]
pub fn WrongToken() -> impl IntoView {
    view! {
        <GatePage>
            <p class="pc-gate-message pc-wrong-token">
                "The token is wrong: the server did not accept it (it may have restarted with a new one). Open the console URL printed by "
                <code>"cargo xtask demo"</code> " again."
            </p>
        </GatePage>
    }
}

/// Pick who you are. `agents` is `None` while loading (or after `failed`).
#[component]
pub fn Picker(
    agents: Option<(AdminToken, Vec<AgentChoice>)>,
    failed: Option<(AdminToken, String)>,
) -> impl IntoView {
    let gate = expect_context::<GateHandle>();
    let body = match (agents, failed) {
        (Some((token, agents)), _) => {
            let admin_token = token.clone();
            let buttons = agents
                .into_iter()
                .map(|agent| {
                    let token = token.clone();
                    let id = agent.id.clone();
                    let state = if agent.online { "online" } else { "offline" };
                    view! {
                        <li>
                            <button
                                type="button"
                                class="pc-sign-in"
                                data-agent=agent.id.to_string()
                                on:click=move |_| {
                                    gate.sign_in(token.clone(), Who::Agent(id.clone()))
                                }
                            >
                                {agent.name}
                            </button>
                            <span class="pc-agent-state">{state}</span>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <h2>"Sign in"</h2>
                <p>"Work the desk as one of the server's agents, or as an admin."</p>
                <ul class="pc-agents">{buttons}</ul>
                <button
                    type="button"
                    class="pc-sign-in-admin"
                    on:click=move |_| gate.sign_in(admin_token.clone(), Who::Admin)
                >
                    "Admin — sees everything"
                </button>
            }
            .into_any()
        }
        (None, Some((token, why))) => view! {
            <h2>"Sign in"</h2>
            <p class="pc-gate-message pc-load-failed" role="alert">
                {format!("The agents could not be loaded: {why}.")}
            </p>
            <button
                type="button"
                class="pc-retry"
                on:click=move |_| gate.load_agents(token.clone())
            >
                "Try again"
            </button>
        }
        .into_any(),
        (None, None) => {
            view! { <p class="pc-gate-message" role="status">"Loading the agents…"</p> }.into_any()
        }
    };
    view! { <GatePage>{body}</GatePage> }
}
