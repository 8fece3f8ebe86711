//! Turning the harness's protobuf fields into Cohort values and back, with every failure a
//! gRPC status (the harness treats any error as the RPC failing).

use crate::proto;
use cohort::codec::{Bytes, Decode};
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::messages::{
    Credential, Extension, ExtensionType, Extensions, GroupInfo, Node, PSKTypeData, PreSharedKeyID,
    RatchetTreeWire, ResumptionPSKUsage,
};
use tonic::Status;

/// A library error as the RPC's failure.
pub(crate) fn status(e: cohort::Error) -> Status {
    Status::invalid_argument(e.to_string())
}

/// A decode error as the RPC's failure, naming what was being decoded.
pub(crate) fn decode_status(what: &str, e: impl std::fmt::Debug) -> Status {
    Status::invalid_argument(format!("cannot decode {what}: {e:?}"))
}

/// The cipher suite of a request (`uint32` on the wire, a `uint16` in MLS).
pub(crate) fn suite(id: u32) -> Result<Suite, Status> {
    let id = u16::try_from(id)
        .map_err(|_| Status::invalid_argument(format!("cipher suite {id} is not a uint16")))?;
    Suite::new(CipherSuite(id)).map_err(status)
}

/// An `MLSMessage` from its wire bytes.
pub(crate) fn message(what: &str, bytes: &[u8]) -> Result<MLSMessage, Status> {
    MLSMessage::decode_exact(bytes).map_err(|e| decode_status(what, e))
}

/// A GroupInfo message's GroupInfo.
pub(crate) fn group_info(bytes: &[u8]) -> Result<(MLSMessage, GroupInfo), Status> {
    let msg = message("GroupInfo", bytes)?;
    match &msg.body {
        MLSMessageBody::GroupInfo(gi) => {
            let gi = (**gi).clone();
            Ok((msg, gi))
        }
        _ => Err(Status::invalid_argument("not a GroupInfo message")),
    }
}

/// An out-of-band ratchet tree; empty bytes mean "none given".
pub(crate) fn ratchet_tree(bytes: &[u8]) -> Result<Option<RatchetTreeWire>, Status> {
    if bytes.is_empty() {
        return Ok(None);
    }
    RatchetTreeWire::decode_exact(bytes)
        .map(Some)
        .map_err(|e| decode_status("ratchet tree", e))
}

/// The tree a GroupInfo comes with: its `ratchet_tree` extension, else `out_of_band`.
pub(crate) fn tree_of(gi: &GroupInfo, out_of_band: &[u8]) -> Result<RatchetTreeWire, Status> {
    if let Some(tree) = gi
        .extensions
        .ratchet_tree()
        .map_err(|e| decode_status("ratchet_tree extension", e))?
    {
        return Ok(tree);
    }
    ratchet_tree(out_of_band)?.ok_or_else(|| Status::invalid_argument("no ratchet tree given"))
}

/// The leaf index of the first member of `tree` with a basic credential for `identity`.
pub(crate) fn leaf_of_identity(tree: &RatchetTreeWire, identity: &[u8]) -> Result<u32, Status> {
    tree.0
        .iter()
        .step_by(2)
        .position(|node| {
            matches!(node, Some(Node::Leaf(leaf))
                if matches!(&leaf.credential, Credential::Basic { identity: id } if id.as_slice() == identity))
        })
        .map(|i| i as u32)
        .ok_or_else(|| not_a_member(identity))
}

/// The failure for an identity that names no member.
pub(crate) fn not_a_member(identity: &[u8]) -> Status {
    Status::invalid_argument(format!(
        "no member with identity {:?}",
        String::from_utf8_lossy(identity)
    ))
}

/// GroupContext extensions from the harness's list (types are `uint16` in MLS).
pub(crate) fn extensions(list: &[proto::Extension]) -> Result<Extensions, Status> {
    let list = list
        .iter()
        .map(|e| {
            let t = u16::try_from(e.extension_type).map_err(|_| {
                Status::invalid_argument(format!(
                    "extension type {} is not a uint16",
                    e.extension_type
                ))
            })?;
            Ok(Extension {
                extension_type: ExtensionType(t),
                extension_data: Bytes(e.extension_data.clone()),
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    Extensions::from_vec(list).map_err(|e| decode_status("extensions", e))
}

/// An external PSK's PreSharedKeyID with a fresh `KDF.Nh`-byte nonce (§8.4).
pub(crate) fn external_psk_id(suite: &Suite, psk_id: &[u8]) -> Result<PreSharedKeyID, Status> {
    Ok(PreSharedKeyID {
        psk: PSKTypeData::External {
            psk_id: Bytes(psk_id.to_vec()),
        },
        psk_nonce: Bytes(suite.random_bytes(suite.hash_len()).map_err(status)?),
    })
}

/// A resumption PSK (usage application) of `group_id` at `epoch` with a fresh nonce.
pub(crate) fn resumption_psk_id(
    suite: &Suite,
    group_id: &[u8],
    epoch: u64,
) -> Result<PreSharedKeyID, Status> {
    Ok(PreSharedKeyID {
        psk: PSKTypeData::Resumption {
            usage: ResumptionPSKUsage::Application,
            psk_group_id: Bytes(group_id.to_vec()),
            psk_epoch: epoch,
        },
        psk_nonce: Bytes(suite.random_bytes(suite.hash_len()).map_err(status)?),
    })
}
