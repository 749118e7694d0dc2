//! Golden JSON of the agent console's frames: these strings freeze what the console and
//! the desk say to each other, as `golden.rs` does for the widget.

use porchlight_protocol::channels::{ChannelFacts, ChannelKind, CommentFacts, PlatformError};
use porchlight_protocol::console::StoryView;
use porchlight_protocol::console::{
    AgentStatus, AnswerLine, ChannelInfo, ConsoleError, ConversationSummary, Deadline,
    DeadlineKind, Rating, RoutingMode, Stage,
};
use porchlight_protocol::{
    AuthorKind, ConsoleFrame, ConversationEvent, DeskFrame, EventRecord, Seq,
};

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

fn assert_up(frame: ConsoleFrame, json: &str) {
    assert_eq!(frame.encode(), json);
    assert_eq!(ConsoleFrame::decode(json), Ok(frame));
}

fn assert_down(frame: DeskFrame, json: &str) {
    assert_eq!(frame.encode(), json);
    assert_eq!(DeskFrame::decode(json), Ok(frame));
}

#[test]
fn console_requests() {
    assert_up(
        ConsoleFrame::Hello {
            version: 1,
            token: id("s3cret"),
            agent: Some(id("ann")),
        },
        r#"{"type":"hello","version":1,"token":"s3cret","agent":"ann"}"#,
    );
    assert_up(
        ConsoleFrame::Hello {
            version: 1,
            token: id("s3cret"),
            agent: None,
        },
        r#"{"type":"hello","version":1,"token":"s3cret"}"#,
    );
    assert_up(
        ConsoleFrame::SetOnline { online: false },
        r#"{"type":"set_online","online":false}"#,
    );
    assert_up(
        ConsoleFrame::Accept {
            conversation: id("c1"),
        },
        r#"{"type":"accept","conversation":"c1"}"#,
    );
    assert_up(
        ConsoleFrame::SendText {
            conversation: id("c1"),
            id: id("m1"),
            text: "Hello".into(),
        },
        r#"{"type":"send_text","conversation":"c1","id":"m1","text":"Hello"}"#,
    );
    assert_up(
        ConsoleFrame::Typing {
            conversation: id("c1"),
            typing: true,
        },
        r#"{"type":"typing","conversation":"c1","typing":true}"#,
    );
    assert_up(
        ConsoleFrame::Close {
            conversation: id("c1"),
        },
        r#"{"type":"close","conversation":"c1"}"#,
    );
    assert_up(
        ConsoleFrame::Open {
            conversation: id("c1"),
        },
        r#"{"type":"open","conversation":"c1"}"#,
    );
    assert_up(
        ConsoleFrame::Search {
            query: "ada".into(),
        },
        r#"{"type":"search","query":"ada"}"#,
    );
    assert_up(ConsoleFrame::Ping {}, r#"{"type":"ping"}"#);
}

fn summary() -> ConversationSummary {
    ConversationSummary {
        id: id("c1"),
        channel: id("web"),
        stage: Stage::Queued,
        name: Some("Ada".into()),
        email: Some("ada@example.com".into()),
        preview: "Where is my order?".into(),
        agent: None,
        position: Some(1),
        deadline: Some(Deadline {
            kind: DeadlineKind::Queue,
            at_ms: 1_700_000_120_000,
        }),
        rating: None,
        started_ms: 1_700_000_000_000,
        updated_ms: 1_700_000_000_500,
        last_seq: Seq(4),
        facts: None,
        story: None,
    }
}

#[test]
fn the_desk_snapshot() {
    assert_down(
        DeskFrame::Welcome {
            version: 1,
            now_ms: 1_700_000_001_000,
            agent: Some(id("ann")),
            routing: RoutingMode::TimeBased,
            clock_offset_ms: 0,
            agents: vec![AgentStatus {
                id: id("ann"),
                name: "Ann".into(),
                online: true,
                load: 1,
                max_chats: 2,
                simulated: false,
            }],
            channels: vec![ChannelInfo {
                id: id("web"),
                kind: ChannelKind::Web,
                name: "Website chat".into(),
                templates: Vec::new(),
            }],
            conversations: vec![summary()],
        },
        concat!(
            r#"{"type":"welcome","version":1,"now_ms":1700000001000,"agent":"ann","routing":"time-based","#,
            r#""agents":[{"id":"ann","name":"Ann","online":true,"load":1,"max_chats":2,"simulated":false}],"#,
            r#""channels":[{"id":"web","kind":"web","name":"Website chat"}],"#,
            r#""conversations":[{"id":"c1","channel":"web","stage":"queued","name":"Ada","email":"ada@example.com","#,
            r#""preview":"Where is my order?","position":1,"deadline":{"kind":"queue","at_ms":1700000120000},"#,
            r#""started_ms":1700000000000,"updated_ms":1700000000500,"last_seq":4}]}"#
        ),
    );
}

#[test]
fn desk_updates() {
    let mut ended = summary();
    ended.stage = Stage::Ended;
    ended.position = None;
    ended.deadline = None;
    ended.email = None;
    ended.agent = Some(id("ann"));
    ended.rating = Some(Rating {
        stars: 5,
        comment: None,
    });
    assert_down(
        DeskFrame::Conversation {
            now_ms: 5,
            summary: Box::new(ended),
        },
        concat!(
            r#"{"type":"conversation","now_ms":5,"summary":{"id":"c1","channel":"web","stage":"ended","#,
            r#""name":"Ada","preview":"Where is my order?","agent":"ann","rating":{"stars":5,"comment":null},"#,
            r#""started_ms":1700000000000,"updated_ms":1700000000500,"last_seq":4}}"#
        ),
    );
    assert_down(
        DeskFrame::Detail {
            conversation: id("c1"),
            answers: vec![AnswerLine {
                label: "Your name".into(),
                value: "Ada".into(),
            }],
            events: vec![EventRecord {
                seq: Seq(1),
                at_ms: 7,
                event: ConversationEvent::AgentRequested {},
            }],
            visitor_typing: false,
            identity: None,
        },
        concat!(
            r#"{"type":"detail","conversation":"c1","answers":[{"label":"Your name","value":"Ada"}],"#,
            r#""events":[{"seq":1,"at_ms":7,"event":{"kind":"agent_requested"}}],"visitor_typing":false}"#
        ),
    );
    assert_down(
        DeskFrame::Detail {
            conversation: id("c1"),
            answers: Vec::new(),
            events: Vec::new(),
            visitor_typing: false,
            identity: Some(porchlight_protocol::KnownIdentity {
                user_id: "u-42".into(),
                name: Some("Ada".into()),
                email: None,
                custom: [("plan".to_string(), "pro".to_string())].into(),
                verified: true,
            }),
        },
        concat!(
            r#"{"type":"detail","conversation":"c1","answers":[],"events":[],"visitor_typing":false,"#,
            r#""identity":{"user_id":"u-42","name":"Ada","custom":{"plan":"pro"},"verified":true}}"#
        ),
    );
    assert_down(
        DeskFrame::Event {
            conversation: id("c1"),
            seq: Seq(2),
            at_ms: 8,
            event: ConversationEvent::ChatEnded {
                by: AuthorKind::Agent,
            },
        },
        r#"{"type":"event","conversation":"c1","seq":2,"at_ms":8,"event":{"kind":"chat_ended","by":"agent"}}"#,
    );
    assert_down(
        DeskFrame::VisitorTyping {
            conversation: id("c1"),
            typing: true,
        },
        r#"{"type":"visitor_typing","conversation":"c1","typing":true}"#,
    );
    assert_down(
        DeskFrame::Ack {
            conversation: id("c1"),
            id: id("m1"),
            seq: Seq(9),
        },
        r#"{"type":"ack","conversation":"c1","id":"m1","seq":9}"#,
    );
    assert_down(
        DeskFrame::Found {
            query: "ada".into(),
            conversations: vec![id("c1")],
        },
        r#"{"type":"found","query":"ada","conversations":["c1"]}"#,
    );
    assert_down(
        DeskFrame::refused(
            ConsoleError::Taken,
            "Ben already accepted this request",
            Some(id("c1")),
        ),
        r#"{"type":"refused","code":"taken","message":"Ben already accepted this request","conversation":"c1"}"#,
    );
    assert_down(DeskFrame::Pong {}, r#"{"type":"pong"}"#);
}

#[test]
fn unknown_console_frames_and_fields_are_malformed() {
    for text in [
        "",
        r#"{"type":"become_admin"}"#,
        r#"{"type":"ping","x":1}"#,
        r#"{"type":"accept","conversation":"../x"}"#,
        r#"{"type":"hello","version":1,"token":"a b"}"#,
    ] {
        assert!(ConsoleFrame::decode(text).is_err(), "{text}");
    }
    let big = format!(
        r#"{{"type":"search","query":"{}"}}"#,
        "x".repeat(porchlight_protocol::limits::MAX_FRAME_BYTES)
    );
    assert!(matches!(
        ConsoleFrame::decode(&big),
        Err(porchlight_protocol::FrameError::TooLarge { .. })
    ));
}

#[test]
fn each_role_sees_its_own_folders() {
    use porchlight_protocol::AgentId;
    use porchlight_protocol::console::Folder;
    let ann: AgentId = id("ann");
    let ben: AgentId = id("ben");
    let row = |stage, agent: Option<&AgentId>| ConversationSummary {
        stage,
        agent: agent.cloned(),
        ..summary()
    };
    let cases = [
        (Stage::Bot, None, [None, None, None]),
        (
            Stage::Queued,
            None,
            [
                Some(Folder::Queue),
                Some(Folder::Queue),
                Some(Folder::Queue),
            ],
        ),
        (
            Stage::Connecting,
            Some(&ann),
            [Some(Folder::Engaged), None, Some(Folder::Engaged)],
        ),
        (
            Stage::Live,
            Some(&ann),
            [Some(Folder::Live), None, Some(Folder::Live)],
        ),
        (
            Stage::Ended,
            Some(&ann),
            [
                Some(Folder::History),
                Some(Folder::History),
                Some(Folder::History),
            ],
        ),
        (
            Stage::Missed,
            None,
            [
                Some(Folder::History),
                Some(Folder::History),
                Some(Folder::History),
            ],
        ),
        (
            Stage::MessageLeft,
            None,
            [
                Some(Folder::History),
                Some(Folder::History),
                Some(Folder::History),
            ],
        ),
    ];
    for (stage, agent, [for_ann, for_ben, for_admin]) in cases {
        let row = row(stage, agent);
        assert_eq!(row.folder_for(Some(&ann)), for_ann, "{stage:?} for Ann");
        assert_eq!(row.folder_for(Some(&ben)), for_ben, "{stage:?} for Ben");
        assert_eq!(row.folder_for(None), for_admin, "{stage:?} for an admin");
    }
}

#[test]
fn channel_requests() {
    assert_up(
        ConsoleFrame::SendTemplate {
            conversation: id("c1"),
            id: id("m2"),
            template: "order_update".into(),
        },
        r#"{"type":"send_template","conversation":"c1","id":"m2","template":"order_update"}"#,
    );
    assert_up(
        ConsoleFrame::PrivateReply {
            conversation: id("c1"),
            id: id("m3"),
            text: "Sent you a recipe".into(),
        },
        r#"{"type":"private_reply","conversation":"c1","id":"m3","text":"Sent you a recipe"}"#,
    );
    assert_up(
        ConsoleFrame::HideComment {
            conversation: id("c1"),
        },
        r#"{"type":"hide_comment","conversation":"c1"}"#,
    );
    assert_up(
        ConsoleFrame::DeleteComment {
            conversation: id("c1"),
        },
        r#"{"type":"delete_comment","conversation":"c1"}"#,
    );
    assert_up(
        ConsoleFrame::Simulate {
            channel: id("whatsapp"),
            name: "Tom".into(),
            text: "Hi".into(),
        },
        r#"{"type":"simulate","channel":"whatsapp","name":"Tom","text":"Hi"}"#,
    );
}

#[test]
fn channel_facts_the_clock_and_the_platforms_refusals() {
    let row = ConversationSummary {
        channel: id("facebook_comments"),
        facts: Some(ChannelFacts {
            last_customer_ms: Some(1_700_000_000_000),
            human_agent: false,
            comment: Some(CommentFacts {
                post: "1047_55".into(),
                comment: "55_1".into(),
                at_ms: 1_700_000_000_000,
                top_level: true,
                hidden: false,
                deleted: false,
                private_replied: true,
            }),
        }),
        story: Some(StoryView {
            mention: true,
            url: None,
        }),
        position: None,
        deadline: None,
        email: None,
        ..summary()
    };
    assert_down(
        DeskFrame::Conversation {
            now_ms: 5,
            summary: Box::new(row),
        },
        concat!(
            r#"{"type":"conversation","now_ms":5,"summary":{"id":"c1","channel":"facebook_comments","#,
            r#""stage":"queued","name":"Ada","preview":"Where is my order?","started_ms":1700000000000,"#,
            r#""updated_ms":1700000000500,"last_seq":4,"facts":{"last_customer_ms":1700000000000,"#,
            r#""comment":{"post":"1047_55","comment":"55_1","at_ms":1700000000000,"top_level":true,"#,
            r#""hidden":false,"deleted":false,"private_replied":true}},"story":{"mention":true}}}"#
        ),
    );
    assert_down(
        DeskFrame::Clock {
            now_ms: 9,
            offset_ms: 90_000_000,
        },
        r#"{"type":"clock","now_ms":9,"offset_ms":90000000}"#,
    );
    assert_down(
        DeskFrame::Refused {
            code: ConsoleError::Platform,
            message: "the platform refuses".into(),
            conversation: Some(id("c1")),
            platform: Some(PlatformError {
                status: 400,
                code: 131_047,
                error_subcode: None,
                message: "Re-engagement message".into(),
            }),
        },
        concat!(
            r#"{"type":"refused","code":"platform","message":"the platform refuses","conversation":"c1","#,
            r#""platform":{"status":400,"code":131047,"message":"Re-engagement message"}}"#
        ),
    );
    let channel = ChannelInfo {
        id: id("whatsapp"),
        kind: ChannelKind::Whatsapp,
        name: "WhatsApp".into(),
        templates: vec!["order_update".into()],
    };
    assert_eq!(
        serde_json::to_string(&channel).expect("json"),
        r#"{"id":"whatsapp","kind":"whatsapp","name":"WhatsApp","templates":["order_update"]}"#
    );
}
