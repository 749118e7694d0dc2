//! Unit tests of the console's state: the link, the desk's frames, folders, countdowns,
//! filters, search, the open chat, the outbox and typing.

use super::folders::{Action, remaining_ms};
use super::*;
use porchlight_protocol::Author;
use porchlight_protocol::channels::ChannelKind;
use porchlight_protocol::console::{Deadline, DeadlineKind, Rating};

const T0: u64 = 1_000_000;

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

fn conv(s: &str) -> ConversationId {
    id(s)
}

fn summary(name: &str, stage: Stage, agent: Option<&str>, started: u64) -> ConversationSummary {
    ConversationSummary {
        id: conv(name),
        channel: id("web"),
        stage,
        name: Some(format!("{name} Visitor")),
        email: Some(format!("{name}@example.com")),
        preview: format!("Hello from {name}"),
        agent: agent.map(id),
        position: None,
        deadline: None,
        rating: None,
        started_ms: started,
        updated_ms: started,
        last_seq: Seq(1),
        facts: None,
        story: None,
    }
}

fn agent(name: &str, online: bool, load: u32) -> AgentStatus {
    AgentStatus {
        id: id(&name.to_lowercase()),
        name: name.into(),
        online,
        load,
        max_chats: 2,
        simulated: false,
    }
}

fn channel(id_: &str, name: &str) -> ChannelInfo {
    ChannelInfo {
        id: id(id_),
        kind: if id_ == "web" {
            ChannelKind::Web
        } else {
            ChannelKind::Telegram
        },
        name: name.into(),
        templates: Vec::new(),
    }
}

fn welcome(server_ms: u64, conversations: Vec<ConversationSummary>) -> DeskFrame {
    DeskFrame::Welcome {
        version: PROTOCOL_VERSION,
        now_ms: server_ms,
        agent: None,
        routing: RoutingMode::Broadcast,
        clock_offset_ms: 0,
        agents: vec![agent("Ann", true, 1), agent("Bob", true, 0)],
        channels: vec![channel("web", "Example site"), channel("tg", "Telegram")],
        conversations,
    }
}

fn console_as(who: Who) -> Console {
    let mut c = Console::new(id("tok"), who);
    assert_eq!(c.update(Input::Start), vec![Effect::Connect]);
    c.update(Input::LinkOpened { now_ms: T0 });
    c
}

fn ann() -> Console {
    console_as(Who::Agent(id("ann")))
}

fn online(mut c: Console, conversations: Vec<ConversationSummary>) -> Console {
    c.update(Input::Frame {
        frame: welcome(T0, conversations),
        now_ms: T0,
    });
    assert_eq!(c.link, LinkState::Online);
    c
}

fn frame(c: &mut Console, frame: DeskFrame) -> Vec<Effect> {
    c.update(Input::Frame { frame, now_ms: T0 })
}

/// The clock's tick `after_ms` past [`T0`].
fn tick(c: &mut Console, after_ms: u64) -> Vec<Effect> {
    c.update(Input::Tick {
        now_ms: T0 + after_ms,
    })
}

fn upsert(c: &mut Console, summary: ConversationSummary) -> Vec<Effect> {
    frame(
        c,
        DeskFrame::Conversation {
            now_ms: T0,
            summary: Box::new(summary),
        },
    )
}

fn message(seq: u64, kind: AuthorKind, name: &str, text: &str) -> DeskFrame {
    DeskFrame::Event {
        conversation: conv("c1"),
        seq: Seq(seq),
        at_ms: T0,
        event: ConversationEvent::MessageReceived {
            id: None,
            author: Author {
                kind,
                name: name.into(),
            },
            text: text.into(),
            choices: Vec::new(),
        },
    }
}

fn record(seq: u64, text: &str) -> EventRecord {
    EventRecord {
        seq: Seq(seq),
        at_ms: T0,
        event: ConversationEvent::MessageReceived {
            id: None,
            author: Author {
                kind: AuthorKind::Visitor,
                name: "Ada".into(),
            },
            text: text.into(),
            choices: Vec::new(),
        },
    }
}

fn detail(events: Vec<EventRecord>) -> DeskFrame {
    DeskFrame::Detail {
        conversation: conv("c1"),
        answers: vec![AnswerLine {
            label: "Name".into(),
            value: "Ada".into(),
        }],
        events,
        visitor_typing: false,
    }
}

/// Ann, online, with `c1` live with her and open in the chat view with one event.
fn ann_chatting() -> Console {
    let mut c = online(ann(), vec![summary("c1", Stage::Live, Some("ann"), 10)]);
    c.update(Input::Open(conv("c1")));
    frame(&mut c, detail(vec![record(1, "hi")]));
    c
}

// ---- the link ----

#[test]
fn hello_names_the_agent_or_nobody_for_an_admin() {
    for (who, agent) in [(Who::Agent(id("ann")), Some(id("ann"))), (Who::Admin, None)] {
        let mut c = Console::new(id("tok"), who);
        c.update(Input::Start);
        assert_eq!(
            c.update(Input::LinkOpened { now_ms: T0 }),
            vec![Effect::Transmit(ConsoleFrame::Hello {
                version: PROTOCOL_VERSION,
                token: id("tok"),
                agent,
            })]
        );
    }
}

#[test]
fn a_dropped_link_backs_off_and_reconnects() {
    let mut c = online(ann(), vec![]);
    assert_eq!(
        c.update(Input::LinkClosed),
        vec![Effect::ScheduleReconnect { attempt: 1 }]
    );
    assert_eq!(c.link, LinkState::Reconnecting);
    assert_eq!(c.update(Input::ReconnectDue), vec![Effect::Connect]);
    assert_eq!(
        c.update(Input::LinkClosed),
        vec![Effect::ScheduleReconnect { attempt: 2 }]
    );
    // Back online: retry at once; the scheduled retry then finds nothing to do.
    assert_eq!(c.update(Input::RetryNow), vec![Effect::Connect]);
    assert!(c.update(Input::ReconnectDue).is_empty());
    c.update(Input::LinkOpened { now_ms: T0 });
    frame(&mut c, welcome(T0, vec![]));
    assert_eq!(c.attempts, 0);
}

#[test]
fn a_wrong_token_stops_everything() {
    let mut c = ann();
    let effects = frame(
        &mut c,
        DeskFrame::refused(ConsoleError::Unauthorized, "wrong token", None),
    );
    assert_eq!(effects, vec![Effect::Disconnect]);
    assert_eq!(c.link, LinkState::Stopped(Stop::WrongToken));
    assert!(c.update(Input::LinkClosed).is_empty());
    assert!(c.update(Input::RetryNow).is_empty());
    assert!(tick(&mut c, 999_999).is_empty());
}

#[test]
fn an_unknown_agent_at_sign_in_stops_with_a_sentence() {
    let mut c = ann();
    frame(
        &mut c,
        DeskFrame::refused(ConsoleError::UnknownAgent, "no such agent", None),
    );
    assert!(matches!(c.link, LinkState::Stopped(Stop::Refused(_))));
}

#[test]
fn the_link_pings_every_20_s_and_is_reopened_when_silent() {
    let mut c = online(ann(), vec![]);
    assert!(tick(&mut c, 19_000).is_empty());
    assert_eq!(
        tick(&mut c, 20_000),
        vec![Effect::Transmit(ConsoleFrame::Ping {})]
    );
    assert!(tick(&mut c, 21_000).is_empty());
    // Nothing heard for 50 s: a new socket.
    assert_eq!(tick(&mut c, 50_000), vec![Effect::Connect]);
    assert_eq!(c.link, LinkState::Connecting);
}

#[test]
fn a_second_welcome_replaces_everything() {
    let mut c = online(ann(), vec![summary("c1", Stage::Queued, None, 1)]);
    c.update(Input::FilterChannel(Some(id("gone"))));
    frame(
        &mut c,
        welcome(T0, vec![summary("c2", Stage::Queued, None, 2)]),
    );
    assert_eq!(c.folder_ids(Folder::Queue), vec![conv("c2")]);
    // A filter naming a channel the desk no longer has is dropped.
    assert_eq!(c.channel_filter, None);
}

// ---- folders ----

#[test]
fn folders_are_views_of_the_summaries_for_an_agent() {
    let c = online(
        ann(),
        vec![
            summary("q2", Stage::Queued, None, 20),
            summary("q1", Stage::Queued, None, 10),
            summary("e-mine", Stage::Connecting, Some("ann"), 5),
            summary("e-bob", Stage::Connecting, Some("bob"), 5),
            summary("l-mine", Stage::Live, Some("ann"), 5),
            summary("l-bob", Stage::Live, Some("bob"), 5),
            summary("bot", Stage::Bot, None, 5),
            {
                let mut s = summary("h-old", Stage::Ended, Some("bob"), 1);
                s.updated_ms = 100;
                s
            },
            {
                let mut s = summary("h-new", Stage::Missed, None, 2);
                s.updated_ms = 200;
                s
            },
        ],
    );
    assert_eq!(c.folder_ids(Folder::Queue), vec![conv("q1"), conv("q2")]);
    assert_eq!(c.folder_ids(Folder::Engaged), vec![conv("e-mine")]);
    assert_eq!(c.folder_ids(Folder::Live), vec![conv("l-mine")]);
    assert_eq!(
        c.folder_ids(Folder::History),
        vec![conv("h-new"), conv("h-old")]
    );
    assert_eq!(c.count(Folder::Engaged), 1);
    assert_eq!(c.count(Folder::History), 2);
}

#[test]
fn an_admin_sees_every_agents_folders_with_their_names() {
    let c = online(
        console_as(Who::Admin),
        vec![
            summary("e-ann", Stage::Connecting, Some("ann"), 5),
            summary("e-bob", Stage::Connecting, Some("bob"), 6),
            summary("l-bob", Stage::Live, Some("bob"), 5),
            summary("q", Stage::Queued, None, 5),
        ],
    );
    assert_eq!(
        c.folder_ids(Folder::Engaged),
        vec![conv("e-ann"), conv("e-bob")]
    );
    let row = c.row(&conv("l-bob"), Folder::Live).expect("a row");
    assert_eq!(row.agent.as_deref(), Some("Bob"));
    // Admins act on nothing.
    assert_eq!(row.action, None);
    assert_eq!(c.row(&conv("q"), Folder::Queue).expect("row").action, None);
    assert_eq!(
        c.row(&conv("e-ann"), Folder::Engaged).expect("row").action,
        None
    );
}

#[test]
fn rows_offer_accept_to_an_online_agent_and_start_on_their_own_requests() {
    let mut c = online(
        ann(),
        vec![
            summary("q", Stage::Queued, None, 5),
            summary("e", Stage::Connecting, Some("ann"), 5),
        ],
    );
    assert_eq!(
        c.row(&conv("q"), Folder::Queue).expect("row").action,
        Some(Action::Accept)
    );
    assert_eq!(
        c.row(&conv("e"), Folder::Engaged).expect("row").action,
        Some(Action::Start)
    );
    frame(
        &mut c,
        DeskFrame::Agent {
            status: agent("Ann", false, 1),
        },
    );
    assert_eq!(c.row(&conv("q"), Folder::Queue).expect("row").action, None);
    assert_eq!(c.me().map(|m| m.online), Some(false));
}

#[test]
fn a_row_shows_name_or_email_or_visitor_and_the_channel_name() {
    let mut s = summary("c", Stage::Ended, Some("ann"), 5);
    s.rating = Some(Rating {
        stars: 4,
        comment: Some("Nice".into()),
    });
    let mut anonymous = summary("d", Stage::MessageLeft, None, 5);
    anonymous.name = None;
    anonymous.email = None;
    let mut email_only = summary("e", Stage::Missed, None, 5);
    email_only.name = Some("  ".into());
    let c = online(ann(), vec![s, anonymous, email_only]);
    let row = c.row(&conv("c"), Folder::History).expect("row");
    assert_eq!(row.name, "c Visitor");
    assert_eq!(row.channel, "Example site");
    assert_eq!(row.agent.as_deref(), Some("Ann"));
    assert_eq!(row.status, Some("ended"));
    assert_eq!(row.rating.map(|r| r.stars), Some(4));
    let row = c.row(&conv("d"), Folder::History).expect("row");
    assert_eq!(
        (row.name.as_str(), row.status),
        ("Visitor", Some("message left"))
    );
    assert_eq!(
        c.row(&conv("e"), Folder::History).expect("row").name,
        "e@example.com"
    );
    assert_eq!(c.row(&conv("c"), Folder::Queue), None);
}

#[test]
fn filters_narrow_the_queue_and_history_by_channel_and_admins_by_agent() {
    let mut tg = summary("q-tg", Stage::Queued, None, 2);
    tg.channel = id("tg");
    let mut h_tg = summary("h-tg", Stage::Ended, Some("bob"), 2);
    h_tg.channel = id("tg");
    let mut c = online(
        console_as(Who::Admin),
        vec![
            summary("q-web", Stage::Queued, None, 1),
            tg,
            summary("h-web", Stage::Ended, Some("ann"), 1),
            h_tg,
            summary("l-ann", Stage::Live, Some("ann"), 1),
            summary("l-bob", Stage::Live, Some("bob"), 1),
        ],
    );
    c.update(Input::FilterChannel(Some(id("tg"))));
    assert_eq!(c.folder_ids(Folder::Queue), vec![conv("q-tg")]);
    assert_eq!(c.folder_ids(Folder::History), vec![conv("h-tg")]);
    // The channel filter does not apply to live chats; counts ignore filters.
    assert_eq!(c.folder_ids(Folder::Live).len(), 2);
    assert_eq!(c.count(Folder::Queue), 2);
    c.update(Input::FilterChannel(None));
    c.update(Input::FilterAgent(Some(id("ann"))));
    assert_eq!(c.folder_ids(Folder::Live), vec![conv("l-ann")]);
    assert_eq!(c.folder_ids(Folder::History), vec![conv("h-web")]);
    assert_eq!(c.folder_ids(Folder::Queue).len(), 2);
}

#[test]
fn the_agent_filter_means_nothing_to_an_agent() {
    let mut c = online(ann(), vec![summary("h", Stage::Ended, Some("bob"), 1)]);
    c.update(Input::FilterAgent(Some(id("ann"))));
    assert_eq!(c.folder_ids(Folder::History), vec![conv("h")]);
}

// ---- countdowns ----

#[test]
fn countdowns_run_on_the_servers_clock() {
    assert_eq!(remaining_ms(10_000, 4_000, 1_000), 5_000);
    assert_eq!(remaining_ms(10_000, 4_000, -1_000), 7_000);
    assert_eq!(remaining_ms(10_000, 20_000, 0), 0);
    assert_eq!(remaining_ms(0, u64::MAX, i64::MAX), 0);
    assert_eq!(remaining_ms(u64::MAX, 0, i64::MIN), u64::MAX);
}

#[test]
fn the_clock_offset_comes_from_the_latest_timed_frame() {
    let mut c = ann();
    // The server's clock is 90 s ahead of the browser's.
    c.update(Input::Frame {
        frame: welcome(T0 + 90_000, vec![]),
        now_ms: T0,
    });
    let mut s = summary("q", Stage::Queued, None, 1);
    s.deadline = Some(Deadline {
        kind: DeadlineKind::Queue,
        at_ms: T0 + 120_000,
    });
    assert_eq!(c.clock_offset_ms, 90_000);
    c.update(Input::Frame {
        frame: DeskFrame::Conversation {
            now_ms: T0 + 95_000,
            summary: Box::new(s),
        },
        now_ms: T0 + 1_000,
    });
    assert_eq!(c.clock_offset_ms, 94_000);
    let row = c.row(&conv("q"), Folder::Queue).expect("row");
    let at = row.deadline.expect("deadline").at_ms;
    assert_eq!(c.remaining_ms(at, T0 + 1_000), 25_000);
}

// ---- announcements and alerts ----

#[test]
fn new_requests_are_announced_once() {
    let mut c = online(ann(), vec![]);
    upsert(&mut c, summary("Ada", Stage::Bot, None, 1));
    assert_eq!(c.announcement, None);
    upsert(&mut c, summary("Ada", Stage::Queued, None, 1));
    let first = c.announcement.clone().expect("announced");
    assert_eq!(first.text, "New chat request from Ada Visitor");
    // A position change is no new request.
    let mut moved = summary("Ada", Stage::Queued, None, 1);
    moved.position = Some(1);
    upsert(&mut c, moved);
    assert_eq!(c.announcement, Some(first));
    // Offered to Bob: not Ann's business; then to Ann: announced.
    upsert(&mut c, summary("Bo", Stage::Connecting, Some("bob"), 1));
    assert!(
        c.announcement
            .as_ref()
            .is_some_and(|a| !a.text.contains("Bo "))
    );
    upsert(&mut c, summary("Bo", Stage::Connecting, Some("ann"), 1));
    assert_eq!(
        c.announcement.map(|a| a.text),
        Some("New chat request from Bo Visitor".into())
    );
}

#[test]
fn the_same_sentence_twice_is_two_notices() {
    let mut c = online(ann(), vec![]);
    let taken = DeskFrame::refused(ConsoleError::Taken, "taken", Some(conv("q")));
    frame(&mut c, taken.clone());
    let first = c.alert.clone().expect("alert");
    assert_eq!(first.text, "Someone else already accepted this request.");
    frame(&mut c, taken);
    let second = c.alert.clone().expect("alert");
    assert_eq!(first.text, second.text);
    assert_ne!(first.serial, second.serial);
    c.update(Input::DismissAlert);
    assert_eq!(c.alert, None);
}

#[test]
fn a_request_taken_by_someone_else_leaves_the_queue_and_refuses_our_accept() {
    let mut c = online(ann(), vec![summary("q", Stage::Queued, None, 1)]);
    assert_eq!(
        c.update(Input::Accept(conv("q"))),
        vec![Effect::Transmit(ConsoleFrame::Accept {
            conversation: conv("q")
        })]
    );
    upsert(&mut c, summary("q", Stage::Live, Some("bob"), 1));
    frame(
        &mut c,
        DeskFrame::refused(ConsoleError::Taken, "", Some(conv("q"))),
    );
    assert!(c.folder_ids(Folder::Queue).is_empty());
    assert!(c.alert.is_some());
    assert_eq!(c.chat, None);
    assert_eq!(c.accepting, None);
}

#[test]
fn an_accepted_request_opens_as_our_chat() {
    let mut c = online(ann(), vec![summary("q", Stage::Queued, None, 1)]);
    c.update(Input::Accept(conv("q")));
    let effects = upsert(&mut c, summary("q", Stage::Live, Some("ann"), 1));
    assert_eq!(
        effects,
        vec![Effect::Transmit(ConsoleFrame::Open {
            conversation: conv("q")
        })]
    );
    assert_eq!(c.folder, Folder::Live);
    assert_eq!(c.chat.as_ref().map(|ch| ch.id.clone()), Some(conv("q")));
}

#[test]
fn acting_while_disconnected_says_so() {
    let mut c = online(ann(), vec![summary("q", Stage::Queued, None, 1)]);
    c.update(Input::LinkClosed);
    assert!(c.update(Input::Accept(conv("q"))).is_empty());
    assert_eq!(
        c.alert.map(|a| a.text),
        Some(words::NOT_CONNECTED.to_string())
    );
}

#[test]
fn the_online_toggle_is_an_agents_only() {
    let mut c = online(ann(), vec![]);
    assert_eq!(
        c.update(Input::SetOnline(false)),
        vec![Effect::Transmit(ConsoleFrame::SetOnline { online: false })]
    );
    let mut admin = online(console_as(Who::Admin), vec![]);
    assert!(admin.update(Input::SetOnline(false)).is_empty());
}

// ---- search ----

#[test]
fn search_is_debounced_and_restricts_history_while_typed() {
    let mut c = online(
        ann(),
        vec![
            summary("h1", Stage::Ended, None, 1),
            summary("h2", Stage::Ended, None, 2),
        ],
    );
    assert_eq!(
        c.update(Input::SearchTyped(" ad".into())),
        vec![Effect::ScheduleSearch { query: "ad".into() }]
    );
    c.update(Input::SearchTyped(" ada ".into()));
    // The first debounce ran out, but the query moved on: nothing goes out.
    assert!(c.update(Input::SearchDue("ad".into())).is_empty());
    assert_eq!(
        c.update(Input::SearchDue("ada".into())),
        vec![Effect::Transmit(ConsoleFrame::Search {
            query: "ada".into()
        })]
    );
    // Before the answer, history is not restricted yet.
    assert_eq!(c.folder_ids(Folder::History).len(), 2);
    // A stale answer is ignored.
    frame(
        &mut c,
        DeskFrame::Found {
            query: "ad".into(),
            conversations: vec![],
        },
    );
    assert_eq!(c.folder_ids(Folder::History).len(), 2);
    frame(
        &mut c,
        DeskFrame::Found {
            query: "ada".into(),
            conversations: vec![conv("h1")],
        },
    );
    assert_eq!(c.folder_ids(Folder::History), vec![conv("h1")]);
    assert_eq!(c.count(Folder::History), 2);
    // Search only narrows history.
    c.update(Input::SearchTyped(String::new()));
    assert_eq!(c.folder_ids(Folder::History).len(), 2);
    assert_eq!(c.found, None);
}

#[test]
fn a_welcome_repeats_the_search() {
    let mut c = online(ann(), vec![]);
    c.update(Input::SearchTyped("ada".into()));
    c.update(Input::LinkClosed);
    c.update(Input::ReconnectDue);
    c.update(Input::LinkOpened { now_ms: T0 });
    let effects = frame(&mut c, welcome(T0, vec![]));
    assert!(effects.contains(&Effect::Transmit(ConsoleFrame::Search {
        query: "ada".into()
    })));
}

// ---- the open chat ----

#[test]
fn opening_asks_for_the_detail_and_events_follow_in_order_once() {
    let mut c = online(ann(), vec![summary("c1", Stage::Live, Some("ann"), 1)]);
    assert_eq!(
        c.update(Input::Open(conv("c1"))),
        vec![Effect::Transmit(ConsoleFrame::Open {
            conversation: conv("c1")
        })]
    );
    // An event before the detail is in the detail.
    frame(&mut c, message(1, AuthorKind::Visitor, "Ada", "early"));
    assert!(c.chat.as_ref().is_some_and(|ch| ch.events.is_empty()));
    frame(&mut c, detail(vec![record(1, "early")]));
    let chat = c.chat.clone().expect("open");
    assert!(chat.loaded);
    assert_eq!(chat.answers.len(), 1);
    frame(&mut c, message(1, AuthorKind::Visitor, "Ada", "again"));
    frame(&mut c, message(2, AuthorKind::Bot, "Bot", "second"));
    assert_eq!(c.chat.as_ref().map(|ch| ch.last_seq()), Some(Seq(2)));
    assert_eq!(c.chat.as_ref().map(|ch| ch.events.len()), Some(2));
    // Events of another conversation are not ours.
    frame(
        &mut c,
        DeskFrame::Event {
            conversation: conv("other"),
            seq: Seq(3),
            at_ms: T0,
            event: ConversationEvent::Missed {},
        },
    );
    assert_eq!(c.chat.as_ref().map(|ch| ch.events.len()), Some(2));
}

#[test]
fn a_gap_in_the_open_chat_asks_for_it_again() {
    let mut c = ann_chatting();
    assert_eq!(
        frame(
            &mut c,
            message(3, AuthorKind::Visitor, "Ada", "skipped one")
        ),
        vec![Effect::Transmit(ConsoleFrame::Open {
            conversation: conv("c1")
        })]
    );
    frame(
        &mut c,
        detail(vec![record(1, "a"), record(2, "b"), record(3, "c")]),
    );
    assert_eq!(c.chat.as_ref().map(|ch| ch.events.len()), Some(3));
}

#[test]
fn visitor_messages_are_announced_and_stop_their_typing() {
    let mut c = ann_chatting();
    frame(
        &mut c,
        DeskFrame::VisitorTyping {
            conversation: conv("c1"),
            typing: true,
        },
    );
    assert!(c.chat.as_ref().is_some_and(|ch| ch.visitor_typing));
    // The desk calls the visitor "You" (the widget's word); the console names them.
    frame(&mut c, message(2, AuthorKind::Visitor, "You", "Hello?"));
    assert!(c.chat.as_ref().is_some_and(|ch| !ch.visitor_typing));
    assert_eq!(
        c.announcement.map(|a| a.text),
        Some("New message from c1 Visitor: Hello?".into())
    );
}

#[test]
fn a_sent_message_is_pending_until_acked_and_its_event_arrives() {
    let mut c = ann_chatting();
    let effects = c.update(Input::Send {
        id: id("m1"),
        text: "  Hello Ada \n".into(),
    });
    assert_eq!(
        effects,
        vec![Effect::Transmit(ConsoleFrame::SendText {
            conversation: conv("c1"),
            id: id("m1"),
            text: "Hello Ada".into(),
        })]
    );
    assert_eq!(c.pending(&conv("c1")).count(), 1);
    frame(
        &mut c,
        DeskFrame::Ack {
            conversation: conv("c1"),
            id: id("m1"),
            seq: Seq(2),
        },
    );
    assert_eq!(c.pending(&conv("c1")).count(), 1);
    frame(&mut c, message(2, AuthorKind::Agent, "Ann", "Hello Ada"));
    assert_eq!(c.pending(&conv("c1")).count(), 0);
    // Blank text is not sent.
    assert!(
        c.update(Input::Send {
            id: id("m2"),
            text: " \n ".into()
        })
        .is_empty()
    );
}

#[test]
fn unacked_messages_are_resent_with_the_same_id_after_a_reconnect() {
    let mut c = ann_chatting();
    c.update(Input::LinkClosed);
    // Written while the link is down: kept, sent after the welcome.
    assert!(
        c.update(Input::Send {
            id: id("m1"),
            text: "still there?".into()
        })
        .is_empty()
    );
    c.update(Input::ReconnectDue);
    c.update(Input::LinkOpened { now_ms: T0 });
    let effects = frame(
        &mut c,
        welcome(T0, vec![summary("c1", Stage::Live, Some("ann"), 10)]),
    );
    assert_eq!(
        effects,
        vec![
            Effect::Transmit(ConsoleFrame::Open {
                conversation: conv("c1")
            }),
            Effect::Transmit(ConsoleFrame::SendText {
                conversation: conv("c1"),
                id: id("m1"),
                text: "still there?".into(),
            }),
        ]
    );
}

#[test]
fn others_chats_and_history_are_read_only() {
    let mut c = online(
        ann(),
        vec![
            summary("bobs", Stage::Live, Some("bob"), 1),
            summary("old", Stage::Ended, Some("ann"), 1),
        ],
    );
    assert!(!c.can_write(&conv("bobs")));
    assert!(!c.can_write(&conv("old")));
    c.update(Input::Open(conv("bobs")));
    assert!(
        c.update(Input::Send {
            id: id("m1"),
            text: "hi".into()
        })
        .is_empty()
    );
    assert!(c.outbox.is_empty());
    let admin = online(
        console_as(Who::Admin),
        vec![summary("bobs", Stage::Live, Some("bob"), 1)],
    );
    assert!(!admin.can_write(&conv("bobs")));
}

#[test]
fn a_chat_that_closes_drops_what_could_not_be_sent() {
    let mut c = ann_chatting();
    c.update(Input::Send {
        id: id("m1"),
        text: "bye".into(),
    });
    upsert(&mut c, summary("c1", Stage::Ended, Some("ann"), 10));
    assert_eq!(c.pending(&conv("c1")).count(), 0);
}

#[test]
fn typing_is_throttled_and_stops_when_idle_or_sent() {
    let mut c = ann_chatting();
    let typing = |typing| {
        vec![Effect::Transmit(ConsoleFrame::Typing {
            conversation: conv("c1"),
            typing,
        })]
    };
    assert_eq!(
        c.update(Input::Draft {
            empty: false,
            now_ms: T0
        }),
        typing(true)
    );
    assert!(
        c.update(Input::Draft {
            empty: false,
            now_ms: T0 + 2_000
        })
        .is_empty()
    );
    assert_eq!(
        c.update(Input::Draft {
            empty: false,
            now_ms: T0 + 3_000
        }),
        typing(true)
    );
    // 4 s without an edit: stopped.
    assert!(tick(&mut c, 6_000).is_empty());
    assert_eq!(tick(&mut c, 7_000), typing(false));
    assert!(tick(&mut c, 8_000).is_empty());
    // Sending stops it at once.
    c.update(Input::Draft {
        empty: false,
        now_ms: T0 + 9_000,
    });
    let effects = c.update(Input::Send {
        id: id("m1"),
        text: "hi".into(),
    });
    assert_eq!(effects[0], typing(false)[0]);
    // Clearing the draft stops it too.
    c.update(Input::Draft {
        empty: false,
        now_ms: T0 + 20_000,
    });
    assert_eq!(
        c.update(Input::Draft {
            empty: true,
            now_ms: T0 + 20_500
        }),
        typing(false)
    );
}

#[test]
fn nobody_types_into_a_chat_that_is_not_theirs() {
    let mut c = online(ann(), vec![summary("bobs", Stage::Live, Some("bob"), 1)]);
    c.update(Input::Open(conv("bobs")));
    assert!(
        c.update(Input::Draft {
            empty: false,
            now_ms: T0
        })
        .is_empty()
    );
}

// ---- words ----

#[test]
fn ratings_loads_and_system_lines_read_well() {
    assert_eq!(words::stars(4), "★★★★☆ 4/5");
    assert_eq!(words::stars(9), "★★★★★ 5/5");
    assert_eq!(words::load(1, 2), "1 / 2 chats");
    assert_eq!(words::load(0, 1), "0 / 1 chat");
    assert_eq!(
        words::system_line(&ConversationEvent::AgentJoined { name: "Ann".into() }),
        Some(("Ann joined.".into(), None))
    );
    assert_eq!(
        words::system_line(&ConversationEvent::MessageLeft {
            text: "<b>call me</b>".into()
        }),
        Some((
            "The visitor left a message:".into(),
            Some("<b>call me</b>".into())
        ))
    );
    assert_eq!(
        words::system_line(&ConversationEvent::ChatEnded {
            by: AuthorKind::Visitor
        })
        .map(|l| l.0),
        Some("The visitor ended the chat.".into())
    );
    assert_eq!(
        words::refusal(ConsoleError::NotAllowed, ""),
        "That is not possible right now."
    );
    assert_eq!(
        words::refusal(ConsoleError::Taken, "Ben already accepted this request"),
        "Someone else already accepted this request (Ben)."
    );
}
