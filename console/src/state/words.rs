//! Every sentence the console shows or announces, made from the desk's facts. Visitor,
//! agent and bot text passes through unchanged: the view renders it as text, never HTML.

use porchlight_protocol::channels::{
    ChannelFacts, ChannelKind, CommentFacts, Delivery, HOUR_MS, HUMAN_AGENT_WINDOW_MS,
    PlatformError, REPLY_WINDOW_MS, window_ends,
};
use porchlight_protocol::console::{ConsoleError, ConversationSummary, Folder, Stage};
use porchlight_protocol::{AuthorKind, ConversationEvent};

/// Said when an action is tried while the link is down.
pub const NOT_CONNECTED: &str =
    "The console is not connected right now; try again once it has reconnected.";
/// Said when writing in a chat that is not (or no longer) the agent's.
pub const NOT_YOUR_CHAT: &str = "This chat is not yours to write in any more.";

/// A folder's tab label. Admins see every live chat, so theirs is not "My chats".
pub fn folder_label(folder: Folder, admin: bool) -> &'static str {
    match folder {
        Folder::Queue => "Queue",
        Folder::Engaged => "Engaged",
        Folder::Live if admin => "Live chats",
        Folder::Live => "My chats",
        Folder::History => "History",
    }
}

/// What an empty folder says.
pub fn empty_folder(folder: Folder, searching: bool) -> &'static str {
    match folder {
        Folder::Queue => "Nobody is waiting in the queue.",
        Folder::Engaged => "No requests are waiting to be started.",
        Folder::Live => "No live chats.",
        Folder::History if searching => "Nothing in the history matches the search.",
        Folder::History => "No closed conversations yet.",
    }
}

/// The visitor's name as rows and headings show it: the name, else the email, else "Visitor".
pub fn visitor_name(summary: &ConversationSummary) -> String {
    [&summary.name, &summary.email]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("Visitor")
        .to_string()
}

/// How a stage reads in history and in the chat view's heading.
pub fn stage_word(stage: Stage) -> &'static str {
    match stage {
        Stage::Bot => "With the bot",
        Stage::Queued => "In the queue",
        Stage::Connecting => "Waiting to be started",
        Stage::Live => "Live",
        Stage::Missed => "Missed",
        Stage::MessageLeft => "Message left",
        Stage::Ended => "Ended",
    }
}

/// How a closed conversation ended, as its history row says it.
pub fn history_status(stage: Stage) -> &'static str {
    match stage {
        Stage::Missed => "missed",
        Stage::MessageLeft => "message left",
        Stage::Ended => "ended",
        Stage::Bot | Stage::Queued | Stage::Connecting | Stage::Live => "open",
    }
}

/// The polite announcement of a new request.
pub fn new_request(summary: &ConversationSummary) -> String {
    format!("New chat request from {}", visitor_name(summary))
}

/// The polite announcement of a visitor's message in the open chat.
pub fn visitor_message(name: &str, text: &str) -> String {
    format!("New message from {name}: {text}")
}

/// A rating as stars and a number, e.g. "★★★★☆ 4/5".
pub fn stars(stars: u8) -> String {
    let stars = stars.min(5) as usize;
    format!("{}{} {stars}/5", "★".repeat(stars), "☆".repeat(5 - stars))
}

/// The signed-in agent's load, e.g. "1 / 2 chats".
pub fn load(load: u32, max_chats: u32) -> String {
    let noun = if max_chats == 1 { "chat" } else { "chats" };
    format!("{load} / {max_chats} {noun}")
}

/// A lifecycle event as a system line of the transcript, with the visitor's words that go
/// with it (a left message, a rating's comment). `None` for messages.
pub fn system_line(event: &ConversationEvent) -> Option<(String, Option<String>)> {
    Some(match event {
        ConversationEvent::MessageReceived { .. } => return None,
        ConversationEvent::AgentRequested {} => ("The visitor asked for an agent.".into(), None),
        ConversationEvent::AgentJoined { name } => (format!("{name} joined."), None),
        ConversationEvent::ChatEnded { by } => (
            match by {
                AuthorKind::Visitor => "The visitor ended the chat.",
                AuthorKind::Agent => "The agent closed the chat.",
                AuthorKind::Bot => "The chat ended.",
            }
            .into(),
            None,
        ),
        ConversationEvent::Missed {} => {
            ("Missed: nobody accepted the request in time.".into(), None)
        }
        ConversationEvent::MessageLeft { text } => {
            ("The visitor left a message:".into(), Some(text.clone()))
        }
        ConversationEvent::Rated { stars, comment } => (
            format!("The visitor rated the chat {stars} of 5 stars."),
            comment.clone(),
        ),
    })
}

/// A refusal as a sentence for the agent.
pub fn refusal(code: ConsoleError, message: &str) -> String {
    let message = message.trim();
    let or_message = |fallback: &str| {
        if message.is_empty() {
            fallback.to_string()
        } else {
            message.to_string()
        }
    };
    match code {
        // The desk says "Ben already accepted this request": keep who, if it says so.
        ConsoleError::Taken => match message.strip_suffix(" already accepted this request") {
            Some(who) if !who.is_empty() => {
                format!("Someone else already accepted this request ({who}).")
            }
            _ => "Someone else already accepted this request.".into(),
        },
        ConsoleError::Unauthorized => {
            "The console's token is wrong. Open the console URL printed by `cargo xtask demo`."
                .into()
        }
        ConsoleError::UnknownAgent => {
            "The server does not know this agent. Sign out and pick another.".into()
        }
        ConsoleError::UnknownConversation => "That conversation no longer exists.".into(),
        ConsoleError::InvalidText => {
            "The message was not sent: it is empty or too long.".into()
        }
        ConsoleError::RateLimited => {
            "Too many actions at once; the last one was dropped. Try again in a moment.".into()
        }
        ConsoleError::NotAllowed | ConsoleError::Platform => {
            or_message("That is not possible right now.")
        }
        ConsoleError::UnknownChannel => "That channel is not connected.".into(),
        ConsoleError::Unavailable => {
            "The server could not save that just now. Try again in a moment.".into()
        }
        ConsoleError::UnsupportedVersion => {
            "This console is out of date for the server; reload the page.".into()
        }
        ConsoleError::MalformedFrame
        | ConsoleError::FrameTooLarge
        | ConsoleError::HelloExpected => {
            "The server did not understand the console's last request; reload the page if this repeats."
                .into()
        }
    }
}

// ---- social channels ----

/// Beside a composer whose messages go out with the `HUMAN_AGENT` tag.
pub const TAG_NOTE: &str = "Sent with the HUMAN_AGENT tag (a person answering within 7 days)";
/// Where a story's link was, once the platform stopped serving it.
pub const STORY_EXPIRED: &str = "The story is no longer available (stories expire after 24 hours).";
/// Where a story's link was, when it is not a web address.
pub const STORY_NOT_A_LINK: &str = "The story's link is not a web address, so it is not shown.";
/// Why nothing can be sent about a deleted comment.
pub const COMMENT_DELETED: &str = "The comment was deleted, so nothing more can be sent about it.";

/// What hiding a comment asks first.
pub const CONFIRM_HIDE: &str =
    "Hide this comment? Everyone but its author and their friends stops seeing it.";
/// What deleting a comment asks first.
pub const CONFIRM_DELETE: &str = "Delete this comment? It is removed from the post for everyone, and cannot be answered any more.";

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Who runs the platform of `kind`, as a refusal names it.
pub fn platform(kind: Option<ChannelKind>) -> &'static str {
    match kind {
        Some(ChannelKind::Messenger | ChannelKind::FacebookComments) => "Facebook",
        Some(ChannelKind::Whatsapp) => "WhatsApp",
        Some(ChannelKind::Instagram | ChannelKind::InstagramComments) => "Instagram",
        Some(ChannelKind::Telegram) => "Telegram",
        Some(ChannelKind::Web) => "The website",
        None => "The platform",
    }
}

/// A platform error's own words with its numbers, e.g. "… (code 10, subcode 2018278)".
fn platform_words(error: &PlatformError) -> String {
    let message = error.message.trim().trim_end_matches('.');
    match error.error_subcode {
        Some(sub) => format!("{message} (code {}, subcode {sub})", error.code),
        None => format!("{message} (code {})", error.code),
    }
}

/// The alert when the platform refused a send: who, why, its code, and that nothing went.
pub fn platform_refusal(kind: Option<ChannelKind>, error: &PlatformError) -> String {
    format!(
        "{} refused this: {}. Nothing was sent.",
        platform(kind),
        platform_words(error)
    )
}

/// Why the composer's chosen send is not allowed, in the platform's words.
pub fn platform_says_no(kind: ChannelKind, error: &PlatformError) -> String {
    format!(
        "{} does not allow this: {}.",
        platform(Some(kind)),
        platform_words(error)
    )
}

/// A duration as a reply window's countdown, `h:mm:ss` (e.g. "23:41:07").
pub fn hms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A long duration in days and hours, hours and minutes, or minutes, leaving out what is
/// zero: "6 d 22 h", "8 d", "1 h 5 min", "12 min", "less than a minute".
pub fn span(ms: u64) -> String {
    let (d, h, m) = (ms / DAY_MS, ms % DAY_MS / HOUR_MS, ms % HOUR_MS / MINUTE_MS);
    let pair = if d > 0 {
        [(d, "d"), (h, "h")]
    } else if h > 0 {
        [(h, "h"), (m, "min")]
    } else {
        [(m, "min"), (0, "")]
    };
    let parts: Vec<String> = pair
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() {
        "less than a minute".into()
    } else {
        parts.join(" ")
    }
}

/// The reply window's line: `ends` as [`window_ends`] gives it, `delivery` what free text
/// would get now (`None`: refused), `templates_only` whether templates still go.
pub fn window_line(
    ends: (u64, Option<u64>),
    delivery: Option<Delivery>,
    templates_only: bool,
    now_ms: u64,
) -> String {
    let (free_until, tag_until) = ends;
    match delivery {
        Some(Delivery::HumanAgentTag) => format!(
            "Reply window closed; HUMAN_AGENT tag: {} left",
            span(tag_until.unwrap_or(now_ms).saturating_sub(now_ms))
        ),
        Some(_) => format!(
            "Reply window: {} left",
            hms(free_until.saturating_sub(now_ms))
        ),
        None if templates_only => "Reply window closed: templates only".into(),
        None => "Reply window closed".into(),
    }
}

/// Why free text may not go out on `kind` with `facts` at `now_ms`, which the platform
/// refused with `error`; `templates` when a template may go instead.
pub fn why_not_text(
    kind: ChannelKind,
    facts: &ChannelFacts,
    error: &PlatformError,
    templates: bool,
    now_ms: u64,
) -> String {
    let instead = if templates {
        " Send an approved template instead."
    } else {
        ""
    };
    let label = kind.label();
    let sentence = match window_ends(kind, facts) {
        None if kind.has_window() => format!(
            "{label} does not let a business write first, and the customer has not written yet, so there is no reply window."
        ),
        Some((free_until, tag_until)) if now_ms >= free_until => {
            let hours = REPLY_WINDOW_MS / HOUR_MS;
            let closed = span(now_ms - free_until);
            match tag_until {
                Some(tag_until) if now_ms >= tag_until => format!(
                    "The {hours}-hour reply window closed {closed} ago and the HUMAN_AGENT tag's {} days ended {} ago, so {label} does not allow free text.",
                    HUMAN_AGENT_WINDOW_MS / DAY_MS,
                    span(now_ms - tag_until),
                ),
                _ => format!(
                    "The {hours}-hour reply window closed {closed} ago, so {label} does not allow free text."
                ),
            }
        }
        _ => platform_says_no(kind, error),
    };
    format!("{sentence}{instead}")
}

/// What was done about a comment, e.g. "Comment on post 1047_55: hidden; private reply
/// sent."
pub fn comment_state(comment: &CommentFacts) -> String {
    let shown = if comment.deleted {
        "deleted"
    } else if comment.hidden {
        "hidden from everyone but its author"
    } else {
        "visible"
    };
    let private = if comment.private_replied {
        "private reply sent"
    } else {
        "no private reply yet"
    };
    format!("Comment on post {}: {shown}; {private}.", comment.post)
}

/// The header's line while the mock clock runs ahead, e.g. "Mock time: +25 h 0 min".
pub fn mock_clock(offset_ms: u64) -> Option<String> {
    (offset_ms > 0).then(|| {
        format!(
            "Mock time: +{} h {} min",
            offset_ms / HOUR_MS,
            offset_ms % HOUR_MS / MINUTE_MS
        )
    })
}

/// A template waiting to be sent, as the transcript shows it.
pub fn pending_template(name: &str) -> String {
    format!("Template “{name}”")
}
