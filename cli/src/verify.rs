//! `vroom verify-app`: checks that the web app a relay (or a static host) serves is a
//! known build, byte for byte.
//!
//! The web app holds every key of a room, and whoever serves it could serve another
//! one (PROTOCOL.md §1). This command fetches every file of the app from the server the
//! way a browser would (with the headers Chromium sends for that kind of file; each
//! with every `Accept-Encoding` a browser may send, and plain, since a server could
//! change one variant only; `/` and `/r`, which serve the page) and compares it with a
//! reproducible build of the published sources (`--web-dist`, what `cargo xtask web`
//! writes) or with the SHA-256 list in that build's `BUILD` manifest (`--manifest`).
//! Headers alike only raise the bar: a host can still tell this client from a browser
//! by its TLS handshake, timing, address and more (PROTOCOL.md §1), and serve it the
//! honest app. A redirected file is a difference (a browser would load the files
//! where it leads), but for `/r` sent on to `/r/`. The whole check has a time limit
//! (`--timeout`), and so has each request.
//!
//! The server is a relay (`--server`), the static host of an app hosted apart from the
//! relay (`--app`), or the app an invite link opens (`--link`, whose fragment, the room
//! secret, is never sent). The page's `vroom-relay` meta tag is the one thing a
//! deployment sets (which relay a page hosted apart from it talks to): it is set aside
//! before comparing, and named, with a warning when the clients would refuse it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use url::Url;
use vroom_shared::invite;

use crate::app::{checked_relay, BadRelay};
use crate::http::{is_plain_web_url, Client, Dest, Fetched, Redirects};
use crate::render::clean;

/// The manifest's name in a build's directory.
const MANIFEST: &str = "BUILD";

/// The page, which `/` and `/r` (invite links) serve too.
const PAGE: &str = "index.html";

/// The meta tag a deployment may fill in, as `cargo xtask web` writes it.
const RELAY_META: &[u8] = b"<meta name=\"vroom-relay\" content=\"";

/// The `Accept-Encoding` values each file is fetched with: Chromium's and Firefox's
/// (to `https` and this machine), Safari's, Chromium's to plain `http` elsewhere, and
/// none (a client or proxy that asks for no compression).
const ENCODINGS: [&str; 4] = [
    "gzip, deflate, br, zstd",
    "gzip, deflate, br",
    "gzip, deflate",
    "identity",
];

/// The most one request may take (the app's wasm is a few MB).
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The most one file of the app may weigh, decoded (the app's wasm is a few MB).
const MAX_FILE: usize = 64 << 20;

/// `vroom verify-app`'s flags.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("build").required(true).args(["web_dist", "manifest"])))]
#[command(group(
    clap::ArgGroup::new("where")
        .required(true)
        .multiple(true)
        .args(["server", "app", "link"])
))]
pub(crate) struct VerifyArgs {
    /// The relay whose web app to check, e.g. https://vroom.example.
    #[arg(long, env = "VROOM_SERVER")]
    server: Option<String>,
    /// Or the static host of a web app hosted apart from the relay, e.g.
    /// https://app.example (instead of --server or VROOM_SERVER).
    #[arg(long, value_name = "URL", conflicts_with = "link")]
    app: Option<String>,
    /// Or an invite link: the web app it opens is checked (the room secret after '#'
    /// is sent nowhere and may be left out; instead of --server or VROOM_SERVER).
    #[arg(long)]
    link: Option<String>,
    /// A local build to compare with: the web-dist directory `cargo xtask web` made
    /// from the published sources.
    #[arg(long, value_name = "DIR")]
    web_dist: Option<std::path::PathBuf>,
    /// Or the BUILD manifest (SHA-256 of every file) published with a release.
    #[arg(long, value_name = "FILE")]
    manifest: Option<std::path::PathBuf>,
    /// The most the whole check may take (each request at most 30 s of it); give more
    /// on a slow connection, e.g. 5m.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

/// Runs the check: exit 0 when every file matches, 1 when any differs, 2 when the
/// check could not be made.
pub(crate) async fn command(args: VerifyArgs) -> std::process::ExitCode {
    let expected = match (&args.web_dist, &args.manifest) {
        (Some(dir), _) => expected_from_dir(dir),
        (None, Some(manifest)) => expected_from_manifest(manifest),
        (None, None) => unreachable!("clap requires one of them"),
    };
    // --app or --link before --server, which may come from the environment.
    let server = match (args.server, args.app, args.link) {
        (_, Some(app), _) => Ok(app),
        (_, None, Some(link)) => match invite::link_origin(&link) {
            Ok(origin) => {
                println!(
                    "following the invite link to the web app at {}",
                    clean(&origin)
                );
                Ok(origin)
            }
            Err(err) => Err(VerifyError::Link(err.to_string())),
        },
        (Some(server), None, None) => Ok(server),
        (None, None, None) => unreachable!("clap requires one of them"),
    };
    let outcome = match (server, expected) {
        (Ok(server), Ok(expected)) => {
            match tokio::time::timeout(args.timeout, run(&server, &expected)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(VerifyError::TimedOut {
                    server: clean(&server),
                    limit: humantime::format_duration(args.timeout).to_string(),
                }),
            }
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(err) => {
            eprintln!("vroom: {err}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Why the check could not be made (distinct from "the files differ").
#[derive(Debug, thiserror::Error)]
pub(crate) enum VerifyError {
    #[error("`{0}` is not a server address: give one like https://vroom.example")]
    BadServer(String),
    #[error(
        "`{0}` has a path: the app's page names its files from the root of its host, so \
         a browser loads them from there, not under that path; give the host's address \
         alone, e.g. https://vroom.example"
    )]
    PathPrefix(String),
    #[error("{0}")]
    Link(String),
    #[error("could not read the local build: {0}")]
    Local(String),
    #[error("could not fetch {path} from the server: {why}")]
    Fetch { path: String, why: String },
    #[error(
        "the check did not finish within {limit}: the server at {server} answers too \
         slowly or has stopped answering, so nothing was proven. Try again later, or \
         allow more time on a slow connection with --timeout (e.g. --timeout 5m)."
    )]
    TimedOut { server: String, limit: String },
}

/// The files of a known build: path (relative, `/`-separated) → SHA-256.
pub(crate) type Expected = BTreeMap<String, [u8; 32]>;

/// The files of the build in `dir` (what `cargo xtask web` writes): every file but the
/// compressed siblings and the manifest, hashed here.
pub(crate) fn expected_from_dir(dir: &Path) -> Result<Expected, VerifyError> {
    let local =
        |e: std::io::Error, path: &Path| VerifyError::Local(format!("{}: {e}", path.display()));
    let mut expected = Expected::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(|e| local(e, &current))? {
            let path = entry.map_err(|e| local(e, &current))?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .iter()
                .map(|p| p.to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if name.ends_with(".br") || name.ends_with(".gz") || name == MANIFEST {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| local(e, &path))?;
            expected.insert(name, digest(&page_without_relay(&bytes).0));
        }
    }
    if !expected.contains_key(PAGE) {
        return Err(VerifyError::Local(format!(
            "{} has no {PAGE}: is it a web-dist directory (cargo xtask web)?",
            dir.display()
        )));
    }
    Ok(expected)
}

/// The files listed in a `BUILD` manifest (`<sha256 hex>  <path>` lines; `#` lines are
/// comments).
pub(crate) fn expected_from_manifest(path: &Path) -> Result<Expected, VerifyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VerifyError::Local(format!("{}: {e}", path.display())))?;
    let mut expected = Expected::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            VerifyError::Local(format!(
                "{} line {}: expected `<sha256 hex>  <path>`",
                path.display(),
                n + 1
            ))
        };
        let (hash, name) = line.split_once("  ").ok_or_else(bad)?;
        let mut sha = [0u8; 32];
        hex::decode_to_slice(hash, &mut sha).map_err(|_| bad())?;
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|p| p == "..") {
            return Err(bad());
        }
        expected.insert(name.to_owned(), sha);
    }
    if !expected.contains_key(PAGE) {
        return Err(VerifyError::Local(format!(
            "{} lists no {PAGE}: is it a web app's BUILD manifest?",
            path.display()
        )));
    }
    Ok(expected)
}

/// Fetches every file of `expected` from `server` and prints, file by file, whether it
/// matches. `Ok(true)` when all do.
/// Each request may take up to [`FETCH_TIMEOUT`]; the caller bounds the whole.
pub(crate) async fn run(server: &str, expected: &Expected) -> Result<bool, VerifyError> {
    let base = base_url(server)?;
    // A redirect is a difference: a module script's base URL is where it ends up, so a
    // redirected file makes a browser load files this check never sees.
    let mut client = Client::new(base.clone(), MAX_FILE, FETCH_TIMEOUT).following(Redirects::Never);
    println!(
        "checking the web app at {} against a build of {} files",
        base.as_str().trim_end_matches('/'),
        expected.len()
    );
    // The page is also what `/` and `/r` (invite links) serve.
    let mut checks: Vec<(String, &str)> =
        expected.keys().map(|f| (f.clone(), f.as_str())).collect();
    checks.push((String::new(), PAGE));
    checks.push(("r".to_owned(), PAGE));
    let mut differ = 0;
    let mut relays = Vec::new();
    for (path, file) in &checks {
        let mut problems = Vec::new();
        for encoding in ENCODINGS {
            let fail = |why: String| VerifyError::Fetch {
                path: format!("/{path}"),
                why: clean(&why),
            };
            let mut fetched = client
                .fetch(path, Dest::of(path), encoding)
                .await
                .map_err(fail)?;
            // Invite links' `/r` may be sent on to `/r/` (the page's files are named
            // from the root, so a browser loads the same ones), and no further.
            if let Fetched::Redirect(_, location) = &fetched {
                if path == "r" && base.join(location).ok() == base.join("r/").ok() {
                    fetched = client
                        .fetch("r/", Dest::Document, encoding)
                        .await
                        .map_err(fail)?;
                }
            }
            match fetched {
                Fetched::Redirect(status, location) => problems.push(format!(
                    "{encoding}: HTTP {status} to {location}, which a browser follows \
                     to files this check does not see"
                )),
                Fetched::Missing(status) => problems.push(format!("{encoding}: HTTP {status}")),
                Fetched::Body { bytes: body, .. } => {
                    let (body, relay) = page_without_relay(&body);
                    if let Some(relay) = relay.filter(|r| !r.is_empty()) {
                        if !relays.contains(&relay) {
                            relays.push(relay);
                        }
                    }
                    if digest(&body) != expected[*file] {
                        problems.push(format!("{encoding}: different bytes"));
                    }
                }
                Fetched::BadEncoding(what) | Fetched::TooLong(what) => {
                    problems.push(format!("{encoding}: {what}"))
                }
            }
        }
        let shown = if path.as_str() == *file {
            file.to_string()
        } else {
            format!("/{path} (serves {file})")
        };
        if problems.is_empty() {
            println!("  match    {shown}");
        } else {
            differ += 1;
            // The problems quote what the server answered.
            println!("  DIFFERS  {shown}  [{}]", clean(&problems.join("; ")));
        }
    }
    report_relays(&relays);
    if differ == 0 {
        println!(
            "all {} checked: the server serves exactly this build",
            checks.len()
        );
        Ok(true)
    } else {
        println!(
            "{differ} of {} differ: the server does NOT serve this build; do not trust \
             the app it serves with your rooms",
            checks.len()
        );
        Ok(false)
    }
}

/// Says which relay the page talks to: the one its meta tag names (and whether that is
/// an address the clients accept), or the server that serves it.
fn report_relays(relays: &[String]) {
    if relays.is_empty() {
        println!("note: the page names no relay: it talks to the server that serves it");
    }
    for relay in relays {
        println!(
            "note: the page is set to talk to the relay at {}",
            clean(relay)
        );
        match checked_relay(relay) {
            Ok(_) => {}
            Err(BadRelay::NotAnAddress) => println!(
                "warning: that is not a relay address (https://relay.example): the native \
                 client refuses to join by this app's links"
            ),
            Err(BadRelay::Insecure) => println!(
                "warning: that relay is plain http:// on another machine: the web app and \
                 the native client refuse it"
            ),
        }
    }
    if relays.len() > 1 {
        println!("warning: the server's copies of the page name different relays");
    }
}

/// The page with the content of its `vroom-relay` meta tag taken out, and that content;
/// anything else unchanged. Only one well-formed tag is taken out: a page with two, or
/// with markup inside the value, stays as it is (and so differs).
fn page_without_relay(body: &[u8]) -> (Vec<u8>, Option<String>) {
    let starts: Vec<usize> = body
        .windows(RELAY_META.len())
        .enumerate()
        .filter(|(_, w)| *w == RELAY_META)
        .map(|(i, _)| i + RELAY_META.len())
        .collect();
    let [start] = starts[..] else {
        return (body.to_vec(), None);
    };
    let Some(len) = body[start..].iter().position(|&b| b == b'"') else {
        return (body.to_vec(), None);
    };
    let value = &body[start..start + len];
    // Markup, or a control character (a terminal escape would be printed), is not a
    // relay setting.
    if value
        .iter()
        .any(|&b| matches!(b, b'<' | b'>') || b.is_ascii_control())
    {
        return (body.to_vec(), None);
    }
    let mut page = body[..start].to_vec();
    page.extend_from_slice(&body[start + len..]);
    (page, Some(String::from_utf8_lossy(value).into_owned()))
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `server` as a base URL: its root. An address with a path is refused, as the page
/// names its files from the root (`/vroom-….js`) wherever it is served.
fn base_url(server: &str) -> Result<Url, VerifyError> {
    let bad = || VerifyError::BadServer(server.to_owned());
    let url = Url::parse(server.trim()).map_err(|_| bad())?;
    if !is_plain_web_url(&url) {
        return Err(bad());
    }
    if url.path() != "/" {
        return Err(VerifyError::PathPrefix(server.to_owned()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_relay_setting_is_set_aside() {
        let built = b"<head><meta name=\"vroom-relay\" content=\"\"><title>v</title>";
        let deployed =
            b"<head><meta name=\"vroom-relay\" content=\"https://r.example\"><title>v</title>";
        let (a, none) = page_without_relay(built);
        let (b, relay) = page_without_relay(deployed);
        assert_eq!(a, b);
        assert_eq!(none.as_deref(), Some(""));
        assert_eq!(relay.as_deref(), Some("https://r.example"));
        // Markup smuggled into the value, or a second tag, is not set aside.
        let smuggled = b"<meta name=\"vroom-relay\" content=\"x\n<script src=e.js></script>\">";
        assert_eq!(page_without_relay(smuggled).0, smuggled.to_vec());
        // So is a value with a terminal escape.
        let escape = b"<meta name=\"vroom-relay\" content=\"https://r.example\x1b[2K\">";
        assert_eq!(page_without_relay(escape), (escape.to_vec(), None));
        let twice = [&built[..], &built[..]].concat();
        assert_eq!(page_without_relay(&twice).0, twice);
    }

    #[test]
    fn server_addresses_become_base_urls() {
        assert_eq!(
            base_url("https://vroom.example").unwrap().as_str(),
            "https://vroom.example/"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8080/").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        // The page's files are named from the root: a path would check other files.
        for prefixed in ["http://127.0.0.1:8080/chat", "https://vroom.example/chat/"] {
            let err = base_url(prefixed).unwrap_err().to_string();
            assert!(err.contains("has a path"), "{err}");
        }
        assert!(base_url("vroom.example").is_err());
        assert!(base_url("ftp://vroom.example").is_err());
        assert!(base_url("https://vroom.example/?x=1").is_err());
        assert!(base_url("http://localhost:x@evil.example").is_err());
    }
}
