//! Connection hygiene against the real accept loop on loopback, with a header-read
//! timeout of one second: a slow-loris crowd that trickles its request headers is dropped
//! while a normal visitor still chats; an idle keep-alive connection is closed; connections
//! past the cap wait until one closes.

mod common;

use porchlight_server::http::listen::{Limits, serve_app};
use porchlight_server::{ServerConfig, Shared, app};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

const TIMEOUT: Duration = Duration::from_secs(1);

/// The server with `limits`, stopped when the sender drops.
async fn start(
    limits: Limits,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    porchlight_protocol::AdminToken,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = Shared::new(ServerConfig::default(), "no-widget-here".into());
    state.admin.listening_on(addr);
    let token = state.admin.token().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve_app(listener, app(state), limits, async {
        let _ = stopped.await;
    }));
    (addr, stop, token)
}

/// Whether the server closed `stream` within `within` (a read sees end of file or a reset).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 or similar before the close
        }
    }
}

#[tokio::test]
async fn a_slow_loris_crowd_is_dropped_while_a_visitor_still_chats() {
    let (addr, _stop, _) = start(Limits {
        header_read_timeout: TIMEOUT,
        max_connections: 10_000,
    })
    .await;
    let mut crowd = Vec::new();
    for _ in 0..500 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"G").await.expect("first byte");
        crowd.push(stream);
    }
    // One more header byte every 300 ms: never a whole request.
    let trickle = tokio::spawn(async move {
        for byte in b"ET / HTTP/1.1\r\nHost: x\r\n".iter().take(3) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            for stream in &mut crowd {
                let _ = stream.write_all(&[*byte]).await;
            }
        }
        crowd
    });
    // Meanwhile a visitor opens the chat socket and is greeted.
    let server = common::Server::at(addr);
    let mut visitor = common::connect(&server).await;
    common::send(
        &mut visitor,
        porchlight_protocol::ClientFrame::Hello {
            version: porchlight_protocol::PROTOCOL_VERSION,
            site: porchlight_protocol::SiteId::new("demo").expect("id"),
            token: None,
            conversation: None,
            last_seq: porchlight_protocol::Seq(0),
        },
    )
    .await;
    assert!(matches!(
        common::recv(&mut visitor).await,
        porchlight_protocol::ServerFrame::Welcome { .. }
    ));
    let mut crowd = trickle.await.expect("trickle");
    let mut dropped = 0;
    for stream in &mut crowd {
        if closed_within(stream, 3 * TIMEOUT).await {
            dropped += 1;
        }
    }
    assert_eq!(dropped, 500, "every trickling connection is dropped");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let (addr, _stop, _) = start(Limits {
        header_read_timeout: TIMEOUT,
        max_connections: 10,
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("GET /demo.css HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.expect("a response");
    assert_eq!(&head, b"HTTP/1.1 200");
    // No next request: the connection does not stay open for ever.
    assert!(closed_within(&mut stream, 3 * TIMEOUT).await);
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let (addr, _stop, _) = start(Limits {
        header_read_timeout: TIMEOUT,
        max_connections: 2,
    })
    .await;
    let holders = [
        TcpStream::connect(addr).await.expect("connect"),
        TcpStream::connect(addr).await.expect("connect"),
    ];
    // A third is accepted by the kernel but not served while both slots are taken.
    let mut third = TcpStream::connect(addr).await.expect("connect");
    third
        .write_all(
            format!("GET /demo.css HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("request");
    let mut head = [0u8; 12];
    assert!(
        tokio::time::timeout(TIMEOUT / 2, third.read_exact(&mut head))
            .await
            .is_err(),
        "not served past the cap"
    );
    drop(holders);
    // The two idle holders close (or time out); then the third is served.
    tokio::time::timeout(4 * TIMEOUT, third.read_exact(&mut head))
        .await
        .expect("served once a slot is free")
        .expect("a response");
    assert_eq!(&head, b"HTTP/1.1 200");
}
