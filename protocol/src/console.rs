//! The agent console's WebSocket frames (protocol v1, beside the widget's in [`wire`]).
//! Requests go up from the console ([`ConsoleFrame`]); facts come down from the desk
//! ([`DeskFrame`]). Every frame is one JSON text message with a `type` tag.
//!
//! The desk sends a snapshot of every conversation an agent may care about in `welcome`,
//! then a `conversation` frame whenever one of them changes; the console's folders
//! (queue, engaged, my chats, history) are views of that set. Deadlines travel as server
//! wall-clock milliseconds with the server's `now_ms` beside them, so a countdown does not
//! depend on the browser's clock.
//!
//! [`wire`]: crate::wire

use crate::channels::{ChannelFacts, ChannelKind, PlatformError};
use crate::form::Answers;
use crate::identity::KnownIdentity;
use crate::ids::{AdminToken, AgentId, ChannelId, ConversationId, MessageId, Seq};
use crate::wire::{ConversationEvent, EventRecord, FrameError, decode, encode};
use serde::{Deserialize, Serialize};

/// The channel of conversations that come from the web widget.
pub const WEB_CHANNEL: &str = "web";

/// The path of the console's WebSocket on the server.
pub const CONSOLE_SOCKET_PATH: &str = "/api/v1/console/ws";

/// A frame from the agent console to the desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConsoleFrame {
    /// The first frame: the admin secret, and who signs in — an agent of the
    /// configuration, or (no `agent`) an admin who sees everything.
    Hello {
        version: u32,
        token: AdminToken,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentId>,
    },
    /// The signed-in agent goes online or offline.
    SetOnline { online: bool },
    /// Take a request: Accept in the queue, Start chat in the engaged folder.
    Accept { conversation: ConversationId },
    /// Write in a live chat of the signed-in agent. Resending `id` never stores it twice.
    SendText {
        conversation: ConversationId,
        id: MessageId,
        text: String,
    },
    /// The agent started or stopped typing (the console throttles these).
    Typing {
        conversation: ConversationId,
        typing: bool,
    },
    /// Close a live chat of the signed-in agent.
    Close { conversation: ConversationId },
    /// Show a conversation: the desk answers `detail`, then sends its new events and the
    /// visitor's typing until another conversation is opened.
    Open { conversation: ConversationId },
    /// Send a WhatsApp template (outside the 24 h window), by name.
    SendTemplate {
        conversation: ConversationId,
        id: MessageId,
        template: String,
    },
    /// A direct message to a commenter about their comment (one per comment).
    PrivateReply {
        conversation: ConversationId,
        id: MessageId,
        text: String,
    },
    /// Hide the comment of a comment conversation.
    HideComment { conversation: ConversationId },
    /// Delete the comment of a comment conversation.
    DeleteComment { conversation: ConversationId },
    /// A customer message on a social channel, as if its platform had delivered it (the
    /// console's Simulate panel). The same name on the same channel is the same customer.
    Simulate {
        channel: ChannelId,
        name: String,
        text: String,
    },
    /// Search history by visitor name, email and message text; answered by a
    /// `conversation` row for each hit, then `found`.
    Search { query: String },
    /// Liveness probe; the desk answers `pong`.
    Ping {},
}

/// A frame from the desk to the agent console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeskFrame {
    /// The answer to `hello`: the desk as it stands. Sent again whenever the console fell
    /// too far behind, replacing everything it held.
    Welcome {
        version: u32,
        /// Server time, milliseconds since the Unix epoch.
        now_ms: u64,
        /// The signed-in agent; `None` for an admin.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentId>,
        routing: RoutingMode,
        /// How far the mock's wall clock runs ahead of the real one (0 unless moved).
        #[serde(default, skip_serializing_if = "is_zero")]
        clock_offset_ms: u64,
        agents: Vec<AgentStatus>,
        channels: Vec<ChannelInfo>,
        /// Waiting, engaged and live conversations, and the newest closed ones.
        conversations: Vec<ConversationSummary>,
    },
    /// A conversation was created or changed.
    Conversation {
        now_ms: u64,
        summary: Box<ConversationSummary>,
    },
    /// The mock's wall clock was moved forward.
    Clock { now_ms: u64, offset_ms: u64 },
    /// An agent went online or offline, or their load changed.
    Agent { status: AgentStatus },
    /// The conversation asked for with `open`: its pre-chat answers and every event.
    Detail {
        conversation: ConversationId,
        answers: Vec<AnswerLine>,
        events: Vec<EventRecord>,
        visitor_typing: bool,
        /// Who the visitor said they are (user id, name, email, custom attributes), and
        /// whether the server verified it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<KnownIdentity>,
    },
    /// A new event of the open conversation.
    Event {
        conversation: ConversationId,
        seq: Seq,
        /// Server time, milliseconds since the Unix epoch.
        at_ms: u64,
        event: ConversationEvent,
    },
    /// The visitor of the open conversation started or stopped typing.
    VisitorTyping {
        conversation: ConversationId,
        typing: bool,
    },
    /// The agent's message `id` is stored as event `seq`.
    Ack {
        conversation: ConversationId,
        id: MessageId,
        seq: Seq,
    },
    /// The history entries matching `query`, newest first.
    Found {
        query: String,
        conversations: Vec<ConversationId>,
    },
    /// The last frame was refused; nothing changed.
    Refused {
        code: ConsoleError,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation: Option<ConversationId>,
        /// The platform's own error, when a social channel would refuse the send.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform: Option<PlatformError>,
    },
    /// The answer to `ping`.
    Pong {},
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// How requests reach agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingMode {
    /// Requests wait in one queue; any agent with a free slot may accept.
    Broadcast,
    /// Each request is offered to one agent at a time, who must start it in time.
    TimeBased,
}

/// An agent, as the console shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentStatus {
    pub id: AgentId,
    pub name: String,
    pub online: bool,
    /// Live plus engaged chats.
    pub load: u32,
    pub max_chats: u32,
    /// Acts by itself (accepts and answers on a timer) as well as through the console.
    pub simulated: bool,
}

/// A channel conversations come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelInfo {
    pub id: ChannelId,
    /// The platform.
    pub kind: ChannelKind,
    /// What agents see: the site, the Page, the number, the account.
    pub name: String,
    /// WhatsApp: the templates that may be sent outside the window, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<String>,
}

/// Which folder a conversation belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    /// Waiting for any agent (broadcast), or for a free slot (time-based).
    Queue,
    /// Offered to one agent, who must start it (time-based).
    Engaged,
    /// A live chat.
    Live,
    /// Ended, missed or a left message.
    History,
}

/// Where a conversation stands, for agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Bot,
    Queued,
    Connecting,
    Live,
    Missed,
    MessageLeft,
    Ended,
}

impl Stage {
    /// The folder this stage shows in; `None` while the visitor talks to the bot.
    pub fn folder(self) -> Option<Folder> {
        match self {
            Stage::Bot => None,
            Stage::Queued => Some(Folder::Queue),
            Stage::Connecting => Some(Folder::Engaged),
            Stage::Live => Some(Folder::Live),
            Stage::Missed | Stage::MessageLeft | Stage::Ended => Some(Folder::History),
        }
    }
}

/// What runs out, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub kind: DeadlineKind,
    /// Server time, milliseconds since the Unix epoch.
    pub at_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The chat queue time: missed when it runs out.
    Queue,
    /// The chat acceptance time: offered to the next agent when it runs out.
    Acceptance,
}

/// One conversation as a folder row shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationSummary {
    pub id: ConversationId,
    pub channel: ChannelId,
    pub stage: Stage,
    /// The visitor's name and email from the pre-chat form, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The first words of the visitor's first message (or left message).
    pub preview: String,
    /// The agent it is offered to (engaged) or who has it (live, or who closed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    /// 1-based place in the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Deadline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// When it started and when it last changed, server milliseconds since the epoch.
    pub started_ms: u64,
    pub updated_ms: u64,
    /// The newest event's seq.
    pub last_seq: Seq,
    /// A social channel's facts its rules depend on: the customer's last message (the
    /// reply window), the `HUMAN_AGENT` tag, the comment and what was done about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<ChannelFacts>,
    /// The story a story reply or mention carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<StoryView>,
}

/// A story an Instagram conversation is about. Its media is never stored or shown inline:
/// only its link, and only while the platform still serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoryView {
    /// The customer mentioned the account in their story (rather than replying to one).
    pub mention: bool,
    /// The media link; `None` once it has expired (show a placeholder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A visitor's rating of a closed chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    pub stars: u8,
    pub comment: Option<String>,
}

impl ConversationSummary {
    /// The folder this row shows in for `viewer` — an agent, or `None` for an admin. The
    /// queue and history are the team's, so everyone sees them; a request offered to an
    /// agent shows in that agent's Engaged only, a live chat in its agent's My chats only.
    /// Admins see every row.
    pub fn folder_for(&self, viewer: Option<&AgentId>) -> Option<Folder> {
        let folder = self.stage.folder()?;
        let mine = || viewer.is_none() || self.agent.as_ref() == viewer;
        match folder {
            Folder::Queue | Folder::History => Some(folder),
            Folder::Engaged | Folder::Live => mine().then_some(folder),
        }
    }
}

/// One pre-chat answer, with the field's label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerLine {
    pub label: String,
    pub value: String,
}

/// Why the desk refused a console frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleError {
    /// The frame is not valid JSON or not a known frame.
    MalformedFrame,
    /// The frame is larger than [`MAX_FRAME_BYTES`](crate::limits::MAX_FRAME_BYTES).
    FrameTooLarge,
    UnsupportedVersion,
    /// The first frame was not `hello`, or `hello` came twice.
    HelloExpected,
    /// The admin secret is wrong; the socket closes.
    Unauthorized,
    UnknownAgent,
    UnknownConversation,
    /// Someone else accepted the request first.
    Taken,
    /// Not possible now (closing a chat not yet accepted, writing in someone else's chat,
    /// acting as an admin, …).
    NotAllowed,
    InvalidText,
    /// Too many frames; the frame was dropped.
    RateLimited,
    /// No such channel is connected.
    UnknownChannel,
    /// The social channel's platform would refuse this send; nothing was sent or stored
    /// (`platform` has its error).
    Platform,
    /// The server could not store the change yet; try again shortly.
    Unavailable,
}

/// Builds the pre-chat answers in the order of the form's fields.
pub fn answer_lines(fields: &[crate::form::FormField], answers: &Answers) -> Vec<AnswerLine> {
    fields
        .iter()
        .filter_map(|field| {
            answers.get(&field.name).map(|value| AnswerLine {
                label: field.label.clone(),
                value: value.clone(),
            })
        })
        .collect()
}

impl ConsoleFrame {
    /// Parses a frame received from a console, checking its size first.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        decode(text)
    }

    pub fn encode(&self) -> String {
        encode(self)
    }
}

impl DeskFrame {
    /// Parses a frame received from the desk. Snapshots may be larger than a console
    /// frame, so only the console's own frames are size-checked.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))
    }

    pub fn encode(&self) -> String {
        encode(self)
    }

    /// A refusal with its sentence.
    pub fn refused(
        code: ConsoleError,
        message: impl Into<String>,
        conversation: Option<ConversationId>,
    ) -> Self {
        DeskFrame::Refused {
            code,
            message: message.into(),
            conversation,
            platform: None,
        }
    }
}
