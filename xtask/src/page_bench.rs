//! The `page` section of `cargo xtask bench`: what the snippet costs a host page. A plain
//! article (`bench/page/article.html`, served here by a tiny std::net server on
//! `http://127.0.0.1:PORT_A/`) is measured without and with the snippet pointing at the
//! release server on `http://localhost:PORT_B/` (another host, so another site and a
//! cross-site iframe, as in production). Each figure is the median of `--runs` runs:
//!
//! - Lighthouse (npm, pinned, in `.tools/lighthouse`; mobile, simulated throttling,
//!   performance only) on both pages: score, Total Blocking Time, LCP, bytes in all and
//!   bytes from the chat host before any interaction, and the deltas against targets;
//! - `bench/page/timing.mjs` (puppeteer-core, which Lighthouse brings, driving Debian's
//!   headless Chromium): the launcher visible after the page's `load` event, and a click on
//!   it to the composer focused, with a cold cache and a warm one (a second visit in the
//!   same profile);
//! - the widget's bytes as `cargo xtask size` measures them.
//!
//! Writes `target/bench/page.md` (and each Lighthouse report under `target/bench/page/`)
//! and prints the markdown.

use crate::size::{self, FileSize};
use crate::tools::CHROMIUM;
use crate::{cargo, root, run, step, target_dir};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Lighthouse from npm. 12.8 is the last line that runs on Node 20 (13 wants Node 22.19).
const LIGHTHOUSE_VERSION: &str = "12.8.2";

/// The site id of the server's built-in configuration.
const SITE: &str = "demo";

/// Where the article's template says the snippet goes.
const SNIPPET_MARKER: &str = "<!--porchlight-->";

/// The targets shown beside the figures.
const TARGET_LCP_DELTA_MS: f64 = 50.0;
const TARGET_CHAT_BYTES: f64 = 10.0 * 1024.0;
const TARGET_LAUNCHER_MS: f64 = 300.0;

/// Runs the section: `runs` rounds of Lighthouse on both pages and of the browser timings.
pub fn page(runs: usize) -> Result<(), String> {
    let root = root();
    require_built(&root)?;
    if !Path::new(CHROMIUM).is_file() {
        return Err(format!(
            "no Chromium at {CHROMIUM}: run `cargo xtask setup --browser` first"
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Err(
            "no `node` on PATH: the page bench runs Lighthouse and puppeteer-core with Node.js"
                .into(),
        );
    }
    install_lighthouse(&root)?;
    step("Building the server (release)", || {
        run(cargo().args(["build", "--release", "--locked", "-p", "porchlight-server"]))
    })?;
    let out_dir = target_dir().join("bench");
    let reports = out_dir.join("page");
    std::fs::create_dir_all(&reports)
        .map_err(|e| format!("cannot create {}: {e}", reports.display()))?;
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string));

    let mock = MockServer::start(
        &target_dir().join("release/porchlight-server"),
        &root,
        &reports.join("mock-server.log"),
    )?;
    let chat_origin = format!("http://localhost:{}", mock.addr.port());
    let article = ArticleServer::start(&root.join("bench/page"), &chat_origin)?;
    let plain_url = format!("http://{}/", article.addr);
    let chat_url = format!("http://{}/with-chat/", article.addr);
    let chat_authority = format!("localhost:{}", mock.addr.port());
    eprintln!("    article {plain_url} (with the snippet: {chat_url}), chat server {chat_origin}");

    let after_load_url = format!("http://{}/after-load/", article.addr);
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut after_load = Vec::new();
    let mut visits = Vec::new();
    for round in 1..=runs {
        step(
            &format!("Lighthouse without the snippet ({round}/{runs})"),
            || {
                let path = reports.join(format!("lighthouse-without-{round}.json"));
                lighthouse(&root, &plain_url, &path, &chat_authority)
            },
        )
        .map(|figures| without.push(figures))?;
        step(
            &format!("Lighthouse with the snippet ({round}/{runs})"),
            || {
                let path = reports.join(format!("lighthouse-with-{round}.json"));
                lighthouse(&root, &chat_url, &path, &chat_authority)
            },
        )
        .map(|figures| with.push(figures))?;
        step(
            &format!("Lighthouse with the snippet added after load ({round}/{runs})"),
            || {
                let path = reports.join(format!("lighthouse-after-load-{round}.json"));
                lighthouse(&root, &after_load_url, &path, &chat_authority)
            },
        )
        .map(|figures| after_load.push(figures))?;
        step(
            &format!("Launcher and composer, cold then warm cache ({round}/{runs})"),
            || timing(&root, &chat_url, &chat_origin),
        )
        .map(|visit| visits.push(visit))?;
    }
    drop(article);
    drop(mock);

    let sizes = size::measure(&root)?;
    let markdown = report(&Results {
        runs,
        without: &without,
        with: &with,
        after_load: &after_load,
        visits: &visits,
        sizes: &sizes,
        load_average: load_average.as_deref(),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
    })?;
    let out = out_dir.join("page.md");
    std::fs::write(&out, &markdown).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    print!("{markdown}");
    eprintln!("xtask bench page: written to {}", out.display());
    Ok(())
}

/// Fails with the command to run when the widget or the console is not built.
fn require_built(root: &Path) -> Result<(), String> {
    for dir in [root.join("dist"), crate::console_dist()] {
        if !dir.join("index.html").is_file() {
            return Err(format!(
                "no build in {}: run `cargo xtask build` first (the page bench serves the release widget)",
                dir.display()
            ));
        }
    }
    Ok(())
}

/// Where npm installs Lighthouse (and its puppeteer-core) for this checkout.
fn lighthouse_dir(root: &Path) -> PathBuf {
    root.join(".tools/lighthouse/node_modules/lighthouse")
}

/// The `version` of an npm `package.json`.
fn package_version(manifest: &str) -> Option<String> {
    let manifest: Value = serde_json::from_str(manifest).ok()?;
    manifest.get("version")?.as_str().map(str::to_string)
}

/// Installs the pinned Lighthouse into `.tools/lighthouse` unless it is there.
fn install_lighthouse(root: &Path) -> Result<(), String> {
    let installed = std::fs::read_to_string(lighthouse_dir(root).join("package.json"))
        .ok()
        .and_then(|m| package_version(&m));
    let puppeteer = root.join(".tools/lighthouse/node_modules/puppeteer-core/package.json");
    if installed.as_deref() == Some(LIGHTHOUSE_VERSION) && puppeteer.is_file() {
        return Ok(());
    }
    step(
        &format!("Installing Lighthouse {LIGHTHOUSE_VERSION} (npm)"),
        || {
            let prefix = root.join(".tools/lighthouse");
            std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
            run(Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&prefix)
                .arg(format!("lighthouse@{LIGHTHOUSE_VERSION}"))
                .stdout(std::io::stderr()))
        },
    )
}

/// One Lighthouse run: writes its JSON report to `out` and reads the figures from it.
fn lighthouse(
    root: &Path,
    url: &str,
    out: &Path,
    chat_authority: &str,
) -> Result<LighthouseFigures, String> {
    run(Command::new("node")
        .arg(lighthouse_dir(root).join("cli/index.js"))
        .arg(url)
        .arg("--output=json")
        .arg(format!("--output-path={}", out.display()))
        .args([
            "--only-categories=performance",
            "--form-factor=mobile",
            "--throttling-method=simulate",
            "--chrome-flags=--headless=new --no-sandbox",
            "--quiet",
        ])
        .env("CHROME_PATH", CHROMIUM)
        .stdout(std::io::stderr()))?;
    let json = std::fs::read_to_string(out)
        .map_err(|e| format!("cannot read Lighthouse's report {}: {e}", out.display()))?;
    parse_lighthouse(&json, chat_authority).map_err(|e| format!("{}: {e}", out.display()))
}

/// One run of `bench/page/timing.mjs`: a cold and a warm visit in a fresh profile.
fn timing(root: &Path, url: &str, chat_origin: &str) -> Result<Visits, String> {
    let mut command = Command::new("node");
    command
        .arg(root.join("bench/page/timing.mjs"))
        .arg("--lighthouse")
        .arg(lighthouse_dir(root))
        .args([
            "--chromium",
            CHROMIUM,
            "--url",
            url,
            "--chat-origin",
            chat_origin,
        ])
        .stderr(Stdio::inherit());
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{shown} failed ({})", output.status));
    }
    parse_timing(&String::from_utf8_lossy(&output.stdout))
}

/// The release server on 127.0.0.1 (a free port), killed on drop.
struct MockServer {
    child: Child,
    addr: SocketAddr,
    // Kept open: the server's stdout stays writable while it runs.
    _stdout: BufReader<ChildStdout>,
}

impl MockServer {
    fn start(binary: &Path, root: &Path, log: &Path) -> Result<MockServer, String> {
        if !binary.is_file() {
            return Err(format!("no server at {}", binary.display()));
        }
        let log = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut child = Command::new(binary)
            .args(["--memory", "--no-client-limits", "--addr", "127.0.0.1:0"])
            .arg("--widget-dir")
            .arg(root.join("dist"))
            .arg("--console-dir")
            .arg(crate::console_dist())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the server's stdout is not piped".into());
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let addr = stdout
            .read_line(&mut line)
            .ok()
            .and_then(|_| announced_addr(&line));
        match addr {
            Some(addr) => Ok(MockServer {
                child,
                addr,
                _stdout: stdout,
            }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "the server did not announce its address (got {line:?}; see its log)"
                ))
            }
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the server's first line, `Porchlight demo: http://ADDR/`.
fn announced_addr(line: &str) -> Option<SocketAddr> {
    line.trim()
        .strip_prefix("Porchlight demo: http://")?
        .strip_suffix('/')?
        .parse()
        .ok()
}

/// What the article server answers with.
struct Pages {
    plain: Vec<u8>,
    with_chat: Vec<u8>,
    /// With the snippet's script added only once the page has loaded (an inline script:
    /// for host pages whose CSP allows one).
    after_load: Vec<u8>,
    figure: Vec<u8>,
}

impl Pages {
    /// The article without the snippet, with it (for `chat_origin`), and its figure.
    fn new(template: &str, figure: Vec<u8>, chat_origin: &str) -> Result<Pages, String> {
        if !template.contains(SNIPPET_MARKER) {
            return Err(format!(
                "the article has no {SNIPPET_MARKER} where the snippet goes"
            ));
        }
        let snippet = format!(
            r#"<script async src="{chat_origin}/porchlight.js" data-site="{SITE}"></script>"#
        );
        let after_load = format!(
            "<script>addEventListener('load', function () {{ var s = document.createElement('script'); \
             s.src = '{chat_origin}/porchlight.js'; s.dataset.site = '{SITE}'; \
             document.body.appendChild(s); }});</script>"
        );
        Ok(Pages {
            plain: template.replace(SNIPPET_MARKER, "").into_bytes(),
            with_chat: template.replace(SNIPPET_MARKER, &snippet).into_bytes(),
            after_load: template.replace(SNIPPET_MARKER, &after_load).into_bytes(),
            figure,
        })
    }
}

/// The whole HTTP/1.1 answer to a request whose first line is `request_line`.
fn respond(request_line: &str, pages: &Pages) -> Vec<u8> {
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let found: Option<(&str, &str, &[u8])> = match path {
        "/" | "/index.html" => Some(("text/html; charset=utf-8", "no-cache", &pages.plain)),
        "/with-chat/" => Some(("text/html; charset=utf-8", "no-cache", &pages.with_chat)),
        "/after-load/" => Some(("text/html; charset=utf-8", "no-cache", &pages.after_load)),
        "/figure.svg" => Some(("image/svg+xml", "public, max-age=86400", &pages.figure)),
        _ => None,
    };
    let (status, content_type, cache, body) = match (method, found) {
        ("GET" | "HEAD", Some((content_type, cache, body))) => {
            ("200 OK", content_type, cache, body)
        }
        ("GET" | "HEAD", None) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "no-cache",
            &b"not found\n"[..],
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "no-cache",
            &b"GET only\n"[..],
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: {cache}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        response.extend_from_slice(body);
    }
    response
}

/// The article's static server: a thread accepting on 127.0.0.1, a thread per connection
/// (kept alive, as a real server would); it stops accepting on drop.
struct ArticleServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl ArticleServer {
    fn start(dir: &Path, chat_origin: &str) -> Result<ArticleServer, String> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let template = String::from_utf8(read("article.html")?)
            .map_err(|_| "bench/page/article.html is not UTF-8".to_string())?;
        let pages = Arc::new(Pages::new(&template, read("figure.svg")?, chat_origin)?);
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot listen for the article: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the article server has no address: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let pages = Arc::clone(&pages);
                    std::thread::spawn(move || serve_connection(stream, &pages));
                }
            }
        });
        Ok(ArticleServer { addr, stop })
    }
}

impl Drop for ArticleServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Answers the requests of one connection until the client closes it or idles for 30 s.
fn serve_connection(stream: TcpStream, pages: &Pages) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if !matches!(reader.read_line(&mut request_line), Ok(n) if n > 0) {
            return;
        }
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) | Err(_) => return,
                Ok(_) if header.trim().is_empty() => break,
                Ok(_) => {}
            }
        }
        if writer.write_all(&respond(&request_line, pages)).is_err() {
            return;
        }
    }
}

/// The figures of one Lighthouse report.
#[derive(Debug, Clone, PartialEq)]
struct LighthouseFigures {
    /// The performance score, 0 to 100.
    score: f64,
    tbt_ms: f64,
    lcp_ms: f64,
    total_bytes: f64,
    /// Transferred from the chat host (the loader, the widget and its API reads).
    chat_bytes: f64,
    /// Lighthouse's measure of the machine's speed at the time (lower when busy).
    benchmark_index: Option<f64>,
}

/// Reads the figures from a Lighthouse JSON report; `chat_authority` is the chat host's
/// `host:port`.
fn parse_lighthouse(json: &str, chat_authority: &str) -> Result<LighthouseFigures, String> {
    let report: Value =
        serde_json::from_str(json).map_err(|e| format!("not a Lighthouse JSON report: {e}"))?;
    if let Some(error) = report.get("runtimeError") {
        let code = error.get("code").and_then(Value::as_str).unwrap_or("?");
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(format!("Lighthouse failed: {code} {message}"));
    }
    let score = report
        .pointer("/categories/performance/score")
        .and_then(Value::as_f64)
        .ok_or("the report has no performance score")?;
    let numeric = |audit: &str| {
        report
            .pointer(&format!("/audits/{audit}/numericValue"))
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("the report has no {audit} figure"))
    };
    let items = report
        .pointer("/audits/network-requests/details/items")
        .and_then(Value::as_array)
        .ok_or("the report has no network-requests table")?;
    let chat_bytes = items
        .iter()
        .filter(|item| {
            item.get("url")
                .and_then(Value::as_str)
                .and_then(authority)
                .is_some_and(|a| a.eq_ignore_ascii_case(chat_authority))
        })
        .filter_map(|item| item.get("transferSize").and_then(Value::as_f64))
        .sum();
    Ok(LighthouseFigures {
        score: score * 100.0,
        tbt_ms: numeric("total-blocking-time")?,
        lcp_ms: numeric("largest-contentful-paint")?,
        total_bytes: numeric("total-byte-weight")?,
        chat_bytes,
        benchmark_index: report
            .pointer("/environment/benchmarkIndex")
            .and_then(Value::as_f64),
    })
}

/// The `host:port` of an absolute URL.
fn authority(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // Drop any user info.
    Some(
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host),
    )
}

/// The timings of one visit, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Visit {
    launcher_after_load_ms: f64,
    click_to_focus_ms: f64,
}

/// A cold visit and a warm one, in the same profile.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Visits {
    cold: Visit,
    warm: Visit,
}

/// Reads the JSON line `timing.mjs` prints.
fn parse_timing(stdout: &str) -> Result<Visits, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or("timing.mjs printed nothing")?;
    let value: Value = serde_json::from_str(line)
        .map_err(|e| format!("timing.mjs printed {line:?}, not JSON: {e}"))?;
    let visit = |name: &str| -> Result<Visit, String> {
        let figure = |field: &str| {
            value
                .pointer(&format!("/{name}/{field}"))
                .and_then(Value::as_f64)
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("timing.mjs gave no {name}.{field} in {line:?}"))
        };
        Ok(Visit {
            launcher_after_load_ms: figure("launcher_after_load_ms")?,
            click_to_focus_ms: figure("click_to_focus_ms")?,
        })
    };
    Ok(Visits {
        cold: visit("cold")?,
        warm: visit("warm")?,
    })
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Everything the report shows.
struct Results<'a> {
    runs: usize,
    without: &'a [LighthouseFigures],
    with: &'a [LighthouseFigures],
    after_load: &'a [LighthouseFigures],
    visits: &'a [Visits],
    sizes: &'a [FileSize],
    load_average: Option<&'a str>,
    cores: usize,
}

/// A whole number with thousands separators, e.g. `12,345`; a sign when `signed`.
fn thousands(value: f64, signed: bool) -> String {
    let rounded = value.round();
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    let sign = if rounded < 0.0 {
        "−"
    } else if signed && rounded > 0.0 {
        "+"
    } else {
        ""
    };
    format!("{sign}{out}")
}

/// A Lighthouse column of the report: its heading and its figure.
type Column = (&'static str, fn(&LighthouseFigures) -> f64);

/// The page bench's markdown.
fn report(results: &Results) -> Result<String, String> {
    let mut md = String::new();
    md.push_str("# Page bench: the snippet on a plain article\n\n");
    md.push_str(&format!(
        "Median of {} run{}. Article on `127.0.0.1`, chat server (release `porchlight-server`) \
         on `localhost`: another site, as in production. {} core{}, load average at the start \
         {}.\n\n",
        results.runs,
        if results.runs == 1 { "" } else { "s" },
        results.cores,
        if results.cores == 1 { "" } else { "s" },
        results.load_average.unwrap_or("unknown"),
    ));

    let figure = |rows: &[LighthouseFigures], get: fn(&LighthouseFigures) -> f64| {
        median(&rows.iter().map(get).collect::<Vec<_>>())
            .ok_or_else(|| "no Lighthouse runs to report".to_string())
    };
    let columns: [Column; 5] = [
        ("score", |f| f.score),
        ("TBT (ms)", |f| f.tbt_ms),
        ("LCP (ms)", |f| f.lcp_ms),
        ("bytes in all", |f| f.total_bytes),
        ("bytes from the chat host", |f| f.chat_bytes),
    ];
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut after_load = Vec::new();
    for (_, get) in columns {
        without.push(figure(results.without, get)?);
        with.push(figure(results.with, get)?);
        if !results.after_load.is_empty() {
            after_load.push(figure(results.after_load, get)?);
        }
    }
    let delta: Vec<f64> = with.iter().zip(&without).map(|(w, o)| w - o).collect();
    let met = [
        delta[0] >= 0.0,
        delta[1] <= 0.0,
        delta[2] <= TARGET_LCP_DELTA_MS,
        true,
        with[4] <= TARGET_CHAT_BYTES,
    ];
    md.push_str("## Lighthouse (mobile, simulated throttling, performance only)\n\n");
    let header: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    md.push_str(&format!("| page | {} |\n", header.join(" | ")));
    md.push_str(&format!("|---|{}\n", "---:|".repeat(columns.len())));
    let row = |name: &str, values: &[f64], signed: bool| {
        let cells: Vec<String> = values.iter().map(|v| thousands(*v, signed)).collect();
        format!("| {name} | {} |\n", cells.join(" | "))
    };
    md.push_str(&row("without the snippet", &without, false));
    md.push_str(&row("with the snippet", &with, false));
    md.push_str(&row("delta", &delta, true));
    md.push_str(&format!(
        "| target | delta 0 | delta 0 | delta ≤ {TARGET_LCP_DELTA_MS:.0} | — | ≤ {} (10 KB) |\n",
        thousands(TARGET_CHAT_BYTES, false)
    ));
    let marks: Vec<&str> = met
        .iter()
        .enumerate()
        .map(|(i, ok)| match (i, ok) {
            (3, _) => "—",
            (_, true) => "yes",
            (_, false) => "**no**",
        })
        .collect();
    md.push_str(&format!("| target met | {} |\n", marks.join(" | ")));
    if !after_load.is_empty() {
        let delta: Vec<f64> = after_load
            .iter()
            .zip(&without)
            .map(|(w, o)| w - o)
            .collect();
        md.push_str(&row(
            "with the snippet added after `load` (inline)",
            &after_load,
            false,
        ));
        md.push_str(&row("delta", &delta, true));
    }
    md.push('\n');
    let bench_index: Vec<f64> = results
        .without
        .iter()
        .chain(results.with)
        .filter_map(|f| f.benchmark_index)
        .collect();
    if let Some(index) = median(&bench_index) {
        md.push_str(&format!(
            "Lighthouse's benchmark index (machine speed; lower when busy): median {index:.0}. \
             Bytes from the chat host: everything its origin sent until the page settled, \
             without any interaction.\n\n"
        ));
    }

    md.push_str("## Launcher and composer (headless Chromium, loopback, no throttling)\n\n");
    md.push_str(
        "| visit | launcher visible after `load` (ms) | runs | click → composer focused (ms) | runs |\n",
    );
    md.push_str("|---|---:|---|---:|---|\n");
    for (name, pick) in [
        ("cold cache", (|v: &Visits| v.cold) as fn(&Visits) -> Visit),
        ("warm cache", |v: &Visits| v.warm),
    ] {
        let shown: Vec<f64> = results
            .visits
            .iter()
            .map(|v| pick(v).launcher_after_load_ms)
            .collect();
        let focused: Vec<f64> = results
            .visits
            .iter()
            .map(|v| pick(v).click_to_focus_ms)
            .collect();
        let list = |values: &[f64]| {
            values
                .iter()
                .map(|v| format!("{v:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        md.push_str(&format!(
            "| {name} | {:.0} | {} | {:.0} | {} |\n",
            median(&shown).ok_or("no browser runs to report")?,
            list(&shown),
            median(&focused).ok_or("no browser runs to report")?,
            list(&focused),
        ));
    }
    md.push_str(&format!(
        "| target | ≤ {TARGET_LAUNCHER_MS:.0} | | — | |\n\n"
    ));

    md.push_str("## Bytes (as `cargo xtask size`)\n\n");
    md.push_str(&size_table(results.sizes));
    Ok(md)
}

/// The widget's bytes as a markdown table, with the total.
fn size_table(files: &[FileSize]) -> String {
    let mut md = String::from("| file | raw | gzip | brotli |\n|---|---:|---:|---:|\n");
    for f in files {
        md.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            f.name,
            thousands(f.raw as f64, false),
            thousands(f.gzip as f64, false),
            thousands(f.brotli as f64, false)
        ));
    }
    let total = |get: fn(&FileSize) -> usize| files.iter().map(get).sum::<usize>() as f64;
    md.push_str(&format!(
        "| total | {} | {} | {} |\n",
        thousands(total(|f| f.raw), false),
        thousands(total(|f| f.gzip), false),
        thousands(total(|f| f.brotli), false)
    ));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[4.0]), Some(4.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 7.0]), Some(7.0));
    }

    #[test]
    fn numbers_with_separators_and_signs() {
        assert_eq!(thousands(0.0, true), "0");
        assert_eq!(thousands(999.4, false), "999");
        assert_eq!(thousands(1234.0, false), "1,234");
        assert_eq!(thousands(1234567.0, true), "+1,234,567");
        assert_eq!(thousands(-50.0, true), "−50");
        assert_eq!(thousands(-0.2, true), "0");
    }

    #[test]
    fn authorities_of_urls() {
        assert_eq!(
            authority("http://localhost:8080/widget/?a=b"),
            Some("localhost:8080")
        );
        assert_eq!(authority("ws://localhost:8080"), Some("localhost:8080"));
        assert_eq!(
            authority("https://u:p@chat.example/x"),
            Some("chat.example")
        );
        assert_eq!(authority("http://127.0.0.1:9?x"), Some("127.0.0.1:9"));
        assert_eq!(authority("data:image/png;base64,AAAA"), None);
    }

    #[test]
    fn the_announced_address() {
        assert_eq!(
            announced_addr("Porchlight demo: http://127.0.0.1:4321/\n"),
            Some(SocketAddr::from(([127, 0, 0, 1], 4321)))
        );
        assert_eq!(announced_addr(""), None);
        assert_eq!(announced_addr("error: cannot listen"), None);
    }

    #[test]
    fn package_versions() {
        assert_eq!(
            package_version(r#"{"name": "lighthouse", "version": "12.8.2"}"#).as_deref(),
            Some("12.8.2")
        );
        assert_eq!(package_version("{}"), None);
        assert_eq!(package_version("not json"), None);
    }

    const REPORT: &str = r#"{
      "lighthouseVersion": "12.8.2",
      "environment": {"benchmarkIndex": 1500.5},
      "categories": {"performance": {"score": 0.97}},
      "audits": {
        "total-blocking-time": {"numericValue": 12.5},
        "largest-contentful-paint": {"numericValue": 1803.2},
        "total-byte-weight": {"numericValue": 150000},
        "network-requests": {"details": {"items": [
          {"url": "http://127.0.0.1:5000/", "transferSize": 4200},
          {"url": "http://localhost:6000/porchlight.js", "transferSize": 1500},
          {"url": "http://LOCALHOST:6000/widget/x_bg.wasm", "transferSize": 130000},
          {"url": "http://localhost:60001/elsewhere", "transferSize": 999},
          {"url": "http://localhost:6000/api/v1/sites/demo/config"},
          {"transferSize": 5}
        ]}}
      }
    }"#;

    #[test]
    fn lighthouse_figures() {
        let figures = parse_lighthouse(REPORT, "localhost:6000").expect("parses");
        assert_eq!(
            figures,
            LighthouseFigures {
                score: 97.0,
                tbt_ms: 12.5,
                lcp_ms: 1803.2,
                total_bytes: 150000.0,
                chat_bytes: 131500.0,
                benchmark_index: Some(1500.5),
            }
        );
    }

    #[test]
    fn lighthouse_failures_are_errors() {
        assert!(parse_lighthouse("", "localhost:1").is_err());
        let failed = r#"{"runtimeError": {"code": "NO_FCP", "message": "no paint"},
                         "categories": {"performance": {"score": null}}, "audits": {}}"#;
        let error = parse_lighthouse(failed, "localhost:1").expect_err("fails");
        assert!(error.contains("NO_FCP"), "{error}");
        let no_score = REPORT.replace("0.97", "null");
        assert!(parse_lighthouse(&no_score, "localhost:6000").is_err());
        let no_lcp = REPORT.replace("largest-contentful-paint", "renamed");
        assert!(parse_lighthouse(&no_lcp, "localhost:6000").is_err());
    }

    #[test]
    fn timing_lines() {
        let out = "noise\n{\"cold\":{\"launcher_after_load_ms\":57.1,\"click_to_focus_ms\":19.7},\
                   \"warm\":{\"launcher_after_load_ms\":26,\"click_to_focus_ms\":13.1}}\n\n";
        let visits = parse_timing(out).expect("parses");
        assert_eq!(visits.cold.launcher_after_load_ms, 57.1);
        assert_eq!(visits.warm.click_to_focus_ms, 13.1);
        assert!(parse_timing("").is_err());
        assert!(parse_timing("{\"cold\":{}}").is_err());
        assert!(parse_timing("{\"cold\":{\"launcher_after_load_ms\":null}}").is_err());
    }

    fn pages() -> Pages {
        Pages::new(
            "<p>article</p><!--porchlight--></body>",
            b"<svg/>".to_vec(),
            "http://localhost:7",
        )
        .expect("has the marker")
    }

    #[test]
    fn the_article_with_and_without_the_snippet() {
        let pages = pages();
        assert_eq!(pages.plain, b"<p>article</p></body>");
        assert_eq!(
            String::from_utf8_lossy(&pages.with_chat),
            r#"<p>article</p><script async src="http://localhost:7/porchlight.js" data-site="demo"></script></body>"#
        );
        assert!(Pages::new("<p>no marker</p>", Vec::new(), "http://x").is_err());
    }

    #[test]
    fn the_article_server_answers() {
        let pages = pages();
        let text = |line: &str| String::from_utf8_lossy(&respond(line, &pages)).into_owned();
        let plain = text("GET / HTTP/1.1\r\n");
        assert!(plain.starts_with("HTTP/1.1 200 OK\r\n"), "{plain}");
        assert!(plain.contains("Content-Length: 21\r\n"), "{plain}");
        assert!(plain.ends_with("\r\n\r\n<p>article</p></body>"), "{plain}");
        assert!(text("GET /with-chat/?x=1 HTTP/1.1").contains("porchlight.js"));
        assert!(text("GET /figure.svg HTTP/1.1").contains("Content-Type: image/svg+xml"));
        assert!(text("HEAD / HTTP/1.1").ends_with("\r\n\r\n"));
        assert!(text("GET /favicon.ico HTTP/1.1").starts_with("HTTP/1.1 404"));
        assert!(text("POST / HTTP/1.1").starts_with("HTTP/1.1 405"));
        assert!(text("").starts_with("HTTP/1.1 405"));
    }

    fn figures(score: f64, lcp_ms: f64, chat_bytes: f64) -> LighthouseFigures {
        LighthouseFigures {
            score,
            tbt_ms: 0.0,
            lcp_ms,
            total_bytes: 5000.0 + chat_bytes,
            chat_bytes,
            benchmark_index: Some(1000.0),
        }
    }

    #[test]
    fn the_report() {
        let visit = |shown, focused| Visit {
            launcher_after_load_ms: shown,
            click_to_focus_ms: focused,
        };
        let sizes = [FileSize {
            name: "loader/porchlight.js".into(),
            raw: 3668,
            gzip: 1400,
            brotli: 1200,
        }];
        let md = report(&Results {
            runs: 3,
            without: &[
                figures(100.0, 800.0, 0.0),
                figures(100.0, 810.0, 0.0),
                figures(99.0, 790.0, 0.0),
            ],
            with: &[
                figures(100.0, 900.0, 140_000.0),
                figures(98.0, 820.0, 140_000.0),
                figures(99.0, 830.0, 141_000.0),
            ],
            after_load: &[
                figures(100.0, 805.0, 6_000.0),
                figures(100.0, 800.0, 6_000.0),
                figures(100.0, 812.0, 6_000.0),
            ],
            visits: &[
                Visits {
                    cold: visit(120.0, 30.0),
                    warm: visit(20.0, 10.0),
                },
                Visits {
                    cold: visit(100.0, 31.0),
                    warm: visit(25.0, 12.0),
                },
                Visits {
                    cold: visit(400.0, 29.0),
                    warm: visit(22.0, 11.0),
                },
            ],
            sizes: &sizes,
            load_average: Some("0.50"),
            cores: 2,
        })
        .expect("reports");
        assert!(md.contains("Median of 3 runs"), "{md}");
        assert!(
            md.contains("| without the snippet | 100 | 0 | 800 | 5,000 | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("| with the snippet | 99 | 0 | 830 | 145,000 | 140,000 |"),
            "{md}"
        );
        assert!(
            md.contains("| delta | −1 | 0 | +30 | +140,000 | +140,000 |"),
            "{md}"
        );
        assert!(
            md.contains("| target met | **no** | yes | yes | — | **no** |"),
            "{md}"
        );
        assert!(
            md.contains("| cold cache | 120 | 120, 100, 400 | 30 | 30, 31, 29 |"),
            "{md}"
        );
        assert!(
            md.contains("| warm cache | 22 | 20, 25, 22 | 11 | 10, 12, 11 |"),
            "{md}"
        );
        assert!(
            md.contains("| `loader/porchlight.js` | 3,668 | 1,400 | 1,200 |"),
            "{md}"
        );
        assert!(md.contains("| total | 3,668 | 1,400 | 1,200 |"), "{md}");
    }

    #[test]
    fn no_runs_no_report() {
        let results = Results {
            runs: 0,
            without: &[],
            with: &[],
            after_load: &[],
            visits: &[],
            sizes: &[],
            load_average: None,
            cores: 2,
        };
        assert!(report(&results).is_err());
    }
}
