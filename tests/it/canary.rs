//! The relay is blind: many distinct canary strings, typed as messages, edits,
//! reactions, replies, actions and private messages, chosen as nicknames by native
//! clients, and sent as a file's name and contents, never appear in anything the relay
//! received (recorded by a proxy in front of it, unmasked, both directions), logged (at
//! trace level, every crate, captured in-process) or exported (`/metrics`). Neither does
//! the room secret;
//! nor do the room id or member ids appear in its metrics or in its logs at the default
//! level.
//!
//! The relay stores only what it receives, so the recording covers its buffer too.

use vroom_shared::crypto::RoomSecret;
use vroom_shared::invite::Invite;
use vroom_shared::wire::ClientFrame;
use vroom_testkit::cli::Client;
use vroom_testkit::logs;
use vroom_testkit::proxy::{Dir, Proxy};
use vroom_testkit::relay::{test_config, Relay};
use vroom_testkit::ws::{self, Got};

/// A fresh, unguessable, recognisable string.
fn canary(kind: &str) -> String {
    format!("{kind}{:016x}", rand::random::<u64>())
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canaries_never_reach_the_relay_its_logs_or_its_metrics() {
    let logs = logs::capture();
    let relay = Relay::start(test_config()).await;
    let proxy = Proxy::start(relay.addr()).await;

    let nicks = [canary("nA"), canary("nB"), canary("nC")];
    let renamed = canary("nD");
    let (mut host, link) = Client::create(&proxy.origin(), &nicks[0], &[]).await;
    // Members take files into a directory of their own.
    let downloads = tempfile::tempdir().expect("a download directory");
    let download_dir = downloads.path().display().to_string();
    let member = |nick: &str| {
        Client::spawn(
            nick,
            &[
                "join",
                &link,
                "--nick",
                nick,
                "--download-dir",
                &download_dir,
                "--accept-files",
            ],
        )
    };
    let mut members = vec![member(&nicks[1]), member(&nicks[2])];
    host.expect_joined_all(&[&nicks[1], &nicks[2]].map(String::as_str))
        .await;
    members[0]
        .expect_joined_all(&[&nicks[0], &nicks[2]].map(String::as_str))
        .await;
    members[1]
        .expect_joined_all(&[&nicks[0], &nicks[1]].map(String::as_str))
        .await;

    // Every client sends canaries; every other client must show them, so they did
    // travel through the relay (in some form).
    let mut texts = Vec::new();
    let mut secrets_typed = Vec::new();
    for round in 0..4 {
        for (i, client) in std::iter::once(&mut host)
            .chain(members.iter_mut())
            .enumerate()
        {
            let text = format!("{} and {}", canary("msg"), canary(&format!("r{round}c{i}")));
            client.say(&text).await;
            texts.push((nicks[i].clone(), text));
        }
    }
    for client in std::iter::once(&mut host).chain(members.iter_mut()) {
        let shown: Vec<String> = texts
            .iter()
            .map(|(nick, text)| format!("{nick}: {text}"))
            .collect();
        client.expect_all(&shown).await;
    }
    // A new nickname travels in an announcement, then labels messages.
    members[1].say(&format!("/nick {renamed}")).await;
    let last = canary("last");
    members[1].say(&last).await;
    for client in std::iter::once(&mut host).chain(members.iter_mut()) {
        client
            .expect(&format!("-- {} is now {renamed}", nicks[2]))
            .await;
        client.expect(&format!("{renamed}: {last}")).await;
    }
    secrets_typed.push(last.clone());

    // Around messages: everyone has shown the same 13 messages, so "13" is the last,
    // the renamed member's own. It edits it; the host reacts to it (a reaction is any
    // short string without spaces, so a canary fits); a member replies to it and acts;
    // the host sends a private message to one member.
    let (edit, reaction, reply, action, private) = (
        canary("edit"),
        canary("rx"),
        canary("reply"),
        canary("me"),
        canary("dm"),
    );
    members[1].say(&format!("/edit 13 {edit}")).await;
    host.say(&format!("/react 13 {reaction}")).await;
    members[0].say(&format!("/reply 13 {reply}")).await;
    members[0].say(&format!("/me {action}")).await;
    host.say(&format!("/dm {} {private}", nicks[1])).await;
    let around = [
        format!("{renamed}: {edit} (edited)"),
        format!("-- {} reacted {reaction} to message 13", nicks[0]),
        format!("{} (reply to 13): {reply}", nicks[1]),
        format!("* {} {action}", nicks[1]),
    ];
    let private_lines = [
        format!("(private) {} to {}: {private}", nicks[0], nicks[1]),
        format!("(private) {} to you: {private}", nicks[0]),
    ];
    for (i, client) in std::iter::once(&mut host)
        .chain(members.iter_mut())
        .enumerate()
    {
        let mut expected = around.to_vec();
        if let Some(line) = private_lines.get(i) {
            expected.push(line.clone());
        }
        client.expect_all(&expected).await;
    }
    secrets_typed.extend([edit, reaction, reply, action, private.clone()]);

    // A file: its name and its contents are canaries too.
    let file_name = format!("{}.txt", canary("fname"));
    let file_text = canary("fbody");
    let outbox = tempfile::tempdir().expect("a directory for the file to send");
    let file = outbox.path().join(&file_name);
    std::fs::write(&file, file_text.repeat(50)).expect("write the file to send");
    host.say(&format!("/send {}", file.display())).await;
    for client in members.iter_mut() {
        client
            .expect_line("the file received", |l| {
                l.starts_with(&format!("-- received {file_name} "))
            })
            .await;
    }
    host.expect(&format!("-- sent {file_name} to 2 member(s)"))
        .await;
    let received: Vec<_> = std::fs::read_dir(downloads.path())
        .expect("the download directory")
        .map(|e| std::fs::read_to_string(e.expect("an entry").path()).expect("a file"))
        .collect();
    assert_eq!(received, vec![file_text.repeat(50); 2]);
    secrets_typed.push(file_name.trim_end_matches(".txt").to_owned());
    secrets_typed.push(file_text);
    let metrics_live = relay.metrics().await;

    host.say("/end").await;
    host.expect_clean_exit().await;
    for member in &mut members {
        member.expect_clean_exit().await;
    }
    // The third member never showed the private message.
    let third = members[1].all_lines().await;
    assert!(!third.iter().any(|l| l.contains(&private)), "{third:?}");
    relay.wait_rooms(0).await;
    let metrics_after = relay.metrics().await;

    // Positive control: a client that sent plaintext would be caught by this search.
    let control = canary("plain");
    let mut raw = ws::Client::connect(proxy.addr()).await;
    raw.send(ClientFrame::Send {
        to: None,
        payload: control.as_bytes(),
    })
    .await;
    assert!(matches!(raw.recv_control().await, Got::Error(_)));
    drop(raw);
    relay.stop().await;

    let recorded = proxy.recorded();
    let received: Vec<u8> = recorded
        .iter()
        .filter(|f| f.dir == Dir::ToRelay)
        .flat_map(|f| f.bytes.iter().copied())
        .collect();
    let sent: Vec<u8> = recorded
        .iter()
        .filter(|f| f.dir == Dir::ToClient)
        .flat_map(|f| f.bytes.iter().copied())
        .collect();
    let logged = logs.bytes();
    let log_text = String::from_utf8_lossy(&logged);
    assert!(
        contains(&received, control.as_bytes()),
        "the recording must see what clients send"
    );
    assert!(
        log_text.contains("room created") && log_text.contains("room terminated"),
        "the capture must hold the relay's own log lines ({} bytes captured)",
        logged.len()
    );
    assert!(
        log_text.contains("TRACE"),
        "the capture must run at trace level"
    );
    assert!(metrics_live.contains("vroom_relayed_frames"));

    let mut secrets: Vec<String> = nicks.to_vec();
    secrets.extend(secrets_typed);
    secrets.push(renamed);
    for (_, text) in &texts {
        secrets.extend(text.split(" and ").map(str::to_owned));
    }
    let places: [(&str, &[u8]); 5] = [
        ("the frames the relay received", &received),
        ("the frames the relay sent", &sent),
        ("the relay's logs", &logged),
        ("/metrics while the room was live", metrics_live.as_bytes()),
        ("/metrics after the room ended", metrics_after.as_bytes()),
    ];
    // Canaries are ASCII, so a lossy text view keeps every occurrence, and `str`'s
    // search stays fast over megabytes of trace logs.
    let texts_of: Vec<(&str, String)> = places
        .iter()
        .map(|(place, bytes)| (*place, String::from_utf8_lossy(bytes).into_owned()))
        .collect();
    for secret in &secrets {
        for (place, text) in &texts_of {
            assert!(
                !text.contains(secret.as_str()),
                "canary {secret:?} found in {place}"
            );
        }
    }

    // The room secret never leaves the clients, in any form.
    let fragment = link.split_once('#').expect("a link has a fragment").1;
    let invite = Invite::parse(&link).expect("a valid link");
    let secret_bytes = invite.secret().as_bytes().to_vec();
    for (place, text) in &texts_of {
        assert!(!text.contains(fragment), "the link's secret is in {place}");
    }
    for (place, bytes) in places {
        assert!(
            !contains(bytes, &secret_bytes),
            "the room secret is in {place}"
        );
    }
    // Logs and metrics carry no room id and no member id by default.
    let room = invite.secret().room_id();
    assert!(
        contains(&received, &room.0),
        "the relay does get the room id"
    );
    let ids: Vec<String> = proxy
        .conns()
        .iter()
        .filter_map(|c| c.me)
        .map(|m| m.0.to_string())
        .collect();
    assert!(
        ids.len() >= 3,
        "every client was welcomed through the proxy"
    );
    // Identifiers are checked in what an operator sees by default (`info`, the relay's
    // default level) and in the relay's own lines at every level. Dependencies' trace
    // lines (tungstenite dumps whole frames in hex, ciphertext and room id included)
    // only appear when an operator asks for them with RUST_LOG.
    let default_view: String = log_text
        .lines()
        .filter(|l| {
            [" INFO ", " WARN ", " ERROR "]
                .iter()
                .any(|lvl| l.contains(lvl))
                || l.contains(" vroom_relay")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(default_view.contains("room created"));
    let observed = [
        ("the relay's logs", default_view.as_str()),
        ("/metrics", metrics_live.as_str()),
        ("/metrics", metrics_after.as_str()),
    ];
    for (place, text) in observed {
        for (what, needle) in std::iter::once(("the room id", room.to_hex()))
            .chain(ids.iter().map(|id| ("a member id", id.clone())))
        {
            if let Some(line) = text.lines().find(|l| l.contains(needle.as_str())) {
                panic!("{what} is in {place}: {}", &line[..line.len().min(600)]);
            }
        }
    }
}

/// Bob, just in, says hello; Ada sees it and ends the room; both exit. Answers the
/// room secret of Ada's link.
async fn talk_and_end(ada: &mut Client, bob: &mut Client, link: &str) -> RoomSecret {
    bob.expect_joined("ada").await;
    ada.expect_joined("bob").await;
    bob.say("hello, new room").await;
    ada.expect("bob: hello, new room").await;
    ada.say("/end").await;
    bob.expect_clean_exit().await;
    ada.expect_clean_exit().await;
    Invite::parse(link)
        .expect("the creator's link")
        .secret()
        .clone()
}

/// A room found by name and passphrase: the relay (through a recording proxy) never
/// receives or sends the name, the passphrase or the room secret they derive, though
/// two members meet and talk through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_name_and_passphrase_never_reach_the_relay() {
    let relay = Relay::start(test_config()).await;
    let proxy = Proxy::start(relay.addr()).await;
    let name = canary("name");
    let passphrase = canary("pass");
    let env = [("VROOM_PASSPHRASE", passphrase.as_str())];
    let origin = proxy.origin();
    let mut ada = Client::spawn_env(
        "ada",
        &[
            "create", "--server", &origin, "--name", &name, "--nick", "ada",
        ],
        &env,
    );
    let link = ada
        .expect_line("the invite link", |l| l.contains("/r#"))
        .await;
    let mut bob = Client::spawn_env(
        "bob",
        &[
            "join", "--server", &origin, "--name", &name, "--nick", "bob",
        ],
        &env,
    );
    let secret = talk_and_end(&mut ada, &mut bob, &link).await;
    relay.stop().await;
    let all: Vec<u8> = proxy
        .recorded()
        .iter()
        .flat_map(|f| f.bytes.iter().copied())
        .collect();
    assert!(
        contains(&all, &secret.room_id().0),
        "the recording must hold the room id the clients sent"
    );
    for (what, bytes) in [
        ("room name", name.as_bytes()),
        ("passphrase", passphrase.as_bytes()),
        ("room secret", secret.as_bytes().as_slice()),
    ] {
        assert!(!contains(&all, bytes), "the relay saw the {what}");
    }
}

/// A room joined by short code: the relay (through a recording proxy) carries the
/// exchange, yet never receives or sends the code's words, the SPAKE2 password or the
/// room secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_code_never_reaches_the_relay() {
    let relay = Relay::start(test_config()).await;
    let proxy = Proxy::start(relay.addr()).await;
    let origin = proxy.origin();
    let (mut ada, link) = Client::create(&origin, "ada", &["--code"]).await;
    let line = ada
        .expect_line("a short code", |l| l.starts_with("-- Short code: "))
        .await;
    let code = line["-- Short code: ".len()..]
        .split_whitespace()
        .next()
        .expect("the code")
        .to_owned();
    let mut bob = Client::spawn(
        "bob",
        &[
            "join", "--server", &origin, "--code", &code, "--nick", "bob",
        ],
    );
    let secret = talk_and_end(&mut ada, &mut bob, &link).await;
    relay.stop().await;
    let recorded = proxy.recorded();
    assert!(
        recorded.iter().any(|f| matches!(
            ClientFrame::decode(&f.bytes),
            Ok(ClientFrame::CodeOpen { .. })
        )),
        "the exchange must have travelled through the relay"
    );
    let all: Vec<u8> = recorded
        .iter()
        .flat_map(|f| f.bytes.iter().copied())
        .collect();
    let (nameplate, words) = code.split_once('-').expect("nameplate-word-word");
    assert!(nameplate.bytes().all(|b| b.is_ascii_digit()));
    let mut secrets: Vec<(&str, &[u8])> = vec![
        ("code", code.as_bytes()),
        ("room secret", secret.as_bytes().as_slice()),
        ("SPAKE2 password", vroom_shared::ways::code::LABEL_PASSWORD),
    ];
    for word in words.split('-') {
        secrets.push(("code word", word.as_bytes()));
    }
    for (what, bytes) in secrets {
        assert!(!contains(&all, bytes), "the relay saw the {what}");
    }
}
