//! Every error answer of the relay. Where the native client can run into one, it must
//! exit non-zero with a sentence that says what to do; the rest (a wrong host secret,
//! malformed or oversized frames, a second `Create`) are provoked with raw frames. In
//! every case the room and its members carry on undisturbed.

use std::net::TcpListener;

use vroom_shared::crypto::{OsRng, RoomSecret};
use vroom_shared::invite::Invite;
use vroom_shared::wire::{
    ClientFrame, ErrorCode, HostSecret, MemberId, RoomId, RoomSettings, PROTOCOL_VERSION,
};
use vroom_testkit::cli::{room_of_two, Client};
use vroom_testkit::relay::{test_config, Relay};
use vroom_testkit::ws::{self, Got};

/// The room id inside an invite link, as the relay knows the room.
fn room_of(link: &str) -> RoomId {
    Invite::parse(link)
        .expect("a valid invite link")
        .secret()
        .room_id()
}

/// The two still chat both ways.
async fn still_chatting(ada: &mut Client, bob: &mut Client, tag: &str) {
    ada.say(&format!("ada {tag}")).await;
    bob.expect(&format!("ada: ada {tag}")).await;
    bob.say(&format!("bob {tag}")).await;
    ada.expect(&format!("bob: bob {tag}")).await;
}

/// Ends the room and checks that neither client ever printed a warning.
async fn finish(mut ada: Client, mut bob: Client) {
    ada.say("/end").await;
    ada.expect_exit_ok().await;
    bob.expect_exit_ok().await;
    for client in [&mut ada, &mut bob] {
        let lines = client.all_lines().await;
        assert!(
            !lines.iter().any(|l| l.starts_with("!! ")),
            "unexpected warning: {lines:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_an_unknown_room_fails_with_a_clear_sentence() {
    let relay = Relay::start(test_config()).await;
    let link = Invite::new(&relay.origin(), RoomSecret::generate(&mut OsRng)).link();
    let mut client = Client::join(&link, "nobody");
    client
        .expect_error_exit("This room does not exist. It may have ended; ask for a new invite.")
        .await;
    assert!(
        client.all_lines().await.iter().all(|l| !l.contains(": ")),
        "no message may be shown for a room that does not exist"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_links_and_relays_fail_with_clear_sentences() {
    let mut not_a_link = Client::join("vroom.example/room", "x");
    not_a_link
        .expect_error_exit("This is not a vroom invite link.")
        .await;
    let mut no_secret = Client::join("http://127.0.0.1:9/r#", "x");
    no_secret
        .expect_error_exit("This invite link has no room secret after '#'.")
        .await;
    let mut cut_secret = Client::join("http://127.0.0.1:9/r#abc", "x");
    cut_secret
        .expect_error_exit("The room secret in this invite link is damaged.")
        .await;
    let mut bad_server = Client::spawn("x", &["create", "--server", "127.0.0.1:9"]);
    bad_server
        .expect_error_exit("'127.0.0.1:9' is not a relay address.")
        .await;
    // A port nobody listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("http://127.0.0.1:{port}");
    let mut unreachable = Client::spawn("x", &["create", "--server", &server]);
    unreachable
        .expect_error_exit(&format!(
            "cannot reach the relay at ws://127.0.0.1:{port}/ws"
        ))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_room_refuses_one_more_member() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, link) = room_of_two(&relay.origin(), &["--max-members", "2"]).await;
    let mut cara = Client::join(&link, "cara");
    cara.expect_error_exit("This room is full. Ask the host to make room or raise the limit.")
        .await;
    still_chatting(&mut ada, &mut bob, "after a refused join").await;
    finish(ada, bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_room_refuses_newcomers_until_unlocked() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, link) = room_of_two(&relay.origin(), &[]).await;
    ada.say("/lock").await;
    for client in [&mut ada, &mut bob] {
        client
            .expect("-- The room is locked: nobody new can join")
            .await;
    }
    let mut eve = Client::join(&link, "eve");
    eve.expect_error_exit("The host has locked this room. Ask the host to unlock it.")
        .await;
    still_chatting(&mut ada, &mut bob, "while locked").await;
    ada.say("/unlock").await;
    for client in [&mut ada, &mut bob] {
        client.expect("-- The room is unlocked").await;
    }
    let mut fay = Client::join(&link, "fay");
    ada.expect_joined("fay").await;
    fay.expect_joined("ada").await;
    fay.close_stdin();
    fay.expect_clean_exit().await;
    finish(ada, bob).await;
}

/// A relay that relays payloads of 2,048 bytes at most, and ada's and bob's room on it:
/// the relay, both clients and the invite link.
async fn small_payload_room() -> (Relay, Client, Client, String) {
    let relay = Relay::start(vroom_relay::Config {
        max_payload: 2048,
        ..test_config()
    })
    .await;
    let (ada, bob, link) = room_of_two(&relay.origin(), &[]).await;
    (relay, ada, bob, link)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_cannot_use_host_powers_nor_send_too_much() {
    let (_relay, mut ada, mut bob, _link) = small_payload_room().await;
    for command in ["/end", "/lock", "/kick ada"] {
        bob.say(command).await;
        still_chatting(&mut ada, &mut bob, command).await;
        assert!(
            bob.stderr().contains("vroom: Only the host can do that."),
            "{command} by a member should be refused with a sentence, stderr: {}",
            bob.stderr()
        );
    }
    bob.say(&"x".repeat(4000)).await;
    still_chatting(&mut ada, &mut bob, "after a long line").await;
    assert!(
        bob.stderr()
            .contains("vroom: That message is too large for this room. Shorten it."),
        "stderr: {}",
        bob.stderr()
    );
    assert!(!ada.all_lines().await.iter().any(|l| l.contains("xxxx")));
    finish(ada, bob).await;
}

/// A raw connection joined to the room of `link`, as a member the others never verify,
/// and the id of the one member that is neither the host nor itself.
async fn raw_member(relay: &Relay, link: &str) -> (ws::Client, MemberId) {
    let mut raw = ws::Client::connect(relay.addr()).await;
    let ws::Welcomed {
        you, host, members, ..
    } = raw.join(room_of(link)).await;
    let others: Vec<MemberId> = members
        .into_iter()
        .filter(|&m| m != you && m != host)
        .collect();
    assert_eq!(others.len(), 1, "expected the host, one member and us");
    (raw, others[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_host_secret_is_refused_and_changes_nothing() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, link) = room_of_two(&relay.origin(), &[]).await;
    let (mut raw, bob_id) = raw_member(&relay, &link).await;
    let wrong = || HostSecret(rand::random());
    for frame in [
        ClientFrame::Terminate { secret: wrong() },
        ClientFrame::Lock {
            secret: wrong(),
            locked: true,
        },
        ClientFrame::Kick {
            secret: wrong(),
            member: bob_id,
        },
    ] {
        raw.send(frame).await;
        assert_eq!(
            raw.recv_control().await,
            Got::Error(ErrorCode::BadHostSecret)
        );
    }
    // The room is neither ended, nor locked, nor short of bob.
    still_chatting(&mut ada, &mut bob, "after forged host commands").await;
    let mut cara = Client::join(&link, "cara");
    ada.expect_joined("cara").await;
    cara.close_stdin();
    cara.expect_clean_exit().await;
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains(r#"vroom_errors_total{kind="bad_host_secret"} 3"#),
        "/metrics does not count the three refusals:\n{metrics}"
    );
    finish(ada, bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_create_of_a_room_id_is_refused() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, link) = room_of_two(&relay.origin(), &[]).await;
    let mut raw = ws::Client::connect(relay.addr()).await;
    raw.send(ClientFrame::Create {
        version: PROTOCOL_VERSION,
        room: room_of(&link),
        host: HostSecret(rand::random()).hash(),
        settings: RoomSettings::default(),
    })
    .await;
    assert_eq!(raw.recv_control().await, Got::Error(ErrorCode::RoomExists));
    // The refused creator could not take the room over: its secret does nothing.
    still_chatting(&mut ada, &mut bob, "after a second create").await;
    finish(ada, bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unexpected_and_oversized_frames_get_an_answer_and_harm_nobody() {
    let (relay, mut ada, mut bob, link) = small_payload_room().await;

    // Before joining: garbage, a request out of order, a version from the future.
    let mut raw = ws::Client::connect(relay.addr()).await;
    let join = |version| ClientFrame::Join {
        version,
        room: room_of(&link),
        resume: None,
        after: None,
    };
    let send = |payload| ClientFrame::Send { to: None, payload };
    raw.send_bytes(vec![0xff, 0x00, 0x13, 0x37]).await;
    raw.expect_error(ErrorCode::MalformedFrame).await;
    raw.send(send(b"not yet")).await;
    raw.expect_error(ErrorCode::UnexpectedFrame).await;
    raw.send(join(PROTOCOL_VERSION + 1)).await;
    raw.expect_error(ErrorCode::UnsupportedVersion).await;

    // Joined: the same socket still works after every refusal.
    raw.join(room_of(&link)).await;
    raw.send_bytes(send(&[7; 2049]).encode()).await;
    raw.expect_error(ErrorCode::FrameTooLarge).await;
    let mut truncated = send(&[7; 100]).encode();
    truncated.truncate(50);
    raw.send_bytes(truncated).await;
    raw.expect_error(ErrorCode::MalformedFrame).await;
    raw.send(join(PROTOCOL_VERSION)).await;
    raw.expect_error(ErrorCode::UnexpectedFrame).await;
    raw.send(send(&[9; 2048])).await;
    loop {
        match raw.recv().await {
            Got::Message { payload, .. } if payload == [9; 2048] => break,
            got if got.is_event() => continue,
            other => panic!("a payload at the limit should be relayed, got {other:?}"),
        }
    }

    // The CLI members saw a payload they could not read, nothing else; they carry on.
    still_chatting(&mut ada, &mut bob, "after bad frames").await;
    let metrics = relay.metrics().await;
    for (code, n) in [
        ("malformed_frame", 2),
        ("frame_too_large", 1),
        ("unexpected_frame", 2),
        ("unsupported_version", 1),
    ] {
        let line = format!("vroom_errors_total{{kind=\"{code}\"}} {n}");
        assert!(metrics.contains(&line), "/metrics lacks {line}:\n{metrics}");
    }
    ada.say("/end").await;
    ada.expect_clean_exit().await;
    bob.expect_clean_exit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_kick_of_an_unknown_member_is_refused() {
    let relay = Relay::start(test_config()).await;
    let host = HostSecret(rand::random());
    let mut raw = ws::Client::connect(relay.addr()).await;
    raw.send(ClientFrame::Create {
        version: PROTOCOL_VERSION,
        room: RoomId(rand::random()),
        host: host.hash(),
        settings: RoomSettings::default(),
    })
    .await;
    assert!(matches!(raw.recv_control().await, Got::Welcome(_)));
    raw.send(ClientFrame::Kick {
        secret: host.clone(),
        member: MemberId(rand::random()),
    })
    .await;
    assert_eq!(
        raw.recv_control().await,
        Got::Error(ErrorCode::UnknownMember)
    );
    raw.send(ClientFrame::Terminate { secret: host }).await;
    assert!(matches!(raw.recv_control().await, Got::Closed(_)));
}
