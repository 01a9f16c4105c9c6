//! The native client and a web app hosted apart from the relay: `vroom create --app`
//! makes links that open the app on the static host, `vroom join` by such a link reads
//! the page (never sending the link's secret) and talks to the relay its `vroom-relay`
//! meta tag names; a page naming no relay leaves the link's origin as the relay; a page
//! naming an unsafe or unusable relay is refused with a sentence, and one too long is
//! not read; `vroom verify-app`
//! checks the app on the static host by its address or by an invite link.

use vroom_relay::Config;
use vroom_shared::crypto::{OsRng, RoomSecret};
use vroom_shared::invite::Invite;
use vroom_testkit::browser::{app_config, web_dist};
use vroom_testkit::cli::Client;
use vroom_testkit::relay::{test_config, Relay};
use vroom_testkit::static_host::StaticHost;

use crate::verify_app::{app_files, ok, verify_app, Loopback};

/// A relay that serves no web app and admits pages from `site` besides its own.
async fn relay_for(site: &str) -> Relay {
    Relay::start(Config {
        app_origins: vec![site.parse().expect("an origin")],
        ..test_config()
    })
    .await
}

/// `vroom create --server RELAY --app APP --nick NICK`, and its invite link.
async fn create_with_app(relay: &str, app: &str, nick: &str) -> (Client, String) {
    let mut client = Client::spawn(
        nick,
        &["create", "--server", relay, "--app", app, "--nick", nick],
    );
    let link = client
        .expect_line("the invite link", |l| l.contains("/r#"))
        .await;
    assert!(
        link.starts_with(&format!("{app}/r#")),
        "the link should open the app at {app}, got {link:?}"
    );
    (client, link)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_to_the_static_host_leads_to_the_relay_its_page_names() {
    let site = StaticHost::start(&web_dist()).await;
    let relay = relay_for(&site.origin()).await;
    site.use_relay(&relay.origin());

    let (mut ada, link) = create_with_app(&relay.origin(), &site.origin(), "ada").await;
    let mut bob = Client::join(&link, "bob");
    bob.expect(&format!(
        "-- Relay: {} (named by the app at {})",
        relay.origin(),
        site.origin()
    ))
    .await;
    bob.expect_joined("ada").await;
    ada.expect_joined("bob").await;
    ada.say("hello by the static host's link").await;
    bob.expect("ada: hello by the static host's link").await;
    bob.say("and back").await;
    ada.expect("bob: and back").await;

    // The links the joiner shows open the app there too.
    bob.say("/invite").await;
    bob.expect_line("the room's link on the static host", |l| {
        l.starts_with(&format!("{}/r#", site.origin()))
    })
    .await;
    assert_eq!(relay.rooms().await, 1, "the room is on the relay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_naming_no_relay_leaves_the_link_origin_as_the_relay() {
    // The relay serves the app itself, its page without any vroom-relay meta tag.
    let site = tempfile::tempdir().expect("a directory for the app");
    copy_without_meta(&web_dist(), site.path());
    let relay = Relay::start(Config {
        web_dir: Some(site.path().to_owned()),
        ..app_config()
    })
    .await;
    let page = relay.get("/r", "").await;
    assert_eq!(page.status, 200, "the relay serves the page at /r");
    assert!(
        !String::from_utf8_lossy(&page.body).contains("vroom-relay"),
        "the page names no relay"
    );

    let (mut ada, link) = Client::create(&relay.origin(), "ada", &[]).await;
    let mut bob = Client::join(&link, "bob");
    bob.expect_joined("ada").await;
    ada.expect_joined("bob").await;
    ada.say("same relay as the link").await;
    bob.expect("ada: same relay as the link").await;
    let lines = bob.all_lines().await;
    assert!(
        !lines.iter().any(|l| l.starts_with("-- Relay:")),
        "no other relay is named: {lines:?}"
    );
}

/// A page, served for every path by a loopback server that records each request's head.
async fn serve_page(html: String) -> Loopback {
    Loopback::serve(move |_| ok("text/html", "", html.as_bytes())).await
}

fn page_naming(content: &str) -> String {
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><meta name="vroom-relay" content="{content}"><title>vroom</title></head><body></body></html>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_naming_an_unusable_relay_is_refused_and_never_sees_the_secret() {
    let two = format!(
        "{}{}",
        page_naming("https://relay.example"),
        page_naming("https://other.example")
    );
    for (html, sentence) in [
        (
            page_naming("http://relay.example"),
            "names its relay as 'http://relay.example', which uses http:// to another \
             machine, so the room would travel unprotected.",
        ),
        (
            page_naming("relay.example"),
            "names its relay as 'relay.example', which is not a relay address",
        ),
        (two, "names more than one relay"),
        // Terminal escapes in the value: refused, and never written to the terminal.
        (
            page_naming("https://relay.example/\x1b[1A\x1b[2K"),
            "names its relay as 'https://relay.example/ [1A [2K', which is not a relay address",
        ),
    ] {
        let page = serve_page(html).await;
        let invite = Invite::new(&page.origin, RoomSecret::generate(&mut OsRng));
        let link = invite.link();
        let secret = link.split_once('#').expect("a fragment").1.to_owned();
        let mut bob = Client::join(&link, "bob");
        let stderr = bob
            .expect_error_exit(&format!("the web app at {}", page.origin))
            .await;
        assert!(stderr.contains(sentence), "{stderr}");
        assert!(!stderr.contains('\x1b'), "{stderr:?}");
        let requests = page.requests();
        assert_eq!(requests.len(), 1, "the page is read once: {requests:?}");
        assert!(
            requests[0].starts_with("GET /r HTTP/1.1\r\n"),
            "{requests:?}"
        );
        // Read as Chromium navigates to a page.
        for line in [
            "Sec-Fetch-Mode: navigate",
            "Sec-Fetch-Dest: document",
            "Chrome/",
        ] {
            assert!(requests[0].contains(line), "{line}: {requests:?}");
        }
        assert!(
            !requests[0].contains('#') && !requests[0].contains(&secret),
            "the room secret stays on this machine: {requests:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_too_long_to_read_is_refused() {
    // The relay named at the end of a page of 2 MB, past what the client reads: a
    // browser would take it, so the link's origin is not tried instead.
    let mut html = "<!-- padding -->".repeat((2 << 20) / 16);
    html.push_str(&page_naming("https://relay.example"));
    let page = serve_page(html).await;
    let link = Invite::new(&page.origin, RoomSecret::generate(&mut OsRng)).link();
    let mut bob = Client::join(&link, "bob");
    let stderr = bob
        .expect_error_exit(&format!(
            "cannot tell which relay the web app at {} uses: its page is longer than \
             1048576 bytes, more than is read",
            page.origin
        ))
        .await;
    assert!(!stderr.contains("relay.example"), "{stderr}");
    assert!(
        page.requests()
            .iter()
            .any(|r| r.starts_with("GET /r HTTP/1.1\r\n")),
        "the page was asked for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_with_a_name_before_its_host_is_refused_unread() {
    // A URL parser reads the host after '@': here the page server, not `localhost`.
    let page = serve_page(page_naming("")).await;
    let host = page.origin.strip_prefix("http://").expect("an http origin");
    let link = Invite::new(&page.origin, RoomSecret::generate(&mut OsRng)).link();
    let fragment = link.split_once('#').expect("a fragment").1;
    let mut bob = Client::join(&format!("http://localhost:x@{host}/r#{fragment}"), "bob");
    let stderr = bob
        .expect_error_exit("This invite link has a name with '@' before its host")
        .await;
    assert!(stderr.contains("Ask for the link again"), "{stderr}");
    assert!(page.requests().is_empty(), "nothing is fetched");

    let mut ada = Client::spawn(
        "ada",
        &[
            "create",
            "--server",
            &format!("http://localhost:x@{host}"),
            "--nick",
            "ada",
        ],
    );
    ada.expect_error_exit(&format!(
        "'http://localhost:x@{host}' has a name with '@' before its host, which no relay \
         address has"
    ))
    .await;
    assert!(page.requests().is_empty(), "nothing is fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_not_made_for_an_app_that_talks_to_another_relay() {
    let relay = Relay::start(test_config()).await;
    let page = serve_page(page_naming("https://other.example")).await;
    let mut ada = Client::spawn(
        "ada",
        &[
            "create",
            "--server",
            &relay.origin(),
            "--app",
            &page.origin,
            "--nick",
            "ada",
        ],
    );
    ada.expect_error_exit(&format!(
        "the web app at {} talks to the relay at https://other.example, not to {}",
        page.origin,
        relay.origin()
    ))
    .await;
    assert_eq!(relay.rooms().await, 0, "no room was made");
}

/// Runs `vroom verify-app ARGS`; returns its exit code and stdout.
async fn verify(args: &[&str]) -> (i32, String) {
    let (code, out, _) = verify_app(args).await;
    (code, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_app_checks_the_static_host_by_address_and_by_link() {
    let dist = web_dist();
    let dist_arg = dist.to_str().expect("a UTF-8 path");
    let site = StaticHost::start(&dist).await;
    let relay = relay_for(&site.origin()).await;
    site.use_relay(&relay.origin());
    let link = Invite::new(&site.origin(), RoomSecret::generate(&mut OsRng)).link();
    // The origin is all verify-app needs: a link without its secret works too.
    let bare = format!("{}/r", site.origin());

    let files = app_files(&dist);
    for way in [
        ["--app", &site.origin()],
        ["--link", &link],
        ["--link", &bare],
    ] {
        let (code, out) = verify(&[way[0], way[1], "--web-dist", dist_arg]).await;
        assert_eq!(code, 0, "the deployed app is the build:\n{out}");
        for file in files.iter().map(String::as_str).chain(["r/index.html"]) {
            assert!(
                out.lines().any(|l| l.trim() == format!("match    {file}")),
                "{file} matches:\n{out}"
            );
        }
        assert!(!out.contains("DIFFERS"), "{out}");
        assert!(
            out.contains(&format!("talk to the relay at {}", relay.origin())),
            "the relay it names is reported:\n{out}"
        );
    }

    // One file altered on the host: named as differing, whichever way it is reached.
    let style = files
        .iter()
        .find(|n| n.ends_with(".css"))
        .expect("the app has a style sheet");
    let path = site.dir().join(style);
    let mut bytes = std::fs::read(&path).expect("read the style sheet");
    bytes.extend_from_slice(b"\nbody{display:none}");
    std::fs::write(&path, bytes).expect("change the style sheet");
    for way in [["--app", &site.origin()], ["--link", &link]] {
        let (code, out) = verify(&[way[0], way[1], "--web-dist", dist_arg]).await;
        assert_eq!(code, 1, "a difference exits with 1:\n{out}");
        assert!(
            out.lines()
                .any(|l| l.trim().starts_with(&format!("DIFFERS  {style}"))),
            "the altered file is named:\n{out}"
        );
        assert!(
            out.lines().any(|l| l.trim() == "match    index.html"),
            "{out}"
        );
    }
}

/// Copies the app in `from` to `to` with the `vroom-relay` meta tag taken out of its
/// pages (their compressed copies left out, so that only the changed page is served).
fn copy_without_meta(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).expect("list the app") {
        let entry = entry.expect("an entry");
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let name = entry.file_name().to_string_lossy().into_owned();
        if source.is_dir() {
            std::fs::create_dir_all(&dest).expect("make a directory");
            copy_without_meta(&source, &dest);
        } else if name == "index.html" {
            let html = std::fs::read_to_string(&source).expect("read the page");
            let meta = r#"<meta name="vroom-relay" content="">"#;
            assert!(html.contains(meta), "the built page has an empty relay tag");
            std::fs::write(&dest, html.replace(meta, "")).expect("write the page");
        } else if !name.starts_with("index.html.") {
            std::fs::copy(&source, &dest).expect("copy a file");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_app_writes_no_terminal_escapes_a_host_serves() {
    let dist = web_dist();
    let dist_arg = dist.to_str().expect("a UTF-8 path");
    // Every path answers with a page whose relay setting would erase the line above.
    let page = serve_page(page_naming("https://r.example/\x1b[1A\x1b[2K")).await;
    let (code, out) = verify(&["--app", &page.origin, "--web-dist", dist_arg]).await;
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains('\x1b'), "{out:?}");
    assert!(
        out.lines()
            .any(|l| l.trim().starts_with("DIFFERS  r/index.html")
                || l.trim().starts_with("DIFFERS  /r (serves index.html)")),
        "the page with escapes differs:\n{out}"
    );
}
