//! The visitors: one tokio task per WebSocket, opened and welcomed as the widget would
//! (the server's own `Origin`, `hello` for a new session on the demo site), then held open
//! with a ping every 20 s. On command a socket sends a message and times its `ack` and its
//! own event coming back. Nothing a socket receives is trusted: bad frames, error frames
//! and closed sockets are counted, never unwrapped.
//!
//! A run may have several phases on the same sockets (a steady rate, then a climb through
//! higher ones): [`Swarm::collect`] takes what each socket measured so far and counts
//! anything still awaited as missing, so each phase is judged on its own messages.

use crate::report::Errors;
use crate::schedule::{PING_PERIOD, message_count, ping_offset, send_offset, socket_for};
use futures_util::{SinkExt, StreamExt};
use porchlight_protocol::{
    AuthorKind, ClientFrame, ConversationEvent, MessageId, PROTOCOL_VERSION, Seq, ServerFrame,
    SiteId,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Sockets connecting and saying hello at once (the rest wait their turn).
const OPEN_CONCURRENCY: usize = 64;
/// How long one socket may take to connect and be welcomed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the tasks may take to close their sockets at the end.
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);
/// The site the demo serves.
const SITE: &str = "demo";

/// What a socket's task is told to do.
enum Command {
    /// Send message number `n` of the run.
    Send(u64),
    /// Hand over what was measured so far, counting what is still awaited as missing.
    Collect(oneshot::Sender<Log>),
    /// Close the socket and report.
    Stop,
}

/// Counts all tasks share.
#[derive(Default)]
struct Counters {
    /// Sockets open and welcomed right now.
    live: AtomicUsize,
    /// Acks and echoes still awaited.
    outstanding: AtomicUsize,
}

/// What one socket's task measured.
#[derive(Default)]
struct Log {
    acks: Vec<Duration>,
    echoes: Vec<Duration>,
    errors: Errors,
}

/// What the run measured, all sockets together.
#[derive(Debug, Default)]
pub struct Tally {
    pub acks: Vec<Duration>,
    pub echoes: Vec<Duration>,
    pub errors: Errors,
}

impl Tally {
    /// Adds one socket's measurements.
    fn absorb(&mut self, log: Log) {
        self.acks.extend(log.acks);
        self.echoes.extend(log.echoes);
        self.errors.add(&log.errors);
    }
}

/// N visitor sockets on one server.
pub struct Swarm {
    commands: Vec<mpsc::UnboundedSender<Command>>,
    /// The sockets that opened, by index.
    open: Vec<usize>,
    tasks: JoinSet<Log>,
    counters: Arc<Counters>,
    /// From the first connect to the last socket welcomed (or failed).
    pub open_time: Duration,
    /// Why the first few sockets that failed to open did.
    pub open_failures: Vec<String>,
    /// Messages the send phase could not hand to a socket.
    not_sent: usize,
    /// Messages sent in earlier phases: the next phase's numbers start here, so that
    /// every message of the run has an id of its own.
    numbered: u64,
}

impl Swarm {
    /// Opens `sockets` visitor sockets on the server at `addr` and returns once each is
    /// welcomed or has failed.
    pub async fn open(addr: SocketAddr, sockets: usize) -> Swarm {
        let counters = Arc::new(Counters::default());
        let gate = Arc::new(Semaphore::new(OPEN_CONCURRENCY));
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        let mut commands = Vec::with_capacity(sockets);
        let started = Instant::now();
        for index in 0..sockets {
            let (tx, rx) = mpsc::unbounded_channel();
            commands.push(tx);
            tasks.spawn(visitor(Visitor {
                index,
                addr,
                gate: gate.clone(),
                ready: ready_tx.clone(),
                commands: rx,
                first_ping: ping_offset(index, sockets, PING_PERIOD),
                counters: counters.clone(),
            }));
        }
        drop(ready_tx);
        let (mut open, mut open_failures) = (Vec::with_capacity(sockets), Vec::new());
        let mut reported = 0;
        while reported < sockets {
            let Some((index, outcome)) = ready_rx.recv().await else {
                break;
            };
            reported += 1;
            match outcome {
                Ok(()) => open.push(index),
                Err(why) if open_failures.len() < 5 => open_failures.push(why),
                Err(_) => {}
            }
            if reported % 1_000 == 0 {
                eprintln!(
                    "    {reported} / {sockets} sockets tried, {} open, {:.1} s",
                    open.len(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
        open.sort_unstable();
        Swarm {
            commands,
            open,
            tasks,
            counters,
            open_time: started.elapsed(),
            open_failures,
            not_sent: 0,
            numbered: 0,
        }
    }

    /// Sockets opened and welcomed.
    pub fn opened(&self) -> usize {
        self.open.len()
    }

    /// Sockets open right now.
    pub fn held(&self) -> usize {
        self.counters.live.load(Ordering::Relaxed)
    }

    /// Sends `rate` messages a second for `seconds`, round-robin over the sockets that
    /// opened; returns how many went out.
    pub async fn send(&mut self, rate: u32, seconds: u32) -> u64 {
        if self.open.is_empty() {
            return 0;
        }
        let start = Instant::now();
        let mut sent = 0;
        let count = message_count(rate, seconds);
        for i in 0..count {
            sleep_until(start + send_offset(i, rate)).await;
            let socket = self.open[socket_for(i, self.open.len())];
            // Counted before the hand-over, so `drain` cannot miss a message still queued.
            self.counters.outstanding.fetch_add(2, Ordering::Relaxed);
            let number = self.numbered + i;
            match self
                .commands
                .get(socket)
                .map(|c| c.send(Command::Send(number)))
            {
                Some(Ok(())) => sent += 1,
                _ => {
                    self.counters.outstanding.fetch_sub(2, Ordering::Relaxed);
                    self.not_sent += 1;
                }
            }
        }
        self.numbered += count;
        sent
    }

    /// Waits until every ack and echo is in, or `limit` has passed.
    pub async fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.counters.outstanding.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Takes what every socket measured since the last collection, counting anything still
    /// awaited as missing (an ack or echo arriving later is ignored); the sockets stay
    /// open. Call it after [`drain`](Self::drain).
    pub async fn collect(&mut self) -> Tally {
        let mut replies = Vec::with_capacity(self.open.len());
        for &socket in &self.open {
            let (reply, answer) = oneshot::channel();
            if let Some(command) = self.commands.get(socket)
                && command.send(Command::Collect(reply)).is_ok()
            {
                replies.push(answer);
            }
        }
        let mut tally = Tally::default();
        tally.errors.not_sent = std::mem::take(&mut self.not_sent);
        let deadline = Instant::now() + FINISH_TIMEOUT;
        let mut unanswered = 0;
        for answer in replies {
            match timeout(deadline.saturating_duration_since(Instant::now()), answer).await {
                Ok(Ok(log)) => tally.absorb(log),
                // The task ended (it failed, or never opened): `finish` reports it.
                Ok(Err(_)) => {}
                Err(_) => unanswered += 1,
            }
        }
        if unanswered > 0 {
            eprintln!("    {unanswered} sockets did not report within {FINISH_TIMEOUT:?}");
        }
        tally
    }

    /// Closes every socket and adds up what they measured; anything still awaited counts
    /// as missing.
    pub async fn finish(mut self) -> Tally {
        for command in &self.commands {
            let _ = command.send(Command::Stop);
        }
        let mut tally = Tally::default();
        tally.errors.not_sent = self.not_sent;
        let deadline = Instant::now() + FINISH_TIMEOUT;
        loop {
            match timeout(
                deadline.saturating_duration_since(Instant::now()),
                self.tasks.join_next(),
            )
            .await
            {
                Ok(Some(Ok(log))) => tally.absorb(log),
                Ok(Some(Err(e))) => {
                    eprintln!("    a socket's task failed: {e}");
                    tally.errors.closed += 1;
                }
                Ok(None) => break,
                Err(_) => {
                    eprintln!("    some sockets did not close within {FINISH_TIMEOUT:?}");
                    self.tasks.abort_all();
                    break;
                }
            }
        }
        tally
    }
}

/// One socket's task and what it needs.
struct Visitor {
    index: usize,
    addr: SocketAddr,
    gate: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<(usize, Result<(), String>)>,
    commands: mpsc::UnboundedReceiver<Command>,
    first_ping: Duration,
    counters: Arc<Counters>,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects as the widget does and waits for `welcome`.
async fn open(addr: SocketAddr) -> Result<Socket, String> {
    let mut request = format!("ws://{addr}/api/v1/ws")
        .into_client_request()
        .map_err(|e| format!("bad request: {e}"))?;
    let origin = format!("http://{addr}")
        .parse()
        .map_err(|e| format!("bad origin: {e}"))?;
    request.headers_mut().insert("Origin", origin);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let site = SiteId::new(SITE).map_err(|e| format!("site id: {e}"))?;
    let hello = ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        site,
        token: None,
        conversation: None,
        last_seq: Seq(0),
    };
    socket
        .send(Message::text(hello.encode()))
        .await
        .map_err(|e| format!("send hello: {e}"))?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => match ServerFrame::decode(text.as_str()) {
                Ok(ServerFrame::Welcome { .. }) => return Ok(socket),
                Ok(ServerFrame::Error { code, message }) => {
                    return Err(format!("error frame {code:?}: {message}"));
                }
                Ok(_) => {}
                Err(e) => return Err(format!("undecodable frame: {e}")),
            },
            Some(Ok(Message::Close(frame))) => return Err(format!("closed: {frame:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("closed before welcome".into()),
        }
    }
}

/// A message sent and what has come back of it.
struct Pending {
    sent: Instant,
    acked: bool,
    echoed: bool,
}

/// Opens the socket, reports, then holds it until told to stop or it closes.
async fn visitor(mut v: Visitor) -> Log {
    let mut log = Log::default();
    let opened = match v.gate.clone().acquire_owned().await {
        Ok(_permit) => timeout(OPEN_TIMEOUT, open(v.addr))
            .await
            .unwrap_or_else(|_| Err(format!("not welcomed within {OPEN_TIMEOUT:?}"))),
        Err(_) => Err("the opening gate closed".into()),
    };
    let socket = match opened {
        Ok(socket) => {
            v.counters.live.fetch_add(1, Ordering::Relaxed);
            let _ = v.ready.send((v.index, Ok(())));
            socket
        }
        Err(why) => {
            log.errors.not_opened += 1;
            let _ = v.ready.send((v.index, Err(why)));
            return log;
        }
    };
    let (mut sink, mut stream) = socket.split();
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut ping = tokio::time::interval_at(Instant::now() + v.first_ping, PING_PERIOD);
    let stopped = loop {
        tokio::select! {
            command = v.commands.recv() => match command {
                Some(Command::Send(n)) => {
                    let id = format!("load-{}-{n}", v.index);
                    let Ok(message_id) = MessageId::new(id.clone()) else {
                        v.counters.outstanding.fetch_sub(2, Ordering::Relaxed);
                        log.errors.not_sent += 1;
                        continue;
                    };
                    let frame = ClientFrame::SendText { id: message_id, text: format!("load message {n}") };
                    pending.insert(id, Pending { sent: Instant::now(), acked: false, echoed: false });
                    if sink.send(Message::text(frame.encode())).await.is_err() {
                        break false;
                    }
                }
                Some(Command::Collect(reply)) => {
                    give_up_on(&mut pending, &mut log, &v.counters);
                    let _ = reply.send(std::mem::take(&mut log));
                }
                Some(Command::Stop) | None => break true,
            },
            _ = ping.tick() => {
                if sink.send(Message::text(ClientFrame::Ping {}.encode())).await.is_err() {
                    break false;
                }
            }
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    receive(text.as_str(), &mut pending, &mut log, &v.counters);
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break false,
                Some(Ok(_)) => {}
            },
        }
    };
    v.counters.live.fetch_sub(1, Ordering::Relaxed);
    give_up_on(&mut pending, &mut log, &v.counters);
    if stopped {
        let _ = sink.send(Message::Close(None)).await;
        return log;
    }
    log.errors.closed += 1;
    // The socket is gone; the task stays to answer for it until told to stop.
    while let Some(command) = v.commands.recv().await {
        match command {
            Command::Send(_) => {
                v.counters.outstanding.fetch_sub(2, Ordering::Relaxed);
                log.errors.not_sent += 1;
            }
            Command::Collect(reply) => {
                let _ = reply.send(std::mem::take(&mut log));
            }
            Command::Stop => break,
        }
    }
    log
}

/// Counts every ack and echo still awaited as missing and stops awaiting them.
fn give_up_on(pending: &mut HashMap<String, Pending>, log: &mut Log, counters: &Counters) {
    for (_, p) in pending.drain() {
        let missing = usize::from(!p.acked) + usize::from(!p.echoed);
        log.errors.missing_acks += usize::from(!p.acked);
        log.errors.missing_echoes += usize::from(!p.echoed);
        counters.outstanding.fetch_sub(missing, Ordering::Relaxed);
    }
}

/// Handles one text frame from the server.
fn receive(text: &str, pending: &mut HashMap<String, Pending>, log: &mut Log, counters: &Counters) {
    let frame = match ServerFrame::decode(text) {
        Ok(frame) => frame,
        Err(_) => {
            log.errors.undecodable += 1;
            return;
        }
    };
    let (id, is_ack) = match frame {
        ServerFrame::Ack { id, .. } => (id, true),
        ServerFrame::Event {
            event:
                ConversationEvent::MessageReceived {
                    id: Some(id),
                    author,
                    ..
                },
            ..
        } if author.kind == AuthorKind::Visitor => (id, false),
        ServerFrame::Error { code, .. } => {
            let code = serde_name(&code);
            *log.errors.error_frames.entry(code).or_default() += 1;
            return;
        }
        _ => return,
    };
    let Some(p) = pending.get_mut(id.as_str()) else {
        return;
    };
    let seen = if is_ack { &mut p.acked } else { &mut p.echoed };
    if !*seen {
        *seen = true;
        counters.outstanding.fetch_sub(1, Ordering::Relaxed);
        let latency = p.sent.elapsed();
        if is_ack {
            log.acks.push(latency);
        } else {
            log.echoes.push(latency);
        }
    }
    if p.acked && p.echoed {
        pending.remove(id.as_str());
    }
}

/// An error code as it travels on the wire (`rate_limited`), or its Rust name.
fn serde_name(code: &porchlight_protocol::ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{code:?}"),
    }
}
