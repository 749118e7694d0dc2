//! The lean codec (`porchlight_protocol::lean`, what the widget runs) against serde's (what
//! the server runs): every variant and field round-trips both ways, every name serde knows
//! the lean codec knows, and on random, mutated and spliced input both accept the same
//! values and refuse the same input with the same typed error, without panicking.
#![cfg(not(target_arch = "wasm32"))]

use porchlight_protocol::lean::{
    decode_events, decode_history, decode_server_frame, decode_site_config, encode_client_frame,
    encode_client_frame_with_identity,
};
use porchlight_protocol::{
    Answers, Author, AuthorKind, ChatStatus, Choice, ClientFrame, Color, ColorScheme,
    ConversationEvent, ErrorCode, EventRecord, FieldError, FieldKind, FieldProblem, FormField,
    FrameError, Identity, PastConversation, Position, Replay, Seq, ServerFrame, SiteConfig,
    TextDirection, Texts,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;

/// What serde's codec makes of `text`, sized like the frame decoder when `frame` is set.
fn serde_decode<T: DeserializeOwned>(text: &str) -> Result<T, FrameError> {
    serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Both codecs' answers agree: the same value, or errors of the same kind.
fn assert_same<T: PartialEq + std::fmt::Debug>(
    text: &str,
    lean: Result<T, FrameError>,
    serde: Result<T, FrameError>,
) {
    match (lean, serde) {
        (Ok(lean), Ok(serde)) => assert_eq!(lean, serde, "{text}"),
        (Err(lean), Err(serde)) => assert_eq!(lean.code(), serde.code(), "{text}"),
        (lean, serde) => panic!("{text:?}\n  lean:  {lean:?}\n  serde: {serde:?}"),
    }
}

/// Decodes `text` with both codecs as every kind of document the widget reads.
fn check_all(text: &str) {
    assert_same(text, decode_server_frame(text), ServerFrame::decode(text));
    assert_same(
        text,
        decode_site_config(text),
        serde_decode::<SiteConfig>(text),
    );
    assert_same(text, decode_history(text), serde_decode(text));
    assert_same(text, decode_events(text), serde_decode(text));
}

/// The names serde lists when it refuses `probe` as a `T`: variants or fields.
fn names_serde_knows<T: DeserializeOwned + std::fmt::Debug>(probe: &str) -> Vec<String> {
    let error = serde_json::from_str::<T>(probe)
        .expect_err(probe)
        .to_string();
    let (_, list) = error.split_once("expected ").expect(&error);
    let (list, _) = list.split_once(" at line").unwrap_or((list, ""));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn lean_error<T: std::fmt::Debug>(result: Result<T, FrameError>) -> String {
    match result {
        Err(FrameError::Malformed(reason)) => reason,
        other => format!("{other:?}"),
    }
}

#[test]
fn every_tag_serde_knows_the_lean_codec_knows() {
    /// The names serde knows for a tag, and a frame that carries one of them.
    type Case = (Vec<String>, fn(&str) -> String);
    let cases: [Case; 5] = [
        (names_serde_knows::<ServerFrame>(r#"{"type":"?"}"#), |n| {
            format!(r#"{{"type":"{n}"}}"#)
        }),
        (names_serde_knows::<ChatStatus>(r#"{"state":"?"}"#), |n| {
            format!(r#"{{"type":"status","status":{{"state":"{n}"}}}}"#)
        }),
        (
            names_serde_knows::<ConversationEvent>(r#"{"kind":"?"}"#),
            |n| format!(r#"{{"type":"event","seq":1,"at_ms":1,"event":{{"kind":"{n}"}}}}"#),
        ),
        (
            names_serde_knows::<FieldProblem>(r#"{"problem":"?"}"#),
            |n| {
                format!(
                    r#"{{"type":"form_rejected","request":"r","errors":[{{"field":"f","problem":"{n}"}}]}}"#
                )
            },
        ),
        (names_serde_knows::<AuthorKind>(r#""?""#), |n| {
            format!(
                r#"{{"type":"event","seq":1,"at_ms":1,"event":{{"kind":"chat_ended","by":"{n}"}}}}"#
            )
        }),
    ];
    for (names, frame) in cases {
        assert!(names.len() > 1, "{names:?}");
        for name in names {
            let text = frame(&name);
            // Decoding may fail on the fields left out, never on the tag.
            let reason = lean_error(decode_server_frame(&text));
            assert_ne!(reason, "unknown variant", "{text}");
            assert_same(
                &text,
                decode_server_frame(&text),
                ServerFrame::decode(&text),
            );
        }
    }
}

#[test]
fn every_error_code_and_replay_serde_knows_decodes_the_same() {
    for code in names_serde_knows::<ErrorCode>(r#""?""#) {
        let text = format!(r#"{{"type":"error","code":"{code}","message":"m"}}"#);
        assert!(decode_server_frame(&text).is_ok(), "{text}");
        assert_same(
            &text,
            decode_server_frame(&text),
            ServerFrame::decode(&text),
        );
    }
    for replay in names_serde_knows::<Replay>(r#""?""#) {
        let text = format!(
            r#"{{"type":"welcome","version":1,"token":"t","conversation":"c","last_seq":0,"replay":"{replay}"}}"#
        );
        assert!(decode_server_frame(&text).is_ok(), "{text}");
        assert_same(
            &text,
            decode_server_frame(&text),
            ServerFrame::decode(&text),
        );
    }
}

#[test]
fn every_config_field_serde_knows_decodes_the_same() {
    for text_name in names_serde_knows::<Texts>(r#"{"?":""}"#) {
        let text = format!(r#"{{"site":"demo","texts":{{"{text_name}":"X {{n}}"}}}}"#);
        assert!(decode_site_config(&text).is_ok(), "{text}");
        assert_same(&text, decode_site_config(&text), serde_decode(&text));
    }
    for kind in names_serde_knows::<FieldKind>(r#""?""#) {
        let text = format!(
            r#"{{"site":"demo","prechat":[{{"name":"f","label":"F","kind":"{kind}","options":["a"]}}]}}"#
        );
        assert!(decode_site_config(&text).is_ok(), "{text}");
        assert_same(&text, decode_site_config(&text), serde_decode(&text));
    }
    for position in names_serde_knows::<Position>(r#""?""#) {
        let text = format!(r#"{{"site":"demo","position":"{position}"}}"#);
        assert!(decode_site_config(&text).is_ok(), "{text}");
        assert_same(&text, decode_site_config(&text), serde_decode(&text));
    }
    let names = names_serde_knows::<SiteConfig>(r#"{"?":""}"#);
    let json = serde_json::to_value(SiteConfig::new("demo".parse().expect("id"))).expect("json");
    for name in names {
        assert!(json.get(&name).is_some(), "{name} is not written by serde");
    }
}

#[test]
fn golden_configuration_decodes_the_same() {
    let text = r##"{"site":"demo","brand_color":"#A1B2C3","position":"bottom-left","language":"de",
        "bot_enabled":false,"prechat":[{"name":"email","label":"E-Mail","kind":"email","required":true,
        "max_length":null},{"name":"topic","label":"Thema","kind":"select","options":["a","b"],"max_length":40}],
        "texts":{"title":"Hallo","stars":"{n} Sterne"}}"##;
    let config = decode_site_config(text).expect("valid");
    assert_eq!(config.brand_color.as_str(), "#a1b2c3");
    assert_eq!(config.texts.title, "Hallo");
    assert_eq!(config.texts.subtitle, Texts::default().subtitle);
    assert_same(text, Ok(config), serde_decode(text));
    assert_same(
        "{\"site\":\"demo\"}",
        decode_site_config("{\"site\":\"demo\"}"),
        serde_decode("{\"site\":\"demo\"}"),
    );
}

#[test]
fn refused_input_is_refused_by_both_with_the_same_error() {
    for text in [
        "",
        "null",
        "[]",
        "{}",
        r#"{"type":"pong","extra":1}"#,
        r#"{"type":"pong","type":"pong"}"#,
        r#"{"type":"ack","id":"m1","seq":-1}"#,
        r#"{"type":"ack","id":"m1","seq":1.0}"#,
        r#"{"type":"ack","id":"m1","seq":18446744073709551616}"#,
        r#"{"type":"ack","id":"a b","seq":1}"#,
        r#"{"type":"ack","id":"m1"}"#,
        r#"{"type":"ack","id":"m1","seq":1,"seq":2}"#,
        r#"{"type":"typing","name":"Ann","typing":"yes"}"#,
        r#"{"type":"event","seq":1,"at_ms":1,"event":{"kind":"rated","stars":256}}"#,
        r#"{"type":"event","seq":1,"at_ms":1,"event":{"kind":"message_received","author":{"kind":"bot","name":"B"},"text":"t","choices":null}}"#,
        r#"{"type":"status","status":{"state":"bot","x":1}}"#,
        r#"{"type":"pong"} x"#,
        r#"{"type":"pong"}"#,
        r#"{"site":"demo","brand_color":"red"}"#,
        r#"{"site":"demo","texts":{"title":"a","title":"b"}}"#,
        r#"{"site":"demo","texts":{"nope":"a"}}"#,
        r#"{"site":"demo","bot_enabled":null}"#,
        r#"[{"conversation":"c","started_ms":1,"events":[],"more":1}]"#,
    ] {
        check_all(text);
    }
    let oversized = format!(r#"{{"type":"pong","pad":"{}"}}"#, "x".repeat(20_000));
    assert!(matches!(
        decode_server_frame(&oversized),
        Err(FrameError::TooLarge { .. })
    ));
    assert_same(
        &oversized,
        decode_server_frame(&oversized),
        ServerFrame::decode(&oversized),
    );
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    check_all(&deep);
}

#[test]
fn a_field_error_ignores_members_beside_its_problem_as_serde_does() {
    let text = r#"{"type":"form_rejected","request":"r1","errors":[{"field":"email","problem":"required","max":[1,{"x":null}],"y":"z"},{"problem":"too_long","max":5,"field":"name","note":1}]}"#;
    assert!(decode_server_frame(text).is_ok());
    check_all(text);
}

// ---- strategies -------------------------------------------------------------------------

fn id<T: std::str::FromStr + std::fmt::Debug>() -> impl Strategy<Value = T>
where
    T::Err: std::fmt::Debug,
{
    "[a-zA-Z0-9_-]{1,12}".prop_map(|s| s.parse().expect("valid id"))
}

/// Any text, control characters, quotes, backslashes and astral characters included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["(?s).{0,12}", "[\"\\\\/\u{0}-\u{1f}\u{7f}é😀 a]{0,12}",]
}

fn author_kind() -> impl Strategy<Value = AuthorKind> {
    prop_oneof![
        Just(AuthorKind::Visitor),
        Just(AuthorKind::Bot),
        Just(AuthorKind::Agent)
    ]
}

fn event() -> impl Strategy<Value = ConversationEvent> {
    prop_oneof![
        (
            prop::option::of(id()),
            author_kind(),
            text(),
            text(),
            prop::collection::vec((id(), text()), 0..3)
        )
            .prop_map(|(id, kind, name, text, choices)| {
                ConversationEvent::MessageReceived {
                    id,
                    author: Author { kind, name },
                    text,
                    choices: choices
                        .into_iter()
                        .map(|(id, label)| Choice { id, label })
                        .collect(),
                }
            }),
        Just(ConversationEvent::AgentRequested {}),
        text().prop_map(|name| ConversationEvent::AgentJoined { name }),
        author_kind().prop_map(|by| ConversationEvent::ChatEnded { by }),
        Just(ConversationEvent::Missed {}),
        text().prop_map(|text| ConversationEvent::MessageLeft { text }),
        (any::<u8>(), prop::option::of(text()))
            .prop_map(|(stars, comment)| ConversationEvent::Rated { stars, comment }),
    ]
}

fn status() -> impl Strategy<Value = ChatStatus> {
    prop_oneof![
        Just(ChatStatus::Bot {}),
        (any::<u32>(), any::<u64>()).prop_map(|(position, waited_ms)| ChatStatus::Queued {
            position,
            waited_ms
        }),
        any::<u64>().prop_map(|waited_ms| ChatStatus::Connecting { waited_ms }),
        text().prop_map(|agent| ChatStatus::Live { agent }),
        Just(ChatStatus::Missed {}),
        Just(ChatStatus::MessageLeft {}),
        any::<bool>().prop_map(|rated| ChatStatus::Ended { rated }),
    ]
}

fn problem() -> impl Strategy<Value = FieldProblem> {
    prop_oneof![
        Just(FieldProblem::Required),
        any::<usize>().prop_map(|max| FieldProblem::TooLong { max }),
        Just(FieldProblem::InvalidEmail),
        Just(FieldProblem::InvalidPhone),
        Just(FieldProblem::NotAnOption),
        Just(FieldProblem::UnknownField),
    ]
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop::sample::select(
        names_serde_knows::<ErrorCode>(r#""?""#)
            .iter()
            .map(|name| serde_json::from_str(&format!("\"{name}\"")).expect("code"))
            .collect::<Vec<ErrorCode>>(),
    )
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        (
            any::<u32>(),
            id(),
            id(),
            any::<u64>(),
            prop_oneof![Just(Replay::Socket), Just(Replay::Http), Just(Replay::Lost)]
        )
            .prop_map(|(version, token, conversation, seq, replay)| {
                ServerFrame::Welcome {
                    version,
                    token,
                    conversation,
                    last_seq: Seq(seq),
                    replay,
                }
            }),
        (any::<u64>(), any::<u64>(), event()).prop_map(|(seq, at_ms, event)| ServerFrame::Event {
            seq: Seq(seq),
            at_ms,
            event
        }),
        (id(), any::<u64>()).prop_map(|(id, seq)| ServerFrame::Ack { id, seq: Seq(seq) }),
        status().prop_map(|status| ServerFrame::Status { status }),
        (text(), any::<bool>()).prop_map(|(name, typing)| ServerFrame::Typing { name, typing }),
        (id(), prop::collection::vec((id(), problem()), 0..3)).prop_map(|(request, errors)| {
            ServerFrame::FormRejected {
                request,
                errors: errors
                    .into_iter()
                    .map(|(field, problem)| FieldError { field, problem })
                    .collect(),
            }
        }),
        (error_code(), text()).prop_map(|(code, message)| ServerFrame::Error { code, message }),
        Just(ServerFrame::Pong {}),
    ]
}

fn answers() -> impl Strategy<Value = Answers> {
    prop::collection::btree_map(id(), text(), 0..4)
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (
            any::<u32>(),
            id(),
            prop::option::of(id()),
            prop::option::of(id()),
            any::<u64>()
        )
            .prop_map(|(version, site, token, conversation, seq)| {
                ClientFrame::Hello {
                    version,
                    site,
                    token,
                    conversation,
                    last_seq: Seq(seq),
                }
            }),
        (id(), text()).prop_map(|(id, text)| ClientFrame::SendText { id, text }),
        (id(), id()).prop_map(|(id, choice)| ClientFrame::Choose { id, choice }),
        (id(), answers())
            .prop_map(|(request, answers)| ClientFrame::RequestAgent { request, answers }),
        any::<bool>().prop_map(|typing| ClientFrame::Typing { typing }),
        Just(ClientFrame::EndChat {}),
        (any::<u8>(), prop::option::of(text()))
            .prop_map(|(stars, comment)| ClientFrame::Rate { stars, comment }),
        (id(), answers(), text()).prop_map(|(request, answers, text)| {
            ClientFrame::LeaveMessage {
                request,
                answers,
                text,
            }
        }),
        Just(ClientFrame::StartNew {}),
        Just(ClientFrame::Ping {}),
    ]
}

fn form_field() -> impl Strategy<Value = FormField> {
    (
        id(),
        text(),
        prop::sample::select(vec![
            FieldKind::Text,
            FieldKind::Email,
            FieldKind::Phone,
            FieldKind::Textarea,
            FieldKind::Select,
            FieldKind::Consent,
        ]),
        any::<bool>(),
        prop::option::of(any::<usize>()),
        prop::collection::vec(text(), 0..3),
    )
        .prop_map(
            |(name, label, kind, required, max_length, options)| FormField {
                name,
                label,
                kind,
                required,
                max_length,
                options,
            },
        )
}

fn site_config() -> impl Strategy<Value = SiteConfig> {
    (
        id(),
        "#[0-9a-fA-F]{6}",
        any::<bool>(),
        text(),
        any::<bool>(),
        prop::collection::vec(form_field(), 0..3),
        prop::collection::vec(text(), 3),
        any::<bool>(),
        (
            "#[0-9a-fA-F]{6}",
            0..3u8,
            any::<u32>(),
            any::<u32>(),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |(
                site,
                color,
                left,
                language,
                bot_enabled,
                prechat,
                words,
                identity_required,
                (text_color, scheme, z_index, offset, launcher_label),
            )| {
                let texts = Texts {
                    title: words[0].clone(),
                    stars: words[1].clone(),
                    you: words[2].clone(),
                    ..Texts::default()
                };
                SiteConfig {
                    site,
                    brand_color: Color::try_from(color).expect("colour"),
                    position: if left {
                        Position::BottomLeft
                    } else {
                        Position::BottomRight
                    },
                    dir: if offset % 2 == 0 {
                        TextDirection::Ltr
                    } else {
                        TextDirection::Rtl
                    },
                    language,
                    bot_enabled,
                    prechat,
                    texts,
                    identity_required,
                    brand_text_color: Color::try_from(text_color).expect("colour"),
                    color_scheme: match scheme {
                        0 => ColorScheme::Light,
                        1 => ColorScheme::Dark,
                        _ => ColorScheme::Auto,
                    },
                    z_index,
                    offset_x: offset,
                    offset_y: offset / 2,
                    launcher_label,
                    sound: z_index % 2 == 0,
                }
            },
        )
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::collection::btree_map(text(), text(), 0..3),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(user_id, name, email, custom, user_hash, jwt)| Identity {
            user_id,
            name,
            email,
            custom,
            user_hash,
            jwt,
        })
}

fn past_conversations() -> impl Strategy<Value = Vec<PastConversation>> {
    prop::collection::vec(
        (
            id(),
            any::<u64>(),
            prop::collection::vec((any::<u64>(), any::<u64>(), event()), 0..3),
        )
            .prop_map(|(conversation, started_ms, events)| PastConversation {
                conversation,
                started_ms,
                events: events
                    .into_iter()
                    .map(|(seq, at_ms, event)| EventRecord {
                        seq: Seq(seq),
                        at_ms,
                        event,
                    })
                    .collect(),
            }),
        0..3,
    )
}

/// Frames and bodies of every kind, as the server writes them, to mutate.
const SEEDS: [&str; 10] = [
    r#"{"type":"welcome","version":1,"token":"tok_1","conversation":"c1","last_seq":3,"replay":"http"}"#,
    r#"{"type":"event","seq":2,"at_ms":1700000000000,"event":{"kind":"message_received","id":"m1","author":{"kind":"visitor","name":"You"},"text":"h\u00e9\n\"llo\"","choices":[{"id":"pricing","label":"Pricing"}]}}"#,
    r#"{"type":"event","seq":9,"at_ms":1,"event":{"kind":"rated","stars":4,"comment":null}}"#,
    r#"{"type":"status","status":{"state":"queued","position":2,"waited_ms":1500}}"#,
    r#"{"type":"form_rejected","request":"r1","errors":[{"field":"email","problem":"too_long","max":5}]}"#,
    r#"{"type":"error","code":"rate_limited","message":"slow down"}"#,
    r#"{"type":"typing","name":"Ann","typing":true}"#,
    r##"{"site":"demo","brand_color":"#1f6feb","position":"bottom-left","prechat":[{"name":"email","label":"Email","kind":"email","required":true}],"texts":{"title":"Hi"}}"##,
    r#"[{"conversation":"c0","started_ms":10,"events":[{"seq":1,"at_ms":10,"event":{"kind":"missed"}}]}]"#,
    r#"[{"seq":1,"at_ms":10,"event":{"kind":"agent_joined","name":"Ann"}},{"seq":2,"at_ms":11,"event":{"kind":"chat_ended","by":"agent"}}]"#,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn server_frames_serde_encodes_lean_decodes(frame in server_frame()) {
        prop_assert_eq!(decode_server_frame(&frame.encode()), Ok(frame));
    }

    #[test]
    fn client_frames_lean_encodes_byte_for_byte_as_serde(frame in client_frame()) {
        let text = encode_client_frame(&frame);
        prop_assert_eq!(&text, &frame.encode());
        prop_assert_eq!(ClientFrame::decode(&text), Ok(frame));
    }

    #[test]
    fn hello_with_identity_lean_encodes_byte_for_byte_as_serde(
        frame in client_frame(),
        identity in prop::option::of(identity()),
    ) {
        let text = encode_client_frame_with_identity(&frame, identity.as_ref());
        prop_assert_eq!(&text, &frame.encode_with_identity(identity.as_ref()));
        let carried = if matches!(frame, ClientFrame::Hello { .. }) { identity } else { None };
        prop_assert_eq!(ClientFrame::decode_with_identity(&text), Ok((frame, carried)));
    }

    #[test]
    fn configurations_serde_encodes_lean_decodes(config in site_config()) {
        let text = serde_json::to_string(&config).expect("json");
        prop_assert_eq!(decode_site_config(&text), Ok(config));
    }

    #[test]
    fn history_and_transcripts_serde_encodes_lean_decodes(past in past_conversations()) {
        let text = serde_json::to_string(&past).expect("json");
        prop_assert_eq!(decode_history(&text), Ok(past.clone()));
        let events: Vec<EventRecord> = past.into_iter().flat_map(|p| p.events).collect();
        let text = serde_json::to_string(&events).expect("json");
        prop_assert_eq!(decode_events(&text), Ok(events));
    }

    #[test]
    fn random_text_is_decoded_alike(text in "(?s).{0,200}") {
        check_all(&text);
    }

    #[test]
    fn mutated_documents_are_decoded_alike(
        seed in 0..SEEDS.len(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        check_all(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_frames_with_json_bytes_are_decoded_alike(
        seed in 0..SEEDS.len(),
        flips in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(b"{}[]:,\"\\ 0-1.eEnulltruefalse".to_vec())),
            1..4,
        ),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        check_all(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn spliced_documents_are_decoded_alike(
        a in 0..SEEDS.len(),
        b in 0..SEEDS.len(),
        at in any::<prop::sample::Index>(),
    ) {
        let first = SEEDS[a];
        let cut = first.char_indices().map(|(i, _)| i).nth(at.index(first.len())).unwrap_or(first.len());
        check_all(&format!("{}{}", &first[..cut], SEEDS[b]));
    }

    #[test]
    fn numbers_are_decoded_alike(n in any::<i128>(), frac in prop::option::of("[.eE][-+]?[0-9]{0,3}")) {
        let n = format!("{n}{}", frac.unwrap_or_default());
        check_all(&format!(r#"{{"type":"ack","id":"m1","seq":{n}}}"#));
        check_all(&format!(r#"{{"type":"event","seq":1,"at_ms":1,"event":{{"kind":"rated","stars":{n}}}}}"#));
    }
}
