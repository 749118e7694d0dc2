//! The conversation lifecycle on the desk, with tokio's clock paused: routing timers,
//! simulated agents, close and rating rules, leave-a-message, history. Time moves only
//! when a test sleeps (which, with the clock paused, advances it at once).

mod common;

use common::{
    BROADCAST, MANUAL_AGENTS, TIME_BASED, agent, config, request, requesting, sleep, visitor,
};
use porchlight_protocol::{AuthorKind, ConversationEvent, ConversationId, FieldName, MessageId};
use porchlight_server::ServerConfig;
use porchlight_server::desk::{Desk, DeskError};
use std::time::Duration;
use tokio::time::Instant;

fn status(desk: &Desk, conversation: &ConversationId) -> &'static str {
    desk.conversation(conversation)
        .expect("conversation")
        .status
}

fn kinds(desk: &Desk, conversation: &ConversationId) -> Vec<String> {
    desk.conversation(conversation)
        .expect("conversation")
        .events
        .iter()
        .map(|e| {
            serde_json::to_value(&e.event).expect("json")["kind"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn engaged(desk: &Desk, id: &str) -> Vec<ConversationId> {
    desk.state(Instant::now())
        .routing
        .agents
        .into_iter()
        .find(|a| a.id.as_str() == id)
        .expect("agent")
        .engaged
}

#[tokio::test(start_paused = true)]
async fn queued_request_is_missed_when_queue_time_expires_and_a_message_can_be_left() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    assert_eq!(status(&desk, &conversation), "queued");
    sleep(Duration::from_secs(59)).await;
    assert_eq!(status(&desk, &conversation), "queued");
    sleep(Duration::from_secs(1)).await;
    assert_eq!(status(&desk, &conversation), "missed");
    assert_eq!(
        kinds(&desk, &conversation).last().map(String::as_str),
        Some("missed")
    );

    desk.leave_message(
        &conversation,
        &request("l1"),
        &common::valid_answers(),
        "Please call me",
        Instant::now(),
    )
    .expect("leave a message");
    // A resend of the same request stores nothing more.
    desk.leave_message(
        &conversation,
        &request("l1"),
        &common::valid_answers(),
        "Please call me",
        Instant::now(),
    )
    .expect("resend");
    let state = desk.state(Instant::now());
    assert_eq!(state.offline_messages.len(), 1);
    assert_eq!(state.offline_messages[0].text, "Please call me");
    assert_eq!(status(&desk, &conversation), "message_left");
}

#[tokio::test(start_paused = true)]
async fn with_nobody_online_the_visitor_is_offered_to_leave_a_message_at_once() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let now = Instant::now();
    desk.set_online(&agent("ann"), false, now).expect("offline");
    desk.set_online(&agent("ben"), false, now).expect("offline");
    let (_, conversation) = requesting(&desk, "r1");
    assert_eq!(status(&desk, &conversation), "missed");
}

#[tokio::test(start_paused = true)]
async fn acceptance_expiry_reassigns_to_the_next_agent_then_misses() {
    let desk = common::desk(config(TIME_BASED, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    assert_eq!(status(&desk, &conversation), "connecting");
    assert_eq!(engaged(&desk, "ann"), vec![conversation.clone()]);
    sleep(Duration::from_secs(10)).await;
    assert_eq!(engaged(&desk, "ann"), vec![]);
    assert_eq!(engaged(&desk, "ben"), vec![conversation.clone()]);
    assert_eq!(
        desk.accept(&agent("ann"), &conversation, Instant::now()),
        Err(DeskError::NotAllowed(format!(
            "conversation {conversation} is assigned to another agent"
        )))
    );
    sleep(Duration::from_secs(10)).await;
    assert_eq!(status(&desk, &conversation), "missed");
}

#[tokio::test(start_paused = true)]
async fn the_assigned_agent_accepts_and_the_chat_goes_live() {
    let desk = common::desk(config(TIME_BASED, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    desk.accept(&agent("ann"), &conversation, Instant::now())
        .expect("accept");
    assert_eq!(status(&desk, &conversation), "live");
    assert_eq!(
        kinds(&desk, &conversation).last().map(String::as_str),
        Some("agent_joined")
    );
    // Accepted chats have no timer: nothing happens however long it lasts.
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(status(&desk, &conversation), "live");
}

#[tokio::test(start_paused = true)]
async fn concurrency_limits_hold_in_broadcast_mode() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, first) = requesting(&desk, "r1");
    let (_, second) = requesting(&desk, "r2");
    desk.accept(&agent("ann"), &first, Instant::now())
        .expect("accept");
    assert!(matches!(
        desk.accept(&agent("ann"), &second, Instant::now()),
        Err(DeskError::NotAllowed(_))
    ));
    desk.accept(&agent("ben"), &second, Instant::now())
        .expect("Ben has a free slot");
}

#[tokio::test(start_paused = true)]
async fn queue_positions_move_when_someone_ahead_leaves() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, first) = requesting(&desk, "r1");
    let (_, second) = requesting(&desk, "r2");
    let position = |c: &ConversationId| {
        desk.state(Instant::now())
            .routing
            .queue
            .iter()
            .find(|q| &q.conversation == c)
            .map(|q| q.position)
    };
    assert_eq!(position(&second), Some(2));
    desk.end_chat(&first, Instant::now()).expect("withdraw");
    assert_eq!(position(&second), Some(1));
    assert_eq!(status(&desk, &first), "ended");
}

#[tokio::test(start_paused = true)]
async fn only_an_accepted_chat_can_be_closed_by_its_agent_then_rated_once() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    let now = Instant::now();
    assert!(matches!(
        desk.close(&agent("ann"), &conversation, now),
        Err(DeskError::NotAllowed(_))
    ));
    assert!(matches!(
        desk.rate(&conversation, 5, None, now),
        Err(DeskError::NotAllowed(_))
    ));
    desk.accept(&agent("ann"), &conversation, now)
        .expect("accept");
    desk.agent_message(&agent("ann"), &conversation, None, "Hello!")
        .expect("message");
    assert!(matches!(
        desk.close(&agent("ben"), &conversation, now),
        Err(DeskError::NotAllowed(_))
    ));
    desk.close(&agent("ann"), &conversation, now)
        .expect("close");
    assert_eq!(status(&desk, &conversation), "ended");
    assert!(matches!(
        desk.agent_message(&agent("ann"), &conversation, None, "Still there?"),
        Err(DeskError::NotAllowed(_))
    ));
    assert_eq!(
        desk.rate(&conversation, 6, None, now),
        Err(DeskError::InvalidRating)
    );
    desk.rate(&conversation, 4, Some("  Quick and kind  "), now)
        .expect("rate");
    assert!(matches!(
        desk.rate(&conversation, 5, None, now),
        Err(DeskError::NotAllowed(_))
    ));
    let view = desk.conversation(&conversation).expect("conversation");
    let rating = view.rating.expect("rated");
    assert_eq!(
        (rating.stars, rating.comment.as_deref()),
        (4, Some("Quick and kind"))
    );
    assert_eq!(view.prechat, common::valid_answers());
}

#[tokio::test(start_paused = true)]
async fn an_invalid_form_changes_nothing_and_a_double_submit_makes_one_request() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, conversation) = visitor(&desk);
    let mut bad = common::valid_answers();
    bad.insert(
        FieldName::new("email").expect("name"),
        "not-an-email".into(),
    );
    let Err(DeskError::Form(errors)) =
        desk.request_agent(&conversation, &request("r1"), &bad, Instant::now())
    else {
        panic!("expected form errors");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field.as_str(), "email");
    assert_eq!(status(&desk, &conversation), "bot");
    assert!(!kinds(&desk, &conversation).contains(&"agent_requested".to_string()));

    for _ in 0..2 {
        desk.request_agent(
            &conversation,
            &request("r2"),
            &common::valid_answers(),
            Instant::now(),
        )
        .expect("request");
    }
    assert_eq!(desk.state(Instant::now()).routing.queue.len(), 1);
    assert!(matches!(
        desk.request_agent(
            &conversation,
            &request("r3"),
            &common::valid_answers(),
            Instant::now()
        ),
        Err(DeskError::NotAllowed(_))
    ));
}

const SIMULATED_AGENT: &str = r#"
[[agents]]
id = "sam"
name = "Sam"
accept_delay_secs = 4
reply_delay_secs = 1
replies = ["Hi, Sam here.", "Let me look.", "Anything else?"]
"#;

#[tokio::test(start_paused = true)]
async fn a_simulated_agent_accepts_after_its_delay_and_answers_from_its_script() {
    let desk = common::desk(config(BROADCAST, SIMULATED_AGENT));
    let (_, conversation) = requesting(&desk, "r1");
    sleep(Duration::from_millis(3_999)).await;
    assert_eq!(status(&desk, &conversation), "queued");
    sleep(Duration::from_millis(1)).await;
    assert_eq!(status(&desk, &conversation), "live");
    sleep(Duration::from_secs(1)).await;
    let agent_lines = |desk: &Desk| -> Vec<String> {
        desk.conversation(&conversation)
            .expect("conversation")
            .transcript
            .into_iter()
            .filter(|l| l.author_kind == AuthorKind::Agent)
            .map(|l| l.text)
            .collect()
    };
    assert_eq!(agent_lines(&desk), vec!["Hi, Sam here."]);
    desk.visitor_text(
        &conversation,
        &MessageId::new("m1").expect("id"),
        "My order is late",
    )
    .expect("send");
    sleep(Duration::from_secs(1)).await;
    assert_eq!(agent_lines(&desk), vec!["Hi, Sam here.", "Let me look."]);
}

#[tokio::test(start_paused = true)]
async fn a_production_config_starts_no_simulated_actor() {
    let mut production = config(BROADCAST, SIMULATED_AGENT);
    production.simulation.enabled = false;
    assert!(production.has_simulated_actors());
    let desk = common::desk(production);
    let (_, conversation) = requesting(&desk, "r1");
    sleep(Duration::from_secs(30)).await;
    assert_eq!(
        status(&desk, &conversation),
        "queued",
        "Sam's script stays idle"
    );
    assert!(matches!(
        desk.advance_clock(60),
        Err(DeskError::NotAllowed(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_simulated_agent_in_time_based_mode_accepts_what_is_assigned_to_them() {
    let desk = common::desk(config(TIME_BASED, SIMULATED_AGENT));
    let (_, conversation) = requesting(&desk, "r1");
    assert_eq!(status(&desk, &conversation), "connecting");
    sleep(Duration::from_secs(4)).await;
    assert_eq!(status(&desk, &conversation), "live");
}

#[tokio::test(start_paused = true)]
async fn quick_replies_are_answered_by_their_bot_node() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, conversation) = visitor(&desk);
    let pricing = porchlight_protocol::ChoiceId::new("pricing").expect("id");
    desk.choose(&conversation, &MessageId::new("m1").expect("id"), &pricing)
        .expect("choose");
    let view = desk.conversation(&conversation).expect("conversation");
    let texts: Vec<&str> = view.transcript.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts[1], "Prices");
    assert!(texts[2].contains("9 €"));
    match &view.events[2].event {
        ConversationEvent::MessageReceived { choices, .. } => {
            assert_eq!(choices.len(), 1);
            assert_eq!(choices[0].id.as_str(), "trial");
        }
        other => panic!("{other:?}"),
    }
    let nowhere = porchlight_protocol::ChoiceId::new("nowhere").expect("id");
    assert_eq!(
        desk.choose(&conversation, &MessageId::new("m2").expect("id"), &nowhere),
        Err(DeskError::UnknownChoice(nowhere))
    );
}

#[tokio::test(start_paused = true)]
async fn an_ended_chat_goes_to_history_when_the_visitor_starts_anew() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (token, first) = requesting(&desk, "r1");
    assert!(matches!(
        desk.start_new(&token),
        Err(DeskError::NotAllowed(_))
    ));
    desk.end_chat(&first, Instant::now()).expect("end");
    let second = desk.start_new(&token).expect("start anew");
    assert_ne!(first, second);
    assert_eq!(kinds(&desk, &second), vec!["message_received"]);
    desk.flush().expect("written");
    let history = desk
        .history(&token, 0, 50)
        .await
        .expect("read")
        .expect("session");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].conversation, first);
    let by_visitor = history[0].events.iter().any(|e| {
        e.event
            == ConversationEvent::ChatEnded {
                by: AuthorKind::Visitor,
            }
    });
    assert!(by_visitor);
}

#[tokio::test(start_paused = true)]
async fn without_the_bot_a_conversation_starts_silent() {
    let mut config = ServerConfig::default();
    config.site.bot_enabled = false;
    let desk = common::desk(config);
    let (_, conversation) = visitor(&desk);
    assert_eq!(kinds(&desk, &conversation), Vec::<String>::new());
    assert_eq!(status(&desk, &conversation), "bot");
}

#[tokio::test(start_paused = true)]
async fn visitor_typing_reaches_the_agent_only_in_a_live_chat() {
    let desk = common::desk(config(BROADCAST, MANUAL_AGENTS));
    let (_, conversation) = requesting(&desk, "r1");
    desk.visitor_typing(&conversation, true);
    assert!(
        !desk
            .conversation(&conversation)
            .expect("view")
            .visitor_typing
    );
    desk.accept(&agent("ann"), &conversation, Instant::now())
        .expect("accept");
    desk.visitor_typing(&conversation, true);
    assert!(
        desk.conversation(&conversation)
            .expect("view")
            .visitor_typing
    );
    desk.visitor_text(&conversation, &MessageId::new("m1").expect("id"), "hi")
        .expect("send");
    assert!(
        !desk
            .conversation(&conversation)
            .expect("view")
            .visitor_typing
    );
}

/// A fresh database path under the system's temp folder.
fn temp_db(name: &str) -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!(
            "porchlight-lifecycle-{name}-{}",
            porchlight_server::store::random_id()
        ))
        .join("db.sqlite3")
}

#[tokio::test(start_paused = true)]
async fn reopened_from_its_database_a_live_chat_keeps_its_agent_and_a_waiting_one_asks_again() {
    let db = temp_db("reopen");
    let desk = Desk::open(config(BROADCAST, MANUAL_AGENTS), &db).expect("open");
    let (_, live) = requesting(&desk, "r1");
    desk.accept(&agent("ann"), &live, Instant::now())
        .expect("accept");
    let (_, waiting) = requesting(&desk, "r2");
    drop(desk);

    let desk = Desk::open(config(BROADCAST, MANUAL_AGENTS), &db).expect("reopen");
    assert_eq!(status(&desk, &live), "live");
    let ann = desk
        .state(Instant::now())
        .routing
        .agents
        .into_iter()
        .find(|a| a.id.as_str() == "ann")
        .expect("ann");
    assert_eq!(
        ann.live,
        vec![live.clone()],
        "the chat still counts for Ann"
    );
    assert_eq!(status(&desk, &waiting), "queued");
    let queue = desk.state(Instant::now()).routing.queue;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].conversation, waiting);
    // The queue timer starts again: the request is missed after the full queue time.
    sleep(Duration::from_secs(59)).await;
    assert_eq!(status(&desk, &waiting), "queued");
    sleep(Duration::from_secs(1)).await;
    assert_eq!(status(&desk, &waiting), "missed");
    // The replayed request id is still known: resending it changes nothing.
    assert_eq!(
        desk.request_agent(
            &live,
            &request("r1"),
            &common::valid_answers(),
            Instant::now()
        ),
        Ok(false)
    );
    drop(desk);
    let _ = std::fs::remove_dir_all(db.parent().expect("folder"));
}
