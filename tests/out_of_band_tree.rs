//! Joining with the ratchet tree out of band (RFC 9420 §12.4.3.3): a Welcome and a GroupInfo
//! made without the `ratchet_tree` extension, the tree's wire bytes taken from a member or a
//! public view for the epoch, and a joiner (member or public view) that gets both.

mod support;

use cohort::codec::{Decode, Encode};
use cohort::error::Rule;
use cohort::framing::MLSMessageBody;
use cohort::group::{
    CommitOptions, Group, GroupConfig, GroupOptions, JoinOptions, NoPsks, PublicGroup,
};
use cohort::messages::RatchetTreeWire;
use support::*;

fn no_tree_config() -> GroupConfig {
    GroupConfig {
        ratchet_tree_extension: false,
        ..GroupConfig::default()
    }
}

fn tree_of(bytes: &[u8]) -> RatchetTreeWire {
    RatchetTreeWire::decode_exact(bytes).unwrap()
}

#[test]
fn a_welcome_without_the_tree_joins_with_the_tree_supplied_separately() {
    let options = GroupOptions {
        config: no_tree_config(),
        ..GroupOptions::default()
    };
    let mut alice = create(b"oob", "alice", options);
    let (bob_kp, carol_kp) = (key_package("bob"), key_package("carol"));
    let out = alice.commit(adding([&bob_kp, &carol_kp]), &NoPsks).unwrap();
    alice.confirm_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();

    // Without the tree the join is refused as §12.4.3.1 says: the tree is missing.
    assert_join_rejected(&[], Rule::RatchetTreeMissing, || {
        Group::join(&welcome, &bob_kp, &NoPsks, JoinOptions::default())
    });

    // The tree of the epoch the Welcome is for, from the committer or its public view.
    let tree_bytes = alice.ratchet_tree_bytes();
    assert_eq!(tree_bytes, alice.public_view().ratchet_tree_bytes());
    assert_eq!(tree_bytes, alice.tree().to_wire().to_bytes());
    let join = |kp| {
        Group::join(
            &welcome,
            kp,
            &NoPsks,
            JoinOptions {
                ratchet_tree: Some(tree_of(&tree_bytes)),
                ..JoinOptions::default()
            },
        )
        .unwrap()
    };
    let mut bob = join(&bob_kp);
    let mut carol = join(&carol_kp);
    assert_agree(&[&alice, &bob, &carol]);
    assert_eq!(bob.ratchet_tree_bytes(), tree_bytes);
    chat(
        &mut bob,
        &mut [&mut alice, &mut carol],
        b"joined out of band",
        &NoPsks,
    );

    // The next epoch's tree is another: Bob commits, and a tree of the old epoch no longer
    // matches what the epoch's GroupInfo commits to.
    let out = bob.commit(CommitOptions::default(), &NoPsks).unwrap();
    bob.confirm_pending_commit().unwrap();
    apply(&mut alice, &out.commit, &NoPsks);
    apply(&mut carol, &out.commit, &NoPsks);
    assert_ne!(alice.ratchet_tree_bytes(), tree_bytes);
    assert_eq!(alice.ratchet_tree_bytes(), bob.ratchet_tree_bytes());
}

#[test]
fn a_tree_of_another_epoch_is_refused() {
    let options = GroupOptions {
        config: no_tree_config(),
        ..GroupOptions::default()
    };
    let mut alice = create(b"oob stale", "alice", options);
    let stale = alice.ratchet_tree_bytes();
    let bob_kp = key_package("bob");
    let out = alice.commit(adding([&bob_kp]), &NoPsks).unwrap();
    alice.confirm_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();
    assert_join_rejected(&[], Rule::TreeHashMismatch, || {
        Group::join(
            &welcome,
            &bob_kp,
            &NoPsks,
            JoinOptions {
                ratchet_tree: Some(tree_of(&stale)),
                ..JoinOptions::default()
            },
        )
    });
}

#[test]
fn a_public_view_follows_from_a_group_info_without_the_tree() {
    let options = GroupOptions {
        config: no_tree_config(),
        ..GroupOptions::default()
    };
    let mut alice = create(b"oob view", "alice", options);
    let bob_kp = key_package("bob");
    alice.commit(adding([&bob_kp]), &NoPsks).unwrap();
    alice.confirm_pending_commit().unwrap();
    let MLSMessageBody::GroupInfo(gi) = alice.group_info().unwrap().body else {
        panic!("not a GroupInfo");
    };
    assert!(
        gi.extensions.ratchet_tree().unwrap().is_none(),
        "the GroupInfo carries the tree although the config says not to"
    );
    assert!(PublicGroup::from_group_info(&gi, None, GroupConfig::default()).is_err());
    let view = PublicGroup::from_group_info(
        &gi,
        Some(tree_of(&alice.ratchet_tree_bytes())),
        GroupConfig::default(),
    )
    .unwrap();
    assert_eq!(view.epoch(), alice.epoch());
    assert_eq!(view.ratchet_tree_bytes(), alice.ratchet_tree_bytes());
}
