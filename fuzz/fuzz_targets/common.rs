//! Checks shared by the fuzz targets (each target uses a subset).
#![allow(dead_code)]

use cohort::codec::{Decode, Encode};
use cohort::messages::{Extensions, KeyPackage, LeafNode, LeafNodeSource, Node, RatchetTreeWire};

/// Decode `data` as `T`; if that succeeds, the re-encoding must be `data` exactly.
pub fn round_trip<T: Decode + Encode>(data: &[u8]) -> Option<T> {
    let value = T::decode_exact(data).ok()?;
    assert_eq!(
        value.to_bytes(),
        data,
        "decoded value re-encodes differently"
    );
    Some(value)
}

/// Decode every extension payload the RFC defines, as a receiver would.
pub fn extension_views(exts: &Extensions) {
    if let Ok(Some(tree)) = exts.ratchet_tree() {
        ratchet_tree(&tree);
    }
    let _ = exts.application_id();
    let _ = exts.required_capabilities();
    let _ = exts.external_pub();
    let _ = exts.external_senders();
}

/// The signing helpers of a leaf node must reproduce its encoding.
pub fn leaf_node(leaf: &LeafNode) {
    extension_views(&leaf.extensions);
    let full = leaf.to_bytes();
    let mut expected = full[..full.len() - leaf.signature.to_bytes().len()].to_vec();
    if leaf.leaf_node_source.source() != LeafNodeSource::KeyPackage {
        expected.extend_from_slice(&[5, b'g', b'r', b'o', b'u', b'p', 0, 0, 0, 1]);
    }
    assert_eq!(leaf.tbs_bytes(b"group", 1), expected);
}

/// Check every node of a decoded tree.
pub fn ratchet_tree(tree: &RatchetTreeWire) {
    for node in tree.0.iter().flatten() {
        if let Node::Leaf(leaf) = node {
            leaf_node(leaf);
        }
    }
}

/// The TBS helper of a key package must be its encoding minus the signature.
pub fn key_package(kp: &KeyPackage) {
    let mut full = kp.tbs_bytes();
    kp.signature.encode(&mut full);
    assert_eq!(full, kp.to_bytes());
    leaf_node(&kp.leaf_node);
    extension_views(&kp.extensions);
}
