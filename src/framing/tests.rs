//! Codec tests for the framing structs: context-dependent fields, padding, envelopes.

use super::*;
use crate::codec::{Bytes, Decode, Encode};
use crate::error::{DecodeError, Error, Rule};
use crate::messages::tests::{
    assert_mutations_round_trip, assert_truncations_fail, fixtures, round_trip, unhex,
};
use crate::messages::{Commit, GroupContext, Proposal, ProtocolVersion, Remove};

const PUBLIC: [&str; 3] = [
    fixtures::PUBLIC_MESSAGE_APPLICATION,
    fixtures::PUBLIC_MESSAGE_PROPOSAL,
    fixtures::PUBLIC_MESSAGE_COMMIT,
];

#[test]
fn ietf_case0_messages_and_accessors() {
    let expect = [
        ContentType::Application,
        ContentType::Proposal,
        ContentType::Commit,
    ];
    for (hex, ct) in PUBLIC.iter().zip(expect) {
        let m = round_trip::<MLSMessage>(&unhex(hex));
        assert_eq!(m.wire_format(), WireFormat::PublicMessage);
        assert_eq!(m.content_type(), Some(ct));
        let MLSMessageBody::PublicMessage(p) = &m.body else {
            unreachable!()
        };
        assert_eq!(m.group_id(), Some(p.content.group_id.as_slice()));
        assert_eq!(m.epoch(), Some(p.content.epoch));
        assert!(p.membership_tag.is_some());
        assert_eq!(p.auth.confirmation_tag.is_some(), ct == ContentType::Commit);
        let ac = p.authenticated_content();
        assert_eq!(round_trip::<AuthenticatedContent>(&ac.to_bytes()), ac);
    }
    let m = round_trip::<MLSMessage>(&unhex(fixtures::PRIVATE_MESSAGE));
    let MLSMessageBody::PrivateMessage(pm) = &m.body else {
        panic!("not private")
    };
    assert_eq!(m.content_type(), Some(pm.content_type));
    assert_eq!(m.epoch(), Some(pm.epoch));
    let w = round_trip::<MLSMessage>(&unhex(fixtures::MLS_WELCOME));
    assert_eq!(
        (w.group_id(), w.epoch(), w.content_type()),
        (None, None, None)
    );
}

#[test]
fn malformed_public_and_private_messages() {
    for hex in PUBLIC.iter().chain([&fixtures::PRIVATE_MESSAGE]) {
        let bytes = unhex(hex);
        assert_truncations_fail::<MLSMessage>(&bytes);
        assert_mutations_round_trip::<MLSMessage>(&bytes);
    }
}

#[test]
fn unknown_version_and_wire_format_are_rejected() {
    let mut m = unhex(fixtures::PRIVATE_MESSAGE);
    m[1] = 2;
    assert_eq!(
        MLSMessage::decode_exact(&m),
        Err(DecodeError::UnknownValue("ProtocolVersion"))
    );
    m[1] = 1;
    for wf in [0u8, 6, 0xff] {
        m[3] = wf;
        assert_eq!(
            MLSMessage::decode_exact(&m),
            Err(DecodeError::UnknownValue("WireFormat"))
        );
    }
    // content_type 0 and 4 in a PrivateMessage (after group_id and epoch)
    let pm = PrivateMessage {
        group_id: Bytes(b"g".to_vec()),
        epoch: 1,
        content_type: ContentType::Application,
        authenticated_data: Bytes::default(),
        encrypted_sender_data: Bytes::default(),
        ciphertext: Bytes::default(),
    };
    let mut bytes = pm.to_bytes();
    assert_eq!(bytes[10], 1);
    for ct in [0u8, 4] {
        bytes[10] = ct;
        assert_eq!(
            PrivateMessage::decode_exact(&bytes),
            Err(DecodeError::UnknownValue("ContentType"))
        );
    }
    assert_eq!(
        Sender::decode_exact(&[5]),
        Err(DecodeError::UnknownValue("SenderType"))
    );
    assert_eq!(
        Sender::decode_exact(&[0]),
        Err(DecodeError::UnknownValue("SenderType"))
    );
}

fn content(sender: Sender, content: Content) -> FramedContent {
    FramedContent {
        group_id: Bytes(b"group".to_vec()),
        epoch: 3,
        sender,
        authenticated_data: Bytes(b"ad".to_vec()),
        content,
    }
}

fn remove() -> Content {
    Content::Proposal(Proposal::Remove(Remove { removed: 2 }))
}

fn empty_commit() -> Content {
    Content::Commit(Box::new(Commit {
        proposals: vec![],
        path: None,
    }))
}

fn auth(tag: Option<&[u8]>) -> FramedContentAuthData {
    FramedContentAuthData {
        signature: Bytes(vec![0x5a; 4]),
        confirmation_tag: tag.map(|t| Bytes(t.to_vec())),
    }
}

#[test]
fn non_member_senders_carry_no_membership_tag() {
    let cases = [
        (Sender::External(1), remove(), None),
        (Sender::NewMemberProposal, remove(), None),
        (Sender::NewMemberCommit, empty_commit(), Some(&b"tag"[..])),
    ];
    for (sender, body, tag) in cases {
        let ac =
            AuthenticatedContent::new(WireFormat::PublicMessage, content(sender, body), auth(tag))
                .unwrap();
        let pm = PublicMessage::new(ac.clone(), None).unwrap();
        let msg = MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(pm)));
        let bytes = msg.to_bytes();
        assert_eq!(round_trip::<MLSMessage>(&bytes), msg);
        assert_truncations_fail::<MLSMessage>(&bytes);
        assert!(PublicMessage::new(ac, Some(Bytes(vec![1]))).is_err());
    }
    let member = AuthenticatedContent::new(
        WireFormat::PublicMessage,
        content(Sender::Member(0), remove()),
        auth(None),
    )
    .unwrap();
    assert!(matches!(
        PublicMessage::new(member, None),
        Err(Error::Misuse(_))
    ));
}

#[test]
fn confirmation_tag_is_present_exactly_for_commits() {
    let c = content(Sender::Member(0), empty_commit());
    assert!(AuthenticatedContent::new(WireFormat::PrivateMessage, c.clone(), auth(None)).is_err());
    let p = content(Sender::Member(0), remove());
    assert!(AuthenticatedContent::new(WireFormat::PrivateMessage, p, auth(Some(b"t"))).is_err());
    let ac = AuthenticatedContent::new(WireFormat::PrivateMessage, c, auth(Some(b"t"))).unwrap();
    assert_eq!(round_trip::<AuthenticatedContent>(&ac.to_bytes()), ac);
    assert_eq!(ac.interim_transcript_hash_input(), Some(vec![1, b't']));
    let mut expected = vec![0, 2];
    ac.content.encode(&mut expected);
    ac.auth.signature.encode(&mut expected);
    assert_eq!(ac.confirmed_transcript_hash_input(), expected);
}

fn group_context() -> GroupContext {
    GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: crate::crypto::CipherSuite(1),
        group_id: Bytes(b"group".to_vec()),
        epoch: 3,
        tree_hash: Bytes(vec![1; 32]),
        confirmed_transcript_hash: Bytes(vec![2; 32]),
        extensions: Default::default(),
    }
}

#[test]
fn framed_content_tbs_covers_the_context_only_for_members() {
    let ctx = group_context();
    let member = content(Sender::Member(4), remove());
    let tbs = member
        .tbs_bytes(WireFormat::PublicMessage, Some(&ctx))
        .unwrap();
    let mut expected = vec![0, 1, 0, 1];
    member.encode(&mut expected);
    ctx.encode(&mut expected);
    assert_eq!(tbs, expected);
    assert!(matches!(
        member.tbs_bytes(WireFormat::PublicMessage, None),
        Err(Error::Misuse(_))
    ));

    let external = content(Sender::External(0), remove());
    let tbs = external.tbs_bytes(WireFormat::PublicMessage, None).unwrap();
    assert_eq!(tbs[..4], [0, 1, 0, 1]);
    assert_eq!(tbs[4..], external.to_bytes()[..]);
    assert!(external
        .tbs_bytes(WireFormat::PublicMessage, Some(&ctx))
        .is_err());

    let ac = AuthenticatedContent::new(WireFormat::PublicMessage, member, auth(None)).unwrap();
    let mut tbm = ac.tbs_bytes(Some(&ctx)).unwrap();
    ac.auth.encode(&mut tbm);
    assert_eq!(ac.tbm_bytes(Some(&ctx)).unwrap(), tbm);
}

#[test]
fn private_message_content_padding() {
    let pmc = PrivateMessageContent {
        content: empty_commit(),
        auth: auth(Some(b"tag")),
        padding: 10,
    };
    let bytes = pmc.to_bytes();
    assert_eq!(bytes[bytes.len() - 10..], [0; 10]);
    let back = PrivateMessageContent::decode_plaintext(&bytes, ContentType::Commit).unwrap();
    assert_eq!(back, pmc);
    assert_eq!(back.to_bytes(), bytes);

    for i in bytes.len() - 10..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] = 1;
        assert_eq!(
            PrivateMessageContent::decode_plaintext(&bad, ContentType::Commit),
            Err(Error::Invalid(Rule::NonZeroPadding))
        );
    }
    // Without padding, truncation is an ordinary decode error.
    let unpadded = PrivateMessageContent { padding: 0, ..pmc };
    let bytes = unpadded.to_bytes();
    for len in 0..bytes.len() {
        assert!(matches!(
            PrivateMessageContent::decode_plaintext(&bytes[..len], ContentType::Commit),
            Err(Error::Decode(_))
        ));
    }
    // Application content: no confirmation tag, padding still checked.
    let app = PrivateMessageContent {
        content: Content::Application(Bytes(b"hi".to_vec())),
        auth: auth(None),
        padding: 3,
    };
    let mut bytes = app.to_bytes();
    let back = PrivateMessageContent::decode_plaintext(&bytes, ContentType::Application);
    assert_eq!(back.unwrap(), app);
    *bytes.last_mut().unwrap() = 0x80;
    assert_eq!(
        PrivateMessageContent::decode_plaintext(&bytes, ContentType::Application),
        Err(Error::Invalid(Rule::NonZeroPadding))
    );
}

#[test]
fn sender_data_and_aads() {
    let sd = SenderData {
        leaf_index: 3,
        generation: 0x0102_0304,
        reuse_guard: [9, 8, 7, 6],
    };
    assert_eq!(sd.to_bytes(), [0, 0, 0, 3, 1, 2, 3, 4, 9, 8, 7, 6]);
    assert_eq!(round_trip::<SenderData>(&sd.to_bytes()), sd);
    let m = MLSMessage::decode_exact(&unhex(fixtures::PRIVATE_MESSAGE)).unwrap();
    let MLSMessageBody::PrivateMessage(pm) = m.body else {
        panic!("not private")
    };
    let aad = pm.content_aad().to_bytes();
    assert!(aad.starts_with(&pm.sender_data_aad().to_bytes()));
    assert!(aad.ends_with(&pm.authenticated_data.to_bytes()));
}
