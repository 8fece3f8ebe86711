//! End-to-end group scenarios through the public API: several members, every proposal type
//! by reference and by value, external proposals and commits, a resync, PSKs, a branch and
//! a reinitialisation, persistence mid-scenario, and agreement on the epoch authenticator
//! and exporter at every step (RFC 9420 §8.5, §8.7).

mod support;

use cohort::codec::Bytes;
use cohort::crypto::{CipherSuite, Suite};
use cohort::error::{Error, Rule};
use cohort::group::{
    CommitOptions, ExternalCommitOptions, ExternalProposer, Group, GroupConfig, GroupOptions,
    HandshakeFormat, JoinOptions, MemoryPskStore, NoPsks, ReceivedMessage, SharedValidator,
};
use cohort::messages::{
    Add, Credential, Extension, ExtensionType, Extensions, ExternalSender, Proposal,
    ProtocolVersion, ReInit, RequiredCapabilities,
};
use support::*;

/// The application's Authentication Service: basic credentials not starting with "evil".
fn validator() -> SharedValidator {
    SharedValidator::new(|c: &Credential, _key: &[u8]| match c {
        Credential::Basic { identity } => !identity.starts_with(b"evil"),
        Credential::X509 { .. } => false,
    })
}

fn config() -> GroupConfig {
    GroupConfig {
        credential_validator: Some(validator()),
        ..GroupConfig::default()
    }
}

fn resumed(old: &Group) -> JoinOptions<'_> {
    JoinOptions {
        resumed_group: Some(old),
        config: config(),
        ..Default::default()
    }
}

fn join_options() -> JoinOptions<'static> {
    JoinOptions {
        config: config(),
        ..Default::default()
    }
}

#[test]
fn create_add_message_update_remove() {
    let [mut alice, mut bob, mut carol] = three(b"group-1");
    assert_agree(&[&alice, &bob, &carol]);
    assert_eq!(alice.member_count(), 3);

    chat(&mut bob, &mut [&mut alice, &mut carol], b"hello", &NoPsks);

    // Bob commits an empty commit; he gets it back from the DS (a normal path).
    let out = bob.commit(CommitOptions::default(), &NoPsks).unwrap();
    apply(&mut alice, &out.commit, &NoPsks);
    apply(&mut carol, &out.commit, &NoPsks);
    apply(&mut bob, &out.commit, &NoPsks);
    assert_agree(&[&alice, &bob, &carol]);

    // Carol proposes an Update; Alice commits it by reference.
    let p = carol.propose_update().unwrap();
    propose_to(&mut [&mut alice, &mut bob], &p, &NoPsks);
    let out = alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    fan_out(
        &mut alice,
        &mut [&mut bob, &mut carol],
        &out.commit,
        &NoPsks,
    );
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
    apply(&mut carol, &out.commit, &NoPsks);
    match deliver(&mut bob, &out.commit, &NoPsks) {
        ReceivedMessage::Commit(staged) => {
            assert!(staged.summary.removes_us);
            bob.merge_staged_commit(*staged).unwrap();
            assert!(!bob.is_active());
        }
        other => panic!("{other:?}"),
    }
    assert_agree(&[&alice, &carol]);
    assert_eq!(alice.member_count(), 2);
    chat(&mut carol, &mut [&mut alice], b"bye bob", &NoPsks);
}

#[test]
fn full_lifecycle() {
    let ds_signer = signer();
    let senders = vec![ExternalSender {
        signature_key: Bytes(ds_signer.public_key().to_vec()),
        credential: cred("ds"),
    }];
    let extensions = Extensions::from_vec(vec![Extension::new(
        ExtensionType::EXTERNAL_SENDERS,
        &senders,
    )])
    .unwrap();
    let mut psks = MemoryPskStore::default();
    psks.insert_external(b"shared", cohort::crypto::Secret::new(vec![7; 32]));

    let mut alice = create(
        b"lifecycle",
        "alice",
        GroupOptions {
            extensions: extensions.clone(),
            config: config(),
            ..Default::default()
        },
    );
    let gid = alice.group_id().to_vec();

    // Add by value.
    let bob_kp = key_package("bob");
    let out = alice.commit(adding([&bob_kp]), &psks).unwrap();
    alice.confirm_pending_commit().unwrap();
    let mut bob = Group::join(&out.welcome.unwrap(), &bob_kp, &psks, join_options()).unwrap();
    assert_agree(&[&alice, &bob]);

    // Add by reference: Bob proposes Carol, Alice commits.
    let carol_kp = key_package("carol");
    let p = bob.propose_add(carol_kp.key_package.clone()).unwrap();
    propose_to(&mut [&mut alice], &p, &psks);
    let out = alice.commit(CommitOptions::default(), &psks).unwrap();
    fan_out(&mut alice, &mut [&mut bob], &out.commit, &psks);
    let mut carol_opts = join_options();
    // Carol protects her handshake messages as PrivateMessages.
    carol_opts.config.handshake_format = HandshakeFormat::Private;
    let mut carol = Group::join(&out.welcome.unwrap(), &carol_kp, &psks, carol_opts).unwrap();
    assert_agree(&[&alice, &bob, &carol]);
    chat(&mut carol, &mut [&mut alice, &mut bob], b"hi all", &psks);

    // Update by reference, committed by Bob.
    let p = carol.propose_update().unwrap();
    propose_to(&mut [&mut alice, &mut bob], &p, &psks);
    // Carol's own proposal comes back from the DS as a PrivateMessage: recognised.
    assert!(matches!(
        deliver(&mut carol, &p, &psks),
        ReceivedMessage::Proposal(_)
    ));
    let out = bob.commit(CommitOptions::default(), &psks).unwrap();
    fan_out(&mut bob, &mut [&mut alice, &mut carol], &out.commit, &psks);
    assert_agree(&[&alice, &bob, &carol]);

    // External PSK by value (Alice), then by reference (Carol proposes, Alice commits).
    let id = alice.external_psk_id(b"shared").unwrap();
    let out = alice
        .commit(
            CommitOptions {
                psks: vec![id],
                ..Default::default()
            },
            &psks,
        )
        .unwrap();
    fan_out(&mut alice, &mut [&mut bob, &mut carol], &out.commit, &psks);
    assert_agree(&[&alice, &bob, &carol]);
    let p = carol
        .propose_psk(carol.external_psk_id(b"shared").unwrap())
        .unwrap();
    propose_to(&mut [&mut alice, &mut bob], &p, &psks);
    let out = alice.commit(CommitOptions::default(), &psks).unwrap();
    fan_out(&mut alice, &mut [&mut bob, &mut carol], &out.commit, &psks);
    assert_agree(&[&alice, &bob, &carol]);

    // Resumption PSK (usage application) by value, then by reference.
    let id = bob.resumption_psk_id(bob.epoch() - 1).unwrap();
    let out = bob
        .commit(
            CommitOptions {
                psks: vec![id],
                ..Default::default()
            },
            &psks,
        )
        .unwrap();
    fan_out(&mut bob, &mut [&mut alice, &mut carol], &out.commit, &psks);
    assert_agree(&[&alice, &bob, &carol]);
    let p = alice
        .propose_psk(alice.resumption_psk_id(alice.epoch() - 2).unwrap())
        .unwrap();
    propose_to(&mut [&mut bob, &mut carol], &p, &psks);
    // Carol commits as a PrivateMessage and gets her own commit back from the DS.
    let out = carol.commit(CommitOptions::default(), &psks).unwrap();
    apply(&mut carol, &out.commit, &psks);
    apply(&mut alice, &out.commit, &psks);
    apply(&mut bob, &out.commit, &psks);
    assert_agree(&[&alice, &bob, &carol]);

    // GroupContextExtensions by value, then by reference.
    let mut with_required = extensions.clone();
    with_required.insert(Extension::new(
        ExtensionType::REQUIRED_CAPABILITIES,
        &RequiredCapabilities {
            credential_types: vec![cohort::messages::CredentialType::BASIC],
            ..Default::default()
        },
    ));
    let out = alice
        .commit(
            CommitOptions {
                group_context_extensions: Some(with_required.clone()),
                ..Default::default()
            },
            &psks,
        )
        .unwrap();
    fan_out(&mut alice, &mut [&mut bob, &mut carol], &out.commit, &psks);
    assert_agree(&[&alice, &bob, &carol]);
    assert_eq!(alice.context().extensions, with_required);
    let p = bob
        .propose_group_context_extensions(extensions.clone())
        .unwrap();
    propose_to(&mut [&mut alice, &mut carol], &p, &psks);
    let out = carol.commit(CommitOptions::default(), &psks).unwrap();
    fan_out(&mut carol, &mut [&mut alice, &mut bob], &out.commit, &psks);
    assert_agree(&[&alice, &bob, &carol]);
    assert_eq!(bob.context().extensions, extensions);

    // An external sender proposes adding Dave; Alice commits it by reference.
    let ds = ExternalProposer::new(SUITE, 0, ds_signer).unwrap();
    let dave_kp = key_package("dave");
    let p = ds
        .propose(
            &gid,
            alice.epoch(),
            Proposal::Add(Box::new(Add {
                key_package: dave_kp.key_package.clone(),
            })),
            b"",
        )
        .unwrap();
    propose_to(&mut [&mut alice, &mut bob, &mut carol], &p, &psks);
    let out = alice.commit(CommitOptions::default(), &psks).unwrap();
    fan_out(&mut alice, &mut [&mut bob, &mut carol], &out.commit, &psks);
    let mut dave = Group::join(&out.welcome.unwrap(), &dave_kp, &psks, join_options()).unwrap();
    assert_agree(&[&alice, &bob, &carol, &dave]);

    // Erin asks to join (new_member_proposal); Dave commits it.
    let erin_kp = key_package("erin");
    let p = Group::new_member_proposal(&gid, dave.epoch(), &erin_kp, b"please").unwrap();
    propose_to(
        &mut [&mut alice, &mut bob, &mut carol, &mut dave],
        &p,
        &psks,
    );
    let out = dave.commit(CommitOptions::default(), &psks).unwrap();
    fan_out(
        &mut dave,
        &mut [&mut alice, &mut bob, &mut carol],
        &out.commit,
        &psks,
    );
    let mut erin = Group::join(&out.welcome.unwrap(), &erin_kp, &psks, join_options()).unwrap();
    assert_agree(&[&alice, &bob, &carol, &dave, &erin]);

    // Frank joins by external commit from a GroupInfo Carol publishes.
    let gi = carol.group_info().unwrap();
    let (mut frank, commit) = Group::join_external(
        &gi,
        cred("frank"),
        signer(),
        &psks,
        ExternalCommitOptions {
            config: config(),
            ..Default::default()
        },
    )
    .unwrap();
    for g in [&mut alice, &mut bob, &mut carol, &mut dave, &mut erin] {
        match deliver(g, &commit, &psks) {
            ReceivedMessage::Commit(staged) => {
                assert_eq!(
                    staged.summary.sender,
                    cohort::framing::Sender::NewMemberCommit
                );
                g.merge_staged_commit(*staged).unwrap();
            }
            other => panic!("{other:?}"),
        }
    }
    assert_agree(&[&alice, &bob, &carol, &dave, &erin, &frank]);
    chat(
        &mut frank,
        &mut [&mut alice, &mut bob, &mut carol, &mut dave, &mut erin],
        b"frank here",
        &psks,
    );

    // Persist Bob and carry on with the restored copy.
    let blob = bob.to_bytes();
    let mut bob = Group::from_bytes(&blob, Some(validator())).unwrap();
    assert_agree(&[&alice, &bob]);

    // Frank loses his state and resyncs: an external commit that removes his old leaf.
    let old_frank_leaf = frank.own_leaf_index();
    let gi = alice.group_info().unwrap();
    let (mut frank2, commit) = Group::join_external(
        &gi,
        cred("frank"),
        signer(),
        &psks,
        ExternalCommitOptions {
            resync_remove: Some(old_frank_leaf),
            config: config(),
            ..Default::default()
        },
    )
    .unwrap();
    for g in [&mut alice, &mut bob, &mut carol, &mut dave, &mut erin] {
        apply(g, &commit, &psks);
    }
    match deliver(&mut frank, &commit, &psks) {
        ReceivedMessage::Commit(staged) => {
            assert!(staged.summary.removes_us);
            frank.merge_staged_commit(*staged).unwrap();
        }
        other => panic!("{other:?}"),
    }
    assert!(!frank.is_active());
    assert_agree(&[&alice, &bob, &carol, &dave, &erin, &frank2]);
    assert_eq!(alice.member_count(), 6);

    // Remove by reference (Alice proposes Erin's removal, Dave commits), then by value.
    let p = alice.propose_remove(erin.own_leaf_index()).unwrap();
    propose_to(
        &mut [&mut bob, &mut carol, &mut dave, &mut erin, &mut frank2],
        &p,
        &psks,
    );
    let out = dave.commit(CommitOptions::default(), &psks).unwrap();
    fan_out(
        &mut dave,
        &mut [&mut alice, &mut bob, &mut carol, &mut frank2],
        &out.commit,
        &psks,
    );
    apply(&mut erin, &out.commit, &psks);
    assert!(!erin.is_active());
    let out = bob
        .commit(
            CommitOptions {
                remove: vec![dave.own_leaf_index()],
                ..Default::default()
            },
            &psks,
        )
        .unwrap();
    fan_out(
        &mut bob,
        &mut [&mut alice, &mut carol, &mut frank2, &mut dave],
        &out.commit,
        &psks,
    );
    assert!(!dave.is_active());
    assert_agree(&[&alice, &bob, &carol, &frank2]);

    // Branch: Alice starts a subgroup with Bob and Carol (§11.3).
    let bob_kp2 = key_package_in(&suite(), "bob", &signer());
    let carol_kp2 = key_package_in(&suite(), "carol", &signer());
    let (alice_b, out) = alice
        .branch(
            b"lifecycle-branch".to_vec(),
            vec![bob_kp2.key_package.clone(), carol_kp2.key_package.clone()],
            GroupOptions {
                extensions: alice.context().extensions.clone(),
                config: config(),
                ..Default::default()
            },
        )
        .unwrap();
    let welcome = out.welcome.unwrap();
    let bob_b = Group::join(&welcome, &bob_kp2, &psks, resumed(&bob)).unwrap();
    let carol_b = Group::join(&welcome, &carol_kp2, &psks, resumed(&carol)).unwrap();
    assert_eq!(alice_b.epoch(), 1);
    assert_agree(&[&alice_b, &bob_b, &carol_b]);

    // ReInit by reference: Bob proposes moving to P-256, Carol commits (§11.2).
    let new_suite_id = CipherSuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256;
    let reinit = ReInit {
        group_id: Bytes(b"lifecycle-v2".to_vec()),
        version: ProtocolVersion::MLS10,
        cipher_suite: new_suite_id,
        extensions: Extensions::new(),
    };
    let p = bob.propose_reinit(reinit.clone()).unwrap();
    propose_to(&mut [&mut alice, &mut carol, &mut frank2], &p, &psks);
    let out = carol.commit(CommitOptions::default(), &psks).unwrap();
    fan_out(
        &mut carol,
        &mut [&mut alice, &mut bob, &mut frank2],
        &out.commit,
        &psks,
    );
    assert_agree(&[&alice, &bob, &carol, &frank2]);
    for g in [&alice, &bob, &carol, &frank2] {
        assert_eq!(g.pending_reinit(), Some(&reinit));
        assert!(!g.is_active());
    }
    let misuse = Expected::Matches("Misuse", |e| matches!(e, Error::Misuse(_)));
    assert_rejected_unchanged(&mut alice, misuse, |g| g.send_application(b"too late", b""));
    let new_suite = Suite::new(new_suite_id).unwrap();
    let kps: Vec<_> = ["alice", "bob", "frank"]
        .iter()
        .map(|n| {
            key_package_in(
                &new_suite,
                n,
                &new_suite.generate_signature_key_pair().unwrap(),
            )
        })
        .collect();
    let (carol_r, out) = carol
        .reinit(
            new_suite.generate_signature_key_pair().unwrap(),
            kps.iter().map(|k| k.key_package.clone()).collect(),
            GroupOptions {
                config: config(),
                ..Default::default()
            },
        )
        .unwrap();
    let welcome = out.welcome.unwrap();
    let alice_r = Group::join(&welcome, &kps[0], &psks, resumed(&alice)).unwrap();
    let bob_r = Group::join(&welcome, &kps[1], &psks, resumed(&bob)).unwrap();
    let frank_r = Group::join(&welcome, &kps[2], &psks, resumed(&frank2)).unwrap();
    assert_eq!(carol_r.suite().id(), new_suite_id);
    assert_eq!(carol_r.group_id(), b"lifecycle-v2");
    assert_agree(&[&carol_r, &alice_r, &bob_r, &frank_r]);

    // A reinit Welcome checked against the wrong old group is refused (§12.4.3.1).
    assert_join_rejected(&[&alice_b], Rule::PskNotFound, || {
        Group::join(&welcome, &kps[0], &psks, resumed(&alice_b))
    });
}

#[test]
fn concurrent_commits_the_loser_retries() {
    let [mut alice, mut bob, mut carol] = three(b"race");

    // Both commit in the same epoch; the DS orders Alice's first and rejects Bob's.
    let a = alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    let b = bob.commit(CommitOptions::default(), &NoPsks).unwrap();
    assert!(bob.has_pending_commit());
    apply(&mut alice, &a.commit, &NoPsks); // echo of Alice's own commit
    apply(&mut bob, &a.commit, &NoPsks); // Bob's pending commit is dropped on merge
    apply(&mut carol, &a.commit, &NoPsks);
    assert!(!bob.has_pending_commit());
    assert_agree(&[&alice, &bob, &carol]);
    // Bob's stale commit is for an old epoch now.
    expect_rule(&mut carol, &b.commit, &NoPsks, Rule::WrongGroupOrEpoch);

    // Bob retries in the new epoch and wins.
    let b = bob.commit(CommitOptions::default(), &NoPsks).unwrap();
    fan_out(&mut bob, &mut [&mut alice, &mut carol], &b.commit, &NoPsks);
    assert_agree(&[&alice, &bob, &carol]);
    chat(&mut bob, &mut [&mut alice, &mut carol], b"retried", &NoPsks);
}

#[test]
fn late_application_message_from_a_past_epoch_decrypts() {
    let ([mut alice, mut bob], _) = members(b"late", ["alice", "bob"], GroupConfig::default());
    let late = bob
        .send_application(b"sent before the commit", b"")
        .unwrap();
    let out = alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    fan_out(&mut alice, &mut [&mut bob], &out.commit, &NoPsks);
    match deliver(&mut alice, &late, &NoPsks) {
        ReceivedMessage::Application { data, epoch, .. } => {
            assert_eq!(data, b"sent before the commit");
            assert_eq!(epoch, alice.epoch() - 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn commit_returns_a_group_info_only_when_asked() {
    let [mut alice, mut bob, _carol] = three(b"group info on request");
    let plain = alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    assert!(plain.group_info.is_none(), "off by default");
    alice.discard_pending_commit();

    let out = alice
        .commit(
            CommitOptions {
                group_info: true,
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    fan_out(&mut alice, &mut [&mut bob], &out.commit, &NoPsks);
    // It is the new epoch's GroupInfo: an external joiner gets into that epoch with it.
    let gi = out.group_info.expect("asked for");
    let (dave, commit) = Group::join_external(
        &gi,
        cred("dave"),
        signer(),
        &NoPsks,
        ExternalCommitOptions::default(),
    )
    .unwrap();
    apply(&mut alice, &commit, &NoPsks);
    apply(&mut bob, &commit, &NoPsks);
    assert_agree(&[&alice, &bob, &dave]);
}

#[test]
fn late_message_verifies_with_the_senders_key_of_its_epoch() {
    // §15.3 (late messages): Carol sends, is removed, and Dave takes her leaf; Carol's
    // message, two epochs late, still verifies against her key of that epoch, also after
    // Bob's state went through to_bytes/from_bytes.
    let ([mut alice, mut bob, mut carol], _) = members(
        b"late leaf reuse",
        ["alice", "bob", "carol"],
        GroupConfig::default(),
    );
    let late = carol.send_application(b"before my removal", b"").unwrap();
    let out = alice
        .commit(
            CommitOptions {
                remove: vec![carol.own_leaf_index()],
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    fan_out(&mut alice, &mut [&mut bob], &out.commit, &NoPsks);
    let dave = key_package("dave");
    let out = alice.commit(adding([&dave]), &NoPsks).unwrap();
    fan_out(&mut alice, &mut [&mut bob], &out.commit, &NoPsks);
    let joined = Group::join(
        out.welcome.as_ref().unwrap(),
        &dave,
        &NoPsks,
        JoinOptions::default(),
    )
    .unwrap();
    assert_eq!(
        joined.own_leaf_index(),
        carol.own_leaf_index(),
        "Dave reuses the leaf"
    );

    let mut bob = Group::from_bytes(&bob.to_bytes(), None).unwrap();
    for g in [&mut alice, &mut bob] {
        match deliver(g, &late, &NoPsks) {
            ReceivedMessage::Application {
                data,
                epoch,
                sender,
                ..
            } => {
                assert_eq!(data, b"before my removal");
                assert_eq!(epoch, g.epoch() - 2);
                assert_eq!(sender, carol.own_leaf_index());
            }
            other => panic!("{other:?}"),
        }
    }
}
