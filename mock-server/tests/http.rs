//! The mock server's HTTP surface on port 0: demo page, loader, site configuration.

use porchlight_mock::{MockConfig, Shared, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A minimal HTTP/1.1 GET; returns (status line, headers and body as one string).
async fn get(path: &str) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = Shared::new(MockConfig::default(), "no-widget-here".into());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let _ = stop.send(());
    let _ = server.await;
    let status = response.lines().next().unwrap_or_default().to_string();
    (status, response)
}

#[tokio::test]
async fn the_site_config_is_served_as_json() {
    let (status, response) = get("/api/v1/sites/demo/config").await;
    assert!(status.contains("200"), "{status}");
    assert!(
        response.contains("\"brand_color\":\"#1f6feb\""),
        "{response}"
    );
}

#[tokio::test]
async fn an_unknown_site_is_a_json_404() {
    let (status, response) = get("/api/v1/sites/nobody/config").await;
    assert!(status.contains("404"), "{status}");
    assert!(
        response.contains("\"error\":\"unknown_site\""),
        "{response}"
    );
}

#[tokio::test]
async fn the_demo_page_embeds_the_widget_only_through_the_snippet() {
    let (status, response) = get("/").await;
    assert!(status.contains("200"), "{status}");
    assert!(response.contains(r#"<script async src="/porchlight.js" data-site="demo"></script>"#));
    assert!(!response.contains("<iframe"));
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'")
    );
}

#[tokio::test]
async fn the_loader_is_javascript() {
    let (status, response) = get("/porchlight.js").await;
    assert!(status.contains("200"), "{status}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: text/javascript")
    );
    assert!(response.contains("postMessage"));
}
