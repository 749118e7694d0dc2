//! The real `porchlight-server` binary, killed with SIGKILL mid-conversation and started
//! again: with its SQLite database nothing it acked is lost and the visitor resumes; with
//! `--memory` the old session is gone. Also the desk reopened on its database: live chats
//! stay with their agents, waiting requests ask again with fresh timers.

mod common;

use porchlight_server::process::ServerProcess;

use common::{BROADCAST, MANUAL_AGENTS, Socket, TIME_BASED, config, connect_at, recv, send};
use porchlight_protocol::{
    AgentId, ClientFrame, ConversationEvent, ConversationId, MessageId, PROTOCOL_VERSION,
    RequestId, Seq, ServerFrame, SessionToken, SiteId,
};
use porchlight_server::desk::Desk;
use porchlight_server::store::database::Target;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;

/// Starts the real binary with `store_args`.
fn start(store_args: &[&str]) -> ServerProcess {
    let args = ["--widget-dir", "no-widget-here"].iter().chain(store_args);
    ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_porchlight-server")), args)
        .expect("start porchlight-server")
}

/// Opens the chat socket of `server` as its widget would.
async fn connect(server: &ServerProcess) -> Socket {
    let addr = server.addr();
    connect_at(addr, &format!("http://{addr}"))
        .await
        .expect("connect")
}

fn temp_db() -> PathBuf {
    std::env::temp_dir()
        .join(format!(
            "porchlight-kill9-{}-{}",
            std::process::id(),
            porchlight_server::store::random_id()
        ))
        .join("db.sqlite3")
}

fn hello(token: Option<SessionToken>, conversation: Option<ConversationId>) -> ClientFrame {
    ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        site: SiteId::new("demo").expect("id"),
        token,
        conversation,
        last_seq: Seq(0),
    }
}

/// Says hello; returns the welcome's token, conversation and newest seq, and every event
/// replayed before the status.
async fn welcome(
    socket: &mut Socket,
    token: Option<SessionToken>,
    conversation: Option<ConversationId>,
) -> (
    SessionToken,
    ConversationId,
    Seq,
    Vec<(Seq, ConversationEvent)>,
) {
    send(socket, hello(token, conversation)).await;
    let ServerFrame::Welcome {
        token,
        conversation,
        last_seq,
        ..
    } = recv(socket).await
    else {
        panic!("expected welcome");
    };
    let mut events = Vec::new();
    loop {
        match recv(socket).await {
            ServerFrame::Event { seq, event, .. } => events.push((seq, event)),
            ServerFrame::Status { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    (token, conversation, last_seq, events)
}

/// Sends a visitor message and waits for its ack; returns the seq it was stored as.
async fn send_acked(socket: &mut Socket, id: &str) -> Seq {
    let id = MessageId::new(id).expect("id");
    send(
        socket,
        ClientFrame::SendText {
            id: id.clone(),
            text: format!("message {id}"),
        },
    )
    .await;
    loop {
        if let ServerFrame::Ack { id: acked, seq } = recv(socket).await
            && acked == id
        {
            return seq;
        }
    }
}

fn visitor_ids(events: &[(Seq, ConversationEvent)]) -> Vec<MessageId> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            ConversationEvent::MessageReceived { id: Some(id), .. } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

fn db_args(db: &Path) -> [String; 2] {
    ["--db".into(), db.display().to_string()]
}

/// `--db` naming `target`.
fn target_args(target: &Target) -> [String; 2] {
    ["--db".into(), target.argument()]
}

#[tokio::test]
async fn after_kill_9_every_acked_message_is_there_once_and_the_visitor_resumes() {
    const ACKED: usize = 60;
    let db = common::engine::fresh_target();
    let args = target_args(&db);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = start(&args);
    let mut socket = connect(&server).await;
    let (token, conversation, ..) = welcome(&mut socket, None, None).await;
    let mut acked = Vec::new();
    for i in 0..ACKED {
        // A new connection every 15 messages keeps each within its burst allowance.
        if i > 0 && i % 15 == 0 {
            socket = connect(&server).await;
            welcome(&mut socket, Some(token.clone()), Some(conversation.clone())).await;
        }
        let id = format!("m{i}");
        acked.push((
            MessageId::new(&id).expect("id"),
            send_acked(&mut socket, &id).await,
        ));
    }
    // Three more go out unacked, and the server dies at once.
    for i in ACKED..ACKED + 3 {
        send(
            &mut socket,
            ClientFrame::SendText {
                id: MessageId::new(format!("m{i}")).expect("id"),
                text: "in flight".into(),
            },
        )
        .await;
    }
    server.kill_9();

    let server = start(&args);
    let mut socket = connect(&server).await;
    let (same_token, same_conversation, last_seq, events) =
        welcome(&mut socket, Some(token.clone()), Some(conversation.clone())).await;
    assert_eq!(
        (same_token, same_conversation),
        (token.clone(), conversation)
    );
    let seqs: Vec<u64> = events.iter().map(|(s, _)| s.0).collect();
    assert_eq!(seqs, (1..=last_seq.0).collect::<Vec<_>>(), "gap-free");
    let stored = visitor_ids(&events);
    let mut times: HashMap<&MessageId, usize> = HashMap::new();
    for id in &stored {
        *times.entry(id).or_default() += 1;
    }
    let lost = acked
        .iter()
        .filter(|(id, _)| !times.contains_key(id))
        .count();
    let duplicated: usize = times.values().map(|n| n - 1).sum();
    for (id, seq) in &acked {
        let at = events
            .iter()
            .find(|(_, e)| matches!(e, ConversationEvent::MessageReceived { id: Some(i), .. } if i == id))
            .map(|(s, _)| *s);
        assert_eq!(at, Some(*seq), "{id} kept at the seq it was acked as");
    }
    println!(
        "kill -9: {ACKED} acked + 3 in flight; after restart {} events, {} of the acked \
         present, {} of the in-flight kept; lost {lost}, duplicated {duplicated}",
        events.len(),
        acked.len() - lost,
        stored.len().saturating_sub(acked.len() - lost),
    );
    assert_eq!((lost, duplicated), (0, 0));

    // Resending an acked id is acked with the same seq and stores nothing new.
    let (first_id, first_seq) = acked[0].clone();
    assert_eq!(send_acked(&mut socket, first_id.as_str()).await, first_seq);
    let mut again = connect(&server).await;
    let (_, _, newest, _) = welcome(&mut again, Some(token), None).await;
    assert_eq!(newest, last_seq);
    drop(server);
    common::engine::remove(&db);
}

/// Every frame `socket` received before its server died, without waiting for more.
async fn drain(socket: &mut Socket) -> Vec<ServerFrame> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut frames = Vec::new();
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(2), socket.next()).await
    {
        if let Message::Text(text) = message
            && let Ok(frame) = ServerFrame::decode(text.as_str())
        {
            frames.push(frame);
        }
    }
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_keeps_every_acked_message_once() {
    const VISITORS: usize = 20;
    const EACH: usize = 12;
    let db = common::engine::fresh_target();
    let args = target_args(&db);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = start(&args);
    let mut visitors = Vec::new();
    for _ in 0..VISITORS {
        let mut socket = connect(&server).await;
        let (token, conversation, ..) = welcome(&mut socket, None, None).await;
        visitors.push((socket, token, conversation));
    }
    // Every visitor's messages go out at once, round by round. Halfway the first visitor
    // waits for its acks (so the server is busy writing); the server dies as soon as the
    // last message is written to its socket.
    let mut early_acks = Vec::new();
    for round in 0..EACH {
        if round == EACH / 2 {
            let socket = &mut visitors[0].0;
            while early_acks.len() < EACH / 2 {
                if let ServerFrame::Ack { id, seq } = recv(socket).await {
                    early_acks.push((id, seq));
                }
            }
        }
        for (v, (socket, ..)) in visitors.iter_mut().enumerate() {
            send(
                socket,
                ClientFrame::SendText {
                    id: MessageId::new(format!("v{v}m{round}")).expect("id"),
                    text: format!("visitor {v} message {round}"),
                },
            )
            .await;
        }
    }
    server.kill_9();
    let mut acked = Vec::new();
    for (v, (socket, ..)) in visitors.iter_mut().enumerate() {
        let frames = drain(socket).await;
        let early = if v == 0 {
            early_acks.clone()
        } else {
            Vec::new()
        };
        acked.push(
            early
                .into_iter()
                .chain(frames.into_iter().filter_map(|f| match f {
                    ServerFrame::Ack { id, seq } => Some((id, seq)),
                    _ => None,
                }))
                .collect::<Vec<_>>(),
        );
    }

    let server = start(&args);
    let (mut present, mut lost, mut duplicated) = (0, 0, 0);
    for ((_, token, conversation), acked) in visitors.iter().zip(&acked) {
        let mut socket = connect(&server).await;
        let (_, _, _, events) =
            welcome(&mut socket, Some(token.clone()), Some(conversation.clone())).await;
        let stored = visitor_ids(&events);
        present += stored.len();
        for (id, seq) in acked {
            let times = stored.iter().filter(|s| *s == id).count();
            let at = events.iter().find(|(_, e)| {
                matches!(e, ConversationEvent::MessageReceived { id: Some(i), .. } if i == id)
            });
            if times == 0 {
                lost += 1;
            }
            assert_eq!(
                at.map(|(s, _)| *s),
                Some(*seq),
                "{id} kept at its acked seq"
            );
        }
        let mut sorted = stored.clone();
        sorted.sort();
        sorted.dedup();
        duplicated += stored.len() - sorted.len();
    }
    let acked_total: usize = acked.iter().map(Vec::len).sum();
    println!(
        "kill -9 under load: {} messages from {VISITORS} visitors in flight, {acked_total} acked \
         before the kill; after restart {present} stored, lost {lost}, duplicated {duplicated}",
        VISITORS * EACH
    );
    assert_eq!((lost, duplicated), (0, 0));
    assert!(present >= acked_total);
    drop(server);
    common::engine::remove(&db);
}

/// The server's resident memory, from /proc (Linux), in KiB.
fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_database_of_10000_idle_sessions_starts_holding_none_and_recalls_one_on_demand() {
    const SESSIONS: usize = 10_000;
    let db = temp_db();
    let tokens = {
        let (mut database, mut store) = porchlight_server::store::database::Database::open_sqlite(
            &db,
            porchlight_server::store::sqlite::BUSY_TIMEOUT,
        )
        .expect("open");
        let greeting = porchlight_server::ServerConfig::default().bot.greeting();
        let mut tokens = Vec::new();
        for _ in 0..SESSIONS {
            let (token, conversation) = store.create_session();
            store.append(&conversation, greeting.clone());
            tokens.push((token, conversation));
        }
        let changes = store.take_changes();
        let rows = porchlight_server::store::sql::Rows::read(&store, &changes);
        database.commit(&[rows]).expect("write");
        tokens
    };
    let desk = Desk::open(config(BROADCAST, MANUAL_AGENTS), &db).expect("open");
    let held = || desk.read(|w| (w.store.session_count(), w.store.listened_sessions()));
    assert_eq!(held(), (0, 0), "nothing live, nothing held");
    let (token, conversation) = tokens[SESSIONS / 2].clone();
    desk.recall(Some(&token), None).await.expect("read");
    let (attached, _updates) = desk
        .hello(Some(&token), None, Seq(0), None, Instant::now(), || {
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
    assert_eq!(
        (attached.token, attached.conversation, attached.last_seq),
        (token, conversation, Seq(1)),
        "the returning visitor resumes their session"
    );
    assert_eq!(held(), (1, 1));
    drop(desk);

    // The figure: the real binary's memory on this database against an empty one.
    let empty = temp_db();
    let rss = |db: &Path| {
        let args = db_args(db);
        let server = start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let kib = resident_kib(server.pid());
        drop(server);
        kib
    };
    if let (Some(full), Some(bare)) = (rss(&db), rss(&empty)) {
        println!(
            "10000 idle sessions restored: {full} KiB resident against {bare} KiB empty, \
             {:.2} KiB a session",
            full.saturating_sub(bare) as f64 / SESSIONS as f64
        );
    }
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
    let _ = std::fs::remove_dir_all(empty.parent().expect("folder"));
}

#[test]
fn a_second_server_on_the_same_database_refuses_to_start() {
    let db = temp_db();
    let args = db_args(&db);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = start(&args);
    let output = Command::new(env!("CARGO_BIN_EXE_porchlight-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--widget-dir",
            "no-widget-here",
            "--db",
        ])
        .arg(&db)
        .output()
        .expect("run porchlight-server");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in use by another Porchlight server"),
        "stderr: {stderr}"
    );
    drop(first);
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}

#[tokio::test]
async fn with_memory_only_a_restart_welcomes_the_old_token_as_a_new_session() {
    let server = start(&["--memory"]);
    let mut socket = connect(&server).await;
    let (token, conversation, ..) = welcome(&mut socket, None, None).await;
    send_acked(&mut socket, "m1").await;
    server.kill_9();

    let server = start(&["--memory"]);
    let mut socket = connect(&server).await;
    let (new_token, new_conversation, last_seq, events) =
        welcome(&mut socket, Some(token.clone()), Some(conversation.clone())).await;
    assert_ne!(new_token, token);
    assert_ne!(new_conversation, conversation);
    assert_eq!(last_seq, Seq(1), "only the new greeting");
    assert_eq!(events.len(), 1);
}

#[test]
fn a_database_that_cannot_be_opened_stops_the_binary_with_a_clear_error() {
    let db = temp_db();
    let folder = db.parent().expect("folder").to_path_buf();
    std::fs::create_dir_all(folder.parent().expect("temp")).expect("temp");
    std::fs::write(&folder, "a file where the folder should be").expect("file");
    let output = Command::new(env!("CARGO_BIN_EXE_porchlight-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--widget-dir",
            "no-widget-here",
            "--db",
        ])
        .arg(&db)
        .output()
        .expect("run porchlight-server");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing on stdout");
    assert!(
        stderr.lines().any(|l| l.starts_with("error: ")),
        "stderr: {stderr}"
    );
    let _ = std::fs::remove_file(&folder);
}

// ----- the desk reopened on its database -----

/// A new visitor's session and conversation on `desk`.
fn new_visitor(desk: &Desk, now: Instant) -> ConversationId {
    desk.hello(None, None, Seq(0), None, now, || {
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
    .0
    .conversation
}

fn ask_for_agent(desk: &std::sync::Arc<Desk>, conversation: &ConversationId, now: Instant) {
    desk.request_agent(
        conversation,
        &RequestId::new("r1").expect("id"),
        &common::valid_answers(),
        now,
    )
    .expect("request");
}

fn ann() -> AgentId {
    AgentId::new("ann").expect("id")
}

#[tokio::test(start_paused = true)]
async fn a_reopened_desk_keeps_live_chats_with_their_agents() {
    let db = common::engine::fresh_target();
    let desk = Desk::open_at(config(BROADCAST, MANUAL_AGENTS), &db).expect("open");
    let now = Instant::now();
    let live = new_visitor(&desk, now);
    ask_for_agent(&desk, &live, now);
    desk.accept(&ann(), &live, now).expect("accept");
    let queued = new_visitor(&desk, now);
    ask_for_agent(&desk, &queued, now);
    drop(desk);

    let desk = Desk::open_at(config(BROADCAST, MANUAL_AGENTS), &db).expect("reopen");
    let now = Instant::now();
    let state = desk.state(now);
    assert_eq!(
        state
            .live
            .iter()
            .map(|l| (&l.conversation, &l.agent))
            .collect::<Vec<_>>(),
        vec![(&live, &ann())]
    );
    let view = desk.conversation(&live).expect("live chat");
    assert_eq!((view.status, view.agent), ("live", Some(ann())));
    assert_eq!(view.prechat, common::valid_answers());
    // Ann's one slot is still taken by the restored chat.
    assert!(desk.accept(&ann(), &queued, now).is_err());
    desk.agent_message(&ann(), &live, None, "Still here.")
        .expect("the agent writes on");
    desk.close(&ann(), &live, now).expect("the agent closes");
    assert_eq!(desk.conversation(&live).expect("chat").status, "ended");
    desk.accept(&ann(), &queued, now)
        .expect("the freed slot takes the waiting chat");
    common::engine::remove(&db);
}

#[tokio::test(start_paused = true)]
async fn a_reopened_desk_queues_waiting_requests_again_with_fresh_timers() {
    let db = common::engine::fresh_target();
    let queue_time = Duration::from_secs(60);
    let desk = Desk::open_at(config(BROADCAST, MANUAL_AGENTS), &db).expect("open");
    let asked = Instant::now();
    let first = new_visitor(&desk, asked);
    ask_for_agent(&desk, &first, asked);
    let second = new_visitor(&desk, asked);
    ask_for_agent(&desk, &second, asked);
    drop(desk);

    tokio::time::advance(Duration::from_secs(50)).await;
    let desk = Desk::open_at(config(BROADCAST, MANUAL_AGENTS), &db).expect("reopen");
    let reopened = Instant::now();
    // SQLite: the wait starts again. PostgreSQL, shared by a cluster: the wait goes on as
    // the cluster left it, on the wall clock — on which hardly any time passed here.
    let queue: Vec<_> = desk
        .state(reopened)
        .routing
        .queue
        .iter()
        .map(|q| (q.conversation.clone(), q.position, q.waited_ms < 1_000))
        .collect();
    assert_eq!(
        queue,
        vec![(first.clone(), 1, true), (second.clone(), 2, true)]
    );
    assert_eq!(
        desk.conversation(&first).expect("chat").prechat,
        common::valid_answers()
    );

    desk.expire(asked + queue_time);
    assert_eq!(desk.conversation(&first).expect("chat").status, "queued");
    desk.expire(reopened + queue_time);
    assert_eq!(desk.conversation(&first).expect("chat").status, "missed");
    assert_eq!(desk.conversation(&second).expect("chat").status, "missed");
    common::engine::remove(&db);
}

#[tokio::test(start_paused = true)]
async fn a_reopened_desk_assigns_a_connecting_request_again() {
    let db = common::engine::fresh_target();
    let desk = Desk::open_at(config(TIME_BASED, MANUAL_AGENTS), &db).expect("open");
    let now = Instant::now();
    let waiting = new_visitor(&desk, now);
    ask_for_agent(&desk, &waiting, now);
    assert_eq!(
        desk.conversation(&waiting).expect("chat").status,
        "connecting"
    );
    drop(desk);

    let desk = Desk::open_at(config(TIME_BASED, MANUAL_AGENTS), &db).expect("reopen");
    let now = Instant::now();
    assert_eq!(
        desk.conversation(&waiting).expect("chat").status,
        "connecting"
    );
    let engaged: Vec<_> = desk.state(now).engaged.into_values().flatten().collect();
    assert_eq!(engaged, vec![waiting.clone()]);
    desk.accept(&ann(), &waiting, now).expect("ann accepts");
    assert_eq!(desk.conversation(&waiting).expect("chat").status, "live");
    common::engine::remove(&db);
}

#[tokio::test(start_paused = true)]
async fn a_reopened_desk_finds_a_verified_users_session_from_another_browser() {
    let db = common::engine::fresh_target();
    let desk = Desk::open_at(config(BROADCAST, MANUAL_AGENTS), &db).expect("open");
    let now = Instant::now();
    let known = porchlight_protocol::Identity::new("user-42").known(true);
    let hello = |desk: &Desk, identity: Option<porchlight_protocol::KnownIdentity>| {
        desk.hello(None, None, Seq(0), identity, now, || {
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {})
        .0
    };
    let first = hello(&desk, Some(known.clone()));
    desk.durable().await.expect("durable");
    drop(desk);

    let desk = Desk::open_at(config(BROADCAST, MANUAL_AGENTS), &db).expect("reopen");
    assert_eq!(
        desk.identity(&first.token),
        None,
        "a session with nothing live stays in the database at start"
    );
    // Another browser: no token, the same verified user; the socket recalls first.
    desk.recall(None, Some("user-42")).await.expect("read");
    assert_eq!(desk.identity(&first.token), Some(known.clone()));
    let again = hello(&desk, Some(known));
    assert_eq!(
        (again.token, again.conversation),
        (first.token, first.conversation)
    );
    common::engine::remove(&db);
}

#[test]
fn an_unreachable_postgres_stops_the_binary_naming_the_cause_but_never_the_password() {
    // A loopback port nothing listens on: bound, noted, released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_porchlight-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--widget-dir",
            "no-widget-here",
            "--db",
            &format!("postgres://porch:hunter2-secret@127.0.0.1:{port}/chat"),
        ])
        .output()
        .expect("run porchlight-server");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: database postgres://porch:***@127.0.0.1:{port}/chat"
        )) && stderr.contains("refused"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}
