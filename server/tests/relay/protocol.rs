//! Create, join, relay order, directed messages, host powers, resume and catch-up, and
//! every error answer.

use std::collections::HashSet;

use tokio_tungstenite::tungstenite::Message;
use vroom_relay::Config;
use vroom_shared::wire::{
    ClientFrame, CloseReason, ErrorCode, JoinProof, LeaveReason, MemberId, Resume, ResumeToken,
    RoomSettings,
};

use crate::config;
use vroom_testkit::relay::{Relay, Response};
use vroom_testkit::ws::{room_id, secret, version, Got};

#[tokio::test]
async fn every_member_sees_every_message_in_one_order() {
    let relay = Relay::start(config()).await;
    let room = room_id(1);
    let mut clients = vec![
        relay.connect().await,
        relay.connect().await,
        relay.connect().await,
    ];
    let host = clients[0]
        .create(room, &secret(1), RoomSettings::default())
        .await;
    assert_eq!(host.members, vec![host.you]);
    assert_eq!(host.host, host.you);
    let b = clients[1].join(room).await;
    assert_eq!(b.members, vec![host.you, b.you]);
    assert_eq!(b.host, host.you);
    let c = clients[2].join(room).await;
    // Earlier members see later arrivals as sequenced events.
    assert_eq!(clients[0].recv().await, Got::Joined(2, b.you));
    assert_eq!(clients[0].recv().await, Got::Joined(3, c.you));
    assert_eq!(clients[1].recv().await, Got::Joined(3, c.you));

    const EACH: usize = 30;
    let mut tasks = Vec::new();
    for (i, mut client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for n in 0..EACH {
                client.say(&format!("{i}:{n}")).await;
            }
            while seen.len() < 3 * EACH {
                match client.recv().await {
                    Got::Message {
                        seq,
                        from,
                        to,
                        payload,
                    } => {
                        assert_eq!(to, None);
                        seen.push((seq, from, payload));
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            seen
        }));
    }
    let mut orders = Vec::new();
    for t in tasks {
        orders.push(t.await.unwrap());
    }
    assert!(
        orders.iter().all(|o| o == &orders[0]),
        "members saw different orders"
    );
    let seqs: Vec<u64> = orders[0].iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        seqs,
        (4..4 + 3 * EACH as u64).collect::<Vec<_>>(),
        "gapless ascending seqs"
    );
    // Each sender's own messages keep their sending order, the sender included.
    for i in 0..3 {
        let mine: Vec<String> = orders[0]
            .iter()
            .map(|(_, _, p)| String::from_utf8(p.clone()).unwrap())
            .filter(|p| p.starts_with(&format!("{i}:")))
            .collect();
        let expected: Vec<String> = (0..EACH).map(|n| format!("{i}:{n}")).collect();
        assert_eq!(mine, expected);
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_directed_message_reaches_only_its_recipient() {
    let relay = Relay::start(config()).await;
    let (room, mut a, wa) = relay.create_room(2).await;
    let (mut b, wb) = relay.join_room(room).await;
    let (mut c, _) = relay.join_room(room).await;
    a.send(ClientFrame::Send {
        to: Some(wb.you),
        payload: b"psst",
    })
    .await;
    a.say("everyone").await;
    let Got::Message {
        from, to, payload, ..
    } = b.recv_message().await
    else {
        unreachable!()
    };
    assert_eq!(
        (from, to, payload.as_slice()),
        (wa.you, Some(wb.you), &b"psst"[..])
    );
    let Got::Message { payload, .. } = b.recv_message().await else {
        unreachable!()
    };
    assert_eq!(payload, b"everyone");
    // c sees only the broadcast; the sender does not get its directed message back.
    let Got::Message { payload, .. } = c.recv_message().await else {
        unreachable!()
    };
    assert_eq!(payload, b"everyone");
    let Got::Message { payload, .. } = a.recv_message().await else {
        unreachable!()
    };
    assert_eq!(payload, b"everyone");

    a.send(ClientFrame::Send {
        to: Some(MemberId(12345)),
        payload: b"x",
    })
    .await;
    a.expect_error(ErrorCode::UnknownMember).await;
    relay.stop().await;
}

#[tokio::test]
async fn joining_answers_clearly_when_it_cannot() {
    let relay = Relay::start(Config {
        max_members: 2,
        ..config()
    })
    .await;
    let (room, _host, _) = relay.create_room(3).await;

    // The same id again: exists. A socket may try again after an error.
    let mut other = relay.connect().await;
    other
        .send(ClientFrame::Create {
            version: version(),
            room,
            host: secret(9).hash(),
            settings: RoomSettings::default(),
        })
        .await;
    other.expect_error(ErrorCode::RoomExists).await;
    other.ask_to_join(room_id(99)).await;
    other.expect_error(ErrorCode::UnknownRoom).await;
    other
        .send(ClientFrame::Join {
            version: version() + 1,
            room,
            resume: None,
            after: None,
        })
        .await;
    other.expect_error(ErrorCode::UnsupportedVersion).await;
    other
        .send(ClientFrame::Join {
            version: version(),
            room,
            resume: Some(Resume {
                member: MemberId(7),
                token: ResumeToken([1; 16]),
            }),
            after: None,
        })
        .await;
    other.expect_error(ErrorCode::ResumeRefused).await;
    // Anything but Create or Join first is out of order.
    other.say("hello?").await;
    other.expect_error(ErrorCode::UnexpectedFrame).await;
    other.send(ClientFrame::Leave).await;
    other.expect_error(ErrorCode::UnexpectedFrame).await;
    other
        .send_raw(Message::Binary(vec![0xff, 0xff, 0xff].into()))
        .await;
    other.expect_error(ErrorCode::MalformedFrame).await;
    other.send_raw(Message::Text("hello".into())).await;
    other.expect_error(ErrorCode::MalformedFrame).await;

    // Capacity: a second member fits, a third does not.
    let w = other.join(room).await;
    let mut third = relay.connect().await;
    third.ask_to_join(room).await;
    third.expect_error(ErrorCode::Full).await;
    // Joined twice on one socket is out of order.
    other.ask_to_join(room).await;
    other.expect_error(ErrorCode::UnexpectedFrame).await;
    // A resume within grace takes the place back even when the room is full.
    other.drop_connection();
    third.resume(room, &w, None).await;
    let back = third.expect_welcome().await;
    assert_eq!(back.you, w.you);
    relay.stop().await;
}

#[tokio::test]
async fn bad_frames_get_an_error_and_the_socket_stays_usable() {
    let relay = Relay::start(Config {
        max_payload: 1000,
        ..config()
    })
    .await;
    let (room, mut a, w) = relay.create_room(4).await;
    assert_eq!(w.limits.max_payload, 1000);
    a.send(ClientFrame::Send {
        to: None,
        payload: &[7; 1001],
    })
    .await;
    a.expect_error(ErrorCode::FrameTooLarge).await;
    a.send_raw(Message::Binary(vec![2, 0, 200].into())).await;
    a.expect_error(ErrorCode::MalformedFrame).await;
    a.send_raw(Message::Text("{}".into())).await;
    a.expect_error(ErrorCode::MalformedFrame).await;
    a.send(ClientFrame::Create {
        version: version(),
        room,
        host: secret(4).hash(),
        settings: RoomSettings::default(),
    })
    .await;
    a.expect_error(ErrorCode::UnexpectedFrame).await;
    a.send(ClientFrame::Send {
        to: None,
        payload: &[7; 1000],
    })
    .await;
    let Got::Message { payload, .. } = a.recv_message().await else {
        unreachable!()
    };
    assert_eq!(payload.len(), 1000);
    relay.stop().await;
}

#[tokio::test]
async fn a_flooding_client_is_rate_limited_and_others_are_not_disturbed() {
    let relay = Relay::start(Config {
        rate_per_sec: 1,
        rate_burst: 5,
        ..config()
    })
    .await;
    let mut flooder = relay.connect().await;
    let mut calm = relay.connect().await;
    flooder
        .create(room_id(5), &secret(5), RoomSettings::default())
        .await;
    calm.create(room_id(6), &secret(6), RoomSettings::default())
        .await;
    for _ in 0..20 {
        flooder.say("spam").await;
    }
    let mut limited = 0;
    let mut relayed = 0;
    while limited + relayed < 20 {
        match flooder.recv().await {
            Got::Error(ErrorCode::RateLimited) => limited += 1,
            Got::Message { .. } => relayed += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(limited >= 10, "only {limited} of 20 were limited");
    calm.say("fine").await;
    let Got::Message { payload, .. } = calm.recv_message().await else {
        unreachable!()
    };
    assert_eq!(payload, b"fine");
    relay.stop().await;
}

#[tokio::test]
async fn host_powers_need_the_host_secret() {
    let relay = Relay::start(config()).await;
    let mut late = relay.connect().await;
    let (room, mut host, wh) = relay.create_room(7).await;
    let mut guest = relay.connect().await;
    let wg = guest.join(room).await;

    guest
        .send(ClientFrame::Lock {
            secret: secret(8),
            locked: true,
        })
        .await;
    guest.expect_error(ErrorCode::BadHostSecret).await;
    guest
        .send(ClientFrame::Kick {
            secret: secret(8),
            member: wh.you,
        })
        .await;
    guest.expect_error(ErrorCode::BadHostSecret).await;
    guest
        .send(ClientFrame::Terminate { secret: secret(8) })
        .await;
    guest.expect_error(ErrorCode::BadHostSecret).await;

    // Lock: an event for everyone, then joins are refused; unlock lets them in again.
    host.send(ClientFrame::Lock {
        secret: secret(7),
        locked: true,
    })
    .await;
    assert_eq!(host.recv().await, Got::Joined(2, wg.you));
    assert_eq!(host.recv().await, Got::Locked(3, true));
    assert_eq!(guest.recv().await, Got::Locked(3, true));
    late.ask_to_join(room).await;
    late.expect_error(ErrorCode::Locked).await;
    host.send(ClientFrame::Lock {
        secret: secret(7),
        locked: false,
    })
    .await;
    assert_eq!(guest.recv().await, Got::Locked(4, false));
    let wl = late.join(room).await;
    assert!(!wl.locked);

    // Kick: everyone sees Left(Kicked); the kicked member is told and disconnected.
    host.send(ClientFrame::Kick {
        secret: secret(7),
        member: wg.you,
    })
    .await;
    let kicked = Got::Left(6, wg.you, LeaveReason::Kicked);
    assert_eq!(late.recv().await, kicked);
    guest.expect_closed(CloseReason::Kicked).await;
    host.send(ClientFrame::Kick {
        secret: secret(7),
        member: wg.you,
    })
    .await;
    host.expect_error(ErrorCode::UnknownMember).await;
    // The kicked member cannot come back through its resume token.
    relay.assert_resume_refused(room, &wg).await;
    relay.stop().await;
}

#[tokio::test]
async fn a_reconnecting_member_resumes_and_catches_up() {
    let relay = Relay::start(config()).await;
    let (room, mut a, _) = relay.create_room(8).await;
    let (mut b, wb) = relay.join_room(room).await;
    b.say("before").await;
    let Got::Message { seq: last_seen, .. } = b.recv_message().await else {
        unreachable!()
    };
    b.drop_connection();
    for n in 0..3 {
        a.say(&format!("missed {n}")).await;
    }
    // a's own view: Joined(b), then its messages; no Left for b (it is within grace).
    let mut b2 = relay.connect().await;
    b2.resume(room, &wb, Some(last_seen)).await;
    let back = b2.expect_welcome().await;
    assert_eq!(back.you, wb.you);
    let mut replayed = Vec::new();
    loop {
        match b2.recv().await {
            Got::Message { payload, seq, .. } => {
                replayed.push((seq, String::from_utf8(payload).unwrap()))
            }
            Got::CaughtUp(seq) => {
                assert_eq!(seq, back.seq);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let texts: Vec<&str> = replayed.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["missed 0", "missed 1", "missed 2"]);
    assert_eq!(replayed.last().unwrap().0, back.seq);
    // Live again: the next message arrives once, without duplicates.
    a.say("live").await;
    let Got::Message { payload, seq, .. } = b2.recv().await else {
        panic!("expected live message")
    };
    assert_eq!((payload.as_slice(), seq), (&b"live"[..], back.seq + 1));
    // The others never saw b leave or rejoin.
    let mut seen = Vec::new();
    while seen.len() < 6 {
        seen.push(a.recv().await);
    }
    assert!(
        seen.iter()
            .all(|g| matches!(g, Got::Message { .. } | Got::Joined(..))),
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|g| matches!(g, Got::Joined(..))).count(),
        1
    );

    // Fetch asks again from any point.
    b2.send(ClientFrame::Fetch {
        after: last_seen + 1,
    })
    .await;
    let mut fetched = HashSet::new();
    loop {
        match b2.recv().await {
            Got::Message { seq, .. } => {
                fetched.insert(seq);
            }
            Got::CaughtUp(seq) => {
                assert_eq!(seq, back.seq + 1);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(fetched, (last_seen + 2..=back.seq + 1).collect());
    relay.stop().await;
}

#[tokio::test]
async fn catch_up_reports_a_gap_when_the_buffer_lost_events() {
    let relay = Relay::start(Config {
        buffer: 3,
        ..config()
    })
    .await;
    let (room, mut a, _) = relay.create_room(9).await;
    for n in 0..6 {
        a.say(&format!("m{n}")).await;
    }
    for _ in 0..6 {
        a.recv_message().await;
    }
    // Events 1..=7 exist (Joined + 6 messages); only the last 3 are kept.
    let mut b = relay.connect().await;
    b.send(ClientFrame::Join {
        version: version(),
        room,
        resume: None,
        after: Some(0),
    })
    .await;
    let w = b.expect_welcome().await;
    assert_eq!(w.seq, 7);
    assert_eq!(b.recv().await, Got::Gap(1, 4));
    let mut texts = Vec::new();
    for _ in 0..3 {
        let Got::Message { payload, .. } = b.recv().await else {
            panic!("expected a message")
        };
        texts.push(String::from_utf8(payload).unwrap());
    }
    assert_eq!(texts, ["m3", "m4", "m5"]);
    assert_eq!(b.recv().await, Got::CaughtUp(7));
    assert_eq!(b.recv().await, Got::Joined(8, w.you));
    relay.stop().await;
}

#[tokio::test]
async fn a_resume_replaces_the_members_older_connection() {
    let relay = Relay::start(config()).await;
    let (room, mut a, _) = relay.create_room(10).await;
    let (mut old, w) = relay.join_room(room).await;
    // The old connection still looks open to the relay (a half-dead network).
    let mut new = relay.connect().await;
    new.resume(room, &w, None).await;
    assert_eq!(new.expect_welcome().await.you, w.you);
    assert_eq!(old.recv().await, Got::SocketClosed(1013));
    a.say("to the new one").await;
    let Got::Message { payload, .. } = new.recv_message().await else {
        unreachable!()
    };
    assert_eq!(payload, b"to the new one");
    relay.stop().await;
}

#[tokio::test]
async fn a_member_that_does_not_read_is_dropped_and_the_room_carries_on() {
    let relay = Relay::start(Config {
        send_queue: 32,
        rate_per_sec: 10_000,
        rate_burst: 10_000,
        ..config()
    })
    .await;
    let (room, mut sender, _) = relay.create_room(11).await;
    let (mut laggard, wl) = relay.join_room(room).await;
    const COUNT: usize = 600;
    let payload = vec![0x5a; 60 * 1024];
    // The sender waits for each echo, so only the laggard falls behind.
    sender.send_echoed(&payload, COUNT).await;
    // The laggard finds its socket closed with "try again later" after what fitted.
    let mut got = 0;
    loop {
        match laggard.recv().await {
            Got::Message { .. } => got += 1,
            Got::SocketClosed(code) => {
                assert_eq!(code, 1013);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(got < COUNT, "the laggard was never dropped");
    // It comes back and catches up from the buffer; the room carried on.
    let mut back = relay.connect().await;
    back.resume(room, &wl, Some(0)).await;
    assert_eq!(back.expect_welcome().await.you, wl.you);
    sender.say("after").await;
    let Got::Message { payload, .. } = sender.recv_message().await else {
        unreachable!()
    };
    assert_eq!(payload, b"after");
    let Response { status, body, .. } = relay.get("/metrics", "").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("vroom_lagging_disconnects_total 1"), "{text}");
    relay.stop().await;
}

#[tokio::test]
async fn the_host_seat_moves_by_hand_over_and_by_the_relays_succession_only() {
    let relay = Relay::start(config()).await;
    let (room, mut host, wh) = relay.create_room(9).await;
    let (mut guest, wg) = relay.join_room(room).await;
    assert_eq!(host.recv().await, Got::Joined(2, wg.you));

    // Neither a wrong secret hands over, nor does a claim take a seat whose member is
    // here and that no hand-over named.
    guest
        .send(ClientFrame::HandOver {
            secret: secret(8),
            to: wg.you,
        })
        .await;
    guest.expect_error(ErrorCode::BadHostSecret).await;
    guest
        .send(ClientFrame::ClaimHost {
            host: secret(10).hash(),
        })
        .await;
    guest.expect_error(ErrorCode::BadHostSecret).await;

    host.send(ClientFrame::HandOver {
        secret: secret(9),
        to: wg.you,
    })
    .await;
    assert_eq!(host.recv().await, Got::HostChanged(3, wg.you));
    assert_eq!(guest.recv().await, Got::HostChanged(3, wg.you));
    // The old secret is spent; the heir claims with a secret of its own.
    host.send(ClientFrame::Lock {
        secret: secret(9),
        locked: true,
    })
    .await;
    host.expect_error(ErrorCode::BadHostSecret).await;
    guest
        .send(ClientFrame::ClaimHost {
            host: secret(10).hash(),
        })
        .await;
    guest
        .send(ClientFrame::Lock {
            secret: secret(10),
            locked: true,
        })
        .await;
    assert_eq!(guest.recv().await, Got::Locked(4, true));
    assert_eq!(host.recv().await, Got::Locked(4, true));

    // The new host leaves: the relay passes the seat to the member holding a place the
    // longest, and only that member claims it.
    guest
        .send(ClientFrame::Lock {
            secret: secret(10),
            locked: false,
        })
        .await;
    assert_eq!(host.recv().await, Got::Locked(5, false));
    let (mut third, w3) = relay.join_room(room).await;
    assert_eq!(host.recv().await, Got::Joined(6, w3.you));
    guest.send(ClientFrame::Leave).await;
    guest.expect_closed(CloseReason::Left).await;
    assert_eq!(host.recv().await, Got::Left(7, wg.you, LeaveReason::Left));
    assert_eq!(host.recv().await, Got::HostChanged(8, wh.you));
    assert_eq!(third.recv().await, Got::Left(7, wg.you, LeaveReason::Left));
    assert_eq!(third.recv().await, Got::HostChanged(8, wh.you));
    third
        .send(ClientFrame::ClaimHost {
            host: secret(12).hash(),
        })
        .await;
    third.expect_error(ErrorCode::BadHostSecret).await;
    host.send(ClientFrame::ClaimHost {
        host: secret(11).hash(),
    })
    .await;
    host.send(ClientFrame::Terminate { secret: secret(11) })
        .await;
    host.expect_closed(CloseReason::Terminated).await;
    relay.stop().await;
}

#[tokio::test]
async fn the_hosts_member_cap_refuses_a_join_past_it() {
    let relay = Relay::start(config()).await;
    let (room, mut host, _) = relay.create_room(10).await;
    let (_guest, wg) = relay.join_room(room).await;
    assert_eq!(host.recv().await, Got::Joined(2, wg.you));
    host.send(ClientFrame::SetCap {
        secret: secret(8),
        max_members: 2,
    })
    .await;
    host.expect_error(ErrorCode::BadHostSecret).await;
    host.send(ClientFrame::SetCap {
        secret: secret(10),
        max_members: 2,
    })
    .await;
    // The relay answers requests of one connection in order: once the host's next
    // request is answered, the cap is in force.
    host.send(ClientFrame::Lock {
        secret: secret(10),
        locked: false,
    })
    .await;
    assert_eq!(host.recv().await, Got::Locked(3, false));
    let mut third = relay.connect().await;
    third.ask_to_join(room).await;
    third.expect_error(ErrorCode::Full).await;
    host.send(ClientFrame::SetCap {
        secret: secret(10),
        max_members: 0,
    })
    .await;
    host.send(ClientFrame::Lock {
        secret: secret(10),
        locked: false,
    })
    .await;
    assert_eq!(host.recv().await, Got::Locked(4, false));
    let (_fourth, _) = relay.join_room(room).await;
    relay.stop().await;
}

/// A moderator, named by the host with its secret, locks and kicks over its own
/// connection (no secret); a member not named cannot, and the host seat's member is
/// never kicked by one.
#[tokio::test]
async fn a_moderator_locks_and_kicks_but_not_the_host() {
    let relay = Relay::start(config()).await;
    let (room, mut host, wh) = relay.create_room(12).await;
    let (mut moderator, wm) = relay.join_room(room).await;
    assert_eq!(host.recv().await, Got::Joined(2, wm.you));
    let (mut guest, wg) = relay.join_room(room).await;
    assert_eq!(moderator.recv().await, Got::Joined(3, wg.you));
    let proof = JoinProof([4; 32]);
    // Not named yet: refused.
    moderator
        .send(ClientFrame::ModeratorKick {
            member: wg.you,
            proof: proof.hash(),
            renewal: 1,
        })
        .await;
    moderator.expect_error(ErrorCode::BadHostSecret).await;
    host.send(ClientFrame::SetModerator {
        secret: secret(8),
        member: wm.you,
        on: true,
    })
    .await;
    host.expect_error(ErrorCode::BadHostSecret).await;
    host.send(ClientFrame::SetModerator {
        secret: secret(12),
        member: wm.you,
        on: true,
    })
    .await;
    // Requests of one connection are answered in order: once the host's lock is
    // sequenced, the moderator is named.
    host.send(ClientFrame::Lock {
        secret: secret(12),
        locked: false,
    })
    .await;
    assert_eq!(host.recv().await, Got::Locked(4, false));
    assert_eq!(moderator.recv().await, Got::Locked(4, false));
    moderator
        .send(ClientFrame::ModeratorLock { locked: true })
        .await;
    assert_eq!(moderator.recv().await, Got::Locked(5, true));
    // The guest cannot act as one.
    guest
        .send(ClientFrame::ModeratorLock { locked: false })
        .await;
    guest.expect_error(ErrorCode::BadHostSecret).await;
    moderator
        .send(ClientFrame::ModeratorKick {
            member: wh.you,
            proof: proof.hash(),
            renewal: 1,
        })
        .await;
    moderator.expect_error(ErrorCode::BadHostSecret).await;
    moderator
        .send(ClientFrame::ModeratorKick {
            member: wg.you,
            proof: proof.hash(),
            renewal: 1,
        })
        .await;
    guest.expect_closed(CloseReason::Kicked).await;
    assert_eq!(
        moderator.recv().await,
        Got::Left(6, wg.you, LeaveReason::Kicked)
    );
    // The kick carried the join proof of the invitation its commit renewed: once the
    // moderator unlocks, a newcomer without it is refused, one with it admitted.
    moderator
        .send(ClientFrame::ModeratorLock { locked: false })
        .await;
    assert_eq!(moderator.recv().await, Got::Locked(7, false));
    let mut late = relay.connect().await;
    late.ask_to_join(room).await;
    late.expect_error(ErrorCode::InviteChanged).await;
    late.send(ClientFrame::JoinProved {
        version: version(),
        room,
        resume: None,
        after: None,
        proof,
    })
    .await;
    let w = late.expect_welcome().await;
    assert_eq!(moderator.recv().await, Got::Joined(8, w.you));
    relay.stop().await;
}

/// A newcomer asks to join `room` with `proof` on a new connection: its welcome, or the
/// relay's refusal.
async fn join_proved(
    relay: &Relay,
    room: vroom_shared::wire::RoomId,
    proof: JoinProof,
) -> Result<vroom_testkit::ws::Welcomed, ErrorCode> {
    let mut newcomer = relay.connect().await;
    newcomer
        .send(ClientFrame::JoinProved {
            version: version(),
            room,
            resume: None,
            after: None,
            proof,
        })
        .await;
    match newcomer.recv().await {
        Got::Welcome(w) => Ok(w),
        Got::Error(code) => Err(code),
        other => panic!("expected a welcome or an error, got {other:?}"),
    }
}

/// Moderators' kicks carry the renewal number of their proof (PROTOCOL.md §11.4): a
/// kick that reaches the relay after the host's newer `Rotate` is carried out but
/// leaves the newer proof in place, so a newcomer with the current link still gets in;
/// a kick of a newer renewal sets its proof; and the host's `Rotate` sets its proof
/// even with a lower number.
#[tokio::test]
async fn a_late_moderators_kick_does_not_set_an_older_proof_back() {
    let relay = Relay::start(config()).await;
    let (room, mut host, _) = relay.create_room(13).await;
    let (mut moderator, wm) = relay.join_room(room).await;
    let (mut first, w1) = relay.join_room(room).await;
    let (mut second, w2) = relay.join_room(room).await;
    for (seq, who) in [(2, wm.you), (3, w1.you), (4, w2.you)] {
        assert_eq!(host.recv().await, Got::Joined(seq, who));
    }
    for (seq, who) in [(3, w1.you), (4, w2.you)] {
        assert_eq!(moderator.recv().await, Got::Joined(seq, who));
    }
    let proof = |n: u8| JoinProof([0x40 + n; 32]);
    host.send(ClientFrame::SetModerator {
        secret: secret(13),
        member: wm.you,
        on: true,
    })
    .await;
    host.send(ClientFrame::Rotate {
        secret: secret(13),
        proof: proof(3).hash(),
        renewal: 3,
    })
    .await;
    // Requests of one connection are answered in order: once the host's lock is
    // sequenced, both are in force.
    host.send(ClientFrame::Lock {
        secret: secret(13),
        locked: false,
    })
    .await;
    assert_eq!(host.recv().await, Got::Locked(5, false));
    assert_eq!(moderator.recv().await, Got::Locked(5, false));

    // The moderator's kick of renewal 2 arrives after the host's renewal 3: the member
    // is kicked, and the proof of renewal 3 stays.
    moderator
        .send(ClientFrame::ModeratorKick {
            member: w1.you,
            proof: proof(2).hash(),
            renewal: 2,
        })
        .await;
    first.expect_closed(CloseReason::Kicked).await;
    assert_eq!(
        moderator.recv().await,
        Got::Left(6, w1.you, LeaveReason::Kicked)
    );
    assert_eq!(
        join_proved(&relay, room, proof(2)).await.unwrap_err(),
        ErrorCode::InviteChanged,
        "the late kick set the older proof back"
    );
    let w = join_proved(&relay, room, proof(3))
        .await
        .expect("a newcomer with the current link gets in");
    assert_eq!(moderator.recv().await, Got::Joined(7, w.you));

    // A kick of renewal 4 sets its proof.
    moderator
        .send(ClientFrame::ModeratorKick {
            member: w2.you,
            proof: proof(4).hash(),
            renewal: 4,
        })
        .await;
    second.expect_closed(CloseReason::Kicked).await;
    assert_eq!(
        moderator.recv().await,
        Got::Left(8, w2.you, LeaveReason::Kicked)
    );
    assert_eq!(
        join_proved(&relay, room, proof(3)).await.unwrap_err(),
        ErrorCode::InviteChanged
    );
    let w = join_proved(&relay, room, proof(4)).await.unwrap();
    assert_eq!(moderator.recv().await, Got::Joined(9, w.you));

    // The host's word sets its proof whatever the number.
    host.send(ClientFrame::Rotate {
        secret: secret(13),
        proof: proof(1).hash(),
        renewal: 1,
    })
    .await;
    host.send(ClientFrame::Lock {
        secret: secret(13),
        locked: false,
    })
    .await;
    assert_eq!(moderator.recv().await, Got::Locked(10, false));
    assert_eq!(
        join_proved(&relay, room, proof(4)).await.unwrap_err(),
        ErrorCode::InviteChanged
    );
    join_proved(&relay, room, proof(1)).await.unwrap();
    relay.stop().await;
}
