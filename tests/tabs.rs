//! End to end: several tabs of the same site share one conversation. Each shows every
//! message exactly once, in seq order, and a message sent in one appears in all the others.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat};

/// Opens the chat in `tabs` tabs, sends one message from each, and checks every tab shows
/// the greeting and each message with its bot answer, once each, in seq order.
async fn tabs_share_one_conversation(tabs: usize) {
    let chat = Chat::start().await;
    let browser = Browser::start().await;
    let client = browser.client();
    let mut handles = vec![client.window().await.expect("first tab")];
    for tab in 1..=tabs {
        if tab > 1 {
            let new = client.new_window(true).await.expect("new tab");
            client
                .switch_to_window(new.handle.clone())
                .await
                .expect("switch");
            handles.push(new.handle);
        }
        let frame = browser.open_greeted_chat(&chat.url("/")).await;
        // What the earlier tabs sent is here already.
        for earlier in 1..tab {
            frame
                .wait_for_text(
                    ".pl-from-visitor .pl-text",
                    &format!("Sent from tab {earlier}"),
                )
                .await;
        }
        frame
            .type_into(
                "textarea#pl-composer-input",
                &format!("Sent from tab {tab}\u{E007}"),
            )
            .await;
        frame
            .wait_for_count(".pl-log li[data-seq]", 1 + 2 * tab)
            .await;
        frame.leave().await;
    }
    let expected: Vec<u64> = (1..=(1 + 2 * tabs as u64)).collect();
    for (tab, handle) in handles.into_iter().enumerate() {
        client.switch_to_window(handle).await.expect("switch");
        let frame = browser.enter_widget().await;
        let texts = frame
            .wait_for_count(".pl-log li[data-seq]", expected.len())
            .await;
        assert_eq!(frame.seqs().await, expected, "tab {}", tab + 1);
        for sender in 1..=tabs {
            let sent = format!("Sent from tab {sender}");
            assert_eq!(
                texts.iter().filter(|t| t.contains(&sent)).count(),
                1,
                "tab {} shows {sent:?} once: {texts:?}",
                tab + 1
            );
            // In seq order: greeting, then each message followed by its answer.
            assert!(texts[2 * sender - 1].contains(&sent), "{texts:?}");
        }
        frame.wait_for_count(".pl-pending", 0).await;
        frame.leave().await;
    }
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn two_tabs_share_one_conversation_and_show_each_message_once() {
    tabs_share_one_conversation(2).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn three_tabs_share_one_conversation_and_show_each_message_once() {
    tabs_share_one_conversation(3).await;
}
