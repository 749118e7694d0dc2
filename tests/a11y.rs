//! End to end in headless Chromium: axe-core finds no violation in any state of the widget
//! — closed, the bot with quick replies, the pre-chat form with errors, queued, connecting,
//! live with the agent typing, the end-chat confirmation, ended with the rating form,
//! previous conversations and one of them read, reconnecting, and missed with the
//! leave-a-message form — in light and dark, left-to-right (English) and right-to-left
//! (Arabic), on a 320 px wide phone and at 200 % zoom (a 1280 × 900 screen zoomed to 640 × 450
//! CSS pixels). No axe rule is disabled.
//!
//! Agents are driven through the control API; the link is cut by a proxy. Waits look for
//! states, never for English words, so the same journey runs in every language.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::proxy::FaultyProxy;
use browser::{Browser, Chat, Frame, fill_prechat, wait_for_state};
use fantoccini::Locator;
use porchlight_server::ServerConfig;
use porchlight_server::config::DEFAULT_CONFIG_TOML;
use serde_json::Value;
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// The colour scheme the visitor's system asks for.
#[derive(Clone, Copy, PartialEq)]
enum Scheme {
    Light,
    Dark,
}

/// The screen: a phone 320 CSS pixels wide, or a 1280 × 900 screen at 200 % zoom.
#[derive(Clone, Copy)]
enum Screen {
    Narrow,
    Zoomed,
}

/// The built-in site in `language`, with hand-driven agents under time-based routing: Ann
/// is online but takes no chat (so a request waits in the queue), Ben is offline until the
/// test brings him online (so the request is offered to him: "connecting").
fn config(language: &str) -> ServerConfig {
    let site_and_bot = DEFAULT_CONFIG_TOML
        .split("\n[routing]")
        .next()
        .unwrap_or(DEFAULT_CONFIG_TOML)
        .replacen(
            "language = \"en\"",
            &format!("language = \"{language}\""),
            1,
        );
    let toml = format!(
        "{site_and_bot}\n[routing]\nmode = \"time-based\"\nqueue_time_secs = 600\n\
         acceptance_time_secs = 600\n\n\
         [[agents]]\nid = \"ann\"\nname = \"Ann\"\nmax_chats = 0\n\n\
         [[agents]]\nid = \"ben\"\nname = \"Ben\"\nonline = false\n"
    );
    ServerConfig::from_toml(&toml, "a11y test config").expect("valid test config")
}

/// Waits until the conversation is in `phase` (the panel's `data-phase`).
async fn wait_for_phase(frame: &Frame<'_>, phase: &str) {
    frame
        .wait_for(Locator::Css(&format!(
            ".pl-conversation[data-phase='{phase}']"
        )))
        .await;
}

/// The words of the first element `css` ("" when there is none).
async fn words(frame: &Frame<'_>, css: &str) -> String {
    let js = format!(
        "const e = document.querySelector(\"{css}\"); return e ? e.textContent.trim() : ''"
    );
    frame
        .script(&js)
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits until the words of `css` differ from `before`, and returns them.
async fn wait_for_other_words(frame: &Frame<'_>, css: &str, before: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = words(frame, css).await;
        if now != before {
            return now;
        }
        assert!(Instant::now() < deadline, "{css} stayed {before:?}");
        sleep(Duration::from_millis(50)).await;
    }
}

/// Runs axe, naming the state and the variant.
async fn check(frame: &Frame<'_>, variant: &str, state: &str) {
    frame
        .assert_accessible(&format!("{variant}: {state}"))
        .await;
}

/// The whole journey, axe at every state, for one scheme, language and screen.
async fn every_state_passes_axe(scheme: Scheme, language: &str, screen: Screen) {
    let rtl = language == "ar";
    let chat = Chat::start_with(config(language)).await;
    let control = chat.control();
    let proxy = FaultyProxy::start(chat.addr()).await;
    // The page's size in CSS pixels.
    let (width, height) = match screen {
        Screen::Narrow => (320, 640),
        Screen::Zoomed => (640, 450),
    };
    let window = Browser::page_size_flag(width, height);
    let mut flags = vec![window.as_str()];
    if scheme == Scheme::Dark {
        flags.push("--force-dark-mode");
    }
    let browser = Browser::start_with(&flags).await;
    let name = format!(
        "{}, {language}, {}",
        if scheme == Scheme::Dark {
            "dark"
        } else {
            "light"
        },
        match screen {
            Screen::Narrow => "320 px",
            Screen::Zoomed => "200 %",
        }
    );

    // Closed: the launcher alone.
    browser
        .client()
        .goto(&proxy.url("/"))
        .await
        .expect("host page");
    browser.enter_widget().await.leave().await;
    let viewport = browser.narrow_viewport(width).await;
    assert_eq!(viewport, serde_json::json!([width, height]), "{name}");
    let frame = browser.enter_widget().await;
    frame.wait_for(Locator::Css(".pl-launcher")).await;
    let dark = frame
        .script("return matchMedia('(prefers-color-scheme: dark)').matches")
        .await;
    assert_eq!(dark, Value::Bool(scheme == Scheme::Dark), "{name}");
    check(&frame, &name, "closed").await;

    // The bot with its quick replies.
    frame.click(".pl-launcher").await;
    frame.wait_for(Locator::Css(".pl-choices .pl-choice")).await;
    let size = frame.script("return [innerWidth, innerHeight]").await;
    assert_eq!(
        size,
        serde_json::json!([width, height]),
        "{name}: the panel fills the page"
    );
    let dir = frame
        .script("return getComputedStyle(document.querySelector('.pl-panel')).direction")
        .await;
    assert_eq!(dir, Value::from(if rtl { "rtl" } else { "ltr" }), "{name}");
    check(&frame, &name, "the bot with quick replies").await;

    // The pre-chat form with errors.
    frame.click("button.pl-talk-to-human").await;
    frame.click("form.pl-prechat button[type=submit]").await;
    frame.wait_until_focused("pl-field-name").await;
    check(&frame, &name, "the pre-chat form with errors").await;

    // Queued: Ann is online but takes no chat.
    fill_prechat(&frame).await;
    let conversation = wait_for_state(&control, |s| {
        s["queue"][0]["conversation"].as_str().map(String::from)
    })
    .await;
    wait_for_phase(&frame, "waiting").await;
    let queued = wait_for_other_words(&frame, ".pl-chat-status", "").await;
    check(&frame, &name, "queued").await;

    // Connecting: Ben comes online and the request is offered to him.
    control.online("ben", true).await.expect("online");
    wait_for_state(&control, |s| s["engaged"]["ben"][0].as_str().map(|_| ())).await;
    wait_for_other_words(&frame, ".pl-chat-status", &queued).await;
    check(&frame, &name, "connecting").await;

    // Live, with the agent typing.
    control.accept("ben", &conversation).await.expect("accept");
    wait_for_phase(&frame, "live").await;
    control
        .message("ben", &conversation, "Hello Ada, how can I help?")
        .await
        .expect("message");
    frame.wait_for(Locator::Css(".pl-from-agent")).await;
    control
        .typing("ben", &conversation, true)
        .await
        .expect("typing");
    wait_for_other_words(&frame, ".pl-typing", "").await;
    check(&frame, &name, "live, the agent typing").await;

    // The end-chat confirmation, then ended with the rating form.
    frame.click("button.pl-end-chat").await;
    frame
        .wait_for(Locator::Css(".pl-conversation[data-confirm='true']"))
        .await;
    check(&frame, &name, "the end-chat confirmation").await;
    frame.click("button.pl-confirm-end").await;
    frame.wait_for(Locator::Css("form.pl-rating")).await;
    check(&frame, &name, "ended, with the rating form").await;

    // Previous conversations, and one of them read.
    frame.click("button.pl-new-conversation").await;
    wait_for_phase(&frame, "bot").await;
    frame.click("button.pl-history").await;
    frame
        .wait_for(Locator::Css(".pl-history-list button"))
        .await;
    check(&frame, &name, "previous conversations").await;
    frame.click(".pl-history-list button").await;
    frame
        .wait_for(Locator::Css(".pl-past .pl-from-agent"))
        .await;
    check(&frame, &name, "a previous conversation").await;
    frame.click("button.pl-history-back").await; // to the list
    frame.click("button.pl-history-back").await; // to the chat
    frame
        .wait_for(Locator::Css(".pl-conversation:not([hidden])"))
        .await;

    // Reconnecting: the link is cut and new sockets refused.
    proxy.refuse_sockets(true);
    proxy.cut();
    wait_for_other_words(&frame, ".pl-notice", "").await;
    check(&frame, &name, "reconnecting").await;
    proxy.refuse_sockets(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !words(&frame, ".pl-notice").await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{name}: the link never came back"
        );
        sleep(Duration::from_millis(50)).await;
    }

    // Missed, with the leave-a-message form: nobody is online.
    control.online("ann", false).await.expect("offline");
    control.online("ben", false).await.expect("offline");
    frame.click("button.pl-talk-to-human").await;
    fill_prechat(&frame).await;
    wait_for_phase(&frame, "missed").await;
    frame.wait_for(Locator::Css("form.pl-leave-message")).await;
    check(&frame, &name, "missed, with the leave-a-message form").await;

    browser
        .screenshot(&format!("a11y-{}", name.replace([',', ' ', '%'], "-")))
        .await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn light_ltr_narrow() {
    every_state_passes_axe(Scheme::Light, "en", Screen::Narrow).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn light_ltr_zoomed() {
    every_state_passes_axe(Scheme::Light, "en", Screen::Zoomed).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn dark_ltr_narrow() {
    every_state_passes_axe(Scheme::Dark, "en", Screen::Narrow).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn dark_ltr_zoomed() {
    every_state_passes_axe(Scheme::Dark, "en", Screen::Zoomed).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn light_rtl_narrow() {
    every_state_passes_axe(Scheme::Light, "ar", Screen::Narrow).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn light_rtl_zoomed() {
    every_state_passes_axe(Scheme::Light, "ar", Screen::Zoomed).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn dark_rtl_narrow() {
    every_state_passes_axe(Scheme::Dark, "ar", Screen::Narrow).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn dark_rtl_zoomed() {
    every_state_passes_axe(Scheme::Dark, "ar", Screen::Zoomed).await;
}

/// Keys as WebDriver names them.
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";
const ESCAPE: &str = "\u{E00C}";
const RIGHT: &str = "\u{E014}";

/// Moves focus to `css` with Tab alone and presses Enter on it.
async fn activate(frame: &Frame<'_>, css: &str) {
    frame.tab_to(css).await;
    frame.press(ENTER).await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn the_whole_journey_works_by_keyboard_alone() {
    let chat = Chat::start_with(
        ServerConfig::default_with(
            "mode = \"broadcast\"\nqueue_time_secs = 600\nacceptance_time_secs = 600",
            "[[agents]]\nid = \"ann\"\nname = \"Ann\"\n",
        )
        .expect("valid test config"),
    )
    .await;
    let control = chat.control();
    let browser = Browser::start().await;
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    let frame = browser.enter_widget().await;

    // Focus on the launcher drawn before the app starts the app, which keeps the focus on
    // its own launcher; open, and pick a quick reply.
    frame.tab_to("#pl-boot").await;
    frame.wait_until_focused("pl-launcher").await;
    frame.press(ENTER).await;
    frame.wait_until_focused("pl-composer-input").await;
    activate(&frame, ".pl-choices .pl-choice").await;
    frame.wait_for_count(".pl-from-bot", 2).await;

    // Ask for a person and fill in the form.
    activate(&frame, "button.pl-talk-to-human").await;
    frame.wait_until_focused("pl-field-name").await;
    frame.press("Ada Lovelace").await;
    frame.press(TAB).await;
    frame.press("ada@example.com").await;
    frame.tab_to("#pl-field-consent").await;
    frame.press(SPACE).await;
    activate(&frame, "form.pl-prechat button[type=submit]").await;
    let conversation = wait_for_state(&control, |s| {
        s["queue"][0]["conversation"].as_str().map(String::from)
    })
    .await;
    wait_for_phase(&frame, "waiting").await;

    // Live: write to the agent.
    control.accept("ann", &conversation).await.expect("accept");
    wait_for_phase(&frame, "live").await;
    frame.tab_to("#pl-composer-input").await;
    frame.press(&format!("Where is my order?{ENTER}")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
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
        assert!(Instant::now() < deadline, "the agent never got the message");
        sleep(Duration::from_millis(50)).await;
    }

    // End the chat, confirm, rate three stars with a comment.
    activate(&frame, "button.pl-end-chat").await;
    frame.wait_until_focused_css("button.pl-confirm-end").await;
    frame.press(ENTER).await;
    frame.wait_until_focused_css("input[name=pl-stars]").await;
    frame.press(SPACE).await;
    frame.press(RIGHT).await;
    frame.press(RIGHT).await;
    frame.tab_to("#pl-rating-comment").await;
    frame.press("Quick and kind").await;
    activate(&frame, "form.pl-rating button[type=submit]").await;
    wait_for_phase(&frame, "ended").await;
    let view = control
        .conversation(&conversation)
        .await
        .expect("view")
        .json();
    assert_eq!(view["rating"]["stars"], 3);
    assert_eq!(view["rating"]["comment"], "Quick and kind");

    // A new conversation, then the old one read from the history.
    activate(&frame, "button.pl-new-conversation").await;
    wait_for_phase(&frame, "bot").await;
    activate(&frame, "button.pl-history").await;
    frame.wait_until_focused("pl-history-back").await;
    activate(&frame, ".pl-history-list button").await;
    frame
        .wait_for_text(".pl-past .pl-text", "Where is my order?")
        .await;
    activate(&frame, "button.pl-history-back").await;
    activate(&frame, "button.pl-history-back").await;
    frame.wait_until_focused("pl-history").await;

    // Escape closes the panel and hands focus back to the launcher.
    frame.press(ESCAPE).await;
    frame.wait_until_focused("pl-launcher").await;
    assert!(!frame.is_displayed(".pl-panel").await, "panel hidden");
    browser.quit().await;
}
