//! End to end in headless Chromium: the host page's `identify` with a verified identity (an
//! HMAC `user_hash` or an HS256 JWT) shown to agents and skipping the pre-chat fields it
//! answers; forged and expired proofs refused with the site's text and no reconnect loop;
//! `enforce` refusing an anonymous visitor before any socket, and the HTTP history; the same
//! user's conversation on a second browser; `reset` after `identify`; `setLocale`.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat, Frame};
use fantoccini::Locator;
use porchlight_server::ServerConfig;
use porchlight_server::client::ControlClient;
use porchlight_server::identity::{now_secs, user_hash};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::{Instant, sleep};

const SECRET: &str = "a site secret of some length";
const REFUSED: &str = "We could not confirm who you are";
const SIGNED_IN_ONLY: &str = "Chat is available to signed-in users only.";

fn site_with_secret(enforce: bool) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.customers.clear();
    config.identity.secret = Some(SECRET.into());
    config.identity.enforce = enforce;
    config.site.identity_required = enforce;
    config
}

/// `identify`'s argument for `user_id` with a valid `user_hash`.
fn hashed(user_id: &str) -> Value {
    json!({
        "user_id": user_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "custom": {"plan": "pro"},
        "user_hash": user_hash(SECRET.as_bytes(), user_id),
    })
}

fn base64url(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// An HS256 JWT under the site's secret: the server's own HMAC signs the signing input.
fn jwt(sub: &str, exp: u64) -> String {
    let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({"sub": sub, "exp": exp, "name": "Grace Hopper"}).to_string();
    let input = format!("{header}.{}", base64url(claims.as_bytes()));
    let hex = user_hash(SECRET.as_bytes(), &input);
    let mac: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    format!("{input}.{}", base64url(&mac))
}

/// The host page calls `identify` with `identity`.
async fn identify(browser: &Browser, identity: &Value) {
    browser
        .on_host(&format!("Porchlight('identify', {identity})"))
        .await;
}

/// The host page, with the widget's sockets counted into `__sockets` before the app starts.
async fn counted_host_page<'a>(browser: &'a Browser, chat: &Chat) -> Frame<'a> {
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    let frame = browser.enter_widget().await;
    frame
        .script(
            "window.__sockets = 0; const Real = window.WebSocket;
             window.WebSocket = function (url, protocols) {
               window.__sockets++; return new Real(url, protocols);
             };
             window.WebSocket.prototype = Real.prototype;
             Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});",
        )
        .await;
    frame
}

/// Opens the panel from the host page and enters the widget.
async fn open<'a>(browser: &'a Browser) -> Frame<'a> {
    browser.on_host("Porchlight('open')").await;
    browser.enter_widget().await
}

async fn sockets(frame: &Frame<'_>) -> Value {
    frame.script("return window.__sockets").await
}

/// The one conversation the server holds.
async fn only_conversation(control: &ControlClient) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = control.state().await.expect("state").json();
        if let Some(c) = state["conversations"][0]["conversation"].as_str() {
            return c.to_string();
        }
        assert!(Instant::now() < deadline, "no conversation: {state}");
        sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_verified_user_hash_reaches_the_agents_and_skips_name_and_email() {
    let chat = Chat::start_with(site_with_secret(false)).await;
    let control = chat.control();
    let browser = Browser::start().await;
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    identify(&browser, &hashed("user-42")).await;
    let frame = open(&browser).await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    frame.click("button.pl-talk-to-human").await;
    frame.wait_for(Locator::Css("#pl-field-consent")).await;
    assert!(
        frame.texts("#pl-field-name").await.is_empty(),
        "name skipped"
    );
    assert!(
        frame.texts("#pl-field-email").await.is_empty(),
        "email skipped"
    );
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
    let view = control
        .conversation(&conversation)
        .await
        .expect("conversation")
        .json();
    assert_eq!(view["identity"]["user_id"], "user-42", "{view}");
    assert_eq!(view["identity"]["verified"], true, "{view}");
    assert_eq!(view["identity"]["custom"]["plan"], "pro", "{view}");
    assert_eq!(view["prechat"]["name"], "Ada Lovelace", "{view}");
    assert_eq!(view["prechat"]["email"], "ada@example.com", "{view}");
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_valid_jwt_is_verified() {
    let chat = Chat::start_with(site_with_secret(false)).await;
    let control = chat.control();
    let browser = Browser::start().await;
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    let token = jwt("user-7", now_secs() + 600);
    identify(&browser, &json!({"user_id": "user-7", "jwt": token})).await;
    let frame = open(&browser).await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    let view = control
        .conversation(&only_conversation(&control).await)
        .await
        .expect("conversation")
        .json();
    assert_eq!(view["identity"]["user_id"], "user-7", "{view}");
    assert_eq!(view["identity"]["verified"], true, "{view}");
    assert_eq!(view["identity"]["name"], "Grace Hopper", "{view}");
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn forged_and_expired_proofs_are_refused_once_each_and_a_good_one_gets_in() {
    let chat = Chat::start_with(site_with_secret(false)).await;
    let browser = Browser::start().await;
    counted_host_page(&browser, &chat).await;
    let mut forged = hashed("user-42");
    forged["user_hash"] = json!(user_hash(b"not the site's secret", "user-42"));
    identify(&browser, &forged).await;
    let frame = open(&browser).await;
    frame.wait_for_text(".pl-notice", REFUSED).await;
    assert!(
        !frame.is_displayed(".pl-composer").await,
        "nothing to write into"
    );
    // No reconnecting in a loop: the backoff would have tried again by now.
    sleep(Duration::from_secs(4)).await;
    assert_eq!(sockets(&frame).await, json!(1));
    frame.wait_for_text(".pl-notice", REFUSED).await;

    // A new identity tries once more: an expired token is refused too.
    let expired = jwt("user-42", now_secs() - 60);
    identify(&browser, &json!({"user_id": "user-42", "jwt": expired})).await;
    let frame = browser.enter_widget().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while sockets(&frame).await != json!(2) {
        assert!(Instant::now() < deadline, "no second socket");
        sleep(Duration::from_millis(50)).await;
    }
    frame.wait_for_text(".pl-notice", REFUSED).await;
    sleep(Duration::from_secs(3)).await;
    assert_eq!(sockets(&frame).await, json!(2));

    // A valid one gets in.
    identify(&browser, &hashed("user-42")).await;
    let frame = browser.enter_widget().await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    frame.wait_until_gone_text(".pl-notice", REFUSED).await;
    assert!(frame.is_displayed(".pl-composer").await);
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn an_enforcing_site_opens_no_socket_for_an_anonymous_visitor() {
    let chat = Chat::start_with(site_with_secret(true)).await;
    let browser = Browser::start().await;
    counted_host_page(&browser, &chat).await;
    let frame = open(&browser).await;
    frame.wait_for_text(".pl-notice", SIGNED_IN_ONLY).await;
    assert!(!frame.is_displayed(".pl-composer").await);
    assert!(!frame.is_displayed("button.pl-talk-to-human").await);
    sleep(Duration::from_secs(2)).await;
    assert_eq!(sockets(&frame).await, json!(0), "no socket at all");
    // The HTTP history is refused as well.
    let status = frame
        .async_script(
            "const done = arguments[arguments.length - 1];
             fetch('/api/v1/sites/demo/history', {headers: {Authorization: 'Bearer anonymous-visitor-token'}})
               .then(r => done(r.status), () => done(0));",
        )
        .await;
    assert_eq!(status, json!(403));

    // Signed in, the visitor chats.
    identify(&browser, &hashed("user-42")).await;
    let frame = browser.enter_widget().await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    assert!(frame.is_displayed(".pl-composer").await);
    assert_eq!(sockets(&frame).await, json!(1));
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn the_same_user_finds_the_conversation_on_another_browser() {
    let chat = Chat::start_with(site_with_secret(false)).await;
    let first = Browser::start().await;
    first
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    identify(&first, &hashed("user-42")).await;
    let frame = open(&first).await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    frame
        .type_into("#pl-composer-input", "Sent from my laptop\u{E007}")
        .await;
    frame.wait_for_text(".pl-log", "Sent from my laptop").await;
    first.quit().await;

    let second = Browser::start().await;
    second
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    identify(&second, &hashed("user-42")).await;
    let frame = open(&second).await;
    frame.wait_for_text(".pl-log", "Sent from my laptop").await;
    assert!(
        !frame
            .texts(".pl-notice")
            .await
            .concat()
            .contains("could not"),
        "no lost-session notice"
    );
    second.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn reset_after_identify_hands_the_next_person_a_clean_widget() {
    let chat = Chat::start_with(site_with_secret(false)).await;
    let browser = Browser::start().await;
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    identify(&browser, &hashed("user-42")).await;
    let frame = open(&browser).await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    frame
        .type_into("#pl-composer-input", "My secret order 42\u{E007}")
        .await;
    frame.wait_for_text(".pl-log", "My secret order 42").await;

    browser.on_host("Porchlight('reset')").await;
    let frame = browser.enter_widget().await;
    frame
        .wait_until_gone_text(".pl-log", "My secret order 42")
        .await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    let kept = frame
        .script("return Object.keys(localStorage).filter(k => k.endsWith(':identity')).length")
        .await;
    assert_eq!(kept, json!(0), "the identity is forgotten");

    // A reload shows nothing of the old visitor either.
    browser.client().refresh().await.expect("reload");
    let frame = open(&browser).await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    assert!(
        !frame
            .texts(".pl-log")
            .await
            .concat()
            .contains("My secret order 42")
    );
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn set_locale_shows_the_panel_in_german_after_a_reload_of_the_widget() {
    let mut config = ServerConfig::default();
    config.customers.clear();
    config.site.language = "auto".into();
    let chat = Chat::start_with(config).await;
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&chat.url("/")).await;
    frame.wait_for_text("button.pl-send", "Send").await;
    frame
        .type_into("#pl-composer-input", "Before the language changed\u{E007}")
        .await;
    frame
        .wait_for_text(".pl-log", "Before the language changed")
        .await;

    browser.on_host("Porchlight('setLocale', 'de')").await;
    let frame = browser.enter_widget().await;
    frame.wait_for_text("button.pl-send", "Senden").await;
    // The conversation and the open panel resumed.
    frame
        .wait_for_text(".pl-log", "Before the language changed")
        .await;
    assert_eq!(
        frame.script("return document.documentElement.lang").await,
        json!("de")
    );
    // The language shown already: no reload.
    frame.script("window.__kept = true").await;
    browser.on_host("Porchlight('setLocale', 'de')").await;
    sleep(Duration::from_secs(1)).await;
    let frame = browser.enter_widget().await;
    assert_eq!(
        frame.script("return window.__kept === true").await,
        json!(true)
    );
    browser.quit().await;
}
