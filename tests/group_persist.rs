//! Persistence of member state (`Group::to_bytes` / `Group::from_bytes`) and of KeyPackage
//! secrets: restore mid-scenario and keep going, consumed keys stay consumed (§9.2), and
//! damaged blobs are typed errors, never panics.

mod support;

use cohort::error::{DecodeError, Error, Rule};
use cohort::group::{
    CommitOptions, Group, GroupOptions, JoinOptions, KeyPackageSecrets, NoPsks, ReceivedMessage,
};
use support::*;

fn restore(g: &Group) -> Group {
    Group::from_bytes(&g.to_bytes(), None).unwrap()
}

#[test]
fn restore_mid_scenario_and_keep_going() {
    let [mut alice, mut bob, mut carol] = three(b"persist");
    chat(&mut alice, &mut [&mut bob, &mut carol], b"one", &NoPsks);

    // Bob has an Update proposal of his own in flight; Carol has a pending commit.
    let p = bob.propose_update().unwrap();
    let mut bob = restore(&bob);
    propose_to(&mut [&mut alice, &mut carol], &p, &NoPsks);
    let out = carol.commit(CommitOptions::default(), &NoPsks).unwrap();
    let mut carol = restore(&carol);
    assert!(carol.has_pending_commit());
    // The DS echoes Carol's commit to the restored Carol.
    apply(&mut carol, &out.commit, &NoPsks);
    apply(&mut alice, &out.commit, &NoPsks);
    // The restored Bob still holds the private key of the leaf his Update proposed.
    apply(&mut bob, &out.commit, &NoPsks);
    assert_agree(&[&alice, &bob, &carol]);

    // Restored members send, receive and commit.
    let mut alice = restore(&alice);
    chat(&mut bob, &mut [&mut alice, &mut carol], b"two", &NoPsks);
    let out = alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    fan_out(
        &mut alice,
        &mut [&mut bob, &mut carol],
        &out.commit,
        &NoPsks,
    );
    assert_agree(&[&alice, &bob, &carol]);
    assert_eq!(restore(&alice).to_bytes(), alice.to_bytes());
}

#[test]
fn a_message_read_before_persisting_cannot_be_read_after_restoring() {
    let [mut alice, mut bob, _] = three(b"persist");
    let m = alice.send_application(b"once", b"").unwrap();
    assert!(matches!(
        deliver(&mut bob, &m, &NoPsks),
        ReceivedMessage::Application { .. }
    ));
    let mut restored = restore(&bob);
    expect_rule(&mut restored, &m, &NoPsks, Rule::GenerationConsumed);
    // A message not yet read before persisting still decrypts after restoring.
    let unread = alice.send_application(b"later", b"").unwrap();
    let mut restored = restore(&bob);
    assert!(matches!(
        deliver(&mut restored, &unread, &NoPsks),
        ReceivedMessage::Application { .. }
    ));
}

#[test]
fn truncated_or_corrupted_state_is_a_typed_error() {
    let [alice, _, _] = three(b"persist");
    let blob = alice.to_bytes();
    let decode = || Expected::Matches("a decode error", |e| matches!(e, Error::Decode(_)));
    for len in 0..blob.len() {
        assert_join_rejected(&[], decode(), || Group::from_bytes(&blob[..len], None));
    }
    for i in 0..blob.len() {
        let mut bad = blob.to_vec();
        bad[i] ^= 0x01;
        assert_join_rejected(&[], decode(), || Group::from_bytes(&bad, None));
    }
    let mut longer = blob.to_vec();
    longer.push(0);
    assert_join_rejected(&[], decode(), || Group::from_bytes(&longer, None));
    assert_join_rejected(&[], Error::Decode(DecodeError::UnexpectedEnd), || {
        Group::from_bytes(b"", None)
    });
}

#[test]
fn a_consistent_blob_of_another_version_is_unsupported() {
    let [alice, _, _] = three(b"persist");
    let mut blob = alice.to_bytes().to_vec();
    let body_end = blob.len() - 32;
    blob[9] ^= 0x80; // another version, right after the 8-byte magic
    let sum = suite().hash(&blob[..body_end]);
    blob[body_end..].copy_from_slice(&sum);
    let unsupported = Expected::Matches("Unsupported", |e| matches!(e, Error::Unsupported(_)));
    assert_join_rejected(&[], unsupported, || Group::from_bytes(&blob, None));
}

#[test]
fn key_package_secrets_round_trip_and_join() {
    let mut alice = create(b"kp", "alice", GroupOptions::default());
    let bob_kp = key_package("bob");
    let blob = bob_kp.to_bytes();
    let restored = KeyPackageSecrets::from_bytes(&blob).unwrap();
    assert_eq!(restored.key_package, bob_kp.key_package);
    let out = alice.commit(adding([&bob_kp]), &NoPsks).unwrap();
    alice.confirm_pending_commit().unwrap();
    let bob = Group::join(
        &out.welcome.unwrap(),
        &restored,
        &NoPsks,
        JoinOptions::default(),
    )
    .unwrap();
    assert_agree(&[&alice, &bob]);
    for len in 0..blob.len() {
        assert!(matches!(
            KeyPackageSecrets::from_bytes(&blob[..len]),
            Err(Error::Decode(_))
        ));
    }
    // A group blob is not a KeyPackage blob.
    assert!(matches!(
        KeyPackageSecrets::from_bytes(&alice.to_bytes()),
        Err(Error::Decode(_))
    ));
}
