//! The runner's `stateUpdate` checker against hand-made member states: it accepts the state a
//! commit should leave and fails on each kind of wrong value.

use super::*;

fn leaf(name: &str, key: u8, version: u8) -> Leaf {
    Leaf {
        node: vec![key, version],
        signature_key: vec![key],
        identity: name.as_bytes().to_vec(),
    }
}

fn roster(own: u32, leaves: &[(u32, Leaf)]) -> Roster {
    Roster {
        leaves: leaves.iter().cloned().collect(),
        own,
        group_id: b"group".to_vec(),
        suite: 1,
    }
}

/// alice (0) commits: an update from charlie (2), a remove of bob (1), two adds, an external
/// PSK. Before: alice, bob, charlie. After: alice (new path), dave at 1, charlie updated, erin
/// at 3.
fn scenario() -> (Roster, Roster, Vec<Effect>) {
    let before = roster(
        0,
        &[
            (0, leaf("alice", 10, 0)),
            (1, leaf("bob", 11, 0)),
            (2, leaf("charlie", 12, 0)),
        ],
    );
    let after = roster(
        0,
        &[
            (0, leaf("alice", 10, 1)),
            (1, leaf("dave", 13, 0)),
            (2, leaf("charlie", 12, 1)),
            (3, leaf("erin", 14, 0)),
        ],
    );
    let effects = vec![
        Effect::Add,
        Effect::Update("charlie".into()),
        Effect::Remove("bob".into()),
        Effect::Add,
        Effect::ExternalPsk(b"psk".to_vec()),
        Effect::Nothing,
    ];
    (before, after, effects)
}

fn expect(before: &Roster, effects: &[Effect]) -> StateUpdate {
    expected(before, effects, |n| before.leaf_of(n.as_bytes())).unwrap()
}

fn psk_id() -> Vec<u8> {
    // psktype external (1), then psk_id<V> = "psk".
    vec![1, 3, b'p', b's', b'k']
}

#[test]
fn a_correct_state_passes_and_lists_the_format_keys() {
    let (before, after, effects) = scenario();
    let e = expect(&before, &effects);
    let o = observed(&before, &after, Some(0), vec![psk_id()]);
    check("bob", &e, &o).unwrap();
    let keys: Vec<String> = e.entries().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "updated[0]",
            "removedIndex[0]",
            "removedLeaf[0]",
            "added[0]",
            "added[1]",
            "psks[0]"
        ]
    );
    let values: Vec<String> = e.entries().into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["2", "1", "0b00", "1", "3", "010370736b"]);
}

#[test]
fn a_member_added_at_another_leaf_fails() {
    let (before, mut after, effects) = scenario();
    let erin = after.leaves.remove(&3).unwrap();
    after.leaves.insert(4, erin);
    let o = observed(&before, &after, Some(0), vec![psk_id()]);
    let err = check("bob", &expect(&before, &effects), &o).unwrap_err();
    assert!(
        err.contains("added[1]=3") && err.contains("added[1]=4"),
        "{err}"
    );
}

#[test]
fn a_different_removed_leaf_fails() {
    let (mut before, after, effects) = scenario();
    let e = expect(&before, &effects);
    // The member processing the commit held another LeafNode for bob than the committer.
    before.leaves.get_mut(&1).unwrap().node = vec![11, 9];
    let o = observed(&before, &after, Some(0), vec![psk_id()]);
    let err = check("charlie", &e, &o).unwrap_err();
    assert!(err.contains("removedLeaf[0]=0b09"), "{err}");
}

#[test]
fn an_update_nobody_committed_fails() {
    let (before, after, _) = scenario();
    let effects = vec![
        Effect::Add,
        Effect::Remove("bob".into()),
        Effect::Add,
        Effect::ExternalPsk(b"psk".to_vec()),
    ];
    let o = observed(&before, &after, Some(0), vec![psk_id()]);
    let err = check("bob", &expect(&before, &effects), &o).unwrap_err();
    assert!(
        err.contains("present but not expected [updated[0]=2]"),
        "{err}"
    );
}

#[test]
fn a_missing_or_wrong_psk_fails() {
    let (before, after, effects) = scenario();
    let e = expect(&before, &effects);
    let none = observed(&before, &after, Some(0), Vec::new());
    assert!(check("bob", &e, &none).is_err());
    let other = observed(&before, &after, Some(0), vec![vec![1, 3, b'p', b's', b'x']]);
    assert!(check("bob", &e, &other).is_err());
    // Taking the PSKs from the expectation (PrivateMessage commits) restores the match.
    check("bob", &e, &with_expected_psks(none, &e)).unwrap();
}

#[test]
fn the_committers_path_is_no_update_but_anyone_elses_change_is() {
    let (before, after, effects) = scenario();
    let e = expect(&before, &effects);
    // Seen without knowing that leaf 0 committed, alice's new path looks like an update.
    let o = observed(&before, &after, None, vec![psk_id()]);
    let err = check("bob", &e, &o).unwrap_err();
    assert!(err.contains("updated[0]=0"), "{err}");
}

#[test]
fn an_external_join_replacing_its_prior_leaf_is_a_remove_and_an_add() {
    let before = roster(0, &[(0, leaf("alice", 10, 0)), (1, leaf("bob", 11, 0))]);
    let after = roster(0, &[(0, leaf("alice", 10, 0)), (1, leaf("bob", 21, 0))]);
    let effects = [Effect::ExternalJoin {
        joiner: "bob".into(),
        remove_prior: true,
    }];
    let e = expect(&before, &effects);
    assert_eq!(
        e.entries(),
        [
            ("removedIndex[0]".to_string(), "1".to_string()),
            ("removedLeaf[0]".to_string(), "0b00".to_string()),
            ("added[0]".to_string(), "1".to_string()),
        ]
    );
    check("alice", &e, &observed(&before, &after, None, Vec::new())).unwrap();
    // Without removePrior the joiner takes a new leaf: the same trees then fail.
    let keep = [Effect::ExternalJoin {
        joiner: "bob".into(),
        remove_prior: false,
    }];
    let e = expect(&before, &keep);
    assert!(check("alice", &e, &observed(&before, &after, None, Vec::new())).is_err());
}
