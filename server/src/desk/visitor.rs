//! The visitor's side of the desk: what the widget's socket and the visitor API ask —
//! hello and resume, messages and quick replies, asking for a person, typing, ending,
//! rating, leaving a message, starting anew, and reading earlier conversations.

use super::{Desk, DeskError, World, not_now};
use crate::sim::agents::{self, Plan};
use crate::store::sql;
use crate::store::{Appended, OfflineMessage, Phase, Rating, Store, StoredEvent, Update, now_ms};
use porchlight_protocol::form::{self, Answers};
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::text;
use porchlight_protocol::{
    Author, AuthorKind, ChatStatus, ChoiceId, ConversationEvent, ConversationId, EventRecord,
    KnownIdentity, MessageId, PastConversation, Replay, RequestId, Seq, SessionToken,
};
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// What a connection needs to (re)attach to its session's current conversation: taken
/// under one lock, so no update falls between the read and the subscription.
pub struct Attached {
    pub token: SessionToken,
    pub conversation: ConversationId,
    /// Events after the seq the client holds, to send on the socket.
    pub missed: Vec<StoredEvent>,
    pub last_seq: Seq,
    pub status: ChatStatus,
    /// How the client gets what it lacks.
    pub replay: Replay,
}

impl World {
    /// The one path every customer message takes once it is stored, whether a visitor's
    /// over the widget's socket or a customer's from a platform's webhook: in a live chat
    /// the customer no longer types, the agent's idle clock starts again and a simulated
    /// agent answers. Returns what simulated agents will do.
    pub(super) fn customer_message_stored(
        &mut self,
        config: &crate::config::ServerConfig,
        conversation: &ConversationId,
    ) -> Vec<Plan> {
        let Ok(Phase::Live { agent, .. }) = self.phase(conversation) else {
            return Vec::new();
        };
        self.store.set_visitor_typing(conversation, false);
        let Some(conv) = self.store.conversation_mut(conversation) else {
            return Vec::new();
        };
        conv.visitor_activity += 1;
        let activity = conv.visitor_activity;
        agents::reply_plan(config, &agent, conversation)
            .into_iter()
            .chain(agents::idle_plan(config, &agent, conversation, activity))
            .collect()
    }

    /// Stores a visitor message under its client `id`, once.
    fn visitor_said(
        &mut self,
        conversation: &ConversationId,
        id: &MessageId,
        text: &str,
    ) -> Result<Appended, DeskError> {
        let event = ConversationEvent::MessageReceived {
            id: Some(id.clone()),
            author: Author {
                kind: AuthorKind::Visitor,
                name: "You".into(),
            },
            text: text.to_string(),
            choices: Vec::new(),
        };
        self.store
            .append_once(conversation, id, event)
            .ok_or_else(|| DeskError::UnknownConversation(conversation.clone()))
    }
}

impl Desk {
    /// Greets a fresh conversation, when the site has its bot on.
    fn greet(&self, store: &mut Store, conversation: &ConversationId) {
        if self.config.site.bot_enabled {
            store.append(conversation, self.config.bot.greeting());
        }
    }

    /// Resumes session `token` (or opens a new one, when `admit` allows) for a connection
    /// holding events up to `last_seq` of conversation `held`.
    pub fn hello<E>(
        &self,
        token: Option<&SessionToken>,
        held: Option<&ConversationId>,
        last_seq: Seq,
        identity: Option<KnownIdentity>,
        now: Instant,
        admit: impl FnOnce() -> Result<(), E>,
    ) -> Result<(Attached, broadcast::Receiver<Update>), E> {
        let mut world = self.lock();
        let store = &world.store;
        let user = identity.as_ref().filter(|i| i.verified).map(|i| &i.user_id);
        // A verified user's own session wins; a session presented is resumed unless it is
        // another verified user's.
        let presented = token.filter(|t| {
            store
                .identity(t)
                .is_none_or(|held| !held.verified || Some(&held.user_id) == user)
        });
        let resumed = user
            .and_then(|u| store.user_session(u))
            .or_else(|| presented.cloned())
            .and_then(|t| store.session(&t).map(|c| (t, c)));
        let lost = token.is_some() && resumed.is_none();
        let (token, conversation, from) = match resumed {
            Some((token, conversation)) => {
                let from = if held.is_some_and(|h| *h != conversation) {
                    Seq(0) // events of another conversation say nothing about this one
                } else {
                    last_seq
                };
                (token, conversation, from)
            }
            None => {
                admit()?;
                let (token, conversation) = world.store.create_session();
                self.greet(&mut world.store, &conversation);
                (token, conversation, Seq(0))
            }
        };
        if let Some(identity) = identity {
            world.store.identify(&token, identity);
        }
        let updates = world
            .store
            .subscribe(&token)
            .expect("the session was just found or made");
        let window = (!lost).then_some(self.config.link.replay_window);
        let mut attached = attach(&world.store, &token, &conversation, from, now, window);
        if lost {
            attached.replay = Replay::Lost;
        }
        Ok((attached, updates))
    }

    /// The identity session `token`'s visitor gave, if any.
    pub fn identity(&self, token: &SessionToken) -> Option<KnownIdentity> {
        self.look().store.identity(token).cloned()
    }

    /// Re-reads session `token`'s current conversation after `from`.
    pub fn attach(&self, token: &SessionToken, from: Seq, now: Instant) -> Option<Attached> {
        let world = self.look();
        let conversation = world.store.session(token)?;
        Some(attach(&world.store, token, &conversation, from, now, None))
    }

    /// The current status of `conversation`.
    pub fn status(&self, conversation: &ConversationId, now: Instant) -> Option<ChatStatus> {
        let world = self.look();
        world
            .store
            .conversation(conversation)
            .map(|c| c.phase.status(now))
    }

    /// A visitor message. The bot answers it in the bot phase; a simulated agent in a
    /// live chat answers it too.
    pub fn visitor_text(
        self: &Arc<Self>,
        conversation: &ConversationId,
        id: &MessageId,
        raw: &str,
    ) -> Result<Appended, DeskError> {
        let text = text::message_text(raw).map_err(DeskError::InvalidText)?;
        let mut plans = Vec::new();
        let appended = {
            let mut world = self.lock();
            let phase = world.phase(conversation)?;
            if matches!(
                phase,
                Phase::Missed | Phase::MessageLeft | Phase::Ended { .. }
            ) {
                return Err(not_now("this chat is over; start a new conversation"));
            }
            // The visitor's message and the bot's answer.
            world.room_for(conversation, Some(id), 2, self.config.limits.max_events)?;
            let appended = world.visitor_said(conversation, id, text)?;
            if let Appended::New(_) = appended {
                match phase {
                    Phase::Bot => {
                        let answer = self.config.bot.answer(text).to_string();
                        world
                            .store
                            .append(conversation, self.config.bot.says(&answer, &[]));
                    }
                    Phase::Live { .. } => {
                        plans = world.customer_message_stored(&self.config, conversation);
                    }
                    _ => {}
                }
            }
            appended
        };
        self.run(plans);
        Ok(appended)
    }

    /// A quick reply: stored as the visitor's message, answered by its bot node.
    pub fn choose(
        &self,
        conversation: &ConversationId,
        id: &MessageId,
        choice: &ChoiceId,
    ) -> Result<Appended, DeskError> {
        let node = self
            .config
            .bot
            .node(choice)
            .ok_or_else(|| DeskError::UnknownChoice(choice.clone()))?;
        let mut world = self.lock();
        if world.phase(conversation)? != Phase::Bot {
            return Err(not_now("quick replies are for the bot"));
        }
        world.room_for(conversation, Some(id), 2, self.config.limits.max_events)?;
        let appended = world.visitor_said(conversation, id, &node.label)?;
        if let Appended::New(_) = appended {
            world.store.append(
                conversation,
                self.config.bot.says(&node.answer, &node.choices),
            );
        }
        Ok(appended)
    }

    /// The visitor asks for a human with the pre-chat answers. A resent `request` is
    /// accepted and changes nothing: then the result is `false`.
    pub fn request_agent(
        self: &Arc<Self>,
        conversation: &ConversationId,
        request: &RequestId,
        answers: &Answers,
        now: Instant,
    ) -> Result<bool, DeskError> {
        self.route(now, |world| {
            let conv = world.conversation(conversation)?;
            if conv.request.as_ref() == Some(request) {
                return Ok((false, Vec::new()));
            }
            if conv.phase != Phase::Bot {
                return Err(not_now("a person has already been asked for"));
            }
            let fields = &self.config.site.prechat;
            let known = world
                .store
                .identity(&conv.token)
                .filter(|i| i.verified)
                .map(|i| form::prefill(fields, answers, i.name.as_deref(), i.email.as_deref()));
            let cleaned = form::validate(fields, known.as_ref().unwrap_or(answers))
                .map_err(DeskError::Form)?;
            let max_queue = self.config.limits.max_queue;
            if world.router.queue_len() >= max_queue {
                return Err(DeskError::QueueFull(max_queue));
            }
            world.room_for(conversation, None, 1, self.config.limits.max_events)?;
            if let Some(conv) = world.store.conversation_mut(conversation) {
                conv.request = Some(request.clone());
                conv.answers = cleaned;
            }
            world
                .store
                .append(conversation, ConversationEvent::AgentRequested {});
            let routed = world
                .router
                .request(conversation.clone(), now)
                .map_err(|e| world.route_error(e))?;
            Ok((true, routed))
        })
    }

    /// The visitor is typing (shown to agents in the control API).
    pub fn visitor_typing(&self, conversation: &ConversationId, typing: bool) {
        let mut world = self.look();
        if matches!(world.phase(conversation), Ok(Phase::Live { .. })) {
            world.store.set_visitor_typing(conversation, typing);
        }
    }

    /// The visitor ends the chat or withdraws the waiting request.
    pub fn end_chat(
        self: &Arc<Self>,
        conversation: &ConversationId,
        now: Instant,
    ) -> Result<(), DeskError> {
        self.route(now, |world| {
            match world.phase(conversation)? {
                Phase::Queued { .. } | Phase::Connecting { .. } | Phase::Live { .. } => {}
                _ => return Err(not_now("there is no chat with a person to end")),
            }
            Ok(((), world.router.visitor_left(conversation, now)))
        })
    }

    /// The visitor rates the ended chat.
    pub fn rate(
        &self,
        conversation: &ConversationId,
        stars: u8,
        comment: Option<&str>,
        now: Instant,
    ) -> Result<(), DeskError> {
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if !(1..=5).contains(&stars)
            || comment.is_some_and(|c| c.chars().count() > MAX_MESSAGE_CHARS)
        {
            return Err(DeskError::InvalidRating);
        }
        let mut world = self.lock();
        if world.phase(conversation)? != (Phase::Ended { rated: false }) {
            return Err(not_now("only an ended chat can be rated, once"));
        }
        let comment = comment.map(str::to_string);
        if let Some(conv) = world.store.conversation_mut(conversation) {
            conv.rating = Some(Rating {
                stars,
                comment: comment.clone(),
            });
        }
        world
            .store
            .append(conversation, ConversationEvent::Rated { stars, comment });
        world
            .store
            .set_phase(conversation, Phase::Ended { rated: true }, now);
        Ok(())
    }

    /// The visitor leaves a message after a missed chat. A resent `request` changes
    /// nothing: then the result is `false`.
    pub fn leave_message(
        &self,
        conversation: &ConversationId,
        request: &RequestId,
        answers: &Answers,
        raw: &str,
        now: Instant,
    ) -> Result<bool, DeskError> {
        let mut world = self.lock();
        let conv = world.conversation(conversation)?;
        if conv.message_request.as_ref() == Some(request) {
            return Ok(false);
        }
        if conv.phase != Phase::Missed {
            return Err(not_now(
                "a message can be left only when nobody took the chat",
            ));
        }
        let cleaned =
            form::validate(&self.config.site.prechat, answers).map_err(DeskError::Form)?;
        let text = text::message_text(raw)
            .map_err(DeskError::InvalidText)?
            .to_string();
        if let Some(conv) = world.store.conversation_mut(conversation) {
            conv.message_request = Some(request.clone());
            conv.answers = cleaned.clone();
        }
        world.store.leave_message(OfflineMessage {
            conversation: conversation.clone(),
            answers: cleaned,
            text: text.clone(),
            at_ms: now_ms(),
        });
        world
            .store
            .append(conversation, ConversationEvent::MessageLeft { text });
        world.store.set_phase(conversation, Phase::MessageLeft, now);
        Ok(true)
    }

    /// Starts a new conversation in session `token` once the current one is over.
    pub fn start_new(&self, token: &SessionToken) -> Result<ConversationId, DeskError> {
        let mut world = self.lock();
        let current = world
            .store
            .session(token)
            .ok_or_else(|| not_now("no such session"))?;
        let phase = world.phase(&current)?;
        if !(phase.is_closed() || phase == Phase::Missed) {
            return Err(not_now("end the current chat first"));
        }
        let max = self.config.limits.max_conversations;
        if world.store.past(token).len() + 1 >= max {
            return Err(DeskError::TooManyConversations(max));
        }
        let conversation = world
            .store
            .start_new(token)
            .ok_or_else(|| not_now("no such session"))?;
        self.greet(&mut world.store, &conversation);
        Ok(conversation)
    }

    /// Brings session `token`, or verified user `user`'s session, back into memory from
    /// the database when it left, with its current conversation; a session already held,
    /// or one the database does not know, changes nothing.
    pub async fn recall(
        &self,
        token: Option<&SessionToken>,
        user: Option<&str>,
    ) -> Result<(), DeskError> {
        let Some(reader) = self.reader() else {
            return Ok(());
        };
        let (token, user) = {
            let world = self.look();
            let wanted = |t: &SessionToken| !world.store.holds_session(t);
            (
                token.filter(|t| wanted(t)).cloned(),
                user.filter(|u| world.store.user_session(u).is_none())
                    .map(str::to_string),
            )
        };
        if token.is_none() && user.is_none() {
            return Ok(());
        }
        if self.cluster.is_some() {
            // Among several processes, read within a decision, caught up (so what another
            // process changes later is logged after what this one holds), through the
            // reading connection: the deciding one may be busy committing.
            let mut world = self.lock();
            let found = reader
                .read_blocking(move |db| returning(db, token, user))
                .map_err(|err| {
                    tracing::error!("cannot read a returning session: {err}");
                    DeskError::Unavailable
                })?;
            for (stored, conversations) in found {
                world.store.adopt(stored, conversations);
            }
            return Ok(());
        }
        let found = reader
            .read(move |db| returning(db, token, user))
            .await
            .map_err(|err| {
                tracing::error!("cannot read a returning session: {err}");
                DeskError::Unavailable
            })?;
        let mut world = self.lock();
        for (stored, conversations) in found {
            world.store.adopt(stored, conversations);
        }
        Ok(())
    }

    /// The session's earlier conversations, newest first: `limit` of them after skipping
    /// `offset`, with at most [`MAX_READ_BYTES`] of events in all (a conversation cut short
    /// reads on through [`Desk::transcript`]). Read from the database once everything said
    /// is written, never under the desk's lock; `None` for an unknown session.
    pub async fn history(
        &self,
        token: &SessionToken,
        offset: usize,
        limit: usize,
    ) -> Result<Option<Vec<PastConversation>>, DeskError> {
        let Some(reader) = self.reader() else {
            return Ok(self.history_in_memory(token, offset, limit));
        };
        self.durable().await?;
        let held = {
            let world = self.look();
            world.store.session(token).map(|_| world.store.past(token))
        };
        let token = token.clone();
        reader
            .read(move |db| {
                let past = match held {
                    Some(past) => past,
                    None => match sql::session(db, &token)? {
                        Some(stored) => stored.past.into_iter().rev().collect(),
                        None => return Ok(None),
                    },
                };
                let mut budget = MAX_READ_BYTES;
                let mut page = Vec::new();
                for id in past.into_iter().skip(offset).take(limit) {
                    if budget <= PAST_CONVERSATION_OVERHEAD {
                        break;
                    }
                    budget -= PAST_CONVERSATION_OVERHEAD;
                    let events = sql::events_after(db, &id, Seq(0), usize::MAX, &mut budget)?;
                    page.push(PastConversation {
                        started_ms: events.first().map_or(0, |e| e.at_ms),
                        events: events.iter().map(StoredEvent::to_record).collect(),
                        conversation: id,
                    });
                }
                Ok(Some(page))
            })
            .await
            .map_err(|err| {
                tracing::error!("cannot read a visitor's history: {err}");
                DeskError::Unavailable
            })
    }

    fn history_in_memory(
        &self,
        token: &SessionToken,
        offset: usize,
        limit: usize,
    ) -> Option<Vec<PastConversation>> {
        let world = self.look();
        world.store.session(token)?;
        let mut budget = MAX_READ_BYTES;
        let mut page = Vec::new();
        for id in world.store.past(token).into_iter().skip(offset).take(limit) {
            if budget <= PAST_CONVERSATION_OVERHEAD {
                break;
            }
            budget -= PAST_CONVERSATION_OVERHEAD;
            let Some(conv) = world.store.conversation(&id) else {
                continue;
            };
            page.push(PastConversation {
                started_ms: conv.events.first().map_or(0, |e| e.at_ms),
                events: within(&mut budget, conv.events.iter()),
                conversation: id,
            });
        }
        Some(page)
    }

    /// At most `limit` events (and [`MAX_READ_BYTES`]) of `conversation` after `after`,
    /// when it belongs to session `token`: how a widget told to replay over HTTP reads what
    /// it missed. `None` for someone else's conversation or an unknown one.
    pub async fn transcript(
        &self,
        token: &SessionToken,
        conversation: &ConversationId,
        after: Seq,
        limit: usize,
    ) -> Result<Option<Vec<EventRecord>>, DeskError> {
        self.durable().await?;
        let held = {
            let world = self.look();
            world.store.conversation(conversation).map(|conv| {
                (conv.token == *token).then(|| {
                    let skip = usize::try_from(after.0).unwrap_or(usize::MAX);
                    let mut budget = MAX_READ_BYTES;
                    within(&mut budget, conv.events.iter().skip(skip).take(limit))
                })
            })
        };
        let Some(reader) = self.reader() else {
            return Ok(held.flatten());
        };
        if let Some(found) = held {
            return Ok(found);
        }
        let (token, conversation) = (token.clone(), conversation.clone());
        reader
            .read(move |db| {
                let owned = sql::conversation_token(db, &conversation)?;
                if owned.as_ref() != Some(&token) {
                    return Ok(None);
                }
                let mut budget = MAX_READ_BYTES;
                let events = sql::events_after(db, &conversation, after, limit, &mut budget)?;
                Ok(Some(events.iter().map(StoredEvent::to_record).collect()))
            })
            .await
            .map_err(|err| {
                tracing::error!("cannot read a transcript: {err}");
                DeskError::Unavailable
            })
    }
}

/// The most bytes of events (as JSON) one history or transcript read returns; the first
/// event is returned whatever its size.
pub const MAX_READ_BYTES: usize = 1_000_000;

/// What a past conversation adds around its events:
/// `{"conversation":"…","started_ms":…,"events":[…]},`.
const PAST_CONVERSATION_OVERHEAD: usize = 128;

/// The events `events` yields while `budget` lasts (at least one), spending it.
fn within<'a>(
    budget: &mut usize,
    events: impl Iterator<Item = &'a StoredEvent>,
) -> Vec<EventRecord> {
    let mut taken = Vec::new();
    for event in events {
        let record = event.to_record();
        let size = serde_json::to_string(&record).map_or(0, |json| json.len());
        if size > *budget && !taken.is_empty() {
            *budget = 0;
            break;
        }
        *budget = budget.saturating_sub(size);
        taken.push(record);
    }
    taken
}

/// What a connection holding events up to `from` needs. With a replay `window`, a client
/// further behind is told to read over HTTP, and nothing is copied for the socket.
fn attach(
    store: &Store,
    token: &SessionToken,
    conversation: &ConversationId,
    from: Seq,
    now: Instant,
    window: Option<u64>,
) -> Attached {
    let newest = store.last_seq(conversation);
    // A client claiming more than exists gets everything again rather than nothing.
    let from = if from > newest { Seq(0) } else { from };
    let too_far = window.is_some_and(|w| newest.0.saturating_sub(from.0) > w);
    Attached {
        token: token.clone(),
        conversation: conversation.clone(),
        missed: if too_far {
            Vec::new()
        } else {
            store.events_after(conversation, from)
        },
        last_seq: newest,
        status: store
            .conversation(conversation)
            .map_or(ChatStatus::Bot {}, |c| c.phase.status(now)),
        replay: if too_far {
            Replay::Http
        } else {
            Replay::Socket
        },
    }
}

/// A session read back from the database, with the conversations read with it.
type Returning = (
    sql::StoredSession,
    Vec<(ConversationId, crate::store::Conversation)>,
);

/// A returning session (by `token`, or verified `user`'s), each with its current
/// conversation.
fn returning(
    db: &mut dyn crate::store::sql::Sql,
    token: Option<SessionToken>,
    user: Option<String>,
) -> Result<Vec<Returning>, sql::ReadError> {
    let mut found = Vec::new();
    let sessions = [
        token.map(|t| sql::session(db, &t)).transpose()?.flatten(),
        user.map(|u| sql::user_session(db, &u))
            .transpose()?
            .flatten(),
    ];
    for stored in sessions.into_iter().flatten() {
        let current =
            sql::conversation(db, &stored.current)?.map(|conv| (stored.current.clone(), conv));
        found.push((stored, current.into_iter().collect::<Vec<_>>()));
    }
    Ok(found)
}
