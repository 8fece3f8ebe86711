//! The per-leaf cache of parsed signature keys: hits for an unchanged leaf, shared by copies
//! of a tree, never a stale key after an Update or a Remove (each tree checks the bytes).

use crate::codec::Bytes;
use crate::crypto::{CipherSuite, PublicKeyRef, Suite};
use crate::messages::{
    Capabilities, Credential, Extensions, LeafNode, LeafNodeSourceData, Node, RatchetTreeWire,
};
use crate::tree::RatchetTree;
use std::sync::Arc;

fn suite() -> Suite {
    Suite::new(CipherSuite(1)).unwrap()
}

/// A leaf whose signature key is a real Ed25519 key (the cache parses it).
fn leaf(tag: u8) -> LeafNode {
    let key = suite().generate_signature_key_pair().unwrap();
    LeafNode {
        encryption_key: Bytes(vec![tag; 32]),
        signature_key: Bytes(key.public_key().to_vec()),
        credential: Credential::basic(vec![tag]),
        capabilities: Capabilities::default(),
        leaf_node_source: LeafNodeSourceData::Update,
        extensions: Extensions::new(),
        signature: Bytes(vec![tag; 64]),
    }
}

fn tree(leaves: Vec<LeafNode>) -> RatchetTree {
    let mut nodes = Vec::new();
    for (i, l) in leaves.into_iter().enumerate() {
        if i > 0 {
            nodes.push(None);
        }
        nodes.push(Some(Node::Leaf(Box::new(l))));
    }
    RatchetTree::from_wire(suite(), RatchetTreeWire(nodes)).unwrap()
}

fn parsed(t: &RatchetTree, leaf: u32) -> Arc<crate::crypto::VerifyingKey> {
    match t.member_signature_key(leaf) {
        Some(PublicKeyRef::Parsed(k)) => k,
        other => panic!("leaf {leaf}: {other:?}"),
    }
}

#[test]
fn a_leaf_is_parsed_once_and_copies_share_it() {
    let t = tree(vec![leaf(0), leaf(1), leaf(2)]);
    assert_eq!(t.verifiers.len(), 0, "nothing is parsed on load");
    let first = parsed(&t, 1);
    assert_eq!(
        first.as_bytes(),
        t.leaf(1).unwrap().signature_key.as_slice()
    );
    assert!(
        Arc::ptr_eq(&first, &parsed(&t, 1)),
        "second lookup is a hit"
    );
    let copy = t.clone();
    assert!(
        Arc::ptr_eq(&first, &parsed(&copy, 1)),
        "a copy shares the cache"
    );
    assert_eq!(t.verifiers.len(), 1);
}

#[test]
fn an_updated_or_removed_leaf_never_gets_its_old_key() {
    let mut t = tree(vec![leaf(0), leaf(1), leaf(2)]);
    let old = parsed(&t, 1);
    let staged_base = t.clone();
    let new_leaf = leaf(9);
    t.update_leaf(1, new_leaf.clone()).unwrap();
    let new = parsed(&t, 1);
    assert_eq!(new.as_bytes(), new_leaf.signature_key.as_slice());
    assert_ne!(new.as_bytes(), old.as_bytes());
    // The copy taken before the Update still holds the old leaf and gets the old key back,
    // although the shared cache was just filled with the new one.
    assert_eq!(parsed(&staged_base, 1).as_bytes(), old.as_bytes());
    assert_eq!(parsed(&t, 1).as_bytes(), new_leaf.signature_key.as_slice());

    t.remove_leaf(1).unwrap();
    assert!(
        t.member_signature_key(1).is_none(),
        "a removed leaf has no key"
    );
    assert!(t.member_signature_key(7).is_none(), "outside the tree");
}

#[test]
fn a_key_that_does_not_parse_is_passed_on_encoded() {
    let mut bad = leaf(3);
    bad.signature_key = Bytes(vec![1; 31]);
    let t = tree(vec![leaf(0), bad]);
    match t.member_signature_key(1) {
        Some(PublicKeyRef::Encoded(bytes)) => assert_eq!(bytes, &[1; 31][..]),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.verifiers.len(), 0);
}
