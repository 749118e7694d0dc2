//! The social channels' side of the desk. A customer's message (from a webhook or a
//! simulated customer) joins their open conversation — restarting the reply window — or
//! opens one, routed exactly like a web request. Agents' sends are checked against the
//! platform's rules ([`check_send`]), recorded in the channel's outbox as the platform
//! would have received them, or refused with the platform's error and stored nowhere.
//! Comment actions (private reply, hide, delete), templates, and the mock clock.

use super::{Desk, DeskError, World, not_now};
use crate::channels::outbound::{self, Action, OutboxRecord};
use crate::channels::{Content, Inbound};
use crate::config::ServerConfig;
use crate::store::{Appended, ChannelState, Phase, SEEN_MESSAGE_IDS, StoryRef};
use porchlight_protocol::channels::{ChannelKind, CommentFacts, Delivery, Send, check_send};
use porchlight_protocol::text;
use porchlight_protocol::{
    AgentId, Author, AuthorKind, ChannelId, ConversationEvent, ConversationId, MessageId,
};
use std::sync::Arc;
use tokio::time::Instant;

/// What an agent does in a channel conversation besides writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelAction {
    /// Send a WhatsApp template by name.
    Template(String),
    /// A direct message to the commenter about the comment.
    PrivateReply(String),
    Hide,
    Delete,
}

/// What the customer's event says, as the transcript shows it.
fn said(content: &Content) -> &str {
    match content {
        Content::Text(text) | Content::StoryReply { text, .. } | Content::Comment { text, .. } => {
            text
        }
        Content::StoryMention { .. } => "Mentioned you in their story",
    }
}

impl World {
    /// The channel conversation's kind and state, or `None` for a web chat.
    fn channel_of(
        &self,
        config: &ServerConfig,
        conversation: &ConversationId,
    ) -> Result<Option<(ChannelKind, ChannelState)>, DeskError> {
        let conv = self.conversation(conversation)?;
        let Some(state) = &conv.channel_state else {
            return Ok(None);
        };
        let kind = config
            .channel_kind(&conv.channel)
            .ok_or_else(|| not_now(format!("channel {} is no longer connected", conv.channel)))?;
        Ok(Some((kind, state.clone())))
    }

    /// Checks `send` against the platform's rules at the mock's time.
    pub(super) fn check_channel_send(
        &self,
        config: &ServerConfig,
        conversation: &ConversationId,
        send: &Send<'_>,
    ) -> Result<Option<(ChannelKind, ChannelState, Delivery)>, DeskError> {
        let Some((kind, state)) = self.channel_of(config, conversation)? else {
            return Ok(None);
        };
        let delivery = check_send(kind, &state.facts, send, self.store.now_ms())
            .map_err(DeskError::Platform)?;
        Ok(Some((kind, state, delivery)))
    }

    /// Records a send in the channel's outbox.
    pub(super) fn record_send(
        &mut self,
        conversation: &ConversationId,
        kind: ChannelKind,
        customer: &str,
        action: &Action<'_>,
    ) {
        let Some(channel) = self
            .store
            .conversation(conversation)
            .map(|c| c.channel.clone())
        else {
            return;
        };
        let record = OutboxRecord {
            conversation: conversation.clone(),
            at_ms: self.store.now_ms(),
            call: outbound::call(kind, customer, action),
        };
        self.store.record_send(&channel, record);
    }

    /// The open conversation `inbound` belongs to: the customer's on this channel (a
    /// comment's: the one about the comment it answers, or is).
    fn open_conversation_for(
        &self,
        channel: &ChannelId,
        inbound: &Inbound,
    ) -> Option<ConversationId> {
        let thread = match &inbound.content {
            Content::Comment {
                comment, parent, ..
            } => Some(parent.as_ref().unwrap_or(comment)),
            _ => None,
        };
        self.store.channel_conversation(channel, |conv| {
            let open = matches!(
                conv.phase,
                Phase::Queued { .. } | Phase::Connecting { .. } | Phase::Live { .. }
            );
            let Some(state) = &conv.channel_state else {
                return false;
            };
            let same_thread = match (thread, &state.facts.comment) {
                (Some(thread), Some(comment)) => *thread == comment.comment,
                (None, None) => true,
                _ => false,
            };
            open && state.customer == inbound.customer.id && same_thread
        })
    }
}

impl Desk {
    /// A customer's message or comment on `channel`: joins their open conversation (the
    /// reply window restarts) or opens one and asks for an agent. A redelivered event
    /// changes nothing. Returns the conversation.
    pub fn customer_wrote(
        self: &Arc<Self>,
        channel: &ChannelId,
        inbound: Inbound,
        now: Instant,
    ) -> Result<ConversationId, DeskError> {
        let kind = self
            .config
            .channel_kind(channel)
            .ok_or_else(|| DeskError::UnknownChannel(channel.clone()))?;
        if kind == ChannelKind::Web {
            return Err(not_now("the web widget talks over its socket"));
        }
        let text = text::message_text(said(&inbound.content))
            .map_err(DeskError::InvalidText)?
            .to_string();
        let author = Author {
            kind: AuthorKind::Visitor,
            name: inbound
                .customer
                .name
                .clone()
                .unwrap_or_else(|| "Customer".into()),
        };
        let message = ConversationEvent::MessageReceived {
            id: None,
            author,
            text,
            choices: Vec::new(),
        };
        let mut plans = Vec::new();
        let joined = {
            let mut world = self.lock();
            let mock_now = world.store.now_ms();
            match world.open_conversation_for(channel, &inbound) {
                Some(conversation) => {
                    let Some(conv) = world.store.conversation_mut(&conversation) else {
                        return Err(DeskError::UnknownConversation(conversation));
                    };
                    let Some(state) = conv.channel_state.as_mut() else {
                        return Err(DeskError::UnknownConversation(conversation));
                    };
                    if state.seen.contains(&inbound.message_id) {
                        return Ok(conversation);
                    }
                    remember(state, &inbound, mock_now);
                    world.store.append(&conversation, message.clone());
                    world.store.touch(&conversation);
                    plans = world.customer_message_stored(&self.config, &conversation);
                    Some(conversation)
                }
                None => None,
            }
        };
        self.run(plans);
        if let Some(conversation) = joined {
            return Ok(conversation);
        }
        let human_agent = self.config.channel(channel).is_some_and(|c| c.human_agent);
        self.route(now, |world| {
            let mock_now = world.store.now_ms();
            let mut state = ChannelState {
                customer: inbound.customer.id.clone(),
                customer_name: inbound.customer.name.clone(),
                facts: porchlight_protocol::channels::ChannelFacts {
                    last_customer_ms: None,
                    human_agent,
                    comment: None,
                },
                story: None,
                seen: Vec::new(),
            };
            remember(&mut state, &inbound, mock_now);
            let conversation = world.store.open_channel_conversation(channel, state);
            world.store.append(&conversation, message);
            world
                .store
                .append(&conversation, ConversationEvent::AgentRequested {});
            let routed = world
                .router
                .request(conversation.clone(), now)
                .map_err(|e| world.route_error(e))?;
            Ok((conversation, routed))
        })
    }

    /// An agent's action in a channel conversation of theirs: a template, a private
    /// reply, hiding or deleting the comment. Refused, and stored nowhere, when the
    /// platform would refuse it.
    pub fn channel_action(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        id: Option<&MessageId>,
        action: &ChannelAction,
    ) -> Result<Option<Appended>, DeskError> {
        let mut world = self.lock();
        let name = world.live_agent(agent, conversation)?;
        let templates = self
            .config
            .channel(&world.conversation(conversation)?.channel)
            .map(|c| c.templates.clone())
            .unwrap_or_default();
        let names: Vec<String> = templates.iter().map(|t| t.name.clone()).collect();
        let (send, text) = match action {
            ChannelAction::Template(template) => (
                Send::Template {
                    name: template,
                    known: &names,
                },
                templates
                    .iter()
                    .find(|t| t.name == *template)
                    .map(|t| t.text.clone()),
            ),
            ChannelAction::PrivateReply(raw) => (
                Send::PrivateReply,
                Some(
                    text::message_text(raw)
                        .map_err(DeskError::InvalidText)?
                        .to_string(),
                ),
            ),
            ChannelAction::Hide => (Send::Hide, None),
            ChannelAction::Delete => (Send::Delete, None),
        };
        let Some((kind, state, _)) = world.check_channel_send(&self.config, conversation, &send)?
        else {
            return Err(not_now(
                "this is a web chat, not a social channel conversation",
            ));
        };
        let comment = state
            .facts
            .comment
            .as_ref()
            .map(|c| c.comment.clone())
            .unwrap_or_default();
        let record = match action {
            ChannelAction::Template(name) => Action::Template { name },
            ChannelAction::PrivateReply(_) => Action::PrivateReply {
                comment: &comment,
                text: text.as_deref().unwrap_or_default(),
            },
            ChannelAction::Hide => Action::Hide { comment: &comment },
            ChannelAction::Delete => Action::Delete { comment: &comment },
        };
        world.record_send(conversation, kind, &state.customer, &record);
        if let Some(facts) = world
            .store
            .conversation_mut(conversation)
            .and_then(|c| c.channel_state.as_mut())
            .and_then(|s| s.facts.comment.as_mut())
        {
            match action {
                ChannelAction::PrivateReply(_) => facts.private_replied = true,
                ChannelAction::Hide => facts.hidden = true,
                ChannelAction::Delete => facts.deleted = true,
                ChannelAction::Template(_) => {}
            }
        }
        world.store.touch(conversation);
        let Some(text) = text else {
            return Ok(None);
        };
        world.store.typing(conversation, &name, false);
        let event = ConversationEvent::MessageReceived {
            id: None,
            author: Author {
                kind: AuthorKind::Agent,
                name,
            },
            text,
            choices: Vec::new(),
        };
        let appended = match id {
            Some(id) => world.store.append_once(conversation, id, event),
            None => world.store.append(conversation, event).map(Appended::New),
        };
        appended
            .map(Some)
            .ok_or_else(|| DeskError::UnknownConversation(conversation.clone()))
    }

    /// Moves the mock's wall clock forward by `secs`, so a reply window can be seen to
    /// close without waiting a day. Routing timers keep tokio's clock. Returns the mock's
    /// time and offset, in milliseconds. Part of the simulation: refused while it is off.
    pub fn advance_clock(&self, secs: u64) -> Result<(u64, u64), DeskError> {
        if !self.config.simulation.enabled {
            return Err(DeskError::NotAllowed(
                "the wall clock moves only in a simulation ([simulation] enabled or --demo)".into(),
            ));
        }
        let mut world = self.lock();
        world.store.advance_clock(secs.saturating_mul(1000));
        Ok((world.store.now_ms(), world.store.clock_offset_ms()))
    }

    /// What agents sent on `channel`, as the platform received it; `None` for a channel
    /// not connected.
    pub fn outbox(&self, channel: &ChannelId) -> Option<Vec<OutboxRecord>> {
        self.config.channel(channel)?;
        Some(self.read(|world| world.store.outbox(channel).to_vec()))
    }
}

/// Notes a customer event in the conversation's state: the window restarts, a comment or
/// story is remembered, the message id is seen.
fn remember(state: &mut ChannelState, inbound: &Inbound, mock_now: u64) {
    state.facts.last_customer_ms = Some(mock_now);
    match &inbound.content {
        Content::Comment {
            post,
            comment,
            parent,
            ..
        } if state.facts.comment.is_none() => {
            state.facts.comment = Some(CommentFacts {
                post: post.clone(),
                comment: comment.clone(),
                at_ms: mock_now,
                top_level: parent.is_none(),
                hidden: false,
                deleted: false,
                private_replied: false,
            });
        }
        Content::StoryReply { url, .. } => {
            state.story = Some(StoryRef {
                url: url.clone(),
                posted_ms: mock_now,
                mention: false,
            });
        }
        Content::StoryMention { url } => {
            state.story = Some(StoryRef {
                url: url.clone(),
                posted_ms: mock_now,
                mention: true,
            });
        }
        _ => {}
    }
    if let Some(name) = &inbound.customer.name {
        state.customer_name = Some(name.clone());
    }
    state.seen.push(inbound.message_id.clone());
    if state.seen.len() > SEEN_MESSAGE_IDS {
        state.seen.remove(0);
    }
}
