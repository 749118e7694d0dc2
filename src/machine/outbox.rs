//! The outbox: what the visitor sends (typed text, quick replies, typing), kept until the
//! server's event for its id arrives, at most [`IN_FLIGHT_LIMIT`] unacked at once, and
//! saved in browser storage ([`SavedOutbox`]) so a reload loses none.

use super::{Effect, LinkState, Phase, Widget};
use porchlight_protocol::{
    ChoiceId, ClientFrame, ConversationEvent, ConversationId, MessageId, Seq, text,
};

/// At most this many outbox messages are on their way unacked at once; the next goes out
/// as one is acked. A long outbox after an outage so stays within the server's burst of
/// [`FRAME_BURST`](porchlight_protocol::limits::FRAME_BURST) frames, with room to spare.
pub const IN_FLIGHT_LIMIT: usize = 10;

/// The visitor's `typing: true` goes out at most this often while they keep typing.
pub const TYPING_EVERY_MS: u64 = 3_000;

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
    pub(super) fn text(id: MessageId, text: String) -> Outgoing {
        Outgoing {
            id,
            text,
            sending: Sending::Text,
            acked: None,
            in_flight: false,
        }
    }

    pub(super) fn unsent(self) -> Outgoing {
        Outgoing {
            acked: None,
            in_flight: false,
            ..self
        }
    }

    /// The frame that sends (or resends) this message.
    pub(super) fn frame(&self) -> ClientFrame {
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

impl Widget {
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

    /// Takes back the outbox of an earlier page load, before the link first opens: its
    /// messages go out after the first `welcome`, unless the session has moved on to
    /// another conversation by then.
    pub(super) fn restore(&mut self, saved: SavedOutbox) -> Vec<Effect> {
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

    pub(super) fn queue(&mut self, out: Outgoing) -> Vec<Effect> {
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
    pub(super) fn send_outbox(&mut self) -> Vec<Effect> {
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

    pub(super) fn send(&mut self, id: MessageId, raw: &str) -> Vec<Effect> {
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

    pub(super) fn choose(&mut self, id: MessageId, choice: ChoiceId) -> Vec<Effect> {
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

    pub(super) fn draft(&mut self, empty: bool, now_ms: u64) -> Vec<Effect> {
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

    pub(super) fn stop_typing(&mut self) -> Vec<Effect> {
        let was_typing = std::mem::take(&mut self.typing_on);
        self.transmit_if(was_typing, ClientFrame::Typing { typing: false })
    }

    /// Puts the visitor's own messages held after `newest` (the only events with a client
    /// id) back in the outbox, unsent, ahead of those still waiting.
    pub(super) fn resend_lost_messages(&mut self, newest: Seq) {
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
}
