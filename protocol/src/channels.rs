//! The social channels and their platforms' rules for what an agent may send, and when
//! (`CHANNELS.md` of the design has them with their sources). Defined once: the mock
//! server enforces them, the console shows what they allow. Pure: the facts of a
//! conversation and the time in, an allowed delivery or the platform's error out.
//!
//! Times are milliseconds on the mock's wall clock, which a test may move forward.

use serde::{Deserialize, Serialize};

/// One hour, in milliseconds.
pub const HOUR_MS: u64 = 3_600_000;
/// Messenger's, Instagram's and WhatsApp's window after the customer's last message.
pub const REPLY_WINDOW_MS: u64 = 24 * HOUR_MS;
/// How long after the customer's last message a person may still answer with the
/// `HUMAN_AGENT` tag (Messenger and Instagram, when the Page has that permission).
pub const HUMAN_AGENT_WINDOW_MS: u64 = 7 * 24 * HOUR_MS;
/// How long after a comment its one private reply may be sent.
pub const PRIVATE_REPLY_WINDOW_MS: u64 = 7 * 24 * HOUR_MS;
/// How long a story's media URL works after the story was posted.
pub const STORY_MEDIA_MS: u64 = 24 * HOUR_MS;

/// The platform a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// The web widget.
    Web,
    /// Facebook Messenger conversations with a Page.
    Messenger,
    /// Comments on a Facebook Page's posts.
    FacebookComments,
    /// A WhatsApp Business number (Cloud API).
    Whatsapp,
    /// Instagram direct messages, story replies and mentions.
    Instagram,
    /// Comments on an Instagram account's posts.
    InstagramComments,
    /// A Telegram bot.
    Telegram,
}

impl ChannelKind {
    /// Every kind, in the order the console lists them.
    pub const ALL: [ChannelKind; 7] = [
        ChannelKind::Web,
        ChannelKind::Messenger,
        ChannelKind::FacebookComments,
        ChannelKind::Whatsapp,
        ChannelKind::Instagram,
        ChannelKind::InstagramComments,
        ChannelKind::Telegram,
    ];

    /// The kind's name in the configuration and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Web => "web",
            ChannelKind::Messenger => "messenger",
            ChannelKind::FacebookComments => "facebook_comments",
            ChannelKind::Whatsapp => "whatsapp",
            ChannelKind::Instagram => "instagram",
            ChannelKind::InstagramComments => "instagram_comments",
            ChannelKind::Telegram => "telegram",
        }
    }

    /// What people call the platform.
    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Web => "Website chat",
            ChannelKind::Messenger => "Messenger",
            ChannelKind::FacebookComments => "Facebook comments",
            ChannelKind::Whatsapp => "WhatsApp",
            ChannelKind::Instagram => "Instagram",
            ChannelKind::InstagramComments => "Instagram comments",
            ChannelKind::Telegram => "Telegram",
        }
    }

    /// Whether conversations of this kind are comments on posts.
    pub fn is_comments(self) -> bool {
        matches!(
            self,
            ChannelKind::FacebookComments | ChannelKind::InstagramComments
        )
    }

    /// Whether free text is allowed only within [`REPLY_WINDOW_MS`] of the customer's
    /// last message.
    pub fn has_window(self) -> bool {
        matches!(
            self,
            ChannelKind::Messenger | ChannelKind::Instagram | ChannelKind::Whatsapp
        )
    }
}

/// What a channel conversation knows that the rules depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelFacts {
    /// When the customer last wrote (or, for a comment, commented).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_customer_ms: Option<u64>,
    /// The Page may answer with the `HUMAN_AGENT` tag (Messenger and Instagram).
    #[serde(default, skip_serializing_if = "is_false")]
    pub human_agent: bool,
    /// The comment a comment conversation is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentFacts>,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// A customer's comment on a post, and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentFacts {
    /// The post's id on the platform.
    pub post: String,
    /// The comment's id on the platform.
    pub comment: String,
    /// When it was written.
    pub at_ms: u64,
    /// Not a reply to another comment.
    pub top_level: bool,
    pub hidden: bool,
    pub deleted: bool,
    /// Its one private reply was sent.
    pub private_replied: bool,
}

/// What an agent wants to do in a channel conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Send<'a> {
    /// A text message (on comments: a public reply under the comment).
    Text,
    /// A pre-approved WhatsApp template, by name, among the channel's `templates`.
    Template { name: &'a str, known: &'a [String] },
    /// A direct message to the commenter about the comment.
    PrivateReply,
    /// Hide the comment from everyone but its author.
    Hide,
    /// Delete the comment.
    Delete,
}

/// How an allowed send goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Inside the window, or on a channel without one.
    Standard,
    /// Outside the 24 h window, by a person, with the `HUMAN_AGENT` tag.
    HumanAgentTag,
    /// A template message (WhatsApp).
    Template,
    /// A comment action: a public reply, a private reply, hiding or deleting.
    Comment,
}

/// A send the platform refuses, as it would answer: an HTTP status and its error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (code {code})")]
#[serde(deny_unknown_fields)]
pub struct PlatformError {
    /// The HTTP status the platform answers with.
    pub status: u16,
    pub code: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<u32>,
    pub message: String,
}

impl PlatformError {
    fn new(status: u16, code: u32, subcode: Option<u32>, message: &str) -> Self {
        PlatformError {
            status,
            code,
            error_subcode: subcode,
            message: message.to_string(),
        }
    }

    /// The error a late free-text send gets on `kind`.
    fn outside_window(kind: ChannelKind) -> Self {
        match kind {
            ChannelKind::Whatsapp => PlatformError::new(
                400,
                131_047,
                None,
                "Re-engagement message: more than 24 hours have passed since the customer last replied; send a template",
            ),
            ChannelKind::Instagram | ChannelKind::InstagramComments => PlatformError::new(
                400,
                10,
                Some(2_534_022),
                "This message is sent outside of allowed window",
            ),
            _ => PlatformError::new(
                400,
                10,
                Some(2_018_278),
                "This message is sent outside of allowed window",
            ),
        }
    }

    fn not_supported(what: &str) -> Self {
        PlatformError::new(400, 100, None, &format!("Unsupported request: {what}"))
    }
}

/// What the window allows at `now_ms`: the delivery free text would get, or the error.
fn text_delivery(
    kind: ChannelKind,
    facts: &ChannelFacts,
    now_ms: u64,
) -> Result<Delivery, PlatformError> {
    if !kind.has_window() {
        return Ok(Delivery::Standard);
    }
    let Some(last) = facts.last_customer_ms else {
        // The business cannot write first.
        return Err(PlatformError::outside_window(kind));
    };
    let since = now_ms.saturating_sub(last);
    if since < REPLY_WINDOW_MS {
        Ok(Delivery::Standard)
    } else if facts.human_agent && kind != ChannelKind::Whatsapp && since < HUMAN_AGENT_WINDOW_MS {
        Ok(Delivery::HumanAgentTag)
    } else {
        Err(PlatformError::outside_window(kind))
    }
}

/// Whether `send` is allowed in a conversation of `kind` with `facts` at `now_ms`, and
/// how it goes out.
pub fn check_send(
    kind: ChannelKind,
    facts: &ChannelFacts,
    send: &Send<'_>,
    now_ms: u64,
) -> Result<Delivery, PlatformError> {
    if kind.is_comments() {
        return check_comment(kind, facts, send, now_ms);
    }
    match send {
        Send::Text => text_delivery(kind, facts, now_ms),
        Send::Template { name, known } if kind == ChannelKind::Whatsapp => {
            if known.iter().any(|k| k == name) {
                Ok(Delivery::Template)
            } else {
                Err(PlatformError::new(
                    404,
                    132_001,
                    None,
                    "Template name does not exist in the translation",
                ))
            }
        }
        Send::Template { .. } => Err(PlatformError::not_supported("templates are WhatsApp's")),
        Send::PrivateReply | Send::Hide | Send::Delete => Err(PlatformError::not_supported(
            "comment actions need a comment",
        )),
    }
}

fn check_comment(
    kind: ChannelKind,
    facts: &ChannelFacts,
    send: &Send<'_>,
    now_ms: u64,
) -> Result<Delivery, PlatformError> {
    let Some(comment) = &facts.comment else {
        return Err(PlatformError::not_supported("no comment to act on"));
    };
    let gone = || {
        PlatformError::new(
            400,
            100,
            Some(33),
            "Object does not exist, cannot be loaded due to missing permissions, or does not support this operation",
        )
    };
    if comment.deleted {
        return Err(gone());
    }
    let instagram = kind == ChannelKind::InstagramComments;
    match send {
        Send::Text if instagram && (comment.hidden || !comment.top_level) => {
            Err(PlatformError::new(
                400,
                100,
                None,
                "Replies are allowed only to top-level comments that are not hidden",
            ))
        }
        Send::Text | Send::Hide | Send::Delete => Ok(Delivery::Comment),
        Send::PrivateReply if comment.private_replied => Err(PlatformError::new(
            400,
            10_900,
            None,
            "Activity already replied to: a comment gets one private reply",
        )),
        Send::PrivateReply if now_ms.saturating_sub(comment.at_ms) >= PRIVATE_REPLY_WINDOW_MS => {
            Err(PlatformError::outside_window(kind))
        }
        Send::PrivateReply => Ok(Delivery::Comment),
        Send::Template { .. } => Err(PlatformError::not_supported("templates are WhatsApp's")),
    }
}

/// When free text stops being allowed, and when the `HUMAN_AGENT` tag stops too: what
/// the console counts down. `None` where there is no window.
pub fn window_ends(kind: ChannelKind, facts: &ChannelFacts) -> Option<(u64, Option<u64>)> {
    if !kind.has_window() {
        return None;
    }
    let last = facts.last_customer_ms?;
    let tag = (facts.human_agent && kind != ChannelKind::Whatsapp)
        .then(|| last.saturating_add(HUMAN_AGENT_WINDOW_MS));
    Some((last.saturating_add(REPLY_WINDOW_MS), tag))
}

/// Whether a story's media, posted at `posted_ms`, can still be shown at `now_ms`.
pub fn story_media_live(posted_ms: u64, now_ms: u64) -> bool {
    now_ms.saturating_sub(posted_ms) < STORY_MEDIA_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn facts(human_agent: bool) -> ChannelFacts {
        ChannelFacts {
            last_customer_ms: Some(T0),
            human_agent,
            comment: None,
        }
    }

    fn comment(
        top_level: bool,
        hidden: bool,
        deleted: bool,
        private_replied: bool,
    ) -> ChannelFacts {
        ChannelFacts {
            last_customer_ms: Some(T0),
            human_agent: false,
            comment: Some(CommentFacts {
                post: "p1".into(),
                comment: "c1".into(),
                at_ms: T0,
                top_level,
                hidden,
                deleted,
                private_replied,
            }),
        }
    }

    /// An allowed delivery, or the platform's error code and subcode.
    type Outcome = Result<Delivery, (u32, Option<u32>)>;

    fn code(result: Result<Delivery, PlatformError>) -> Outcome {
        result.map_err(|e| (e.code, e.error_subcode))
    }

    #[test]
    fn free_text_within_and_after_each_window_at_its_exact_boundary() {
        use ChannelKind::*;
        let day = REPLY_WINDOW_MS;
        let week = HUMAN_AGENT_WINDOW_MS;
        let cases: &[(ChannelKind, bool, u64, Outcome)] = &[
            (Web, false, 10 * week, Ok(Delivery::Standard)),
            (Telegram, false, 10 * week, Ok(Delivery::Standard)),
            (Messenger, false, day - 1, Ok(Delivery::Standard)),
            (Messenger, false, day, Err((10, Some(2_018_278)))),
            (Messenger, true, day, Ok(Delivery::HumanAgentTag)),
            (Messenger, true, week - 1, Ok(Delivery::HumanAgentTag)),
            (Messenger, true, week, Err((10, Some(2_018_278)))),
            (Instagram, false, day - 1, Ok(Delivery::Standard)),
            (Instagram, false, day, Err((10, Some(2_534_022)))),
            (Instagram, true, week - 1, Ok(Delivery::HumanAgentTag)),
            (Instagram, true, week, Err((10, Some(2_534_022)))),
            (Whatsapp, false, day - 1, Ok(Delivery::Standard)),
            (Whatsapp, false, day, Err((131_047, None))),
            // WhatsApp has no human-agent tag.
            (Whatsapp, true, day, Err((131_047, None))),
        ];
        for (kind, human_agent, after, expected) in cases {
            let got = code(check_send(
                *kind,
                &facts(*human_agent),
                &Send::Text,
                T0 + after,
            ));
            assert_eq!(
                &got, expected,
                "{kind:?}, human_agent {human_agent}, after {after} ms"
            );
        }
    }

    #[test]
    fn templates_go_out_of_the_whatsapp_window_and_only_known_ones() {
        let known = vec!["order_update".to_string()];
        let template = |name| Send::Template {
            name,
            known: &known,
        };
        let late = T0 + 3 * REPLY_WINDOW_MS;
        assert_eq!(
            check_send(
                ChannelKind::Whatsapp,
                &facts(false),
                &template("order_update"),
                late
            ),
            Ok(Delivery::Template)
        );
        assert_eq!(
            code(check_send(
                ChannelKind::Whatsapp,
                &facts(false),
                &template("nope"),
                late
            )),
            Err((132_001, None))
        );
        assert!(
            check_send(
                ChannelKind::Messenger,
                &facts(false),
                &template("order_update"),
                T0
            )
            .is_err()
        );
    }

    #[test]
    fn a_business_cannot_write_first_where_there_is_a_window() {
        let never = ChannelFacts::default();
        assert!(check_send(ChannelKind::Whatsapp, &never, &Send::Text, T0).is_err());
        assert!(check_send(ChannelKind::Telegram, &never, &Send::Text, T0).is_ok());
    }

    #[test]
    fn comments_get_public_replies_one_private_reply_within_seven_days_hide_and_delete() {
        use ChannelKind::{FacebookComments as Fb, InstagramComments as Ig};
        let week = PRIVATE_REPLY_WINDOW_MS;
        let cases: &[(ChannelKind, ChannelFacts, Send<'_>, u64, Outcome)] = &[
            // Public replies: no limit in time or number.
            (
                Fb,
                comment(true, false, false, true),
                Send::Text,
                30 * week,
                Ok(Delivery::Comment),
            ),
            (
                Fb,
                comment(false, true, false, false),
                Send::Text,
                0,
                Ok(Delivery::Comment),
            ),
            // Instagram: only to top-level comments that are not hidden.
            (
                Ig,
                comment(true, false, false, false),
                Send::Text,
                0,
                Ok(Delivery::Comment),
            ),
            (
                Ig,
                comment(false, false, false, false),
                Send::Text,
                0,
                Err((100, None)),
            ),
            (
                Ig,
                comment(true, true, false, false),
                Send::Text,
                0,
                Err((100, None)),
            ),
            // One private reply, within 7 days of the comment.
            (
                Fb,
                comment(true, false, false, false),
                Send::PrivateReply,
                week - 1,
                Ok(Delivery::Comment),
            ),
            (
                Fb,
                comment(true, false, false, false),
                Send::PrivateReply,
                week,
                Err((10, Some(2_018_278))),
            ),
            (
                Ig,
                comment(true, false, false, false),
                Send::PrivateReply,
                week,
                Err((10, Some(2_534_022))),
            ),
            (
                Fb,
                comment(true, false, false, true),
                Send::PrivateReply,
                0,
                Err((10_900, None)),
            ),
            // Nothing on a deleted comment.
            (
                Fb,
                comment(true, false, true, false),
                Send::Text,
                0,
                Err((100, Some(33))),
            ),
            (
                Fb,
                comment(true, false, true, false),
                Send::PrivateReply,
                0,
                Err((100, Some(33))),
            ),
            (
                Fb,
                comment(true, false, true, false),
                Send::Delete,
                0,
                Err((100, Some(33))),
            ),
            (
                Ig,
                comment(true, false, false, false),
                Send::Hide,
                0,
                Ok(Delivery::Comment),
            ),
            (
                Ig,
                comment(true, true, false, false),
                Send::Delete,
                0,
                Ok(Delivery::Comment),
            ),
        ];
        for (kind, facts, send, after, expected) in cases {
            let got = code(check_send(*kind, facts, send, T0 + after));
            assert_eq!(
                &got, expected,
                "{kind:?} {send:?} after {after} ms on {facts:?}"
            );
        }
    }

    #[test]
    fn windows_end_a_day_and_a_week_after_the_last_customer_message() {
        assert_eq!(
            window_ends(ChannelKind::Messenger, &facts(true)),
            Some((T0 + REPLY_WINDOW_MS, Some(T0 + HUMAN_AGENT_WINDOW_MS)))
        );
        assert_eq!(
            window_ends(ChannelKind::Whatsapp, &facts(true)),
            Some((T0 + REPLY_WINDOW_MS, None))
        );
        assert_eq!(window_ends(ChannelKind::Telegram, &facts(false)), None);
    }

    #[test]
    fn story_media_expires_a_day_after_the_story() {
        assert!(story_media_live(T0, T0 + STORY_MEDIA_MS - 1));
        assert!(!story_media_live(T0, T0 + STORY_MEDIA_MS));
    }

    #[test]
    fn kinds_read_and_write_as_their_names() {
        for kind in ChannelKind::ALL {
            let json = serde_json::to_string(&kind).expect("json");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<ChannelKind>(&json).ok(), Some(kind));
        }
    }
}
