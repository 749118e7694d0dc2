//! The root component: loads the site configuration, then shows the launcher and panel.

use super::launcher::Launcher;
use super::panel::Panel;
use crate::machine::Input;
use crate::runtime::{Runtime, api, host, storage};
use leptos::prelude::*;
use leptos::task::spawn_local;
use porchlight_protocol::{Position, SiteConfig, SiteId};
use wasm_bindgen::JsCast;

/// Applies the site's brand colour and language to the widget's document.
fn apply_theme(config: &SiteConfig) {
    let root = document().document_element();
    if let Some(root) = root.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = root
            .style()
            .set_property("--pl-brand", config.brand_color.as_str());
        root.set_lang(&config.language);
    }
}

/// The whole widget for `site`.
#[component]
pub fn App(site: SiteId) -> impl IntoView {
    let runtime = Runtime::new(site.clone());
    provide_context(runtime);
    host::listen(runtime);
    let config = RwSignal::new(None::<&'static SiteConfig>);
    spawn_local(async move {
        match api::site_config(&site).await {
            Ok(loaded) => {
                // Loaded once, kept for the page's life: the views borrow from it.
                let loaded: &'static SiteConfig = Box::leak(Box::new(loaded));
                apply_theme(loaded);
                runtime.dispatch(Input::Configured {
                    bot_enabled: loaded.bot_enabled,
                    prechat: loaded.prechat.clone(),
                });
                config.set(Some(loaded));
                host::ready();
                if storage::load_open(&site) {
                    runtime.dispatch(Input::Open);
                }
            }
            Err(err) => leptos::logging::error!("Porchlight cannot load its configuration: {err}"),
        }
    });
    Effect::new(move |_| {
        let open = runtime.widget.with(|w| w.open);
        if let Some(position) = config.with(|c| c.as_ref().map(|c| c.position)) {
            host::resize(open, position);
        }
    });
    move || {
        config.get().map(|config| {
            let left = config.position == Position::BottomLeft;
            view! {
                <div class="pl-root" class=("pl-left", left)>
                    <Panel config />
                    <Launcher label=config.texts.open_label.as_str() />
                </div>
            }
        })
    }
}
