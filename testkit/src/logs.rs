//! Captures every log line written in this test process, at trace level, from
//! `tracing` and from the `log` crate (which tungstenite uses), into memory.
//!
//! The capture is process-wide (one global subscriber, installed by the first caller),
//! so it holds the logs of every relay the tests start in-process, whatever runtime or
//! thread they run on.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::fmt::MakeWriter;

/// Everything logged while a [`capture`] guard is alive.
#[derive(Clone, Default)]
pub struct Logs {
    /// The formatted log output.
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl Logs {
    /// The captured output so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide capture, started on first use: everything logged from then on,
/// by any thread, at any level.
pub fn capture() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_writer(logs.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("nothing else in the test process installs a global log subscriber");
        // `log` records go to the tracing subscriber too.
        tracing_log::LogTracer::init().expect("no other `log` logger is installed");
        logs
    })
    .clone()
}
