//! The agent's side of the desk: what the agent console, the control API and the simulated
//! agents ask — accept (or start) a request, write, type, close, go online or offline.

use super::{Desk, DeskError, World, not_now};
use crate::channels::outbound::Action;
use crate::store::{Appended, Phase, Update};
use porchlight_protocol::channels::Send;
use porchlight_protocol::text;
use porchlight_protocol::{
    AgentId, Author, AuthorKind, ConversationEvent, ConversationId, MessageId,
};
use std::sync::Arc;
use tokio::time::Instant;

impl World {
    /// Checks that `agent` exists and owns the live chat `conversation`; returns their name.
    pub(super) fn live_agent(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
    ) -> Result<String, DeskError> {
        let name = self
            .router
            .agent_name(agent)
            .ok_or_else(|| DeskError::UnknownAgent(agent.clone()))?
            .to_string();
        match self.phase(conversation)? {
            Phase::Live { agent: owner, .. } if owner == *agent => Ok(name),
            Phase::Live { .. } => Err(not_now(format!(
                "conversation {conversation} belongs to another agent"
            ))),
            _ => Err(not_now(format!(
                "conversation {conversation} is not a live chat"
            ))),
        }
    }
}

impl Desk {
    /// An agent accepts a request: from the queue (broadcast), or the one offered to them
    /// (time-based: "start chat"). The first accept wins; a later one is [`DeskError::Taken`].
    pub fn accept(
        self: &Arc<Self>,
        agent: &AgentId,
        conversation: &ConversationId,
        now: Instant,
    ) -> Result<(), DeskError> {
        self.route(now, |world| {
            let routed = world.router.accept(agent, conversation);
            world.routed(routed)
        })
    }

    /// An agent writes in their live chat. With an `id` (from the console), a resent id
    /// is acked with the seq it was stored as and not stored twice.
    pub fn agent_message(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        id: Option<&MessageId>,
        raw: &str,
    ) -> Result<Appended, DeskError> {
        let text = text::message_text(raw).map_err(DeskError::InvalidText)?;
        let mut world = self.lock();
        let name = world.live_agent(agent, conversation)?;
        world.room_for(conversation, id, 1, self.config.limits.max_events)?;
        // On a social channel: what the platform allows now, recorded as it received it.
        if let Some((kind, state, delivery)) =
            world.check_channel_send(&self.config, conversation, &Send::Text)?
        {
            let action = match &state.facts.comment {
                Some(comment) => Action::PublicReply {
                    comment: &comment.comment,
                    text,
                },
                None => Action::Text { text, delivery },
            };
            world.record_send(conversation, kind, &state.customer, &action);
        }
        world.store.typing(conversation, &name, false);
        let event = ConversationEvent::MessageReceived {
            id: None,
            author: Author {
                kind: AuthorKind::Agent,
                name,
            },
            text: text.to_string(),
            choices: Vec::new(),
        };
        let appended = match id {
            Some(id) => world.store.append_once(conversation, id, event),
            None => world.store.append(conversation, event).map(Appended::New),
        };
        appended.ok_or_else(|| DeskError::UnknownConversation(conversation.clone()))
    }

    /// An agent starts or stops typing in their live chat.
    pub fn agent_typing(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        typing: bool,
    ) -> Result<(), DeskError> {
        let mut world = self.look();
        let name = world.live_agent(agent, conversation)?;
        world.store.typing(conversation, &name, typing);
        Ok(())
    }

    /// An agent closes their live chat; a chat not yet accepted cannot be closed.
    pub fn close(
        self: &Arc<Self>,
        agent: &AgentId,
        conversation: &ConversationId,
        now: Instant,
    ) -> Result<(), DeskError> {
        self.route(now, |world| {
            let routed = world.router.close(agent, conversation, now);
            world.routed(routed)
        })
    }

    /// An agent goes online or offline.
    pub fn set_online(
        self: &Arc<Self>,
        agent: &AgentId,
        online: bool,
        now: Instant,
    ) -> Result<(), DeskError> {
        self.route(now, |world| {
            let routed = world
                .router
                .set_online(agent, online, now)
                .map_err(|e| world.route_error(e))?;
            world.store.tell(Update::Agents);
            Ok(((), routed))
        })
    }

    /// Whether `conversation` still waits in the queue (for simulated agents' retries).
    pub fn is_queued(&self, conversation: &ConversationId) -> bool {
        let world = self.look();
        world
            .store
            .conversation(conversation)
            .is_some_and(|c| matches!(c.phase, Phase::Queued { .. }))
    }

    /// Counts a simulated agent's reply and returns the next scripted line, if the chat is
    /// still live with them.
    pub fn next_scripted_reply(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
    ) -> Option<String> {
        let mut world = self.lock();
        world.live_agent(agent, conversation).ok()?;
        let replies = &self.config.agent(agent)?.replies;
        let conv = world.store.conversation_mut(conversation)?;
        let line = replies.get(conv.replies_said.min(replies.len().checked_sub(1)?))?;
        conv.replies_said += 1;
        Some(line.clone())
    }

    /// A simulated agent ends a chat the visitor left idle: if it is still live with
    /// them and the visitor has written nothing since `activity`, they say their closing
    /// line and close it. Returns whether they did.
    pub fn close_if_idle(
        self: &Arc<Self>,
        agent: &AgentId,
        conversation: &ConversationId,
        activity: u64,
        now: Instant,
    ) -> bool {
        let idle = self.read(|world| {
            world.live_agent(agent, conversation).is_ok()
                && world
                    .store
                    .conversation(conversation)
                    .is_some_and(|c| c.visitor_activity == activity)
        });
        let Some(line) = self.config.agent(agent).map(|a| a.closing_line.clone()) else {
            return false;
        };
        idle && self.agent_message(agent, conversation, None, &line).is_ok()
            && self.close(agent, conversation, now).is_ok()
    }
}
