//! The real `porchlight-mock` binary, killed with SIGKILL mid-conversation and started
//! again: with its SQLite database nothing it acked is lost and the visitor resumes; with
//! `--memory` the visitor is told its session is gone.

mod common;

use common::{Socket, connect_at, recv, send};
use porchlight_protocol::{
    ClientFrame, ConversationEvent, ConversationId, MessageId, PROTOCOL_VERSION, Replay, Seq,
    ServerFrame, SessionToken, SiteId,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The server process, killed on drop.
struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts the binary on a free port with `store_args`; waits for its one stdout line.
    fn start(store_args: &[&str]) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_porchlight-mock"))
            .args(["--addr", "127.0.0.1:0", "--widget-dir", "no-widget-here"])
            .args(store_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start porchlight-mock");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read");
        let addr = line
            .trim()
            .strip_prefix("Porchlight demo: http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Process { child, addr }
    }

    /// SIGKILL: no shutdown, no flush, nothing.
    fn kill_9(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    async fn connect(&self) -> Socket {
        connect_at(self.addr, &format!("http://{}", self.addr))
            .await
            .expect("connect")
    }
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

/// Says hello; returns the welcome's token, conversation, newest seq and replay, and every
/// event replayed before the status.
async fn welcome(
    socket: &mut Socket,
    token: Option<SessionToken>,
    conversation: Option<ConversationId>,
) -> (
    SessionToken,
    ConversationId,
    Seq,
    Replay,
    Vec<(Seq, ConversationEvent)>,
) {
    send(socket, hello(token, conversation)).await;
    let ServerFrame::Welcome {
        token,
        conversation,
        last_seq,
        replay,
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
    (token, conversation, last_seq, replay, events)
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
    let server = Process::start(&args);
    let mut socket = server.connect().await;
    let (token, conversation, ..) = welcome(&mut socket, None, None).await;
    let mut acked = Vec::new();
    for i in 0..ACKED {
        // A new connection every 15 messages keeps each within its burst allowance.
        if i > 0 && i % 15 == 0 {
            socket = server.connect().await;
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

    let server = Process::start(&args);
    let mut socket = server.connect().await;
    let (same_token, same_conversation, last_seq, replay, events) =
        welcome(&mut socket, Some(token.clone()), Some(conversation.clone())).await;
    assert_eq!(
        (same_token, same_conversation),
        (token.clone(), conversation)
    );
    assert_eq!(replay, Replay::Socket);
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
    let mut again = server.connect().await;
    let (_, _, newest, _, _) = welcome(&mut again, Some(token), None).await;
    assert_eq!(newest, last_seq);
    drop(server);
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}

#[tokio::test]
async fn with_memory_only_a_restart_tells_the_visitor_its_session_is_gone() {
    let server = Process::start(&["--memory"]);
    let mut socket = server.connect().await;
    let (token, conversation, ..) = welcome(&mut socket, None, None).await;
    send_acked(&mut socket, "m1").await;
    server.kill_9();

    let server = Process::start(&["--memory"]);
    let mut socket = server.connect().await;
    let (new_token, new_conversation, last_seq, replay, events) =
        welcome(&mut socket, Some(token.clone()), Some(conversation.clone())).await;
    assert_eq!(replay, Replay::Lost);
    assert_ne!(new_token, token);
    assert_ne!(new_conversation, conversation);
    assert_eq!(last_seq, Seq(1), "only the new greeting");
    assert_eq!(events.len(), 1);
}
