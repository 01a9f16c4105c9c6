//! Build, run and test orchestration: `cargo xtask <command>`.
//!
//! # Layout
//! - `web`: builds the web app into `web-dist/` (see [`web`]).
//! - `reproducible`: builds the web app twice from scratch in two places and compares
//!   (see [`reproducible`]).
//! - `run`: builds the web app, then runs the relay serving it.
//! - `test`: every check and test of the project, in one command (see [`test`]).
//! - `screenshots`: retakes the README's pictures with the browser tests.
//! - [`setup`]: installs what `run` and `test` need on a machine with only rustup
//!   (the wasm target; for `test` also Debian packages, rustfmt, clippy and the wasm
//!   test runner), checking first, so the README's two commands are the whole set-up.
//!
//! Everything here drives `cargo`, `rustup`, `apt-get` and libraries from the package
//! registry; nothing is downloaded from anywhere else.

mod reproducible;
mod setup;
mod test;
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

const HELP: &str = "\
usage: cargo xtask <command> [args]

commands:
  web                  build the web app (wasm, JS glue, HTML, CSS) into web-dist/
  reproducible         build the web app twice from scratch, from copies of the sources
                       at two paths, and check that the bytes are the same (slow)
  reproducible --quick build web-dist/, then again from a copy of the sources
                       elsewhere sharing the target directory, and compare (as the
                       test command does)
  run [relay flags]    build the web app, then run the relay serving it
                       (e.g. cargo xtask run --listen 127.0.0.1:8080)
  test                 run every check and test: fmt, clippy, unit, end-to-end,
                       wasm tests in headless Chromium, browser tests
  screenshots          refresh docs/screenshots/*.png from the real app
  help                 show this text
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| "help".to_owned());
    let rest: Vec<String> = args.collect();
    let outcome = match command.as_str() {
        "web" => web::build().map(|_| ()),
        "reproducible" => match rest.first().map(String::as_str) {
            Some("--quick") => web::build().and_then(|dist| reproducible::quick(&dist)),
            _ => reproducible::full(),
        },
        "run" => run(&rest),
        "test" => test::all(),
        "screenshots" => test::screenshots(),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => {
            eprint!("xtask: unknown command `{other}`\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nxtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the web app, then runs the relay in the foreground, serving it.
fn run(relay_args: &[String]) -> Result<()> {
    let dist = web::build()?;
    step("run the relay");
    let mut cmd = cargo();
    cmd.args(["run", "--release", "-p", "vroom-relay", "--", "--web-dir"])
        .arg(&dist)
        .args(relay_args);
    exec(&mut cmd)
}

/// The workspace's root directory (the parent of this crate).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_owned()
}

/// A `cargo` command run from the workspace root, with the same cargo that runs us.
fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root());
    cmd
}

/// When this run started and when its last step did, for the step timings.
static CLOCK: Mutex<Option<(Instant, Instant)>> = Mutex::new(None);

/// Prints the heading of a step, so a failure is easy to place in a long log, with
/// how long the step before it took and the time since the run started, so a slow
/// step is easy to find.
fn step(name: &str) {
    let now = Instant::now();
    let mut clock = CLOCK.lock().unwrap_or_else(|poison| poison.into_inner());
    match clock.as_mut() {
        Some((start, last)) => {
            eprintln!(
                "\n(that step: {}; since the start: {})",
                minutes(now - *last),
                minutes(now - *start)
            );
            *last = now;
        }
        None => *clock = Some((now, now)),
    }
    eprintln!("\n==> {name}");
}

/// Prints how long the last step and the whole run took.
fn finish() {
    step("done");
}

/// A duration as minutes and seconds.
fn minutes(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{}m {:02}s", seconds / 60, seconds % 60)
}

/// Runs a command to completion; a failure names the command.
fn exec(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

/// The command line of `cmd`, for messages.
fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Cargo's target directory for this workspace (respects `CARGO_TARGET_DIR` and
/// configuration, because cargo itself answers).
fn target_dir() -> Result<PathBuf> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("could not run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed invalid JSON")?;
    let dir = metadata["target_directory"]
        .as_str()
        .context("cargo metadata has no target_directory")?;
    Ok(PathBuf::from(dir))
}
