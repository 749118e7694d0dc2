//! The database failing mid-conversation, over a real socket: another connection holds
//! SQLite's write lock, so the server's commits fail (`SQLITE_BUSY` after its busy
//! timeout). The visitor's message is not acked but answered `unavailable`; once the lock
//! goes the server writes it by itself, tells it once, and acks the widget's resend with
//! the same seq.

mod common;

use common::{connect, recv, send};
use porchlight_protocol::{
    ClientFrame, ConversationEvent, ErrorCode, MessageId, PROTOCOL_VERSION, Seq, ServerFrame,
    SiteId,
};
use porchlight_server::desk::Desk;
use porchlight_server::{Options, ServerConfig, Shared};
use std::time::Duration;

/// A visitor message frame.
fn text(id: &str, text: &str) -> ClientFrame {
    ClientFrame::SendText {
        id: MessageId::new(id).expect("id"),
        text: text.into(),
    }
}

/// Frames until (and with) the first that `wanted` picks, within 10 s.
async fn until(
    socket: &mut common::Socket,
    wanted: impl Fn(&ServerFrame) -> bool,
) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let frame = recv(socket).await;
            let done = wanted(&frame);
            frames.push(frame);
            if done {
                return;
            }
        }
    })
    .await
    .expect("the awaited frame within 10 s");
    frames
}

fn is_visitor_message(frame: &ServerFrame, id: &str) -> bool {
    matches!(frame, ServerFrame::Event {
        event: ConversationEvent::MessageReceived { id: Some(m), .. }, ..
    } if m.as_str() == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_while_the_database_fails_is_written_once_when_it_recovers() {
    let db = std::env::temp_dir()
        .join(format!(
            "porchlight-faults-{}-{}",
            std::process::id(),
            porchlight_server::store::random_id()
        ))
        .join("db.sqlite3");
    let mut config = ServerConfig::default();
    config.customers.clear();
    let desk = Desk::open_with(config, &db, Duration::from_millis(100)).expect("open");
    let server = common::start_on(Shared::with(
        desk,
        Options::serving("no-widget-here".into()),
    ))
    .await;

    let mut socket = connect(&server).await;
    send(
        &mut socket,
        ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            site: SiteId::new("demo").expect("id"),
            token: None,
            conversation: None,
            last_seq: Seq(0),
        },
    )
    .await;
    until(&mut socket, |f| matches!(f, ServerFrame::Status { .. })).await;
    send(&mut socket, text("m1", "before the fault")).await;
    until(&mut socket, |f| matches!(f, ServerFrame::Ack { .. })).await;

    // The fault: another connection takes the write lock and keeps it.
    let blocker = rusqlite::Connection::open(&db).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    send(&mut socket, text("m2", "during the fault")).await;
    let during = until(&mut socket, |f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(
        matches!(
            during.last(),
            Some(ServerFrame::Error {
                code: ErrorCode::Unavailable,
                ..
            })
        ),
        "{during:?}"
    );
    assert!(
        !during
            .iter()
            .any(|f| matches!(f, ServerFrame::Ack { .. }) || is_visitor_message(f, "m2")),
        "nothing acked or shown before it is durable: {during:?}"
    );

    // The disk recovers: the server writes the kept change by itself and tells it once.
    blocker.execute_batch("COMMIT").expect("unlock");
    let recovered = until(&mut socket, |f| is_visitor_message(f, "m2")).await;
    let Some(ServerFrame::Event { seq: stored, .. }) = recovered.last() else {
        panic!("expected the event");
    };
    let stored = *stored;
    // The widget's resend (same id) is acked with the seq it was stored as, not stored again.
    send(&mut socket, text("m2", "during the fault")).await;
    let resent = until(&mut socket, |f| matches!(f, ServerFrame::Ack { .. })).await;
    assert!(
        matches!(resent.last(), Some(ServerFrame::Ack { id, seq }) if id.as_str() == "m2" && *seq == stored),
        "{resent:?}"
    );
    assert!(
        !resent.iter().any(|f| is_visitor_message(f, "m2")),
        "told once: {resent:?}"
    );
    drop(socket);
    drop(server);
    drop(blocker);

    // In the database once.
    let count = || -> rusqlite::Result<i64> {
        rusqlite::Connection::open(&db)?.query_row(
            "SELECT COUNT(*) FROM events WHERE event LIKE '%during the fault%'",
            [],
            |r| r.get(0),
        )
    };
    assert_eq!(count().expect("count"), 1);
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}
