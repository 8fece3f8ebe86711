//! Leaf nodes (RFC 9420 §7.2).

use super::credential::Credential;
use super::extensions::Extensions;
use super::registry::{CredentialType, ExtensionType, ProposalType, ProtocolVersion};
use super::{HPKEPublicKey, SignaturePublicKey};
use crate::codec::{Bytes, Decode, Encode, Reader};
use crate::crypto::CipherSuite;
use crate::error::DecodeError;

crate::codec_enum! {
    /// `LeafNodeSource` (§7.2): how a leaf node came to be in the tree.
    pub enum LeafNodeSource: u8 {
        /// From a KeyPackage (carries a lifetime).
        KeyPackage = 1,
        /// From an Update proposal.
        Update = 2,
        /// From a Commit's UpdatePath (carries a parent hash).
        Commit = 3,
    }
}

crate::codec_struct! {
    /// `Capabilities` (§7.2). Unknown values are kept: receivers must ignore them.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct Capabilities {
        /// Supported protocol versions.
        pub versions: Vec<ProtocolVersion>,
        /// Supported cipher suites.
        pub cipher_suites: Vec<CipherSuite>,
        /// Supported non-default extension types.
        pub extensions: Vec<ExtensionType>,
        /// Supported non-default proposal types.
        pub proposals: Vec<ProposalType>,
        /// Supported credential types.
        pub credentials: Vec<CredentialType>,
    }
}

crate::codec_struct! {
    /// `Lifetime` (§7.2): validity window in seconds since the Unix epoch.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Lifetime {
        /// Not valid before this time.
        pub not_before: u64,
        /// Not valid after this time.
        pub not_after: u64,
    }
}

/// The `leaf_node_source` field of a LeafNode (§7.2) together with its select arm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LeafNodeSourceData {
    /// `key_package`: `Lifetime lifetime`.
    KeyPackage(Lifetime),
    /// `update`: no data.
    Update,
    /// `commit`: `opaque parent_hash<V>`.
    Commit(Bytes),
}

impl LeafNodeSourceData {
    /// The `leaf_node_source` tag.
    pub fn source(&self) -> LeafNodeSource {
        match self {
            LeafNodeSourceData::KeyPackage(_) => LeafNodeSource::KeyPackage,
            LeafNodeSourceData::Update => LeafNodeSource::Update,
            LeafNodeSourceData::Commit(_) => LeafNodeSource::Commit,
        }
    }
}

impl Encode for LeafNodeSourceData {
    fn encode(&self, out: &mut Vec<u8>) {
        self.source().encode(out);
        match self {
            LeafNodeSourceData::KeyPackage(lifetime) => lifetime.encode(out),
            LeafNodeSourceData::Update => {}
            LeafNodeSourceData::Commit(parent_hash) => parent_hash.encode(out),
        }
    }
    fn encoded_len(&self) -> usize {
        1 + match self {
            LeafNodeSourceData::KeyPackage(lifetime) => lifetime.encoded_len(),
            LeafNodeSourceData::Update => 0,
            LeafNodeSourceData::Commit(parent_hash) => parent_hash.encoded_len(),
        }
    }
}

impl Decode for LeafNodeSourceData {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match LeafNodeSource::decode(r)? {
            LeafNodeSource::KeyPackage => LeafNodeSourceData::KeyPackage(Lifetime::decode(r)?),
            LeafNodeSource::Update => LeafNodeSourceData::Update,
            LeafNodeSource::Commit => LeafNodeSourceData::Commit(Bytes::decode(r)?),
        })
    }
}

crate::codec_struct! {
    /// `LeafNode` (§7.2): a member's public state, signed by the member.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct LeafNode {
        /// The member's HPKE key for this leaf.
        pub encryption_key: HPKEPublicKey,
        /// The member's signature verification key.
        pub signature_key: SignaturePublicKey,
        /// The member's credential.
        pub credential: Credential,
        /// What the member supports.
        pub capabilities: Capabilities,
        /// `leaf_node_source` and its select arm.
        pub leaf_node_source: LeafNodeSourceData,
        /// Leaf extensions.
        pub extensions: Extensions,
        /// `SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)`.
        pub signature: Bytes,
    }
}

impl LeafNode {
    /// The encoded `LeafNodeTBS` (§7.2): every field above `signature`, then, for the
    /// `update` and `commit` sources only, `group_id` and `leaf_index` (ignored for
    /// `key_package`, whose signature cannot bind to a group).
    pub fn tbs_bytes(&self, group_id: &[u8], leaf_index: u32) -> Vec<u8> {
        let mut out = Vec::new();
        self.encryption_key.encode(&mut out);
        self.signature_key.encode(&mut out);
        self.credential.encode(&mut out);
        self.capabilities.encode(&mut out);
        self.leaf_node_source.encode(&mut out);
        self.extensions.encode(&mut out);
        match self.leaf_node_source {
            LeafNodeSourceData::KeyPackage(_) => {}
            LeafNodeSourceData::Update | LeafNodeSourceData::Commit(_) => {
                crate::codec::write_vec_bytes(&mut out, group_id);
                leaf_index.encode(&mut out);
            }
        }
        out
    }
}
