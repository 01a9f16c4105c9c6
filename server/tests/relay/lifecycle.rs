//! Every way a room or a member's place ends, and graceful shutdown.

use std::time::Duration;

use vroom_relay::Config;
use vroom_shared::wire::{ClientFrame, CloseReason, ErrorCode, LeaveReason, RoomSettings};

use crate::config;
use vroom_testkit::relay::Relay;
use vroom_testkit::ws::{room_id, secret, Client, Got};

/// Asks to join `room` on a new connection and expects `UnknownRoom`: the room is gone.
async fn assert_gone(relay: &Relay, room: vroom_shared::wire::RoomId) {
    let mut probe: Client = relay.connect().await;
    probe.ask_to_join(room).await;
    probe.expect_error(ErrorCode::UnknownRoom).await;
}

#[tokio::test]
async fn terminate_tells_everyone_and_deletes_the_room() {
    let relay = Relay::start(config()).await;
    let room = room_id(20);
    let mut host = relay.connect().await;
    let mut guest = relay.connect().await;
    host.create(room, &secret(20), RoomSettings::default())
        .await;
    let wg = guest.join(room).await;
    host.send(ClientFrame::Terminate { secret: secret(20) })
        .await;
    host.expect_closed(CloseReason::Terminated).await;
    guest.expect_closed(CloseReason::Terminated).await;
    assert_gone(&relay, room).await;
    // Nothing of the old room is left: the same id starts afresh.
    let mut again = relay.connect().await;
    again.resume(room, &wg, None).await;
    again.expect_error(ErrorCode::UnknownRoom).await;
    let w = again
        .create(room, &secret(21), RoomSettings::default())
        .await;
    assert_eq!(w.seq, 0);
    relay.stop().await;
}

#[tokio::test]
async fn an_idle_room_is_deleted() {
    let relay = Relay::start(Config {
        idle_timeout: Duration::from_secs(1),
        ..config()
    })
    .await;
    let (room, mut host, w) = relay.create_room(21).await;
    assert_eq!(w.limits.idle_timeout_secs, 1);
    let (mut guest, _) = relay.join_room(room).await;
    host.expect_closed(CloseReason::IdleTimeout).await;
    guest.expect_closed(CloseReason::IdleTimeout).await;
    assert_gone(&relay, room).await;
    relay.stop().await;
}

#[tokio::test]
async fn a_room_ends_at_its_maximum_lifetime_however_busy() {
    let relay = Relay::start(config()).await;
    let room = room_id(22);
    let mut host = relay.connect().await;
    // The creator may ask for less than the relay's maximum.
    let settings = RoomSettings {
        max_lifetime_secs: Some(1),
        ..RoomSettings::default()
    };
    let w = host.create(room, &secret(23), settings).await;
    assert_eq!(w.limits.max_lifetime_secs, 1);
    let chatter = async {
        loop {
            host.say("still here").await;
            match host.recv().await {
                Got::Message { .. } => tokio::time::sleep(Duration::from_millis(100)).await,
                Got::Closed(reason) => return reason,
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    assert_eq!(chatter.await, CloseReason::MaxLifetime);
    assert_gone(&relay, room).await;
    relay.stop().await;
}

#[tokio::test]
async fn a_dropped_member_leaves_after_the_grace_and_an_empty_room_is_deleted() {
    let relay = Relay::start(config()).await;
    let (room, mut host, _) = relay.create_room(23).await;
    let (guest, wg) = relay.join_room(room).await;
    assert_eq!(host.recv().await, Got::Joined(2, wg.you));
    guest.drop_connection();
    // Within the grace nothing happens; after it, the others see a Left(Disconnected).
    assert_eq!(
        host.recv().await,
        Got::Left(3, wg.you, LeaveReason::Disconnected)
    );
    let mut late = relay.connect().await;
    late.resume(room, &wg, None).await;
    late.expect_error(ErrorCode::ResumeRefused).await;
    // The last member drops too: the room survives the grace, then is gone.
    host.drop_connection();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_gone(&relay, room).await;
    relay.stop().await;
}

#[tokio::test]
async fn a_reload_within_the_grace_keeps_an_empty_room() {
    let relay = Relay::start(Config {
        grace: Duration::from_secs(3),
        ..config()
    })
    .await;
    let (room, host, w) = relay.create_room(24).await;
    host.drop_connection();
    let mut back = relay.connect().await;
    back.resume(room, &w, Some(1)).await;
    let again = back.expect_welcome().await;
    assert_eq!((again.you, again.members.clone()), (w.you, vec![w.you]));
    assert_eq!(back.recv().await, Got::CaughtUp(1));
    relay.stop().await;
}

#[tokio::test]
async fn leaving_is_immediate_and_the_leaver_is_told() {
    let relay = Relay::start(config()).await;
    let (room, mut host, _) = relay.create_room(25).await;
    let (mut guest, wg) = relay.join_room(room).await;
    guest.send(ClientFrame::Leave).await;
    guest.expect_closed(CloseReason::Left).await;
    assert_eq!(host.recv().await, Got::Joined(2, wg.you));
    assert_eq!(host.recv().await, Got::Left(3, wg.you, LeaveReason::Left));
    relay.assert_resume_refused(room, &wg).await;
    relay.stop().await;
}

#[tokio::test]
async fn shutdown_sends_going_away_to_every_connection_and_waits_for_them() {
    let relay = Relay::start(config()).await;
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    let mut idle = relay.connect().await;
    a.create(room_id(26), &secret(27), RoomSettings::default())
        .await;
    b.create(room_id(27), &secret(28), RoomSettings::default())
        .await;
    let stopping = tokio::spawn(relay.stop());
    a.expect_closed(CloseReason::GoingAway).await;
    b.expect_closed(CloseReason::GoingAway).await;
    // A connection that never joined is told too.
    idle.expect_closed(CloseReason::GoingAway).await;
    stopping.await.unwrap();
}
