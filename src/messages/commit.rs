//! Commits and update paths (RFC 9420 §7.6, §12.4).

use super::leaf_node::LeafNode;
use super::proposals::ProposalOrRef;
use super::HPKEPublicKey;
use crate::codec::Bytes;

crate::codec_struct! {
    /// `HPKECiphertext` (§7.6): the output of `EncryptWithLabel`.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct HPKECiphertext {
        /// The encapsulated key.
        pub kem_output: Bytes,
        /// The AEAD ciphertext.
        pub ciphertext: Bytes,
    }
}

crate::codec_struct! {
    /// `UpdatePathNode` (§7.6): a new parent key and its path secret for each copath
    /// resolution node.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct UpdatePathNode {
        /// The node's new public key.
        pub encryption_key: HPKEPublicKey,
        /// The path secret encrypted to each node of the copath child's resolution.
        pub encrypted_path_secret: Vec<HPKECiphertext>,
    }
}

crate::codec_struct! {
    /// `UpdatePath` (§7.6).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct UpdatePath {
        /// The committer's new leaf.
        pub leaf_node: LeafNode,
        /// One entry per node of the committer's filtered direct path.
        pub nodes: Vec<UpdatePathNode>,
    }
}

crate::codec_struct! {
    /// `Commit` (§12.4).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct Commit {
        /// The proposals covered, in order.
        pub proposals: Vec<ProposalOrRef>,
        /// The committer's update path, if any.
        pub path: Option<UpdatePath>,
    }
}
