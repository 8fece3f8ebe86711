//! What the Delivery Service reads of an MLSMessage: the public header, and for
//! PublicMessage commits the parts that name clients. Never keys, never ciphertext.

use crate::api::ApiError;
use cohort::codec::Decode;
use cohort::framing::{Content, ContentType, MLSMessage, MLSMessageBody, Sender, WireFormat};
use cohort::messages::{Proposal, ProposalOrRef};

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
