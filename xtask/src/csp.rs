//! Makes Trunk's output fit a strict Content-Security-Policy: Trunk starts the app with an
//! inline module script, which `script-src 'self'` forbids, so this moves it into a file of
//! its own and points the page at it.

use std::path::Path;

const OPEN: &str = "<script type=\"module\">";
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

/// The page with its one inline module script replaced by a placeholder, and the script.
fn split_inline_script(html: &str) -> Result<(String, String), String> {
    let start = html
        .find(OPEN)
        .ok_or("Trunk's index.html has no inline module script to move")?;
    let body_start = start + OPEN.len();
    let end = html[body_start..]
        .find(CLOSE)
        .map(|i| body_start + i)
        .ok_or("Trunk's inline script is not closed")?;
    if html[end..].contains(OPEN) {
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
    fn the_hash_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
