//! The agent's side of the desk, with tokio's clock paused: accept races, starting an
//! engaged request within the acceptance time, a reassignment that both agents' consoles
//! hear of, closing only after accept, idempotent agent messages, folder rows per role,
//! history search, and simulated agents closing chats the visitor left idle.

mod common;

use common::{BROADCAST, MANUAL_AGENTS, TIME_BASED, agent, config, requesting, sleep};
use porchlight_protocol::console::{ConversationSummary, DeadlineKind, Folder, Stage};
use porchlight_protocol::{
    AgentId, AuthorKind, ConversationEvent, ConversationId, DeskFrame, MessageId,
};
use porchlight_server::desk::folders;
use porchlight_server::desk::{Desk, DeskError};
use porchlight_server::store::Update;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::time::Instant;

fn summary(desk: &Desk, conversation: &ConversationId) -> ConversationSummary {
    desk.read(|world| folders::summary(world, &desk.config, conversation, Instant::now()))
        .expect("summary")
}

fn folder(desk: &Desk, conversation: &ConversationId, viewer: Option<&str>) -> Option<Folder> {
    let viewer = viewer.map(agent);
    summary(desk, conversation).folder_for(viewer.as_ref())
}

/// Whether `watch` heard a status change of `conversation` (draining what it holds).
fn heard_status(desk: &Desk, watch: &mut Receiver<Update>, conversation: &ConversationId) -> bool {
    desk.flush().expect("written");
    let mut heard = false;
    while let Ok(update) = watch.try_recv() {
        if matches!(&update, Update::Status { conversation: c, .. } if c == conversation) {
            heard = true;
        }
    }
    heard
}

/// A desk like the demo's but with Ben simulated: accepts after 1 s, closes after 300 s
/// of the visitor's silence.
fn with_simulated_ben() -> Arc<Desk> {
    let agents = r#"
[[agents]]
id = "ben"
name = "Ben"
accept_delay_secs = 1
reply_delay_secs = 1
idle_close_secs = 300
closing_line = "Closing this quiet chat."
replies = ["Hi, Ben here."]
"#;
    common::desk(config(BROADCAST, agents))
}

fn agent_texts(desk: &Desk, conversation: &ConversationId) -> Vec<String> {
    desk.conversation(conversation)
        .expect("conversation")
        .transcript
        .into_iter()
        .filter(|l| l.author_kind == AuthorKind::Agent)
        .map(|l| l.text)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_first_accept_wins_and_the_other_agent_is_told_who_took_it() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    assert_eq!(
        folder(&desk, &conversation, Some("ann")),
        Some(Folder::Queue)
    );
    assert_eq!(
        folder(&desk, &conversation, Some("ben")),
        Some(Folder::Queue)
    );
    let now = Instant::now();
    desk.accept(&agent("ann"), &conversation, now)
        .expect("Ann is first");
    assert_eq!(
        desk.accept(&agent("ben"), &conversation, now),
        Err(DeskError::Taken("Ann".into()))
    );
    // Gone from everyone's queue; in Ann's chats only.
    assert_eq!(
        folder(&desk, &conversation, Some("ann")),
        Some(Folder::Live)
    );
    assert_eq!(folder(&desk, &conversation, Some("ben")), None);
    assert_eq!(folder(&desk, &conversation, None), Some(Folder::Live));
}

#[tokio::test(start_paused = true)]
async fn an_engaged_request_is_started_within_the_acceptance_time() {
    let desk = common::desk(config(TIME_BASED, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    let row = summary(&desk, &conversation);
    assert_eq!(row.stage, Stage::Connecting);
    assert_eq!(row.agent, Some(agent("ann")));
    let deadline = row.deadline.expect("an acceptance deadline");
    assert_eq!(deadline.kind, DeadlineKind::Acceptance);
    let left = deadline
        .at_ms
        .saturating_sub(porchlight_server::store::now_ms());
    assert!((9_000..=10_000).contains(&left), "{left} ms left");
    assert_eq!(
        folder(&desk, &conversation, Some("ann")),
        Some(Folder::Engaged)
    );
    assert_eq!(folder(&desk, &conversation, Some("ben")), None);
    // Ben may not start what is offered to Ann.
    assert!(matches!(
        desk.accept(&agent("ben"), &conversation, Instant::now()),
        Err(DeskError::NotAllowed(_))
    ));
    sleep(Duration::from_secs(9)).await;
    desk.accept(&agent("ann"), &conversation, Instant::now())
        .expect("started in time");
    assert_eq!(summary(&desk, &conversation).stage, Stage::Live);
}

#[tokio::test(start_paused = true)]
async fn an_unstarted_request_moves_to_the_next_agent_and_both_consoles_hear_it() {
    let desk = common::desk(config(TIME_BASED, MANUAL_AGENTS));
    let (_, mut anns_console) = desk.watch(|_| ());
    let (_, mut bens_console) = desk.watch(|_| ());
    let (_, conversation) = requesting(&desk, "r1");
    assert!(heard_status(&desk, &mut anns_console, &conversation));
    assert!(heard_status(&desk, &mut bens_console, &conversation));
    sleep(Duration::from_secs(10)).await;
    assert!(heard_status(&desk, &mut anns_console, &conversation));
    assert!(heard_status(&desk, &mut bens_console, &conversation));
    let row = summary(&desk, &conversation);
    assert_eq!(
        (row.stage, row.agent),
        (Stage::Connecting, Some(agent("ben")))
    );
    assert_eq!(folder(&desk, &conversation, Some("ann")), None);
    assert_eq!(
        folder(&desk, &conversation, Some("ben")),
        Some(Folder::Engaged)
    );
    assert!(matches!(
        desk.accept(&agent("ann"), &conversation, Instant::now()),
        Err(DeskError::NotAllowed(_))
    ));
    // Nobody left after Ben: missed, into history.
    sleep(Duration::from_secs(10)).await;
    assert_eq!(summary(&desk, &conversation).stage, Stage::Missed);
    assert_eq!(
        folder(&desk, &conversation, Some("ann")),
        Some(Folder::History)
    );
}

#[tokio::test(start_paused = true)]
async fn only_an_accepted_chat_can_be_closed_and_it_lands_in_history_with_its_agent() {
    let desk = common::desk(config(TIME_BASED, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    let now = Instant::now();
    assert!(matches!(
        desk.close(&agent("ann"), &conversation, now),
        Err(DeskError::NotAllowed(_))
    ));
    desk.accept(&agent("ann"), &conversation, now)
        .expect("start");
    assert!(matches!(
        desk.close(&agent("ben"), &conversation, now),
        Err(DeskError::NotAllowed(_))
    ));
    desk.close(&agent("ann"), &conversation, now)
        .expect("close");
    let row = summary(&desk, &conversation);
    assert_eq!((row.stage, row.agent), (Stage::Ended, Some(agent("ann"))));
    assert_eq!(
        folder(&desk, &conversation, Some("ben")),
        Some(Folder::History)
    );
}

#[tokio::test(start_paused = true)]
async fn an_agent_message_resent_with_its_id_is_stored_once() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    desk.accept(&agent("ann"), &conversation, Instant::now())
        .expect("accept");
    let id = MessageId::new("a1").expect("id");
    let first = desk
        .agent_message(&agent("ann"), &conversation, Some(&id), "Hello")
        .expect("send");
    let again = desk
        .agent_message(&agent("ann"), &conversation, Some(&id), "Hello")
        .expect("resend");
    assert_eq!(first.seq(), again.seq());
    assert_eq!(agent_texts(&desk, &conversation), vec!["Hello"]);
    assert!(matches!(
        desk.agent_message(&agent("ben"), &conversation, None, "Me too"),
        Err(DeskError::NotAllowed(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_holds_waiting_and_closed_conversations_but_not_those_with_the_bot() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    // Read before the clock matters: awaiting another thread lets the paused clock run on.
    let stored = desk.stored_closed(folders::HISTORY_IN_SNAPSHOT).await;
    let (_, with_the_bot) = common::visitor(&desk);
    let (_, waiting) = requesting(&desk, "r1");
    let (_, ended) = requesting(&desk, "r2");
    desk.end_chat(&ended, Instant::now()).expect("end");
    let welcome =
        desk.read(|world| folders::welcome(world, &desk.config, None, &stored, Instant::now()));
    let DeskFrame::Welcome {
        conversations,
        agents,
        channels,
        ..
    } = welcome
    else {
        panic!("expected welcome");
    };
    let ids: Vec<&ConversationId> = conversations.iter().map(|c| &c.id).collect();
    assert!(ids.contains(&&waiting) && ids.contains(&&ended));
    assert!(!ids.contains(&&with_the_bot));
    let names: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, vec!["Ann", "Ben"]);
    assert_eq!(channels[0].id.as_str(), "web");
    let row = conversations.iter().find(|c| c.id == waiting).expect("row");
    assert_eq!(row.name.as_deref(), Some("Ada"));
    assert_eq!(row.email.as_deref(), Some("ada@example.com"));
    assert_eq!(row.position, Some(1));
}

#[tokio::test(start_paused = true)]
async fn history_is_searched_by_name_email_and_words() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    let now = Instant::now();
    desk.accept(&agent("ann"), &conversation, now)
        .expect("accept");
    desk.visitor_text(
        &conversation,
        &MessageId::new("m1").expect("id"),
        "My parcel never came",
    )
    .expect("write");
    let (_, still_waiting) = requesting(&desk, "r2");
    let search = |q: &str| desk.read(|world| folders::search(world, q));
    // Only closed conversations are history.
    assert_eq!(search("ada"), Vec::<ConversationId>::new());
    desk.close(&agent("ann"), &conversation, now)
        .expect("close");
    for query in ["ada", "ADA@EXAMPLE", "parcel", ""] {
        assert_eq!(search(query), vec![conversation.clone()], "{query}");
    }
    assert!(search("nothing like this").is_empty());
    assert!(!search("").contains(&still_waiting));
}

#[tokio::test(start_paused = true)]
async fn a_simulated_agent_closes_a_chat_the_visitor_left_idle() {
    let desk = with_simulated_ben();
    let (_, conversation) = requesting(&desk, "r1");
    sleep(Duration::from_secs(1)).await;
    assert_eq!(summary(&desk, &conversation).stage, Stage::Live);
    // Writing within the idle time keeps the chat open for another idle time.
    sleep(Duration::from_secs(299)).await;
    desk.visitor_text(
        &conversation,
        &MessageId::new("m1").expect("id"),
        "Still here",
    )
    .expect("write");
    sleep(Duration::from_secs(299)).await;
    assert_eq!(summary(&desk, &conversation).stage, Stage::Live);
    sleep(Duration::from_secs(2)).await;
    assert_eq!(summary(&desk, &conversation).stage, Stage::Ended);
    assert_eq!(
        agent_texts(&desk, &conversation).last().map(String::as_str),
        Some("Closing this quiet chat.")
    );
    let ended_by = desk
        .conversation(&conversation)
        .expect("conversation")
        .events
        .iter()
        .find_map(|e| match e.event {
            ConversationEvent::ChatEnded { by } => Some(by),
            _ => None,
        });
    assert_eq!(ended_by, Some(AuthorKind::Agent));
    // Ben has a free slot again.
    let ben: AgentId = agent("ben");
    let load = desk.read(|world| world.router.load(&ben));
    assert_eq!(load, 0);
}

#[tokio::test(start_paused = true)]
async fn a_live_chat_restored_from_the_database_is_still_closed_when_idle() {
    let db = std::env::temp_dir().join(format!(
        "porchlight-agent-desk-{}-{}.sqlite3",
        std::process::id(),
        porchlight_server::store::random_id()
    ));
    let conversation = {
        let desk = Desk::open(with_simulated_ben().config.clone(), &db).expect("open");
        let (_, conversation) = requesting(&desk, "r1");
        sleep(Duration::from_secs(1)).await;
        assert_eq!(summary(&desk, &conversation).stage, Stage::Live);
        conversation
    };
    let desk = Desk::open(with_simulated_ben().config.clone(), &db).expect("reopen");
    assert_eq!(summary(&desk, &conversation).stage, Stage::Live);
    sleep(Duration::from_secs(301)).await;
    assert_eq!(summary(&desk, &conversation).stage, Stage::Ended);
    let _ = std::fs::remove_file(&db);
}
