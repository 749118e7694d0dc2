//! The mock server's HTTP surface on port 0: demo page, loader, site configuration.

mod common;

/// GET `path` from a fresh server; returns (status, raw response).
async fn get(path: &str) -> (u16, String) {
    let server = common::start().await;
    common::http(&server, "GET", path, &[], "").await
}

#[tokio::test]
async fn the_site_config_is_served_as_json() {
    let (status, response) = get("/api/v1/sites/demo/config").await;
    assert_eq!(status, 200);
    assert!(
        response.contains("\"brand_color\":\"#1f6feb\""),
        "{response}"
    );
}

#[tokio::test]
async fn an_unknown_site_is_a_json_404() {
    let (status, response) = get("/api/v1/sites/nobody/config").await;
    assert_eq!(status, 404);
    assert!(
        response.contains("\"error\":\"unknown_site\""),
        "{response}"
    );
}

#[tokio::test]
async fn the_demo_page_embeds_the_widget_only_through_the_snippet() {
    let (status, response) = get("/").await;
    assert_eq!(status, 200);
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
    assert_eq!(status, 200);
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: text/javascript")
    );
    assert!(response.contains("postMessage"));
}
