//! The three protocols the load generator speaks: vroom's relay protocol (binary
//! `postcard` frames from `vroom_shared::wire`), Socket.IO v4 (Engine.IO v4 text packets
//! over a plain WebSocket) and the uWebSockets.js peer's (a binary room name, then raw
//! binary payloads), behind one small interface so every scenario drives every peer the
//! same way.
//!
//! A benchmark payload starts with the message's *intended* send time (nanoseconds
//! since the Unix epoch, the same clock in every process of the machine), so a receiver
//! measures latency from when the message should have left, not from when a late sender
//! got round to it.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use vroom_shared::wire::{
    ClientFrame, Event, HostSecret, RoomId, RoomSettings, ServerFrame, PROTOCOL_VERSION, WS_PATH,
};

/// The peer under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Peer {
    /// vroom's relay.
    Vroom,
    /// The minimal Socket.IO room relay in `bench/peers/socketio`.
    Socketio,
    /// The minimal uWebSockets.js room relay in `bench/peers/uws`: the ceiling a C++
    /// WebSocket server on Node reaches.
    Uws,
}

impl Peer {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Vroom => "vroom",
            Peer::Socketio => "socket.io",
            Peer::Uws => "uws",
        }
    }
}

/// One open WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// Nanoseconds since the Unix epoch. Every process on the machine reads the same clock,
/// so a sender in one worker and a receiver in another agree on it.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Opens a WebSocket to `server` from the loopback address `source`, with small buffers:
/// the load generator holds up to ~9,000 sockets per process and must not need 128 KiB
/// each.
pub async fn connect(peer: Peer, server: SocketAddr, source: IpAddr) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::new(source, 0))
        .with_context(|| format!("could not bind a client socket to {source}"))?;
    let stream = socket
        .connect(server)
        .await
        .with_context(|| format!("could not connect to {server} from {source}"))?;
    stream.set_nodelay(true)?;
    let url = match peer {
        Peer::Vroom => format!("ws://{server}{WS_PATH}"),
        Peer::Socketio => format!("ws://{server}/socket.io/?EIO=4&transport=websocket"),
        Peer::Uws => format!("ws://{server}/"),
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .context("WebSocket handshake failed")?;
    Ok(ws)
}

/// A room name both peers understand: 16 random bytes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct RoomName(pub [u8; 16]);

impl RoomName {
    /// A fresh random room.
    pub fn random() -> RoomName {
        RoomName(rand::random())
    }
}

/// Creates (`creator`) or joins the room, and waits until the peer confirms.
pub async fn enter(
    peer: Peer,
    ws: &mut Ws,
    room: RoomName,
    creator: bool,
    members: u32,
) -> anyhow::Result<()> {
    match peer {
        Peer::Vroom => {
            let room = RoomId(room.0);
            let frame = if creator {
                ClientFrame::Create {
                    version: PROTOCOL_VERSION,
                    room,
                    host: HostSecret(rand::random()).hash(),
                    settings: RoomSettings {
                        max_members: Some(members),
                        ..RoomSettings::default()
                    },
                }
            } else {
                ClientFrame::Join {
                    version: PROTOCOL_VERSION,
                    room,
                    resume: None,
                    after: None,
                }
            };
            ws.send(Message::Binary(frame.encode().into())).await?;
            loop {
                let bytes = match next(ws).await? {
                    Message::Binary(bytes) => bytes,
                    _ => continue,
                };
                match ServerFrame::decode(&bytes) {
                    Ok(ServerFrame::Welcome { .. }) => return Ok(()),
                    Ok(ServerFrame::Error { code }) => bail!("the relay refused: {code:?}"),
                    Ok(_) => continue,
                    Err(_) => bail!("the relay sent a frame this load generator cannot read"),
                }
            }
        }
        Peer::Socketio => {
            // Engine.IO open packet, then connect to the default namespace.
            expect_text(ws, "0").await?;
            ws.send(Message::text("40")).await?;
            expect_text(ws, "40").await?;
            // An event with acknowledgement id 1; the peer acks once it has joined.
            let hex = hex_room(room);
            ws.send(Message::text(format!("421[\"join\",\"{hex}\"]")))
                .await?;
            expect_text(ws, "431").await
        }
        Peer::Uws => {
            // The room's name, answered with an empty message once subscribed.
            ws.send(Message::Binary(room.0.to_vec().into())).await?;
            loop {
                match next(ws).await? {
                    Message::Binary(b) if b.is_empty() => return Ok(()),
                    Message::Binary(_) => bail!("the uws peer relayed a message before the join"),
                    _ => continue,
                }
            }
        }
    }
}

fn hex_room(room: RoomName) -> String {
    room.0.iter().map(|b| format!("{b:02x}")).collect()
}

async fn next(ws: &mut Ws) -> anyhow::Result<Message> {
    match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
        Err(_) => bail!("the peer did not answer within 30 s"),
        Ok(None) => bail!("the peer closed the connection"),
        Ok(Some(msg)) => Ok(msg?),
    }
}

/// Waits for a text packet starting with `prefix`, answering Engine.IO pings meanwhile.
async fn expect_text(ws: &mut Ws, prefix: &str) -> anyhow::Result<()> {
    loop {
        match next(ws).await? {
            Message::Text(t) if t.as_str() == "2" => ws.send(Message::text("3")).await?,
            Message::Text(t) if t.as_str().starts_with(prefix) => return Ok(()),
            Message::Text(t) => {
                return Err(anyhow!(
                    "expected a Socket.IO packet starting with {prefix:?}, got {:?}",
                    t.as_str().chars().take(40).collect::<String>()
                ))
            }
            _ => continue,
        }
    }
}

/// Builds the frame that broadcasts a `size`-byte payload stamped with `intended_ns` and
/// the sender's `tag` (so a sender recognises its own echo).
pub fn message(peer: Peer, intended_ns: u64, tag: u32, size: usize) -> Message {
    match peer {
        Peer::Vroom => {
            let payload = stamped(intended_ns, tag, size);
            let frame = ClientFrame::Send {
                to: None,
                payload: &payload,
            };
            Message::Binary(frame.encode().into())
        }
        // The same payload as vroom's, without a frame around it: the peer relays bytes.
        Peer::Uws => Message::Binary(stamped(intended_ns, tag, size).into()),
        Peer::Socketio => {
            // A string payload keeps every packet a single text frame (binary payloads
            // take Socket.IO's attachment packets), the common case in chat tutorials.
            let mut text = String::with_capacity(size + 16);
            text.push_str("42[\"msg\",\"");
            text.push_str(&format!("{intended_ns:016x}{tag:08x}"));
            while text.len() < size + 10 {
                text.push('x');
            }
            text.push_str("\"]");
            Message::text(text)
        }
    }
}

/// What a received frame means to the load generator.
pub enum Received {
    /// A relayed benchmark message, with its intended send time and its sender's tag.
    Delivery { intended_ns: u64, tag: u32 },
    /// The peer wants an answer (an Engine.IO ping): send it back.
    Reply(Message),
    /// The peer closed the connection.
    Closed,
    /// Anything else (membership events, pongs).
    Other,
}

/// Interprets one received frame.
pub fn receive(peer: Peer, msg: Message) -> anyhow::Result<Received> {
    match (peer, msg) {
        (_, Message::Close(_)) => Ok(Received::Closed),
        (Peer::Vroom, Message::Binary(bytes)) => vroom_delivery(&bytes),
        (Peer::Socketio, Message::Text(t)) => {
            let t = t.as_str();
            if t == "2" {
                return Ok(Received::Reply(Message::text("3")));
            }
            let Some(rest) = t.strip_prefix("42[\"msg\",\"") else {
                return Ok(Received::Other);
            };
            let stamp = rest
                .get(..24)
                .context("a Socket.IO message without a stamp")?;
            let intended_ns = u64::from_str_radix(&stamp[..16], 16).context("a malformed stamp")?;
            let tag = u32::from_str_radix(&stamp[16..], 16).context("a malformed tag")?;
            Ok(Received::Delivery { intended_ns, tag })
        }
        // Only the join's answer is empty, and it came before any payload.
        (Peer::Uws, Message::Binary(bytes)) if bytes.is_empty() => Ok(Received::Other),
        (Peer::Uws, Message::Binary(bytes)) => read_stamp(&bytes),
        _ => Ok(Received::Other),
    }
}

/// Bytes of the stamp at the start of a binary payload: the intended send time (u64)
/// and the sender's tag (u32), little-endian.
const STAMP: usize = 12;

/// A `size`-byte binary payload (at least the stamp) stamped with `intended_ns` and
/// `tag`, zeros after.
fn stamped(intended_ns: u64, tag: u32, size: usize) -> Vec<u8> {
    let mut payload = vec![0u8; size.max(STAMP)];
    payload[..8].copy_from_slice(&intended_ns.to_le_bytes());
    payload[8..STAMP].copy_from_slice(&tag.to_le_bytes());
    payload
}

/// The delivery a binary payload made by [`stamped`] stands for.
fn read_stamp(payload: &[u8]) -> anyhow::Result<Received> {
    let stamp = payload
        .get(..STAMP)
        .context("a relayed payload without a stamp")?;
    let (ns, tag) = stamp.split_at(8);
    Ok(Received::Delivery {
        intended_ns: u64::from_le_bytes(ns.try_into()?),
        tag: u32::from_le_bytes(tag.try_into()?),
    })
}

fn vroom_delivery(bytes: &Bytes) -> anyhow::Result<Received> {
    match ServerFrame::decode(bytes) {
        Ok(ServerFrame::Event {
            event: Event::Message { payload, .. },
            ..
        }) => read_stamp(payload),
        Ok(ServerFrame::Closed { reason }) => bail!("the relay closed the room: {reason:?}"),
        Ok(ServerFrame::Error { code }) => bail!("the relay answered an error: {code:?}"),
        Ok(_) => Ok(Received::Other),
        Err(_) => bail!("the relay sent a frame this load generator cannot read"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The uws peer relays a payload unchanged, so what the load generator sends must
    /// read back as the same delivery.
    #[test]
    fn uws_payload_reads_back_as_its_stamp() {
        let msg = message(Peer::Uws, 1_234_567_890_123, 0xdead_beef, 360);
        assert!(matches!(&msg, Message::Binary(b) if b.len() == 360));
        match receive(Peer::Uws, msg).unwrap() {
            Received::Delivery { intended_ns, tag } => {
                assert_eq!(intended_ns, 1_234_567_890_123);
                assert_eq!(tag, 0xdead_beef);
            }
            _ => panic!("a payload reads as a delivery"),
        }
        // The join's answer is not a delivery.
        assert!(matches!(
            receive(Peer::Uws, Message::Binary(Bytes::new())).unwrap(),
            Received::Other
        ));
    }
}
