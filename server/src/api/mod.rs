//! The HTTP and WebSocket API (see `server/README.md` for every route).

mod auth;
mod groups;
mod key_packages;
mod ws;

use crate::authority::CertificateAuthority;
use crate::limits::{Bucket, RetryAfter};
use crate::store::{Store, StoreError};
use crate::Config;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use base64::Engine;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// A pushed event and who may see it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Client ids allowed to receive it.
    pub recipients: Arc<Vec<String>>,
    /// The JSON text sent over WebSocket.
    pub payload: Arc<str>,
    /// Close the recipients' subscriptions after sending (revocation).
    pub close: bool,
    /// For every subscriber, whatever `recipients` says.
    pub everyone: bool,
}

/// What the handlers share.
pub(crate) struct Shared {
    pub store: Arc<dyn Store>,
    pub ca: CertificateAuthority,
    pub config: Config,
    pub enrollment_secret_hash: Option<[u8; 32]>,
    pub admin_token_hash: Option<[u8; 32]>,
    pub events: broadcast::Sender<Event>,
    pub shutdown: watch::Receiver<bool>,
    pub limiters: crate::limits::Limiters,
    pub metrics: crate::metrics::Metrics,
    /// The other instances, when there are any (PostgreSQL).
    pub bus: Option<crate::push::Bus>,
}

/// Cloneable handle on [`Shared`].
pub(crate) type AppState = Arc<Shared>;

impl Shared {
    /// Run a blocking store call off the async executor.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|_| ApiError::internal("storage task failed"))?
            .map_err(|e| {
                match &e {
                    StoreError::Backend(_) => self.metrics.storage_error(),
                    StoreError::Quota(_) => self.metrics.rate_limited("quota"),
                    _ => {}
                }
                ApiError::from(e)
            })
    }

    /// Take `n` cells of `bucket` for `key`: in the database when instances share it
    /// ([`Store::shares_rates`]), else in this process. `force` takes them even when the
    /// answer is no (a failure that must count however many came before it).
    pub async fn take(
        &self,
        bucket: Bucket,
        key: String,
        n: u32,
        force: bool,
    ) -> Result<Result<(), RetryAfter>, ApiError> {
        if !self.store.shares_rates() {
            return Ok(self.limiters.take_local(bucket, &key, n));
        }
        let rate = self.limiters.rate(bucket);
        let name = bucket.name();
        let verdict = self
            .db(move |s| s.take_rate(name, &key, rate, n, force))
            .await?;
        Ok(verdict.map_err(RetryAfter))
    }

    /// Publish an event to WebSocket subscribers (dropped if nobody listens).
    pub fn publish(&self, recipients: Vec<String>, payload: serde_json::Value, close: bool) {
        let event = Event {
            recipients: Arc::new(recipients),
            payload: Arc::from(payload.to_string()),
            close,
            everyone: false,
        };
        if let Some(bus) = &self.bus {
            bus.publish(&event);
        }
        let _ = self.events.send(event);
    }
}

/// Body limit of routes that carry no MLS message, KeyPackage or GroupInfo.
pub const SMALL_BODY_BYTES: usize = 64 << 10;
/// Body limit of KeyPackage uploads (a batch of the largest post-quantum KeyPackages fits).
pub const KEY_PACKAGE_BODY_BYTES: usize = 4 << 20;

/// Build the router over the shared state.
pub(crate) fn router(state: AppState) -> Router {
    // Only routes that carry handshake messages, GroupInfos or KeyPackages take large
    // bodies; everything else fits in a small one, so a stranger cannot make the server
    // buffer 16 MiB on the enrollment route.
    let large = DefaultBodyLimit::max(state.config.max_body_bytes);
    let key_packages =
        DefaultBodyLimit::max(state.config.max_body_bytes.min(KEY_PACKAGE_BODY_BYTES));
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/v1/ca", get(auth::ca_root))
        .route("/v1/enroll", post(auth::enroll))
        .route("/v1/me", get(auth::me))
        .route("/v1/clients/{user}/{device}/status", get(auth::status))
        .route("/v1/admin/invites", post(auth::create_invites))
        .route(
            "/v1/admin/clients/{user}/{device}/revoke",
            post(auth::revoke),
        )
        .route(
            "/v1/key-packages",
            post(key_packages::upload)
                .layer(key_packages)
                .get(key_packages::counts),
        )
        .route("/v1/key-packages/claim", post(key_packages::claim))
        .route("/v1/groups", post(groups::create).layer(large))
        .route("/v1/groups/{group_id}", get(groups::info))
        .route("/v1/groups/{group_id}/policy", put(groups::set_policy))
        .route(
            "/v1/groups/{group_id}/commits/{seq}/ack",
            post(groups::ack_commit),
        )
        .route(
            "/v1/groups/{group_id}/messages",
            post(groups::post_message)
                .layer(large)
                .get(groups::fetch_messages),
        )
        .route(
            "/v1/groups/{group_id}/group-info",
            get(groups::get_group_info)
                .put(groups::put_group_info)
                .layer(large),
        )
        .route(
            "/v1/groups/{group_id}/ratchet-tree",
            get(groups::get_ratchet_tree),
        )
        .route("/v1/welcomes", get(groups::welcomes))
        .route("/v1/welcomes/ack", post(groups::ack_welcomes))
        .route("/v1/subscribe", get(ws::subscribe))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(SMALL_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            log_request,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| ApiError::internal("internal error").into_response(),
        ))
        .with_state(state)
}

/// Liveness: the process answers. It does not touch storage, so a database outage does not
/// get a healthy instance restarted.
async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /metrics`: Prometheus text exposition, for the operator's token only (it reveals
/// traffic patterns).
async fn metrics(State(state): State<AppState>, _: Admin) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(state.store.pool_state()),
    )
        .into_response()
}

/// Readiness: storage answers a query; 503 with `retry_after` while it does not, so a load
/// balancer sends clients elsewhere.
async fn ready(State(state): State<AppState>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    state.db(|s| s.group(&[]).map(|_| ())).await?;
    Ok(axum::Json(serde_json::json!({ "status": "ready" })))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

/// Log method, path and status; never headers or bodies (they carry tokens and secrets).
async fn log_request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let start = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status();
    let elapsed = start.elapsed();
    state.metrics.request(
        &route,
        method.as_str(),
        status.as_u16(),
        elapsed.as_secs_f64(),
    );
    let ms = elapsed.as_millis();
    if status.is_server_error() {
        tracing::error!(%method, %path, status = status.as_u16(), ms, "request failed");
    } else {
        tracing::info!(%method, %path, status = status.as_u16(), ms, "request");
    }
    response
}

/// A JSON error response: `{"error": code, "message": text, ...}`.
#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// Stable machine-readable code.
    error: &'static str,
    /// Human-readable explanation.
    message: String,
    /// The group's epoch, on ordering conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    current_epoch: Option<u64>,
    /// The sequence number already holding a replayed message.
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    /// Seconds to wait before trying again, on 429 (also in the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            message: message.into(),
            current_epoch: None,
            seq: None,
            retry_after: None,
        }
    }

    /// 429 Too Many Requests, with the time to wait.
    pub(crate) fn rate_limited(what: &str, wait: crate::limits::RetryAfter) -> Self {
        let secs = wait.secs();
        ApiError {
            retry_after: Some(secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("{what}: try again in {secs} s"),
            )
        }
    }

    /// 503 with a short `retry_after`: storage did not answer; nothing was stored.
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }

    /// 403 for a quota that is used up.
    pub(crate) fn quota(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "quota_exceeded", message)
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 Unauthorized.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500, with a generic message (details go to the log only).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(&self)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ApiError::not_found(format!("{m} not found")),
            StoreError::Conflict {
                reason,
                current_epoch,
                seq,
            } => ApiError {
                status: StatusCode::CONFLICT,
                error: if seq.is_some() {
                    "duplicate"
                } else {
                    "conflict"
                },
                message: reason,
                current_epoch,
                seq,
                retry_after: None,
            },
            StoreError::Forbidden(m) => ApiError::forbidden(m),
            StoreError::Invalid(m) => ApiError::bad_request(m),
            StoreError::Quota(m) => ApiError::quota(m),
            // Most backend failures are the database being away (a restart, a failover):
            // the request stored nothing and may be retried as it is.
            StoreError::Backend(m) => {
                tracing::error!(error = %m, "storage error");
                ApiError::unavailable("storage is unavailable")
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
            _ => "bad_request",
        };
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(r.body_text())
    }
}

/// `axum::Json` with JSON errors.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` with JSON errors.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct Path<T>(pub T);

/// `axum::extract::Query` with JSON errors.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct Query<T>(pub T);

/// Binary values in JSON are base64url without padding; standard base64 is also accepted.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64 in either alphabet, padded or not.
pub(crate) fn unb64(what: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| STANDARD.decode(text))
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .map_err(|_| ApiError::bad_request(format!("{what} is not valid base64")))
}

/// SHA-256 of a token or message.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Check a client id: `user/device`, user `[a-z0-9._@+-]{1,128}`, device `[a-z0-9._-]{1,64}`,
/// neither made of dots only. Lowercase only, so `ALICE/1` cannot shadow `alice/1`; no `.`/`..`
/// segments, which path-normalising clients and proxies would rewrite into another route.
pub(crate) fn check_client_id(id: &str) -> Result<(), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "invalid client id {:?}: expected user/device",
            id.chars().take(80).collect::<String>()
        ))
    };
    let (user, device) = id.split_once('/').ok_or_else(bad)?;
    let segment_ok = |seg: &str, max: usize, extra: &[u8]| {
        (1..=max).contains(&seg.len())
            && !seg.bytes().all(|b| b == b'.')
            && seg
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
    };
    let user_ok = segment_ok(user, 128, b".-_@+");
    let device_ok = segment_ok(device, 64, b".-_");
    if user_ok && device_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("malformed Authorization header"))
}

/// An authenticated, unrevoked client.
#[derive(Debug, Clone)]
pub(crate) struct Authed(pub crate::store::ClientRecord);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let hash = sha256(bearer(parts)?.as_bytes());
        let client = state
            .db(move |s| s.client_by_token(&hash))
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown bearer token"))?;
        if client.revoked_at.is_some() {
            return Err(ApiError::unauthorized("this client has been revoked"));
        }
        state.limiters.request(&client.id).map_err(|wait| {
            state.metrics.rate_limited("requests");
            ApiError::rate_limited("too many requests", wait)
        })?;
        Ok(Authed(client))
    }
}

/// The operator, authenticated by the configured admin token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = state.admin_token_hash else {
            return Err(ApiError::forbidden(
                "admin API disabled: start the server with --admin-token",
            ));
        };
        let hash = sha256(bearer(parts)?.as_bytes());
        if bool::from(subtle::ConstantTimeEq::ct_eq(&hash[..], &expected[..])) {
            Ok(Admin)
        } else {
            Err(ApiError::forbidden("wrong admin token"))
        }
    }
}

/// Either an authenticated client or the operator.
#[derive(Debug, Clone)]
pub(crate) enum ClientOrAdmin {
    /// An active client.
    Client,
    /// The operator.
    Admin,
}

impl FromRequestParts<AppState> for ClientOrAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(expected) = state.admin_token_hash {
            let hash = sha256(bearer(parts)?.as_bytes());
            if bool::from(subtle::ConstantTimeEq::ct_eq(&hash[..], &expected[..])) {
                return Ok(ClientOrAdmin::Admin);
            }
        }
        Authed::from_request_parts(parts, state)
            .await
            .map(|_| ClientOrAdmin::Client)
    }
}
