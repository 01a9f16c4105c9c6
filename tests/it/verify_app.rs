//! `vroom verify-app` against real servers: a relay serving the built web app matches
//! it (compared with the build's directory, and with its `BUILD` manifest); a relay
//! serving a copy with one byte of the wasm changed is caught, the file named, the exit
//! code 1; the app on a static host matches too, its relay setting named; a host that
//! hides bytes in a second gzip member is caught; a host that stalls is given up on
//! in the time allowed. Also the loopback servers and the run of `verify-app` that
//! `static_cli` shares.

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vroom_relay::Config;
use vroom_testkit::browser::{app_config, web_dist};
use vroom_testkit::cli::vroom_binary;
use vroom_testkit::relay::Relay;
use vroom_testkit::static_host::StaticHost;
use vroom_testkit::PATIENCE;

/// Runs `vroom verify-app ARGS` (without `VROOM_SERVER` from the environment); returns
/// its exit code, stdout and stderr.
pub(crate) async fn verify_app(args: &[&str]) -> (i32, String, String) {
    let run = tokio::process::Command::new(vroom_binary())
        .arg("verify-app")
        .args(args)
        .env_remove("VROOM_SERVER")
        .kill_on_drop(true)
        .output();
    let Output {
        status,
        stdout,
        stderr,
    } = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("verify-app finishes")
        .expect("verify-app runs");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    eprintln!("{stdout}{stderr}");
    (status.code().expect("an exit code"), stdout, stderr)
}

/// Runs `vroom verify-app --server SERVER` with `build` (`--web-dist DIR` or
/// `--manifest FILE`); returns its exit code and stdout.
async fn verify(server: &str, build: [&str; 2]) -> (i32, String) {
    let (code, out, _) = verify_app(&[&["--server", server][..], &build[..]].concat()).await;
    (code, out)
}

/// What a [`Loopback`] server does with a request, given its head.
pub(crate) enum Answer {
    /// Sends these bytes (status line, headers, body), then closes the connection.
    Bytes(Vec<u8>),
    /// Never answers, and keeps the connection open.
    Stall,
    /// Promises a megabyte, then sends a byte every 50 ms.
    Trickle,
}

/// A 200 answer with `body`, its `content-type` and extra header lines.
pub(crate) fn ok(content_type: &str, extra: &str, body: &[u8]) -> Answer {
    let mut bytes = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n{extra}content-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    Answer::Bytes(bytes)
}

/// A loopback HTTP server that answers each request as told and records each request's
/// head.
pub(crate) struct Loopback {
    pub(crate) origin: String,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Loopback {
    pub(crate) async fn serve(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("an address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let answer = Arc::new(answer);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (answer, log) = (answer.clone(), log.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    log.lock().expect("log").push(head.clone());
                    match answer(&head) {
                        Answer::Bytes(bytes) => {
                            let _ = stream.write_all(&bytes).await;
                        }
                        Answer::Stall => while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {},
                        Answer::Trickle => {
                            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n\
                                        content-length: 1048576\r\n\r\n";
                            let mut sent = stream.write_all(head.as_bytes()).await;
                            while sent.is_ok() {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                sent = stream.write_all(b" ").await;
                            }
                        }
                    }
                });
            }
        });
        Loopback {
            origin,
            requests,
            task,
        }
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("log").clone()
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The path a request head asks for, without its leading `/`.
fn path_of(head: &str) -> &str {
    head.split(' ')
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
}

/// The names of the app's files at the top of `dist`, as the build made them (not
/// their compressed copies, the manifest or the directories).
pub(crate) fn app_files(dist: &Path) -> Vec<String> {
    std::fs::read_dir(dist)
        .expect("list web-dist")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| {
            !n.ends_with(".br") && !n.ends_with(".gz") && n != "BUILD" && !dist.join(n).is_dir()
        })
        .collect()
}

/// The name of the app's wasm in `dist` (`vroom-<hash>.wasm`).
fn app_wasm(dist: &Path) -> String {
    app_files(dist)
        .into_iter()
        .find(|n| n.starts_with("vroom-") && n.ends_with(".wasm"))
        .expect("web-dist has the app's wasm")
}

fn dist_arg(dist: &Path) -> [&str; 2] {
    ["--web-dist", dist.to_str().expect("a UTF-8 path")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_serving_the_build_matches_it_file_by_file() {
    let dist = web_dist();
    let relay = Relay::start(app_config()).await;
    let (code, out) = verify(&relay.origin(), dist_arg(&dist)).await;
    assert_eq!(code, 0, "every file should match:\n{out}");
    let wasm = app_wasm(&dist);
    for file in [wasm.as_str(), "index.html", "/r (serves index.html)"] {
        assert!(
            out.lines().any(|l| l.trim() == format!("match    {file}")),
            "{file} is listed as matching:\n{out}"
        );
    }
    assert!(!out.contains("DIFFERS"), "{out}");

    let manifest = dist.join("BUILD");
    let (code, out) = verify(
        &relay.origin(),
        ["--manifest", manifest.to_str().expect("UTF-8")],
    )
    .await;
    assert_eq!(code, 0, "the BUILD manifest's hashes match too:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_serving_a_changed_wasm_is_caught() {
    let dist = web_dist();
    let tampered = tempfile::tempdir().expect("a directory for the changed copy");
    copy_dir(&dist, tampered.path());
    let wasm = app_wasm(&dist);
    let path = tampered.path().join(&wasm);
    let mut bytes = std::fs::read(&path).expect("read the wasm");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).expect("write the changed wasm");

    let relay = Relay::start(Config {
        web_dir: Some(tampered.path().to_owned()),
        ..app_config()
    })
    .await;
    let (code, out) = verify(&relay.origin(), dist_arg(&dist)).await;
    assert_eq!(code, 1, "a difference exits with 1:\n{out}");
    // The raw file changed; the relay's precompressed copies did not, so only the
    // plain download differs (as a relay serving different bytes to some would).
    assert!(
        out.lines()
            .any(|l| l.trim().starts_with(&format!("DIFFERS  {wasm}"))
                && l.contains("identity: different bytes")),
        "the changed wasm is named:\n{out}"
    );
    assert!(
        out.lines().any(|l| l.trim() == "match    index.html"),
        "the rest still matches:\n{out}"
    );
    assert!(out.contains("does NOT serve this build"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_on_a_static_host_matches_and_its_relay_is_named() {
    let dist = web_dist();
    let site = StaticHost::start(&dist).await;
    site.use_relay("https://relay.example");
    let (code, out) = verify(&site.origin(), dist_arg(&dist)).await;
    assert_eq!(code, 0, "the deployed app is the build:\n{out}");
    assert!(
        out.contains("talk to the relay at https://relay.example"),
        "{out}"
    );

    // Anything else changed in the page is a difference.
    let page = site.dir().join("index.html");
    let html = std::fs::read_to_string(&page).expect("read the page");
    std::fs::write(&page, html.replace("<title>", "<title>x")).expect("write the page");
    let (code, out) = verify(&site.origin(), dist_arg(&dist)).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DIFFERS  index.html"), "{out}");
}

/// Copies `from` into `to`, files and directories.
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("list a directory") {
        let entry = entry.expect("an entry");
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&dest).expect("make a directory");
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy a file");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_in_a_second_gzip_member_are_caught() {
    use std::io::Write;
    let dist = web_dist();
    let gzip = |data: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(data).expect("compress");
        gz.finish().expect("compress")
    };
    // The honest page, then a member that Chromium, reading the first one only, never
    // sees (and `gzip -d` does).
    let page = std::fs::read(dist.join("index.html")).expect("read the page");
    let two = [gzip(&page), gzip(b"<script src=/evil.js></script>")].concat();
    let files = dist.clone();
    let site = Loopback::serve(move |head| {
        let path = path_of(head);
        let file = match path {
            "" | "r" | "r/" => "index.html".to_owned(),
            _ => path.to_owned(),
        };
        let gzip_asked = head
            .lines()
            .any(|l| l.starts_with("Accept-Encoding:") && l.contains("gzip"));
        if file == "index.html" && gzip_asked {
            return ok("text/html", "content-encoding: gzip\r\n", &two);
        }
        match std::fs::read(files.join(&file)) {
            Ok(bytes) => ok("application/octet-stream", "", &bytes),
            Err(_) => Answer::Bytes(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_vec(),
            ),
        }
    })
    .await;
    let (code, out) = verify(&site.origin, dist_arg(&dist)).await;
    assert_eq!(code, 1, "the appended member is a difference:\n{out}");
    let line = out
        .lines()
        .find(|l| l.trim().starts_with("DIFFERS  index.html"))
        .unwrap_or_else(|| panic!("the page is named:\n{out}"));
    assert!(
        line.contains("gzip, deflate, br, zstd: gzip: a second member follows"),
        "as a browser asks for it: {line}"
    );
    assert!(!line.contains("identity"), "the plain page matches: {line}");
    // Every request looked like Chromium's.
    for head in site.requests() {
        assert!(head.contains("Chrome/"), "{head}");
        assert!(head.contains("Sec-Fetch-Dest: "), "{head}");
    }
}

/// A host serving `dist`, except what `special` answers for a request head.
async fn serve_dist_but(
    special: impl Fn(&str) -> Option<Answer> + Send + Sync + 'static,
) -> Loopback {
    let files = web_dist();
    Loopback::serve(move |head| {
        if let Some(answer) = special(head) {
            return answer;
        }
        let path = path_of(head);
        let file = match path {
            "" | "r" | "r/" => "index.html".to_owned(),
            _ => path.to_owned(),
        };
        match std::fs::read(files.join(&file)) {
            Ok(bytes) => ok("application/octet-stream", "", &bytes),
            Err(_) => Answer::Bytes(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_vec(),
            ),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coding_list_a_browser_reads_raw_is_caught() {
    use std::io::Write;
    let dist = web_dist();
    // The honest page gzipped, with other markup in the gzip header's comment:
    // Chromium, seeing `identity` in the list, renders the bytes as sent.
    let page = std::fs::read(dist.join("index.html")).expect("read the page");
    let mut gz = flate2::GzBuilder::new()
        .comment(b"<script src=/evil.js></script>".to_vec())
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&page).expect("compress");
    let body = gz.finish().expect("compress");
    let site = serve_dist_but(move |head| {
        let page = matches!(path_of(head), "" | "r" | "r/" | "index.html");
        (page && head.contains("Accept-Encoding: gzip"))
            .then(|| ok("text/html", "content-encoding: gzip, identity\r\n", &body))
    })
    .await;
    let (code, out) = verify(&site.origin, dist_arg(&dist)).await;
    assert_eq!(code, 1, "the raw page is a difference:\n{out}");
    let line = out
        .lines()
        .find(|l| l.trim().starts_with("DIFFERS  index.html"))
        .unwrap_or_else(|| panic!("the page is named:\n{out}"));
    assert!(line.contains("item `identity`"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirected_file_is_a_difference() {
    let dist = web_dist();
    let loader = app_files(&dist)
        .into_iter()
        .find(|n| n.starts_with("loader-") && n.ends_with(".js"))
        .expect("web-dist has the loader");
    // A module's base URL is where it ends up: from `/x/` it would load `/x/`'s files.
    let moved = loader.clone();
    let redirect = |status: &str, to: &str| {
        Answer::Bytes(
            format!(
                "HTTP/1.1 {status}\r\nlocation: {to}\r\ncontent-length: 0\r\n\
                 connection: close\r\n\r\n"
            )
            .into_bytes(),
        )
    };
    let site = serve_dist_but(move |head| match path_of(head) {
        "r" => Some(redirect("301 Moved Permanently", "/r/")),
        path if path == moved => Some(redirect("302 Found", &format!("/x/{moved}"))),
        _ => None,
    })
    .await;
    let (code, out) = verify(&site.origin, dist_arg(&dist)).await;
    assert_eq!(code, 1, "the redirect is a difference:\n{out}");
    let line = out
        .lines()
        .find(|l| l.trim().starts_with(&format!("DIFFERS  {loader}")))
        .unwrap_or_else(|| panic!("the loader is named:\n{out}"));
    assert!(
        line.contains(&format!("HTTP 302 Found to /x/{loader}")),
        "{line}"
    );
    // Only that file differs: `/r` sent on to `/r/` is what static hosts do.
    assert_eq!(out.matches("DIFFERS").count(), 1, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_stalls_is_given_up_in_the_time_allowed() {
    let dist = web_dist();
    let dist_arg = dist_arg(&dist);
    for trickle in [false, true] {
        let site = Loopback::serve(move |_| {
            if trickle {
                Answer::Trickle
            } else {
                Answer::Stall
            }
        })
        .await;
        let started = Instant::now();
        let (code, out, err) = verify_app(&[
            "--app",
            &site.origin,
            dist_arg[0],
            dist_arg[1],
            "--timeout",
            "2s",
        ])
        .await;
        let took = started.elapsed();
        assert_eq!(code, 2, "no answer means no proof:\n{out}{err}");
        assert!(
            err.contains(&format!(
                "the check did not finish within 2s: the server at {} answers too slowly \
                 or has stopped answering",
                site.origin
            )),
            "{err}"
        );
        assert!(err.contains("--timeout"), "what to do is said: {err}");
        assert!(!out.contains("all ") && !out.contains("match "), "{out}");
        assert!(took < Duration::from_secs(10), "given up in time: {took:?}");
        assert!(!site.requests().is_empty(), "the page was asked for");
    }
}
