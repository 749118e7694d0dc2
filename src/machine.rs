//! The widget's conversation machine: inputs in, effects out, no DOM, no clock, no I/O.
//!
//! [`Widget::update`] is the one place where the widget's state changes. The runtime feeds
//! it user actions and link events and carries out the [`Effect`]s it returns (open a
//! socket, send a frame, store the token, schedule a reconnect, tell the host page); the
//! view only renders [`Widget`]. This keeps every rule here unit-testable natively.
//!
//! Delivery rules kept here: server events are taken in `seq` order exactly once (an event
//! already held is dropped; a gap means the link is unsound and is reopened, so the server
//! replays); visitor messages wait in the outbox until the server's event for their id
//! arrives, and every (re)connect resends what is still waiting, with the same id.

use porchlight_protocol::{
    Author, ClientFrame, ConversationEvent, ConversationId, MessageId, PROTOCOL_VERSION, Seq,
    ServerFrame, SessionToken, SiteId, text,
};

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

/// A message the server has stored, shown in the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub seq: Seq,
    pub at_ms: u64,
    pub author: Author,
    pub text: String,
}

/// A visitor message the server has not yet shown back as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: MessageId,
    pub text: String,
    /// Acked by the server (stored as this seq), its event not yet received.
    pub acked: Option<Seq>,
}

/// Something that happened: a visitor action, a link event or a server frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Open,
    Close,
    Toggle,
    /// The visitor sends `text` (unvalidated) under a fresh client-made `id`.
    Send {
        id: MessageId,
        text: String,
    },
    /// The socket opened.
    LinkOpened,
    /// The socket closed or failed.
    LinkClosed,
    /// The scheduled reconnect is due.
    ReconnectDue,
    /// A frame arrived from the server.
    Frame(ServerFrame),
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
}

/// The widget's whole state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widget {
    pub site: SiteId,
    pub open: bool,
    pub link: LinkState,
    pub token: Option<SessionToken>,
    pub conversation: Option<ConversationId>,
    /// The newest event held; everything up to it is in `messages` (or was not a message).
    pub last_seq: Seq,
    pub messages: Vec<Message>,
    pub outbox: Vec<Outgoing>,
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
            last_seq: Seq(0),
            messages: Vec::new(),
            outbox: Vec::new(),
            attempts: 0,
            notice: None,
        }
    }

    /// Applies one input and returns what the runtime must do.
    pub fn update(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Open => self.set_open(true),
            Input::Close => self.set_open(false),
            Input::Toggle => self.set_open(!self.open),
            Input::Send { id, text } => self.send(id, &text),
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
            Input::Frame(frame) => self.receive(frame),
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

    fn send(&mut self, id: MessageId, raw: &str) -> Vec<Effect> {
        let Ok(text) = text::message_text(raw) else {
            return Vec::new();
        };
        if self.outbox.iter().any(|o| o.id == id) {
            return Vec::new();
        }
        self.outbox.push(Outgoing {
            id: id.clone(),
            text: text.to_string(),
            acked: None,
        });
        match self.link {
            LinkState::Online => vec![Effect::Transmit(ClientFrame::SendText {
                id,
                text: text.to_string(),
            })],
            _ => self.ensure_link(),
        }
    }

    fn link_lost(&mut self) -> Vec<Effect> {
        self.link = LinkState::Reconnecting;
        self.attempts = self.attempts.saturating_add(1);
        vec![Effect::ScheduleReconnect {
            attempt: self.attempts,
        }]
    }

    fn receive(&mut self, frame: ServerFrame) -> Vec<Effect> {
        match frame {
            ServerFrame::Welcome {
                token,
                conversation,
                ..
            } => self.welcomed(token, conversation),
            ServerFrame::Event { seq, at_ms, event } => self.event(seq, at_ms, event),
            ServerFrame::Ack { id, seq } => {
                if let Some(out) = self.outbox.iter_mut().find(|o| o.id == id) {
                    out.acked = Some(seq);
                }
                Vec::new()
            }
            ServerFrame::Error { message, .. } => {
                self.notice = Some(message);
                Vec::new()
            }
            ServerFrame::Pong {}
            | ServerFrame::Status { .. }
            | ServerFrame::Typing { .. }
            | ServerFrame::FormRejected { .. } => Vec::new(),
        }
    }

    fn welcomed(&mut self, token: SessionToken, conversation: ConversationId) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.token.as_ref() != Some(&token) {
            // A new session: whatever we held belonged to another conversation.
            if self.token.is_some() {
                self.messages.clear();
                self.last_seq = Seq(0);
            }
            self.token = Some(token.clone());
            effects.push(Effect::SaveToken(token));
        }
        self.conversation = Some(conversation);
        self.link = LinkState::Online;
        self.attempts = 0;
        self.notice = None;
        effects.extend(self.outbox.iter().map(|o| {
            Effect::Transmit(ClientFrame::SendText {
                id: o.id.clone(),
                text: o.text.clone(),
            })
        }));
        effects
    }

    fn event(&mut self, seq: Seq, at_ms: u64, event: ConversationEvent) -> Vec<Effect> {
        if seq <= self.last_seq {
            return Vec::new(); // already held
        }
        if seq != self.last_seq.next() {
            // A gap: reopen the link so the server replays from what we hold.
            return vec![Effect::Connect];
        }
        self.last_seq = seq;
        // Lifecycle events are not shown yet.
        if let ConversationEvent::MessageReceived {
            id, author, text, ..
        } = event
        {
            if let Some(id) = id {
                self.outbox.retain(|o| o.id != id);
            }
            self.messages.push(Message {
                seq,
                at_ms,
                author,
                text,
            });
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use porchlight_protocol::{AuthorKind, ErrorCode};

    fn site() -> SiteId {
        SiteId::new("demo").expect("id")
    }
    fn token(s: &str) -> SessionToken {
        SessionToken::new(s).expect("id")
    }
    fn mid(s: &str) -> MessageId {
        MessageId::new(s).expect("id")
    }
    fn welcome(t: &str) -> Input {
        Input::Frame(ServerFrame::Welcome {
            version: 1,
            token: token(t),
            conversation: ConversationId::new("c1").expect("id"),
            last_seq: Seq(0),
        })
    }
    fn event(seq: u64, id: Option<&str>, text: &str) -> Input {
        Input::Frame(ServerFrame::Event {
            seq: Seq(seq),
            at_ms: 0,
            event: ConversationEvent::MessageReceived {
                id: id.map(mid),
                author: Author {
                    kind: if id.is_some() {
                        AuthorKind::Visitor
                    } else {
                        AuthorKind::Bot
                    },
                    name: "x".into(),
                },
                text: text.into(),
                choices: vec![],
            },
        })
    }
    fn online() -> Widget {
        let mut w = Widget::new(site(), None);
        w.update(Input::Open);
        w.update(Input::LinkOpened);
        w.update(welcome("t1"));
        w
    }
    fn texts(w: &Widget) -> Vec<&str> {
        w.messages.iter().map(|m| m.text.as_str()).collect()
    }

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
    fn an_open_socket_says_hello_with_token_and_last_seq() {
        let mut w = Widget::new(site(), Some(token("t1")));
        w.last_seq = Seq(4);
        assert_eq!(
            w.update(Input::LinkOpened),
            vec![Effect::Transmit(ClientFrame::Hello {
                version: PROTOCOL_VERSION,
                site: site(),
                token: Some(token("t1")),
                conversation: None,
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
        assert!(w.messages.is_empty());
        assert_eq!(w.last_seq, Seq(0));
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
    fn sending_online_transmits_and_waits_in_the_outbox() {
        let mut w = online();
        let effects = w.update(Input::Send {
            id: mid("m1"),
            text: "  hi  ".into(),
        });
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
        assert_eq!(
            w.update(Input::Send {
                id: mid("m1"),
                text: " \n ".into()
            }),
            vec![]
        );
        assert!(w.outbox.is_empty());
    }

    #[test]
    fn the_same_id_is_queued_once() {
        let mut w = online();
        w.update(Input::Send {
            id: mid("m1"),
            text: "hi".into(),
        });
        assert_eq!(
            w.update(Input::Send {
                id: mid("m1"),
                text: "hi".into()
            }),
            vec![]
        );
        assert_eq!(w.outbox.len(), 1);
    }

    #[test]
    fn ack_marks_the_message_and_its_event_moves_it_to_the_transcript() {
        let mut w = online();
        w.update(Input::Send {
            id: mid("m1"),
            text: "hi".into(),
        });
        w.update(Input::Frame(ServerFrame::Ack {
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
        assert_eq!(
            w.update(Input::Send {
                id: mid("m1"),
                text: "hi".into()
            }),
            vec![Effect::Connect]
        );
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
        w.update(Input::Frame(ServerFrame::error(
            ErrorCode::InvalidText,
            "the message is empty",
        )));
        assert_eq!(w.notice.as_deref(), Some("the message is empty"));
        w.update(welcome("t1"));
        assert_eq!(w.notice, None);
    }
}
