//! The precompressed copies the server sends: `name.br` and `name.gz` beside every built
//! file a browser downloads, at the strongest settings (compressed once at build time, not
//! per request).

use std::io::Write;
use std::path::Path;

/// The extensions worth compressing.
const COMPRESSIBLE: &[&str] = &["html", "js", "wasm", "css", "svg", "json"];

/// `bytes` gzipped at the best level.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).map_err(|e| e.to_string())?;
    encoder.finish().map_err(|e| e.to_string())
}

/// `bytes` as brotli at quality 11 with a 4 MiB window.
pub fn brotli(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes `.br` and `.gz` copies of every compressible file in `dir`; returns how many
/// files were compressed.
pub fn precompress(dir: &Path) -> Result<usize, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut count = 0;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !path.is_file() || !compressible {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (suffix, compressed) in [("br", brotli(&bytes)?), ("gz", gzip(&bytes)?)] {
            let mut name = path.as_os_str().to_owned();
            name.push(".");
            name.push(suffix);
            std::fs::write(&name, compressed)
                .map_err(|e| format!("{}: {e}", Path::new(&name).display()))?;
        }
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_downloaded_file_gets_both_copies_and_they_decompress_to_it() {
        let dir = std::env::temp_dir().join(format!("porchlight-compress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let text = "body { color: red; }\n".repeat(100);
        std::fs::write(dir.join("a-0123456789abcdef.css"), &text).expect("write");
        std::fs::write(dir.join("notes.txt"), "not sent to browsers").expect("write");
        assert_eq!(precompress(&dir), Ok(1));
        let br = std::fs::read(dir.join("a-0123456789abcdef.css.br")).expect("br");
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).expect("brotli");
        assert_eq!(back, text.as_bytes());
        let gz = std::fs::read(dir.join("a-0123456789abcdef.css.gz")).expect("gz");
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back)
            .expect("gzip");
        assert_eq!(back, text);
        assert!(!dir.join("notes.txt.br").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
