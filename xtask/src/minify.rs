//! Minifies the widget's JavaScript (wasm-bindgen's glue and the boot script) with terser,
//! in place: Trunk's own JavaScript minifier cannot read the glue's `export … as default`,
//! and every byte of these files is downloaded by a visitor who opens the chat. Names keep
//! their content hashes of the readable source, which a new build still changes.

use crate::tools;
use std::path::Path;

/// Minifies every `.js` file directly in `dist` (ES modules), returning how many.
pub fn scripts(dist: &Path) -> Result<usize, String> {
    let entries = std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let mut count = 0;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "js") {
            crate::run(
                tools::terser()
                    .arg(&path)
                    .args(["--module", "--compress", "--mangle", "--comments", "false"])
                    .arg("--output")
                    .arg(&path),
            )?;
            count += 1;
        }
    }
    Ok(count)
}
