//! Authentication Service routes: CA root, enrollment, status, invites, revocation.

use super::{
    b64, check_client_id, now, sha256, unb64, Admin, ApiError, AppState, Authed, ClientOrAdmin,
    Json, Path,
};
use crate::authority::{identity_for, AuthorityError};
use crate::limits::{Bucket, RetryAfter};
use crate::store::NewClient;
use crate::Enrollment;
use axum::extract::State;
use axum::http::StatusCode;
use ring::rand::SecureRandom;
use serde::Deserialize;
use serde_json::{json, Value};

/// `GET /v1/ca`: the trust anchor.
pub(crate) async fn ca_root(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "root_certificate": b64(state.ca.root_der()) }))
}

/// Body of `POST /v1/enroll`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnrollRequest {
    client_id: String,
    csr: String,
    #[serde(default)]
    enrollment_secret: Option<String>,
    #[serde(default)]
    invite: Option<String>,
}

fn random_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ApiError::internal("random number generator failed"))?;
    Ok(b64(&bytes))
}

/// `POST /v1/enroll`: issue a certificate and a bearer token.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Json(req): Json<EnrollRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // Guessing the secret or an invite costs the guesser time: failures per address are limited.
    let ip = peer.map(|p| p.0 .0.ip());
    if let Some(ip) = ip {
        enroll_blocked(&state, ip).await?.map_err(|wait| {
            state.metrics.rate_limited("enroll_failures");
            ApiError::rate_limited("too many failed enrollments", wait)
        })?;
    }
    let result = enroll_checked(&state, req).await;
    if let (Err(e), Some(ip)) = (&result, ip) {
        if matches!(e.status(), StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED) {
            enroll_failed(&state, ip).await?;
        }
    }
    result
}

/// Whether `ip` must wait: blocked once a failure found its bucket empty (a take of no
/// cells is refused only past that point).
async fn enroll_blocked(
    state: &AppState,
    ip: std::net::IpAddr,
) -> Result<Result<(), RetryAfter>, ApiError> {
    if state.store.shares_rates() {
        state
            .take(Bucket::EnrollFailures, ip.to_string(), 0, false)
            .await
    } else {
        Ok(state.limiters.enroll_blocked(ip))
    }
}

/// Count a failed enrollment from `ip`, even past the burst, so that guessing on keeps the
/// address blocked.
async fn enroll_failed(state: &AppState, ip: std::net::IpAddr) -> Result<(), ApiError> {
    if state.store.shares_rates() {
        state
            .take(Bucket::EnrollFailures, ip.to_string(), 1, true)
            .await?
            .ok();
    } else {
        state.limiters.enroll_failed(ip);
    }
    Ok(())
}

async fn enroll_checked(
    state: &AppState,
    req: EnrollRequest,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_client_id(&req.client_id)?;
    let invite_hash = req.invite.as_deref().map(|t| sha256(t.as_bytes()));
    if invite_hash.is_none() {
        match &state.config.enrollment {
            Enrollment::Open => {}
            Enrollment::Secret(_) => {
                let given = req.enrollment_secret.as_deref().ok_or_else(|| {
                    ApiError::unauthorized("enrollment_secret or invite is required")
                })?;
                let expected = state
                    .enrollment_secret_hash
                    .ok_or_else(|| ApiError::internal("enrollment secret missing"))?;
                let ok: bool =
                    subtle::ConstantTimeEq::ct_eq(&sha256(given.as_bytes())[..], &expected[..])
                        .into();
                if !ok {
                    return Err(ApiError::forbidden("wrong enrollment secret"));
                }
            }
            Enrollment::InviteOnly => {
                return Err(ApiError::unauthorized(
                    "an invite token is required to enroll",
                ))
            }
        }
    }
    let csr = unb64("csr", &req.csr)?;
    let issued = state
        .ca
        .issue(&csr, &req.client_id, state.config.cert_validity_days)
        .map_err(|e| match e {
            AuthorityError::Internal(m) => {
                tracing::error!(error = %m, "certificate issuance failed");
                ApiError::internal("certificate issuance failed")
            }
            other => ApiError::bad_request(other.to_string()),
        })?;
    let token = random_token()?;
    let client = NewClient {
        id: req.client_id.clone(),
        signature_key: issued.signature_key.clone(),
        certificate: issued.der.clone(),
        token_hash: sha256(token.as_bytes()),
        created_at: now(),
        invite_hash,
    };
    state
        .db(move |s| s.create_client(client))
        .await
        .map_err(|e| {
            if e.status() == StatusCode::BAD_REQUEST {
                // The only invalid input create_client reports is the invite.
                ApiError::forbidden("invite token is unknown, used or expired")
            } else {
                e
            }
        })?;
    tracing::info!(client = %req.client_id, "client enrolled");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "client_id": req.client_id,
            "identity": issued.identity,
            "certificate_chain": [b64(&issued.der), b64(state.ca.root_der())],
            "token": token,
        })),
    ))
}

/// `GET /v1/me`: the caller's own record.
pub(crate) async fn me(Authed(client): Authed) -> Json<Value> {
    Json(json!({
        "client_id": client.id,
        "identity": identity_for(&client.id),
        "status": "active",
        "enrolled_at": client.created_at,
        "signature_key": b64(&client.signature_key),
    }))
}

/// `GET /v1/clients/{user}/{device}/status`: whether a client is active or revoked.
pub(crate) async fn status(
    State(state): State<AppState>,
    _caller: ClientOrAdmin,
    Path((user, device)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = format!("{user}/{device}");
    check_client_id(&id)?;
    let lookup = id.clone();
    let client = state
        .db(move |s| s.client(&lookup))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("client {id} not found")))?;
    Ok(Json(json!({
        "client_id": client.id,
        "identity": identity_for(&client.id),
        "status": if client.revoked_at.is_some() { "revoked" } else { "active" },
        "revoked_at": client.revoked_at,
        "enrolled_at": client.created_at,
        "certificate": b64(&client.certificate),
    })))
}

/// Body of `POST /v1/admin/invites`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InviteRequest {
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    ttl_secs: Option<i64>,
}

/// `POST /v1/admin/invites`: create single-use invite tokens (stored hashed).
pub(crate) async fn create_invites(
    State(state): State<AppState>,
    _admin: Admin,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body.map_err(|r| {
        let status = r.status();
        ApiError::new(
            if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            "bad_request",
            r.body_text(),
        )
    })?;
    let req: InviteRequest = if body.iter().all(u8::is_ascii_whitespace) {
        InviteRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let count = req.count.unwrap_or(1);
    if !(1..=100).contains(&count) {
        return Err(ApiError::bad_request("count must be between 1 and 100"));
    }
    let ttl = req.ttl_secs.unwrap_or(state.config.invite_ttl_secs);
    if !(1..=366 * 24 * 3600).contains(&ttl) {
        return Err(ApiError::bad_request(
            "ttl_secs must be between 1 and a year",
        ));
    }
    let t = now();
    let mut tokens = Vec::new();
    for _ in 0..count {
        let token = random_token()?;
        let hash = sha256(token.as_bytes());
        state.db(move |s| s.add_invite(hash, t, t + ttl)).await?;
        tokens.push(token);
    }
    tracing::info!(count, "invites created");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "invites": tokens, "expires_at": t + ttl })),
    ))
}

/// `POST /v1/admin/clients/{user}/{device}/revoke`: revoke a client.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    _admin: Admin,
    Path((user, device)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = format!("{user}/{device}");
    check_client_id(&id)?;
    let target = id.clone();
    let at = state
        .db(move |s| s.revoke_client(&target, now()))
        .await
        .map_err(|e| match e.status() {
            StatusCode::NOT_FOUND => ApiError::not_found(format!("client {id} not found")),
            _ => e,
        })?;
    tracing::warn!(client = %id, "client revoked");
    state.publish(
        vec![id.clone()],
        json!({ "type": "revoked", "client_id": id }),
        true,
    );
    Ok(Json(
        json!({ "client_id": id, "status": "revoked", "revoked_at": at }),
    ))
}
