//! The live link and what arrives over it: connecting, heartbeats and reconnects, the
//! `welcome` (resending what waits, replaying or rereading a gap over HTTP, a lost
//! session), and server frames taken in `seq` order exactly once.

use super::{Effect, HostEvent, Notice, Outgoing, Pending, Phase, Widget, from_staff};
use crate::runtime::Error;
use porchlight_protocol::{
    ChatStatus, ClientFrame, ConversationEvent, ConversationId, ErrorCode, EventRecord, Replay,
    Seq, ServerFrame, SessionToken,
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
    /// The server refused the visitor's identity, or the site wants one: no link until the
    /// host page identifies the visitor (again) or resets.
    Refused,
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
    /// Starts the link if nothing is running yet.
    pub(super) fn ensure_link(&mut self) -> Vec<Effect> {
        if self.link == LinkState::Idle {
            self.link = LinkState::Connecting;
            vec![Effect::Connect]
        } else {
            Vec::new()
        }
    }

    /// Sends a frame that is kept for resending: now if online, else after the next welcome.
    pub(super) fn transmit_kept(&mut self, frame: ClientFrame) -> Vec<Effect> {
        match self.link {
            LinkState::Online => vec![Effect::Transmit(frame)],
            _ => self.ensure_link(),
        }
    }

    /// Sends a frame that only makes sense now, if `wanted` and the link is up.
    pub(super) fn transmit_if(&self, wanted: bool, frame: ClientFrame) -> Vec<Effect> {
        if wanted && self.link == LinkState::Online {
            vec![Effect::Transmit(frame)]
        } else {
            Vec::new()
        }
    }

    pub(super) fn link_lost(&mut self) -> Vec<Effect> {
        if self.link == LinkState::Refused {
            return Vec::new(); // the server closed it on purpose: no reconnecting in a loop
        }
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
    pub(super) fn heartbeat(&mut self, now_ms: u64) -> Vec<Effect> {
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

    pub(super) fn receive(&mut self, frame: ServerFrame, now_ms: u64) -> Vec<Effect> {
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
            ServerFrame::Error {
                code: ErrorCode::IdentityRefused,
                ..
            } => {
                self.refuse(Notice::IdentityRefused);
                Vec::new()
            }
            ServerFrame::Error {
                code: ErrorCode::IdentityRequired,
                ..
            } => {
                self.refuse(Notice::SignedInOnly);
                Vec::new()
            }
            ServerFrame::Error { code, message } => {
                self.notice = Some(match code {
                    ErrorCode::RateLimited => Notice::RateLimited,
                    ErrorCode::Unavailable => Notice::Unavailable,
                    ErrorCode::QueueFull => Notice::QueueFull,
                    _ => Notice::Server(message),
                });
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

    pub(super) fn welcomed(
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
            // Identifying may hand over the visitor's own (verified) session: not a loss.
            self.session_lost = replay == Replay::Lost || !self.identified;
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
        self.identified = false;
        self.live_after = newest;
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

    /// Drops everything that belongs to the conversation held so far.
    pub(super) fn forget_conversation(&mut self) {
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

    pub(super) fn status_changed(&mut self, status: ChatStatus, now_ms: u64) {
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

    pub(super) fn event(&mut self, record: EventRecord) -> Vec<Effect> {
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
            if self.sound && !self.open && record.seq > self.live_after {
                effects.push(Effect::Chime);
            }
        }
        self.events.push(record);
        effects
    }

    pub(super) fn transcript_loaded(
        &mut self,
        conversation: &ConversationId,
        result: Result<Vec<EventRecord>, Error>,
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
}
