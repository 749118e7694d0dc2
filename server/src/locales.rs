//! The widget's languages, served with the site configuration rather than compiled into
//! the widget: one bundle a language (`assets/locales/{tag}.toml`: its `dir` and every
//! text of the protocol's [`Texts`]), the choice of a bundle by the visitor's languages
//! (`?lang=de-AT,de,en`, what `navigator.languages` says), and the site's own texts laid
//! over it.

use crate::config::ServerConfig;
use porchlight_protocol::{Position, SiteConfig, TextDirection, Texts};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The bundles built in, by language tag.
const BUNDLES: &[(&str, &str)] = &[
    ("en", include_str!("../assets/locales/en.toml")),
    ("de", include_str!("../assets/locales/de.toml")),
    ("es", include_str!("../assets/locales/es.toml")),
    ("fr", include_str!("../assets/locales/fr.toml")),
    ("ar", include_str!("../assets/locales/ar.toml")),
    ("he", include_str!("../assets/locales/he.toml")),
];

/// The site language that lets the visitor's languages choose.
pub const AUTO: &str = "auto";

/// The language used when nothing the visitor accepts is bundled and the site names none.
pub const FALLBACK: &str = "en";

/// The most language tags of a request looked at, and the longest one.
const MAX_WANTED: usize = 20;
const MAX_TAG_BYTES: usize = 35;

/// One language's bundle as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleFile {
    dir: TextDirection,
    texts: BTreeMap<String, String>,
}

/// One language: its tag, direction and every text.
#[derive(Debug, Clone, PartialEq)]
pub struct Locale {
    pub tag: &'static str,
    pub dir: TextDirection,
    pub texts: Texts,
}

/// Why a bundle is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocaleError {
    #[error("locale bundle {tag}: {message}")]
    Invalid { tag: String, message: String },
    #[error("locale bundle {tag} lacks the text {key}")]
    Missing { tag: String, key: String },
    #[error("locale bundle {tag}: {key} lacks the placeholder {placeholder}")]
    Placeholder {
        tag: String,
        key: String,
        placeholder: String,
    },
}

/// The names and English texts of every [`Texts`] member.
fn english() -> BTreeMap<String, String> {
    serde_json::to_value(Texts::default())
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// `{…}` placeholders in a text.
fn placeholders(text: &str) -> Vec<&str> {
    text.match_indices('{')
        .filter_map(|(at, _)| {
            let end = text.get(at..)?.find('}')?;
            text.get(at..=at + end)
        })
        .collect()
}

/// `base` with every text `overrides` names replaced; unknown names are ignored (the
/// site's texts are checked when its configuration is read).
pub fn overlay(base: &Texts, overrides: &BTreeMap<String, String>) -> Texts {
    if overrides.is_empty() {
        return base.clone();
    }
    let Ok(serde_json::Value::Object(mut members)) = serde_json::to_value(base) else {
        return base.clone();
    };
    for (key, text) in overrides {
        if members.contains_key(key) {
            members.insert(key.clone(), serde_json::Value::String(text.clone()));
        }
    }
    serde_json::from_value(serde_json::Value::Object(members)).unwrap_or_else(|_| base.clone())
}

fn parse(tag: &'static str, text: &str) -> Result<Locale, LocaleError> {
    let invalid = |message: String| LocaleError::Invalid {
        tag: tag.into(),
        message,
    };
    let file: BundleFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let english = english();
    for (key, text) in &english {
        let translated = file.texts.get(key).ok_or_else(|| LocaleError::Missing {
            tag: tag.into(),
            key: key.clone(),
        })?;
        for placeholder in placeholders(text) {
            if !translated.contains(placeholder) {
                return Err(LocaleError::Placeholder {
                    tag: tag.into(),
                    key: key.clone(),
                    placeholder: placeholder.into(),
                });
            }
        }
    }
    if let Some(unknown) = file.texts.keys().find(|k| !english.contains_key(*k)) {
        return Err(invalid(format!("unknown text {unknown}")));
    }
    Ok(Locale {
        tag,
        dir: file.dir,
        texts: overlay(&Texts::default(), &file.texts),
    })
}

/// Every bundle built in, read once.
pub fn built_in() -> Result<&'static [Locale], &'static LocaleError> {
    static LOCALES: OnceLock<Result<Vec<Locale>, LocaleError>> = OnceLock::new();
    LOCALES
        .get_or_init(|| BUNDLES.iter().map(|(tag, text)| parse(tag, text)).collect())
        .as_ref()
        .map(Vec::as_slice)
}

/// The best of `available` for the visitor's languages `wanted` (most preferred first,
/// as `navigator.languages` or a comma-separated `?lang=` gives them; `;q=` weights are
/// ignored): the first wanted tag that is available, or whose shorter forms are
/// (`de-AT` → `de`), else `fallback` when available, else the first available.
pub fn negotiate<'a>(wanted: &str, available: &[&'a str], fallback: &str) -> Option<&'a str> {
    wanted
        .split(',')
        .take(MAX_WANTED)
        .map(|tag| tag.split(';').next().unwrap_or_default().trim())
        .filter(|tag| !tag.is_empty() && tag.len() <= MAX_TAG_BYTES)
        .find_map(|tag| lookup(tag, available))
        .or_else(|| lookup(fallback, available))
        .or_else(|| available.first().copied())
}

/// The bundle for `tag` or its shorter forms (`zh-Hant-TW` → `zh-Hant` → `zh`), if any.
fn lookup<'a>(tag: &str, available: &[&'a str]) -> Option<&'a str> {
    let mut candidate = tag;
    loop {
        if let Some(found) = available.iter().find(|a| a.eq_ignore_ascii_case(candidate)) {
            return Some(found);
        }
        let (shorter, _) = candidate.rsplit_once('-')?;
        candidate = shorter;
    }
}

/// The site configuration as served for the visitor's languages: the bundle the site's
/// `language` names (or, with `"auto"`, the best for `wanted`), its `dir`, and its texts
/// with the site's own `overrides` laid over them. A site language without a bundle keeps
/// its tag with the English texts.
pub fn localized(
    site: &SiteConfig,
    overrides: &BTreeMap<String, String>,
    locales: &[Locale],
    wanted: Option<&str>,
) -> SiteConfig {
    let tags: Vec<&str> = locales.iter().map(|l| l.tag).collect();
    let auto = site.language.eq_ignore_ascii_case(AUTO);
    let tag = if auto {
        negotiate(wanted.unwrap_or_default(), &tags, FALLBACK)
    } else {
        lookup(&site.language, &tags)
    };
    // The site's texts: those its file named, and any other it holds that differs from
    // the English default (set in code rather than in a file).
    let mut overrides = overrides.clone();
    let english = english();
    if let Ok(serde_json::Value::Object(own)) = serde_json::to_value(&site.texts) {
        for (key, text) in own {
            if let serde_json::Value::String(text) = text
                && english.get(&key) != Some(&text)
            {
                overrides.entry(key).or_insert(text);
            }
        }
    }
    let overrides = &overrides;
    let locale = tag.and_then(|t| locales.iter().find(|l| l.tag == t));
    let mut served = site.clone();
    match locale {
        Some(locale) => {
            if auto {
                served.language = locale.tag.to_string();
            }
            served.dir = locale.dir;
            served.texts = overlay(&locale.texts, overrides);
        }
        None => {
            if auto {
                served.language = FALLBACK.to_string();
            }
            served.texts = overlay(&Texts::default(), overrides);
        }
    }
    served
}

/// The site configuration as served for the visitor's languages `wanted` ([`localized`]),
/// in the corner the site chose or, when it chose none, the one its language's direction
/// reads from: bottom-left for right to left.
pub fn served(config: &ServerConfig, locales: &[Locale], wanted: Option<&str>) -> SiteConfig {
    let mut served = localized(&config.site, &config.text_overrides, locales, wanted);
    served.position = config.position().unwrap_or(match served.dir {
        TextDirection::Rtl => Position::BottomLeft,
        TextDirection::Ltr => Position::BottomRight,
    });
    served
}

/// Every configuration the site may be served in: with `language = "auto"` one a bundle,
/// the one an unmatched visitor gets first; else the site's one language.
pub fn every_served(config: &ServerConfig, locales: &[Locale]) -> Vec<SiteConfig> {
    if !config.site.language.eq_ignore_ascii_case(AUTO) {
        return vec![served(config, locales, None)];
    }
    let mut tags: Vec<&str> = locales.iter().map(|l| l.tag).collect();
    let first = negotiate("", &tags, FALLBACK);
    tags.sort_by_key(|tag| Some(*tag) != first);
    tags.into_iter()
        .map(|tag| served(config, locales, Some(tag)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use porchlight_protocol::SiteId;

    const ALL: &[&str] = &["en", "de", "es", "fr", "ar", "he"];

    #[test]
    fn every_bundle_holds_every_text_with_its_placeholders() {
        let locales = built_in().expect("the bundles are valid");
        let tags: Vec<&str> = locales.iter().map(|l| l.tag).collect();
        assert_eq!(tags, ALL);
        for locale in locales {
            let rtl = matches!(locale.tag, "ar" | "he");
            assert_eq!(locale.dir == TextDirection::Rtl, rtl, "{}", locale.tag);
            if locale.tag != "en" {
                assert_ne!(locale.texts.title, Texts::default().title, "{}", locale.tag);
                assert_ne!(locale.texts.send_label, Texts::default().send_label);
            }
        }
        assert_eq!(locales[0].texts, Texts::default(), "English is the default");
    }

    #[test]
    fn a_bundle_missing_a_text_or_placeholder_is_refused() {
        let en = BUNDLES[0].1;
        let missing = en.replace("title = \"Chat with us\"\n", "");
        assert!(
            matches!(parse("xx", &missing), Err(LocaleError::Missing { key, .. }) if key == "title")
        );
        let unplaced = en.replace("{position}", "N");
        assert!(matches!(
            parse("xx", &unplaced),
            Err(LocaleError::Placeholder { .. })
        ));
        let unknown = format!("{en}titel = \"x\"\n");
        assert!(matches!(
            parse("xx", &unknown),
            Err(LocaleError::Invalid { .. })
        ));
    }

    #[test]
    fn negotiation_takes_the_first_wanted_language_bundled() {
        assert_eq!(negotiate("de-AT,de,en", ALL, "en"), Some("de"));
        assert_eq!(negotiate("pt-BR,fr-CA,en", ALL, "en"), Some("fr"));
        assert_eq!(negotiate("zh-Hant-TW,he", ALL, "en"), Some("he"));
        assert_eq!(negotiate("AR-eg", ALL, "en"), Some("ar"));
        assert_eq!(negotiate("es;q=0.9, en;q=0.8", ALL, "en"), Some("es"));
        // Nothing bundled: the site's default, else the first bundle.
        assert_eq!(negotiate("ja,ko", ALL, "fr"), Some("fr"));
        assert_eq!(negotiate("", ALL, "de"), Some("de"));
        assert_eq!(negotiate("ja", ALL, "xx"), Some("en"));
        assert_eq!(negotiate("ja", &[], "en"), None);
        // Garbage and oversized tags are skipped, not trusted.
        let long = format!("{},es", "x".repeat(100));
        assert_eq!(negotiate(&long, ALL, "en"), Some("es"));
        assert_eq!(negotiate(",,;,-,de-", ALL, "en"), Some("de"));
    }

    #[test]
    fn the_served_configuration_carries_the_language_dir_and_merged_texts() {
        let locales = built_in().expect("valid");
        let mut site = SiteConfig::new(SiteId::new("demo").expect("id"));
        site.language = AUTO.into();
        let overrides: BTreeMap<String, String> =
            [("title".to_string(), "Shop".to_string())].into();
        let served = localized(&site, &overrides, locales, Some("ar-SA,en"));
        assert_eq!(served.language, "ar");
        assert_eq!(served.dir, TextDirection::Rtl);
        assert_eq!(served.texts.title, "Shop", "the site's text wins");
        assert_eq!(served.texts.send_label, "إرسال");
        let served = localized(&site, &overrides, locales, Some("ja"));
        assert_eq!(
            (served.language.as_str(), served.dir),
            ("en", TextDirection::Ltr)
        );
        // A fixed language ignores the visitor's.
        site.language = "de".into();
        let served = localized(&site, &BTreeMap::new(), locales, Some("fr"));
        assert_eq!(served.language, "de");
        assert_eq!(served.texts.send_label, "Senden");
        site.language = "de-CH".into();
        assert_eq!(
            localized(&site, &BTreeMap::new(), locales, None)
                .texts
                .send_label,
            "Senden"
        );
        // Texts the site holds without naming them in a file still win.
        site.texts.send_label = "Go".into();
        assert_eq!(
            localized(&site, &BTreeMap::new(), locales, None)
                .texts
                .send_label,
            "Go"
        );
        site.texts.send_label = Texts::default().send_label;
        // A language without a bundle keeps its tag, with English texts.
        site.language = "nl".into();
        let served = localized(&site, &overrides, locales, Some("de"));
        assert_eq!(served.language, "nl");
        assert_eq!(served.texts.send_label, "Send");
        assert_eq!(served.texts.title, "Shop");
    }

    #[test]
    fn right_to_left_languages_sit_bottom_left_unless_the_site_chose_a_corner() {
        let locales = built_in().expect("valid");
        let mut config = ServerConfig::default();
        assert_eq!(config.position(), None, "the built-in file names no corner");
        config.site.language = AUTO.into();
        let corner = |config: &ServerConfig, wanted| served(config, locales, Some(wanted)).position;
        assert_eq!(corner(&config, "he-IL,en"), Position::BottomLeft);
        assert_eq!(corner(&config, "de"), Position::BottomRight);
        config.site.language = "ar".into();
        assert_eq!(corner(&config, "de"), Position::BottomLeft);
        // A corner the file names, or one set in code, holds in every language.
        let mut given = ServerConfig::from_toml(
            &crate::config::DEFAULT_CONFIG_TOML.replacen(
                "language = \"en\"",
                "language = \"ar\"\nposition = \"bottom-right\"",
                1,
            ),
            "x.toml",
        )
        .expect("valid");
        assert!(given.position_given);
        assert_eq!(corner(&given, "ar"), Position::BottomRight);
        given.position_given = false;
        given.site.position = Position::BottomLeft;
        given.site.language = "de".into();
        assert_eq!(corner(&given, "de"), Position::BottomLeft);
    }

    #[test]
    fn an_auto_site_may_be_served_in_every_bundle_the_fallback_first() {
        let locales = built_in().expect("valid");
        let mut config = ServerConfig::default();
        let one: Vec<String> = every_served(&config, locales)
            .into_iter()
            .map(|c| c.language)
            .collect();
        assert_eq!(one, ["en"]);
        config.site.language = AUTO.into();
        let every: Vec<(String, TextDirection)> = every_served(&config, locales)
            .into_iter()
            .map(|c| (c.language, c.dir))
            .collect();
        assert_eq!(every.len(), ALL.len());
        assert_eq!(every[0], ("en".to_string(), TextDirection::Ltr));
        assert!(every.contains(&("he".to_string(), TextDirection::Rtl)));
    }
}
