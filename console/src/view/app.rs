//! The root component: reads the token, then shows the sign-in screens or the desk. The
//! [`Gate`] decides which; signing in, out, and a refused token move it.

use super::desk::Desk;
use super::signin::{NoToken, Picker, WrongToken};
use crate::runtime::{api, storage};
use crate::state::Who;
use crate::state::gate::Gate;
use leptos::prelude::*;
use leptos::task::spawn_local;
use porchlight_protocol::AdminToken;

/// A `Copy` handle on the gate, in context for the screens.
#[derive(Clone, Copy)]
pub struct GateHandle(pub RwSignal<Gate>);

impl GateHandle {
    /// Reads the agents to pick from with `token`.
    pub fn load_agents(self, token: AdminToken) {
        self.0.set(Gate::Loading(token.clone()));
        spawn_local(async move {
            let next = match api::agents(&token).await {
                Ok(agents) => Gate::Picking(token, agents),
                Err(api::ApiError::Unauthorized) => {
                    storage::forget_token();
                    Gate::WrongToken
                }
                Err(api::ApiError::Failed(why)) => Gate::Failed(token, why),
            };
            self.0.set(next);
        });
    }

    /// Signs in as `who`, remembered for this tab.
    pub fn sign_in(self, token: AdminToken, who: Who) {
        storage::save_who(Some(&who));
        self.0.set(Gate::SignedIn(token, who));
    }

    /// Back to the picker.
    pub fn sign_out(self, token: AdminToken) {
        storage::save_who(None);
        self.load_agents(token);
    }

    /// The desk refused the token: say so, and forget it.
    pub fn wrong_token(self) {
        storage::forget_token();
        self.0.set(Gate::WrongToken);
    }

    /// Starts from the token in the URL or the tab's storage, if any.
    fn start(self) {
        match storage::take_token() {
            None => {}
            Some(Err(())) => self.0.set(Gate::WrongToken),
            Some(Ok(token)) => match storage::load_who() {
                Some(who) => self.0.set(Gate::SignedIn(token, who)),
                None => self.load_agents(token),
            },
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    let gate = GateHandle(RwSignal::new(Gate::NoToken));
    provide_context(gate);
    gate.start();
    // A console URL pasted into this tab changes only the fragment: no reload, so read it.
    let listener = window_event_listener(leptos::ev::hashchange, move |_| {
        if storage::has_token_in_url() {
            storage::save_who(None);
            gate.start();
        }
    });
    on_cleanup(move || listener.remove());
    move || match gate.0.get() {
        Gate::NoToken => view! { <NoToken /> }.into_any(),
        Gate::WrongToken => view! { <WrongToken /> }.into_any(),
        Gate::Loading(_) => view! { <Picker agents=None failed=None /> }.into_any(),
        Gate::Failed(token, why) => {
            view! { <Picker agents=None failed=Some((token, why)) /> }.into_any()
        }
        Gate::Picking(token, agents) => {
            view! { <Picker agents=Some((token, agents)) failed=None /> }.into_any()
        }
        Gate::SignedIn(token, who) => view! { <Desk token who /> }.into_any(),
    }
}
