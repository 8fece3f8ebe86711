//! Joins from mutated inputs: a Welcome for a valid KeyPackage (`Group::join`), a
//! GroupInfo (`Group::join_external`), and an external commit fed to a member. Invariants:
//! no panic; whatever is accepted agrees with the group it claims to join (same epoch,
//! context and epoch authenticator) and round-trips through `to_bytes`/`from_bytes`; a
//! rejected external commit leaves the member's state byte-identical.
#![no_main]

mod stateful;
#[path = "../../tests/support/mod.rs"]
mod support;

use cohort::codec::Encode;
use cohort::group::{
    ExternalCommitOptions, Group, GroupConfig, JoinOptions, KeyPackageSecrets, NoPsks,
    ReceivedMessage,
};
use cohort::messages::RatchetTreeWire;
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Pool {
    /// Alice after her commit that adds Dave, and Dave's KeyPackage.
    alice_next: Group,
    dave: KeyPackageSecrets,
    welcome: Vec<u8>,
    /// A Welcome without the tree, and the tree to pass out of band.
    welcome_no_tree: Vec<u8>,
    no_tree_alice: Group,
    tree: RatchetTreeWire,
    /// Bob in the epoch the GroupInfo and the external commit are for.
    bob: Group,
    group_info: Vec<u8>,
    /// Frank's external commit and Frank's resulting state.
    external_commit: Vec<u8>,
    frank: Group,
}

fn build() -> Pool {
    let [mut alice, bob, _] = support::three(b"fuzz-joins");
    let group_info = alice.group_info().unwrap().to_bytes();
    let (frank, ext) = Group::join_external(
        &cohort::codec::Decode::decode_exact(&group_info).unwrap(),
        support::cred("frank"),
        support::signer(),
        &NoPsks,
        ExternalCommitOptions::default(),
    )
    .unwrap();
    let dave = support::key_package("dave");
    let mut no_tree_alice = alice.clone();
    let out = alice.commit(support::adding([&dave]), &NoPsks).unwrap();
    alice.confirm_pending_commit().unwrap();
    let mut c = no_tree_alice.config().clone();
    c.ratchet_tree_extension = false;
    no_tree_alice.set_config(c);
    let out2 = no_tree_alice
        .commit(support::adding([&dave]), &NoPsks)
        .unwrap();
    no_tree_alice.confirm_pending_commit().unwrap();
    let tree = no_tree_alice.tree().to_wire();
    Pool {
        alice_next: alice,
        dave,
        welcome: out.welcome.unwrap().to_bytes(),
        welcome_no_tree: out2.welcome.unwrap().to_bytes(),
        no_tree_alice,
        tree,
        bob,
        group_info,
        external_commit: ext.to_bytes(),
        frank,
    }
}

fn agree(joined: &Group, with: &Group) {
    assert_eq!(joined.epoch(), with.epoch());
    assert_eq!(joined.context(), with.context());
    assert_eq!(joined.epoch_authenticator(), with.epoch_authenticator());
    stateful::assert_round_trips(joined);
}

fuzz_target!(|data: &[u8]| {
    let pool = POOL.get_or_init(build);
    let mut u = Unstructured::new(data);
    let mode = u.int_in_range(0..=3u8).unwrap_or(0);
    let original = match mode {
        0 => &pool.welcome,
        1 => &pool.welcome_no_tree,
        2 => &pool.group_info,
        _ => &pool.external_commit,
    };
    let mut wire = original.clone();
    let other =
        [&pool.welcome, &pool.group_info, &pool.external_commit][u.choose_index(3).unwrap_or(0)];
    stateful::mutate(&mut u, &mut wire, other);
    let Some(msg) = stateful::decode(&wire) else {
        return;
    };
    match mode {
        0 => {
            if let Ok(g) = Group::join(&msg, &pool.dave, &NoPsks, JoinOptions::default()) {
                agree(&g, &pool.alice_next);
            }
        }
        1 => {
            let options = JoinOptions {
                ratchet_tree: Some(pool.tree.clone()),
                config: GroupConfig::default(),
                ..Default::default()
            };
            if let Ok(g) = Group::join(&msg, &pool.dave, &NoPsks, options) {
                agree(&g, &pool.no_tree_alice);
            }
        }
        2 => {
            let joined = Group::join_external(
                &msg,
                support::cred("gina"),
                support::signer(),
                &NoPsks,
                ExternalCommitOptions::default(),
            );
            if let Ok((gina, commit)) = joined {
                // A GroupInfo that let Gina join must be one the members accept her from.
                let mut bob = pool.bob.clone();
                match stateful::process(&mut bob, &commit, &NoPsks) {
                    Ok(ReceivedMessage::Commit(staged)) => {
                        bob.merge_staged_commit(*staged).unwrap();
                        agree(&gina, &bob);
                    }
                    other => panic!("a joinable GroupInfo's commit is refused: {other:?}"),
                }
            }
        }
        _ => {
            let mut bob = pool.bob.clone();
            if let Ok(ReceivedMessage::Commit(staged)) = stateful::process(&mut bob, &msg, &NoPsks)
            {
                bob.merge_staged_commit(*staged).unwrap();
                stateful::assert_round_trips(&bob);
                if wire == *original {
                    agree(&bob, &pool.frank);
                }
            }
        }
    }
});

static POOL: OnceLock<Pool> = OnceLock::new();
