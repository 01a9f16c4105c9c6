//! Trouble on a Redis Cluster under a live room served by two relays: the master that
//! owns the room's slot is killed (its replica takes over), or the slot is moved to
//! another master. Members carry on, in one order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use vroom_relay::config::RedisUrl;
use vroom_relay::Config;
use vroom_shared::wire::{ErrorCode, RoomId, RoomSettings};
use vroom_testkit::redis_cluster::RedisCluster;
use vroom_testkit::relay::Relay;
use vroom_testkit::ws::{room_id, secret, Client, Got};

/// A relay on `cluster`, with a grace long enough that nobody's place runs out while
/// the room's slot has no master.
fn config(cluster: &RedisCluster) -> Config {
    Config {
        redis_cluster: Some(RedisUrl(cluster.urls())),
        redis_heartbeat: Duration::from_millis(100),
        grace: Duration::from_secs(30),
        web_dir: None,
        ..Config::default()
    }
}

/// A live room served by two relays on a cluster: its host on one, a guest on the other.
struct Served {
    one: Relay,
    two: Relay,
    room: RoomId,
    host: Client,
    guest: Client,
    /// The last event before the guest's arrival.
    guest_from: u64,
}

impl Served {
    async fn start(cluster: &RedisCluster, n: u8) -> Served {
        let one = Relay::start(config(cluster)).await;
        let two = Relay::start(config(cluster)).await;
        let room = room_id(n);
        let mut host = one.connect().await;
        host.create(room, &secret(n), RoomSettings::default()).await;
        let mut guest = two.connect().await;
        let guest_from = guest.join(room).await.seq;
        Served {
            one,
            two,
            room,
            host,
            guest,
            guest_from,
        }
    }
}

fn meta_key(room: RoomId) -> String {
    format!("vroom:{{{}}}:meta", room.to_hex())
}

/// What one member received: each message's text by its sequence number, in the order
/// received, and the other events' numbers.
#[derive(Default, Debug)]
struct Received {
    order: Vec<u64>,
    texts: BTreeMap<u64, String>,
}

impl Received {
    fn take(&mut self, got: Got) {
        match got {
            Got::Message { seq, payload, .. } => {
                self.order.push(seq);
                self.texts
                    .insert(seq, String::from_utf8_lossy(&payload).into_owned());
            }
            other if other.is_event() => self.order.push(other.seq().unwrap()),
            // A gap the relay reports, or a transient refusal: not an event.
            Got::Gap(..) | Got::Error(ErrorCode::Unavailable) | Got::CaughtUp(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Records `got`; the number of the message `text` if it is that message.
    fn record(&mut self, got: Got, text: &str) -> Option<u64> {
        let mine = matches!(&got, Got::Message { payload, .. } if payload == text.as_bytes());
        let seq = got.seq();
        self.take(got);
        seq.filter(|_| mine)
    }

    /// Receives until the message `text` arrives; returns its number.
    async fn until(&mut self, client: &mut Client, text: &str) -> u64 {
        loop {
            if let Some(seq) = self.record(client.recv().await, text) {
                return seq;
            }
        }
    }

    /// One order, and no number ever carried two different messages.
    fn assert_one_order_with(&self, other: &Received) {
        assert!(
            self.order.windows(2).all(|w| w[0] < w[1]),
            "events out of order: {:?}",
            self.order
        );
        for (seq, text) in &self.texts {
            if let Some(theirs) = other.texts.get(seq) {
                assert_eq!(text, theirs, "event {seq} carried two different messages");
            }
        }
    }
}

/// Sends `text` until the relay accepts it (it answers `Unavailable` while the room's
/// slot has no reachable master); returns its number and how long that took.
async fn send_until_accepted(client: &mut Client, seen: &mut Received, text: &str) -> u64 {
    for _ in 0..600 {
        client.say(text).await;
        loop {
            let got = client.recv().await;
            if got == Got::Error(ErrorCode::Unavailable) {
                break;
            }
            if let Some(seq) = seen.record(got, text) {
                return seq;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the relay never accepted {text:?} after the cluster changed");
}

#[tokio::test]
async fn a_killed_master_is_replaced_and_the_room_carries_on() {
    let mut cluster = RedisCluster::start();
    let Served {
        one,
        two,
        room,
        mut host,
        mut guest,
        guest_from,
    } = Served::start(&cluster, 21).await;
    let (mut host_seen, mut guest_seen) = (Received::default(), Received::default());

    // Acknowledged before the kill: the host got each of its messages back.
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let text = format!("before {i}");
        host.say(&text).await;
        acknowledged.push(host_seen.until(&mut host, &text).await);
    }
    let killed = cluster.kill_master_of(&meta_key(room));
    let killed_at = Instant::now();

    let after = send_until_accepted(&mut host, &mut host_seen, "after").await;
    let recovered = killed_at.elapsed();
    println!("failover: the room accepted a message again {recovered:?} after its master (port {killed}) was killed");
    assert_ne!(cluster.owner_of(&meta_key(room)), killed);
    // The guest, on the other relay, gets it too: that relay subscribed again on the
    // promoted replica by itself.
    assert_eq!(guest_seen.until(&mut guest, "after").await, after);
    // Whatever the guest did not get of what was acknowledged lies before `after`:
    // it is a hole the guest sees (and fetches), never a message out of order.
    for seq in &acknowledged {
        assert!(*seq < after);
    }
    host_seen.assert_one_order_with(&guest_seen);
    guest_seen.assert_one_order_with(&host_seen);
    assert!(guest_seen.order.iter().all(|s| *s > guest_from));

    // Both relays keep serving the room: a message from the guest reaches the host.
    let back = send_until_accepted(&mut guest, &mut guest_seen, "from the guest").await;
    assert_eq!(host_seen.until(&mut host, "from the guest").await, back);
    host_seen.assert_one_order_with(&guest_seen);
    cluster.wait_until_settled();
    cluster.assert_every_key_expires();
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_keeps_working_while_its_slot_moves_to_another_master() {
    let cluster = RedisCluster::start();
    let mut served = Served::start(&cluster, 22).await;
    let room = served.room;
    let (host, guest) = (&mut served.host, &mut served.guest);
    let (mut host_seen, mut guest_seen) = (Received::default(), Received::default());
    let channel = format!("vroom:{{{}}}:ch", room.to_hex());
    assert_eq!(cluster.shard_subscribers(&channel), 2);

    let before = cluster.owner_of(&meta_key(room));
    // The harness moves the slot on a thread of its own, lingering at each
    // stage (keys still on the old master, keys already on the new one: requests are
    // redirected with ASK), while the host keeps talking.
    let key = meta_key(room);
    // Each message the host gets through (its echo came back) is told to the mover. At
    // each stage the mover forgets what got through before, then stays until two more
    // have: the second was sent and answered while the slot was in that stage, however
    // loaded the machine. A room that stalls fails the test (bounded: a minute for each).
    let (through_tx, through_rx) = std::sync::mpsc::channel::<()>();
    let mover = tokio::task::spawn_blocking(move || {
        let mut stages = Vec::new();
        let moved = cluster.move_slot_of(&key, |stage| {
            while through_rx.try_recv().is_ok() {}
            let through = (0..2)
                .take_while(|_| through_rx.recv_timeout(Duration::from_secs(60)).is_ok())
                .count();
            stages.push((stage.to_owned(), through));
        });
        (cluster, moved, stages)
    });
    let mut said = Vec::new();
    // The longest a message took, from its sending to its echo.
    let mut longest = Duration::ZERO;
    while !mover.is_finished() && said.len() < 10_000 {
        let text = format!("while moving {}", said.len());
        let sent = Instant::now();
        said.push((send_until_accepted(host, &mut host_seen, &text).await, text));
        longest = longest.max(sent.elapsed());
        let _ = through_tx.send(());
    }
    let (cluster, moved, stages) = mover.await.unwrap();
    println!(
        "resharding: {} messages sent while the slot moved (the slowest took {longest:?}); \
         got through at each stage: {stages:?}",
        said.len()
    );
    let stages: Vec<(&str, usize)> = stages.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    assert_eq!(
        stages,
        [("migrating", 2), ("migrated", 2)],
        "the room stalled while its slot moved (messages that got through at each stage)"
    );
    assert!(
        said.len() >= 4,
        "the room stalled during the move: {} messages got through",
        said.len()
    );
    assert_ne!(moved, before);
    assert_eq!(cluster.owner_of(&meta_key(room)), moved);
    // The guest got every one of them, in the order the host did.
    for (seq, text) in &said {
        assert_eq!(guest_seen.until(guest, text).await, *seq);
    }

    let seq = send_until_accepted(guest, &mut guest_seen, "after the move").await;
    assert_eq!(host_seen.until(host, "after the move").await, seq);
    // Both relays follow the room's channel on its new master, once each.
    let mut followers = 0;
    for _ in 0..600 {
        followers = cluster.shard_subscribers(&channel);
        if followers == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(followers, 2, "connections following the room's channel");
    let seq = send_until_accepted(host, &mut host_seen, "on the new master").await;
    assert_eq!(guest_seen.until(guest, "on the new master").await, seq);
    host_seen.assert_one_order_with(&guest_seen);
    guest_seen.assert_one_order_with(&host_seen);
    cluster.assert_every_key_expires();
    served.one.stop().await;
    served.two.stop().await;
}

/// How long the harness holds the room's keys split between two masters: longer than
/// the cluster client's own tries on `TRYAGAIN` (three, under 0.2 s in all), well
/// within the relay's (`TRY_AGAIN_FOR`, 4 s, in `store/redis/scripts.rs`).
const SLOW_BATCH: Duration = Duration::from_millis(1_500);

/// While one `MIGRATE` batch of the room's keys has moved and the next has not, Redis
/// answers the room's scripts `TRYAGAIN`. A message sent then waits, and gets through
/// once the next batch has moved, without its sender being told the relay is
/// unavailable; the other member gets it too, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_while_the_rooms_keys_are_split_between_masters_gets_through() {
    let cluster = RedisCluster::start();
    let mut served = Served::start(&cluster, 24).await;
    let (host, guest) = (&mut served.host, &mut served.guest);
    let (mut host_seen, mut guest_seen) = (Received::default(), Received::default());
    let key = meta_key(served.room);
    // Three keys a batch: the room's five keys are split once. The mover tells the host,
    // then holds the split for a slow batch.
    let (split_tx, mut split_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mover = tokio::task::spawn_blocking(move || {
        let moved = cluster.move_slot_of_by(&key, 3, |stage| {
            if stage == "split" {
                let _ = split_tx.send(());
                std::thread::sleep(SLOW_BATCH);
            }
        });
        (cluster, moved)
    });
    let mut said = Vec::new();
    while split_rx.recv().await.is_some() {
        let text = format!("while split {}", said.len());
        let sent = Instant::now();
        host.say(&text).await;
        let seq = loop {
            let got = host.recv().await;
            assert_ne!(
                got,
                Got::Error(ErrorCode::Unavailable),
                "the relay gave up on {text:?} while the room's keys were split"
            );
            if let Some(seq) = host_seen.record(got, &text) {
                break seq;
            }
        };
        println!(
            "split keys: {text:?} got through after {:?}",
            sent.elapsed()
        );
        said.push((seq, text));
    }
    let (cluster, moved) = mover.await.unwrap();
    assert_eq!(
        said.len(),
        1,
        "the room's five keys, three a batch, split once"
    );
    assert_eq!(cluster.owner_of(&meta_key(served.room)), moved);
    for (seq, text) in &said {
        assert_eq!(guest_seen.until(guest, text).await, *seq);
    }
    host_seen.assert_one_order_with(&guest_seen);
    guest_seen.assert_one_order_with(&host_seen);
    cluster.assert_every_key_expires();
    served.one.stop().await;
    served.two.stop().await;
}

/// `rediss://` on a cluster: relays reach every node over TLS (the nodes' certificate
/// signed by a CA the test made), and a room works across them.
#[tokio::test]
async fn relays_speak_tls_to_a_cluster() {
    let cluster = RedisCluster::start_tls();
    let tls = Config {
        redis_cluster: Some(RedisUrl(cluster.tls_urls())),
        redis_ca_file: Some(cluster.ca_file()),
        ..config(&cluster)
    };
    let one = Relay::start(tls.clone()).await;
    let two = Relay::start(tls).await;
    let room = room_id(23);
    let mut host = one.connect().await;
    host.create(room, &secret(23), RoomSettings::default())
        .await;
    let mut guest = two.connect().await;
    guest.join(room).await;
    let mut seen = Received::default();
    host.say("over tls").await;
    seen.until(&mut guest, "over tls").await;
    // The room's keys are in the cluster, on the master of their slot.
    let tag = format!("{{{}}}", room.to_hex());
    assert!(cluster
        .keys_with_ttl()
        .iter()
        .any(|(k, _)| k.contains(&tag)));
    cluster.assert_every_key_expires();
    one.stop().await;
    two.stop().await;
}
