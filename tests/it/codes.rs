//! Short codes with real relays and real `vroom` processes: two joiners with one code;
//! a wrong code refused with a clear sentence, and the third wrong attempt burning the
//! code so that even the right one is refused; revoking; the code's maker offline.

use vroom_testkit::cli::Client;
use vroom_testkit::relay::{test_config, Relay};

/// The sentence a joiner gets for a wrong code.
const WRONG: &str = "That code did not work. It may be mistyped, or someone may be guessing it.";

/// Waits for the `Short code: N-word-word (...)` line and returns the code.
async fn expect_code(client: &mut Client) -> String {
    let line = client
        .expect_line("a short code", |l| l.starts_with("-- Short code: "))
        .await;
    line["-- Short code: ".len()..]
        .split_whitespace()
        .next()
        .expect("the code after the label")
        .to_owned()
}

/// The same code with its last word changed (to another word of the list).
fn mistyped(code: &str) -> String {
    let (head, last) = code.rsplit_once('-').expect("a code has dashes");
    let other = if last == "acid" { "acorn" } else { "acid" };
    format!("{head}-{other}")
}

fn join_by_code(origin: &str, nick: &str, code: &str) -> Client {
    Client::spawn(
        nick,
        &["join", "--server", origin, "--code", code, "--nick", nick],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_join_with_one_code_and_three_wrong_attempts_burn_it() {
    let relay = Relay::start(test_config()).await;
    let origin = relay.origin();
    let (mut ada, _link) = Client::create(&origin, "ada", &["--code"]).await;
    let code = expect_code(&mut ada).await;

    let mut bob = join_by_code(&origin, "bob", &code);
    bob.expect_joined("ada").await;
    ada.expect_joined("bob").await;
    let mut cara = join_by_code(&origin, "cara", &code);
    cara.expect_joined("ada").await;
    ada.expect_joined("cara").await;
    cara.say("in by code").await;
    bob.expect("cara: in by code").await;

    // Three wrong attempts: each told clearly; the third burns the code.
    for _ in 0..3 {
        let mut eve = join_by_code(&origin, "eve", &mistyped(&code));
        eve.expect_error_exit(WRONG).await;
    }
    ada.expect_line("the burned notice", |l| l.contains("no longer works"))
        .await;
    let mut late = join_by_code(&origin, "dan", &code);
    late.expect_error_exit("This code no longer works").await;

    // A new code, revoked: refused as unknown.
    ada.say("/code").await;
    let fresh = expect_code(&mut ada).await;
    assert_ne!(fresh, code);
    ada.say("/code revoke").await;
    ada.expect_line("the revocation", |l| {
        l.starts_with("-- revoked 1 short code")
    })
    .await;
    let mut refused = join_by_code(&origin, "dan", &fresh);
    refused.expect_error_exit("There is no such code.").await;

    // The code's maker gone: offline (its place kept for the grace), then unknown.
    ada.say("/code").await;
    let orphan = expect_code(&mut ada).await;
    ada.kill().await;
    let mut offline = join_by_code(&origin, "dan", &orphan);
    offline
        .expect_error_exit("The person who made this code is not connected right now.")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_on_another_relay_joins_by_code_through_one_redis() {
    let redis = vroom_testkit::redis::RedisServer::start();
    let config = || {
        let mut c = test_config();
        c.redis_url = Some(vroom_relay::config::RedisUrl(redis.url()));
        c
    };
    let one = Relay::start(config()).await;
    let two = Relay::start(config()).await;
    let (mut ada, _link) = Client::create(&one.origin(), "ada", &["--code"]).await;
    let code = expect_code(&mut ada).await;
    let mut bob = join_by_code(&two.origin(), "bob", &code);
    bob.expect_joined("ada").await;
    ada.expect_joined("bob").await;
    let mut eve = join_by_code(&two.origin(), "eve", &mistyped(&code));
    eve.expect_error_exit(WRONG).await;
}
