//! The server's HTTP surface on port 0: demo page, loader, site configuration.

mod common;

use porchlight_server::client::Answer;

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
    assert!(
        answer.text.contains(
            "var options = ['&preload=intent&brand=1f6feb&on-brand=ffffff&lang=en&name=Open%20chat', 2147483000, 4, 4];"
        ),
        "the site's embedding options are written in"
    );
}

#[tokio::test]
async fn the_loader_carries_the_sites_position_and_preload() {
    let mut config = porchlight_server::ServerConfig::default();
    config.customers.clear();
    config.site.position = porchlight_protocol::Position::BottomLeft;
    config.embedding.preload = porchlight_server::config::Preload::Idle;
    let server = common::start_with(config).await;
    let answer = common::http(&server, "GET", "/porchlight.js", &[], "").await;
    assert!(
        answer
            .text
            .contains("var options = ['&preload=idle&position=bottom-left&brand=")
    );
}

/// The loader served for the built-in file with `site_lines` in place of its `[site]`
/// table's language and brand colour.
async fn loader_for(site_lines: &str) -> String {
    let toml = porchlight_server::config::DEFAULT_CONFIG_TOML
        .replacen("brand_color = \"#1f6feb\"\n", "", 1)
        .replacen("language = \"en\"\n", &format!("{site_lines}\n"), 1);
    let mut config = porchlight_server::ServerConfig::from_toml(&toml, "site.toml").expect("valid");
    config.customers.clear();
    let server = common::start_with(config).await;
    common::http(&server, "GET", "/porchlight.js", &[], "")
        .await
        .text
}

/// The `var options = [...]` line the loader was served with.
fn options_line(loader: &str) -> &str {
    loader
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("var options = "))
        .unwrap_or_default()
}

#[tokio::test]
async fn the_loader_carries_the_look_placement_and_label_for_the_launcher_drawn_before_the_code() {
    let loader = loader_for(
        "language = \"de\"\nbrand_color = \"#ffd700\"\ncolor_scheme = \"dark\"\n\
         z_index = 10\noffset_x = 0\noffset_y = 200\nlauncher_label = \"Hilfe & Rat\"",
    )
    .await;
    assert_eq!(
        options_line(&loader),
        "var options = ['&preload=intent&brand=ffd700&on-brand=111111&scheme=dark\
         &label=Hilfe%20%26%20Rat&lang=de', 10, -16, 184];"
    );
}

#[tokio::test]
async fn the_loader_carries_each_language_its_direction_and_launcher_name() {
    // A fixed right-to-left language: its name, its direction, no corner (the widget
    // mirrors it).
    let loader = loader_for("language = \"ar\"\nbrand_color = \"#1f6feb\"").await;
    let line = options_line(&loader);
    assert!(line.contains("&lang=ar&rtl=ar&name=%D9%81"), "{line}");
    assert!(!line.contains("position"), "{line}");
    // A corner the site names holds.
    let loader = loader_for("language = \"he\"\nposition = \"bottom-right\"").await;
    assert!(
        options_line(&loader).contains("&position=bottom-right"),
        "{loader}"
    );
    // An auto site: every bundle, English first, the right-to-left ones marked, a name
    // for each.
    let loader = loader_for("language = \"auto\"").await;
    let line = options_line(&loader);
    assert!(
        line.contains(
            "&lang=en&lang=de&lang=es&lang=fr&lang=ar&lang=he&rtl=ar&rtl=he&name=Open%20chat&name=Chat%20"
        ),
        "{line}"
    );
    assert_eq!(line.matches("&name=").count(), 6, "{line}");
}

#[tokio::test]
async fn an_arabic_site_is_served_right_to_left_in_the_mirrored_corner() {
    let mut config = porchlight_server::ServerConfig::default();
    config.customers.clear();
    config.site.language = "auto".into();
    let server = common::start_with(config).await;
    let answer = common::http(
        &server,
        "GET",
        "/api/v1/sites/demo/config?lang=ar-EG,en",
        &[],
        "",
    )
    .await;
    assert_eq!(
        (
            &answer.json()["language"],
            &answer.json()["dir"],
            &answer.json()["position"]
        ),
        (&"ar".into(), &"rtl".into(), &"bottom-left".into())
    );
    let answer = common::http(&server, "GET", "/api/v1/sites/demo/config?lang=fr", &[], "").await;
    assert_eq!(answer.json()["position"], "bottom-right");
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

/// A built widget folder as `cargo xtask build` leaves it: a page and a hashed script, each
/// with its brotli and gzip copies (the copies' bytes only need to differ here).
fn built_widget() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "porchlight-built-{}-{}",
        std::process::id(),
        porchlight_server::store::random_id()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, text) in [
        ("index.html", "<!doctype html><title>widget</title>"),
        ("porchlight-0123456789abcdef.js", "console.log('widget')"),
    ] {
        std::fs::write(dir.join(name), text).expect("write");
        std::fs::write(dir.join(format!("{name}.br")), "brotli bytes").expect("write");
        std::fs::write(dir.join(format!("{name}.gz")), "gzip bytes").expect("write");
    }
    dir
}

#[tokio::test]
async fn built_files_come_precompressed_hashed_ones_immutable_pages_revalidated() {
    let dir = built_widget();
    let mut config = porchlight_server::ServerConfig::default();
    config.customers.clear();
    let server = common::start_on(porchlight_server::Shared::new(config, dir.clone())).await;
    let get = async |path: &str, headers: &[(&str, &str)]| {
        common::anonymous_http(&server, "GET", path, headers, "").await
    };

    let script = get(
        "/widget/porchlight-0123456789abcdef.js",
        &[("Accept-Encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(script.status, 200);
    assert_eq!(script.header("content-encoding"), Some("br"));
    assert_eq!(script.text, "brotli bytes", "the copy the build wrote");
    assert_eq!(
        script.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        script
            .header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    );
    let gzip = get(
        "/widget/porchlight-0123456789abcdef.js",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let plain = get("/widget/porchlight-0123456789abcdef.js", &[]).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.text, "console.log('widget')");

    let page = get("/widget/", &[("Accept-Encoding", "br")]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-encoding"), Some("br"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let modified = page
        .header("last-modified")
        .expect("a validator")
        .to_string();
    let again = get(
        "/widget/",
        &[("Accept-Encoding", "br"), ("If-Modified-Since", &modified)],
    )
    .await;
    assert_eq!(again.status, 304, "a second visit only revalidates");

    let loader = get("/porchlight.js", &[("Accept-Encoding", "gzip, br")]).await;
    assert_eq!(loader.status, 200);
    assert_eq!(loader.header("content-encoding"), Some("br"));
    assert_eq!(loader.header("cache-control"), Some("public, max-age=300"));
    let etag = loader.header("etag").expect("etag").to_string();
    let again = get(
        "/porchlight.js",
        &[("Accept-Encoding", "br"), ("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(again.status, 304);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The configuration in the visitor's language: `?lang=` picks a bundle when the site says
/// `language = "auto"`, with its `dir`; the site's own texts win; nothing bundled falls back.
#[tokio::test]
async fn the_config_comes_in_the_visitors_language() {
    let text = porchlight_server::config::DEFAULT_CONFIG_TOML.replacen(
        "language = \"en\"",
        "language = \"auto\"",
        1,
    );
    let mut config = porchlight_server::ServerConfig::from_toml(&text, "auto").expect("valid");
    config.customers.clear();
    let server = common::start_with(config).await;
    let read = |lang: &'static str| {
        let server = &server;
        async move {
            common::anonymous_http(
                server,
                "GET",
                &format!("/api/v1/sites/demo/config?lang={lang}"),
                &[],
                "",
            )
            .await
            .json()
        }
    };
    let de = read("de-AT,de,en").await;
    assert_eq!(de["language"], "de");
    assert_eq!(de["dir"], "ltr");
    assert_eq!(de["texts"]["send_label"], "Senden");
    assert_eq!(
        de["texts"]["required_field"],
        "Dieses Feld ist erforderlich."
    );
    // The built-in config sets its own title, which wins over every bundle.
    assert_eq!(de["texts"]["title"], "Porchlight demo");
    let he = read("he-IL").await;
    assert_eq!(
        (he["language"].as_str(), he["dir"].as_str()),
        (Some("he"), Some("rtl"))
    );
    // Without `?lang=`, the browser's Accept-Language (its `navigator.languages`) decides.
    let browser = common::anonymous_http(
        &server,
        "GET",
        "/api/v1/sites/demo/config",
        &[("Accept-Language", "fr-CA,fr;q=0.9,en;q=0.8")],
        "",
    )
    .await;
    assert_eq!(browser.header("vary"), Some("Accept-Language"));
    assert_eq!(browser.json()["language"], "fr");
    let chosen = common::anonymous_http(
        &server,
        "GET",
        "/api/v1/sites/demo/config?lang=es",
        &[("Accept-Language", "fr")],
        "",
    )
    .await
    .json();
    assert_eq!(chosen["language"], "es", "the host page's choice wins");
    let fallback = read("ja,ko").await;
    assert_eq!(fallback["language"], "en");
    assert_eq!(fallback["texts"]["send_label"], "Send");
    // Both codecs read what is served.
    let served =
        common::anonymous_http(&server, "GET", "/api/v1/sites/demo/config?lang=ar", &[], "").await;
    let lean = porchlight_protocol::lean::decode_site_config(&served.text).expect("lean decodes");
    assert_eq!(lean.dir, porchlight_protocol::TextDirection::Rtl);
    assert_eq!(lean.texts.send_label, "إرسال");

    // A site with a fixed language ignores the visitor's.
    let fixed = common::start().await;
    let en = common::anonymous_http(&fixed, "GET", "/api/v1/sites/demo/config?lang=de", &[], "")
        .await
        .json();
    assert_eq!(en["language"], "en");
    assert_eq!(en["texts"]["send_label"], "Send");
}
