//! Receipt rules for what comes from outside the group: external commits (RFC 9420
//! §12.2, §12.4.3.2), external and new-member proposals (§12.1.8), resumption Welcomes
//! (§12.4.3.1) and the application's credential check (§5.3.1).

mod support;

use cohort::codec::Bytes;
use cohort::crypto::SignaturePrivateKey;
use cohort::error::{Error, Rule};
use cohort::framing::{Content, FramedContent, MLSMessage, MLSMessageBody, Sender};
use cohort::group::welcome::sign_group_info;
use cohort::group::{
    CommitOptions, CredentialValidator, ExternalCommitOptions, ExternalProposer, Group,
    GroupConfig, GroupOptions, JoinOptions, MemoryPskStore, NoPsks, SharedValidator,
};
use cohort::messages::{
    Credential, Extension, ExtensionType, Extensions, ExternalInit, ExternalSender,
    LeafNodeSourceData, PreSharedKey, Proposal, ProposalOrRef, Remove, Update,
};
use support::*;

/// Frank's external commit into `t`'s group, from Alice's GroupInfo.
fn frank_joins(
    t: &Trio,
    options: ExternalCommitOptions,
) -> (Group, MLSMessage, SignaturePrivateKey) {
    let frank = signer();
    let gi = t.alice.group_info().unwrap();
    let (g, commit) =
        Group::join_external(&gi, cred("frank"), frank.clone(), &NoPsks, options).unwrap();
    (g, commit, frank)
}

/// `commit` with its proposals replaced by `edit`, re-signed by the joiner.
fn edit_external(
    t: &Trio,
    commit: &MLSMessage,
    signer: &SignaturePrivateKey,
    edit: impl FnOnce(&mut Vec<ProposalOrRef>, &mut Option<cohort::messages::UpdatePath>),
) -> MLSMessage {
    let MLSMessageBody::PublicMessage(pm) = &commit.body else {
        panic!()
    };
    let mut content = pm.content.clone();
    let Content::Commit(c) = &mut content.content else {
        panic!()
    };
    edit(&mut c.proposals, &mut c.path);
    forge_external(
        &suite(),
        signer,
        content,
        Some(t.bob.context()),
        pm.auth.confirmation_tag.clone(),
    )
}

fn external_init() -> ProposalOrRef {
    ProposalOrRef::Proposal(Proposal::ExternalInit(ExternalInit {
        kem_output: Bytes(vec![3; 32]),
    }))
}

/// The happy path first: members accept Frank's external commit.
#[test]
fn s12_4_3_2_external_commit_is_accepted() {
    let mut t = trio();
    let (frank, commit, _) = frank_joins(&t, ExternalCommitOptions::default());
    for g in [&mut t.alice, &mut t.bob, &mut t.carol] {
        apply(g, &commit, &NoPsks);
    }
    assert_agree(&[&t.alice, &t.bob, &t.carol, &frank]);
}

/// §12.2: an external commit contains "Exactly one ExternalInit".
#[test]
fn s12_2_external_commit_with_two_external_inits() {
    let mut t = trio();
    let (_, commit, frank) = frank_joins(&t, ExternalCommitOptions::default());
    let msg = edit_external(&t, &commit, &frank, |p, _| p.push(external_init()));
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::ExternalInitMisplaced);
    let msg = edit_external(&t, &commit, &frank, |p, _| {
        p.retain(|x| !matches!(x, ProposalOrRef::Proposal(Proposal::ExternalInit(_))))
    });
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::ExternalCommitProposals);
}

/// §12.2: "No other proposals" in an external commit (here an Update), at most one
/// Remove, and (§12.4.3.2) no proposal by reference.
#[test]
fn s12_2_external_commit_with_other_proposals() {
    let mut t = trio();
    let (_, commit, frank) = frank_joins(&t, ExternalCommitOptions::default());
    let mut leaf = t.bob.tree().leaf(1).unwrap().clone();
    leaf.leaf_node_source = LeafNodeSourceData::Update;
    let update = Proposal::Update(Box::new(Update { leaf_node: leaf }));
    let msg = edit_external(&t, &commit, &frank, |p, _| {
        p.push(ProposalOrRef::Proposal(update))
    });
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::ExternalCommitProposals);
    let two_removes = |p: &mut Vec<ProposalOrRef>, _: &mut Option<_>| {
        for r in [1, 2] {
            p.push(ProposalOrRef::Proposal(Proposal::Remove(Remove {
                removed: r,
            })));
        }
    };
    let msg = edit_external(&t, &commit, &frank, two_removes);
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::ExternalCommitProposals);
    let msg = edit_external(&t, &commit, &frank, |p, _| {
        p.push(ProposalOrRef::Reference(Bytes(vec![1; 32])))
    });
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::ExternalCommitProposals);
}

/// §12.4.3.2: "External Commits MUST contain a path field"; without one there is no key to
/// verify the joiner's signature with (§6.1).
#[test]
fn s12_4_3_2_external_commit_without_path() {
    let mut t = trio();
    let (_, commit, frank) = frank_joins(&t, ExternalCommitOptions::default());
    let msg = edit_external(&t, &commit, &frank, |_, path| *path = None);
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::UnknownSender);
}

/// §12.4.3.2: the joiner's signature must verify with the key in its path leaf.
#[test]
fn s12_4_3_2_external_commit_signed_by_another_key() {
    let mut t = trio();
    let (_, commit, _) = frank_joins(&t, ExternalCommitOptions::default());
    let msg = edit_external(&t, &commit, &signer(), |_, _| {});
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::ContentSignature);
}

/// A validator that calls every pair of credentials the same client.
struct AnyoneIsAnyone;
impl CredentialValidator for AnyoneIsAnyone {
    fn validate(&self, _: &Credential, _: &[u8]) -> bool {
        true
    }
    fn same_client(&self, _: &Credential, _: &Credential) -> bool {
        true
    }
}

/// §12.2: a resync's Remove must remove the joiner's own old leaf ("the credential in the
/// LeafNode MUST present a set of identifiers that is acceptable to the application for
/// the removed participant").
#[test]
fn s12_2_resync_removing_another_client() {
    let mut t = trio();
    // Frank's own client is lax, so it builds the commit; the members are not.
    let config = GroupConfig::default().with_validator(AnyoneIsAnyone);
    let (_, commit, _) = frank_joins(
        &t,
        ExternalCommitOptions {
            resync_remove: Some(1),
            config,
            ..Default::default()
        },
    );
    expect_rule(
        &mut t.carol,
        &commit,
        &NoPsks,
        Rule::ResyncCredentialMismatch,
    );
    // The joiner's own API refuses it with the default policy.
    let gi = t.alice.group_info().unwrap();
    assert_join_rejected(&[], Rule::ResyncCredentialMismatch, || {
        Group::join_external(
            &gi,
            cred("frank"),
            signer(),
            &NoPsks,
            ExternalCommitOptions {
                resync_remove: Some(1),
                ..Default::default()
            },
        )
    });
}

/// §12.4.3.2: a GroupInfo for external joins must carry `external_pub`, and its
/// signature must verify (§12.4.3.1).
#[test]
fn s12_4_3_2_group_info_checks() {
    let t = trio();
    let MLSMessageBody::GroupInfo(gi) = t.alice.group_info().unwrap().body else {
        panic!()
    };
    let mut bad = (*gi).clone();
    bad.signature.0[0] ^= 1;
    assert_join_rejected(&[], Rule::GroupInfoSignature, || {
        Group::join_external_group_info(&bad, cred("f"), signer(), &NoPsks, Default::default())
    });
    let mut no_pub = (*gi).clone();
    no_pub.extensions.remove(ExtensionType::EXTERNAL_PUB);
    sign_group_info(&suite(), &mut no_pub, &t.signers[0]).unwrap();
    assert_join_rejected(&[], Rule::ExternalPubMissing, || {
        Group::join_external_group_info(&no_pub, cred("f"), signer(), &NoPsks, Default::default())
    });
}

fn reject_mallory() -> GroupConfig {
    GroupConfig::default().with_validator(|c: &Credential, _: &[u8]| *c != cred("mallory"))
}

/// §5.3.1: the credential check runs on external joiners' path leaves.
#[test]
fn s5_3_1_credential_rejected_for_an_external_joiner() {
    let mut t = trio_with(reject_mallory());
    let gi = t.alice.group_info().unwrap();
    let (_, commit) =
        Group::join_external(&gi, cred("mallory"), signer(), &NoPsks, Default::default()).unwrap();
    expect_rule(&mut t.bob, &commit, &NoPsks, Rule::CredentialRejected);
}

/// §5.3.1: the credential check runs on every leaf of a tree a joiner receives.
#[test]
fn s5_3_1_credential_rejected_in_a_welcome_tree() {
    let mut alice = create(b"cred", "alice", GroupOptions::default());
    let mallory = key_package("mallory");
    let bob = key_package("bob");
    let out = alice.commit(adding([&mallory, &bob]), &NoPsks).unwrap();
    let welcome = out.welcome.unwrap();
    assert_join_rejected(&[], Rule::CredentialRejected, || {
        Group::join(
            &welcome,
            &bob,
            &NoPsks,
            JoinOptions {
                config: reject_mallory(),
                ..Default::default()
            },
        )
    });
}

/// §5.3.1: the credential check runs on a commit's path leaf (here Bob's new leaf names
/// Mallory, which only Alice's policy refuses).
#[test]
fn s5_3_1_credential_rejected_in_a_commit_path() {
    let mut t = trio_with(GroupConfig::default());
    t.alice.set_config(reject_mallory());
    let out = t.bob.commit(CommitOptions::default(), &NoPsks).unwrap();
    let signer = t.signers[1].clone();
    // Bob's path leaf is re-signed with another credential.
    let msg = resign(&mut t.bob, &signer, &out.commit, |c| {
        let Content::Commit(commit) = &mut c.content else {
            panic!()
        };
        let leaf = &mut commit.path.as_mut().unwrap().leaf_node;
        leaf.credential = cred("mallory");
        let tbs = leaf.tbs_bytes(b"negative", 1);
        leaf.signature = Bytes(
            suite()
                .sign_with_label(&signer, "LeafNodeTBS", &tbs)
                .unwrap(),
        );
    });
    expect_rule(&mut t.alice, &msg, &NoPsks, Rule::CredentialRejected);
}

fn with_external_sender(key: &SignaturePrivateKey) -> Trio {
    let mut t = trio();
    let senders = vec![ExternalSender {
        signature_key: Bytes(key.public_key().to_vec()),
        credential: cred("ds"),
    }];
    let ext = Extensions::from_vec(vec![Extension::new(
        ExtensionType::EXTERNAL_SENDERS,
        &senders,
    )])
    .unwrap();
    let out = t
        .alice
        .commit(
            CommitOptions {
                group_context_extensions: Some(ext),
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    fan_out(
        &mut t.alice,
        &mut [&mut t.bob, &mut t.carol],
        &out.commit,
        &NoPsks,
    );
    t
}

/// §12.1.8: external proposals are checked against `external_senders`: an unknown index,
/// a bad signature, and a type external senders may not send ("MUST be rejected as
/// malformed").
#[test]
fn s12_1_8_external_proposals() {
    let ds = signer();
    let mut t = with_external_sender(&ds);
    let gid = t.bob.group_id().to_vec();
    let epoch = t.bob.epoch();
    let remove = Proposal::Remove(Remove { removed: 2 });
    // The listed sender is accepted.
    let ok = ExternalProposer::new(SUITE, 0, ds.clone()).unwrap();
    let msg = ok.propose(&gid, epoch, remove.clone(), b"").unwrap();
    deliver(&mut t.bob, &msg, &NoPsks);
    // Index 1 is not in the list.
    let unknown = ExternalProposer::new(SUITE, 1, ds.clone()).unwrap();
    let msg = unknown.propose(&gid, epoch, remove.clone(), b"").unwrap();
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::UnknownSender);
    // Index 0 but another key.
    let impostor = ExternalProposer::new(SUITE, 0, signer()).unwrap();
    let msg = impostor.propose(&gid, epoch, remove, b"").unwrap();
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::ContentSignature);
    // An Update from an external sender, built by hand (the API refuses).
    let mut leaf = t.bob.tree().leaf(1).unwrap().clone();
    leaf.leaf_node_source = LeafNodeSourceData::Update;
    let content = FramedContent {
        group_id: Bytes(gid.clone()),
        epoch,
        sender: Sender::External(0),
        authenticated_data: Bytes::default(),
        content: Content::Proposal(Proposal::Update(Box::new(Update { leaf_node: leaf }))),
    };
    let msg = forge_external(&suite(), &ds, content, None, None);
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::InvalidSender);
    assert!(ok
        .propose(
            &gid,
            epoch,
            Proposal::PreSharedKey(PreSharedKey {
                psk: t.bob.external_psk_id(b"x").unwrap()
            }),
            b""
        )
        .is_ok());
}

/// §6.1, §12.1.8: a new member may only propose its own Add.
#[test]
fn s12_1_8_new_member_proposal_must_be_an_add() {
    let mut t = trio();
    let kp = key_package("dave");
    let content = FramedContent {
        group_id: Bytes(t.bob.group_id().to_vec()),
        epoch: t.bob.epoch(),
        sender: Sender::NewMemberProposal,
        authenticated_data: Bytes::default(),
        content: Content::Proposal(Proposal::Remove(Remove { removed: 2 })),
    };
    let msg = forge_external(&suite(), &kp.signer, content, None, None);
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::InvalidSender);
    // Signed by someone other than the KeyPackage's owner.
    let msg = Group::new_member_proposal(t.bob.group_id(), t.bob.epoch(), &kp, b"").unwrap();
    let MLSMessageBody::PublicMessage(mut pm) = msg.body else {
        panic!()
    };
    pm.auth.signature.0[0] ^= 1;
    let msg = MLSMessage::new(MLSMessageBody::PublicMessage(pm));
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::ContentSignature);
}

/// Alice branches `t` with Bob and the owners of `extra`, under `config`.
fn branch(
    t: &Trio,
    extra: &[&cohort::group::KeyPackageSecrets],
    config: GroupConfig,
) -> (Group, MLSMessage, cohort::group::KeyPackageSecrets) {
    let bob_kp = key_package_in(&suite(), "bob", &signer());
    let mut kps = vec![bob_kp.key_package.clone()];
    kps.extend(extra.iter().map(|k| k.key_package.clone()));
    let (g, out) = t
        .alice
        .branch(
            b"branch".to_vec(),
            kps,
            GroupOptions {
                config,
                ..Default::default()
            },
        )
        .unwrap();
    (g, out.welcome.unwrap(), bob_kp)
}

/// §12.4.3.1: a branch Welcome is checked against the group it resumes: the PSK must be
/// that group's (else the PSK is missing or [`Rule::ResumptionMismatch`]), and its members
/// must be a subset ([`Rule::ResumptionMembership`]).
#[test]
fn s12_4_3_1_branch_checks() {
    let t = trio();
    let (_, welcome, bob_kp) = branch(&t, &[], GroupConfig::default());
    // Without the resumed group, the join cannot check anything.
    let misuse = Expected::Matches("Misuse", |e| matches!(e, Error::Misuse(_)));
    assert_join_rejected(&[], misuse, || {
        Group::join(&welcome, &bob_kp, &NoPsks, JoinOptions::default())
    });
    // Another group as "resumed", with the right PSK available from the store.
    let other = create(b"other", "bob", GroupOptions::default());
    let mut store = MemoryPskStore::default();
    store.insert_resumption_psks(&t.bob);
    assert_join_rejected(&[&other], Rule::ResumptionMismatch, || {
        Group::join(
            &welcome,
            &bob_kp,
            &store,
            JoinOptions {
                resumed_group: Some(&other),
                ..Default::default()
            },
        )
    });

    // A branch that brings in an outsider: Alice's lax policy builds it, Bob refuses it.
    let zed = key_package("zed");
    assert_join_rejected(&[&t.alice], Rule::ResumptionMembership, || {
        t.alice.branch(
            b"b2".to_vec(),
            vec![zed.key_package.clone()],
            GroupOptions::default(),
        )
    });
    let mut lax = t.alice.clone();
    lax.set_config(GroupConfig::default().with_validator(AnyoneIsAnyone));
    let lax_trio = Trio {
        alice: lax,
        bob: t.bob.clone(),
        carol: t.carol.clone(),
        signers: t.signers.clone(),
    };
    let (_, welcome, bob_kp) = branch(&lax_trio, &[&zed], GroupConfig::default());
    assert_join_rejected(&[&t.bob], Rule::ResumptionMembership, || {
        Group::join(
            &welcome,
            &bob_kp,
            &NoPsks,
            JoinOptions {
                resumed_group: Some(&t.bob),
                ..Default::default()
            },
        )
    });
}

/// §12.4.3.1: a reinit Welcome needs the resumed group's last commit to be the ReInit.
#[test]
fn s12_4_3_1_reinit_checks() {
    let mut t = trio();
    let reinit = cohort::messages::ReInit {
        group_id: Bytes(b"v2".to_vec()),
        version: cohort::messages::ProtocolVersion::MLS10,
        cipher_suite: SUITE,
        extensions: Extensions::new(),
    };
    let bob_before = t.bob.clone();
    let out = t
        .alice
        .commit(
            CommitOptions {
                reinit: Some(reinit),
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    fan_out(
        &mut t.alice,
        &mut [&mut t.bob, &mut t.carol],
        &out.commit,
        &NoPsks,
    );
    let bob_kp = key_package("bob");
    let carol_kp = key_package("carol");
    let (_, out) = t
        .alice
        .reinit(
            signer(),
            vec![bob_kp.key_package.clone(), carol_kp.key_package.clone()],
            GroupOptions::default(),
        )
        .unwrap();
    let welcome = out.welcome.unwrap();
    // Bob's state from before the ReInit commit knows no ReInit (and no such PSK).
    let mut store = MemoryPskStore::default();
    store.insert_resumption_psks(&t.bob);
    assert_join_rejected(&[&bob_before], Rule::ResumptionMismatch, || {
        Group::join(
            &welcome,
            &bob_kp,
            &store,
            JoinOptions {
                resumed_group: Some(&bob_before),
                ..Default::default()
            },
        )
    });
    // With the right state it works.
    let joined = Group::join(
        &welcome,
        &bob_kp,
        &NoPsks,
        JoinOptions {
            resumed_group: Some(&t.bob),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(joined.epoch(), 1);
    // Reinit without every old member is refused by its creator.
    assert_join_rejected(&[&t.alice], Rule::ResumptionMembership, || {
        t.alice.reinit(
            signer(),
            vec![bob_kp.key_package.clone()],
            GroupOptions::default(),
        )
    });
}

/// A validator type used as a shared handle.
#[test]
fn shared_validator_is_debug() {
    let v = SharedValidator::new(AnyoneIsAnyone);
    assert_eq!(format!("{v:?}"), "SharedValidator(..)");
}

/// §7.3, §12.4.2: an external joiner's leaf must not reuse a member's signature key.
#[test]
fn s7_3_external_joiner_reusing_a_signature_key() {
    let mut t = trio();
    let gi = t.alice.group_info().unwrap();
    // Frank's own client refuses to build it ...
    assert_join_rejected(&[], Rule::DuplicateSignatureKey, || {
        Group::join_external(
            &gi,
            cred("frank"),
            t.signers[1].clone(),
            &NoPsks,
            Default::default(),
        )
    });
    // ... so it is forged: Frank's commit with Bob's key in the path leaf, all re-signed.
    let (_, commit, _) = frank_joins(&t, ExternalCommitOptions::default());
    let bob_key = t.signers[1].clone();
    let n_leaves = t.carol.tree().n_leaves();
    let msg = edit_external(&t, &commit, &bob_key, |_, path| {
        let leaf = &mut path.as_mut().unwrap().leaf_node;
        leaf.signature_key = Bytes(bob_key.public_key().to_vec());
        let tbs = leaf.tbs_bytes(b"negative", n_leaves - 1);
        leaf.signature = Bytes(
            suite()
                .sign_with_label(&bob_key, "LeafNodeTBS", &tbs)
                .unwrap(),
        );
    });
    expect_rule(&mut t.carol, &msg, &NoPsks, Rule::DuplicateSignatureKey);
}

/// A Welcome for `kp` sealing `group_info` with a made-up joiner secret and `psks`, whose
/// values are `values` (so that the GroupInfo decrypts when they are right).
fn hand_made_welcome(
    group_info: &cohort::messages::GroupInfo,
    kp: &cohort::group::KeyPackageSecrets,
    psks: Vec<cohort::messages::PreSharedKeyID>,
    values: Vec<cohort::crypto::Secret>,
) -> MLSMessage {
    use cohort::codec::Encode;
    use cohort::schedule::psk::{psk_secret, PskInput};
    let s = suite();
    let inputs: Vec<_> = psks
        .iter()
        .zip(values)
        .map(|(id, psk)| PskInput {
            id: id.to_bytes(),
            psk,
        })
        .collect();
    let psk_secret = psk_secret(&s, &inputs).unwrap();
    let joiner = cohort::schedule::JoinerSecret(s.random_secret().unwrap());
    let secrets = cohort::messages::GroupSecrets {
        joiner_secret: joiner.0.clone(),
        path_secret: None,
        psks,
    };
    let welcome = cohort::group::welcome::seal_welcome(
        &s,
        group_info,
        &joiner,
        &psk_secret,
        &[(kp.key_package.clone(), secrets)],
    )
    .unwrap();
    MLSMessage::new(MLSMessageBody::Welcome(welcome))
}

/// §12.4.3.1: "if a PreSharedKeyID has type resumption with usage reinit or branch,
/// verify that it is the only such PSK", and that the new group's epoch is 1.
#[test]
fn s12_4_3_1_resumption_psk_count_and_epoch() {
    let mut t = trio();
    let out = t.alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    fan_out(&mut t.alice, &mut [&mut t.bob], &out.commit, &NoPsks);
    let MLSMessageBody::GroupInfo(gi) = t.alice.group_info().unwrap().body else {
        panic!()
    };
    assert_eq!(gi.group_context.epoch, 2);
    let kp = key_package("bob");
    let branch_id = |g: &Group| cohort::messages::PreSharedKeyID {
        psk: cohort::messages::PSKTypeData::Resumption {
            usage: cohort::messages::ResumptionPSKUsage::Branch,
            psk_group_id: Bytes(g.group_id().to_vec()),
            psk_epoch: g.epoch(),
        },
        psk_nonce: Bytes(vec![5; 32]),
    };
    let id = branch_id(&t.bob);
    let value = t.bob.resumption_psk().clone();
    let options = || JoinOptions {
        resumed_group: Some(&t.bob),
        ..Default::default()
    };
    let two = hand_made_welcome(
        &gi,
        &kp,
        vec![id.clone(), id.clone()],
        vec![value.clone(), value.clone()],
    );
    assert_join_rejected(&[&t.bob], Rule::MultipleResumptionPsks, || {
        Group::join(&two, &kp, &NoPsks, options())
    });
    let one = hand_made_welcome(&gi, &kp, vec![id], vec![value]);
    assert_join_rejected(&[&t.bob], Rule::ResumptionEpoch, || {
        Group::join(&one, &kp, &NoPsks, options())
    });
}

/// §5.3.1: the credential check runs on Update leaves (Carol's Update names Mallory).
#[test]
fn s5_3_1_credential_rejected_in_an_update() {
    let mut t = trio();
    t.bob.set_config(reject_mallory());
    let p = t.carol.propose_update().unwrap();
    let signer = t.signers[2].clone();
    let forged = resign(&mut t.carol, &signer, &p, |c| {
        let Content::Proposal(Proposal::Update(u)) = &mut c.content else {
            panic!()
        };
        u.leaf_node.credential = cred("mallory");
        let tbs = u.leaf_node.tbs_bytes(b"negative", 2);
        u.leaf_node.signature = Bytes(
            suite()
                .sign_with_label(&signer, "LeafNodeTBS", &tbs)
                .unwrap(),
        );
    });
    let cohort::group::ReceivedMessage::Proposal(cached) = deliver(&mut t.bob, &forged, &NoPsks)
    else {
        panic!()
    };
    deliver(&mut t.alice, &forged, &NoPsks);
    let refs = vec![ProposalOrRef::Reference(Bytes(cached.reference.clone()))];
    let msg = forge_commit(&mut t.alice, &t.signers[0], refs, None);
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::CredentialRejected);
}
