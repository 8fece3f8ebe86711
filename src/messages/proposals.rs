//! Proposals (RFC 9420 §12.1) and proposal references in commits (§12.4).

use super::extensions::Extensions;
use super::key_package::KeyPackage;
use super::leaf_node::LeafNode;
use super::psk::PreSharedKeyID;
use super::registry::{ProposalType, ProtocolVersion};
use super::ProposalRef;
use crate::codec::{Bytes, Decode, Encode, Reader};
use crate::crypto::CipherSuite;
use crate::error::DecodeError;

crate::codec_struct! {
    /// `Add` (§12.1.1).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct Add {
        /// The key package of the client to add.
        pub key_package: KeyPackage,
    }
}

crate::codec_struct! {
    /// `Update` (§12.1.2).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct Update {
        /// The sender's new leaf node.
        pub leaf_node: LeafNode,
    }
}

crate::codec_struct! {
    /// `Remove` (§12.1.3).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Remove {
        /// Leaf index of the member to remove.
        pub removed: u32,
    }
}

crate::codec_struct! {
    /// `PreSharedKey` (§12.1.4).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct PreSharedKey {
        /// The PSK to inject.
        pub psk: PreSharedKeyID,
    }
}

crate::codec_struct! {
    /// `ReInit` (§12.1.5).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct ReInit {
        /// The new group's id.
        pub group_id: Bytes,
        /// The new group's protocol version.
        pub version: ProtocolVersion,
        /// The new group's cipher suite.
        pub cipher_suite: CipherSuite,
        /// The new group's context extensions.
        pub extensions: Extensions,
    }
}

crate::codec_struct! {
    /// `ExternalInit` (§12.1.6).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct ExternalInit {
        /// KEM output from which members derive the new `init_secret` (§8.3).
        pub kem_output: Bytes,
    }
}

crate::codec_struct! {
    /// `GroupContextExtensions` (§12.1.7).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct GroupContextExtensions {
        /// The complete new list of group context extensions.
        pub extensions: Extensions,
    }
}

/// `Proposal` (§12.1): a proposal type and its select arm.
///
/// A proposal of an unknown type cannot be decoded (its body has no length prefix), so
/// decoding fails with [`DecodeError::UnknownValue`]. Add and Update are boxed to keep lists
/// of proposals compact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Proposal {
    /// `add`.
    Add(Box<Add>),
    /// `update`.
    Update(Box<Update>),
    /// `remove`.
    Remove(Remove),
    /// `psk`.
    PreSharedKey(PreSharedKey),
    /// `reinit`.
    ReInit(ReInit),
    /// `external_init`.
    ExternalInit(ExternalInit),
    /// `group_context_extensions`.
    GroupContextExtensions(GroupContextExtensions),
}

impl Proposal {
    /// The `proposal_type` this proposal is sent with.
    pub fn proposal_type(&self) -> ProposalType {
        match self {
            Proposal::Add(_) => ProposalType::ADD,
            Proposal::Update(_) => ProposalType::UPDATE,
            Proposal::Remove(_) => ProposalType::REMOVE,
            Proposal::PreSharedKey(_) => ProposalType::PSK,
            Proposal::ReInit(_) => ProposalType::REINIT,
            Proposal::ExternalInit(_) => ProposalType::EXTERNAL_INIT,
            Proposal::GroupContextExtensions(_) => ProposalType::GROUP_CONTEXT_EXTENSIONS,
        }
    }
}

impl Encode for Proposal {
    fn encode(&self, out: &mut Vec<u8>) {
        self.proposal_type().encode(out);
        match self {
            Proposal::Add(p) => p.encode(out),
            Proposal::Update(p) => p.encode(out),
            Proposal::Remove(p) => p.encode(out),
            Proposal::PreSharedKey(p) => p.encode(out),
            Proposal::ReInit(p) => p.encode(out),
            Proposal::ExternalInit(p) => p.encode(out),
            Proposal::GroupContextExtensions(p) => p.encode(out),
        }
    }
    fn encoded_len(&self) -> usize {
        2 + match self {
            Proposal::Add(p) => p.encoded_len(),
            Proposal::Update(p) => p.encoded_len(),
            Proposal::Remove(p) => p.encoded_len(),
            Proposal::PreSharedKey(p) => p.encoded_len(),
            Proposal::ReInit(p) => p.encoded_len(),
            Proposal::ExternalInit(p) => p.encoded_len(),
            Proposal::GroupContextExtensions(p) => p.encoded_len(),
        }
    }
}

impl Decode for Proposal {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match ProposalType::decode(r)? {
            ProposalType::ADD => Proposal::Add(Box::new(Add::decode(r)?)),
            ProposalType::UPDATE => Proposal::Update(Box::new(Update::decode(r)?)),
            ProposalType::REMOVE => Proposal::Remove(Remove::decode(r)?),
            ProposalType::PSK => Proposal::PreSharedKey(PreSharedKey::decode(r)?),
            ProposalType::REINIT => Proposal::ReInit(ReInit::decode(r)?),
            ProposalType::EXTERNAL_INIT => Proposal::ExternalInit(ExternalInit::decode(r)?),
            ProposalType::GROUP_CONTEXT_EXTENSIONS => {
                Proposal::GroupContextExtensions(GroupContextExtensions::decode(r)?)
            }
            _ => return Err(DecodeError::UnknownValue("ProposalType")),
        })
    }
}

crate::codec_enum! {
    /// `ProposalOrRefType` (§12.4).
    pub enum ProposalOrRefType: u8 {
        /// The proposal is inlined.
        Proposal = 1,
        /// The proposal is referenced by hash.
        Reference = 2,
    }
}

/// `ProposalOrRef` (§12.4): a proposal covered by a commit, by value or by reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProposalOrRef {
    /// `proposal`: `Proposal proposal`.
    Proposal(Proposal),
    /// `reference`: `ProposalRef reference`.
    Reference(ProposalRef),
}

impl ProposalOrRef {
    /// The `type` tag.
    pub fn or_ref_type(&self) -> ProposalOrRefType {
        match self {
            ProposalOrRef::Proposal(_) => ProposalOrRefType::Proposal,
            ProposalOrRef::Reference(_) => ProposalOrRefType::Reference,
        }
    }
}

impl Encode for ProposalOrRef {
    fn encode(&self, out: &mut Vec<u8>) {
        self.or_ref_type().encode(out);
        match self {
            ProposalOrRef::Proposal(p) => p.encode(out),
            ProposalOrRef::Reference(r) => r.encode(out),
        }
    }
    fn encoded_len(&self) -> usize {
        1 + match self {
            ProposalOrRef::Proposal(p) => p.encoded_len(),
            ProposalOrRef::Reference(r) => r.encoded_len(),
        }
    }
}

impl Decode for ProposalOrRef {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match ProposalOrRefType::decode(r)? {
            ProposalOrRefType::Proposal => ProposalOrRef::Proposal(Proposal::decode(r)?),
            ProposalOrRefType::Reference => ProposalOrRef::Reference(ProposalRef::decode(r)?),
        })
    }
}
