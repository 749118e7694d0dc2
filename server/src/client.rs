//! A small client for the control API, for Rust tests that script agents against a running
//! server (ours use it; so can a site owner's). Plain HTTP/1.1 over one connection per
//! call, no TLS: the server is meant for loopback.

use porchlight_protocol::AdminToken;
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a control call failed before the server could answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the server: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server's answer is not HTTP: {0}")]
    BadResponse(String),
}

/// An answer: the HTTP status, the header lines, and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    pub text: String,
}

impl Answer {
    /// The body as JSON; `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then_some(value.trim())
        })
    }
}

/// The control API of the server at `addr`, opened with its admin token.
#[derive(Debug, Clone)]
pub struct ControlClient {
    pub addr: SocketAddr,
    token: AdminToken,
}

impl ControlClient {
    pub fn new(addr: SocketAddr, token: AdminToken) -> Self {
        ControlClient { addr, token }
    }

    /// Sends one request with optional extra headers, and the admin token unless they
    /// carry an `Authorization` of their own.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Answer, ClientError> {
        let bearer = format!("Bearer {}", self.token);
        let mut all = headers.to_vec();
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("Authorization"))
        {
            all.push(("Authorization", bearer.as_str()));
        }
        raw_call(self.addr, method, path, &all, body).await
    }

    pub async fn get(&self, path: &str) -> Result<Answer, ClientError> {
        self.call("GET", path, &[], "").await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Answer, ClientError> {
        self.call("POST", path, &[], &body.to_string()).await
    }

    /// `GET /mock/state`.
    pub async fn state(&self) -> Result<Answer, ClientError> {
        self.get("/mock/state").await
    }

    /// `GET /mock/conversations/{id}`.
    pub async fn conversation(&self, id: &str) -> Result<Answer, ClientError> {
        self.get(&format!("/mock/conversations/{id}")).await
    }

    /// `POST /mock/agents/{agent}/accept`.
    pub async fn accept(&self, agent: &str, conversation: &str) -> Result<Answer, ClientError> {
        let body = serde_json::json!({ "conversation": conversation });
        self.post(&format!("/mock/agents/{agent}/accept"), &body)
            .await
    }

    /// `POST /mock/agents/{agent}/messages`.
    pub async fn message(
        &self,
        agent: &str,
        conversation: &str,
        text: &str,
    ) -> Result<Answer, ClientError> {
        let body = serde_json::json!({ "conversation": conversation, "text": text });
        self.post(&format!("/mock/agents/{agent}/messages"), &body)
            .await
    }

    /// `POST /mock/agents/{agent}/typing`.
    pub async fn typing(
        &self,
        agent: &str,
        conversation: &str,
        typing: bool,
    ) -> Result<Answer, ClientError> {
        let body = serde_json::json!({ "conversation": conversation, "typing": typing });
        self.post(&format!("/mock/agents/{agent}/typing"), &body)
            .await
    }

    /// `POST /mock/agents/{agent}/close`.
    pub async fn close(&self, agent: &str, conversation: &str) -> Result<Answer, ClientError> {
        let body = serde_json::json!({ "conversation": conversation });
        self.post(&format!("/mock/agents/{agent}/close"), &body)
            .await
    }

    /// `POST /mock/agents/{agent}/online`.
    pub async fn online(&self, agent: &str, online: bool) -> Result<Answer, ClientError> {
        let body = serde_json::json!({ "online": online });
        self.post(&format!("/mock/agents/{agent}/online"), &body)
            .await
    }
}

/// Sends one request to the server at `addr` with `headers` (a `Host` naming `addr` and a
/// JSON content type unless given) and returns the answer.
pub async fn raw_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Answer, ClientError> {
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut stream = TcpStream::connect(addr).await?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !given("Host") {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    if !given("Content-Type") {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ClientError::BadResponse("no header end".into()))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::BadResponse(head.to_string()))?;
    Ok(Answer {
        status,
        head: head.to_string(),
        text: body.to_string(),
    })
}
