//! The ways into a room besides the link, with real relays and real `vroom` processes:
//! room name + passphrase (the same name with another passphrase is another room that
//! sees nothing of the first; creating a live one and joining a missing one say what to
//! do instead; the passphrase never on the command line).

use std::path::PathBuf;

use vroom_testkit::cli::Client;
use vroom_testkit::relay::{test_config, Relay};

/// A passphrase in a file of its own, as `--passphrase-file` reads it.
struct PassFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl PassFile {
    fn new(passphrase: &str) -> PassFile {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("passphrase");
        // A trailing line break, as an editor or `echo` leaves it: it does not count.
        std::fs::write(&path, format!("{passphrase}\n")).expect("write the passphrase file");
        PassFile { _dir: dir, path }
    }

    fn arg(&self) -> &str {
        self.path.to_str().expect("a UTF-8 temporary path")
    }
}

/// `vroom create --name NAME --passphrase-file F`: waits for the invite link it prints.
async fn create_named(origin: &str, nick: &str, name: &str, pass: &PassFile) -> (Client, String) {
    Client::create(
        origin,
        nick,
        &["--name", name, "--passphrase-file", pass.arg()],
    )
    .await
}

/// `vroom join --server ORIGIN --name NAME --passphrase-file F`.
fn join_named(origin: &str, nick: &str, name: &str, pass: &PassFile) -> Client {
    Client::spawn(
        nick,
        &[
            "join",
            "--server",
            origin,
            "--name",
            name,
            "--passphrase-file",
            pass.arg(),
            "--nick",
            nick,
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_name_with_two_passphrases_is_two_rooms_that_see_nothing_of_each_other() {
    let relay = Relay::start(test_config()).await;
    let origin = relay.origin();
    let ours = PassFile::new("plum kayak otter seventeen");
    let theirs = PassFile::new("violet harbour quilt ninety");

    // Both groups "create the same room": each gets its own.
    let (mut ada, ada_link) = create_named(&origin, "ada", "Book Club", &ours).await;
    let (mut bob, bob_link) = create_named(&origin, "bob", "  book   CLUB ", &theirs).await;
    assert_ne!(ada_link, bob_link, "two passphrases made one room");

    // Joiners retype the name their own way; the passphrase picks the room.
    let mut cara = join_named(&origin, "cara", "BOOK club", &ours);
    cara.expect_joined("ada").await;
    ada.expect_joined("cara").await;
    // The passphrase from the environment instead of a file.
    let mut dan = Client::spawn_env(
        "dan",
        &[
            "join",
            "--server",
            &origin,
            "--name",
            "book club",
            "--nick",
            "dan",
        ],
        &[("VROOM_PASSPHRASE", "violet harbour quilt ninety")],
    );
    dan.expect_joined("bob").await;
    bob.expect_joined("dan").await;

    cara.say("only-for-ada").await;
    dan.say("only-for-bob").await;
    ada.expect("cara: only-for-ada").await;
    bob.expect("dan: only-for-bob").await;
    // A last message in each room, seen by both of its members: everything sent before
    // it has arrived, so what is absent now never came.
    ada.say("end-a").await;
    bob.say("end-b").await;
    for (client, end) in [
        (&mut ada, "ada: end-a"),
        (&mut cara, "ada: end-a"),
        (&mut bob, "bob: end-b"),
        (&mut dan, "bob: end-b"),
    ] {
        client.expect(end).await;
    }
    for (client, foreign) in [
        (&mut ada, ["bob", "dan"]),
        (&mut cara, ["bob", "dan"]),
        (&mut bob, ["ada", "cara"]),
        (&mut dan, ["ada", "cara"]),
    ] {
        let lines = client.all_lines().await;
        for nick in foreign {
            assert!(
                !lines.iter().any(
                    |l| l.starts_with(&format!("{nick}: ")) || l.contains(&format!(" {nick} "))
                ),
                "a member of one room saw {nick} of the other: {lines:#?}"
            );
        }
    }
    // The creator of each is its host; the joiners are not.
    ada.say("/end").await;
    cara.expect("-- The host ended this room. Everything in it has been deleted.")
        .await;
    dan.say("/end").await;
    bob.say("still-here").await;
    dan.expect("bob: still-here").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_live_name_offers_to_join_and_joining_a_missing_one_offers_to_create() {
    let relay = Relay::start(test_config()).await;
    let origin = relay.origin();
    let pass = PassFile::new("plum kayak otter seventeen");

    let mut early = join_named(&origin, "eve", "nobody here", &pass);
    early.expect_error_exit("no such room:").await;
    assert!(early
        .stderr()
        .contains("vroom create --server URL --name NAME"));

    let (mut ada, _link) = create_named(&origin, "ada", "Our Room", &pass).await;
    let mut again = Client::spawn(
        "bob",
        &[
            "create",
            "--server",
            &origin,
            "--name",
            "our room",
            "--passphrase-file",
            pass.arg(),
        ],
    );
    again.expect_error_exit("this room exists:").await;
    assert!(again
        .stderr()
        .contains("vroom join --server URL --name NAME"));
    // The refused creator changed nothing: the room goes on with its host.
    let mut cara = join_named(&origin, "cara", "our room", &pass);
    cara.expect_joined("ada").await;
    ada.expect_joined("cara").await;
    ada.say("/end").await;
    cara.expect("-- The host ended this room. Everything in it has been deleted.")
        .await;
    // Once ended, the name is free again, for a new host.
    let (mut bob, _) = create_named(&origin, "bob", "our room", &pass).await;
    bob.say("/end").await;
    bob.expect_clean_exit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_passphrase_comes_from_a_file_or_the_environment_never_an_argument() {
    let relay = Relay::start(test_config()).await;
    let origin = relay.origin();
    let base = ["create", "--server", origin.as_str(), "--name", "room"];

    let mut none = Client::spawn("ada", &base);
    none.expect_error_exit("a room name needs its passphrase")
        .await;

    let mut plain = Client::spawn(
        "ada",
        &[&base[..], &["--passphrase", "secret words here"]].concat(),
    );
    let (status, stderr) = plain.wait_exit().await;
    assert!(!status.success(), "a plain --passphrase was accepted");
    assert!(stderr.contains("--passphrase"), "{stderr}");

    let short = PassFile::new("short");
    let mut weak = Client::spawn(
        "ada",
        &[&base[..], &["--passphrase-file", short.arg()]].concat(),
    );
    weak.expect_error_exit("The passphrase is too short").await;

    // Long enough but guessable: refused as the web app refuses it, unless the user
    // accepts the risk.
    let guessable = PassFile::new("password123456");
    let with_guessable = [&base[..], &["--passphrase-file", guessable.arg()]].concat();
    let mut refused = Client::spawn("ada", &with_guessable);
    let stderr = refused.expect_error_exit("this passphrase is weak (").await;
    assert!(stderr.contains("--weak-passphrase-ok"), "{stderr}");
    let mut accepted = Client::spawn(
        "ada",
        &[&with_guessable[..], &["--weak-passphrase-ok"]].concat(),
    );
    accepted
        .expect_line("the invite link", |l| l.contains("/r#"))
        .await;
    accepted.kill().await;

    let mut missing = Client::spawn(
        "ada",
        &[
            &base[..],
            &["--passphrase-file", "/nonexistent/vroom-passphrase"],
        ]
        .concat(),
    );
    missing
        .expect_error_exit("cannot read the passphrase file /nonexistent/vroom-passphrase")
        .await;

    let mut empty_name = Client::spawn_env(
        "ada",
        &["create", "--server", &origin, "--name", "   "],
        &[("VROOM_PASSPHRASE", "plum kayak otter seventeen")],
    );
    empty_name.expect_error_exit("The room name is empty").await;
}

/// After a kick, a room's name and passphrase let nobody in (the removed member knows
/// them, PROTOCOL.md §11.4): joining by name says so and what to do; the renewed link
/// the host is shown still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kick_the_name_and_passphrase_admit_nobody_and_the_new_link_does() {
    let relay = Relay::start(test_config()).await;
    let pass = PassFile::new("correct horse battery staple orbit");
    let (mut ada, _) = create_named(&relay.origin(), "ada", "book club", &pass).await;
    let mut bob = join_named(&relay.origin(), "bob", "book club", &pass);
    ada.expect_joined("bob").await;
    bob.expect_joined("ada").await;

    ada.say("/kick bob").await;
    const NEW_LINK: &str = "-- New invite link: ";
    let renewed = ada
        .expect_line("the new invite link", |l| l.starts_with(NEW_LINK))
        .await[NEW_LINK.len()..]
        .to_owned();
    bob.expect("-- The host or a moderator removed you from this room.")
        .await;
    bob.expect_clean_exit().await;

    let mut again = join_named(&relay.origin(), "bob", "book club", &pass);
    again
        .expect_error_exit("this room's name and passphrase no longer let anyone in")
        .await;

    let mut cara = Client::join(&renewed, "cara");
    ada.expect_joined("cara").await;
    cara.expect_joined("ada").await;
}
