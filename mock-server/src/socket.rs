//! One widget's WebSocket: the `hello`/`welcome` handshake, replay of missed events, then
//! a loop that stores visitor messages (acking each id), lets the bot answer, and forwards
//! every new event of the conversation. The loop is generic over the socket's sink and
//! stream so tests can drive it without a network.
//!
//! A misbehaving client gets typed error frames and, at worst, loses its own connection;
//! nothing it sends can take the server down.

use crate::state::AppState;
use crate::store::{Appended, StoredEvent};
use axum::extract::ws::{Message, Utf8Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use porchlight_protocol::{
    Author, AuthorKind, ClientFrame, ConversationEvent, ConversationId, ErrorCode, MessageId,
    PROTOCOL_VERSION, Seq, ServerFrame, text,
};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How long a new connection may take to send `hello`.
pub const HELLO_DEADLINE: Duration = Duration::from_secs(10);

/// The display name given to visitor messages until the visitor tells us theirs.
const VISITOR_NAME: &str = "You";

/// Why a connection ended early; logged, never sent anywhere else.
#[derive(Debug, thiserror::Error)]
enum ConnectionEnd {
    #[error("the client went away")]
    Gone,
    #[error("the client did not say hello in time")]
    NoHello,
    #[error("the handshake was refused: {0:?}")]
    Refused(ErrorCode),
}

/// Runs one connection to its end.
pub async fn serve_connection<S, R>(sink: S, stream: R, state: AppState)
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut conn = Connection {
        sink,
        stream,
        state,
    };
    if let Err(end) = conn.run().await {
        tracing::debug!("connection ended: {end}");
    }
}

struct Connection<S, R> {
    sink: S,
    stream: R,
    state: AppState,
}

impl<S, R> Connection<S, R>
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    async fn run(&mut self) -> Result<(), ConnectionEnd> {
        let (conversation, last_seq) = self.handshake().await?;
        let (missed, mut live) = self
            .state
            .store
            .watch(&conversation, last_seq)
            .map_err(|_| ConnectionEnd::Gone)?;
        let mut sent_up_to = last_seq;
        for event in missed {
            self.forward(&event, &mut sent_up_to).await?;
        }
        loop {
            tokio::select! {
                incoming = self.next_frame() => {
                    match incoming? {
                        Some(frame) => self.handle(&conversation, frame).await?,
                        None => continue,
                    }
                }
                event = live.recv() => match event {
                    Ok(event) => self.forward(&event, &mut sent_up_to).await?,
                    Err(RecvError::Lagged(_)) => {
                        let missed = self
                            .state
                            .store
                            .events_after(&conversation, sent_up_to)
                            .map_err(|_| ConnectionEnd::Gone)?;
                        for event in missed {
                            self.forward(&event, &mut sent_up_to).await?;
                        }
                    }
                    Err(RecvError::Closed) => return Err(ConnectionEnd::Gone),
                },
            }
        }
    }

    /// Waits for `hello`, resumes or opens the session and sends `welcome`. Returns the
    /// conversation and the seq the client already holds.
    async fn handshake(&mut self) -> Result<(ConversationId, Seq), ConnectionEnd> {
        let first = tokio::time::timeout(HELLO_DEADLINE, self.next_frame_skipping_errors())
            .await
            .map_err(|_| ConnectionEnd::NoHello)??;
        let ClientFrame::Hello {
            version,
            site,
            token,
            conversation: held,
            last_seq,
        } = first
        else {
            return self
                .refuse(ErrorCode::HelloExpected, "the first frame must be hello")
                .await;
        };
        if version != PROTOCOL_VERSION {
            return self
                .refuse(
                    ErrorCode::UnsupportedVersion,
                    format!("this server speaks protocol version {PROTOCOL_VERSION}"),
                )
                .await;
        }
        if site != self.state.config.site.site {
            return self
                .refuse(ErrorCode::UnknownSite, format!("no site {site} here"))
                .await;
        }
        let store = &self.state.store;
        let resumed = token
            .as_ref()
            .and_then(|t| store.session(t).map(|c| (t.clone(), c)));
        let (token, conversation, last_seq) = match resumed {
            Some((token, conversation)) => {
                // Events of another conversation say nothing about this one.
                let last_seq = if held.is_some_and(|h| h != conversation) {
                    Seq(0)
                } else {
                    last_seq
                };
                (token, conversation, last_seq)
            }
            None => {
                let (token, conversation) = store.create_session();
                let bot = &self.state.config.bot;
                store
                    .append(
                        &conversation,
                        ConversationEvent::MessageReceived {
                            id: None,
                            author: Author {
                                kind: AuthorKind::Bot,
                                name: bot.name.clone(),
                            },
                            text: bot.greeting.clone(),
                            choices: Vec::new(),
                        },
                    )
                    .map_err(|_| ConnectionEnd::Gone)?;
                // A new session holds nothing yet, whatever the client claimed.
                (token, conversation, Seq(0))
            }
        };
        let newest = store
            .last_seq(&conversation)
            .map_err(|_| ConnectionEnd::Gone)?;
        // A client claiming more than exists gets everything again rather than nothing.
        let last_seq = if last_seq > newest { Seq(0) } else { last_seq };
        self.send(ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            token,
            conversation: conversation.clone(),
            last_seq: newest,
        })
        .await?;
        Ok((conversation, last_seq))
    }

    async fn refuse<T>(
        &mut self,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Result<T, ConnectionEnd> {
        self.send(ServerFrame::error(code, message)).await?;
        // Ignore the close's own failure: the connection ends either way.
        let _ = self.sink.send(Message::Close(None)).await;
        Err(ConnectionEnd::Refused(code))
    }

    async fn handle(
        &mut self,
        conversation: &ConversationId,
        frame: ClientFrame,
    ) -> Result<(), ConnectionEnd> {
        match frame {
            ClientFrame::Ping {} => self.send(ServerFrame::Pong {}).await,
            ClientFrame::Hello { .. } => {
                self.send(ServerFrame::error(
                    ErrorCode::HelloExpected,
                    "hello is only the first frame",
                ))
                .await
            }
            ClientFrame::SendText { id, text } => self.visitor_text(conversation, id, &text).await,
            _ => {
                self.send(ServerFrame::error(
                    ErrorCode::NotNow,
                    "this server does not handle that yet",
                ))
                .await
            }
        }
    }

    async fn visitor_text(
        &mut self,
        conversation: &ConversationId,
        id: MessageId,
        raw: &str,
    ) -> Result<(), ConnectionEnd> {
        let text = match text::message_text(raw) {
            Ok(text) => text.to_string(),
            Err(err) => {
                return self
                    .send(ServerFrame::error(ErrorCode::InvalidText, err.to_string()))
                    .await;
            }
        };
        let store = &self.state.store;
        let appended = store
            .append_visitor_message(
                conversation,
                &id,
                ConversationEvent::MessageReceived {
                    id: Some(id.clone()),
                    author: Author {
                        kind: AuthorKind::Visitor,
                        name: VISITOR_NAME.into(),
                    },
                    text: text.clone(),
                    choices: Vec::new(),
                },
            )
            .map_err(|_| ConnectionEnd::Gone)?;
        if let Appended::New(_) = appended {
            let bot = &self.state.config.bot;
            store
                .append(
                    conversation,
                    ConversationEvent::MessageReceived {
                        id: None,
                        author: Author {
                            kind: AuthorKind::Bot,
                            name: bot.name.clone(),
                        },
                        text: bot.answer(&text).to_string(),
                        choices: Vec::new(),
                    },
                )
                .map_err(|_| ConnectionEnd::Gone)?;
        }
        self.send(ServerFrame::Ack {
            id,
            seq: appended.seq(),
        })
        .await
    }

    /// Sends `event` unless the client has it already.
    async fn forward(
        &mut self,
        event: &StoredEvent,
        sent_up_to: &mut Seq,
    ) -> Result<(), ConnectionEnd> {
        if event.seq <= *sent_up_to {
            return Ok(());
        }
        self.send(event.to_frame()).await?;
        *sent_up_to = event.seq;
        Ok(())
    }

    async fn send(&mut self, frame: ServerFrame) -> Result<(), ConnectionEnd> {
        self.sink
            .send(Message::Text(Utf8Bytes::from(frame.encode())))
            .await
            .map_err(|_| ConnectionEnd::Gone)
    }

    /// The next client frame. `Ok(None)` when the message was not a frame (a control
    /// message, or a bad frame already answered with an error).
    async fn next_frame(&mut self) -> Result<Option<ClientFrame>, ConnectionEnd> {
        let message = match self.stream.next().await {
            Some(Ok(message)) => message,
            Some(Err(_)) | None => return Err(ConnectionEnd::Gone),
        };
        match message {
            Message::Text(text) => match ClientFrame::decode(text.as_str()) {
                Ok(frame) => Ok(Some(frame)),
                Err(err) => {
                    self.send(ServerFrame::error(err.code(), err.to_string()))
                        .await?;
                    Ok(None)
                }
            },
            Message::Binary(_) => {
                self.send(ServerFrame::error(
                    ErrorCode::MalformedFrame,
                    "frames are JSON text, not binary",
                ))
                .await?;
                Ok(None)
            }
            Message::Close(_) => Err(ConnectionEnd::Gone),
            Message::Ping(_) | Message::Pong(_) => Ok(None),
        }
    }

    async fn next_frame_skipping_errors(&mut self) -> Result<ClientFrame, ConnectionEnd> {
        loop {
            if let Some(frame) = self.next_frame().await? {
                return Ok(frame);
            }
        }
    }
}
