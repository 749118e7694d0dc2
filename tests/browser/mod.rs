//! Test harness for the end-to-end tests: the server in-process on port 0, a strict
//! cross-origin host page, and headless Chromium driven over WebDriver (ChromeDriver).
#![allow(dead_code)] // shared by several test files, each using its own part

pub mod proxy;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use porchlight_server::client::ControlClient;
use porchlight_server::process::ServerProcess;
use porchlight_server::{ServerConfig, Shared, serve};
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long any one expectation may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// The mock chat server, stopped on drop.
pub struct Chat {
    addr: SocketAddr,
    token: porchlight_protocol::AdminToken,
    stops: Vec<oneshot::Sender<()>>,
}

impl Drop for Chat {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
    }
}

fn widget_dir() -> PathBuf {
    let dir = std::env::var_os("PORCHLIGHT_WIDGET_DIR")
        .map(PathBuf::from)
        .expect("PORCHLIGHT_WIDGET_DIR is not set: run these tests with `cargo xtask test`");
    assert!(
        dir.join("index.html").is_file(),
        "no built widget in {}: run `cargo xtask test`",
        dir.display()
    );
    dir
}

/// The built agent console (`cargo xtask build` puts it in console/dist).
fn console_dir() -> PathBuf {
    std::env::var_os("PORCHLIGHT_CONSOLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console/dist"))
}

impl Chat {
    /// Starts the server with the built-in config on 127.0.0.1, port 0, without its
    /// simulated customers (whose requests would join the tests' queues).
    pub async fn start() -> Chat {
        let mut config = ServerConfig::default();
        config.customers.clear();
        Chat::start_with(config).await
    }

    /// Starts the server with `config`.
    pub async fn start_with(config: ServerConfig) -> Chat {
        Chat::start_on(porchlight_server::desk::Desk::new(config)).await
    }

    /// Starts the server around `desk` (e.g. one kept in a database).
    pub async fn start_on(desk: std::sync::Arc<porchlight_server::desk::Desk>) -> Chat {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let state = Shared::with(
            desk,
            porchlight_server::Options {
                console_dir: console_dir(),
                ..porchlight_server::Options::serving(widget_dir())
            },
        );
        let token = state.admin.token().clone();
        tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        Chat {
            addr,
            token,
            stops: vec![stop],
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The control API, to drive agents by hand.
    pub fn control(&self) -> ControlClient {
        ControlClient::new(self.addr, self.token.clone())
    }

    /// The agent console's URL, with the admin token in its fragment.
    pub fn console_url(&self) -> String {
        format!("http://{}/console/#token={}", self.addr, self.token)
    }

    /// A URL on the chat server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves, on another origin (`localhost` rather than `127.0.0.1`, another port), a host
    /// page with `default-src 'none'; script-src CHAT; frame-src CHAT` that pastes the
    /// snippet twice. Returns its URL.
    pub async fn start_strict_host_page(&mut self) -> String {
        use axum::http::header;
        let chat = format!("http://{}", self.addr);
        let csp = format!("default-src 'none'; script-src {chat}; frame-src {chat}");
        let snippet =
            format!(r#"<script async src="{chat}/porchlight.js" data-site="demo"></script>"#);
        let html = format!(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Strict host</title>\
             {snippet}</head><body><h1>A strict host page</h1>{snippet}</body></html>"
        );
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let (csp, html) = (csp.clone(), html.clone());
                async move {
                    (
                        [(header::CONTENT_SECURITY_POLICY, csp)],
                        axum::response::Html(html),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        self.stops.push(stop);
        format!("http://localhost:{port}/")
    }
}

/// Starts the server as its own process (the binary `cargo xtask test` builds), with
/// the built widget and `args`, so a test can kill it with SIGKILL.
pub fn start_server_process(args: &[&str]) -> ServerProcess {
    let binary = std::env::var_os("PORCHLIGHT_SERVER_BIN")
        .map(PathBuf::from)
        .expect("PORCHLIGHT_SERVER_BIN is not set: run these tests with `cargo xtask test`");
    let widget = widget_dir();
    let widget_args = [OsStr::new("--widget-dir"), widget.as_os_str()];
    ServerProcess::start(
        &binary,
        widget_args.into_iter().chain(args.iter().map(OsStr::new)),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// ChromeDriver and one headless Chromium session.
pub struct Browser {
    driver: Child,
    client: Client,
    profile: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    pub async fn start() -> Browser {
        Browser::start_with(&[]).await
    }

    /// A session with Chromium flags added, e.g. `--window-size=360,740` (replacing the
    /// default 1280×900) or `--force-dark-mode` (`prefers-color-scheme: dark`).
    pub async fn start_with(flags: &[&str]) -> Browser {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {chromedriver}: {e} (run `cargo xtask test`)")
            });
        let profile =
            std::env::temp_dir().join(format!("porchlight-e2e-{}-{port}", std::process::id()));
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ]
        .map(String::from)
        .to_vec();
        if !flags.iter().any(|f| f.starts_with("--window-size=")) {
            args.push("--window-size=1280,900".into());
        }
        args.extend(flags.iter().map(|f| f.to_string()));
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": args,
            }),
        );
        // ChromeDriver needs a moment to listen: retry the session for a bounded time.
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let client = loop {
            match ClientBuilder::rustls()
                .expect("TLS roots")
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(err) if tokio::time::Instant::now() < deadline => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("cannot start a Chromium session: {err}"),
            }
        };
        Browser {
            driver,
            client,
            profile,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The Chromium flag for a host page `width`×`height` CSS pixels. Headless Chromium
    /// keeps a window at least 500 px wide and 143 px taller than its page, so a page
    /// narrower than 500 px needs [`Browser::narrow_viewport`] too.
    pub fn page_size_flag(width: u32, height: u32) -> String {
        format!("--window-size={},{}", width.max(500), height + 143)
    }

    /// Narrows the loaded host page's visual viewport to `width` CSS pixels (the loader
    /// gives the open panel exactly its width) and returns `[visualViewport.width,
    /// innerHeight]`.
    pub async fn narrow_viewport(&self, width: u32) -> serde_json::Value {
        self.on_host(&format!(
            "Object.defineProperty(visualViewport, 'width', {{get: () => {width}, configurable: true}});
             visualViewport.dispatchEvent(new Event('resize'));
             return [visualViewport.width, innerHeight]"
        ))
        .await
    }

    /// Runs `js` on the host page (leaving the widget's frame).
    pub async fn on_host(&self, js: &str) -> serde_json::Value {
        self.client.enter_parent_frame().await.expect("top frame");
        self.client
            .execute(js, vec![])
            .await
            .unwrap_or_else(|e| panic!("host script failed: {e}"))
    }

    /// Waits until `js` on the host page returns `want`.
    pub async fn host_until(&self, js: &str, want: serde_json::Value) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let seen = self.on_host(js).await;
            if seen == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{js}: {seen}, not {want}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Switches into the widget's iframe once the loader has created it.
    pub async fn enter_widget(&self) -> Frame<'_> {
        self.client.enter_parent_frame().await.expect("top frame");
        let iframe = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css("iframe[data-porchlight]"))
            .await
            .expect("the loader creates the widget iframe");
        iframe.enter_frame().await.expect("enter the widget frame");
        Frame {
            client: &self.client,
        }
    }

    /// Loads `url` as the top-level page (the agent console, say) and returns it.
    pub async fn open_page(&self, url: &str) -> Frame<'_> {
        self.client.goto(url).await.expect("page");
        Frame {
            client: &self.client,
        }
    }

    /// Opens the agent console from the URL `cargo xtask demo` prints and signs in as
    /// `agent` (`None`: an admin).
    pub async fn open_console(&self, chat: &Chat, agent: Option<&str>) -> Frame<'_> {
        let page = self.open_page(&chat.console_url()).await;
        match agent {
            Some(agent) => {
                page.click(&format!("button.pc-sign-in[data-agent='{agent}']"))
                    .await
            }
            None => page.click("button.pc-sign-in-admin").await,
        }
        page.wait_for(Locator::Css("button.pc-folder[data-folder='queue']"))
            .await;
        page
    }

    /// Loads the host page at `url`, enters the widget and clicks its launcher.
    pub async fn open_chat(&self, url: &str) -> Frame<'_> {
        self.client.goto(url).await.expect("host page");
        let frame = self.enter_widget().await;
        frame.click("button[aria-label='Open chat']").await;
        frame
    }

    /// Like [`Browser::open_chat`], then waits for the built-in bot's greeting.
    pub async fn open_greeted_chat(&self, url: &str) -> Frame<'_> {
        let frame = self.open_chat(url).await;
        frame.wait_for_text(".pl-from-bot .pl-text", "Hi!").await;
        frame
    }

    /// Waits until the widget iframe is `width` CSS pixels wide.
    pub async fn wait_for_frame_width(&self, width: u64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let seen = self
                .client
                .execute(
                    "return document.querySelector('iframe[data-porchlight]').getBoundingClientRect().width",
                    vec![],
                )
                .await
                .expect("measure the iframe");
            if seen.as_f64() == Some(width as f64) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the iframe is {seen} px wide, not {width}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the page to `target/e2e-screenshots/NAME.png`, for people to look at.
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots");
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}

/// Polls the control API until `find` picks a value out of the state (bounded).
pub async fn wait_for_state<T>(
    control: &ControlClient,
    find: impl Fn(&serde_json::Value) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let state = control.state().await.expect("state").json();
        if let Some(found) = find(&state) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "state never matched: {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fills the demo's pre-chat form (name, email, consent) and submits it.
pub async fn fill_prechat(frame: &Frame<'_>) {
    frame.type_into("#pl-field-name", "Ada Lovelace").await;
    frame.type_into("#pl-field-email", "ada@example.com").await;
    frame.click("#pl-field-consent").await;
    frame.click("form.pl-prechat button[type=submit]").await;
}

/// The strings of a JSON array (none when it is not one).
pub fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The widget's iframe, entered.
pub struct Frame<'a> {
    client: &'a Client,
}

impl Frame<'_> {
    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(locator)
            .await
            .unwrap_or_else(|e| panic!("{locator:?} never appeared: {e}"))
    }

    /// Waits until an element matching `css` has exactly `text` as its text, or starts
    /// with it when `text` is a prefix of a longer message.
    pub async fn wait_for_text(&self, css: &str, text: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let texts = self.texts(css).await;
            if texts.iter().any(|t| t.contains(text)) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {css} with {text:?}; saw {texts:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `js` in the frame and returns what it returns.
    pub async fn script(&self, js: &str) -> serde_json::Value {
        self.client
            .execute(js, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Runs asynchronous `js` (it calls its last argument with the result) and returns
    /// what it passes.
    pub async fn async_script(&self, js: &str) -> serde_json::Value {
        self.client
            .execute_async(js, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// The text content (as the DOM holds it, newlines kept) of every match of `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let value = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)",
                vec![serde_json::json!(css)],
            )
            .await
            .expect("read texts");
        strings(&value)
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.wait_for(Locator::Css(css)).await;
        element.attr(name).await.expect("read attribute")
    }

    pub async fn is_displayed(&self, css: &str) -> bool {
        let element = self.wait_for(Locator::Css(css)).await;
        element.is_displayed().await.expect("read visibility")
    }

    /// The id of the focused element in the frame.
    pub async fn focused_id(&self) -> String {
        self.client
            .execute(
                "return document.activeElement && document.activeElement.id",
                vec![],
            )
            .await
            .expect("read focus")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn wait_until_focused(&self, id: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let focused = self.focused_id().await;
            if focused == id {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "focus is on {focused:?}, not {id:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the first element matching `css` once it is there.
    pub async fn click(&self, css: &str) {
        self.wait_for(Locator::Css(css))
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Sends `keys` to whatever has focus, as a keyboard user would.
    pub async fn press(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("cannot press {keys:?}: {e}"));
    }

    /// Whether the focused element matches `css`.
    pub async fn focus_matches(&self, css: &str) -> bool {
        self.client
            .execute(
                "return !!document.activeElement && document.activeElement.matches(arguments[0])",
                vec![serde_json::json!(css)],
            )
            .await
            .expect("read focus")
            .as_bool()
            == Some(true)
    }

    /// Runs axe-core (the file `PORCHLIGHT_AXE` names) on the page and fails on any
    /// violation, naming `state`.
    pub async fn assert_accessible(&self, state: &str) {
        let source = std::fs::read_to_string(
            std::env::var_os("PORCHLIGHT_AXE")
                .map(PathBuf::from)
                .expect("PORCHLIGHT_AXE is not set: run these tests with `cargo xtask test`"),
        )
        .expect("axe-core's script");
        self.script(&source).await;
        let found = self
            .async_script(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, Object.assign({resultTypes: ['violations']}, window.__axeOptions))\
                   .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))\
                   .catch(e => done(['axe failed: ' + e]));",
            )
            .await;
        let violations = strings(&found);
        assert!(violations.is_empty(), "axe-core, {state}: {violations:?}");
    }

    /// Presses Tab until the focused element matches `css` (at most 60 times).
    pub async fn tab_to(&self, css: &str) {
        for _ in 0..60 {
            if self.focus_matches(css).await {
                return;
            }
            self.press("\u{E004}").await;
        }
        panic!("Tab never reached {css}");
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(Locator::Css(css))
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// The seq of every event shown in the conversation, in page order.
    pub async fn seqs(&self) -> Vec<u64> {
        let value = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('.pl-log li[data-seq]')).map(e => Number(e.dataset.seq))",
                vec![],
            )
            .await
            .expect("read seqs");
        value
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
            .unwrap_or_default()
    }

    /// Waits until exactly `n` elements match `css`, then returns their texts.
    pub async fn wait_for_count(&self, css: &str, n: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let texts = self.texts(css).await;
            if texts.len() == n {
                return texts;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css}: {} elements, not {n}: {texts:?}",
                texts.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until no element matching `css` contains `text`.
    pub async fn wait_until_gone_text(&self, css: &str, text: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let texts = self.texts(css).await;
            if !texts.iter().any(|t| t.contains(text)) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} still shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the focused element matches `css`.
    pub async fn wait_until_focused_css(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if self.focus_matches(css).await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "focus never reached {css}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Goes back to the host page.
    pub async fn leave(self) {
        self.client.enter_parent_frame().await.expect("top frame");
    }
}
