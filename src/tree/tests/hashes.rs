//! Tree hashes (§7.8) and parent hashes (§7.9): incremental results equal a from-scratch
//! computation, a change rehashes only its path, and a 100,000-member tree stays small.

use super::fixtures::{reload, Builder};
use crate::codec::Bytes;
use crate::messages::{Node, ParentNode, RatchetTreeWire};
use crate::tree::hashes::{leaf_tree_hash, parent_tree_hash};
use crate::tree::{math, RatchetTree};
use std::time::Instant;

/// The tree hash of `x` by plain recursion over the public accessors (§7.8).
fn reference_hash(t: &RatchetTree, x: u32) -> Vec<u8> {
    match (math::left(x), math::right(x)) {
        (Some(l), Some(r)) => parent_tree_hash(
            &t.suite(),
            t.parent_node(x),
            &reference_hash(t, l),
            &reference_hash(t, r),
        ),
        _ => leaf_tree_hash(&t.suite(), x / 2, t.leaf(x / 2)),
    }
}

/// A small deterministic generator, so failures reproduce.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % u64::from(bound.max(1))) as u32
    }
}

#[test]
fn incremental_hashes_equal_full_recomputation() {
    let mut b = Builder::new();
    b.sign = false;
    let mut rng = Lcg(7);
    for step in 0..300 {
        let members: Vec<u32> = b.tree.members().map(|(i, _)| i).collect();
        let pick = members[rng.next(members.len() as u32) as usize];
        match rng.next(10) {
            0..=3 => {
                b.add();
            }
            4..=6 => b.commit(pick),
            7 => b.update(pick),
            _ if members.len() > 2 => b.remove(pick),
            _ => {
                b.add();
            }
        }
        let incremental = b.tree.tree_hash();
        assert_eq!(
            incremental,
            reference_hash(&b.tree, b.tree.root()),
            "step {step}"
        );
        if step % 50 == 0 {
            let mut fresh = reload(&b.tree).unwrap();
            for x in 0..b.tree.n_nodes() {
                assert_eq!(
                    b.tree.node_tree_hash(x),
                    fresh.node_tree_hash(x),
                    "node {x}"
                );
            }
        }
    }
    b.sign = true;
}

#[test]
fn parallel_full_hash_matches_reference() {
    // 4096 leaves: the refresh splits subtrees of 2^10 leaves across threads.
    let mut b = Builder::new();
    b.sign = false;
    b.shared_key = b.keys[0].clone();
    for _ in 1..4000 {
        b.add();
    }
    b.commit(17);
    b.commit(3999);
    let mut loaded = reload(&b.tree).unwrap();
    assert_eq!(loaded.tree_hash(), reference_hash(&b.tree, b.tree.root()));
}

#[test]
fn a_commit_rehashes_only_its_path() {
    let mut b = Builder::new();
    b.sign = false;
    b.shared_key = b.keys[0].clone();
    for _ in 1..1024 {
        b.add();
    }
    for i in (0..1024).step_by(2) {
        b.commit(i);
    }
    b.tree.tree_hash();
    assert_eq!(b.tree.hashes.dirty_count(), 0);
    b.commit(333);
    // The leaf and its 10 ancestors; nothing else.
    assert_eq!(b.tree.hashes.dirty_count(), 11);
    b.tree.refresh_hashes();
    b.update(700);
    b.remove(1000);
    b.add();
    assert!(b.tree.hashes.dirty_count() <= 3 * 11);
    assert_eq!(b.tree.tree_hash(), reference_hash(&b.tree, b.tree.root()));
}

#[test]
fn original_sibling_tree_hash_blanks_excluded_leaves() {
    // §7.9: blank each excluded leaf and drop it from every unmerged list under S.
    let mut b = Builder::get_tree(6);
    b.add(); // leaf 6: unmerged at the non-blank parents above it
    b.add(); // leaf 7
    let s = 11; // the subtree of leaves 4..8
    assert_eq!(
        b.tree.original_sibling_tree_hash(s, &[]),
        b.tree.node_tree_hash(s)
    );
    assert_eq!(
        b.tree.original_sibling_tree_hash(s, &[0, 1, 2]),
        b.tree.node_tree_hash(s),
        "leaves outside S change nothing"
    );
    let excluded = [6u32, 7];
    let mut nodes = b.tree.to_wire().0;
    nodes.resize_with(b.tree.n_nodes() as usize, || None);
    for node in nodes.iter_mut().flatten() {
        if let Node::Parent(p) = node {
            p.unmerged_leaves.retain(|u| !excluded.contains(u));
        }
    }
    for &u in &excluded {
        nodes[2 * u as usize] = None;
    }
    while matches!(nodes.last(), Some(None)) {
        nodes.pop();
    }
    let mut expected = RatchetTree::from_wire(b.suite, RatchetTreeWire(nodes)).unwrap();
    let expected_hash = expected.node_tree_hash(s);
    assert!(expected_hash.is_some());
    assert_eq!(
        b.tree.original_sibling_tree_hash(s, &[7, 6, 7]),
        expected_hash
    );
    assert_eq!(b.tree.original_sibling_tree_hash(99, &[]), None);
}

#[test]
fn parent_hash_of_requires_a_child_and_a_non_blank_parent() {
    let mut b = Builder::get_tree(4);
    let root = b.tree.root();
    assert!(b.tree.parent_hash_of(root, 1).is_some());
    assert!(b.tree.parent_hash_of(root, 5).is_some());
    assert!(b.tree.parent_hash_of(root, 0).is_none(), "not a child");
    b.tree.set_parent(root, None).unwrap();
    assert!(b.tree.parent_hash_of(root, 1).is_none(), "blank");
}

#[test]
fn hundred_thousand_members_bytes_per_member_and_incremental_cost() {
    const N: u32 = 100_000;
    let mut b = Builder::new();
    b.sign = false;
    b.shared_key = b.keys[0].clone();
    let start = Instant::now();
    for _ in 1..N {
        b.add();
    }
    // Populate every parent as a long-lived group's commits would.
    for x in (1..b.tree.n_nodes()).step_by(2) {
        let node = ParentNode {
            encryption_key: b.fresh_key(),
            parent_hash: Bytes(vec![0xab; 32]),
            unmerged_leaves: Vec::new(),
        };
        b.tree.set_parent(x, Some(node)).unwrap();
    }
    let built = start.elapsed();
    let start = Instant::now();
    let root_hash = b.tree.tree_hash();
    let full = start.elapsed();
    let bytes = b.tree.approx_memory_bytes();
    println!(
        "{N} members, {} leaves: built in {built:?}, full tree hash in {full:?}, \
         ~{} bytes per member ({} MB)",
        b.tree.n_leaves(),
        bytes / N as usize,
        bytes / 1_000_000
    );
    assert!(bytes / (N as usize) < 2_000, "compact storage");

    let start = Instant::now();
    b.commit(54_321);
    let dirty = b.tree.hashes.dirty_count();
    let after = b.tree.tree_hash();
    let incremental = start.elapsed();
    println!("commit by one member: {dirty} nodes rehashed in {incremental:?}");
    assert_eq!(dirty, 18, "leaf plus 17 ancestors");
    assert_ne!(after, root_hash);

    let clone_start = Instant::now();
    let staged = b.tree.clone();
    println!(
        "clone of the tree (staged commit): {:?}",
        clone_start.elapsed()
    );
    assert_eq!(staged.n_leaves(), b.tree.n_leaves());
}
