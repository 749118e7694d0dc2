//! End to end in headless Chromium: the host page's JS API (`Porchlight(…)`) and its
//! events, counted by listeners on the host page; the unread badge; the panel on a phone
//! (the whole screen, the composer above the on-screen keyboard, the page left as it was);
//! dark mode, checked by axe.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat, Frame};
use porchlight_server::client::ControlClient;
use serde_json::json;
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// Listeners on the host page for every event: first one that throws, then one that counts
/// into `__heard` and keeps the details in `__details`. `console.warn` is counted into
/// `__warns`.
const LISTEN: &str = "
    window.__heard = {}; window.__details = {}; window.__warns = [];
    console.warn = function () { __warns.push(Array.from(arguments).join(' ')); };
    ['ready', 'open', 'close', 'message', 'unread', 'chat:started', 'chat:ended'].forEach(n => {
      Porchlight('on', n, () => { throw new Error('a broken listener for ' + n); });
      Porchlight('on', n, d => {
        __heard[n] = (__heard[n] || 0) + 1;
        (__details[n] = __details[n] || []).push(d === undefined ? null : d);
      });
    });";

/// How often the host page's counting listener heard `event`.
fn heard(event: &str) -> String {
    format!("return __heard['{event}'] || 0")
}

/// The host page with the listeners on and the widget ready.
async fn host_page_listening<'a>(browser: &'a Browser, chat: &Chat) -> Frame<'a> {
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    browser.enter_widget().await;
    browser.on_host(LISTEN).await;
    browser.host_until(&heard("ready"), json!(1)).await;
    browser.enter_widget().await
}

/// Asks for a person through the pre-chat form; the conversation once it is queued. The
/// name field is skipped when the host page's identity already gave the name.
async fn ask_for_a_person(frame: &Frame<'_>, control: &ControlClient) -> String {
    frame.click("button.pl-talk-to-human").await;
    frame.type_into("#pl-field-email", "ada@example.com").await;
    if !frame.texts("#pl-field-name").await.is_empty() {
        frame.type_into("#pl-field-name", "Ada").await;
    }
    frame.click("#pl-field-consent").await;
    frame.click("form.pl-prechat button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = control.state().await.expect("state").json();
        if let Some(c) = state["queue"][0]["conversation"].as_str() {
            return c.to_string();
        }
        assert!(Instant::now() < deadline, "never queued: {state}");
        sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn every_call_and_event_of_the_js_api_reaches_the_host_page() {
    let chat = Chat::start().await;
    let control = chat.control();
    let browser = Browser::start().await;
    host_page_listening(&browser, &chat).await;

    // Unknown commands and bad arguments: one warning each, nothing changed.
    browser
        .on_host(
            "Porchlight('explode'); Porchlight('on', '__proto__', function () {});
         Porchlight('on', 'open'); Porchlight('off', 'toString', function () {});
         Porchlight('setLocale', 42); Porchlight('identify', 'ann');
         Porchlight('identify', [1]);",
        )
        .await;
    assert_eq!(
        browser.on_host("return __warns.length").await,
        json!(7),
        "{}",
        browser.on_host("return __warns").await
    );
    browser.wait_for_frame_width(96).await;

    // Good identify and setLocale calls are kept for the widget, without a warning.
    browser.on_host("Porchlight('identify', {user_id: 'u1', name: 'Ada'}); Porchlight('setLocale', 'de-DE');",
    )
    .await;
    let frame = browser.enter_widget().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let kept = frame
            .script(
                "const k = Object.keys(localStorage);\
                 const get = s => localStorage.getItem(k.find(x => x.endsWith(s)));\
                 return [get(':identity'), get(':locale')]",
            )
            .await;
        if kept == json!([r#"{"user_id":"u1","name":"Ada"}"#, "de-DE"]) {
            break;
        }
        assert!(Instant::now() < deadline, "kept {kept}");
        sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(browser.on_host("return __warns.length").await, json!(7));

    // open: the panel opens, the bot's greeting is a `message`; a throwing listener did
    // not keep the counting one from hearing either.
    browser.on_host("Porchlight('open')").await;
    browser.host_until(&heard("open"), json!(1)).await;
    browser
        .host_until(
            "return (__details.message || []).map(m => m.author_kind)[0] || null",
            json!("bot"),
        )
        .await;
    let frame = browser.enter_widget().await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;

    // hide: the whole widget goes (and closes); show brings the launcher back.
    browser.on_host("Porchlight('hide')").await;
    browser.host_until(&heard("close"), json!(1)).await;
    assert_eq!(
        browser
            .on_host(
                "return getComputedStyle(document.querySelector('iframe[data-porchlight]')).display"
            )
            .await,
        json!("none")
    );
    browser.on_host("Porchlight('show')").await;
    browser.wait_for_frame_width(96).await;

    // off: a removed listener hears nothing.
    browser
        .on_host(
            "window.__offed = 0; window.__f = () => __offed++;
         Porchlight('on', 'open', __f); Porchlight('off', 'open', __f); Porchlight('toggle')",
        )
        .await;
    browser.host_until(&heard("open"), json!(2)).await;
    assert_eq!(browser.on_host("return __offed").await, json!(0));

    // chat:started when an agent joins.
    let frame = browser.enter_widget().await;
    let conversation = ask_for_a_person(&frame, &control).await;
    control.accept("ann", &conversation).await.expect("accept");
    browser.host_until(&heard("chat:started"), json!(1)).await;

    // Closed: the agent's messages raise the badge and `unread`.
    browser.on_host("Porchlight('close')").await;
    browser.host_until(&heard("close"), json!(2)).await;
    control
        .message("ann", &conversation, "Are you still there?")
        .await
        .expect("message");
    browser
        .host_until("return (__details.unread || []).slice(-1)[0]", json!(1))
        .await;
    browser
        .host_until(
            "return (__details.message || []).slice(-1)[0]",
            json!({"author_kind": "agent", "author_name": "Ann", "text": "Are you still there?"}),
        )
        .await;
    control
        .message("ann", &conversation, "I can wait.")
        .await
        .expect("message");
    browser
        .host_until("return (__details.unread || []).slice(-1)[0]", json!(2))
        .await;
    let frame = browser.enter_widget().await;
    frame
        .wait_for(fantoccini::Locator::Css(
            "button#pl-launcher[aria-label='Open chat, 2 unread messages']",
        ))
        .await;
    assert_eq!(
        frame
            .script(
                "return getComputedStyle(document.getElementById('pl-launcher'), '::after').content"
            )
            .await,
        json!("\"2\""),
        "the badge shows the count"
    );
    frame.assert_accessible("launcher with 2 unread").await;
    frame.leave().await;
    browser.screenshot("launcher-unread").await;

    // Opening clears it.
    browser.on_host("Porchlight('open')").await;
    browser
        .host_until("return (__details.unread || []).slice(-1)[0]", json!(0))
        .await;
    let frame = browser.enter_widget().await;
    frame.wait_for_text(".pl-log", "I can wait.").await;
    assert_eq!(
        frame.attr("#pl-launcher", "data-unread").await,
        None,
        "no badge at none"
    );

    // chat:ended when the agent closes it.
    control.close("ann", &conversation).await.expect("close");
    browser.host_until(&heard("chat:ended"), json!(1)).await;
    assert_eq!(browser.on_host("return __warns.length").await, json!(7));
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn reset_hands_the_next_person_a_clean_widget() {
    let chat = Chat::start().await;
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&chat.url("/")).await;
    frame
        .type_into("#pl-composer-input", "My secret order 42\u{E007}")
        .await;
    frame.wait_for_text(".pl-log", "My secret order 42").await;
    let token =
        "return localStorage.getItem(Object.keys(localStorage).find(k => k.endsWith(':token')))";
    let before = frame.script(token).await;
    assert!(before.is_string());

    browser.on_host("Porchlight('reset')").await;
    let frame = browser.enter_widget().await;
    frame
        .wait_until_gone_text(".pl-log", "My secret order 42")
        .await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    let after = frame.script(token).await;
    assert!(after.is_string() && after != before, "{before} → {after}");

    // A reload shows nothing of the old visitor either.
    browser.client().refresh().await.expect("reload");
    let frame = browser.enter_widget().await;
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
async fn unread_clears_in_every_tab_when_one_opens_the_panel() {
    let chat = Chat::start().await;
    let control = chat.control();
    let browser = Browser::start().await;
    let frame = browser.open_greeted_chat(&chat.url("/")).await;
    let conversation = ask_for_a_person(&frame, &control).await;
    control.accept("ann", &conversation).await.expect("accept");
    frame.wait_for_text(".pl-log", "Ann joined").await;
    frame.press("\u{E00C}").await; // Escape closes the panel
    // A second tab of the same site, its panel closed.
    let client = browser.client();
    let first = client.window().await.expect("this tab");
    let second = client.new_window(true).await.expect("a tab").handle;
    client.switch_to_window(second).await.expect("to it");
    client.goto(&chat.url("/")).await.expect("host page");
    browser.enter_widget().await;
    control
        .message("ann", &conversation, "News for you")
        .await
        .expect("message");
    let badge = "button#pl-launcher[aria-label='Open chat, 1 unread message']";
    browser
        .enter_widget()
        .await
        .wait_for(fantoccini::Locator::Css(badge))
        .await;
    // The first tab opens its panel: the second tab's badge goes.
    client.switch_to_window(first).await.expect("back");
    let frame = browser.enter_widget().await;
    frame.wait_for(fantoccini::Locator::Css(badge)).await;
    frame.click("button#pl-launcher").await;
    frame.wait_for_text(".pl-log", "News for you").await;
    let second = client.windows().await.expect("tabs")[1].clone();
    client
        .switch_to_window(second)
        .await
        .expect("to the second");
    let frame = browser.enter_widget().await;
    frame
        .wait_for(fantoccini::Locator::Css(
            "button#pl-launcher[aria-label='Open chat']",
        ))
        .await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn on_a_phone_the_panel_fills_the_screen_above_the_keyboard_and_leaves_the_page_as_it_was() {
    let chat = Chat::start().await;
    let browser = Browser::start_with(&["--window-size=360,740"]).await;
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    browser.enter_widget().await;
    let page_state = "return [scrollX, scrollY, innerWidth <= 640,
        document.documentElement.getAttribute('style'), document.body.getAttribute('style'),
        getComputedStyle(document.body).overflow, getComputedStyle(document.documentElement).overflow]";
    browser.on_host("scrollTo(0, 40)").await;
    let before = browser.on_host(page_state).await;
    assert_eq!(before[2], json!(true), "a narrow viewport: {before}");

    let frame = browser.enter_widget().await;
    frame.click("button[aria-label='Open chat']").await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    // The frame is the whole visible page; the panel fills it, square.
    browser.host_until("const r = document.querySelector('iframe[data-porchlight]').getBoundingClientRect();
         return [r.left, r.top, r.width === visualViewport.width, r.height === visualViewport.height]",
        json!([0, 0, true, true]),
    )
    .await;
    let frame = browser.enter_widget().await;
    let panel = frame
        .script(
            "const r = document.querySelector('.pl-panel').getBoundingClientRect();
             return [r.left, r.top, Math.abs(r.width - innerWidth) < 1,
                     Math.abs(r.height - innerHeight) < 1, innerWidth, innerHeight, r.width, r.height,
                     getComputedStyle(document.getElementById('pl-composer-input')).fontSize]",
        )
        .await;
    assert_eq!(
        [&panel[0], &panel[1], &panel[2], &panel[3], &panel[8]],
        [
            &json!(0),
            &json!(0),
            &json!(true),
            &json!(true),
            &json!("16px")
        ],
        "{panel}"
    );
    frame
        .assert_accessible("full-screen panel on a phone")
        .await;
    frame.leave().await;
    browser.screenshot("phone-panel").await;

    // The on-screen keyboard shrinks the visual viewport to 400 px: the composer stays in
    // sight above it.
    browser
        .on_host(
            "Object.defineProperty(visualViewport, 'height', {get: () => 400, configurable: true});
         visualViewport.dispatchEvent(new Event('resize'));",
        )
        .await;
    browser.host_until("return document.querySelector('iframe[data-porchlight]').getBoundingClientRect().height",
        json!(400),
    )
    .await;
    let frame = browser.enter_widget().await;
    let composer = frame
        .script(
            "const r = document.getElementById('pl-composer-input').getBoundingClientRect();
             return [innerHeight, r.top > 0 && r.bottom <= innerHeight]",
        )
        .await;
    assert_eq!(composer, json!([400, true]));

    // Closing hands the page back exactly as it was.
    frame.press("\u{E00C}").await;
    frame.leave().await;
    browser.wait_for_frame_width(96).await;
    assert_eq!(browser.on_host(page_state).await, before);
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn dark_mode_styles_every_part_and_axe_finds_nothing() {
    let chat = Chat::start().await;
    let control = chat.control();
    let browser = Browser::start_with(&["--force-dark-mode"]).await;
    let frame = browser.open_greeted_chat(&chat.url("/")).await;
    let colours = frame
        .script(
            "return [matchMedia('(prefers-color-scheme: dark)').matches,
                     getComputedStyle(document.querySelector('.pl-panel')).backgroundColor]",
        )
        .await;
    assert_eq!(colours, json!([true, "rgb(28, 33, 40)"]));
    frame.assert_accessible("dark, bot").await;
    frame.click("button.pl-talk-to-human").await;
    frame.click("form.pl-prechat button[type=submit]").await;
    frame.wait_for_text(".pl-field-error", "").await;
    frame
        .assert_accessible("dark, pre-chat form with errors")
        .await;
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
    frame.assert_accessible("dark, queued").await;
    control.accept("ann", &conversation).await.expect("accept");
    control
        .message("ann", &conversation, "Hello from Ann")
        .await
        .expect("message");
    frame.wait_for_text(".pl-log", "Hello from Ann").await;
    frame.assert_accessible("dark, live").await;
    frame.leave().await;
    browser.screenshot("dark-live").await;
    let frame = browser.enter_widget().await;
    control.close("ann", &conversation).await.expect("close");
    frame.wait_for(fantoccini::Locator::Css("#pl-star-1")).await;
    frame.assert_accessible("dark, rating").await;
    frame.press("\u{E00C}").await;
    frame.assert_accessible("dark, closed").await;
    browser.quit().await;
}

/// How many tones the widget plays for an agent's message that arrives while its panel is
/// closed, on a site with `sound = true`, for a visitor who does or does not prefer
/// reduced motion; and whether a message while the panel is open plays none.
async fn tones_for_a_message_while_closed(reduced_motion: bool) -> (u64, u64) {
    let mut config = porchlight_server::ServerConfig::default_with(
        "mode = \"broadcast\"\nqueue_time_secs = 600\nacceptance_time_secs = 600",
        "[[agents]]\nid = \"ann\"\nname = \"Ann\"\n",
    )
    .expect("valid test config");
    config.site.sound = true;
    let chat = Chat::start_with(config).await;
    let control = chat.control();
    let mut flags = vec!["--autoplay-policy=no-user-gesture-required"];
    if reduced_motion {
        flags.push("--force-prefers-reduced-motion");
    }
    let browser = Browser::start_with(&flags).await;
    let frame = host_page_listening(&browser, &chat).await;
    frame.click(".pl-launcher").await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
    let conversation = ask_for_a_person(&frame, &control).await;
    control.accept("ann", &conversation).await.expect("accept");
    frame.wait_for_text("li.pl-system", "Ann joined").await;
    // Every tone the page starts is counted.
    frame
        .script(
            "window.__tones = 0;
             const start = OscillatorNode.prototype.start;
             OscillatorNode.prototype.start = function () {
               window.__tones++;
               return start.apply(this, arguments);
             };",
        )
        .await;
    let tones = |n: u64| {
        let frame = &frame;
        async move {
            frame
                .wait_for_text(".pl-from-agent .pl-text", &format!("Message {n}"))
                .await;
            frame
                .script("return window.__tones")
                .await
                .as_u64()
                .expect("a count")
        }
    };
    control
        .message("ann", &conversation, "Message 1, the panel open")
        .await
        .expect("message");
    let while_open = tones(1).await;
    frame.press("\u{E00C}").await; // Escape closes the panel
    frame.wait_until_focused("pl-launcher").await;
    control
        .message("ann", &conversation, "Message 2, the panel closed")
        .await
        .expect("message");
    browser
        .host_until(
            "return (__details['unread'] || []).slice(-1)[0] || 0",
            json!(1),
        )
        .await;
    let frame = browser.enter_widget().await;
    let while_closed = frame
        .script("return window.__tones")
        .await
        .as_u64()
        .expect("a count");
    browser.quit().await;
    (while_open, while_closed)
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_site_with_sound_chimes_for_a_message_while_closed_unless_motion_is_reduced() {
    assert_eq!(tones_for_a_message_while_closed(false).await, (0, 1));
    assert_eq!(tones_for_a_message_while_closed(true).await, (0, 0));
}
