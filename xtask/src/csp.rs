//! Makes Trunk's output fit a strict Content-Security-Policy: Trunk starts the app with an
//! inline module script, which `script-src 'self'` forbids, so this moves it into a file of
//! its own and points the page at it. For the widget the file is the boot script
//! (`boot.js`), which fetches the app only on the visitor's intent, and the page's preload
//! links for the app's code go, so nothing of it is fetched before.

use std::path::Path;

/// Trunk's inline start script opens with one of these: as written, or as its HTML
/// minifier (`minify = "on_release"` in `Trunk.toml`) leaves it.
const OPENS: [&str; 2] = ["<script type=\"module\">", "<script type=module>"];
const CLOSE: &str = "</script>";

/// Rewrites `dist/index.html` so it has no inline script; `public_url` is Trunk's (e.g.
/// `/widget/`). Returns the name of the start script written.
pub fn externalize_start_script(dist: &Path, public_url: &str) -> Result<String, String> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let (rewritten, body) = split_inline_script(&html)?;
    // Name the file after its content, so a new build is never served from a stale cache.
    let name = format!("porchlight-start-{:016x}.js", fnv1a(body.as_bytes()));
    std::fs::write(dist.join(&name), body).map_err(|e| format!("{name}: {e}"))?;
    let tag = format!("<script type=\"module\" src=\"{public_url}{name}\"></script>");
    std::fs::write(&index, rewritten.replace(PLACEHOLDER, &tag))
        .map_err(|e| format!("{}: {e}", index.display()))?;
    Ok(name)
}

const PLACEHOLDER: &str = "<!--porchlight-start-->";

/// Like [`externalize_start_script`], but the file is `boot` with the app's JS glue and
/// wasm named in (`__PORCHLIGHT_GLUE__`, `__PORCHLIGHT_WASM__`), and the page loses its
/// preload links for them. Returns the name of the boot script written.
pub fn lazy_start(dist: &Path, public_url: &str, boot: &str) -> Result<String, String> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let (page, trunk_script) = split_inline_script(&html)?;
    let glue =
        quoted_after(&trunk_script, " from ").ok_or("Trunk's start script imports no JS glue")?;
    let wasm = quoted_after(&trunk_script, "module_or_path:")
        .ok_or("Trunk's start script names no wasm")?;
    let body = crate::script::compact(boot)
        .replacen("__PORCHLIGHT_GLUE__", glue, 1)
        .replacen("__PORCHLIGHT_WASM__", wasm, 1);
    if body.contains("__PORCHLIGHT_") {
        return Err("boot.js names the glue or the wasm more than once".into());
    }
    let name = format!("porchlight-boot-{:016x}.js", fnv1a(body.as_bytes()));
    std::fs::write(dist.join(&name), &body).map_err(|e| format!("{name}: {e}"))?;
    let tag = format!("<script type=\"module\" src=\"{public_url}{name}\"></script>");
    let page = without_preloads(&page).replace(PLACEHOLDER, &tag);
    std::fs::write(&index, page).map_err(|e| format!("{}: {e}", index.display()))?;
    Ok(name)
}

/// The first single-quoted string after `marker` in `script`.
fn quoted_after<'a>(script: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &script[script.find(marker)? + marker.len()..];
    let start = rest.find('\'')? + 1;
    let end = start + rest[start..].find('\'')?;
    Some(&rest[start..end])
}

/// `html` without its `<link rel="modulepreload" …>` and `<link rel="preload" …>` tags.
fn without_preloads(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("<link ") {
        let end = rest[at..].find('>').map_or(rest.len(), |e| at + e + 1);
        let tag = &rest[at..end];
        out.push_str(&rest[..at]);
        let preload = [
            "rel=\"modulepreload\"",
            "rel=\"preload\"",
            "rel=modulepreload",
            "rel=preload",
        ]
        .iter()
        .any(|rel| tag.contains(rel));
        if !preload {
            out.push_str(tag);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The page with its one inline module script replaced by a placeholder, and the script.
fn split_inline_script(html: &str) -> Result<(String, String), String> {
    let (start, open) = OPENS
        .iter()
        .find_map(|open| Some((html.find(open)?, open)))
        .ok_or("Trunk's index.html has no inline module script to move")?;
    let body_start = start + open.len();
    let end = html[body_start..]
        .find(CLOSE)
        .map(|i| body_start + i)
        .ok_or("Trunk's inline script is not closed")?;
    if OPENS.iter().any(|open| html[end..].contains(open)) {
        return Err("Trunk's index.html has more than one inline module script".into());
    }
    let rewritten = format!(
        "{}{PLACEHOLDER}{}",
        &html[..start],
        &html[end + CLOSE.len()..]
    );
    Ok((rewritten, html[body_start..end].trim().to_string()))
}

/// FNV-1a, 64 bits: a stable content hash for file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inline_start_script_is_cut_out() {
        let html = "<head><link x><script type=\"module\">\nimport init from '/a.js';\n</script><link y></head>";
        let (page, script) = split_inline_script(html).expect("one script");
        assert_eq!(page, format!("<head><link x>{PLACEHOLDER}<link y></head>"));
        assert_eq!(script, "import init from '/a.js';");
    }

    #[test]
    fn a_page_without_or_with_two_inline_scripts_is_an_error() {
        assert!(split_inline_script("<head></head>").is_err());
        let two = "<script type=\"module\">a</script><script type=\"module\">b</script>";
        assert!(split_inline_script(two).is_err());
    }

    #[test]
    fn the_widget_boots_lazily_with_the_apps_names_and_no_preloads() {
        let dist = std::env::temp_dir().join(format!("porchlight-csp-{}", std::process::id()));
        std::fs::create_dir_all(&dist).expect("dir");
        let page = "<head><link rel=\"stylesheet\" href=\"/w/a.css\"/>\n<script type=\"module\">\n\
            import init, * as bindings from '/w/app-1.js';\n\
            const wasm = await init({ module_or_path: '/w/app-1_bg.wasm' });\n</script>\n\
            <link rel=\"modulepreload\" href=\"/w/app-1.js\"><link rel=\"preload\" href=\"/w/app-1_bg.wasm\" as=\"fetch\"></head>";
        std::fs::write(dist.join("index.html"), page).expect("write");
        let boot = "import('__PORCHLIGHT_GLUE__'); load('__PORCHLIGHT_WASM__');";
        let name = lazy_start(&dist, "/w/", boot).expect("boot");
        let written = std::fs::read_to_string(dist.join(&name)).expect("boot file");
        assert_eq!(written, "import('/w/app-1.js'); load('/w/app-1_bg.wasm');");
        let page = std::fs::read_to_string(dist.join("index.html")).expect("page");
        assert_eq!(
            page,
            format!(
                "<head><link rel=\"stylesheet\" href=\"/w/a.css\"/>\n\
                 <script type=\"module\" src=\"/w/{name}\"></script>\n</head>"
            )
        );
        let _ = std::fs::remove_dir_all(&dist);
    }

    #[test]
    fn a_minified_page_is_read_too() {
        let html = "<link href=/w/a.css rel=stylesheet><script type=module>import init from '/w/a.js';</script>\
            <link crossorigin href=/w/a.js rel=modulepreload><link as=fetch href=/w/a.wasm rel=preload>";
        let (page, script) = split_inline_script(html).expect("one script");
        assert_eq!(script, "import init from '/w/a.js';");
        assert_eq!(
            without_preloads(&page),
            format!("<link href=/w/a.css rel=stylesheet>{PLACEHOLDER}")
        );
    }

    #[test]
    fn the_hash_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
