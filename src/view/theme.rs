//! The site's look on the widget's document: the brand colour and the text colour on it
//! (the server chose it for a contrast of at least 4.5:1), the language and its writing
//! direction, and a colour scheme the site forces (`data-scheme`; without it the
//! stylesheet follows the visitor's `prefers-color-scheme`). `boot.js` sets the same from
//! the widget's address before the app starts; this is the served configuration's word.

use leptos::prelude::document;
use porchlight_protocol::{ColorScheme, SiteConfig, TextDirection};

/// Applies `config`'s look to the whole widget document (`<html>`).
pub fn apply(config: &SiteConfig) {
    let Some(root) = document().document_element() else {
        return;
    };
    let dir = match config.dir {
        TextDirection::Ltr => "ltr",
        TextDirection::Rtl => "rtl",
    };
    let scheme = match config.color_scheme {
        ColorScheme::Light => "light",
        ColorScheme::Dark => "dark",
        ColorScheme::Auto => "auto",
    };
    // A light brand colour (dark text on it) is too pale for text on the light surface:
    // links and outlines take the text colour instead.
    let accent = if config.brand_text_color.as_str() == "#ffffff" {
        ""
    } else {
        "--pl-accent:var(--pl-text)"
    };
    let style = format!(
        "--pl-brand:{};--pl-on-brand:{};{accent}",
        config.brand_color.as_str(),
        config.brand_text_color.as_str()
    );
    for (name, value) in [
        ("lang", config.language.as_str()),
        ("dir", dir),
        ("data-scheme", scheme),
        ("style", &style),
    ] {
        let _ = root.set_attribute(name, value);
    }
}
