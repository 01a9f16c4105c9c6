//! Harness for the browser end-to-end tests: headless Chromium driven through
//! chromedriver (WebDriver, via fantoccini), a relay started in-process serving the
//! built web app, and a recording proxy between the two that keeps every byte the
//! browsers send and every WebSocket message in both directions, so a test can check
//! what reached the relay.
//!
//! Needs Debian's `chromium` and `chromium-driver`, and the web app built into
//! `web-dist/` (`cargo xtask web`; `cargo xtask test` does it first). A missing piece
//! fails the test with what to run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use vroom_relay::Config;

use crate::free_port;

/// Where Debian puts the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a wait for the page may take before the test fails; a cold browser on a
/// busy 2-core machine is slow. `VROOM_BROWSER_WAIT_SECS` overrides it.
fn wait_limit() -> Duration {
    let secs = std::env::var("VROOM_BROWSER_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// The built web app: `web-dist/` at the workspace root, or `VROOM_WEB_DIST`.
pub fn web_dist() -> PathBuf {
    let dir = std::env::var_os("VROOM_WEB_DIST").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../web-dist"),
        PathBuf::from,
    );
    assert!(
        dir.join("index.html").is_file(),
        "the web app is not built at {}: run `cargo xtask web` (or `cargo xtask test`, \
         which builds it first)",
        dir.display()
    );
    dir
}

/// The settings of a relay serving the built web app to browsers: test-friendly timers
/// (a 1 s grace, a 1 s shutdown), the rest as documented.
pub fn app_config() -> Config {
    Config {
        web_dir: Some(web_dist()),
        grace: Duration::from_secs(1),
        shutdown_timeout: Duration::from_secs(1),
        ..Config::default()
    }
}

/// Which way a recorded message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From a browser to the relay.
    ToRelay,
    /// From the relay to a browser.
    FromRelay,
}

/// What a [`Recorder`] keeps: each piece of traffic with its direction, in order.
type Log = Arc<Mutex<Vec<(Direction, Vec<u8>)>>>;

/// A proxy in front of a relay that records what passes: every byte browsers send
/// over plain HTTP, and every WebSocket message both ways (decoded from its frames, so
/// masking cannot hide a plaintext). It can also cut WebSocket connections and refuse
/// new ones for a while, as a flaky network would.
pub struct Recorder {
    /// Where browsers should connect.
    pub addr: SocketAddr,
    /// Everything recorded, in arrival order.
    log: Log,
    /// Network trouble to play.
    control: Arc<Control>,
    /// The accept loop.
    task: JoinHandle<()>,
}

/// What a test can do to the [`Recorder`]'s connections.
#[derive(Default)]
struct Control {
    /// One cutter per WebSocket connection, in the order they opened.
    cutters: Mutex<Vec<Arc<tokio::sync::Notify>>>,
    /// While set, new WebSocket connections are dropped at once.
    refusing: std::sync::atomic::AtomicBool,
}

impl Recorder {
    /// Starts a proxy on `127.0.0.1:0` in front of `relay`.
    pub async fn start(relay: SocketAddr) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let log = Log::default();
        let control = Arc::<Control>::default();
        let task = tokio::spawn({
            let (log, control) = (log.clone(), control.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(proxy(client, relay, log.clone(), control.clone()));
                }
            }
        });
        Recorder {
            addr,
            log,
            control,
            task,
        }
    }

    /// How many WebSocket connections have been opened through the proxy.
    pub fn websockets(&self) -> usize {
        self.control.cutters.lock().expect("cutters").len()
    }

    /// Drops the `index`th WebSocket connection (counting from 0 in opening order)
    /// without a close frame, as a lost network does.
    pub fn cut(&self, index: usize) {
        let cutter = self.control.cutters.lock().expect("cutters")[index].clone();
        cutter.notify_one();
    }

    /// While `refuse` is true, new WebSocket connections are dropped at once.
    pub fn refuse_websockets(&self, refuse: bool) {
        self.control
            .refusing
            .store(refuse, std::sync::atomic::Ordering::SeqCst);
    }

    /// The page origin to open in browsers: `http://127.0.0.1:port`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything recorded so far.
    pub fn recorded(&self) -> Vec<(Direction, Vec<u8>)> {
        self.log.lock().expect("recorder log").clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one proxied connection: WebSocket upgrades to the relay's socket path are
/// proxied message by message; anything else is passed through byte by byte.
async fn proxy(client: TcpStream, relay: SocketAddr, log: Log, control: Arc<Control>) {
    let mut head = [0u8; 16];
    let Ok(n) = client.peek(&mut head).await else {
        return;
    };
    let ws_path = vroom_shared::wire::WS_PATH;
    if head[..n].starts_with(format!("GET {ws_path}").as_bytes()) {
        if control.refusing.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let cut = Arc::new(tokio::sync::Notify::new());
        control.cutters.lock().expect("cutters").push(cut.clone());
        proxy_websocket(client, relay, log, cut).await;
    } else {
        proxy_bytes(client, relay, log).await;
    }
}

async fn proxy_websocket(
    client: TcpStream,
    relay: SocketAddr,
    log: Log,
    cut: Arc<tokio::sync::Notify>,
) {
    let Ok(browser) = tokio_tungstenite::accept_async(client).await else {
        return;
    };
    let url = format!("ws://{relay}{}", vroom_shared::wire::WS_PATH);
    let Ok((upstream, _)) = tokio_tungstenite::connect_async(url).await else {
        return;
    };
    let (mut browser_tx, mut browser_rx) = browser.split();
    let (mut relay_tx, mut relay_rx) = upstream.split();
    let up_log = log.clone();
    let up = async move {
        while let Some(Ok(message)) = browser_rx.next().await {
            record(&up_log, Direction::ToRelay, &message);
            let close = message.is_close();
            if relay_tx.send(message).await.is_err() || close {
                break;
            }
        }
        let _ = relay_tx.close().await;
    };
    let down = async move {
        while let Some(Ok(message)) = relay_rx.next().await {
            record(&log, Direction::FromRelay, &message);
            let close = message.is_close();
            if browser_tx.send(message).await.is_err() || close {
                break;
            }
        }
        let _ = browser_tx.close().await;
    };
    // Either side closing ends the proxied connection, as a direct one would end; a
    // cut drops both sockets without a close frame.
    tokio::select! {
        () = up => {}
        () = down => {}
        () = cut.notified() => {}
    }
}

fn record(log: &Mutex<Vec<(Direction, Vec<u8>)>>, direction: Direction, message: &Message) {
    let bytes = match message {
        Message::Binary(bytes) => bytes.to_vec(),
        Message::Text(text) => text.as_bytes().to_vec(),
        _ => return,
    };
    log.lock().expect("recorder log").push((direction, bytes));
}

async fn proxy_bytes(client: TcpStream, relay: SocketAddr, log: Log) {
    let Ok(upstream) = TcpStream::connect(relay).await else {
        return;
    };
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut relay_rx, mut relay_tx) = upstream.into_split();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = client_rx.read(&mut buf).await {
            if n == 0 {
                break;
            }
            log.lock()
                .expect("recorder log")
                .push((Direction::ToRelay, buf[..n].to_vec()));
            if relay_tx.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = relay_tx.shutdown().await;
    };
    let down = async move {
        let _ = tokio::io::copy(&mut relay_rx, &mut client_tx).await;
        let _ = client_tx.shutdown().await;
    };
    tokio::join!(up, down);
}

/// A running chromedriver. Each [`Chrome::open`] starts a separate browser with its
/// own fresh profile, like a different person on a different machine.
pub struct Chrome {
    /// The chromedriver process; it and every browser it started die with it.
    driver: Child,
    /// Its WebDriver endpoint.
    url: String,
}

impl Chrome {
    /// Starts chromedriver on a free port and waits until it answers.
    pub async fn start() -> Chrome {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing ({package}); the browser tests need Chromium and its \
                 WebDriver: apt-get install -y chromium chromium-driver"
            );
        }
        let port = free_port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so dropping it can end the browsers it started too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {CHROMEDRIVER}: {e}"));
        let chrome = Chrome {
            driver,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = tokio::time::Instant::now() + wait_limit();
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not start listening on port {port}"
            );
            tokio::time::sleep(POLL).await;
        }
        chrome
    }

    /// Opens a new browser (fresh profile) at `url`, with a 1280x800 window.
    pub async fn open(&self, url: &str) -> Page {
        self.open_with(url, &[]).await
    }

    /// [`Chrome::open`] with more command-line flags for Chromium (e.g.
    /// `--host-resolver-rules=MAP relay.test 127.0.0.1`, to reach the loopback relay
    /// under a name that is not a loopback address).
    pub async fn open_with(&self, url: &str, extra: &[&str]) -> Page {
        let profile = tempfile::tempdir().expect("browser profile directory");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        // Keep the browser's console errors (uncaught exceptions included) from the
        // first page on, across navigations, for `Page::errors`.
        caps.insert(
            "goog:loggingPrefs".to_owned(),
            serde_json::json!({ "browser": "SEVERE" }),
        );
        // On a loaded machine Chromium can miss chromedriver's start-up deadline; a
        // second attempt tells that apart from a browser that cannot start at all.
        let connect = |caps| async move {
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&self.url)
                .await
        };
        let client = match connect(caps.clone()).await {
            Ok(client) => client,
            Err(first) => connect(caps).await.unwrap_or_else(|e| {
                panic!("chromedriver could not start Chromium (twice): {first}; then: {e}")
            }),
        };
        client.goto(url).await.expect("open page");
        Page {
            client,
            errors: Mutex::default(),
            excused: Mutex::default(),
            _profile: profile,
        }
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browsers it started. `--` matters:
        // procps `kill` reads `-KILL -1234` as options, and a group id parsed as -1
        // would signal every process.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}

/// One browser showing one page.
pub struct Page {
    /// The WebDriver session.
    pub client: Client,
    /// Every error the browser's console reported so far (chromedriver hands each
    /// entry out once).
    errors: Mutex<Vec<String>>,
    /// Parts of error lines a test caused on purpose (see [`Page::excuse`]).
    excused: Mutex<Vec<String>>,
    /// The browser's profile, deleted when the page is dropped.
    _profile: tempfile::TempDir,
}

/// A chromedriver command fantoccini has no method for: `POST /session/{id}/PATH` with
/// a JSON body (`se/log`: the browser's console; `goog/cdp/execute`: a DevTools
/// command).
#[derive(Debug)]
struct Post {
    /// After the session: `se/log`, `goog/cdp/execute`.
    path: &'static str,
    /// The JSON body.
    body: String,
}

impl WebDriverCompatibleCommand for Post {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.clone()))
    }
}

/// A phone's viewport in CSS pixels (an iPhone 12–15's), for [`Page::as_phone`].
pub const PHONE: (u32, u32) = (390, 844);

impl Page {
    /// Runs the DevTools command `cmd` with `params` in this page and returns its
    /// result (`Performance.getMetrics`, `Browser.setDownloadBehavior`…).
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        let body = serde_json::json!({ "cmd": cmd, "params": params }).to_string();
        self.client
            .issue_cmd(Post {
                path: "goog/cdp/execute",
                body,
            })
            .await
            .unwrap_or_else(|e| panic!("DevTools command {cmd} failed: {e}"))
    }

    /// Waits until an element matches `css`, and returns it.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(wait_limit())
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element `{css}` appeared: {e}"))
    }

    /// Clicks the element matching `css`, once it appears.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("could not click `{css}`: {e}"));
    }

    /// Replaces the content of the input matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clear input");
        input.send_keys(text).await.expect("type into input");
    }

    /// The texts of every element matching `css`, now.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.expect("find") {
            // An element may leave the page between the two calls.
            if let Ok(text) = element.text().await {
                texts.push(text);
            }
        }
        texts
    }

    /// Waits until some element matching `css` has text containing `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) {
        self.wait_until(&format!("`{css}` containing {needle:?}"), || async {
            self.texts(css).await.iter().any(|t| t.contains(needle))
        })
        .await;
    }

    /// Waits until exactly `count` elements match `css`.
    pub async fn wait_count(&self, css: &str, count: usize) {
        self.wait_until(&format!("{count} × `{css}`"), || async {
            self.client
                .find_all(Locator::Css(css))
                .await
                .map(|all| all.len() == count)
                .unwrap_or(false)
        })
        .await;
    }

    /// Polls `check` until it holds; Leptos updates the page asynchronously.
    pub async fn wait_until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + wait_limit();
        while !check().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited in vain for {what}; the page shows:\n{}",
                self.body_text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The value of the input matching `css`.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("read value")
            .unwrap_or_default()
    }

    /// Runs a script in the page and returns its result as a string.
    pub async fn eval(&self, script: &str) -> String {
        let value = self
            .client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {script}: {e}"));
        match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// The Content-Security-Policy violations the page has reported since it loaded
    /// (the Reporting API's buffered `csp-violation` reports): directive and blocked URL.
    pub async fn csp_violations(&self) -> Vec<String> {
        let script = "const done = arguments[arguments.length - 1];
            const seen = [];
            const note = (rs) => rs.forEach((r) =>
                seen.push(r.body.effectiveDirective + ' ' + (r.body.blockedURL || '')));
            const o = new ReportingObserver(note, { types: ['csp-violation'], buffered: true });
            o.observe();
            setTimeout(() => { note(o.takeRecords()); o.disconnect(); done(seen); }, 300);";
        let value = self
            .client
            .execute_async(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("reading CSP reports failed: {e}"));
        serde_json::from_value(value).expect("a list of strings")
    }

    /// The page's visible text, for failure messages.
    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        }
    }

    /// Resizes the viewport (the window has no browser chrome in headless mode).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize window");
    }

    /// Makes the page a phone's: a 390×844 CSS-pixel viewport, mobile and touch, as
    /// DevTools' device mode does. It lasts across navigations of this page; open the
    /// app after calling it, since the app lays out some panels when it starts.
    pub async fn as_phone(&self) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({
                "width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 1, "mobile": true
            }),
        )
        .await;
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            serde_json::json!({ "enabled": true }),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("screenshot")
    }

    /// Every error the browser's console has shown since the browser started, on any
    /// page it showed: uncaught exceptions (a panic of the web app among them),
    /// unhandled rejections, `console.error`, refused loads and CSP violations, except
    /// those [`Page::excuse`]d.
    pub async fn errors(&self) -> Vec<String> {
        let got = self
            .client
            .issue_cmd(Post {
                path: "se/log",
                body: r#"{"type":"browser"}"#.to_owned(),
            })
            .await
            .unwrap_or_else(|e| panic!("reading the browser's console failed: {e}"));
        let mut errors = self.errors.lock().expect("errors");
        for entry in got.as_array().into_iter().flatten() {
            if entry["level"] == "SEVERE" {
                errors.push(entry["message"].as_str().unwrap_or_default().to_owned());
            }
        }
        let excused = self.excused.lock().expect("excused");
        errors
            .iter()
            .filter(|e| !excused.iter().any(|x| e.contains(x.as_str())))
            .cloned()
            .collect()
    }

    /// Console errors containing `part` are the test's own doing (a connection it cut,
    /// a load it provoked): [`Page::errors`] leaves them out.
    pub fn excuse(&self, part: &str) {
        self.excused.lock().expect("excused").push(part.to_owned());
    }

    /// Fails if the console showed any error (see [`Page::errors`]).
    pub async fn assert_no_errors(&self) {
        let errors = self.errors().await;
        assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
    }

    /// Checks the console showed no error since the browser started, then closes the
    /// browser.
    pub async fn close(self) {
        self.assert_no_errors().await;
        let _ = self.client.close().await;
    }

    /// Closes the browser without looking at its console (for a test that already
    /// failed, or one that provokes errors on purpose).
    pub async fn close_unchecked(self) {
        let _ = self.client.close().await;
    }
}
