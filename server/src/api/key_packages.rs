//! KeyPackage directory routes (RFC 9750 §6.1): upload, count, claim.

use super::{b64, check_client_id, now, unb64, ApiError, AppState, Authed, Json};
use crate::authority::{identity_for, validate_credential};
use crate::limits::Limiters;
use crate::store::{ClientRecord, StoredKeyPackage};
use axum::extract::State;
use axum::http::StatusCode;
use cohort::codec::{Decode, Encode};
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::key_package::{is_last_resort, key_package_ref, validate_key_package};
use cohort::messages::{Credential, KeyPackage, LeafNodeSourceData};
use serde::Deserialize;
use serde_json::{json, Value};

/// Most KeyPackages in one upload.
const MAX_BATCH: usize = 500;
/// Most targets in one claim.
const MAX_CLAIM: usize = 100;

/// Body of `POST /v1/key-packages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadRequest {
    key_packages: Vec<String>,
}

/// Decode, validate and attribute one KeyPackage to its uploader.
fn check_key_package(
    index: usize,
    bytes: &[u8],
    owner: &ClientRecord,
    root_der: &[u8],
    now: i64,
) -> Result<StoredKeyPackage, ApiError> {
    let bad = |m: String| ApiError::bad_request(format!("key_packages[{index}]: {m}"));
    // Accept an MLSMessage carrying a KeyPackage, or a bare KeyPackage.
    let kp: KeyPackage = match MLSMessage::decode_exact(bytes) {
        Ok(MLSMessage {
            body: MLSMessageBody::KeyPackage(kp),
            ..
        }) => *kp,
        Ok(_) => return Err(bad("MLSMessage is not a KeyPackage".into())),
        Err(_) => {
            KeyPackage::decode_exact(bytes).map_err(|e| bad(format!("not a KeyPackage: {e:?}")))?
        }
    };
    let suite = Suite::new(kp.cipher_suite)
        .map_err(|_| bad(format!("unsupported cipher suite {}", kp.cipher_suite.0)))?;
    let t = u64::try_from(now).unwrap_or(0);
    validate_key_package(&suite, &kp, Some(t)).map_err(|e| bad(format!("invalid: {e}")))?;
    if kp.leaf_node.signature_key.as_slice() != owner.signature_key.as_slice() {
        return Err(ApiError::forbidden(format!(
            "key_packages[{index}]: signature key is not the one enrolled for {}",
            owner.id
        )));
    }
    match &kp.leaf_node.credential {
        Credential::X509 { .. } => {
            let id = validate_credential(
                &kp.leaf_node.credential,
                root_der,
                now,
                &owner.signature_key,
            )
            .map_err(|e| ApiError::forbidden(format!("key_packages[{index}]: {e}")))?;
            if id.client_id != owner.id {
                return Err(ApiError::forbidden(format!(
                    "key_packages[{index}]: credential names {}, not {}",
                    id.identity,
                    identity_for(&owner.id)
                )));
            }
        }
        Credential::Basic { identity } => {
            if identity.as_slice() != identity_for(&owner.id).as_bytes() {
                return Err(ApiError::forbidden(format!(
                    "key_packages[{index}]: basic credential must be {}",
                    identity_for(&owner.id)
                )));
            }
        }
    }
    let not_after = match &kp.leaf_node.leaf_node_source {
        LeafNodeSourceData::KeyPackage(lifetime) => lifetime.not_after,
        _ => return Err(bad("leaf node is not from a KeyPackage".into())),
    };
    let kp_ref = key_package_ref(&suite, &kp);
    let last_resort = is_last_resort(&kp);
    let cipher_suite = kp.cipher_suite.0;
    let data = MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(kp))).to_bytes();
    Ok(StoredKeyPackage {
        kp_ref,
        cipher_suite,
        data,
        last_resort,
        not_after,
    })
}

/// `POST /v1/key-packages`: validate and store a batch (all or nothing).
pub(crate) async fn upload(
    State(state): State<AppState>,
    Authed(client): Authed,
    Json(req): Json<UploadRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if req.key_packages.is_empty() || req.key_packages.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "key_packages must hold 1 to {MAX_BATCH} entries"
        )));
    }
    let raw = req
        .key_packages
        .iter()
        .enumerate()
        .map(|(i, t)| unb64(&format!("key_packages[{i}]"), t))
        .collect::<Result<Vec<_>, _>>()?;
    let root = state.ca.root_der().to_vec();
    let owner = client.clone();
    let t = now();
    // Signature checks are CPU work: keep them off the async executor.
    let checked = tokio::task::spawn_blocking(move || {
        raw.iter()
            .enumerate()
            .map(|(i, b)| check_key_package(i, b, &owner, &root, t))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|_| ApiError::internal("validation task failed"))??;
    let accepted = checked.len();
    let id = client.id.clone();
    let max = state.limiters.limits.max_key_packages;
    let ordinary = checked.iter().filter(|k| !k.last_resort).count() as u64;
    let counts = state
        .db(move |s| {
            let held: u64 = s
                .key_package_counts(&id, t)?
                .iter()
                .map(|c| c.available)
                .sum();
            if held + ordinary > max {
                return Ok(Err(ApiError::quota(format!(
                    "{id} holds {held} KeyPackages; at most {max} (last-resort ones aside)"
                ))));
            }
            s.add_key_packages(&id, checked, t)?;
            s.key_package_counts(&id, t).map(Ok)
        })
        .await??;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "accepted": accepted, "counts": counts })),
    ))
}

/// `GET /v1/key-packages`: how many the caller has left, per cipher suite.
pub(crate) async fn counts(
    State(state): State<AppState>,
    Authed(client): Authed,
) -> Result<Json<Value>, ApiError> {
    let counts = state
        .db(move |s| s.key_package_counts(&client.id, now()))
        .await?;
    Ok(Json(json!({ "counts": counts })))
}

/// Body of `POST /v1/key-packages/claim`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClaimRequest {
    cipher_suite: u16,
    client_ids: Vec<String>,
}

/// `POST /v1/key-packages/claim`: one KeyPackage per target client for a cipher suite.
pub(crate) async fn claim(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Json(req): Json<ClaimRequest>,
) -> Result<Json<Value>, ApiError> {
    if req.client_ids.is_empty() || req.client_ids.len() > MAX_CLAIM {
        return Err(ApiError::bad_request(format!(
            "client_ids must hold 1 to {MAX_CLAIM} entries"
        )));
    }
    for id in &req.client_ids {
        check_client_id(id)?;
    }
    let mut sorted = req.client_ids.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != req.client_ids.len() {
        return Err(ApiError::bad_request("client_ids has duplicates"));
    }
    if Suite::new(CipherSuite(req.cipher_suite)).is_err() {
        return Err(ApiError::bad_request(format!(
            "unsupported cipher suite {}",
            req.cipher_suite
        )));
    }
    for (bucket, key, n) in Limiters::claim_takes(&caller.id, &req.client_ids) {
        state.take(bucket, key, n, false).await?.map_err(|wait| {
            state.metrics.rate_limited("claims");
            ApiError::rate_limited("too many KeyPackage claims", wait)
        })?;
    }
    let targets = req.client_ids;
    let suite = req.cipher_suite;
    let claimed = state
        .db(move |s| s.claim_key_packages(&targets, suite, now()))
        .await?;
    tracing::info!(claimer = %caller.id, n = claimed.len(), "key packages claimed");
    let out: Vec<Value> = claimed
        .into_iter()
        .map(|c| match c.key_package {
            Some((data, last_resort)) => json!({
                "client_id": c.client_id,
                "key_package": b64(&data),
                "last_resort": last_resort,
            }),
            None => json!({ "client_id": c.client_id, "key_package": null, "last_resort": false }),
        })
        .collect();
    Ok(Json(json!({ "key_packages": out })))
}
