//! A real `redis-server` for tests: started on a free loopback port with its own
//! temporary directory, stopped (SIGKILL) when the guard is dropped.
//!
//! Tests never touch a Redis they did not start (in particular not the machine's
//! default one on port 6379), so they can scan and inspect the whole keyspace freely.
//! It depends on nothing of the relay's, so the relay's unit tests (which see another
//! copy of the relay's types than this crate) can use it as well.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The binary the harness runs; override with `VROOM_REDIS_SERVER`.
const DEFAULT_BINARY: &str = "redis-server";

/// How long a fresh `redis-server` may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server` owned by one test.
pub struct RedisServer {
    /// The process; `None` while the server is stopped by [`RedisServer::stop`].
    child: Option<Child>,
    /// Fixed for the guard's life, so a restarted server is found at the same URL.
    port: u16,
    /// Holds the server's working directory (logs, and a snapshot across a restart);
    /// deleted with the guard.
    dir: tempfile::TempDir,
    /// The binary, resolved once so a restart uses the same one.
    binary: PathBuf,
    /// For a server that lives as long as the test process: our end of the pipe its
    /// watchdog shell reads; when it closes (the process ended), the shell kills it.
    watchdog: Option<ChildStdin>,
    /// Arguments after the common ones (a cluster node's settings).
    extra: Vec<String>,
    /// For a server that also speaks TLS: its TLS port, and the directory holding the
    /// certificates made for it (`ca.pem`, `server.pem`, `server.key`).
    tls: Option<(u16, tempfile::TempDir)>,
}

impl RedisServer {
    /// Starts a server on a free loopback port. Panics with an installation hint when
    /// `redis-server` is missing, and with its log when it does not come up.
    pub fn start() -> RedisServer {
        Self::start_with(false, Vec::new())
    }

    /// Like [`RedisServer::start`], for a `static` shared by a whole test binary:
    /// statics are never dropped, so the server runs under a small shell that kills it
    /// as soon as this process ends (its end of a pipe closes). It cannot be stopped
    /// or restarted.
    pub fn start_for_process() -> RedisServer {
        Self::start_with(true, Vec::new())
    }

    /// Like [`RedisServer::start`], also listening for TLS on a second free port, with a
    /// server certificate for `localhost` and `127.0.0.1` signed by a CA made for this
    /// server alone ([`RedisServer::tls_url`], [`RedisServer::ca_file`]).
    pub fn start_tls() -> RedisServer {
        let certs = tempfile::Builder::new()
            .prefix("vroom-redis-tls-")
            .tempdir()
            .expect("create a temporary directory for certificates");
        make_certificates(certs.path());
        let port = free_port();
        let mut server = Self::start_with(false, tls_args(port, certs.path()));
        server.tls = Some((port, certs));
        server
    }

    /// `rediss://localhost:TLS-PORT` with RESP3, for a server from
    /// [`RedisServer::start_tls`].
    pub fn tls_url(&self) -> String {
        let (port, _) = self.tls.as_ref().expect("a server started with start_tls");
        format!("rediss://localhost:{port}/?protocol=resp3")
    }

    /// The PEM file of the CA that signed the server's certificate (for
    /// `--redis-ca-file`).
    pub fn ca_file(&self) -> PathBuf {
        let (_, dir) = self.tls.as_ref().expect("a server started with start_tls");
        dir.path().join("ca.pem")
    }

    /// Starts a server with `extra` arguments after the common ones; `watchdog` as in
    /// [`RedisServer::start_for_process`].
    pub(crate) fn start_with(watchdog: bool, extra: Vec<String>) -> RedisServer {
        let binary = find_binary();
        let mut dir = tempfile::Builder::new()
            .prefix("vroom-redis-")
            .tempdir()
            .expect("create a temporary directory for redis-server");
        // A port freed by the OS can be taken again before the server binds it; try a
        // few before giving up.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisServer {
                child: None,
                port,
                dir,
                binary: binary.clone(),
                watchdog: None,
                extra: extra.clone(),
                tls: None,
            };
            match server.spawn_and_wait(watchdog) {
                Ok(()) => return server,
                Err(log) => {
                    last_log = log;
                    dir = server.take_dir();
                }
            }
        }
        panic!("redis-server did not start on a free loopback port; its log:\n{last_log}");
    }

    /// `redis://127.0.0.1:PORT` with RESP3, the form the relay's `--redis-url` takes.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/?protocol=resp3", self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the server's process is running (not stopped or killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL, as a crash: no snapshot, no goodbye to the cluster. Not for a
    /// process-wide server.
    pub fn kill(&mut self) {
        self.stop(false);
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        read_log(&self.dir.path().join("redis.log"))
    }

    /// A plain synchronous connection for inspecting the keyspace from a test.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("a valid Redis URL")
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("connect to the test's redis-server")
    }

    /// Stops the server. With `keep_data` a snapshot is written first, so
    /// [`RedisServer::restart`] brings the same keys back (as an operator's Redis with
    /// persistence would); without it the data is lost, as with a crash.
    pub fn stop(&mut self, keep_data: bool) {
        assert!(
            self.watchdog.is_none(),
            "a process-wide server cannot be stopped"
        );
        if keep_data {
            let _: () = redis::cmd("SAVE")
                .query(&mut self.connection())
                .expect("SAVE on the test's redis-server");
        }
        self.kill_child();
        if !keep_data {
            let _ = std::fs::remove_file(self.dir.path().join("dump.rdb"));
        }
    }

    /// Starts the server again on the same port after [`RedisServer::stop`].
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart() needs a stopped server");
        if let Err(log) = self.spawn_and_wait(false) {
            panic!(
                "redis-server did not restart on port {}; its log:\n{log}",
                self.port
            );
        }
    }

    /// Every key in the server, found with `SCAN` (never `KEYS`), with its `PTTL`
    /// in milliseconds (-1: no expiry, -2: gone meanwhile).
    pub fn keys_with_ttl(&self) -> Vec<(String, i64)> {
        let mut conn = self.connection();
        let keys: Vec<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter::<String>(&mut conn)
            .expect("SCAN the test's redis-server")
            .map(|key| key.expect("a key name"))
            .collect();
        keys.into_iter()
            .map(|key| {
                let ttl: i64 = redis::cmd("PTTL")
                    .arg(&key)
                    .query(&mut conn)
                    .expect("PTTL on the test's redis-server");
                (key, ttl)
            })
            .filter(|(_, ttl)| *ttl != -2)
            .collect()
    }

    /// Panics, naming the keys, if any key in the server has no expiry.
    pub fn assert_every_key_expires(&self) {
        let forever: Vec<String> = self
            .keys_with_ttl()
            .into_iter()
            .filter(|(_, ttl)| *ttl < 0)
            .map(|(key, _)| key)
            .collect();
        assert!(
            forever.is_empty(),
            "these Redis keys have no TTL: {forever:?}"
        );
    }

    /// How often each command ran since the last `CONFIG RESETSTAT`, from
    /// `INFO commandstats` (commands run inside scripts are counted too).
    pub fn command_calls(&self) -> std::collections::BTreeMap<String, u64> {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut self.connection())
            .expect("INFO commandstats on the test's redis-server");
        parse_commandstats(&info)
    }

    /// Clears `INFO commandstats` (and the other counters).
    pub fn reset_stats(&self) {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut self.connection())
            .expect("CONFIG RESETSTAT on the test's redis-server");
    }

    fn spawn_and_wait(&mut self, watchdog: bool) -> Result<(), String> {
        let log_path = self.dir.path().join("redis.log");
        let mut command = if watchdog {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(r#"bin="$1"; shift; "$bin" "$@" </dev/null & pid=$!; read -r _; kill -9 $pid"#)
                .arg("sh")
                .arg(&self.binary);
            sh
        } else {
            Command::new(&self.binary)
        };
        let mut child = command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .args(["--protected-mode", "yes"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log_path)
            .args(&self.extra)
            .stdin(if watchdog {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not run {}: {e}", self.binary.display());
            });
        self.watchdog = child.stdin.take();
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_status)) = child.try_wait() {
                    self.child = None;
                    return Err(read_log(&log_path));
                }
            }
            if self.ping() {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill_child();
                return Err(read_log(&log_path));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)) else {
            return false;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_millis(200)) else {
            return false;
        };
        redis::cmd("PING").query::<String>(&mut conn).is_ok()
    }

    fn kill_child(&mut self) {
        // Closing the pipe makes the watchdog shell kill the server and exit.
        let watched = self.watchdog.take().is_some();
        if let Some(mut child) = self.child.take() {
            if watched {
                let _ = child.wait();
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn take_dir(mut self) -> tempfile::TempDir {
        self.kill_child();
        let placeholder = tempfile::Builder::new()
            .prefix("vroom-redis-")
            .tempdir()
            .expect("create a temporary directory for redis-server");
        std::mem::replace(&mut self.dir, placeholder)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill_child();
    }
}

fn find_binary() -> PathBuf {
    let name = std::env::var_os("VROOM_REDIS_SERVER").unwrap_or_else(|| DEFAULT_BINARY.into());
    let candidate = PathBuf::from(&name);
    if candidate.components().count() > 1 {
        if candidate.is_file() {
            return candidate;
        }
    } else if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let full = dir.join(&candidate);
            if full.is_file() {
                return full;
            }
        }
    }
    panic!(
        "redis-server not found: install it with `apt-get install redis-server` \
         (or point VROOM_REDIS_SERVER at the binary)"
    );
}

/// The arguments that make a server listen for TLS on `port` with the certificates that
/// [`make_certificates`] wrote into `dir`.
pub(crate) fn tls_args(port: u16, dir: &std::path::Path) -> Vec<String> {
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    vec![
        "--tls-port".into(),
        port.to_string(),
        "--tls-cert-file".into(),
        file("server.pem"),
        "--tls-key-file".into(),
        file("server.key"),
        "--tls-ca-cert-file".into(),
        file("ca.pem"),
        "--tls-auth-clients".into(),
        "no".into(),
    ]
}

/// Writes `ca.pem` (a CA made now), and `server.pem` and `server.key` (a certificate
/// for `localhost` and `127.0.0.1` that the CA signed) into `dir`.
pub(crate) fn make_certificates(dir: &std::path::Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("generate the test CA's key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.distinguished_name
        .push(DnType::CommonName, "vroom test CA");
    let ca_pem = ca
        .self_signed(&ca_key)
        .expect("self-sign the test CA")
        .pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("generate the test server's key");
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server certificate parameters")
        .signed_by(&key, &issuer)
        .expect("sign the test server's certificate");
    for (name, pem) in [
        ("ca.pem", ca_pem),
        ("server.pem", server.pem()),
        ("server.key", key.serialize_pem()),
    ] {
        std::fs::write(dir.join(name), pem).expect("write a test certificate");
    }
}

fn read_log(path: &std::path::Path) -> String {
    let mut log = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut log);
    }
    log
}

fn parse_commandstats(info: &str) -> std::collections::BTreeMap<String, u64> {
    // Lines look like `cmdstat_evalsha:calls=3,usec=40,usec_per_call=13.33,...`.
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commandstats_lines_are_parsed() {
        let info = "# Commandstats\r\ncmdstat_evalsha:calls=3,usec=40,usec_per_call=13.33,\
                    rejected_calls=0,failed_calls=0\r\ncmdstat_publish:calls=7,usec=1\r\n";
        let calls = parse_commandstats(info);
        assert_eq!(calls.get("evalsha"), Some(&3));
        assert_eq!(calls.get("publish"), Some(&7));
        assert_eq!(calls.len(), 2);
    }
}
