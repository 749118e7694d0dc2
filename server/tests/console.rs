//! The agent console's WebSocket and the guard of the agent side, against the real server
//! on port 0: sign-in with the admin token, the snapshot, rows that change live, two
//! consoles racing for one request, messages and typing both ways with a widget socket,
//! closing, and everything a stranger tries — no token, a wrong token, a foreign `Host`
//! or `Origin`, a cross-origin "simple" POST — refused without changing anything.

mod common;

use common::{BROADCAST, MANUAL_AGENTS, Server, Socket, config, recv_until, send, start_with};
use futures_util::{SinkExt, StreamExt};
use porchlight_protocol::console::{
    CONSOLE_SOCKET_PATH, ConsoleError, ConversationSummary, DeadlineKind, Stage,
};
use porchlight_protocol::{
    AdminToken, AgentId, AuthorKind, ClientFrame, ConsoleFrame, ConversationEvent, ConversationId,
    DeskFrame, MessageId, PROTOCOL_VERSION, ServerFrame,
};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How long any one expected frame may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// Opens the console socket with these `Host` and `Origin` headers.
async fn console_socket(
    server: &Server,
    host: &str,
    origin: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = format!("ws://{}{CONSOLE_SOCKET_PATH}", server.addr).into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("Host", host.parse().expect("header"));
    headers.insert("Origin", origin.parse().expect("header"));
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

async fn up(socket: &mut Socket, frame: ConsoleFrame) {
    socket
        .send(Message::text(frame.encode()))
        .await
        .expect("send");
}

/// The next desk frame, or `None` once the socket is closed.
async fn down(socket: &mut Socket) -> Option<DeskFrame> {
    loop {
        let next = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a frame in time");
        match next {
            Some(Ok(Message::Text(text))) => {
                return Some(DeskFrame::decode(text.as_str()).expect("a desk frame"));
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

/// Waits for the first desk frame `pick` accepts.
async fn down_until<T>(socket: &mut Socket, pick: impl Fn(DeskFrame) -> Option<T>) -> T {
    loop {
        let frame = down(socket).await.expect("the socket stays open");
        if let Some(found) = pick(frame) {
            return found;
        }
    }
}

/// The next row of `conversation` in `stage`.
async fn row(
    socket: &mut Socket,
    conversation: &ConversationId,
    stage: Stage,
) -> ConversationSummary {
    down_until(socket, |frame| match frame {
        DeskFrame::Conversation { summary, .. }
            if summary.id == *conversation && summary.stage == stage =>
        {
            Some(*summary)
        }
        _ => None,
    })
    .await
}

/// A console signed in as `agent` (`None`: an admin), its welcome consumed.
async fn console(server: &Server, agent: Option<&str>) -> (Socket, DeskFrame) {
    let own = server.addr.to_string();
    let mut socket = console_socket(server, &own, &format!("http://{own}"))
        .await
        .expect("the console socket opens");
    up(
        &mut socket,
        ConsoleFrame::Hello {
            version: PROTOCOL_VERSION,
            token: server.token.clone(),
            agent: agent.map(|a| AgentId::new(a).expect("id")),
        },
    )
    .await;
    let welcome = down(&mut socket).await.expect("welcome");
    assert!(matches!(welcome, DeskFrame::Welcome { .. }), "{welcome:?}");
    (socket, welcome)
}

#[tokio::test]
async fn two_consoles_race_for_a_request_and_exactly_one_wins() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let (mut ann, _) = console(&server, Some("ann")).await;
    let (mut ben, _) = console(&server, Some("ben")).await;
    let (_widget, conversation) = common::asking_visitor(&server).await;
    for console in [&mut ann, &mut ben] {
        let queued = row(console, &conversation, Stage::Queued).await;
        assert_eq!(queued.name.as_deref(), Some("Ada"));
        assert_eq!(queued.position, Some(1));
        let deadline = queued.deadline.expect("a queue deadline");
        assert_eq!(deadline.kind, DeadlineKind::Queue);
    }
    let accept = ConsoleFrame::Accept {
        conversation: conversation.clone(),
    };
    up(&mut ann, accept.clone()).await;
    up(&mut ben, accept).await;
    // Each console's answers come before its pong: a refusal, or nothing for the winner.
    // Both see the chat go live with the winner, before or after their answer.
    let mut refusals = Vec::new();
    let mut owners = Vec::new();
    for console in [&mut ann, &mut ben] {
        up(console, ConsoleFrame::Ping {}).await;
        let mut owner = None;
        loop {
            match down(console).await.expect("open") {
                DeskFrame::Pong {} => break,
                DeskFrame::Refused {
                    code,
                    conversation: Some(c),
                    ..
                } if c == conversation => refusals.push(code),
                DeskFrame::Conversation { summary, .. }
                    if summary.id == conversation && summary.stage == Stage::Live =>
                {
                    owner = Some(summary.agent);
                }
                _ => {}
            }
        }
        owners.push(match owner {
            Some(owner) => owner,
            None => row(console, &conversation, Stage::Live).await.agent,
        });
    }
    assert_eq!(refusals, vec![ConsoleError::Taken], "exactly one loser");
    assert!(owners[0].is_some());
    assert_eq!(owners[0], owners[1]);
    let state = common::http(&server, "GET", "/mock/state", &[], "")
        .await
        .json();
    assert_eq!(state["live"].as_array().map(Vec::len), Some(1), "{state}");
    assert!(state["queue"].as_array().is_some_and(|q| q.is_empty()));
}

#[tokio::test]
async fn messages_and_typing_go_both_ways_and_only_an_accepted_chat_closes() {
    let server = start_with(config(
        "mode = \"time-based\"\nqueue_time_secs = 60\nacceptance_time_secs = 60",
        MANUAL_AGENTS,
    ))
    .await;
    let (mut ann, _) = console(&server, Some("ann")).await;
    let (mut widget, conversation) = common::asking_visitor(&server).await;
    let engaged = row(&mut ann, &conversation, Stage::Connecting).await;
    assert_eq!(engaged.agent, Some(AgentId::new("ann").expect("id")));
    assert_eq!(
        engaged.deadline.map(|d| d.kind),
        Some(DeadlineKind::Acceptance)
    );
    // Closing before starting is refused.
    up(
        &mut ann,
        ConsoleFrame::Close {
            conversation: conversation.clone(),
        },
    )
    .await;
    let code = down_until(&mut ann, |f| match f {
        DeskFrame::Refused { code, .. } => Some(code),
        _ => None,
    })
    .await;
    assert_eq!(code, ConsoleError::NotAllowed);

    up(
        &mut ann,
        ConsoleFrame::Accept {
            conversation: conversation.clone(),
        },
    )
    .await;
    row(&mut ann, &conversation, Stage::Live).await;
    up(
        &mut ann,
        ConsoleFrame::Open {
            conversation: conversation.clone(),
        },
    )
    .await;
    let answers = down_until(&mut ann, |f| match f {
        DeskFrame::Detail { answers, .. } => Some(answers),
        _ => None,
    })
    .await;
    assert!(answers.iter().any(|a| a.value == "ada@example.com"));

    // Agent → visitor, acked once even when resent.
    let said = ConsoleFrame::SendText {
        conversation: conversation.clone(),
        id: MessageId::new("a1").expect("id"),
        text: "<b>Hello</b> Ada".into(),
    };
    up(&mut ann, said.clone()).await;
    up(&mut ann, said).await;
    let mut acked = Vec::new();
    while acked.len() < 2 {
        acked.push(
            down_until(&mut ann, |f| match f {
                DeskFrame::Ack { seq, .. } => Some(seq),
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(acked[0], acked[1]);
    let heard = recv_until(&mut widget, |f| {
        matches!(
            f,
            ServerFrame::Event {
                event: ConversationEvent::MessageReceived { author, .. },
                ..
            } if author.kind == AuthorKind::Agent
        )
    })
    .await;
    let ServerFrame::Event {
        event: ConversationEvent::MessageReceived { text, .. },
        ..
    } = heard
    else {
        unreachable!()
    };
    assert_eq!(text, "<b>Hello</b> Ada");

    // Typing both ways.
    up(
        &mut ann,
        ConsoleFrame::Typing {
            conversation: conversation.clone(),
            typing: true,
        },
    )
    .await;
    recv_until(
        &mut widget,
        |f| matches!(f, ServerFrame::Typing { name, typing: true } if name == "Ann"),
    )
    .await;
    send(&mut widget, ClientFrame::Typing { typing: true }).await;
    down_until(&mut ann, |f| match f {
        DeskFrame::VisitorTyping { typing: true, .. } => Some(()),
        _ => None,
    })
    .await;

    // Visitor → agent, as an event of the open conversation.
    send(
        &mut widget,
        ClientFrame::SendText {
            id: MessageId::new("v1").expect("id"),
            text: "Thanks!".into(),
        },
    )
    .await;
    down_until(&mut ann, |f| match f {
        DeskFrame::Event {
            event: ConversationEvent::MessageReceived { text, .. },
            ..
        } if text == "Thanks!" => Some(()),
        _ => None,
    })
    .await;

    up(
        &mut ann,
        ConsoleFrame::Close {
            conversation: conversation.clone(),
        },
    )
    .await;
    let ended = row(&mut ann, &conversation, Stage::Ended).await;
    assert_eq!(ended.agent, Some(AgentId::new("ann").expect("id")));
    // Search answers with each hit's row, then the hits.
    up(
        &mut ann,
        ConsoleFrame::Search {
            query: "THANKS".into(),
        },
    )
    .await;
    let mut rows = Vec::new();
    let found = loop {
        match down(&mut ann).await.expect("open") {
            DeskFrame::Conversation { summary, .. } => rows.push(summary.id),
            DeskFrame::Found { conversations, .. } => break conversations,
            _ => {}
        }
    };
    assert_eq!(found, vec![conversation.clone()]);
    assert!(rows.contains(&conversation));
    recv_until(&mut widget, |f| {
        matches!(
            f,
            ServerFrame::Event {
                event: ConversationEvent::ChatEnded {
                    by: AuthorKind::Agent
                },
                ..
            }
        )
    })
    .await;
}

#[tokio::test]
async fn agents_go_offline_and_everyone_sees_it_but_an_admin_only_watches() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let (mut ann, _) = console(&server, Some("ann")).await;
    let (mut admin, welcome) = console(&server, None).await;
    let DeskFrame::Welcome { agent, agents, .. } = welcome else {
        unreachable!()
    };
    assert_eq!(agent, None);
    assert!(agents.iter().all(|a| a.online));
    up(&mut ann, ConsoleFrame::SetOnline { online: false }).await;
    let status = down_until(&mut admin, |f| match f {
        DeskFrame::Agent { status } => Some(status),
        _ => None,
    })
    .await;
    assert_eq!((status.id.as_str(), status.online), ("ann", false));
    up(&mut admin, ConsoleFrame::SetOnline { online: false }).await;
    let code = down_until(&mut admin, |f| match f {
        DeskFrame::Refused { code, .. } => Some(code),
        _ => None,
    })
    .await;
    assert_eq!(code, ConsoleError::NotAllowed);
    let state = common::http(&server, "GET", "/mock/state", &[], "")
        .await
        .json();
    let online: Vec<bool> = state["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| a["online"].as_bool().unwrap_or_default())
        .collect();
    assert_eq!(online, vec![false, true]);
}

#[tokio::test]
async fn the_console_socket_refuses_a_wrong_token_an_unknown_agent_and_bad_frames() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let own = server.addr.to_string();
    for (token, agent, expected) in [
        ("wrong", Some("ann"), ConsoleError::Unauthorized),
        (
            server.token.as_str(),
            Some("zed"),
            ConsoleError::UnknownAgent,
        ),
    ] {
        let mut socket = console_socket(&server, &own, &format!("http://{own}"))
            .await
            .expect("opens");
        up(
            &mut socket,
            ConsoleFrame::Hello {
                version: PROTOCOL_VERSION,
                token: AdminToken::new(token).expect("token"),
                agent: agent.map(|a| AgentId::new(a).expect("id")),
            },
        )
        .await;
        assert!(matches!(
            down(&mut socket).await,
            Some(DeskFrame::Refused { code, .. }) if code == expected
        ));
        assert_eq!(down(&mut socket).await, None, "then closed");
    }
    // A signed-in console's malformed frame is refused and changes nothing.
    let (mut ann, _) = console(&server, Some("ann")).await;
    ann.send(Message::text(
        r#"{"type":"accept","conversation":"../../x"}"#,
    ))
    .await
    .expect("send");
    let code = down_until(&mut ann, |f| match f {
        DeskFrame::Refused { code, .. } => Some(code),
        _ => None,
    })
    .await;
    assert_eq!(code, ConsoleError::MalformedFrame);
    up(&mut ann, ConsoleFrame::Ping {}).await;
    down_until(&mut ann, |f| matches!(f, DeskFrame::Pong {}).then_some(())).await;
}

#[tokio::test]
async fn a_foreign_host_or_origin_cannot_open_the_console_socket() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let own = server.addr.to_string();
    // DNS rebinding: the page's origin and Host both name the attacker's domain.
    let rebound = console_socket(&server, "evil.example", "http://evil.example").await;
    assert!(rebound.is_err(), "a foreign Host is refused");
    let cross = console_socket(&server, &own, "http://evil.example").await;
    assert!(cross.is_err(), "a foreign Origin is refused");
    assert!(
        console_socket(&server, &own, &format!("http://{own}"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_control_api_needs_the_token_its_own_host_and_json() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let addr = server.addr;
    let call = |method: &'static str, path: &'static str, headers: Vec<(&'static str, String)>| async move {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        porchlight_server::client::raw_call(addr, method, path, &headers, r#"{"online":false}"#)
            .await
            .expect("an answer")
    };
    let bearer = format!("Bearer {}", server.token);
    let no_token = call("GET", "/mock/state", vec![]).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.json()["error"], "unauthorized");
    let wrong = call(
        "GET",
        "/mock/state",
        vec![("Authorization", "Bearer nope".into())],
    )
    .await;
    assert_eq!(wrong.status, 401);
    let rebound = call(
        "GET",
        "/mock/state",
        vec![
            ("Authorization", bearer.clone()),
            ("Host", "evil.example".into()),
        ],
    )
    .await;
    assert_eq!(rebound.status, 403);
    assert_eq!(rebound.json()["error"], "foreign_host");
    // What `fetch(…, {mode: 'no-cors', method: 'POST'})` from another page sends: a text
    // body, its own Origin, no credential. Refused, and nobody goes offline; no CORS
    // header invites the page to read anything.
    let no_cors = call(
        "POST",
        "/mock/agents/ann/online",
        vec![
            ("Origin", "http://evil.example".into()),
            ("Content-Type", "text/plain;charset=UTF-8".into()),
        ],
    )
    .await;
    assert_eq!(no_cors.status, 401);
    assert_eq!(no_cors.header("access-control-allow-origin"), None);
    let with_token_but_text = call(
        "POST",
        "/mock/agents/ann/online",
        vec![
            ("Authorization", bearer.clone()),
            ("Content-Type", "text/plain".into()),
        ],
    )
    .await;
    assert_eq!(with_token_but_text.status, 415);
    let state = common::http(&server, "GET", "/mock/state", &[], "")
        .await
        .json();
    assert_eq!(state["agents"][0]["online"], true, "{state}");
}

#[tokio::test]
async fn moving_the_mock_clock_is_told_to_every_console() {
    let server = start_with(config(BROADCAST, MANUAL_AGENTS)).await;
    let (mut admin, _) = console(&server, None).await;
    let answer = common::http(
        &server,
        "POST",
        "/mock/clock",
        &[],
        r#"{"advance_secs":3600}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let offset = down_until(&mut admin, |f| match f {
        DeskFrame::Clock { offset_ms, .. } => Some(offset_ms),
        _ => None,
    })
    .await;
    assert_eq!(offset, 3_600_000);
    // A console that signs in later is told in its snapshot.
    let (_, welcome) = console(&server, Some("ann")).await;
    assert!(matches!(
        welcome,
        DeskFrame::Welcome {
            clock_offset_ms: 3_600_000,
            ..
        }
    ));
}
