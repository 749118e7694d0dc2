//! The database is the state of record: a settled session leaves memory once written and
//! idle, comes back when its visitor returns, and its history, transcripts and console
//! rows are read from the database; what is live or held open never leaves; a history
//! read stays under its byte cap. Always on a database: SQLite, or PostgreSQL when the run
//! asks for it (`PORCHLIGHT_TEST_DB=postgres`).

mod common;

use common::{BROADCAST, MANUAL_AGENTS, agent, config, requesting, visitor};
use porchlight_protocol::{ConversationId, MessageId, Seq, SessionToken};
use porchlight_server::desk::Desk;
use porchlight_server::desk::folders::HISTORY_IN_SNAPSHOT;
use porchlight_server::desk::visitor::MAX_READ_BYTES;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

fn desk_on_a_database() -> (Arc<Desk>, porchlight_server::store::database::Target) {
    let target = common::engine::fresh_target();
    let desk = Desk::open_at(config(BROADCAST, MANUAL_AGENTS), &target).expect("open");
    (desk, target)
}

/// Well past `limits.idle_session_minutes` from now.
fn after_the_idle_time(desk: &Desk) -> Instant {
    Instant::now() + desk.config.limits.idle_session() + Duration::from_secs(1)
}

fn held_sessions(desk: &Desk) -> usize {
    desk.read(|world| world.store.session_count())
}

fn held(desk: &Desk, conversation: &ConversationId) -> bool {
    desk.read(|world| world.store.conversation(conversation).is_some())
}

/// A visitor who chatted with Ann about a parcel, ended, and started anew: one past
/// conversation, a current one with the bot.
fn a_finished_chat(desk: &Arc<Desk>) -> (SessionToken, ConversationId, ConversationId) {
    let (token, first) = requesting(desk, "r1");
    let now = Instant::now();
    desk.accept(&agent("ann"), &first, now).expect("accept");
    desk.visitor_text(
        &first,
        &MessageId::new("m1").expect("id"),
        "My parcel never came",
    )
    .expect("write");
    desk.agent_message(&agent("ann"), &first, None, "Let me look")
        .expect("write");
    desk.close(&agent("ann"), &first, now).expect("close");
    let second = desk.start_new(&token).expect("start anew");
    (token, first, second)
}

#[tokio::test]
async fn a_settled_session_leaves_memory_and_its_visitor_finds_everything_on_return() {
    let (desk, target) = desk_on_a_database();
    let (token, first, second) = a_finished_chat(&desk);
    let (_, live) = requesting(&desk, "r2");
    desk.accept(&agent("ben"), &live, Instant::now())
        .expect("accept");
    // A third visitor keeps a tab open.
    let (open_tab, _updates) = desk
        .hello(None, None, Seq(0), None, Instant::now(), || {
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});

    // That nothing leaves before the writer has committed it is the store's unit test
    // (`a_session_leaves_only_once_written_and_idle`): here the writer races the check.
    desk.flush().expect("written");
    assert_eq!(
        desk.let_go_settled(Instant::now()),
        (0, 0),
        "nothing leaves before the idle time"
    );
    assert_eq!(desk.let_go_settled(after_the_idle_time(&desk)), (1, 0));
    assert_eq!(
        held_sessions(&desk),
        2,
        "the live chat and the open tab stay"
    );
    assert!(!held(&desk, &first) && !held(&desk, &second));
    assert!(held(&desk, &live) && held(&desk, &open_tab.conversation));

    // Read from the database meanwhile: the control API's view, the visitor's history and
    // transcript, the console's rows, search and detail.
    let view = desk.conversation(&first).expect("read back");
    assert_eq!(view.status, "ended");
    let texts: Vec<&str> = view.transcript.iter().map(|l| l.text.as_str()).collect();
    assert!(texts.contains(&"My parcel never came") && texts.contains(&"Let me look"));
    let history = desk
        .history(&token, 0, 50)
        .await
        .expect("read")
        .expect("the session is known");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].conversation, first);
    assert_eq!(history[0].events.len(), view.events.len());
    let transcript = desk
        .transcript(&token, &first, Seq(2), 500)
        .await
        .expect("read")
        .expect("ours");
    assert_eq!(
        transcript.first().map(|e| e.seq),
        Some(Seq(3)),
        "after the seq asked"
    );
    let stranger = SessionToken::new("someone-else").expect("token");
    assert_eq!(
        desk.transcript(&stranger, &first, Seq(0), 500)
            .await
            .expect("read"),
        None,
        "someone else's conversation is unknown"
    );
    let rows = desk.stored_closed(HISTORY_IN_SNAPSHOT).await;
    assert!(rows.iter().any(|r| r.id == first));
    for query in ["parcel", "PARCEL", "ada@example", "Ada", ""] {
        let found = desk.stored_search(query, 200).await;
        assert_eq!(
            found.iter().map(|r| &r.id).collect::<Vec<_>>(),
            vec![&first],
            "{query:?}"
        );
    }
    assert!(desk.stored_search("message_received", 200).await.is_empty());
    assert!(desk.stored_search("100%", 200).await.is_empty());
    let (stored, _) = desk.stored_conversation(&first).await.expect("stored");
    assert_eq!(stored.events.len(), view.events.len());

    // The visitor comes back: the session returns with its current conversation.
    desk.recall(Some(&token), None).await.expect("read");
    let (again, _updates) = desk
        .hello(
            Some(&token),
            Some(&second),
            Seq(0),
            None,
            Instant::now(),
            || Ok::<(), std::convert::Infallible>(()),
        )
        .unwrap_or_else(|never| match never {});
    assert_eq!((&again.token, &again.conversation), (&token, &second));
    assert_eq!(again.replay, porchlight_protocol::Replay::Socket);
    assert_eq!(
        again.missed.len(),
        1,
        "the greeting of the new conversation"
    );
    assert_eq!(held_sessions(&desk), 3);
    common::engine::remove(&target);
}

/// The widget's first frame, for a new session or to resume one.
fn hello(
    token: Option<SessionToken>,
    conversation: Option<ConversationId>,
) -> porchlight_protocol::ClientFrame {
    porchlight_protocol::ClientFrame::Hello {
        version: porchlight_protocol::PROTOCOL_VERSION,
        site: porchlight_protocol::SiteId::new("demo").expect("site"),
        token,
        conversation,
        last_seq: Seq(0),
    }
}

#[tokio::test]
async fn a_settled_session_comes_back_over_the_socket() {
    let target = common::engine::fresh_target();
    let desk = Desk::open_at(config(BROADCAST, MANUAL_AGENTS), &target).expect("open");
    let state = porchlight_server::Shared::with(
        desk.clone(),
        porchlight_server::Options::serving("no-widget-here".into()),
    );
    let server = common::start_on(state).await;
    let mut socket = common::connect(&server).await;
    common::send(&mut socket, hello(None, None)).await;
    let porchlight_protocol::ServerFrame::Welcome {
        token,
        conversation,
        ..
    } = common::recv(&mut socket).await
    else {
        panic!("expected a welcome");
    };
    drop(socket);
    // The server notices the closed socket when it next reads.
    let mut left = (0, 0);
    for _ in 0..100 {
        desk.flush().expect("written");
        left = desk.let_go_settled(after_the_idle_time(&desk));
        if left.0 == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left, (1, 0));
    assert!(!held(&desk, &conversation));

    let mut socket = common::connect(&server).await;
    common::send(
        &mut socket,
        hello(Some(token.clone()), Some(conversation.clone())),
    )
    .await;
    let porchlight_protocol::ServerFrame::Welcome {
        token: back,
        conversation: same,
        last_seq,
        ..
    } = common::recv(&mut socket).await
    else {
        panic!("expected a welcome");
    };
    assert_eq!((back, same), (token, conversation));
    assert_eq!(last_seq, Seq(1), "the bot's greeting, replayed");
    common::engine::remove(&target);
}

#[tokio::test]
async fn a_history_read_of_fifty_full_conversations_stays_under_the_byte_cap() {
    let (desk, target) = desk_on_a_database();
    let (token, mut conversation) = visitor(&desk);
    let long = "x".repeat(porchlight_protocol::limits::MAX_MESSAGE_CHARS);
    let mut past = Vec::new();
    for c in 0..51 {
        let now = Instant::now();
        desk.request_agent(
            &conversation,
            &common::request(&format!("r{c}")),
            &common::valid_answers(),
            now,
        )
        .expect("request");
        desk.accept(&agent("ann"), &conversation, now)
            .expect("accept");
        for n in 0..40 {
            desk.visitor_text(
                &conversation,
                &MessageId::new(format!("m{c}-{n}")).expect("id"),
                &long,
            )
            .expect("room");
        }
        desk.close(&agent("ann"), &conversation, now)
            .expect("close");
        past.push(conversation.clone());
        conversation = desk.start_new(&token).expect("start anew");
    }
    desk.flush().expect("written");
    let history = desk
        .history(&token, 0, 50)
        .await
        .expect("read")
        .expect("the session is known");
    let bytes = serde_json::to_string(&history).expect("json").len();
    let events: usize = history.iter().map(|c| c.events.len()).sum();
    println!(
        "history of 51 conversations of 40 messages of {} characters: {} conversations, {events} events, {bytes} bytes in one read",
        long.len(),
        history.len()
    );
    assert!(bytes <= MAX_READ_BYTES, "{bytes} bytes");
    assert!(history.len() >= 2, "as many as fit");
    assert_eq!(history[0].conversation, past[50], "newest first");
    common::engine::remove(&target);
}
