//! What a client, a session and the queue may hold: the caps answered with typed errors,
//! idle anonymous sessions forgotten in memory and in SQLite, paginated reads, and the
//! per-address limits over real sockets on loopback (1 000 token-less hellos from one
//! client, sockets past the per-address cap).

mod common;

use common::{
    BROADCAST, MANUAL_AGENTS, Server, anonymous_http, config, connect, recv, request, send,
    valid_answers, visitor,
};
use porchlight_protocol::{
    ClientFrame, ErrorCode, MessageId, PROTOCOL_VERSION, Seq, ServerFrame, SiteId,
};
use porchlight_server::desk::{Desk, DeskError};
use porchlight_server::{Options, ServerConfig, Shared};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

fn limited(set: impl FnOnce(&mut porchlight_server::config::LimitsConfig)) -> ServerConfig {
    let mut config = config(BROADCAST, MANUAL_AGENTS);
    set(&mut config.limits);
    config.customers.clear();
    config
}

fn temp_db(name: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!(
            "porchlight-limits-{name}-{}-{}",
            std::process::id(),
            porchlight_server::store::random_id()
        ))
        .join("db.sqlite3")
}

fn message(n: usize) -> MessageId {
    MessageId::new(format!("m{n}")).expect("id")
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_the_next_request_and_says_so() {
    let desk = common::desk(limited(|l| l.max_queue = 2));
    let now = Instant::now();
    for i in 0..2 {
        let (_, conversation) = visitor(&desk);
        assert_eq!(
            desk.request_agent(
                &conversation,
                &request(&format!("r{i}")),
                &valid_answers(),
                now
            ),
            Ok(true)
        );
    }
    let (_, third) = visitor(&desk);
    assert_eq!(
        desk.request_agent(&third, &request("r3"), &valid_answers(), now),
        Err(DeskError::QueueFull(2))
    );
    assert_eq!(
        desk.status(&third, now),
        Some(porchlight_protocol::ChatStatus::Bot {}),
        "nothing changed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_conversation_refuses_new_messages_but_still_acks_a_resend() {
    // The greeting, then two messages each answered by the bot: five events.
    let desk = common::desk(limited(|l| l.max_events = 5));
    let (_, conversation) = visitor(&desk);
    for n in 0..2 {
        desk.visitor_text(&conversation, &message(n), "hello")
            .expect("room");
    }
    assert_eq!(
        desk.visitor_text(&conversation, &message(9), "one more"),
        Err(DeskError::ConversationFull(5))
    );
    let resent = desk
        .visitor_text(&conversation, &message(1), "hello")
        .expect("a resend is answered as before");
    assert_eq!(resent.seq(), Seq(4));
}

#[tokio::test(start_paused = true)]
async fn a_session_holds_at_most_its_conversations() {
    let desk = common::desk(limited(|l| l.max_conversations = 2));
    let (token, conversation) = visitor(&desk);
    let now = Instant::now();
    // A conversation may start anew once over: ask for a person and withdraw.
    desk.request_agent(&conversation, &request("r1"), &valid_answers(), now)
        .expect("request");
    desk.end_chat(&conversation, now).expect("withdraw");
    let second = desk.start_new(&token).expect("a second conversation");
    desk.request_agent(&second, &request("r2"), &valid_answers(), now)
        .expect("request");
    desk.end_chat(&second, now).expect("withdraw");
    assert_eq!(
        desk.start_new(&token),
        Err(DeskError::TooManyConversations(2))
    );
}

#[tokio::test]
async fn idle_anonymous_sessions_are_forgotten_in_memory_and_in_the_database() {
    let db = temp_db("idle");
    let desk = Desk::open(limited(|_| ()), &db).expect("open");
    let (idle, idle_conversation) = visitor(&desk);
    let (wrote, wrote_conversation) = visitor(&desk);
    desk.visitor_text(&wrote_conversation, &message(1), "hello")
        .expect("message");
    let (asked, asked_conversation) = visitor(&desk);
    desk.request_agent(
        &asked_conversation,
        &request("r1"),
        &valid_answers(),
        Instant::now(),
    )
    .expect("request");
    desk.durable().await.expect("written");
    assert_eq!(
        desk.forget_idle_sessions(),
        0,
        "nothing is idle for long yet"
    );

    desk.advance_clock(31 * 60).expect("simulation on");
    assert_eq!(desk.forget_idle_sessions(), 1);
    desk.durable().await.expect("written");
    desk.flush().expect("written");
    let transcript = async |token, conversation| {
        desk.transcript(token, conversation, Seq(0), 10)
            .await
            .expect("read")
    };
    assert!(
        transcript(&idle, &idle_conversation).await.is_none(),
        "gone from memory and the database"
    );
    assert!(transcript(&wrote, &wrote_conversation).await.is_some());
    assert!(transcript(&asked, &asked_conversation).await.is_some());
    drop(desk);

    let sqlite = rusqlite::Connection::open(&db).expect("open");
    let count =
        |sql: &str, id: &str| -> i64 { sqlite.query_row(sql, [id], |r| r.get(0)).expect("count") };
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM sessions WHERE token = ?1",
            idle.as_str()
        ),
        0
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM events WHERE conversation = ?1",
            idle_conversation.as_str()
        ),
        0
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM sessions WHERE token = ?1",
            wrote.as_str()
        ),
        1
    );
    drop(sqlite);
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}

#[tokio::test(start_paused = true)]
async fn a_session_a_tab_holds_open_is_never_forgotten() {
    let desk = common::desk(limited(|_| ()));
    let (attached, _updates) = desk
        .hello(None, None, Seq(0), None, Instant::now(), || {
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
    desk.advance_clock(24 * 60 * 60).expect("simulation on");
    assert_eq!(desk.forget_idle_sessions(), 0);
    desk.flush().expect("written");
    assert!(
        desk.transcript(&attached.token, &attached.conversation, Seq(0), 10)
            .await
            .expect("read")
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn transcripts_come_in_pages() {
    let desk = common::desk(limited(|_| ()));
    let (token, conversation) = visitor(&desk);
    for n in 0..10 {
        desk.visitor_text(&conversation, &message(n), "hello")
            .expect("room");
    }
    desk.flush().expect("written");
    let page = desk
        .transcript(&token, &conversation, Seq(3), 5)
        .await
        .expect("read")
        .expect("ours");
    assert_eq!(
        page.iter().map(|e| e.seq.0).collect::<Vec<_>>(),
        vec![4, 5, 6, 7, 8]
    );
}

/// A server on loopback keeping its store in `db`.
async fn start_with_db(config: ServerConfig, db: &std::path::Path) -> Server {
    let desk = Desk::open(config, db).expect("open");
    common::start_on(Shared::with(
        desk,
        Options::serving("no-widget-here".into()),
    ))
    .await
}

fn hello() -> ClientFrame {
    ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        site: SiteId::new("demo").expect("id"),
        token: None,
        conversation: None,
        last_seq: Seq(0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_token_less_hellos_from_one_address_open_only_its_sessions() {
    let db = temp_db("hellos");
    let server = start_with_db(limited(|l| l.sessions_per_minute = 30), &db).await;
    let started = std::time::Instant::now();
    let (mut welcomed, mut refused) = (0, 0);
    for _ in 0..1_000 {
        let mut socket = connect(&server).await;
        send(&mut socket, hello()).await;
        match recv(&mut socket).await {
            ServerFrame::Welcome { .. } => welcomed += 1,
            ServerFrame::Error {
                code: ErrorCode::TooManySessions,
                ..
            } => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let took = started.elapsed();
    println!(
        "1000 token-less hellos from one address: {welcomed} welcomed, {refused} refused, in {took:?}"
    );
    assert_eq!((welcomed, refused), (30, 970));
    drop(server);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sqlite = rusqlite::Connection::open(&db).expect("open");
    let sessions: i64 = sqlite
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .expect("count");
    assert_eq!(sessions, 30, "the database grew only by what was admitted");
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}

#[tokio::test]
async fn an_address_past_its_sockets_is_refused_with_429_until_one_closes() {
    let server = common::start_with(limited(|l| l.sockets_per_address = 3)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&server).await);
    }
    let origin = format!("http://{}", server.addr);
    match common::connect_from(&server, &origin).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a fourth socket from one address"),
    }
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        if let Ok(socket) = common::connect_from(&server, &origin).await {
            again = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a closed socket frees its place");
    // HTTP is not counted against the socket cap.
    let config = anonymous_http(&server, "GET", "/api/v1/sites/demo/config", &[], "").await;
    assert_eq!(config.status, 200);
}

#[tokio::test]
async fn a_session_reading_its_history_too_often_is_told_to_wait_and_others_are_not() {
    let desk = common::desk(limited(|l| l.reads_per_minute = 5));
    let (token, conversation) = visitor(&desk);
    let (other, _) = visitor(&desk);
    let server = common::start_on(Shared::with(
        desk,
        Options::serving("no-widget-here".into()),
    ))
    .await;
    let read = async |token: &porchlight_protocol::SessionToken, path: &str| {
        let bearer = format!("Bearer {token}");
        anonymous_http(&server, "GET", path, &[("Authorization", &bearer)], "").await
    };
    let history = "/api/v1/sites/demo/history";
    let events = format!("/api/v1/sites/demo/conversations/{conversation}/events?after=0");
    let mut statuses = Vec::new();
    for n in 0..6 {
        let path = if n % 2 == 0 { history } else { events.as_str() };
        statuses.push(read(&token, path).await.status);
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429]);
    let refused = read(&token, history).await;
    assert_eq!(refused.json()["error"], "too_many_reads");
    assert_eq!(read(&other, history).await.status, 200);
}
