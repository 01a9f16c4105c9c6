//! Starts relays and speaks the wire protocol to them.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vroom_relay::Config;
use vroom_shared::wire::{
    ClientFrame, CloseReason, ErrorCode, Event, HostSecret, LeaveReason, MemberId, Resume,
    ResumeToken, ResumeTokenDebug, RoomId, RoomLimits, RoomSettings, ServerFrame, PROTOCOL_VERSION,
    WS_PATH,
};

/// How long a test waits for a frame before it fails (a hang guard, not a timing check).
const PATIENCE: Duration = Duration::from_secs(10);

/// A relay running in this test's runtime.
pub(crate) struct Relay {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Relay {
    pub(crate) async fn start(config: Config) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
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

    pub(crate) async fn connect(&self) -> Client {
        Client::connect_to(self.addr).await
    }

    /// Signals shutdown and waits for `run` to return.
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("the relay did not stop")
            .unwrap()
            .unwrap();
    }

    /// A raw HTTP/1.1 GET: status, lower-cased headers, body.
    pub(crate) async fn get(
        &self,
        path: &str,
        extra: &str,
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: relay\r\n{extra}Connection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(PATIENCE, s.read_to_end(&mut raw))
            .await
            .unwrap()
            .unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v == "chunked")
        {
            body = dechunk(&body);
        }
        (status, headers, body)
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..line]).unwrap().trim(), 16).unwrap();
        raw = &raw[line + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server frame, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Got {
    Welcome {
        you: MemberId,
        resume: ResumeTokenDebug,
        host: MemberId,
        members: Vec<MemberId>,
        seq: u64,
        locked: bool,
        limits: RoomLimits,
    },
    Joined(u64, MemberId),
    Left(u64, MemberId, LeaveReason),
    Message {
        seq: u64,
        from: MemberId,
        to: Option<MemberId>,
        payload: Vec<u8>,
    },
    Locked(u64, bool),
    Gap(u64, u64),
    CaughtUp(u64),
    Error(ErrorCode),
    Closed(CloseReason),
    /// The WebSocket closed with this code (0: without a close frame).
    SocketClosed(u16),
}

impl std::fmt::Debug for Welcomed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Welcomed")
            .field("you", &self.you)
            .field("seq", &self.seq)
            .finish()
    }
}

/// What a client learnt from its `Welcome`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Welcomed {
    pub(crate) you: MemberId,
    pub(crate) resume: ResumeToken,
    pub(crate) host: MemberId,
    pub(crate) members: Vec<MemberId>,
    pub(crate) seq: u64,
    pub(crate) locked: bool,
    pub(crate) limits: RoomLimits,
}

impl Got {
    pub(crate) fn seq(&self) -> Option<u64> {
        match self {
            Got::Joined(s, _) | Got::Left(s, _, _) | Got::Locked(s, _) => Some(*s),
            Got::Message { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    fn from_frame(frame: ServerFrame<'_>) -> Got {
        match frame {
            ServerFrame::Welcome {
                you,
                resume,
                host,
                members,
                seq,
                locked,
                limits,
            } => Got::Welcome {
                you,
                resume,
                host,
                members,
                seq,
                locked,
                limits,
            },
            ServerFrame::Event { seq, event } => match event {
                Event::Joined { member } => Got::Joined(seq, member),
                Event::Left { member, reason } => Got::Left(seq, member, reason),
                Event::Message { from, to, payload } => Got::Message {
                    seq,
                    from,
                    to,
                    payload: payload.to_vec(),
                },
                Event::Locked { locked } => Got::Locked(seq, locked),
            },
            ServerFrame::Gap { from, to } => Got::Gap(from, to),
            ServerFrame::CaughtUp { seq } => Got::CaughtUp(seq),
            ServerFrame::Error { code } => Got::Error(code),
            ServerFrame::Closed { reason } => Got::Closed(reason),
        }
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client speaking raw wire frames.
pub(crate) struct Client {
    ws: Ws,
}

/// The next frame (pings and pongs skipped), or how the socket closed.
async fn next_frame<S>(ws: &mut S) -> Got
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let next = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("no frame from the relay in time");
        match next {
            Some(Ok(Message::Binary(b))) => {
                return Got::from_frame(ServerFrame::decode(&b).expect("relay sent a bad frame"))
            }
            Some(Ok(Message::Close(frame))) => {
                return Got::SocketClosed(frame.map_or(0, |f| u16::from(f.code)))
            }
            Some(Ok(Message::Text(t))) => panic!("relay sent text: {t}"),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Got::SocketClosed(0),
        }
    }
}

pub(crate) fn version() -> u16 {
    PROTOCOL_VERSION
}

pub(crate) fn room_id(n: u8) -> RoomId {
    let mut id = [n; 16];
    id[0] = rand::random();
    id[15] = rand::random();
    RoomId(id)
}

pub(crate) fn secret(n: u8) -> HostSecret {
    HostSecret([n; 32])
}

impl Client {
    /// Connects to a relay at `addr` (also one running in another process).
    pub(crate) async fn connect_to(addr: SocketAddr) -> Client {
        let url = format!("ws://{addr}{WS_PATH}");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Client { ws }
    }

    pub(crate) async fn send(&mut self, frame: ClientFrame<'_>) {
        self.send_raw(Message::Binary(frame.encode().into())).await;
    }

    pub(crate) async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.unwrap();
    }

    /// The next frame (pings and pongs skipped), or how the socket closed.
    pub(crate) async fn recv(&mut self) -> Got {
        next_frame(&mut self.ws).await
    }

    /// The next frame that is not an event (events are skipped).
    pub(crate) async fn recv_control(&mut self) -> Got {
        loop {
            let got = self.recv().await;
            if got.seq().is_none() {
                return got;
            }
        }
    }

    /// The next message event (other events skipped).
    pub(crate) async fn recv_message(&mut self) -> Got {
        loop {
            let got = self.recv().await;
            match got {
                Got::Message { .. } => return got,
                Got::Joined(..) | Got::Left(..) | Got::Locked(..) => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    pub(crate) async fn expect_welcome(&mut self) -> Welcomed {
        match self.recv().await {
            Got::Welcome {
                you,
                resume,
                host,
                members,
                seq,
                locked,
                limits,
            } => Welcomed {
                you,
                resume: resume.0,
                host,
                members,
                seq,
                locked,
                limits,
            },
            other => panic!("expected Welcome, got {other:?}"),
        }
    }

    pub(crate) async fn expect_error(&mut self, code: ErrorCode) {
        assert_eq!(self.recv_control().await, Got::Error(code));
    }

    /// Expects `Closed { reason }` then a WebSocket close (events before it are skipped).
    pub(crate) async fn expect_closed(&mut self, reason: CloseReason) {
        assert_eq!(self.recv_control().await, Got::Closed(reason));
        let code = if reason == CloseReason::GoingAway {
            1001
        } else {
            1000
        };
        assert_eq!(self.recv().await, Got::SocketClosed(code));
    }

    pub(crate) async fn create(
        &mut self,
        room: RoomId,
        host: &HostSecret,
        settings: RoomSettings,
    ) -> Welcomed {
        self.send(ClientFrame::Create {
            version: version(),
            room,
            host: host.hash(),
            settings,
        })
        .await;
        let w = self.expect_welcome().await;
        // A creator sees its own arrival as the room's first event.
        assert_eq!(self.recv().await, Got::Joined(1, w.you));
        w
    }

    pub(crate) async fn join(&mut self, room: RoomId) -> Welcomed {
        self.send(ClientFrame::Join {
            version: version(),
            room,
            resume: None,
            after: None,
        })
        .await;
        let w = self.expect_welcome().await;
        assert_eq!(self.recv().await, Got::Joined(w.seq + 1, w.you));
        w
    }

    pub(crate) async fn resume(&mut self, room: RoomId, w: &Welcomed, after: Option<u64>) {
        self.send(ClientFrame::Join {
            version: version(),
            room,
            resume: Some(Resume {
                member: w.you,
                token: w.resume,
            }),
            after,
        })
        .await;
    }

    pub(crate) async fn say(&mut self, text: &str) {
        self.send(ClientFrame::Send {
            to: None,
            payload: text.as_bytes(),
        })
        .await;
    }

    /// Closes the TCP connection without a WebSocket goodbye, like a killed tab.
    pub(crate) fn drop_connection(self) {
        drop(self.ws);
    }
}

/// A config with short timers for tests.
pub(crate) fn config() -> Config {
    Config {
        grace: Duration::from_millis(500),
        web_dir: None,
        ..Config::default()
    }
}
