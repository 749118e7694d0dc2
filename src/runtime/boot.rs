//! The widget's start: listen to the host page, load the site configuration, hand it to
//! the machine and the view, then tell the host page the widget is ready and reopen the
//! panel if this tab left it open.

use super::{Runtime, api, host, storage};
use crate::machine::Input;
use leptos::task::spawn_local;
use porchlight_protocol::{SiteConfig, SiteId};

/// The language the host page chose (`setLocale`, whose tag the loader checked to be a
/// BCP 47 language tag), for the configuration's `?lang=`; only letters, digits and `-`
/// go into the query. Without one the server reads the browser's `Accept-Language`, which
/// is the visitor's `navigator.languages` in order: the widget need not send them.
fn chosen_language(site: &SiteId) -> String {
    storage::load_locale(site)
        .filter(|tag| query_safe(tag))
        .unwrap_or_default()
}

fn query_safe(tag: &str) -> bool {
    tag.len() <= 35 && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Starts the runtime; `show` draws the widget once the configuration is known. The
/// configuration is loaded once and kept for the page's life, so the views borrow from it.
pub fn start(runtime: Runtime, show: impl FnOnce(&'static SiteConfig) + 'static) {
    host::listen(runtime);
    spawn_local(async move {
        let site = runtime.site();
        match api::site_config(&site, &chosen_language(&site)).await {
            Ok(loaded) => {
                let config: &'static SiteConfig = Box::leak(Box::new(loaded));
                runtime.dispatch(Input::Configured {
                    bot_enabled: config.bot_enabled,
                    prechat: config.prechat.clone(),
                    identity_required: config.identity_required,
                    sound: config.sound,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tag_characters_go_into_the_query() {
        for good in ["de", "de-AT", "zh-Hant-TW", "es-419"] {
            assert!(query_safe(good), "{good}");
        }
        for bad in ["en-US&evil=1", "de,fr", "de AT", "é", &"a".repeat(36)] {
            assert!(!query_safe(bad), "{bad}");
        }
    }
}
