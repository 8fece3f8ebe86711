//! Delivery Service routes: groups, the ordered log, GroupInfo, Welcome inboxes.

use super::{b64, now, sha256, unb64, ApiError, AppState, Authed, Json, Path, Query};
use crate::inspect::{decide_post, initial_view, inspect_group_info, view_config, Post};
use crate::limits::Bucket;
use crate::store::{GroupRecord, Handshake, NewGroup, NewMessage, PostKind};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cohort::codec::Decode;
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::PublicGroup;
use serde::Deserialize;
use serde_json::{json, Value};

/// Longest group id the DS accepts.
const MAX_GROUP_ID: usize = 256;

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
        "handshake": g.handshake.name(),
        "contested_epoch": g.contested_epoch,
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
    /// `"public"` (default) or `"private"`.
    #[serde(default)]
    handshake: Option<String>,
}

/// `POST /v1/groups`: register a group at epoch 0 with the caller as first member.
pub(crate) async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Json(req): Json<CreateGroup>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let gid = group_id_from_path(&req.group_id)?;
    let handshake = match req.handshake.as_deref() {
        None | Some("public") => Handshake::Public,
        Some("private") => Handshake::Private,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "handshake must be \"public\" or \"private\", not {other:?}"
            )))
        }
    };
    let group_info = match &req.group_info {
        Some(text) => {
            let bytes = unb64("group_info", text)?;
            inspect_group_info(&bytes, &gid, 0)?;
            Some(bytes)
        }
        None => None,
    };
    let view = match (handshake, &group_info) {
        (Handshake::Public, Some(bytes)) => Some(initial_view(bytes, &gid, &caller)?.to_bytes()),
        (Handshake::Public, None) => {
            return Err(ApiError::bad_request(
                "a PublicMessage group needs its epoch-0 group_info (with the ratchet tree)",
            ))
        }
        (Handshake::Private, _) => None,
    };
    let group = NewGroup {
        group_id: gid,
        creator: caller.id.clone(),
        allow_external_join: req.allow_external_join,
        group_info,
        created_at: now(),
        handshake,
        view,
        creator_quota: state.limiters.limits.max_groups_per_client,
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

/// `POST /v1/groups/{group_id}/commits/{seq}/ack`: in a PrivateMessage group, say that the
/// commit at `seq` is the one the caller processed for its epoch (RFC 9750 "Invalid
/// Commits": members take the first commit they can process; see `Store::ack_commit`).
pub(crate) async fn ack_commit(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((group_id, seq)): Path<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let id = caller.id.clone();
    let (welcomed, g) = state
        .db(move |s| {
            let welcomed = s.ack_commit(&gid, seq, &id, now())?;
            Ok((welcomed, s.group(&gid)?))
        })
        .await?;
    let g = g.ok_or_else(|| ApiError::not_found("group not found"))?;
    for (recipient, id) in welcomed {
        // Push only wakes the recipient: the Welcome itself is fetched from the inbox.
        state.publish(
            vec![recipient],
            json!({ "type": "welcome", "id": id, "group_id": b64(&g.group_id), "epoch": g.epoch }),
            false,
        );
    }
    tracing::info!(caller = %caller.id, seq, "commit acknowledged");
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

/// `POST /v1/groups/{group_id}/messages`: append a handshake or application message.
pub(crate) async fn post_message(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
    Json(req): Json<PostMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let gid = group_id_from_path(&group_id)?;
    state
        .take(Bucket::Messages, caller.id.clone(), 1, false)
        .await?
        .map_err(|wait| {
            state.metrics.rate_limited("messages");
            ApiError::rate_limited("too many messages", wait)
        })?;
    let data = unb64("message", &req.message)?;
    let post = Post {
        message: data.clone(),
        welcome: req
            .welcome
            .as_deref()
            .map(|t| unb64("welcome", t))
            .transpose()?,
        welcome_recipients: req.welcome_recipients,
        group_info: req
            .group_info
            .as_deref()
            .map(|t| unb64("group_info", t))
            .transpose()?,
        added: req.added,
        removed: req.removed,
    };
    let lookup = gid.clone();
    let poster = caller.clone();
    let (header, kind) = state
        .db(move |s| {
            let Some(group) = s.group(&lookup)? else {
                return Ok(Err(ApiError::not_found("group not found")));
            };
            Ok(decide_post(s, &group, &poster, &post))
        })
        .await??;
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
    let is_commit = content_type == 3;
    let appended = match state.db(move |s| s.append(message)).await {
        Ok(a) => a,
        Err(e) => {
            if is_commit {
                state.metrics.commit(if e.status() == StatusCode::CONFLICT {
                    "conflict"
                } else {
                    "rejected"
                });
            }
            return Err(e);
        }
    };
    if is_commit {
        state.metrics.commit("accepted");
    }
    state
        .metrics
        .stored(content_type_name(content_type), data.len());
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
) -> Result<Response, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let g = member_group(&state, gid.clone(), &caller.id).await?;
    let limit = cursor.limit();
    let budget = state.limiters.limits.max_page_bytes;
    let (messages, first) = state
        .db(move |s| s.messages_after(&gid, cursor.after, limit, budget))
        .await?;
    // The reply is written one entry at a time: each entry's base64 exists only while it is
    // being sent, so a page costs its stored bytes plus one encoded entry.
    let head = json!({ "first_seq": first, "last_seq": g.last_seq, "epoch": g.epoch });
    let head = head.to_string();
    let head = format!("{},\"messages\":[", &head[..head.len() - 1]);
    let entries = messages.into_iter().enumerate().map(|(i, m)| {
        let entry = json!({
            "seq": m.seq,
            "epoch": m.epoch,
            "content_type": content_type_name(m.content_type),
            "wire_format": wire_format_name(m.wire_format),
            "sender": m.sender,
            "message": b64(&m.data),
            "received_at": m.created_at,
        });
        let sep = if i == 0 { "" } else { "," };
        Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(format!("{sep}{entry}")))
    });
    let chunks = std::iter::once(Ok(axum::body::Bytes::from(head)))
        .chain(entries)
        .chain(std::iter::once(Ok(axum::body::Bytes::from_static(b"]}"))));
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response())
}

/// A group the caller may read the joining material of: a member's, or anyone's when the
/// group allows external joins (404 if unknown, 403 otherwise).
async fn joinable_group(
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
        && !g.allow_external_join
    {
        return Err(ApiError::forbidden(
            "not a member, and the group does not allow external joins",
        ));
    }
    Ok(g)
}

/// The DS's public view of a PublicMessage group at its current epoch.
async fn public_view(state: &AppState, gid: Vec<u8>) -> Result<PublicGroup, ApiError> {
    let view = state
        .db(move |s| s.group_view(&gid))
        .await?
        .ok_or_else(|| ApiError::internal("the group's public view is missing"))?;
    PublicGroup::from_bytes(&view, view_config())
        .map_err(|_| ApiError::internal("the group's public view is unreadable"))
}

/// `GET /v1/groups/{group_id}/group-info`: the latest GroupInfo, for members and, if the
/// group allows external joins, for any enrolled client.
pub(crate) async fn get_group_info(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    joinable_group(&state, gid.clone(), &caller.id).await?;
    let (epoch, data) = state
        .db(move |s| s.group_info(&gid))
        .await?
        .ok_or_else(|| ApiError::not_found("no GroupInfo published for this group"))?;
    Ok(Json(json!({ "epoch": epoch, "group_info": b64(&data) })))
}

/// `GET /v1/groups/{group_id}/ratchet-tree`: the ratchet tree of the group's current epoch
/// (RFC 9420 §12.4.3.3: a Welcome or GroupInfo may leave it out when the DS serves it), for
/// members and, if the group allows external joins, any enrolled client. Only PublicMessage
/// groups have one: the DS follows their tree; a PrivateMessage group's tree is unknown here.
pub(crate) async fn get_ratchet_tree(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(group_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let gid = group_id_from_path(&group_id)?;
    let g = joinable_group(&state, gid.clone(), &caller.id).await?;
    if g.handshake != Handshake::Public {
        return Err(ApiError::not_found(
            "the DS keeps no ratchet tree for a PrivateMessage group",
        ));
    }
    let view = public_view(&state, gid).await?;
    Ok(Json(json!({
        "epoch": view.epoch(),
        "ratchet_tree": b64(&view.ratchet_tree_bytes()),
    })))
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
    if g.handshake == Handshake::Public {
        let MLSMessageBody::GroupInfo(info) = MLSMessage::decode_exact(&bytes)
            .map_err(|e| ApiError::bad_request(format!("malformed group_info: {e:?}")))?
            .body
        else {
            return Err(ApiError::bad_request("group_info is not a GroupInfo"));
        };
        let view = public_view(&state, gid.clone()).await?;
        if view.epoch() == epoch {
            view.check_group_info(&info).map_err(|e| {
                ApiError::bad_request(format!("group_info does not describe the epoch: {e}"))
            })?;
        }
    }
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
    let budget = state.limiters.limits.max_page_bytes;
    let entries = state
        .db(move |s| s.inbox(&caller.id, cursor.after, limit, budget))
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
