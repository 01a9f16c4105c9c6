//! The joiner's side of a short-code exchange (PROTOCOL.md §11.2), on a connection in
//! no room: `CodeOpen` and `CodeSend` during the joining phase, and the member's
//! messages back.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use rand::Rng;
use tokio::sync::mpsc;
use vroom_shared::wire::{ClientFrame, ErrorCode, RoomId, ServerFrame, PROTOCOL_VERSION};

use super::{encode, MAX_CODE_MESSAGE};
use crate::hub::Hub;
use crate::state::AppState;
use crate::store::Store;

/// The exchange a joining connection has open: one at a time.
pub(super) struct Opened {
    room: RoomId,
    nameplate: u32,
    id: u64,
    /// The member's messages for this exchange.
    rx: mpsc::Receiver<Bytes>,
    hub: Arc<Hub>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.hub.unregister_joiner(self.id);
    }
}

/// The next message from the member of the open exchange; never, without one.
pub(super) async fn next(opened: &mut Option<Opened>) -> Bytes {
    if let Some(o) = opened {
        if let Some(frame) = o.rx.recv().await {
            return frame;
        }
        // The hub forgot the exchange: nothing more will come.
    }
    std::future::pending().await
}

/// Handles `CodeOpen` and `CodeSend` from a connection in no room: the frame to
/// answer with, if any. `None` for any other frame (the joining phase handles it).
pub(super) async fn handle<S: Store>(
    state: &AppState<S>,
    address: IpAddr,
    opened: &mut Option<Opened>,
    frame: &ClientFrame<'_>,
) -> Option<Option<Bytes>> {
    let shared = &state.inner;
    let answer = match *frame {
        ClientFrame::CodeOpen {
            version,
            nameplate,
            hello,
        } => {
            if version != PROTOCOL_VERSION {
                return Some(Some(error(ErrorCode::UnsupportedVersion)));
            }
            if hello.len() > MAX_CODE_MESSAGE {
                return Some(Some(error(ErrorCode::FrameTooLarge)));
            }
            if shared.limits.code_open(address).is_err() {
                return Some(Some(error(ErrorCode::RateLimited)));
            }
            *opened = None;
            let id = rand::thread_rng().gen();
            let rx = shared.hub.register_joiner(id);
            let mut exchange = Opened {
                room: RoomId([0; 16]),
                nameplate,
                id,
                rx,
                hub: shared.hub.clone(),
            };
            match shared.store.code_open(nameplate, id, hello).await {
                Ok(Ok(room)) => {
                    exchange.room = room;
                    *opened = Some(exchange);
                    None
                }
                Ok(Err(reason)) => {
                    shared.metrics.code_refused(reason);
                    Some(encode(&ServerFrame::CodeRefused { nameplate, reason }))
                }
                Err(code) => Some(error(code)),
            }
        }
        ClientFrame::CodeSend { exchange, payload } => {
            let Some(o) = opened.as_ref().filter(|o| o.id == exchange) else {
                return Some(Some(error(ErrorCode::UnexpectedFrame)));
            };
            if payload.len() > MAX_CODE_MESSAGE {
                return Some(Some(error(ErrorCode::FrameTooLarge)));
            }
            let sent = shared
                .store
                .code_to_member(o.room, o.nameplate, exchange, payload)
                .await;
            match sent {
                Ok(Ok(())) => None,
                Ok(Err(reason)) => {
                    shared.metrics.code_refused(reason);
                    let nameplate = o.nameplate;
                    *opened = None;
                    Some(encode(&ServerFrame::CodeRefused { nameplate, reason }))
                }
                Err(code) => Some(error(code)),
            }
        }
        _ => return None,
    };
    Some(answer)
}

fn error(code: ErrorCode) -> Bytes {
    encode(&ServerFrame::Error { code })
}
