//! What every WebSocket of the server shares, whatever it speaks: frames in under the size
//! and rate limits, refused frames counted until the connection is closed for abuse,
//! frames out with a send deadline, the hello and idle deadlines, and a bounded close.
//! A [`Dialect`] says how one protocol decodes, encodes and words its refusals; the
//! widget's socket and the agent console's socket each have one.
//!
//! Generic over the sink and stream, so tests drive a connection without a network.

use crate::http::limiter::TokenBucket;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, close_code};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use porchlight_protocol::FrameError;
use porchlight_protocol::limits::{
    FRAME_BURST, FRAMES_PER_SECOND, MAX_FRAME_BYTES, MAX_REFUSED_FRAMES,
};
use std::marker::PhantomData;
use std::time::Duration;
use tokio::time::Instant;

/// How long a new connection may take to send `hello`.
pub const HELLO_DEADLINE: Duration = Duration::from_secs(10);

/// How long a client may stay silent. The widget and the console ping every 20 s, so three
/// missed pings mean the client is gone even if its TCP connection lingers.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// How long one frame may take to leave. A client that stops reading is disconnected after
/// this; when it comes back it resumes, so nothing is lost.
pub const SEND_DEADLINE: Duration = Duration::from_secs(10);

/// Why a frame was refused before it meant anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Over the rate; the frame was dropped.
    RateLimited,
    /// Binary, not JSON text.
    Binary,
    /// Not a frame of this protocol.
    Undecodable(FrameError),
}

/// What the client's next message was.
#[derive(Debug)]
pub enum Incoming<F> {
    /// A frame of the protocol: the client is alive and talking.
    Frame(F),
    /// A WebSocket ping or pong, or a refused frame (already answered): counted by the
    /// rate limit, but no sign of a live client, so the idle timer runs on.
    Nothing,
    /// A frame dropped for the rate (already answered), read only to know what was
    /// dropped: the client sends it again later, and what it sends meanwhile must not
    /// overtake it.
    Dropped(F),
}

/// One protocol spoken on a socket.
pub trait Dialect {
    /// What the client sends.
    type Up;
    /// What the server sends.
    type Down;
    fn decode(text: &str) -> Result<Self::Up, FrameError>;
    fn encode(frame: &Self::Down) -> String;
    /// The frame that tells the client why its frame was refused.
    fn refusal(why: Refusal) -> Self::Down;
}

/// Why a connection ended; logged, never sent anywhere.
#[derive(Debug, thiserror::Error)]
pub enum End {
    #[error("the client went away")]
    Gone,
    #[error("the client did not say hello in time")]
    NoHello,
    #[error("the handshake was refused: {0}")]
    Refused(String),
    #[error("the client sent a frame over the size limit")]
    TooLarge,
    #[error("the client sent too many refused frames")]
    Abusive,
    #[error("the client stopped reading")]
    SlowConsumer,
    #[error("the client was silent for too long")]
    Silent,
}

/// A socket that speaks dialect `D` within the limits.
pub struct Framed<S, R, D> {
    sink: S,
    stream: R,
    /// Frames per second this connection may still send.
    bucket: TokenBucket,
    /// Frames refused so far; too many close the connection.
    refused: u32,
    dialect: PhantomData<D>,
}

impl<S, R, D> Framed<S, R, D>
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
    D: Dialect,
{
    pub fn new(sink: S, stream: R) -> Self {
        Framed {
            sink,
            stream,
            bucket: TokenBucket::new(FRAME_BURST, FRAMES_PER_SECOND, Instant::now()),
            refused: 0,
            dialect: PhantomData,
        }
    }

    /// Sends `frame`, waiting no longer than [`SEND_DEADLINE`].
    pub async fn send(&mut self, frame: D::Down) -> Result<(), End> {
        let sending = self
            .sink
            .send(Message::Text(Utf8Bytes::from(D::encode(&frame))));
        match tokio::time::timeout(SEND_DEADLINE, sending).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::SlowConsumer),
        }
    }

    /// Sends the closing message, waiting no longer than [`SEND_DEADLINE`] for a client
    /// that does not read. Its failure is ignored: the connection ends either way.
    async fn say_goodbye(&mut self, close: Message) {
        let _ = tokio::time::timeout(SEND_DEADLINE, self.sink.send(close)).await;
    }

    /// Closes with `code` and a reason for the client's logs.
    pub async fn close(&mut self, code: u16, reason: &'static str) {
        self.say_goodbye(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })))
        .await;
    }

    /// Refuses the handshake: sends `frame`, closes, and ends with `why` for the log.
    pub async fn refuse<T>(&mut self, frame: D::Down, why: impl Into<String>) -> Result<T, End> {
        self.send(frame).await?;
        self.say_goodbye(Message::Close(None)).await;
        Err(End::Refused(why.into()))
    }

    /// Closes for silence and says so.
    pub async fn close_silent(&mut self) -> End {
        self.close(close_code::AWAY, "silent for too long").await;
        End::Silent
    }

    /// Answers a refused frame; past [`MAX_REFUSED_FRAMES`] closes with 1008 instead.
    async fn refused(&mut self, why: Refusal) -> Result<Incoming<D::Up>, End> {
        self.refused += 1;
        if self.refused > MAX_REFUSED_FRAMES {
            self.close(close_code::POLICY, "too many refused frames")
                .await;
            return Err(End::Abusive);
        }
        self.send(D::refusal(why)).await?;
        Ok(Incoming::Nothing)
    }

    /// The next message. Every one, control frames included, takes a token of the rate
    /// limit; only frames of the protocol are [`Incoming::Frame`].
    pub async fn next(&mut self) -> Result<Incoming<D::Up>, End> {
        let message = match self.stream.next().await {
            Some(Ok(message)) => message,
            Some(Err(_)) | None => return Err(End::Gone),
        };
        match message {
            Message::Text(text) if text.len() > MAX_FRAME_BYTES => {
                // Too big to read: say so with the standard code and end this connection.
                self.close(close_code::SIZE, "frame too large").await;
                Err(End::TooLarge)
            }
            Message::Close(_) => Err(End::Gone),
            _ if !self.bucket.take(Instant::now()) => {
                self.refused(Refusal::RateLimited).await?;
                Ok(match message {
                    Message::Text(text) => D::decode(text.as_str())
                        .map(Incoming::Dropped)
                        .unwrap_or(Incoming::Nothing),
                    _ => Incoming::Nothing,
                })
            }
            Message::Text(text) => match D::decode(text.as_str()) {
                Ok(frame) => Ok(Incoming::Frame(frame)),
                Err(err) => self.refused(Refusal::Undecodable(err)).await,
            },
            Message::Binary(_) => self.refused(Refusal::Binary).await,
            Message::Ping(_) | Message::Pong(_) => Ok(Incoming::Nothing),
        }
    }

    /// The first frame, which must come within [`HELLO_DEADLINE`]; refused frames before
    /// it are answered and skipped.
    pub async fn first(&mut self) -> Result<D::Up, End> {
        tokio::time::timeout(HELLO_DEADLINE, async {
            loop {
                if let Incoming::Frame(frame) = self.next().await? {
                    return Ok(frame);
                }
            }
        })
        .await
        .map_err(|_| End::NoHello)?
    }
}
