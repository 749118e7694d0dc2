//! End to end: the agent console and the widget side by side in headless Chromium against
//! the real server — a broadcast request taken from the Queue and chatted both ways
//! to its rating in History; a time-based request started from Engaged, and one that runs
//! out and moves to the other agent; two consoles accepting the same request; a left
//! message in History; the whole agent's round by keyboard alone; and axe-core's check of
//! the console in each state.
//!
//! Needs the release widget and console and Chromium (`cargo xtask test`); hence `#[ignore]`.
#![cfg(not(target_arch = "wasm32"))]

mod browser;

use browser::{Browser, Chat, Frame};
use fantoccini::Locator;
use porchlight_server::ServerConfig;
use std::time::Duration;

/// The built-in site and bot with `routing` and two agents played in the console.
fn config(routing: &str) -> ServerConfig {
    let agents =
        "[[agents]]\nid = \"ann\"\nname = \"Ann\"\n\n[[agents]]\nid = \"ben\"\nname = \"Ben\"\n";
    ServerConfig::default_with(routing, agents).expect("valid test config")
}

const BROADCAST: &str = "mode = \"broadcast\"\nqueue_time_secs = 120\nacceptance_time_secs = 30";

/// Opens the widget on the demo page, asks for a person as Ada, and returns the frame.
async fn visitor_asking<'a>(chat: &Chat, browser: &'a Browser) -> Frame<'a> {
    let frame = browser.open_greeted_chat(&chat.url("/")).await;
    frame.click("button.pl-talk-to-human").await;
    frame.type_into("#pl-field-name", "Ada Lovelace").await;
    frame.type_into("#pl-field-email", "ada@example.com").await;
    frame.click("#pl-field-consent").await;
    frame.click("form.pl-prechat button[type=submit]").await;
    frame
}

/// Opens the console and signs in as `agent` (`None`: an admin).
async fn console<'a>(chat: &Chat, browser: &'a Browser, agent: Option<&str>) -> Frame<'a> {
    browser.open_console(chat, agent).await
}

/// Shows `folder` (queue, engaged, live, history).
async fn show(page: &Frame<'_>, folder: &str) {
    page.click(&format!("button.pc-folder[data-folder='{folder}']"))
        .await;
    page.wait_for(Locator::Css(&format!(
        "#pc-folder-panel[data-folder='{folder}']"
    )))
    .await;
}

/// The count shown on `folder`'s tab.
async fn count(page: &Frame<'_>, folder: &str) -> String {
    page.texts(&format!(
        "button.pc-folder[data-folder='{folder}'] .pc-count"
    ))
    .await
    .concat()
}

/// Waits until `folder`'s tab shows `n`.
async fn wait_for_count(page: &Frame<'_>, folder: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let shown = count(page, folder).await;
        if shown.trim() == n.to_string() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{folder} shows {shown:?}, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Seconds a countdown text `m:ss` stands for.
fn seconds(text: &str) -> Option<u64> {
    let (m, s) = text.trim().split_once(':')?;
    Some(m.trim().parse::<u64>().ok()? * 60 + s.trim().parse::<u64>().ok()?)
}

/// The seconds shown by the first countdown in the open folder.
async fn countdown(page: &Frame<'_>) -> u64 {
    page.wait_for(Locator::Css("#pc-folder-panel .pc-countdown"))
        .await;
    let texts = page.texts("#pc-folder-panel .pc-countdown").await;
    texts
        .first()
        .and_then(|t| seconds(t))
        .unwrap_or_else(|| panic!("no countdown in {texts:?}"))
}

#[tokio::test]
#[ignore = "needs the release widget and console and Chromium: run `cargo xtask test`"]
async fn broadcast_request_taken_in_the_console_chatted_closed_and_rated_into_history() {
    let chat = Chat::start_with(config(BROADCAST)).await;
    let visitor = Browser::start().await;
    let agent = Browser::start().await;
    let console = console(&chat, &agent, Some("ann")).await;
    console.wait_for_text("#pc-load", "0 / 2 chats").await;
    console.assert_accessible("an empty queue").await;
    // The secret does not stay in the address bar.
    let address = console.script("return location.href").await;
    assert!(
        !address.as_str().unwrap_or_default().contains("token"),
        "{address}"
    );

    let widget = visitor_asking(&chat, &visitor).await;
    widget
        .wait_for_text(".pl-chat-status", "number 1 in line")
        .await;

    // The request shows in the Queue with the visitor's name and a countdown.
    wait_for_count(&console, "queue", 1).await;
    show(&console, "queue").await;
    console
        .wait_for_text("#pc-folder-panel .pc-name", "Ada Lovelace")
        .await;
    let first = countdown(&console).await;
    assert!((110..=120).contains(&first), "queue countdown at {first}");
    console.wait_for_text("#pc-announcer", "Ada Lovelace").await;
    agent.screenshot("console-queue").await;
    console.assert_accessible("a request in the queue").await;

    console.click("#pc-folder-panel button.pc-accept").await;
    wait_for_count(&console, "queue", 0).await;
    wait_for_count(&console, "live", 1).await;
    console.wait_for_text("#pc-load", "1 / 2 chats").await;
    widget
        .wait_for_text("li.pl-system", "Ann joined the chat")
        .await;

    // Messages and typing both ways; hostile text stays text in the console.
    show(&console, "live").await;
    console.click("#pc-folder-panel .pc-open").await;
    console
        .wait_for_text("dl.pc-answers", "ada@example.com")
        .await;
    widget
        .type_into("textarea#pl-composer-input", "Where is <b>my</b> order?")
        .await;
    console
        .wait_for_text(".pc-visitor-typing", "Visitor is typing")
        .await;
    widget
        .type_into("textarea#pl-composer-input", "\u{E007}")
        .await;
    console
        .wait_for_text(".pc-from-visitor .pc-text", "Where is <b>my</b> order?")
        .await;
    assert!(
        console.texts(".pc-log b").await.is_empty(),
        "text, not HTML"
    );
    console.type_into("#pc-composer", "On its way").await;
    widget.wait_for_text(".pl-typing", "Ann is typing").await;
    console.type_into("#pc-composer", "\u{E007}").await;
    widget
        .wait_for_text(".pl-from-agent .pl-text", "On its way")
        .await;
    console
        .wait_for_text(".pc-from-agent .pc-text", "On its way")
        .await;
    agent.screenshot("console-chat").await;
    console.assert_accessible("a live chat").await;

    // Close; the visitor rates; History shows it with the rating.
    console.click("button.pc-close-chat").await;
    wait_for_count(&console, "live", 0).await;
    widget.wait_for(Locator::Css("form.pl-rating")).await;
    widget
        .click("form.pl-rating input[name=pl-stars][value='4']")
        .await;
    widget.click("form.pl-rating button[type=submit]").await;
    widget
        .wait_for_text(".pl-panel", "Thank you for your rating")
        .await;
    show(&console, "history").await;
    console
        .wait_for_text("#pc-folder-panel .pc-row .pc-rating", "4")
        .await;
    console
        .wait_for_text("#pc-folder-panel .pc-name", "Ada Lovelace")
        .await;
    // Searchable by the words said.
    console.type_into("#pc-search", "order").await;
    console
        .wait_for_text("#pc-folder-panel .pc-name", "Ada Lovelace")
        .await;
    agent.screenshot("console-history").await;
    console.assert_accessible("history").await;
    visitor.quit().await;
    agent.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and console and Chromium: run `cargo xtask test`"]
async fn time_based_request_started_from_engaged_and_one_that_moves_on() {
    let chat = Chat::start_with(config(
        "mode = \"time-based\"\nqueue_time_secs = 120\nacceptance_time_secs = 4",
    ))
    .await;
    let visitor = Browser::start().await;
    let agent = Browser::start().await;
    let console = console(&chat, &agent, Some("ann")).await;

    // Offered to Ann (the least loaded, first by name): Engaged, with its countdown.
    let widget = visitor_asking(&chat, &visitor).await;
    wait_for_count(&console, "engaged", 1).await;
    show(&console, "engaged").await;
    let left = countdown(&console).await;
    assert!((1..=4).contains(&left), "acceptance countdown at {left}");
    agent.screenshot("console-engaged").await;
    console.assert_accessible("an engaged request").await;
    // Ann lets it run out: it leaves her Engaged and goes to Ben's.
    wait_for_count(&console, "engaged", 0).await;
    console.click("#pc-sign-out").await;
    console.click("button.pc-sign-in[data-agent='ben']").await;
    wait_for_count(&console, "engaged", 1).await;
    show(&console, "engaged").await;
    console.click("#pc-folder-panel button.pc-start").await;
    wait_for_count(&console, "live", 1).await;
    widget
        .wait_for_text("li.pl-system", "Ben joined the chat")
        .await;
    visitor.quit().await;
    agent.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and console and Chromium: run `cargo xtask test`"]
async fn two_consoles_accept_the_same_request_and_exactly_one_gets_it() {
    let chat = Chat::start_with(config(BROADCAST)).await;
    let visitor = Browser::start().await;
    let (ann_browser, ben_browser) = tokio::join!(Browser::start(), Browser::start());
    let ann = console(&chat, &ann_browser, Some("ann")).await;
    let ben = console(&chat, &ben_browser, Some("ben")).await;
    let _widget = visitor_asking(&chat, &visitor).await;
    for page in [&ann, &ben] {
        wait_for_count(page, "queue", 1).await;
        show(page, "queue").await;
        page.wait_for(Locator::Css("#pc-folder-panel button.pc-accept"))
            .await;
    }
    // Both click at once; a click that finds the row gone already is no click.
    let click = "const b = document.querySelector('#pc-folder-panel button.pc-accept');\
                 if (!b) return false; b.click(); return true;";
    let (ann_clicked, ben_clicked) = tokio::join!(ann.script(click), ben.script(click));
    assert!(ann_clicked.as_bool() == Some(true) || ben_clicked.as_bool() == Some(true));
    let state = loop {
        let state = chat.control().state().await.expect("state").json();
        if state["live"].as_array().is_some_and(|l| !l.is_empty()) {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let winner = state["live"][0]["agent"]
        .as_str()
        .expect("an agent")
        .to_string();
    assert_eq!(state["live"].as_array().map(Vec::len), Some(1));
    let (won, lost, lost_clicked) = if winner == "ann" {
        (&ann, &ben, ben_clicked)
    } else {
        (&ben, &ann, ann_clicked)
    };
    wait_for_count(won, "live", 1).await;
    // Gone from the loser's queue, never in their chats; told clearly if they clicked.
    wait_for_count(lost, "queue", 0).await;
    assert_eq!(count(lost, "live").await.trim(), "0");
    if lost_clicked.as_bool() == Some(true) {
        lost.wait_for_text("#pc-alert", "already accepted").await;
        lost.assert_accessible("a lost race").await;
    }
    visitor.quit().await;
    ann_browser.quit().await;
    ben_browser.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and console and Chromium: run `cargo xtask test`"]
async fn a_message_left_after_a_missed_request_shows_in_history() {
    let chat = Chat::start_with(config(
        "mode = \"broadcast\"\nqueue_time_secs = 1.5\nacceptance_time_secs = 30",
    ))
    .await;
    let visitor = Browser::start().await;
    let agent = Browser::start().await;
    let console = console(&chat, &agent, None).await;
    let widget = visitor_asking(&chat, &visitor).await;
    widget.wait_for(Locator::Css("form.pl-leave-message")).await;
    widget
        .type_into("#pl-leave-message-text", "Please call me back tomorrow.")
        .await;
    widget
        .click("form.pl-leave-message button[type=submit]")
        .await;
    show(&console, "history").await;
    console
        .wait_for_text("#pc-folder-panel .pc-preview", "Please call me back")
        .await;
    console
        .wait_for_text("#pc-folder-panel .pc-row", "message left")
        .await;
    console.click("#pc-folder-panel .pc-open").await;
    console
        .wait_for_text("li.pc-system", "Please call me back tomorrow.")
        .await;
    assert!(
        console.texts("#pc-composer").await.is_empty(),
        "history is read-only"
    );
    console.assert_accessible("a message left, read-only").await;
    visitor.quit().await;
    agent.quit().await;
}

#[tokio::test]
#[ignore = "needs the release widget and console and Chromium: run `cargo xtask test`"]
async fn an_agent_works_a_request_by_keyboard_alone() {
    const ENTER: &str = "\u{E007}";
    const RIGHT: &str = "\u{E014}";
    let chat = Chat::start_with(config(BROADCAST)).await;
    let visitor = Browser::start().await;
    let agent = Browser::start().await;
    let page = agent.open_page(&chat.console_url()).await;
    page.tab_to("button.pc-sign-in[data-agent='ann']").await;
    page.press(ENTER).await;
    page.wait_for(Locator::Css("button.pc-folder[data-folder='queue']"))
        .await;

    // Arrow keys move between the folder tabs.
    page.tab_to("button.pc-folder[data-folder='queue']").await;
    page.press(RIGHT).await;
    page.wait_until_focused_css("button.pc-folder[data-folder='engaged']")
        .await;
    page.press(ENTER).await;
    page.wait_for(Locator::Css("#pc-folder-panel[data-folder='engaged']"))
        .await;

    let widget = visitor_asking(&chat, &visitor).await;
    wait_for_count(&page, "queue", 1).await;
    page.tab_to("button.pc-folder[data-folder='queue']").await;
    page.press(ENTER).await;
    page.tab_to("#pc-folder-panel button.pc-accept").await;
    page.press(ENTER).await;
    wait_for_count(&page, "live", 1).await;
    widget
        .wait_for_text("li.pl-system", "Ann joined the chat")
        .await;

    // The composer: Enter sends.
    page.tab_to("#pc-composer").await;
    page.press("Typed, not clicked").await;
    page.press(ENTER).await;
    widget
        .wait_for_text(".pl-from-agent .pl-text", "Typed, not clicked")
        .await;
    page.tab_to("button.pc-close-chat").await;
    page.press(ENTER).await;
    wait_for_count(&page, "live", 0).await;
    wait_for_count(&page, "history", 1).await;
    visitor.quit().await;
    agent.quit().await;
}
