//! The real `porchlight-mock` binary, killed with SIGKILL mid-conversation and started
//! again: with its SQLite database nothing it acked is lost and the visitor resumes; with
//! `--memory` the old session is gone. Also the desk reopened on its database: live chats
//! stay with their agents, waiting requests ask again with fresh timers.

mod common;

use porchlight_mock::process::ServerProcess;

use common::{BROADCAST, MANUAL_AGENTS, Socket, TIME_BASED, config, connect_at, recv, send};
use porchlight_mock::desk::Desk;
use porchlight_protocol::{
    AgentId, ClientFrame, ConversationEvent, ConversationId, MessageId, PROTOCOL_VERSION,
    RequestId, Seq, ServerFrame, SessionToken, SiteId,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;

/// Starts the real binary with `store_args`.
fn start(store_args: &[&str]) -> ServerProcess {
    let args = ["--widget-dir", "no-widget-here"].iter().chain(store_args);
    ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_porchlight-mock")), args)
        .expect("start porchlight-mock")
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
            porchlight_mock::store::random_id()
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

#[tokio::test]
async fn after_kill_9_every_acked_message_is_there_once_and_the_visitor_resumes() {
    const ACKED: usize = 60;
    let db = temp_db();
    let args = db_args(&db);
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
    let output = Command::new(env!("CARGO_BIN_EXE_porchlight-mock"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--widget-dir",
            "no-widget-here",
            "--db",
        ])
        .arg(&db)
        .output()
        .expect("run porchlight-mock");
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
    desk.hello(None, None, Seq(0), now, || {
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
    let db = temp_db();
    let desk = Desk::open(config(BROADCAST, MANUAL_AGENTS), &db).expect("open");
    let now = Instant::now();
    let live = new_visitor(&desk, now);
    ask_for_agent(&desk, &live, now);
    desk.accept(&ann(), &live, now).expect("accept");
    let queued = new_visitor(&desk, now);
    ask_for_agent(&desk, &queued, now);
    drop(desk);

    let desk = Desk::open(config(BROADCAST, MANUAL_AGENTS), &db).expect("reopen");
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
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}

#[tokio::test(start_paused = true)]
async fn a_reopened_desk_queues_waiting_requests_again_with_fresh_timers() {
    let db = temp_db();
    let queue_time = Duration::from_secs(60);
    let desk = Desk::open(config(BROADCAST, MANUAL_AGENTS), &db).expect("open");
    let asked = Instant::now();
    let first = new_visitor(&desk, asked);
    ask_for_agent(&desk, &first, asked);
    let second = new_visitor(&desk, asked);
    ask_for_agent(&desk, &second, asked);
    drop(desk);

    tokio::time::advance(Duration::from_secs(50)).await;
    let desk = Desk::open(config(BROADCAST, MANUAL_AGENTS), &db).expect("reopen");
    let reopened = Instant::now();
    let queue: Vec<_> = desk
        .state(reopened)
        .routing
        .queue
        .iter()
        .map(|q| (q.conversation.clone(), q.position, q.waited_ms))
        .collect();
    assert_eq!(queue, vec![(first.clone(), 1, 0), (second.clone(), 2, 0)]);
    assert_eq!(
        desk.conversation(&first).expect("chat").prechat,
        common::valid_answers()
    );

    desk.expire(asked + queue_time);
    assert_eq!(desk.conversation(&first).expect("chat").status, "queued");
    desk.expire(reopened + queue_time);
    assert_eq!(desk.conversation(&first).expect("chat").status, "missed");
    assert_eq!(desk.conversation(&second).expect("chat").status, "missed");
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}

#[tokio::test(start_paused = true)]
async fn a_reopened_desk_assigns_a_connecting_request_again() {
    let db = temp_db();
    let desk = Desk::open(config(TIME_BASED, MANUAL_AGENTS), &db).expect("open");
    let now = Instant::now();
    let waiting = new_visitor(&desk, now);
    ask_for_agent(&desk, &waiting, now);
    assert_eq!(
        desk.conversation(&waiting).expect("chat").status,
        "connecting"
    );
    drop(desk);

    let desk = Desk::open(config(TIME_BASED, MANUAL_AGENTS), &db).expect("reopen");
    let now = Instant::now();
    assert_eq!(
        desk.conversation(&waiting).expect("chat").status,
        "connecting"
    );
    let engaged: Vec<_> = desk.state(now).engaged.into_values().flatten().collect();
    assert_eq!(engaged, vec![waiting.clone()]);
    desk.accept(&ann(), &waiting, now).expect("ann accepts");
    assert_eq!(desk.conversation(&waiting).expect("chat").status, "live");
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}
