//! The accept loop, in place of `axum::serve`, for what a server on a network needs and
//! axum's does not do: a header-read timer, so a client that trickles its request (a
//! slow-loris) or holds an idle keep-alive connection is dropped; and a cap on concurrent
//! connections, so descriptors cannot all be taken. WebSocket upgrades work as before;
//! graceful shutdown waits for open connections to finish.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// How long a client may take to send a request's headers, and how long a keep-alive
/// connection may wait idle for the next request.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most connections (WebSockets included) open at once; more wait in the kernel's
/// backlog until one closes.
pub const MAX_CONNECTIONS: usize = 20_000;

/// The accept loop's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open connections finish.
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max_connections = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors or a connection reset while queued: try again soon.
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone().map_request(
            move |request: hyper::Request<Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let mut stopping = stopping.clone();
        // An upgraded connection (a WebSocket) leaves this loop's count once upgraded; the
        // socket handlers count those ([`crate::http::state::Shared::sockets`]).
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = result {
                tracing::trace!("connection ended: {err}");
            }
            drop(slot);
        });
    }
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: taking them all means all have ended.
    let total = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(total).await;
    Ok(())
}
