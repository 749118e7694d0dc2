//! Real `porchlight-server` processes sharing one PostgreSQL database: the visitor's
//! process is killed with SIGKILL while the visitor and the agent (on the other process)
//! both write; the visitor reconnects to the other process and finds every acked message
//! of both sides there once, gap-free, and the chat still live with its agent. And the
//! same behind a real balancer (nginx, round-robin), where every request of the agent's
//! may reach either process, and everyone reconnects through the balancer.

mod common;

use common::{Socket, connect_at, recv, send, valid_answers};
use porchlight_protocol::{
    AdminToken, ChatStatus, ClientFrame, ConversationEvent, ConversationId, MessageId,
    PROTOCOL_VERSION, RequestId, Seq, ServerFrame, SessionToken, SiteId,
};
use porchlight_server::balancer::{self, Balancer};
use porchlight_server::client::ControlClient;
use porchlight_server::process::ServerProcess;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

/// A server process on `url`; behind a balancer, reached as `public_host`.
fn start(url: &str, token: &AdminToken, public_host: Option<SocketAddr>) -> ServerProcess {
    let mut args = vec![
        "--widget-dir".to_string(),
        "no-widget-here".into(),
        "--db".into(),
        url.into(),
        "--admin-token".into(),
        token.as_str().into(),
    ];
    if let Some(host) = public_host {
        args.extend(["--public-host".into(), host.to_string()]);
    }
    ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_porchlight-server")), args)
        .expect("start porchlight-server")
}

async fn connect(server: &ServerProcess) -> Socket {
    connect_to(server.addr()).await
}

async fn connect_to(addr: SocketAddr) -> Socket {
    connect_at(addr, &format!("http://{addr}"))
        .await
        .expect("connect")
}

/// Says hello; returns the token, conversation, and every event replayed before the
/// status, with the status.
async fn welcome(
    socket: &mut Socket,
    token: Option<SessionToken>,
    conversation: Option<ConversationId>,
) -> (
    SessionToken,
    ConversationId,
    Vec<(Seq, ConversationEvent)>,
    ChatStatus,
) {
    send(
        socket,
        ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            site: SiteId::new("demo").expect("id"),
            token,
            conversation,
            last_seq: Seq(0),
        },
    )
    .await;
    let ServerFrame::Welcome {
        token,
        conversation,
        ..
    } = recv(socket).await
    else {
        panic!("expected welcome");
    };
    let mut events = Vec::new();
    loop {
        match recv(socket).await {
            ServerFrame::Event { seq, event, .. } => events.push((seq, event)),
            ServerFrame::Status { status, .. } => return (token, conversation, events, status),
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn send_acked(socket: &mut Socket, id: &MessageId) -> Seq {
    send(
        socket,
        ClientFrame::SendText {
            id: id.clone(),
            text: format!("visitor {id}"),
        },
    )
    .await;
    loop {
        if let ServerFrame::Ack { id: acked, seq } = recv(socket).await
            && acked == *id
        {
            return seq;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_visitors_process_loses_nothing_acked_and_the_chat_goes_on_elsewhere() {
    const ROUNDS: usize = 24;
    let url = common::engine::postgres()
        .fresh_database("processes")
        .expect("a fresh database");
    let token = AdminToken::new(porchlight_server::store::random_id()).expect("token");
    let visitors_process = start(&url, &token, None);
    let agents_process = start(&url, &token, None);
    let agent_api = ControlClient::new(agents_process.addr(), token.clone());

    let mut socket = connect(&visitors_process).await;
    let (session, conversation, ..) = welcome(&mut socket, None, None).await;
    send(
        &mut socket,
        ClientFrame::RequestAgent {
            request: RequestId::new("r1").expect("id"),
            answers: valid_answers(),
        },
    )
    .await;
    // The agent, on the other process, accepts as soon as the request reaches it.
    accept_when_asked(&agent_api, &conversation).await;

    let mut acked = Vec::new();
    let mut agent_sent = Vec::new();
    for i in 0..ROUNDS {
        if i > 0 && i % 12 == 0 {
            socket = connect(&visitors_process).await;
            welcome(
                &mut socket,
                Some(session.clone()),
                Some(conversation.clone()),
            )
            .await;
        }
        let id = MessageId::new(format!("v{i}")).expect("id");
        acked.push(send_acked(&mut socket, &id).await);
        let text = format!("agent {i}");
        let answer = agent_api
            .post(
                "/mock/agents/ann/messages",
                &serde_json::json!({ "conversation": conversation, "text": text }),
            )
            .await
            .expect("an answer");
        assert_eq!(answer.status, 200, "{}", answer.text);
        agent_sent.push(text);
    }
    visitors_process.kill_9();

    // The balancer would send the visitor's next connection to the process left.
    let mut socket = connect(&agents_process).await;
    let (same, same_conversation, events, status) = welcome(
        &mut socket,
        Some(session.clone()),
        Some(conversation.clone()),
    )
    .await;
    assert_eq!((same, same_conversation), (session, conversation.clone()));
    assert!(
        matches!(status, ChatStatus::Live { .. }),
        "still live with its agent: {status:?}"
    );
    let seqs: Vec<u64> = events.iter().map(|(s, _)| s.0).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gap-free"
    );
    let mut times: HashMap<String, usize> = HashMap::new();
    for (_, event) in &events {
        if let ConversationEvent::MessageReceived { text, .. } = event {
            *times.entry(text.clone()).or_default() += 1;
        }
    }
    let expected: Vec<String> = (0..ROUNDS)
        .map(|i| format!("visitor v{i}"))
        .chain(agent_sent.iter().cloned())
        .collect();
    let lost = expected.iter().filter(|t| !times.contains_key(*t)).count();
    let duplicated: usize = expected
        .iter()
        .filter_map(|t| times.get(t))
        .map(|n| n - 1)
        .sum();
    println!(
        "cluster kill -9: {} visitor + {} agent messages acked; after the kill the other \
         process replays {} events: lost {lost}, duplicated {duplicated}",
        acked.len(),
        agent_sent.len(),
        events.len()
    );
    assert_eq!((lost, duplicated), (0, 0));
    // The chat goes on through the process left.
    let id = MessageId::new("after").expect("id");
    send_acked(&mut socket, &id).await;
}

/// Accepts `conversation` for Ann through `api` as soon as the request reaches it.
async fn accept_when_asked(api: &ControlClient, conversation: &ConversationId) {
    let accept = serde_json::json!({ "conversation": conversation });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = api
            .post("/mock/agents/ann/accept", &accept)
            .await
            .expect("an answer");
        if answer.status == 200 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the request never reached the agent: {}",
            answer.text
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_balancer_a_killed_process_loses_nothing_and_everyone_goes_on() {
    const ROUNDS: usize = 20;
    let url = common::engine::postgres()
        .fresh_database("balanced")
        .expect("a fresh database");
    let token = AdminToken::new(porchlight_server::store::random_id()).expect("token");
    let front = balancer::free_addr(Ipv4Addr::LOCALHOST.into()).expect("a free port");
    let doomed = start(&url, &token, Some(front));
    let survivor = start(&url, &token, Some(front));
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cluster-balancer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let nginx = Balancer::start(&dir, front, &[doomed.addr(), survivor.addr()])
        .expect("start the balancer");
    // Every call of the agent's goes through the balancer: round robin, either process.
    let agent_api = ControlClient::new(nginx.addr(), token.clone());

    let mut socket = connect_to(nginx.addr()).await;
    let (session, conversation, ..) = welcome(&mut socket, None, None).await;
    send(
        &mut socket,
        ClientFrame::RequestAgent {
            request: RequestId::new("r1").expect("id"),
            answers: valid_answers(),
        },
    )
    .await;
    accept_when_asked(&agent_api, &conversation).await;
    let mut agent_sent = Vec::new();
    for i in 0..ROUNDS {
        if i > 0 && i % 10 == 0 {
            socket = connect_to(nginx.addr()).await;
            welcome(
                &mut socket,
                Some(session.clone()),
                Some(conversation.clone()),
            )
            .await;
        }
        send_acked(&mut socket, &MessageId::new(format!("v{i}")).expect("id")).await;
        let text = format!("agent {i}");
        let answer = agent_api
            .post(
                "/mock/agents/ann/messages",
                &serde_json::json!({ "conversation": conversation, "text": text }),
            )
            .await
            .expect("an answer");
        assert_eq!(answer.status, 200, "{}", answer.text);
        agent_sent.push(text);
    }
    doomed.kill_9();

    // Everyone comes back through the balancer, which skips the dead process.
    let mut socket = connect_to(nginx.addr()).await;
    let (same, _, events, status) = welcome(
        &mut socket,
        Some(session.clone()),
        Some(conversation.clone()),
    )
    .await;
    assert_eq!(same, session);
    assert!(matches!(status, ChatStatus::Live { .. }), "{status:?}");
    let mut times: HashMap<String, usize> = HashMap::new();
    for (_, event) in &events {
        if let ConversationEvent::MessageReceived { text, .. } = event {
            *times.entry(text.clone()).or_default() += 1;
        }
    }
    let expected: Vec<String> = (0..ROUNDS)
        .map(|i| format!("visitor v{i}"))
        .chain(agent_sent)
        .collect();
    let lost = expected.iter().filter(|t| !times.contains_key(*t)).count();
    let duplicated: usize = expected
        .iter()
        .filter_map(|t| times.get(t))
        .map(|n| n - 1)
        .sum();
    println!(
        "behind the balancer: {} messages acked through two processes; after kill -9 of one \
         the visitor replays {} events through the balancer: lost {lost}, duplicated {duplicated}",
        expected.len(),
        events.len()
    );
    assert_eq!((lost, duplicated), (0, 0));
    for i in 0..4 {
        let answer = agent_api
            .post(
                "/mock/agents/ann/messages",
                &serde_json::json!({ "conversation": conversation, "text": format!("after {i}") }),
            )
            .await
            .expect("an answer");
        assert_eq!(answer.status, 200, "the agent goes on: {}", answer.text);
    }
    send_acked(&mut socket, &MessageId::new("after").expect("id")).await;
    drop(nginx);
    drop(survivor);
    let _ = std::fs::remove_dir_all(&dir);
}
