//! Golden JSON: these strings freeze protocol v1's wire format. A change here breaks every
//! widget already embedded on a customer's page, so it must be deliberate. Each frame is
//! checked with serde's codec (the server's) and the lean one (the widget's).

use porchlight_protocol::{
    Answers, Author, AuthorKind, ChatStatus, Choice, ChoiceId, ClientFrame, ConversationEvent,
    ConversationId, ErrorCode, EventRecord, FieldError, FieldName, FieldProblem, Identity,
    MessageId, PROTOCOL_VERSION, PastConversation, Replay, RequestId, Seq, ServerFrame,
    SessionToken, SiteId, lean,
};

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

fn assert_client(frame: ClientFrame, json: &str) {
    assert_eq!(frame.encode(), json);
    assert_eq!(lean::encode_client_frame(&frame), json);
    assert_eq!(ClientFrame::decode(json), Ok(frame));
}

fn assert_server(frame: ServerFrame, json: &str) {
    assert_eq!(frame.encode(), json);
    assert_eq!(lean::decode_server_frame(json), Ok(frame.clone()));
    assert_eq!(ServerFrame::decode(json), Ok(frame));
}

#[test]
fn protocol_version_is_one() {
    assert_eq!(PROTOCOL_VERSION, 1);
}

#[test]
fn hello_for_a_new_visitor() {
    assert_client(
        ClientFrame::Hello {
            version: 1,
            site: id::<SiteId>("demo"),
            token: None,
            conversation: None,
            last_seq: Seq(0),
        },
        r#"{"type":"hello","version":1,"site":"demo","last_seq":0}"#,
    );
}

#[test]
fn hello_with_an_identity() {
    let frame = ClientFrame::Hello {
        version: 1,
        site: id::<SiteId>("demo"),
        token: None,
        conversation: None,
        last_seq: Seq(0),
    };
    let mut identity = Identity::new("u-42");
    identity.name = Some("Ada".into());
    identity.email = Some("ada@example.com".into());
    identity.custom.insert("plan".into(), "pro".into());
    identity.user_hash = Some("ab12".into());
    let json = r#"{"type":"hello","version":1,"site":"demo","last_seq":0,"identity":{"user_id":"u-42","name":"Ada","email":"ada@example.com","custom":{"plan":"pro"},"user_hash":"ab12"}}"#;
    assert_eq!(frame.encode_with_identity(Some(&identity)), json);
    assert_eq!(
        lean::encode_client_frame_with_identity(&frame, Some(&identity)),
        json
    );
    assert_eq!(
        ClientFrame::decode_with_identity(json),
        Ok((frame.clone(), Some(identity)))
    );
    // Without one, and from an older widget, the frame is as before.
    let plain = r#"{"type":"hello","version":1,"site":"demo","last_seq":0}"#;
    assert_eq!(frame.encode_with_identity(None), plain);
    assert_eq!(ClientFrame::decode_with_identity(plain), Ok((frame, None)));
    // Only hello carries one.
    assert!(
        ClientFrame::decode_with_identity(r#"{"type":"ping","identity":{"user_id":"u"}}"#).is_err()
    );
    let jwt = r#"{"type":"hello","version":1,"site":"demo","last_seq":0,"identity":{"user_id":"u","jwt":"a.b.c"}}"#;
    let (_, identity) = ClientFrame::decode_with_identity(jwt).expect("valid");
    assert_eq!(identity.and_then(|i| i.jwt).as_deref(), Some("a.b.c"));
}

#[test]
fn hello_resuming_a_session() {
    assert_client(
        ClientFrame::Hello {
            version: 1,
            site: id::<SiteId>("demo"),
            token: Some(id::<SessionToken>("tok_1")),
            conversation: Some(id::<ConversationId>("c1")),
            last_seq: Seq(7),
        },
        r#"{"type":"hello","version":1,"site":"demo","token":"tok_1","conversation":"c1","last_seq":7}"#,
    );
}

#[test]
fn send_text() {
    assert_client(
        ClientFrame::SendText {
            id: id::<MessageId>("m1"),
            text: "Hi <b>there</b>".into(),
        },
        r#"{"type":"send_text","id":"m1","text":"Hi <b>there</b>"}"#,
    );
}

#[test]
fn ping_and_pong() {
    assert_client(ClientFrame::Ping {}, r#"{"type":"ping"}"#);
    assert_server(ServerFrame::Pong {}, r#"{"type":"pong"}"#);
}

#[test]
fn welcome() {
    for (replay, name) in [
        (Replay::Socket, "socket"),
        (Replay::Http, "http"),
        (Replay::Lost, "lost"),
    ] {
        assert_server(
            ServerFrame::Welcome {
                version: 1,
                token: id::<SessionToken>("tok_1"),
                conversation: id::<ConversationId>("c1"),
                last_seq: Seq(3),
                replay,
            },
            &format!(
                r#"{{"type":"welcome","version":1,"token":"tok_1","conversation":"c1","last_seq":3,"replay":"{name}"}}"#
            ),
        );
    }
}

#[test]
fn visitor_message_event_carries_the_client_id() {
    assert_server(
        ServerFrame::Event {
            seq: Seq(2),
            at_ms: 1_700_000_000_000,
            event: ConversationEvent::MessageReceived {
                id: Some(id::<MessageId>("m1")),
                author: Author {
                    kind: AuthorKind::Visitor,
                    name: "You".into(),
                },
                text: "hello".into(),
                choices: vec![],
            },
        },
        r#"{"type":"event","seq":2,"at_ms":1700000000000,"event":{"kind":"message_received","id":"m1","author":{"kind":"visitor","name":"You"},"text":"hello"}}"#,
    );
}

#[test]
fn bot_message_event_has_no_id() {
    assert_server(
        ServerFrame::Event {
            seq: Seq(1),
            at_ms: 5,
            event: ConversationEvent::MessageReceived {
                id: None,
                author: Author {
                    kind: AuthorKind::Bot,
                    name: "Porchlight bot".into(),
                },
                text: "Hi!".into(),
                choices: vec![Choice {
                    id: id::<ChoiceId>("pricing"),
                    label: "Pricing".into(),
                }],
            },
        },
        r#"{"type":"event","seq":1,"at_ms":5,"event":{"kind":"message_received","author":{"kind":"bot","name":"Porchlight bot"},"text":"Hi!","choices":[{"id":"pricing","label":"Pricing"}]}}"#,
    );
}

#[test]
fn ack() {
    assert_server(
        ServerFrame::Ack {
            id: id::<MessageId>("m1"),
            seq: Seq(2),
        },
        r#"{"type":"ack","id":"m1","seq":2}"#,
    );
}

#[test]
fn error() {
    assert_server(
        ServerFrame::error(ErrorCode::InvalidText, "the message is empty"),
        r#"{"type":"error","code":"invalid_text","message":"the message is empty"}"#,
    );
    for (code, json) in [
        (ErrorCode::MalformedFrame, "\"malformed_frame\""),
        (ErrorCode::FrameTooLarge, "\"frame_too_large\""),
        (ErrorCode::UnsupportedVersion, "\"unsupported_version\""),
        (ErrorCode::HelloExpected, "\"hello_expected\""),
        (ErrorCode::UnknownSite, "\"unknown_site\""),
        (ErrorCode::NotNow, "\"not_now\""),
        (ErrorCode::UnknownChoice, "\"unknown_choice\""),
        (ErrorCode::InvalidRating, "\"invalid_rating\""),
        (ErrorCode::RateLimited, "\"rate_limited\""),
        (ErrorCode::Unavailable, "\"unavailable\""),
        (ErrorCode::TooManySessions, "\"too_many_sessions\""),
        (ErrorCode::QueueFull, "\"queue_full\""),
        (ErrorCode::ConversationFull, "\"conversation_full\""),
        (
            ErrorCode::TooManyConversations,
            "\"too_many_conversations\"",
        ),
        (ErrorCode::IdentityRefused, "\"identity_refused\""),
        (ErrorCode::IdentityRequired, "\"identity_required\""),
    ] {
        assert_eq!(serde_json::to_string(&code).expect("encodes"), json);
    }
}

fn answers(pairs: &[(&str, &str)]) -> Answers {
    pairs
        .iter()
        .map(|(k, v)| (id::<FieldName>(k), v.to_string()))
        .collect()
}

#[test]
fn conversation_lifecycle_client_frames() {
    assert_client(
        ClientFrame::Choose {
            id: id::<MessageId>("m2"),
            choice: id::<ChoiceId>("pricing"),
        },
        r#"{"type":"choose","id":"m2","choice":"pricing"}"#,
    );
    assert_client(
        ClientFrame::RequestAgent {
            request: id::<RequestId>("r1"),
            answers: answers(&[("email", "ada@example.com"), ("name", "Ada")]),
        },
        r#"{"type":"request_agent","request":"r1","answers":{"email":"ada@example.com","name":"Ada"}}"#,
    );
    assert_client(
        ClientFrame::Typing { typing: true },
        r#"{"type":"typing","typing":true}"#,
    );
    assert_client(ClientFrame::EndChat {}, r#"{"type":"end_chat"}"#);
    assert_client(
        ClientFrame::Rate {
            stars: 5,
            comment: Some("Great".into()),
        },
        r#"{"type":"rate","stars":5,"comment":"Great"}"#,
    );
    assert_client(
        ClientFrame::Rate {
            stars: 2,
            comment: None,
        },
        r#"{"type":"rate","stars":2}"#,
    );
    assert_client(
        ClientFrame::LeaveMessage {
            request: id::<RequestId>("r2"),
            answers: answers(&[("email", "ada@example.com")]),
            text: "Call me".into(),
        },
        r#"{"type":"leave_message","request":"r2","answers":{"email":"ada@example.com"},"text":"Call me"}"#,
    );
    assert_client(ClientFrame::StartNew {}, r#"{"type":"start_new"}"#);
}

#[test]
fn statuses() {
    for (status, json) in [
        (ChatStatus::Bot {}, r#"{"state":"bot"}"#),
        (
            ChatStatus::Queued {
                position: 2,
                waited_ms: 1500,
            },
            r#"{"state":"queued","position":2,"waited_ms":1500}"#,
        ),
        (
            ChatStatus::Connecting { waited_ms: 0 },
            r#"{"state":"connecting","waited_ms":0}"#,
        ),
        (
            ChatStatus::Live {
                agent: "Ann".into(),
            },
            r#"{"state":"live","agent":"Ann"}"#,
        ),
        (ChatStatus::Missed {}, r#"{"state":"missed"}"#),
        (ChatStatus::MessageLeft {}, r#"{"state":"message_left"}"#),
        (
            ChatStatus::Ended { rated: false },
            r#"{"state":"ended","rated":false}"#,
        ),
    ] {
        assert_server(
            ServerFrame::Status { status },
            &format!(r#"{{"type":"status","status":{json}}}"#),
        );
    }
}

#[test]
fn typing_and_form_rejection() {
    assert_server(
        ServerFrame::Typing {
            name: "Ann".into(),
            typing: true,
        },
        r#"{"type":"typing","name":"Ann","typing":true}"#,
    );
    assert_server(
        ServerFrame::FormRejected {
            request: id::<RequestId>("r1"),
            errors: vec![FieldError {
                field: id::<FieldName>("email"),
                problem: FieldProblem::InvalidEmail,
            }],
        },
        r#"{"type":"form_rejected","request":"r1","errors":[{"field":"email","problem":"invalid_email"}]}"#,
    );
}

#[test]
fn lifecycle_events() {
    let cases = [
        (
            ConversationEvent::AgentRequested {},
            r#"{"kind":"agent_requested"}"#,
        ),
        (
            ConversationEvent::AgentJoined { name: "Ann".into() },
            r#"{"kind":"agent_joined","name":"Ann"}"#,
        ),
        (
            ConversationEvent::ChatEnded {
                by: AuthorKind::Agent,
            },
            r#"{"kind":"chat_ended","by":"agent"}"#,
        ),
        (ConversationEvent::Missed {}, r#"{"kind":"missed"}"#),
        (
            ConversationEvent::MessageLeft {
                text: "Call me".into(),
            },
            r#"{"kind":"message_left","text":"Call me"}"#,
        ),
        (
            ConversationEvent::Rated {
                stars: 4,
                comment: None,
            },
            r#"{"kind":"rated","stars":4}"#,
        ),
    ];
    for (event, json) in cases {
        assert_server(
            ServerFrame::Event {
                seq: Seq(9),
                at_ms: 1,
                event,
            },
            &format!(r#"{{"type":"event","seq":9,"at_ms":1,"event":{json}}}"#),
        );
    }
}

#[test]
fn past_conversations_for_the_history_api() {
    let past = vec![PastConversation {
        conversation: id::<ConversationId>("c0"),
        started_ms: 10,
        events: vec![EventRecord {
            seq: Seq(1),
            at_ms: 10,
            event: ConversationEvent::Missed {},
        }],
    }];
    let json = r#"[{"conversation":"c0","started_ms":10,"events":[{"seq":1,"at_ms":10,"event":{"kind":"missed"}}]}]"#;
    assert_eq!(serde_json::to_string(&past).expect("json"), json);
    assert_eq!(
        serde_json::from_str::<Vec<PastConversation>>(json).expect("parse"),
        past
    );
    assert_eq!(lean::decode_history(json), Ok(past));
}

#[test]
fn transcript_path_names_site_conversation_and_seq() {
    assert_eq!(
        porchlight_protocol::transcript_path(
            &id::<SiteId>("demo"),
            &id::<ConversationId>("c1"),
            Seq(7)
        ),
        "/api/v1/sites/demo/conversations/c1/events?after=7"
    );
}
