//! End to end: hostile text — script tags, event-handler attributes, `javascript:` links,
//! SVG — sent as bot text, agent messages, visitor messages and pre-chat answers is shown
//! as the very characters typed, and nothing of it executes or becomes an element.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat};
use porchlight_server::ServerConfig;

const CORPUS: [&str; 5] = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "<a href=\"javascript:window.__pwned = 'link'\">click</a>",
    "<svg onload=\"window.__pwned = 'svg'\"><script>window.__pwned = 'svg-script'</script></svg>",
    "\"><iframe srcdoc=\"<script>parent.__pwned = 'iframe'</script>\"></iframe>",
];

/// No element any payload could have made exists in the log, and no payload ran.
async fn assert_inert(browser: &Browser) {
    let frame = browser.enter_widget().await;
    let made = browser
        .client()
        .execute(
            "return document.querySelectorAll('.pl-log script, .pl-log img, .pl-log a, .pl-log svg, .pl-log iframe').length",
            vec![],
        )
        .await
        .expect("count elements");
    assert_eq!(made.as_u64(), Some(0), "a payload became an element");
    let pwned = browser
        .client()
        .execute("return window.__pwned || null", vec![])
        .await
        .expect("read marker");
    assert!(pwned.is_null(), "a payload ran: {pwned}");
    frame.leave().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn hostile_text_from_every_author_is_shown_as_text_and_never_runs() {
    let greeting = CORPUS.join(" ");
    let mut config = ServerConfig::default_with(
        "mode = \"broadcast\"\nqueue_time_secs = 120\nacceptance_time_secs = 30",
        "[[agents]]\nid = \"ann\"\nname = \"Ann\"",
    )
    .expect("valid config");
    config.bot.greeting = greeting.clone();
    let chat = Chat::start_with(config).await;
    let control = chat.control();
    let browser = Browser::start().await;
    let frame = browser.open_chat(&chat.url("/")).await;
    // Bot text, exactly as configured.
    frame
        .wait_for_text(".pl-from-bot .pl-text", &greeting)
        .await;

    // Visitor messages.
    for payload in CORPUS {
        frame
            .type_into("textarea#pl-composer-input", &format!("{payload}\u{E007}"))
            .await;
        frame
            .wait_for_text(".pl-from-visitor .pl-text", payload)
            .await;
    }

    // Pre-chat answers (the name is shown back in the leave-a-message form and stored).
    frame.click("button.pl-talk-to-human").await;
    frame.type_into("#pl-field-name", CORPUS[1]).await;
    frame.type_into("#pl-field-email", "ada@example.com").await;
    frame.click("#pl-field-consent").await;
    frame.click("form.pl-prechat button[type=submit]").await;
    frame.wait_for_text(".pl-chat-status", "in line").await;

    // Agent messages.
    let state = control.state().await.expect("state").json();
    let conversation = state["queue"][0]["conversation"]
        .as_str()
        .expect("queued")
        .to_string();
    let view = control
        .conversation(&conversation)
        .await
        .expect("view")
        .json();
    assert_eq!(view["prechat"]["name"], CORPUS[1]);
    assert_eq!(
        control
            .accept("ann", &conversation)
            .await
            .expect("accept")
            .status,
        200
    );
    for payload in CORPUS {
        control
            .message("ann", &conversation, payload)
            .await
            .expect("message");
        frame
            .wait_for_text(".pl-from-agent .pl-text", payload)
            .await;
    }
    frame.leave().await;
    assert_inert(&browser).await;
    browser.quit().await;
}
