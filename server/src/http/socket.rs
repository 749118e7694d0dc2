//! One widget's WebSocket: the `hello`/`welcome` handshake, replay of missed events and
//! the current status, then a loop that hands the visitor's frames to the
//! [`Desk`](crate::desk::Desk) and forwards every update of the session (events, statuses,
//! agent typing, a switch to a new conversation). The loop is generic over the socket's
//! sink and stream so tests can drive it without a network.
//!
//! A misbehaving client gets typed error frames and, at worst, loses its own connection;
//! nothing it sends can take the server down.

use crate::desk::{Attached, DeskError};
use crate::http::clients::SocketSlot;
use crate::http::framing::{Dialect, End, Framed, IDLE_LIMIT, Incoming, Refusal};
use crate::http::state::AppState;
use crate::identity;
use crate::store::{StoredEvent, Update};
use axum::extract::ws::Message;
use futures_util::{Sink, Stream};
use porchlight_protocol::limits::FRAMES_PER_SECOND;
use porchlight_protocol::{
    ClientFrame, ConversationId, ErrorCode, FrameError, Identity, MessageId, PROTOCOL_VERSION, Seq,
    ServerFrame, SessionToken,
};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

/// Protocol v1 of the widget's socket.
pub struct Widget;

impl Dialect for Widget {
    /// A frame, and the identity when it is a `hello` carrying one.
    type Up = (ClientFrame, Option<Identity>);
    type Down = ServerFrame;

    fn decode(text: &str) -> Result<Self::Up, FrameError> {
        ClientFrame::decode_with_identity(text)
    }

    fn encode(frame: &ServerFrame) -> String {
        frame.encode()
    }

    fn refusal(why: Refusal) -> ServerFrame {
        match why {
            Refusal::RateLimited => ServerFrame::error(
                ErrorCode::RateLimited,
                format!("at most {FRAMES_PER_SECOND} frames a second; this one was dropped"),
            ),
            Refusal::Binary => ServerFrame::error(
                ErrorCode::MalformedFrame,
                "frames are JSON text, not binary",
            ),
            Refusal::Undecodable(err) => ServerFrame::error(err.code(), err.to_string()),
        }
    }
}

/// Runs one connection to its end. `client` counts it against its address and pays for
/// a new session from that address's budget (`None`: not counted, as in unit tests).
pub async fn serve_connection<S, R>(sink: S, stream: R, state: AppState, client: Option<SocketSlot>)
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut conn = Connection {
        io: Framed::new(sink, stream),
        state,
        client,
        first_dropped: None,
    };
    if let Err(end) = conn.run().await {
        tracing::debug!("connection ended: {end}");
    }
}

struct Connection<S, R> {
    io: Framed<S, R, Widget>,
    state: AppState,
    client: Option<SocketSlot>,
    /// The first visitor message dropped for the rate and not yet sent again: later
    /// messages are refused until it arrives, so none overtakes it.
    first_dropped: Option<MessageId>,
}

/// The client id of a visitor message (text or quick reply).
fn message_id(frame: &ClientFrame) -> Option<&MessageId> {
    match frame {
        ClientFrame::SendText { id, .. } | ClientFrame::Choose { id, .. } => Some(id),
        _ => None,
    }
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
        DeskError::Unavailable => ErrorCode::Unavailable,
        DeskError::QueueFull(_) => ErrorCode::QueueFull,
        DeskError::ConversationFull(_) => ErrorCode::ConversationFull,
        DeskError::TooManyConversations(_) => ErrorCode::TooManyConversations,
        DeskError::UnknownAgent(_)
        | DeskError::UnknownConversation(_)
        | DeskError::NotAllowed(_)
        | DeskError::Taken(_)
        | DeskError::UnknownChannel(_)
        | DeskError::Platform(_)
        | DeskError::Form(_) => ErrorCode::NotNow,
    };
    ServerFrame::error(code, err.to_string())
}

impl<S, R> Connection<S, R>
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    async fn run(&mut self) -> Result<(), End> {
        let (mut session, mut updates) = self.handshake().await?;
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                incoming = self.io.next() => match incoming? {
                    Incoming::Frame((frame, _)) => {
                        heard = Instant::now();
                        match self.overtaking(&frame) {
                            Some(refusal) => self.send(refusal).await?,
                            None => self.handle(&session, frame).await?,
                        }
                    }
                    Incoming::Dropped((frame, _)) => {
                        if self.first_dropped.is_none() {
                            self.first_dropped = message_id(&frame).cloned();
                        }
                    }
                    Incoming::Nothing => {}
                },
                () = tokio::time::sleep_until(heard + IDLE_LIMIT) => {
                    return Err(self.io.close_silent().await);
                }
                update = updates.recv() => match update {
                    Ok(update) => self.forward(&mut session, update).await?,
                    Err(RecvError::Lagged(_)) => {
                        // Too far behind: re-read from the store what this connection lacks.
                        self.reattach(&mut session, None).await?;
                    }
                    Err(RecvError::Closed) => return Err(End::Gone),
                },
            }
        }
    }

    /// Waits for `hello`, resumes or opens the session, sends `welcome`, the missed events
    /// and the status.
    async fn handshake(&mut self) -> Result<(Session, broadcast::Receiver<Update>), End> {
        let (first, identity) = self.io.first().await?;
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
        let settings = &self.state.desk.config.identity;
        let secret = settings.secret.as_deref().map(str::as_bytes);
        let known = match identity.map(|i| identity::judge(secret, &i, identity::now_secs())) {
            None => None,
            Some(Ok(known)) => Some(known),
            Some(Err(refused)) => {
                return self
                    .refuse(ErrorCode::IdentityRefused, refused.to_string())
                    .await;
            }
        };
        if settings.enforce && !known.as_ref().is_some_and(|k| k.verified) {
            return self
                .refuse(
                    ErrorCode::IdentityRequired,
                    "this site's chat is for signed-in users only",
                )
                .await;
        }
        // A session that left memory comes back from the database first.
        let user = known
            .as_ref()
            .filter(|k| k.verified)
            .map(|k| k.user_id.as_str());
        if let Err(err) = self.state.desk.recall(token.as_ref(), user).await {
            return self.refuse(ErrorCode::Unavailable, err.to_string()).await;
        }
        let now = Instant::now();
        let client = self.client.as_ref();
        let admit = || client.map_or(Ok(()), |c| c.new_session(now));
        let hello = self.state.desk.hello(
            token.as_ref(),
            conversation.as_ref(),
            last_seq,
            known,
            now,
            admit,
        );
        let (attached, updates) = match hello {
            Ok(hello) => hello,
            Err(refusal) => {
                return self
                    .refuse(ErrorCode::TooManySessions, refusal.to_string())
                    .await;
            }
        };
        // What the welcome shows (a new session, its greeting, the events replayed) must be
        // durable first.
        if let Err(err) = self.state.desk.durable().await {
            return self.refuse(ErrorCode::Unavailable, err.to_string()).await;
        }
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
    ) -> Result<(), End> {
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
    ) -> Result<(), End> {
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
    async fn reattach(&mut self, session: &mut Session, from: Option<Seq>) -> Result<(), End> {
        let from = from.unwrap_or(session.sent_up_to);
        let attached = self
            .state
            .desk
            .attach(&session.token, from, Instant::now())
            .ok_or(End::Gone)?;
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

    async fn forward(&mut self, session: &mut Session, update: Update) -> Result<(), End> {
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
    ) -> Result<(), End> {
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

    /// The refusal of a visitor message that would overtake one dropped for the rate; the
    /// dropped one arriving lifts the hold.
    fn overtaking(&mut self, frame: &ClientFrame) -> Option<ServerFrame> {
        let id = message_id(frame)?;
        let dropped = self.first_dropped.as_ref()?;
        if dropped == id {
            self.first_dropped = None;
            return None;
        }
        Some(ServerFrame::error(
            ErrorCode::RateLimited,
            format!("message {dropped} was dropped for the rate; send it again before {id}"),
        ))
    }

    async fn refuse<T>(&mut self, code: ErrorCode, message: impl Into<String>) -> Result<T, End> {
        self.io
            .refuse(ServerFrame::error(code, message), format!("{code:?}"))
            .await
    }

    async fn handle(&mut self, session: &Session, frame: ClientFrame) -> Result<(), End> {
        let desk = &self.state.desk;
        let conversation = &session.conversation;
        let now = Instant::now();
        let changes = !matches!(
            frame,
            ClientFrame::Ping {} | ClientFrame::Hello { .. } | ClientFrame::Typing { .. }
        );
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
        // Nothing is acked before it is durable; what failed to be written is kept and
        // written later, and the client sends it again meanwhile.
        let reply = match reply {
            Ok(reply) if changes => desk.durable().await.map(|()| reply),
            other => other,
        };
        match reply {
            Ok(Some(frame)) => self.send(frame).await,
            Ok(None) => Ok(()),
            Err(err) => self.send(error_frame(&err)).await,
        }
    }

    async fn send(&mut self, frame: ServerFrame) -> Result<(), End> {
        self.io.send(frame).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::framing::{HELLO_DEADLINE, SEND_DEADLINE};
    use crate::{ServerConfig, Shared};
    use axum::extract::ws::Utf8Bytes;
    use futures_util::{SinkExt, StreamExt};
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

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
        let state = Shared::new(ServerConfig::default(), "nowhere".into());
        let connection = tokio::spawn(serve_connection(Stuck, hello_then_silence(), state, None));
        ends_exactly_after(connection, SEND_DEADLINE).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_silent_after_hello_is_disconnected_after_the_idle_limit() {
        let state = Shared::new(ServerConfig::default(), "nowhere".into());
        let connection = tokio::spawn(serve_connection(
            reader(),
            hello_then_silence(),
            state,
            None,
        ));
        ends_exactly_after(connection, IDLE_LIMIT).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_pings_stays_connected() {
        let state = Shared::new(ServerConfig::default(), "nowhere".into());
        let (client, incoming) =
            tokio::sync::mpsc::unbounded_channel::<Result<Message, axum::Error>>();
        let incoming = tokio_stream_from(incoming);
        let connection = tokio::spawn(serve_connection(reader(), incoming, state, None));
        let _ = client.send(Ok(hello()));
        for _ in 0..5 {
            tokio::time::sleep(IDLE_LIMIT - Duration::from_secs(1)).await;
            let _ = client.send(Ok(Message::Text(Utf8Bytes::from(r#"{"type":"ping"}"#))));
        }
        tokio::task::yield_now().await;
        assert!(!connection.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn websocket_pings_alone_do_not_keep_a_client_connected() {
        let state = Shared::new(ServerConfig::default(), "nowhere".into());
        let (client, incoming) =
            tokio::sync::mpsc::unbounded_channel::<Result<Message, axum::Error>>();
        let connection = tokio::spawn(serve_connection(
            reader(),
            tokio_stream_from(incoming),
            state,
            None,
        ));
        let _ = client.send(Ok(hello()));
        for _ in 0..5 {
            tokio::time::sleep(IDLE_LIMIT / 4).await;
            let _ = client.send(Ok(Message::Ping(Default::default())));
        }
        tokio::task::yield_now().await;
        assert!(connection.is_finished(), "silent but for control pings");
    }

    #[tokio::test(start_paused = true)]
    async fn a_ping_flood_is_rate_limited_then_closed() {
        let (client, mut sent, connection) = recorded_connection();
        let _ = client.send(Ok(hello()));
        let flood = usize::try_from(
            porchlight_protocol::limits::FRAME_BURST
                + porchlight_protocol::limits::MAX_REFUSED_FRAMES
                + 10,
        )
        .unwrap_or(100);
        for _ in 0..flood {
            let _ = client.send(Ok(Message::Ping(Default::default())));
        }
        tokio::task::yield_now().await;
        let mut rate_limited = 0;
        let mut closed_for_policy = false;
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_millis(10), sent.recv()).await
        {
            match message {
                Message::Text(text) if text.contains("rate_limited") => rate_limited += 1,
                Message::Close(Some(frame)) => closed_for_policy = frame.code == 1008,
                _ => {}
            }
        }
        assert!(rate_limited > 0, "pings past the burst are refused");
        assert!(closed_for_policy, "a flood ends the connection");
        assert!(connection.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_dropped_for_the_rate_is_not_overtaken_by_later_ones() {
        let (client, mut sent, _connection) = recorded_connection();
        let text = |id: &str| {
            Ok(Message::Text(Utf8Bytes::from(format!(
                r#"{{"type":"send_text","id":"{id}","text":"hi"}}"#
            ))))
        };
        let _ = client.send(Ok(hello()));
        let burst = porchlight_protocol::limits::FRAME_BURST;
        // The hello took one token: of these the last few are dropped, m{burst - 1} first.
        for n in 0..burst + 2 {
            let _ = client.send(text(&format!("m{n}")));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = client.send(text("later"));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let first_dropped = format!("m{}", burst - 1);
        let _ = client.send(text(&first_dropped));
        let _ = client.send(text("later"));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut acked = Vec::new();
        let mut refused_later = false;
        while let Ok(message) = sent.try_recv() {
            let Message::Text(text) = message else {
                continue;
            };
            match ServerFrame::decode(text.as_str()) {
                Ok(ServerFrame::Ack { id, .. }) => acked.push(id.as_str().to_string()),
                Ok(ServerFrame::Error { message, .. }) if message.contains("send it again") => {
                    refused_later = true
                }
                _ => {}
            }
        }
        assert!(
            refused_later,
            "the later message was refused while one was missing"
        );
        let later = acked.iter().position(|a| a == "later");
        let dropped = acked.iter().position(|a| *a == first_dropped);
        assert!(
            dropped.is_some() && later > dropped,
            "the dropped message is stored before the later one: {acked:?}"
        );
    }

    type Client = tokio::sync::mpsc::UnboundedSender<Result<Message, axum::Error>>;

    /// A connection to a fresh server whose client sends through the returned sender and
    /// whose every frame to the client lands in the returned receiver.
    fn recorded_connection() -> (
        Client,
        tokio::sync::mpsc::UnboundedReceiver<Message>,
        tokio::task::JoinHandle<()>,
    ) {
        let state = Shared::new(ServerConfig::default(), "nowhere".into());
        let (client, incoming) = tokio::sync::mpsc::unbounded_channel();
        let (out, sent) = tokio::sync::mpsc::unbounded_channel::<Message>();
        let sink = Box::pin(futures_util::sink::unfold(
            out,
            |out, message: Message| async move {
                out.send(message).map_err(|_| axum::Error::new("closed"))?;
                Ok::<_, axum::Error>(out)
            },
        ));
        let connection = tokio::spawn(serve_connection(
            sink,
            tokio_stream_from(incoming),
            state,
            None,
        ));
        (client, sent, connection)
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
        let state = Shared::new(ServerConfig::default(), "nowhere".into());
        let silent = futures_util::stream::pending::<Result<Message, axum::Error>>();
        let connection = tokio::spawn(serve_connection(reader(), silent, state, None));
        ends_exactly_after(connection, HELLO_DEADLINE).await;
    }
}
