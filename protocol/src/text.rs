//! Validation of text a person wrote (visitor messages for now). The widget runs it before
//! sending and the server runs it again on receipt.

use crate::limits::MAX_MESSAGE_CHARS;

/// Why a message cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is longer than {MAX_MESSAGE_CHARS} characters")]
    TooLong,
}

/// Trims surrounding whitespace and checks the length. Returns the text to send.
pub fn message_text(raw: &str) -> Result<&str, TextError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(TextError::TooLong);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrounding_whitespace_is_trimmed_and_inner_newlines_kept() {
        assert_eq!(message_text("  hi\nthere \n"), Ok("hi\nthere"));
    }

    #[test]
    fn blank_text_is_empty() {
        assert_eq!(message_text(" \n\t "), Err(TextError::Empty));
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert!(message_text(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert_eq!(
            message_text(&"é".repeat(MAX_MESSAGE_CHARS + 1)),
            Err(TextError::TooLong)
        );
    }
}
