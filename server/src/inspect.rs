//! What the Delivery Service reads of an MLSMessage and decides about a post before its
//! transaction: the public header; for PublicMessage handshakes, everything the group's
//! public view ([`cohort::group::PublicGroup`]) verifies. Never keys, never ciphertext.

use crate::api::{check_client_id, ApiError};
use crate::store::{
    ClientRecord, CommitEffects, GroupRecord, Handshake, PostKind, Store, StoreError,
};
use cohort::codec::Decode;
use cohort::framing::{Content, ContentType, MLSMessage, MLSMessageBody, Sender, WireFormat};
use cohort::group::{GroupConfig, PublicGroup, PublicReceived};
use cohort::messages::{GroupInfo, Proposal, ProposalOrRef};

/// The header of a group message, plus what a PublicMessage commit reveals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// Header group id.
    pub group_id: Vec<u8>,
    /// Header epoch.
    pub epoch: u64,
    /// Header content type.
    pub content_type: ContentType,
    /// PublicMessage or PrivateMessage.
    pub wire_format: WireFormat,
    /// For a PublicMessage commit: the leaf signature keys of its Add proposals by value.
    pub add_signature_keys: Option<Vec<Vec<u8>>>,
    /// Whether a PublicMessage commit also covers proposals by reference.
    pub has_proposal_refs: bool,
    /// For an external commit (sender `new_member_commit`): the joiner's leaf signature key.
    pub external_commit_key: Option<Vec<u8>>,
}

/// Decode a message posted to a group log and read its header.
pub fn inspect_message(bytes: &[u8]) -> Result<Inspected, ApiError> {
    let msg = MLSMessage::decode_exact(bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed MLSMessage: {e:?}")))?;
    match &msg.body {
        MLSMessageBody::PrivateMessage(m) => Ok(Inspected {
            group_id: m.group_id.0.clone(),
            epoch: m.epoch,
            content_type: m.content_type,
            wire_format: WireFormat::PrivateMessage,
            add_signature_keys: None,
            has_proposal_refs: false,
            external_commit_key: None,
        }),
        MLSMessageBody::PublicMessage(m) => {
            let content = &m.content;
            let mut inspected = Inspected {
                group_id: content.group_id.0.clone(),
                epoch: content.epoch,
                content_type: content.content_type(),
                wire_format: WireFormat::PublicMessage,
                add_signature_keys: None,
                has_proposal_refs: false,
                external_commit_key: None,
            };
            match (&content.sender, &content.content) {
                // RFC 9420 §6: application data is never sent as PublicMessage.
                (_, Content::Application(_)) => {
                    return Err(ApiError::bad_request(
                        "application messages must be PrivateMessages",
                    ))
                }
                (Sender::NewMemberCommit, Content::Commit(commit)) => {
                    let path = commit.path.as_ref().ok_or_else(|| {
                        ApiError::bad_request("external commit without an update path")
                    })?;
                    inspected.external_commit_key = Some(path.leaf_node.signature_key.0.clone());
                }
                (Sender::NewMemberCommit, _) => {
                    return Err(ApiError::bad_request(
                        "new_member_commit sender must send a commit",
                    ))
                }
                (_, Content::Commit(commit)) => {
                    let mut keys = Vec::new();
                    for p in &commit.proposals {
                        match p {
                            ProposalOrRef::Proposal(Proposal::Add(add)) => {
                                keys.push(add.key_package.leaf_node.signature_key.0.clone())
                            }
                            ProposalOrRef::Proposal(_) => {}
                            ProposalOrRef::Reference(_) => inspected.has_proposal_refs = true,
                        }
                    }
                    inspected.add_signature_keys = Some(keys);
                }
                (_, Content::Proposal(_)) => {}
            }
            Ok(inspected)
        }
        MLSMessageBody::Welcome(_)
        | MLSMessageBody::GroupInfo(_)
        | MLSMessageBody::KeyPackage(_) => Err(ApiError::bad_request(
            "only PublicMessage and PrivateMessage go to a group log",
        )),
    }
}

/// Check that bytes are an MLSMessage carrying a Welcome.
pub fn inspect_welcome(bytes: &[u8]) -> Result<(), ApiError> {
    match MLSMessage::decode_exact(bytes) {
        Ok(MLSMessage {
            body: MLSMessageBody::Welcome(_),
            ..
        }) => Ok(()),
        Ok(_) => Err(ApiError::bad_request("welcome is not a Welcome MLSMessage")),
        Err(e) => Err(ApiError::bad_request(format!("malformed welcome: {e:?}"))),
    }
}

/// Check that bytes are an MLSMessage carrying a GroupInfo for `group_id` at `epoch`;
/// returns the epoch.
pub fn inspect_group_info(bytes: &[u8], group_id: &[u8], epoch: u64) -> Result<u64, ApiError> {
    let msg = MLSMessage::decode_exact(bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed group_info: {e:?}")))?;
    let MLSMessageBody::GroupInfo(info) = &msg.body else {
        return Err(ApiError::bad_request(
            "group_info is not a GroupInfo MLSMessage",
        ));
    };
    if info.group_context.group_id.as_slice() != group_id {
        return Err(ApiError::bad_request("group_info is for another group"));
    }
    if info.group_context.epoch != epoch {
        return Err(ApiError::bad_request(format!(
            "group_info is for epoch {} but should be for epoch {epoch}",
            info.group_context.epoch
        )));
    }
    Ok(epoch)
}

/// A post to a group log with its base64 fields decoded.
#[derive(Debug, Clone, Default)]
pub struct Post {
    /// The MLSMessage.
    pub message: Vec<u8>,
    /// A Welcome MLSMessage (commits only).
    pub welcome: Option<Vec<u8>>,
    /// Who gets the Welcome.
    pub welcome_recipients: Vec<String>,
    /// A GroupInfo MLSMessage for the next epoch (commits only).
    pub group_info: Option<Vec<u8>>,
    /// Clients the poster says the commit adds.
    pub added: Vec<String>,
    /// Clients the poster says the commit removes.
    pub removed: Vec<String>,
}

/// The policy the DS's public views run under: every check a member runs, no credential
/// validator (credentials were checked when their KeyPackages were published, and every
/// new leaf must carry an enrolled client's key).
pub fn view_config() -> GroupConfig {
    GroupConfig {
        credential_validator: None,
        check_received_lifetimes: true,
        ..GroupConfig::default()
    }
}

fn invalid(what: &str, e: cohort::Error) -> ApiError {
    ApiError::bad_request(format!("{what}: {e}"))
}

fn decode_group_info(bytes: &[u8]) -> Result<GroupInfo, ApiError> {
    match MLSMessage::decode_exact(bytes) {
        Ok(MLSMessage {
            body: MLSMessageBody::GroupInfo(info),
            ..
        }) => Ok(*info),
        Ok(_) => Err(ApiError::bad_request(
            "group_info is not a GroupInfo MLSMessage",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "malformed group_info: {e:?}"
        ))),
    }
}

/// The public view of a new PublicMessage group: from its epoch-0 GroupInfo (which must
/// carry the ratchet tree), whose only member must be the caller's enrolled key.
pub fn initial_view(
    group_info: &[u8],
    group_id: &[u8],
    caller: &ClientRecord,
) -> Result<PublicGroup, ApiError> {
    inspect_group_info(group_info, group_id, 0)?;
    let info = decode_group_info(group_info)?;
    let view = PublicGroup::from_group_info(&info, None, view_config())
        .map_err(|e| invalid("invalid group_info", e))?;
    let members = view.members();
    if members.len() != 1 || members[0].leaf.signature_key.as_slice() != caller.signature_key {
        return Err(ApiError::bad_request(
            "a new group's only member must be its creator's enrolled key",
        ));
    }
    Ok(view)
}

fn store_err(e: StoreError) -> ApiError {
    ApiError::from(e)
}

/// The enrolled client holding a leaf's signature key.
fn client_of(store: &dyn Store, key: &[u8]) -> Result<ClientRecord, ApiError> {
    store
        .client_by_signature_key(key)
        .map_err(store_err)?
        .ok_or_else(|| ApiError::bad_request("a leaf of the group names no enrolled client"))
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

/// Most client ids in `added`, `removed` or `welcome_recipients`.
const MAX_IDS: usize = 1000;

/// Decide what a post is and check everything that can be checked before its transaction
/// (the inspect-and-decide path; the ordering rule then runs in the store's transaction).
///
/// In a PublicMessage group every proposal and commit goes through the group's public
/// view ([`PublicGroup::process`]): signature, proposal list, UpdatePath, and the
/// membership change derived from the proposals; the poster's `added`/`removed`, if
/// given, must equal it. External commits are verified the same way in both modes, against
/// the view or the current GroupInfo. A PrivateMessage group's commits are opaque: their
/// membership claims are taken from the (member) poster.
pub fn decide_post(
    store: &dyn Store,
    group: &GroupRecord,
    caller: &ClientRecord,
    post: &Post,
) -> Result<(Inspected, PostKind), ApiError> {
    let header = inspect_message(&post.message)?;
    if header.group_id != group.group_id {
        return Err(ApiError::bad_request(
            "the message header's group id does not match the URL",
        ));
    }
    let extras = post.welcome.is_some()
        || post.group_info.is_some()
        || !post.added.is_empty()
        || !post.removed.is_empty()
        || !post.welcome_recipients.is_empty();
    if header.content_type != ContentType::Commit && extras {
        return Err(ApiError::bad_request(
            "welcome, group_info, added and removed go only with a commit",
        ));
    }
    check_ids("added", &post.added)?;
    check_ids("removed", &post.removed)?;
    check_ids("welcome_recipients", &post.welcome_recipients)?;
    if header.content_type == ContentType::Application {
        return Ok((header, PostKind::Application));
    }
    // Stale and future epochs are left to the store's ordering rule (409).
    let current = header.epoch == group.epoch;
    let kind = match (group.handshake, header.wire_format) {
        (Handshake::Public, WireFormat::PrivateMessage) => {
            return Err(ApiError::bad_request(
                "this group uses PublicMessage handshakes: the DS must be able to verify them",
            ))
        }
        // Refused here, not by the store: effects built without a view must never meet a
        // transaction in which the group has reached this epoch meanwhile.
        (Handshake::Public, _) if !current => return Err(epoch_conflict(&header, group)),
        (_, WireFormat::PublicMessage) if header.external_commit_key.is_some() && !current => {
            return Err(epoch_conflict(&header, group))
        }
        (Handshake::Public, _) => {
            let bytes = store
                .group_view(&group.group_id)
                .map_err(store_err)?
                .ok_or_else(|| ApiError::internal("the group's public view is missing"))?;
            let mut view = PublicGroup::from_bytes(&bytes, view_config())
                .map_err(|_| ApiError::internal("the group's public view is unreadable"))?;
            if view.epoch() != header.epoch {
                // A commit won between reading the group and its view: a conflict, as in
                // the store's transaction.
                let mut moved = group.clone();
                moved.epoch = view.epoch();
                return Err(epoch_conflict(&header, &moved));
            }
            let proposals = store
                .epoch_proposals(&group.group_id, header.epoch)
                .map_err(store_err)?;
            public_kind(store, &mut view, &proposals, caller, post)?
        }
        (Handshake::Private, WireFormat::PublicMessage)
            if current && header.external_commit_key.is_some() =>
        {
            let mut view = current_group_info_view(store, group)?;
            public_kind(store, &mut view, &[], caller, post)?
        }
        _ => match header.content_type {
            ContentType::Commit => PostKind::Commit(Box::new(opaque_commit(&header, post)?)),
            _ => PostKind::Proposal,
        },
    };
    Ok((header, kind))
}

fn epoch_conflict(header: &Inspected, group: &GroupRecord) -> ApiError {
    ApiError::from(StoreError::Conflict {
        reason: format!(
            "handshake for epoch {} but the group is at epoch {}",
            header.epoch, group.epoch
        ),
        current_epoch: Some(group.epoch),
        seq: None,
    })
}

/// A public view of a PrivateMessage group's current epoch, from the GroupInfo its members
/// published: what an external commit to it is checked against.
fn current_group_info_view(
    store: &dyn Store,
    group: &GroupRecord,
) -> Result<PublicGroup, ApiError> {
    let (epoch, bytes) = store
        .group_info(&group.group_id)
        .map_err(store_err)?
        .ok_or_else(|| ApiError::bad_request("no GroupInfo to check an external commit against"))?;
    if epoch != group.epoch {
        return Err(ApiError::bad_request(
            "the published GroupInfo is not for the current epoch",
        ));
    }
    let info = decode_group_info(&bytes)?;
    PublicGroup::from_group_info(&info, None, view_config())
        .map_err(|e| invalid("the published GroupInfo cannot be followed", e))
}

/// A handshake verified by `view`, with the membership change it makes.
fn public_kind(
    store: &dyn Store,
    view: &mut PublicGroup,
    logged_proposals: &[Vec<u8>],
    caller: &ClientRecord,
    post: &Post,
) -> Result<PostKind, ApiError> {
    for bytes in logged_proposals {
        // Each was verified when it was posted; one that no longer decodes is skipped
        // (a commit referencing it then fails as unresolvable).
        if let Ok(m) = MLSMessage::decode_exact(bytes) {
            let _ = view.process(&m);
        }
    }
    let message = MLSMessage::decode_exact(&post.message)
        .map_err(|e| ApiError::bad_request(format!("malformed MLSMessage: {e:?}")))?;
    let staged = match view.process(&message).map_err(|e| invalid("rejected", e))? {
        PublicReceived::Proposal(_) => return Ok(PostKind::Proposal),
        PublicReceived::Commit(staged) => staged,
        _ => return Err(ApiError::bad_request("unexpected handshake")),
    };
    let summary = &staged.summary;
    let external = summary.sender == Sender::NewMemberCommit;
    let mut added = Vec::new();
    for (_, leaf) in &summary.added {
        let client = client_of(store, &leaf.signature_key)?;
        if external {
            if client.id != caller.id {
                return Err(ApiError::forbidden(
                    "external commit's leaf signature key is not the poster's enrolled key",
                ));
            }
        } else {
            added.push(client.id);
        }
    }
    let mut removed = Vec::new();
    for (_, leaf) in &summary.removed {
        removed.push(client_of(store, &leaf.signature_key)?.id);
    }
    // A resync (external commit) or a remove-and-re-add leaves the client a member.
    removed.retain(|r| !(added.contains(r) || external && *r == caller.id));
    // A leaf that changes keys (Update, the committer's path) must stay the same client.
    for &i in &summary.updated {
        let (Some(old), Some(new)) = (view.tree().leaf(i), staged.next().tree().leaf(i)) else {
            continue;
        };
        if old.signature_key != new.signature_key {
            let before = client_of(store, &old.signature_key)?;
            let after = client_of(store, &new.signature_key)?;
            if before.id != after.id {
                return Err(ApiError::bad_request(
                    "a leaf changed to another client's signature key",
                ));
            }
        }
    }
    added.sort();
    removed.sort();
    let claims_given = !post.added.is_empty() || !post.removed.is_empty();
    if claims_given {
        let (mut a, mut r) = (post.added.clone(), post.removed.clone());
        a.sort();
        r.sort();
        if a != added || r != removed {
            return Err(ApiError::bad_request(format!(
                "`added`/`removed` ({a:?}/{r:?}) are not what the commit does ({added:?}/{removed:?})"
            )));
        }
    }
    if external && (post.welcome.is_some() || !post.welcome_recipients.is_empty()) {
        return Err(ApiError::bad_request(
            "an external commit adds only its poster: no welcome",
        ));
    }
    let welcome = check_welcome(post, &added)?;
    if let Some(bytes) = &post.group_info {
        let info = decode_group_info(bytes)?;
        staged
            .next()
            .check_group_info(&info)
            .map_err(|e| invalid("group_info does not describe the commit's epoch", e))?;
    }
    Ok(PostKind::Commit(Box::new(CommitEffects {
        welcome,
        welcome_recipients: post.welcome_recipients.clone(),
        group_info: post.group_info.clone(),
        added,
        removed,
        external,
        view: Some(staged.next().to_bytes()),
    })))
}

/// A Welcome, if any, must be a Welcome and go only to added clients.
fn check_welcome(post: &Post, added: &[String]) -> Result<Option<Vec<u8>>, ApiError> {
    match &post.welcome {
        Some(bytes) => {
            inspect_welcome(bytes)?;
            if post.welcome_recipients.is_empty() {
                return Err(ApiError::bad_request("a welcome needs welcome_recipients"));
            }
        }
        None if !post.welcome_recipients.is_empty() => {
            return Err(ApiError::bad_request(
                "welcome_recipients given without a welcome",
            ))
        }
        None => {}
    }
    if let Some(r) = post.welcome_recipients.iter().find(|r| !added.contains(r)) {
        return Err(ApiError::bad_request(format!(
            "welcome recipient {r} is not added by the commit"
        )));
    }
    Ok(post.welcome.clone())
}

/// The effects of a commit the DS cannot read (PrivateMessage group), from the poster's
/// claims.
fn opaque_commit(header: &Inspected, post: &Post) -> Result<CommitEffects, ApiError> {
    if let Some(both) = post.added.iter().find(|a| post.removed.contains(a)) {
        return Err(ApiError::bad_request(format!(
            "{both} is both added and removed"
        )));
    }
    let welcome = check_welcome(post, &post.added)?;
    let group_info = match &post.group_info {
        Some(bytes) => {
            inspect_group_info(bytes, &header.group_id, header.epoch.saturating_add(1))?;
            Some(bytes.clone())
        }
        None => None,
    };
    Ok(CommitEffects {
        welcome,
        welcome_recipients: post.welcome_recipients.clone(),
        group_info,
        added: post.added.clone(),
        removed: post.removed.clone(),
        external: header.external_commit_key.is_some(),
        view: None,
    })
}
