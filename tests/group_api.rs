//! The convenience API a second user asked for (issue 14): KeyPackage wire bytes, joining
//! with many KeyPackages, member lookup, refusing a proposal, PSK-free calls, random group
//! ids and encoding size hints.

mod support;

use cohort::codec::{Decode, Encode};
use cohort::crypto::CipherSuite;
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::{
    CommitOptions, Group, GroupOptions, JoinOptions, KeyPackageSecrets, NoPsks, ReceivedMessage,
};
use cohort::messages::{Credential, KeyPackage};
use std::collections::HashMap;
use support::*;

#[test]
fn key_package_message_bytes_round_trip_and_match_the_mlsmessage_encoding() {
    let kp = key_package("bob");
    let bytes = kp.to_message_bytes();
    let via_message =
        MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(kp.key_package.clone()))).to_bytes();
    assert_eq!(bytes, via_message);
    assert_eq!(
        KeyPackage::from_message_bytes(&bytes).unwrap(),
        kp.key_package
    );
}

#[test]
fn key_package_from_message_bytes_refuses_other_messages() {
    let alice = create(b"g", "alice", GroupOptions::default());
    let gi = alice.group_info().unwrap().to_bytes();
    assert!(KeyPackage::from_message_bytes(&gi).is_err());
    let mut bytes = key_package("bob").to_message_bytes();
    bytes.push(0);
    assert!(
        KeyPackage::from_message_bytes(&bytes).is_err(),
        "trailing byte accepted"
    );
}

#[test]
fn key_package_ref_uses_the_suite_the_package_names() {
    // Suite 5 hashes with SHA-512: a reference taken under any SHA-256 suite would differ.
    let p521 = cohort::crypto::Suite::new(CipherSuite(5)).unwrap();
    let signer = p521.generate_signature_key_pair().unwrap();
    let kp = key_package_in(&p521, "bob", &signer);
    let expected = cohort::group::key_package::key_package_ref(&p521, &kp.key_package);
    assert_eq!(expected.len(), 64);
    assert_eq!(kp.reference().unwrap(), expected);
    assert_eq!(kp.key_package.reference().unwrap(), expected);
}

#[test]
fn join_from_finds_the_key_package_among_many() {
    let mut alice = create(b"g", "alice", GroupOptions::default());
    let kps: Vec<KeyPackageSecrets> = ["bob1", "bob2", "bob3"].map(key_package).into();
    let out = alice
        .commit_without_psks(CommitOptions {
            add: vec![kps[1].key_package.clone()],
            ..CommitOptions::default()
        })
        .unwrap();
    alice.confirm_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();

    let (bob, used) =
        Group::join_from(&welcome, kps.as_slice(), &NoPsks, JoinOptions::default()).unwrap();
    assert_eq!(used, kps[1].reference().unwrap());
    assert_eq!(bob.epoch_authenticator(), alice.epoch_authenticator());

    let map: HashMap<Vec<u8>, KeyPackageSecrets> = kps
        .iter()
        .map(|kp| (kp.reference().unwrap(), kp.clone()))
        .collect();
    let (bob, _) = Group::join_from(&welcome, &map, &NoPsks, JoinOptions::default()).unwrap();
    assert_eq!(bob.epoch_authenticator(), alice.epoch_authenticator());

    let others = [kps[0].clone(), kps[2].clone()];
    let err = Group::join_from(&welcome, others.as_slice(), &NoPsks, JoinOptions::default());
    assert!(
        err.is_err(),
        "joined with a KeyPackage the Welcome is not for"
    );
}

#[test]
fn members_are_found_by_identity_and_signature_key() {
    let ([alice, bob, carol], signers) =
        members(b"g", ["alice", "bob", "carol"], Default::default());
    for g in [&alice, &bob, &carol] {
        assert_eq!(g.member_by_identity(b"bob"), Some(bob.own_leaf_index()));
        assert_eq!(g.member_by_identity(b"carol"), Some(carol.own_leaf_index()));
        assert_eq!(g.member_by_identity(b"dave"), None);
        assert_eq!(
            g.member_by_signature_key(signers[0].public_key()),
            Some(alice.own_leaf_index())
        );
        assert_eq!(g.member_by_signature_key(b"not a key"), None);
        let leaves: Vec<u32> = g.member_leaves().map(|(i, _)| i).collect();
        let cloned: Vec<u32> = g.members().iter().map(|m| m.index).collect();
        assert_eq!(leaves, cloned);
        assert_eq!(
            g.member(carol.own_leaf_index()).map(|l| &l.credential),
            Some(&Credential::basic("carol"))
        );
    }
}

#[test]
fn a_refused_proposal_is_not_committed() {
    let ([mut alice, mut bob], _) = members(b"g", ["alice", "bob"], Default::default());
    let proposal = bob.propose_add(key_package("carol").key_package).unwrap();
    let ReceivedMessage::Proposal(cached) = alice.process(proposal).unwrap() else {
        panic!("not a proposal");
    };
    let refused = alice.refuse_proposal(&cached.reference).unwrap();
    assert_eq!(refused.reference, cached.reference);
    assert!(alice.pending_proposals().is_empty());
    assert!(alice.refuse_proposal(&cached.reference).is_none());

    let out = alice.commit_without_psks(CommitOptions::default()).unwrap();
    alice.confirm_pending_commit().unwrap();
    assert!(out.welcome.is_none(), "the refused Add was committed");
    assert_eq!(alice.member_count(), 2);
}

#[test]
fn process_and_commit_without_psks_keep_members_in_step() {
    let ([mut alice, mut bob], _) = members(b"g", ["alice", "bob"], Default::default());
    let out = bob.commit_without_psks(CommitOptions::default()).unwrap();
    bob.confirm_pending_commit().unwrap();
    let ReceivedMessage::Commit(staged) = alice.process(out.commit).unwrap() else {
        panic!("not a commit");
    };
    alice.merge_staged_commit(*staged).unwrap();
    assert_eq!(alice.epoch_authenticator(), bob.epoch_authenticator());
}

#[test]
fn create_without_group_id_picks_a_fresh_random_one() {
    let make = || {
        Group::create(
            SUITE,
            None,
            cred("alice"),
            signer(),
            GroupOptions::default(),
        )
    };
    let (a, b) = (make().unwrap(), make().unwrap());
    assert_eq!(a.group_id().len(), suite().hash_len());
    assert_ne!(a.group_id(), b.group_id());
    let p521 = CipherSuite::MLS_256_DHKEMP521_AES256GCM_SHA512_P521;
    let key = cohort::crypto::Suite::new(p521)
        .unwrap()
        .generate_signature_key_pair()
        .unwrap();
    let c = Group::create(p521, None, cred("alice"), key, GroupOptions::default()).unwrap();
    assert_eq!(c.group_id().len(), 64);
}

#[test]
fn encoded_len_is_the_length_of_the_encoding() {
    let ([mut alice, _bob], _) = members(b"g", ["alice", "bob"], Default::default());
    let adds: Vec<_> = (0..20)
        .map(|i| key_package(&format!("m{i}")).key_package)
        .collect();
    let out = alice
        .commit_without_psks(CommitOptions {
            add: adds,
            ..CommitOptions::default()
        })
        .unwrap();
    let welcome = out.welcome.unwrap();
    let gi = alice.group_info().unwrap();
    let tree = alice.tree().to_wire();
    let kp = key_package("x");
    for (what, len, bytes) in [
        ("Welcome", welcome.encoded_len(), welcome.to_bytes()),
        ("commit", out.commit.encoded_len(), out.commit.to_bytes()),
        ("GroupInfo", gi.encoded_len(), gi.to_bytes()),
        ("ratchet tree", tree.encoded_len(), tree.to_bytes()),
        (
            "KeyPackage",
            kp.key_package.encoded_len(),
            kp.key_package.to_bytes(),
        ),
    ] {
        assert_eq!(len, bytes.len(), "{what}");
    }
    // Vectors of items whose length is unknown still encode correctly.
    assert_eq!(
        MLSMessage::decode_exact(&welcome.to_bytes())
            .unwrap()
            .to_bytes(),
        welcome.to_bytes()
    );
}

#[test]
fn zeroize_is_reexported_for_persisted_state() {
    let alice = create(b"g", "alice", GroupOptions::default());
    let blob: cohort::zeroize::Zeroizing<Vec<u8>> = alice.to_bytes();
    assert!(!blob.is_empty());
}
