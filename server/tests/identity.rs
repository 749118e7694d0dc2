//! Verified identity over real sockets and HTTP: `hello` with a valid `user_hash` or JWT,
//! forged, expired and other-subject proofs refused with `identity_refused`, `enforce`
//! refusing anonymous sockets and HTTP reads, the same user's history on a second browser,
//! the identity shown in the control API.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use porchlight_protocol::{
    ChatStatus, ClientFrame, ConversationId, ErrorCode, Identity, MessageId, PROTOCOL_VERSION, Seq,
    ServerFrame, SessionToken, SiteId,
};
use porchlight_server::config::ServerConfig;
use porchlight_server::identity::{now_secs, user_hash};
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "a site secret of some length";

fn identity_config(enforce: bool) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.customers.clear();
    config.identity.secret = Some(SECRET.into());
    config.identity.enforce = enforce;
    config.site.identity_required = enforce;
    config
}

fn hello(token: Option<SessionToken>) -> ClientFrame {
    ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        site: SiteId::new("demo").expect("id"),
        token,
        conversation: None,
        last_seq: Seq(0),
    }
}

fn hashed(user_id: &str) -> Identity {
    let mut identity = Identity::new(user_id);
    identity.name = Some("Ada Lovelace".into());
    identity.email = Some("ada@example.com".into());
    identity.custom.insert("plan".into(), "pro".into());
    identity.user_hash = Some(user_hash(SECRET.as_bytes(), user_id));
    identity
}

fn jwt(user_id: &str, sub: &str, exp: u64) -> Identity {
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({"sub": sub, "exp": exp, "name": "Grace Hopper"}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode");
    let mut identity = Identity::new(user_id);
    identity.jwt = Some(token);
    identity
}

/// Opens a socket and says hello with `identity`.
async fn hello_as(
    server: &Server,
    token: Option<SessionToken>,
    identity: Option<&Identity>,
) -> Socket {
    let mut socket = connect(server).await;
    socket
        .send(Message::text(hello(token).encode_with_identity(identity)))
        .await
        .expect("send");
    socket
}

/// The welcome's token and conversation.
async fn welcomed(socket: &mut Socket) -> (SessionToken, ConversationId) {
    match recv(socket).await {
        ServerFrame::Welcome {
            token,
            conversation,
            ..
        } => (token, conversation),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// The error frame that refuses the hello, then the close.
async fn refused(socket: &mut Socket) -> ErrorCode {
    let ServerFrame::Error { code, .. } = recv(socket).await else {
        panic!("expected an error");
    };
    loop {
        match socket.next().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return code,
            Some(Ok(_)) => continue,
        }
    }
}

async fn say(socket: &mut Socket, id: &str, text: &str) {
    send(
        socket,
        ClientFrame::SendText {
            id: MessageId::new(id).expect("id"),
            text: text.into(),
        },
    )
    .await;
    recv_until(socket, |f| matches!(f, ServerFrame::Ack { .. })).await;
}

#[tokio::test]
async fn a_valid_user_hash_is_verified_and_shown_to_agents() {
    let server = start_with(identity_config(false)).await;
    let mut socket = hello_as(&server, None, Some(&hashed("user-42"))).await;
    let (_, conversation) = welcomed(&mut socket).await;
    let view = http(
        &server,
        "GET",
        &format!("/mock/conversations/{conversation}"),
        &[],
        "",
    )
    .await
    .json();
    let identity = &view["identity"];
    assert_eq!(identity["user_id"], "user-42");
    assert_eq!(identity["name"], "Ada Lovelace");
    assert_eq!(identity["email"], "ada@example.com");
    assert_eq!(identity["custom"]["plan"], "pro");
    assert_eq!(identity["verified"], true);
    assert!(
        identity.get("user_hash").is_none(),
        "the proof is not shown"
    );
}

#[tokio::test]
async fn a_valid_jwt_is_verified_with_its_signed_name() {
    let server = start_with(identity_config(false)).await;
    let identity = jwt("user-7", "user-7", now_secs() + 300);
    let mut socket = hello_as(&server, None, Some(&identity)).await;
    let (_, conversation) = welcomed(&mut socket).await;
    let view = http(
        &server,
        "GET",
        &format!("/mock/conversations/{conversation}"),
        &[],
        "",
    )
    .await
    .json();
    assert_eq!(view["identity"]["user_id"], "user-7");
    assert_eq!(view["identity"]["name"], "Grace Hopper");
    assert_eq!(view["identity"]["verified"], true);
}

#[tokio::test]
async fn forged_expired_and_other_subject_proofs_are_refused() {
    let server = start_with(identity_config(false)).await;
    let mut forged = hashed("user-42");
    forged.user_hash = Some(user_hash(b"not the site's secret", "user-42"));
    let mut borrowed = hashed("user-43");
    borrowed.user_hash = hashed("user-42").user_hash;
    let mut bad_token = jwt("user-7", "user-7", now_secs() + 300);
    bad_token.jwt = bad_token.jwt.map(|t| format!("{t}x"));
    let mut no_proof = hashed("user-42");
    no_proof.user_hash = None;
    for (what, identity) in [
        ("forged hash", forged),
        ("another user's hash", borrowed),
        ("forged token", bad_token),
        ("expired token", jwt("user-7", "user-7", now_secs() - 10)),
        ("another subject", jwt("user-7", "user-8", now_secs() + 300)),
        ("no proof", no_proof),
    ] {
        let mut socket = hello_as(&server, None, Some(&identity)).await;
        assert_eq!(
            refused(&mut socket).await,
            ErrorCode::IdentityRefused,
            "{what}"
        );
    }
}

#[tokio::test]
async fn without_a_secret_an_identity_is_taken_as_claimed_but_unverified() {
    let mut config = ServerConfig::default();
    config.customers.clear();
    let server = start_with(config).await;
    let mut socket = hello_as(&server, None, Some(&Identity::new("someone"))).await;
    let (_, conversation) = welcomed(&mut socket).await;
    let view = http(
        &server,
        "GET",
        &format!("/mock/conversations/{conversation}"),
        &[],
        "",
    )
    .await
    .json();
    assert_eq!(view["identity"]["user_id"], "someone");
    assert_eq!(view["identity"]["verified"], false);
}

#[tokio::test]
async fn enforce_refuses_anonymous_sockets_and_http_reads() {
    let server = start_with(identity_config(true)).await;
    let config = anonymous_http(&server, "GET", "/api/v1/sites/demo/config", &[], "")
        .await
        .json();
    assert_eq!(config["identity_required"], true);
    assert!(config.get("identity").is_none() && !config.to_string().contains(SECRET));

    let mut anonymous = hello_as(&server, None, None).await;
    assert_eq!(refused(&mut anonymous).await, ErrorCode::IdentityRequired);

    // A session that is not a verified user's reads nothing over HTTP.
    let (token, conversation) = ("0123456789abcdef", "c0ffee");
    let bearer = format!("Bearer {token}");
    for path in [
        "/api/v1/sites/demo/history".to_string(),
        format!("/api/v1/sites/demo/conversations/{conversation}/events?after=0"),
    ] {
        let answer = anonymous_http(&server, "GET", &path, &[("Authorization", &bearer)], "").await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.text);
        assert_eq!(answer.json()["error"], "identity_required", "{path}");
    }

    // A verified visitor reads their own history.
    let mut socket = hello_as(&server, None, Some(&hashed("user-42"))).await;
    let (token, conversation) = welcomed(&mut socket).await;
    let bearer = format!("Bearer {token}");
    for path in [
        "/api/v1/sites/demo/history".to_string(),
        format!("/api/v1/sites/demo/conversations/{conversation}/events?after=0"),
    ] {
        let answer = anonymous_http(&server, "GET", &path, &[("Authorization", &bearer)], "").await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    }
}

#[tokio::test]
async fn the_same_user_sees_the_same_conversation_on_another_browser() {
    let server = start_with(identity_config(false)).await;
    let mut first = hello_as(&server, None, Some(&hashed("user-42"))).await;
    let (token, conversation) = welcomed(&mut first).await;
    say(&mut first, "m1", "Where is my parcel?").await;

    // Another browser: no token, the same verified user.
    let mut second = hello_as(&server, None, Some(&hashed("user-42"))).await;
    let (token2, conversation2) = welcomed(&mut second).await;
    assert_eq!((token2, conversation2), (token.clone(), conversation));
    let said = recv_until(&mut second, |f| {
        matches!(f, ServerFrame::Event { event: porchlight_protocol::ConversationEvent::MessageReceived { text, .. }, .. } if text == "Where is my parcel?")
    })
    .await;
    assert!(matches!(said, ServerFrame::Event { .. }));

    // Another user on that first browser (its token presented) gets a session of their own.
    let mut other = hello_as(&server, Some(token.clone()), Some(&hashed("user-43"))).await;
    let (token3, _) = welcomed(&mut other).await;
    assert_ne!(token3, token);
}

#[tokio::test]
async fn an_anonymous_session_identifying_itself_becomes_the_users() {
    let server = start_with(identity_config(false)).await;
    let mut anonymous = hello_as(&server, None, None).await;
    let (token, conversation) = welcomed(&mut anonymous).await;
    say(&mut anonymous, "m1", "Hello before signing in").await;
    drop(anonymous);
    let mut signed_in = hello_as(&server, Some(token.clone()), Some(&hashed("user-9"))).await;
    assert_eq!(
        welcomed(&mut signed_in).await,
        (token.clone(), conversation.clone())
    );
    // Elsewhere, the same user finds it.
    let mut elsewhere = hello_as(&server, None, Some(&hashed("user-9"))).await;
    assert_eq!(welcomed(&mut elsewhere).await, (token, conversation));
}

#[tokio::test]
async fn a_verified_name_and_email_complete_the_prechat_form() {
    let server = start_with(identity_config(false)).await;
    let mut socket = hello_as(&server, None, Some(&hashed("user-42"))).await;
    let (_, conversation) = welcomed(&mut socket).await;
    let answers = [("consent", "true")]
        .into_iter()
        .map(|(k, v)| {
            (
                porchlight_protocol::FieldName::new(k).expect("name"),
                v.into(),
            )
        })
        .collect();
    send(
        &mut socket,
        ClientFrame::RequestAgent {
            request: request("r1"),
            answers,
        },
    )
    .await;
    let status = recv_until(&mut socket, |f| match f {
        ServerFrame::Status { status } => !matches!(status, ChatStatus::Bot {}),
        ServerFrame::FormRejected { .. } => true,
        _ => false,
    })
    .await;
    assert!(matches!(status, ServerFrame::Status { .. }), "{status:?}");
    let view = http(
        &server,
        "GET",
        &format!("/mock/conversations/{conversation}"),
        &[],
        "",
    )
    .await
    .json();
    assert_eq!(view["prechat"]["name"], "Ada Lovelace");
    assert_eq!(view["prechat"]["email"], "ada@example.com");
}

#[tokio::test]
async fn the_console_shows_the_identity_in_the_conversation_detail() {
    use porchlight_protocol::console::CONSOLE_SOCKET_PATH;
    use porchlight_protocol::{ConsoleFrame, DeskFrame};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let server = start_with(identity_config(false)).await;
    let mut visitor = hello_as(&server, None, Some(&hashed("user-42"))).await;
    let (_, conversation) = welcomed(&mut visitor).await;

    let own = server.addr.to_string();
    let mut request = format!("ws://{own}{CONSOLE_SOCKET_PATH}")
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("Origin", format!("http://{own}").parse().expect("header"));
    let (mut console, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the console socket opens");
    for frame in [
        ConsoleFrame::Hello {
            version: PROTOCOL_VERSION,
            token: server.token.clone(),
            agent: None,
        },
        ConsoleFrame::Open {
            conversation: conversation.clone(),
        },
    ] {
        console
            .send(Message::text(frame.encode()))
            .await
            .expect("send");
    }
    let identity = loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), console.next())
            .await
            .expect("a frame in time");
        let Some(Ok(Message::Text(text))) = next else {
            panic!("the console socket closed: {next:?}");
        };
        if let Ok(DeskFrame::Detail { identity, .. }) = DeskFrame::decode(text.as_str()) {
            break identity;
        }
    };
    let identity = identity.expect("an identity");
    assert_eq!(identity.user_id, "user-42");
    assert_eq!(identity.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(identity.email.as_deref(), Some("ada@example.com"));
    assert_eq!(identity.custom.get("plan").map(String::as_str), Some("pro"));
    assert!(identity.verified);
}
