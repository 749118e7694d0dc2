//! One agent console's WebSocket: `hello` with the admin secret and who signs in, a
//! snapshot of the desk (`welcome`), then every change of the desk as folder rows, the
//! open conversation's events and the visitor's typing; the console's requests (accept,
//! write, type, close, go online, open, search) go to the desk's agent side.
//!
//! Like the widget's socket it is bounded by [`framing`](crate::framing): a hello deadline,
//! a token bucket, a size limit, an idle limit and a send deadline; a console that falls
//! behind the desk-wide stream gets a fresh snapshot instead of a gap.

use crate::desk::DeskError;
use crate::folders;
use crate::framing::{Dialect, End, Framed, IDLE_LIMIT, Refusal};
use crate::state::AppState;
use crate::store::{Update, now_ms};
use axum::extract::ws::Message;
use futures_util::{Sink, Stream};
use porchlight_protocol::console::{AgentStatus, ConsoleError, Stage};
use porchlight_protocol::limits::FRAMES_PER_SECOND;
use porchlight_protocol::{
    AgentId, ConsoleFrame, ConversationId, DeskFrame, FrameError, PROTOCOL_VERSION,
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

fn console_error(err: &DeskError) -> ConsoleError {
    match err {
        DeskError::UnknownAgent(_) => ConsoleError::UnknownAgent,
        DeskError::UnknownConversation(_) => ConsoleError::UnknownConversation,
        DeskError::Taken(_) => ConsoleError::Taken,
        DeskError::InvalidText(_) => ConsoleError::InvalidText,
        DeskError::NotAllowed(_)
        | DeskError::UnknownChannel(_)
        | DeskError::Platform(_)
        | DeskError::Form(_)
        | DeskError::InvalidRating
        | DeskError::UnknownChoice(_) => ConsoleError::NotAllowed,
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
                    heard = Instant::now();
                    if let Some(frame) = incoming? {
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
        let ((welcome, agents), watch) = desk.watch(|world| {
            (
                folders::welcome(world, &desk.config, agent.as_ref(), Instant::now()),
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
            Update::Clock => Ok(()),
            Update::VisitorTyping { .. } | Update::Typing { .. } | Update::Switched { .. } => {
                Ok(())
            }
        }
    }

    /// Sends a conversation's row, unless it is still with the bot (in no folder).
    async fn send_summary(&mut self, conversation: &ConversationId) -> Result<(), End> {
        let desk = &self.state.desk;
        let summary =
            desk.read(|world| folders::summary(world, &desk.config, conversation, Instant::now()));
        match summary {
            Some(summary) if summary.stage != Stage::Bot => {
                self.send(DeskFrame::Conversation {
                    now_ms: now_ms(),
                    summary,
                })
                .await
            }
            _ => Ok(()),
        }
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
    fn acting_agent(&self) -> Result<AgentId, (ConsoleError, String)> {
        self.agent.clone().ok_or_else(|| {
            (
                ConsoleError::NotAllowed,
                "an admin watches; sign in as an agent to act".to_string(),
            )
        })
    }

    async fn handle(&mut self, frame: ConsoleFrame) -> Result<(), End> {
        let desk = std::sync::Arc::clone(&self.state.desk);
        let now = Instant::now();
        let about = |c: &ConversationId| Some(c.clone());
        let (reply, conversation) = match frame {
            ConsoleFrame::Ping {} => (Ok(Some(DeskFrame::Pong {})), None),
            ConsoleFrame::Hello { .. } => (
                Err((
                    ConsoleError::HelloExpected,
                    "hello is only the first frame".to_string(),
                )),
                None,
            ),
            ConsoleFrame::Open { conversation } => {
                let detail = desk.read(|world| folders::detail(world, &desk.config, &conversation));
                match detail {
                    Some(detail) => {
                        self.open = Some(conversation);
                        (Ok(Some(detail)), None)
                    }
                    None => (
                        Err((
                            ConsoleError::UnknownConversation,
                            format!("no conversation {conversation}"),
                        )),
                        about(&conversation),
                    ),
                }
            }
            ConsoleFrame::Search { query } => {
                let (conversations, rows) = desk.read(|world| {
                    let found = folders::search(world, &query);
                    let rows: Vec<_> = found
                        .iter()
                        .filter_map(|id| folders::summary(world, &desk.config, id, now))
                        .collect();
                    (found, rows)
                });
                // Rows first: a hit older than the snapshot's history is new to the console.
                for summary in rows {
                    self.send(DeskFrame::Conversation {
                        now_ms: now_ms(),
                        summary,
                    })
                    .await?;
                }
                (
                    Ok(Some(DeskFrame::Found {
                        query,
                        conversations,
                    })),
                    None,
                )
            }
            ConsoleFrame::SetOnline { online } => {
                let done = self.acting_agent().and_then(|agent| {
                    desk.set_online(&agent, online, now)
                        .map_err(|e| (console_error(&e), e.to_string()))
                });
                (done.map(|()| None), None)
            }
            ConsoleFrame::Accept { conversation } => {
                let done = self.acting_agent().and_then(|agent| {
                    desk.accept(&agent, &conversation, now)
                        .map_err(|e| (console_error(&e), e.to_string()))
                });
                (done.map(|()| None), about(&conversation))
            }
            ConsoleFrame::SendText {
                conversation,
                id,
                text,
            } => {
                let done = self.acting_agent().and_then(|agent| {
                    desk.agent_message(&agent, &conversation, Some(&id), &text)
                        .map_err(|e| (console_error(&e), e.to_string()))
                });
                let ack = done.map(|appended| {
                    Some(DeskFrame::Ack {
                        conversation: conversation.clone(),
                        id,
                        seq: appended.seq(),
                    })
                });
                (ack, about(&conversation))
            }
            ConsoleFrame::Typing {
                conversation,
                typing,
            } => {
                let done = self.acting_agent().and_then(|agent| {
                    desk.agent_typing(&agent, &conversation, typing)
                        .map_err(|e| (console_error(&e), e.to_string()))
                });
                (done.map(|()| None), about(&conversation))
            }
            ConsoleFrame::Close { conversation } => {
                let done = self.acting_agent().and_then(|agent| {
                    desk.close(&agent, &conversation, now)
                        .map_err(|e| (console_error(&e), e.to_string()))
                });
                (done.map(|()| None), about(&conversation))
            }
        };
        match reply {
            Ok(Some(frame)) => self.send(frame).await,
            Ok(None) => Ok(()),
            Err((code, message)) => {
                self.send(DeskFrame::refused(code, message, conversation))
                    .await
            }
        }
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
