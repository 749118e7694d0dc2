//! End to end in headless Chromium: the snippet costs the host page only the launcher until
//! the visitor shows intent. No `.wasm` is fetched before; a click on the launcher drawn
//! before the app opens the panel once the app has started (no second click); a visitor
//! with a conversation in progress gets the app at once and sees what an agent wrote while
//! they were away; the widget's files arrive precompressed and hashed ones immutable.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::proxy::{Direction, FaultyProxy};
use browser::{Browser, Chat, Frame, strings};
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// What the widget's document has fetched, by URL.
async fn fetched(frame: &Frame<'_>) -> Vec<String> {
    strings(
        &frame
            .script("return performance.getEntriesByType('resource').map(e => e.name)")
            .await,
    )
}

async fn fetched_wasm(frame: &Frame<'_>) -> bool {
    fetched(frame)
        .await
        .iter()
        .any(|url| url.ends_with(".wasm"))
}

/// Waits until the widget's document has fetched the app's wasm; `why` names the wait.
async fn wait_until_fetched_wasm(frame: &Frame<'_>, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fetched_wasm(frame).await {
        assert!(Instant::now() < deadline, "{why}");
        sleep(Duration::from_millis(50)).await;
    }
}

/// The host page at `url`, the widget entered, and the launcher drawn before the app.
async fn at_the_host_page<'a>(browser: &'a Browser, url: &str) -> Frame<'a> {
    browser.client().goto(url).await.expect("host page");
    let frame = browser.enter_widget().await;
    frame
        .wait_for(fantoccini::Locator::Css("button#pl-boot"))
        .await;
    frame
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn no_wasm_is_fetched_until_the_visitor_shows_intent() {
    let chat = Chat::start().await;
    let browser = Browser::start().await;
    let frame = at_the_host_page(&browser, &chat.url("/")).await;
    // The page has loaded and settled: still no app code.
    sleep(Duration::from_millis(1_500)).await;
    assert!(!fetched_wasm(&frame).await, "{:?}", fetched(&frame).await);
    assert!(
        !fetched(&frame).await.iter().any(|u| u.contains("/api/")),
        "nor the configuration"
    );
    frame.assert_accessible("launcher before the app").await;

    // Focus on the launcher (keyboard intent) fetches it, without opening anything.
    frame
        .script("document.getElementById('pl-boot').focus()")
        .await;
    wait_until_fetched_wasm(&frame, "intent never fetched the app").await;
    // The app takes the launcher's place, keeping focus on it, the panel still closed.
    frame.wait_until_focused("pl-launcher").await;
    assert!(!frame.is_displayed(".pl-panel").await);
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_click_before_the_app_has_started_opens_the_panel_once_it_has() {
    let chat = Chat::start().await;
    let browser = Browser::start().await;
    let frame = at_the_host_page(&browser, &chat.url("/")).await;
    assert!(!fetched_wasm(&frame).await);
    frame.click("button#pl-boot").await;
    // No second click: the panel opens with the composer focused, and the bot greets.
    frame.wait_until_focused("pl-composer-input").await;
    frame
        .wait_for_text(".pl-log", "Hi! I'm the Porchlight bot")
        .await;
    assert_eq!(
        frame.texts("button#pl-boot").await.len(),
        0,
        "the app's launcher replaced the one drawn before"
    );
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_click_while_the_app_is_slow_to_come_shows_it_is_loading_then_opens() {
    let chat = Chat::start().await;
    let proxy = FaultyProxy::start(chat.addr()).await;
    let browser = Browser::start().await;
    let frame = at_the_host_page(&browser, &proxy.url("/")).await;
    // The app's code is held on its way (a slow network).
    proxy.stall(Direction::Down, true);
    frame.click("button#pl-boot").await;
    frame
        .wait_for(fantoccini::Locator::Css("button#pl-boot[aria-busy='true']"))
        .await;
    proxy.stall(Direction::Down, false);
    frame.wait_until_focused("pl-composer-input").await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_returning_visitor_gets_the_app_at_once_and_the_agents_message_from_meanwhile() {
    let chat = Chat::start().await;
    let control = chat.control();
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&chat.url("/")).await;
    frame.click("button.pl-talk-to-human").await;
    frame.type_into("#pl-field-name", "Ada").await;
    frame.type_into("#pl-field-email", "ada@example.com").await;
    frame.click("#pl-field-consent").await;
    frame.click("form.pl-prechat button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let conversation = loop {
        let state = control.state().await.expect("state").json();
        if let Some(c) = state["queue"][0]["conversation"].as_str() {
            break c.to_string();
        }
        assert!(Instant::now() < deadline, "never queued: {state}");
        sleep(Duration::from_millis(50)).await;
    };
    frame.leave().await;

    // The visitor goes elsewhere; meanwhile an agent accepts and writes.
    browser.client().goto("about:blank").await.expect("away");
    let accepted = control.accept("ann", &conversation).await.expect("accept");
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let said = control
        .message("ann", &conversation, "Welcome back, Ada!")
        .await
        .expect("message");
    assert_eq!(said.status, 200, "{}", said.text);

    // Back on the host page: the app starts with no interaction at all.
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    let frame = browser.enter_widget().await;
    wait_until_fetched_wasm(&frame, "the returning visitor's app never started").await;
    // The panel was open when they left this tab, so it is open again, with the message.
    frame.wait_for_text(".pl-log", "Welcome back, Ada!").await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn the_widgets_files_come_brotli_compressed_and_hashed_ones_immutable() {
    let chat = Chat::start().await;
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&chat.url("/")).await;
    // The browser decoded the wasm it got: fewer bytes came than it holds.
    let sizes = frame
        .script(
            "const e = performance.getEntriesByType('resource').find(e => e.name.endsWith('.wasm'));\
             return [e.encodedBodySize, e.decodedBodySize]",
        )
        .await;
    let (encoded, decoded) = (sizes[0].as_u64(), sizes[1].as_u64());
    assert!(
        encoded
            .zip(decoded)
            .is_some_and(|(e, d)| e > 0 && e * 2 < d),
        "{sizes}"
    );
    // Asked again as the browser asks (it accepts br), the headers say how.
    let headers = frame
        .async_script(
            "const done = arguments[arguments.length - 1];\
             const wasm = performance.getEntriesByType('resource').find(e => e.name.endsWith('.wasm')).name;\
             fetch(wasm, {cache: 'no-store'}).then(r => done([\
               r.headers.get('content-encoding'), r.headers.get('cache-control')]))",
        )
        .await;
    assert_eq!(
        strings(&headers),
        vec![
            "br".to_string(),
            "public, max-age=31536000, immutable".to_string()
        ]
    );
    browser.quit().await;
}
