//! `GET /v1/subscribe`: WebSocket push of new messages and Welcomes for the caller.

use super::{ApiError, AppState, Authed};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Upgrade an authenticated request to a push subscription.
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    Authed(client): Authed,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|r| {
        let status = r.status();
        ApiError::new(
            if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            "bad_request",
            format!("WebSocket upgrade required: {}", r.body_text()),
        )
    })?;
    let guard = state.limiters.open_socket(&client.id).ok_or_else(|| {
        state.metrics.rate_limited("websockets");
        ApiError::quota(format!(
            "{} already has {} open subscriptions",
            client.id, state.limiters.limits.max_websockets_per_client
        ))
    })?;
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            let _guard = guard;
            state.metrics.subscribers(1);
            run(state.clone(), client.id, socket).await;
            state.metrics.subscribers(-1);
        }))
}

/// How often an open subscription re-checks that its client is not revoked (a revocation
/// made by another process, e.g. `cohort-server revoke`, sends no event).
const REVOCATION_CHECK: Duration = Duration::from_secs(30);

async fn revoked(state: &AppState, me: &str) -> bool {
    let id = me.to_owned();
    match state.db(move |s| s.client(&id)).await {
        Ok(Some(c)) => c.revoked_at.is_some(),
        Ok(None) => true,
        Err(_) => false,
    }
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
    let mut check = tokio::time::interval(REVOCATION_CHECK);
    check.tick().await;
    loop {
        tokio::select! {
            _ = check.tick() => {
                if revoked(&state, &me).await {
                    let _ = tx.send(Message::Close(Some(CloseFrame {
                        code: 1008,
                        reason: "revoked".into(),
                    }))).await;
                    break;
                }
            }
            event = events.recv() => match event {
                Ok(event) => {
                    if !event.everyone && !event.recipients.iter().any(|r| r == &me) {
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
