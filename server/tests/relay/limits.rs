//! Per-address limits, global budgets and their answers: one address that exhausts its
//! share is refused while other addresses' rooms carry on. Clients connect from several
//! loopback addresses (127.0.0.x) to be told apart.

use std::net::IpAddr;

use tokio_tungstenite::tungstenite::Message;
use vroom_relay::Config;
use vroom_shared::wire::{ClientFrame, ErrorCode, RoomId, RoomSettings, WS_PATH};

use crate::config;
use vroom_testkit::relay::{get_from, Relay};
use vroom_testkit::ws::{room_id, secret, version, Client, Got};

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

fn refusals(reason: &str) -> String {
    format!("vroom_refusals_total{{reason=\"{reason}\"}}")
}

/// A room created from `host` and joined from `guest`, in which a message goes round.
async fn working_room(
    relay: &Relay,
    room: RoomId,
    host: IpAddr,
    guest: IpAddr,
) -> (Client, Client) {
    let n = room.0[1];
    let mut a = relay.connect_from(host).await;
    let mut b = relay.connect_from(guest).await;
    a.create(room, &secret(n), RoomSettings::default()).await;
    b.join(room).await;
    assert_room_works(&mut a, &mut b).await;
    (a, b)
}

async fn assert_room_works(a: &mut Client, b: &mut Client) {
    a.say("still working").await;
    assert!(
        matches!(b.recv_message().await, Got::Message { payload, .. } if payload == b"still working")
    );
}

async fn try_create(c: &mut Client, n: u8) -> Got {
    c.send(ClientFrame::Create {
        version: version(),
        room: room_id(n),
        host: secret(n).hash(),
        settings: RoomSettings::default(),
    })
    .await;
    c.recv_control().await
}

#[tokio::test]
async fn one_address_over_its_connections_is_refused_and_others_are_not() {
    let relay = Relay::start(Config {
        max_connections_per_address: 2,
        ..config()
    })
    .await;
    let (mut a, mut b) = working_room(&relay, room_id(60), ip(3), ip(4)).await;

    let first = relay.connect_from(ip(2)).await;
    let _second = relay.connect_from(ip(2)).await;
    // Refused before its request is read, with a status and a sentence.
    let refused = Client::connect_from(relay.addr(), ip(2), &[]).await;
    assert_eq!(refused.err(), Some(429));
    let answer = get_from(relay.addr(), ip(2), "/healthz", "").await.unwrap();
    assert_eq!(answer.status, 429, "plain requests count too");
    assert_eq!(
        String::from_utf8_lossy(&answer.body),
        "Too many connections from your address. Close some and try again."
    );
    assert_room_works(&mut a, &mut b).await;
    let _other = relay.connect_from(ip(5)).await;

    drop(first);
    // The closed connection's slot frees up once the relay has noticed.
    let deadline = tokio::time::Instant::now() + vroom_testkit::PATIENCE;
    while Client::connect_from(relay.addr(), ip(2), &[])
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed connection kept its slot"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(relay.metric(&refusals("connections_per_address")).await >= 2);
    relay.stop().await;
}

#[tokio::test]
async fn one_address_over_its_rooms_and_creations_is_refused_and_others_are_not() {
    let relay = Relay::start(Config {
        max_rooms_per_address: 2,
        creates_per_minute: 4,
        joins_per_minute: 2,
        ..config()
    })
    .await;
    let room = room_id(61);
    let (mut a, mut b) = working_room(&relay, room, ip(3), ip(4)).await;

    // Two rooms alive from 127.0.0.2, then a third is refused and the socket stays open.
    let mut r1 = relay.connect_from(ip(2)).await;
    r1.create(room_id(62), &secret(62), RoomSettings::default())
        .await;
    let mut r2 = relay.connect_from(ip(2)).await;
    r2.create(room_id(63), &secret(63), RoomSettings::default())
        .await;
    let mut r3 = relay.connect_from(ip(2)).await;
    let r3_room = room_id(64);
    r3.send(ClientFrame::Create {
        version: version(),
        room: r3_room,
        host: secret(64).hash(),
        settings: RoomSettings::default(),
    })
    .await;
    r3.expect_error(ErrorCode::RateLimited).await;
    assert_eq!(relay.metric(&refusals("rooms_per_address")).await, 1);
    assert_room_works(&mut a, &mut b).await;

    // A room that ends frees its place; the fourth creation of the minute is the last.
    r1.send(ClientFrame::Terminate { secret: secret(62) }).await;
    r1.expect_closed(vroom_shared::wire::CloseReason::Terminated)
        .await;
    r3.create(r3_room, &secret(64), RoomSettings::default())
        .await;
    let mut r4 = relay.connect_from(ip(2)).await;
    assert_eq!(
        try_create(&mut r4, 65).await,
        Got::Error(ErrorCode::RateLimited)
    );
    assert_eq!(relay.metric(&refusals("creates_per_address")).await, 1);

    // Joins: 127.0.0.4 joined once above; one more, then refused; others join freely.
    relay.connect_from(ip(4)).await.join(room).await;
    let mut j = relay.connect_from(ip(4)).await;
    j.ask_to_join(room).await;
    j.expect_error(ErrorCode::RateLimited).await;
    assert_eq!(relay.metric(&refusals("joins_per_address")).await, 1);
    relay.connect_from(ip(5)).await.join(room).await;
    let mut fresh = relay.connect_from(ip(6)).await;
    fresh
        .create(room_id(66), &secret(66), RoomSettings::default())
        .await;
    assert_room_works(&mut a, &mut b).await;
    relay.stop().await;
}

#[tokio::test]
async fn the_total_room_budget_refuses_new_rooms_as_unavailable() {
    let relay = Relay::start(Config {
        max_rooms: 1,
        ..config()
    })
    .await;
    let (mut a, mut b) = working_room(&relay, room_id(67), ip(3), ip(4)).await;
    let mut c = relay.connect_from(ip(2)).await;
    assert_eq!(
        try_create(&mut c, 68).await,
        Got::Error(ErrorCode::Unavailable)
    );
    assert_eq!(relay.metric(&refusals("rooms_total")).await, 1);
    assert_room_works(&mut a, &mut b).await;
    relay.stop().await;
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_and_nobody_else_can() {
    let relay = Relay::start(Config {
        max_connections_per_address: 1,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..config()
    })
    .await;
    let addr = relay.addr();
    let via_proxy = |client: &'static str| async move {
        let xff = [("x-forwarded-for", client)];
        Client::connect_from(addr, ip(1), &xff).await
    };
    // The proxy's own connections never count; each client behind it does.
    let _c1 = via_proxy("198.51.100.7").await.expect("first client");
    assert_eq!(via_proxy("198.51.100.7").await.err(), Some(429));
    let _c2 = via_proxy("198.51.100.8").await.expect("another client");
    // Anyone else's header is ignored: 127.0.0.2 is itself, whatever it claims.
    let spoof = [("x-forwarded-for", "198.51.100.9")];
    let _s = Client::connect_from(relay.addr(), ip(2), &spoof)
        .await
        .expect("first connection of 127.0.0.2");
    assert_eq!(
        Client::connect_from(relay.addr(), ip(2), &[("x-forwarded-for", "198.51.100.10")])
            .await
            .err(),
        Some(429)
    );
    relay.stop().await;
}

/// A message above the size limit closes the socket with 1009 and a reason, in either
/// phase; other connections are not affected.
#[tokio::test]
async fn an_oversize_message_closes_with_1009() {
    let config = config();
    let too_big = vec![0u8; config.max_message() + 1];
    let relay = Relay::start(config).await;
    let room = room_id(69);
    let (mut a, mut b) = working_room(&relay, room, ip(3), ip(4)).await;

    let mut joining = relay.connect().await;
    joining
        .send_raw(Message::Binary(too_big.clone().into()))
        .await;
    assert_eq!(joining.recv().await, Got::SocketClosed(1009));

    let mut c = relay.connect_from(ip(5)).await;
    c.join(room).await;
    c.send_raw(Message::Binary(too_big.into())).await;
    assert_eq!(c.recv_control().await, Got::SocketClosed(1009));
    assert_eq!(relay.metric(&refusals("message_too_big")).await, 2);
    assert_room_works(&mut a, &mut b).await;
    relay.stop().await;
}

/// The upgrade endpoint's refusals are plain HTTP with a reason.
#[tokio::test]
async fn the_total_connection_budget_answers_503_with_a_reason() {
    let relay = Relay::start(Config {
        max_connections: 1,
        ..config()
    })
    .await;
    let _one = relay.connect_from(ip(2)).await;
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let answer = get_from(relay.addr(), ip(3), WS_PATH, upgrade)
        .await
        .unwrap();
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("10"));
    assert_eq!(relay.metric(&refusals("connections_total")).await, 1);
    relay.stop().await;
}

/// Sends `n` payloads of `size` bytes and waits for each to come back.
async fn fill(c: &mut Client, n: usize, size: usize) {
    c.send_echoed(&vec![b'x'; size], n).await;
}

/// The first frame of a catch-up from the start of the room: `Gap` when its oldest
/// events were dropped.
async fn first_of_catch_up(c: &mut Client) -> Got {
    c.send(ClientFrame::Fetch { after: 0 }).await;
    let first = c.recv().await;
    while !matches!(c.recv().await, Got::CaughtUp(_)) {}
    first
}

/// `--max-buffered-bytes`: past it, the largest buffers lose their oldest events
/// first; a small room's buffer is untouched and the total stays under the budget.
#[tokio::test]
async fn the_buffer_budget_trims_the_largest_buffers_first() {
    let budget = 50_000;
    let relay = Relay::start(Config {
        buffer_bytes: 40_000,
        max_buffered_bytes: budget,
        ..config()
    })
    .await;
    let (mut a, mut b) = working_room(&relay, room_id(70), ip(3), ip(4)).await;
    fill(&mut a, 10, 1000).await;
    let mut big = relay.connect_from(ip(2)).await;
    big.create(room_id(71), &secret(71), RoomSettings::default())
        .await;
    fill(&mut big, 10, 3900).await;
    fill(&mut a, 5, 1000).await;
    let buffered = relay.metric("vroom_buffered_bytes").await;
    assert!(
        buffered > 0 && buffered <= budget as u64,
        "{buffered} bytes buffered, budget {budget}"
    );
    assert!(matches!(first_of_catch_up(&mut big).await, Got::Gap(1, _)));
    for _ in 0..15 {
        b.recv_message().await;
    }
    let first = first_of_catch_up(&mut b).await;
    assert!(matches!(first, Got::Joined(1, _)), "{first:?}");
    assert_room_works(&mut a, &mut b).await;
    relay.stop().await;
}

/// `--max-queued-bytes`: members that stop reading cannot together hold more queued
/// memory than the relay's budget, though each one's own cap would allow far more; they
/// are disconnected as lagging, the budget comes back to zero, and other rooms carry on.
#[tokio::test]
async fn many_slow_readers_cannot_queue_more_than_the_relay_budget() {
    const BUDGET: usize = 1 << 20;
    const STUCK: usize = 6;
    let relay = Relay::start(Config {
        max_queued_bytes: BUDGET,
        send_queue: 1_000_000,
        send_queue_bytes: 64 << 20,
        write_timeout: std::time::Duration::from_secs(3600),
        rate_per_sec: 100_000,
        rate_burst: 100_000,
        ..config()
    })
    .await;
    let (mut a, mut b) = working_room(&relay, room_id(72), ip(3), ip(4)).await;
    let (room, mut sender, _) = relay.create_room(73).await;
    let mut stuck = Vec::new();
    for _ in 0..STUCK {
        stuck.push(relay.join_room(room).await.0);
    }
    let payload = vec![0x5a; 60 * 1024];
    // Past the budget, each connection that holds nothing may still take one frame.
    let frame = payload.len() + 64;
    let bound = (BUDGET + (STUCK + 1) * frame) as u64;
    let mut sent = 0;
    while relay.metric(&refusals("queued_bytes")).await < STUCK as u64 {
        assert!(sent < 5_000, "the stuck readers were never dropped");
        sender.send_echoed(&payload, 10).await;
        sent += 10;
        let queued = relay.metric("vroom_queued_bytes").await;
        assert!(queued <= bound, "{queued} bytes queued, budget {BUDGET}");
    }
    assert_room_works(&mut a, &mut b).await;
    // Each stuck reader finds what fitted, then "try again later".
    for mut c in stuck {
        loop {
            match c.recv().await {
                Got::Message { .. } | Got::Joined(..) => {}
                Got::SocketClosed(code) => {
                    assert_eq!(code, 1013);
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    // Nothing stays counted once written or dropped.
    relay.wait_metric("vroom_queued_bytes", |n| n == 0).await;
    sender.say("after").await;
    assert!(
        matches!(sender.recv_message().await, Got::Message { payload, .. } if payload == b"after")
    );
    relay.stop().await;
}

/// Reads until `n` chunk-lane packets have arrived.
async fn recv_chunks(c: &mut Client, n: usize) {
    let mut got = 0;
    while got < n {
        match c.recv().await {
            Got::Stream { .. } => got += 1,
            Got::Joined(..) | Got::Left(..) => {}
            other => panic!("expected a chunk, got {other:?}"),
        }
    }
}

async fn send_chunks(c: &mut Client, n: usize) {
    for _ in 0..n {
        c.send(ClientFrame::Stream {
            to: None,
            payload: b"tiny chunk",
        })
        .await;
    }
}

/// A relay whose frames are small, so a chunk-lane budget's burst is a couple of
/// packets and tiny packets (charged 8 KiB each) soon meet the budget under test.
fn chunk_budget_config(room: u64, total: u64) -> Config {
    Config {
        max_payload: 4096,
        stream_rate_room: room,
        stream_rate_total: total,
        ..config()
    }
}

/// `--stream-rate-room`: tiny packets from several members of one room are slowed
/// down together, not refused and not lost, and another room's transfer is not held
/// back meanwhile.
#[tokio::test]
async fn a_rooms_chunk_budget_slows_that_room_alone() {
    let relay = Relay::start(chunk_budget_config(16 << 10, 1 << 30)).await;
    let busy = room_id(74);
    let (mut s1, mut s2) = working_room(&relay, busy, ip(3), ip(4)).await;
    let mut receiver = relay.connect_from(ip(5)).await;
    receiver.join(busy).await;
    let (mut c, mut d) = working_room(&relay, room_id(75), ip(6), ip(7)).await;
    // Six packets in the busy room: a burst of two, then one every half second.
    send_chunks(&mut s1, 3).await;
    send_chunks(&mut s2, 3).await;
    relay
        .wait_metric("vroom_stream_waits_total{kind=\"room\"}", |n| n > 0)
        .await;
    // The other room streams at once.
    send_chunks(&mut c, 2).await;
    recv_chunks(&mut d, 2).await;
    assert_room_works(&mut c, &mut d).await;
    // Every packet of the busy room arrives in the end.
    recv_chunks(&mut receiver, 6).await;
    assert_eq!(
        relay
            .metric("vroom_stream_waits_total{kind=\"connection\"}")
            .await,
        0,
        "only the room's budget held packets back"
    );
    relay.stop().await;
}

/// `--stream-rate-total`: many rooms' chunks together are held to the relay's budget.
#[tokio::test]
async fn the_relays_chunk_budget_slows_all_rooms_together() {
    let relay = Relay::start(chunk_budget_config(1 << 30, 16 << 10)).await;
    let mut rooms = Vec::new();
    for n in 0..3 {
        rooms.push(working_room(&relay, room_id(76 + n), ip(3 + 2 * n), ip(4 + 2 * n)).await);
    }
    for (sender, _) in &mut rooms {
        send_chunks(sender, 2).await;
    }
    for (_, receiver) in &mut rooms {
        recv_chunks(receiver, 2).await;
    }
    assert!(
        relay
            .metric("vroom_stream_waits_total{kind=\"relay\"}")
            .await
            > 0
    );
    assert_eq!(
        relay
            .metric("vroom_stream_waits_total{kind=\"room\"}")
            .await,
        0
    );
    relay.stop().await;
}
