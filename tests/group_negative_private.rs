//! Receipt rules of PrivateMessages (RFC 9420 §6.3, §9.1, §9.2) as a group sees them: each
//! rejected message must leave the receiver's state byte-identical, secret tree included,
//! so that a forged or tampered copy can neither burn the genuine message's key nor move
//! a sender's ratchet.

mod support;

use cohort::codec::Bytes;
use cohort::error::Rule;
use cohort::framing::{sign_content, Content, FramedContent, MLSMessageBody, Sender, WireFormat};
use cohort::group::{CommitOptions, GroupConfig, HandshakeFormat, NoPsks, ReceivedMessage};
use cohort::messages::{Proposal, Remove};
use cohort::schedule::SecretTreeConfig;
use support::*;

fn private_handshakes() -> GroupConfig {
    GroupConfig {
        handshake_format: HandshakeFormat::Private,
        ..Default::default()
    }
}

/// §6.3.1: a copy whose ciphertext tail was altered in transit keeps valid sender data
/// (its key is sampled from the ciphertext's head) but fails content decryption; the
/// genuine message still decrypts afterwards.
#[test]
fn s6_3_tampered_ciphertext_changes_nothing() {
    let mut t = trio();
    let genuine = t.alice.send_application(b"hello", b"").unwrap();
    let mut tampered = genuine.clone();
    let MLSMessageBody::PrivateMessage(pm) = &mut tampered.body else {
        panic!("application data is a PrivateMessage")
    };
    let last = pm.ciphertext.0.len() - 1;
    pm.ciphertext.0[last] ^= 1;
    expect_rule(&mut t.bob, &tampered, &NoPsks, Rule::ContentDecryption);
    match deliver(&mut t.bob, &genuine, &NoPsks) {
        ReceivedMessage::Application { data, .. } => assert_eq!(data, b"hello"),
        other => panic!("expected application data, got {other:?}"),
    }
}

/// §6.3.2, §6.1: Carol encrypts content under Alice's leaf (every member can derive every
/// sender's keys) but cannot sign as Alice: the signature check fails after decryption,
/// and Alice's key for that generation must survive for her genuine message.
#[test]
fn s6_1_private_message_signed_by_another_member() {
    let mut t = trio();
    let framed = FramedContent {
        group_id: Bytes(t.carol.group_id().to_vec()),
        epoch: t.carol.epoch(),
        sender: Sender::Member(0),
        authenticated_data: Bytes::default(),
        content: Content::Application(Bytes(b"forged".to_vec())),
    };
    let auth = sign_content(
        &suite(),
        &t.signers[2],
        WireFormat::PrivateMessage,
        framed,
        Some(t.carol.context()),
    )
    .unwrap();
    let forged = t.carol.protect_unchecked(auth).unwrap();
    expect_rule(&mut t.bob, &forged, &NoPsks, Rule::ContentSignature);
    // Alice's first message uses the same generation (0) and still decrypts.
    chat(&mut t.alice, &mut [&mut t.bob], b"genuine", &NoPsks);
}

/// §12.4.2: a private commit that decrypts and verifies but fails staging (a forged
/// confirmation tag) leaves the handshake key unconsumed and the state unchanged.
#[test]
fn s12_4_2_private_commit_rejected_after_decryption() {
    let mut t = trio_with(private_handshakes());
    let framed = FramedContent {
        group_id: Bytes(t.alice.group_id().to_vec()),
        epoch: t.alice.epoch(),
        sender: Sender::Member(0),
        authenticated_data: Bytes::default(),
        content: Content::Commit(Box::new(cohort::messages::Commit {
            proposals: by_value(vec![Proposal::Remove(Remove { removed: 2 })]),
            path: None,
        })),
    };
    let mut auth = sign_content(
        &suite(),
        &t.signers[0],
        WireFormat::PrivateMessage,
        framed,
        Some(t.alice.context()),
    )
    .unwrap();
    auth.auth.confirmation_tag = Some(Bytes(vec![0; suite().hash_len()]));
    let forged = t.alice.protect_unchecked(auth).unwrap();
    assert!(matches!(forged.body, MLSMessageBody::PrivateMessage(_)));
    expect_rule(&mut t.bob, &forged, &NoPsks, Rule::PathRequired);
}

/// §15.3: a handshake message from a kept past epoch is refused, and refusing it must not
/// consume that epoch's key (late application data of that epoch still decrypts).
#[test]
fn s15_3_past_epoch_handshake_changes_nothing() {
    let mut t = trio_with(private_handshakes());
    let late = t.carol.propose_update().unwrap();
    let late_app = t.alice.send_application(b"late", b"").unwrap();
    let out = t.alice.commit(CommitOptions::default(), &NoPsks).unwrap();
    fan_out(&mut t.alice, &mut [&mut t.bob], &out.commit, &NoPsks);
    expect_rule(&mut t.bob, &late, &NoPsks, Rule::WrongGroupOrEpoch);
    match deliver(&mut t.bob, &late_app, &NoPsks) {
        ReceivedMessage::Application { data, epoch, .. } => {
            assert_eq!(data, b"late");
            assert_eq!(epoch, 1);
        }
        other => panic!("expected application data, got {other:?}"),
    }
}

/// §9.1: a generation past the forward window is refused before any ratchet moves, even
/// for a sender this receiver has never heard from.
#[test]
fn s9_1_generation_too_far_changes_nothing() {
    let config = GroupConfig {
        secret_tree: SecretTreeConfig {
            max_forward_distance: 4,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut t = trio_with(config);
    let mut msgs: Vec<_> = (0..6)
        .map(|i| t.alice.send_application(&[i], b"").unwrap())
        .collect();
    let too_far = msgs.pop().unwrap();
    expect_rule(&mut t.bob, &too_far, &NoPsks, Rule::GenerationTooFar);
    // Within the window, out of order, each once.
    for m in msgs.iter().rev() {
        deliver(&mut t.bob, m, &NoPsks);
    }
    expect_rule(&mut t.bob, &msgs[0], &NoPsks, Rule::GenerationConsumed);
}

/// The helper itself: a call that changes the group and then fails is caught.
#[test]
#[should_panic(expected = "changed the persisted state")]
fn the_helper_sees_a_change_before_an_error() {
    let mut t = trio();
    assert_rejected_unchanged(&mut t.bob, Rule::ContentSignature, |g| {
        g.send_application(b"moves the ratchet", b"")?;
        Err::<(), _>(cohort::error::Error::Invalid(Rule::ContentSignature))
    });
}
