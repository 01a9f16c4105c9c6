//! Files between native clients (`/send`, `/accept`, `/decline`, `--download-dir`)
//! through real relays: a file is taken only when the receiver accepts it, the bytes
//! arrive intact (SHA-256), an existing file is never overwritten, a file above
//! the room's limit is refused before a byte is sent, either side can cancel, a sender
//! is not held up by a receiver that leaves, a member who joins mid-transfer is not
//! offered the file, and with two relays sharing a Redis a file reaches a member on the
//! other relay, and a transfer cut by a dropped connection resumes from the last
//! confirmed chunk. The file is several times the relay's per-connection chunk lane, so it
//! can only arrive if the lane streams with flow control.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vroom_shared::wire::ServerFrame;
use vroom_testkit::cli::Client;
use vroom_testkit::proxy::{Dir as ProxyDir, Proxy};
use vroom_testkit::redis::RedisServer;
use vroom_testkit::relay::{test_config, Relay};

/// A fresh temporary directory, removed on drop, and its path as a flag value.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new(tag: &str) -> Dir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("vroom-files-{tag}-"))
            .tempdir()
            .expect("create a temporary directory");
        Dir(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn arg(&self) -> String {
        self.path().display().to_string()
    }
}

/// `len` pseudo-random bytes (not compressible, not repetitive).
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = Sha256::digest(seed.to_be_bytes());
    while out.len() < len {
        out.extend_from_slice(&block);
        block = Sha256::digest(block);
    }
    out.truncate(len);
    out
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Waits until bob has received `name_size` (`"notes.pdf (2.0 MB)"`) from ada and ada
/// has seen it through; checks bob's copy is `data`, byte for byte. Returns its path.
async fn delivered(ada: &mut Client, bob: &mut Client, name_size: &str, data: &[u8]) -> PathBuf {
    let prefix = format!("-- received {name_size} from ada: ");
    let received = bob
        .expect_line("the file received", |l| l.starts_with(&prefix))
        .await;
    let name = name_size.rsplit_once(" (").map_or(name_size, |(n, _)| n);
    ada.expect(&format!("-- sent {name} to 1 member(s)")).await;
    let path = PathBuf::from(received.rsplit_once(": ").unwrap().1);
    assert_eq!(sha(&std::fs::read(&path).unwrap()), sha(data));
    path
}

/// Ada (sending from `outbox`) and Bob (receiving into `inbox`, asked about each file
/// unless `accept_all`) in a room on `origin`.
async fn pair(origin: &str, inbox: &Dir, accept_all: bool) -> (Client, Client) {
    let (mut ada, link) = Client::create(origin, "ada", &[]).await;
    let dir = inbox.arg();
    let mut args = vec!["join", &link, "--nick", "bob", "--download-dir", &dir];
    if accept_all {
        args.push("--accept-files");
    }
    let mut bob = Client::spawn("bob", &args);
    ada.expect_joined("bob").await;
    bob.expect_joined("ada").await;
    (ada, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_arrives_intact_without_overwriting_and_oversize_is_refused_first() {
    let mut config = test_config();
    // A small chunk lane, so the file (3 MB) is many times what the relay may hold
    // for one receiver.
    config.stream_queue_bytes = 256 << 10;
    config.max_file = 10_000_000;
    let relay = Relay::start(config).await;
    let outbox = Dir::new("out");
    let inbox = Dir::new("in");
    let (mut ada, mut bob) = pair(&relay.origin(), &inbox, false).await;

    let data = content(3_000_000, 1);
    let sent = outbox.path().join("holiday photo.jpg");
    std::fs::write(&sent, &data).unwrap();
    // Bob already has a file of that name: it must survive untouched.
    let mine = inbox.path().join("holiday photo.jpg");
    std::fs::write(&mine, b"bob's own").unwrap();

    // Above the limit: refused with the limit named, before anything is offered.
    let big = outbox.path().join("big.bin");
    std::fs::write(&big, content(10_000_001, 2)).unwrap();
    ada.say(&format!("/send {}", big.display())).await;

    ada.say(&format!("/send {}", sent.display())).await;
    ada.expect_line("the offer", |l| {
        l == "-- offering holiday photo.jpg (3.0 MB) to 1 member(s)"
    })
    .await;
    // Nothing is written until Bob accepts.
    bob.expect_line("the offer", |l| {
        l.starts_with("-- ada offers holiday photo.jpg (3.0 MB) [file 1]: /accept 1 to save it in ")
    })
    .await;
    let before: Vec<_> = std::fs::read_dir(inbox.path()).unwrap().collect();
    assert_eq!(before.len(), 1, "only bob's own file before he accepts");
    bob.say("/accept").await;
    let path = delivered(&mut ada, &mut bob, "holiday photo.jpg (3.0 MB)", &data).await;
    assert_eq!(path, inbox.path().join("holiday photo (1).jpg"));
    assert_eq!(std::fs::read(&mine).unwrap(), b"bob's own");
    // The part file it was written to took its final name: nothing else is left.
    let mut names: Vec<String> = std::fs::read_dir(inbox.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["holiday photo (1).jpg", "holiday photo.jpg"]);

    // Bob declines the next file: Ada is told at once, nothing is written.
    let unwanted = outbox.path().join("unwanted.zip");
    std::fs::write(&unwanted, content(1000, 5)).unwrap();
    ada.say(&format!("/send {}", unwanted.display())).await;
    bob.expect_line("the second offer", |l| {
        l.starts_with("-- ada offers unwanted.zip (1.0 kB)")
    })
    .await;
    bob.say("/decline").await;
    bob.expect("-- declined unwanted.zip from ada").await;
    ada.expect("-- bob declined or cancelled unwanted.zip")
        .await;
    ada.expect("-- could not send unwanted.zip: Nobody is receiving the file any more.")
        .await;
    assert_eq!(std::fs::read_dir(inbox.path()).unwrap().count(), 2);

    // Chat still flows both ways after the transfer.
    bob.say("got it").await;
    ada.expect("bob: got it").await;

    let stderr = ada.stderr();
    assert!(
        stderr.contains(
            "big.bin is 10.0 MB, larger than this room's file limit of 10.0 MB; nothing was sent."
        ),
        "the oversize refusal must name the limit, got {stderr:?}"
    );
    let lines = bob.all_lines().await;
    assert!(
        !lines.iter().any(|l| l.contains("big.bin")),
        "the oversize file must never be offered: {lines:?}"
    );
    ada.say("/end").await;
    ada.expect_exit_ok().await;
    bob.expect_exit_ok().await;
    relay.stop().await;
}

/// What a sender says when its last receiver has gone.
const NOBODY: &str = "-- could not send clip.mp4: Nobody is receiving the file any more.";

/// Ada sends `file` (clip.mp4, 20 MB); Bob starts receiving it.
async fn start_clip(ada: &mut Client, bob: &mut Client, file: &Path) {
    ada.say(&format!("/send {}", file.display())).await;
    bob.expect_line("the transfer starting", |l| {
        l.starts_with("-- receiving clip.mp4 (20.0 MB) from ada into ")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_side_cancels_and_a_departure_does_not_hang_the_sender() {
    let mut config = test_config();
    // A slow lane so the transfers are still running when they are cancelled.
    config.stream_rate = 512 << 10;
    let relay = Relay::start(config).await;
    let outbox = Dir::new("out");
    let inbox = Dir::new("in");
    let (mut ada, mut bob) = pair(&relay.origin(), &inbox, true).await;
    let file = outbox.path().join("clip.mp4");
    std::fs::write(&file, content(20_000_000, 3)).unwrap();

    // The sender cancels.
    start_clip(&mut ada, &mut bob, &file).await;
    ada.say("/cancel").await;
    ada.expect("-- cancelled sending clip.mp4").await;
    bob.expect(
        "-- could not receive clip.mp4 from ada: The sender cancelled the transfer (the partial file was deleted)",
    )
    .await;

    // The receiver cancels.
    start_clip(&mut ada, &mut bob, &file).await;
    bob.say("/cancel").await;
    bob.expect_line("the cancel", |l| {
        l.starts_with("-- could not receive clip.mp4 from ada: you cancelled it")
    })
    .await;
    ada.expect("-- bob declined or cancelled clip.mp4").await;
    ada.expect(NOBODY).await;

    // The receiver leaves mid-transfer: the sender stops at once.
    start_clip(&mut ada, &mut bob, &file).await;
    bob.say("/leave").await;
    bob.expect_exit_ok().await;
    ada.expect("-- bob left before receiving clip.mp4").await;
    ada.expect(NOBODY).await;
    let left: Vec<_> = std::fs::read_dir(inbox.path()).unwrap().collect();
    assert!(left.is_empty(), "partial files must be deleted: {left:?}");
    ada.say("/end").await;
    ada.expect_exit_ok().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_relays_a_file_arrives_and_a_latecomer_is_not_offered_it() {
    let redis = RedisServer::start();
    let config = || {
        let mut c = test_config();
        c.redis_url = Some(vroom_relay::config::RedisUrl(redis.url()));
        c.stream_rate = 4 << 20;
        c
    };
    let one = Relay::start(config()).await;
    let two = Relay::start(config()).await;
    let outbox = Dir::new("out");
    let inbox = Dir::new("in");
    let late_inbox = Dir::new("late");
    let (mut ada, link) = Client::create(&one.origin(), "ada", &[]).await;
    let link_two = link.replacen(&one.origin(), &two.origin(), 1);
    let mut bob = Client::spawn(
        "bob",
        &[
            "join",
            &link_two,
            "--nick",
            "bob",
            "--download-dir",
            &inbox.arg(),
            "--accept-files",
        ],
    );
    ada.expect_joined("bob").await;
    bob.expect_joined("ada").await;

    let data = content(2_000_000, 4);
    let file = outbox.path().join("notes.pdf");
    std::fs::write(&file, &data).unwrap();
    ada.say(&format!("/send {}", file.display())).await;
    bob.expect_line("the transfer starting", |l| {
        l.starts_with("-- receiving notes.pdf")
    })
    .await;
    // Carol joins (on the second relay) while the file streams.
    let mut carol = Client::spawn(
        "carol",
        &[
            "join",
            &link_two,
            "--nick",
            "carol",
            "--download-dir",
            &late_inbox.arg(),
            "--accept-files",
        ],
    );
    carol.expect_joined("ada").await;
    delivered(&mut ada, &mut bob, "notes.pdf (2.0 MB)", &data).await;
    // Carol saw nothing of it, and chat reaches her.
    ada.say("welcome carol").await;
    carol.expect("ada: welcome carol").await;
    let lines = carol.all_lines().await;
    assert!(
        !lines.iter().any(|l| l.contains("notes.pdf")),
        "a latecomer must not be offered the file: {lines:?}"
    );
    assert!(std::fs::read_dir(late_inbox.path())
        .unwrap()
        .next()
        .is_none());
    ada.say("/end").await;
    ada.expect_exit_ok().await;
    bob.expect_exit_ok().await;
    carol.expect_exit_ok().await;
    one.stop().await;
    two.stop().await;
}

/// Bob's network drops in the middle of a file: his client reconnects, asks again from
/// the last chunk he confirmed, and the file arrives intact without being sent again
/// from the start (the chunks the relay carried to him add up to little more than the
/// file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_interrupted_by_a_reconnect_resumes_where_it_stopped() {
    let mut config = test_config();
    // Slow enough that the drop comes mid-transfer, with a grace longer than the
    // outage so that bob gets his place back.
    config.stream_rate = 2 << 20;
    config.grace = std::time::Duration::from_secs(60);
    let relay = Relay::start(config).await;
    let proxy = Proxy::start(relay.addr()).await;
    let outbox = Dir::new("out");
    let inbox = Dir::new("in");
    let (mut ada, mut bob) = pair(&proxy.origin(), &inbox, true).await;
    let data = content(16_000_000, 6);
    let file = outbox.path().join("clip.bin");
    std::fs::write(&file, &data).unwrap();
    ada.say(&format!("/send {}", file.display())).await;
    // Progress lines (one every 2 s) until 6 MB are in, so what a restart would send
    // again is well above what a resume may.
    bob.expect_line("6 MB received", |l| {
        l.strip_prefix("-- receiving clip.bin: ")
            .and_then(|rest| rest.split_once(" MB of "))
            .and_then(|(done, _)| done.parse::<f64>().ok())
            .is_some_and(|done| done >= 6.0)
    })
    .await;
    let bob_id = proxy.conns()[1].me.expect("bob was welcomed");
    let conn = proxy.conn_of(bob_id).expect("bob's connection is open");
    proxy.cut(conn);
    bob.expect("-- connection lost; reconnecting").await;
    bob.expect("-- Reconnected").await;
    delivered(&mut ada, &mut bob, "clip.bin (16.0 MB)", &data).await;
    // Chunk bytes the relay carried to bob before and after the drop. A resume sends
    // again what was in flight: the window (16 chunks of at most 64 KiB), at most a few
    // times over (the sender also rewinds after silence, and again on bob's request);
    // starting over would send everything again.
    let conns = proxy.conns();
    let bytes_on = |conn: usize| -> usize {
        proxy
            .recorded()
            .iter()
            .filter(|f| f.conn == conn && f.dir == ProxyDir::ToClient)
            .filter_map(|f| match ServerFrame::decode(&f.bytes) {
                Ok(ServerFrame::Stream { payload, .. }) => Some(payload.len()),
                _ => None,
            })
            .sum()
    };
    let after_conn = (conn + 1..conns.len())
        .find(|&c| conns[c].me == Some(bob_id))
        .expect("bob's second connection");
    let (before, after) = (bytes_on(conn), bytes_on(after_conn));
    let slack = 3 * 16 * 65_536;
    assert!(
        before > slack + slack / 2,
        "the drop came too early to tell: {before} bytes"
    );
    assert!(
        after < data.len() - before + slack,
        "the transfer started over: {before} bytes before the drop, {after} after, \
         for a {}-byte file",
        data.len()
    );
    ada.say("/end").await;
    ada.expect_exit_ok().await;
    bob.expect_exit_ok().await;
    relay.stop().await;
}
