//! Connection timeouts: a request head that never completes, a WebSocket that never
//! joins, a peer that stops answering pings, a reader that stops reading. Each is
//! configured short, and the tests wait for the relay's answer, not for a clock.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vroom_relay::Config;

use crate::config;
use vroom_testkit::relay::Relay;
use vroom_testkit::ws::Got;
use vroom_testkit::PATIENCE;

fn refusals(reason: &str) -> String {
    format!("vroom_refusals_total{{reason=\"{reason}\"}}")
}

/// Half-sent requests, connections that send nothing and idle kept-alive connections are
/// closed after `--header-timeout`; a whole request is answered.
#[tokio::test]
async fn a_request_head_that_never_completes_is_closed() {
    let relay = Relay::start(Config {
        header_timeout: Duration::from_millis(300),
        max_connections_per_address: 1000,
        ..config()
    })
    .await;
    let mut half = Vec::new();
    // Connections that send nothing at all, and one idle after a whole request.
    for _ in 0..10 {
        half.push(TcpStream::connect(relay.addr()).await.unwrap());
    }
    let mut kept_alive = TcpStream::connect(relay.addr()).await.unwrap();
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    half.push(kept_alive);
    for _ in 0..50 {
        let mut tcp = TcpStream::connect(relay.addr()).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ")
            .await
            .unwrap();
        half.push(tcp);
    }
    let mut served = 0;
    for mut tcp in half {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut rest)).await;
        let closed = matches!(read, Ok(Ok(_)) | Ok(Err(_)));
        assert!(
            closed,
            "a half-sent request was still open after {PATIENCE:?}"
        );
        // hyper may answer 408 before closing; only the whole request gets its 200.
        served += usize::from(rest.starts_with(b"HTTP/1.1 200"));
    }
    assert_eq!(served, 1, "a half request was served");
    assert_eq!(relay.get("/healthz", "").await.status, 200);
    relay.stop().await;
}

/// A WebSocket that never sends `Create`/`Join` is closed with 1008 and counted.
#[tokio::test]
async fn a_socket_that_never_joins_is_closed_with_1008() {
    let relay = Relay::start(Config {
        join_timeout: Duration::from_millis(200),
        ..config()
    })
    .await;
    let mut idle = relay.connect().await;
    assert_eq!(idle.recv().await, Got::SocketClosed(1008));
    assert_eq!(relay.metric(&refusals("join_timeout")).await, 1);
    relay.stop().await;
}

/// A joined peer that answers no ping is closed as dead; one that answers stays, and
/// its room carries on.
#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_closed_and_the_room_carries_on() {
    let relay = Relay::start(Config {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(200),
        ..config()
    })
    .await;
    let (room, mut alive, _) = relay.create_room(80).await;
    let (mut dead, wd) = relay.join_room(room).await;
    // `alive` reads (and so answers pings) until the dead peer has left the room.
    let left = tokio::spawn(async move {
        loop {
            match alive.recv().await {
                Got::Left(_, member, _) if member == wd.you => return alive,
                Got::SocketClosed(code) => panic!("the live peer was closed: {code}"),
                _ => {}
            }
        }
    });
    // `dead` reads nothing, so answers nothing, until the relay gave up on it.
    relay.wait_metric(&refusals("dead_peer"), |n| n >= 1).await;
    assert_eq!(dead.recv_control().await, Got::SocketClosed(1011));
    let mut alive = left.await.expect("the live peer's reader");
    alive.say("still here").await;
    assert!(
        matches!(alive.recv_message().await, Got::Message { payload, .. } if payload == b"still here")
    );
    assert_eq!(relay.metric(&refusals("dead_peer")).await, 1);
    relay.stop().await;
}

/// A member whose socket takes nothing is dropped after `--write-timeout`, however long
/// its queue may grow; the room carries on.
#[tokio::test]
async fn a_reader_that_stops_reading_is_dropped_after_the_write_timeout() {
    let relay = Relay::start(Config {
        // A queue that never overflows: only the write timeout can drop the reader.
        send_queue: 1_000_000,
        send_queue_bytes: usize::MAX,
        write_timeout: Duration::from_millis(300),
        rate_per_sec: 10_000,
        rate_burst: 10_000,
        ..config()
    })
    .await;
    let (room, mut sender, _) = relay.create_room(81).await;
    let _stuck = relay.join_room(room).await;
    let payload = vec![0x5a; 60 * 1024];
    // Enough to fill the loopback socket buffers many times over; the sender waits
    // for each echo, so only `stuck` falls behind.
    let mut sent = 0;
    while relay.metric(&refusals("slow_reader")).await == 0 {
        assert!(sent < 5_000, "the stuck reader was never dropped");
        sender.send_echoed(&payload, 50).await;
        sent += 50;
    }
    sender.say("after").await;
    assert!(
        matches!(sender.recv_message().await, Got::Message { payload, .. } if payload == b"after")
    );
    relay.stop().await;
}

/// A member that stops reading holds at most `--send-queue-bytes` of frames: past that
/// it is dropped as lagging (1013) long before its write timeout, and the room carries on.
#[tokio::test]
async fn a_reader_that_stops_reading_holds_a_bounded_queue() {
    let relay = Relay::start(Config {
        send_queue: 1_000_000,
        send_queue_bytes: 256 * 1024,
        write_timeout: Duration::from_secs(3600),
        rate_per_sec: 10_000,
        rate_burst: 10_000,
        ..config()
    })
    .await;
    let (room, mut sender, _) = relay.create_room(82).await;
    let (mut stuck, _) = relay.join_room(room).await;
    let payload = vec![0x5a; 60 * 1024];
    let mut sent = 0;
    while relay.metric("vroom_lagging_disconnects_total").await == 0 {
        assert!(sent < 5_000, "the stuck reader was never dropped");
        sender.send_echoed(&payload, 20).await;
        sent += 20;
    }
    // What fitted, then "try again later".
    loop {
        match stuck.recv().await {
            Got::Message { .. } => {}
            Got::SocketClosed(code) => {
                assert_eq!(code, 1013);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    sender.say("after").await;
    assert!(
        matches!(sender.recv_message().await, Got::Message { payload, .. } if payload == b"after")
    );
    relay.stop().await;
}
