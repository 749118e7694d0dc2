//! The social channels on the desk, with tokio's clock paused and the mock's wall clock
//! moved by hand: customers opening and rejoining conversations routed like web requests,
//! sends checked against each platform's rules and recorded as the platform received them
//! (or refused with its error and stored nowhere), comment actions, templates, simulated
//! customers, and all of it read back after a restart.

mod common;

use common::{BROADCAST, agent, sleep};
use porchlight_protocol::channels::HOUR_MS;
use porchlight_protocol::{ChannelId, ConversationId};
use porchlight_server::ServerConfig;
use porchlight_server::channels::{Content, Customer, Inbound};
use porchlight_server::desk::channel::ChannelAction;
use porchlight_server::desk::{Desk, DeskError};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const CHANNELS: &str = r#"
[[channels]]
id = "messenger"
kind = "messenger"
name = "Page"

[[channels]]
id = "messenger_tagged"
kind = "messenger"
name = "Page with the human-agent tag"
human_agent = true

[[channels]]
id = "whatsapp"
kind = "whatsapp"
name = "Number"
templates = [{ name = "order_update", text = "News about your order." }]

[[channels]]
id = "facebook_comments"
kind = "facebook_comments"
name = "Posts"

[[channels]]
id = "telegram"
kind = "telegram"
name = "Bot"
"#;

/// Two agents driven by hand, each with room for several chats.
const AGENTS: &str = r#"
[[agents]]
id = "ann"
name = "Ann"
max_chats = 5

[[agents]]
id = "ben"
name = "Ben"
max_chats = 5
"#;

/// The built-in site and bot, broadcast routing, two agents, the test channels and `extra`.
fn desk_with(extra: &str) -> Arc<Desk> {
    let site_and_bot = porchlight_server::config::DEFAULT_CONFIG_TOML
        .split("\n[routing]")
        .next()
        .unwrap_or_default();
    let text = format!("{site_and_bot}\n[routing]\n{BROADCAST}\n{AGENTS}\n{CHANNELS}\n{extra}");
    common::desk(ServerConfig::from_toml(&text, "test").expect("valid config"))
}

fn channel(id: &str) -> ChannelId {
    ChannelId::new(id).expect("id")
}

fn message(customer: &str, id: &str, text: &str) -> Inbound {
    Inbound {
        customer: Customer {
            id: customer.into(),
            name: Some("Marta".into()),
        },
        message_id: id.into(),
        at_ms: 0,
        content: Content::Text(text.into()),
    }
}

fn comment(customer: &str, id: &str, parent: Option<&str>, text: &str) -> Inbound {
    Inbound {
        customer: Customer {
            id: customer.into(),
            name: Some("Priya".into()),
        },
        message_id: id.into(),
        at_ms: 0,
        content: Content::Comment {
            post: "post-1".into(),
            comment: id.into(),
            parent: parent.map(String::from),
            text: text.into(),
        },
    }
}

fn wrote(desk: &Arc<Desk>, on: &str, inbound: Inbound) -> ConversationId {
    desk.customer_wrote(&channel(on), inbound, Instant::now())
        .expect("the customer's message lands")
}

/// A customer's conversation on `on`, accepted by Ann.
fn accepted(desk: &Arc<Desk>, on: &str, inbound: Inbound) -> ConversationId {
    let conversation = wrote(desk, on, inbound);
    desk.accept(&agent("ann"), &conversation, Instant::now())
        .expect("accept");
    conversation
}

fn status(desk: &Desk, conversation: &ConversationId) -> &'static str {
    desk.conversation(conversation).expect("view").status
}

fn events(desk: &Desk, conversation: &ConversationId) -> usize {
    desk.conversation(conversation).expect("view").events.len()
}

fn outbox(desk: &Desk, on: &str) -> Vec<serde_json::Value> {
    desk.outbox(&channel(on))
        .expect("a connected channel")
        .into_iter()
        .map(|r| r.call)
        .collect()
}

fn advance_hours(desk: &Desk, hours: u64) {
    desk.advance_clock(hours * HOUR_MS / 1000)
        .expect("simulation on");
}

/// The platform's code and subcode of a refusal.
fn refusal<T: std::fmt::Debug>(result: Result<T, DeskError>) -> (u32, Option<u32>) {
    match result {
        Err(DeskError::Platform(e)) => (e.code, e.error_subcode),
        other => panic!("expected the platform's refusal, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_customer_is_routed_like_a_web_request_and_a_returning_one_rejoins() {
    let desk = desk_with("");
    let conversation = wrote(&desk, "messenger", message("psid1", "m1", "Hola!"));
    assert_eq!(status(&desk, &conversation), "queued");
    let view = desk.conversation(&conversation).expect("view");
    assert_eq!(view.transcript[0].author_name, "Marta");
    // The same customer again: the same conversation; a redelivered webhook: nothing new.
    let again = wrote(&desk, "messenger", message("psid1", "m2", "Anyone?"));
    assert_eq!(again, conversation);
    let before = events(&desk, &conversation);
    wrote(&desk, "messenger", message("psid1", "m2", "Anyone?"));
    assert_eq!(events(&desk, &conversation), before);
    // Another customer, or another channel: another conversation.
    assert_ne!(
        wrote(&desk, "messenger", message("psid2", "m3", "Hi")),
        conversation
    );
    assert_ne!(
        wrote(&desk, "telegram", message("psid1", "m4", "Hi")),
        conversation
    );
    // Nobody takes it: missed, like a web request.
    sleep(Duration::from_secs(60)).await;
    assert_eq!(status(&desk, &conversation), "missed");
    // Writing again then opens a new conversation.
    assert_ne!(
        wrote(&desk, "messenger", message("psid1", "m5", "Hello?")),
        conversation
    );
    assert!(matches!(
        desk.customer_wrote(&channel("nowhere"), message("x", "y", "z"), Instant::now()),
        Err(DeskError::UnknownChannel(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn messenger_refuses_free_text_after_24_hours_unless_the_human_agent_tag_applies() {
    let desk = desk_with("");
    let plain = accepted(&desk, "messenger", message("psid1", "m1", "Hi"));
    let tagged = accepted(&desk, "messenger_tagged", message("psid2", "m2", "Hi"));
    desk.agent_message(&agent("ann"), &plain, None, "Hello!")
        .expect("inside the window");
    let sent = outbox(&desk, "messenger");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"]["messaging_type"], "RESPONSE");
    assert_eq!(sent[0]["body"]["recipient"]["id"], "psid1");

    advance_hours(&desk, 25);
    let before = events(&desk, &plain);
    assert_eq!(
        refusal(desk.agent_message(&agent("ann"), &plain, None, "Still there?")),
        (10, Some(2_018_278))
    );
    assert_eq!(events(&desk, &plain), before, "stored nowhere");
    assert_eq!(outbox(&desk, "messenger").len(), 1, "sent nowhere");
    desk.agent_message(&agent("ann"), &tagged, None, "Following up")
        .expect("a person may answer with the tag");
    let tagged_sent = outbox(&desk, "messenger_tagged");
    assert_eq!(tagged_sent[0]["body"]["tag"], "HUMAN_AGENT");
    // The customer writes again: the window is open again.
    wrote(&desk, "messenger", message("psid1", "m3", "Yes!"));
    desk.agent_message(&agent("ann"), &plain, None, "Great")
        .expect("the window restarted");
    // Past 7 days the tag is over too.
    advance_hours(&desk, 24 * 7);
    assert_eq!(
        refusal(desk.agent_message(&agent("ann"), &tagged, None, "Late")),
        (10, Some(2_018_278))
    );
}

#[tokio::test(start_paused = true)]
async fn whatsapp_takes_only_templates_outside_its_window() {
    let desk = desk_with("");
    let conversation = accepted(&desk, "whatsapp", message("447700900123", "w1", "Hi"));
    advance_hours(&desk, 24);
    assert_eq!(
        refusal(desk.agent_message(&agent("ann"), &conversation, None, "Hello")),
        (131_047, None)
    );
    assert_eq!(
        refusal(desk.channel_action(
            &agent("ann"),
            &conversation,
            None,
            &ChannelAction::Template("unknown".into())
        )),
        (132_001, None)
    );
    desk.channel_action(
        &agent("ann"),
        &conversation,
        None,
        &ChannelAction::Template("order_update".into()),
    )
    .expect("a template goes out");
    let sent = outbox(&desk, "whatsapp");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"]["type"], "template");
    assert_eq!(sent[0]["body"]["to"], "447700900123");
    let view = desk.conversation(&conversation).expect("view");
    assert_eq!(
        view.transcript.last().map(|l| l.text.as_str()),
        Some("News about your order.")
    );
}

#[tokio::test(start_paused = true)]
async fn a_comment_gets_public_replies_one_private_reply_and_can_be_hidden_and_deleted() {
    let desk = desk_with("");
    let conversation = accepted(
        &desk,
        "facebook_comments",
        comment("u1", "c1", None, "Cold brew?"),
    );
    // A reply in the thread joins the same conversation.
    assert_eq!(
        wrote(
            &desk,
            "facebook_comments",
            comment("u1", "c2", Some("c1"), "Anyone?")
        ),
        conversation
    );
    let ann = agent("ann");
    desk.agent_message(&ann, &conversation, None, "Yes, it does!")
        .expect("public reply");
    desk.agent_message(&ann, &conversation, None, "Try a coarse grind.")
        .expect("public replies are unlimited");
    let private = ChannelAction::PrivateReply("I have sent you a recipe.".into());
    desk.channel_action(&ann, &conversation, None, &private)
        .expect("one private reply");
    assert_eq!(
        refusal(desk.channel_action(&ann, &conversation, None, &private)),
        (10_900, None)
    );
    desk.channel_action(&ann, &conversation, None, &ChannelAction::Hide)
        .expect("hide");
    desk.channel_action(&ann, &conversation, None, &ChannelAction::Delete)
        .expect("delete");
    assert_eq!(
        refusal(desk.agent_message(&ann, &conversation, None, "Hello?")),
        (100, Some(33))
    );
    let paths: Vec<String> = outbox(&desk, "facebook_comments")
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["method"].as_str().unwrap_or_default(),
                c["path"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            "POST /c1/comments",
            "POST /c1/comments",
            "POST /me/messages",
            "POST /c1",
            "DELETE /c1"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn telegram_has_no_window_and_closes_only_after_accept() {
    let desk = desk_with("");
    let conversation = wrote(&desk, "telegram", message("93372553", "t1", "Hello"));
    assert!(matches!(
        desk.close(&agent("ann"), &conversation, Instant::now()),
        Err(DeskError::NotAllowed(_))
    ));
    desk.accept(&agent("ann"), &conversation, Instant::now())
        .expect("accept");
    advance_hours(&desk, 24 * 30);
    desk.agent_message(&agent("ann"), &conversation, None, "Still here")
        .expect("no window on Telegram");
    assert_eq!(outbox(&desk, "telegram")[0]["body"]["chat_id"], "93372553");
    desk.close(&agent("ann"), &conversation, Instant::now())
        .expect("close");
    assert_eq!(status(&desk, &conversation), "ended");
    // Web chats are not channel conversations.
    let (_, web) = common::requesting(&desk, "r1");
    desk.accept(&agent("ben"), &web, Instant::now())
        .expect("accept");
    assert!(matches!(
        desk.channel_action(&agent("ben"), &web, None, &ChannelAction::Hide),
        Err(DeskError::NotAllowed(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn simulated_customers_write_by_themselves() {
    let desk = desk_with(
        r#"
[[customers]]
channel = "telegram"
id = "42"
name = "Jonas"
after_secs = 5
every_secs = 30
messages = ["First", "Second"]
"#,
    );
    let count = |desk: &Desk| desk.state(Instant::now()).conversations.len();
    sleep(Duration::from_secs(4)).await;
    assert_eq!(count(&desk), 0);
    sleep(Duration::from_secs(1)).await;
    assert_eq!(count(&desk), 1);
    let conversation = desk.state(Instant::now()).conversations[0]
        .conversation
        .clone();
    sleep(Duration::from_secs(30)).await;
    let texts: Vec<String> = desk
        .conversation(&conversation)
        .expect("view")
        .transcript
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(texts, vec!["First", "Second"]);
}

#[tokio::test(start_paused = true)]
async fn simulated_customers_stay_silent_while_the_simulation_is_off() {
    let mut config = desk_with(
        r#"
[[customers]]
channel = "telegram"
id = "42"
name = "Jonas"
after_secs = 5
every_secs = 30
messages = ["First", "Second"]
"#,
    )
    .config
    .clone();
    config.simulation.enabled = false;
    let desk = common::desk(config);
    sleep(Duration::from_secs(120)).await;
    assert!(desk.state(Instant::now()).conversations.is_empty());
}

#[tokio::test(start_paused = true)]
async fn channel_conversations_their_outbox_and_the_clock_survive_a_restart() {
    let db = std::env::temp_dir().join(format!(
        "porchlight-channels-{}-{}.sqlite3",
        std::process::id(),
        porchlight_server::store::random_id()
    ));
    let config = desk_with("").config.clone();
    let conversation = {
        let desk = Desk::open(config.clone(), &db).expect("open");
        let conversation = accepted(
            &desk,
            "facebook_comments",
            comment("u1", "c1", None, "Cold brew?"),
        );
        desk.channel_action(
            &agent("ann"),
            &conversation,
            None,
            &ChannelAction::PrivateReply("Recipe sent".into()),
        )
        .expect("private reply");
        advance_hours(&desk, 3);
        conversation
    };
    let desk = Desk::open(config, &db).expect("reopen");
    assert_eq!(outbox(&desk, "facebook_comments").len(), 1);
    assert_eq!(status(&desk, &conversation), "live");
    assert_eq!(
        refusal(desk.channel_action(
            &agent("ann"),
            &conversation,
            None,
            &ChannelAction::PrivateReply("Again".into())
        )),
        (10_900, None),
        "the private reply is remembered"
    );
    let (_, offset) = desk.advance_clock(0).expect("simulation on");
    assert_eq!(offset, 3 * HOUR_MS);
    let _ = std::fs::remove_file(&db);
}

#[tokio::test(start_paused = true)]
async fn a_story_reply_opens_a_conversation_and_its_link_is_gone_after_a_day() {
    let text = format!(
        "{}\n[[channels]]\nid = \"instagram\"\nkind = \"instagram\"\nname = \"Account\"\n",
        porchlight_server::config::DEFAULT_CONFIG_TOML
            .split("\n[routing]")
            .next()
            .unwrap_or_default()
    ) + &format!("\n[routing]\n{BROADCAST}\n{AGENTS}");
    let desk = common::desk(ServerConfig::from_toml(&text, "test").expect("valid"));
    let mention = Inbound {
        customer: Customer {
            id: "17841".into(),
            name: None,
        },
        message_id: "s1".into(),
        at_ms: 0,
        content: Content::StoryMention {
            url: "https://cdn.example/story.jpg".into(),
        },
    };
    let conversation = wrote(&desk, "instagram", mention);
    assert_eq!(status(&desk, &conversation), "queued");
    let story = |desk: &Desk| {
        desk.read(|world| {
            porchlight_server::desk::folders::summary(
                world,
                &desk.config,
                &conversation,
                Instant::now(),
            )
        })
        .and_then(|s| s.story)
        .expect("a story")
    };
    assert!(story(&desk).mention);
    assert_eq!(
        story(&desk).url.as_deref(),
        Some("https://cdn.example/story.jpg")
    );
    advance_hours(&desk, 24);
    assert_eq!(story(&desk).url, None, "the link is not shown once it died");
}
