//! A smoke run of the load generator, so it cannot rot: a real relay served in this test
//! process on `127.0.0.1:0`, the real `vroom-bench` binary with two worker processes,
//! a few small rooms for about a second. It checks that every connection joined and that
//! messages were really delivered and measured; it asserts nothing about speed.

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;
use tokio::net::TcpListener;
use vroom_relay::Config;

/// Serves a relay with the per-connection rate limit lifted (the load generator floods
/// on purpose) and returns its address; it stops when the test's runtime ends.
async fn relay() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config {
        listen: addr,
        rate_per_sec: 1_000_000,
        rate_burst: 1_000_000,
        ..Config::default()
    };
    let (state, done) = vroom_relay::memory_state(config);
    tokio::spawn(vroom_relay::serve(
        listener,
        state,
        done,
        std::future::pending(),
    ));
    addr
}

/// Runs `vroom-bench <args> --connect addr --server-pid <this process>` and returns the
/// JSON result it recorded.
fn bench(addr: SocketAddr, args: &[&str]) -> Value {
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_vroom-bench"))
        .args(args)
        .args(["--connect", &addr.to_string()])
        .args(["--server-pid", &std::process::id().to_string()])
        .args(["--workers", "2", "--out"])
        .arg(out.path())
        .status()
        .expect("the vroom-bench binary runs");
    assert!(status.success(), "vroom-bench {args:?} failed");
    let text = std::fs::read_to_string(out.path()).unwrap();
    let line = text.lines().next().expect("vroom-bench recorded a result");
    let record: Value = serde_json::from_str(line).unwrap();
    record["result"]["outcome"].clone()
}

fn number(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturated_fanout_delivers_to_every_member() {
    let addr = relay().await;
    let o = tokio::task::spawn_blocking(move || {
        bench(
            addr,
            &[
                "fanout",
                "--room-sizes",
                "3",
                "--conns",
                "12",
                "--duration",
                "1",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(number(&o, "joined"), 12, "every connection joins: {o}");
    assert_eq!(number(&o, "failed"), 0, "{o}");
    assert_eq!(number(&o, "errors"), 0, "{o}");
    let sent = number(&o, "sent");
    let delivered = number(&o, "delivered");
    assert!(sent > 0, "messages were sent: {o}");
    // Each message reaches the 3 members of its room, the sender included; a few
    // sent just before the window closed may still be on their way when it ends.
    assert!(delivered <= sent * 3, "{o}");
    assert!(
        delivered >= sent * 3 / 2,
        "most messages were delivered: {o}"
    );
    assert_eq!(
        number(&o, "samples"),
        delivered,
        "every delivery was timed: {o}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_rate_schedule_is_kept_and_timed() {
    let addr = relay().await;
    // 4 rooms of 3 at 120 deliveries/s: each of the 12 connections sends every 300 ms.
    let o = tokio::task::spawn_blocking(move || {
        bench(
            addr,
            &[
                "latency",
                "--rate",
                "120",
                "--room-size",
                "3",
                "--rooms",
                "4",
                "--duration",
                "1",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(number(&o, "joined"), 12, "{o}");
    assert_eq!(number(&o, "errors"), 0, "{o}");
    let sent = number(&o, "sent");
    // 12 connections × 1 s / 300 ms: 3 or 4 sends each, by their phase.
    assert!((36..=48).contains(&sent), "the schedule was kept: {o}");
    assert_eq!(
        number(&o, "delivered"),
        sent * 3,
        "every send reached its room: {o}"
    );
    assert!(o["p99_us"].as_f64().unwrap() > 0.0, "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_loses_nothing_and_samples_memory_during_the_run() {
    let addr = relay().await;
    // 3 rooms of 4 at 80 deliveries/s for 6 s: memory is sampled every 5 s. The growth
    // limit is lifted: a run this short in the test's own process says nothing about it.
    let o = tokio::task::spawn_blocking(move || {
        bench(
            addr,
            &[
                "soak",
                "--rate",
                "80",
                "--room-size",
                "4",
                "--rooms",
                "3",
                "--duration",
                "6",
                "--max-growth-pct",
                "10000",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(number(&o, "joined"), 12, "{o}");
    assert_eq!(number(&o, "errors"), 0, "{o}");
    let sent = number(&o, "sent");
    assert!(sent > 0, "{o}");
    assert_eq!(number(&o, "delivered"), sent * 4, "nothing was lost: {o}");
    let samples = o["rss_during"].as_array().expect("memory samples");
    assert!(
        !samples.is_empty(),
        "memory was sampled during the run: {o}"
    );
    assert!(samples.iter().all(|s| s.as_u64().unwrap_or(0) > 0), "{o}");
}
