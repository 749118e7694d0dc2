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

use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::{
    Answers, Author, AuthorKind, ChatStatus, Choice, ChoiceId, ClientFrame, ConversationEvent,
    ConversationId, ErrorCode, EventRecord, FieldError, FieldProblem, FormField, MessageId,
    PROTOCOL_VERSION, PastConversation, Replay, RequestId, Seq, ServerFrame, SessionToken, SiteId,
    form, text,
};

/// At most this many outbox messages are on their way unacked at once; the next goes out
/// as one is acked. A long outbox after an outage so stays within the server's burst of
/// [`FRAME_BURST`](porchlight_protocol::limits::FRAME_BURST) frames, with room to spare.
pub const IN_FLIGHT_LIMIT: usize = 10;

/// The visitor's `typing: true` goes out at most this often while they keep typing.
pub const TYPING_EVERY_MS: u64 = 3_000;

/// The best rating.
pub const MAX_STARS: u8 = 5;

/// The state of the live link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkState {
    /// No socket, none wanted yet (the visitor has not opened the chat).
    #[default]
    Idle,
    /// A socket is opening, or open and waiting for `welcome`.
    Connecting,
    /// `welcome` received: frames flow.
    Online,
    /// The socket dropped; a reconnect is scheduled.
    Reconnecting,
}

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

/// What a visitor message in the outbox is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sending {
    /// Typed text.
    Text,
    /// A quick reply picked from the bot's choices.
    Choice(ChoiceId),
}

/// A visitor message the server has not yet shown back as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: MessageId,
    /// What the visitor sees meanwhile: the typed text, or the choice's label.
    pub text: String,
    pub sending: Sending,
    /// Acked by the server (stored as this seq), its event not yet received.
    pub acked: Option<Seq>,
    /// Sent on the current link and not yet acked.
    pub in_flight: bool,
}

/// How far a message in the outbox has got, as the visitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// On its way over an open link.
    Sending,
    /// Stored by the server.
    Sent,
    /// The link is down: it goes out again when the link is back.
    Retrying,
}

/// The outbox as kept in browser storage, so a reload loses nothing: the messages still
/// waiting, and the conversation they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedOutbox {
    pub conversation: ConversationId,
    pub messages: Vec<Outgoing>,
}

impl Outgoing {
    /// The message as if never sent: not acked, not in flight.
    /// Typed text, not yet sent.
    fn text(id: MessageId, text: String) -> Outgoing {
        Outgoing {
            id,
            text,
            sending: Sending::Text,
            acked: None,
            in_flight: false,
        }
    }

    fn unsent(self) -> Outgoing {
        Outgoing {
            acked: None,
            in_flight: false,
            ..self
        }
    }

    /// The frame that sends (or resends) this message.
    fn frame(&self) -> ClientFrame {
        match &self.sending {
            Sending::Text => ClientFrame::SendText {
                id: self.id.clone(),
                text: self.text.clone(),
            },
            Sending::Choice(choice) => ClientFrame::Choose {
                id: self.id.clone(),
                choice: choice.clone(),
            },
        }
    }
}

/// A request (for an agent, or to leave a message) sent and not yet answered. Kept so a
/// double click sends nothing new and a reconnect resends the same request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub request: RequestId,
    pub frame: ClientFrame,
}

/// The "previous conversations" view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum History {
    /// Not shown: the panel shows the current conversation.
    #[default]
    Closed,
    /// Fetching the list.
    Loading,
    /// The list could not be fetched.
    Failed(String),
    /// The list (newest first), and the one being read, if any.
    Loaded {
        conversations: Vec<PastConversation>,
        viewing: Option<usize>,
    },
}

/// Something that happened: a visitor action, a link event or a server frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Open,
    Close,
    Toggle,
    /// The site configuration arrived: whether a bot greets, and the pre-chat form.
    Configured {
        bot_enabled: bool,
        prechat: Vec<FormField>,
    },
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
    HistoryLoaded(Result<Vec<PastConversation>, String>),
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
        result: Result<Vec<EventRecord>, String>,
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
}

/// The widget's whole state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widget {
    pub site: SiteId,
    pub open: bool,
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
    /// The last error the server reported, for the visitor to read.
    pub notice: Option<String>,
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

/// How often the runtime feeds [`Input::Heartbeat`].
pub const HEARTBEAT_TICK_MS: u64 = 5_000;
/// An online link sends a `ping` this often (the server answers `pong`), so each side hears
/// from the other even when nobody writes.
pub const PING_AFTER_MS: u64 = 20_000;
/// A link silent this long is dead: it is closed and reopened. Two pings fit in it, so one
/// lost pong is not enough.
pub const DEAD_AFTER_MS: u64 = 50_000;

impl Widget {
    /// A closed widget for `site`, resuming session `token` if there is one.
    pub fn new(site: SiteId, token: Option<SessionToken>) -> Self {
        Widget {
            site,
            open: false,
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

    /// How far the outbox message `out` has got.
    pub fn delivery(&self, out: &Outgoing) -> Delivery {
        match (out.acked, self.link) {
            (Some(_), _) => Delivery::Sent,
            (None, LinkState::Online) => Delivery::Sending,
            (None, _) => Delivery::Retrying,
        }
    }

    /// The outbox to keep in browser storage, `None` when nothing waits. It holds only what
    /// storage keeps, so an ack or a send alone does not change it.
    pub fn saved_outbox(&self) -> Option<SavedOutbox> {
        if self.outbox.is_empty() {
            return None;
        }
        Some(SavedOutbox {
            conversation: self.conversation.clone()?,
            messages: self.outbox.iter().cloned().map(Outgoing::unsent).collect(),
        })
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
            } => {
                self.bot_enabled = bot_enabled;
                self.prechat = prechat;
                // A returning visitor's link opens at once, so messages meanwhile count.
                if self.token.is_some() {
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
            Input::Reset => {
                let live = self.link != LinkState::Idle;
                *self = Widget {
                    open: self.open,
                    bot_enabled: self.bot_enabled,
                    prechat: std::mem::take(&mut self.prechat),
                    unread: self.unread,
                    link: if live {
                        LinkState::Connecting
                    } else {
                        LinkState::Idle
                    },
                    ..Widget::new(self.site.clone(), None)
                };
                if live {
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

    /// Takes back the outbox of an earlier page load, before the link first opens: its
    /// messages go out after the first `welcome`, unless the session has moved on to
    /// another conversation by then.
    fn restore(&mut self, saved: SavedOutbox) -> Vec<Effect> {
        if self.conversation.is_some() || !self.outbox.is_empty() {
            return Vec::new(); // only a fresh page load takes an outbox back
        }
        self.conversation = Some(saved.conversation);
        for out in saved.messages {
            if !self.outbox.iter().any(|o| o.id == out.id) {
                self.outbox.push(out.unsent());
            }
        }
        Vec::new()
    }

    fn transcript_loaded(
        &mut self,
        conversation: &ConversationId,
        result: Result<Vec<EventRecord>, String>,
    ) -> Vec<Effect> {
        if self.rereading.is_none() || self.conversation.as_ref() != Some(conversation) {
            return Vec::new(); // an answer for a link or conversation left behind
        }
        self.rereading = None;
        let held_back = std::mem::take(&mut self.held_back);
        match result {
            Ok(records) => {
                let mut effects = Vec::new();
                for record in records.into_iter().chain(held_back) {
                    effects.extend(self.event(record));
                    if effects.iter().any(|e| matches!(e, Effect::Connect)) {
                        break; // a gap: the reopened link replays the rest
                    }
                }
                effects
            }
            // Reopen the link: the server tells again what to read.
            Err(_) => {
                self.link = LinkState::Connecting;
                vec![Effect::Connect]
            }
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

    /// Starts the link if nothing is running yet.
    fn ensure_link(&mut self) -> Vec<Effect> {
        if self.link == LinkState::Idle {
            self.link = LinkState::Connecting;
            vec![Effect::Connect]
        } else {
            Vec::new()
        }
    }

    /// Sends a frame that is kept for resending: now if online, else after the next welcome.
    fn transmit_kept(&mut self, frame: ClientFrame) -> Vec<Effect> {
        match self.link {
            LinkState::Online => vec![Effect::Transmit(frame)],
            _ => self.ensure_link(),
        }
    }

    /// Sends a frame that only makes sense now, if `wanted` and the link is up.
    fn transmit_if(&self, wanted: bool, frame: ClientFrame) -> Vec<Effect> {
        if wanted && self.link == LinkState::Online {
            vec![Effect::Transmit(frame)]
        } else {
            Vec::new()
        }
    }

    fn queue(&mut self, out: Outgoing) -> Vec<Effect> {
        if self.outbox.iter().any(|o| o.id == out.id) {
            return Vec::new();
        }
        self.outbox.push(out);
        match self.link {
            LinkState::Online => self.send_outbox(),
            _ => self.ensure_link(),
        }
    }

    /// Sends waiting outbox messages, oldest first, while fewer than [`IN_FLIGHT_LIMIT`]
    /// are on their way unacked.
    fn send_outbox(&mut self) -> Vec<Effect> {
        if self.link != LinkState::Online {
            return Vec::new();
        }
        let mut in_flight = self
            .outbox
            .iter()
            .filter(|o| o.in_flight && o.acked.is_none())
            .count();
        let mut effects = Vec::new();
        for out in &mut self.outbox {
            if in_flight >= IN_FLIGHT_LIMIT {
                break;
            }
            if !out.in_flight && out.acked.is_none() {
                out.in_flight = true;
                in_flight += 1;
                effects.push(Effect::Transmit(out.frame()));
            }
        }
        effects
    }

    fn send(&mut self, id: MessageId, raw: &str) -> Vec<Effect> {
        let Ok(text) = text::message_text(raw) else {
            return Vec::new();
        };
        if !self.phase().composer() {
            return Vec::new();
        }
        self.session_lost = false;
        let mut effects = self.queue(Outgoing::text(id, text.to_string()));
        if !effects.is_empty() {
            effects.extend(self.stop_typing());
        }
        effects
    }

    fn choose(&mut self, id: MessageId, choice: ChoiceId) -> Vec<Effect> {
        let Some(label) = self
            .choices()
            .iter()
            .find(|c| c.id == choice)
            .map(|c| c.label.clone())
        else {
            return Vec::new();
        };
        self.queue(Outgoing {
            id,
            text: label,
            sending: Sending::Choice(choice),
            acked: None,
            in_flight: false,
        })
    }

    fn draft(&mut self, empty: bool, now_ms: u64) -> Vec<Effect> {
        if self.phase() != Phase::Live || self.link != LinkState::Online {
            return Vec::new();
        }
        if empty {
            return self.stop_typing();
        }
        if self
            .typing_sent_ms
            .is_some_and(|sent| now_ms.saturating_sub(sent) < TYPING_EVERY_MS)
        {
            return Vec::new();
        }
        self.typing_sent_ms = Some(now_ms);
        self.typing_on = true;
        vec![Effect::Transmit(ClientFrame::Typing { typing: true })]
    }

    fn stop_typing(&mut self) -> Vec<Effect> {
        let was_typing = std::mem::take(&mut self.typing_on);
        self.transmit_if(was_typing, ClientFrame::Typing { typing: false })
    }

    fn talk_to_human(&mut self, request: RequestId) -> Vec<Effect> {
        if self.phase() != Phase::Bot {
            return Vec::new();
        }
        if self.prechat.is_empty() {
            return self.request_agent(request, Answers::new());
        }
        self.prechat_open = true;
        self.clear_errors();
        Vec::new()
    }

    fn submit_prechat(&mut self, request: RequestId, answers: Answers) -> Vec<Effect> {
        if self.phase() != Phase::PreChat || self.agent_request.is_some() {
            return Vec::new();
        }
        match form::validate(&self.prechat, &answers) {
            Ok(cleaned) => {
                self.clear_errors();
                self.request_agent(request, cleaned)
            }
            Err(errors) => {
                self.report(errors, None);
                Vec::new()
            }
        }
    }

    fn request_agent(&mut self, request: RequestId, answers: Answers) -> Vec<Effect> {
        if self.agent_request.is_some() {
            return Vec::new();
        }
        self.answers = answers.clone();
        let frame = ClientFrame::RequestAgent {
            request: request.clone(),
            answers,
        };
        self.agent_request = Some(Pending {
            request,
            frame: frame.clone(),
        });
        self.transmit_kept(frame)
    }

    fn rate(&mut self, stars: Option<u8>, comment: &str) -> Vec<Effect> {
        if self.phase() != Phase::Rating || self.rating_sent {
            return Vec::new();
        }
        let Some(stars) = stars.filter(|s| (1..=MAX_STARS).contains(s)) else {
            self.report(Vec::new(), Some(FieldProblem::Required));
            return Vec::new();
        };
        let comment = comment.trim();
        if comment.chars().count() > MAX_MESSAGE_CHARS {
            self.report(
                Vec::new(),
                Some(FieldProblem::TooLong {
                    max: MAX_MESSAGE_CHARS,
                }),
            );
            return Vec::new();
        }
        self.clear_errors();
        let effects = self.transmit_if(
            true,
            ClientFrame::Rate {
                stars,
                comment: (!comment.is_empty()).then(|| comment.to_string()),
            },
        );
        self.rating_sent = !effects.is_empty();
        effects
    }

    fn leave_message(&mut self, request: RequestId, answers: Answers, raw: &str) -> Vec<Effect> {
        if self.phase() != Phase::Missed || self.leave_request.is_some() {
            return Vec::new();
        }
        let checked = form::validate(&self.prechat, &answers);
        let text = text::message_text(raw).map_err(|e| match e {
            text::TextError::Empty => FieldProblem::Required,
            text::TextError::TooLong => FieldProblem::TooLong {
                max: MAX_MESSAGE_CHARS,
            },
        });
        let (answers, text) = match (checked, text) {
            (Ok(answers), Ok(text)) => (answers, text.to_string()),
            (checked, text) => {
                self.report(checked.err().unwrap_or_default(), text.err());
                return Vec::new();
            }
        };
        self.clear_errors();
        self.answers = answers.clone();
        let frame = ClientFrame::LeaveMessage {
            request: request.clone(),
            answers,
            text,
        };
        self.leave_request = Some(Pending {
            request,
            frame: frame.clone(),
        });
        self.transmit_kept(frame)
    }

    fn open_history(&mut self) -> Vec<Effect> {
        if matches!(self.history, History::Loading | History::Loaded { .. }) {
            return Vec::new();
        }
        match &self.token {
            Some(token) => {
                self.history = History::Loading;
                vec![Effect::FetchHistory {
                    token: token.clone(),
                }]
            }
            None => {
                self.history = History::Loaded {
                    conversations: Vec::new(),
                    viewing: None,
                };
                Vec::new()
            }
        }
    }

    fn report(&mut self, errors: Vec<FieldError>, problem: Option<FieldProblem>) {
        self.form_errors = errors;
        self.problem = problem;
        self.errors_reported = self.errors_reported.wrapping_add(1);
    }

    fn clear_errors(&mut self) {
        self.form_errors.clear();
        self.problem = None;
    }

    fn link_lost(&mut self) -> Vec<Effect> {
        self.link = LinkState::Reconnecting;
        self.attempts = self.attempts.saturating_add(1);
        // What was sent on the dead link may be lost: let the visitor try again.
        self.rating_sent = false;
        self.starting_new = false;
        self.typing_sent_ms = None;
        self.typing_on = false;
        self.agent_typing = None;
        vec![Effect::ScheduleReconnect {
            attempt: self.attempts,
        }]
    }

    /// Pings the link on schedule; declares a silent one dead and reopens it at once.
    fn heartbeat(&mut self, now_ms: u64) -> Vec<Effect> {
        if self.link != LinkState::Online {
            return Vec::new();
        }
        let heard = self.heard_ms.unwrap_or(now_ms);
        let silent = now_ms.saturating_sub(heard);
        if silent >= DEAD_AFTER_MS {
            self.heard_ms = None;
            self.pinged_ms = None;
            self.link = LinkState::Connecting;
            return vec![Effect::Connect];
        }
        let mut effects = self.send_outbox();
        let since_ping = now_ms.saturating_sub(self.pinged_ms.unwrap_or(heard));
        if since_ping >= PING_AFTER_MS {
            self.pinged_ms = Some(now_ms);
            effects.push(Effect::Transmit(ClientFrame::Ping {}));
        }
        effects
    }

    fn receive(&mut self, frame: ServerFrame, now_ms: u64) -> Vec<Effect> {
        self.heard_ms = Some(now_ms);
        if matches!(frame, ServerFrame::Welcome { .. }) {
            self.pinged_ms = Some(now_ms); // the ping schedule starts with the link
        }
        match frame {
            ServerFrame::Welcome {
                token,
                conversation,
                last_seq,
                replay,
                ..
            } => self.welcomed(token, conversation, last_seq, replay),
            ServerFrame::Event { seq, at_ms, event } => {
                self.event(EventRecord { seq, at_ms, event })
            }
            ServerFrame::Ack { id, seq } => {
                if let Some(out) = self.outbox.iter_mut().find(|o| o.id == id) {
                    out.acked = Some(seq);
                }
                self.send_outbox()
            }
            ServerFrame::Status { status } => {
                let before = self.phase();
                self.status_changed(status, now_ms);
                let after = self.phase();
                // A status that only restores where a page load left off tells nothing new.
                let event = match (before, after) {
                    (Phase::Starting, _) => None,
                    (b, Phase::Live) if b != Phase::Live => Some(HostEvent::ChatStarted),
                    (Phase::Live, a) if a != Phase::Live => Some(HostEvent::ChatEnded),
                    _ => None,
                };
                event.map(Effect::Host).into_iter().collect()
            }
            ServerFrame::Typing { name, typing } => {
                self.agent_typing = typing.then_some(name);
                Vec::new()
            }
            ServerFrame::FormRejected { request, errors } => {
                let ours = |p: &Option<Pending>| p.as_ref().is_some_and(|p| p.request == request);
                if ours(&self.agent_request) {
                    self.agent_request = None;
                    self.report(errors, None);
                } else if ours(&self.leave_request) {
                    self.leave_request = None;
                    self.report(errors, None);
                }
                Vec::new()
            }
            ServerFrame::Error { code, message } => {
                self.notice = Some(message);
                self.notice_until_sent =
                    matches!(code, ErrorCode::RateLimited | ErrorCode::Unavailable);
                if self.notice_until_sent {
                    // Some of what is on its way was refused (too fast, or the server could
                    // not store it), and which is not said: all of it goes out again (same
                    // ids) at the next heartbeat, when the server's budget has refilled or its
                    // storage recovered.
                    for out in &mut self.outbox {
                        out.in_flight &= out.acked.is_some();
                    }
                }
                Vec::new()
            }
            ServerFrame::Pong {} => Vec::new(),
        }
    }

    fn welcomed(
        &mut self,
        token: SessionToken,
        conversation: ConversationId,
        newest: Seq,
        replay: Replay,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.rereading = None;
        self.held_back.clear();
        let other_session = self.token.as_ref().is_some_and(|t| *t != token);
        if replay == Replay::Lost || other_session {
            // The server lost the session: what it acked is gone with it, so every message
            // still waiting goes out again into the new conversation.
            let outbox = std::mem::take(&mut self.outbox);
            self.forget_conversation();
            self.outbox = outbox.into_iter().map(Outgoing::unsent).collect();
            self.session_lost = true;
        } else if self
            .conversation
            .as_ref()
            .is_some_and(|c| *c != conversation)
        {
            // Whatever we held belonged to another conversation.
            self.forget_conversation();
        } else if newest < self.last_seq {
            // The server's history is shorter than ours (it was restored from an older
            // copy): it is read again from the start, and our own messages it no longer
            // holds go out again under their ids, so nothing is dropped or shown twice.
            self.resend_lost_messages(newest);
            self.events.clear();
            self.last_seq = Seq(0);
        }
        if self.token.as_ref() != Some(&token) {
            self.token = Some(token.clone());
            effects.push(Effect::SaveToken(token.clone()));
        }
        if replay == Replay::Http && newest > self.last_seq {
            self.rereading = Some(newest);
            effects.push(Effect::FetchTranscript {
                token: token.clone(),
                conversation: conversation.clone(),
                after: self.last_seq,
            });
        }
        self.conversation = Some(conversation);
        self.link = LinkState::Online;
        self.attempts = 0;
        self.notice = None;
        self.starting_new = false;
        // A new link: everything not known to be stored goes out again, same ids.
        for out in &mut self.outbox {
            out.in_flight = false;
        }
        effects.extend(self.send_outbox());
        effects.extend(
            [&self.agent_request, &self.leave_request]
                .into_iter()
                .flatten()
                .map(|p| Effect::Transmit(p.frame.clone())),
        );
        effects
    }

    /// Puts the visitor's own messages held after `newest` (the only events with a client
    /// id) back in the outbox, unsent, ahead of those still waiting.
    fn resend_lost_messages(&mut self, newest: Seq) {
        let mut lost = Vec::new();
        for record in self.events.iter().filter(|e| e.seq > newest) {
            if let ConversationEvent::MessageReceived {
                id: Some(id), text, ..
            } = &record.event
            {
                lost.push(Outgoing::text(id.clone(), text.clone()));
            }
        }
        lost.append(&mut self.outbox);
        self.outbox = lost;
    }

    /// Drops everything that belongs to the conversation held so far.
    fn forget_conversation(&mut self) {
        self.events.clear();
        self.outbox.clear();
        self.last_seq = Seq(0);
        self.status = None;
        self.prechat_open = false;
        self.agent_request = None;
        self.leave_request = None;
        self.clear_errors();
        self.confirming_end = false;
        self.rating_sent = false;
        self.agent_typing = None;
        self.typing_sent_ms = None;
        self.typing_on = false;
    }

    fn status_changed(&mut self, status: ChatStatus, now_ms: u64) {
        let before = self.phase();
        let bot = matches!(status, ChatStatus::Bot {});
        let missed = matches!(status, ChatStatus::Missed {});
        let live = matches!(status, ChatStatus::Live { .. });
        self.status = Some(status);
        self.status_at_ms = now_ms;
        if !bot {
            self.prechat_open = false;
            self.agent_request = None;
        }
        if !missed {
            self.leave_request = None;
        }
        if !live {
            self.agent_typing = None;
            self.typing_sent_ms = None;
            self.typing_on = false;
        }
        self.rating_sent = false;
        let after = self.phase();
        if !after.can_end() {
            self.confirming_end = false;
        }
        if after != before {
            self.clear_errors();
        }
    }

    fn event(&mut self, record: EventRecord) -> Vec<Effect> {
        if record.seq <= self.last_seq {
            return Vec::new(); // already held
        }
        if record.seq != self.last_seq.next() {
            if self.rereading.is_some() {
                // Newer than what is being read over HTTP: applied once that arrives (a
                // duplicate is dropped then, like any event already held).
                let at = self.held_back.partition_point(|r| r.seq < record.seq);
                self.held_back.insert(at, record);
                return Vec::new();
            }
            // A gap: reopen the link so the server replays from what we hold.
            return vec![Effect::Connect];
        }
        self.last_seq = record.seq;
        let mut effects = Vec::new();
        if let ConversationEvent::MessageReceived { id, author, .. } = &record.event {
            if let Some(id) = id {
                self.outbox.retain(|o| o.id != *id);
                if self.outbox.is_empty() && self.notice_until_sent {
                    self.notice = None;
                    self.notice_until_sent = false;
                }
                effects.extend(self.send_outbox());
            }
            if self.agent_typing.as_ref() == Some(&author.name) {
                self.agent_typing = None;
            }
        }
        if let Some((author, text)) = from_staff(&record.event)
            && record.seq > self.seen_seq()
        {
            effects.push(Effect::Host(HostEvent::Message {
                author: author.clone(),
                text: text.to_string(),
            }));
        }
        self.events.push(record);
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
