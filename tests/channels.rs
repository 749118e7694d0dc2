//! End to end: the social channels worked through the agent console in headless Chromium
//! against the real server, customers arriving as the platforms' webhooks would —
//! a Messenger request taken from the queue filtered by channel, answered, refused once
//! the 24 h window closes (the composer says why) and answered again with the human-agent
//! tag; a Facebook comment filtered by post, answered publicly and privately, a second
//! private reply refused, the comment deleted; a WhatsApp template outside the window; a
//! Telegram chat closed after accept; an Instagram story reply linking to its story and a
//! customer made up in the Simulate panel. axe-core checks the console in each state.
//!
//! Needs the release console and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat, Frame};
use fantoccini::Locator;
use porchlight_server::ServerConfig;
use porchlight_server::client::ControlClient;
use serde_json::{Value, json};
use std::time::Duration;

/// The built-in demo's site, channels and an agent played in the console, without
/// simulated customers (the tests send their own webhooks).
fn config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.customers.clear();
    config.agents.retain(|a| a.id.as_str() == "ann");
    config
}

async fn webhook(control: &ControlClient, channel: &str, payload: Value) -> String {
    let answer = control
        .post(&format!("/mock/channels/{channel}/inbound"), &payload)
        .await
        .expect("inbound");
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["conversation"]
        .as_str()
        .expect("a conversation")
        .to_string()
}

fn messenger(psid: &str, mid: &str, text: &str) -> Value {
    json!({"object": "page", "entry": [{"id": "1047", "time": 1_767_225_600_000u64,
        "messaging": [{"sender": {"id": psid}, "recipient": {"id": "1047"},
            "timestamp": 1_767_225_600_000u64, "message": {"mid": mid, "text": text}}]}]})
}

fn facebook_comment(post: &str, comment: &str, from: &str, text: &str) -> Value {
    json!({"object": "page", "entry": [{"id": "1047", "time": 1_767_225_600u64,
        "changes": [{"field": "feed", "value": {"item": "comment", "verb": "add",
            "post_id": post, "comment_id": comment, "parent_id": post,
            "from": {"id": from, "name": "Priya Nair"}, "message": text,
            "created_time": 1_767_225_600u64}}]}]})
}

fn whatsapp(from: &str, id: &str, text: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "w1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
        "contacts": [{"wa_id": from, "profile": {"name": "Tom Becker"}}],
        "messages": [{"from": from, "id": id, "timestamp": "1767225600",
            "type": "text", "text": {"body": text}}]}}]}]})
}

fn instagram_story_reply(psid: &str, mid: &str, text: &str, url: &str) -> Value {
    json!({"object": "instagram", "entry": [{"id": "1784", "time": 1_767_225_600_000u64,
        "messaging": [{"sender": {"id": psid}, "recipient": {"id": "1784"},
            "timestamp": 1_767_225_600_000u64, "message": {"mid": mid, "text": text,
                "reply_to": {"story": {"id": "17990000000000077", "url": url}}}}]}]})
}

fn telegram(chat: u64, text: &str) -> Value {
    json!({"update_id": 1, "message": {"message_id": 5,
        "from": {"id": chat, "is_bot": false, "first_name": "Jonas"},
        "chat": {"id": chat, "type": "private"}, "date": 1_767_225_600u64, "text": text}})
}

/// Signs in as Ann.
async fn console<'a>(chat: &Chat, browser: &'a Browser) -> Frame<'a> {
    browser.open_console(chat, Some("ann")).await
}

/// Picks `value` in the `select` matching `css`.
async fn choose(page: &Frame<'_>, css: &str, value: &str) {
    let select = page.wait_for(Locator::Css(css)).await;
    select
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("cannot choose {value} in {css}: {e}"));
}

/// Shows `folder` and waits for a row of `conversation` in it.
async fn row_in(page: &Frame<'_>, folder: &str, conversation: &str) -> String {
    page.click(&format!("button.pc-folder[data-folder='{folder}']"))
        .await;
    let row = format!("#pc-folder-panel li.pc-row[data-conversation='{conversation}']");
    page.wait_for(Locator::Css(&row)).await;
    row
}

/// Takes `conversation` from the Queue and opens it.
async fn accept(page: &Frame<'_>, conversation: &str) {
    let row = row_in(page, "queue", conversation).await;
    page.click(&format!("{row} button.pc-accept")).await;
    page.wait_for(Locator::Css(&format!(
        "section.pc-chat[data-conversation='{conversation}'] #pc-composer"
    )))
    .await;
}

async fn send(page: &Frame<'_>, text: &str) {
    page.type_into("#pc-composer", &format!("{text}\u{E007}"))
        .await;
}

/// The platform's calls in `channel`'s outbox.
async fn outbox(control: &ControlClient, channel: &str) -> Vec<Value> {
    control
        .get(&format!("/mock/channels/{channel}/outbox"))
        .await
        .expect("outbox")
        .json()
        .as_array()
        .map(|a| a.iter().map(|r| r["call"].clone()).collect())
        .unwrap_or_default()
}

/// Waits until `channel`'s outbox holds `n` records.
async fn wait_for_outbox(control: &ControlClient, channel: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let records = outbox(control, channel).await;
        if records.len() == n {
            return records;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{channel}'s outbox holds {} records, not {n}: {records:?}",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs the release console and Chromium: run `cargo xtask test`"]
async fn messenger_answered_then_refused_after_the_window_then_sent_with_the_human_agent_tag() {
    let chat = Chat::start_with(config()).await;
    let control = chat.control();
    let browser = Browser::start().await;
    let page = console(&chat, &browser).await;
    let conversation = webhook(
        &control,
        "messenger",
        messenger("6512", "m1", "Do you ship to Spain?"),
    )
    .await;
    webhook(&control, "telegram", telegram(42, "Hello")).await;

    // Filtered by channel, only the Messenger request shows.
    page.click("button.pc-folder[data-folder='queue']").await;
    choose(&page, "#pc-filter-channel", "messenger").await;
    page.wait_for_count("#pc-folder-panel li.pc-row", 1).await;
    page.wait_for_text("#pc-folder-panel .pc-channel", "Facebook Page")
        .await;
    accept(&page, &conversation).await;
    page.wait_for_text(".pc-window", "left").await;
    send(&page, "Yes, we ship to Spain.").await;
    let sent = wait_for_outbox(&control, "messenger", 1).await;
    assert_eq!(sent[0]["body"]["messaging_type"], "RESPONSE");

    // 25 hours later the window is closed: the console says so and offers the tag.
    control
        .post("/mock/clock", &json!({"advance_secs": 25 * 3600}))
        .await
        .expect("clock");
    page.wait_for_text("#pc-clock", "+25").await;
    page.wait_for_text(".pc-window", "HUMAN_AGENT").await;
    send(&page, "Your parcel left today.").await;
    let sent = wait_for_outbox(&control, "messenger", 2).await;
    assert_eq!(sent[1]["body"]["tag"], "HUMAN_AGENT");
    browser.screenshot("channels-messenger-tag").await;
    page.assert_accessible("a Messenger chat answered with the tag")
        .await;

    // After 7 days nothing may be sent: the composer is disabled and says why.
    control
        .post("/mock/clock", &json!({"advance_secs": 7 * 24 * 3600}))
        .await
        .expect("clock");
    page.wait_for_text("#pc-composer-why", "window").await;
    let disabled = page
        .script("return document.querySelector('#pc-composer').disabled")
        .await;
    assert_eq!(disabled.as_bool(), Some(true));
    page.assert_accessible("a Messenger chat past the tag's 7 days")
        .await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release console and Chromium: run `cargo xtask test`"]
async fn a_facebook_comment_answered_publicly_and_privately_once_then_deleted() {
    let chat = Chat::start_with(config()).await;
    let control = chat.control();
    let browser = Browser::start().await;
    let page = console(&chat, &browser).await;
    let conversation = webhook(
        &control,
        "facebook_comments",
        facebook_comment("1047_55", "55_1", "222", "Does this work for cold brew?"),
    )
    .await;
    webhook(
        &control,
        "facebook_comments",
        facebook_comment("1047_77", "77_1", "333", "Other post"),
    )
    .await;
    page.click("button.pc-folder[data-folder='queue']").await;
    choose(&page, "#pc-filter-post", "1047_55").await;
    page.wait_for_count("#pc-folder-panel li.pc-row", 1).await;
    accept(&page, &conversation).await;

    // A public reply, then the one private reply; a second private reply is refused.
    send(&page, "Yes, coarse grind and 16 hours.").await;
    let sent = wait_for_outbox(&control, "facebook_comments", 1).await;
    assert_eq!(sent[0]["path"], "/55_1/comments");
    page.click("input[name='pc-reply-kind'][value='private']")
        .await;
    send(&page, "I have sent you our recipe.").await;
    let sent = wait_for_outbox(&control, "facebook_comments", 2).await;
    assert_eq!(sent[1]["body"]["recipient"]["comment_id"], "55_1");
    page.click("input[name='pc-reply-kind'][value='private']")
        .await;
    send(&page, "One more thing").await;
    page.wait_for_text("#pc-alert", "10900").await;
    assert_eq!(outbox(&control, "facebook_comments").await.len(), 2);
    page.assert_accessible("a comment's second private reply refused")
        .await;

    // Hiding asks first; Cancel hides nothing and gives the focus back.
    page.click("button.pc-hide-comment").await;
    page.wait_until_focused_css("button.pc-confirm").await;
    page.wait_for_text("button.pc-confirm", "Hide").await;
    page.click("button.pc-cancel").await;
    page.wait_until_focused_css("button.pc-hide-comment").await;
    assert!(page.texts(".pc-confirm-region").await.is_empty());

    page.click("button.pc-delete-comment").await;
    page.wait_until_focused_css("button.pc-confirm").await;
    page.assert_accessible("deleting a comment, asked to confirm")
        .await;
    page.click("button.pc-confirm").await;
    let sent = wait_for_outbox(&control, "facebook_comments", 3).await;
    assert_eq!(sent[2]["method"], "DELETE");
    page.wait_for_text(".pc-comment-state", "deleted").await;
    browser.screenshot("channels-comment").await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release console and Chromium: run `cargo xtask test`"]
async fn whatsapp_outside_its_window_takes_a_template_and_telegram_closes_after_accept() {
    let chat = Chat::start_with(config()).await;
    let control = chat.control();
    let browser = Browser::start().await;
    let page = console(&chat, &browser).await;
    let conversation = webhook(
        &control,
        "whatsapp",
        whatsapp("447700900123", "wamid.1", "Where is my order?"),
    )
    .await;
    accept(&page, &conversation).await;
    control
        .post("/mock/clock", &json!({"advance_secs": 24 * 3600 + 60}))
        .await
        .expect("clock");
    page.wait_for_text("#pc-composer-why", "template").await;
    choose(&page, "#pc-template", "order_update").await;
    page.click("button.pc-send-template").await;
    let sent = wait_for_outbox(&control, "whatsapp", 1).await;
    assert_eq!(sent[0]["body"]["template"]["name"], "order_update");
    page.wait_for_text(".pc-from-agent .pc-text", "There is news about your order")
        .await;
    browser.screenshot("channels-whatsapp-template").await;
    page.assert_accessible("a WhatsApp chat outside its window")
        .await;

    let telegram = webhook(
        &control,
        "telegram",
        telegram(42, "Can I pause my subscription?"),
    )
    .await;
    let row = row_in(&page, "queue", &telegram).await;
    assert!(
        page.texts(&format!("{row} button.pc-close-chat"))
            .await
            .is_empty()
    );
    accept(&page, &telegram).await;
    send(&page, "Of course.").await;
    wait_for_outbox(&control, "telegram", 1).await;
    page.click("button.pc-close-chat").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let view = control.conversation(&telegram).await.expect("view").json();
        if view["status"] == "ended" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never closed: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release console and Chromium: run `cargo xtask test`"]
async fn a_story_reply_links_to_its_story_and_a_simulated_customer_queues() {
    let chat = Chat::start_with(config()).await;
    let control = chat.control();
    let browser = Browser::start().await;
    let page = console(&chat, &browser).await;
    let url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1789&signature=abc";
    let conversation = webhook(
        &control,
        "instagram",
        instagram_story_reply("6512", "m_story", "Love this colour!", url),
    )
    .await;
    let row = row_in(&page, "queue", &conversation).await;
    page.wait_for_text(&format!("{row} .pc-window"), "left")
        .await;
    page.click(&format!("{row} .pc-open")).await;
    assert_eq!(
        page.attr("a.pc-story-link", "href").await.as_deref(),
        Some(url)
    );
    assert_eq!(
        page.attr("a.pc-story-link", "rel").await.as_deref(),
        Some("noopener noreferrer")
    );
    assert!(
        page.texts(".pc-story img").await.is_empty(),
        "a link, never the media"
    );
    page.assert_accessible("a story reply in the queue").await;

    // A customer made up in the Simulate panel joins the queue; the message is cleared.
    page.click("details.pc-simulate summary").await;
    choose(&page, "#pc-sim-channel", "telegram").await;
    page.type_into("#pc-sim-name", "Jonas Weber").await;
    page.type_into("#pc-sim-text", "Can I pause my subscription?")
        .await;
    page.assert_accessible("the Simulate panel").await;
    page.click("button.pc-sim-send").await;
    page.click("button.pc-folder[data-folder='queue']").await;
    page.wait_for_text("#pc-folder-panel .pc-name", "Jonas Weber")
        .await;
    page.wait_for_text(
        "#pc-folder-panel .pc-channel[data-kind='telegram']",
        "Telegram",
    )
    .await;
    let left = page
        .script("return document.querySelector('#pc-sim-text').value")
        .await;
    assert_eq!(left.as_str(), Some(""));
    browser.quit().await;
}
