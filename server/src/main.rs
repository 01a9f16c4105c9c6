//! The `vroom-relay` binary: parses flags, sets up logging, and runs the relay until
//! SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;
use vroom_relay::Config;

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
