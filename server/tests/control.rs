//! The control API over HTTP, driving agents while a visitor is connected over a real
//! WebSocket: the visitor sees every step, and bad calls get the documented errors.

mod common;

use common::{BROADCAST, MANUAL_AGENTS, Socket, config, http, recv_until, send, start_with};
use porchlight_protocol::{AuthorKind, ChatStatus, ClientFrame, ConversationEvent, ServerFrame};

/// A visitor who asked for a human; returns the socket and the conversation id.
async fn queued_visitor(server: &common::Server) -> (Socket, String) {
    let (mut socket, conversation) = common::asking_visitor(server).await;
    let status = recv_until(
        &mut socket,
        |f| matches!(f, ServerFrame::Status { status } if *status != ChatStatus::Bot {}),
    )
    .await;
    assert_eq!(
        status,
        ServerFrame::Status {
            status: ChatStatus::Queued {
                position: 1,
                waited_ms: 0
            }
        }
    );
    (socket, conversation.to_string())
}

async fn post(server: &common::Server, path: &str, body: &str) -> (u16, serde_json::Value) {
    let answer = http(server, "POST", path, &[], body).await;
    (answer.status, answer.json())
}

async fn get(server: &common::Server, path: &str) -> (u16, serde_json::Value) {
    let answer = http(server, "GET", path, &[], "").await;
    (answer.status, answer.json())
}

#[tokio::test]
async fn an_agent_driven_by_hand_accepts_writes_types_and_closes() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let (mut visitor, conversation) = queued_visitor(&server).await;

    let (status, state) = get(&server, "/mock/state").await;
    assert_eq!(status, 200);
    assert_eq!(state["queue"][0]["conversation"], conversation.as_str());
    assert_eq!(state["queue"][0]["position"], 1);
    assert_eq!(state["agents"][0]["id"], "ann");

    let body = format!(r#"{{"conversation":"{conversation}"}}"#);
    let (status, view) = post(&server, "/mock/agents/ann/accept", &body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "live");
    assert_eq!(view["prechat"]["email"], "ada@example.com");
    let joined = recv_until(&mut visitor, |f| matches!(f, ServerFrame::Event { .. })).await;
    assert!(matches!(
        joined,
        ServerFrame::Event {
            event: ConversationEvent::AgentJoined { ref name },
            ..
        } if name == "Ann"
    ));

    let typing = format!(r#"{{"conversation":"{conversation}","typing":true}}"#);
    assert_eq!(
        post(&server, "/mock/agents/ann/typing", &typing).await.0,
        200
    );
    assert_eq!(
        recv_until(&mut visitor, |f| matches!(f, ServerFrame::Typing { .. })).await,
        ServerFrame::Typing {
            name: "Ann".into(),
            typing: true
        }
    );

    let message = format!(r#"{{"conversation":"{conversation}","text":"Hello <b>Ada</b>"}}"#);
    let (status, view) = post(&server, "/mock/agents/ann/messages", &message).await;
    assert_eq!(status, 200, "{view}");
    let said = recv_until(&mut visitor, |f| {
        matches!(
            f,
            ServerFrame::Event {
                event: ConversationEvent::MessageReceived { .. },
                ..
            }
        )
    })
    .await;
    let ServerFrame::Event {
        event: ConversationEvent::MessageReceived { author, text, .. },
        ..
    } = said
    else {
        panic!("expected a message");
    };
    assert_eq!(
        (author.kind, text.as_str()),
        (AuthorKind::Agent, "Hello <b>Ada</b>")
    );

    let (status, view) = post(&server, "/mock/agents/ann/close", &body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        recv_until(&mut visitor, |f| matches!(f, ServerFrame::Status { .. })).await,
        ServerFrame::Status {
            status: ChatStatus::Ended { rated: false }
        }
    );
    send(
        &mut visitor,
        ClientFrame::Rate {
            stars: 5,
            comment: Some("Thanks".into()),
        },
    )
    .await;
    assert_eq!(
        recv_until(&mut visitor, |f| matches!(f, ServerFrame::Status { .. })).await,
        ServerFrame::Status {
            status: ChatStatus::Ended { rated: true }
        }
    );
    let (status, view) = get(&server, &format!("/mock/conversations/{conversation}")).await;
    assert_eq!(status, 200);
    assert_eq!(view["rating"]["stars"], 5);
    let transcript = view["transcript"].as_array().expect("transcript");
    let last = transcript.last().expect("a line");
    assert_eq!(last["author_kind"], "agent");
    assert_eq!(last["author_name"], "Ann");
    assert!(last["seq"].as_u64().is_some() && last["at_ms"].as_u64().is_some());
    let (_, state) = get(&server, "/mock/state").await;
    assert_eq!(state["history"][0]["conversation"], conversation.as_str());
}

#[tokio::test]
async fn bad_control_calls_get_typed_errors() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let (_visitor, conversation) = queued_visitor(&server).await;
    let body = format!(r#"{{"conversation":"{conversation}"}}"#);

    let (status, error) = post(&server, "/mock/agents/zed/accept", &body).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (404, Some("unknown_agent"))
    );
    let (status, error) = post(
        &server,
        "/mock/agents/ann/accept",
        r#"{"conversation":"nope"}"#,
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (404, Some("unknown_conversation"))
    );
    let (status, error) = post(&server, "/mock/agents/ann/accept", "{not json").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("bad_request"))
    );
    let (status, error) = post(
        &server,
        "/mock/agents/ann/accept",
        r#"{"conversation":"x","extra":1}"#,
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("bad_request"))
    );
    // Closing or messaging before accepting is not allowed now.
    let (status, error) = post(&server, "/mock/agents/ann/close", &body).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (409, Some("not_allowed"))
    );
    let message = format!(r#"{{"conversation":"{conversation}","text":"hi"}}"#);
    let (status, _) = post(&server, "/mock/agents/ann/messages", &message).await;
    assert_eq!(status, 409);
    // Taken by Ann, then Ben cannot have it.
    assert_eq!(post(&server, "/mock/agents/ann/accept", &body).await.0, 200);
    let (status, error) = post(&server, "/mock/agents/ben/accept", &body).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (409, Some("not_allowed"))
    );
    let (status, _) = get(&server, "/mock/conversations/unknown").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn agents_can_be_switched_offline_and_back() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let (status, state) = post(&server, "/mock/agents/ann/online", r#"{"online":false}"#).await;
    assert_eq!(status, 200);
    assert_eq!(state["agents"][0]["online"], false);
    let (status, state) = post(&server, "/mock/agents/ann/online", r#"{"online":true}"#).await;
    assert_eq!(status, 200);
    assert_eq!(state["agents"][0]["online"], true);
}

#[tokio::test]
async fn history_needs_the_session_token() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let (status, _) = get(&server, "/api/v1/sites/demo/history").await;
    assert_eq!(status, 401);
    let answer = http(
        &server,
        "GET",
        "/api/v1/sites/demo/history",
        &[("Authorization", "Bearer unknown")],
        "",
    )
    .await;
    assert_eq!(answer.status, 401);
}
