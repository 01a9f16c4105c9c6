//! The one way the relay takes a std `Mutex`.
//!
//! Every std `Mutex` in the relay guards a short critical section that never awaits
//! (the hub's shards, an outbox, a room of the in-process store, the Redis store's
//! followed rooms). A panic inside one leaves the state as consistent as any single
//! step leaves it, so a poisoned lock is taken anyway: refusing every later request
//! for a room, or every delivery for a shard, would be worse.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, ignoring poison (see the module docs).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
