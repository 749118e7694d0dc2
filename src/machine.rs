//! The widget's conversation machine: inputs in, effects out, no DOM, no clock, no I/O.
//!
//! [`Widget::update`] is the one place where the widget's state changes. The runtime feeds
//! it user actions, link events and server frames (with the local time where time matters)
//! and carries out the [`Effect`]s it returns (open a socket, send a frame, store the token,
//! schedule a reconnect, fetch history, tell the host page); the view only renders
//! [`Widget`]. This keeps every rule here unit-testable natively.
//!
//! Delivery rules kept here: server events are taken in `seq` order exactly once (an event
//! already held is dropped; a gap means the link is unsound and is reopened, so the server
//! replays); visitor messages and quick replies wait in the outbox until the server's event
//! for their id arrives, and a request for an agent or a left message waits until the
//! server's status moves on; every `welcome` resends what is still waiting, with the same
//! ids.
//!
//! The lifecycle as the visitor sees it is [`Phase`]: the server's latest [`ChatStatus`]
//! plus the one client-only phase, the pre-chat form.

use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::{
    Answers, AuthorKind, ChatStatus, Choice, ChoiceId, ClientFrame, ConversationEvent,
    ConversationId, EventRecord, FieldError, FieldProblem, FormField, MessageId, PROTOCOL_VERSION,
    PastConversation, RequestId, Seq, ServerFrame, SessionToken, SiteId, form, text,
};

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
}

impl Outgoing {
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
    /// A frame arrived from the server at local time `now_ms`.
    Frame {
        frame: ServerFrame,
        now_ms: u64,
    },
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
    /// Fetch the session's past conversations and feed back [`Input::HistoryLoaded`].
    FetchHistory { token: SessionToken },
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
    /// When the visitor's last `typing: true` went out; `Some` while the server believes
    /// the visitor is typing.
    pub typing_sent_ms: Option<u64>,
    pub history: History,
    /// Failed connection attempts since the link was last online.
    pub attempts: u32,
    /// The last error the server reported, for the visitor to read.
    pub notice: Option<String>,
}

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
            history: History::Closed,
            attempts: 0,
            notice: None,
        }
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

    /// Applies one input and returns what the runtime must do.
    pub fn update(&mut self, input: Input) -> Vec<Effect> {
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
                Vec::new()
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
            Input::ReconnectDue => {
                if self.link == LinkState::Reconnecting {
                    self.link = LinkState::Connecting;
                    vec![Effect::Connect]
                } else {
                    Vec::new()
                }
            }
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
        let frame = out.frame();
        self.outbox.push(out);
        self.transmit_kept(frame)
    }

    fn send(&mut self, id: MessageId, raw: &str) -> Vec<Effect> {
        let Ok(text) = text::message_text(raw) else {
            return Vec::new();
        };
        if !self.phase().composer() {
            return Vec::new();
        }
        let mut effects = self.queue(Outgoing {
            id,
            text: text.to_string(),
            sending: Sending::Text,
            acked: None,
        });
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
        vec![Effect::Transmit(ClientFrame::Typing { typing: true })]
    }

    fn stop_typing(&mut self) -> Vec<Effect> {
        let was_typing = self.typing_sent_ms.take().is_some();
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
        self.agent_typing = None;
        vec![Effect::ScheduleReconnect {
            attempt: self.attempts,
        }]
    }

    fn receive(&mut self, frame: ServerFrame, now_ms: u64) -> Vec<Effect> {
        match frame {
            ServerFrame::Welcome {
                token,
                conversation,
                ..
            } => self.welcomed(token, conversation),
            ServerFrame::Event { seq, at_ms, event } => {
                self.event(EventRecord { seq, at_ms, event })
            }
            ServerFrame::Ack { id, seq } => {
                if let Some(out) = self.outbox.iter_mut().find(|o| o.id == id) {
                    out.acked = Some(seq);
                }
                Vec::new()
            }
            ServerFrame::Status { status } => {
                self.status_changed(status, now_ms);
                Vec::new()
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
            ServerFrame::Error { message, .. } => {
                self.notice = Some(message);
                Vec::new()
            }
            ServerFrame::Pong {} => Vec::new(),
        }
    }

    fn welcomed(&mut self, token: SessionToken, conversation: ConversationId) -> Vec<Effect> {
        let mut effects = Vec::new();
        let other_session = self.token.as_ref().is_some_and(|t| *t != token);
        let other_conversation = self
            .conversation
            .as_ref()
            .is_some_and(|c| *c != conversation);
        if other_session || other_conversation {
            // Whatever we held belonged to another conversation.
            self.forget_conversation();
        }
        if self.token.as_ref() != Some(&token) {
            self.token = Some(token.clone());
            effects.push(Effect::SaveToken(token));
        }
        self.conversation = Some(conversation);
        self.link = LinkState::Online;
        self.attempts = 0;
        self.notice = None;
        self.starting_new = false;
        effects.extend(self.outbox.iter().map(|o| Effect::Transmit(o.frame())));
        effects.extend(
            [&self.agent_request, &self.leave_request]
                .into_iter()
                .flatten()
                .map(|p| Effect::Transmit(p.frame.clone())),
        );
        effects
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
            // A gap: reopen the link so the server replays from what we hold.
            return vec![Effect::Connect];
        }
        self.last_seq = record.seq;
        if let ConversationEvent::MessageReceived { id, author, .. } = &record.event {
            if let Some(id) = id {
                self.outbox.retain(|o| o.id != *id);
            }
            if self.agent_typing.as_ref() == Some(&author.name) {
                self.agent_typing = None;
            }
        }
        self.events.push(record);
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use porchlight_protocol::{Author, ErrorCode, FieldKind, FieldName};

    fn site() -> SiteId {
        SiteId::new("demo").expect("id")
    }
    fn token(s: &str) -> SessionToken {
        SessionToken::new(s).expect("id")
    }
    fn mid(s: &str) -> MessageId {
        MessageId::new(s).expect("id")
    }
    fn rid(s: &str) -> RequestId {
        RequestId::new(s).expect("id")
    }
    fn cid(s: &str) -> ChoiceId {
        ChoiceId::new(s).expect("id")
    }
    fn fname(s: &str) -> FieldName {
        FieldName::new(s).expect("id")
    }
    fn frame(frame: ServerFrame) -> Input {
        Input::Frame { frame, now_ms: 0 }
    }
    fn frame_at(frame: ServerFrame, now_ms: u64) -> Input {
        Input::Frame { frame, now_ms }
    }
    fn welcome_to(t: &str, conversation: &str) -> Input {
        frame(ServerFrame::Welcome {
            version: 1,
            token: token(t),
            conversation: ConversationId::new(conversation).expect("id"),
            last_seq: Seq(0),
        })
    }
    fn welcome(t: &str) -> Input {
        welcome_to(t, "c1")
    }
    fn status(status: ChatStatus) -> Input {
        frame(ServerFrame::Status { status })
    }
    fn lifecycle(seq: u64, event: ConversationEvent) -> Input {
        frame(ServerFrame::Event {
            seq: Seq(seq),
            at_ms: 0,
            event,
        })
    }
    fn said(seq: u64, kind: AuthorKind, id: Option<&str>, text: &str) -> Input {
        lifecycle(
            seq,
            ConversationEvent::MessageReceived {
                id: id.map(mid),
                author: Author {
                    kind,
                    name: "Ann".into(),
                },
                text: text.into(),
                choices: vec![],
            },
        )
    }
    fn event(seq: u64, id: Option<&str>, text: &str) -> Input {
        let kind = if id.is_some() {
            AuthorKind::Visitor
        } else {
            AuthorKind::Bot
        };
        said(seq, kind, id, text)
    }
    fn bot_offers(seq: u64, choices: &[(&str, &str)]) -> Input {
        lifecycle(
            seq,
            ConversationEvent::MessageReceived {
                id: None,
                author: Author {
                    kind: AuthorKind::Bot,
                    name: "Bot".into(),
                },
                text: "Pick one".into(),
                choices: choices
                    .iter()
                    .map(|(id, label)| Choice {
                        id: cid(id),
                        label: (*label).into(),
                    })
                    .collect(),
            },
        )
    }
    fn online() -> Widget {
        let mut w = Widget::new(site(), None);
        w.update(Input::Open);
        w.update(Input::LinkOpened);
        w.update(welcome("t1"));
        w
    }
    fn in_status(s: ChatStatus) -> Widget {
        let mut w = online();
        w.update(status(s));
        w
    }
    fn in_bot_phase() -> Widget {
        in_status(ChatStatus::Bot {})
    }
    fn queued(position: u32, waited_ms: u64) -> ChatStatus {
        ChatStatus::Queued {
            position,
            waited_ms,
        }
    }
    fn live() -> ChatStatus {
        ChatStatus::Live {
            agent: "Ann".into(),
        }
    }
    fn field(name: &str, kind: FieldKind, required: bool) -> FormField {
        FormField {
            name: fname(name),
            label: name.to_uppercase(),
            kind,
            required,
            max_length: None,
            options: Vec::new(),
        }
    }
    fn with_form(mut w: Widget) -> Widget {
        w.update(Input::Configured {
            bot_enabled: true,
            prechat: vec![
                field("name", FieldKind::Text, true),
                field("email", FieldKind::Email, true),
            ],
        });
        w
    }
    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| (fname(k), (*v).to_string()))
            .collect()
    }
    fn good_answers() -> Answers {
        answers(&[("name", "Ada"), ("email", "ada@example.com")])
    }
    fn request_agent(request: &str, answers: Answers) -> Effect {
        Effect::Transmit(ClientFrame::RequestAgent {
            request: rid(request),
            answers,
        })
    }
    fn texts(w: &Widget) -> Vec<&str> {
        w.events
            .iter()
            .filter_map(|r| match &r.event {
                ConversationEvent::MessageReceived { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
    fn send(w: &mut Widget, id: &str, text: &str) -> Vec<Effect> {
        w.update(Input::Send {
            id: mid(id),
            text: text.into(),
        })
    }
    fn past(conversation: &str) -> PastConversation {
        PastConversation {
            conversation: ConversationId::new(conversation).expect("id"),
            started_ms: 0,
            events: Vec::new(),
        }
    }

    // The link and delivery.

    #[test]
    fn opening_the_panel_connects_once() {
        let mut w = Widget::new(site(), None);
        assert_eq!(
            w.update(Input::Open),
            vec![Effect::PanelChanged { open: true }, Effect::Connect]
        );
        assert_eq!(w.link, LinkState::Connecting);
        w.update(Input::Close);
        assert_eq!(
            w.update(Input::Open),
            vec![Effect::PanelChanged { open: true }]
        );
    }

    #[test]
    fn toggle_flips_and_repeated_close_does_nothing() {
        let mut w = Widget::new(site(), None);
        w.update(Input::Toggle);
        assert!(w.open);
        w.update(Input::Toggle);
        assert!(!w.open);
        assert_eq!(w.update(Input::Close), vec![]);
    }

    #[test]
    fn an_open_socket_says_hello_with_token_conversation_and_last_seq() {
        let mut w = Widget::new(site(), Some(token("t1")));
        w.conversation = Some(ConversationId::new("c1").expect("id"));
        w.last_seq = Seq(4);
        assert_eq!(
            w.update(Input::LinkOpened),
            vec![Effect::Transmit(ClientFrame::Hello {
                version: PROTOCOL_VERSION,
                site: site(),
                token: Some(token("t1")),
                conversation: Some(ConversationId::new("c1").expect("id")),
                last_seq: Seq(4),
            })]
        );
    }

    #[test]
    fn welcome_with_a_new_token_saves_it_and_goes_online() {
        let mut w = Widget::new(site(), None);
        w.update(Input::Open);
        let effects = w.update(welcome("t1"));
        assert_eq!(effects, vec![Effect::SaveToken(token("t1"))]);
        assert_eq!(w.link, LinkState::Online);
    }

    #[test]
    fn welcome_resuming_the_same_token_saves_nothing() {
        let mut w = Widget::new(site(), Some(token("t1")));
        assert_eq!(w.update(welcome("t1")), vec![]);
    }

    #[test]
    fn welcome_to_a_different_session_forgets_the_old_transcript() {
        let mut w = online();
        w.update(event(1, None, "old"));
        w.update(welcome("t2"));
        assert!(w.events.is_empty());
        assert_eq!(w.last_seq, Seq(0));
    }

    #[test]
    fn welcome_to_another_conversation_forgets_messages_outbox_and_status() {
        let mut w = in_status(ChatStatus::Ended { rated: true });
        w.update(event(1, None, "old"));
        w.update(Input::LinkClosed);
        send(&mut w, "m1", "unsent");
        w.update(welcome_to("t1", "c2"));
        assert!(w.events.is_empty());
        assert!(w.outbox.is_empty());
        assert_eq!(w.last_seq, Seq(0));
        assert_eq!(w.phase(), Phase::Starting);
        assert_eq!(w.conversation, Some(ConversationId::new("c2").expect("id")));
    }

    #[test]
    fn welcome_to_the_same_conversation_keeps_what_is_held() {
        let mut w = online();
        w.update(event(1, None, "kept"));
        w.update(Input::LinkClosed);
        w.update(welcome("t1"));
        assert_eq!(texts(&w), vec!["kept"]);
        assert_eq!(w.last_seq, Seq(1));
    }

    #[test]
    fn events_are_taken_once_in_order() {
        let mut w = online();
        w.update(event(1, None, "a"));
        w.update(event(2, None, "b"));
        w.update(event(2, None, "b"));
        w.update(event(1, None, "a"));
        assert_eq!(texts(&w), vec!["a", "b"]);
        assert_eq!(w.last_seq, Seq(2));
    }

    #[test]
    fn a_gap_reopens_the_link_and_keeps_nothing_past_it() {
        let mut w = online();
        w.update(event(1, None, "a"));
        assert_eq!(w.update(event(3, None, "c")), vec![Effect::Connect]);
        assert_eq!(texts(&w), vec!["a"]);
    }

    #[test]
    fn lifecycle_events_are_kept_in_the_transcript_in_order() {
        let mut w = online();
        w.update(lifecycle(1, ConversationEvent::AgentRequested {}));
        w.update(lifecycle(
            2,
            ConversationEvent::AgentJoined { name: "Ann".into() },
        ));
        w.update(lifecycle(
            3,
            ConversationEvent::ChatEnded {
                by: AuthorKind::Agent,
            },
        ));
        let seqs: Vec<u64> = w.events.iter().map(|r| r.seq.0).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(
            w.events[1].event,
            ConversationEvent::AgentJoined { name: "Ann".into() }
        );
    }

    #[test]
    fn sending_online_transmits_and_waits_in_the_outbox() {
        let mut w = online();
        let effects = send(&mut w, "m1", "  hi  ");
        assert_eq!(
            effects,
            vec![Effect::Transmit(ClientFrame::SendText {
                id: mid("m1"),
                text: "hi".into()
            })]
        );
        assert_eq!(w.outbox.len(), 1);
    }

    #[test]
    fn empty_messages_are_not_sent() {
        let mut w = online();
        assert_eq!(send(&mut w, "m1", " \n "), vec![]);
        assert!(w.outbox.is_empty());
    }

    #[test]
    fn the_same_id_is_queued_once() {
        let mut w = online();
        send(&mut w, "m1", "hi");
        assert_eq!(send(&mut w, "m1", "hi"), vec![]);
        assert_eq!(w.outbox.len(), 1);
    }

    #[test]
    fn ack_marks_the_message_and_its_event_moves_it_to_the_transcript() {
        let mut w = online();
        send(&mut w, "m1", "hi");
        w.update(frame(ServerFrame::Ack {
            id: mid("m1"),
            seq: Seq(1),
        }));
        assert_eq!(w.outbox[0].acked, Some(Seq(1)));
        w.update(event(1, Some("m1"), "hi"));
        assert!(w.outbox.is_empty());
        assert_eq!(texts(&w), vec!["hi"]);
    }

    #[test]
    fn sending_while_offline_connects_and_welcome_resends_the_outbox() {
        let mut w = Widget::new(site(), None);
        assert_eq!(send(&mut w, "m1", "hi"), vec![Effect::Connect]);
        w.update(Input::LinkOpened);
        let effects = w.update(welcome("t1"));
        assert_eq!(
            effects,
            vec![
                Effect::SaveToken(token("t1")),
                Effect::Transmit(ClientFrame::SendText {
                    id: mid("m1"),
                    text: "hi".into()
                })
            ]
        );
    }

    #[test]
    fn a_dropped_link_schedules_reconnects_with_growing_attempts() {
        let mut w = online();
        assert_eq!(
            w.update(Input::LinkClosed),
            vec![Effect::ScheduleReconnect { attempt: 1 }]
        );
        assert_eq!(w.update(Input::ReconnectDue), vec![Effect::Connect]);
        assert_eq!(
            w.update(Input::LinkClosed),
            vec![Effect::ScheduleReconnect { attempt: 2 }]
        );
        w.update(Input::ReconnectDue);
        w.update(welcome("t1"));
        assert_eq!(w.attempts, 0);
    }

    #[test]
    fn a_reconnect_due_while_online_does_nothing() {
        let mut w = online();
        assert_eq!(w.update(Input::ReconnectDue), vec![]);
    }

    #[test]
    fn server_errors_are_shown_until_the_next_welcome() {
        let mut w = online();
        w.update(frame(ServerFrame::error(
            ErrorCode::InvalidText,
            "the message is empty",
        )));
        assert_eq!(w.notice.as_deref(), Some("the message is empty"));
        w.update(welcome("t1"));
        assert_eq!(w.notice, None);
    }

    // Status and phases.

    #[test]
    fn the_phase_is_starting_until_the_first_status() {
        assert_eq!(online().phase(), Phase::Starting);
        assert_eq!(in_bot_phase().phase(), Phase::Bot);
    }

    #[test]
    fn each_status_maps_to_its_phase() {
        let cases = [
            (queued(2, 0), Phase::Waiting),
            (ChatStatus::Connecting { waited_ms: 0 }, Phase::Waiting),
            (live(), Phase::Live),
            (ChatStatus::Missed {}, Phase::Missed),
            (ChatStatus::MessageLeft {}, Phase::MessageLeft),
            (ChatStatus::Ended { rated: false }, Phase::Rating),
            (ChatStatus::Ended { rated: true }, Phase::Ended),
        ];
        for (s, phase) in cases {
            assert_eq!(in_status(s.clone()).phase(), phase, "{s:?}");
        }
    }

    #[test]
    fn the_composer_is_open_while_talking_or_waiting_and_closed_after() {
        let open: Vec<bool> = [
            Phase::Starting,
            Phase::Bot,
            Phase::PreChat,
            Phase::Waiting,
            Phase::Live,
            Phase::Missed,
            Phase::MessageLeft,
            Phase::Rating,
            Phase::Ended,
        ]
        .iter()
        .map(|p| p.composer())
        .collect();
        assert_eq!(
            open,
            vec![true, true, false, true, true, false, false, false, false]
        );
    }

    #[test]
    fn messages_are_not_sent_once_the_chat_is_over() {
        let mut w = in_status(ChatStatus::Ended { rated: false });
        assert_eq!(send(&mut w, "m1", "hello?"), vec![]);
        assert!(w.outbox.is_empty());
    }

    #[test]
    fn the_wait_clock_counts_from_the_servers_figure_plus_local_time_since_it_arrived() {
        let mut w = online();
        w.update(frame_at(
            ServerFrame::Status {
                status: queued(3, 5_000),
            },
            1_000_000,
        ));
        assert_eq!(w.waited_ms(1_000_000), Some(5_000));
        assert_eq!(w.waited_ms(1_060_000), Some(65_000));
        assert_eq!(w.waited_ms(999_000), Some(5_000), "a clock going back");
        w.update(status(live()));
        assert_eq!(w.waited_ms(1_060_000), None);
    }

    // Quick replies.

    #[test]
    fn the_newest_bot_messages_choices_are_offered_in_the_bot_phase() {
        let mut w = in_bot_phase();
        w.update(bot_offers(1, &[("price", "Prices"), ("hours", "Hours")]));
        let labels: Vec<&str> = w.choices().iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, vec!["Prices", "Hours"]);
    }

    #[test]
    fn choices_are_withdrawn_when_a_newer_message_arrives_or_the_phase_changes() {
        let mut w = in_bot_phase();
        w.update(bot_offers(1, &[("price", "Prices")]));
        w.update(event(2, Some("m1"), "something else"));
        assert!(w.choices().is_empty());

        let mut w = in_bot_phase();
        w.update(bot_offers(1, &[("price", "Prices")]));
        w.update(status(queued(1, 0)));
        assert!(w.choices().is_empty());
    }

    #[test]
    fn choosing_sends_the_choice_and_shows_its_label_while_on_its_way() {
        let mut w = in_bot_phase();
        w.update(bot_offers(1, &[("price", "Prices")]));
        let effects = w.update(Input::Choose {
            id: mid("m1"),
            choice: cid("price"),
        });
        assert_eq!(
            effects,
            vec![Effect::Transmit(ClientFrame::Choose {
                id: mid("m1"),
                choice: cid("price"),
            })]
        );
        assert_eq!(w.outbox[0].text, "Prices");
        assert!(
            w.choices().is_empty(),
            "no second pick while one is on its way"
        );
    }

    #[test]
    fn a_choice_not_on_offer_is_not_sent() {
        let mut w = in_bot_phase();
        w.update(bot_offers(1, &[("price", "Prices")]));
        let effects = w.update(Input::Choose {
            id: mid("m1"),
            choice: cid("refund"),
        });
        assert_eq!(effects, vec![]);
        assert!(w.outbox.is_empty());
    }

    #[test]
    fn a_choice_is_resent_as_a_choice_with_the_same_id_after_reconnect() {
        let mut w = in_bot_phase();
        w.update(bot_offers(1, &[("price", "Prices")]));
        w.update(Input::LinkClosed);
        assert_eq!(
            w.update(Input::Choose {
                id: mid("m1"),
                choice: cid("price"),
            }),
            vec![]
        );
        w.update(Input::ReconnectDue);
        w.update(Input::LinkOpened);
        assert_eq!(
            w.update(welcome("t1")),
            vec![Effect::Transmit(ClientFrame::Choose {
                id: mid("m1"),
                choice: cid("price"),
            })]
        );
    }

    #[test]
    fn a_choice_leaves_the_outbox_when_its_event_arrives() {
        let mut w = in_bot_phase();
        w.update(bot_offers(1, &[("price", "Prices")]));
        w.update(Input::Choose {
            id: mid("m1"),
            choice: cid("price"),
        });
        w.update(event(2, Some("m1"), "Prices"));
        assert!(w.outbox.is_empty());
    }

    // Talking to a person and the pre-chat form.

    #[test]
    fn talk_to_a_person_opens_the_prechat_form() {
        let mut w = with_form(in_bot_phase());
        assert_eq!(w.update(Input::TalkToHuman { request: rid("r1") }), vec![]);
        assert_eq!(w.phase(), Phase::PreChat);
        w.update(Input::CancelPreChat);
        assert_eq!(w.phase(), Phase::Bot);
    }

    #[test]
    fn talk_to_a_person_without_a_form_requests_an_agent_at_once() {
        let mut w = in_bot_phase();
        assert_eq!(
            w.update(Input::TalkToHuman { request: rid("r1") }),
            vec![request_agent("r1", Answers::new())]
        );
        assert_eq!(w.phase(), Phase::Bot);
        assert_eq!(w.update(Input::TalkToHuman { request: rid("r2") }), vec![]);
    }

    #[test]
    fn a_site_without_a_bot_shows_the_prechat_form_straight_away() {
        let mut w = online();
        w.update(Input::Configured {
            bot_enabled: false,
            prechat: vec![field("name", FieldKind::Text, true)],
        });
        w.update(status(ChatStatus::Bot {}));
        assert_eq!(w.phase(), Phase::PreChat);
        w.update(Input::CancelPreChat);
        assert_eq!(w.phase(), Phase::PreChat, "there is no bot to go back to");
    }

    #[test]
    fn an_invalid_prechat_form_shows_errors_and_sends_nothing() {
        let mut w = with_form(in_bot_phase());
        w.update(Input::TalkToHuman { request: rid("r1") });
        let effects = w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: answers(&[("email", "ada@")]),
        });
        assert_eq!(effects, vec![]);
        let problems: Vec<(&str, FieldProblem)> = w
            .form_errors
            .iter()
            .map(|e| (e.field.as_str(), e.problem.clone()))
            .collect();
        assert_eq!(
            problems,
            vec![
                ("name", FieldProblem::Required),
                ("email", FieldProblem::InvalidEmail)
            ]
        );
        assert_eq!(w.errors_reported, 1);
        assert!(w.agent_request.is_none());
    }

    #[test]
    fn a_valid_prechat_form_requests_an_agent_with_cleaned_answers() {
        let mut w = with_form(in_bot_phase());
        w.update(Input::TalkToHuman { request: rid("r0") });
        w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: answers(&[("email", "x")]),
        });
        let effects = w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: answers(&[("name", " Ada "), ("email", "ada@example.com")]),
        });
        assert_eq!(effects, vec![request_agent("r1", good_answers())]);
        assert!(w.form_errors.is_empty());
        assert_eq!(w.answers, good_answers());
    }

    #[test]
    fn a_double_submitted_prechat_form_sends_one_request() {
        let mut w = with_form(in_bot_phase());
        w.update(Input::TalkToHuman { request: rid("r0") });
        w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: good_answers(),
        });
        let again = w.update(Input::SubmitPreChat {
            request: rid("r2"),
            answers: good_answers(),
        });
        assert_eq!(again, vec![]);
        assert_eq!(
            w.agent_request.as_ref().map(|p| p.request.clone()),
            Some(rid("r1"))
        );
    }

    #[test]
    fn a_pending_agent_request_is_resent_with_the_same_id_after_reconnect() {
        let mut w = with_form(in_bot_phase());
        w.update(Input::TalkToHuman { request: rid("r0") });
        w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: good_answers(),
        });
        w.update(Input::LinkClosed);
        w.update(Input::ReconnectDue);
        w.update(Input::LinkOpened);
        assert_eq!(
            w.update(welcome("t1")),
            vec![request_agent("r1", good_answers())]
        );
        w.update(status(ChatStatus::Bot {}));
        assert!(
            w.agent_request.is_some(),
            "still pending while the bot status is replayed"
        );
    }

    #[test]
    fn an_agent_request_is_settled_when_the_status_moves_on() {
        let mut w = with_form(in_bot_phase());
        w.update(Input::TalkToHuman { request: rid("r0") });
        w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: good_answers(),
        });
        w.update(status(queued(2, 0)));
        assert!(w.agent_request.is_none());
        assert_eq!(w.phase(), Phase::Waiting);
        w.update(Input::LinkClosed);
        w.update(Input::ReconnectDue);
        assert_eq!(w.update(welcome("t1")), vec![]);
    }

    #[test]
    fn a_rejected_prechat_form_shows_the_servers_errors_and_may_be_sent_again() {
        let mut w = with_form(in_bot_phase());
        w.update(Input::TalkToHuman { request: rid("r0") });
        w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: good_answers(),
        });
        let errors = vec![FieldError {
            field: fname("email"),
            problem: FieldProblem::InvalidEmail,
        }];
        w.update(frame(ServerFrame::FormRejected {
            request: rid("r1"),
            errors: errors.clone(),
        }));
        assert_eq!(w.form_errors, errors);
        assert!(w.agent_request.is_none());
        assert_eq!(w.phase(), Phase::PreChat);
        let effects = w.update(Input::SubmitPreChat {
            request: rid("r2"),
            answers: good_answers(),
        });
        assert_eq!(effects, vec![request_agent("r2", good_answers())]);
    }

    #[test]
    fn a_rejection_of_another_request_is_ignored() {
        let mut w = with_form(in_bot_phase());
        w.update(Input::TalkToHuman { request: rid("r0") });
        w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: good_answers(),
        });
        w.update(frame(ServerFrame::FormRejected {
            request: rid("old"),
            errors: vec![],
        }));
        assert!(w.agent_request.is_some());
        assert_eq!(w.errors_reported, 0);
    }

    // Waiting, live, ending.

    #[test]
    fn end_chat_asks_first_and_sends_only_when_confirmed() {
        let mut w = in_status(queued(1, 0));
        assert_eq!(w.update(Input::AskEndChat), vec![]);
        assert!(w.confirming_end);
        assert_eq!(
            w.update(Input::ConfirmEndChat),
            vec![Effect::Transmit(ClientFrame::EndChat {})]
        );
        assert!(!w.confirming_end);
        assert_eq!(
            w.update(Input::ConfirmEndChat),
            vec![],
            "one confirmation, one frame"
        );
    }

    #[test]
    fn a_cancelled_end_chat_sends_nothing() {
        let mut w = in_status(live());
        w.update(Input::AskEndChat);
        w.update(Input::CancelEndChat);
        assert!(!w.confirming_end);
        assert_eq!(w.update(Input::ConfirmEndChat), vec![]);
    }

    #[test]
    fn end_chat_cannot_be_asked_in_the_bot_phase_and_its_confirmation_closes_when_the_chat_ends() {
        let mut w = in_bot_phase();
        w.update(Input::AskEndChat);
        assert!(!w.confirming_end);
        let mut w = in_status(live());
        w.update(Input::AskEndChat);
        w.update(status(ChatStatus::Ended { rated: false }));
        assert!(!w.confirming_end);
    }

    #[test]
    fn agent_typing_shows_until_they_stop_or_their_message_arrives() {
        let mut w = in_status(live());
        w.update(frame(ServerFrame::Typing {
            name: "Ann".into(),
            typing: true,
        }));
        assert_eq!(w.agent_typing.as_deref(), Some("Ann"));
        w.update(said(1, AuthorKind::Agent, None, "Hello!"));
        assert_eq!(w.agent_typing, None);
        w.update(frame(ServerFrame::Typing {
            name: "Ann".into(),
            typing: true,
        }));
        w.update(frame(ServerFrame::Typing {
            name: "Ann".into(),
            typing: false,
        }));
        assert_eq!(w.agent_typing, None);
    }

    #[test]
    fn visitor_typing_is_sent_at_most_every_three_seconds_while_live() {
        let mut w = in_status(live());
        let typing = |t| vec![Effect::Transmit(ClientFrame::Typing { typing: t })];
        let draft = |w: &mut Widget, empty, now_ms| w.update(Input::Draft { empty, now_ms });
        assert_eq!(draft(&mut w, false, 10_000), typing(true));
        assert_eq!(draft(&mut w, false, 11_000), vec![]);
        assert_eq!(draft(&mut w, false, 12_999), vec![]);
        assert_eq!(draft(&mut w, false, 13_000), typing(true));
        assert_eq!(draft(&mut w, true, 13_500), typing(false));
        assert_eq!(draft(&mut w, true, 13_600), vec![], "stopped once");
    }

    #[test]
    fn sending_a_message_stops_the_visitors_typing() {
        let mut w = in_status(live());
        w.update(Input::Draft {
            empty: false,
            now_ms: 0,
        });
        let effects = send(&mut w, "m1", "hi");
        assert_eq!(
            effects,
            vec![
                Effect::Transmit(ClientFrame::SendText {
                    id: mid("m1"),
                    text: "hi".into()
                }),
                Effect::Transmit(ClientFrame::Typing { typing: false }),
            ]
        );
    }

    #[test]
    fn visitor_typing_is_not_sent_to_the_bot_or_the_queue() {
        for s in [ChatStatus::Bot {}, queued(1, 0)] {
            let mut w = in_status(s);
            assert_eq!(
                w.update(Input::Draft {
                    empty: false,
                    now_ms: 0
                }),
                vec![]
            );
        }
    }

    // Rating, missed chats, new conversations.

    #[test]
    fn rating_sends_stars_and_a_trimmed_comment_once() {
        let mut w = in_status(ChatStatus::Ended { rated: false });
        let rate = |w: &mut Widget, comment: &str| {
            w.update(Input::Rate {
                stars: Some(4),
                comment: comment.into(),
            })
        };
        assert_eq!(
            rate(&mut w, "  Quick and kind "),
            vec![Effect::Transmit(ClientFrame::Rate {
                stars: 4,
                comment: Some("Quick and kind".into()),
            })]
        );
        assert_eq!(rate(&mut w, ""), vec![], "sent once");
        w.update(status(ChatStatus::Ended { rated: true }));
        assert_eq!(w.phase(), Phase::Ended);
    }

    #[test]
    fn a_blank_rating_comment_is_left_out() {
        let mut w = in_status(ChatStatus::Ended { rated: false });
        assert_eq!(
            w.update(Input::Rate {
                stars: Some(5),
                comment: " \n".into(),
            }),
            vec![Effect::Transmit(ClientFrame::Rate {
                stars: 5,
                comment: None
            })]
        );
    }

    #[test]
    fn a_rating_without_stars_asks_for_them() {
        let mut w = in_status(ChatStatus::Ended { rated: false });
        for stars in [None, Some(0), Some(6)] {
            assert_eq!(
                w.update(Input::Rate {
                    stars,
                    comment: String::new(),
                }),
                vec![]
            );
        }
        assert_eq!(w.problem, Some(FieldProblem::Required));
        assert_eq!(w.errors_reported, 3);
    }

    #[test]
    fn a_missed_chat_takes_a_message_with_the_answers_and_text() {
        let mut w = with_form(in_bot_phase());
        w.update(Input::TalkToHuman { request: rid("r0") });
        w.update(Input::SubmitPreChat {
            request: rid("r1"),
            answers: good_answers(),
        });
        w.update(status(ChatStatus::Missed {}));
        assert_eq!(w.phase(), Phase::Missed);
        assert_eq!(w.answers, good_answers(), "kept to prefill the form");
        let effects = w.update(Input::LeaveMessage {
            request: rid("r2"),
            answers: good_answers(),
            text: " Call me back ".into(),
        });
        assert_eq!(
            effects,
            vec![Effect::Transmit(ClientFrame::LeaveMessage {
                request: rid("r2"),
                answers: good_answers(),
                text: "Call me back".into(),
            })]
        );
        let again = w.update(Input::LeaveMessage {
            request: rid("r3"),
            answers: good_answers(),
            text: "Call me back".into(),
        });
        assert_eq!(again, vec![], "one message while it is pending");
        w.update(status(ChatStatus::MessageLeft {}));
        assert!(w.leave_request.is_none());
    }

    #[test]
    fn a_message_without_text_or_valid_answers_is_not_left() {
        let mut w = with_form(in_status(ChatStatus::Missed {}));
        let effects = w.update(Input::LeaveMessage {
            request: rid("r1"),
            answers: answers(&[("name", "Ada")]),
            text: "  ".into(),
        });
        assert_eq!(effects, vec![]);
        assert_eq!(w.problem, Some(FieldProblem::Required));
        assert_eq!(w.form_errors.len(), 1, "the missing email");
        assert!(w.leave_request.is_none());
    }

    #[test]
    fn a_pending_left_message_is_resent_with_the_same_id_after_reconnect() {
        let mut w = with_form(in_status(ChatStatus::Missed {}));
        w.update(Input::LeaveMessage {
            request: rid("r1"),
            answers: good_answers(),
            text: "hi".into(),
        });
        w.update(Input::LinkClosed);
        w.update(Input::ReconnectDue);
        assert_eq!(
            w.update(welcome("t1")),
            vec![Effect::Transmit(ClientFrame::LeaveMessage {
                request: rid("r1"),
                answers: good_answers(),
                text: "hi".into(),
            })]
        );
    }

    #[test]
    fn errors_are_cleared_when_the_phase_changes() {
        let mut w = in_status(ChatStatus::Ended { rated: false });
        w.update(Input::Rate {
            stars: None,
            comment: String::new(),
        });
        w.update(status(ChatStatus::Ended { rated: true }));
        assert_eq!(w.problem, None);
    }

    #[test]
    fn start_new_is_offered_after_the_chat_and_sent_once_until_welcome() {
        let mut w = in_status(ChatStatus::Ended { rated: true });
        assert_eq!(
            w.update(Input::StartNew),
            vec![Effect::Transmit(ClientFrame::StartNew {})]
        );
        assert_eq!(w.update(Input::StartNew), vec![]);
        w.update(welcome_to("t1", "c2"));
        assert!(!w.starting_new);
        assert_eq!(in_status(live()).update(Input::StartNew), vec![]);
    }

    // History.

    #[test]
    fn history_is_fetched_with_the_session_token() {
        let mut w = online();
        assert_eq!(
            w.update(Input::OpenHistory),
            vec![Effect::FetchHistory { token: token("t1") }]
        );
        assert_eq!(w.history, History::Loading);
        assert_eq!(w.update(Input::OpenHistory), vec![], "one fetch at a time");
    }

    #[test]
    fn history_without_a_session_is_an_empty_list() {
        let mut w = Widget::new(site(), None);
        assert_eq!(w.update(Input::OpenHistory), vec![]);
        assert_eq!(
            w.history,
            History::Loaded {
                conversations: vec![],
                viewing: None
            }
        );
    }

    #[test]
    fn a_past_conversation_is_read_and_back_returns_to_the_list_then_the_chat() {
        let mut w = online();
        w.update(Input::OpenHistory);
        w.update(Input::HistoryLoaded(Ok(vec![past("c2"), past("c1")])));
        w.update(Input::ShowPast(5));
        w.update(Input::ShowPast(1));
        assert!(matches!(
            w.history,
            History::Loaded {
                viewing: Some(1),
                ..
            }
        ));
        w.update(Input::HistoryBack);
        assert!(matches!(w.history, History::Loaded { viewing: None, .. }));
        w.update(Input::HistoryBack);
        assert_eq!(w.history, History::Closed);
    }

    #[test]
    fn closing_the_history_from_a_past_conversation_returns_to_the_chat() {
        let mut w = online();
        w.update(Input::OpenHistory);
        w.update(Input::HistoryLoaded(Ok(vec![past("c1")])));
        w.update(Input::ShowPast(0));
        w.update(Input::CloseHistory);
        assert_eq!(w.history, History::Closed);
    }

    #[test]
    fn a_failed_history_fetch_is_reported_and_a_late_answer_after_closing_is_ignored() {
        let mut w = online();
        w.update(Input::OpenHistory);
        w.update(Input::HistoryLoaded(Err("offline".into())));
        assert_eq!(w.history, History::Failed("offline".into()));
        w.update(Input::HistoryBack);
        w.update(Input::OpenHistory);
        w.update(Input::HistoryBack);
        w.update(Input::HistoryLoaded(Ok(vec![past("c1")])));
        assert_eq!(w.history, History::Closed);
    }
}
