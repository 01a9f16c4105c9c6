//! The state every request handler and connection shares: settings, store, hub,
//! metrics, the connection cap and the shutdown signal.
//!
//! # Shutdown
//! `shutdown` tells every connection that the relay is going away; each connection
//! holds a clone of the state, and with it of an `mpsc::Sender` nobody sends on, so the
//! channel closes when the last connection (and the state itself) is gone: that is how
//! [`crate::serve`] knows every member has been told.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, Semaphore};

use crate::config::Config;
use crate::hub::Hub;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::outbox::QueueBudget;
use crate::store::{Fanout, MemoryStore, Store};

/// Everything a request handler needs. Cheap to clone.
pub struct AppState<S> {
    /// Shared by all clones.
    pub(crate) inner: Arc<Shared<S>>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            inner: self.inner.clone(),
        }
    }
}

/// What the clones of an [`AppState`] share.
pub(crate) struct Shared<S> {
    /// The relay's settings.
    pub(crate) config: Config,
    /// Where rooms live.
    pub(crate) store: S,
    /// This instance's connections per room; the store delivers through it.
    pub(crate) hub: Arc<Hub>,
    /// Counters for `/metrics`.
    pub(crate) metrics: Arc<Metrics>,
    /// Per-address limits and the addresses they count.
    pub(crate) limits: Arc<Limits>,
    /// Bytes queued to all connections (`--max-queued-bytes`), which every outbox
    /// counts against.
    pub(crate) queued: Arc<QueueBudget>,
    /// Caps open WebSocket connections (`--max-connections`); a permit lives as long as
    /// its connection.
    pub(crate) connections: Arc<Semaphore>,
    /// Fires once when the relay begins to shut down.
    pub(crate) shutdown: broadcast::Sender<()>,
    /// Never sent on: every connection holds a clone of this state, and
    /// [`crate::serve`] waits for the channel to close, that is for the last
    /// connection to finish.
    _done: mpsc::Sender<()>,
}

/// Builds the state for `config` on the in-process store. Returns the receiver that
/// closes once every connection handler (and the state itself) is gone.
pub fn memory_state(config: Config) -> (AppState<MemoryStore>, mpsc::Receiver<()>) {
    state_with(config, MemoryStore::new)
}

/// Builds the state for `config` on the store that `make_store` builds around this
/// instance's fan-out.
pub fn state_with<S: Store>(
    config: Config,
    make_store: impl FnOnce(&Config, Arc<dyn Fanout>) -> S,
) -> (AppState<S>, mpsc::Receiver<()>) {
    let metrics = Arc::new(Metrics::new());
    let limits = Arc::new(Limits::new(&config, metrics.clone()));
    let hub = Arc::new(Hub::new(metrics.clone(), limits.clone()));
    let store = make_store(&config, hub.clone());
    let (shutdown, _) = broadcast::channel(1);
    let (done, done_rx) = mpsc::channel(1);
    let state = AppState {
        inner: Arc::new(Shared {
            connections: Arc::new(Semaphore::new(config.max_connections)),
            queued: Arc::new(QueueBudget::new(config.max_queued_bytes)),
            config,
            store,
            hub,
            limits,
            metrics,
            shutdown,
            _done: done,
        }),
    };
    (state, done_rx)
}
