//! `GET /v1/subscribe`: WebSocket push of new messages and Welcomes for the caller.

use super::{AppState, Authed};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;

/// Upgrade an authenticated request to a push subscription.
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    Authed(client): Authed,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(64 * 1024)
        .on_upgrade(move |socket| run(state, client.id, socket))
}

async fn run(state: AppState, me: String, socket: WebSocket) {
    let mut events = state.events.subscribe();
    let mut shutdown = state.shutdown.clone();
    let (mut tx, mut rx) = socket.split();
    let ready = serde_json::json!({ "type": "ready", "client_id": me }).to_string();
    if tx.send(Message::Text(ready.into())).await.is_err() {
        return;
    }
    tracing::debug!(client = %me, "subscriber connected");
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    if !event.recipients.iter().any(|r| r == &me) {
                        continue;
                    }
                    if tx.send(Message::Text(event.payload.as_ref().into())).await.is_err() {
                        break;
                    }
                    if event.close {
                        let _ = tx.send(Message::Close(Some(CloseFrame {
                            code: 1008,
                            reason: "revoked".into(),
                        }))).await;
                        break;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    // Tell the client to catch up by cursor instead of silently dropping.
                    let lag = serde_json::json!({ "type": "lagged", "missed": n }).to_string();
                    if tx.send(Message::Text(lag.into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            },
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => {
                let _ = tx.send(Message::Close(Some(CloseFrame {
                    code: 1001,
                    reason: "server shutting down".into(),
                }))).await;
                break;
            }
        }
    }
    tracing::debug!(client = %me, "subscriber disconnected");
}
