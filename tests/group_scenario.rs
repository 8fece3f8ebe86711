//! End-to-end group scenarios through the public API: several members, every proposal type,
//! external commits, PSKs, and agreement on the epoch authenticator at every step.

use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::MLSMessage;
use cohort::group::commit::CommitOptions;
use cohort::group::{
    Group, JoinOptions, KeyPackageOptions, KeyPackageSecrets, MemoryPskStore, NoPsks,
    ReceivedMessage,
};
use cohort::messages::Credential;

const SUITE: CipherSuite = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519;

fn key_package(suite: &Suite, name: &str) -> KeyPackageSecrets {
    let signer = suite.generate_signature_key_pair().unwrap();
    KeyPackageSecrets::generate(
        suite,
        Credential::basic(name.as_bytes().to_vec()),
        &signer,
        &KeyPackageOptions::default(),
    )
    .unwrap()
}

fn deliver(group: &mut Group, msg: &MLSMessage) -> ReceivedMessage {
    group.process_message(msg.clone(), &NoPsks).unwrap()
}

fn apply_commit(group: &mut Group, msg: &MLSMessage) {
    match deliver(group, msg) {
        ReceivedMessage::Commit(staged) => group.merge_staged_commit(*staged).unwrap(),
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn assert_agree(groups: &[&Group]) {
    let first = groups[0];
    for g in groups {
        assert_eq!(g.epoch(), first.epoch());
        assert_eq!(g.epoch_authenticator(), first.epoch_authenticator());
        assert_eq!(
            g.export_secret("test", b"ctx", 32).unwrap(),
            first.export_secret("test", b"ctx", 32).unwrap()
        );
    }
}

#[test]
fn create_add_message_update_remove() {
    let suite = Suite::new(SUITE).unwrap();
    let alice_signer = suite.generate_signature_key_pair().unwrap();
    let mut alice = Group::create(
        SUITE,
        b"group-1".to_vec(),
        Credential::basic(b"alice".to_vec()),
        alice_signer,
        Default::default(),
    )
    .unwrap();

    // Alice adds Bob and Carol in one commit.
    let bob_kp = key_package(&suite, "bob");
    let carol_kp = key_package(&suite, "carol");
    let out = alice
        .commit(
            CommitOptions {
                add: vec![bob_kp.key_package.clone(), carol_kp.key_package.clone()],
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    alice.confirm_pending_commit().unwrap();
    let welcome = out.welcome.expect("welcome for new members");
    let mut bob = Group::join(&welcome, &bob_kp, &NoPsks, JoinOptions::default()).unwrap();
    let mut carol = Group::join(&welcome, &carol_kp, &NoPsks, JoinOptions::default()).unwrap();
    assert_agree(&[&alice, &bob, &carol]);
    assert_eq!(alice.member_count(), 3);

    // Application messages in both directions.
    let m = bob.send_application(b"hello", b"aad").unwrap();
    for g in [&mut alice, &mut carol] {
        match deliver(g, &m) {
            ReceivedMessage::Application {
                data,
                authenticated_data,
                sender,
                ..
            } => {
                assert_eq!(data, b"hello");
                assert_eq!(authenticated_data, b"aad");
                assert_eq!(sender, 1);
            }
            other => panic!("{other:?}"),
        }
    }

    // Bob commits an empty commit (path update); the others follow.
    let out = bob.commit(CommitOptions::default(), &NoPsks).unwrap();
    apply_commit(&mut alice, &out.commit);
    apply_commit(&mut carol, &out.commit);
    // Bob gets his own commit back from the DS: a normal path.
    apply_commit(&mut bob, &out.commit);
    assert_agree(&[&alice, &bob, &carol]);

    // Carol proposes an Update; Alice commits it by reference.
    let p = carol.propose_update().unwrap();
    deliver(&mut alice, &p);
    deliver(&mut bob, &p);
    let out = alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    alice.confirm_pending_commit().unwrap();
    apply_commit(&mut bob, &out.commit);
    apply_commit(&mut carol, &out.commit);
    assert_agree(&[&alice, &bob, &carol]);

    // Alice removes Bob.
    let out = alice
        .commit(
            CommitOptions {
                remove: vec![1],
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    alice.confirm_pending_commit().unwrap();
    apply_commit(&mut carol, &out.commit);
    match deliver(&mut bob, &out.commit) {
        ReceivedMessage::Commit(staged) => {
            assert!(staged.summary.removes_us);
            bob.merge_staged_commit(*staged).unwrap();
            assert!(!bob.is_active());
        }
        other => panic!("{other:?}"),
    }
    assert_agree(&[&alice, &carol]);
    assert_eq!(alice.member_count(), 2);
    let m = carol.send_application(b"bye bob", b"").unwrap();
    assert!(matches!(
        deliver(&mut alice, &m),
        ReceivedMessage::Application { .. }
    ));
    let _ = MemoryPskStore::default();
}
