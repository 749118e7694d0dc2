//! `cargo xtask size`: what a browser downloads to show the opened widget — the loader, the
//! widget's HTML, JS glue, wasm and CSS — raw, gzip and brotli, with the total; then the
//! same for the agent console (reported only: agents are not visitors, it has no budget).

use std::io::Write;
use std::path::{Path, PathBuf};

/// One downloaded file's sizes in bytes.
pub struct FileSize {
    pub name: String,
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

fn gzip_len(bytes: &[u8]) -> Result<usize, String> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).map_err(|e| e.to_string())?;
    Ok(encoder.finish().map_err(|e| e.to_string())?.len())
}

fn brotli_len(bytes: &[u8]) -> Result<usize, String> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).map_err(|e| e.to_string())?;
    Ok(out.len())
}

/// The files of a built bundle, loader first.
pub fn bundle_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = dist_files(&root.join("dist"))?;
    files.insert(0, root.join("loader/porchlight.js"));
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
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(FileSize {
                name: path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
                raw: bytes.len(),
                gzip: gzip_len(&bytes)?,
                brotli: brotli_len(&bytes)?,
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
pub const TOTAL_BROTLI_BUDGET: usize = 168_000;
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
