//! Hand-written scripts as shipped: the embed loader the server serves (and `boot.js`,
//! which `cargo xtask build` compacts — the build includes this file as a module of its
//! own, so both follow one rule). Every visitor of a host page downloads the loader: its
//! comments and indentation are for the repository's readers only.

/// `script` without its comment lines (the leading `/*! … */` block and lines that are
/// only a `//` comment) and indentation. Nothing inside a line changes, so a line the
/// server replaces (the loader's options) is still found, trimmed.
pub fn compact(script: &str) -> String {
    let code = match script.trim_start().strip_prefix("/*") {
        Some(rest) => rest.split_once("*/").map_or(rest, |(_, code)| code),
        None => script,
    };
    code.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_ships_without_comment_lines_or_indentation() {
        let source = "/*! What this is.\n * More. */\n(function () {\n  // why\n  var a = 'x'; // kept\n\n})();\n";
        assert_eq!(
            compact(source),
            "(function () {\nvar a = 'x'; // kept\n})();"
        );
    }
}
