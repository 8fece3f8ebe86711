//! Valid trees pass join-time validation (§12.4.3.1): the IETF trees, trees built by adds,
//! commits, updates and removes in every shape, and a 1,000-member tree with real signatures.

use super::fixtures::{vector_trees, Builder};
use crate::crypto::CipherSuite;
use crate::tree::validation::TreeValidationContext;
use std::time::Instant;

#[test]
fn every_ietf_validation_tree_is_valid_and_round_trips() {
    let cases = vector_trees();
    assert_eq!(cases.len(), 98);
    for (i, case) in cases.iter().enumerate() {
        let mut tree = case.load();
        assert_eq!(
            tree.to_wire_bytes(),
            case.tree,
            "case {i} re-encodes byte for byte"
        );
        case.validate(&mut tree)
            .unwrap_or_else(|e| panic!("case {i}: {e}"));
    }
}

#[test]
fn get_tree_shapes_are_valid() {
    // The vectors' shapes: full, trailing blanks, 2..=9, 32..=34 members.
    let mut b = Builder::new();
    for n in 2..=34 {
        b.grow_to(n);
        b.validate()
            .unwrap_or_else(|e| panic!("get_tree({n}): {e}"));
    }
}

#[test]
fn internal_blanks_and_skipped_links_are_valid() {
    // §7.9.2 chains skip blank nodes: a check that stops at the first blank would fail here.
    let mut b = Builder::get_tree(8);
    b.remove(1);
    b.remove(2);
    b.remove(3);
    b.commit(0);
    b.validate().unwrap();
    // And with a newcomer unmerged below the skipped nodes.
    b.add();
    b.validate().unwrap();
    b.commit(5);
    b.validate().unwrap();
}

#[test]
fn unmerged_leaves_and_updates_are_valid() {
    let mut b = Builder::get_tree(7);
    b.add();
    b.add();
    b.validate().unwrap();
    b.update(3);
    b.validate().unwrap();
    b.commit(2);
    b.add();
    b.update(6);
    b.validate().unwrap();
}

#[test]
fn other_suites_are_valid() {
    for cs in [2u16, 4, 7] {
        let mut b = Builder::with_suite(CipherSuite(cs));
        b.grow_to(6);
        b.add();
        b.validate().unwrap_or_else(|e| panic!("suite {cs}: {e}"));
    }
}

#[test]
fn one_thousand_members_with_real_signatures() {
    let mut b = Builder::new();
    let start = Instant::now();
    for _ in 1..1000 {
        b.add();
    }
    for i in (0..1000).step_by(7) {
        b.commit(i);
    }
    println!("built a 1000-member tree in {:?}", start.elapsed());
    let gc = b.group_context();
    let mut joined = super::fixtures::reload(&b.tree).unwrap();
    let start = Instant::now();
    joined.validate(&TreeValidationContext::new(&gc)).unwrap();
    println!(
        "validated 1000 members (signatures on all cores) in {:?}",
        start.elapsed()
    );
}

#[test]
fn lifetime_is_checked_only_when_asked() {
    let mut b = Builder::get_tree(3);
    b.add();
    let gc = b.group_context();
    let mut ctx = TreeValidationContext::new(&gc);
    ctx.now = Some(1_500);
    b.tree.validate(&ctx).unwrap();
    ctx.now = None;
    b.tree.validate(&ctx).unwrap();
}

#[test]
fn credential_validator_sees_every_member() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let mut b = Builder::get_tree(5);
    let gc = b.group_context();
    let seen = AtomicU32::new(0);
    let count = |_: u32, _: &crate::messages::LeafNode| {
        seen.fetch_add(1, Ordering::Relaxed);
        true
    };
    let mut ctx = TreeValidationContext::new(&gc);
    ctx.credential_validator = Some(&count);
    b.tree.validate(&ctx).unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), 5);
}

#[test]
fn small_trees_split_their_signatures_over_every_thread() {
    use crate::tree::validation::signature_block;
    for (n, threads) in [(32usize, 2usize), (64, 2), (128, 4), (1 << 20, 2)] {
        let block = signature_block(n, threads);
        // Each thread must be able to take several blocks: with one block for the whole
        // tree, one thread verifies everything while the other does the structural checks.
        assert!(n.div_ceil(block) >= 4 * threads, "n={n} block={block}");
        assert!((1..=32).contains(&block));
    }
    assert_eq!(signature_block(3, 2), 1);
}
