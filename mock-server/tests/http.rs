//! The mock server's HTTP surface on port 0: demo page, loader, site configuration.

mod common;

use porchlight_mock::client::Answer;

/// GET `path` from a fresh server.
async fn get(path: &str) -> Answer {
    let server = common::start().await;
    common::http(&server, "GET", path, &[], "").await
}

#[tokio::test]
async fn the_site_config_is_served_as_json() {
    let answer = get("/api/v1/sites/demo/config").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["brand_color"], "#1f6feb");
    assert_eq!(answer.json()["prechat"][1]["kind"], "email");
}

#[tokio::test]
async fn an_unknown_site_is_a_json_404() {
    let answer = get("/api/v1/sites/nobody/config").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["error"], "unknown_site");
}

#[tokio::test]
async fn the_demo_page_embeds_the_widget_only_through_the_snippet() {
    let answer = get("/").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .text
            .contains(r#"<script async src="/porchlight.js" data-site="demo"></script>"#)
    );
    assert!(!answer.text.contains("<iframe"));
    let csp = answer.header("content-security-policy").unwrap_or_default();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    for directive in [
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "{csp} lacks {directive}");
    }
}

#[tokio::test]
async fn the_loader_is_javascript() {
    let answer = get("/porchlight.js").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(answer.text.contains("postMessage"));
}

#[tokio::test]
async fn the_widget_page_has_a_strict_csp_of_its_own() {
    let answer = get("/widget/").await;
    let csp = answer.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "{csp}"
    );
    assert!(
        !csp.contains("'unsafe-inline'") && !csp.contains("'unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors *"), "{csp}");
}
