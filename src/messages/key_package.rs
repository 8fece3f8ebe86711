//! Key packages (RFC 9420 §10).

use super::extensions::Extensions;
use super::leaf_node::LeafNode;
use super::registry::ProtocolVersion;
use super::HPKEPublicKey;
use crate::codec::{Bytes, Encode};
use crate::crypto::CipherSuite;

crate::codec_struct! {
    /// `KeyPackage` (§10): a client's signed offer to be added to a group.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct KeyPackage {
        /// Protocol version the package is for.
        pub version: ProtocolVersion,
        /// Cipher suite the package is for.
        pub cipher_suite: CipherSuite,
        /// HPKE key a Welcome is encrypted to.
        pub init_key: HPKEPublicKey,
        /// The leaf node the client will occupy.
        pub leaf_node: LeafNode,
        /// Key package extensions.
        pub extensions: Extensions,
        /// `SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)`.
        pub signature: Bytes,
    }
}

impl KeyPackage {
    /// The encoded `KeyPackageTBS` (§10): every field above `signature`, the content signed
    /// with label "KeyPackageTBS".
    pub fn tbs_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.version.encode(&mut out);
        self.cipher_suite.encode(&mut out);
        self.init_key.encode(&mut out);
        self.leaf_node.encode(&mut out);
        self.extensions.encode(&mut out);
        out
    }
}
