//! A WebSocket proxy between clients and a relay: it records every binary message in
//! both directions (unmasked, as the relay reads them), can cut a client's connection
//! and hold new ones back (to force a reconnect with catch-up), and can hand every
//! frame to a [`Tamper`] that forwards, drops, alters, replays, reorders, injects or
//! moves frames: a relay-in-the-middle with the full power of a malicious relay.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use vroom_shared::wire::{ClientFrame, MemberId, RoomId, ServerFrame, WS_PATH};

/// Which way a frame travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From a client to the relay.
    ToRelay,
    /// From the relay to a client.
    ToClient,
}

/// One binary WebSocket message on one proxied connection.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Index of the connection, in order of arrival at the proxy.
    pub conn: usize,
    /// Which way it goes.
    pub dir: Dir,
    /// The encoded wire frame.
    pub bytes: Vec<u8>,
}

/// What the proxy knows about one connection, from the frames it has seen.
#[derive(Clone, Debug, Default)]
pub struct ConnInfo {
    /// The room of its `Create` or `Join`.
    pub room: Option<RoomId>,
    /// Its member id, from the relay's `Welcome`.
    pub me: Option<MemberId>,
    /// False once either side closed it.
    pub open: bool,
}

/// Decides what becomes of each frame. `out` starts empty; push `frame` to forward it
/// unchanged, push nothing to drop it, push other frames (to any connection, either
/// direction) to alter, replay, inject or move.
pub trait Tamper: Send + 'static {
    /// Called for every binary message, in the order the proxy reads them.
    fn frame(&mut self, frame: Frame, conns: &[ConnInfo], out: &mut Vec<Frame>);
}

impl<F> Tamper for F
where
    F: FnMut(Frame, &[ConnInfo], &mut Vec<Frame>) + Send + 'static,
{
    fn frame(&mut self, frame: Frame, conns: &[ConnInfo], out: &mut Vec<Frame>) {
        self(frame, conns, out);
    }
}

/// Forwards everything unchanged.
pub struct Honest;

impl Tamper for Honest {
    fn frame(&mut self, frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>) {
        out.push(frame);
    }
}

/// A running proxy; stops (and cuts every connection) when dropped.
pub struct Proxy {
    /// Where clients connect.
    addr: SocketAddr,
    /// State shared with the connection tasks.
    shared: Arc<Shared>,
    /// Holds new connections back while `true`.
    hold: watch::Sender<bool>,
    /// The accept loop.
    accept: JoinHandle<()>,
}

struct Shared {
    /// Everything behind one lock, so the tamper sees frames in one order and its
    /// output reaches each connection in the order it was pushed.
    state: Mutex<State>,
    /// Whether event sequence numbers to clients are rewritten to stay ascending (see
    /// [`Proxy::start_tampering`]).
    renumber: bool,
}

struct State {
    /// Every message read, before tampering.
    log: Vec<Frame>,
    /// Per connection, what is known about it.
    info: Vec<ConnInfo>,
    /// Per connection, its writers and tasks.
    conns: Vec<Conn>,
    /// The frame policy.
    tamper: Box<dyn Tamper>,
}

struct Conn {
    /// Messages for the client; `None` once cut.
    to_client: Option<mpsc::UnboundedSender<Message>>,
    /// Messages for the relay; `None` once cut.
    to_relay: Option<mpsc::UnboundedSender<Message>>,
    /// The last sequence number given to this client (renumbering only).
    last_seq: Option<u64>,
    /// Its reader and writer tasks, aborted by [`Proxy::cut`].
    tasks: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy that forwards everything unchanged to the relay at `relay`.
    pub async fn start(relay: SocketAddr) -> Proxy {
        Self::start_with(relay, Box::new(Honest), false).await
    }

    /// A proxy that lets `tamper` decide every frame. Sequence numbers of events to
    /// each client are rewritten to count up by one from its welcome, whatever was
    /// dropped, injected or reordered, as a malicious relay would number them: a client
    /// can then only tell tampering by cryptography, never by a gap or a repeat.
    pub async fn start_tampering(relay: SocketAddr, tamper: impl Tamper) -> Proxy {
        Self::start_with(relay, Box::new(tamper), true).await
    }

    async fn start_with(relay: SocketAddr, tamper: Box<dyn Tamper>, renumber: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the proxy");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                log: Vec::new(),
                info: Vec::new(),
                conns: Vec::new(),
                tamper,
            }),
            renumber,
        });
        let (hold, held) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, relay, shared.clone(), held));
        Proxy {
            addr,
            shared,
            hold,
            accept,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the frame policy from now on (frames already forwarded stay as they
    /// were), e.g. to start attacking once a room is set up.
    pub fn set_tamper(&self, tamper: impl Tamper) {
        self.shared.state.lock().unwrap().tamper = Box::new(tamper);
    }

    /// Delivers `frame` now, as if the relay (or a client) had sent it, bypassing the
    /// tamper (events to clients are renumbered like every other).
    pub fn inject(&self, frame: Frame) {
        let mut state = self.shared.state.lock().unwrap();
        state.deliver(frame, self.shared.renumber);
    }

    /// `http://127.0.0.1:PORT`: give it to clients as the relay.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every binary message read so far, in both directions, before tampering.
    pub fn recorded(&self) -> Vec<Frame> {
        self.shared.state.lock().unwrap().log.clone()
    }

    /// What the proxy knows about each connection so far.
    pub fn conns(&self) -> Vec<ConnInfo> {
        self.shared.state.lock().unwrap().info.clone()
    }

    /// Index of the open connection of member `me`.
    pub fn conn_of(&self, me: MemberId) -> Option<usize> {
        self.conns().iter().position(|c| c.open && c.me == Some(me))
    }

    /// Cuts connection `conn` in both directions without a WebSocket goodbye, like a
    /// dropped network.
    pub fn cut(&self, conn: usize) {
        let mut state = self.shared.state.lock().unwrap();
        let c = &mut state.conns[conn];
        c.to_client = None;
        c.to_relay = None;
        for task in c.tasks.drain(..) {
            task.abort();
        }
        state.info[conn].open = false;
    }

    /// While `true`, new connections are accepted but not connected to the relay.
    pub fn hold(&self, held: bool) {
        let _ = self.hold.send(held);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        let mut state = self.shared.state.lock().unwrap();
        for c in &mut state.conns {
            for task in c.tasks.drain(..) {
                task.abort();
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    relay: SocketAddr,
    shared: Arc<Shared>,
    held: watch::Receiver<bool>,
) {
    while let Ok((tcp, _)) = listener.accept().await {
        let shared = shared.clone();
        let mut held = held.clone();
        tokio::spawn(async move {
            let Ok(client) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            if held.wait_for(|h| !h).await.is_err() {
                return;
            }
            let url = format!("ws://{relay}{WS_PATH}");
            let Ok((upstream, _)) = tokio_tungstenite::connect_async(url).await else {
                return;
            };
            let (client_tx, mut client_rx) = client.split();
            let (relay_tx, mut relay_rx) = upstream.split();
            let (to_client, client_out) = mpsc::unbounded_channel();
            let (to_relay, relay_out) = mpsc::unbounded_channel();
            let mut state = shared.state.lock().unwrap();
            let conn = state.conns.len();
            let mut tasks = vec![
                tokio::spawn(write_all(client_out, client_tx)),
                tokio::spawn(write_all(relay_out, relay_tx)),
            ];
            let s = shared.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(msg)) = client_rx.next().await {
                    if !s.forward(conn, Dir::ToRelay, msg) {
                        break;
                    }
                }
                s.closed(conn);
            }));
            let s = shared.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(msg)) = relay_rx.next().await {
                    if !s.forward(conn, Dir::ToClient, msg) {
                        break;
                    }
                }
                s.closed(conn);
            }));
            state.conns.push(Conn {
                to_client: Some(to_client),
                to_relay: Some(to_relay),
                last_seq: None,
                tasks,
            });
            state.info.push(ConnInfo {
                open: true,
                ..ConnInfo::default()
            });
        });
    }
}

async fn write_all<S>(mut rx: mpsc::UnboundedReceiver<Message>, mut sink: S)
where
    S: futures_util::Sink<Message> + Unpin,
{
    while let Some(msg) = rx.recv().await {
        let close = matches!(msg, Message::Close(_));
        if sink.send(msg).await.is_err() || close {
            break;
        }
    }
    let _ = sink.close().await;
}

impl Shared {
    /// Handles one message read on `conn`; false when the reader should stop.
    fn forward(&self, conn: usize, dir: Dir, msg: Message) -> bool {
        let mut state = self.state.lock().unwrap();
        let bytes = match msg {
            Message::Binary(bytes) => bytes.to_vec(),
            Message::Close(close) => {
                // Pass the goodbye on; the writer then closes that side.
                state.send(conn, dir, Message::Close(close));
                return false;
            }
            // Pings are answered by each side's WebSocket itself; text is not part
            // of the protocol but passes untouched so the relay can answer it.
            Message::Text(text) => {
                state.send(conn, dir, Message::Text(text));
                return true;
            }
            _ => return true,
        };
        state.learn(conn, dir, &bytes);
        let frame = Frame { conn, dir, bytes };
        state.log.push(frame.clone());
        let mut out = Vec::new();
        let State { tamper, info, .. } = &mut *state;
        tamper.frame(frame, info, &mut out);
        for frame in out {
            state.deliver(frame, self.renumber);
        }
        true
    }

    /// One side of `conn` ended: end the other.
    fn closed(&self, conn: usize) {
        let mut state = self.state.lock().unwrap();
        if let Some(info) = state.info.get_mut(conn) {
            info.open = false;
        }
        if let Some(c) = state.conns.get_mut(conn) {
            // Dropping the senders ends both writers, which close their sinks.
            c.to_client = None;
            c.to_relay = None;
        }
    }
}

impl State {
    fn deliver(&mut self, frame: Frame, renumber: bool) {
        let bytes = if renumber && frame.dir == Dir::ToClient {
            self.renumber(frame.conn, frame.bytes)
        } else {
            frame.bytes
        };
        self.send(frame.conn, frame.dir, Message::Binary(bytes.into()));
    }

    fn send(&mut self, conn: usize, dir: Dir, msg: Message) {
        let Some(c) = self.conns.get(conn) else {
            return;
        };
        let tx = match dir {
            Dir::ToRelay => &c.to_relay,
            Dir::ToClient => &c.to_client,
        };
        if let Some(tx) = tx {
            let _ = tx.send(msg);
        }
    }

    /// Notes a connection's room and member id.
    fn learn(&mut self, conn: usize, dir: Dir, bytes: &[u8]) {
        let info = &mut self.info[conn];
        match dir {
            Dir::ToRelay => {
                if let Ok(ClientFrame::Create { room, .. } | ClientFrame::Join { room, .. }) =
                    ClientFrame::decode(bytes)
                {
                    info.room = Some(room);
                }
            }
            Dir::ToClient => {
                if let Ok(ServerFrame::Welcome { you, .. }) = ServerFrame::decode(bytes) {
                    info.me = Some(you);
                }
            }
        }
    }

    /// Gives an event to `conn` the next sequence number after the last one it got.
    fn renumber(&mut self, conn: usize, bytes: Vec<u8>) -> Vec<u8> {
        let Some(c) = self.conns.get_mut(conn) else {
            return bytes;
        };
        match ServerFrame::decode(&bytes) {
            Ok(ServerFrame::Welcome { seq, .. }) => {
                c.last_seq = Some(seq);
                bytes
            }
            Ok(ServerFrame::Event { seq, event }) => {
                let next = c.last_seq.map_or(seq, |last| last + 1);
                c.last_seq = Some(next);
                ServerFrame::Event { seq: next, event }.encode()
            }
            Ok(ServerFrame::CaughtUp { .. }) => match c.last_seq {
                Some(seq) => ServerFrame::CaughtUp { seq }.encode(),
                None => bytes,
            },
            _ => bytes,
        }
    }
}
