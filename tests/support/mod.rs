//! Shared helpers for the group integration tests: members, a toy Delivery Service, and
//! agreement checks.
#![allow(dead_code)]

use cohort::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use cohort::framing::MLSMessage;
use cohort::group::{
    Group, GroupOptions, KeyPackageOptions, KeyPackageSecrets, PskStore, ReceivedMessage,
};
use cohort::messages::Credential;

/// The suite most tests run in.
pub const SUITE: CipherSuite = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519;

/// The suite object of [`SUITE`].
pub fn suite() -> Suite {
    Suite::new(SUITE).unwrap()
}

/// A basic credential for `name`.
pub fn cred(name: &str) -> Credential {
    Credential::basic(name.as_bytes().to_vec())
}

/// A fresh signature key of [`SUITE`].
pub fn signer() -> SignaturePrivateKey {
    suite().generate_signature_key_pair().unwrap()
}

/// A KeyPackage for `name` with a fresh signature key.
pub fn key_package(name: &str) -> KeyPackageSecrets {
    key_package_in(&suite(), name, &signer())
}

/// A KeyPackage for `name` in `suite` signed by `signer`.
pub fn key_package_in(
    suite: &Suite,
    name: &str,
    signer: &SignaturePrivateKey,
) -> KeyPackageSecrets {
    KeyPackageSecrets::generate(suite, cred(name), signer, &KeyPackageOptions::default()).unwrap()
}

/// A one-member group of `name` with `options`.
pub fn create(group_id: &[u8], name: &str, options: GroupOptions) -> Group {
    Group::create(SUITE, group_id.to_vec(), cred(name), signer(), options).unwrap()
}

/// Process `msg`, expecting success.
pub fn deliver(group: &mut Group, msg: &MLSMessage, psks: &dyn PskStore) -> ReceivedMessage {
    group
        .process_message(msg.clone(), psks)
        .unwrap_or_else(|e| panic!("member {} failed: {e}", group.own_leaf_index()))
}

/// Process a commit and merge it.
pub fn apply(group: &mut Group, msg: &MLSMessage, psks: &dyn PskStore) {
    match deliver(group, msg, psks) {
        ReceivedMessage::Commit(staged) => group.merge_staged_commit(*staged).unwrap(),
        other => panic!("expected a commit, got {other:?}"),
    }
}

/// Deliver a commit to every group in `others` and confirm it for `committer`.
pub fn fan_out(
    committer: &mut Group,
    others: &mut [&mut Group],
    msg: &MLSMessage,
    psks: &dyn PskStore,
) {
    committer.confirm_pending_commit().unwrap();
    for g in others.iter_mut() {
        apply(g, msg, psks);
    }
}

/// Deliver a proposal to every group in `others`.
pub fn propose_to(others: &mut [&mut Group], msg: &MLSMessage, psks: &dyn PskStore) {
    for g in others.iter_mut() {
        match deliver(g, msg, psks) {
            ReceivedMessage::Proposal(_) => {}
            other => panic!("expected a proposal, got {other:?}"),
        }
    }
}

/// Every group is in the same epoch with the same authenticator, exporter and members.
pub fn assert_agree(groups: &[&Group]) {
    let first = groups[0];
    for g in groups {
        assert_eq!(g.group_id(), first.group_id());
        assert_eq!(g.epoch(), first.epoch());
        assert_eq!(g.epoch_authenticator(), first.epoch_authenticator());
        assert_eq!(
            g.export_secret("test", b"ctx", 32).unwrap(),
            first.export_secret("test", b"ctx", 32).unwrap()
        );
        assert_eq!(g.context(), first.context());
        assert_eq!(g.members(), first.members());
    }
}

/// `sender` sends `text`; every group in `receivers` reads it.
pub fn chat(sender: &mut Group, receivers: &mut [&mut Group], text: &[u8], psks: &dyn PskStore) {
    let m = sender.send_application(text, b"").unwrap();
    for g in receivers.iter_mut() {
        match deliver(g, &m, psks) {
            ReceivedMessage::Application {
                data, sender: s, ..
            } => {
                assert_eq!(data, text);
                assert_eq!(s, sender.own_leaf_index());
            }
            other => panic!("expected application data, got {other:?}"),
        }
    }
}
