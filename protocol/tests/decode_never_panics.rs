//! Property tests of frame decoding: whatever arrives — random text, golden frames with
//! bytes flipped, cut or spliced — decoding returns a frame or a typed error, never panics,
//! and whatever decodes encodes back to something that decodes to the same frame. The
//! widget's lean decoder gets the same input (`lean.rs` also holds it to serde's answers).
#![cfg(not(target_arch = "wasm32"))]

use porchlight_protocol::{ClientFrame, ServerFrame, lean};
use proptest::prelude::*;

/// Real frames of both directions, to mutate.
const SEEDS: [&str; 8] = [
    r#"{"type":"hello","version":1,"site":"demo","token":"tok_1","conversation":"c1","last_seq":7}"#,
    r#"{"type":"send_text","id":"m1","text":"Hi <b>there</b>"}"#,
    r#"{"type":"request_agent","request":"r1","answers":{"email":"ada@example.com","name":"Ada"}}"#,
    r#"{"type":"rate","stars":5,"comment":"Great"}"#,
    r#"{"type":"event","seq":2,"at_ms":1700000000000,"event":{"kind":"message_received","id":"m1","author":{"kind":"visitor","name":"You"},"text":"hello","choices":[{"id":"pricing","label":"Pricing"}]}}"#,
    r#"{"type":"status","status":{"state":"queued","position":2,"waited_ms":1500}}"#,
    r#"{"type":"form_rejected","request":"r1","errors":[{"field":"email","problem":"too_long","max":5}]}"#,
    r#"{"type":"error","code":"rate_limited","message":"slow down"}"#,
];

fn check(text: &str) {
    if let Ok(frame) = ClientFrame::decode(text) {
        assert_eq!(ClientFrame::decode(&frame.encode()), Ok(frame));
    }
    if let Ok(frame) = ServerFrame::decode(text) {
        assert_eq!(ServerFrame::decode(&frame.encode()), Ok(frame));
    }
    if let Ok(frame) = lean::decode_server_frame(text) {
        assert_eq!(lean::decode_server_frame(&frame.encode()), Ok(frame));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_text_never_panics(text in ".{0,300}") {
        check(&text);
    }

    #[test]
    fn mutated_frames_never_panic(
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
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn spliced_frames_never_panic(a in 0..SEEDS.len(), b in 0..SEEDS.len(), at in any::<prop::sample::Index>()) {
        let first = SEEDS[a];
        let cut = first.char_indices().map(|(i, _)| i).nth(at.index(first.len())).unwrap_or(first.len());
        check(&format!("{}{}", &first[..cut], SEEDS[b]));
    }

    #[test]
    fn numbers_out_of_range_are_errors_not_panics(n in any::<i128>()) {
        check(&format!(r#"{{"type":"rate","stars":{n}}}"#));
        check(&format!(r#"{{"type":"ack","id":"m1","seq":{n}}}"#));
    }
}

#[test]
fn every_seed_decodes() {
    for seed in SEEDS {
        assert!(
            ClientFrame::decode(seed).is_ok() || ServerFrame::decode(seed).is_ok(),
            "{seed}"
        );
    }
}
