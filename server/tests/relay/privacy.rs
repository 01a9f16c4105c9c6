//! What the relay writes down: the full log (at trace level) and `/metrics` of a session
//! with several clients carry no room id, member id, client address or payload, unless
//! `--log-room-ids` asks for room ids.

use std::net::IpAddr;
use std::path::Path;

use vroom_shared::wire::{ClientFrame, RoomSettings};
use vroom_testkit::process::RelayProcess;
use vroom_testkit::relay::get;
use vroom_testkit::ws::{room_id, secret, Client};

const CANARY: &str = "canary-payload-7be1";

/// What a session of three members from three addresses leaves behind that must not be
/// written down, and the relay's log and metrics after it.
struct Session {
    secrets: Vec<String>,
    room: String,
    log: String,
    metrics: String,
}

async fn session(args: &[&str]) -> Session {
    let bin = Path::new(env!("CARGO_BIN_EXE_vroom-relay"));
    let relay = RelayProcess::start(bin, args, &[("RUST_LOG", "trace")]);
    let addr = relay.addr();
    let room = room_id(90);
    let from = |last: u8| IpAddr::from([127, 0, 0, last]);
    let connect = |last: u8| async move {
        Client::connect_from(addr, from(last), &[])
            .await
            .expect("connect to the relay process")
    };
    let mut host = connect(11).await;
    let mut guest = connect(12).await;
    let mut third = connect(13).await;
    let wh = host
        .create(room, &secret(90), RoomSettings::default())
        .await;
    let wg = guest.join(room).await;
    let wt = third.join(room).await;
    host.say(CANARY).await;
    guest.recv_message().await;
    guest
        .send(ClientFrame::Send {
            to: Some(wh.you),
            payload: CANARY.as_bytes(),
        })
        .await;
    host.recv_message().await;
    host.send(ClientFrame::Kick {
        secret: secret(90),
        member: wt.you,
    })
    .await;
    third.drop_connection();
    host.send(ClientFrame::Terminate { secret: secret(90) })
        .await;
    host.recv_control().await;
    guest.recv_control().await;
    let metrics = get(addr, "/metrics", "").await.expect("GET /metrics");
    let metrics = String::from_utf8(metrics.body).expect("metrics are text");
    let log = relay.stop();
    let mut secrets = vec![CANARY.to_owned(), room.to_hex()];
    for last in [11, 12, 13] {
        secrets.push(from(last).to_string());
    }
    for member in [wh.you, wg.you, wt.you] {
        secrets.push(member.0.to_string());
        secrets.push(format!("{:x}", member.0));
    }
    Session {
        secrets,
        room: room.to_hex(),
        log,
        metrics,
    }
}

fn assert_absent(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the relay's {what} carries {secret:?}:\n{text}"
        );
    }
}

#[tokio::test]
async fn logs_and_metrics_carry_no_identifier_address_or_payload() {
    let s = session(&[]).await;
    assert!(
        s.log.contains("room created"),
        "the log was captured:\n{}",
        s.log
    );
    assert!(
        s.metrics.contains("vroom_rooms_created_total 1"),
        "{}",
        s.metrics
    );
    assert_absent("log", &s.log, &s.secrets);
    assert_absent("metrics", &s.metrics, &s.secrets);
}

/// The check above can fail: with `--log-room-ids` the room id is in the log.
#[tokio::test]
async fn room_ids_are_logged_only_when_asked_for() {
    let s = session(&["--log-room-ids"]).await;
    assert!(s.log.contains(&s.room), "{}", s.log);
    assert_absent("metrics", &s.metrics, &s.secrets);
}
