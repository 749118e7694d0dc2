//! The widget's conversation machine: inputs in, effects out, no DOM, no clock, no I/O.
//!
//! [`Widget::update`] is the one place where the widget's state changes. The runtime feeds
//! it user actions, link events and server frames (with the local time where time matters)
//! and carries out the [`Effect`]s it returns (open a socket, send a frame, store the token,
//! schedule a reconnect, fetch history or a missed transcript, tell the host page); the
//! view only renders
//! [`Widget`]. This keeps every rule here unit-testable natively.
//!
//! Delivery rules kept here: server events are taken in `seq` order exactly once (an event
//! already held is dropped; a gap means the link is unsound and is reopened, so the server
//! replays); visitor messages and quick replies wait in the outbox until the server's event
//! for their id arrives, at most [`IN_FLIGHT_LIMIT`] unacked at a time, and a request for an
//! agent or a left message waits until the server's status moves on; every `welcome`
//! resends what is still waiting, with the same ids. A `welcome` may say the gap is to be
//! read over HTTP (live events meanwhile wait in order), or that the server lost the
//! session (what was shown is dropped, and every waiting message goes to the new one). The
//! runtime keeps the outbox in browser storage ([`SavedOutbox`]) so a reload loses none.
//!
//! The lifecycle as the visitor sees it is [`Phase`]: the server's latest [`ChatStatus`]
//! plus the one client-only phase, the pre-chat form.

use crate::runtime::Error;
use porchlight_protocol::lean::IdentityText;
use porchlight_protocol::{
    Answers, Author, AuthorKind, ChatStatus, Choice, ChoiceId, ClientFrame, ConversationEvent,
    ConversationId, EventRecord, FieldError, FieldProblem, FormField, MessageId, PROTOCOL_VERSION,
    PastConversation, RequestId, Seq, ServerFrame, SessionToken, SiteId,
};

mod forms;
mod history;
mod identity;
mod link;
mod outbox;

pub use forms::{MAX_STARS, Pending};
pub use history::History;
pub use link::{DEAD_AFTER_MS, HEARTBEAT_TICK_MS, LinkState, PING_AFTER_MS};
pub use outbox::{Delivery, IN_FLIGHT_LIMIT, Outgoing, SavedOutbox, Sending, TYPING_EVERY_MS};

/// Where the conversation stands for the visitor: what the panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The server has not told the status yet.
    Starting,
    /// Talking to the bot.
    Bot,
    /// Filling in the pre-chat form (client-only; the server still says `Bot`).
    PreChat,
    /// Waiting for an agent: queued, or an agent is being asked to accept.
    Waiting,
    /// Chatting with an agent.
    Live,
    /// Nobody took the chat: the leave-a-message form.
    Missed,
    /// A message was left for later.
    MessageLeft,
    /// The chat is over and not yet rated: the rating form.
    Rating,
    /// The chat is over and rated.
    Ended,
}

impl Phase {
    /// Whether the visitor can write messages.
    pub fn composer(self) -> bool {
        matches!(
            self,
            Phase::Starting | Phase::Bot | Phase::Waiting | Phase::Live
        )
    }

    /// Whether the visitor can end the chat (or withdraw the request).
    pub fn can_end(self) -> bool {
        matches!(self, Phase::Waiting | Phase::Live)
    }

    /// Whether the visitor can start a new conversation.
    pub fn can_start_new(self) -> bool {
        matches!(self, Phase::MessageLeft | Phase::Rating | Phase::Ended)
    }
}

/// Something that happened: a visitor action, a link event or a server frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Open,
    Close,
    Toggle,
    /// The site configuration arrived: whether a bot greets, the pre-chat form, and whether
    /// only signed-in (verified) visitors may chat.
    Configured {
        bot_enabled: bool,
        prechat: Vec<FormField>,
        identity_required: bool,
        /// The site chimes for a new bot or agent message while the panel is closed.
        sound: bool,
    },
    /// The host page says who the visitor is (`Porchlight('identify', …)`, or stored).
    Identify(IdentityText),
    /// The visitor sends `text` (unvalidated) under a fresh client-made `id`.
    Send {
        id: MessageId,
        text: String,
    },
    /// The visitor picks one of the bot's quick replies, under a fresh `id`.
    Choose {
        id: MessageId,
        choice: ChoiceId,
    },
    /// The composer's draft changed at local time `now_ms`.
    Draft {
        empty: bool,
        now_ms: u64,
    },
    /// "Talk to a person"; `request` is used at once when there is no pre-chat form.
    TalkToHuman {
        request: RequestId,
    },
    /// Back from the pre-chat form to the bot.
    CancelPreChat,
    /// The pre-chat form is submitted (answers unvalidated) under a fresh `request` id.
    SubmitPreChat {
        request: RequestId,
        answers: Answers,
    },
    /// "End chat": ask for confirmation.
    AskEndChat,
    CancelEndChat,
    ConfirmEndChat,
    /// The rating form is submitted; `stars` is `None` when none is picked.
    Rate {
        stars: Option<u8>,
        comment: String,
    },
    /// The leave-a-message form is submitted (unvalidated) under a fresh `request` id.
    LeaveMessage {
        request: RequestId,
        answers: Answers,
        text: String,
    },
    StartNew,
    /// Show the previous conversations.
    OpenHistory,
    /// The history fetch finished.
    HistoryLoaded(Result<Vec<PastConversation>, Error>),
    /// Read the past conversation at this index of the list.
    ShowPast(usize),
    /// From a past conversation back to the list; from the list back to the chat.
    HistoryBack,
    /// Straight back to the chat.
    CloseHistory,
    /// The socket opened.
    LinkOpened,
    /// The socket closed or failed.
    LinkClosed,
    /// The scheduled reconnect is due.
    ReconnectDue,
    /// The outbox kept in browser storage by an earlier page load.
    Restored(SavedOutbox),
    /// The transcript read over HTTP (after a `welcome` with [`Replay::Http`]) arrived.
    TranscriptLoaded {
        conversation: ConversationId,
        result: Result<Vec<EventRecord>, Error>,
    },
    /// The browser came back online or the tab became visible: retry a dropped link now.
    RetryNow,
    /// The heartbeat clock ticked at local time `now_ms` (every [`HEARTBEAT_TICK_MS`]).
    Heartbeat {
        now_ms: u64,
    },
    /// A frame arrived from the server at local time `now_ms`.
    Frame {
        frame: ServerFrame,
        now_ms: u64,
    },
    /// The visitor has seen `conversation` up to `seq` (in this tab at start, or in another).
    Seen {
        conversation: ConversationId,
        seq: Seq,
    },
    /// The host page's `Porchlight('reset')`: forget this visitor, start a new session.
    Reset,
}

/// Trouble the status line tells the visitor, in the site's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The server's own words, for an error the site has no text for.
    Server(String),
    /// Messages came too fast (`rate_limited`); they go out again.
    RateLimited,
    /// The server could not store a change (`unavailable`); it goes out again.
    Unavailable,
    /// The queue for an agent is full (`queue_full`).
    QueueFull,
    /// The server refused the identity the host page gave (`identity_refused`).
    IdentityRefused,
    /// The site takes signed-in visitors only (`signed_in_only`).
    SignedInOnly,
}

/// What the host page's listeners hear (`Porchlight('on', NAME, fn)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// `message`: a new bot or agent message.
    Message { author: Author, text: String },
    /// `unread`: the count of bot and agent messages not yet seen changed.
    Unread(u32),
    /// `chat:started`: an agent joined.
    ChatStarted,
    /// `chat:ended`: the live chat ended.
    ChatEnded,
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open a new socket (closing any old one first).
    Connect,
    /// Send this frame on the open socket.
    Transmit(ClientFrame),
    /// Keep this session token for the next visit.
    SaveToken(SessionToken),
    /// Feed [`Input::ReconnectDue`] back after a backoff delay for this attempt (1, 2, …).
    ScheduleReconnect { attempt: u32 },
    /// Remember whether the panel is open, and tell the host page.
    PanelChanged { open: bool },
    /// Tell the host page.
    Host(HostEvent),
    /// Keep how far the visitor has seen, for the next load and the other tabs.
    SaveSeen(ConversationId, Seq),
    /// Fetch the session's past conversations and feed back [`Input::HistoryLoaded`].
    FetchHistory { token: SessionToken },
    /// Read `conversation`'s events after `after` over HTTP and feed back
    /// [`Input::TranscriptLoaded`].
    FetchTranscript {
        token: SessionToken,
        conversation: ConversationId,
        after: Seq,
    },
    /// Play the chime: a bot or agent message arrived while the panel is closed.
    Chime,
}

/// The widget's whole state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widget {
    pub site: SiteId,
    pub open: bool,
    /// Who the host page says the visitor is; carried by every `hello`.
    pub identity: Option<IdentityText>,
    /// The site takes signed-in visitors only: without an identity no link opens.
    pub identity_required: bool,
    /// The site chimes for new bot and agent messages while the panel is closed.
    pub sound: bool,
    /// The newest event the server held when the link last came online: what is replayed
    /// up to it is not new, so it never chimes.
    pub live_after: Seq,
    /// The identity changed since the last `welcome`: a welcome into another session is the
    /// visitor's own session taking over, not a lost one.
    pub identified: bool,
    pub link: LinkState,
    pub token: Option<SessionToken>,
    pub conversation: Option<ConversationId>,
    /// Whether the site greets with a bot; without one the pre-chat form shows at once.
    pub bot_enabled: bool,
    /// The site's pre-chat form, also the fields of the leave-a-message form.
    pub prechat: Vec<FormField>,
    /// The newest event held; everything up to it is in `events`.
    pub last_seq: Seq,
    /// The conversation's events in seq order: messages and lifecycle lines.
    pub events: Vec<EventRecord>,
    pub outbox: Vec<Outgoing>,
    /// The server's latest status, and the local time it arrived (for the wait clock).
    pub status: Option<ChatStatus>,
    pub status_at_ms: u64,
    /// The visitor chose "Talk to a person" and sees the pre-chat form.
    pub prechat_open: bool,
    /// The request for an agent, until the status moves on from the bot.
    pub agent_request: Option<Pending>,
    /// The left message, until the status moves on from missed.
    pub leave_request: Option<Pending>,
    /// The answers the visitor last gave, to prefill the leave-a-message form.
    pub answers: Answers,
    /// Field errors of the form on show, from local validation or the server's refusal.
    pub form_errors: Vec<FieldError>,
    /// The problem with the form's own input: the left message's text, the rating's stars.
    pub problem: Option<FieldProblem>,
    /// Counts every time errors are reported, so the view moves focus to the first one even
    /// when the same errors come again.
    pub errors_reported: u32,
    /// The "End this chat?" confirmation is open.
    pub confirming_end: bool,
    /// A rating was sent and its status has not come back.
    pub rating_sent: bool,
    /// `start_new` was sent and its `welcome` has not come back.
    pub starting_new: bool,
    /// The agent who is typing, as the server last said.
    pub agent_typing: Option<String>,
    /// When the visitor's last `typing: true` went out on this link. Kept after the
    /// visitor stops, so typing frames stay one per [`TYPING_EVERY_MS`] however fast they
    /// write: with their messages they stay under the server's frame rate.
    pub typing_sent_ms: Option<u64>,
    /// The server believes the visitor is typing.
    pub typing_on: bool,
    pub history: History,
    /// Failed connection attempts since the link was last online.
    pub attempts: u32,
    /// The last trouble reported, for the visitor to read.
    pub notice: Option<Notice>,
    /// The notice says messages were refused for now (rate, storage): it goes once every
    /// waiting message has arrived.
    pub notice_until_sent: bool,
    /// When the last frame arrived (local time), to tell a live link from a dead one.
    pub heard_ms: Option<u64>,
    /// When the last heartbeat `ping` went out (or the link came online).
    pub pinged_ms: Option<u64>,
    /// Reading missed events over HTTP, up to this seq; live events beyond the gap wait in
    /// `held_back` meanwhile.
    pub rereading: Option<Seq>,
    pub held_back: Vec<EventRecord>,
    /// The server no longer knew the session: what was shown is gone, and this is a new
    /// conversation. Shown until the visitor acts.
    pub session_lost: bool,
    /// How far the visitor has seen a conversation (the panel was open at that seq).
    pub seen: Option<(ConversationId, Seq)>,
    /// Bot and agent messages after `seen`: the launcher's badge.
    pub unread: u32,
}

impl Widget {
    /// A closed widget for `site`, resuming session `token` if there is one.
    pub fn new(site: SiteId, token: Option<SessionToken>) -> Self {
        Widget {
            site,
            open: false,
            identity: None,
            identity_required: false,
            sound: false,
            live_after: Seq(0),
            identified: false,
            link: LinkState::Idle,
            token,
            conversation: None,
            bot_enabled: true,
            prechat: Vec::new(),
            last_seq: Seq(0),
            events: Vec::new(),
            outbox: Vec::new(),
            status: None,
            status_at_ms: 0,
            prechat_open: false,
            agent_request: None,
            leave_request: None,
            answers: Answers::new(),
            form_errors: Vec::new(),
            problem: None,
            errors_reported: 0,
            confirming_end: false,
            rating_sent: false,
            starting_new: false,
            agent_typing: None,
            typing_sent_ms: None,
            typing_on: false,
            history: History::Closed,
            attempts: 0,
            notice: None,
            notice_until_sent: false,
            heard_ms: None,
            pinged_ms: None,
            rereading: None,
            held_back: Vec::new(),
            session_lost: false,
            seen: None,
            unread: 0,
        }
    }

    /// The seq up to which the current conversation has been seen.
    fn seen_seq(&self) -> Seq {
        match (&self.seen, &self.conversation) {
            (Some((seen, seq)), Some(current)) if seen == current => *seq,
            _ => Seq(0),
        }
    }

    /// The bot and agent messages the visitor has not seen.
    fn count_unread(&self) -> u32 {
        let seen = self.seen_seq();
        self.events
            .iter()
            .filter(|r| r.seq > seen && from_staff(&r.event).is_some())
            .count() as u32
    }

    /// Where the conversation stands for the visitor.
    pub fn phase(&self) -> Phase {
        match &self.status {
            None => Phase::Starting,
            Some(ChatStatus::Bot {}) if self.prechat_open || !self.bot_enabled => Phase::PreChat,
            Some(ChatStatus::Bot {}) => Phase::Bot,
            Some(ChatStatus::Queued { .. } | ChatStatus::Connecting { .. }) => Phase::Waiting,
            Some(ChatStatus::Live { .. }) => Phase::Live,
            Some(ChatStatus::Missed {}) => Phase::Missed,
            Some(ChatStatus::MessageLeft {}) => Phase::MessageLeft,
            Some(ChatStatus::Ended { rated: false }) => Phase::Rating,
            Some(ChatStatus::Ended { rated: true }) => Phase::Ended,
        }
    }

    /// The quick replies on offer: the newest event's, while it is a bot message in the bot
    /// phase and nothing the visitor sent is still on its way.
    pub fn choices(&self) -> &[Choice] {
        if self.phase() != Phase::Bot || !self.outbox.is_empty() {
            return &[];
        }
        match self.events.last().map(|r| &r.event) {
            Some(ConversationEvent::MessageReceived {
                author, choices, ..
            }) if author.kind == AuthorKind::Bot => choices,
            _ => &[],
        }
    }

    /// How long the visitor has waited for an agent at local time `now_ms`, while waiting.
    pub fn waited_ms(&self, now_ms: u64) -> Option<u64> {
        match self.status {
            Some(ChatStatus::Queued { waited_ms, .. } | ChatStatus::Connecting { waited_ms }) => {
                Some(waited_ms.saturating_add(now_ms.saturating_sub(self.status_at_ms)))
            }
            _ => None,
        }
    }

    /// Applies one input and returns what the runtime must do. While the panel is open the
    /// visitor sees everything held; while it is closed, new bot and agent messages count
    /// as unread.
    pub fn update(&mut self, input: Input) -> Vec<Effect> {
        let mut effects = self.apply(input);
        if self.open
            && let Some(conversation) = &self.conversation
            && self.last_seq != Seq(0)
            && self.seen_seq() != self.last_seq
        {
            self.seen = Some((conversation.clone(), self.last_seq));
            effects.push(Effect::SaveSeen(conversation.clone(), self.last_seq));
        }
        let unread = self.count_unread();
        if unread != self.unread {
            self.unread = unread;
            effects.push(Effect::Host(HostEvent::Unread(unread)));
        }
        effects
    }

    fn apply(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Open => self.set_open(true),
            Input::Close => self.set_open(false),
            Input::Toggle => self.set_open(!self.open),
            Input::Configured {
                bot_enabled,
                prechat,
                identity_required,
                sound,
            } => {
                self.bot_enabled = bot_enabled;
                self.sound = sound;
                self.prechat = prechat;
                self.identity_required = identity_required;
                if self.needs_identity() {
                    self.refuse(Notice::SignedInOnly);
                    Vec::new()
                // A returning visitor's link opens at once, so messages meanwhile count.
                } else if self.token.is_some() {
                    self.ensure_link()
                } else {
                    Vec::new()
                }
            }
            Input::Seen { conversation, seq } => {
                if self
                    .seen
                    .as_ref()
                    .is_none_or(|(c, s)| *c != conversation || *s < seq)
                {
                    self.seen = Some((conversation, seq));
                }
                Vec::new()
            }
            Input::Identify(identity) => self.identify(identity),
            Input::Reset => {
                let live = self.link != LinkState::Idle;
                *self = Widget {
                    open: self.open,
                    bot_enabled: self.bot_enabled,
                    identity_required: self.identity_required,
                    sound: self.sound,
                    prechat: std::mem::take(&mut self.prechat),
                    unread: self.unread,
                    link: if live {
                        LinkState::Connecting
                    } else {
                        LinkState::Idle
                    },
                    ..Widget::new(self.site.clone(), None)
                };
                if self.needs_identity() {
                    self.refuse(Notice::SignedInOnly);
                    Vec::new()
                } else if live {
                    vec![Effect::Connect]
                } else {
                    Vec::new()
                }
            }
            Input::Send { id, text } => self.send(id, &text),
            Input::Choose { id, choice } => self.choose(id, choice),
            Input::Draft { empty, now_ms } => self.draft(empty, now_ms),
            Input::TalkToHuman { request } => self.talk_to_human(request),
            Input::CancelPreChat => {
                if self.agent_request.is_none() {
                    self.prechat_open = false;
                    self.clear_errors();
                }
                Vec::new()
            }
            Input::SubmitPreChat { request, answers } => self.submit_prechat(request, answers),
            Input::AskEndChat => {
                self.confirming_end = self.phase().can_end();
                Vec::new()
            }
            Input::CancelEndChat => {
                self.confirming_end = false;
                Vec::new()
            }
            Input::ConfirmEndChat => {
                let wanted = std::mem::take(&mut self.confirming_end) && self.phase().can_end();
                self.transmit_if(wanted, ClientFrame::EndChat {})
            }
            Input::Rate { stars, comment } => self.rate(stars, &comment),
            Input::LeaveMessage {
                request,
                answers,
                text,
            } => self.leave_message(request, answers, &text),
            Input::StartNew => {
                self.session_lost = false;
                let wanted = self.phase().can_start_new() && !self.starting_new;
                let effects = self.transmit_if(wanted, ClientFrame::StartNew {});
                self.starting_new |= !effects.is_empty();
                effects
            }
            Input::OpenHistory => self.open_history(),
            Input::HistoryLoaded(result) => {
                if self.history == History::Loading {
                    self.history = match result {
                        Ok(conversations) => History::Loaded {
                            conversations,
                            viewing: None,
                        },
                        Err(message) => History::Failed(message),
                    };
                }
                Vec::new()
            }
            Input::ShowPast(index) => {
                if let History::Loaded {
                    conversations,
                    viewing,
                } = &mut self.history
                    && index < conversations.len()
                {
                    *viewing = Some(index);
                }
                Vec::new()
            }
            Input::HistoryBack => {
                match &mut self.history {
                    History::Loaded {
                        viewing: viewing @ Some(_),
                        ..
                    } => *viewing = None,
                    _ => self.history = History::Closed,
                }
                Vec::new()
            }
            Input::CloseHistory => {
                self.history = History::Closed;
                Vec::new()
            }
            Input::LinkOpened => vec![Effect::Transmit(ClientFrame::Hello {
                version: PROTOCOL_VERSION,
                site: self.site.clone(),
                token: self.token.clone(),
                conversation: self.conversation.clone(),
                last_seq: self.last_seq,
            })],
            Input::LinkClosed => self.link_lost(),
            Input::Heartbeat { now_ms } => self.heartbeat(now_ms),
            Input::ReconnectDue | Input::RetryNow => {
                if self.link == LinkState::Reconnecting {
                    self.link = LinkState::Connecting;
                    vec![Effect::Connect]
                } else {
                    Vec::new()
                }
            }
            Input::Restored(saved) => self.restore(saved),
            Input::TranscriptLoaded {
                conversation,
                result,
            } => self.transcript_loaded(&conversation, result),
            Input::Frame { frame, now_ms } => self.receive(frame, now_ms),
        }
    }

    fn set_open(&mut self, open: bool) -> Vec<Effect> {
        if self.open == open {
            return Vec::new();
        }
        self.open = open;
        let mut effects = vec![Effect::PanelChanged { open }];
        if open {
            effects.extend(self.ensure_link());
        }
        effects
    }
}

/// The author and text of a bot or agent message.
fn from_staff(event: &ConversationEvent) -> Option<(&Author, &str)> {
    match event {
        ConversationEvent::MessageReceived { author, text, .. }
            if author.kind != AuthorKind::Visitor =>
        {
            Some((author, text))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
