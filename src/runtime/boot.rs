//! The widget's start: listen to the host page, load the site configuration, hand it to
//! the machine and the view, then tell the host page the widget is ready and reopen the
//! panel if this tab left it open.

use super::{Runtime, api, host, storage};
use crate::machine::Input;
use js_sys::{Array, Reflect};
use leptos::task::spawn_local;
use porchlight_protocol::{SiteConfig, SiteId};
use wasm_bindgen::JsCast;

/// At most this many of the visitor's languages go to the server.
const MAX_LANGUAGES: usize = 5;

/// Whether `tag` looks like a BCP 47 language tag (`de`, `pt-BR`, `zh-Hant-TW`): only
/// such tags go into the configuration's query.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The visitor's languages, most wanted first, comma-separated: the host page's
/// `setLocale` tag, then the browser's `navigator.languages`.
fn languages(site: &SiteId) -> String {
    let browser = web_sys::window()
        .and_then(|w| Reflect::get(&w, &"navigator".into()).ok())
        .and_then(|n| Reflect::get(&n, &"languages".into()).ok())
        .and_then(|l| l.dyn_into::<Array>().ok())
        .map(|l| l.iter().filter_map(|t| t.as_string()).collect::<Vec<_>>())
        .unwrap_or_default();
    join_languages(storage::load_locale(site).into_iter().chain(browser))
}

fn join_languages(tags: impl Iterator<Item = String>) -> String {
    tags.filter(|t| is_language_tag(t))
        .take(MAX_LANGUAGES)
        .collect::<Vec<_>>()
        .join(",")
}

/// Starts the runtime; `show` draws the widget once the configuration is known. The
/// configuration is loaded once and kept for the page's life, so the views borrow from it.
pub fn start(runtime: Runtime, show: impl FnOnce(&'static SiteConfig) + 'static) {
    host::listen(runtime);
    spawn_local(async move {
        let site = runtime.site();
        match api::site_config(&site, &languages(&site)).await {
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
    fn only_language_tags_go_to_the_server_at_most_five() {
        let tags = [
            "de-AT",
            "de",
            "x",
            "en-US&evil=1",
            "zh-Hant-TW",
            "",
            "fr",
            "es",
            "ar",
            "he",
        ];
        assert_eq!(
            join_languages(tags.iter().map(|t| t.to_string())),
            "de-AT,de,zh-Hant-TW,fr,es"
        );
        assert!(!is_language_tag("d3"));
        assert!(!is_language_tag("de-"));
        assert!(!is_language_tag("de-toolongsubtag"));
        assert!(is_language_tag("yue-Hant"));
    }
}
