//! The short-code way in, joiner's side: one exchange per typed code on a connection
//! of its own, which yields the room secret (then the same join as a link) or a
//! sentence saying what to do.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use vroom_shared::crypto::{RoomPass, RoomSecret};
use vroom_shared::invite;
use vroom_shared::session::{CodeJoin, CodeStep, CODE_LOST, CODE_NO_ANSWER, EXCHANGE_TIMEOUT_MS};

use crate::chat::ChatError;

/// Runs the exchange for `typed` with the member who made the code, through the relay
/// at `origin`.
pub(crate) async fn secret(
    origin: &str,
    typed: &str,
) -> Result<(RoomSecret, Option<RoomPass>), ChatError> {
    let (mut join, first) = CodeJoin::start(typed).map_err(ChatError::Ways)?;
    let url = invite::ws_url(origin);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .map_err(|err| ChatError::Connect {
            url: url.clone(),
            reason: err.to_string(),
        })?;
    let lost = || ChatError::Ways(CODE_LOST.to_owned());
    socket
        .send(Message::Binary(first.into()))
        .await
        .map_err(|_| lost())?;
    let exchange = async {
        loop {
            let bytes = match socket.next().await {
                Some(Ok(Message::Binary(bytes))) => bytes,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(lost()),
                Some(Ok(_)) => continue,
            };
            match join.handle(&bytes) {
                CodeStep::Send(frame) => socket
                    .send(Message::Binary(frame.into()))
                    .await
                    .map_err(|_| lost())?,
                CodeStep::Wait => {}
                CodeStep::Admitted(secret, pass) => return Ok((secret, pass)),
                CodeStep::Failed(sentence) => return Err(ChatError::Ways(sentence)),
                CodeStep::Wrong(frame, sentence) => {
                    // Best effort: the member times the exchange out anyway.
                    let _ = socket.send(Message::Binary(frame.into())).await;
                    return Err(ChatError::Ways(sentence));
                }
            }
        }
    };
    let result = tokio::time::timeout(Duration::from_millis(EXCHANGE_TIMEOUT_MS), exchange)
        .await
        .unwrap_or_else(|_| Err(ChatError::Ways(CODE_NO_ANSWER.to_owned())));
    let _ = socket.close(None).await;
    result
}
