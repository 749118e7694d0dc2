//! End to end: two tabs of the same site share one conversation. Each shows every message
//! exactly once, and a message sent in one appears in the other.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat};

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn two_tabs_share_one_conversation_and_show_each_message_once() {
    let chat = Chat::start().await;
    let browser = Browser::start().await;
    let client = browser.client();
    let first_tab = client.window().await.expect("first tab");
    let frame = browser.open_chat(&chat.url("/")).await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    frame
        .type_into(
            "textarea#pl-composer-input",
            "Sent from the first tab\u{E007}",
        )
        .await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Sorry").await;
    frame.leave().await;

    let second = client.new_window(true).await.expect("second tab");
    client
        .switch_to_window(second.handle.clone())
        .await
        .expect("switch");
    let frame = browser.open_chat(&chat.url("/")).await;
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "Sent from the first tab")
        .await;
    frame
        .type_into(
            "textarea#pl-composer-input",
            "Sent from the second tab\u{E007}",
        )
        .await;
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "Sent from the second tab")
        .await;
    frame.leave().await;

    client
        .switch_to_window(first_tab)
        .await
        .expect("switch back");
    let frame = browser.enter_widget().await;
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "Sent from the second tab")
        .await;
    // Greeting, two visitor messages and two bot answers: each once, in seq order.
    let expected = |texts: Vec<String>| {
        assert_eq!(texts[1], "Sent from the first tab");
        assert_eq!(texts[3], "Sent from the second tab");
    };
    expected(frame.wait_for_count(".pl-log .pl-text", 5).await);
    assert_eq!(frame.seqs().await, vec![1, 2, 3, 4, 5]);
    frame.leave().await;
    client
        .switch_to_window(second.handle)
        .await
        .expect("switch");
    let frame = browser.enter_widget().await;
    expected(frame.wait_for_count(".pl-log .pl-text", 5).await);
    assert_eq!(frame.seqs().await, vec![1, 2, 3, 4, 5]);
    browser.quit().await;
}
