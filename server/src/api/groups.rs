//! Delivery Service routes: groups, the ordered log, GroupInfo, Welcome inboxes.

use super::{
    b64, check_client_id, now, sha256, unb64, ApiError, AppState, Authed, Json, Path, Query,
};
use crate::inspect::{inspect_group_info, inspect_message, inspect_welcome, Inspected};
use crate::store::{CommitEffects, GroupRecord, NewGroup, NewMessage, PostKind};
use axum::extract::State;
use axum::http::StatusCode;
use cohort::framing::ContentType;
use serde::Deserialize;
use serde_json::{json, Value};

/// Longest group id the DS accepts.
const MAX_GROUP_ID: usize = 256;
/// Most client ids in `added`, `removed` or `welcome_recipients`.
const MAX_IDS: usize = 1000;

fn group_id_from_path(text: &str) -> Result<Vec<u8>, ApiError> {
    let id = unb64("group id", text)?;
    if id.is_empty() || id.len() > MAX_GROUP_ID {
        return Err(ApiError::bad_request(format!(
            "group id must be 1 to {MAX_GROUP_ID} bytes"
        )));
    }
    Ok(id)
}

fn group_json(g: &GroupRecord) -> Value {
    json!({
        "group_id": b64(&g.group_id),
        "epoch": g.epoch,
        "creator": g.creator,
        "allow_external_join": g.allow_external_join,
        "last_seq": g.last_seq,
        "members": g.members,
    })
}

/// Load a group the caller belongs to (404 if unknown, 403 if not a member).
async fn member_group(
    state: &AppState,
    gid: Vec<u8>,
    caller: &str,
) -> Result<GroupRecord, ApiError> {
    let g = state
        .db(move |s| s.group(&gid))
        .await?
        .ok_or_else(|| ApiError::not_found("group not found"))?;
    if g.members
        .binary_search_by(|m| m.as_str().cmp(caller))
        .is_err()
    {
        return Err(ApiError::forbidden("not a member of this group"));
    }
    Ok(g)
}

/// Body of `POST /v1/groups`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateGroup {
    group_id: String,
    #[serde(default)]
    allow_external_join: bool,
    #[serde(default)]
    group_info: Option<String>,
}

/// `POST /v1/groups`: register a group at epoch 0 with the caller as first member.
pub(crate) async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Json(req): Json<CreateGroup>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let gid = group_id_from_path(&req.group_id)?;
    let group_info = match &req.group_info {
        Some(text) => {
            let bytes = unb64("group_info", text)?;
            inspect_group_info(&bytes, &gid, 0)?;
            Some(bytes)
        }
        None => None,
    };
    let group = NewGroup {
        group_id: gid,
        creator: caller.id.clone(),
        allow_external_join: req.allow_external_join,
        group_info,
        created_at: now(),
    };
    let record = state.db(move |s| s.create_group(group)).await?;
    tracing::info!(creator = %caller.id, "group created");
    Ok((StatusCode::CREATED, Json(group_json(&record))))
}

/// `GET /v1/groups/{group_id}`: epoch, policy and members (members only).
pub(crate) async fn info(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let g = member_group(&state, gid, &caller.id).await?;
    Ok(Json(group_json(&g)))
}

/// Body of `PUT /v1/groups/{group_id}/policy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Policy {
    allow_external_join: bool,
}

/// `PUT /v1/groups/{group_id}/policy`: the creator sets the external-join flag.
pub(crate) async fn set_policy(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
    Json(req): Json<Policy>,
) -> Result<Json<Value>, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let id = caller.id.clone();
    let g = state
        .db(move |s| {
            s.set_policy(&gid, &id, req.allow_external_join)?;
            s.group(&gid)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("group not found"))?;
    Ok(Json(group_json(&g)))
}

/// Body of `POST /v1/groups/{group_id}/messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostMessage {
    message: String,
    #[serde(default)]
    welcome: Option<String>,
    #[serde(default)]
    welcome_recipients: Vec<String>,
    #[serde(default)]
    group_info: Option<String>,
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

fn check_ids(field: &str, ids: &[String]) -> Result<(), ApiError> {
    if ids.len() > MAX_IDS {
        return Err(ApiError::bad_request(format!(
            "{field} has more than {MAX_IDS} entries"
        )));
    }
    for id in ids {
        check_client_id(id)?;
    }
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != ids.len() {
        return Err(ApiError::bad_request(format!("{field} has duplicates")));
    }
    Ok(())
}

fn content_type_name(ct: u8) -> &'static str {
    match ct {
        1 => "application",
        2 => "proposal",
        3 => "commit",
        _ => "unknown",
    }
}

fn wire_format_name(wf: u16) -> &'static str {
    match wf {
        1 => "public",
        2 => "private",
        _ => "unknown",
    }
}

/// Check what can be checked of a commit's membership claims before the transaction.
async fn commit_effects(
    state: &AppState,
    caller: &crate::store::ClientRecord,
    gid: &[u8],
    header: &Inspected,
    req: &PostMessage,
) -> Result<CommitEffects, ApiError> {
    check_ids("added", &req.added)?;
    check_ids("removed", &req.removed)?;
    check_ids("welcome_recipients", &req.welcome_recipients)?;
    if let Some(both) = req.added.iter().find(|a| req.removed.contains(a)) {
        return Err(ApiError::bad_request(format!(
            "{both} is both added and removed"
        )));
    }
    if let Some(key) = &header.external_commit_key {
        if key != &caller.signature_key {
            return Err(ApiError::forbidden(
                "external commit's leaf signature key is not the poster's enrolled key",
            ));
        }
        if !req.added.is_empty()
            || !req.removed.is_empty()
            || req.welcome.is_some()
            || !req.welcome_recipients.is_empty()
        {
            return Err(ApiError::bad_request(
                "an external commit adds only its poster: no added, removed or welcome",
            ));
        }
    }
    // PublicMessage commits show their Add proposals by value: each must name an enrolled
    // client listed in `added`; when every proposal is by value the lists must match.
    if let Some(adds) = &header.add_signature_keys {
        let mut named = Vec::with_capacity(adds.len());
        for key in adds.clone() {
            let client = state
                .db(move |s| s.client_by_signature_key(&key))
                .await?
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "an Add proposal names a KeyPackage of no enrolled client",
                    )
                })?;
            if !req.added.contains(&client.id) {
                return Err(ApiError::bad_request(format!(
                    "the commit adds {} but `added` does not list it",
                    client.id
                )));
            }
            named.push(client.id);
        }
        if !header.has_proposal_refs {
            if let Some(extra) = req.added.iter().find(|a| !named.contains(a)) {
                return Err(ApiError::bad_request(format!(
                    "`added` lists {extra} but the commit has no Add for it"
                )));
            }
        }
    }
    let welcome = match &req.welcome {
        Some(text) => {
            let bytes = unb64("welcome", text)?;
            inspect_welcome(&bytes)?;
            if req.welcome_recipients.is_empty() {
                return Err(ApiError::bad_request("a welcome needs welcome_recipients"));
            }
            Some(bytes)
        }
        None => {
            if !req.welcome_recipients.is_empty() {
                return Err(ApiError::bad_request(
                    "welcome_recipients given without a welcome",
                ));
            }
            None
        }
    };
    if let Some(r) = req
        .welcome_recipients
        .iter()
        .find(|r| !req.added.contains(r))
    {
        return Err(ApiError::bad_request(format!(
            "welcome recipient {r} is not in `added`"
        )));
    }
    let group_info = match &req.group_info {
        Some(text) => {
            let bytes = unb64("group_info", text)?;
            inspect_group_info(&bytes, gid, header.epoch.saturating_add(1))?;
            Some(bytes)
        }
        None => None,
    };
    Ok(CommitEffects {
        welcome,
        welcome_recipients: req.welcome_recipients.clone(),
        group_info,
        added: req.added.clone(),
        removed: req.removed.clone(),
        external: header.external_commit_key.is_some(),
    })
}

/// `POST /v1/groups/{group_id}/messages`: append a handshake or application message.
pub(crate) async fn post_message(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
    Json(req): Json<PostMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let data = unb64("message", &req.message)?;
    let header = inspect_message(&data)?;
    if header.group_id != gid {
        return Err(ApiError::bad_request(
            "the message header's group id does not match the URL",
        ));
    }
    let kind = match header.content_type {
        ContentType::Commit => PostKind::Commit(Box::new(
            commit_effects(&state, &caller, &gid, &header, &req).await?,
        )),
        other => {
            if req.welcome.is_some()
                || req.group_info.is_some()
                || !req.added.is_empty()
                || !req.removed.is_empty()
                || !req.welcome_recipients.is_empty()
            {
                return Err(ApiError::bad_request(
                    "welcome, group_info, added and removed go only with a commit",
                ));
            }
            if other == ContentType::Proposal {
                PostKind::Proposal
            } else {
                PostKind::Application
            }
        }
    };
    let message = NewMessage {
        group_id: gid.clone(),
        sender: caller.id.clone(),
        epoch: header.epoch,
        content_type: header.content_type as u8,
        wire_format: header.wire_format as u16,
        hash: sha256(&data),
        data: data.clone(),
        kind,
        now: now(),
    };
    let welcome = match &message.kind {
        PostKind::Commit(c) => c.welcome.clone(),
        _ => None,
    };
    let content_type = message.content_type;
    let wire_format = message.wire_format;
    let epoch = message.epoch;
    let appended = state.db(move |s| s.append(message)).await?;
    tracing::info!(
        sender = %caller.id,
        seq = appended.seq,
        epoch = appended.epoch,
        content_type = content_type_name(content_type),
        "message appended"
    );
    let gid_text = b64(&gid);
    state.publish(
        appended.notify.clone(),
        json!({
            "type": "message",
            "group_id": gid_text,
            "seq": appended.seq,
            "epoch": epoch,
            "content_type": content_type_name(content_type),
            "wire_format": wire_format_name(wire_format),
            "sender": caller.id,
            "message": b64(&data),
        }),
        false,
    );
    if let Some(w) = welcome {
        for (recipient, id) in &appended.welcomed {
            state.publish(
                vec![recipient.clone()],
                json!({
                    "type": "welcome",
                    "id": id,
                    "group_id": gid_text,
                    "epoch": appended.epoch,
                    "welcome": b64(&w),
                }),
                false,
            );
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "seq": appended.seq, "epoch": appended.epoch })),
    ))
}

/// Query of `GET /v1/groups/{group_id}/messages` and `GET /v1/welcomes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cursor {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    limit: Option<u32>,
}

impl Cursor {
    fn limit(&self) -> u32 {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
}

/// `GET /v1/groups/{group_id}/messages?after=N&limit=M`: the log after a cursor, in order.
pub(crate) async fn fetch_messages(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
    Query(cursor): Query<Cursor>,
) -> Result<Json<Value>, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let g = member_group(&state, gid.clone(), &caller.id).await?;
    let limit = cursor.limit();
    let (messages, first) = state
        .db(move |s| s.messages_after(&gid, cursor.after, limit))
        .await?;
    let list: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "seq": m.seq,
                "epoch": m.epoch,
                "content_type": content_type_name(m.content_type),
                "wire_format": wire_format_name(m.wire_format),
                "sender": m.sender,
                "message": b64(&m.data),
                "received_at": m.created_at,
            })
        })
        .collect();
    Ok(Json(json!({
        "messages": list,
        "first_seq": first,
        "last_seq": g.last_seq,
        "epoch": g.epoch,
    })))
}

/// `GET /v1/groups/{group_id}/group-info`: the latest GroupInfo, for members and, if the
/// group allows external joins, for any enrolled client.
pub(crate) async fn get_group_info(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let lookup = gid.clone();
    let g = state
        .db(move |s| s.group(&lookup))
        .await?
        .ok_or_else(|| ApiError::not_found("group not found"))?;
    let member = g.members.binary_search(&caller.id).is_ok();
    if !member && !g.allow_external_join {
        return Err(ApiError::forbidden(
            "not a member, and the group does not allow external joins",
        ));
    }
    let (epoch, data) = state
        .db(move |s| s.group_info(&gid))
        .await?
        .ok_or_else(|| ApiError::not_found("no GroupInfo published for this group"))?;
    Ok(Json(json!({ "epoch": epoch, "group_info": b64(&data) })))
}

/// Body of `PUT /v1/groups/{group_id}/group-info`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PutGroupInfo {
    group_info: String,
}

/// `PUT /v1/groups/{group_id}/group-info`: a member publishes the current epoch's GroupInfo.
pub(crate) async fn put_group_info(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
    Json(req): Json<PutGroupInfo>,
) -> Result<Json<Value>, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let g = member_group(&state, gid.clone(), &caller.id).await?;
    let bytes = unb64("group_info", &req.group_info)?;
    let epoch = inspect_group_info(&bytes, &gid, g.epoch)?;
    state
        .db(move |s| s.set_group_info(&gid, epoch, bytes))
        .await?;
    Ok(Json(json!({ "epoch": epoch })))
}

/// `GET /v1/welcomes?after=N`: the caller's Welcome inbox.
pub(crate) async fn welcomes(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(cursor): Query<Cursor>,
) -> Result<Json<Value>, ApiError> {
    let limit = cursor.limit();
    let entries = state
        .db(move |s| s.inbox(&caller.id, cursor.after, limit))
        .await?;
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "group_id": b64(&e.group_id),
                "epoch": e.epoch,
                "welcome": b64(&e.data),
                "received_at": e.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "welcomes": list })))
}

/// Body of `POST /v1/welcomes/ack`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ack {
    upto: u64,
}

/// `POST /v1/welcomes/ack`: delete the caller's inbox entries up to an id.
pub(crate) async fn ack_welcomes(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Json(req): Json<Ack>,
) -> Result<Json<Value>, ApiError> {
    let n = state.db(move |s| s.ack_inbox(&caller.id, req.upto)).await?;
    Ok(Json(json!({ "deleted": n })))
}
