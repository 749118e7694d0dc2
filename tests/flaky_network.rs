//! End to end over a bad network: the widget in headless Chromium reaches the real mock
//! server only through a fault-injecting proxy that cuts, stalls and refuses connections.
//! Whatever the network does, nothing is lost and nothing shows twice — checked on both
//! sides, the visitor's DOM and the server's transcript. Each test prints its figures.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::proxy::{Direction, FaultyProxy};
use browser::{Browser, Chat, Frame, start_server_process};
use porchlight_server::ServerConfig;
use porchlight_server::client::ControlClient;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::{Instant, sleep};

const COMPOSER: &str = "textarea#pl-composer-input";
/// How long the whole transcript may take to settle once the network heals.
const SETTLE: Duration = Duration::from_secs(90);

/// The built-in site and bot, broadcast routing, no pre-chat form, Ann driven by hand.
fn config() -> ServerConfig {
    let mut config = ServerConfig::default_with(
        "mode = \"broadcast\"\nqueue_time_secs = 600\nacceptance_time_secs = 60",
        "[[agents]]\nid = \"ann\"\nname = \"Ann\"\n",
    )
    .expect("valid test config");
    config.site.prechat.clear();
    config
}

/// The conversation the widget in this tab holds, as its saved outbox
/// (`[conversation, [id, text], …]`) says.
async fn conversation_of(frame: &Frame<'_>) -> String {
    frame
        .script("return sessionStorage.getItem('porchlight:demo:outbox')")
        .await
        .as_str()
        .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        .and_then(|saved| saved[0].as_str().map(String::from))
        .expect("a saved outbox names its conversation")
}

/// The server's view of one conversation.
async fn server_view(control: &ControlClient, conversation: &str) -> Value {
    control
        .conversation(conversation)
        .await
        .expect("conversation")
        .json()
}

/// `(seq, text)` of every message the server stored.
fn server_messages(view: &Value) -> Vec<(u64, String)> {
    view["transcript"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| {
                    (
                        l["seq"].as_u64().unwrap_or_default(),
                        l["text"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `(seq, text)` of every stored message the widget shows, in page order.
async fn shown_messages(frame: &Frame<'_>) -> Vec<(u64, String)> {
    let value = frame
        .script(
            "return Array.from(document.querySelectorAll('.pl-log li.pl-message[data-seq]'))\
             .map(e => [Number(e.dataset.seq), e.querySelector('.pl-text').textContent])",
        )
        .await;
    value
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        r[0].as_u64().unwrap_or_default(),
                        r[1].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How often each text occurs.
fn counts(messages: &[(u64, String)]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for (_, text) in messages {
        *counts.entry(text.clone()).or_insert(0) += 1;
    }
    counts
}

/// Waits until the widget shows every event the server stored, once each in seq order, and
/// nothing is left waiting; then both sides agree message by message.
async fn wait_until_settled(frame: &Frame<'_>, control: &ControlClient, conversation: &str) {
    let deadline = Instant::now() + SETTLE;
    loop {
        // The widget first, then the server: with nothing pending, everything the widget
        // sent was stored (with its answers) before the server is read, so a message
        // acked between the reads cannot make the two look settled when they are not.
        let pending = frame.texts(".pl-pending").await.len();
        let seqs = frame.seqs().await;
        let view = server_view(control, conversation).await;
        let stored = view["events"].as_array().map_or(0, Vec::len) as u64;
        if pending == 0 && seqs == (1..=stored).collect::<Vec<_>>() {
            assert_eq!(shown_messages(frame).await, server_messages(&view));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: {stored} stored, {} shown, {pending} pending; shown seqs {seqs:?}",
            seqs.len()
        );
        sleep(Duration::from_millis(200)).await;
    }
}

/// From the greeted chat to a live one with Ann, who is told to accept through the
/// control API. Returns the conversation.
async fn chatting_with_ann(frame: &Frame<'_>, control: &ControlClient) -> String {
    frame.click("button.pl-talk-to-human").await;
    let deadline = Instant::now() + SETTLE;
    let conversation = loop {
        let state = control.state().await.expect("state").json();
        if let Some(c) = state["queue"][0]["conversation"].as_str() {
            break c.to_string();
        }
        assert!(Instant::now() < deadline, "never queued: {state}");
        sleep(Duration::from_millis(50)).await;
    };
    let accepted = control.accept("ann", &conversation).await.expect("accept");
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    frame
        .wait_for_text("li.pl-system", "Ann joined the chat")
        .await;
    conversation
}

/// Sends a visitor message through the composer, as typed.
async fn type_message(frame: &Frame<'_>, text: &str) {
    frame.type_into(COMPOSER, &format!("{text}\u{E007}")).await;
}

/// A small deterministic generator, so a failing run can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[derive(Debug, Default)]
struct Faults {
    cuts: u32,
    stalls: u32,
    stalls_then_cut: u32,
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn two_hundred_messages_each_way_through_cuts_and_stalls_arrive_once_in_order() {
    const EACH_WAY: usize = 200;
    let chat = Chat::start_with(config()).await;
    let proxy = FaultyProxy::start(chat.addr()).await;
    let control = chat.control();
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&proxy.url("/")).await;
    let conversation = chatting_with_ann(&frame, &control).await;

    let started = Instant::now();
    let visitor_done = std::cell::Cell::new(false);
    let agent_done = std::cell::Cell::new(false);
    let visitor = async {
        for i in 1..=EACH_WAY {
            type_message(&frame, &format!("visitor {i}")).await;
            // A fast typist: four messages a second, under the server's five a second.
            sleep(Duration::from_millis(250)).await;
        }
        visitor_done.set(true);
    };
    let agent = async {
        for i in 1..=EACH_WAY {
            let answer = control
                .message("ann", &conversation, &format!("agent {i}"))
                .await
                .expect("agent message");
            assert_eq!(answer.status, 200, "{}", answer.text);
            sleep(Duration::from_millis(200)).await;
        }
        agent_done.set(true);
    };
    let network = async {
        let mut random = Lcg(0x5eed);
        let mut faults = Faults::default();
        while !(visitor_done.get() && agent_done.get()) {
            sleep(Duration::from_millis(800 + random.below(1200))).await;
            match random.below(4) {
                0 | 1 => {
                    proxy.cut();
                    faults.cuts += 1;
                }
                2 => {
                    proxy.stall(Direction::Up, true);
                    proxy.stall(Direction::Down, true);
                    sleep(Duration::from_millis(300 + random.below(1200))).await;
                    proxy.stall(Direction::Up, false);
                    proxy.stall(Direction::Down, false);
                    faults.stalls += 1;
                }
                _ => {
                    // Bytes held in flight, then the link dies: they are lost.
                    let direction = if random.below(2) == 0 {
                        Direction::Up
                    } else {
                        Direction::Down
                    };
                    proxy.stall(direction, true);
                    sleep(Duration::from_millis(200 + random.below(800))).await;
                    proxy.cut();
                    proxy.stall(direction, false);
                    faults.stalls_then_cut += 1;
                }
            }
        }
        faults
    };
    let ((), (), faults) = tokio::join!(visitor, agent, network);
    let sending = started.elapsed();
    wait_until_settled(&frame, &control, &conversation).await;
    let settled = started.elapsed();

    let view = server_view(&control, &conversation).await;
    let stored = server_messages(&view);
    let shown = shown_messages(&frame).await;
    let stored_counts = counts(&stored);
    let mut lost = 0;
    let mut duplicated = 0;
    for who in ["visitor", "agent"] {
        let order: Vec<usize> = stored
            .iter()
            .filter_map(|(_, t)| t.strip_prefix(&format!("{who} ")))
            .filter_map(|n| n.parse().ok())
            .collect();
        assert_eq!(
            order,
            (1..=EACH_WAY).collect::<Vec<_>>(),
            "{who} messages stored once each, in the order sent"
        );
        for i in 1..=EACH_WAY {
            match stored_counts.get(&format!("{who} {i}")).copied() {
                None => lost += 1,
                Some(n) if n > 1 => duplicated += n - 1,
                Some(_) => {}
            }
        }
    }
    assert_eq!(
        shown, stored,
        "the widget shows exactly what the server stored"
    );
    println!(
        "flaky network: {EACH_WAY} visitor + {EACH_WAY} agent messages; {} cuts, {} stalls, \
         {} stalls ended by a cut; {} events stored, {} shown; lost {lost}, duplicated \
         {duplicated}; sending took {:.1} s, settled after {:.1} s",
        faults.cuts,
        faults.stalls,
        faults.stalls_then_cut,
        view["events"].as_array().map_or(0, Vec::len),
        frame.seqs().await.len(),
        sending.as_secs_f64(),
        settled.as_secs_f64(),
    );
    assert_eq!((lost, duplicated), (0, 0));
    assert!(faults.cuts + faults.stalls_then_cut >= 20, "{faults:?}");
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn while_the_link_is_down_the_widget_says_reconnecting_and_the_message_waits() {
    let chat = Chat::start().await;
    let proxy = FaultyProxy::start(chat.addr()).await;
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&proxy.url("/")).await;

    proxy.refuse_sockets(true);
    proxy.cut();
    frame.wait_for_text(".pl-notice", "Reconnecting…").await;
    type_message(&frame, "written offline").await;
    frame
        .wait_for_text(".pl-pending .pl-delivery", "Not sent yet, retrying…")
        .await;
    browser.screenshot("reconnecting").await;

    proxy.refuse_sockets(false);
    frame
        .wait_for_text(".pl-from-visitor[data-seq] .pl-text", "written offline")
        .await;
    frame
        .wait_until_gone_text(".pl-notice", "Reconnecting")
        .await;
    frame.wait_for_count(".pl-pending", 0).await;
    assert_eq!(frame.seqs().await, vec![1, 2, 3]);
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn while_the_database_refuses_writes_the_message_waits_and_arrives_once_after() {
    let db = std::env::temp_dir()
        .join(format!(
            "porchlight-e2e-fault-{}-{}",
            std::process::id(),
            porchlight_server::store::random_id()
        ))
        .join("db.sqlite3");
    let mut config = ServerConfig::default();
    config.customers.clear();
    let desk = porchlight_server::desk::Desk::open_with(config, &db, Duration::from_millis(100))
        .expect("open");
    let chat = Chat::start_on(desk).await;
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&chat.url("/")).await;

    // The fault: another connection holds SQLite's write lock.
    let blocker = rusqlite::Connection::open(&db).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    type_message(&frame, "written while the disk failed").await;
    frame
        .wait_for_text(".pl-notice", "could not be saved yet")
        .await;
    assert_eq!(
        frame.texts(".pl-pending .pl-delivery").await,
        vec!["Sending…"],
        "not acked: still waiting in the outbox"
    );
    assert_eq!(
        frame.seqs().await,
        vec![1],
        "nothing shown before it is durable"
    );

    blocker.execute_batch("COMMIT").expect("unlock");
    frame
        .wait_for_text(
            ".pl-from-visitor[data-seq] .pl-text",
            "written while the disk failed",
        )
        .await;
    frame.wait_for_count(".pl-pending", 0).await;
    assert_eq!(
        frame.seqs().await,
        vec![1, 2, 3],
        "the message and the bot's answer, once"
    );
    let shown = shown_messages(&frame).await;
    assert_eq!(counts(&shown)["written while the disk failed"], 1);
    frame
        .wait_until_gone_text(".pl-notice", "could not be saved")
        .await;
    browser.quit().await;
    drop(blocker);
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_reload_with_unacked_messages_delivers_each_exactly_once() {
    let chat = Chat::start().await;
    let proxy = FaultyProxy::start(chat.addr()).await;
    let control = chat.control();
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&proxy.url("/")).await;

    // r1 and r2 reach the server, but its acks and events are held back...
    proxy.stall(Direction::Down, true);
    type_message(&frame, "r1").await;
    type_message(&frame, "r2").await;
    frame.wait_for_count(".pl-pending", 2).await;
    let conversation = conversation_of(&frame).await;
    let deadline = Instant::now() + SETTLE;
    while server_messages(&server_view(&control, &conversation).await).len() < 5 {
        assert!(
            Instant::now() < deadline,
            "r1 and r2 never reached the server"
        );
        sleep(Duration::from_millis(50)).await;
    }
    // ...then lost with the link; r3 never leaves the browser.
    proxy.refuse_sockets(true);
    proxy.cut();
    proxy.stall(Direction::Down, false);
    type_message(&frame, "r3").await;
    frame.wait_for_count(".pl-pending", 3).await;

    // The page reloads: the three come back from the tab's storage and wait.
    frame.leave().await;
    browser.client().refresh().await.expect("reload");
    let frame = browser.enter_widget().await;
    let waiting = frame.wait_for_count(".pl-pending .pl-text", 3).await;
    assert_eq!(waiting, vec!["r1", "r2", "r3"]);

    proxy.refuse_sockets(false);
    wait_until_settled(&frame, &control, &conversation).await;
    let stored = server_messages(&server_view(&control, &conversation).await);
    let stored_counts = counts(&stored);
    for text in ["r1", "r2", "r3"] {
        assert_eq!(stored_counts.get(text), Some(&1), "{text}: {stored:?}");
    }
    let shown = shown_messages(&frame).await;
    assert_eq!(counts(&shown), stored_counts);
    println!(
        "reload: 3 unacked messages (2 stored by the server, 1 never sent) across a reload; \
         stored {} times in all, shown {} times: lost 0, duplicated 0",
        ["r1", "r2", "r3"]
            .iter()
            .map(|t| stored_counts[*t])
            .sum::<usize>(),
        ["r1", "r2", "r3"]
            .iter()
            .map(|t| counts(&shown)[*t])
            .sum::<usize>(),
    );
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_server_that_lost_its_store_starts_over_without_duplicates() {
    let first = Chat::start().await;
    let proxy = FaultyProxy::start(first.addr()).await;
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&proxy.url("/")).await;
    type_message(&frame, "before the restart").await;
    frame.wait_for_count(".pl-log li[data-seq]", 3).await;

    // The server dies with its memory; a fresh one takes its place.
    proxy.refuse_sockets(true);
    proxy.cut();
    drop(first);
    frame.wait_for_text(".pl-notice", "Reconnecting…").await;
    type_message(&frame, "during the restart").await;
    let second = Chat::start().await;
    proxy.set_upstream(second.addr());
    proxy.refuse_sockets(false);

    frame
        .wait_for_text(".pl-notice", "could not be restored")
        .await;
    frame
        .wait_for_text(".pl-from-visitor[data-seq] .pl-text", "during the restart")
        .await;
    frame.wait_for_count(".pl-pending", 0).await;
    let conversation = conversation_of_server(&second.control()).await;
    wait_until_settled(&frame, &second.control(), &conversation).await;
    let shown = shown_messages(&frame).await;
    assert_eq!(
        shown[0].0, 1,
        "the new conversation starts at seq 1: {shown:?}"
    );
    assert_eq!(
        counts(&shown).get("during the restart"),
        Some(&1),
        "{shown:?}"
    );
    assert!(!counts(&shown).contains_key("before the restart"));
    browser.screenshot("store-lost").await;
    browser.quit().await;
}

/// The one conversation a fresh server holds.
async fn conversation_of_server(control: &ControlClient) -> String {
    let state = control.state().await.expect("state").json();
    state["conversations"][0]["conversation"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| panic!("no conversation in {state}"))
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_widget_too_far_behind_reads_the_gap_over_http_and_shows_each_event_once() {
    const MISSED: usize = 12;
    let mut config = config();
    config.link.replay_window = 5;
    let chat = Chat::start_with(config).await;
    let proxy = FaultyProxy::start(chat.addr()).await;
    let control = chat.control();
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&proxy.url("/")).await;
    let conversation = chatting_with_ann(&frame, &control).await;
    let held = frame.seqs().await.len();

    // Ann writes while the visitor's link is down: more than the socket replays.
    proxy.refuse_sockets(true);
    proxy.cut();
    frame.wait_for_text(".pl-notice", "Reconnecting…").await;
    for i in 1..=MISSED {
        let sent = control
            .message("ann", &conversation, &format!("while away {i}"))
            .await
            .expect("agent message");
        assert_eq!(sent.status, 200);
    }
    proxy.refuse_sockets(false);
    wait_until_settled(&frame, &control, &conversation).await;
    let shown = shown_messages(&frame).await;
    let away: Vec<&str> = shown
        .iter()
        .filter_map(|(_, t)| t.strip_prefix("while away "))
        .collect();
    assert_eq!(
        away,
        (1..=MISSED).map(|i| i.to_string()).collect::<Vec<_>>(),
        "each missed message once, in order"
    );
    println!(
        "http re-read: held {held} events, missed {MISSED} (replay window 5); shown {} \
         events, each once",
        frame.seqs().await.len()
    );
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget, the server binary and Chromium: run `cargo xtask test`"]
async fn a_server_killed_mid_conversation_comes_back_with_everything_it_acked() {
    const BEFORE: usize = 8;
    let db = std::env::temp_dir()
        .join(format!(
            "porchlight-e2e-kill9-{}-{}",
            std::process::id(),
            porchlight_server::store::random_id()
        ))
        .join("db.sqlite3");
    let db_arg = db.display().to_string();
    let server = start_server_process(&["--db", &db_arg]);
    let proxy = FaultyProxy::start(server.addr()).await;
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&proxy.url("/")).await;
    for i in 1..=BEFORE {
        type_message(&frame, &format!("before {i}")).await;
        // Each is answered by the bot, so the transcript grows by two.
        frame
            .wait_for_count(".pl-log li[data-seq]", 1 + 2 * i)
            .await;
    }
    frame.wait_for_count(".pl-pending", 0).await;

    // SIGKILL mid-conversation; the visitor keeps writing while it is down.
    server.kill_9();
    frame.wait_for_text(".pl-notice", "Reconnecting…").await;
    type_message(&frame, "while it was down").await;
    frame
        .wait_for_text(".pl-pending .pl-delivery", "Not sent yet, retrying…")
        .await;
    let server = start_server_process(&["--db", &db_arg]);
    proxy.set_upstream(server.addr());

    let control = ControlClient::new(server.addr(), server.token().clone());
    let conversation = conversation_of_server(&control).await;
    wait_until_settled(&frame, &control, &conversation).await;
    let stored = server_messages(&server_view(&control, &conversation).await);
    let stored_counts = counts(&stored);
    let sent: Vec<String> = (1..=BEFORE)
        .map(|i| format!("before {i}"))
        .chain(["while it was down".to_string()])
        .collect();
    let lost = sent
        .iter()
        .filter(|t| !stored_counts.contains_key(*t))
        .count();
    let duplicated: usize = sent
        .iter()
        .filter_map(|t| stored_counts.get(t))
        .map(|n| n - 1)
        .sum();
    assert_eq!(
        stored_counts.get("while it was down"),
        Some(&1),
        "{stored:?}"
    );
    assert_eq!(counts(&shown_messages(&frame).await), stored_counts);
    println!(
        "kill -9 in the browser: {BEFORE} acked before the kill, 1 written while down; after \
         the restart {} messages (visitor's and bot's) stored and shown; of the visitor's {}, \
         lost {lost}, duplicated {duplicated}",
        stored.len(),
        sent.len()
    );
    assert_eq!((lost, duplicated), (0, 0));
    browser.quit().await;
    drop(server);
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}

/// Copies the database files (the file, its WAL and shared memory) from `from` to `to`.
fn copy_database(from: &std::path::Path, to: &std::path::Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("a folder for the copy");
    for entry in std::fs::read_dir(from).expect("the database folder") {
        let entry = entry.expect("an entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[tokio::test]
#[ignore = "needs the release widget, the server binary and Chromium: run `cargo xtask test`"]
async fn a_server_restored_from_an_older_copy_is_read_again_and_shows_each_event_once() {
    let folder = std::env::temp_dir().join(format!(
        "porchlight-e2e-older-{}-{}",
        std::process::id(),
        porchlight_server::store::random_id()
    ));
    let live = folder.join("live");
    let older = folder.join("older");
    let db_arg = live.join("db.sqlite3").display().to_string();
    let server = start_server_process(&["--db", &db_arg]);
    let proxy = FaultyProxy::start(server.addr()).await;
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&proxy.url("/")).await;
    for (i, text) in ["early 1", "early 2"].into_iter().enumerate() {
        type_message(&frame, text).await;
        frame
            .wait_for_count(".pl-log li[data-seq]", 3 + 2 * i)
            .await;
    }
    // An older copy is taken while the server is down; then the chat goes on.
    server.kill_9();
    copy_database(&live, &older);
    let server = start_server_process(&["--db", &db_arg]);
    proxy.set_upstream(server.addr());
    for (i, text) in ["late 1", "late 2"].into_iter().enumerate() {
        type_message(&frame, text).await;
        frame
            .wait_for_count(".pl-log li[data-seq]", 7 + 2 * i)
            .await;
    }
    frame.wait_for_count(".pl-pending", 0).await;
    let held = frame.seqs().await.len();
    // The server comes back on the older copy: it knows less than the widget shows.
    server.kill_9();
    copy_database(&older, &live);
    let server = start_server_process(&["--db", &db_arg]);
    proxy.set_upstream(server.addr());
    let control = ControlClient::new(server.addr(), server.token().clone());
    let conversation = conversation_of_server(&control).await;
    wait_until_settled(&frame, &control, &conversation).await;
    let shown = counts(&shown_messages(&frame).await);
    for text in ["early 1", "early 2", "late 1", "late 2"] {
        assert_eq!(shown.get(text), Some(&1), "{text} once: {shown:?}");
    }
    println!(
        "older copy: the widget held {held} events, the restored server 5; after re-reading \
         it shows {} events, each once, with the 2 messages the copy lacked sent again",
        frame.seqs().await.len()
    );
    browser.quit().await;
    drop(server);
    let _ = std::fs::remove_dir_all(&folder);
}
