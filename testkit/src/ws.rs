//! A WebSocket client that speaks raw wire frames, for what a real client never sends
//! (a wrong host secret, malformed or oversized frames, a second `Create` of one room
//! id) and for checking the relay's answers frame by frame.
//!
//! [`Got`] is the one owned form of a [`ServerFrame`] the tests compare against; the
//! socket closing is one of its values, so a test can expect the close like a frame.

use std::net::{IpAddr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vroom_shared::wire::{
    ClientFrame, CloseReason, CodeRefusal, ErrorCode, Event, HostSecret, LeaveReason, MemberId,
    Resume, ResumeToken, RoomId, RoomLimits, RoomSettings, ServerFrame, PROTOCOL_VERSION, WS_PATH,
};

use crate::PATIENCE;

/// A server frame, owned, or how the socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// `Welcome`.
    Welcome(Welcomed),
    /// `Event::Joined`: its seq and the member.
    Joined(u64, MemberId),
    /// `Event::Left`: its seq, the member and why.
    Left(u64, MemberId, LeaveReason),
    /// `Event::Message`.
    Message {
        seq: u64,
        from: MemberId,
        to: Option<MemberId>,
        payload: Vec<u8>,
    },
    /// `Event::Locked`: its seq and whether the room is now locked.
    Locked(u64, bool),
    /// `Event::HostChanged`: its seq and the member holding the host seat now.
    HostChanged(u64, MemberId),
    /// `Gap { from, to }`.
    Gap(u64, u64),
    /// `CaughtUp { seq }`.
    CaughtUp(u64),
    /// `Error`.
    Error(ErrorCode),
    /// `Closed`.
    Closed(CloseReason),
    /// The WebSocket closed with this code (0: without a close frame).
    SocketClosed(u16),
    /// `Stream`: a chunk-lane packet.
    Stream {
        from: MemberId,
        to: Option<MemberId>,
        payload: Vec<u8>,
    },
    /// `CodeOffered`: nameplate, seconds to expiry.
    CodeOffered(u32, u32),
    /// `CodeMessage`: a short-code exchange's message.
    CodeMessage {
        exchange: u64,
        nameplate: u32,
        payload: Vec<u8>,
    },
    /// `CodeRefused`: nameplate, reason.
    CodeRefused(u32, CodeRefusal),
}

/// What a client learnt from its `Welcome`.
#[derive(Clone, PartialEq, Eq)]
pub struct Welcomed {
    pub you: MemberId,
    pub resume: ResumeToken,
    pub host: MemberId,
    pub members: Vec<MemberId>,
    pub seq: u64,
    pub locked: bool,
    pub limits: RoomLimits,
}

impl std::fmt::Debug for Welcomed {
    /// Without the resume token, which is a secret of its member.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Welcomed")
            .field("you", &self.you)
            .field("host", &self.host)
            .field("members", &self.members)
            .field("seq", &self.seq)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

impl Got {
    /// The sequence number of an event; `None` for every other frame.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Got::Joined(s, _) | Got::Left(s, _, _) | Got::Locked(s, _) | Got::HostChanged(s, _) => {
                Some(*s)
            }
            Got::Message { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// Whether this is an event of the room (as opposed to an answer to a request).
    pub fn is_event(&self) -> bool {
        self.seq().is_some()
    }

    /// The owned form of `frame`.
    pub fn of(frame: ServerFrame<'_>) -> Got {
        match frame {
            ServerFrame::Welcome {
                you,
                resume,
                host,
                members,
                seq,
                locked,
                limits,
            } => Got::Welcome(Welcomed {
                you,
                resume: resume.0,
                host,
                members,
                seq,
                locked,
                limits,
            }),
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
                Event::HostChanged { host } => Got::HostChanged(seq, host),
            },
            ServerFrame::Gap { from, to } => Got::Gap(from, to),
            ServerFrame::CaughtUp { seq } => Got::CaughtUp(seq),
            ServerFrame::Error { code } => Got::Error(code),
            ServerFrame::Closed { reason } => Got::Closed(reason),
            ServerFrame::Stream { from, to, payload } => Got::Stream {
                from,
                to,
                payload: payload.to_vec(),
            },
            ServerFrame::CodeOffered {
                nameplate,
                expires_secs,
            } => Got::CodeOffered(nameplate, expires_secs),
            ServerFrame::CodeMessage {
                exchange,
                nameplate,
                payload,
            } => Got::CodeMessage {
                exchange,
                nameplate,
                payload: payload.to_vec(),
            },
            ServerFrame::CodeRefused { nameplate, reason } => Got::CodeRefused(nameplate, reason),
        }
    }
}

/// The protocol version this build speaks.
pub fn version() -> u16 {
    PROTOCOL_VERSION
}

/// A room id of its own for each `n`, random at both ends so tests running at once on
/// one Redis never meet.
pub fn room_id(n: u8) -> RoomId {
    let mut id = [n; 16];
    id[0] = rand::random();
    id[15] = rand::random();
    RoomId(id)
}

/// The host secret numbered `n`.
pub fn secret(n: u8) -> HostSecret {
    HostSecret([n; 32])
}

/// One raw WebSocket connection to a relay.
pub struct Client {
    /// The socket.
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Opens a WebSocket to the relay at `addr` (also one running in another process).
    pub async fn connect(addr: SocketAddr) -> Client {
        let url = format!("ws://{addr}{WS_PATH}");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("open a WebSocket to the relay");
        Client { ws }
    }

    /// Opens a WebSocket to the relay at `addr` from the loopback address `source`
    /// (any of 127.0.0.0/8 on Linux), with extra request `headers`; `Err` with the
    /// HTTP status when the relay refuses the upgrade (or 0 when it closes the
    /// connection without an answer).
    pub async fn connect_from(
        addr: SocketAddr,
        source: IpAddr,
        headers: &[(&'static str, &str)],
    ) -> Result<Client, u16> {
        let socket = match source {
            IpAddr::V4(_) => TcpSocket::new_v4(),
            IpAddr::V6(_) => TcpSocket::new_v6(),
        }
        .expect("a TCP socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .unwrap_or_else(|e| panic!("bind the test client to {source}: {e}"));
        let stream = socket.connect(addr).await.expect("connect to the relay");
        let mut request = format!("ws://{addr}{WS_PATH}")
            .into_client_request()
            .expect("a WebSocket request");
        for (name, value) in headers {
            request
                .headers_mut()
                .append(*name, value.parse().expect("a header value"));
        }
        match tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await {
            Ok((ws, _)) => Ok(Client { ws }),
            Err(WsError::Http(response)) => Err(response.status().as_u16()),
            Err(_) => Err(0),
        }
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: ClientFrame<'_>) {
        self.send_bytes(frame.encode()).await;
    }

    /// Sends arbitrary bytes as one binary message.
    pub async fn send_bytes(&mut self, bytes: Vec<u8>) {
        self.send_raw(Message::Binary(bytes.into())).await;
    }

    /// Sends any WebSocket message.
    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("write to the relay");
    }

    /// The next frame (pings and pongs skipped), or how the socket closed.
    pub async fn recv(&mut self) -> Got {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("no frame from the relay in time");
            match next {
                Some(Ok(Message::Binary(bytes))) => {
                    let frame = ServerFrame::decode(&bytes).expect("the relay sent a bad frame");
                    return Got::of(frame);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Got::SocketClosed(frame.map_or(0, |f| u16::from(f.code)))
                }
                Some(Ok(Message::Text(t))) => panic!("the relay sent text: {t}"),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Got::SocketClosed(0),
            }
        }
    }

    /// The next frame that is not a room event (events are skipped).
    pub async fn recv_control(&mut self) -> Got {
        loop {
            let got = self.recv().await;
            if !got.is_event() {
                return got;
            }
        }
    }

    /// The next message event (other events skipped; anything else fails).
    pub async fn recv_message(&mut self) -> Got {
        loop {
            let got = self.recv().await;
            match got {
                Got::Message { .. } => return got,
                Got::Joined(..) | Got::Left(..) | Got::Locked(..) | Got::HostChanged(..) => {
                    continue
                }
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// The next frame, which must be a `Welcome`.
    pub async fn expect_welcome(&mut self) -> Welcomed {
        match self.recv().await {
            Got::Welcome(w) => w,
            other => panic!("expected Welcome, got {other:?}"),
        }
    }

    /// The next frame that is not an event must be `Error { code }`.
    pub async fn expect_error(&mut self, code: ErrorCode) {
        assert_eq!(self.recv_control().await, Got::Error(code));
    }

    /// Expects `Closed { reason }` then a WebSocket close (events before it are skipped).
    pub async fn expect_closed(&mut self, reason: CloseReason) {
        assert_eq!(self.recv_control().await, Got::Closed(reason));
        let code = if reason == CloseReason::GoingAway {
            1001
        } else {
            1000
        };
        assert_eq!(self.recv().await, Got::SocketClosed(code));
    }

    /// Creates `room` and expects the welcome and the creator's own `Joined`, the
    /// room's first event.
    pub async fn create(
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
        assert_eq!(self.recv().await, Got::Joined(1, w.you));
        w
    }

    /// Joins `room` as a new member and expects the welcome and its own `Joined`, the
    /// next event after the welcome's `seq`.
    pub async fn join(&mut self, room: RoomId) -> Welcomed {
        self.ask_to_join(room).await;
        let w = self.expect_welcome().await;
        assert_eq!(self.recv().await, Got::Joined(w.seq + 1, w.you));
        w
    }

    /// Asks to join `room` as a new member, without catch-up; the test reads the answer.
    pub async fn ask_to_join(&mut self, room: RoomId) {
        self.send(ClientFrame::Join {
            version: version(),
            room,
            resume: None,
            after: None,
        })
        .await;
    }

    /// Asks to take `w`'s place again, with catch-up after `after`; the test reads the
    /// answer.
    pub async fn resume(&mut self, room: RoomId, w: &Welcomed, after: Option<u64>) {
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

    /// Broadcasts `text` as an opaque payload.
    pub async fn say(&mut self, text: &str) {
        self.send(ClientFrame::Send {
            to: None,
            payload: text.as_bytes(),
        })
        .await;
    }

    /// Like [`Client::say`], but reports a socket the relay already closed (`false`)
    /// instead of failing: for a sender racing a relay's shutdown.
    pub async fn try_say(&mut self, text: &str) -> bool {
        let frame = ClientFrame::Send {
            to: None,
            payload: text.as_bytes(),
        };
        self.ws
            .send(Message::Binary(frame.encode().into()))
            .await
            .is_ok()
    }

    /// Broadcasts `payload` `times` times, waiting for each to come back, so that only
    /// the other members can fall behind.
    pub async fn send_echoed(&mut self, payload: &[u8], times: usize) {
        for _ in 0..times {
            self.send(ClientFrame::Send { to: None, payload }).await;
            self.recv_message().await;
        }
    }

    /// Closes the TCP connection without a WebSocket goodbye, like a killed tab.
    pub fn drop_connection(self) {
        drop(self.ws);
    }
}
