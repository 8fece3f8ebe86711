//! The public view follows real groups epoch by epoch (its GroupContext equals the members'),
//! and refuses what a non-member can tell is invalid, naming the RFC section.

use super::*;
use crate::codec::Decode;
use crate::framing::Sender;
use crate::group::{CommitOptions, ExternalCommitOptions, GroupOptions, JoinOptions, NoPsks};
use crate::group::{KeyPackageOptions, KeyPackageSecrets, ReceivedMessage};
use crate::messages::{Add, Commit, Credential, ProposalOrRef};

const SUITE: CipherSuite = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519;

fn suite() -> Suite {
    Suite::new(SUITE).unwrap()
}

fn create(name: &str) -> Group {
    let key = suite().generate_signature_key_pair().unwrap();
    Group::create(
        SUITE,
        b"public view".to_vec(),
        Credential::basic(name),
        key,
        GroupOptions::default(),
    )
    .unwrap()
}

fn key_package(name: &str) -> KeyPackageSecrets {
    let key = suite().generate_signature_key_pair().unwrap();
    KeyPackageSecrets::generate(
        &suite(),
        Credential::basic(name),
        &key,
        &KeyPackageOptions::default(),
    )
    .unwrap()
}

/// The view of `group`'s epoch as a DS gets it: from the published GroupInfo.
fn view_of(group: &Group) -> PublicGroup {
    let MLSMessageBody::GroupInfo(gi) = group.group_info().unwrap().body else {
        panic!("not a GroupInfo")
    };
    PublicGroup::from_group_info(&gi, None, GroupConfig::default()).unwrap()
}

fn commit_of(view: &mut PublicGroup, msg: &MLSMessage) -> Result<PublicStagedCommit> {
    match view.process(msg)? {
        PublicReceived::Commit(staged) => Ok(*staged),
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn expect_rule<T: std::fmt::Debug>(result: Result<T>, rule: Rule) {
    match result {
        Err(Error::Invalid(r)) => assert_eq!(r, rule, "expected §{} {rule:?}", rule.section()),
        other => panic!("expected {rule:?} (§{}), got {other:?}", rule.section()),
    }
}

/// Re-sign nothing: replace the signature with random bytes.
fn forge_signature(msg: &MLSMessage) -> MLSMessage {
    let mut msg = msg.clone();
    if let MLSMessageBody::PublicMessage(m) = &mut msg.body {
        m.auth.signature = Bytes(suite().random_bytes(64).unwrap());
    }
    msg
}

/// Alice and Bob in a group; the view follows from epoch 1.
fn alice_and_bob() -> (Group, Group, PublicGroup) {
    let mut alice = create("alice");
    let mut view = view_of(&alice);
    let bob_kp = key_package("bob");
    let out = alice
        .commit(
            CommitOptions {
                add: vec![bob_kp.key_package.clone()],
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    let staged = commit_of(&mut view, &out.commit).unwrap();
    assert_eq!(staged.summary.added.len(), 1);
    view.merge(staged).unwrap();
    alice.confirm_pending_commit().unwrap();
    assert_eq!(view.context(), alice.context());
    let bob = Group::join(
        &out.welcome.unwrap(),
        &bob_kp,
        &NoPsks,
        JoinOptions::default(),
    )
    .unwrap();
    (alice, bob, view)
}

#[test]
fn view_follows_adds_updates_proposals_by_reference_and_removes() {
    let (mut alice, mut bob, mut view) = alice_and_bob();
    // Bob updates with a path; the view derives the same GroupContext as Alice.
    let out = bob
        .commit(
            CommitOptions {
                force_path: true,
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    bob.confirm_pending_commit().unwrap();
    let staged = commit_of(&mut view, &out.commit).unwrap();
    assert_eq!(staged.summary.updated, vec![bob.own_leaf_index()]);
    view.merge(staged).unwrap();
    let ReceivedMessage::Commit(s) = alice.process_message(out.commit, &NoPsks).unwrap() else {
        panic!()
    };
    alice.merge_staged_commit(*s).unwrap();
    assert_eq!(view.context(), alice.context());
    // Bob proposes adding Carol; Alice commits it by reference.
    let proposal = bob
        .propose(Proposal::Add(Box::new(Add {
            key_package: key_package("carol").key_package,
        })))
        .unwrap();
    assert!(matches!(
        view.process(&proposal).unwrap(),
        PublicReceived::Proposal(_)
    ));
    alice.process_message(proposal, &NoPsks).unwrap();
    let out = alice
        .commit(
            CommitOptions {
                group_info: true,
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    alice.confirm_pending_commit().unwrap();
    let staged = commit_of(&mut view, &out.commit).unwrap();
    assert_eq!(staged.summary.added.len(), 1);
    view.merge(staged).unwrap();
    assert_eq!(view.context(), alice.context());
    assert_eq!(view.members().len(), 3);
    // The GroupInfo Alice publishes describes the view's epoch exactly.
    let MLSMessageBody::GroupInfo(gi) = out.group_info.unwrap().body else {
        panic!()
    };
    view.check_group_info(&gi).unwrap();
    // Alice removes Bob.
    let out = alice
        .commit(
            CommitOptions {
                remove: vec![bob.own_leaf_index()],
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    alice.confirm_pending_commit().unwrap();
    let staged = commit_of(&mut view, &out.commit).unwrap();
    assert_eq!(staged.summary.removed.len(), 1);
    view.merge(staged).unwrap();
    assert_eq!(view.context(), alice.context());
    assert_eq!(view.members().len(), 2);
}

#[test]
fn commit_with_a_forged_signature_is_refused() {
    let mut alice = create("alice");
    let mut view = view_of(&alice);
    let out = alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    expect_rule(
        view.process(&forge_signature(&out.commit)),
        Rule::ContentSignature,
    );
    // Nothing changed: the genuine commit still applies.
    assert_eq!(view.epoch(), 0);
    commit_of(&mut view, &out.commit).unwrap();
}

#[test]
fn proposal_with_a_forged_signature_is_refused() {
    let (_alice, mut bob, mut view) = alice_and_bob();
    let proposal = bob
        .propose(Proposal::Add(Box::new(Add {
            key_package: key_package("carol").key_package,
        })))
        .unwrap();
    expect_rule(
        view.process(&forge_signature(&proposal)),
        Rule::ContentSignature,
    );
    assert!(view.pending_proposals().is_empty());
}

#[test]
fn unresolvable_proposal_reference_is_refused() {
    let (mut alice, mut bob, mut view) = alice_and_bob();
    let proposal = bob
        .propose(Proposal::Add(Box::new(Add {
            key_package: key_package("carol").key_package,
        })))
        .unwrap();
    // Alice has the proposal, the view never saw it.
    alice.process_message(proposal, &NoPsks).unwrap();
    let out = alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    expect_rule(view.process(&out.commit), Rule::UnknownProposalRef);
}

/// A commit from `g`'s member, correctly signed; its tags are filler, which a non-member
/// cannot tell from real ones (the view checks neither).
fn signed_commit(g: &Group, commit: Commit) -> MLSMessage {
    let content = crate::framing::FramedContent {
        group_id: g.context.group_id.clone(),
        epoch: g.context.epoch,
        sender: Sender::Member(g.own_leaf),
        authenticated_data: Bytes::default(),
        content: Content::Commit(Box::new(commit)),
    };
    let auth = crate::framing::sign_content(
        &g.suite,
        &g.signer,
        crate::framing::WireFormat::PublicMessage,
        content,
        Some(&g.context),
    )
    .unwrap();
    let filler = Bytes(vec![7; g.suite.hash_len()]);
    MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(
        crate::framing::PublicMessage {
            content: auth.content,
            auth: crate::framing::FramedContentAuthData {
                signature: auth.auth.signature,
                confirmation_tag: Some(filler.clone()),
            },
            membership_tag: Some(filler),
        },
    )))
}

#[test]
fn invalid_proposal_lists_are_refused() {
    let (alice, bob, mut view) = alice_and_bob();
    let add = || {
        ProposalOrRef::Proposal(Proposal::Add(Box::new(Add {
            key_package: key_package("carol").key_package,
        })))
    };
    let remove =
        |leaf| ProposalOrRef::Proposal(Proposal::Remove(crate::messages::Remove { removed: leaf }));
    let kp = key_package("dave").key_package;
    let twice = ProposalOrRef::Proposal(Proposal::Add(Box::new(Add { key_package: kp })));
    for (proposals, rule) in [
        // §12.2: one Add per client.
        (vec![twice.clone(), twice], Rule::DuplicateAdd),
        // §12.2: the committer cannot remove itself.
        (vec![remove(alice.own_leaf_index())], Rule::CommitterRemoved),
        // §12.2: one change per leaf.
        (
            vec![remove(bob.own_leaf_index()), remove(bob.own_leaf_index())],
            Rule::DuplicateLeafChange,
        ),
        // §12.1.3: a Remove of a blank leaf.
        (vec![add(), remove(7)], Rule::RemovedLeafBlank),
        // §12.4: a Remove needs an UpdatePath.
        (vec![remove(bob.own_leaf_index())], Rule::PathRequired),
    ] {
        let msg = signed_commit(
            &alice,
            Commit {
                proposals,
                path: None,
            },
        );
        expect_rule(view.process(&msg), rule);
    }
    // A well-formed add-only commit by value passes with filler tags: the view cannot check
    // the confirmation tag (§8.1) and says so in its docs.
    let msg = signed_commit(
        &alice,
        Commit {
            proposals: vec![add()],
            path: None,
        },
    );
    let staged = commit_of(&mut view, &msg).unwrap();
    assert_eq!(staged.summary.added.len(), 1);
}

#[test]
fn external_commit_is_verified_with_the_new_leaf_key() {
    let (alice, _bob, _) = alice_and_bob();
    let mut view = view_of(&alice);
    let gi = alice.group_info().unwrap();
    let key = suite().generate_signature_key_pair().unwrap();
    let (_eve, commit) = Group::join_external(
        &gi,
        Credential::basic("eve"),
        key,
        &NoPsks,
        ExternalCommitOptions::default(),
    )
    .unwrap();
    expect_rule(
        view.process(&forge_signature(&commit)),
        Rule::ContentSignature,
    );
    let staged = commit_of(&mut view, &commit).unwrap();
    assert_eq!(staged.summary.sender, Sender::NewMemberCommit);
    assert_eq!(staged.summary.added.len(), 1);
    view.merge(staged).unwrap();
    assert_eq!(view.members().len(), 3);
}

#[test]
fn external_commit_may_remove_only_the_joiner_itself() {
    let (alice, bob, _) = alice_and_bob();
    let mut view = view_of(&alice);
    let gi = alice.group_info().unwrap();
    let key = suite().generate_signature_key_pair().unwrap();
    let (_eve, commit) = Group::join_external(
        &gi,
        Credential::basic("eve"),
        key.clone(),
        &NoPsks,
        ExternalCommitOptions::default(),
    )
    .unwrap();
    // Eve "resyncs" as Bob: she adds a Remove of Bob's leaf and signs again with her key
    // (our API refuses to build this). Her credential is not Bob's.
    let MLSMessageBody::PublicMessage(m) = &commit.body else {
        panic!()
    };
    let mut content = m.content.clone();
    if let Content::Commit(c) = &mut content.content {
        c.proposals.push(ProposalOrRef::Proposal(Proposal::Remove(
            crate::messages::Remove {
                removed: bob.own_leaf_index(),
            },
        )));
    }
    let auth = crate::framing::sign_content(
        &suite(),
        &key,
        crate::framing::WireFormat::PublicMessage,
        content,
        Some(alice.context()),
    )
    .unwrap();
    let forged = MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(
        crate::framing::PublicMessage {
            content: auth.content,
            auth: crate::framing::FramedContentAuthData {
                signature: auth.auth.signature,
                confirmation_tag: m.auth.confirmation_tag.clone(),
            },
            membership_tag: None,
        },
    )));
    expect_rule(view.process(&forged), Rule::ResyncCredentialMismatch);
}

#[test]
fn private_messages_are_unsupported_and_mismatched_group_info_is_refused() {
    let (alice, mut bob, view) = alice_and_bob();
    let mut v = view.clone();
    let app = bob.send_application(b"hi", b"").unwrap();
    assert!(matches!(v.process(&app), Err(Error::Unsupported(_))));
    // A GroupInfo of another epoch (the creator's epoch 0) does not describe epoch 1.
    let old = create("alice");
    let MLSMessageBody::GroupInfo(gi) = old.group_info().unwrap().body else {
        panic!()
    };
    expect_rule(view.check_group_info(&gi), Rule::GroupInfoMismatch);
    let MLSMessageBody::GroupInfo(gi) = alice.group_info().unwrap().body else {
        panic!()
    };
    view.check_group_info(&gi).unwrap();
    let mut forged = (*gi).clone();
    forged.signature = Bytes(suite().random_bytes(64).unwrap());
    expect_rule(view.check_group_info(&forged), Rule::GroupInfoSignature);
}

#[test]
fn view_round_trips_and_refuses_corrupted_bytes() {
    let (_alice, mut bob, mut view) = alice_and_bob();
    let proposal = bob
        .propose(Proposal::Add(Box::new(Add {
            key_package: key_package("carol").key_package,
        })))
        .unwrap();
    view.process(&proposal).unwrap();
    let bytes = view.to_bytes();
    let back = PublicGroup::from_bytes(&bytes, GroupConfig::default()).unwrap();
    assert_eq!(back.context(), view.context());
    assert_eq!(back.pending_proposals(), view.pending_proposals());
    assert_eq!(back.to_bytes(), bytes);
    let mut bad = bytes.clone();
    bad[20] ^= 1;
    assert!(matches!(
        PublicGroup::from_bytes(&bad, GroupConfig::default()),
        Err(Error::Decode(_))
    ));
    assert!(PublicGroup::from_bytes(&bytes[..bytes.len() - 1], GroupConfig::default()).is_err());
    let _ = MLSMessage::decode_exact(&proposal.to_bytes()).unwrap();
}
