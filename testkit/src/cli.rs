//! The native client (`vroom`, package `vroom-cli`) as a child process: built once per
//! test run, started with piped stdin/stdout/stderr, read line by line with a deadline.
//!
//! Every wait fails with everything the client printed so far, so a failing test shows
//! what the user would have seen.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use crate::PATIENCE;

/// Path of the `vroom` binary: `$VROOM_CLI_BIN` if set, else built (once per process)
/// with the same cargo, profile and target directory as this test binary.
pub fn vroom_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| match std::env::var_os("VROOM_CLI_BIN") {
        Some(path) => PathBuf::from(path),
        None => build_vroom(),
    })
}

/// `cargo build -p vroom-cli --bin vroom`, reading the binary's path from cargo's JSON
/// messages rather than guessing the target directory's layout.
fn build_vroom() -> PathBuf {
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace");
    let mut command = std::process::Command::new(&cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "-p",
            "vroom-cli",
            "--bin",
            "vroom",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run `{cargo} build -p vroom-cli`: {e}"));
    assert!(
        output.status.success(),
        "`cargo build -p vroom-cli --bin vroom` failed (its errors are above)"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "vroom")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .expect("cargo built vroom-cli but reported no `vroom` executable")
}

/// A room on `origin` with `ada` as host (created with `extra` flags) and `bob` in it,
/// who have seen each other join; and its invite link.
pub async fn room_of_two(origin: &str, extra: &[&str]) -> (Client, Client, String) {
    let (mut ada, link) = Client::create(origin, "ada", extra).await;
    let mut bob = Client::join(&link, "bob");
    ada.expect_joined("bob").await;
    bob.expect_joined("ada").await;
    (ada, bob, link)
}

/// [`room_of_two`] and `cara`, the three having seen each other join; and the link.
pub async fn room_of_three(origin: &str, extra: &[&str]) -> (Client, Client, Client, String) {
    let (mut ada, mut bob, link) = room_of_two(origin, extra).await;
    let mut cara = Client::join(&link, "cara");
    ada.expect_joined("cara").await;
    bob.expect_joined("cara").await;
    cara.expect_joined_all(&["ada", "bob"]).await;
    (ada, bob, cara, link)
}

/// One running `vroom` process.
pub struct Client {
    /// Names this client in failure messages.
    name: String,
    /// The process; killed when the client is dropped.
    child: Child,
    /// Lines typed into the client; `None` once closed (end of input makes it leave).
    stdin: Option<ChildStdin>,
    /// Stdout lines not yet consumed by an `expect_*` call.
    lines: mpsc::UnboundedReceiver<String>,
    /// Every stdout line so far, consumed or not, for failure messages and final checks.
    seen: Vec<String>,
    /// Everything written to stderr so far.
    stderr: Arc<Mutex<String>>,
    /// The task copying stderr, awaited at exit so that nothing written is missed.
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
}

impl Client {
    /// Starts `vroom ARGS...`. `name` labels it in failure messages.
    pub fn spawn(name: &str, args: &[&str]) -> Client {
        Client::spawn_env(name, args, &[])
    }

    /// Starts `vroom ARGS...` with `env` added to an environment that holds no
    /// `VROOM_SERVER` or `VROOM_PASSPHRASE` of the test's own.
    pub fn spawn_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Client {
        let mut child = Command::new(vroom_binary())
            .args(args)
            .env_remove("VROOM_PASSPHRASE")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("VROOM_SERVER")
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", vroom_binary().display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr is piped");
        let sink = stderr.clone();
        let stderr_reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Client {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// `vroom create --server ORIGIN --nick NICK EXTRA...`; waits for the invite link
    /// (the first stdout line) and returns it with the client.
    pub async fn create(origin: &str, nick: &str, extra: &[&str]) -> (Client, String) {
        let mut args = vec!["create", "--server", origin, "--nick", nick];
        args.extend_from_slice(extra);
        let mut client = Client::spawn(nick, &args);
        let link = client
            .expect_line("the invite link", |l| l.contains("/r#"))
            .await;
        assert!(
            link.starts_with(&format!("{origin}/r#")),
            "{nick}: the first line should be an invite link on {origin}, got {link:?}"
        );
        (client, link)
    }

    /// `vroom join LINK --nick NICK` (does not wait for anything).
    pub fn join(link: &str, nick: &str) -> Client {
        Client::spawn(nick, &["join", link, "--nick", nick])
    }

    /// Types one line (a message or a slash command).
    pub async fn say(&mut self, line: &str) {
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{}: stdin is already closed", self.name));
        let written = async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.write_all(b"\n").await?;
            stdin.flush().await
        };
        if let Err(e) = written.await {
            self.fail(&format!("could not type {line:?}: {e}")).await;
        }
    }

    /// Types one line if the client still reads input; false when it has gone (it may
    /// end at any moment, e.g. when a room's lifetime runs out).
    pub async fn try_say(&mut self, line: &str) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_ok()
            && stdin.flush().await.is_ok()
    }

    /// Closes stdin: the client leaves the room.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Consumes stdout lines until one matches `pred`, and returns it. Fails after
    /// [`PATIENCE`], or when stdout ends, with everything seen so far.
    pub async fn expect_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Ok(None) => self.fail(&format!("stdout ended before {what}")).await,
                Err(_) => self.fail(&format!("no line with {what} in time")).await,
            }
        }
    }

    /// Waits for exactly this line.
    pub async fn expect(&mut self, exact: &str) {
        self.expect_line(&format!("{exact:?}"), |l| l == exact)
            .await;
    }

    /// Waits for `-- NICK joined (safety words: ...)` and returns the safety words.
    pub async fn expect_joined(&mut self, nick: &str) -> String {
        let prefix = format!("-- {nick} joined (safety words: ");
        let line = self
            .expect_line(&format!("{nick} joining"), |l| l.starts_with(&prefix))
            .await;
        line[prefix.len()..].trim_end_matches(')').to_owned()
    }

    /// Waits until every line of `lines` has been printed, in whatever order.
    pub async fn expect_all(&mut self, lines: &[String]) {
        let mut missing: Vec<&String> = lines.iter().collect();
        while !missing.is_empty() {
            let what = format!("{} more of {missing:?}", missing.len());
            let line = self
                .expect_line(&what, |l| missing.iter().any(|m| *m == l))
                .await;
            missing.retain(|m| **m != line);
        }
    }

    /// Waits until every one of `nicks` has joined, in whatever order, and returns
    /// their safety words in the order of `nicks`.
    pub async fn expect_joined_all(&mut self, nicks: &[&str]) -> Vec<String> {
        let mut words: Vec<Option<String>> = vec![None; nicks.len()];
        while words.iter().any(Option::is_none) {
            let missing: Vec<&str> = nicks
                .iter()
                .zip(&words)
                .filter(|(_, w)| w.is_none())
                .map(|(n, _)| *n)
                .collect();
            let line = self
                .expect_line(&format!("{missing:?} joining"), |l| {
                    missing
                        .iter()
                        .any(|n| l.starts_with(&format!("-- {n} joined (safety words: ")))
                })
                .await;
            for (nick, w) in nicks.iter().zip(words.iter_mut()) {
                let prefix = format!("-- {nick} joined (safety words: ");
                if let Some(rest) = line.strip_prefix(&prefix) {
                    *w = Some(rest.trim_end_matches(')').to_owned());
                }
            }
        }
        words.into_iter().flatten().collect()
    }

    /// Waits for the process to end (it must, within [`PATIENCE`]); returns its status
    /// and everything it wrote to stderr. Unread stdout lines stay readable.
    pub async fn wait_exit(&mut self) -> (ExitStatus, String) {
        match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.drain().await;
                if let Some(reader) = self.stderr_reader.take() {
                    let _ = tokio::time::timeout(PATIENCE, reader).await;
                }
                (status, self.stderr())
            }
            Ok(Err(e)) => panic!("{}: could not wait for the process: {e}", self.name),
            Err(_) => self.fail("the process did not exit in time").await,
        }
    }

    /// Waits for a successful exit (status 0, nothing on stderr).
    pub async fn expect_clean_exit(&mut self) {
        let (status, stderr) = self.wait_exit().await;
        if !status.success() || !stderr.is_empty() {
            self.fail(&format!("expected exit 0 without errors, got {status}"))
                .await;
        }
    }

    /// Waits for exit status 0 (stderr may hold refusals of earlier commands).
    pub async fn expect_exit_ok(&mut self) {
        let (status, _) = self.wait_exit().await;
        if !status.success() {
            self.fail(&format!("expected exit 0, got {status}")).await;
        }
    }

    /// Waits for a failed exit and returns stderr, which must hold `vroom: SENTENCE`.
    pub async fn expect_error_exit(&mut self, sentence: &str) -> String {
        let (status, stderr) = self.wait_exit().await;
        if status.success() || !stderr.contains(&format!("vroom: {sentence}")) {
            self.fail(&format!(
                "expected a non-zero exit with \"vroom: {sentence}\" on stderr, got {status}"
            ))
            .await;
        }
        stderr
    }

    /// Kills the process at once (no goodbye to the relay), like a closed laptop lid.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Every stdout line so far (after draining what is already buffered).
    pub async fn all_lines(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.clone()
    }

    /// Everything on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Reads stdout to its end (after the process exited).
    async fn drain(&mut self) {
        while let Ok(Some(line)) = tokio::time::timeout(PATIENCE, self.lines.recv()).await {
            self.seen.push(line);
        }
    }

    /// Fails the test with everything this client printed.
    pub async fn fail(&mut self, why: &str) -> ! {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        // Give stderr a moment to arrive: the reason for a failure is often there.
        tokio::time::sleep(Duration::from_millis(100)).await;
        panic!(
            "{}: {why}\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            self.name,
            self.seen.join("\n"),
            self.stderr()
        );
    }
}
