//! Every transition of the conversation machine, natively.
use super::*;
use porchlight_protocol::{Author, ErrorCode, FieldKind, FieldName, Replay, lean};

fn offline() -> Error {
    Error::Unreachable { url: "/x".into() }
}

fn site() -> SiteId {
    SiteId::new("demo").expect("id")
}
fn token(s: &str) -> SessionToken {
    SessionToken::new(s).expect("id")
}
fn mid(s: &str) -> MessageId {
    MessageId::new(s).expect("id")
}
fn rid(s: &str) -> RequestId {
    RequestId::new(s).expect("id")
}
fn cid(s: &str) -> ChoiceId {
    ChoiceId::new(s).expect("id")
}
fn fname(s: &str) -> FieldName {
    FieldName::new(s).expect("id")
}
fn frame(frame: ServerFrame) -> Input {
    Input::Frame { frame, now_ms: 0 }
}
fn frame_at(frame: ServerFrame, now_ms: u64) -> Input {
    Input::Frame { frame, now_ms }
}
fn welcome_with(t: &str, conversation: &str, last_seq: u64, replay: Replay) -> Input {
    frame(ServerFrame::Welcome {
        version: 1,
        token: token(t),
        conversation: ConversationId::new(conversation).expect("id"),
        last_seq: Seq(last_seq),
        replay,
    })
}
fn record(seq: u64, text: &str) -> EventRecord {
    let Input::Frame {
        frame: ServerFrame::Event { seq, at_ms, event },
        ..
    } = event(seq, None, text)
    else {
        unreachable!("event() makes an event frame")
    };
    EventRecord { seq, at_ms, event }
}
fn c1() -> ConversationId {
    ConversationId::new("c1").expect("id")
}
fn welcome_to(t: &str, conversation: &str) -> Input {
    welcome_with(t, conversation, 0, Replay::Socket)
}
fn ack(id: &str, seq: u64) -> Input {
    frame(ServerFrame::Ack {
        id: mid(id),
        seq: Seq(seq),
    })
}
/// The frame that sends visitor message `id`.
fn text_frame(id: &str, text: &str) -> Effect {
    Effect::Transmit(ClientFrame::SendText {
        id: mid(id),
        text: text.into(),
    })
}
fn welcome(t: &str) -> Input {
    welcome_to(t, "c1")
}
fn status(status: ChatStatus) -> Input {
    frame(ServerFrame::Status { status })
}
fn lifecycle(seq: u64, event: ConversationEvent) -> Input {
    frame(ServerFrame::Event {
        seq: Seq(seq),
        at_ms: 0,
        event,
    })
}
fn said(seq: u64, kind: AuthorKind, id: Option<&str>, text: &str) -> Input {
    lifecycle(
        seq,
        ConversationEvent::MessageReceived {
            id: id.map(mid),
            author: Author {
                kind,
                name: "Ann".into(),
            },
            text: text.into(),
            choices: vec![],
        },
    )
}
fn event(seq: u64, id: Option<&str>, text: &str) -> Input {
    let kind = if id.is_some() {
        AuthorKind::Visitor
    } else {
        AuthorKind::Bot
    };
    said(seq, kind, id, text)
}
fn bot_offers(seq: u64, choices: &[(&str, &str)]) -> Input {
    lifecycle(
        seq,
        ConversationEvent::MessageReceived {
            id: None,
            author: Author {
                kind: AuthorKind::Bot,
                name: "Bot".into(),
            },
            text: "Pick one".into(),
            choices: choices
                .iter()
                .map(|(id, label)| Choice {
                    id: cid(id),
                    label: (*label).into(),
                })
                .collect(),
        },
    )
}
fn online() -> Widget {
    let mut w = Widget::new(site(), None);
    w.update(Input::Open);
    w.update(Input::LinkOpened);
    w.update(welcome("t1"));
    w
}
fn in_status(s: ChatStatus) -> Widget {
    let mut w = online();
    w.update(status(s));
    w
}
fn in_bot_phase() -> Widget {
    in_status(ChatStatus::Bot {})
}
fn queued(position: u32, waited_ms: u64) -> ChatStatus {
    ChatStatus::Queued {
        position,
        waited_ms,
    }
}
fn live() -> ChatStatus {
    ChatStatus::Live {
        agent: "Ann".into(),
    }
}
fn field(name: &str, kind: FieldKind, required: bool) -> FormField {
    FormField {
        name: fname(name),
        label: name.to_uppercase(),
        kind,
        required,
        max_length: None,
        options: Vec::new(),
    }
}
fn with_form(mut w: Widget) -> Widget {
    w.update(Input::Configured {
        bot_enabled: true,
        prechat: vec![
            field("name", FieldKind::Text, true),
            field("email", FieldKind::Email, true),
        ],
        identity_required: false,
        sound: false,
    });
    w
}
fn answers(pairs: &[(&str, &str)]) -> Answers {
    pairs
        .iter()
        .map(|(k, v)| (fname(k), (*v).to_string()))
        .collect()
}
fn good_answers() -> Answers {
    answers(&[("name", "Ada"), ("email", "ada@example.com")])
}
fn request_agent(request: &str, answers: Answers) -> Effect {
    Effect::Transmit(ClientFrame::RequestAgent {
        request: rid(request),
        answers,
    })
}
fn texts(w: &Widget) -> Vec<&str> {
    w.events
        .iter()
        .filter_map(|r| match &r.event {
            ConversationEvent::MessageReceived { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
fn send(w: &mut Widget, id: &str, text: &str) -> Vec<Effect> {
    w.update(Input::Send {
        id: mid(id),
        text: text.into(),
    })
}
fn past(conversation: &str) -> PastConversation {
    PastConversation {
        conversation: ConversationId::new(conversation).expect("id"),
        started_ms: 0,
        events: Vec::new(),
    }
}

// The link and delivery.

#[test]
fn opening_the_panel_connects_once() {
    let mut w = Widget::new(site(), None);
    assert_eq!(
        w.update(Input::Open),
        vec![Effect::PanelChanged { open: true }, Effect::Connect]
    );
    assert_eq!(w.link, LinkState::Connecting);
    w.update(Input::Close);
    assert_eq!(
        w.update(Input::Open),
        vec![Effect::PanelChanged { open: true }]
    );
}

#[test]
fn toggle_flips_and_repeated_close_does_nothing() {
    let mut w = Widget::new(site(), None);
    w.update(Input::Toggle);
    assert!(w.open);
    w.update(Input::Toggle);
    assert!(!w.open);
    assert_eq!(w.update(Input::Close), vec![]);
}

#[test]
fn an_open_socket_says_hello_with_token_conversation_and_last_seq() {
    let mut w = Widget::new(site(), Some(token("t1")));
    w.conversation = Some(ConversationId::new("c1").expect("id"));
    w.last_seq = Seq(4);
    assert_eq!(
        w.update(Input::LinkOpened),
        vec![Effect::Transmit(ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            site: site(),
            token: Some(token("t1")),
            conversation: Some(ConversationId::new("c1").expect("id")),
            last_seq: Seq(4),
        })]
    );
}

#[test]
fn welcome_with_a_new_token_saves_it_and_goes_online() {
    let mut w = Widget::new(site(), None);
    w.update(Input::Open);
    let effects = w.update(welcome("t1"));
    assert_eq!(effects, vec![Effect::SaveToken(token("t1"))]);
    assert_eq!(w.link, LinkState::Online);
}

#[test]
fn welcome_resuming_the_same_token_saves_nothing() {
    let mut w = Widget::new(site(), Some(token("t1")));
    assert_eq!(w.update(welcome("t1")), vec![]);
}

#[test]
fn welcome_to_a_different_session_forgets_the_old_transcript() {
    let mut w = online();
    w.update(event(1, None, "old"));
    w.update(welcome("t2"));
    assert!(w.events.is_empty());
    assert_eq!(w.last_seq, Seq(0));
}

#[test]
fn welcome_to_another_conversation_forgets_messages_outbox_and_status() {
    let mut w = in_status(ChatStatus::Ended { rated: true });
    w.update(event(1, None, "old"));
    w.update(Input::LinkClosed);
    send(&mut w, "m1", "unsent");
    w.update(welcome_to("t1", "c2"));
    assert!(w.events.is_empty());
    assert!(w.outbox.is_empty());
    assert_eq!(w.last_seq, Seq(0));
    assert_eq!(w.phase(), Phase::Starting);
    assert_eq!(w.conversation, Some(ConversationId::new("c2").expect("id")));
}

#[test]
fn welcome_to_the_same_conversation_keeps_what_is_held() {
    let mut w = online();
    w.update(event(1, None, "kept"));
    w.update(Input::LinkClosed);
    w.update(welcome_with("t1", "c1", 1, Replay::Socket));
    assert_eq!(texts(&w), vec!["kept"]);
    assert_eq!(w.last_seq, Seq(1));
}

#[test]
fn a_server_with_a_shorter_history_is_read_again_and_our_lost_messages_resent() {
    let mut w = online();
    w.update(event(1, None, "a"));
    send(&mut w, "m1", "mine");
    w.update(ack("m1", 2));
    w.update(event(2, Some("m1"), "mine"));
    w.update(event(3, None, "b"));
    assert!(w.outbox.is_empty());
    w.update(Input::LinkClosed);
    // Restarted on an older copy of its database: it holds only seq 1.
    let effects = w.update(welcome_with("t1", "c1", 1, Replay::Socket));
    assert!(effects.contains(&text_frame("m1", "mine")), "{effects:?}");
    assert_eq!(w.last_seq, Seq(0));
    assert!(texts(&w).is_empty(), "read again from the start");
    // The replay from seq 1, then our message stored anew: each shown once.
    w.update(event(1, None, "a"));
    w.update(ack("m1", 2));
    w.update(event(2, Some("m1"), "mine"));
    assert_eq!(texts(&w), vec!["a", "mine"]);
    assert!(w.outbox.is_empty());
}

#[test]
fn events_are_taken_once_in_order() {
    let mut w = online();
    w.update(event(1, None, "a"));
    w.update(event(2, None, "b"));
    w.update(event(2, None, "b"));
    w.update(event(1, None, "a"));
    assert_eq!(texts(&w), vec!["a", "b"]);
    assert_eq!(w.last_seq, Seq(2));
}

#[test]
fn a_gap_reopens_the_link_and_keeps_nothing_past_it() {
    let mut w = online();
    w.update(event(1, None, "a"));
    assert_eq!(w.update(event(3, None, "c")), vec![Effect::Connect]);
    assert_eq!(texts(&w), vec!["a"]);
}

#[test]
fn a_welcome_that_replays_over_http_fetches_after_what_is_held() {
    let mut w = online();
    w.update(event(1, None, "a"));
    w.update(Input::LinkClosed);
    let effects = w.update(welcome_with("t1", "c1", 9, Replay::Http));
    assert_eq!(
        effects,
        vec![Effect::FetchTranscript {
            token: token("t1"),
            conversation: c1(),
            after: Seq(1),
        }]
    );
    assert_eq!(w.rereading, Some(Seq(9)));
}

#[test]
fn live_events_during_an_http_reread_wait_and_nothing_shows_twice() {
    let mut w = online();
    w.update(event(1, None, "a"));
    w.update(welcome_with("t1", "c1", 3, Replay::Http));
    // Live events past the gap arrive first (one twice); they are held back, not a gap.
    assert_eq!(w.update(event(5, None, "e")), vec![]);
    assert_eq!(w.update(event(4, None, "d")), vec![]);
    assert_eq!(w.update(event(4, None, "d")), vec![]);
    assert_eq!(texts(&w), vec!["a"]);
    // The HTTP answer overlaps what is held and what waits.
    let records = vec![
        record(1, "a"),
        record(2, "b"),
        record(3, "c"),
        record(4, "d"),
    ];
    let effects = w.update(Input::TranscriptLoaded {
        conversation: c1(),
        result: Ok(records),
    });
    // Only the host is told (each new bot message, and how far the visitor has seen).
    assert!(effects.iter().all(|e| matches!(
        e,
        Effect::Host(HostEvent::Message { .. }) | Effect::SaveSeen(..)
    )));
    assert_eq!(texts(&w), vec!["a", "b", "c", "d", "e"]);
    assert_eq!(w.last_seq, Seq(5));
    assert_eq!(w.rereading, None);
    assert!(w.held_back.is_empty());
}

#[test]
fn a_failed_http_reread_reopens_the_link() {
    let mut w = online();
    w.update(welcome_with("t1", "c1", 3, Replay::Http));
    let effects = w.update(Input::TranscriptLoaded {
        conversation: c1(),
        result: Err(offline()),
    });
    assert_eq!(effects, vec![Effect::Connect]);
    assert_eq!(w.rereading, None);
}

#[test]
fn a_transcript_for_another_conversation_is_ignored() {
    let mut w = online();
    w.update(welcome_with("t1", "c1", 3, Replay::Http));
    let other = ConversationId::new("c9").expect("id");
    w.update(Input::TranscriptLoaded {
        conversation: other,
        result: Ok(vec![record(1, "x")]),
    });
    assert!(w.events.is_empty());
    assert_eq!(w.rereading, Some(Seq(3)));
}

#[test]
fn a_lost_session_starts_over_and_resends_every_waiting_message() {
    let mut w = online();
    w.update(event(1, None, "old"));
    send(&mut w, "m1", "acked");
    w.update(ack("m1", 2));
    w.update(Input::LinkClosed);
    send(&mut w, "m2", "unsent");
    let effects = w.update(welcome_with("t2", "c2", 1, Replay::Lost));
    assert!(
        w.events.is_empty(),
        "nothing of the lost conversation stays"
    );
    assert_eq!(w.last_seq, Seq(0));
    assert!(w.session_lost);
    assert_eq!(
        effects,
        vec![
            Effect::SaveToken(token("t2")),
            text_frame("m1", "acked"),
            text_frame("m2", "unsent"),
        ]
    );
    assert!(w.outbox.iter().all(|o| o.acked.is_none()));
    // The notice stays until the visitor writes again.
    w.update(status(ChatStatus::Bot {}));
    assert!(w.session_lost);
    send(&mut w, "m3", "hello again");
    assert!(!w.session_lost);
}

#[test]
fn at_most_ten_messages_are_on_their_way_and_each_ack_lets_the_next_go() {
    let mut w = in_bot_phase();
    let sent: usize = (0..12)
        .map(|i| send(&mut w, &format!("m{i}"), "hi").len())
        .sum();
    assert_eq!(sent, IN_FLIGHT_LIMIT, "two wait for room");
    let next = w.update(ack("m0", 1));
    assert_eq!(next, vec![text_frame("m10", "hi")]);
    // A reconnect sends the unacked, oldest first, ten at most.
    w.update(Input::LinkClosed);
    let resent = w.update(welcome("t1"));
    assert_eq!(resent.len(), IN_FLIGHT_LIMIT);
    assert_eq!(resent[0], text_frame("m1", "hi"));
}

#[test]
fn refused_for_rate_the_unacked_go_again_at_the_next_heartbeat() {
    let mut w = in_bot_phase();
    send(&mut w, "m1", "one");
    send(&mut w, "m2", "two");
    w.update(ack("m1", 1));
    assert_eq!(w.update(Input::Heartbeat { now_ms: 1 }), vec![]);
    w.update(frame(ServerFrame::error(
        ErrorCode::RateLimited,
        "slow down",
    )));
    assert_eq!(w.notice, Some(Notice::RateLimited));
    assert_eq!(
        w.update(Input::Heartbeat { now_ms: 2 }),
        vec![text_frame("m2", "two")]
    );
}

#[test]
fn refused_for_storage_the_unacked_go_again_at_the_next_heartbeat() {
    let mut w = in_bot_phase();
    send(&mut w, "m1", "one");
    assert_eq!(w.update(Input::Heartbeat { now_ms: 1 }), vec![]);
    w.update(frame(ServerFrame::error(
        ErrorCode::Unavailable,
        "cannot store",
    )));
    assert_eq!(
        w.update(Input::Heartbeat { now_ms: 2 }),
        vec![text_frame("m1", "one")]
    );
    assert_eq!(
        w.notice,
        Some(Notice::Unavailable),
        "the visitor is told why it waits, in the site's words"
    );
    w.update(event(1, Some("m1"), "one"));
    assert_eq!(w.notice, None, "and the notice goes once it has arrived");
}

#[test]
fn each_waiting_message_shows_how_far_it_got() {
    let mut w = in_bot_phase();
    send(&mut w, "m1", "one");
    send(&mut w, "m2", "two");
    w.update(ack("m1", 1));
    let states = |w: &Widget| -> Vec<Delivery> { w.outbox.iter().map(|o| w.delivery(o)).collect() };
    assert_eq!(states(&w), vec![Delivery::Sent, Delivery::Sending]);
    w.update(Input::LinkClosed);
    assert_eq!(states(&w), vec![Delivery::Sent, Delivery::Retrying]);
}

#[test]
fn the_saved_outbox_is_restored_before_the_link_and_resent_after_welcome() {
    let mut first = in_bot_phase();
    send(&mut first, "m1", "one");
    send(&mut first, "m2", "two");
    let saved = first.saved_outbox().expect("two messages wait");
    assert_eq!(saved.conversation, c1());
    // A reload: the stored outbox comes back into a fresh widget.
    let mut w = Widget::new(site(), Some(token("t1")));
    w.update(Input::Restored(saved));
    w.update(Input::Open);
    let hello = w.update(Input::LinkOpened);
    assert_eq!(
        hello,
        vec![Effect::Transmit(ClientFrame::Hello {
            version: 1,
            site: site(),
            token: Some(token("t1")),
            conversation: Some(c1()),
            last_seq: Seq(0),
        })]
    );
    let resent = w.update(welcome("t1"));
    assert_eq!(resent.len(), 2);
    // The replay brings m1 back as stored: it leaves the outbox, m2 stays.
    w.update(event(1, Some("m1"), "one"));
    assert_eq!(
        w.outbox.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        vec!["m2"]
    );
    assert_eq!(texts(&w), vec!["one"]);
}

#[test]
fn a_restored_outbox_of_a_conversation_since_closed_is_dropped() {
    let mut first = in_bot_phase();
    send(&mut first, "m1", "one");
    let saved = first.saved_outbox().expect("one message waits");
    let mut w = Widget::new(site(), Some(token("t1")));
    w.update(Input::Restored(saved));
    w.update(welcome_to("t1", "c2"));
    assert!(w.outbox.is_empty());
}

#[test]
fn an_empty_outbox_saves_nothing_and_a_restore_after_start_is_ignored() {
    let w = online();
    assert_eq!(w.saved_outbox(), None);
    let mut busy = in_bot_phase();
    send(&mut busy, "m1", "mine");
    let saved = SavedOutbox {
        conversation: ConversationId::new("c7").expect("id"),
        messages: vec![],
    };
    busy.update(Input::Restored(saved));
    assert_eq!(busy.conversation, Some(c1()));
}

#[test]
fn lifecycle_events_are_kept_in_the_transcript_in_order() {
    let mut w = online();
    w.update(lifecycle(1, ConversationEvent::AgentRequested {}));
    w.update(lifecycle(
        2,
        ConversationEvent::AgentJoined { name: "Ann".into() },
    ));
    w.update(lifecycle(
        3,
        ConversationEvent::ChatEnded {
            by: AuthorKind::Agent,
        },
    ));
    let seqs: Vec<u64> = w.events.iter().map(|r| r.seq.0).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(
        w.events[1].event,
        ConversationEvent::AgentJoined { name: "Ann".into() }
    );
}

#[test]
fn sending_online_transmits_and_waits_in_the_outbox() {
    let mut w = online();
    let effects = send(&mut w, "m1", "  hi  ");
    assert_eq!(effects, vec![text_frame("m1", "hi")]);
    assert_eq!(w.outbox.len(), 1);
}

#[test]
fn empty_messages_are_not_sent() {
    let mut w = online();
    assert_eq!(send(&mut w, "m1", " \n "), vec![]);
    assert!(w.outbox.is_empty());
}

#[test]
fn the_same_id_is_queued_once() {
    let mut w = online();
    send(&mut w, "m1", "hi");
    assert_eq!(send(&mut w, "m1", "hi"), vec![]);
    assert_eq!(w.outbox.len(), 1);
}

#[test]
fn ack_marks_the_message_and_its_event_moves_it_to_the_transcript() {
    let mut w = online();
    send(&mut w, "m1", "hi");
    w.update(ack("m1", 1));
    assert_eq!(w.outbox[0].acked, Some(Seq(1)));
    w.update(event(1, Some("m1"), "hi"));
    assert!(w.outbox.is_empty());
    assert_eq!(texts(&w), vec!["hi"]);
}

#[test]
fn sending_while_offline_connects_and_welcome_resends_the_outbox() {
    let mut w = Widget::new(site(), None);
    assert_eq!(send(&mut w, "m1", "hi"), vec![Effect::Connect]);
    w.update(Input::LinkOpened);
    let effects = w.update(welcome("t1"));
    assert_eq!(
        effects,
        vec![Effect::SaveToken(token("t1")), text_frame("m1", "hi")]
    );
}

#[test]
fn a_dropped_link_schedules_reconnects_with_growing_attempts() {
    let mut w = online();
    assert_eq!(
        w.update(Input::LinkClosed),
        vec![Effect::ScheduleReconnect { attempt: 1 }]
    );
    assert_eq!(w.update(Input::ReconnectDue), vec![Effect::Connect]);
    assert_eq!(
        w.update(Input::LinkClosed),
        vec![Effect::ScheduleReconnect { attempt: 2 }]
    );
    w.update(Input::ReconnectDue);
    w.update(welcome("t1"));
    assert_eq!(w.attempts, 0);
}

#[test]
fn a_reconnect_due_while_online_does_nothing() {
    let mut w = online();
    assert_eq!(w.update(Input::ReconnectDue), vec![]);
}

#[test]
fn server_errors_are_shown_until_the_next_welcome() {
    let mut w = online();
    w.update(frame(ServerFrame::error(
        ErrorCode::InvalidText,
        "the message is empty",
    )));
    assert_eq!(
        w.notice,
        Some(Notice::Server("the message is empty".into()))
    );
    w.update(welcome("t1"));
    assert_eq!(w.notice, None);
}

// Status and phases.

#[test]
fn the_phase_is_starting_until_the_first_status() {
    assert_eq!(online().phase(), Phase::Starting);
    assert_eq!(in_bot_phase().phase(), Phase::Bot);
}

#[test]
fn each_status_maps_to_its_phase() {
    let cases = [
        (queued(2, 0), Phase::Waiting),
        (ChatStatus::Connecting { waited_ms: 0 }, Phase::Waiting),
        (live(), Phase::Live),
        (ChatStatus::Missed {}, Phase::Missed),
        (ChatStatus::MessageLeft {}, Phase::MessageLeft),
        (ChatStatus::Ended { rated: false }, Phase::Rating),
        (ChatStatus::Ended { rated: true }, Phase::Ended),
    ];
    for (s, phase) in cases {
        assert_eq!(in_status(s.clone()).phase(), phase, "{s:?}");
    }
}

#[test]
fn the_composer_is_open_while_talking_or_waiting_and_closed_after() {
    let open: Vec<bool> = [
        Phase::Starting,
        Phase::Bot,
        Phase::PreChat,
        Phase::Waiting,
        Phase::Live,
        Phase::Missed,
        Phase::MessageLeft,
        Phase::Rating,
        Phase::Ended,
    ]
    .iter()
    .map(|p| p.composer())
    .collect();
    assert_eq!(
        open,
        vec![true, true, false, true, true, false, false, false, false]
    );
}

#[test]
fn messages_are_not_sent_once_the_chat_is_over() {
    let mut w = in_status(ChatStatus::Ended { rated: false });
    assert_eq!(send(&mut w, "m1", "hello?"), vec![]);
    assert!(w.outbox.is_empty());
}

#[test]
fn the_wait_clock_counts_from_the_servers_figure_plus_local_time_since_it_arrived() {
    let mut w = online();
    w.update(frame_at(
        ServerFrame::Status {
            status: queued(3, 5_000),
        },
        1_000_000,
    ));
    assert_eq!(w.waited_ms(1_000_000), Some(5_000));
    assert_eq!(w.waited_ms(1_060_000), Some(65_000));
    assert_eq!(w.waited_ms(999_000), Some(5_000), "a clock going back");
    w.update(status(live()));
    assert_eq!(w.waited_ms(1_060_000), None);
}

// Quick replies.

#[test]
fn the_newest_bot_messages_choices_are_offered_in_the_bot_phase() {
    let mut w = in_bot_phase();
    w.update(bot_offers(1, &[("price", "Prices"), ("hours", "Hours")]));
    let labels: Vec<&str> = w.choices().iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, vec!["Prices", "Hours"]);
}

#[test]
fn choices_are_withdrawn_when_a_newer_message_arrives_or_the_phase_changes() {
    let mut w = in_bot_phase();
    w.update(bot_offers(1, &[("price", "Prices")]));
    w.update(event(2, Some("m1"), "something else"));
    assert!(w.choices().is_empty());

    let mut w = in_bot_phase();
    w.update(bot_offers(1, &[("price", "Prices")]));
    w.update(status(queued(1, 0)));
    assert!(w.choices().is_empty());
}

#[test]
fn choosing_sends_the_choice_and_shows_its_label_while_on_its_way() {
    let mut w = in_bot_phase();
    w.update(bot_offers(1, &[("price", "Prices")]));
    let effects = w.update(Input::Choose {
        id: mid("m1"),
        choice: cid("price"),
    });
    assert_eq!(
        effects,
        vec![Effect::Transmit(ClientFrame::Choose {
            id: mid("m1"),
            choice: cid("price"),
        })]
    );
    assert_eq!(w.outbox[0].text, "Prices");
    assert!(
        w.choices().is_empty(),
        "no second pick while one is on its way"
    );
}

#[test]
fn a_choice_not_on_offer_is_not_sent() {
    let mut w = in_bot_phase();
    w.update(bot_offers(1, &[("price", "Prices")]));
    let effects = w.update(Input::Choose {
        id: mid("m1"),
        choice: cid("refund"),
    });
    assert_eq!(effects, vec![]);
    assert!(w.outbox.is_empty());
}

#[test]
fn a_choice_is_resent_as_a_choice_with_the_same_id_after_reconnect() {
    let mut w = in_bot_phase();
    w.update(bot_offers(1, &[("price", "Prices")]));
    w.update(Input::LinkClosed);
    assert_eq!(
        w.update(Input::Choose {
            id: mid("m1"),
            choice: cid("price"),
        }),
        vec![]
    );
    w.update(Input::ReconnectDue);
    w.update(Input::LinkOpened);
    assert_eq!(
        w.update(welcome("t1")),
        vec![Effect::Transmit(ClientFrame::Choose {
            id: mid("m1"),
            choice: cid("price"),
        })]
    );
}

#[test]
fn a_choice_leaves_the_outbox_when_its_event_arrives() {
    let mut w = in_bot_phase();
    w.update(bot_offers(1, &[("price", "Prices")]));
    w.update(Input::Choose {
        id: mid("m1"),
        choice: cid("price"),
    });
    w.update(event(2, Some("m1"), "Prices"));
    assert!(w.outbox.is_empty());
}

// Talking to a person and the pre-chat form.

#[test]
fn talk_to_a_person_opens_the_prechat_form() {
    let mut w = with_form(in_bot_phase());
    assert_eq!(w.update(Input::TalkToHuman { request: rid("r1") }), vec![]);
    assert_eq!(w.phase(), Phase::PreChat);
    w.update(Input::CancelPreChat);
    assert_eq!(w.phase(), Phase::Bot);
}

#[test]
fn talk_to_a_person_without_a_form_requests_an_agent_at_once() {
    let mut w = in_bot_phase();
    assert_eq!(
        w.update(Input::TalkToHuman { request: rid("r1") }),
        vec![request_agent("r1", Answers::new())]
    );
    assert_eq!(w.phase(), Phase::Bot);
    assert_eq!(w.update(Input::TalkToHuman { request: rid("r2") }), vec![]);
}

#[test]
fn a_site_without_a_bot_shows_the_prechat_form_straight_away() {
    let mut w = online();
    w.update(Input::Configured {
        bot_enabled: false,
        prechat: vec![field("name", FieldKind::Text, true)],
        identity_required: false,
        sound: false,
    });
    w.update(status(ChatStatus::Bot {}));
    assert_eq!(w.phase(), Phase::PreChat);
    w.update(Input::CancelPreChat);
    assert_eq!(w.phase(), Phase::PreChat, "there is no bot to go back to");
}

#[test]
fn an_invalid_prechat_form_shows_errors_and_sends_nothing() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::TalkToHuman { request: rid("r1") });
    let effects = w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: answers(&[("email", "ada@")]),
    });
    assert_eq!(effects, vec![]);
    let problems: Vec<(&str, FieldProblem)> = w
        .form_errors
        .iter()
        .map(|e| (e.field.as_str(), e.problem.clone()))
        .collect();
    assert_eq!(
        problems,
        vec![
            ("name", FieldProblem::Required),
            ("email", FieldProblem::InvalidEmail)
        ]
    );
    assert_eq!(w.errors_reported, 1);
    assert!(w.agent_request.is_none());
}

#[test]
fn a_valid_prechat_form_requests_an_agent_with_cleaned_answers() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::TalkToHuman { request: rid("r0") });
    w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: answers(&[("email", "x")]),
    });
    let effects = w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: answers(&[("name", " Ada "), ("email", "ada@example.com")]),
    });
    assert_eq!(effects, vec![request_agent("r1", good_answers())]);
    assert!(w.form_errors.is_empty());
    assert_eq!(w.answers, good_answers());
}

#[test]
fn a_double_submitted_prechat_form_sends_one_request() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::TalkToHuman { request: rid("r0") });
    w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: good_answers(),
    });
    let again = w.update(Input::SubmitPreChat {
        request: rid("r2"),
        answers: good_answers(),
    });
    assert_eq!(again, vec![]);
    assert_eq!(
        w.agent_request.as_ref().map(|p| p.request.clone()),
        Some(rid("r1"))
    );
}

#[test]
fn a_pending_agent_request_is_resent_with_the_same_id_after_reconnect() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::TalkToHuman { request: rid("r0") });
    w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: good_answers(),
    });
    w.update(Input::LinkClosed);
    w.update(Input::ReconnectDue);
    w.update(Input::LinkOpened);
    assert_eq!(
        w.update(welcome("t1")),
        vec![request_agent("r1", good_answers())]
    );
    w.update(status(ChatStatus::Bot {}));
    assert!(
        w.agent_request.is_some(),
        "still pending while the bot status is replayed"
    );
}

#[test]
fn an_agent_request_is_settled_when_the_status_moves_on() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::TalkToHuman { request: rid("r0") });
    w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: good_answers(),
    });
    w.update(status(queued(2, 0)));
    assert!(w.agent_request.is_none());
    assert_eq!(w.phase(), Phase::Waiting);
    w.update(Input::LinkClosed);
    w.update(Input::ReconnectDue);
    assert_eq!(w.update(welcome("t1")), vec![]);
}

#[test]
fn a_rejected_prechat_form_shows_the_servers_errors_and_may_be_sent_again() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::TalkToHuman { request: rid("r0") });
    w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: good_answers(),
    });
    let errors = vec![FieldError {
        field: fname("email"),
        problem: FieldProblem::InvalidEmail,
    }];
    w.update(frame(ServerFrame::FormRejected {
        request: rid("r1"),
        errors: errors.clone(),
    }));
    assert_eq!(w.form_errors, errors);
    assert!(w.agent_request.is_none());
    assert_eq!(w.phase(), Phase::PreChat);
    let effects = w.update(Input::SubmitPreChat {
        request: rid("r2"),
        answers: good_answers(),
    });
    assert_eq!(effects, vec![request_agent("r2", good_answers())]);
}

#[test]
fn a_rejection_of_another_request_is_ignored() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::TalkToHuman { request: rid("r0") });
    w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: good_answers(),
    });
    w.update(frame(ServerFrame::FormRejected {
        request: rid("old"),
        errors: vec![],
    }));
    assert!(w.agent_request.is_some());
    assert_eq!(w.errors_reported, 0);
}

// Waiting, live, ending.

#[test]
fn end_chat_asks_first_and_sends_only_when_confirmed() {
    let mut w = in_status(queued(1, 0));
    assert_eq!(w.update(Input::AskEndChat), vec![]);
    assert!(w.confirming_end);
    assert_eq!(
        w.update(Input::ConfirmEndChat),
        vec![Effect::Transmit(ClientFrame::EndChat {})]
    );
    assert!(!w.confirming_end);
    assert_eq!(
        w.update(Input::ConfirmEndChat),
        vec![],
        "one confirmation, one frame"
    );
}

#[test]
fn a_cancelled_end_chat_sends_nothing() {
    let mut w = in_status(live());
    w.update(Input::AskEndChat);
    w.update(Input::CancelEndChat);
    assert!(!w.confirming_end);
    assert_eq!(w.update(Input::ConfirmEndChat), vec![]);
}

#[test]
fn end_chat_cannot_be_asked_in_the_bot_phase_and_its_confirmation_closes_when_the_chat_ends() {
    let mut w = in_bot_phase();
    w.update(Input::AskEndChat);
    assert!(!w.confirming_end);
    let mut w = in_status(live());
    w.update(Input::AskEndChat);
    w.update(status(ChatStatus::Ended { rated: false }));
    assert!(!w.confirming_end);
}

#[test]
fn agent_typing_shows_until_they_stop_or_their_message_arrives() {
    let mut w = in_status(live());
    w.update(frame(ServerFrame::Typing {
        name: "Ann".into(),
        typing: true,
    }));
    assert_eq!(w.agent_typing.as_deref(), Some("Ann"));
    w.update(said(1, AuthorKind::Agent, None, "Hello!"));
    assert_eq!(w.agent_typing, None);
    w.update(frame(ServerFrame::Typing {
        name: "Ann".into(),
        typing: true,
    }));
    w.update(frame(ServerFrame::Typing {
        name: "Ann".into(),
        typing: false,
    }));
    assert_eq!(w.agent_typing, None);
}

#[test]
fn visitor_typing_is_sent_at_most_every_three_seconds_while_live() {
    let mut w = in_status(live());
    let typing = |t| vec![Effect::Transmit(ClientFrame::Typing { typing: t })];
    let draft = |w: &mut Widget, empty, now_ms| w.update(Input::Draft { empty, now_ms });
    assert_eq!(draft(&mut w, false, 10_000), typing(true));
    assert_eq!(draft(&mut w, false, 11_000), vec![]);
    assert_eq!(draft(&mut w, false, 12_999), vec![]);
    assert_eq!(draft(&mut w, false, 13_000), typing(true));
    assert_eq!(draft(&mut w, true, 13_500), typing(false));
    assert_eq!(draft(&mut w, true, 13_600), vec![], "stopped once");
}

#[test]
fn sending_a_message_stops_the_visitors_typing() {
    let mut w = in_status(live());
    w.update(Input::Draft {
        empty: false,
        now_ms: 0,
    });
    let effects = send(&mut w, "m1", "hi");
    assert_eq!(
        effects,
        vec![
            text_frame("m1", "hi"),
            Effect::Transmit(ClientFrame::Typing { typing: false }),
        ]
    );
}

#[test]
fn a_fast_writer_sends_one_typing_frame_per_three_seconds_not_one_per_message() {
    // Four messages a second: with a typing pair for each, twelve frames a second would
    // exceed the server's five and get messages refused (and reordered by their resends).
    let mut w = in_status(live());
    let mut frames = 0;
    for i in 0..12u64 {
        let now_ms = i * 250;
        frames += w
            .update(Input::Draft {
                empty: false,
                now_ms,
            })
            .len();
        frames += send(&mut w, &format!("m{i}"), "hi").len();
        frames += w.update(ack(&format!("m{i}"), i + 2)).len();
    }
    // 12 messages in 3 s: 12 sends, one typing start and its stop.
    assert_eq!(frames, 12 + 2);
    assert_eq!(
        w.update(Input::Draft {
            empty: false,
            now_ms: 3_000
        }),
        vec![Effect::Transmit(ClientFrame::Typing { typing: true })]
    );
}

#[test]
fn visitor_typing_is_not_sent_to_the_bot_or_the_queue() {
    for s in [ChatStatus::Bot {}, queued(1, 0)] {
        let mut w = in_status(s);
        assert_eq!(
            w.update(Input::Draft {
                empty: false,
                now_ms: 0
            }),
            vec![]
        );
    }
}

// Rating, missed chats, new conversations.

#[test]
fn rating_sends_stars_and_a_trimmed_comment_once() {
    let mut w = in_status(ChatStatus::Ended { rated: false });
    let rate = |w: &mut Widget, comment: &str| {
        w.update(Input::Rate {
            stars: Some(4),
            comment: comment.into(),
        })
    };
    assert_eq!(
        rate(&mut w, "  Quick and kind "),
        vec![Effect::Transmit(ClientFrame::Rate {
            stars: 4,
            comment: Some("Quick and kind".into()),
        })]
    );
    assert_eq!(rate(&mut w, ""), vec![], "sent once");
    w.update(status(ChatStatus::Ended { rated: true }));
    assert_eq!(w.phase(), Phase::Ended);
}

#[test]
fn a_blank_rating_comment_is_left_out() {
    let mut w = in_status(ChatStatus::Ended { rated: false });
    assert_eq!(
        w.update(Input::Rate {
            stars: Some(5),
            comment: " \n".into(),
        }),
        vec![Effect::Transmit(ClientFrame::Rate {
            stars: 5,
            comment: None
        })]
    );
}

#[test]
fn a_rating_without_stars_asks_for_them() {
    let mut w = in_status(ChatStatus::Ended { rated: false });
    for stars in [None, Some(0), Some(6)] {
        assert_eq!(
            w.update(Input::Rate {
                stars,
                comment: String::new(),
            }),
            vec![]
        );
    }
    assert_eq!(w.problem, Some(FieldProblem::Required));
    assert_eq!(w.errors_reported, 3);
}

#[test]
fn a_missed_chat_takes_a_message_with_the_answers_and_text() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::TalkToHuman { request: rid("r0") });
    w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: good_answers(),
    });
    w.update(status(ChatStatus::Missed {}));
    assert_eq!(w.phase(), Phase::Missed);
    assert_eq!(w.answers, good_answers(), "kept to prefill the form");
    let effects = w.update(Input::LeaveMessage {
        request: rid("r2"),
        answers: good_answers(),
        text: " Call me back ".into(),
    });
    assert_eq!(
        effects,
        vec![Effect::Transmit(ClientFrame::LeaveMessage {
            request: rid("r2"),
            answers: good_answers(),
            text: "Call me back".into(),
        })]
    );
    let again = w.update(Input::LeaveMessage {
        request: rid("r3"),
        answers: good_answers(),
        text: "Call me back".into(),
    });
    assert_eq!(again, vec![], "one message while it is pending");
    w.update(status(ChatStatus::MessageLeft {}));
    assert!(w.leave_request.is_none());
}

#[test]
fn a_message_without_text_or_valid_answers_is_not_left() {
    let mut w = with_form(in_status(ChatStatus::Missed {}));
    let effects = w.update(Input::LeaveMessage {
        request: rid("r1"),
        answers: answers(&[("name", "Ada")]),
        text: "  ".into(),
    });
    assert_eq!(effects, vec![]);
    assert_eq!(w.problem, Some(FieldProblem::Required));
    assert_eq!(w.form_errors.len(), 1, "the missing email");
    assert!(w.leave_request.is_none());
}

#[test]
fn a_pending_left_message_is_resent_with_the_same_id_after_reconnect() {
    let mut w = with_form(in_status(ChatStatus::Missed {}));
    w.update(Input::LeaveMessage {
        request: rid("r1"),
        answers: good_answers(),
        text: "hi".into(),
    });
    w.update(Input::LinkClosed);
    w.update(Input::ReconnectDue);
    assert_eq!(
        w.update(welcome("t1")),
        vec![Effect::Transmit(ClientFrame::LeaveMessage {
            request: rid("r1"),
            answers: good_answers(),
            text: "hi".into(),
        })]
    );
}

#[test]
fn errors_are_cleared_when_the_phase_changes() {
    let mut w = in_status(ChatStatus::Ended { rated: false });
    w.update(Input::Rate {
        stars: None,
        comment: String::new(),
    });
    w.update(status(ChatStatus::Ended { rated: true }));
    assert_eq!(w.problem, None);
}

#[test]
fn start_new_is_offered_after_the_chat_and_sent_once_until_welcome() {
    let mut w = in_status(ChatStatus::Ended { rated: true });
    assert_eq!(
        w.update(Input::StartNew),
        vec![Effect::Transmit(ClientFrame::StartNew {})]
    );
    assert_eq!(w.update(Input::StartNew), vec![]);
    w.update(welcome_to("t1", "c2"));
    assert!(!w.starting_new);
    assert_eq!(in_status(live()).update(Input::StartNew), vec![]);
}

// History.

#[test]
fn history_is_fetched_with_the_session_token() {
    let mut w = online();
    assert_eq!(
        w.update(Input::OpenHistory),
        vec![Effect::FetchHistory { token: token("t1") }]
    );
    assert_eq!(w.history, History::Loading);
    assert_eq!(w.update(Input::OpenHistory), vec![], "one fetch at a time");
}

#[test]
fn history_without_a_session_is_an_empty_list() {
    let mut w = Widget::new(site(), None);
    assert_eq!(w.update(Input::OpenHistory), vec![]);
    assert_eq!(
        w.history,
        History::Loaded {
            conversations: vec![],
            viewing: None
        }
    );
}

#[test]
fn a_past_conversation_is_read_and_back_returns_to_the_list_then_the_chat() {
    let mut w = online();
    w.update(Input::OpenHistory);
    w.update(Input::HistoryLoaded(Ok(vec![past("c2"), past("c1")])));
    w.update(Input::ShowPast(5));
    w.update(Input::ShowPast(1));
    assert!(matches!(
        w.history,
        History::Loaded {
            viewing: Some(1),
            ..
        }
    ));
    w.update(Input::HistoryBack);
    assert!(matches!(w.history, History::Loaded { viewing: None, .. }));
    w.update(Input::HistoryBack);
    assert_eq!(w.history, History::Closed);
}

#[test]
fn closing_the_history_from_a_past_conversation_returns_to_the_chat() {
    let mut w = online();
    w.update(Input::OpenHistory);
    w.update(Input::HistoryLoaded(Ok(vec![past("c1")])));
    w.update(Input::ShowPast(0));
    w.update(Input::CloseHistory);
    assert_eq!(w.history, History::Closed);
}

#[test]
fn a_failed_history_fetch_is_reported_and_a_late_answer_after_closing_is_ignored() {
    let mut w = online();
    w.update(Input::OpenHistory);
    w.update(Input::HistoryLoaded(Err(offline())));
    assert_eq!(w.history, History::Failed(offline()));
    w.update(Input::HistoryBack);
    w.update(Input::OpenHistory);
    w.update(Input::HistoryBack);
    w.update(Input::HistoryLoaded(Ok(vec![past("c1")])));
    assert_eq!(w.history, History::Closed);
}

fn beat(w: &mut Widget, now_ms: u64) -> Vec<Effect> {
    w.update(Input::Heartbeat { now_ms })
}

#[test]
fn an_online_link_is_pinged_once_per_interval() {
    let mut w = online(); // heard at 0
    assert_eq!(beat(&mut w, PING_AFTER_MS - 1), vec![]);
    assert_eq!(
        beat(&mut w, PING_AFTER_MS),
        vec![Effect::Transmit(ClientFrame::Ping {})]
    );
    assert_eq!(beat(&mut w, PING_AFTER_MS + HEARTBEAT_TICK_MS), vec![]);
}

#[test]
fn a_pong_keeps_the_link_alive() {
    let mut w = online();
    beat(&mut w, PING_AFTER_MS);
    w.update(frame_at(ServerFrame::Pong {}, PING_AFTER_MS + 100));
    // Silent for less than DEAD_AFTER_MS since the pong: pinged again, not reopened.
    assert_eq!(
        beat(&mut w, DEAD_AFTER_MS),
        vec![Effect::Transmit(ClientFrame::Ping {})]
    );
    assert_eq!(w.link, LinkState::Online);
}

#[test]
fn a_silent_link_is_declared_dead_and_reopened_at_once() {
    let mut w = online();
    beat(&mut w, PING_AFTER_MS);
    beat(&mut w, PING_AFTER_MS * 2);
    assert_eq!(beat(&mut w, DEAD_AFTER_MS), vec![Effect::Connect]);
    assert_eq!(w.link, LinkState::Connecting);
    // Not online: the heartbeat says nothing until the next welcome.
    assert_eq!(beat(&mut w, DEAD_AFTER_MS * 2), vec![]);
}

#[test]
fn coming_back_online_retries_a_dropped_link_at_once() {
    let mut w = online();
    w.update(Input::LinkClosed);
    assert_eq!(w.update(Input::RetryNow), vec![Effect::Connect]);
    assert_eq!(w.link, LinkState::Connecting);
    // The scheduled retry that follows finds nothing to do.
    assert_eq!(w.update(Input::ReconnectDue), vec![]);
    // Online or idle links are left alone.
    assert_eq!(online().update(Input::RetryNow), vec![]);
    assert_eq!(Widget::new(site(), None).update(Input::RetryNow), vec![]);
}

// Unread messages and what the host page hears.

fn unread_events(effects: &[Effect]) -> Vec<u32> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Host(HostEvent::Unread(n)) => Some(*n),
            _ => None,
        })
        .collect()
}

#[test]
fn bot_and_agent_messages_while_closed_count_as_unread_and_opening_clears_them() {
    let mut w = in_status(live());
    w.update(Input::Close);
    assert_eq!(unread_events(&w.update(event(1, None, "Hello"))), vec![1]);
    assert_eq!(w.unread, 1);
    assert_eq!(
        unread_events(&w.update(said(2, AuthorKind::Agent, None, "Still there?"))),
        vec![2]
    );
    // The visitor's own messages (from another tab) are not unread.
    assert_eq!(
        unread_events(&w.update(said(3, AuthorKind::Visitor, Some("m1"), "Yes"))),
        Vec::<u32>::new()
    );
    let effects = w.update(Input::Open);
    assert_eq!(unread_events(&effects), vec![0]);
    assert!(effects.contains(&Effect::SaveSeen(c1(), Seq(3))));
    assert_eq!(w.unread, 0);
}

#[test]
fn messages_while_open_are_seen_at_once_and_told_to_the_host() {
    let mut w = in_status(live());
    let effects = w.update(said(1, AuthorKind::Agent, None, "Hi"));
    assert!(effects.contains(&Effect::Host(HostEvent::Message {
        author: Author {
            kind: AuthorKind::Agent,
            name: "Ann".into()
        },
        text: "Hi".into()
    })));
    assert!(effects.contains(&Effect::SaveSeen(c1(), Seq(1))));
    assert_eq!(unread_events(&effects), Vec::<u32>::new());
    // The visitor's own message is no `message` event.
    let effects = w.update(said(2, AuthorKind::Visitor, Some("m1"), "Hello"));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Host(_))));
}

#[test]
fn a_reload_replaying_what_was_seen_raises_no_badge_and_no_message_event() {
    let mut w = Widget::new(site(), Some(token("t1")));
    w.update(Input::Seen {
        conversation: c1(),
        seq: Seq(2),
    });
    assert_eq!(
        w.update(Input::Configured {
            bot_enabled: true,
            prechat: vec![],
            identity_required: false,
            sound: false,
        }),
        vec![Effect::Connect],
        "a returning visitor's link opens with the panel closed"
    );
    w.update(Input::LinkOpened);
    w.update(welcome("t1"));
    assert!(
        !w.update(event(1, None, "Old"))
            .iter()
            .any(|e| matches!(e, Effect::Host(_)))
    );
    w.update(said(2, AuthorKind::Agent, None, "Old too"));
    assert_eq!(w.unread, 0);
    let effects = w.update(said(3, AuthorKind::Agent, None, "New"));
    assert_eq!(unread_events(&effects), vec![1]);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Host(HostEvent::Message { .. })))
    );
}

#[test]
fn seen_in_another_tab_clears_the_badge_here() {
    let mut w = in_status(live());
    w.update(Input::Close);
    w.update(event(1, None, "One"));
    w.update(event(2, None, "Two"));
    assert_eq!(w.unread, 2);
    let effects = w.update(Input::Seen {
        conversation: c1(),
        seq: Seq(1),
    });
    assert_eq!(unread_events(&effects), vec![1]);
    // An older mark changes nothing; another conversation's mark does not clear this one.
    w.update(Input::Seen {
        conversation: c1(),
        seq: Seq(0),
    });
    assert_eq!(w.unread, 1);
    w.update(Input::Seen {
        conversation: ConversationId::new("c2").expect("id"),
        seq: Seq(9),
    });
    assert_eq!(w.unread, 2);
}

#[test]
fn an_agent_joining_starts_the_chat_and_its_end_ends_it_for_the_host() {
    let mut w = in_status(queued(1, 0));
    assert_eq!(
        w.update(status(live())),
        vec![Effect::Host(HostEvent::ChatStarted)]
    );
    assert_eq!(w.update(status(live())), vec![]);
    assert_eq!(
        w.update(status(ChatStatus::Ended { rated: false })),
        vec![Effect::Host(HostEvent::ChatEnded)]
    );
    // A page load resuming a live chat tells nothing new.
    let mut w = online();
    assert_eq!(w.update(status(live())), vec![]);
}

#[test]
fn reset_forgets_the_visitor_and_reconnects_without_a_token() {
    let mut w = in_status(live());
    w.update(Input::Close);
    w.update(event(1, None, "Hello"));
    send(&mut w, "m1", "waiting");
    let effects = w.update(Input::Reset);
    assert_eq!(
        effects,
        vec![Effect::Connect, Effect::Host(HostEvent::Unread(0))]
    );
    assert_eq!(w.token, None);
    assert_eq!(w.conversation, None);
    assert!(w.events.is_empty() && w.outbox.is_empty());
    assert_eq!(w.phase(), Phase::Starting);
    assert!(matches!(
        w.update(Input::LinkOpened).as_slice(),
        [Effect::Transmit(ClientFrame::Hello {
            token: None,
            conversation: None,
            ..
        })]
    ));
}

// ---- Identity -------------------------------------------------------------------------

fn identity(json: &str) -> IdentityText {
    lean::read_identity(json).expect("an identity")
}
fn ada() -> IdentityText {
    identity(r#"{"user_id":"u-ada","name":"Ada","email":"ada@example.com","user_hash":"00ff"}"#)
}
fn refused(code: ErrorCode) -> Input {
    frame(ServerFrame::Error {
        code,
        message: "no".into(),
    })
}
fn required_site(w: &mut Widget) -> Vec<Effect> {
    w.update(Input::Configured {
        bot_enabled: true,
        prechat: vec![],
        identity_required: true,
        sound: false,
    })
}

#[test]
fn an_identity_given_before_the_link_waits_for_the_first_hello() {
    let mut w = Widget::new(site(), None);
    assert_eq!(w.update(Input::Identify(ada())), vec![]);
    assert_eq!(w.identity, Some(ada()));
    assert_eq!(w.update(Input::Open)[1], Effect::Connect);
}

#[test]
fn a_new_identity_on_a_live_link_reopens_it_and_the_same_one_does_nothing() {
    let mut w = online();
    assert_eq!(w.update(Input::Identify(ada())), vec![Effect::Connect]);
    assert_eq!(w.link, LinkState::Connecting);
    w.update(Input::LinkOpened);
    w.update(welcome("t1"));
    assert_eq!(w.update(Input::Identify(ada())), vec![]);
    assert_eq!(w.link, LinkState::Online);
}

#[test]
fn identifying_into_the_visitors_own_session_is_no_lost_session() {
    let mut w = online();
    w.update(event(1, None, "Hi, I'm the bot"));
    send(&mut w, "m1", "still waiting");
    w.update(Input::Identify(ada()));
    w.update(Input::LinkOpened);
    let effects = w.update(welcome_to("t-ada", "c-ada"));
    assert!(!w.session_lost, "the verified session takes over");
    assert!(effects.contains(&Effect::SaveToken(token("t-ada"))));
    assert!(w.events.is_empty(), "the anonymous transcript is gone");
    assert!(
        effects.contains(&text_frame("m1", "still waiting")),
        "{effects:?}"
    );
    // A later welcome into yet another session is a loss again.
    w.update(Input::LinkClosed);
    w.update(Input::ReconnectDue);
    w.update(Input::LinkOpened);
    w.update(welcome_to("t-other", "c9"));
    assert!(w.session_lost);
}

#[test]
fn a_refused_identity_stops_the_link_until_a_new_identity() {
    let mut w = online();
    w.update(Input::Identify(ada()));
    w.update(Input::LinkOpened);
    assert_eq!(w.update(refused(ErrorCode::IdentityRefused)), vec![]);
    assert_eq!(w.notice, Some(Notice::IdentityRefused));
    assert_eq!(w.link, LinkState::Refused);
    // The server closes the socket: no reconnecting in a loop.
    assert_eq!(w.update(Input::LinkClosed), vec![]);
    assert_eq!(w.update(Input::RetryNow), vec![]);
    assert_eq!(w.update(Input::ReconnectDue), vec![]);
    assert_eq!(w.update(Input::Heartbeat { now_ms: 60_000 }), vec![]);
    assert_eq!(send(&mut w, "m1", "hello?"), vec![]);
    w.update(Input::Close);
    assert_eq!(
        w.update(Input::Open),
        vec![Effect::PanelChanged { open: true }]
    );
    assert_eq!(w.link, LinkState::Refused);
    // A new identity tries again, and the notice goes.
    let fixed = identity(r#"{"user_id":"u-ada","user_hash":"abcd"}"#);
    assert_eq!(w.update(Input::Identify(fixed)), vec![Effect::Connect]);
    assert_eq!(w.notice, None);
    assert_eq!(w.link, LinkState::Connecting);
}

#[test]
fn a_required_identity_refused_by_the_server_says_signed_in_only() {
    let mut w = online();
    w.update(refused(ErrorCode::IdentityRequired));
    assert_eq!(w.notice, Some(Notice::SignedInOnly));
    assert_eq!(w.update(Input::LinkClosed), vec![]);
    assert_eq!(w.link, LinkState::Refused);
}

#[test]
fn other_server_errors_keep_their_words() {
    let mut w = online();
    w.update(refused(ErrorCode::NotNow));
    assert_eq!(w.notice, Some(Notice::Server("no".into())));
    assert_eq!(w.link, LinkState::Online);
}

#[test]
fn a_site_for_signed_in_users_opens_no_link_for_an_anonymous_visitor() {
    let mut w = Widget::new(site(), Some(token("t1")));
    assert_eq!(
        required_site(&mut w),
        vec![],
        "not even for a returning visitor"
    );
    assert_eq!(w.notice, Some(Notice::SignedInOnly));
    assert_eq!(
        w.update(Input::Open),
        vec![Effect::PanelChanged { open: true }]
    );
    assert_eq!(send(&mut w, "m1", "anyone?"), vec![]);
    assert_eq!(w.update(Input::TalkToHuman { request: rid("r1") }), vec![]);
    // Signing in opens it.
    assert_eq!(w.update(Input::Identify(ada())), vec![Effect::Connect]);
    assert_eq!(w.notice, None);
}

#[test]
fn a_site_for_signed_in_users_connects_a_returning_identified_visitor() {
    let mut w = Widget::new(site(), Some(token("t1")));
    w.update(Input::Identify(ada()));
    assert_eq!(required_site(&mut w), vec![Effect::Connect]);
    assert_eq!(w.notice, None);
}

#[test]
fn reset_forgets_the_identity() {
    let mut w = online();
    w.update(Input::Identify(ada()));
    w.update(Input::LinkOpened);
    w.update(welcome("t1"));
    assert_eq!(w.update(Input::Reset), vec![Effect::Connect]);
    assert_eq!(w.identity, None);
    assert_eq!(w.token, None);
    // On a site for signed-in users, the next person meets the sign-in notice and no link.
    let mut w = Widget::new(site(), None);
    w.update(Input::Identify(ada()));
    required_site(&mut w);
    w.update(Input::Open);
    w.update(Input::LinkOpened);
    w.update(welcome("t1"));
    assert_eq!(w.update(Input::Reset), vec![]);
    assert_eq!(w.identity, None);
    assert_eq!(w.link, LinkState::Refused);
    assert_eq!(w.notice, Some(Notice::SignedInOnly));
    assert!(w.identity_required, "the site's setting stays");
}

#[test]
fn an_identity_that_answers_the_whole_form_asks_for_an_agent_at_once() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::Identify(ada()));
    w.update(Input::LinkOpened);
    w.update(welcome("t1"));
    w.update(status(ChatStatus::Bot {}));
    assert_eq!(w.open_fields().count(), 0);
    let effects = w.update(Input::TalkToHuman { request: rid("r1") });
    assert_eq!(
        effects,
        vec![request_agent(
            "r1",
            answers(&[("name", "Ada"), ("email", "ada@example.com")])
        )]
    );
    assert!(!w.prechat_open, "no form to show");
}

#[test]
fn an_identity_fills_in_what_it_knows_and_the_visitor_the_rest() {
    let mut w = with_form(in_bot_phase());
    w.update(Input::Identify(identity(
        r#"{"user_id":"u-1","name":"Ada"}"#,
    )));
    w.update(Input::LinkOpened);
    w.update(welcome("t1"));
    w.update(status(ChatStatus::Bot {}));
    let open: Vec<_> = w
        .open_fields()
        .map(|f| f.name.as_str().to_string())
        .collect();
    assert_eq!(open, ["email"], "the name field is skipped");
    assert_eq!(w.update(Input::TalkToHuman { request: rid("r1") }), vec![]);
    assert_eq!(w.phase(), Phase::PreChat);
    let effects = w.update(Input::SubmitPreChat {
        request: rid("r1"),
        answers: answers(&[("email", "ada@example.com")]),
    });
    assert_eq!(
        effects,
        vec![request_agent(
            "r1",
            answers(&[("name", "Ada"), ("email", "ada@example.com")])
        )]
    );
}

/// Whether `effects` play the chime.
fn chimes(effects: &[Effect]) -> bool {
    effects.contains(&Effect::Chime)
}

#[test]
fn the_chime_is_for_new_bot_and_agent_messages_while_closed_when_the_site_wants_it() {
    for sound in [false, true] {
        let mut w = Widget::new(site(), Some(token("t1")));
        w.update(Input::Configured {
            bot_enabled: true,
            prechat: vec![],
            identity_required: false,
            sound,
        });
        w.update(Input::LinkOpened);
        // The server held two events when the link came online: replayed, not new.
        w.update(welcome_with("t1", "c1", 2, Replay::Socket));
        assert!(!chimes(&w.update(said(1, AuthorKind::Bot, None, "Hi"))));
        assert!(!chimes(&w.update(said(2, AuthorKind::Agent, None, "Old"))));
        // New: the visitor's own message never chimes; an agent's does, if the site wants.
        assert!(!chimes(&w.update(said(
            3,
            AuthorKind::Visitor,
            Some("m1"),
            "Hey"
        ))));
        assert_eq!(
            chimes(&w.update(said(4, AuthorKind::Agent, None, "New"))),
            sound
        );
        // With the panel open the visitor sees it: no chime.
        w.update(Input::Open);
        assert!(!chimes(&w.update(said(5, AuthorKind::Agent, None, "Seen"))));
        // A reset keeps the site's choice.
        w.update(Input::Reset);
        assert_eq!(w.sound, sound);
    }
}
