//! One agent console's WebSocket: `hello` with the admin secret and who signs in, a
//! snapshot of the desk (`welcome`), then every change of the desk as folder rows, the
//! open conversation's events and the visitor's typing; the console's requests (accept,
//! write, type, close, go online, open, search) go to the desk's agent side.
//!
//! Like the widget's socket it is bounded: a hello deadline, a token bucket, a size limit,
//! an idle limit and a send deadline; a console that falls behind the desk-wide stream
//! gets a fresh snapshot instead of a gap.

use crate::desk::DeskError;
use crate::folders;
use crate::limiter::TokenBucket;
use crate::socket::{HELLO_DEADLINE, IDLE_LIMIT, SEND_DEADLINE};
use crate::state::AppState;
use crate::store::{Update, now_ms};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, close_code};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use porchlight_protocol::console::{AgentStatus, ConsoleError, Stage};
use porchlight_protocol::limits::{
    FRAME_BURST, FRAMES_PER_SECOND, MAX_FRAME_BYTES, MAX_REFUSED_FRAMES,
};
use porchlight_protocol::{
    AgentId, ConsoleFrame, ConversationId, DeskFrame, FrameError, PROTOCOL_VERSION,
};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

/// Why a console connection ended; logged only.
#[derive(Debug, thiserror::Error)]
enum ConsoleEnd {
    #[error("the console went away")]
    Gone,
    #[error("the console did not say hello in time")]
    NoHello,
    #[error("the console was refused: {0:?}")]
    Refused(ConsoleError),
    #[error("the console sent a frame over the size limit")]
    TooLarge,
    #[error("the console sent too many refused frames")]
    Abusive,
    #[error("the console stopped reading")]
    SlowConsumer,
    #[error("the console was silent for too long")]
    Silent,
}

/// Runs one console connection to its end.
pub async fn serve_console<S, R>(sink: S, stream: R, state: AppState)
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut conn = Console {
        sink,
        stream,
        state,
        bucket: TokenBucket::new(FRAME_BURST, FRAMES_PER_SECOND, Instant::now()),
        refused: 0,
        agent: None,
        open: None,
        agents_sent: Vec::new(),
    };
    if let Err(end) = conn.run().await {
        tracing::debug!("console connection ended: {end}");
    }
}

struct Console<S, R> {
    sink: S,
    stream: R,
    state: AppState,
    bucket: TokenBucket,
    refused: u32,
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
        | DeskError::Form(_)
        | DeskError::InvalidRating
        | DeskError::UnknownChoice(_) => ConsoleError::NotAllowed,
    }
}

impl<S, R> Console<S, R>
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    async fn run(&mut self) -> Result<(), ConsoleEnd> {
        let mut watch = self.handshake().await?;
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                incoming = self.next_frame() => {
                    heard = Instant::now();
                    if let Some(frame) = incoming? {
                        self.handle(frame).await?;
                    }
                }
                () = tokio::time::sleep_until(heard + IDLE_LIMIT) => {
                    self.close(close_code::AWAY, "silent for too long").await;
                    return Err(ConsoleEnd::Silent);
                }
                update = watch.recv() => match update {
                    Ok(update) => self.forward(update).await?,
                    Err(RecvError::Lagged(_)) => watch = self.snapshot().await?,
                    Err(RecvError::Closed) => return Err(ConsoleEnd::Gone),
                },
            }
        }
    }

    /// Waits for `hello`, checks the secret and who signs in, sends the snapshot.
    async fn handshake(&mut self) -> Result<broadcast::Receiver<Update>, ConsoleEnd> {
        let first = tokio::time::timeout(HELLO_DEADLINE, async {
            loop {
                if let Some(frame) = self.next_frame().await? {
                    return Ok(frame);
                }
            }
        })
        .await
        .map_err(|_| ConsoleEnd::NoHello)??;
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
    async fn snapshot(&mut self) -> Result<broadcast::Receiver<Update>, ConsoleEnd> {
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
    async fn forward(&mut self, update: Update) -> Result<(), ConsoleEnd> {
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
            Update::VisitorTyping { .. } | Update::Typing { .. } | Update::Switched { .. } => {
                Ok(())
            }
        }
    }

    /// Sends a conversation's row, unless it is still with the bot (in no folder).
    async fn send_summary(&mut self, conversation: &ConversationId) -> Result<(), ConsoleEnd> {
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
    async fn send_agents(&mut self) -> Result<(), ConsoleEnd> {
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

    async fn handle(&mut self, frame: ConsoleFrame) -> Result<(), ConsoleEnd> {
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

    async fn send(&mut self, frame: DeskFrame) -> Result<(), ConsoleEnd> {
        let sending = self
            .sink
            .send(Message::Text(Utf8Bytes::from(frame.encode())));
        match tokio::time::timeout(SEND_DEADLINE, sending).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ConsoleEnd::Gone),
            Err(_) => Err(ConsoleEnd::SlowConsumer),
        }
    }

    async fn refuse<T>(
        &mut self,
        code: ConsoleError,
        message: impl Into<String>,
    ) -> Result<T, ConsoleEnd> {
        self.send(DeskFrame::refused(code, message, None)).await?;
        self.close(close_code::POLICY, "refused").await;
        Err(ConsoleEnd::Refused(code))
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }));
        let _ = tokio::time::timeout(SEND_DEADLINE, self.sink.send(close)).await;
    }

    /// Answers a refused frame; past [`MAX_REFUSED_FRAMES`] closes with 1008 instead.
    async fn refused_frame(
        &mut self,
        code: ConsoleError,
        message: String,
    ) -> Result<Option<ConsoleFrame>, ConsoleEnd> {
        self.refused += 1;
        if self.refused > MAX_REFUSED_FRAMES {
            self.close(close_code::POLICY, "too many refused frames")
                .await;
            return Err(ConsoleEnd::Abusive);
        }
        self.send(DeskFrame::refused(code, message, None)).await?;
        Ok(None)
    }

    /// The next console frame; `Ok(None)` for a control message or a refused frame.
    async fn next_frame(&mut self) -> Result<Option<ConsoleFrame>, ConsoleEnd> {
        let message = match self.stream.next().await {
            Some(Ok(message)) => message,
            Some(Err(_)) | None => return Err(ConsoleEnd::Gone),
        };
        match message {
            Message::Text(text) if text.len() > MAX_FRAME_BYTES => {
                self.close(close_code::SIZE, "frame too large").await;
                Err(ConsoleEnd::TooLarge)
            }
            Message::Text(_) | Message::Binary(_) if !self.bucket.take(Instant::now()) => {
                self.refused_frame(
                    ConsoleError::RateLimited,
                    format!("at most {FRAMES_PER_SECOND} frames a second; this one was dropped"),
                )
                .await
            }
            Message::Text(text) => match ConsoleFrame::decode(text.as_str()) {
                Ok(frame) => Ok(Some(frame)),
                Err(err) => {
                    let code = match err {
                        FrameError::TooLarge { .. } => ConsoleError::FrameTooLarge,
                        FrameError::Malformed(_) => ConsoleError::MalformedFrame,
                    };
                    self.refused_frame(code, err.to_string()).await
                }
            },
            Message::Binary(_) => {
                self.refused_frame(
                    ConsoleError::MalformedFrame,
                    "frames are JSON text, not binary".into(),
                )
                .await
            }
            Message::Close(_) => Err(ConsoleEnd::Gone),
            Message::Ping(_) | Message::Pong(_) => Ok(None),
        }
    }
}
