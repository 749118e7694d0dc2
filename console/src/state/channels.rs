//! The social channels as the console works them: which channel and platform a
//! conversation is, the reply window's line, what the composer allows, the comment filter's
//! posts and the mock clock. What a platform allows is never decided here: it is asked of
//! the rules in [`porchlight_protocol::channels`] ([`check_send`], [`window_ends`]) at the
//! server's (mock) time — the local time plus the server's clock offset — and only put
//! into words in [`words`](super::words).

use super::words;
use super::{Console, Stage};
use porchlight_protocol::ConversationId;
use porchlight_protocol::channels::{
    ChannelFacts, ChannelKind, CommentFacts, Delivery, PlatformError, Send, check_send, window_ends,
};
use porchlight_protocol::console::{ChannelInfo, ConversationSummary, Folder, StoryView};
use std::collections::BTreeSet;

/// How a message on a comment goes out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// A public reply under the comment (the default, and what each send returns to).
    #[default]
    Public,
    /// A direct message to the commenter about the comment.
    Private,
}

impl ReplyKind {
    /// The radio button's value.
    pub fn value(self) -> &'static str {
        match self {
            ReplyKind::Public => "public",
            ReplyKind::Private => "private",
        }
    }
}

/// What the composer of the agent's own live chat offers, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Composer {
    /// The platform (web for a widget chat).
    pub kind: Option<ChannelKind>,
    /// Comments: public or private replies, the chosen one in [`Composer::reply`].
    pub comments: bool,
    pub reply: ReplyKind,
    /// No message may go out at all: the textbox and Send are disabled.
    pub disabled: bool,
    /// Why the chosen kind of message may not go out now.
    pub why: Option<String>,
    /// The message goes out with the `HUMAN_AGENT` tag.
    pub tagged: bool,
    /// WhatsApp: the templates that may be sent.
    pub templates: Vec<String>,
    /// Comments: hiding is offered (allowed, and not hidden yet).
    pub can_hide: bool,
    /// Comments: deleting is offered.
    pub can_delete: bool,
}

/// The story a conversation is about, as the chat view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Story {
    /// "They mentioned you in their story." or "They replied to your story."
    pub about: &'static str,
    /// The link to open it, while the platform serves it and it is a web address.
    pub link: Option<String>,
    /// What shows instead of the link.
    pub placeholder: Option<&'static str>,
}

/// `url` if it is an `http:` or `https:` address (never `javascript:` and the like).
pub fn web_address(url: &str) -> Option<&str> {
    let url = url.trim();
    let scheme = url.split_once(':')?.0;
    (scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")).then_some(url)
}

/// How a story shows.
pub fn story(view: &StoryView) -> Story {
    let about = if view.mention {
        "They mentioned you in their story."
    } else {
        "They replied to your story."
    };
    match view.url.as_deref() {
        Some(url) => match web_address(url) {
            Some(link) => Story {
                about,
                link: Some(link.to_string()),
                placeholder: None,
            },
            None => Story {
                about,
                link: None,
                placeholder: Some(words::STORY_NOT_A_LINK),
            },
        },
        None => Story {
            about,
            link: None,
            placeholder: Some(words::STORY_EXPIRED),
        },
    }
}

/// What the composer allows in a conversation of `kind` with `facts` at server time
/// `now_ms`, with `reply` chosen and `templates` known: asked of [`check_send`].
pub fn composer(
    kind: ChannelKind,
    facts: &ChannelFacts,
    templates: &[String],
    reply: ReplyKind,
    now_ms: u64,
) -> Composer {
    let check = |send: &Send<'_>| check_send(kind, facts, send, now_ms);
    let text = check(&Send::Text);
    let template_ok = templates.first().is_some_and(|name| {
        check(&Send::Template {
            name,
            known: templates,
        })
        .is_ok()
    });
    let templates = if template_ok {
        templates.to_vec()
    } else {
        Vec::new()
    };
    let why_text = |error: &PlatformError| {
        words::why_not_text(kind, facts, error, !templates.is_empty(), now_ms)
    };
    if !kind.is_comments() {
        return Composer {
            kind: Some(kind),
            disabled: text.is_err(),
            why: text.as_ref().err().map(why_text),
            tagged: text == Ok(Delivery::HumanAgentTag),
            templates,
            ..Composer::default()
        };
    }
    let private = check(&Send::PrivateReply);
    let chosen = match reply {
        ReplyKind::Public => &text,
        ReplyKind::Private => &private,
    };
    let why = chosen
        .as_ref()
        .err()
        .map(|error| match facts.comment.as_ref() {
            Some(comment) if comment.deleted => words::COMMENT_DELETED.to_string(),
            _ => words::platform_says_no(kind, error),
        });
    let comment = facts.comment.as_ref();
    Composer {
        kind: Some(kind),
        comments: true,
        reply,
        disabled: text.is_err() && private.is_err(),
        why,
        tagged: false,
        templates,
        can_hide: comment.is_some_and(|c| !c.hidden) && check(&Send::Hide).is_ok(),
        can_delete: check(&Send::Delete).is_ok(),
    }
}

impl Console {
    /// The channel `summary` came from, if the desk told it.
    pub fn channel_info(&self, summary: &ConversationSummary) -> Option<&ChannelInfo> {
        self.channels.iter().find(|c| c.id == summary.channel)
    }

    /// The platform of `summary`'s channel; a channel the desk did not tell is taken for
    /// the web (no rules).
    pub fn kind_of(&self, summary: &ConversationSummary) -> ChannelKind {
        self.channel_info(summary)
            .map_or(ChannelKind::Web, |c| c.kind)
    }

    /// The server's (mock) time at local time `local_now_ms`: what the platforms' rules
    /// are asked at.
    pub fn server_now(&self, local_now_ms: u64) -> u64 {
        (i128::from(local_now_ms) + i128::from(self.clock_offset_ms)).clamp(0, u64::MAX.into())
            as u64
    }

    /// Whether `conversation` is about a comment on a post.
    pub fn is_comment(&self, conversation: &ConversationId) -> bool {
        self.conversations
            .get(conversation)
            .is_some_and(|s| self.kind_of(s).is_comments())
    }

    /// The channels a customer can be simulated on: every one but the web widget.
    pub fn simulated_channels(&self) -> Vec<&ChannelInfo> {
        self.channels
            .iter()
            .filter(|c| c.kind != ChannelKind::Web)
            .collect()
    }

    /// The reply window's line for `conversation` at local time `local_now_ms`, where its
    /// channel has a window and it is still open (waiting or live).
    pub fn window_line(&self, conversation: &ConversationId, local_now_ms: u64) -> Option<String> {
        let s = self.conversations.get(conversation)?;
        if !matches!(s.stage, Stage::Queued | Stage::Connecting | Stage::Live) {
            return None;
        }
        let kind = self.kind_of(s);
        let facts = s.facts.as_ref()?;
        let now = self.server_now(local_now_ms);
        let ends = window_ends(kind, facts)?;
        let templates = self.templates(s);
        let delivery = check_send(kind, facts, &Send::Text, now).ok();
        let templates_only = templates.first().is_some_and(|name| {
            check_send(
                kind,
                facts,
                &Send::Template {
                    name,
                    known: &templates,
                },
                now,
            )
            .is_ok()
        });
        Some(words::window_line(ends, delivery, templates_only, now))
    }

    /// The WhatsApp templates of `summary`'s channel.
    fn templates(&self, summary: &ConversationSummary) -> Vec<String> {
        self.channel_info(summary)
            .map(|c| c.templates.clone())
            .unwrap_or_default()
    }

    /// What the composer of `conversation` offers at local time `local_now_ms`; `None`
    /// unless it is the signed-in agent's live chat.
    pub fn composer(&self, conversation: &ConversationId, local_now_ms: u64) -> Option<Composer> {
        if !self.can_write(conversation) {
            return None;
        }
        let s = self.conversations.get(conversation)?;
        let kind = self.kind_of(s);
        let reply = self
            .chat
            .as_ref()
            .filter(|c| &c.id == conversation)
            .map_or(ReplyKind::Public, |c| c.reply);
        let facts = s.facts.clone().unwrap_or_default();
        Some(composer(
            kind,
            &facts,
            &self.templates(s),
            reply,
            self.server_now(local_now_ms),
        ))
    }

    /// The posts commented on among `folder`'s conversations (before filters), sorted,
    /// and the one filtered on even when none is left: the post filter's options.
    pub fn posts(&self, folder: Folder) -> Vec<String> {
        let mut posts: BTreeSet<String> = self
            .conversations
            .values()
            .filter(|s| self.shows_in(s, folder))
            .filter_map(|s| comment_of(s).map(|c| c.post.clone()))
            .collect();
        posts.extend(self.post_filter.clone());
        posts.into_iter().collect()
    }

    /// Whether `summary` passes the post filter.
    pub(super) fn passes_post_filter(&self, summary: &ConversationSummary) -> bool {
        self.post_filter
            .as_ref()
            .is_none_or(|post| comment_of(summary).is_some_and(|c| &c.post == post))
    }

    /// The mock clock's line for the header, while it runs ahead.
    pub fn mock_clock(&self) -> Option<String> {
        words::mock_clock(self.mock_offset_ms)
    }
}

/// The comment `summary` is about, if any.
pub fn comment_of(summary: &ConversationSummary) -> Option<&CommentFacts> {
    summary.facts.as_ref()?.comment.as_ref()
}
