//! Shared by the server's integration tests: the real server on port 0, a WebSocket
//! visitor, and a minimal HTTP/1.1 client for the JSON APIs.
#![allow(dead_code)] // each test file uses its own part

pub mod engine;

pub use engine::desk;

use futures_util::{SinkExt, StreamExt};
use porchlight_protocol::{ClientFrame, ServerFrame};
use porchlight_server::{ServerConfig, Shared, serve};
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The server, stopped on drop.
pub struct Server {
    pub addr: SocketAddr,
    /// The admin secret of the control API and the console socket.
    pub token: porchlight_protocol::AdminToken,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Server {
    /// A server started elsewhere at `addr` (stopped by whoever started it).
    pub fn at(addr: SocketAddr) -> Server {
        Server {
            addr,
            token: porchlight_protocol::AdminToken::new("unknown").expect("token"),
            stop: None,
        }
    }
}

/// Starts the server with the built-in configuration.
pub async fn start() -> Server {
    let mut config = ServerConfig::default();
    config.customers.clear();
    start_with(config).await
}

pub async fn start_with(config: ServerConfig) -> Server {
    start_on(Shared::with(
        desk(config),
        porchlight_server::Options::serving("no-widget-here".into()),
    ))
    .await
}

/// Starts the server around `state` (a desk in a database, another widget folder).
pub async fn start_on(state: porchlight_server::AppState) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let token = state.admin.token().clone();
    tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        token,
        stop: Some(stop),
    }
}

/// Opens the chat socket as the widget would: with the server's own `Origin`.
pub async fn connect(server: &Server) -> Socket {
    connect_from(server, &format!("http://{}", server.addr))
        .await
        .expect("connect")
}

/// Opens the chat socket with the given `Origin` header.
pub async fn connect_from(
    server: &Server,
    origin: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    connect_at(server.addr, origin).await
}

/// Opens the chat socket of the server at `addr` with the given `Origin` header.
pub async fn connect_at(
    addr: SocketAddr,
    origin: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/api/v1/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("Origin", origin.parse().expect("a valid header value"));
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

pub async fn send(socket: &mut Socket, frame: ClientFrame) {
    socket
        .send(Message::text(frame.encode()))
        .await
        .expect("send");
}

pub async fn recv(socket: &mut Socket) -> ServerFrame {
    loop {
        match socket.next().await.expect("open").expect("frame") {
            Message::Text(text) => return ServerFrame::decode(text.as_str()).expect("valid frame"),
            Message::Close(_) => panic!("closed"),
            _ => continue,
        }
    }
}

/// Receives frames until one matches, returning it; panics on a close.
pub async fn recv_until(socket: &mut Socket, wanted: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
    loop {
        let frame = recv(socket).await;
        if wanted(&frame) {
            return frame;
        }
    }
}

/// A new widget that has asked for a person with valid answers; returns its socket (the
/// welcome read) and conversation.
pub async fn asking_visitor(server: &Server) -> (Socket, porchlight_protocol::ConversationId) {
    let mut socket = connect(server).await;
    send(
        &mut socket,
        ClientFrame::Hello {
            version: porchlight_protocol::PROTOCOL_VERSION,
            site: porchlight_protocol::SiteId::new("demo").expect("id"),
            token: None,
            conversation: None,
            last_seq: porchlight_protocol::Seq(0),
        },
    )
    .await;
    let ServerFrame::Welcome { conversation, .. } = recv(&mut socket).await else {
        panic!("expected welcome");
    };
    send(
        &mut socket,
        ClientFrame::RequestAgent {
            request: request("r1"),
            answers: valid_answers(),
        },
    )
    .await;
    (socket, conversation)
}

/// One HTTP/1.1 request with no credential but the headers given (the visitor APIs).
pub async fn anonymous_http(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> porchlight_server::client::Answer {
    porchlight_server::client::raw_call(server.addr, method, path, headers, body)
        .await
        .expect("an HTTP answer")
}

/// One HTTP/1.1 request through the control client, with the admin token.
pub async fn http(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> porchlight_server::client::Answer {
    porchlight_server::client::ControlClient::new(server.addr, server.token.clone())
        .call(method, path, headers, body)
        .await
        .expect("an HTTP answer")
}

/// The site and bot of the built-in config, with the test's routing and agents.
pub fn config(routing: &str, agents: &str) -> ServerConfig {
    ServerConfig::default_with(routing, agents).expect("valid test config")
}

pub const BROADCAST: &str = "mode = \"broadcast\"\nqueue_time_secs = 60\nacceptance_time_secs = 10";
pub const TIME_BASED: &str =
    "mode = \"time-based\"\nqueue_time_secs = 60\nacceptance_time_secs = 10";

/// Two agents driven by hand only.
pub const MANUAL_AGENTS: &str = r#"
[[agents]]
id = "ann"
name = "Ann"
max_chats = 1

[[agents]]
id = "ben"
name = "Ben"
max_chats = 1
"#;

/// Answers the built-in pre-chat form accepts.
pub fn valid_answers() -> porchlight_protocol::Answers {
    [
        ("name", "Ada"),
        ("email", "ada@example.com"),
        ("consent", "true"),
    ]
    .into_iter()
    .map(|(k, v)| {
        (
            porchlight_protocol::FieldName::new(k).expect("name"),
            v.to_string(),
        )
    })
    .collect()
}

// ----- the desk on tokio's paused clock -----

/// Advances the paused clock by `d`, then lets every task woken at that instant run (the
/// timer driver, simulated agents) before the test looks.
pub async fn sleep(d: std::time::Duration) {
    tokio::time::sleep(d).await;
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

pub fn agent(id: &str) -> porchlight_protocol::AgentId {
    porchlight_protocol::AgentId::new(id).expect("id")
}

pub fn request(id: &str) -> porchlight_protocol::RequestId {
    porchlight_protocol::RequestId::new(id).expect("id")
}

/// A new visitor's session and conversation.
pub fn visitor(
    desk: &std::sync::Arc<porchlight_server::desk::Desk>,
) -> (
    porchlight_protocol::SessionToken,
    porchlight_protocol::ConversationId,
) {
    let (attached, _) = desk
        .hello(
            None,
            None,
            porchlight_protocol::Seq(0),
            None,
            tokio::time::Instant::now(),
            || Ok::<(), std::convert::Infallible>(()),
        )
        .unwrap_or_else(|never| match never {});
    (attached.token, attached.conversation)
}

/// A visitor who has asked for a human.
pub fn requesting(
    desk: &std::sync::Arc<porchlight_server::desk::Desk>,
    id: &str,
) -> (
    porchlight_protocol::SessionToken,
    porchlight_protocol::ConversationId,
) {
    let (token, conversation) = visitor(desk);
    desk.request_agent(
        &conversation,
        &request(id),
        &valid_answers(),
        tokio::time::Instant::now(),
    )
    .expect("request");
    (token, conversation)
}
