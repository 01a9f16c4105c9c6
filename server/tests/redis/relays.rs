//! Real relays (in this process, and one as a child process) on one real Redis (or a
//! real Redis Cluster), with real WebSocket clients.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vroom_relay::Config;
use vroom_shared::wire::{ClientFrame, CloseReason, ErrorCode, LeaveReason, RoomSettings};

use vroom_testkit::relay::Relay;

use crate::backend::{on_both, Backend};
use vroom_testkit::ws::{room_id, secret, Client, Got};

/// A relay on `redis` with short timers, so expiry tests wait a second or two.
pub(crate) fn config(redis: &Backend) -> Config {
    redis.configure(Config {
        redis_heartbeat: Duration::from_millis(100),
        grace: Duration::from_millis(500),
        web_dir: None,
        ..Config::default()
    })
}

on_both!(
    members_on_three_instances_share_one_order_one_list_and_one_end,
    every_lifecycle_path_deletes_every_key_across_instances,
    the_members_of_a_killed_instance_expire,
);

/// Polls `done` until it holds (a hang guard of 15 s, not a timing check).
pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

/// The status code of `GET /healthz`, if the relay answers at all.
pub(crate) async fn healthz(addr: SocketAddr) -> Option<u16> {
    vroom_testkit::relay::get(addr, "/healthz", "")
        .await
        .ok()
        .map(|response| response.status)
}

/// Messages (and other events) until `n` messages arrived; returns every event's seq.
async fn seqs_until_messages(client: &mut Client, n: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut messages = 0;
    while messages < n {
        let got = client.recv().await;
        let seq = got
            .seq()
            .unwrap_or_else(|| panic!("expected an event, got {got:?}"));
        seqs.push(seq);
        if matches!(got, Got::Message { .. }) {
            messages += 1;
        }
    }
    seqs
}

async fn members_on_three_instances_share_one_order_one_list_and_one_end(redis: Backend) {
    let relays = [
        Relay::start(config(&redis)).await,
        Relay::start(config(&redis)).await,
        Relay::start(config(&redis)).await,
    ];
    let room = room_id(1);
    let host = secret(1);
    let mut a = relays[0].connect().await;
    let wa = a.create(room, &host, RoomSettings::default()).await;
    let mut b = relays[1].connect().await;
    let wb = b.join(room).await;
    let mut c = relays[2].connect().await;
    let wc = c.join(room).await;
    assert_eq!(wc.members, vec![wa.you, wb.you, wc.you]);
    assert_eq!(wc.host, wa.you);
    // Each instance follows the room once.
    assert_eq!(redis.subscribers(room), 3);
    redis.assert_every_key_expires();

    a.say("from a").await;
    b.say("from b").await;
    c.say("from c").await;
    let from_c_on = seqs_until_messages(&mut c, 3).await;
    let from_b_on = seqs_until_messages(&mut b, 3).await;
    let from_a_on = seqs_until_messages(&mut a, 3).await;
    // Everyone sees the same events in the same order from where they joined.
    let tail = |v: &[u64], from: u64| v.iter().copied().filter(|s| *s > from).collect::<Vec<_>>();
    assert_eq!(tail(&from_a_on, wc.seq + 1), from_c_on);
    assert_eq!(tail(&from_b_on, wc.seq + 1), from_c_on);
    assert_eq!(from_c_on.len(), 3);
    redis.assert_every_key_expires();

    // The terminate reaches the instance that did not receive it, too.
    b.send(ClientFrame::Terminate { secret: secret(1) }).await;
    for client in [&mut a, &mut b, &mut c] {
        client.expect_closed(CloseReason::Terminated).await;
    }
    assert!(redis.room_keys(room).is_empty());
    eventually("every instance dropped its subscription", || {
        redis.subscribers(room) == 0
    })
    .await;
    redis.assert_every_key_expires();
    for relay in relays {
        relay.stop().await;
    }
}

async fn every_lifecycle_path_deletes_every_key_across_instances(redis: Backend) {
    let one = Relay::start(config(&redis)).await;
    let two = Relay::start(config(&redis)).await;
    let paths = [
        (
            RoomSettings {
                idle_timeout_secs: Some(1),
                ..RoomSettings::default()
            },
            Some(CloseReason::IdleTimeout),
        ),
        (
            RoomSettings {
                max_lifetime_secs: Some(2),
                ..RoomSettings::default()
            },
            Some(CloseReason::MaxLifetime),
        ),
        // Both members go away: the room ends after the grace.
        (RoomSettings::default(), None),
    ];
    for (settings, reason) in paths {
        let room = room_id(2);
        let mut host = one.connect().await;
        host.create(room, &secret(2), settings).await;
        let mut guest = two.connect().await;
        guest.join(room).await;
        redis.assert_every_key_expires();
        match reason {
            Some(reason) => {
                // Keep the max-lifetime room busy, so only its lifetime can end it.
                if reason == CloseReason::MaxLifetime {
                    host.say("still here").await;
                }
                host.expect_closed(reason).await;
                guest.expect_closed(reason).await;
            }
            None => {
                host.drop_connection();
                guest.drop_connection();
            }
        }
        eventually("no key of the room is left", || {
            redis.room_keys(room).is_empty()
        })
        .await;
        eventually("no instance follows the room", || {
            redis.subscribers(room) == 0
        })
        .await;
        let mut late = two.connect().await;
        late.ask_to_join(room).await;
        late.expect_error(ErrorCode::UnknownRoom).await;
    }
    redis.assert_every_key_expires();
    one.stop().await;
    two.stop().await;
}

/// A relay binary in its own process, so a test can kill it with SIGKILL.
struct ChildRelay {
    child: Child,
    addr: SocketAddr,
}

impl ChildRelay {
    async fn start(redis: &Backend) -> ChildRelay {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_vroom-relay"))
            .args(["--listen", &addr.to_string()])
            .args(redis.flags())
            .args(["--redis-heartbeat", "100ms", "--grace", "500ms"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the vroom-relay binary");
        let relay = ChildRelay { child, addr };
        for _ in 0..200 {
            if healthz(addr).await == Some(200) {
                return relay;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the vroom-relay child process did not become healthy");
    }

    /// SIGKILL: no goodbye, no cleanup.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ChildRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn the_members_of_a_killed_instance_expire(redis: Backend) {
    let survivor = Relay::start(config(&redis)).await;
    let mut doomed = ChildRelay::start(&redis).await;

    // A room with members on both: it carries on for the survivor.
    let shared = room_id(3);
    let mut host = survivor.connect().await;
    host.create(shared, &secret(3), RoomSettings::default())
        .await;
    let mut guest = Client::connect(doomed.addr).await;
    let wg = guest.join(shared).await;
    // A room whose only member is on the doomed instance: it ends.
    let lonely = room_id(4);
    let mut alone = Client::connect(doomed.addr).await;
    alone
        .create(lonely, &secret(4), RoomSettings::default())
        .await;
    redis.assert_every_key_expires();

    doomed.kill();
    loop {
        match host.recv().await {
            Got::Left(_, member, LeaveReason::Disconnected) if member == wg.you => break,
            Got::Joined(..) => continue,
            other => panic!("expected the guest to leave, got {other:?}"),
        }
    }
    host.say("still here").await;
    assert!(matches!(host.recv().await, Got::Message { .. }));
    redis.assert_every_key_expires();
    eventually("the lonely room's keys expired", || {
        redis.room_keys(lonely).is_empty()
    })
    .await;
    assert!(!redis.room_keys(shared).is_empty());
    survivor.stop().await;
}

/// A relay on a Redis of its own that the test may stop and restart, with a grace long
/// enough that nobody's presence runs out while Redis is away.
async fn relay_on_a_redis_to_restart() -> (Relay, vroom_testkit::redis::RedisServer) {
    let backend = Backend::single();
    let relay = Relay::start(Config {
        grace: Duration::from_secs(30),
        ..config(&backend)
    })
    .await;
    let Backend::Single(redis) = backend else {
        unreachable!("a single server was started")
    };
    (relay, redis)
}

/// Waits (10 s at most) until `/healthz` of `relay` answers 200 again.
async fn wait_healthy(relay: &Relay) {
    for _ in 0..200 {
        if healthz(relay.addr()).await == Some(200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the relay did not recover after Redis came back");
}

#[tokio::test]
async fn a_redis_restart_is_answered_clearly_and_survived() {
    let (relay, mut redis) = relay_on_a_redis_to_restart().await;
    let room = room_id(5);
    let mut host = relay.connect().await;
    let wh = host.create(room, &secret(5), RoomSettings::default()).await;
    let mut guest = relay.connect().await;
    let wg = guest.join(room).await;
    host.say("before").await;
    let before = guest.recv_message().await.seq().unwrap();
    assert_eq!(healthz(relay.addr()).await, Some(200));

    redis.stop(true);
    assert_eq!(healthz(relay.addr()).await, Some(503));
    host.say("while away").await;
    host.expect_error(ErrorCode::Unavailable).await;
    // A member whose connection drops now comes back later.
    guest.drop_connection();

    redis.restart();
    wait_healthy(&relay).await;
    // The returning member resumes and catches up on what it missed.
    let mut guest = relay.connect().await;
    guest.resume(room, &wg, Some(before)).await;
    let mut said = false;
    for _ in 0..100 {
        host.say("after").await;
        match host.recv().await {
            Got::Error(ErrorCode::Unavailable) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Got::Message { .. } => {
                said = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(said, "the host could not send after Redis came back");
    loop {
        match guest.recv().await {
            Got::Message { seq, .. } if seq > before => break,
            Got::Welcome { .. } | Got::CaughtUp(_) | Got::Joined(..) | Got::Left(..) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wh.host, wh.you);
    redis.assert_every_key_expires();
    relay.stop().await;
}

#[tokio::test]
async fn members_are_told_the_relay_lost_the_room_when_redis_restarts_empty() {
    let (relay, mut redis) = relay_on_a_redis_to_restart().await;
    let room = room_id(6);
    let mut host = relay.connect().await;
    host.create(room, &secret(6), RoomSettings::default()).await;
    let mut guest = relay.connect().await;
    guest.join(room).await;

    // Redis comes back without its data: the room is gone.
    redis.stop(false);
    redis.restart();
    wait_healthy(&relay).await;
    host.say("after").await;
    // The host's message is refused, and both members learn why, not "idle".
    for (name, member) in [("host", &mut host), ("guest", &mut guest)] {
        loop {
            match member.recv().await {
                Got::Closed(reason) => {
                    assert_eq!(reason, CloseReason::StorageLost, "{name}");
                    break;
                }
                Got::Error(code) => assert_eq!(code, ErrorCode::UnknownRoom, "{name}"),
                Got::Joined(..) | Got::Message { .. } => {}
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
    }
    assert!(CloseReason::StorageLost.message().contains("lost"));
    relay.stop().await;
}

/// Reads `client`'s frames until `done` says stop or the socket ends, collecting the
/// sequence numbers of the messages it got.
async fn messages_until(
    client: &mut Client,
    seqs: &mut Vec<u64>,
    mut done: impl FnMut(&Got) -> bool,
) {
    loop {
        let got = client.recv().await;
        if let Got::Message { seq, .. } = &got {
            seqs.push(*seq);
        }
        if done(&got) || matches!(got, Got::SocketClosed(_)) {
            return;
        }
    }
}

#[tokio::test]
async fn a_stopping_instance_hands_its_members_over_without_losing_an_acknowledged_message() {
    let backend = Backend::single();
    let mut stopping = Some(Relay::start(config(&backend)).await);
    let survivor = Relay::start(config(&backend)).await;
    let room = room_id(7);
    let mut host = survivor.connect().await;
    let wh = host.create(room, &secret(7), RoomSettings::default()).await;
    let a = stopping.as_ref().unwrap();
    let mut sender = a.connect().await;
    let w_sender = sender.join(room).await;
    let mut reader = a.connect().await;
    let w_reader = reader.join(room).await;

    // The sender, on the instance that stops, sends one message at a time while the
    // instance shuts down under it; a message is acknowledged when its echo comes back.
    let mut acked = Vec::new();
    let mut seen = vec![Vec::new(), Vec::new(), Vec::new()]; // sender, reader, host
    let mut shutdown = None;
    for i in 0..10_000 {
        if i == 10 {
            shutdown = Some(tokio::spawn(stopping.take().unwrap().stop()));
        }
        if !sender.try_say(&format!("m{i}")).await {
            break;
        }
        let mut mine = None;
        let mut ended = false;
        messages_until(&mut sender, &mut seen[0], |got| match got {
            Got::Message { seq, from, .. } if *from == w_sender.you => {
                mine = Some(*seq);
                true
            }
            Got::Closed(reason) => {
                assert_eq!(*reason, CloseReason::GoingAway);
                ended = true;
                true
            }
            _ => false,
        })
        .await;
        acked.extend(mine);
        if ended || mine.is_none() {
            break;
        }
    }
    shutdown
        .expect("the instance was stopped")
        .await
        .expect("the instance stopped");
    assert!(
        acked.len() >= 10,
        "the sender got its first messages through: {acked:?}"
    );
    // The reader on the stopped instance is told too.
    messages_until(&mut reader, &mut seen[1], |got| {
        matches!(got, Got::Closed(CloseReason::GoingAway))
    })
    .await;

    // Both come back on the surviving instance, catching up from what they last saw.
    let mut resumed = Vec::new();
    for (index, w) in [(0, &w_sender), (1, &w_reader)] {
        let mut client = survivor.connect().await;
        client.resume(room, w, seen[index].last().copied()).await;
        match client.recv().await {
            Got::Welcome(again) => assert_eq!(again.you, w.you, "the same place"),
            other => panic!("expected a welcome, got {other:?}"),
        }
        messages_until(&mut client, &mut seen[index], |got| {
            matches!(got, Got::CaughtUp(_))
        })
        .await;
        resumed.push(client);
    }
    // A message after the handover reaches everyone.
    host.say("after").await;
    let after = |got: &Got| matches!(got, Got::Message { from, .. } if *from == wh.you);
    messages_until(&mut host, &mut seen[2], after).await;
    for (index, client) in resumed.iter_mut().enumerate() {
        messages_until(client, &mut seen[index], after).await;
    }
    for (name, seqs) in ["sender", "reader", "host"].iter().zip(&seen) {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{name} saw every message once, in order: {seqs:?}"
        );
        for seq in &acked {
            assert!(
                seqs.contains(seq),
                "{name} missed acknowledged message {seq}: {seqs:?}"
            );
        }
    }
    survivor.stop().await;
}

/// What `/healthz` of `relay` says, checking it answers 503 with a sentence.
async fn unhealthy(relay: &Relay) -> String {
    let answer = vroom_testkit::relay::get(relay.addr(), "/healthz", "")
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    assert_eq!(answer.status, 503, "{body}");
    assert!(body.starts_with("store unavailable: "), "{body}");
    body
}

/// `/healthz` says what is wrong with Redis, not just that something is.
#[tokio::test]
async fn healthz_says_what_is_wrong_with_redis() {
    let redis = Backend::single();
    let Backend::Single(server) = &redis else {
        unreachable!("a single server was started")
    };
    let plain = Relay::start(config(&redis)).await;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("hunter2")
        .query(&mut server.connection())
        .unwrap();
    // Connections made from now on must authenticate: a relay without the password.
    let refused = Relay::start(config(&redis)).await;
    // A port nothing listens on, and one where an HTTP server (the first relay) answers.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let closed = Relay::start(Config {
        redis_url: Some(vroom_relay::config::RedisUrl(format!("redis://{nowhere}"))),
        ..config(&redis)
    })
    .await;
    let http = Relay::start(Config {
        redis_url: Some(vroom_relay::config::RedisUrl(format!(
            "redis://{}",
            plain.addr()
        ))),
        ..config(&redis)
    })
    .await;
    for (relay, says) in [
        (&refused, "refused the relay's credentials"),
        (&closed, "cannot connect to Redis"),
        (&http, "does not answer like Redis"),
    ] {
        let body = unhealthy(relay).await;
        assert!(body.contains(says), "expected {says:?} in {body:?}");
        assert!(!body.contains("hunter2"));
    }
    for relay in [plain, refused, closed, http] {
        relay.stop().await;
    }
}

/// `rediss://`: a relay reaches a TLS-only Redis port whose certificate a CA made for
/// the test signed, when told to trust that CA; without it, `/healthz` says why not.
#[tokio::test]
async fn a_relay_speaks_tls_to_redis() {
    let redis = vroom_testkit::redis::RedisServer::start_tls();
    let tls = |ca: Option<std::path::PathBuf>| Config {
        redis_url: Some(vroom_relay::config::RedisUrl(redis.tls_url())),
        redis_ca_file: ca,
        redis_heartbeat: Duration::from_millis(100),
        grace: Duration::from_millis(500),
        web_dir: None,
        ..Config::default()
    };
    let trusting = Relay::start(tls(Some(redis.ca_file()))).await;
    let other = Relay::start(tls(Some(redis.ca_file()))).await;
    let room = room_id(9);
    let mut host = trusting.connect().await;
    host.create(room, &secret(9), RoomSettings::default()).await;
    let mut guest = other.connect().await;
    guest.join(room).await;
    host.say("over tls").await;
    assert!(
        matches!(guest.recv_message().await, Got::Message { payload, .. } if payload == b"over tls")
    );
    assert_eq!(healthz(trusting.addr()).await, Some(200));
    // The keys went through the TLS port: they are in this server.
    assert!(!redis.keys_with_ttl().is_empty());

    let distrusting = Relay::start(tls(None)).await;
    let body = unhealthy(&distrusting).await;
    assert!(body.contains("certificate is not trusted"), "{body}");
    println!("a relay without the CA: {body}");
    for relay in [trusting, other, distrusting] {
        relay.stop().await;
    }
}
