//! End to end in headless Chromium: the site's look. A forced colour scheme against the
//! visitor's setting; the brand and its text colour, the launcher label (visible, in the
//! launcher's name, the frame wide enough), z-index and offsets on the host page — on the
//! launcher drawn before the widget's code and on the app's; right-to-left languages
//! (`dir=rtl`, the panel mirrored, the launcher in the mirrored corner unless the site
//! chose one); axe with every rule on in RTL and dark, at 320 px wide and at 200 % zoom.
//!
//! Needs the release bundle and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat, Frame};
use porchlight_protocol::{ColorScheme, Position};
use porchlight_server::ServerConfig;
use serde_json::json;
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// The built-in configuration without simulated customers, changed by `change`.
fn config(change: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.customers.clear();
    change(&mut config);
    config.site.prepare().expect("a valid site");
    config
}

/// The widget frame's placement on the host page: its style's z-index, bottom, right and
/// left, and its width.
const FRAME_PLACE: &str = "const f = document.querySelector('iframe[data-porchlight]');
    return [f.style.zIndex, f.style.bottom, f.style.right, f.style.left,
            f.getBoundingClientRect().width]";

/// The host page loaded and the widget's frame entered, its code not yet fetched (the
/// launcher drawn by the page alone, as a visitor first sees it).
async fn before_the_code<'a>(browser: &'a Browser, chat: &Chat) -> Frame<'a> {
    browser
        .client()
        .goto(&chat.url("/"))
        .await
        .expect("host page");
    let frame = browser.enter_widget().await;
    frame.wait_for(fantoccini::Locator::Css("#pl-boot")).await;
    frame
}

/// Clicks the launcher drawn before the code, then waits for the bot's greeting.
async fn open_from_boot(frame: &Frame<'_>) {
    frame.click("#pl-boot").await;
    frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
}

/// The computed background and text colour of the first match of `css`.
fn colours(css: &str) -> String {
    format!(
        "const s = getComputedStyle(document.querySelector('{css}'));
         return [s.backgroundColor, s.color]"
    )
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_forced_dark_scheme_wins_over_a_light_os_and_axe_finds_nothing() {
    let chat = Chat::start_with(config(|c| c.site.color_scheme = ColorScheme::Dark)).await;
    let browser = Browser::start().await;
    let frame = before_the_code(&browser, &chat).await;
    assert_eq!(
        frame
            .script(
                "return [matchMedia('(prefers-color-scheme: dark)').matches,
                         document.documentElement.dataset.scheme]"
            )
            .await,
        json!([false, "dark"])
    );
    frame
        .assert_accessible("forced dark, launcher before the code")
        .await;
    open_from_boot(&frame).await;
    assert_eq!(
        frame.script(&colours(".pl-panel")).await,
        json!(["rgb(28, 33, 40)", "rgb(230, 237, 243)"])
    );
    frame
        .type_into("#pl-composer-input", "Dark enough?\u{E007}")
        .await;
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "Dark enough?")
        .await;
    frame.assert_accessible("forced dark, bot").await;
    frame.leave().await;
    browser.screenshot("look-forced-dark").await;
    let frame = browser.enter_widget().await;
    frame.press("\u{E00C}").await;
    frame.assert_accessible("forced dark, closed").await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn a_forced_light_scheme_wins_over_a_dark_os_and_auto_follows_it() {
    let chat = Chat::start_with(config(|c| c.site.color_scheme = ColorScheme::Light)).await;
    let browser = Browser::start_with(&["--force-dark-mode"]).await;
    let frame = before_the_code(&browser, &chat).await;
    open_from_boot(&frame).await;
    assert_eq!(
        frame
            .script(
                "return [matchMedia('(prefers-color-scheme: dark)').matches,
                         document.documentElement.dataset.scheme]"
            )
            .await,
        json!([true, "light"])
    );
    assert_eq!(
        frame.script(&colours(".pl-panel")).await,
        json!(["rgb(255, 255, 255)", "rgb(27, 31, 36)"])
    );
    frame
        .assert_accessible("forced light on a dark OS, bot")
        .await;
    browser.quit().await;

    // The default, auto: the visitor's dark setting.
    let chat = Chat::start().await;
    let browser = Browser::start_with(&["--force-dark-mode"]).await;
    let frame = before_the_code(&browser, &chat).await;
    open_from_boot(&frame).await;
    assert_eq!(
        frame.script(&colours(".pl-panel")).await,
        json!(["rgb(28, 33, 40)", "rgb(230, 237, 243)"])
    );
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn brand_text_colour_label_z_index_and_offsets_are_applied_before_and_after_the_code() {
    let label = "Questions? Ask us";
    let chat = Chat::start_with(config(|c| {
        c.site.brand_color = "#ffd700".to_string().try_into().expect("colour");
        c.site.launcher_label = Some(label.into());
        c.site.z_index = 10;
        c.site.offset_x = 0;
        c.site.offset_y = 100;
    }))
    .await;
    let browser = Browser::start().await;
    let frame = before_the_code(&browser, &chat).await;
    // The launcher drawn before the code: brand colour, dark text on it, the label shown
    // and naming it.
    assert_eq!(
        frame.script(&colours("#pl-boot")).await,
        json!(["rgb(255, 215, 0)", "rgb(17, 17, 17)"])
    );
    assert_eq!(
        frame.attr("#pl-boot", "aria-label").await.as_deref(),
        Some(label)
    );
    assert!(frame.is_displayed("#pl-boot span").await);
    assert_eq!(frame.texts("#pl-boot span").await, [label]);
    let launcher_width = frame
        .script("return document.getElementById('pl-boot').offsetWidth")
        .await
        .as_u64()
        .unwrap_or_default();
    assert!(launcher_width > 120, "a pill: {launcher_width}");
    frame
        .assert_accessible("labelled launcher before the code")
        .await;
    // On the host page: the frame's z-index and offsets (16 px inside the frame are the
    // launcher's room), wide enough for the pill.
    browser
        .host_until(
            FRAME_PLACE,
            json!(["10", "84px", "-16px", "auto", launcher_width + 36]),
        )
        .await;
    assert_eq!(
        browser.on_host("const r = document.querySelector('iframe[data-porchlight]').getBoundingClientRect();
             return [innerWidth - (r.right - 16), innerHeight - (r.bottom - 16)]"
        )
        .await,
        json!([0, 100]),
        "the launcher sits at the offsets from the page's edges"
    );
    frame.leave().await;
    browser.screenshot("look-labelled-launcher").await;

    // The app: the header and the visitor's bubbles in the brand colours.
    let frame = browser.enter_widget().await;
    open_from_boot(&frame).await;
    assert_eq!(
        frame
            .script("return getComputedStyle(document.documentElement).getPropertyValue('--pl-on-brand')")
            .await,
        json!("#111111")
    );
    assert_eq!(
        frame.script(&colours(".pl-header")).await,
        json!(["rgb(255, 215, 0)", "rgb(17, 17, 17)"])
    );
    frame
        .type_into("#pl-composer-input", "Readable?\u{E007}")
        .await;
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "Readable?")
        .await;
    assert_eq!(
        frame.script(&colours(".pl-from-visitor .pl-text")).await,
        json!(["rgb(255, 215, 0)", "rgb(17, 17, 17)"])
    );
    frame.assert_accessible("light brand colour, bot").await;

    // Closed again: the app's launcher is the labelled pill, named by its label, the frame
    // sized to it.
    frame.press("\u{E00C}").await;
    frame
        .wait_for(fantoccini::Locator::Css(&format!(
            "button#pl-launcher[aria-label='{label}']"
        )))
        .await;
    assert_eq!(frame.texts("#pl-launcher span").await, [label]);
    let app_width = frame
        .script("return document.getElementById('pl-launcher').offsetWidth")
        .await
        .as_u64()
        .unwrap_or_default();
    assert!(app_width > 120, "a pill: {app_width}");
    frame.assert_accessible("labelled launcher").await;
    browser
        .host_until(
            FRAME_PLACE,
            json!(["10", "84px", "-16px", "auto", app_width + 36]),
        )
        .await;
    browser.quit().await;
}

/// Whether the rectangle of `a` lies left of `b`'s, in the frame.
fn left_of(a: &str, b: &str) -> String {
    format!(
        "const a = document.querySelector('{a}').getBoundingClientRect();
         const b = document.querySelector('{b}').getBoundingClientRect();
         return a.left < b.left"
    )
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn arabic_mirrors_the_panel_and_sits_bottom_left_unless_the_site_chose_a_corner() {
    let chat = Chat::start_with(config(|c| c.site.language = "ar".into())).await;
    let browser = Browser::start().await;
    let frame = before_the_code(&browser, &chat).await;
    let arabic = "return [document.documentElement.lang, document.documentElement.dir]";
    assert_eq!(frame.script(arabic).await, json!(["ar", "rtl"]));
    // Named in Arabic before the code ("فتح المحادثة", the bundle's open_label).
    let name = frame
        .attr("#pl-boot", "aria-label")
        .await
        .unwrap_or_default();
    assert!(name.starts_with('\u{641}'), "{name}");
    frame
        .assert_accessible("RTL, launcher before the code")
        .await;
    browser
        .host_until(FRAME_PLACE, json!(["2147483000", "4px", "auto", "4px", 96]))
        .await;
    let frame = browser.enter_widget().await;
    frame.wait_for(fantoccini::Locator::Css("#pl-boot")).await;
    assert!(
        frame
            .script(
                "const r = document.getElementById('pl-boot').getBoundingClientRect();
                 return r.left === 16"
            )
            .await
            .as_bool()
            .unwrap_or_default(),
        "the launcher sits in the frame's left corner"
    );
    open_from_boot(&frame).await;
    assert_eq!(frame.script(arabic).await, json!(["ar", "rtl"]));
    browser.host_until("const f = document.querySelector('iframe[data-porchlight]'); return [f.style.left, f.style.right]",
        json!(["4px", "auto"]),
    )
    .await;
    let frame = browser.enter_widget().await;
    frame.type_into("#pl-composer-input", "مرحبا\u{E007}").await;
    frame
        .wait_for_text(".pl-from-visitor .pl-text", "مرحبا")
        .await;
    // Mirrored: the visitor's bubbles on the left, the bot's on the right; the header's
    // buttons on the left of the title; the composer's Send button left of its box.
    for (a, b) in [
        (".pl-from-visitor .pl-text", ".pl-from-bot .pl-text"),
        (".pl-close", "#pl-title"),
        (".pl-send", "#pl-composer-input"),
    ] {
        assert_eq!(
            frame.script(&left_of(a, b)).await,
            json!(true),
            "{a} left of {b}"
        );
    }
    frame.assert_accessible("RTL, bot").await;
    frame.leave().await;
    browser.screenshot("look-rtl-bot").await;
    // The history, mirrored too: its Back button at the start (right).
    let frame = browser.enter_widget().await;
    frame.click("#pl-history").await;
    frame.wait_until_focused("pl-history-back").await;
    assert_eq!(
        frame
            .script(&left_of(
                ".pl-history-bar .pl-form-title",
                ".pl-history-back"
            ))
            .await,
        json!(true)
    );
    frame.assert_accessible("RTL, history").await;
    frame.click(".pl-history-back").await;
    // Escape goes to what has focus: the history button, once focus is back on it.
    frame.wait_until_focused("pl-history").await;
    frame.press("\u{E00C}").await;
    frame
        .wait_for(fantoccini::Locator::Css("#pl-launcher:not([hidden])"))
        .await;
    frame.assert_accessible("RTL, closed").await;
    browser.quit().await;

    // A corner the site names holds in Arabic too.
    let chat = Chat::start_with(config(|c| {
        c.site.language = "ar".into();
        c.position_given = true;
        c.site.position = Position::BottomRight;
    }))
    .await;
    let browser = Browser::start().await;
    let frame = before_the_code(&browser, &chat).await;
    assert_eq!(frame.script(arabic).await, json!(["ar", "rtl"]));
    browser
        .host_until(FRAME_PLACE, json!(["2147483000", "4px", "4px", "auto", 96]))
        .await;
    let frame = browser.enter_widget().await;
    open_from_boot(&frame).await;
    browser.host_until("const f = document.querySelector('iframe[data-porchlight]'); return [f.style.left, f.style.right]",
        json!(["auto", "4px"]),
    )
    .await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn an_auto_language_site_draws_a_hebrew_visitors_launcher_mirrored_before_the_code() {
    let chat = Chat::start_with(config(|c| c.site.language = "auto".into())).await;
    let browser = Browser::start_with(&["--lang=he", "--accept-lang=he,en"]).await;
    let frame = before_the_code(&browser, &chat).await;
    assert_eq!(
        frame
            .script(
                "return [navigator.languages[0], document.documentElement.lang,
                         document.documentElement.dir]"
            )
            .await,
        json!(["he", "he", "rtl"])
    );
    let name = frame
        .attr("#pl-boot", "aria-label")
        .await
        .unwrap_or_default();
    assert!(
        name.chars().any(|c| ('\u{5d0}'..='\u{5ea}').contains(&c)),
        "{name}"
    );
    browser
        .host_until(FRAME_PLACE, json!(["2147483000", "4px", "auto", "4px", 96]))
        .await;
    browser.quit().await;
}

/// axe on the closed launcher and the open bot in dark, Arabic, and both, the host page's
/// window `width`×`height` CSS pixels. Chromium keeps a window at least 500 px wide, so a
/// narrower one is the visual viewport's width made smaller on the host page: the loader
/// gives the open panel exactly that, and the widget lays out in it.
async fn axe_rtl_and_dark(width: u32, height: u32, what: &str) {
    for (scheme, language) in [
        (ColorScheme::Dark, "en"),
        (ColorScheme::Light, "ar"),
        (ColorScheme::Dark, "ar"),
    ] {
        let chat = Chat::start_with(config(|c| {
            c.site.color_scheme = scheme;
            c.site.language = language.into();
        }))
        .await;
        let window = Browser::page_size_flag(width, height);
        let browser = Browser::start_with(&[&window]).await;
        before_the_code(&browser, &chat).await;
        assert_eq!(browser.narrow_viewport(width).await, json!([width, height]));
        let frame = browser.enter_widget().await;
        let state = format!("{what}, {scheme:?}, {language}");
        frame
            .assert_accessible(&format!("{state}, launcher before the code"))
            .await;
        open_from_boot(&frame).await;
        assert_eq!(
            frame.script("return [innerWidth, innerHeight]").await,
            json!([width, height]),
            "the open panel fills the {width}×{height} page"
        );
        frame.assert_accessible(&format!("{state}, bot")).await;
        frame.leave().await;
        browser
            .screenshot(&format!(
                "look-{}-{scheme:?}-{language}",
                what.replace(' ', "-")
            ))
            .await;
        let frame = browser.enter_widget().await;
        frame.press("\u{E00C}").await;
        frame
            .wait_for(fantoccini::Locator::Css("#pl-launcher:not([hidden])"))
            .await;
        frame.assert_accessible(&format!("{state}, closed")).await;
        browser.quit().await;
    }
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn axe_finds_nothing_in_rtl_and_dark_at_320_px_wide() {
    axe_rtl_and_dark(320, 640, "320px").await;
}

/// 200 % zoom of a 1280×900 window lays the page out in 640×450 CSS pixels.
#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn axe_finds_nothing_in_rtl_and_dark_at_200_percent_zoom() {
    axe_rtl_and_dark(640, 450, "200 percent zoom").await;
}

#[tokio::test]
#[ignore = "needs the release widget and Chromium: run `cargo xtask test`"]
async fn the_unread_badge_in_arabic_and_dark_keeps_axe_at_nothing() {
    let chat = Chat::start_with(config(|c| {
        c.site.color_scheme = ColorScheme::Dark;
        c.site.language = "ar".into();
    }))
    .await;
    let control = chat.control();
    let browser = Browser::start().await;
    let frame = before_the_code(&browser, &chat).await;
    open_from_boot(&frame).await;
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
    control.accept("ann", &conversation).await.expect("accept");
    frame
        .wait_for(fantoccini::Locator::Css(
            ".pl-conversation[data-phase='live']",
        ))
        .await;
    frame.assert_accessible("Arabic, dark, live").await;
    frame.press("\u{E00C}").await;
    for text in ["Are you still there?", "I can wait."] {
        control
            .message("ann", &conversation, text)
            .await
            .expect("message");
    }
    frame
        .wait_for(fantoccini::Locator::Css("#pl-launcher[data-unread='٢']"))
        .await;
    let name = frame
        .attr("#pl-launcher", "aria-label")
        .await
        .unwrap_or_default();
    // The count in Arabic-Indic digits, as the Arabic bundle writes numbers.
    assert!(name.contains('٢') && name.starts_with('\u{641}'), "{name}");
    frame
        .assert_accessible("Arabic, dark, launcher with 2 unread")
        .await;
    frame.leave().await;
    browser.screenshot("look-rtl-dark-unread").await;
    browser.quit().await;
}
