//! `GET /v1/subscribe`: the server's WebSocket push (best effort; the log is the truth).

use super::{unb64, Api, ApiError, ApiResult};
use futures_util::{FutureExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What the server pushes.
#[derive(Debug, Clone)]
#[allow(dead_code)] // every field the server sends, not all used yet
pub enum PushEvent {
    /// The subscription is live.
    Ready,
    /// A message was appended to a group's log.
    Message {
        /// Group id.
        group_id: Vec<u8>,
        /// Log sequence number.
        seq: u64,
        /// Header epoch.
        epoch: u64,
        /// `commit`, `proposal`, `application`.
        content_type: String,
        /// Poster.
        sender: String,
        /// The MLSMessage.
        message: Vec<u8>,
    },
    /// A Welcome arrived in our inbox.
    Welcome {
        /// Inbox id.
        id: u64,
        /// Group id.
        group_id: Vec<u8>,
    },
    /// We fell behind: fetch by cursor.
    Lagged(u64),
    /// Our client was revoked.
    Revoked,
    /// Something this client does not know (ignored).
    Other,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    epoch: Option<u64>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    missed: Option<u64>,
}

/// A live subscription.
pub struct Subscription {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Set when draining a batch hit the end of the stream or an error: reported next.
    ended: Option<ApiResult<()>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

/// Open `/v1/subscribe` with the API's bearer token.
pub async fn subscribe(api: &Api) -> ApiResult<Subscription> {
    let mut request = api
        .subscribe_url()
        .into_client_request()
        .map_err(|e| ApiError::Network(format!("bad subscribe URL: {e}")))?;
    if let Some(token) = api.token() {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ApiError::Network("token is not a valid header".into()))?;
        request.headers_mut().insert("authorization", value);
    }
    let connector = if api.base().starts_with("https://") {
        let config = super::tls::client_config().map_err(|e| ApiError::Network(e.to_string()))?;
        Some(tokio_tungstenite::Connector::Rustls(config))
    } else {
        None
    };
    let (stream, _) =
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector)
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(resp) => ApiError::Status {
                    status: resp.status().as_u16(),
                    code: "subscribe_refused".into(),
                    message: resp
                        .body()
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default(),
                    current_epoch: None,
                    seq: None,
                },
                other => {
                    api.subscription_failed();
                    ApiError::Network(
                        super::tls::tls_failure(&other).unwrap_or_else(|| other.to_string()),
                    )
                }
            })?;
    Ok(Subscription {
        stream,
        ended: None,
    })
}

impl Subscription {
    /// The next event and every other one already received, up to `max`; `Ok(None)` when
    /// the server closed the subscription.
    pub async fn next_batch(&mut self, max: usize) -> ApiResult<Option<Vec<PushEvent>>> {
        if let Some(end) = self.ended.take() {
            end?;
            return Ok(None);
        }
        let Some(first) = self.next().await? else {
            return Ok(None);
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match self.next().now_or_never() {
                None => break,
                Some(Ok(Some(e))) => batch.push(e),
                Some(Ok(None)) => {
                    self.ended = Some(Ok(()));
                    break;
                }
                Some(Err(e)) => {
                    self.ended = Some(Err(e));
                    break;
                }
            }
        }
        Ok(Some(batch))
    }

    /// The next event; `Ok(None)` when the server closed the subscription.
    pub async fn next(&mut self) -> ApiResult<Option<PushEvent>> {
        loop {
            let frame = match self.stream.next().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(ApiError::Network(e.to_string())),
                Some(Ok(f)) => f,
            };
            let text = match frame {
                Message::Text(t) => t,
                Message::Close(_) => return Ok(None),
                _ => continue,
            };
            let raw: Raw = serde_json::from_str(text.as_str())
                .map_err(|e| ApiError::BadReply(format!("push frame: {e}")))?;
            return Ok(Some(parse(raw)?));
        }
    }
}

fn parse(raw: Raw) -> ApiResult<PushEvent> {
    let missing = |f: &str| ApiError::BadReply(format!("push frame without {f}"));
    let bytes = |t: Option<String>, f: &str| -> ApiResult<Vec<u8>> {
        unb64(&t.ok_or_else(|| missing(f))?)
            .ok_or_else(|| ApiError::BadReply(format!("{f} is not base64")))
    };
    Ok(match raw.kind.as_str() {
        "ready" => PushEvent::Ready,
        "message" => PushEvent::Message {
            group_id: bytes(raw.group_id, "group_id")?,
            seq: raw.seq.ok_or_else(|| missing("seq"))?,
            epoch: raw.epoch.ok_or_else(|| missing("epoch"))?,
            content_type: raw.content_type.unwrap_or_default(),
            sender: raw.sender.unwrap_or_default(),
            message: bytes(raw.message, "message")?,
        },
        "welcome" => PushEvent::Welcome {
            id: raw.id.ok_or_else(|| missing("id"))?,
            group_id: bytes(raw.group_id, "group_id")?,
        },
        "lagged" => PushEvent::Lagged(raw.missed.unwrap_or(0)),
        "revoked" => PushEvent::Revoked,
        _ => PushEvent::Other,
    })
}
