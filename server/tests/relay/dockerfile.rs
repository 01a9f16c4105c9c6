//! What can be checked of the Dockerfile without a container engine: a multi-stage
//! build, a final image that runs as an unprivileged user, and a `HEALTHCHECK` whose
//! command, run as plain shell against a real relay process, passes while the relay
//! answers and fails once it is gone.

use std::path::Path;
use std::process::Command;

use vroom_testkit::process::RelayProcess;

fn dockerfile() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile"))
        .expect("read the Dockerfile")
}

/// The `HEALTHCHECK`'s command, from its exec form `CMD ["a", "b", …]`.
fn healthcheck() -> Vec<String> {
    let file = dockerfile();
    let line = file
        .lines()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("the Dockerfile has a HEALTHCHECK");
    let array = line
        .split_once("CMD [")
        .and_then(|(_, rest)| rest.strip_suffix(']'))
        .expect("HEALTHCHECK … CMD [\"…\", …]");
    array
        .trim()
        .strip_prefix('"')
        .and_then(|a| a.strip_suffix('"'))
        .expect("quoted arguments")
        .split("\", \"")
        .map(|arg| arg.replace("\\\\", "\\"))
        .collect()
}

fn run(command: &[String], port: u16) -> bool {
    let args: Vec<String> = command
        .iter()
        .map(|a| a.replace("/8080", &format!("/{port}")))
        .collect();
    Command::new(&args[0])
        .args(&args[1..])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run the HEALTHCHECK command")
        .success()
}

#[test]
fn the_final_image_is_small_and_unprivileged() {
    let file = dockerfile();
    let stages: Vec<&str> = file.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(stages.len() >= 2, "a multi-stage build: {stages:?}");
    let last = file.rsplit("\nFROM ").next().unwrap();
    assert!(
        last.starts_with("debian:") && last.contains("-slim"),
        "{last}"
    );
    let user = last
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage sets a USER");
    assert!(!user.starts_with('0') && user != "root", "runs as {user}");
    assert!(last.contains("VROOM_LISTEN=0.0.0.0:8080") && last.contains("EXPOSE 8080"));
}

#[tokio::test]
async fn the_healthcheck_passes_while_the_relay_answers_and_fails_after() {
    let command = healthcheck();
    let bin = Path::new(env!("CARGO_BIN_EXE_vroom-relay"));
    let relay = RelayProcess::start(bin, &[], &[("RUST_LOG", "info")]);
    let port = relay.addr().port();
    let check = command.clone();
    let healthy = tokio::task::spawn_blocking(move || run(&check, port))
        .await
        .unwrap();
    assert!(healthy, "the HEALTHCHECK failed against a running relay");
    relay.stop();
    let healthy = tokio::task::spawn_blocking(move || run(&command, port))
        .await
        .unwrap();
    assert!(!healthy, "the HEALTHCHECK passed with no relay");
}
