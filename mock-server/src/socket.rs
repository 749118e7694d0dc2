//! One widget's WebSocket: the `hello`/`welcome` handshake, replay of missed events and
//! the current status, then a loop that hands the visitor's frames to the
//! [`Desk`](crate::desk::Desk) and forwards every update of the session (events, statuses,
//! agent typing, a switch to a new conversation). The loop is generic over the socket's
//! sink and stream so tests can drive it without a network.
//!
//! A misbehaving client gets typed error frames and, at worst, loses its own connection;
//! nothing it sends can take the server down.

use crate::desk::{Attached, DeskError};
use crate::limiter::TokenBucket;
use crate::state::AppState;
use crate::store::{StoredEvent, Update};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, close_code};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use porchlight_protocol::limits::{
    FRAME_BURST, FRAMES_PER_SECOND, MAX_FRAME_BYTES, MAX_REFUSED_FRAMES,
};
use porchlight_protocol::{
    ClientFrame, ConversationId, ErrorCode, PROTOCOL_VERSION, Seq, ServerFrame, SessionToken,
};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

/// How long a new connection may take to send `hello`.
pub const HELLO_DEADLINE: Duration = Duration::from_secs(10);

/// How long a client may stay silent. The widget pings every 20 s, so three missed pings
/// mean the client is gone even if its TCP connection lingers.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// How long one frame may take to leave. A client that stops reading is disconnected after
/// this; when it comes back it resumes by seq, so nothing is lost.
pub const SEND_DEADLINE: Duration = Duration::from_secs(10);

/// Why a connection ended early; logged, never sent anywhere else.
#[derive(Debug, thiserror::Error)]
enum ConnectionEnd {
    #[error("the client went away")]
    Gone,
    #[error("the client did not say hello in time")]
    NoHello,
    #[error("the handshake was refused: {0:?}")]
    Refused(ErrorCode),
    #[error("the client sent a frame over the size limit")]
    TooLarge,
    #[error("the client sent too many refused frames")]
    Abusive,
    #[error("the client stopped reading")]
    SlowConsumer,
    #[error("the client was silent for too long")]
    Silent,
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
        bucket: TokenBucket::new(FRAME_BURST, FRAMES_PER_SECOND, Instant::now()),
        refused: 0,
    };
    if let Err(end) = conn.run().await {
        tracing::debug!("connection ended: {end}");
    }
}

struct Connection<S, R> {
    sink: S,
    stream: R,
    state: AppState,
    /// Frames per second this connection may still send.
    bucket: TokenBucket,
    /// Frames refused so far; too many close the connection.
    refused: u32,
}

/// What the connection is attached to.
struct Session {
    token: SessionToken,
    conversation: ConversationId,
    /// The newest event sent on this connection.
    sent_up_to: Seq,
}

fn error_frame(err: &DeskError) -> ServerFrame {
    let code = match err {
        DeskError::InvalidText(_) => ErrorCode::InvalidText,
        DeskError::InvalidRating => ErrorCode::InvalidRating,
        DeskError::UnknownChoice(_) => ErrorCode::UnknownChoice,
        DeskError::UnknownAgent(_)
        | DeskError::UnknownConversation(_)
        | DeskError::NotAllowed(_)
        | DeskError::Taken(_)
        | DeskError::Form(_) => ErrorCode::NotNow,
    };
    ServerFrame::error(code, err.to_string())
}

impl<S, R> Connection<S, R>
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    async fn run(&mut self) -> Result<(), ConnectionEnd> {
        let (mut session, mut updates) = self.handshake().await?;
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                incoming = self.next_frame() => {
                    heard = Instant::now();
                    if let Some(frame) = incoming? {
                        self.handle(&session, frame).await?;
                    }
                }
                () = tokio::time::sleep_until(heard + IDLE_LIMIT) => {
                    self.close(close_code::AWAY, "silent for too long").await;
                    return Err(ConnectionEnd::Silent);
                }
                update = updates.recv() => match update {
                    Ok(update) => self.forward(&mut session, update).await?,
                    Err(RecvError::Lagged(_)) => {
                        // Too far behind: re-read from the store what this connection lacks.
                        self.reattach(&mut session, None).await?;
                    }
                    Err(RecvError::Closed) => return Err(ConnectionEnd::Gone),
                },
            }
        }
    }

    /// Waits for `hello`, resumes or opens the session, sends `welcome`, the missed events
    /// and the status.
    async fn handshake(&mut self) -> Result<(Session, broadcast::Receiver<Update>), ConnectionEnd> {
        let first = tokio::time::timeout(HELLO_DEADLINE, self.next_frame_skipping_errors())
            .await
            .map_err(|_| ConnectionEnd::NoHello)??;
        let ClientFrame::Hello {
            version,
            site,
            token,
            conversation,
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
        if site != self.state.desk.config.site.site {
            return self
                .refuse(ErrorCode::UnknownSite, format!("no site {site} here"))
                .await;
        }
        let (attached, updates) = self.state.desk.hello(
            token.as_ref(),
            conversation.as_ref(),
            last_seq,
            Instant::now(),
        );
        let mut session = Session {
            token: attached.token.clone(),
            conversation: attached.conversation.clone(),
            sent_up_to: Seq(0),
        };
        self.send_attached(&mut session, attached).await?;
        Ok((session, updates))
    }

    /// Sends `welcome`, the events after what the client holds, and the status.
    async fn send_attached(
        &mut self,
        session: &mut Session,
        attached: Attached,
    ) -> Result<(), ConnectionEnd> {
        session.conversation = attached.conversation.clone();
        session.sent_up_to = attached
            .missed
            .first()
            .map_or(attached.last_seq, |e| Seq(e.seq.0 - 1));
        self.send(ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            token: attached.token,
            conversation: attached.conversation,
            last_seq: attached.last_seq,
            replay: attached.replay,
        })
        .await?;
        self.send_events(session, &attached.missed).await?;
        self.send(ServerFrame::Status {
            status: attached.status,
        })
        .await
    }

    /// Sends events read from the store (contiguous, in order) that the client lacks.
    async fn send_events(
        &mut self,
        session: &mut Session,
        events: &[StoredEvent],
    ) -> Result<(), ConnectionEnd> {
        for event in events {
            if event.seq > session.sent_up_to {
                self.send(event.to_frame()).await?;
                session.sent_up_to = event.seq;
            }
        }
        Ok(())
    }

    /// Re-reads the session: the current conversation after what was sent (`from`
    /// overrides, e.g. 0 for a conversation new to this connection).
    async fn reattach(
        &mut self,
        session: &mut Session,
        from: Option<Seq>,
    ) -> Result<(), ConnectionEnd> {
        let from = from.unwrap_or(session.sent_up_to);
        let attached = self
            .state
            .desk
            .attach(&session.token, from, Instant::now())
            .ok_or(ConnectionEnd::Gone)?;
        if attached.conversation == session.conversation && from == session.sent_up_to {
            // Same conversation: send only what is missing, then the status.
            self.send_events(session, &attached.missed).await?;
            return self
                .send(ServerFrame::Status {
                    status: attached.status,
                })
                .await;
        }
        self.send_attached(session, attached).await
    }

    async fn forward(
        &mut self,
        session: &mut Session,
        update: Update,
    ) -> Result<(), ConnectionEnd> {
        match update {
            Update::Event {
                conversation,
                event,
            } if conversation == session.conversation => self.forward_event(session, &event).await,
            Update::Status {
                conversation,
                status,
            } if conversation == session.conversation => {
                self.send(ServerFrame::Status { status }).await
            }
            Update::Typing {
                conversation,
                name,
                typing,
            } if conversation == session.conversation => {
                self.send(ServerFrame::Typing { name, typing }).await
            }
            Update::Switched { conversation } if conversation != session.conversation => {
                self.reattach(session, Some(Seq(0))).await
            }
            _ => Ok(()),
        }
    }

    /// Sends `event` unless the client has it already; a gap is filled from the store.
    async fn forward_event(
        &mut self,
        session: &mut Session,
        event: &StoredEvent,
    ) -> Result<(), ConnectionEnd> {
        if event.seq <= session.sent_up_to {
            return Ok(());
        }
        if event.seq != session.sent_up_to.next() {
            return self.reattach(session, None).await;
        }
        self.send(event.to_frame()).await?;
        session.sent_up_to = event.seq;
        Ok(())
    }

    async fn refuse<T>(
        &mut self,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Result<T, ConnectionEnd> {
        self.send(ServerFrame::error(code, message)).await?;
        self.say_goodbye(Message::Close(None)).await;
        Err(ConnectionEnd::Refused(code))
    }

    /// Closes with `code` and a reason for the client's logs.
    async fn close(&mut self, code: u16, reason: &'static str) {
        self.say_goodbye(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })))
        .await;
    }

    /// Sends the closing message, waiting no longer than [`SEND_DEADLINE`] for a client
    /// that does not read. Its failure is ignored: the connection ends either way.
    async fn say_goodbye(&mut self, close: Message) {
        let _ = tokio::time::timeout(SEND_DEADLINE, self.sink.send(close)).await;
    }

    async fn handle(&mut self, session: &Session, frame: ClientFrame) -> Result<(), ConnectionEnd> {
        let desk = &self.state.desk;
        let conversation = &session.conversation;
        let now = Instant::now();
        let reply = match frame {
            ClientFrame::Ping {} => Ok(Some(ServerFrame::Pong {})),
            ClientFrame::Hello { .. } => Ok(Some(ServerFrame::error(
                ErrorCode::HelloExpected,
                "hello is only the first frame",
            ))),
            ClientFrame::SendText { id, text } => desk
                .visitor_text(conversation, &id, &text)
                .map(|a| Some(ServerFrame::Ack { id, seq: a.seq() })),
            ClientFrame::Choose { id, choice } => desk
                .choose(conversation, &id, &choice)
                .map(|a| Some(ServerFrame::Ack { id, seq: a.seq() })),
            ClientFrame::RequestAgent { request, answers } => {
                match desk.request_agent(conversation, &request, &answers, now) {
                    // New: its events and status reach every tab through the session.
                    Ok(true) => Ok(None),
                    // A resent request changed nothing: say where things stand.
                    Ok(false) => Ok(desk
                        .status(conversation, now)
                        .map(|status| ServerFrame::Status { status })),
                    Err(DeskError::Form(errors)) => {
                        Ok(Some(ServerFrame::FormRejected { request, errors }))
                    }
                    Err(err) => Err(err),
                }
            }
            ClientFrame::Typing { typing } => {
                desk.visitor_typing(conversation, typing);
                Ok(None)
            }
            ClientFrame::EndChat {} => desk.end_chat(conversation, now).map(|()| None),
            ClientFrame::Rate { stars, comment } => desk
                .rate(conversation, stars, comment.as_deref(), now)
                .map(|()| None),
            ClientFrame::LeaveMessage {
                request,
                answers,
                text,
            } => match desk.leave_message(conversation, &request, &answers, &text, now) {
                Ok(true) => Ok(None),
                Ok(false) => Ok(desk
                    .status(conversation, now)
                    .map(|status| ServerFrame::Status { status })),
                Err(DeskError::Form(errors)) => {
                    Ok(Some(ServerFrame::FormRejected { request, errors }))
                }
                Err(err) => Err(err),
            },
            ClientFrame::StartNew {} => desk.start_new(&session.token).map(|_| None),
        };
        match reply {
            Ok(Some(frame)) => self.send(frame).await,
            Ok(None) => Ok(()),
            Err(err) => self.send(error_frame(&err)).await,
        }
    }

    async fn send(&mut self, frame: ServerFrame) -> Result<(), ConnectionEnd> {
        let sending = self
            .sink
            .send(Message::Text(Utf8Bytes::from(frame.encode())));
        match tokio::time::timeout(SEND_DEADLINE, sending).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ConnectionEnd::Gone),
            Err(_) => Err(ConnectionEnd::SlowConsumer),
        }
    }

    /// Answers a refused frame with `frame`; past [`MAX_REFUSED_FRAMES`] closes the
    /// connection with 1008 instead.
    async fn refused(&mut self, frame: ServerFrame) -> Result<Option<ClientFrame>, ConnectionEnd> {
        self.refused += 1;
        if self.refused > MAX_REFUSED_FRAMES {
            self.close(close_code::POLICY, "too many refused frames")
                .await;
            return Err(ConnectionEnd::Abusive);
        }
        self.send(frame).await?;
        Ok(None)
    }

    /// The next client frame. `Ok(None)` when the message was not a frame (a control
    /// message, or a bad frame already answered with an error).
    async fn next_frame(&mut self) -> Result<Option<ClientFrame>, ConnectionEnd> {
        let message = match self.stream.next().await {
            Some(Ok(message)) => message,
            Some(Err(_)) | None => return Err(ConnectionEnd::Gone),
        };
        match message {
            Message::Text(text) if text.len() > MAX_FRAME_BYTES => {
                // Too big to read: say so with the standard code and end this connection.
                self.close(close_code::SIZE, "frame too large").await;
                Err(ConnectionEnd::TooLarge)
            }
            Message::Text(_) | Message::Binary(_) if !self.bucket.take(Instant::now()) => {
                self.refused(ServerFrame::error(
                    ErrorCode::RateLimited,
                    format!("at most {FRAMES_PER_SECOND} frames a second; this one was dropped"),
                ))
                .await
            }
            Message::Text(text) => match ClientFrame::decode(text.as_str()) {
                Ok(frame) => Ok(Some(frame)),
                Err(err) => {
                    self.refused(ServerFrame::error(err.code(), err.to_string()))
                        .await
                }
            },
            Message::Binary(_) => {
                self.refused(ServerFrame::error(
                    ErrorCode::MalformedFrame,
                    "frames are JSON text, not binary",
                ))
                .await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MockConfig, Shared};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A client that never reads: its sink is never ready.
    struct Stuck;

    impl Sink<Message> for Stuck {
        type Error = axum::Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), Self::Error> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
    }

    /// Asserts that `connection` is still running just before `deadline` from now and has
    /// ended just after it.
    async fn ends_exactly_after(connection: tokio::task::JoinHandle<()>, deadline: Duration) {
        tokio::time::sleep(deadline - Duration::from_millis(1)).await;
        assert!(!connection.is_finished());
        tokio::time::sleep(Duration::from_millis(2)).await;
        tokio::task::yield_now().await;
        assert!(connection.is_finished());
    }

    /// A client that only ever sends `hello`.
    fn hello_then_silence() -> impl Stream<Item = Result<Message, axum::Error>> + Unpin {
        futures_util::stream::iter([Ok(hello())]).chain(futures_util::stream::pending())
    }

    /// A client that reads everything.
    fn reader() -> impl Sink<Message, Error = axum::Error> + Unpin {
        futures_util::sink::drain().sink_map_err(|e| match e {})
    }

    fn hello() -> Message {
        Message::Text(Utf8Bytes::from(
            r#"{"type":"hello","version":1,"site":"demo","last_seq":0}"#,
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_disconnected_after_the_send_deadline() {
        let state = Shared::new(MockConfig::default(), "nowhere".into());
        let connection = tokio::spawn(serve_connection(Stuck, hello_then_silence(), state));
        ends_exactly_after(connection, SEND_DEADLINE).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_silent_after_hello_is_disconnected_after_the_idle_limit() {
        let state = Shared::new(MockConfig::default(), "nowhere".into());
        let connection = tokio::spawn(serve_connection(reader(), hello_then_silence(), state));
        ends_exactly_after(connection, IDLE_LIMIT).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_pings_stays_connected() {
        let state = Shared::new(MockConfig::default(), "nowhere".into());
        let (client, incoming) =
            tokio::sync::mpsc::unbounded_channel::<Result<Message, axum::Error>>();
        let incoming = tokio_stream_from(incoming);
        let connection = tokio::spawn(serve_connection(reader(), incoming, state));
        let _ = client.send(Ok(hello()));
        for _ in 0..5 {
            tokio::time::sleep(IDLE_LIMIT - Duration::from_secs(1)).await;
            let _ = client.send(Ok(Message::Text(Utf8Bytes::from(r#"{"type":"ping"}"#))));
        }
        tokio::task::yield_now().await;
        assert!(!connection.is_finished());
    }

    /// An mpsc receiver as a stream.
    fn tokio_stream_from<T: Send + 'static>(
        mut receiver: tokio::sync::mpsc::UnboundedReceiver<T>,
    ) -> impl Stream<Item = T> + Unpin {
        Box::pin(futures_util::stream::poll_fn(move |cx| {
            receiver.poll_recv(cx)
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_never_says_hello_is_disconnected_after_the_deadline() {
        let state = Shared::new(MockConfig::default(), "nowhere".into());
        let silent = futures_util::stream::pending::<Result<Message, axum::Error>>();
        let connection = tokio::spawn(serve_connection(reader(), silent, state));
        ends_exactly_after(connection, HELLO_DEADLINE).await;
    }
}
