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
        identity: None,
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

// ---- social channels ----

mod social {
    use super::*;
    use crate::state::channels::{Composer, story, web_address};
    use porchlight_protocol::channels::{
        ChannelFacts, CommentFacts, HOUR_MS, PlatformError, REPLY_WINDOW_MS,
    };
    use porchlight_protocol::console::StoryView;

    /// The mock's time when the customers below last wrote: the server runs this far
    /// ahead of the browser's [`T0`].
    const M0: u64 = 1_767_225_600_000;
    const DAY: u64 = 24 * HOUR_MS;

    fn info(id_: &str, kind: ChannelKind, templates: &[&str]) -> ChannelInfo {
        ChannelInfo {
            id: id(id_),
            kind,
            name: format!("{id_} channel"),
            templates: templates.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn channels() -> Vec<ChannelInfo> {
        vec![
            info("web", ChannelKind::Web, &[]),
            info("messenger", ChannelKind::Messenger, &[]),
            info("fb", ChannelKind::FacebookComments, &[]),
            info("wa", ChannelKind::Whatsapp, &["order_update", "follow_up"]),
            info("ig", ChannelKind::InstagramComments, &[]),
            info("tg", ChannelKind::Telegram, &[]),
        ]
    }

    fn on(channel: &str, name: &str, stage: Stage, facts: ChannelFacts) -> ConversationSummary {
        let agent = (stage == Stage::Live).then_some("ann");
        let mut s = summary(name, stage, agent, 1);
        s.channel = id(channel);
        s.facts = Some(facts);
        s
    }

    fn wrote(human_agent: bool) -> ChannelFacts {
        ChannelFacts {
            last_customer_ms: Some(M0),
            human_agent,
            comment: None,
        }
    }

    fn commented(post: &str) -> ChannelFacts {
        ChannelFacts {
            last_customer_ms: Some(M0),
            human_agent: false,
            comment: Some(CommentFacts {
                post: post.into(),
                comment: format!("{post}_1"),
                at_ms: M0,
                top_level: true,
                hidden: false,
                deleted: false,
                private_replied: false,
            }),
        }
    }

    /// Ann's console, the mock clock at [`M0`] while the browser's is at [`T0`].
    fn desk(conversations: Vec<ConversationSummary>) -> Console {
        let mut c = ann();
        c.update(Input::Frame {
            frame: DeskFrame::Welcome {
                version: PROTOCOL_VERSION,
                now_ms: M0,
                agent: Some(id("ann")),
                routing: RoutingMode::Broadcast,
                clock_offset_ms: 0,
                agents: vec![agent("Ann", true, 1)],
                channels: channels(),
                conversations,
            },
            now_ms: T0,
        });
        c
    }

    /// The composer of `conversation` `after` ms past the customer's last message.
    fn composer(c: &Console, conversation: &str, after: u64) -> Composer {
        c.composer(&conv(conversation), T0 + after)
            .expect("Ann's live chat")
    }

    fn open(c: &mut Console, conversation: &str) {
        c.update(Input::Open(conv(conversation)));
    }

    #[test]
    fn the_reply_window_counts_down_then_the_tag_then_closes() {
        let c = desk(vec![
            on("messenger", "m", Stage::Live, wrote(true)),
            on("messenger", "m-no-tag", Stage::Queued, wrote(false)),
            on("wa", "w", Stage::Connecting, wrote(false)),
            on("tg", "t", Stage::Live, wrote(false)),
            on("messenger", "old", Stage::Ended, wrote(true)),
        ]);
        let line = |id: &str, after: u64| c.window_line(&conv(id), T0 + after);
        assert_eq!(line("m", 0).as_deref(), Some("Reply window: 24:00:00 left"));
        assert_eq!(
            line("m", 18 * 60_000 + 53_000).as_deref(),
            Some("Reply window: 23:41:07 left")
        );
        assert_eq!(
            line("m", REPLY_WINDOW_MS - 1_000).as_deref(),
            Some("Reply window: 0:00:01 left")
        );
        assert_eq!(
            line("m", DAY + 2 * HOUR_MS).as_deref(),
            Some("Reply window closed; HUMAN_AGENT tag: 5 d 22 h left")
        );
        assert_eq!(line("m", 7 * DAY).as_deref(), Some("Reply window closed"));
        assert_eq!(
            line("m-no-tag", DAY).as_deref(),
            Some("Reply window closed")
        );
        assert_eq!(
            line("w", DAY + 60_000).as_deref(),
            Some("Reply window closed: templates only")
        );
        // No window on Telegram; none shown once a conversation is over.
        assert_eq!(line("t", 30 * DAY), None);
        assert_eq!(line("old", 0), None);
        // Rows show it where it is open.
        assert!(c.row(&conv("m"), Folder::Live).expect("row").window);
        assert!(!c.row(&conv("t"), Folder::Live).expect("row").window);
        assert!(!c.row(&conv("old"), Folder::History).expect("row").window);
        assert_eq!(
            c.row(&conv("m"), Folder::Live).expect("row").kind,
            ChannelKind::Messenger
        );
    }

    #[test]
    fn the_window_is_asked_at_the_servers_mock_time() {
        let mut c = desk(vec![on("messenger", "m", Stage::Live, wrote(true))]);
        assert_eq!(c.mock_clock(), None);
        // The mock clock moves 25 h ahead: the browser's clock has not moved.
        frame(
            &mut c,
            DeskFrame::Clock {
                now_ms: M0 + 25 * HOUR_MS,
                offset_ms: 25 * HOUR_MS,
            },
        );
        assert_eq!(c.mock_clock().as_deref(), Some("Mock time: +25 h 0 min"));
        assert_eq!(
            c.window_line(&conv("m"), T0).as_deref(),
            Some("Reply window closed; HUMAN_AGENT tag: 5 d 23 h left")
        );
        assert!(composer(&c, "m", 0).tagged);
        // A welcome says it too.
        c.update(Input::Frame {
            frame: DeskFrame::Welcome {
                version: PROTOCOL_VERSION,
                now_ms: M0 + 90 * 60_000,
                agent: Some(id("ann")),
                routing: RoutingMode::Broadcast,
                clock_offset_ms: 90 * 60_000,
                agents: vec![agent("Ann", true, 1)],
                channels: channels(),
                conversations: vec![],
            },
            now_ms: T0,
        });
        assert_eq!(c.mock_clock().as_deref(), Some("Mock time: +1 h 30 min"));
    }

    #[test]
    fn the_composer_allows_what_the_platform_does_and_says_why_not() {
        let c = desk(vec![
            on("messenger", "m", Stage::Live, wrote(true)),
            on("wa", "w", Stage::Live, wrote(false)),
            on("web", "site", Stage::Live, ChannelFacts::default()),
            on("messenger", "bens", Stage::Live, wrote(true)),
        ]);
        let inside = composer(&c, "m", 0);
        assert!(!inside.disabled && !inside.tagged && inside.why.is_none());
        assert!(inside.templates.is_empty() && !inside.comments);
        let tagged = composer(&c, "m", DAY + HOUR_MS);
        assert!(!tagged.disabled && tagged.tagged && tagged.why.is_none());
        let late = composer(&c, "m", 8 * DAY);
        assert!(late.disabled && !late.tagged);
        assert_eq!(
            late.why.as_deref(),
            Some(
                "The 24-hour reply window closed 7 d ago and the HUMAN_AGENT tag's 7 days ended 1 d ago, so Messenger does not allow free text."
            )
        );
        // WhatsApp: templates at any time, free text only inside the window.
        let w = composer(&c, "w", 0);
        assert!(!w.disabled);
        assert_eq!(w.templates, vec!["order_update", "follow_up"]);
        let w = composer(&c, "w", DAY + HOUR_MS);
        assert!(w.disabled && !w.tagged);
        assert_eq!(
            w.why.as_deref(),
            Some(
                "The 24-hour reply window closed 1 h ago, so WhatsApp does not allow free text. Send an approved template instead."
            )
        );
        assert_eq!(w.templates.len(), 2);
        // The web widget's chats have no rules; others' chats no composer.
        let site = composer(&c, "site", 100 * DAY);
        assert!(!site.disabled && site.why.is_none() && site.templates.is_empty());
        let mut bens = c.clone();
        let mut s = on("messenger", "bens", Stage::Live, wrote(true));
        s.agent = Some(id("bob"));
        upsert(&mut bens, s);
        assert_eq!(bens.composer(&conv("bens"), T0), None);
    }

    #[test]
    fn a_whatsapp_customer_who_never_wrote_cannot_be_written_to_first() {
        let c = desk(vec![on("wa", "w", Stage::Live, ChannelFacts::default())]);
        let w = composer(&c, "w", 0);
        assert!(w.disabled);
        let why = w.why.expect("why");
        assert!(
            why.contains("reply window") && why.contains("template"),
            "{why}"
        );
        assert_eq!(c.window_line(&conv("w"), T0), None);
    }

    #[test]
    fn templates_go_out_pending_and_again_after_a_reconnect() {
        let mut c = desk(vec![on("wa", "w", Stage::Live, wrote(false))]);
        open(&mut c, "w");
        let effects = c.update(Input::SendTemplate {
            id: id("t1"),
            template: "order_update".into(),
        });
        let sent = Effect::Transmit(ConsoleFrame::SendTemplate {
            conversation: conv("w"),
            id: id("t1"),
            template: "order_update".into(),
        });
        assert_eq!(effects, vec![sent.clone()]);
        assert_eq!(c.pending(&conv("w")).count(), 1);
        c.update(Input::LinkClosed);
        c.update(Input::ReconnectDue);
        c.update(Input::LinkOpened { now_ms: T0 });
        let effects = c.update(Input::Frame {
            frame: DeskFrame::Welcome {
                version: PROTOCOL_VERSION,
                now_ms: M0,
                agent: Some(id("ann")),
                routing: RoutingMode::Broadcast,
                clock_offset_ms: 0,
                agents: vec![agent("Ann", true, 1)],
                channels: channels(),
                conversations: vec![on("wa", "w", Stage::Live, wrote(false))],
            },
            now_ms: T0,
        });
        assert!(effects.contains(&sent), "{effects:?}");
    }

    #[test]
    fn comments_reply_publicly_or_privately_once_then_back_to_public() {
        let mut c = desk(vec![on("fb", "f", Stage::Live, commented("1047_55"))]);
        open(&mut c, "f");
        let first = composer(&c, "f", 0);
        assert!(first.comments && first.reply == ReplyKind::Public);
        assert!(!first.disabled && first.why.is_none());
        assert!(first.can_hide && first.can_delete && first.templates.is_empty());
        let public = c.update(Input::Send {
            id: id("p1"),
            text: "Yes".into(),
        });
        assert_eq!(
            public,
            vec![Effect::Transmit(ConsoleFrame::SendText {
                conversation: conv("f"),
                id: id("p1"),
                text: "Yes".into(),
            })]
        );
        c.update(Input::ReplyAs(ReplyKind::Private));
        assert_eq!(composer(&c, "f", 0).reply, ReplyKind::Private);
        let private = c.update(Input::Send {
            id: id("p2"),
            text: "Our recipe".into(),
        });
        assert_eq!(
            private,
            vec![Effect::Transmit(ConsoleFrame::PrivateReply {
                conversation: conv("f"),
                id: id("p2"),
                text: "Our recipe".into(),
            })]
        );
        // Each send returns to a public reply.
        assert_eq!(composer(&c, "f", 0).reply, ReplyKind::Public);
        // Once the private reply went, choosing another says why (the desk refuses it).
        let mut replied = commented("1047_55");
        if let Some(comment) = replied.comment.as_mut() {
            comment.private_replied = true;
        }
        upsert(&mut c, on("fb", "f", Stage::Live, replied));
        c.update(Input::ReplyAs(ReplyKind::Private));
        let again = composer(&c, "f", 0);
        assert!(!again.disabled);
        assert_eq!(
            again.why.as_deref(),
            Some(
                "Facebook does not allow this: Activity already replied to: a comment gets one private reply (code 10900)."
            )
        );
    }

    #[test]
    fn a_refused_send_is_said_with_the_platforms_code_and_never_shown_sent() {
        let mut c = desk(vec![on("fb", "f", Stage::Live, commented("1047_55"))]);
        open(&mut c, "f");
        c.update(Input::ReplyAs(ReplyKind::Private));
        c.update(Input::Send {
            id: id("p1"),
            text: "One more thing".into(),
        });
        assert_eq!(c.pending(&conv("f")).count(), 1);
        frame(
            &mut c,
            DeskFrame::Refused {
                code: ConsoleError::Platform,
                message: "the platform refused".into(),
                conversation: Some(conv("f")),
                platform: Some(PlatformError {
                    status: 400,
                    code: 10_900,
                    error_subcode: None,
                    message: "Activity already replied to: a comment gets one private reply".into(),
                }),
            },
        );
        assert_eq!(c.pending(&conv("f")).count(), 0);
        assert_eq!(
            c.alert.map(|a| a.text).as_deref(),
            Some(
                "Facebook refused this: Activity already replied to: a comment gets one private reply (code 10900). Nothing was sent."
            )
        );
    }

    #[test]
    fn a_late_messenger_send_refused_names_its_subcode() {
        let mut c = desk(vec![on("messenger", "m", Stage::Live, wrote(false))]);
        open(&mut c, "m");
        frame(
            &mut c,
            DeskFrame::Refused {
                code: ConsoleError::Platform,
                message: String::new(),
                conversation: Some(conv("m")),
                platform: Some(PlatformError {
                    status: 400,
                    code: 10,
                    error_subcode: Some(2_018_278),
                    message: "This message is sent outside of allowed window".into(),
                }),
            },
        );
        assert_eq!(
            c.alert.map(|a| a.text).as_deref(),
            Some(
                "Facebook refused this: This message is sent outside of allowed window (code 10, subcode 2018278). Nothing was sent."
            )
        );
    }

    #[test]
    fn comments_are_hidden_and_deleted_and_a_deleted_one_takes_nothing() {
        let mut c = desk(vec![
            on("fb", "f", Stage::Live, commented("p")),
            on("messenger", "m", Stage::Live, wrote(false)),
        ]);
        open(&mut c, "f");
        assert_eq!(
            c.update(Input::HideComment),
            vec![Effect::Transmit(ConsoleFrame::HideComment {
                conversation: conv("f")
            })]
        );
        assert_eq!(
            c.update(Input::DeleteComment),
            vec![Effect::Transmit(ConsoleFrame::DeleteComment {
                conversation: conv("f")
            })]
        );
        let mut hidden = commented("p");
        if let Some(comment) = hidden.comment.as_mut() {
            comment.hidden = true;
        }
        upsert(&mut c, on("fb", "f", Stage::Live, hidden.clone()));
        let after_hide = composer(&c, "f", 0);
        assert!(!after_hide.can_hide && after_hide.can_delete && !after_hide.disabled);
        if let Some(comment) = hidden.comment.as_mut() {
            comment.deleted = true;
        }
        upsert(&mut c, on("fb", "f", Stage::Live, hidden));
        let gone = composer(&c, "f", 0);
        assert!(gone.disabled && !gone.can_hide && !gone.can_delete);
        assert_eq!(
            gone.why.as_deref(),
            Some("The comment was deleted, so nothing more can be sent about it.")
        );
        // Not a comment: nothing to hide.
        open(&mut c, "m");
        assert!(c.update(Input::HideComment).is_empty());
    }

    #[test]
    fn instagram_answers_only_top_level_visible_comments_in_public() {
        let mut facts = commented("reel");
        if let Some(comment) = facts.comment.as_mut() {
            comment.hidden = true;
        }
        let mut c = desk(vec![on("ig", "i", Stage::Live, facts)]);
        open(&mut c, "i");
        let public = composer(&c, "i", 0);
        // A private reply is still possible, so the textbox stays; the reason shows.
        assert!(!public.disabled);
        let why = public.why.expect("why");
        assert!(
            why.starts_with("Instagram does not allow this: Replies are allowed only to top-level"),
            "{why}"
        );
        c.update(Input::ReplyAs(ReplyKind::Private));
        assert_eq!(composer(&c, "i", 0).why, None);
    }

    #[test]
    fn the_post_filter_narrows_the_queue_and_history_to_one_posts_comments() {
        let mut c = desk(vec![
            on("fb", "a", Stage::Queued, commented("1047_55")),
            on("fb", "b", Stage::Queued, commented("1047_77")),
            on("ig", "c", Stage::Queued, commented("1047_55")),
            on("messenger", "d", Stage::Queued, wrote(false)),
            on("fb", "e", Stage::Live, commented("1047_99")),
            on("fb", "h", Stage::Ended, commented("1047_12")),
        ]);
        assert_eq!(c.posts(Folder::Queue), vec!["1047_55", "1047_77"]);
        assert_eq!(c.posts(Folder::History), vec!["1047_12"]);
        assert!(c.posts(Folder::Engaged).is_empty());
        c.update(Input::FilterPost(Some("1047_55".into())));
        assert_eq!(c.folder_ids(Folder::Queue), vec![conv("a"), conv("c")]);
        assert!(c.folder_ids(Folder::History).is_empty());
        // Filtered on, a post stays an option even where it has no rows.
        assert_eq!(c.posts(Folder::History), vec!["1047_12", "1047_55"]);
        // It does not apply to live chats; with the channel filter both must hold.
        assert_eq!(c.folder_ids(Folder::Live), vec![conv("e")]);
        c.update(Input::FilterChannel(Some(id("fb"))));
        assert_eq!(c.folder_ids(Folder::Queue), vec![conv("a")]);
        c.update(Input::FilterPost(None));
        assert_eq!(c.folder_ids(Folder::Queue), vec![conv("a"), conv("b")]);
    }

    #[test]
    fn customers_are_simulated_on_social_channels_only() {
        let mut c = desk(vec![]);
        assert_eq!(
            c.simulated_channels()
                .iter()
                .map(|ch| ch.id.to_string())
                .collect::<Vec<_>>(),
            vec!["messenger", "fb", "wa", "ig", "tg"]
        );
        assert_eq!(
            c.update(Input::Simulate {
                channel: id("tg"),
                name: " Jonas ".into(),
                text: "Hello\n".into(),
            }),
            vec![Effect::Transmit(ConsoleFrame::Simulate {
                channel: id("tg"),
                name: "Jonas".into(),
                text: "Hello".into(),
            })]
        );
        for (channel, name, text) in [
            ("web", "Ada", "Hi"),
            ("tg", " ", "Hi"),
            ("tg", "Jonas", " "),
        ] {
            assert!(
                c.update(Input::Simulate {
                    channel: id(channel),
                    name: name.into(),
                    text: text.into(),
                })
                .is_empty(),
                "{channel} {name:?} {text:?}"
            );
        }
    }

    #[test]
    fn stories_link_while_they_live_and_only_to_web_addresses() {
        let live = story(&StoryView {
            mention: true,
            url: Some("https://cdn.example/story/1.jpg".into()),
        });
        assert_eq!(
            live.link.as_deref(),
            Some("https://cdn.example/story/1.jpg")
        );
        assert_eq!(live.about, "They mentioned you in their story.");
        assert_eq!(live.placeholder, None);
        let gone = story(&StoryView {
            mention: false,
            url: None,
        });
        assert_eq!(gone.link, None);
        assert_eq!(
            gone.placeholder,
            Some("The story is no longer available (stories expire after 24 hours).")
        );
        assert_eq!(gone.about, "They replied to your story.");
        let sneaky = story(&StoryView {
            mention: false,
            url: Some("javascript:alert(1)".into()),
        });
        assert_eq!(sneaky.link, None);
        assert_eq!(
            web_address(" HTTP://x.example/a "),
            Some("HTTP://x.example/a")
        );
        assert_eq!(web_address("data:text/html,hi"), None);
        assert_eq!(web_address("no scheme"), None);
    }

    #[test]
    fn durations_and_the_comment_state_read_well() {
        use crate::state::words::{comment_state, hms, mock_clock, span};
        assert_eq!(hms(0), "0:00:00");
        assert_eq!(hms(DAY), "24:00:00");
        assert_eq!(span(6 * DAY + 22 * HOUR_MS + 59 * 60_000), "6 d 22 h");
        assert_eq!(span(8 * DAY), "8 d");
        assert_eq!(span(HOUR_MS + 5 * 60_000), "1 h 5 min");
        assert_eq!(span(HOUR_MS), "1 h");
        assert_eq!(span(12 * 60_000 + 59_000), "12 min");
        assert_eq!(span(59_000), "less than a minute");
        assert_eq!(mock_clock(0), None);
        assert_eq!(
            mock_clock(7 * DAY + 25 * HOUR_MS).as_deref(),
            Some("Mock time: +193 h 0 min")
        );
        let mut facts = commented("1047_55");
        let comment = facts.comment.as_mut().expect("comment");
        assert_eq!(
            comment_state(comment),
            "Comment on post 1047_55: visible; no private reply yet."
        );
        comment.hidden = true;
        comment.private_replied = true;
        assert_eq!(
            comment_state(comment),
            "Comment on post 1047_55: hidden from everyone but its author; private reply sent."
        );
        comment.deleted = true;
        assert_eq!(
            comment_state(comment),
            "Comment on post 1047_55: deleted; private reply sent."
        );
    }
}
