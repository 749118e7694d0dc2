//! `cargo xtask size`: what a browser downloads to show the opened widget — the loader, the
//! widget's HTML, JS glue, wasm and CSS — raw, gzip and brotli, with the total; then the
//! same for the agent console (reported only: agents are not visitors, it has no budget);
//! then where the widget's wasm bytes go, per item and per crate ([`breakdown`], by twiggy).

use crate::compress;
use std::path::{Path, PathBuf};

/// One downloaded file's sizes in bytes.
pub struct FileSize {
    pub name: String,
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

/// The embed loader's source; the server serves it compacted ([`crate::script`]).
const LOADER: &str = "loader/porchlight.js";

/// The files of a built bundle, loader first.
pub fn bundle_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = dist_files(&root.join("dist"))?;
    files.insert(0, root.join(LOADER));
    Ok(files)
}

/// The files a browser downloads from a Trunk `dist` folder, sorted.
fn dist_files(dist: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dist)
        .map_err(|e| {
            format!(
                "cannot read {}: {e} (run `cargo xtask build`)",
                dist.display()
            )
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("html" | "js" | "wasm" | "css")
            )
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Measures every file of the bundle.
pub fn measure(root: &Path) -> Result<Vec<FileSize>, String> {
    measure_files(root, bundle_files(root)?)
}

/// Measures `files`, naming each relative to `root`.
fn measure_files(root: &Path, files: Vec<PathBuf>) -> Result<Vec<FileSize>, String> {
    files
        .into_iter()
        .map(|path| {
            let mut bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if path.ends_with(LOADER) {
                // Measured as the server serves it.
                bytes = crate::script::compact(&String::from_utf8_lossy(&bytes)).into_bytes();
            }
            Ok(FileSize {
                name: path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
                raw: bytes.len(),
                gzip: compress::gzip(&bytes)?.len(),
                brotli: compress::brotli(&bytes)?.len(),
            })
        })
        .collect()
}

/// Prints the widget's size table.
pub fn report(root: &Path) -> Result<(), String> {
    print_table(&measure(root)?);
    Ok(())
}

/// Prints the agent console's size table (the files in `dist`, its Trunk output).
pub fn report_console(root: &Path, dist: &Path) -> Result<(), String> {
    let files = measure_files(root, dist_files(dist)?)?;
    println!();
    println!("agent console (no budget):");
    print_table(&files);
    Ok(())
}

fn print_table(files: &[FileSize]) {
    let width = files.iter().map(|f| f.name.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$} {:>10} {:>10} {:>10}",
        "file", "raw", "gzip", "brotli"
    );
    for f in files {
        println!(
            "{:<width$} {:>10} {:>10} {:>10}",
            f.name, f.raw, f.gzip, f.brotli
        );
    }
    let total = |get: fn(&FileSize) -> usize| files.iter().map(get).sum::<usize>();
    println!(
        "{:<width$} {:>10} {:>10} {:>10}",
        "total",
        total(|f| f.raw),
        total(|f| f.gzip),
        total(|f| f.brotli)
    );
}

/// The most the opened widget may cost a visitor, brotli-compressed, all files together.
/// Raise it only deliberately, saying in the commit what the bytes buy.
pub const TOTAL_BROTLI_BUDGET: usize = 120_000;
/// The loader runs on every page of the host site: it must stay well under 2 KB gzipped.
pub const LOADER_GZIP_BUDGET: usize = 2_048;

/// Fails when the bundle is over its budgets.
pub fn check_budget(root: &Path) -> Result<(), String> {
    let files = measure(root)?;
    let total: usize = files.iter().map(|f| f.brotli).sum();
    let loader = files
        .iter()
        .find(|f| f.name.ends_with("porchlight.js"))
        .map_or(0, |f| f.gzip);
    eprintln!(
        "    widget {total} B brotli (budget {TOTAL_BROTLI_BUDGET}), loader {loader} B gzip (budget {LOADER_GZIP_BUDGET})"
    );
    if total > TOTAL_BROTLI_BUDGET {
        return Err(format!(
            "the widget is {total} bytes brotli, over its {TOTAL_BROTLI_BUDGET}-byte budget"
        ));
    }
    if loader > LOADER_GZIP_BUDGET {
        return Err(format!(
            "the loader is {loader} bytes gzip, over its {LOADER_GZIP_BUDGET}-byte budget"
        ));
    }
    Ok(())
}

/// The widget's wasm as wasm-bindgen left it, before wasm-opt: the functions still named.
fn bindgen_wasm() -> PathBuf {
    crate::target_dir().join("wasm-bindgen/release/porchlight_bg.wasm")
}

/// The wasm-opt arguments Trunk uses for the widget, read from the `data-wasm-opt` and
/// `data-wasm-opt-params` attributes of `index.html`'s rust link (`-Oz --converge`).
fn wasm_opt_args(index_html: &str) -> Vec<String> {
    let attribute = |name: &str| {
        let (_, rest) = index_html.split_once(&format!("{name}=\""))?;
        rest.split_once('"').map(|(value, _)| value.to_string())
    };
    let mut args: Vec<String> = attribute("data-wasm-opt")
        .map(|level| format!("-O{level}"))
        .into_iter()
        .collect();
    if let Some(params) = attribute("data-wasm-opt-params") {
        args.extend(params.split_whitespace().map(str::to_string));
    }
    args
}

/// The crate an item of twiggy's report belongs to, from its demangled name: the first
/// path segment (`tachys::view::…` is tachys; `<serde_json::de::Deserializer<R> as …>` is
/// serde_json; `<T as alloc::string::ToString>` is alloc, a generic's trait's crate), or a
/// bracketed kind for what is not a function of a crate (data, imports, shims).
fn crate_of(item: &str) -> String {
    if item.starts_with("data segment") {
        return "(data)".into();
    }
    if item.starts_with("import ") {
        return "(imports)".into();
    }
    if item.starts_with("export ") {
        return "(exports)".into();
    }
    // Drop glue is the dropped type's: `core::ptr::drop_in_place<tachys::…>` is tachys.
    if let Some(dropped) = item.strip_prefix("core::ptr::drop_in_place<") {
        return crate_of(dropped);
    }
    let path = item.trim_start_matches(['<', '&', '*', '(', '[', ' ']);
    let path = ["mut ", "const ", "dyn "]
        .iter()
        .fold(path, |p, prefix| p.strip_prefix(prefix).unwrap_or(p));
    let Some((first, _)) = path.split_once("::") else {
        return "(wasm-bindgen shims and tables)".into();
    };
    // `core[c5930c85a12de822]`: the standard library's crates carry their hash.
    let first = first.split('[').next().unwrap_or(first);
    let is_generic = first.len() == 1 && first.chars().all(|c| c.is_ascii_uppercase());
    let primitive = PRIMITIVES.contains(&first) || first.contains(['<', '>', ' ', ';']);
    if is_generic || primitive || first.is_empty() {
        // `<T as alloc::string::ToString>::…`: the trait's crate; `<char>::…`: core.
        return match path.split_once(" as ") {
            Some((_, trait_path)) if !first.is_empty() => crate_of(trait_path),
            _ => "core".into(),
        };
    }
    first.to_string()
}

/// Types whose methods twiggy names without a crate (`<char>::escape_debug_ext`): core's.
const PRIMITIVES: [&str; 15] = [
    "char", "str", "bool", "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
    "f32", "f64",
];

/// One row of twiggy's CSV: the item's name and its own size in bytes.
fn parse_twiggy_csv(csv: &str) -> Vec<(String, usize)> {
    csv.lines()
        .skip(1)
        .filter_map(|line| {
            // Names may hold commas and are quoted with doubled quotes; the size follows.
            let (name, rest) = if let Some(quoted) = line.strip_prefix('"') {
                let end = quoted.match_indices("\",").find(|(i, _)| {
                    quoted[..*i].chars().rev().take_while(|c| *c == '"').count() % 2 == 0
                })?;
                (quoted[..end.0].replace("\"\"", "\""), &quoted[end.0 + 2..])
            } else {
                let (name, rest) = line.split_once(',')?;
                (name.to_string(), rest)
            };
            let size = rest.split(',').next()?.parse().ok()?;
            Some((name, size))
        })
        .collect()
}

/// Bytes per crate, largest first, leaving out the names section (it is not shipped).
fn by_crate(items: &[(String, usize)]) -> Vec<(String, usize)> {
    let mut totals: Vec<(String, usize)> = Vec::new();
    for (name, size) in items {
        if name.contains("\"function names\" subsection") || name.contains("names\" subsection") {
            continue;
        }
        let krate = crate_of(name);
        match totals.iter_mut().find(|(k, _)| *k == krate) {
            Some((_, total)) => *total += size,
            None => totals.push((krate, *size)),
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    totals
}

/// Prints where the widget's wasm bytes go: the largest functions and data, and a sum per
/// crate, by twiggy on a copy optimised as Trunk optimises it but keeping the names
/// (`--debuginfo`). Sizes are raw bytes of that copy; brotli shrinks code about threefold.
/// Installs twiggy on first use; `cargo xtask test` never needs it.
pub fn breakdown(root: &Path) -> Result<(), String> {
    let index = std::fs::read_to_string(root.join("index.html"))
        .map_err(|e| format!("cannot read index.html: {e}"))?;
    let named = crate::target_dir().join("size/porchlight_named.wasm");
    if let Some(dir) = named.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    crate::tools::wasm_opt()
        .args(wasm_opt_args(&index))
        .arg("--debuginfo")
        .arg(bindgen_wasm())
        .arg("-o")
        .arg(&named)
        .status()
        .map_err(|e| format!("cannot run wasm-opt: {e}"))
        .and_then(|status| {
            status
                .success()
                .then_some(())
                .ok_or_else(|| format!("wasm-opt failed on {}", bindgen_wasm().display()))
        })?;
    let twiggy = |args: &[&str]| -> Result<String, String> {
        let output = crate::tools::twiggy()?
            .args(args)
            .arg(&named)
            .output()
            .map_err(|e| format!("cannot run twiggy: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "twiggy failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let items = parse_twiggy_csv(&twiggy(&["top", "-n", "1000000", "-f", "csv"])?);
    let shipped: usize = by_crate(&items).iter().map(|(_, size)| size).sum();
    println!();
    println!("where the widget's wasm goes ({shipped} B raw without names, from twiggy):");
    println!("{:>8}  largest items", "bytes");
    for (name, size) in items
        .iter()
        .filter(|(name, _)| !name.contains("names\" subsection"))
        .take(TOP_ITEMS)
    {
        let name: String = name.chars().take(110).collect();
        println!("{size:>8}  {name}");
    }
    println!("{:>8}  by crate", "bytes");
    for (krate, size) in by_crate(&items).iter().take(TOP_CRATES) {
        println!("{size:>8}  {krate}");
    }
    Ok(())
}

/// How many of the largest items and crates the breakdown prints.
const TOP_ITEMS: usize = 25;
const TOP_CRATES: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_opt_arguments_follow_index_html() {
        let html = r#"<link data-trunk rel="rust" data-bin="porchlight" data-wasm-opt="z" data-wasm-opt-params="--converge --low-memory-unused">"#;
        assert_eq!(
            wasm_opt_args(html),
            ["-Oz", "--converge", "--low-memory-unused"]
        );
        assert!(wasm_opt_args("<link rel=\"rust\">").is_empty());
    }

    #[test]
    fn items_are_put_in_their_crates() {
        for (item, krate) in [
            (
                "tachys::view::iterators::<impl tachys::view::Render for alloc::vec::Vec<T>>::rebuild::h57e7",
                "tachys",
            ),
            (
                "<&mut serde_json::de::Deserializer<R> as serde_core::de::Deserializer>::deserialize_struct::h0a",
                "serde_json",
            ),
            (
                "<dlmalloc[e24a27700634d609]::dlmalloc::Dlmalloc<dlmalloc[e24a27700634d609]::sys::System>>::malloc",
                "dlmalloc",
            ),
            ("core[c5930c85a12de822]::str::slice_error_fail", "core"),
            ("<T as alloc::string::ToString>::to_string::h1", "alloc"),
            (
                "<F as tachys::reactive_graph::ReactiveFunction>::invoke::h2",
                "tachys",
            ),
            ("<char>::escape_debug_ext", "core"),
            ("<&str as core[c5930c85a12de822]::fmt::Debug>::fmt", "core"),
            ("porchlight::machine::Widget::update::hc430", "porchlight"),
            (
                "core::ptr::drop_in_place<porchlight_protocol::config::Texts>::h3",
                "porchlight_protocol",
            ),
            ("data segment \".rodata\"", "(data)"),
            ("import ./porchlight_bg.js::__wbg_now", "(imports)"),
            (
                "intounderlyingsource_pull externref shim",
                "(wasm-bindgen shims and tables)",
            ),
            ("elem[0]", "(wasm-bindgen shims and tables)"),
        ] {
            assert_eq!(crate_of(item), krate, "{item}");
        }
    }

    #[test]
    fn twiggy_csv_rows_keep_quoted_names_whole() {
        let csv = "Name,ShallowSize,ShallowSizePercent,RetainedSize,RetainedSizePercent\n\
            \"\"\"function names\"\" subsection\",493225,56.1,,\n\
            \"<(A,B) as tachys::view::Render>::build::h1\",120,0.1,,\n\
            porchlight::main::h7,4693,0.5,,\n";
        let items = parse_twiggy_csv(csv);
        assert_eq!(
            items,
            [
                ("\"function names\" subsection".to_string(), 493225),
                (
                    "<(A,B) as tachys::view::Render>::build::h1".to_string(),
                    120
                ),
                ("porchlight::main::h7".to_string(), 4693),
            ]
        );
        assert_eq!(
            by_crate(&items),
            [
                ("porchlight".to_string(), 4693),
                ("tachys".to_string(), 120)
            ]
        );
    }
}
