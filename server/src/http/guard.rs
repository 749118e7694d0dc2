//! What keeps everyone but the site's team out of the agent side: the admin secret (a
//! random token made at start, or `--admin-token`), the `Host` check that defeats DNS
//! rebinding, and JSON-only bodies, so a page elsewhere cannot drive the control API with
//! a "simple" cross-origin POST. No permissive CORS header is ever sent.
//!
//! [`require_admin`] guards the control API (`/mock/…`); the console socket checks the
//! `Host` on upgrade and the secret in its first frame.

use crate::http::errors::ApiError;
use crate::http::state::AppState;
use crate::store::random_id;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use porchlight_protocol::AdminToken;
use std::net::SocketAddr;
use std::sync::OnceLock;

/// The admin secret and the names this server answers to.
#[derive(Debug)]
pub struct Admin {
    token: AdminToken,
    /// Extra names the server is reached by (`chat.example` or `chat.example:8443`).
    public_hosts: Vec<String>,
    /// The address it listens on, known once it is bound.
    listen: OnceLock<SocketAddr>,
}

impl Admin {
    /// `token`, or a fresh random one; `public_hosts` as given with `--public-host`.
    pub fn new(token: Option<AdminToken>, public_hosts: Vec<String>) -> Admin {
        Admin {
            token: token
                .unwrap_or_else(|| AdminToken::new(random_id()).expect("hex is a valid token")),
            public_hosts: public_hosts
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            listen: OnceLock::new(),
        }
    }

    pub fn token(&self) -> &AdminToken {
        &self.token
    }

    /// Records where the server listens, so its own `Host` names are known.
    pub fn listening_on(&self, addr: SocketAddr) {
        let _ = self.listen.set(addr);
    }

    /// Whether `presented` is the admin secret (compared in constant time).
    pub fn is_token(&self, presented: &str) -> bool {
        let expected = self.token.as_str().as_bytes();
        let presented = presented.as_bytes();
        expected.len() == presented.len()
            && expected
                .iter()
                .zip(presented)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }

    /// Whether a `Host` header names this server: its listen address, `localhost`,
    /// `127.0.0.1` or `[::1]` on its port, or a configured public host.
    pub fn is_own_host(&self, host: Option<&str>) -> bool {
        let Some(host) = host.map(str::to_ascii_lowercase) else {
            return false;
        };
        if self
            .public_hosts
            .iter()
            .any(|p| host == *p || host.strip_prefix(p.as_str()).is_some_and(is_port))
        {
            return true;
        }
        let loopback = ["localhost", "127.0.0.1", "[::1]"];
        match self.listen.get() {
            Some(addr) => {
                let port = addr.port();
                host == addr.to_string() || loopback.iter().any(|l| host == format!("{l}:{port}"))
            }
            None => loopback.iter().any(|l| {
                host.strip_prefix(l)
                    .is_some_and(|r| r.is_empty() || is_port(r))
            }),
        }
    }
}

/// `:` and digits.
fn is_port(rest: &str) -> bool {
    rest.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why a request to the agent side was refused, as a JSON error.
pub fn check(admin: &Admin, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if !admin.is_own_host(header(headers, header::HOST)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "foreign_host",
            "this server does not answer to that Host name",
        ));
    }
    let token = header(headers, header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !token.is_some_and(|t| admin.is_token(t)) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the admin token (printed at start) as `Authorization: Bearer TOKEN`",
        ));
    }
    let json = header(headers, header::CONTENT_TYPE).is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if *method != Method::GET && *method != Method::HEAD && !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "json_only",
            "send the body as `Content-Type: application/json`",
        ));
    }
    Ok(())
}

/// Middleware for the control API: the `Host`, the admin token, and JSON bodies.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match check(&state.admin, request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(err) => err.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> Admin {
        let admin = Admin::new(
            Some(AdminToken::new("s3cret").expect("token")),
            vec!["Chat.Example".into()],
        );
        admin.listening_on("127.0.0.1:3000".parse().expect("addr"));
        admin
    }

    #[test]
    fn the_server_answers_to_its_own_names_only() {
        let admin = admin();
        for own in [
            "127.0.0.1:3000",
            "localhost:3000",
            "[::1]:3000",
            "chat.example",
            "chat.example:8443",
        ] {
            assert!(admin.is_own_host(Some(own)), "{own}");
        }
        for foreign in [
            "evil.example",
            "localhost:3001",
            "127.0.0.1",
            "chat.example.evil",
            "chat.example:x",
            "",
        ] {
            assert!(!admin.is_own_host(Some(foreign)), "{foreign}");
        }
        assert!(!admin.is_own_host(None));
    }

    #[test]
    fn only_the_exact_token_opens() {
        let admin = admin();
        assert!(admin.is_token("s3cret"));
        assert!(!admin.is_token("s3cre"));
        assert!(!admin.is_token("s3creT"));
        assert!(!admin.is_token(""));
    }

    #[test]
    fn a_random_token_is_made_when_none_is_given() {
        let one = Admin::new(None, Vec::new());
        let two = Admin::new(None, Vec::new());
        assert_ne!(one.token(), two.token());
        assert_eq!(one.token().as_str().len(), 32);
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn requests_need_host_token_and_json() {
        let admin = admin();
        let good = [
            (header::HOST, "127.0.0.1:3000"),
            (header::AUTHORIZATION, "Bearer s3cret"),
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
        ];
        assert!(check(&admin, &Method::POST, &headers(&good)).is_ok());
        let status = |pairs: &[(header::HeaderName, &str)], method: Method| {
            check(&admin, &method, &headers(pairs)).map_err(|e| e.status)
        };
        assert_eq!(
            status(
                &[
                    (header::HOST, "evil.example"),
                    good[1].clone(),
                    good[2].clone()
                ],
                Method::POST
            ),
            Err(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(&[good[0].clone(), good[2].clone()], Method::POST),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(
                &[
                    good[0].clone(),
                    (header::AUTHORIZATION, "Bearer nope"),
                    good[2].clone()
                ],
                Method::POST
            ),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(
                &[
                    good[0].clone(),
                    good[1].clone(),
                    (header::CONTENT_TYPE, "text/plain")
                ],
                Method::POST
            ),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            status(&[good[0].clone(), good[1].clone()], Method::GET),
            Ok(())
        );
    }
}
