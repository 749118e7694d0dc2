//! A fault-injecting TCP proxy between the browser and the chat server. Everything the
//! widget loads and its WebSocket go through it, so a test can:
//!
//! - [`FaultyProxy::cut`] every open connection at once, with a TCP reset;
//! - [`FaultyProxy::stall`] the bytes in one or both directions (held, then delivered in
//!   order when the stall ends, or lost if a cut comes first);
//! - [`FaultyProxy::refuse_sockets`] so new chat sockets are closed at once while pages
//!   and scripts still load;
//! - [`FaultyProxy::set_upstream`] to point at another server, as if the server restarted.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// Which way bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Browser to server.
    Up,
    /// Server to browser.
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Faults {
    /// Bumped by every cut: a connection dies when it changes.
    cuts: u64,
    stall_up: bool,
    stall_down: bool,
    refuse_sockets: bool,
}

/// The proxy, stopped on drop.
pub struct FaultyProxy {
    pub addr: SocketAddr,
    faults: watch::Sender<Faults>,
    upstream: Arc<Mutex<SocketAddr>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl FaultyProxy {
    /// Listens on 127.0.0.1, port 0, forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (faults, watching) = watch::channel(Faults::default());
        let upstream = Arc::new(Mutex::new(upstream));
        let (stop, mut stopped) = oneshot::channel::<()>();
        let target = Arc::clone(&upstream);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        let to = *target.lock().expect("upstream");
                        tokio::spawn(relay(client, to, watching.clone()));
                    }
                    _ = &mut stopped => return,
                }
            }
        });
        FaultyProxy {
            addr,
            faults,
            upstream,
            stop: Some(stop),
        }
    }

    /// A URL through the proxy.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Resets every open connection; bytes held by a stall are lost.
    pub fn cut(&self) {
        self.faults.send_modify(|f| f.cuts += 1);
    }

    /// Holds (`true`) or releases (`false`) the bytes flowing in `direction`.
    pub fn stall(&self, direction: Direction, stalled: bool) {
        self.faults.send_modify(|f| match direction {
            Direction::Up => f.stall_up = stalled,
            Direction::Down => f.stall_down = stalled,
        });
    }

    /// While `true`, a new chat socket is reset as soon as it asks to upgrade.
    pub fn refuse_sockets(&self, refuse: bool) {
        self.faults.send_modify(|f| f.refuse_sockets = refuse);
    }

    /// New connections go to `upstream` from now on.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.upstream.lock().expect("upstream") = upstream;
    }
}

/// How one direction of a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Its sender closed (or failed); the close was passed on.
    Closed,
    /// A cut.
    Cut,
}

async fn relay(client: TcpStream, upstream: SocketAddr, faults: watch::Receiver<Faults>) {
    let born = faults.borrow().cuts;
    // Peek at the request line to tell the chat socket from page loads.
    let mut first = vec![0u8; 64];
    let Ok(n) = client.peek(&mut first).await else {
        return;
    };
    // Dropping a stream with a zero linger resets it, as a dropped network would look.
    let _ = client.set_zero_linger();
    if first[..n].starts_with(b"GET /api/v1/ws") && faults.borrow().refuse_sockets {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_zero_linger();
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let mut up = Box::pin(pump(
        client_read,
        server_write,
        Direction::Up,
        faults.clone(),
        born,
    ));
    let mut down = Box::pin(pump(
        server_read,
        client_write,
        Direction::Down,
        faults,
        born,
    ));
    let (first, rest) = tokio::select! {
        ended = &mut up => (ended, down),
        ended = &mut down => (ended, up),
    };
    if first == Ended::Closed {
        rest.await;
    }
    // Returning drops every half: a cut resets both connections.
}

/// Copies bytes one way, honouring stalls, until its sender closes or a cut.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    direction: Direction,
    mut faults: watch::Receiver<Faults>,
    born: u64,
) -> Ended {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return Ended::Closed;
                }
                Ok(n) => n,
            },
            () = wait_for_cut(&mut faults, born) => return Ended::Cut,
        };
        // Hold the bytes while this direction is stalled; a cut meanwhile loses them.
        loop {
            let state = *faults.borrow_and_update();
            if state.cuts != born {
                return Ended::Cut;
            }
            let stalled = match direction {
                Direction::Up => state.stall_up,
                Direction::Down => state.stall_down,
            };
            if !stalled {
                break;
            }
            if faults.changed().await.is_err() {
                return Ended::Cut;
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return Ended::Closed;
        }
    }
}

async fn wait_for_cut(faults: &mut watch::Receiver<Faults>, born: u64) {
    loop {
        if faults.borrow_and_update().cuts != born {
            return;
        }
        if faults.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
