//! A relay running inside the test's runtime on `127.0.0.1:0`, with a given
//! [`Config`], stopped when dropped; plus plain HTTP reads of `/metrics`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vroom_relay::Config;

use crate::cli::PATIENCE;

/// The settings tests start from: the documented defaults with a short grace period, so
/// rooms without members go away quickly.
pub fn test_config() -> Config {
    Config {
        grace: Duration::from_secs(1),
        web_dir: None,
        ..Config::default()
    }
}

/// A relay serving in this test's runtime.
pub struct Relay {
    /// Where it listens.
    addr: SocketAddr,
    /// Fires the relay's graceful shutdown.
    stop: Option<oneshot::Sender<()>>,
    /// The relay itself; aborted on drop if it was not stopped.
    task: JoinHandle<std::io::Result<()>>,
}

impl Relay {
    /// Starts a relay with `config` (its `listen` is ignored: the relay gets a free
    /// loopback port).
    pub async fn start(config: Config) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the relay");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(vroom_relay::run(listener, config, async {
            let _ = stopped.await;
        }));
        Relay {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// The relay's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, what `vroom create --server` takes.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The body of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        http_get(self.addr, "/metrics").await
    }

    /// The `vroom_rooms` gauge: rooms that exist now.
    pub async fn rooms(&self) -> u64 {
        let body = self.metrics().await;
        body.lines()
            .find_map(|l| l.strip_prefix("vroom_rooms "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no vroom_rooms gauge in /metrics:\n{body}"))
    }

    /// Waits until `vroom_rooms` is `want` (fails after [`PATIENCE`]).
    pub async fn wait_rooms(&self, want: u64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let now = self.rooms().await;
            if now == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the relay still has {now} rooms, expected {want}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Shuts the relay down gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("the relay did not stop in time")
            .expect("the relay task panicked")
            .expect("the relay failed");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A plain HTTP/1.1 GET; returns the body of a `200` answer (fails otherwise).
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the relay");
    let request = format!("GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send an HTTP request");
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("no HTTP answer in time")
        .expect("read the HTTP answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "GET {path} failed: {head}"
    );
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    }
}

fn dechunk(mut raw: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = raw.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        raw = &rest[size + 2..];
    }
    out
}
