//! Memory comes back after load: the relay process's resident memory after an attack's
//! rooms have ended returns near where it was before (BENCHMARKS.md has the figures;
//! `VROOM_MEMORY_ROOMS` scales the attack, 48 rooms of 1 MiB by default).

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use vroom_shared::wire::{ClientFrame, CloseReason, RoomSettings};
use vroom_testkit::process::RelayProcess;
use vroom_testkit::relay::get;
use vroom_testkit::ws::{room_id, secret, Client};
use vroom_testkit::PATIENCE;

/// One room of the attack: created, its buffer filled with `chunks` of 64 KiB.
async fn fill_room(relay: std::net::SocketAddr, n: usize, chunks: usize) -> Client {
    let mut c = Client::connect_from(relay, IpAddr::from([127, 0, 0, 2]), &[])
        .await
        .expect("connect to the relay process");
    let room = room_id(n as u8);
    c.create(room, &secret(n as u8), RoomSettings::default())
        .await;
    c.send_echoed(&vec![0xa5; 64 * 1024 - 64], chunks).await;
    c
}

async fn rooms(relay: std::net::SocketAddr) -> u64 {
    let body = get(relay, "/metrics", "").await.expect("GET /metrics").body;
    let body = String::from_utf8(body).expect("metrics are text");
    body.lines()
        .find_map(|l| l.strip_prefix("vroom_rooms "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a vroom_rooms gauge")
}

#[tokio::test]
async fn memory_returns_after_an_attacks_rooms_end() {
    let count: usize = std::env::var("VROOM_MEMORY_ROOMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let bin = Path::new(env!("CARGO_BIN_EXE_vroom-relay"));
    // Limits that let one address do all of it: this measures memory, not limits.
    let many = (count * 4).to_string();
    let relay = RelayProcess::start(
        bin,
        &[
            "--max-connections-per-address",
            &many,
            "--max-rooms-per-address",
            &many,
            "--creates-per-minute",
            &many,
            "--rate-per-sec",
            "100000",
            "--rate-burst",
            "100000",
            "--buffer-bytes",
            "1048576",
            "--max-buffered-bytes",
            "4294967296",
        ],
        &[("RUST_LOG", "warn,vroom_relay=info")],
    );
    let addr = relay.addr();
    // Warm up: one room, filled and ended, so the baseline includes what a first
    // room allocates for good (runtime, buffers).
    let mut warm = fill_room(addr, 0, 4).await;
    warm.send(ClientFrame::Terminate { secret: secret(0) })
        .await;
    warm.expect_closed(CloseReason::Terminated).await;
    let baseline = relay.rss_kib();

    let mut clients = Vec::new();
    for batch in (1..=count).collect::<Vec<_>>().chunks(16) {
        let tasks: Vec<_> = batch
            .iter()
            .map(|&n| tokio::spawn(fill_room(addr, n, 16)))
            .collect();
        for t in tasks {
            clients.push(t.await.expect("a filling client"));
        }
    }
    let peak = relay.rss_kib();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send(ClientFrame::Terminate {
            secret: secret((i + 1) as u8),
        })
        .await;
        c.expect_closed(CloseReason::Terminated).await;
    }
    drop(clients);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while rooms(addr).await != 0 {
        assert!(tokio::time::Instant::now() < deadline, "rooms did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Memory goes back within seconds: jemalloc's background thread purges freed pages
    // over its 10 s decay.
    let grown = peak.saturating_sub(baseline);
    let near = baseline + grown / 4;
    let ended = tokio::time::Instant::now();
    let mut after = relay.rss_kib();
    while after > near && ended.elapsed() < Duration::from_secs(45) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = relay.rss_kib();
    }
    eprintln!(
        "memory: {count} rooms of 1 MiB: baseline {baseline} KiB, peak {peak} KiB, \
         after {after} KiB ({:.1} s after the rooms ended)",
        ended.elapsed().as_secs_f64()
    );
    // For BENCHMARKS.md: where it settles (`VROOM_MEMORY_SETTLE` seconds after the end).
    if let Some(settle) = std::env::var("VROOM_MEMORY_SETTLE")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        tokio::time::sleep_until(ended + Duration::from_secs(settle)).await;
        eprintln!(
            "memory: {} KiB {settle} s after the rooms ended",
            relay.rss_kib()
        );
    }
    relay.stop();
    assert!(
        peak > baseline + (count as u64 * 1024) / 2,
        "the attack did not grow the relay ({baseline} → {peak} KiB): it measured nothing"
    );
    assert!(
        after <= near,
        "memory did not come back: baseline {baseline} KiB, peak {peak} KiB, after {after} KiB"
    );
}
