//! Several desks on one PostgreSQL database, as several server processes run them: each
//! desk here has its own deciding and listening connections, as a process would. A
//! request made through one is seen by the others; of two agents accepting through two
//! desks exactly one wins; messages cross both ways; a queue timer nobody answers fires
//! once; agents' presence is shared; a visitor resumes on another desk.

mod common;

use common::{BROADCAST, MANUAL_AGENTS, agent, config, requesting, visitor};
use porchlight_protocol::{ConversationEvent, ConversationId, MessageId, Seq};
use porchlight_server::desk::{Desk, DeskError};
use porchlight_server::store::Update;
use porchlight_server::store::database::Target;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a change may take to reach another desk before the test fails.
const REACH: Duration = Duration::from_secs(10);

/// `n` desks on one fresh PostgreSQL database.
fn desks(n: usize, routing: &str) -> (Vec<Arc<Desk>>, Target) {
    let target = Target::Postgres(
        common::engine::postgres()
            .fresh_database("cluster")
            .expect("a fresh database"),
    );
    let desks = (0..n)
        .map(|_| Desk::open_at(config(routing, MANUAL_AGENTS), &target).expect("open"))
        .collect();
    (desks, target)
}

/// Waits, on `desk`'s stream of changes, until `holds` says yes.
async fn until(desk: &Desk, what: &str, holds: impl Fn(&Desk) -> bool) {
    let (_, mut changes) = desk.watch(|_| ());
    let deadline = Instant::now() + REACH;
    while !holds(desk) {
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Ok(_) => {}
            Err(_) => panic!("{what}: not seen within {REACH:?}"),
        }
    }
}

fn status(desk: &Desk, id: &ConversationId) -> Option<String> {
    desk.read(|world| {
        world
            .store
            .conversation(id)
            .map(|c| c.phase.name().to_string())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_made_through_one_desk_is_seen_at_once_by_another() {
    let (desks, _) = desks(3, BROADCAST);
    let (_, asked) = requesting(&desks[0], "r1");
    for other in &desks[1..] {
        until(other, "the queued request", |d| {
            d.state(Instant::now())
                .routing
                .queue
                .iter()
                .any(|q| q.conversation == asked)
        })
        .await;
        assert_eq!(status(other, &asked).as_deref(), Some("queued"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_agents_accepting_through_two_desks_exactly_one_wins() {
    let (desks, _) = desks(2, BROADCAST);
    for round in 0..5 {
        let (_, asked) = requesting(&desks[0], &format!("r{round}"));
        until(&desks[1], "the request", |d| {
            status(d, &asked).as_deref() == Some("queued")
        })
        .await;
        let (one, two) = (Arc::clone(&desks[0]), Arc::clone(&desks[1]));
        let (a, b) = (asked.clone(), asked.clone());
        let first =
            tokio::task::spawn_blocking(move || one.accept(&agent("ann"), &a, Instant::now()));
        let second =
            tokio::task::spawn_blocking(move || two.accept(&agent("ben"), &b, Instant::now()));
        let results = [first.await.expect("joined"), second.await.expect("joined")];
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(DeskError::Taken(_)))),
            "round {round}: the loser is told who took it: {results:?}"
        );
        let winner = if results[0].is_ok() { "ann" } else { "ben" };
        for desk in &desks {
            until(desk, "the live chat", |d| {
                status(d, &asked).as_deref() == Some("live")
            })
            .await;
        }
        let joined = desks[0]
            .conversation(&asked)
            .expect("stored")
            .events
            .iter()
            .filter(|e| matches!(e.event, ConversationEvent::AgentJoined { .. }))
            .count();
        assert_eq!(joined, 1, "one agent joined");
        desks[0]
            .close(&agent(winner), &asked, Instant::now())
            .expect("close, through either desk");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_desks_both_ways_each_once_and_in_order() {
    let (desks, _) = desks(2, BROADCAST);
    let (visitor_side, agent_side) = (&desks[0], &desks[1]);
    let (token, asked) = requesting(visitor_side, "r1");
    let (_, mut tab) = visitor_side
        .hello(
            Some(&token),
            Some(&asked),
            Seq(0),
            None,
            Instant::now(),
            || Ok::<(), std::convert::Infallible>(()),
        )
        .unwrap_or_else(|never| match never {});
    until(agent_side, "the request", |d| {
        status(d, &asked).as_deref() == Some("queued")
    })
    .await;
    agent_side
        .accept(&agent("ann"), &asked, Instant::now())
        .expect("accept");
    // The visitor's tab hears every agent message, once, in order.
    let mut heard = Vec::new();
    for i in 0..10 {
        visitor_side
            .visitor_text(
                &asked,
                &MessageId::new(format!("v{i}")).expect("id"),
                &format!("visitor {i}"),
            )
            .expect("visitor writes");
        agent_side
            .agent_message(&agent("ann"), &asked, None, &format!("agent {i}"))
            .expect("agent writes");
        let deadline = Instant::now() + REACH;
        while heard.len() <= i {
            match tokio::time::timeout_at(deadline, tab.recv()).await {
                Ok(Ok(Update::Event { event, .. })) => {
                    if let ConversationEvent::MessageReceived { text, .. } = event.event
                        && text.starts_with("agent")
                    {
                        heard.push(text);
                    }
                }
                Ok(Ok(_)) => {}
                other => panic!("the visitor's tab: {other:?} after {heard:?}"),
            }
        }
    }
    assert_eq!(
        heard,
        (0..10).map(|i| format!("agent {i}")).collect::<Vec<_>>()
    );
    // Both desks hold the same conversation: 20 messages, seqs without gaps.
    for desk in &desks {
        until(desk, "every message", |d| {
            d.read(|w| w.store.last_seq(&asked)) == visitor_side.read(|w| w.store.last_seq(&asked))
        })
        .await;
        let events = desk.read(|w| w.store.events_after(&asked, Seq(0)));
        let texts: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.event {
                ConversationEvent::MessageReceived { text, .. } => Some(text.clone()),
                _ => None,
            })
            .filter(|t| t.starts_with("visitor") || t.starts_with("agent"))
            .collect();
        assert_eq!(texts.len(), 20, "{texts:?}");
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.seq == Seq(i as u64 + 1))
        );
    }
    // A resent visitor message is stored once, whichever desk it reaches.
    let before = agent_side.read(|w| w.store.last_seq(&asked));
    agent_side
        .visitor_text(&asked, &MessageId::new("v3").expect("id"), "visitor 3")
        .expect("a resend is acked");
    assert_eq!(agent_side.read(|w| w.store.last_seq(&asked)), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_presence_is_shared_by_every_desk() {
    let (desks, _) = desks(2, BROADCAST);
    let online = |d: &Desk| {
        d.state(Instant::now())
            .routing
            .agents
            .iter()
            .find(|a| a.id == agent("ann"))
            .map(|a| a.online)
    };
    desks[0]
        .set_online(&agent("ann"), false, Instant::now())
        .expect("offline");
    until(&desks[1], "ann offline", |d| online(d) == Some(false)).await;
    desks[1]
        .set_online(&agent("ann"), true, Instant::now())
        .expect("online");
    until(&desks[0], "ann online", |d| online(d) == Some(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_timer_nobody_answers_fires_once_across_desks() {
    let routing = "mode = \"broadcast\"\nqueue_time_secs = 1\nacceptance_time_secs = 1";
    let (desks, _) = desks(3, routing);
    let (_, asked) = requesting(&desks[1], "r1");
    for desk in &desks {
        until(desk, "the missed request", |d| {
            status(d, &asked).as_deref() == Some("missed")
        })
        .await;
    }
    let view = desks[2].conversation(&asked).expect("stored");
    let missed = view
        .events
        .iter()
        .filter(|e| matches!(e.event, ConversationEvent::Missed {}))
        .count();
    assert_eq!(missed, 1, "the timer fired once: {:?}", view.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_visitor_on_one_desk_resumes_on_another() {
    let (desks, _) = desks(2, BROADCAST);
    let (token, conversation) = visitor(&desks[0]);
    desks[0]
        .visitor_text(
            &conversation,
            &MessageId::new("m1").expect("id"),
            "hello there",
        )
        .expect("write");
    // Acked, as the socket acks: once written.
    desks[0].durable().await.expect("written");
    // The visitor's next connection lands on the other desk.
    desks[1].recall(Some(&token), None).await.expect("read");
    let (attached, _) = desks[1]
        .hello(
            Some(&token),
            Some(&conversation),
            Seq(0),
            None,
            Instant::now(),
            || Ok::<(), std::convert::Infallible>(()),
        )
        .unwrap_or_else(|never| match never {});
    assert_eq!(attached.token, token);
    assert_eq!(attached.conversation, conversation);
    let texts: Vec<String> = desks[1]
        .read(|w| w.store.events_after(&conversation, Seq(0)))
        .into_iter()
        .filter_map(|e| match e.event {
            ConversationEvent::MessageReceived { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert!(texts.contains(&"hello there".to_string()), "{texts:?}");
    // And writes on from there.
    desks[1]
        .visitor_text(
            &conversation,
            &MessageId::new("m2").expect("id"),
            "still me",
        )
        .expect("write");
    until(&desks[0], "the message", |d| {
        d.read(|w| w.store.last_seq(&conversation))
            == desks[1].read(|w| w.store.last_seq(&conversation))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_whose_listening_connection_is_killed_misses_no_change() {
    let (desks, target) = desks(2, BROADCAST);
    let Target::Postgres(url) = target else {
        unreachable!("desks() makes a PostgreSQL database")
    };
    // Kill every listening connection on the database, as a failover or an operator would.
    let killed = tokio::task::spawn_blocking(move || {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let listening = "FROM pg_stat_activity WHERE datname = current_database() \
                         AND application_name = 'porchlight-listener'";
        // The listening threads connect on their own: wait until both are there.
        let deadline = std::time::Instant::now() + REACH;
        while admin
            .query(&format!("SELECT pid {listening}"), &[])
            .expect("list")
            .len()
            < 2
        {
            assert!(std::time::Instant::now() < deadline, "two listeners");
            std::thread::sleep(Duration::from_millis(10));
        }
        admin
            .query(
                &format!("SELECT pg_terminate_backend(pid) {listening}"),
                &[],
            )
            .expect("terminate")
            .len()
    })
    .await
    .expect("joined");
    assert_eq!(killed, 2, "one listening connection per desk");
    // Changes made while desk 1 is not listening, and after.
    let (_, first) = requesting(&desks[0], "r1");
    let (_, second) = requesting(&desks[0], "r2");
    for asked in [&first, &second] {
        until(&desks[1], "the request", |d| {
            status(d, asked).as_deref() == Some("queued")
        })
        .await;
    }
}
