//! Golden JSON: these strings freeze protocol v1's wire format. A change here breaks every
//! widget already embedded on a customer's page, so it must be deliberate.

use porchlight_protocol::{
    Author, AuthorKind, ClientFrame, ConversationEvent, ConversationId, ErrorCode, MessageId,
    PROTOCOL_VERSION, Seq, ServerFrame, SessionToken, SiteId,
};

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

fn assert_client(frame: ClientFrame, json: &str) {
    assert_eq!(frame.encode(), json);
    assert_eq!(ClientFrame::decode(json), Ok(frame));
}

fn assert_server(frame: ServerFrame, json: &str) {
    assert_eq!(frame.encode(), json);
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
            last_seq: Seq(0),
        },
        r#"{"type":"hello","version":1,"site":"demo","last_seq":0}"#,
    );
}

#[test]
fn hello_resuming_a_session() {
    assert_client(
        ClientFrame::Hello {
            version: 1,
            site: id::<SiteId>("demo"),
            token: Some(id::<SessionToken>("tok_1")),
            last_seq: Seq(7),
        },
        r#"{"type":"hello","version":1,"site":"demo","token":"tok_1","last_seq":7}"#,
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
    assert_server(
        ServerFrame::Welcome {
            version: 1,
            token: id::<SessionToken>("tok_1"),
            conversation: id::<ConversationId>("c1"),
            last_seq: Seq(3),
        },
        r#"{"type":"welcome","version":1,"token":"tok_1","conversation":"c1","last_seq":3}"#,
    );
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
            },
        },
        r#"{"type":"event","seq":1,"at_ms":5,"event":{"kind":"message_received","author":{"kind":"bot","name":"Porchlight bot"},"text":"Hi!"}}"#,
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
    ] {
        assert_eq!(serde_json::to_string(&code).expect("encodes"), json);
    }
}
