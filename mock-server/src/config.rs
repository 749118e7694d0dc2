//! The mock server's configuration: the site it serves and its chatbot script, read from a
//! TOML file or taken from the built-in default (`assets/default-config.toml`), so the demo
//! needs no file at all. Unknown keys are refused with the key's name.

use porchlight_protocol::SiteConfig;
use serde::Deserialize;
use std::path::Path;

/// The built-in configuration, as TOML.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../assets/default-config.toml");

/// Everything the mock server is told by its config file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockConfig {
    /// The public configuration handed to the widget.
    pub site: SiteConfig,
    /// The chatbot that greets and answers the visitor first.
    pub bot: BotConfig,
}

/// The chatbot's script.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// The bot's display name.
    pub name: String,
    /// The first message of every new conversation.
    pub greeting: String,
    /// The answer when no keyword matches.
    pub fallback: String,
    /// Keyword → answer table, tried in order.
    #[serde(default)]
    pub answers: Vec<BotAnswer>,
}

/// One row of the bot's answer table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotAnswer {
    /// Words that select this answer, matched case-insensitively against whole words.
    pub keywords: Vec<String>,
    pub answer: String,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

impl MockConfig {
    /// Parses TOML text; `origin` names the text in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: origin.to_string(),
            message: e.to_string(),
        })
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_toml(&text, &shown)
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        Self::from_toml(DEFAULT_CONFIG_TOML, "built-in default")
            .expect("the built-in config is valid (checked by a unit test)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_default_parses() {
        let config = MockConfig::from_toml(DEFAULT_CONFIG_TOML, "default").expect("valid");
        assert_eq!(config.site.site.as_str(), "demo");
        assert!(!config.bot.answers.is_empty());
    }

    #[test]
    fn unknown_keys_are_named_in_the_error() {
        let text = DEFAULT_CONFIG_TOML.replace("[bot]", "[bot]\ngretting = \"typo\"");
        let err = MockConfig::from_toml(&text, "x.toml").expect_err("unknown key");
        let message = err.to_string();
        assert!(message.contains("x.toml"), "{message}");
        assert!(message.contains("gretting"), "{message}");
    }

    #[test]
    fn a_bad_brand_colour_is_refused() {
        let text = DEFAULT_CONFIG_TOML.replace("#1f6feb", "red; background: url(x)");
        assert!(MockConfig::from_toml(&text, "x.toml").is_err());
    }
}
