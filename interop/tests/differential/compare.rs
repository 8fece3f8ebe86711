//! Decode the same bytes with Cohort and with mls-rs (a black box) and compare: accept or
//! reject, and the re-encoding. Shared by `tests/differential.rs` (replay of the committed
//! corpus) and the `differential` fuzz target. Every disagreement either has an
//! explanation here, naming the RFC 9420 section that decides it, or is a failure.
#![allow(dead_code)]

use cohort::codec::{Decode, Encode};
use cohort::error::DecodeError;
use cohort::framing::MLSMessage;
use cohort::messages::RatchetTreeWire;

/// What the bytes are meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole `MLSMessage` (any wire format).
    Message,
    /// A `KeyPackage`, `Welcome` or `GroupInfo` body: compared inside an MLSMessage
    /// header of that wire format, the only way mls-rs decodes them on their own.
    Body(u16),
    /// A `ratchet_tree` extension payload (`optional<Node> ratchet_tree<V>`).
    RatchetTree,
}

impl Kind {
    /// The kind a corpus line or fuzz input tags with `tag`.
    pub fn from_tag(tag: u8) -> Kind {
        match tag % 5 {
            0 => Kind::Message,
            1 => Kind::Body(5),
            2 => Kind::Body(3),
            3 => Kind::Body(4),
            _ => Kind::RatchetTree,
        }
    }
}

/// How the two implementations compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both accept and re-encode to the input, or both reject.
    Agree { accepted: bool },
    /// They differ for a reason the RFC decides (the reason names the section).
    Explained(&'static str),
    /// They differ and nothing here explains it.
    Disagree(String),
}

fn wrap(wire_format: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 1];
    out.extend_from_slice(&wire_format.to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn cohort(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    match kind {
        Kind::RatchetTree => RatchetTreeWire::decode_exact(bytes).map(|t| t.to_bytes()),
        _ => MLSMessage::decode_exact(bytes).map(|m| m.to_bytes()),
    }
}

fn mls_rs(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, String> {
    match kind {
        Kind::RatchetTree => mls_rs::group::ExportedTree::from_bytes(bytes)
            .map_err(|e| e.to_string())
            .and_then(|t| t.to_bytes().map_err(|e| e.to_string())),
        _ => mls_rs::MlsMessage::from_bytes(bytes)
            .map_err(|e| e.to_string())
            .and_then(|m| m.to_bytes().map_err(|e| e.to_string())),
    }
}

/// Why Cohort refuses what mls-rs accepts, if the RFC decides it.
fn cohort_stricter(e: DecodeError) -> Option<&'static str> {
    Some(match e {
        DecodeError::NonMinimalLength => {
            "§2.1.2: a varint using more bits than necessary MUST be treated as malformed"
        }
        DecodeError::UnknownValue("ProposalType") => {
            "§12.2: a proposal of a type not every member supports makes the commit \
             invalid; Cohort implements the RFC's proposal types and refuses others at decode"
        }
        DecodeError::UnknownValue("CredentialType") => {
            "§5.3.1, §7.3: a credential type not every member supports is invalid in a \
             leaf; Cohort implements basic and x509 and refuses others at decode"
        }
        DecodeError::Malformed("ratchet_tree must end with a non-blank node") => {
            "§12.4.3.3: \"The receiver MUST check that the last node in ratchet_tree is \
             non-blank\": a trailing blank node, or an empty tree, is malformed"
        }
        DecodeError::UnknownValue("ProtocolVersion") => {
            "§6: MLSMessage starts with `ProtocolVersion version = mls10`; bytes with \
             another version are not an MLS 1.0 message (whose body format is unknown)"
        }
        DecodeError::Duplicate("ExtensionType") => {
            "§13.4: an extension list with two extensions of one type is invalid"
        }
        _ => return None,
    })
}

/// Decode `bytes` as `kind` with both and compare.
pub fn compare(kind: Kind, bytes: &[u8]) -> Outcome {
    let input = match kind {
        Kind::Body(wf) => wrap(wf, bytes),
        _ => bytes.to_vec(),
    };
    let ours = cohort(kind, &input);
    let theirs = mls_rs(kind, &input);
    match (ours, theirs) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, input, "Cohort's codec is canonical");
            if b == input {
                Outcome::Agree { accepted: true }
            } else {
                Outcome::Disagree(format!("mls-rs re-encodes differently: {}", hex(&b)))
            }
        }
        (Err(_), Err(_)) => Outcome::Agree { accepted: false },
        (Err(DecodeError::TrailingBytes), Ok(_)) if kind == Kind::RatchetTree => {
            Outcome::Explained(
                "§12.4.3.3, §13.4: the ratchet_tree extension's data is one \
                 `ratchet_tree<V>` vector; bytes after it belong to no field (mls-rs's \
                 ExportedTree::from_bytes ignores them; its MlsMessage::from_bytes refuses \
                 them, as Cohort does everywhere)",
            )
        }
        (Err(e), Ok(_)) => match cohort_stricter(e) {
            Some(why) => Outcome::Explained(why),
            None => Outcome::Disagree(format!("Cohort refuses ({e:?}), mls-rs accepts")),
        },
        (Ok(_), Err(e)) => match max_leaf_index(kind, &input) {
            Some(i) if i >= MLS_RS_LEAF_BOUND => Outcome::Explained(
                "§12.4.3, §7.1: leaf indices are uint32 and any value is well-formed; \
                 mls-rs bounds them below 2^24 at decode, Cohort refuses an index outside \
                 the tree where it is used (signer, sender, Remove, unmerged leaf)",
            ),
            _ => Outcome::Disagree(format!("mls-rs refuses ({e}), Cohort accepts")),
        },
    }
}

/// The smallest leaf index mls-rs refuses to decode (found by the differential target).
const MLS_RS_LEAF_BOUND: u32 = 1 << 24;

/// The largest leaf index in the clear fields of a Cohort-decoded value: a GroupInfo's
/// signer, a member sender, a Remove, a parent node's unmerged leaves.
fn max_leaf_index(kind: Kind, input: &[u8]) -> Option<u32> {
    use cohort::framing::{Content, MLSMessageBody, Sender};
    use cohort::messages::{Node, Proposal, ProposalOrRef};
    let proposal = |p: &Proposal| match p {
        Proposal::Remove(r) => r.removed,
        _ => 0,
    };
    let tree = |t: &RatchetTreeWire| {
        t.0.iter()
            .flatten()
            .filter_map(|n| match n {
                Node::Parent(p) => p.unmerged_leaves.iter().max().copied(),
                Node::Leaf(_) => None,
            })
            .max()
            .unwrap_or(0)
    };
    if kind == Kind::RatchetTree {
        return Some(tree(&RatchetTreeWire::decode_exact(input).ok()?));
    }
    let msg = MLSMessage::decode_exact(input).ok()?;
    Some(match &msg.body {
        MLSMessageBody::GroupInfo(g) => g.signer,
        MLSMessageBody::PublicMessage(m) => {
            let sender = match m.content.sender {
                Sender::Member(i) => i,
                _ => 0,
            };
            let content = match &m.content.content {
                Content::Proposal(p) => proposal(p),
                Content::Commit(c) => c
                    .proposals
                    .iter()
                    .map(|p| match p {
                        ProposalOrRef::Proposal(p) => proposal(p),
                        ProposalOrRef::Reference(_) => 0,
                    })
                    .max()
                    .unwrap_or(0),
                Content::Application(_) => 0,
            };
            sender.max(content)
        }
        _ => 0,
    })
}

/// Lower-case hex, for messages and the corpus.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
