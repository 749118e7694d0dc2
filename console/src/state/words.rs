//! Every sentence the console shows or announces, made from the desk's facts. Visitor,
//! agent and bot text passes through unchanged: the view renders it as text, never HTML.

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
