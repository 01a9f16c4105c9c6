//! Every way a room ends (host terminate, idle timeout, maximum lifetime, last member
//! gone plus grace), each seen by native clients, and the reconnect that the grace
//! period exists for, with catch-up of what was missed.

use std::time::Duration;

use vroom_testkit::cli::{room_of_two, Client};
use vroom_testkit::proxy::Proxy;
use vroom_testkit::relay::{test_config, Relay};

const UNKNOWN_ROOM: &str = "This room does not exist. It may have ended; ask for a new invite.";

/// Joining the room of `link` must fail: it no longer exists.
async fn assert_room_gone(link: &str) {
    let mut late = Client::join(link, "late");
    late.expect_error_exit(UNKNOWN_ROOM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_terminates_and_everything_is_gone() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, link) = room_of_two(&relay.origin(), &[]).await;
    assert_eq!(relay.rooms().await, 1);
    ada.say("/end").await;
    let ended = "-- The host ended this room. Everything in it has been deleted.";
    for client in [&mut ada, &mut bob] {
        client.expect(ended).await;
        client.expect_clean_exit().await;
    }
    relay.wait_rooms(0).await;
    assert_room_gone(&link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_room_is_deleted_and_members_are_told() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, link) = room_of_two(&relay.origin(), &["--idle-timeout", "2s"]).await;
    let idle = "-- This room was deleted because nobody wrote anything for too long.";
    for client in [&mut ada, &mut bob] {
        client.expect(idle).await;
        client.expect_clean_exit().await;
    }
    relay.wait_rooms(0).await;
    assert_room_gone(&link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_ends_at_its_maximum_lifetime_even_while_busy() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, link) = room_of_two(
        &relay.origin(),
        &["--max-lifetime", "3s", "--idle-timeout", "1h"],
    )
    .await;
    // Keep talking: activity does not extend a room's lifetime.
    let end = "-- This room reached its maximum lifetime and was deleted.";
    let mut n = 0;
    loop {
        // Ada may already be gone when the lifetime ends; bob's line decides.
        ada.try_say(&format!("still here {n}")).await;
        let line = bob
            .expect_line("a message or the end", |l| {
                l == end || l.starts_with("ada: still here")
            })
            .await;
        if line == end {
            break;
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bob.expect_clean_exit().await;
    ada.expect(end).await;
    ada.expect_clean_exit().await;
    relay.wait_rooms(0).await;
    assert_room_gone(&link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_is_deleted_after_its_last_member_vanishes_and_the_grace_runs_out() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, link) = room_of_two(&relay.origin(), &[]).await;
    // A member that vanishes without a goodbye is reported gone once its grace ends.
    bob.kill().await;
    ada.expect("-- bob lost their connection and left").await;
    assert_eq!(relay.rooms().await, 1, "the room must outlive one member");
    // The last one vanishes too: after the grace period the room is deleted.
    ada.kill().await;
    relay.wait_rooms(0).await;
    assert_room_gone(&link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_member_catches_up_on_what_it_missed() {
    // A grace period far longer than the outage, so the member gets its place back.
    let relay = Relay::start(vroom_relay::Config {
        grace: Duration::from_secs(60),
        ..test_config()
    })
    .await;
    let proxy = Proxy::start(relay.addr()).await;
    let (mut ada, mut bob, _link) = room_of_two(&proxy.origin(), &[]).await;
    ada.say("before the outage").await;
    bob.expect("ada: before the outage").await;

    // Bob's network drops, and stays down while ada writes.
    let bob_id = proxy.conns()[1].me.expect("bob was welcomed");
    let bob_conn = proxy.conn_of(bob_id).expect("bob's connection is open");
    proxy.hold(true);
    proxy.cut(bob_conn);
    bob.expect("-- connection lost; reconnecting").await;
    for i in 0..3 {
        ada.say(&format!("missed {i}")).await;
        ada.expect(&format!("ada: missed {i}")).await;
    }
    proxy.hold(false);

    // Bob resumes its place and gets exactly what it missed, in order, then live ones.
    bob.expect("-- Reconnected").await;
    for i in 0..3 {
        bob.expect(&format!("ada: missed {i}")).await;
    }
    ada.say("live again").await;
    bob.expect("ada: live again").await;
    bob.say("I am back").await;
    ada.expect("bob: I am back").await;
    let bob_lines = bob.all_lines().await;
    for text in ["ada: before the outage", "ada: missed 0", "ada: missed 2"] {
        assert_eq!(
            bob_lines.iter().filter(|l| *l == text).count(),
            1,
            "bob should see {text:?} exactly once: {bob_lines:#?}"
        );
    }
    assert!(
        !bob_lines.iter().any(|l| l.starts_with("!! ")),
        "a clean reconnect raised a warning: {bob_lines:#?}"
    );
    let ada_lines = ada.all_lines().await;
    assert!(
        !ada_lines
            .iter()
            .any(|l| l.contains("bob left") || l.contains("bob lost")),
        "bob's place should have survived the outage: {ada_lines:#?}"
    );
    ada.say("/end").await;
    ada.expect_clean_exit().await;
    bob.expect_clean_exit().await;
}
