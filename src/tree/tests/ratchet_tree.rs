//! Tree structure and evolution: resolution and filtered direct paths (§4.1), Add, Update
//! and Remove with extension and truncation (§7.7, §12.1), the wire form (§12.4.3.3).

use super::fixtures::{reload, Builder};
use crate::codec::{Bytes, Encode};
use crate::crypto::{CipherSuite, Suite};
use crate::error::{Error, Rule};
use crate::messages::{
    Capabilities, Credential, Extensions, LeafNode, LeafNodeSourceData, Node, ParentNode,
    RatchetTreeWire,
};
use crate::tree::RatchetTree;

fn suite() -> Suite {
    Suite::new(CipherSuite(1)).unwrap()
}

fn leaf(tag: u8) -> LeafNode {
    LeafNode {
        encryption_key: Bytes(vec![tag; 32]),
        signature_key: Bytes(vec![tag; 32]),
        credential: Credential::basic(vec![tag]),
        capabilities: Capabilities::default(),
        leaf_node_source: LeafNodeSourceData::Update,
        extensions: Extensions::new(),
        signature: Bytes(vec![tag; 64]),
    }
}

fn parent(tag: u8, unmerged: Vec<u32>) -> ParentNode {
    ParentNode {
        encryption_key: Bytes(vec![0x80 | tag; 32]),
        parent_hash: Bytes::default(),
        unmerged_leaves: unmerged,
    }
}

/// A tree of `n` leaves with the listed leaves and `(node index, unmerged)` parents.
fn tree_of(n: u32, leaves: &[u32], parents: &[(u32, Vec<u32>)]) -> RatchetTree {
    let mut nodes: Vec<Option<Node>> = (0..2 * n - 1).map(|_| None).collect();
    for &i in leaves {
        nodes[2 * i as usize] = Some(Node::Leaf(Box::new(leaf(i as u8))));
    }
    for (x, unmerged) in parents {
        nodes[*x as usize] = Some(Node::Parent(Box::new(parent(*x as u8, unmerged.clone()))));
    }
    while matches!(nodes.last(), Some(None)) {
        nodes.pop();
    }
    RatchetTree::from_wire(suite(), RatchetTreeWire(nodes)).unwrap()
}

#[test]
fn resolution_matches_rfc_figure_4_1_1() {
    // §4.1.1: A B _ D E F _ H, X = node 3 with unmerged [B], Y = node 9.
    let t = tree_of(8, &[0, 1, 3, 4, 5, 7], &[(3, vec![1]), (9, vec![])]);
    assert_eq!(t.resolution(3), vec![3, 2]);
    assert_eq!(t.resolution(4), Vec::<u32>::new());
    assert_eq!(t.resolution(12), Vec::<u32>::new());
    assert_eq!(t.resolution(7), vec![3, 2, 9, 14]);
    assert!(t.resolution(100).is_empty(), "outside the tree");
}

#[test]
fn filtered_direct_paths_match_rfc_table_4_1_2() {
    // §4.1.2: A B _ _ E F G _ with T = 1, X = 9, Y = 11, W = 7 non-blank.
    let t = tree_of(
        8,
        &[0, 1, 4, 5, 6],
        &[(1, vec![]), (9, vec![]), (11, vec![]), (7, vec![])],
    );
    // (leaf, direct path, copath, filtered direct path)
    type Row = (u32, &'static [u32], &'static [u32], &'static [u32]);
    let cases: [Row; 5] = [
        (0, &[1, 3, 7], &[2, 5, 11], &[1, 7]),
        (1, &[1, 3, 7], &[0, 5, 11], &[1, 7]),
        (4, &[9, 11, 7], &[10, 13, 3], &[9, 11, 7]),
        (5, &[9, 11, 7], &[8, 13, 3], &[9, 11, 7]),
        (6, &[13, 11, 7], &[14, 9, 3], &[11, 7]),
    ];
    for (l, dp, cp, fdp) in cases {
        assert_eq!(t.direct_path(l), dp, "direct path of leaf {l}");
        assert_eq!(t.copath(l), cp, "copath of leaf {l}");
        assert_eq!(
            t.filtered_direct_path(l),
            fdp,
            "filtered direct path of leaf {l}"
        );
    }
    assert!(t.filtered_direct_path(8).is_empty(), "outside the tree");
}

#[test]
fn add_takes_leftmost_blank_then_doubles() {
    let mut t = RatchetTree::new(suite(), leaf(0));
    assert_eq!(t.add_leaf(leaf(1)).unwrap(), 1);
    assert_eq!(t.n_leaves(), 2);
    assert_eq!(t.add_leaf(leaf(2)).unwrap(), 2, "tree doubled (§7.7)");
    assert_eq!(t.n_leaves(), 4);
    assert_eq!(t.add_leaf(leaf(3)).unwrap(), 3);
    t.remove_leaf(1).unwrap();
    assert_eq!(t.n_leaves(), 4);
    assert_eq!(
        t.add_leaf(leaf(4)).unwrap(),
        1,
        "refills the leftmost blank leaf"
    );
    assert_eq!(t.add_leaf(leaf(5)).unwrap(), 4);
    assert_eq!(t.n_leaves(), 8);
}

#[test]
fn add_lists_new_leaf_as_unmerged_in_sorted_order() {
    // §12.1.1 and §7.1: unmerged at every non-blank parent above, kept sorted even when the
    // refilled blank leaf lies left of an earlier entry.
    let mut t = tree_of(4, &[0, 2, 3], &[(3, vec![2])]);
    assert_eq!(t.add_leaf(leaf(9)).unwrap(), 1);
    assert_eq!(t.parent_node(3).unwrap().unmerged_leaves, vec![1, 2]);
    assert!(t.is_blank(1), "blank parents gain nothing");

    let mut b = Builder::get_tree(3);
    let added = b.add();
    assert_eq!(added, 3);
    let root = b.tree.root();
    assert_eq!(b.tree.parent_node(root).unwrap().unmerged_leaves, vec![3]);
    b.validate().unwrap();
}

#[test]
fn update_replaces_leaf_and_blanks_direct_path() {
    let mut b = Builder::get_tree(8);
    assert!(b.tree.parent_node(b.tree.root()).is_some());
    b.update(5);
    for p in b.tree.direct_path(5) {
        assert!(b.tree.is_blank(p), "node {p} blanked (§12.1.2)");
    }
    assert!(matches!(
        b.tree.leaf(5).unwrap().leaf_node_source,
        LeafNodeSourceData::Update
    ));
    b.validate().unwrap();
}

#[test]
fn remove_blanks_path_and_truncates() {
    let mut b = Builder::get_tree(5);
    assert_eq!(b.tree.n_leaves(), 8);
    b.remove(2);
    assert_eq!(b.tree.n_leaves(), 8, "leaf 4 still occupied");
    assert!(b.tree.direct_path(2).iter().all(|&p| b.tree.is_blank(p)));
    b.remove(4);
    assert_eq!(b.tree.n_leaves(), 4, "right half blank: truncated (§7.7)");
    b.remove(3);
    assert_eq!(b.tree.n_leaves(), 2);
    b.remove(1);
    assert_eq!(b.tree.n_leaves(), 1);
    b.validate().unwrap();
}

#[test]
fn remove_and_update_reject_bad_indices() {
    let mut b = Builder::get_tree(3);
    assert_eq!(
        b.tree.remove_leaf(9),
        Err(Error::Invalid(Rule::LeafOutOfRange))
    );
    assert_eq!(
        b.tree.remove_leaf(3),
        Err(Error::Invalid(Rule::RemovedLeafBlank))
    );
    assert!(matches!(
        b.tree.update_leaf(3, leaf(1)),
        Err(Error::Misuse(_))
    ));
    assert_eq!(
        b.tree.set_leaf(4, leaf(1)),
        Err(Error::Invalid(Rule::LeafOutOfRange))
    );
    assert!(b.tree.set_parent(2, None).is_err());
    assert!(b.tree.set_parent(99, None).is_err());
}

#[test]
fn wire_form_drops_trailing_blanks_and_round_trips() {
    let mut b = Builder::get_tree(5);
    let wire = b.tree.to_wire();
    assert_eq!(
        wire.0.len(),
        9,
        "nodes 0..=8, trailing blanks omitted (§12.4.3.3)"
    );
    assert!(wire.0.last().unwrap().is_some());
    assert_eq!(wire.to_bytes(), b.tree.to_wire_bytes());
    let mut again = reload(&b.tree).unwrap();
    assert_eq!(again.n_leaves(), 8, "padded back to 2^(d+1) - 1 nodes");
    assert_eq!(again.tree_hash(), b.tree.tree_hash());
    assert_eq!(again.to_wire_bytes(), b.tree.to_wire_bytes());
}

#[test]
fn wire_form_with_even_length_is_padded() {
    // [leaf, parent]: the parent at index 1 needs a right child.
    let nodes = vec![
        Some(Node::Leaf(Box::new(leaf(0)))),
        Some(Node::Parent(Box::new(parent(1, vec![])))),
    ];
    let t = RatchetTree::from_wire(suite(), RatchetTreeWire(nodes)).unwrap();
    assert_eq!(t.n_leaves(), 2);
    assert!(t.leaf(1).is_none());
}

#[test]
fn merge_update_path_sets_fresh_nodes_and_chain() {
    let mut b = Builder::get_tree(6);
    let added = b.add();
    let fdp = b.tree.filtered_direct_path(0);
    let keys: Vec<Bytes> = fdp.iter().map(|_| b.fresh_key()).collect();
    let leaf_ph = b.tree.merge_update_path(0, &keys).unwrap();
    for (x, key) in fdp.iter().zip(&keys) {
        let p = b.tree.parent_node(*x).unwrap();
        assert_eq!(&p.encryption_key, key);
        assert!(
            p.unmerged_leaves.is_empty(),
            "merged nodes have no unmerged leaves (§7.5)"
        );
    }
    // The leaf's parent hash is the first node's parent hash with its copath child (§7.9.1).
    let (first, sibling) = b.tree.filtered_direct_path_with_copath(0)[0];
    assert_eq!(b.tree.parent_hash_of(first, sibling).unwrap(), leaf_ph);
    // Each node's parent_hash is the next node's parent hash.
    let path = b.tree.filtered_direct_path_with_copath(0);
    for w in path.windows(2) {
        let below = b.tree.parent_node(w[0].0).unwrap().parent_hash.clone();
        assert_eq!(b.tree.parent_hash_of(w[1].0, w[1].1).unwrap(), below.0);
    }
    let root = b.tree.root();
    assert!(b.tree.parent_node(root).unwrap().parent_hash.is_empty());
    let leaf = b.make_leaf(0, LeafNodeSourceData::Commit(Bytes(leaf_ph)));
    b.tree.set_leaf(0, leaf).unwrap();
    assert!(added > 0);
    b.validate().unwrap();
}

#[test]
fn merge_update_path_checks_length() {
    let mut b = Builder::get_tree(4);
    let n = b.tree.filtered_direct_path(1).len();
    let keys = vec![Bytes(vec![1; 32]); n + 1];
    assert_eq!(
        b.tree.merge_update_path(1, &keys),
        Err(Error::Invalid(Rule::UpdatePathLength))
    );
    assert_eq!(
        b.tree.merge_update_path(4, &[]),
        Err(Error::Invalid(Rule::LeafOutOfRange))
    );
}

#[test]
fn garbage_unmerged_indices_do_not_panic() {
    let t = tree_of(4, &[0, 1, 2, 3], &[(3, vec![u32::MAX, 1 << 31, 7])]);
    let r = t.resolution(3);
    assert_eq!(r, vec![3, 14], "indices without a node are skipped");
    assert!(!t.resolution_is_empty(3));
}

#[test]
fn members_and_accessors() {
    let mut b = Builder::get_tree(5);
    b.remove(1);
    let members: Vec<u32> = b.tree.members().map(|(i, _)| i).collect();
    assert_eq!(members, vec![0, 2, 3, 4]);
    assert_eq!(b.tree.member_count(), 4);
    assert_eq!(b.tree.leftmost_blank_leaf(), Some(1));
    assert_eq!(b.tree.n_nodes(), 15);
    assert_eq!(b.tree.root(), 7);
    assert!(b.tree.node(14).is_none() && b.tree.node(1000).is_none());
    assert!(
        b.tree.parent_node(0).is_none(),
        "leaf index is not a parent"
    );
    assert!(b.tree.approx_memory_bytes() > 0);
}

/// Every key in the tree is found where it is, and removed keys are gone.
fn assert_index_matches(t: &RatchetTree, gone: &[Bytes]) {
    for (i, l) in t.members() {
        assert_eq!(t.find_signature_key(&l.signature_key), Some(i));
        assert_eq!(t.find_encryption_key(&l.encryption_key), Some(2 * i));
    }
    for (x, p) in t.parent_nodes() {
        assert_eq!(t.find_encryption_key(&p.encryption_key), Some(x));
    }
    for k in gone {
        assert_eq!(t.find_encryption_key(k), None);
        assert_eq!(t.find_signature_key(k), None);
    }
}

#[test]
fn key_index_follows_every_change() {
    let mut b = Builder::get_tree(9);
    b.sign = false;
    assert_index_matches(&b.tree, &[]);
    assert_index_matches(&reload(&b.tree).unwrap(), &[]);
    let old_leaf = b.tree.leaf(3).unwrap().clone();
    let old_parent = b
        .tree
        .parent_node(b.tree.root())
        .unwrap()
        .encryption_key
        .clone();
    b.update(3);
    assert_index_matches(&b.tree, &[old_leaf.encryption_key.clone(), old_parent]);
    b.commit(5);
    b.remove(8);
    assert_eq!(b.tree.n_leaves(), 8, "truncated");
    b.remove(2);
    let added = b.add();
    assert_index_matches(&b.tree, &[old_leaf.encryption_key]);
    assert_eq!(added, 2);
    let staged = b.tree.clone();
    b.remove(added);
    assert_index_matches(&staged, &[]);
    assert!(staged.find_signature_key(&staged.leaf(added).unwrap().signature_key) == Some(added));
    assert_eq!(b.tree.find_encryption_key(&[1, 2, 3]), None);
}

#[test]
fn key_index_survives_duplicates() {
    // An invalid tree with one key at two leaves: both stay findable as either goes.
    let mut b = Builder::tweaked(|i, leaf| {
        if i == 1 || i == 2 {
            leaf.encryption_key = Bytes(vec![7; 32]);
        }
    });
    b.grow_to(4);
    let holder = b.tree.find_encryption_key(&[7; 32]).unwrap();
    assert!(holder == 2 || holder == 4);
    b.remove(1);
    assert_eq!(b.tree.find_encryption_key(&[7; 32]), Some(4));
    b.remove(2);
    assert_eq!(b.tree.find_encryption_key(&[7; 32]), None);
}

/// The credential census (§7.3 support checks) recounted from the members.
fn census_matches_members(tree: &RatchetTree) {
    use crate::messages::CredentialType;
    use std::collections::BTreeSet;
    let in_use: BTreeSet<CredentialType> = tree
        .members()
        .map(|(_, l)| l.credential.credential_type())
        .collect();
    assert_eq!(
        tree.credential_types_in_use().collect::<BTreeSet<_>>(),
        in_use
    );
    for t in [CredentialType::BASIC, CredentialType::X509] {
        let all = tree
            .members()
            .all(|(_, l)| l.capabilities.credentials.contains(&t));
        assert_eq!(tree.all_members_list_credential(t), all, "{t:?}");
    }
}

#[test]
fn credential_census_follows_adds_updates_removes_and_reloads() {
    use crate::messages::{Certificate, CredentialType};
    let with = |tag: u8, x509: bool, lists: Vec<CredentialType>| {
        let mut l = leaf(tag);
        if x509 {
            l.credential = Credential::X509 {
                certificates: vec![Certificate {
                    cert_data: Bytes(vec![tag]),
                }],
            };
        }
        l.capabilities.credentials = lists;
        l
    };
    let (basic, x509) = (CredentialType::BASIC, CredentialType::X509);
    let mut tree = RatchetTree::new(suite(), with(1, false, vec![basic, basic]));
    census_matches_members(&tree);
    let a = tree.add_leaf(with(2, false, vec![basic, x509])).unwrap();
    census_matches_members(&tree);
    assert!(
        tree.all_members_list_credential(basic),
        "a type listed twice counts once"
    );
    let b = tree.add_leaf(with(3, true, vec![x509])).unwrap();
    census_matches_members(&tree);
    assert!(!tree.all_members_list_credential(basic));
    tree.update_leaf(b, with(4, true, vec![basic, x509]))
        .unwrap();
    census_matches_members(&tree);
    tree.remove_leaf(0).unwrap();
    census_matches_members(&tree);
    assert!(tree.all_members_list_credential(x509));
    tree.remove_leaf(b).unwrap();
    census_matches_members(&tree);
    assert_eq!(
        tree.credential_types_in_use().collect::<Vec<_>>(),
        vec![basic]
    );
    let _ = a;
    census_matches_members(&reload(&tree).unwrap());
}
