//! The public site configuration: what the widget needs to draw itself, fetched from
//! `GET /api/v1/sites/{site}/config` at start. Unknown keys are refused, so a typo in a
//! config file is an error rather than a silently ignored setting.

use crate::ids::SiteId;
use serde::{Deserialize, Serialize};

/// A site's widget configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub site: SiteId,
    /// The brand colour used for the launcher, header and visitor bubbles.
    #[serde(default = "default_brand_color")]
    pub brand_color: Color,
    /// The corner of the host page the widget sits in.
    #[serde(default)]
    pub position: Position,
    /// BCP 47 language tag of the texts, set on the widget's document.
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default)]
    pub texts: Texts,
}

/// The words the widget shows, in the site's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Texts {
    pub title: String,
    pub subtitle: String,
    pub open_label: String,
    pub close_label: String,
    pub composer_label: String,
    pub composer_placeholder: String,
    pub send_label: String,
}

impl Default for Texts {
    fn default() -> Self {
        Texts {
            title: "Chat with us".into(),
            subtitle: "We usually reply in a few minutes".into(),
            open_label: "Open chat".into(),
            close_label: "Close chat".into(),
            composer_label: "Your message".into(),
            composer_placeholder: "Type a message…".into(),
            send_label: "Send".into(),
        }
    }
}

/// Where the widget sits on the host page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    #[default]
    BottomRight,
    BottomLeft,
}

/// A colour written `#rrggbb`. Checked when parsed, so it is always safe to put in CSS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Color(String);

/// Why a string is not a colour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a colour must be written #rrggbb, like #1f6feb")]
pub struct ColorError;

impl Color {
    /// The colour as CSS text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Color {
    type Error = ColorError;
    fn try_from(value: String) -> Result<Self, ColorError> {
        let hex = value.strip_prefix('#').ok_or(ColorError)?;
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Color(value.to_ascii_lowercase()))
        } else {
            Err(ColorError)
        }
    }
}

impl From<Color> for String {
    fn from(c: Color) -> String {
        c.0
    }
}

fn default_brand_color() -> Color {
    Color("#1f6feb".into())
}

fn default_language() -> String {
    "en".into()
}

impl SiteConfig {
    /// A configuration with every default, for `site`.
    pub fn new(site: SiteId) -> Self {
        SiteConfig {
            site,
            brand_color: default_brand_color(),
            position: Position::default(),
            language: default_language(),
            texts: Texts::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_must_be_six_hex_digits() {
        assert!(Color::try_from("#A1b2C3".to_string()).is_ok());
        for bad in ["red", "#fff", "#12345g", "#123456;x:y", ""] {
            assert_eq!(Color::try_from(bad.to_string()), Err(ColorError), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = serde_json::from_str::<SiteConfig>(r##"{"site":"demo","colour":"#000000"}"##)
            .expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn missing_keys_take_defaults() {
        let config: SiteConfig = serde_json::from_str(r#"{"site":"demo"}"#).expect("valid");
        assert_eq!(config, SiteConfig::new(SiteId::new("demo").expect("id")));
    }
}
