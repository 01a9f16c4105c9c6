//! The HTTP side: the router ([`app`]) and [`run`], which serves a listener until a
//! shutdown signal and then waits for every connection to say goodbye.
//!
//! # Shutdown
//! The shutdown broadcast of [`AppState`] tells every connection that the relay is
//! going away; each connection then writes what it had queued and `Closed { GoingAway }`
//! within `--shutdown-timeout`, and [`serve`] waits for the last of them (see
//! `state.rs`), no longer than that same timeout.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use vroom_shared::wire::WS_PATH;

use crate::config::Config;
use crate::state::{memory_state, state_with, AppState};
use crate::store::{RedisStore, RedisTarget, Store};
use crate::{connection, web};

/// The relay's routes: the WebSocket endpoint, `/healthz`, `/metrics`, and the web app.
pub fn app<S: Store>(state: AppState<S>) -> Router {
    let web_dir = state.inner.config.resolved_web_dir();
    let api = Router::new()
        .route(WS_PATH, get(ws_upgrade::<S>))
        .route("/healthz", get(healthz::<S>))
        .route("/metrics", get(metrics::<S>))
        .with_state(state);
    web::with_web_app(api, web_dir.as_deref())
}

/// Serves on `listener` until `shutdown` completes, then tells every member the relay is
/// going away and waits for their connections to finish. Rooms live in Redis when
/// `config.redis_url` or `config.redis_cluster` is set, else in this process.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match RedisTarget::from_config(&config) {
        None => {
            let (state, done) = memory_state(config);
            serve(listener, state, done, shutdown).await
        }
        Some(target) => {
            let target =
                target.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let (state, done) = state_with(config, |config, fanout| {
                RedisStore::new(target, config, fanout)
            });
            serve(listener, state, done, shutdown).await
        }
    }
}

/// [`run`] on any store.
pub async fn serve<S: Store>(
    listener: TcpListener,
    state: AppState<S>,
    mut done: mpsc::Receiver<()>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let notify = state.inner.shutdown.clone();
    let timeout = state.inner.config.shutdown_timeout;
    let router = app(state);
    // Frames are small and each batch is flushed on purpose (a connection writes what is
    // queued, then flushes): Nagle's algorithm would only hold them back for an ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("could not set TCP_NODELAY: {e}");
        }
    });
    // When the shutdown began: the whole of it, from the signal, takes at most `timeout`.
    let (began_tx, began) = oneshot::channel();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: telling every member the relay is going away");
            let _ = began_tx.send(Instant::now());
            // Nobody subscribed means no connection is open: nothing to tell.
            let _ = notify.send(());
        })
        .await?;
    let deadline = began.await.unwrap_or_else(|_| Instant::now()) + timeout;
    // Upgraded WebSocket connections outlive hyper's view of them; wait for them, each
    // of which writes `Closed { GoingAway }` to its member within the same timeout.
    let waited = tokio::time::timeout_at(deadline, done.recv()).await;
    if waited.is_err() {
        tracing::warn!("shutdown: some connections did not finish in time");
    }
    tracing::info!("relay stopped");
    Ok(())
}

/// `200 ok` while the store answers; `503` with a sentence for the operator otherwise.
async fn healthz<S: Store>(State(state): State<AppState<S>>) -> Response {
    match state.inner.store.health().await {
        Ok(()) => "ok".into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {why}"),
        )
            .into_response(),
    }
}

async fn metrics<S: Store>(State(state): State<AppState<S>>) -> Response {
    let m = &state.inner.metrics;
    m.rooms
        .set(i64::try_from(state.inner.store.room_count()).unwrap_or(i64::MAX));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.encode(),
    )
        .into_response()
}

async fn ws_upgrade<S: Store>(ws: WebSocketUpgrade, State(state): State<AppState<S>>) -> Response {
    let Ok(permit) = state.inner.connections.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "This relay is full. Try again in a moment.",
        )
            .into_response();
    };
    let config = &state.inner.config;
    ws
        // Small buffers: an idle connection must cost a few KiB, not the 128 KiB
        // default per direction. The read buffer stays allocated for the connection's
        // life; 1 KiB holds a sealed chat message (~400 bytes) in one read, and a
        // 64 KiB file chunk takes more reads, which costs far less than 3 KiB more on
        // every idle connection (see BENCHMARKS.md).
        .read_buffer_size(1024)
        // Frames fed in a batch are gathered up to 4 KiB (about ten chat messages) and
        // leave in one `write` at the flush; with 0 every frame was its own syscall,
        // which capped fan-out at ~165k deliveries per CPU-second (now ~500k). An idle
        // connection never fills it; one that took a burst keeps up to ~8 KiB of it.
        .write_buffer_size(4096)
        .max_write_buffer_size(config.max_message() * 2 + 64 * 1024)
        .max_message_size(config.max_message())
        .max_frame_size(config.max_message())
        .on_upgrade(move |socket| connection::serve(socket, state, permit))
}
