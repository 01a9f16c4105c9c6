//! The HTTP side: the router ([`app`]) and [`run`], which serves a listener until a
//! shutdown signal and then waits for every connection to say goodbye.
//!
//! # Shutdown
//! The shutdown broadcast of [`AppState`] tells every connection that the relay is
//! going away; each connection then writes what it had queued and `Closed { GoingAway }`
//! within `--shutdown-timeout`, and [`serve`] waits for the last of them (see
//! `state.rs`), no longer than that same timeout.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tower::ServiceExt;
use vroom_shared::wire::WS_PATH;

use crate::config::{canonical, Config};
use crate::limits::{AddressSlot, Limits};
use crate::metrics::Refusal;
use crate::state::{memory_state, state_with, AppState};
use crate::store::{RedisStore, RedisTarget, Store};
use crate::{connection, web};

/// The relay's routes: the WebSocket endpoint, `/healthz`, `/metrics`, and the web app.
pub fn app<S: Store>(state: AppState<S>) -> Router {
    let web_dir = state.inner.config.resolved_web_dir();
    let state_hsts = state.inner.config.hsts;
    let api = Router::new()
        .route(WS_PATH, get(ws_upgrade::<S>))
        .route("/healthz", get(healthz::<S>))
        .route("/metrics", get(metrics::<S>))
        .with_state(state);
    web::with_web_app(api, web_dir.as_deref(), state_hsts)
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
///
/// The accept loop is the relay's own (hyper's HTTP/1 server, as `axum::serve` uses,
/// with a timer): it gives every request head `--header-timeout` to arrive, counts each
/// direct peer's connections against its address before reading a byte, and tells
/// every request which peer sent it.
pub async fn serve<S: Store>(
    listener: TcpListener,
    state: AppState<S>,
    mut done: mpsc::Receiver<()>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let notify = state.inner.shutdown.clone();
    let timeout = state.inner.config.shutdown_timeout;
    let header_timeout = state.inner.config.header_timeout;
    let limits = state.inner.limits.clone();
    let sweeper = tokio::spawn(sweep(limits.clone()));
    let router = app(state);
    // Connection tasks finish their request and close when this changes; each holds a
    // clone of `conns_held`, so `conns` closes when the last of them is done.
    let (stop, stopping) = watch::channel(());
    let (conns_held, mut conns) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly: wait for some to close rather
                    // than spin.
                    tracing::warn!("could not accept a connection: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Frames are small and each batch is flushed on purpose (a connection writes
        // what is queued, then flushes): Nagle's algorithm would only hold them back.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("could not set TCP_NODELAY: {e}");
        }
        let ip = canonical(peer.ip());
        // A trusted proxy carries everybody: its clients are counted at the upgrade.
        let slot = if limits.is_proxy(ip) {
            None
        } else {
            match limits.connect(limits.key(ip)) {
                Ok(slot) => Some(Arc::new(slot)),
                Err(_) => {
                    tokio::spawn(refuse_connection(tcp));
                    continue;
                }
            }
        };
        let peer = Peer { ip, slot };
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(peer.clone());
                req
            });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stopping = stopping.clone();
        let held = conns_held.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(held);
        });
    }
    drop(listener);
    let deadline = Instant::now() + timeout;
    tracing::info!("shutting down: telling every member the relay is going away");
    // Nobody subscribed means no connection is open: nothing to tell.
    let _ = notify.send(());
    let _ = stop.send(());
    drop((conns_held, router));
    sweeper.abort();
    // Requests in progress finish; upgraded WebSocket connections outlive hyper's view of
    // them, and each writes `Closed { GoingAway }` to its member within the same
    // timeout: wait for both, that long at most from the signal.
    let requests = tokio::time::timeout_at(deadline, conns.recv()).await;
    let sockets = tokio::time::timeout_at(deadline, done.recv()).await;
    if requests.is_err() || sockets.is_err() {
        tracing::warn!("shutdown: some connections did not finish in time");
    }
    tracing::info!("relay stopped");
    Ok(())
}

/// How long the accept loop pauses after failing to accept (out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How often per-address state that no longer counts is forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

async fn sweep(limits: Arc<Limits>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        limits.sweep();
    }
}

/// What a connection over `--max-connections-per-address` is told, before its request
/// is read: the request is never looked at.
const TOO_MANY_CONNECTIONS: &str =
    "Too many connections from your address. Close some and try again.";

async fn refuse_connection(mut tcp: TcpStream) {
    use std::fmt::Write;
    use tokio::io::AsyncWriteExt;
    let mut answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\n\
         retry-after: 10\r\nconnection: close\r\ncontent-length: {}\r\n\
         content-security-policy: {}\r\n",
        TOO_MANY_CONNECTIONS.len(),
        web::CONTENT_SECURITY_POLICY,
    );
    for (name, value) in web::SECURITY_HEADERS {
        let _ = write!(answer, "{name}: {value}\r\n");
    }
    answer.push_str("\r\n");
    answer.push_str(TOO_MANY_CONNECTIONS);
    let answer = async {
        tcp.write_all(answer.as_bytes()).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(REFUSAL_WRITE, answer).await;
}

/// How long a refused connection's answer may take to leave.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

/// Who sent a request: the TCP peer, and the slot its connection holds under
/// `--max-connections-per-address` (none for a trusted proxy).
#[derive(Clone)]
pub(crate) struct Peer {
    /// The peer's IP address.
    ip: IpAddr,
    /// Released when the connection, and any WebSocket it became, has closed.
    slot: Option<Arc<AddressSlot>>,
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
    let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    m.rooms.set(gauge(state.inner.store.room_count()));
    m.queued_bytes.set(gauge(state.inner.queued.used()));
    if let Some(bytes) = state.inner.store.buffered_bytes() {
        m.buffered_bytes.set(gauge(bytes));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.encode(),
    )
        .into_response()
}

async fn ws_upgrade<S: Store>(
    ws: WebSocketUpgrade,
    State(state): State<AppState<S>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
) -> Response {
    // Before anything is counted: a refused page costs no connection slot.
    if !web::origin_allowed(&headers, &state.inner.config.app_origins) {
        state.inner.metrics.origin_refusals.inc();
        return (StatusCode::FORBIDDEN, web::FOREIGN_ORIGIN).into_response();
    }
    let limits = &state.inner.limits;
    // Without `serve`'s accept loop (a router served some other way), every client
    // counts as one unknown address.
    let peer = peer.map_or(
        Peer {
            ip: IpAddr::from([0, 0, 0, 0]),
            slot: None,
        },
        |Extension(peer)| peer,
    );
    let address = limits.client_address(peer.ip, &headers);
    // A direct peer's connection already counts; a proxied client's counts from now.
    let slot = match peer.slot {
        Some(slot) => slot,
        None => match limits.connect(address) {
            Ok(slot) => Arc::new(slot),
            Err(_) => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "10")],
                    TOO_MANY_CONNECTIONS,
                )
                    .into_response()
            }
        },
    };
    let Ok(permit) = state.inner.connections.clone().try_acquire_owned() else {
        limits.refuse(Refusal::ConnectionsTotal);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "10")],
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
        .on_upgrade(move |socket| {
            connection::serve(
                socket,
                state,
                connection::Admitted {
                    permit,
                    slot,
                    address,
                },
            )
        })
}
