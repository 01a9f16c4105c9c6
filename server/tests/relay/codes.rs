//! Short-code frames on the wire (PROTOCOL.md §11.2): a member's nameplate, a joiner's
//! exchange relayed both ways and only between its two ends, and every refusal, each
//! leaving the socket open.

use std::net::IpAddr;

use vroom_shared::wire::{ClientFrame, CodeRefusal, ErrorCode, RoomSettings};

use crate::config;
use vroom_testkit::relay::Relay;
use vroom_testkit::ws::{room_id, secret, version, Client, Got};

/// The next short-code frame `client` receives (room events before it are skipped).
async fn next_code(client: &mut Client) -> Got {
    for _ in 0..20 {
        let got = client.recv().await;
        if matches!(
            got,
            Got::CodeOffered(..) | Got::CodeMessage { .. } | Got::CodeRefused(..) | Got::Error(_)
        ) {
            return got;
        }
    }
    panic!("no short-code frame arrived");
}

#[tokio::test]
async fn an_exchange_travels_between_its_two_ends_only_and_refusals_are_clear() {
    let relay = Relay::start(config()).await;
    let room = room_id(40);
    let mut host = relay.connect().await;
    let mut other = relay.connect().await;
    host.create(room, &secret(40), RoomSettings::default())
        .await;
    other.join(room).await;

    host.send(ClientFrame::CodeOffer).await;
    let Got::CodeOffered(nameplate, expires) = next_code(&mut host).await else {
        panic!("a nameplate was expected");
    };
    assert!(nameplate >= 1);
    assert_eq!(expires, 300);

    let mut joiner = relay.connect().await;
    joiner
        .send(ClientFrame::CodeSend {
            exchange: 5,
            payload: b"x",
        })
        .await;
    joiner.expect_error(ErrorCode::UnexpectedFrame).await;
    joiner
        .send(ClientFrame::CodeOpen {
            version: version() + 1,
            nameplate,
            hello: b"hi",
        })
        .await;
    joiner.expect_error(ErrorCode::UnsupportedVersion).await;
    assert_eq!(
        open_unknown(&mut joiner).await,
        Got::CodeRefused(999_999_999, CodeRefusal::Unknown)
    );

    joiner
        .send(ClientFrame::CodeOpen {
            version: version(),
            nameplate,
            hello: b"hello",
        })
        .await;
    let Got::CodeMessage {
        exchange,
        nameplate: n,
        payload,
    } = next_code(&mut host).await
    else {
        panic!("the joiner's hello was expected");
    };
    assert_eq!((n, payload.as_slice()), (nameplate, &b"hello"[..]));

    // Another member cannot answer an exchange on a code that is not its own: its
    // message is dropped (its own echoed message shows the relay read it first).
    other
        .send(ClientFrame::CodeSend {
            exchange,
            payload: b"forged",
        })
        .await;
    other.say("after the forgery").await;
    assert!(matches!(other.recv_message().await, Got::Message { .. }));
    host.send(ClientFrame::CodeSend {
        exchange,
        payload: b"reply",
    })
    .await;
    assert_eq!(
        joiner.recv().await,
        Got::CodeMessage {
            exchange,
            nameplate,
            payload: b"reply".to_vec()
        }
    );
    joiner
        .send(ClientFrame::CodeSend {
            exchange,
            payload: &[0; 300],
        })
        .await;
    joiner.expect_error(ErrorCode::FrameTooLarge).await;
    joiner
        .send(ClientFrame::CodeSend {
            exchange,
            payload: b"confirm",
        })
        .await;
    assert_eq!(
        next_code(&mut host).await,
        Got::CodeMessage {
            exchange,
            nameplate,
            payload: b"confirm".to_vec()
        }
    );
    // The same socket then joins as with a link.
    joiner.join(room).await;

    // Three live codes per room at most.
    for _ in 0..2 {
        host.send(ClientFrame::CodeOffer).await;
        assert!(matches!(next_code(&mut host).await, Got::CodeOffered(..)));
    }
    host.send(ClientFrame::CodeOffer).await;
    assert_eq!(
        next_code(&mut host).await,
        Got::CodeRefused(0, CodeRefusal::TooMany)
    );
    // A joiner cannot offer codes.
    let mut stranger = relay.connect().await;
    stranger.send(ClientFrame::CodeOffer).await;
    stranger.expect_error(ErrorCode::UnexpectedFrame).await;
}

/// Opens an exchange on a nameplate nobody holds.
async fn open_unknown(client: &mut Client) -> Got {
    open(client, 999_999_999, b"hi").await
}

/// Opens an exchange on `nameplate` with the joiner's first PAKE message `hello`, and
/// returns the relay's answer.
async fn open(client: &mut Client, nameplate: u32, hello: &[u8]) -> Got {
    client
        .send(ClientFrame::CodeOpen {
            version: version(),
            nameplate,
            hello,
        })
        .await;
    client.recv().await
}

#[tokio::test]
async fn one_address_opens_only_a_few_exchanges_a_minute_and_others_are_not_held_back() {
    let relay = Relay::start(vroom_relay::Config {
        code_opens_per_minute: 2,
        ..config()
    })
    .await;
    let unknown = Got::CodeRefused(999_999_999, CodeRefusal::Unknown);
    let mut guesser = relay.connect_from(IpAddr::from([127, 0, 0, 9])).await;
    for _ in 0..2 {
        assert_eq!(open_unknown(&mut guesser).await, unknown);
    }
    assert_eq!(
        open_unknown(&mut guesser).await,
        Got::Error(ErrorCode::RateLimited)
    );
    assert_eq!(
        relay
            .metric("vroom_refusals_total{reason=\"code_opens_per_address\"}")
            .await,
        1
    );
    let mut other = relay.connect_from(IpAddr::from([127, 0, 0, 10])).await;
    assert_eq!(open_unknown(&mut other).await, unknown);
}

/// Offering and revoking in a loop is bounded per room (whatever the member revokes or
/// burns meanwhile), and `/metrics` counts codes issued, ended and refused by reason,
/// with no room id in sight.
#[tokio::test]
async fn offer_and_revoke_churn_is_bounded_per_room_and_counted_without_ids() {
    let relay = Relay::start(vroom_relay::Config {
        code_offers_per_minute: 4,
        ..config()
    })
    .await;
    let metrics = relay.metrics().await;
    for line in [
        "vroom_codes_issued_total 0",
        "vroom_code_refusals_total{kind=\"expired\"} 0",
        "vroom_codes_ended_total{kind=\"burned\"} 0",
        "vroom_refusals_total{reason=\"code_offers_per_room\"} 0",
    ] {
        assert!(metrics.contains(line), "/metrics lacks {line}:\n{metrics}");
    }

    let room = room_id(42);
    let mut host = relay.connect().await;
    host.create(room, &secret(42), RoomSettings::default())
        .await;
    let mut last = 0;
    for _ in 0..4 {
        host.send(ClientFrame::CodeOffer).await;
        let Got::CodeOffered(nameplate, _) = next_code(&mut host).await else {
            panic!("a nameplate was expected");
        };
        host.send(ClientFrame::CodeRevoke { nameplate }).await;
        last = nameplate;
    }
    host.send(ClientFrame::CodeOffer).await;
    assert_eq!(
        next_code(&mut host).await,
        Got::Error(ErrorCode::RateLimited)
    );
    // A revoked nameplate is free again: it is unknown until someone is handed it. (Check
    // it before another room is offered a code: nameplates start small, so that room may
    // well be handed the same number.)
    let mut joiner = relay.connect().await;
    assert_eq!(
        open(&mut joiner, last, b"hi").await,
        Got::CodeRefused(last, CodeRefusal::Unknown)
    );
    // Another room is not held back.
    let mut other = relay.connect().await;
    other
        .create(room_id(43), &secret(43), RoomSettings::default())
        .await;
    other.send(ClientFrame::CodeOffer).await;
    let Got::CodeOffered(burned, _) = next_code(&mut other).await else {
        panic!("another room's member gets a code");
    };
    other
        .send(ClientFrame::CodeBurn { nameplate: burned })
        .await;

    assert_eq!(
        open(&mut joiner, burned, b"hi").await,
        Got::CodeRefused(burned, CodeRefusal::Burned)
    );

    assert_eq!(relay.metric("vroom_codes_issued_total").await, 5);
    assert_eq!(
        relay
            .metric("vroom_codes_ended_total{kind=\"revoked\"}")
            .await,
        4
    );
    assert_eq!(
        relay
            .metric("vroom_codes_ended_total{kind=\"burned\"}")
            .await,
        1
    );
    for (kind, count) in [
        ("unknown", 1),
        ("burned", 1),
        ("expired", 0),
        ("too_many", 0),
    ] {
        assert_eq!(
            relay
                .metric(&format!("vroom_code_refusals_total{{kind=\"{kind}\"}}"))
                .await,
            count,
            "{kind}"
        );
    }
    assert_eq!(
        relay
            .metric("vroom_refusals_total{reason=\"code_offers_per_room\"}")
            .await,
        1
    );
    let metrics = relay.metrics().await.to_lowercase();
    for id in [room_id(42).to_hex(), room_id(43).to_hex()] {
        assert!(!metrics.contains(&id), "metrics carry a room id");
    }
    for nameplate in [last, burned] {
        assert!(
            !metrics.contains(&format!("\"{nameplate}\"")),
            "metrics carry a nameplate"
        );
    }
}
