//! The widget's start: listen to the host page, load the site configuration, hand it to
//! the machine and the view, then tell the host page the widget is ready and reopen the
//! panel if this tab left it open.

use super::{Runtime, api, host, storage};
use crate::machine::Input;
use leptos::task::spawn_local;
use porchlight_protocol::{SiteConfig, SiteId};

/// Whether `tag` looks like a BCP 47 language tag (`de`, `pt-BR`, `zh-Hant-TW`): 2 or 3
/// letters, then subtags of 1 to 8 letters or digits. Only such a tag goes into the query.
fn is_language_tag(tag: &str) -> bool {
    let (mut len, mut first) = (0, true);
    for b in tag.bytes().chain([b'-']) {
        if b == b'-' {
            let (min, max) = if first { (2, 3) } else { (1, 8) };
            if len < min || len > max {
                return false;
            }
            (len, first) = (0, false);
        } else if b.is_ascii_alphabetic() || (!first && b.is_ascii_digit()) {
            len += 1;
        } else {
            return false;
        }
    }
    true
}

/// The language the host page chose (`setLocale`), if a valid tag, for the configuration's
/// `?lang=`. Without one the server reads the browser's `Accept-Language`, which is the
/// visitor's `navigator.languages` in order: the widget need not send them.
fn chosen_language(site: &SiteId) -> String {
    storage::load_locale(site)
        .filter(|tag| is_language_tag(tag))
        .unwrap_or_default()
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
    fn only_language_tags_go_to_the_server() {
        for good in ["de", "de-AT", "zh-Hant-TW", "yue-Hant", "es-419"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in [
            "",
            "x",
            "d3",
            "de-",
            "-de",
            "de--at",
            "de-toolongsubtag",
            "deutsch",
            "12",
            "en-US&evil=1",
            "de,fr",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
