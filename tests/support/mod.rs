//! Shared helpers for the group integration tests: members, a toy Delivery Service, and
//! agreement checks.
#![allow(dead_code)]

use cohort::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use cohort::framing::MLSMessage;
use cohort::group::{
    CommitOptions, Group, GroupConfig, GroupOptions, JoinOptions, KeyPackageOptions,
    KeyPackageSecrets, NoPsks, PskStore, ReceivedMessage,
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

/// A fresh group `group_id` in [`SUITE`], every member with `config`: `names[0]` creates it
/// and adds all the others (at least one) in one commit, confirmed; they join from its
/// Welcome. The members in leaf order, with their signature keys.
pub fn members<const N: usize>(
    group_id: &[u8],
    names: [&str; N],
    config: GroupConfig,
) -> ([Group; N], [SignaturePrivateKey; N]) {
    let signers = names.map(|_| signer());
    let options = GroupOptions {
        config: config.clone(),
        ..Default::default()
    };
    let (creator, signer0) = (cred(names[0]), signers[0].clone());
    let mut first = Group::create(SUITE, group_id.to_vec(), creator, signer0, options).unwrap();
    let kps = names.iter().zip(&signers).skip(1);
    let kps: Vec<_> = kps.map(|(n, s)| key_package_in(&suite(), n, s)).collect();
    let out = first.commit(adding(&kps), &NoPsks).unwrap();
    first.confirm_pending_commit().unwrap();
    let welcome = out.welcome.expect("a Welcome for the new members");
    let join = |kp| {
        let config = config.clone();
        let options = JoinOptions {
            config,
            ..Default::default()
        };
        Group::join(&welcome, kp, &NoPsks, options).unwrap()
    };
    let groups: Vec<_> = std::iter::once(first).chain(kps.iter().map(join)).collect();
    let groups = groups
        .try_into()
        .unwrap_or_else(|_| unreachable!("one group per name"));
    (groups, signers)
}

/// Alice, Bob and Carol (leaves 0, 1, 2) in a fresh group `group_id`, default config.
pub fn three(group_id: &[u8]) -> [Group; 3] {
    members(group_id, ["alice", "bob", "carol"], GroupConfig::default()).0
}

/// Commit options that add the KeyPackages of `kps`.
pub fn adding<'a>(kps: impl IntoIterator<Item = &'a KeyPackageSecrets>) -> CommitOptions {
    CommitOptions {
        add: kps.into_iter().map(|kp| kp.key_package.clone()).collect(),
        ..Default::default()
    }
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

// ---- Forging messages the API would refuse to build (negative tests) ----

use cohort::codec::Bytes;
use cohort::error::{Error, Rule};
use cohort::framing::{
    protect_public, sign_content, AuthenticatedContent, Content, FramedContent, MLSMessageBody,
    PublicMessage, Sender, WireFormat,
};
use cohort::messages::{Commit, Proposal, ProposalOrRef, UpdatePath};

/// Three members with known signers; Alice is leaf 0, Bob 1, Carol 2.
pub struct Trio {
    pub alice: Group,
    pub bob: Group,
    pub carol: Group,
    pub signers: [SignaturePrivateKey; 3],
}

/// A trio in a fresh group, all with `config`.
pub fn trio_with(config: GroupConfig) -> Trio {
    let ([alice, bob, carol], signers) = members(b"negative", ["alice", "bob", "carol"], config);
    Trio {
        alice,
        bob,
        carol,
        signers,
    }
}

/// A trio with the default config.
pub fn trio() -> Trio {
    trio_with(GroupConfig::default())
}

/// Proposals by value.
pub fn by_value(proposals: Vec<Proposal>) -> Vec<ProposalOrRef> {
    proposals.into_iter().map(ProposalOrRef::Proposal).collect()
}

/// A commit from `group`'s member, signed by `signer`, with a placeholder confirmation
/// tag, protected with the epoch's membership key: valid framing around any content.
pub fn forge_commit(
    group: &mut Group,
    signer: &SignaturePrivateKey,
    proposals: Vec<ProposalOrRef>,
    path: Option<UpdatePath>,
) -> MLSMessage {
    let framed = FramedContent {
        group_id: Bytes(group.group_id().to_vec()),
        epoch: group.epoch(),
        sender: Sender::Member(group.own_leaf_index()),
        authenticated_data: Bytes::default(),
        content: Content::Commit(Box::new(Commit { proposals, path })),
    };
    let mut auth = sign_content(
        &group.suite(),
        signer,
        WireFormat::PublicMessage,
        framed,
        Some(group.context()),
    )
    .unwrap();
    auth.auth.confirmation_tag = Some(Bytes(vec![0; group.suite().hash_len()]));
    group.protect_unchecked(auth).unwrap()
}

/// A proposal from `group`'s member, signed by `signer` and protected as a PublicMessage,
/// with no validation of its content: for proposals a correct client would refuse to send.
pub fn forge_proposal(
    group: &mut Group,
    signer: &SignaturePrivateKey,
    proposal: Proposal,
) -> MLSMessage {
    let framed = FramedContent {
        group_id: Bytes(group.group_id().to_vec()),
        epoch: group.epoch(),
        sender: Sender::Member(group.own_leaf_index()),
        authenticated_data: Bytes::default(),
        content: Content::Proposal(proposal),
    };
    let auth = sign_content(
        &group.suite(),
        signer,
        WireFormat::PublicMessage,
        framed,
        Some(group.context()),
    )
    .unwrap();
    group.protect_unchecked(auth).unwrap()
}

/// A member's PublicMessage with its content changed by `edit`, re-signed with `signer`
/// and re-protected by `group` (the sender's state in the message's epoch).
pub fn resign(
    group: &mut Group,
    signer: &SignaturePrivateKey,
    msg: &MLSMessage,
    edit: impl FnOnce(&mut FramedContent),
) -> MLSMessage {
    let MLSMessageBody::PublicMessage(pm) = &msg.body else {
        panic!("not a PublicMessage")
    };
    let mut content = pm.content.clone();
    edit(&mut content);
    let mut auth = sign_content(
        &group.suite(),
        signer,
        WireFormat::PublicMessage,
        content,
        Some(group.context()),
    )
    .unwrap();
    auth.auth.confirmation_tag = pm.auth.confirmation_tag.clone();
    group.protect_unchecked(auth).unwrap()
}

/// An external or new-member PublicMessage with `content`, signed by `signer` over
/// `context` when the sender signs it (§6.1); no membership tag.
pub fn forge_external(
    suite: &Suite,
    signer: &SignaturePrivateKey,
    content: FramedContent,
    context: Option<&cohort::messages::GroupContext>,
    confirmation_tag: Option<Bytes>,
) -> MLSMessage {
    let tbs = content
        .tbs_bytes(WireFormat::PublicMessage, context)
        .unwrap();
    let signature = suite
        .sign_with_label(signer, "FramedContentTBS", &tbs)
        .unwrap();
    let auth = AuthenticatedContent {
        wire_format: WireFormat::PublicMessage,
        content,
        auth: cohort::framing::FramedContentAuthData {
            signature: Bytes(signature),
            confirmation_tag,
        },
    };
    let pm = match protect_public(suite, auth.clone(), None, None) {
        Ok(pm) => pm,
        // Content the sender rules forbid: build the message without them.
        Err(_) => PublicMessage {
            content: auth.content,
            auth: auth.auth,
            membership_tag: None,
        },
    };
    MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(pm)))
}

/// What a rejection must look like: an exact error, or any error a predicate accepts.
pub enum Expected {
    /// Exactly this error.
    Is(Error),
    /// Any error this predicate accepts (named for the failure message).
    Matches(&'static str, fn(&Error) -> bool),
}

impl Expected {
    fn check(&self, e: &Error) {
        match self {
            Expected::Is(want) => assert_eq!(e, want, "expected {want:?}{}", section(want)),
            Expected::Matches(what, ok) => assert!(ok(e), "expected {what}, got {e:?}"),
        }
    }
}

impl From<Rule> for Expected {
    fn from(rule: Rule) -> Self {
        Expected::Is(Error::Invalid(rule))
    }
}

impl From<Error> for Expected {
    fn from(e: Error) -> Self {
        Expected::Is(e)
    }
}

fn section(e: &Error) -> String {
    match e {
        Error::Invalid(rule) => format!(" (§{})", rule.section()),
        _ => String::new(),
    }
}

/// Run `call` on `group`, which must fail as `expected`, and check that the rejection
/// changed nothing: the persisted state (`to_bytes`) is byte-identical before and after.
/// Every negative test goes through this, so a receipt check that fails after mutating
/// the group (a half-applied message) fails its test.
pub fn assert_rejected_unchanged<T: std::fmt::Debug>(
    group: &mut Group,
    expected: impl Into<Expected>,
    call: impl FnOnce(&mut Group) -> cohort::error::Result<T>,
) -> Error {
    let before = group.to_bytes();
    let (epoch, pending) = (group.epoch(), group.pending_proposals().len());
    let err = match call(group) {
        Err(e) => e,
        Ok(r) => panic!("expected a rejection, got {r:?}"),
    };
    expected.into().check(&err);
    assert_eq!(group.epoch(), epoch, "a rejection changed the epoch");
    assert_eq!(group.pending_proposals().len(), pending);
    assert!(
        *before == *group.to_bytes(),
        "a rejection ({err:?}) changed the persisted state"
    );
    err
}

/// A call that builds a group from untrusted input (join, external join, restore) fails
/// as `expected`, and the groups it reads (a resumed group) are byte-identical after.
pub fn assert_join_rejected<T: std::fmt::Debug>(
    reads: &[&Group],
    expected: impl Into<Expected>,
    call: impl FnOnce() -> cohort::error::Result<T>,
) -> Error {
    let before: Vec<_> = reads.iter().map(|g| g.to_bytes()).collect();
    let err = match call() {
        Err(e) => e,
        Ok(r) => panic!("expected a rejection, got {r:?}"),
    };
    expected.into().check(&err);
    for (g, b) in reads.iter().zip(before) {
        assert!(
            *b == *g.to_bytes(),
            "a rejected join changed a group it read"
        );
    }
    err
}

/// Processing `msg` fails with exactly `rule` and leaves `group` unchanged.
pub fn expect_rule(group: &mut Group, msg: &MLSMessage, psks: &dyn PskStore, rule: Rule) {
    assert_rejected_unchanged(group, rule, |g| g.process_message(msg.clone(), psks));
}
