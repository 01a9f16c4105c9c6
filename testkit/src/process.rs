//! The relay binary as a child process: its whole stderr captured, its resident memory
//! read from `/proc`, stopped with SIGTERM (or killed when dropped).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::PATIENCE;

/// A `vroom-relay` process listening on a free loopback port.
pub struct RelayProcess {
    /// The process; killed on drop if still running.
    child: Child,
    /// Where it listens.
    addr: SocketAddr,
    /// Everything it wrote to stderr so far.
    log: Arc<Mutex<String>>,
    /// The stderr reader, done when the process has closed stderr.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl RelayProcess {
    /// Starts the relay binary at `bin` with `args` (`--listen` is added) and `env`,
    /// and waits until it listens.
    pub fn start(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> RelayProcess {
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .env_remove("VROOM_REDIS_URL")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start the relay {}: {e}", bin.display()));
        let stderr = child.stderr.take().expect("a piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("listening") {
                        let addr = line
                            .split_whitespace()
                            .find_map(|w| w.strip_prefix("address="))
                            .and_then(|a| a.parse::<SocketAddr>().ok());
                        if let Some(addr) = addr {
                            let _ = addr_tx.send(addr);
                        }
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        let addr = addr_rx.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "the relay never said where it listens; its log:\n{}",
                log.lock().unwrap_or_else(|e| e.into_inner())
            )
        });
        RelayProcess {
            child,
            addr,
            log,
            reader: Some(reader),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its resident set size now, in KiB (`VmRSS` in `/proc/PID/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read the relay's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line")
    }

    /// Stops it with SIGTERM, waits for it to exit, and returns its whole stderr.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the relay") {
                assert!(status.success(), "the relay exited with {status}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the relay did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.clone()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
