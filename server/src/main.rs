//! The `vroom-relay` binary: parses flags, sets up logging, and runs the relay until
//! SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;
use vroom_relay::Config;

/// jemalloc, whose background thread gives freed memory back to the system within
/// seconds, even while the relay is idle: with glibc's malloc the relay kept most of an
/// attack's peak after its rooms had ended (BENCHMARKS.md).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Libraries whose verbose logs would carry frames, commands or identifiers.
const QUIET_TARGETS: [&str; 4] = [
    "tungstenite",
    "tokio_tungstenite",
    "redis",
    "axum::extract::ws",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if !config.log_room_ids {
        // At debug and trace level these libraries log whole frames and commands, with
        // room ids and ciphertext in them; keep them quiet unless the operator has
        // explicitly asked for identifiers in the logs.
        for target in QUIET_TARGETS {
            filter = filter.add_directive(format!("{target}=info").parse()?);
        }
    }
    // stderr, as documented: stdout stays free for whatever wraps the relay.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("could not listen on {}", config.listen))?;
    // Without it jemalloc purges freed memory only when the relay next allocates.
    #[cfg(feature = "jemalloc")]
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!("could not start jemalloc's background purging: {e}");
    }
    tracing::info!(address = %listener.local_addr()?, "listening");
    if config.resolved_web_dir().is_none() {
        tracing::warn!("no web app directory (--web-dir, or ./web-dist): serving the relay only");
    }
    vroom_relay::run(listener, config, shutdown_signal())
        .await
        .context("the relay failed")
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("could not listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("could not listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
