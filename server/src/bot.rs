//! The chatbot: answers a visitor message from the configured keyword table, with a
//! fallback, and says its greeting and quick-reply answers as conversation events. Pure:
//! text in, events out.

use crate::config::BotConfig;
use porchlight_protocol::{Author, AuthorKind, Choice, ChoiceId, ConversationEvent};

impl BotConfig {
    /// The answer to `message`: the first table row with a keyword that appears in the
    /// message as a whole word (case-insensitive), else the fallback.
    pub fn answer(&self, message: &str) -> &str {
        let words: Vec<String> = message
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        self.answers
            .iter()
            .find(|row| {
                row.keywords
                    .iter()
                    .any(|k| words.iter().any(|w| *w == k.to_lowercase()))
            })
            .map_or(self.fallback.as_str(), |row| row.answer.as_str())
    }

    /// The bot as an author.
    pub fn author(&self) -> Author {
        Author {
            kind: AuthorKind::Bot,
            name: self.name.clone(),
        }
    }

    /// The bot saying `text`, offering the quick replies `choices` (ids of its nodes).
    pub fn says(&self, text: &str, choices: &[ChoiceId]) -> ConversationEvent {
        ConversationEvent::MessageReceived {
            id: None,
            author: self.author(),
            text: text.to_string(),
            choices: choices
                .iter()
                .filter_map(|id| self.node(id))
                .map(|node| Choice {
                    id: node.id.clone(),
                    label: node.label.clone(),
                })
                .collect(),
        }
    }

    /// The greeting that opens every conversation when the site has its bot on.
    pub fn greeting(&self) -> ConversationEvent {
        self.says(&self.greeting, &self.choices)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{BotAnswer, BotConfig};

    fn bot() -> BotConfig {
        BotConfig {
            name: "Bot".into(),
            greeting: "Hi".into(),
            choices: Vec::new(),
            nodes: Vec::new(),
            fallback: "No idea".into(),
            answers: vec![
                BotAnswer {
                    keywords: vec!["price".into(), "cost".into()],
                    answer: "9 €".into(),
                },
                BotAnswer {
                    keywords: vec!["hours".into()],
                    answer: "9 to 5".into(),
                },
            ],
        }
    }

    #[test]
    fn a_keyword_anywhere_selects_its_answer_whatever_the_case() {
        assert_eq!(bot().answer("What does it COST?"), "9 €");
        assert_eq!(bot().answer("your hours, please"), "9 to 5");
    }

    #[test]
    fn keywords_match_whole_words_only() {
        assert_eq!(bot().answer("priceless"), "No idea");
    }

    #[test]
    fn the_first_matching_row_wins() {
        assert_eq!(bot().answer("hours and price"), "9 €");
    }

    #[test]
    fn no_match_gives_the_fallback() {
        assert_eq!(bot().answer("hello"), "No idea");
    }
}
