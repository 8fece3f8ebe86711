//! Receipt checks that `cargo mutants` showed no test would miss (see README "Mutation
//! testing"): each test breaks one rule the RFC states for a receiver and asserts the exact
//! [`Rule`], with the rejection leaving the receiver's persisted state unchanged.

mod support;

use cohort::error::Rule;
use cohort::group::{GroupConfig, NoPsks, PublicGroup};
use cohort::messages::{ExternalInit, Proposal};
use support::*;

/// The DS's view of Bob's epoch, as the server builds it.
fn view_of(group: &cohort::group::Group) -> PublicGroup {
    let cohort::framing::MLSMessageBody::GroupInfo(gi) = group.group_info().unwrap().body else {
        panic!("not a GroupInfo")
    };
    PublicGroup::from_group_info(&gi, None, GroupConfig::default()).unwrap()
}

/// The view rejects `msg` with `rule`, and its persisted bytes are unchanged.
fn view_rejects(view: &mut PublicGroup, msg: &cohort::framing::MLSMessage, rule: Rule) {
    let before = view.to_bytes();
    match view.process(msg) {
        Err(cohort::Error::Invalid(r)) => assert_eq!(r, rule, "expected §{}", rule.section()),
        other => panic!("expected {rule:?} (§{}), got {other:?}", rule.section()),
    }
    assert!(view.to_bytes() == before, "a rejection changed the view");
}

/// §12.1.8 (and §12.1.6: ExternalInit is sent only in an external commit): a member may
/// not propose ExternalInit; a member and the DS's public view both refuse the proposal.
#[test]
fn s12_1_8_member_may_not_propose_external_init() {
    let mut t = trio();
    let mut view = view_of(&t.bob);
    let init = Proposal::ExternalInit(ExternalInit {
        kem_output: cohort::codec::Bytes(vec![1; 32]),
    });
    let msg = forge_proposal(&mut t.alice, &t.signers[0], init);
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::InvalidProposalSender);
    view_rejects(&mut view, &msg, Rule::InvalidProposalSender);
}

/// §12.4: while we have a commit pending, a different commit in our name (here an empty
/// one without path, signed with our key) is still not ours to apply.
#[test]
fn s12_4_own_name_commit_while_ours_is_pending() {
    let mut t = trio();
    t.bob
        .commit(cohort::group::CommitOptions::default(), &NoPsks)
        .unwrap();
    let signer = t.signers[1].clone();
    let msg = forge_commit(&mut t.bob, &signer, vec![], None);
    expect_rule(&mut t.bob, &msg, &NoPsks, Rule::OwnCommitMismatch);
}

/// §12.1, §12.4: each received proposal is cached once, by its ProposalRef, until the
/// epoch's commit: two different proposals are both kept, a repeat adds nothing.
#[test]
fn s12_4_received_proposals_are_cached_once_each() {
    let mut t = trio();
    let first = t.alice.propose_remove(2).unwrap();
    let second = t.alice.propose_update().unwrap();
    for (msg, count) in [(&first, 1), (&second, 2), (&first, 2)] {
        deliver(&mut t.bob, msg, &NoPsks);
        assert_eq!(t.bob.pending_proposals().len(), count);
    }
}
