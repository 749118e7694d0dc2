//! One agent console's WebSocket: `hello` with the admin secret and who signs in, a
//! snapshot of the desk (`welcome`), then every change of the desk as folder rows, the
//! open conversation's events and the visitor's typing; the console's requests (accept,
//! write, type, close, go online, open, search) go to the desk's agent side.
//!
//! Like the widget's socket it is bounded by [`framing`](crate::http::framing): a hello deadline,
//! a token bucket, a size limit, an idle limit and a send deadline; a console that falls
//! behind the desk-wide stream gets a fresh snapshot instead of a gap.

use crate::channels::{Content, Customer, Inbound};
use crate::desk::Desk;
use crate::desk::DeskError;
use crate::desk::channel::ChannelAction;
use crate::desk::folders;
use crate::http::framing::{Dialect, End, Framed, IDLE_LIMIT, Incoming, Refusal};
use crate::http::state::AppState;
use crate::store::{Appended, Phase, Update, random_id};
use axum::extract::ws::Message;
use futures_util::{Sink, Stream};
use porchlight_protocol::channels::PlatformError;
use porchlight_protocol::console::{AgentStatus, ConsoleError};
use porchlight_protocol::limits::FRAMES_PER_SECOND;
use porchlight_protocol::{
    AgentId, ChannelId, ConsoleFrame, ConversationId, DeskFrame, FrameError, MessageId,
    PROTOCOL_VERSION,
};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

/// Protocol v1 of the console's socket.
pub struct Console;

impl Dialect for Console {
    type Up = ConsoleFrame;
    type Down = DeskFrame;

    fn decode(text: &str) -> Result<ConsoleFrame, FrameError> {
        ConsoleFrame::decode(text)
    }

    fn encode(frame: &DeskFrame) -> String {
        frame.encode()
    }

    fn refusal(why: Refusal) -> DeskFrame {
        let (code, message) = match why {
            Refusal::RateLimited => (
                ConsoleError::RateLimited,
                format!("at most {FRAMES_PER_SECOND} frames a second; this one was dropped"),
            ),
            Refusal::Binary => (
                ConsoleError::MalformedFrame,
                "frames are JSON text, not binary".to_string(),
            ),
            Refusal::Undecodable(err @ FrameError::TooLarge { .. }) => {
                (ConsoleError::FrameTooLarge, err.to_string())
            }
            Refusal::Undecodable(err @ FrameError::Malformed(_)) => {
                (ConsoleError::MalformedFrame, err.to_string())
            }
        };
        DeskFrame::refused(code, message, None)
    }
}

/// Runs one console connection to its end.
pub async fn serve_console<S, R>(sink: S, stream: R, state: AppState)
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut conn = Connection {
        io: Framed::new(sink, stream),
        state,
        agent: None,
        open: None,
        agents_sent: Vec::new(),
    };
    if let Err(end) = conn.run().await {
        tracing::debug!("console connection ended: {end}");
    }
}

struct Connection<S, R> {
    io: Framed<S, R, Console>,
    state: AppState,
    /// The signed-in agent; `None` for an admin.
    agent: Option<AgentId>,
    /// The conversation the console shows, whose events it is sent.
    open: Option<ConversationId>,
    /// Agents as last sent, so only changes are sent again.
    agents_sent: Vec<AgentStatus>,
}

/// A refused console frame: its code, a sentence, and the platform's own error when a
/// social channel would refuse the send.
struct Refused {
    code: ConsoleError,
    message: String,
    platform: Option<PlatformError>,
}

impl Refused {
    fn new(code: ConsoleError, message: impl Into<String>) -> Refused {
        Refused {
            code,
            message: message.into(),
            platform: None,
        }
    }
}

impl From<DeskError> for Refused {
    fn from(err: DeskError) -> Refused {
        let message = err.to_string();
        let code = match &err {
            DeskError::UnknownAgent(_) => ConsoleError::UnknownAgent,
            DeskError::UnknownConversation(_) => ConsoleError::UnknownConversation,
            DeskError::Taken(_) => ConsoleError::Taken,
            DeskError::InvalidText(_) => ConsoleError::InvalidText,
            DeskError::UnknownChannel(_) => ConsoleError::UnknownChannel,
            DeskError::Platform(_) => ConsoleError::Platform,
            DeskError::Unavailable => ConsoleError::Unavailable,
            DeskError::NotAllowed(_)
            | DeskError::QueueFull(_)
            | DeskError::ConversationFull(_)
            | DeskError::TooManyConversations(_)
            | DeskError::Form(_)
            | DeskError::InvalidRating
            | DeskError::UnknownChoice(_) => ConsoleError::NotAllowed,
        };
        let platform = match err {
            DeskError::Platform(platform) => Some(platform),
            _ => None,
        };
        Refused {
            code,
            message,
            platform,
        }
    }
}

impl<S, R> Connection<S, R>
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    async fn run(&mut self) -> Result<(), End> {
        let mut watch = self.handshake().await?;
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                incoming = self.io.next() => {
                    if let Incoming::Frame(frame) = incoming? {
                        heard = Instant::now();
                        self.handle(frame).await?;
                    }
                }
                () = tokio::time::sleep_until(heard + IDLE_LIMIT) => {
                    return Err(self.io.close_silent().await);
                }
                update = watch.recv() => match update {
                    Ok(update) => self.forward(update).await?,
                    Err(RecvError::Lagged(_)) => watch = self.snapshot().await?,
                    Err(RecvError::Closed) => return Err(End::Gone),
                },
            }
        }
    }

    /// Waits for `hello`, checks the secret and who signs in, sends the snapshot.
    async fn handshake(&mut self) -> Result<broadcast::Receiver<Update>, End> {
        let first = self.io.first().await?;
        let ConsoleFrame::Hello {
            version,
            token,
            agent,
        } = first
        else {
            return self
                .refuse(ConsoleError::HelloExpected, "the first frame must be hello")
                .await;
        };
        if version != PROTOCOL_VERSION {
            return self
                .refuse(
                    ConsoleError::UnsupportedVersion,
                    format!("this server speaks protocol version {PROTOCOL_VERSION}"),
                )
                .await;
        }
        if !self.state.admin.is_token(token.as_str()) {
            return self
                .refuse(ConsoleError::Unauthorized, "the admin token is wrong")
                .await;
        }
        if let Some(agent) = &agent
            && self.state.desk.config.agent(agent).is_none()
        {
            return self
                .refuse(ConsoleError::UnknownAgent, format!("no agent {agent}"))
                .await;
        }
        self.agent = agent;
        self.snapshot().await
    }

    /// Sends the whole desk as it stands and follows it from there.
    async fn snapshot(&mut self) -> Result<broadcast::Receiver<Update>, End> {
        let desk = &self.state.desk;
        let agent = self.agent.clone();
        let stored = desk.stored_closed(folders::HISTORY_IN_SNAPSHOT).await;
        let ((welcome, agents), watch) = desk.watch(|world| {
            (
                folders::welcome(world, &desk.config, agent.as_ref(), &stored, Instant::now()),
                folders::agent_statuses(world, &desk.config),
            )
        });
        self.agents_sent = agents;
        self.send(welcome).await?;
        Ok(watch)
    }

    /// Tells the console what changed on the desk.
    async fn forward(&mut self, update: Update) -> Result<(), End> {
        match update {
            Update::Status { conversation, .. } => {
                self.send_summary(&conversation).await?;
                self.send_agents().await
            }
            Update::Event {
                conversation,
                event,
            } => {
                if self.open.as_ref() == Some(&conversation) {
                    self.send(DeskFrame::Event {
                        conversation: conversation.clone(),
                        seq: event.seq,
                        at_ms: event.at_ms,
                        event: event.event,
                    })
                    .await?;
                }
                self.send_summary(&conversation).await
            }
            Update::VisitorTyping {
                conversation,
                typing,
            } if self.open.as_ref() == Some(&conversation) => {
                self.send(DeskFrame::VisitorTyping {
                    conversation,
                    typing,
                })
                .await
            }
            Update::Agents => self.send_agents().await,
            Update::Changed { conversation } => self.send_summary(&conversation).await,
            Update::Clock => {
                let desk = &self.state.desk;
                let (now_ms, offset_ms, stories) = desk.read(|world| {
                    let stories: Vec<ConversationId> = world
                        .store
                        .all()
                        .filter(|(_, c)| {
                            c.channel_state.as_ref().is_some_and(|s| s.story.is_some())
                        })
                        .map(|(id, _)| id.clone())
                        .collect();
                    (world.store.now_ms(), world.store.clock_offset_ms(), stories)
                });
                self.send(DeskFrame::Clock { now_ms, offset_ms }).await?;
                // A story's link may have died with the move.
                for conversation in stories {
                    self.send_summary(&conversation).await?;
                }
                Ok(())
            }
            Update::VisitorTyping { .. } | Update::Typing { .. } | Update::Switched { .. } => {
                Ok(())
            }
        }
    }

    /// Sends a conversation's row, unless it is still with the bot (in no folder).
    async fn send_summary(&mut self, conversation: &ConversationId) -> Result<(), End> {
        let desk = &self.state.desk;
        // Most traffic is visitors talking to the bot: skip those before building a row.
        let found = desk.read(|world| {
            let with_bot = world
                .store
                .conversation(conversation)
                .is_none_or(|c| c.phase == Phase::Bot);
            if with_bot {
                return None;
            }
            folders::summary(world, &desk.config, conversation, Instant::now())
                .map(|summary| (summary, world.store.now_ms()))
        });
        let Some((summary, now_ms)) = found else {
            return Ok(());
        };
        self.send(DeskFrame::Conversation {
            now_ms,
            summary: Box::new(summary),
        })
        .await
    }

    /// Sends the agents whose presence or load changed since last sent.
    async fn send_agents(&mut self) -> Result<(), End> {
        let desk = &self.state.desk;
        let now = desk.read(|world| folders::agent_statuses(world, &desk.config));
        let changed: Vec<AgentStatus> = now
            .iter()
            .filter(|status| !self.agents_sent.contains(status))
            .cloned()
            .collect();
        self.agents_sent = now;
        for status in changed {
            self.send(DeskFrame::Agent { status }).await?;
        }
        Ok(())
    }

    /// The signed-in agent, or a refusal for an admin.
    fn acting_agent(&self) -> Result<AgentId, Refused> {
        self.agent.clone().ok_or_else(|| {
            Refused::new(
                ConsoleError::NotAllowed,
                "an admin watches; sign in as an agent to act",
            )
        })
    }

    /// The mock's wall clock.
    fn mock_now(&self) -> u64 {
        self.state.desk.read(|world| world.store.now_ms())
    }

    async fn handle(&mut self, frame: ConsoleFrame) -> Result<(), End> {
        let conversation = match &frame {
            ConsoleFrame::Accept { conversation }
            | ConsoleFrame::SendText { conversation, .. }
            | ConsoleFrame::Typing { conversation, .. }
            | ConsoleFrame::Close { conversation }
            | ConsoleFrame::Open { conversation }
            | ConsoleFrame::SendTemplate { conversation, .. }
            | ConsoleFrame::PrivateReply { conversation, .. }
            | ConsoleFrame::HideComment { conversation }
            | ConsoleFrame::DeleteComment { conversation } => Some(conversation.clone()),
            _ => None,
        };
        let answer = match self.answer(frame).await? {
            // Nothing is acked before it is durable.
            Ok(answer) => match self.state.desk.durable().await {
                Ok(()) => Ok(answer),
                Err(err) => Err(Refused::from(err)),
            },
            refused => refused,
        };
        match answer {
            Ok(Some(frame)) => self.send(frame).await,
            Ok(None) => Ok(()),
            Err(refusal) => {
                self.send(DeskFrame::Refused {
                    code: refusal.code,
                    message: refusal.message,
                    conversation,
                    platform: refusal.platform,
                })
                .await
            }
        }
    }

    /// Carries out one frame; its answer, if it has one.
    async fn answer(
        &mut self,
        frame: ConsoleFrame,
    ) -> Result<Result<Option<DeskFrame>, Refused>, End> {
        let desk = std::sync::Arc::clone(&self.state.desk);
        let now = Instant::now();
        let ack = |conversation: ConversationId, id: MessageId| {
            move |appended: Option<Appended>| {
                appended.map(|a| DeskFrame::Ack {
                    conversation,
                    id,
                    seq: a.seq(),
                })
            }
        };
        let answer = match frame {
            ConsoleFrame::Ping {} => Ok(Some(DeskFrame::Pong {})),
            ConsoleFrame::Hello { .. } => Err(Refused::new(
                ConsoleError::HelloExpected,
                "hello is only the first frame",
            )),
            ConsoleFrame::Open { conversation } => {
                let held = desk.read(|world| folders::detail(world, &desk.config, &conversation));
                let found = match held {
                    Some(detail) => Some(detail),
                    None => {
                        desk.stored_conversation(&conversation)
                            .await
                            .map(|(conv, identity)| {
                                folders::detail_of(&desk.config, &conversation, &conv, identity)
                            })
                    }
                };
                match found {
                    Some(detail) => {
                        self.open = Some(conversation);
                        Ok(Some(detail))
                    }
                    None => Err(Refused::new(
                        ConsoleError::UnknownConversation,
                        format!("no conversation {conversation}"),
                    )),
                }
            }
            ConsoleFrame::Search { query } => {
                let stored = desk.stored_search(&query, folders::SEARCH_RESULTS).await;
                let rows = desk.read(|world| {
                    let held = folders::search(world, &query);
                    folders::closed_rows(
                        world,
                        &desk.config,
                        held.iter(),
                        &stored,
                        folders::SEARCH_RESULTS,
                        now,
                    )
                });
                let conversations: Vec<ConversationId> =
                    rows.iter().map(|r| r.id.clone()).collect();
                // Rows first: a hit older than the snapshot's history is new to the console.
                for summary in rows {
                    let now_ms = self.mock_now();
                    self.send(DeskFrame::Conversation {
                        now_ms,
                        summary: Box::new(summary),
                    })
                    .await?;
                }
                Ok(Some(DeskFrame::Found {
                    query,
                    conversations,
                }))
            }
            ConsoleFrame::Simulate {
                channel,
                name,
                text,
            } => simulate(&desk, &channel, &name, &text, now).map(|_| None),
            ConsoleFrame::SetOnline { online } => self
                .acting_agent()
                .and_then(|agent| Ok(desk.set_online(&agent, online, now).map(|()| None)?)),
            ConsoleFrame::Accept { conversation } => self
                .acting_agent()
                .and_then(|agent| Ok(desk.accept(&agent, &conversation, now).map(|()| None)?)),
            ConsoleFrame::SendText {
                conversation,
                id,
                text,
            } => self.acting_agent().and_then(|agent| {
                let appended = desk.agent_message(&agent, &conversation, Some(&id), &text)?;
                Ok(ack(conversation, id)(Some(appended)))
            }),
            ConsoleFrame::SendTemplate {
                conversation,
                id,
                template,
            } => self.acting_agent().and_then(|agent| {
                let action = ChannelAction::Template(template);
                let appended = desk.channel_action(&agent, &conversation, Some(&id), &action)?;
                Ok(ack(conversation, id)(appended))
            }),
            ConsoleFrame::PrivateReply {
                conversation,
                id,
                text,
            } => self.acting_agent().and_then(|agent| {
                let action = ChannelAction::PrivateReply(text);
                let appended = desk.channel_action(&agent, &conversation, Some(&id), &action)?;
                Ok(ack(conversation, id)(appended))
            }),
            ConsoleFrame::HideComment { conversation } => self.acting_agent().and_then(|agent| {
                Ok(desk
                    .channel_action(&agent, &conversation, None, &ChannelAction::Hide)
                    .map(|_| None)?)
            }),
            ConsoleFrame::DeleteComment { conversation } => self.acting_agent().and_then(|agent| {
                Ok(desk
                    .channel_action(&agent, &conversation, None, &ChannelAction::Delete)
                    .map(|_| None)?)
            }),
            ConsoleFrame::Typing {
                conversation,
                typing,
            } => self.acting_agent().and_then(|agent| {
                Ok(desk
                    .agent_typing(&agent, &conversation, typing)
                    .map(|()| None)?)
            }),
            ConsoleFrame::Close { conversation } => self
                .acting_agent()
                .and_then(|agent| Ok(desk.close(&agent, &conversation, now).map(|()| None)?)),
        };
        Ok(answer)
    }

    async fn send(&mut self, frame: DeskFrame) -> Result<(), End> {
        self.io.send(frame).await
    }

    async fn refuse<T>(
        &mut self,
        code: ConsoleError,
        message: impl Into<String>,
    ) -> Result<T, End> {
        self.io
            .refuse(DeskFrame::refused(code, message, None), format!("{code:?}"))
            .await
    }
}

/// A customer message from the console's Simulate panel, delivered as the channel's
/// platform would: the same name on the same channel is the same customer.
fn simulate(
    desk: &std::sync::Arc<Desk>,
    channel: &ChannelId,
    name: &str,
    text: &str,
    now: Instant,
) -> Result<ConversationId, Refused> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > porchlight_protocol::limits::MAX_NAME_CHARS {
        return Err(Refused::new(
            ConsoleError::NotAllowed,
            "a simulated customer needs a name of 1 to 80 characters",
        ));
    }
    let kind = desk
        .config
        .channel(channel)
        .map(|c| c.kind)
        .ok_or_else(|| DeskError::UnknownChannel(channel.clone()))?;
    let customer: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(40)
        .collect();
    let message_id = format!("console-{}", random_id());
    let content = if kind.is_comments() {
        Content::Comment {
            post: "simulated-post".into(),
            comment: message_id.clone(),
            parent: None,
            text: text.to_string(),
        }
    } else {
        Content::Text(text.to_string())
    };
    let inbound = Inbound {
        customer: Customer {
            id: format!("console-{customer}"),
            name: Some(name.to_string()),
        },
        message_id,
        at_ms: 0,
        content,
    };
    Ok(desk.customer_wrote(channel, inbound, now)?)
}
