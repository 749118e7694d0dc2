//! End to end: the whole conversation in headless Chromium against the real server —
//! bot, pre-chat form, both routing modes, live chat, close, rating, history, and the
//! leave-a-message form — with agents driven through the control API.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat, Frame, fill_prechat, wait_for_state};
use fantoccini::Locator;
use porchlight_server::ServerConfig;
use std::time::Duration;

/// The built-in site and bot with these routing settings and two hand-driven agents.
fn config(routing: &str) -> ServerConfig {
    let agents =
        "[[agents]]\nid = \"ann\"\nname = \"Ann\"\n\n[[agents]]\nid = \"ben\"\nname = \"Ben\"\n";
    ServerConfig::default_with(routing, agents).expect("valid test config")
}

fn queued_conversation(state: &serde_json::Value) -> Option<String> {
    state["queue"][0]["conversation"].as_str().map(String::from)
}

fn engaged_with(agent: &'static str) -> impl Fn(&serde_json::Value) -> Option<String> {
    move |state| state["engaged"][agent][0].as_str().map(String::from)
}

/// Opens the widget on the demo page and returns the entered frame.
async fn open_widget<'a>(chat: &Chat, browser: &'a Browser) -> Frame<'a> {
    browser.open_greeted_chat(&chat.url("/")).await
}

/// Starts the server with `routing`, opens the widget and asks for a person with a valid
/// pre-chat form.
async fn asking_for_a_person(routing: &str) -> (Chat, Browser) {
    let chat = Chat::start_with(config(routing)).await;
    let browser = Browser::start().await;
    let frame = open_widget(&chat, &browser).await;
    frame.click("button.pl-talk-to-human").await;
    fill_prechat(&frame).await;
    (chat, browser)
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn broadcast_journey_from_bot_to_rated_chat_and_history() {
    let chat = Chat::start_with(config(
        "mode = \"broadcast\"\nqueue_time_secs = 120\nacceptance_time_secs = 30",
    ))
    .await;
    let control = chat.control();
    let browser = Browser::start().await;
    let frame = open_widget(&chat, &browser).await;

    // The bot's quick replies.
    frame.click(".pl-choices button.pl-choice").await;
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "Prices")
        .await;
    frame.wait_for_text(".pl-from-bot .pl-text", "9 €").await;

    // The pre-chat form refuses an empty submission, names each problem, focuses the first.
    frame.click("button.pl-talk-to-human").await;
    frame.click("form.pl-prechat button[type=submit]").await;
    frame.wait_until_focused("pl-field-name").await;
    browser.screenshot("journey-form-errors").await;
    assert_eq!(
        frame
            .attr("#pl-field-name", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        frame
            .attr("#pl-field-email", "aria-describedby")
            .await
            .as_deref(),
        Some("pl-field-email-error")
    );
    frame
        .wait_for_text("#pl-field-email-error", "required")
        .await;
    // Corrected, it goes through, and the visitor waits in line.
    frame.type_into("#pl-field-email", "not-an-email").await;
    frame.click("form.pl-prechat button[type=submit]").await;
    frame
        .wait_for_text("#pl-field-email-error", "email address")
        .await;
    frame
        .wait_for(Locator::Css("#pl-field-email"))
        .await
        .clear()
        .await
        .expect("clear");
    fill_prechat(&frame).await;
    frame
        .wait_for_text(".pl-chat-status", "number 1 in line")
        .await;
    browser.screenshot("journey-queued").await;

    let conversation = wait_for_state(&control, queued_conversation).await;
    let view = control
        .conversation(&conversation)
        .await
        .expect("view")
        .json();
    assert_eq!(view["prechat"]["email"], "ada@example.com");

    // An agent accepts, types and writes; the visitor answers.
    assert_eq!(
        control
            .accept("ann", &conversation)
            .await
            .expect("accept")
            .status,
        200
    );
    frame
        .wait_for_text("li.pl-system", "Ann joined the chat")
        .await;
    control
        .typing("ann", &conversation, true)
        .await
        .expect("typing");
    frame.wait_for_text(".pl-typing", "Ann is typing").await;
    control
        .message(
            "ann",
            &conversation,
            "Hello Ada, <img src=x onerror=alert(1)> how can I help?",
        )
        .await
        .expect("message");
    frame
        .wait_for_text(
            ".pl-from-agent .pl-text",
            "Hello Ada, <img src=x onerror=alert(1)> how can I help?",
        )
        .await;
    frame
        .type_into("textarea#pl-composer-input", "Where is my order?\u{E007}")
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let view = control
            .conversation(&conversation)
            .await
            .expect("view")
            .json();
        let said = view["transcript"]
            .as_array()
            .is_some_and(|t| t.iter().any(|l| l["text"] == "Where is my order?"));
        if said {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the agent never got the message"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    browser.screenshot("journey-live").await;

    // The agent closes; the visitor rates, then starts anew and reads the old chat.
    assert_eq!(
        control
            .close("ann", &conversation)
            .await
            .expect("close")
            .status,
        200
    );
    frame.wait_for(Locator::Css("form.pl-rating")).await;
    browser.screenshot("journey-rating").await;
    frame
        .click("form.pl-rating input[name=pl-stars][value='5']")
        .await;
    frame.type_into("#pl-rating-comment", "Very helpful").await;
    frame.click("form.pl-rating button[type=submit]").await;
    frame
        .wait_for_text(".pl-panel", "Thank you for your rating")
        .await;
    let view = control
        .conversation(&conversation)
        .await
        .expect("view")
        .json();
    assert_eq!(view["rating"]["stars"], 5);
    assert_eq!(view["rating"]["comment"], "Very helpful");

    frame.click("button.pl-new-conversation").await;
    frame
        .wait_until_gone_text(".pl-log .pl-text", "Where is my order?")
        .await;
    frame.click("button.pl-history").await;
    frame.click(".pl-history-list button").await;
    frame.wait_for_text(".pl-text", "Where is my order?").await;
    browser.screenshot("journey-history").await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn time_based_journey_with_a_reassignment_ended_by_the_visitor() {
    let (chat, browser) = asking_for_a_person(
        "mode = \"time-based\"\nqueue_time_secs = 120\nacceptance_time_secs = 1.5",
    )
    .await;
    let control = chat.control();
    let frame = browser.enter_widget().await;
    frame
        .wait_for_text(".pl-chat-status", "Connecting you to an agent")
        .await;

    // Ann lets the acceptance time run out; the request moves on to Ben, who accepts.
    let conversation = wait_for_state(&control, engaged_with("ann")).await;
    let moved = wait_for_state(&control, engaged_with("ben")).await;
    assert_eq!(moved, conversation);
    assert_eq!(
        control
            .accept("ann", &conversation)
            .await
            .expect("accept")
            .status,
        409
    );
    assert_eq!(
        control
            .accept("ben", &conversation)
            .await
            .expect("accept")
            .status,
        200
    );
    frame
        .wait_for_text("li.pl-system", "Ben joined the chat")
        .await;

    // The visitor ends the chat, after confirming.
    frame.click("button.pl-end-chat").await;
    frame
        .wait_until_focused_css(".pl-confirm button.pl-confirm-end")
        .await;
    frame.click("button.pl-confirm-end").await;
    frame.wait_for(Locator::Css("form.pl-rating")).await;
    let view = control
        .conversation(&conversation)
        .await
        .expect("view")
        .json();
    assert_eq!(view["status"], "ended");
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_queue_timeout_ends_in_the_leave_a_message_form() {
    let (chat, browser) = asking_for_a_person(
        "mode = \"broadcast\"\nqueue_time_secs = 1.5\nacceptance_time_secs = 30",
    )
    .await;
    let control = chat.control();
    let frame = browser.enter_widget().await;
    frame.wait_for(Locator::Css("form.pl-leave-message")).await;
    browser.screenshot("journey-missed").await;
    frame
        .type_into("#pl-leave-message-text", "Please call me back tomorrow.")
        .await;
    frame
        .click("form.pl-leave-message button[type=submit]")
        .await;
    frame
        .wait_for_text(".pl-panel", "We will get back to you soon")
        .await;
    let state = wait_for_state(&control, |s| {
        s["offline_messages"]
            .as_array()
            .filter(|m| !m.is_empty())
            .cloned()
    })
    .await;
    assert_eq!(state[0]["text"], "Please call me back tomorrow.");
    assert_eq!(state[0]["answers"]["email"], "ada@example.com");
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn in_the_demo_a_simulated_agent_takes_the_chat_and_answers() {
    // The built-in demo, with Ben taking untaken requests after 2 s rather than 20 s.
    let mut config = ServerConfig::default();
    let ben = config
        .agents
        .iter_mut()
        .find(|a| a.id.as_str() == "ben")
        .expect("the demo has Ben");
    assert_eq!(ben.accept_delay_secs, Some(20.0));
    ben.accept_delay_secs = Some(2.0);
    let chat = Chat::start_with(config).await;
    let browser = Browser::start().await;
    let frame = open_widget(&chat, &browser).await;
    frame.click("button.pl-talk-to-human").await;
    fill_prechat(&frame).await;
    // Ben greets after 1.5 s of typing.
    frame
        .wait_for_text("li.pl-system", "Ben joined the chat")
        .await;
    frame
        .wait_for_text(".pl-from-agent .pl-text", "Hello, Ben here")
        .await;
    frame
        .type_into(
            "textarea#pl-composer-input",
            "My beans have not arrived\u{E007}",
        )
        .await;
    frame
        .wait_for_text(".pl-from-agent .pl-text", "let me check that for you")
        .await;
    browser.quit().await;
}
