//! The server over a real WebSocket on port 0: handshake, acks and idempotent resends,
//! the bot's answers, replay on resume, and typed errors for bad input.

mod common;

use common::{Socket, connect, recv, send, start};
use futures_util::{SinkExt, StreamExt};
use porchlight_protocol::limits::MAX_FRAME_BYTES;
use porchlight_protocol::{
    AuthorKind, ChatStatus, ClientFrame, ConversationEvent, ErrorCode, EventRecord, MessageId,
    PROTOCOL_VERSION, Replay, Seq, ServerFrame, SessionToken, SiteId, transcript_path,
};
use tokio_tungstenite::tungstenite::Message;

fn bot_status() -> ServerFrame {
    ServerFrame::Status {
        status: ChatStatus::Bot {},
    }
}

fn hello(token: Option<SessionToken>, last_seq: u64) -> ClientFrame {
    ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        site: SiteId::new("demo").expect("id"),
        token,
        conversation: None,
        last_seq: Seq(last_seq),
    }
}

fn send_text(id: &str, text: &str) -> ClientFrame {
    ClientFrame::SendText {
        id: MessageId::new(id).expect("id"),
        text: text.into(),
    }
}

/// (seq, author kind, text) of an event frame.
fn event(frame: &ServerFrame) -> (u64, AuthorKind, String) {
    match frame {
        ServerFrame::Event {
            seq,
            event: ConversationEvent::MessageReceived { author, text, .. },
            ..
        } => (seq.0, author.kind, text.clone()),
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Opens a new session; returns the socket (greeting consumed) and the token.
async fn new_visitor(server: &common::Server) -> (Socket, SessionToken) {
    let mut socket = connect(server).await;
    send(&mut socket, hello(None, 0)).await;
    let ServerFrame::Welcome {
        token, last_seq, ..
    } = recv(&mut socket).await
    else {
        panic!("expected welcome");
    };
    assert_eq!(last_seq, Seq(1));
    let greeting = event(&recv(&mut socket).await);
    assert_eq!(greeting.0, 1);
    assert_eq!(greeting.1, AuthorKind::Bot);
    assert!(greeting.2.starts_with("Hi!"), "{greeting:?}");
    assert_eq!(recv(&mut socket).await, bot_status());
    (socket, token)
}

/// Collects the next `n` frames, ordered: acks, then events by seq.
async fn next_frames(socket: &mut Socket, n: usize) -> (Vec<ServerFrame>, Vec<ServerFrame>) {
    let mut acks = Vec::new();
    let mut events = Vec::new();
    for _ in 0..n {
        match recv(socket).await {
            frame @ ServerFrame::Ack { .. } => acks.push(frame),
            frame => events.push(frame),
        }
    }
    (acks, events)
}

#[tokio::test]
async fn a_new_visitor_is_welcomed_and_greeted_by_the_bot() {
    let server = start().await;
    new_visitor(&server).await;
}

#[tokio::test]
async fn a_message_is_acked_echoed_and_answered_by_keyword() {
    let server = start().await;
    let (mut socket, _) = new_visitor(&server).await;
    send(&mut socket, send_text("m1", "  What are your PRICES?  ")).await;
    let (acks, events) = next_frames(&mut socket, 3).await;
    assert_eq!(
        acks,
        vec![ServerFrame::Ack {
            id: MessageId::new("m1").expect("id"),
            seq: Seq(2)
        }]
    );
    let events: Vec<_> = events.iter().map(event).collect();
    assert_eq!(
        events[0],
        (2, AuthorKind::Visitor, "What are your PRICES?".into())
    );
    assert_eq!(events[1].0, 3);
    assert!(events[1].2.contains("9 €"), "{:?}", events[1]);
}

#[tokio::test]
async fn an_unknown_question_gets_the_fallback() {
    let server = start().await;
    let (mut socket, _) = new_visitor(&server).await;
    send(&mut socket, send_text("m1", "hello there")).await;
    let (_, events) = next_frames(&mut socket, 3).await;
    assert!(event(&events[1]).2.starts_with("Sorry"), "{events:?}");
}

#[tokio::test]
async fn a_resent_id_is_acked_again_and_never_stored_twice() {
    let server = start().await;
    let (mut socket, token) = new_visitor(&server).await;
    send(&mut socket, send_text("m1", "prices")).await;
    next_frames(&mut socket, 3).await;
    send(&mut socket, send_text("m1", "prices")).await;
    assert_eq!(
        recv(&mut socket).await,
        ServerFrame::Ack {
            id: MessageId::new("m1").expect("id"),
            seq: Seq(2)
        }
    );
    // The conversation still holds greeting, message, answer: nothing more.
    let mut again = connect(&server).await;
    send(&mut again, hello(Some(token), 0)).await;
    let ServerFrame::Welcome { last_seq, .. } = recv(&mut again).await else {
        panic!("expected welcome");
    };
    assert_eq!(last_seq, Seq(3));
}

#[tokio::test]
async fn resuming_replays_exactly_what_came_after_last_seq() {
    let server = start().await;
    let (mut socket, token) = new_visitor(&server).await;
    send(&mut socket, send_text("m1", "shipping")).await;
    next_frames(&mut socket, 3).await;
    drop(socket);

    let mut resumed = connect(&server).await;
    send(&mut resumed, hello(Some(token.clone()), 1)).await;
    let ServerFrame::Welcome {
        token: same,
        last_seq,
        ..
    } = recv(&mut resumed).await
    else {
        panic!("expected welcome");
    };
    assert_eq!(same, token);
    assert_eq!(last_seq, Seq(3));
    let replayed: Vec<u64> = vec![
        event(&recv(&mut resumed).await).0,
        event(&recv(&mut resumed).await).0,
    ];
    assert_eq!(replayed, vec![2, 3]);
    assert_eq!(recv(&mut resumed).await, bot_status());
    // Nothing else follows: a ping is answered next.
    send(&mut resumed, ClientFrame::Ping {}).await;
    assert_eq!(recv(&mut resumed).await, ServerFrame::Pong {});
}

#[tokio::test]
async fn an_unknown_token_starts_a_new_session() {
    let server = start().await;
    let mut socket = connect(&server).await;
    let stranger = SessionToken::new("forgotten").expect("id");
    send(&mut socket, hello(Some(stranger.clone()), 9)).await;
    let ServerFrame::Welcome { token, replay, .. } = recv(&mut socket).await else {
        panic!("expected welcome");
    };
    assert_ne!(token, stranger);
    assert_eq!(
        replay,
        Replay::Lost,
        "the client must hear its session is gone"
    );
    assert_eq!(event(&recv(&mut socket).await).0, 1);
}

#[tokio::test]
async fn a_client_too_far_behind_is_told_to_read_over_http_and_can() {
    let mut config = porchlight_server::ServerConfig::default();
    config.link.replay_window = 3;
    let server = common::start_with(config).await;
    let (mut socket, token) = new_visitor(&server).await;
    for i in 0..3 {
        send(&mut socket, send_text(&format!("m{i}"), "shipping")).await;
        next_frames(&mut socket, 3).await;
    }
    drop(socket); // holds seqs 1..=7

    // Three behind: replayed on the socket.
    let mut near = connect(&server).await;
    send(&mut near, hello(Some(token.clone()), 4)).await;
    let ServerFrame::Welcome {
        replay,
        conversation,
        ..
    } = recv(&mut near).await
    else {
        panic!("expected welcome");
    };
    assert_eq!(replay, Replay::Socket);
    let replayed: Vec<u64> = [
        recv(&mut near).await,
        recv(&mut near).await,
        recv(&mut near).await,
    ]
    .iter()
    .map(|f| event(f).0)
    .collect();
    assert_eq!(replayed, vec![5, 6, 7]);

    // Six behind: nothing on the socket but the status, and the rest over HTTP.
    let mut far = connect(&server).await;
    send(&mut far, hello(Some(token.clone()), 1)).await;
    let ServerFrame::Welcome {
        replay, last_seq, ..
    } = recv(&mut far).await
    else {
        panic!("expected welcome");
    };
    assert_eq!((replay, last_seq), (Replay::Http, Seq(7)));
    assert_eq!(recv(&mut far).await, bot_status());
    let path = transcript_path(&SiteId::new("demo").expect("id"), &conversation, Seq(1));
    let bearer = format!("Bearer {token}");
    let answer = common::http(&server, "GET", &path, &[("Authorization", &bearer)], "").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let records: Vec<EventRecord> = serde_json::from_str(&answer.text).expect("records");
    let seqs: Vec<u64> = records.iter().map(|r| r.seq.0).collect();
    assert_eq!(seqs, vec![2, 3, 4, 5, 6, 7]);

    // Live events after the welcome still come on the socket, from seq 8.
    send(&mut far, send_text("m9", "shipping")).await;
    let (_, events) = next_frames(&mut far, 3).await;
    assert_eq!(event(&events[0]).0, 8);

    // Another session's token, or none, reads nothing.
    let (_, stranger) = new_visitor(&server).await;
    let other = format!("Bearer {stranger}");
    let answer = common::http(&server, "GET", &path, &[("Authorization", &other)], "").await;
    assert_eq!(answer.status, 404);
    let answer = common::anonymous_http(&server, "GET", &path, &[], "").await;
    assert_eq!(answer.status, 401);
    let bad = path.replace("after=1", "after=minus-one");
    let answer = common::http(&server, "GET", &bad, &[("Authorization", &bearer)], "").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"], "bad_request");
}

#[tokio::test]
async fn malformed_frames_get_typed_errors_and_the_connection_survives() {
    let server = start().await;
    let (mut socket, _) = new_visitor(&server).await;
    for bad in [
        "not json",
        "{\"type\":\"nope\"}",
        "{\"type\":\"send_text\",\"id\":\"<x>\",\"text\":\"a\"}",
    ] {
        socket.send(Message::text(bad)).await.expect("send");
        match recv(&mut socket).await {
            ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::MalformedFrame, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    socket
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .expect("send");
    assert!(matches!(
        recv(&mut socket).await,
        ServerFrame::Error {
            code: ErrorCode::MalformedFrame,
            ..
        }
    ));
    send(&mut socket, send_text("m1", "   ")).await;
    assert!(matches!(
        recv(&mut socket).await,
        ServerFrame::Error {
            code: ErrorCode::InvalidText,
            ..
        }
    ));
    send(&mut socket, send_text("m2", &"x".repeat(2_001))).await;
    assert!(matches!(
        recv(&mut socket).await,
        ServerFrame::Error {
            code: ErrorCode::InvalidText,
            ..
        }
    ));
    send(&mut socket, ClientFrame::Ping {}).await;
    assert_eq!(recv(&mut socket).await, ServerFrame::Pong {});
}

#[tokio::test]
async fn a_frame_over_the_size_limit_is_closed_with_1009_and_hurts_nobody_else() {
    let server = start().await;
    let (mut big, _) = new_visitor(&server).await;
    let (mut other, _) = new_visitor(&server).await;
    big.send(Message::text("x".repeat(MAX_FRAME_BYTES + 1)))
        .await
        .expect("send");
    let code = loop {
        match big.next().await {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(Message::Text(text))) => panic!("unexpected frame {text}"),
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => break None,
        }
    };
    assert_eq!(code, Some(1009));
    send(&mut other, ClientFrame::Ping {}).await;
    assert_eq!(recv(&mut other).await, ServerFrame::Pong {});
}

#[tokio::test]
async fn a_frame_far_over_the_limit_is_cut_off_by_the_socket() {
    let server = start().await;
    let (mut huge, _) = new_visitor(&server).await;
    let _ = huge
        .send(Message::text("x".repeat(4 * MAX_FRAME_BYTES)))
        .await;
    let ended = loop {
        match huge.next().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break true,
            Some(Ok(Message::Text(text))) => panic!("unexpected frame {text}"),
            Some(Ok(_)) => continue,
        }
    };
    assert!(ended);
}

#[tokio::test]
async fn only_the_widgets_own_origin_may_open_the_socket() {
    let server = start().await;
    for origin in ["http://evil.example", "null"] {
        let refused = common::connect_from(&server, origin).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "{origin}");
            }
            other => panic!(
                "{origin}: expected a 403, got {:?}",
                other.map(|_| "a socket")
            ),
        }
    }
    let without_origin =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", server.addr)).await;
    assert!(without_origin.is_err());
}

#[tokio::test]
async fn the_first_frame_must_be_hello() {
    let server = start().await;
    let mut socket = connect(&server).await;
    send(&mut socket, ClientFrame::Ping {}).await;
    assert!(matches!(
        recv(&mut socket).await,
        ServerFrame::Error {
            code: ErrorCode::HelloExpected,
            ..
        }
    ));
}

#[tokio::test]
async fn a_wrong_version_or_site_is_refused() {
    let server = start().await;
    let mut socket = connect(&server).await;
    send(
        &mut socket,
        ClientFrame::Hello {
            version: 99,
            site: SiteId::new("demo").expect("id"),
            token: None,
            conversation: None,
            last_seq: Seq(0),
        },
    )
    .await;
    assert!(matches!(
        recv(&mut socket).await,
        ServerFrame::Error {
            code: ErrorCode::UnsupportedVersion,
            ..
        }
    ));
    let mut socket = connect(&server).await;
    send(
        &mut socket,
        ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            site: SiteId::new("elsewhere").expect("id"),
            token: None,
            conversation: None,
            last_seq: Seq(0),
        },
    )
    .await;
    assert!(matches!(
        recv(&mut socket).await,
        ServerFrame::Error {
            code: ErrorCode::UnknownSite,
            ..
        }
    ));
}

#[tokio::test]
async fn a_flood_is_rate_limited_and_persistent_abuse_is_closed_with_1008() {
    use porchlight_protocol::limits::{FRAME_BURST, MAX_REFUSED_FRAMES};
    let server = start().await;
    let (mut flooder, _) = new_visitor(&server).await;
    let (mut other, _) = new_visitor(&server).await;
    // The handshake used one token; the rest of the burst passes, then frames are dropped.
    let sent = FRAME_BURST + 10;
    for _ in 0..sent {
        send(&mut flooder, ClientFrame::Ping {}).await;
    }
    let (mut pongs, mut limited) = (0, 0);
    for _ in 0..sent {
        match recv(&mut flooder).await {
            ServerFrame::Pong {} => pongs += 1,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pongs >= FRAME_BURST - 1, "{pongs} pongs");
    assert!(limited >= 1, "nothing was rate limited");
    // Keep flooding: the connection is closed with 1008 (policy violation).
    for _ in 0..(MAX_REFUSED_FRAMES + FRAME_BURST) {
        if flooder
            .send(Message::text("{\"type\":\"ping\"}"))
            .await
            .is_err()
        {
            break;
        }
    }
    let code = loop {
        match flooder.next().await {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => break None,
        }
    };
    assert_eq!(code, Some(1008));
    // Nobody else noticed.
    send(&mut other, ClientFrame::Ping {}).await;
    assert_eq!(recv(&mut other).await, ServerFrame::Pong {});
}
