//! A relay running inside the test's runtime on `127.0.0.1:0`, with a given
//! [`Config`], stopped when dropped; plus plain HTTP requests to it (`/healthz`,
//! `/metrics`, the web app).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vroom_relay::Config;

use vroom_shared::wire::{ErrorCode, RoomId, RoomSettings};

use crate::ws::{room_id, secret, Client, Welcomed};
use crate::PATIENCE;

/// The settings tests start from: the documented defaults with a short grace period, so
/// rooms without members go away quickly, and no web app.
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
    /// Starts a relay with `config` (its `listen` is replaced by the free loopback port
    /// the relay gets).
    pub async fn start(mut config: Config) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the relay");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        config.listen = addr;
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

    /// A raw WebSocket client connected to this relay.
    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Creates the room numbered `n` (its id [`room_id`]`(n)`, its host secret
    /// [`secret`]`(n)`, default settings) on a new connection: the room, the host's
    /// connection and its welcome.
    pub async fn create_room(&self, n: u8) -> (RoomId, Client, Welcomed) {
        let room = room_id(n);
        let mut host = self.connect().await;
        let welcome = host.create(room, &secret(n), RoomSettings::default()).await;
        (room, host, welcome)
    }

    /// Joins `room` as a new member on a new connection: the connection and its welcome.
    pub async fn join_room(&self, room: RoomId) -> (Client, Welcomed) {
        let mut guest = self.connect().await;
        let welcome = guest.join(room).await;
        (guest, welcome)
    }

    /// A raw WebSocket client connected from the loopback address `source` (see
    /// [`Client::connect_from`]); panics when the relay refuses it.
    pub async fn connect_from(&self, source: IpAddr) -> Client {
        Client::connect_from(self.addr, source, &[])
            .await
            .unwrap_or_else(|status| {
                panic!("the relay refused a connection from {source}: {status}")
            })
    }

    /// The value of the `/metrics` sample `name` (with its labels, e.g.
    /// `vroom_refusals_total{reason="join_timeout"}`), 0 when absent.
    pub async fn metric(&self, name: &str) -> u64 {
        let body = self.metrics().await;
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map_or(0, |v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} is not a count: {v}"))
            })
    }

    /// Waits until the `/metrics` sample `name` satisfies `done`, polling; fails after
    /// [`PATIENCE`]. Its last value.
    pub async fn wait_metric(&self, name: &str, done: impl Fn(u64) -> bool) -> u64 {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let now = self.metric(name).await;
            if done(now) {
                return now;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} stayed at {now}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Checks that the place `w` was given in `room` is gone: its resume token is
    /// refused.
    pub async fn assert_resume_refused(&self, room: RoomId, w: &Welcomed) {
        let mut again = self.connect().await;
        again.resume(room, w, None).await;
        again.expect_error(ErrorCode::ResumeRefused).await;
    }

    /// A GET of `path` with `extra` header lines (each ending in `\r\n`).
    pub async fn get(&self, path: &str, extra: &str) -> Response {
        get(self.addr, path, extra)
            .await
            .unwrap_or_else(|e| panic!("GET {path} from the relay failed: {e}"))
    }

    /// The body of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        let response = self.get("/metrics", "").await;
        assert_eq!(response.status, 200, "GET /metrics failed");
        String::from_utf8(response.body).expect("/metrics is text")
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

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Every header, its name lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A plain HTTP/1.1 GET of `path` from `addr`, with `extra` header lines (each ending
/// in `\r\n`). An error when nothing answers (a test may expect a relay to be gone);
/// a panic when what answers is not HTTP.
pub async fn get(addr: SocketAddr, path: &str, extra: &str) -> std::io::Result<Response> {
    get_from(addr, IpAddr::from([127, 0, 0, 1]), path, extra).await
}

/// [`get`] from the loopback address `source`.
pub async fn get_from(
    addr: SocketAddr,
    source: IpAddr,
    path: &str,
    extra: &str,
) -> std::io::Result<Response> {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: relay\r\n{extra}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no HTTP answer"))??;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..split].to_vec()).expect("an HTTP head is text");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut response = Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    };
    if response.header("transfer-encoding") == Some("chunked") {
        response.body = dechunk(&response.body);
    }
    Ok(response)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size = std::str::from_utf8(&raw[..line])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .expect("a chunk size");
        raw = &raw[line + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}
