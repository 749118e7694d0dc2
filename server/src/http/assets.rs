//! How the built files are served: the brotli or gzip copy the build wrote beside each one,
//! by the request's `Accept-Encoding` (never compressed per request); hashed assets
//! (`name-0123456789abcdef.js`) cached for a year as immutable, since a new build names
//! them anew; the pages and the loader revalidated, so a new build reaches visitors at once
//! and a second visit transfers only revalidations.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::io::Write;
use std::path::Path;
use tower_http::services::ServeDir;

/// For a file whose name carries its content's hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// For a page: kept, but asked again (a 304 when unchanged) every time it is used.
pub const REVALIDATE: &str = "no-cache";

/// For the loader: used for five minutes without asking, then revalidated.
pub const LOADER_CACHE: &str = "public, max-age=300";

/// The folder `dir` served with its precompressed copies.
pub fn built_files(dir: &Path) -> ServeDir {
    ServeDir::new(dir)
        .append_index_html_on_directories(true)
        .precompressed_br()
        .precompressed_gzip()
}

/// Whether the last path segment is a hashed asset: its stem ends in `-` and 16 hex
/// digits (Trunk's names), optionally followed by `_bg` (the wasm).
pub fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Middleware for the built apps: sets how each successful answer may be cached, and that
/// it varies by `Accept-Encoding`.
pub async fn cache_policy(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let built = path.starts_with("/widget/") || path.starts_with("/console/");
    let policy = if is_hashed(path) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut response = next.run(request).await;
    let ok = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    if built && ok {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        // The same address answers in several encodings.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// A script served from memory (the loader) in each encoding, with its validator.
pub struct Script {
    plain: String,
    brotli: Vec<u8>,
    gzip: Vec<u8>,
    etag: String,
}

impl Script {
    /// Compresses `source` once, both ways.
    pub fn new(source: String) -> Script {
        let mut brotli = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            ..Default::default()
        };
        if brotli::BrotliCompress(&mut source.as_bytes(), &mut brotli, &params).is_err() {
            brotli.clear();
        }
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzip = match gzip.write_all(source.as_bytes()) {
            Ok(()) => gzip.finish().unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        // FNV-1a of the text: a strong validator for one build of the server.
        let hash = source.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Script {
            plain: source,
            brotli,
            gzip,
            etag: format!("\"{hash:016x}\""),
        }
    }
}

/// Which of `br` and `gzip` the request accepts (a `q=0` refuses).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case(coding) && !refused
        })
}

/// The loader script, compressed as the request accepts, `304` when the client holds it.
pub fn loader_response(loader: &Script, headers: &HeaderMap) -> Response {
    let common = [
        (header::CACHE_CONTROL, LOADER_CACHE.to_string()),
        (header::ETAG, loader.etag.clone()),
        (header::VARY, "accept-encoding".to_string()),
    ];
    let held = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == loader.etag));
    if held {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let javascript = (
        header::CONTENT_TYPE,
        "text/javascript; charset=utf-8".to_string(),
    );
    if accepts(headers, "br") && !loader.brotli.is_empty() {
        let encoding = (header::CONTENT_ENCODING, "br".to_string());
        (common, [javascript, encoding], loader.brotli.clone()).into_response()
    } else if accepts(headers, "gzip") && !loader.gzip.is_empty() {
        let encoding = (header::CONTENT_ENCODING, "gzip".to_string());
        (common, [javascript, encoding], loader.gzip.clone()).into_response()
    } else {
        (common, [javascript], loader.plain.clone()).into_response()
    }
}

/// The distance between the widget frame's edges and the launcher (or the open panel)
/// inside it: the stylesheet's `--pl-gap`. The loader places the frame this much closer to
/// the page's edges than the site's offsets, so the launcher sits at them.
pub const FRAME_GAP_PX: i64 = 16;

/// `text` percent-encoded for a URL's query (all but unreserved characters), so it can
/// also sit in a single-quoted JavaScript string.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The site's embedding options the loader is served with, replacing its
/// `var options = […]`: the widget page's query, then the frame's z-index and its distance
/// from the page's side and bottom edges. The query says when the widget's code is fetched,
/// and what the launcher drawn before that code needs: the brand and text colours, a forced
/// colour scheme, the launcher label, the corner if the site chose one, and every language
/// the site may be shown in (`lang`, once each, the fallback first), those written right
/// to left (`rtl`) and the launcher's name in each (`name`, in the same order) — so
/// `boot.js` picks them from the visitor's languages as the server will.
pub fn loader_options(config: &crate::config::ServerConfig) -> String {
    use porchlight_protocol::{ColorScheme, Position, TextDirection};
    let site = &config.site;
    let mut query = format!("&preload={}", config.embedding.preload.as_str());
    if let Some(position) = config.position() {
        query.push_str(match position {
            Position::BottomRight => "&position=bottom-right",
            Position::BottomLeft => "&position=bottom-left",
        });
    }
    for (name, color) in [
        ("brand", &site.brand_color),
        ("on-brand", &site.brand_text_color),
    ] {
        query.push_str(&format!(
            "&{name}={}",
            color.as_str().trim_start_matches('#')
        ));
    }
    match site.color_scheme {
        ColorScheme::Light => query.push_str("&scheme=light"),
        ColorScheme::Dark => query.push_str("&scheme=dark"),
        ColorScheme::Auto => {}
    }
    if let Some(label) = &site.launcher_label {
        query.push_str(&format!("&label={}", query_value(label)));
    }
    let served = crate::locales::built_in()
        .map(|locales| crate::locales::every_served(config, locales))
        .unwrap_or_default();
    for s in &served {
        query.push_str(&format!("&lang={}", query_value(&s.language)));
    }
    for s in served.iter().filter(|s| s.dir == TextDirection::Rtl) {
        query.push_str(&format!("&rtl={}", query_value(&s.language)));
    }
    if site.launcher_label.is_none() {
        for s in &served {
            query.push_str(&format!("&name={}", query_value(&s.texts.open_label)));
        }
    }
    let edge = |offset: u32| i64::from(offset) - FRAME_GAP_PX;
    format!(
        "var options = ['{query}', {}, {}, {}];",
        site.z_index,
        edge(site.offset_x),
        edge(site.offset_y)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_assets_are_told_from_pages() {
        for hashed in [
            "/widget/porchlight-22edeaa4c042b1a6.js",
            "/widget/porchlight-22edeaa4c042b1a6_bg.wasm",
            "/widget/porchlight-fbc7d54794e5b670.css",
            "/console/porchlight-start-0591faf813aee2a4.js",
        ] {
            assert!(is_hashed(hashed), "{hashed}");
        }
        for page in [
            "/widget/",
            "/widget/index.html",
            "/porchlight.js",
            "/widget/porchlight-22edeaa4.js",
            "/widget/porchlight-22edeaa4c042b1az.js",
        ] {
            assert!(!is_hashed(page), "{page}");
        }
    }

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).expect("value"),
        );
        headers
    }

    #[test]
    fn loader_options_carry_the_theme_languages_and_placement() {
        let mut config = crate::config::ServerConfig::default();
        assert_eq!(
            loader_options(&config),
            "var options = ['&preload=intent&brand=1f6feb&on-brand=ffffff&lang=en\
             &name=Open%20chat', 2147483000, 4, 4];"
        );
        config.site.language = "auto".into();
        config.site.color_scheme = porchlight_protocol::ColorScheme::Dark;
        config.site.launcher_label = Some("Need help? 'Ask' & go".into());
        config.site.z_index = 7;
        config.site.offset_x = 0;
        config.site.offset_y = 200;
        config.site.position = porchlight_protocol::Position::BottomLeft;
        let options = loader_options(&config);
        assert!(
            options.starts_with(
                "var options = ['&preload=intent&position=bottom-left&brand=1f6feb\
                 &on-brand=ffffff&scheme=dark&label=Need%20help%3F%20%27Ask%27%20%26%20go\
                 &lang=en&lang=de&lang=es&lang=fr&lang=ar&lang=he&rtl=ar&rtl=he', 7, -16, 184];"
            ),
            "{options}"
        );
    }

    #[test]
    fn accept_encoding_is_read_with_its_refusals() {
        assert!(accepts(&accept("gzip, deflate, br, zstd"), "br"));
        assert!(accepts(&accept("gzip;q=1.0, br;q=0.5"), "br"));
        assert!(!accepts(&accept("gzip, br;q=0"), "br"));
        assert!(!accepts(&accept("gzip"), "br"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }

    #[test]
    fn the_loader_comes_compressed_and_revalidates_to_304() {
        let source = "console.log('a loader');".repeat(50);
        let source = Script::new(source);
        let br = loader_response(&source, &accept("gzip, br"));
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        let etag = br.headers()[header::ETAG].clone();
        let gz = loader_response(&source, &accept("gzip"));
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        let plain = loader_response(&source, &HeaderMap::new());
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let mut again = accept("br");
        again.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(
            loader_response(&source, &again).status(),
            StatusCode::NOT_MODIFIED
        );
    }
}
