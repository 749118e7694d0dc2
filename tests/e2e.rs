//! End to end: the release widget in headless Chromium, embedded by the loader on a host
//! page, talking to the real server over a real WebSocket.
//!
//! Needs the release bundle and Chromium, which `cargo xtask test` provides (it sets
//! `PORCHLIGHT_WIDGET_DIR` and `CHROMEDRIVER`); hence `#[ignore]` for a plain `cargo test`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat};
use fantoccini::Locator;

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn visitor_is_greeted_gets_an_answer_and_keeps_the_transcript_after_a_reload() {
    let chat = Chat::start().await;
    let browser = Browser::start().await;
    let page = browser.client();
    page.goto(&chat.url("/")).await.expect("demo page");

    let frame = browser.enter_widget().await;
    let launcher = frame
        .wait_for(Locator::Css("button[aria-label='Open chat']"))
        .await;
    launcher.click().await.expect("click launcher");
    frame
        .wait_for_text(".pl-from-bot .pl-text", "Hi! I'm the Porchlight bot")
        .await;

    let composer = frame
        .wait_for(Locator::Css("textarea#pl-composer-input"))
        .await;
    // Opening moves focus into the composer.
    frame.wait_until_focused("pl-composer-input").await;
    composer
        .send_keys("What are your prices?\u{E007}")
        .await
        .expect("type and press Enter");
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "What are your prices?")
        .await;
    frame.wait_for_text(".pl-from-bot .pl-text", "9 €").await;

    page.refresh().await.expect("reload");
    let frame = browser.enter_widget().await;
    frame.wait_for_text(".pl-from-bot .pl-text", "9 €").await;
    let texts = frame.texts(".pl-log .pl-text").await;
    assert_eq!(
        texts.len(),
        3,
        "greeting, question, answer once each: {texts:?}"
    );
    assert_eq!(texts[1], "What are your prices?");
    frame.leave().await;
    browser.screenshot("journey-after-reload").await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn keyboard_alone_opens_sends_multiline_and_closes_with_escape() {
    let chat = Chat::start().await;
    let browser = Browser::start().await;
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("demo page");
    let frame = browser.enter_widget().await;
    let launcher = frame
        .wait_for(Locator::Css("button[aria-label='Open chat']"))
        .await;
    // Enter on the focused launcher activates it like a click.
    launcher
        .send_keys("\u{E007}")
        .await
        .expect("Enter on launcher");
    let composer = frame
        .wait_for(Locator::Css("textarea#pl-composer-input"))
        .await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;

    // Blank messages are not sent.
    composer
        .send_keys("   \u{E007}")
        .await
        .expect("blank Enter");
    // Shift+Enter makes a new line; Enter sends.
    composer
        .send_keys("first line\u{E008}\u{E007}\u{E000}second line\u{E007}")
        .await
        .expect("type");
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "first line\nsecond line")
        .await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Sorry").await;
    assert_eq!(frame.texts(".pl-from-visitor .pl-text").await.len(), 1);

    // The close button has an accessible name; Escape closes and focus returns.
    frame
        .wait_for(Locator::Css("button[aria-label='Close chat']"))
        .await;
    composer.send_keys("\u{E00C}").await.expect("Escape");
    frame.wait_until_focused("pl-launcher").await;
    assert!(!frame.is_displayed(".pl-panel").await, "panel hidden");
    let log_role = frame.attr(".pl-log", "role").await;
    assert_eq!(log_role.as_deref(), Some("log"));
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn the_snippet_works_twice_on_a_strict_csp_page_of_another_origin() {
    let mut chat = Chat::start().await;
    let host = chat.start_strict_host_page().await;
    let browser = Browser::start().await;
    browser.client().goto(&host).await.expect("host page");
    let frame = browser.enter_widget().await;
    frame
        .wait_for(Locator::Css("button[aria-label='Open chat']"))
        .await
        .click()
        .await
        .expect("click");
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    frame.leave().await;
    let frames = browser
        .client()
        .find_all(Locator::Css("iframe"))
        .await
        .expect("find iframes");
    assert_eq!(frames.len(), 1, "one iframe although the snippet ran twice");
    // The widget asked for its open size and the loader applied it through the CSSOM,
    // which the host's CSP (no 'unsafe-inline') allows.
    browser.wait_for_frame_width(416).await;
    browser.screenshot("strict-host-page").await;
    // The JS API takes listeners only for the widget's events: a hostile name reaches no
    // prototype and throws nothing.
    let untouched = browser
        .client()
        .execute(
            "Porchlight('on', '__proto__', function () {});\
             Porchlight('on', 'constructor', function () {});\
             Porchlight('on', 'open', function () {});\
             return Object.prototype.length === undefined && typeof ({}).constructor === 'function';",
            vec![],
        )
        .await
        .expect("the API call does not throw");
    assert_eq!(untouched.as_bool(), Some(true));
    browser.quit().await;
}
