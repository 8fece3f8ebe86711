//! The wire structs of RFC 9420 (§5–§12), one type per struct, in RFC order per file.
//!
//! Framing structs (FramedContent, PublicMessage, PrivateMessage, MLSMessage) live in
//! [`crate::framing`]. Every type here encodes and decodes itself byte-exactly; validation
//! beyond what the encoding determines is left to the layers that use them.

pub mod commit;
pub mod credential;
pub mod extensions;
pub mod group_context;
pub mod key_package;
pub mod leaf_node;
pub mod node;
pub mod proposals;
pub mod psk;
pub mod registry;
pub mod welcome;

#[cfg(test)]
pub(crate) mod tests;

use crate::codec::Bytes;

/// `opaque HPKEPublicKey<V>` (§5.1.1).
pub type HPKEPublicKey = Bytes;
/// `opaque SignaturePublicKey<V>` (§5.1.1).
pub type SignaturePublicKey = Bytes;
/// `opaque HashReference<V>` (§5.2).
pub type HashReference = Bytes;
/// `HashReference KeyPackageRef` (§5.2).
pub type KeyPackageRef = HashReference;
/// `HashReference ProposalRef` (§5.2).
pub type ProposalRef = HashReference;
/// `opaque MAC<V>` (§6.1).
pub type MAC = Bytes;

pub use commit::{Commit, HPKECiphertext, UpdatePath, UpdatePathNode};
pub use credential::{Certificate, Credential};
pub use extensions::{Extension, Extensions, ExternalPub, ExternalSender, RequiredCapabilities};
pub use group_context::GroupContext;
pub use key_package::KeyPackage;
pub use leaf_node::{Capabilities, LeafNode, LeafNodeSource, LeafNodeSourceData, Lifetime};
pub use node::{Node, NodeType, ParentNode, RatchetTreeWire};
pub use proposals::{
    Add, ExternalInit, GroupContextExtensions, PreSharedKey, Proposal, ProposalOrRef,
    ProposalOrRefType, ReInit, Remove, Update,
};
pub use psk::{PSKLabel, PSKType, PSKTypeData, PreSharedKeyID, ResumptionPSKUsage};
pub use registry::{CredentialType, ExtensionType, ProposalType, ProtocolVersion};
pub use welcome::{EncryptedGroupSecrets, GroupInfo, GroupSecrets, PathSecret, Welcome};
