//! The widget's start: listen to the host page, load the site configuration, hand it to
//! the machine and the view, then tell the host page the widget is ready and reopen the
//! panel if this tab left it open.

use super::{Runtime, api, host, storage};
use crate::machine::Input;
use leptos::task::spawn_local;
use porchlight_protocol::SiteConfig;

/// Starts the runtime; `show` draws the widget once the configuration is known. The
/// configuration is loaded once and kept for the page's life, so the views borrow from it.
pub fn start(runtime: Runtime, show: impl FnOnce(&'static SiteConfig) + 'static) {
    host::listen(runtime);
    spawn_local(async move {
        let site = runtime.site();
        match api::site_config(&site).await {
            Ok(loaded) => {
                let config: &'static SiteConfig = Box::leak(Box::new(loaded));
                runtime.dispatch(Input::Configured {
                    bot_enabled: config.bot_enabled,
                    prechat: config.prechat.clone(),
                    identity_required: config.identity_required,
                });
                show(config);
                host::ready();
                if storage::load_open(&site) {
                    runtime.dispatch(Input::Open);
                }
            }
            Err(err) => leptos::logging::error!("Porchlight cannot load its configuration: {err}"),
        }
    });
}
