//! The inbound webhooks over HTTP, against the real server on the built-in demo's
//! channels: each platform's sample payload opens a conversation that the control API
//! shows; malformed, oversized and unknown-field payloads get a 400 (or 413) JSON error
//! naming the problem and change nothing; outboxes and the clock answer as documented.

mod common;

use common::{Server, http, start};
use serde_json::{Value, json};

async fn post(server: &Server, path: &str, body: &str) -> (u16, Value) {
    let answer = http(server, "POST", path, &[], body).await;
    (answer.status, answer.json())
}

fn conversations(state: &Value) -> usize {
    state["conversations"].as_array().map_or(0, Vec::len)
}

async fn state(server: &Server) -> Value {
    http(server, "GET", "/mock/state", &[], "").await.json()
}

fn samples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "messenger",
            json!({"object": "page", "entry": [{"id": "1047", "time": 1_767_225_600_000u64,
                "messaging": [{"sender": {"id": "6512"}, "recipient": {"id": "1047"},
                    "timestamp": 1_767_225_600_000u64,
                    "message": {"mid": "m_1", "text": "Do you ship to Spain?"}}]}]}),
        ),
        (
            "instagram",
            json!({"object": "instagram", "entry": [{"id": "1784", "time": 1_767_225_600_000u64,
                "messaging": [{"sender": {"id": "9001"}, "recipient": {"id": "1784"},
                    "timestamp": 1_767_225_600_000u64,
                    "message": {"mid": "ig_1", "text": "Love it!",
                        "reply_to": {"story": {"id": "s1", "url": "https://cdn.example/story.jpg"}}}}]}]}),
        ),
        (
            "facebook_comments",
            json!({"object": "page", "entry": [{"id": "1047", "time": 1_767_225_600u64,
                "changes": [{"field": "feed", "value": {"item": "comment", "verb": "add",
                    "post_id": "1047_55", "comment_id": "55_1", "parent_id": "1047_55",
                    "from": {"id": "222", "name": "Priya"}, "message": "Cold brew?",
                    "created_time": 1_767_225_600u64}}]}]}),
        ),
        (
            "instagram_comments",
            json!({"object": "instagram", "entry": [{"id": "1784", "time": 1_767_225_600u64,
                "changes": [{"field": "comments", "value": {"id": "c77", "text": "Grind?",
                    "from": {"id": "333", "username": "coffee.andre"}, "media": {"id": "m9"}}}]}]}),
        ),
        (
            "whatsapp",
            json!({"object": "whatsapp_business_account", "entry": [{"id": "w1", "changes": [{
                "field": "messages", "value": {"messaging_product": "whatsapp",
                "contacts": [{"wa_id": "447700900123", "profile": {"name": "Tom"}}],
                "messages": [{"from": "447700900123", "id": "wamid.1", "timestamp": "1767225600",
                    "type": "text", "text": {"body": "Where is my order?"}}]}}]}]}),
        ),
        (
            "telegram",
            json!({"update_id": 1, "message": {"message_id": 5,
                "from": {"id": 42, "is_bot": false, "first_name": "Jonas"},
                "chat": {"id": 42, "type": "private"}, "date": 1_767_225_600u64,
                "text": "Can I change my subscription?"}}),
        ),
    ]
}

#[tokio::test]
async fn each_platforms_sample_payload_opens_a_conversation() {
    let server = start().await;
    for (channel, payload) in samples() {
        let (status, answer) = post(
            &server,
            &format!("/mock/channels/{channel}/inbound"),
            &payload.to_string(),
        )
        .await;
        assert_eq!(status, 200, "{channel}: {answer}");
        let conversation = answer["conversation"].as_str().expect("a conversation");
        let view = http(
            &server,
            "GET",
            &format!("/mock/conversations/{conversation}"),
            &[],
            "",
        )
        .await
        .json();
        assert_eq!(
            view["status"], "queued",
            "{channel}: routed like a web request"
        );
        // The same webhook delivered twice joins the same conversation, storing nothing.
        let (_, again) = post(
            &server,
            &format!("/mock/channels/{channel}/inbound"),
            &payload.to_string(),
        )
        .await;
        assert_eq!(again["conversation"], answer["conversation"], "{channel}");
    }
    assert_eq!(conversations(&state(&server).await), 6);
}

#[tokio::test]
async fn bad_payloads_are_refused_with_the_problem_named_and_change_nothing() {
    let server = start().await;
    let messenger = samples()[0].1.clone();
    let mut unknown_field = messenger.clone();
    unknown_field["entry"][0]["messaging"][0]["message"]["mood"] = json!("happy");
    let mut empty_text = messenger.clone();
    empty_text["entry"][0]["messaging"][0]["message"]["text"] = json!("   ");
    let cases = [
        (
            "messenger",
            "{not json".to_string(),
            "not a Messenger webhook",
        ),
        ("messenger", unknown_field.to_string(), "mood"),
        ("messenger", empty_text.to_string(), "empty"),
        ("whatsapp", messenger.to_string(), "object"),
    ];
    for (channel, body, named) in cases {
        let (status, error) =
            post(&server, &format!("/mock/channels/{channel}/inbound"), &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["error"], "bad_payload");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.to_lowercase().contains(&named.to_lowercase()),
            "{message:?} should name {named:?}"
        );
    }
    let huge = format!(r#"{{"object":"page","pad":"{}"}}"#, "x".repeat(100_000));
    let (status, _) = post(&server, "/mock/channels/messenger/inbound", &huge).await;
    assert_eq!(status, 413);
    let (status, error) = post(
        &server,
        "/mock/channels/nowhere/inbound",
        &messenger.to_string(),
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (404, Some("unknown_channel"))
    );
    assert_eq!(conversations(&state(&server).await), 0, "nothing changed");
    // And the server still serves.
    let (status, _) = post(
        &server,
        "/mock/channels/messenger/inbound",
        &messenger.to_string(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_late_send_is_refused_with_the_platforms_code_and_the_outbox_shows_what_went_out() {
    let server = start().await;
    let (_, answer) = post(
        &server,
        "/mock/channels/whatsapp/inbound",
        &samples()[4].1.to_string(),
    )
    .await;
    let conversation = answer["conversation"].as_str().expect("conversation");
    let body = |extra: Value| {
        let mut b = json!({"conversation": conversation});
        if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(extra.clone());
        }
        b.to_string()
    };
    assert_eq!(
        post(&server, "/mock/agents/ann/accept", &body(json!({})))
            .await
            .0,
        200
    );
    let (status, _) = post(
        &server,
        "/mock/agents/ann/messages",
        &body(json!({"text": "On its way"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, clock) = post(&server, "/mock/clock", r#"{"advance_secs": 90000}"#).await;
    assert_eq!(status, 200);
    assert_eq!(clock["offset_ms"], 90_000_000);
    let (status, refused) = post(
        &server,
        "/mock/agents/ann/messages",
        &body(json!({"text": "Too late"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"], "platform_refused");
    assert_eq!(refused["platform"]["code"], 131_047);
    let (status, _) = post(
        &server,
        "/mock/agents/ann/template",
        &body(json!({"template": "follow_up"})),
    )
    .await;
    assert_eq!(status, 200);
    let outbox = http(&server, "GET", "/mock/channels/whatsapp/outbox", &[], "")
        .await
        .json();
    let kinds: Vec<&str> = outbox
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["call"]["body"]["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        vec!["text", "template"],
        "the late text went nowhere"
    );
}

#[tokio::test]
async fn comment_actions_over_the_control_api() {
    let server = start().await;
    let (_, answer) = post(
        &server,
        "/mock/channels/facebook_comments/inbound",
        &samples()[2].1.to_string(),
    )
    .await;
    let conversation = answer["conversation"].as_str().expect("conversation");
    let on = |extra: &str| format!(r#"{{"conversation":"{conversation}"{extra}}}"#);
    assert_eq!(
        post(&server, "/mock/agents/ann/accept", &on("")).await.0,
        200
    );
    let private = on(r#","text":"Recipe sent""#);
    assert_eq!(
        post(&server, "/mock/agents/ann/private-reply", &private)
            .await
            .0,
        200
    );
    let (status, again) = post(&server, "/mock/agents/ann/private-reply", &private).await;
    assert_eq!(
        (status, again["platform"]["code"].as_u64()),
        (400, Some(10_900))
    );
    assert_eq!(post(&server, "/mock/agents/ann/hide", &on("")).await.0, 200);
    assert_eq!(
        post(&server, "/mock/agents/ann/delete", &on("")).await.0,
        200
    );
    let (status, gone) = post(&server, "/mock/agents/ann/hide", &on("")).await;
    assert_eq!(
        (status, gone["platform"]["code"].as_u64()),
        (400, Some(100))
    );
    let outbox = http(
        &server,
        "GET",
        "/mock/channels/facebook_comments/outbox",
        &[],
        "",
    )
    .await
    .json();
    let methods: Vec<&str> = outbox
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["call"]["method"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(methods, vec!["POST", "POST", "DELETE"]);
}
