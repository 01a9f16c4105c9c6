//! A WebSocket client that speaks raw wire frames, for the answers the native client
//! can never provoke (a wrong host secret, a malformed or oversized frame, a second
//! `Create` of one room id).

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vroom_shared::wire::{
    ClientFrame, CloseReason, ErrorCode, Event, LeaveReason, MemberId, RoomId, ServerFrame,
    PROTOCOL_VERSION, WS_PATH,
};

use crate::cli::PATIENCE;

/// A server frame, owned, with just what tests look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// `Welcome`: this member's id, the host's, and everyone connected.
    Welcome {
        you: MemberId,
        host: MemberId,
        members: Vec<MemberId>,
    },
    /// `Event::Joined`.
    Joined(MemberId),
    /// `Event::Left`.
    Left(MemberId, LeaveReason),
    /// `Event::Message`.
    Message { from: MemberId, payload: Vec<u8> },
    /// `Event::Locked`.
    Locked(bool),
    /// `Gap` or `CaughtUp`: catch-up bookkeeping.
    CatchUp,
    /// `Error`.
    Error(ErrorCode),
    /// `Closed`.
    Closed(CloseReason),
    /// The socket ended.
    SocketClosed,
}

impl Got {
    fn from_frame(frame: ServerFrame<'_>) -> Got {
        match frame {
            ServerFrame::Welcome {
                you, host, members, ..
            } => Got::Welcome { you, host, members },
            ServerFrame::Event { event, .. } => match event {
                Event::Joined { member } => Got::Joined(member),
                Event::Left { member, reason } => Got::Left(member, reason),
                Event::Message { from, payload, .. } => Got::Message {
                    from,
                    payload: payload.to_vec(),
                },
                Event::Locked { locked } => Got::Locked(locked),
            },
            ServerFrame::Gap { .. } | ServerFrame::CaughtUp { .. } => Got::CatchUp,
            ServerFrame::Error { code } => Got::Error(code),
            ServerFrame::Closed { reason } => Got::Closed(reason),
        }
    }

    /// Whether this is an event of the room (as opposed to an answer to a request).
    pub fn is_event(&self) -> bool {
        matches!(
            self,
            Got::Joined(_) | Got::Left(..) | Got::Message { .. } | Got::Locked(_)
        )
    }
}

/// One raw WebSocket connection to a relay.
pub struct RawClient {
    /// The socket.
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl RawClient {
    /// Opens a WebSocket to the relay at `addr`.
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let url = format!("ws://{addr}{WS_PATH}");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("open a WebSocket to the relay");
        RawClient { ws }
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: ClientFrame<'_>) {
        self.send_bytes(frame.encode()).await;
    }

    /// Sends arbitrary bytes as one binary message.
    pub async fn send_bytes(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .expect("write to the relay");
    }

    /// Sends a `Join` of `room` and returns the welcome, or the error.
    pub async fn join(&mut self, room: RoomId) -> Result<Got, ErrorCode> {
        self.send(ClientFrame::Join {
            version: PROTOCOL_VERSION,
            room,
            resume: None,
            after: None,
        })
        .await;
        match self.recv_answer().await {
            welcome @ Got::Welcome { .. } => Ok(welcome),
            Got::Error(code) => Err(code),
            other => panic!("expected a welcome or an error, got {other:?}"),
        }
    }

    /// The next frame (pings skipped), or `SocketClosed`.
    pub async fn recv(&mut self) -> Got {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("no frame from the relay in time");
            match next {
                Some(Ok(Message::Binary(bytes))) => {
                    let frame = ServerFrame::decode(&bytes).expect("the relay sent a bad frame");
                    return Got::from_frame(frame);
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Got::SocketClosed,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next frame that is not a room event.
    pub async fn recv_answer(&mut self) -> Got {
        loop {
            let got = self.recv().await;
            if !got.is_event() {
                return got;
            }
        }
    }
}
