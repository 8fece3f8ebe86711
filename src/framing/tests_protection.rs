//! Protection tests (RFC 9420 §6.1–§6.3): round trips for every suite and one negative test
//! per receipt check, each asserting the typed error and naming its section.

use super::private::protect_private_with_guard;
use super::*;
use crate::codec::{Bytes, Decode, Encode};
use crate::crypto::{CipherSuite, Secret, SignaturePrivateKey, Suite};
use crate::error::{Error, Rule};
use crate::messages::tests::{fixtures, unhex};
use crate::messages::{
    Add, Commit, Credential, Extension, ExtensionType, Extensions, ExternalSender, GroupContext,
    Proposal, ProtocolVersion, Remove, Update,
};
use crate::schedule::secret_tree::sender_data_key_nonce;
use crate::schedule::{RatchetKind, SecretTree, SecretTreeConfig};

const N_LEAVES: u32 = 4;
const SENDER: u32 = 1;

/// One epoch of a group as both sender and receiver see it.
struct Epoch {
    suite: Suite,
    signer: SignaturePrivateKey,
    context: GroupContext,
    membership_key: Secret,
    sender_data_secret: Secret,
    encryption_secret: Secret,
}

impl Epoch {
    fn new(suite_id: u16) -> Self {
        let suite = Suite::new(CipherSuite(suite_id)).unwrap();
        Epoch {
            signer: suite.generate_signature_key_pair().unwrap(),
            context: GroupContext {
                version: ProtocolVersion::MLS10,
                cipher_suite: CipherSuite(suite_id),
                group_id: Bytes(b"group".to_vec()),
                epoch: 7,
                tree_hash: Bytes(vec![1; suite.hash_len()]),
                confirmed_transcript_hash: Bytes(vec![2; suite.hash_len()]),
                extensions: Extensions::new(),
            },
            membership_key: suite.random_secret().unwrap(),
            sender_data_secret: suite.random_secret().unwrap(),
            encryption_secret: suite.random_secret().unwrap(),
            suite,
        }
    }

    fn tree(&self) -> SecretTree {
        SecretTree::new(
            self.suite,
            self.encryption_secret.clone(),
            N_LEAVES,
            SecretTreeConfig::default(),
        )
    }

    /// Signature keys by leaf: only `SENDER` is occupied.
    fn member_key<'a>(&'a self) -> impl FnOnce(u32) -> Option<&'a [u8]> + 'a {
        move |leaf| (leaf == SENDER).then_some(self.signer.public_key())
    }

    fn framed(&self, sender: Sender, content: Content) -> FramedContent {
        FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender,
            authenticated_data: Bytes(b"aad".to_vec()),
            content,
        }
    }

    /// Signed member content, with a confirmation tag if it is a commit.
    fn signed(&self, wire_format: WireFormat, content: Content) -> AuthenticatedContent {
        let mut ac = sign_content(
            &self.suite,
            &self.signer,
            wire_format,
            self.framed(Sender::Member(SENDER), content),
            Some(&self.context),
        )
        .unwrap();
        if ac.content.content_type() == ContentType::Commit {
            ac.auth.confirmation_tag = Some(Bytes(vec![9; self.suite.hash_len()]));
        }
        ac
    }

    fn public(&self, content: Content) -> PublicMessage {
        let ac = self.signed(WireFormat::PublicMessage, content);
        protect_public(
            &self.suite,
            ac,
            Some(&self.context),
            Some(&self.membership_key),
        )
        .unwrap()
    }

    fn unprotect_public(&self, m: PublicMessage) -> crate::Result<VerifiedContent> {
        unprotect_public(
            &self.suite,
            m,
            &self.context,
            &self.membership_key,
            self.member_key(),
        )
    }

    fn private(&self, content: Content, tree: &mut SecretTree) -> PrivateMessage {
        let ac = self.signed(WireFormat::PrivateMessage, content);
        protect_private(
            &self.suite,
            &ac,
            &self.sender_data_secret,
            tree,
            Padding::None,
        )
        .unwrap()
    }

    fn unprotect_private(
        &self,
        m: &PrivateMessage,
        tree: &mut SecretTree,
    ) -> crate::Result<VerifiedContent> {
        unprotect_private(
            &self.suite,
            m,
            &self.context,
            &self.sender_data_secret,
            tree,
            self.member_key(),
        )
    }

    /// Encrypt hand-made sender data and plaintext, to reach checks that honest senders
    /// never trip. The content key is taken from `sender_tree` for `key_generation`.
    fn craft_private(
        &self,
        sender_tree: &mut SecretTree,
        sender_data: SenderData,
        content_type: ContentType,
        plaintext: &[u8],
    ) -> PrivateMessage {
        let s = &self.suite;
        let kind = match content_type {
            ContentType::Application => RatchetKind::Application,
            _ => RatchetKind::Handshake,
        };
        let kn = sender_tree.next_sending_key(SENDER, kind).unwrap();
        let mut nonce = kn.nonce.as_bytes().to_vec();
        for (n, g) in nonce.iter_mut().zip(sender_data.reuse_guard) {
            *n ^= g;
        }
        let mut m = PrivateMessage {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            content_type,
            authenticated_data: Bytes(b"aad".to_vec()),
            encrypted_sender_data: Bytes(vec![]),
            ciphertext: Bytes(vec![]),
        };
        m.ciphertext = Bytes(
            s.aead_seal(
                kn.key.as_bytes(),
                &nonce,
                &m.content_aad().to_bytes(),
                plaintext,
            )
            .unwrap(),
        );
        let (k, n) = sender_data_key_nonce(s, &self.sender_data_secret, &m.ciphertext).unwrap();
        m.encrypted_sender_data = Bytes(
            s.aead_seal(
                k.as_bytes(),
                n.as_bytes(),
                &m.sender_data_aad().to_bytes(),
                &sender_data.to_bytes(),
            )
            .unwrap(),
        );
        m
    }
}

fn app(len: usize) -> Content {
    Content::Application(Bytes(vec![0x5a; len]))
}

fn proposal() -> Content {
    Content::Proposal(Proposal::Remove(Remove { removed: 2 }))
}

fn commit() -> Content {
    Content::Commit(Box::new(Commit {
        proposals: vec![],
        path: None,
    }))
}

fn invalid(rule: Rule) -> Error {
    Error::Invalid(rule)
}

const ALL_SUITES: [u16; 7] = [1, 2, 3, 4, 5, 6, 7];

#[test]
fn public_round_trip_every_suite() {
    for id in ALL_SUITES {
        let e = Epoch::new(id);
        for content in [proposal(), commit()] {
            let m = e.public(content.clone());
            let wire = MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(m)));
            let MLSMessageBody::PublicMessage(m) =
                MLSMessage::decode_exact(&wire.to_bytes()).unwrap().body
            else {
                unreachable!()
            };
            let v = e.unprotect_public(*m).unwrap();
            assert_eq!(v.framed_content().content, content, "suite {id}");
            assert_eq!(v.sender(), Sender::Member(SENDER));
            assert_eq!(v.wire_format(), WireFormat::PublicMessage);
        }
    }
}

#[test]
fn private_round_trip_every_suite_and_content_type() {
    for id in ALL_SUITES {
        let e = Epoch::new(id);
        let (mut tx, mut rx) = (e.tree(), e.tree());
        for content in [app(1024), proposal(), commit(), app(0)] {
            let m = e.private(content.clone(), &mut tx);
            let m = PrivateMessage::decode_exact(&m.to_bytes()).unwrap();
            let v = e.unprotect_private(&m, &mut rx).unwrap();
            assert_eq!(v.framed_content().content, content, "suite {id}");
            assert_eq!(v.framed_content().authenticated_data.as_slice(), b"aad");
            assert_eq!(v.sender(), Sender::Member(SENDER));
            assert_eq!(v.wire_format(), WireFormat::PrivateMessage);
        }
    }
}

#[test]
fn private_messages_decrypt_out_of_order() {
    let e = Epoch::new(1);
    let (mut tx, mut rx) = (e.tree(), e.tree());
    let msgs: Vec<_> = (0..5).map(|_| e.private(app(10), &mut tx)).collect();
    for i in [3, 0, 4, 1, 2] {
        e.unprotect_private(&msgs[i], &mut rx).unwrap();
    }
}

#[test]
fn padding_policy() {
    assert_eq!(Padding::None.padding_len(100), 0);
    assert_eq!(Padding::ToMultipleOf(0).padding_len(100), 0);
    assert_eq!(Padding::ToMultipleOf(1).padding_len(100), 0);
    assert_eq!(Padding::ToMultipleOf(64).padding_len(100), 28);
    assert_eq!(Padding::ToMultipleOf(64).padding_len(128), 0);
    assert_eq!(
        Padding::ToMultipleOf(u32::MAX).padding_len(1),
        u32::MAX as usize - 1
    );

    let e = Epoch::new(1);
    let (mut tx, mut rx) = (e.tree(), e.tree());
    for len in [0, 1, 100, 1000] {
        let ac = e.signed(WireFormat::PrivateMessage, app(len));
        let m = protect_private(
            &e.suite,
            &ac,
            &e.sender_data_secret,
            &mut tx,
            Padding::ToMultipleOf(256),
        )
        .unwrap();
        // AES-128-GCM: the ciphertext is the padded plaintext plus a 16-byte tag.
        assert_eq!((m.ciphertext.len() - 16) % 256, 0, "len {len}");
        let v = e.unprotect_private(&m, &mut rx).unwrap();
        assert_eq!(v.framed_content().content, app(len));
    }
    // Padding past what an `opaque<V>` ciphertext can carry is refused before anything is
    // allocated or a generation is spent.
    let ac = e.signed(WireFormat::PrivateMessage, app(1));
    let err = protect_private(
        &e.suite,
        &ac,
        &e.sender_data_secret,
        &mut tx,
        Padding::ToMultipleOf(u32::MAX),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Misuse(_)), "{err:?}");
    let m = e.private(app(1), &mut tx);
    e.unprotect_private(&m, &mut rx).unwrap();
}

#[test]
fn reuse_guard_is_xored_into_the_nonce() {
    // §6.3.1: two messages built from the same generation with different guards must
    // differ, and each must decrypt with its own guard.
    let e = Epoch::new(1);
    let ac = e.signed(WireFormat::PrivateMessage, app(16));
    let seal = |guard| {
        let mut tx = e.tree();
        protect_private_with_guard(
            &e.suite,
            &ac,
            &e.sender_data_secret,
            &mut tx,
            Padding::None,
            guard,
        )
        .unwrap()
    };
    let (a, b) = (seal([0; 4]), seal([1, 2, 3, 4]));
    assert_ne!(a.ciphertext, b.ciphertext);
    e.unprotect_private(&a, &mut e.tree()).unwrap();
    e.unprotect_private(&b, &mut e.tree()).unwrap();
}

// §6.1: a signature that does not verify over FramedContentTBS.
#[test]
fn tampered_signature_is_rejected() {
    let e = Epoch::new(1);
    let mut ac = e.signed(WireFormat::PublicMessage, proposal());
    ac.auth.signature.0[0] ^= 1;
    let m = protect_public(&e.suite, ac, Some(&e.context), Some(&e.membership_key)).unwrap();
    assert_eq!(
        e.unprotect_public(m).unwrap_err(),
        invalid(Rule::ContentSignature)
    );

    let mut ac = e.signed(WireFormat::PrivateMessage, app(8));
    ac.auth.signature.0[3] ^= 0x80;
    let m = protect_private(
        &e.suite,
        &ac,
        &e.sender_data_secret,
        &mut e.tree(),
        Padding::None,
    )
    .unwrap();
    assert_eq!(
        e.unprotect_private(&m, &mut e.tree()).unwrap_err(),
        invalid(Rule::ContentSignature)
    );
}

// §6.1: the signature covers the wire format, so content signed for one format cannot be
// replayed in the other.
#[test]
fn signature_binds_wire_format() {
    let e = Epoch::new(1);
    let mut ac = e.signed(WireFormat::PublicMessage, proposal());
    ac.wire_format = WireFormat::PrivateMessage;
    let m = protect_private(
        &e.suite,
        &ac,
        &e.sender_data_secret,
        &mut e.tree(),
        Padding::None,
    )
    .unwrap();
    assert_eq!(
        e.unprotect_private(&m, &mut e.tree()).unwrap_err(),
        invalid(Rule::ContentSignature)
    );
}

// §6.2: the membership tag must be the MAC of AuthenticatedContentTBM, compared in constant
// time; empty, truncated, over-long and wrong tags are all rejected.
#[test]
fn membership_tag_mutations_are_rejected() {
    let e = Epoch::new(1);
    let good = e.public(proposal());
    let tag = good.membership_tag.clone().unwrap();
    let mut flipped = tag.0.clone();
    flipped[5] ^= 1;
    let mut longer = tag.0.clone();
    longer.push(0);
    for bad in [
        vec![],
        tag.0[..tag.len() - 1].to_vec(),
        longer,
        flipped,
        vec![0; tag.len()],
    ] {
        let mut m = good.clone();
        m.membership_tag = Some(Bytes(bad));
        assert_eq!(
            e.unprotect_public(m).unwrap_err(),
            invalid(Rule::MembershipTag)
        );
    }
    // A member's message without a tag at all (only constructible by hand).
    let mut m = good.clone();
    m.membership_tag = None;
    assert_eq!(
        e.unprotect_public(m).unwrap_err(),
        invalid(Rule::MembershipTag)
    );
    // The tag is keyed: a different membership key fails too.
    let other_key = e.suite.random_secret().unwrap();
    assert_eq!(
        unprotect_public(&e.suite, good, &e.context, &other_key, e.member_key()).unwrap_err(),
        invalid(Rule::MembershipTag)
    );
}

// §6, §12.4.2: group id and epoch must match the group context.
#[test]
fn wrong_group_or_epoch_is_rejected() {
    let e = Epoch::new(1);
    let public = e.public(proposal());
    let private = e.private(app(4), &mut e.tree());

    let mut m = public.clone();
    m.content.group_id = Bytes(b"other".to_vec());
    assert_eq!(
        e.unprotect_public(m).unwrap_err(),
        invalid(Rule::WrongGroupOrEpoch)
    );
    let mut m = public;
    m.content.epoch += 1;
    assert_eq!(
        e.unprotect_public(m).unwrap_err(),
        invalid(Rule::WrongGroupOrEpoch)
    );

    let mut m = private.clone();
    m.group_id = Bytes(b"other".to_vec());
    assert_eq!(
        e.unprotect_private(&m, &mut e.tree()).unwrap_err(),
        invalid(Rule::WrongGroupOrEpoch)
    );
    let mut m = private;
    m.epoch -= 1;
    assert_eq!(
        e.unprotect_private(&m, &mut e.tree()).unwrap_err(),
        invalid(Rule::WrongGroupOrEpoch)
    );

    // The sender side refuses to tag content for another epoch.
    let mut ac = e.signed(WireFormat::PublicMessage, proposal());
    ac.content.epoch = 0;
    assert_eq!(
        protect_public(&e.suite, ac, Some(&e.context), Some(&e.membership_key)).unwrap_err(),
        invalid(Rule::WrongGroupOrEpoch)
    );
}

// §6.3.1: content ciphertext that fails AEAD authentication.
#[test]
fn tampered_ciphertext_is_rejected() {
    let e = Epoch::new(1);
    let m = e.private(app(100), &mut e.tree());
    // Past the first KDF.Nh bytes the sample (and so the sender data key) is unchanged, so
    // it is the content decryption that fails.
    let mut bad = m.clone();
    let last = bad.ciphertext.len() - 1;
    bad.ciphertext.0[last] ^= 1;
    assert_eq!(
        e.unprotect_private(&bad, &mut e.tree()).unwrap_err(),
        invalid(Rule::ContentDecryption)
    );
    // Authenticated data is in the content AAD.
    let mut bad = m.clone();
    bad.authenticated_data = Bytes(b"AAD".to_vec());
    assert_eq!(
        e.unprotect_private(&bad, &mut e.tree()).unwrap_err(),
        invalid(Rule::ContentDecryption)
    );
    // Truncated to nothing.
    let mut bad = m;
    bad.ciphertext = Bytes(vec![]);
    assert_eq!(
        e.unprotect_private(&bad, &mut e.tree()).unwrap_err(),
        invalid(Rule::SenderDataDecryption)
    );
}

// §6.3.2: sender data that fails AEAD authentication, including through its AAD (the header's
// content type) and through the ciphertext sample its key is derived from.
#[test]
fn tampered_sender_data_is_rejected() {
    let e = Epoch::new(1);
    let m = e.private(proposal(), &mut e.tree());
    let mut bad = m.clone();
    bad.encrypted_sender_data.0[0] ^= 1;
    assert_eq!(
        e.unprotect_private(&bad, &mut e.tree()).unwrap_err(),
        invalid(Rule::SenderDataDecryption)
    );
    let mut bad = m.clone();
    bad.content_type = ContentType::Commit;
    assert_eq!(
        e.unprotect_private(&bad, &mut e.tree()).unwrap_err(),
        invalid(Rule::SenderDataDecryption)
    );
    let mut bad = m.clone();
    bad.ciphertext.0[0] ^= 1;
    assert_eq!(
        e.unprotect_private(&bad, &mut e.tree()).unwrap_err(),
        invalid(Rule::SenderDataDecryption)
    );
    let mut bad = m;
    bad.encrypted_sender_data = Bytes(vec![]);
    assert_eq!(
        e.unprotect_private(&bad, &mut e.tree()).unwrap_err(),
        invalid(Rule::SenderDataDecryption)
    );
}

// §6.3.2, §9: the sender data's leaf index must be inside the tree.
#[test]
fn sender_leaf_out_of_range_is_rejected() {
    let e = Epoch::new(1);
    for leaf in [N_LEAVES, u32::MAX] {
        let sd = SenderData {
            leaf_index: leaf,
            generation: 0,
            reuse_guard: [0; 4],
        };
        let m = e.craft_private(&mut e.tree(), sd, ContentType::Application, b"\x00\x00");
        assert_eq!(
            e.unprotect_private(&m, &mut e.tree()).unwrap_err(),
            invalid(Rule::LeafOutOfRange)
        );
    }
}

// §6.3.2: the leaf must be non-blank; here the caller's lookup knows no key for it.
#[test]
fn blank_sender_leaf_is_rejected() {
    let e = Epoch::new(1);
    let m = e.private(app(4), &mut e.tree());
    let err = unprotect_private(
        &e.suite,
        &m,
        &e.context,
        &e.sender_data_secret,
        &mut e.tree(),
        |_| None,
    )
    .unwrap_err();
    assert_eq!(err, invalid(Rule::UnknownSender));
}

// §9.1: a generation far past the ratchet fails at once instead of deriving 2^32 keys.
#[test]
fn generation_u32_max_fails_immediately() {
    let e = Epoch::new(1);
    let sd = SenderData {
        leaf_index: SENDER,
        generation: u32::MAX,
        reuse_guard: [0; 4],
    };
    let m = e.craft_private(&mut e.tree(), sd, ContentType::Application, b"\x00\x00");
    let start = std::time::Instant::now();
    assert_eq!(
        e.unprotect_private(&m, &mut e.tree()).unwrap_err(),
        invalid(Rule::GenerationTooFar)
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

// §9.2: the key of a generation is deleted after use, so a replay cannot decrypt.
#[test]
fn replayed_private_message_is_rejected() {
    let e = Epoch::new(1);
    let mut rx = e.tree();
    let m = e.private(app(4), &mut e.tree());
    e.unprotect_private(&m, &mut rx).unwrap();
    assert_eq!(
        e.unprotect_private(&m, &mut rx).unwrap_err(),
        invalid(Rule::GenerationConsumed)
    );
}

// §6.3.1: padding must be all zero, or the message is malformed.
#[test]
fn non_zero_padding_is_rejected() {
    let e = Epoch::new(1);
    let ac = e.signed(WireFormat::PrivateMessage, app(4));
    let mut plaintext = Vec::new();
    ac.content.content.encode_body(&mut plaintext);
    ac.auth.encode(&mut plaintext);
    let sd = SenderData {
        leaf_index: SENDER,
        generation: 0,
        reuse_guard: [7; 4],
    };
    // Zero padding is accepted (the crafting itself is sound) ...
    let mut padded = plaintext.clone();
    padded.extend_from_slice(&[0; 8]);
    let m = e.craft_private(&mut e.tree(), sd, ContentType::Application, &padded);
    e.unprotect_private(&m, &mut e.tree()).unwrap();
    // ... a single non-zero byte anywhere in it is not.
    for at in [0, 7] {
        let mut padded = plaintext.clone();
        padded.extend_from_slice(&[0; 8]);
        padded[plaintext.len() + at] = 1;
        let m = e.craft_private(&mut e.tree(), sd, ContentType::Application, &padded);
        assert_eq!(
            e.unprotect_private(&m, &mut e.tree()).unwrap_err(),
            invalid(Rule::NonZeroPadding)
        );
    }
}

// §6: application data must be sent as PrivateMessage; signing, protecting and unprotecting
// it as a PublicMessage all fail.
#[test]
fn application_content_in_public_message_is_rejected() {
    let e = Epoch::new(1);
    let framed = e.framed(Sender::Member(SENDER), app(4));
    let err = sign_content(
        &e.suite,
        &e.signer,
        WireFormat::PublicMessage,
        framed.clone(),
        Some(&e.context),
    )
    .unwrap_err();
    assert_eq!(err, invalid(Rule::WrongContentForWireFormat));

    // Signed by hand, as a peer that ignores the rule would.
    let tbs = framed
        .tbs_bytes(WireFormat::PublicMessage, Some(&e.context))
        .unwrap();
    let signature = e
        .suite
        .sign_with_label(&e.signer, "FramedContentTBS", &tbs)
        .unwrap();
    let ac = AuthenticatedContent {
        wire_format: WireFormat::PublicMessage,
        content: framed,
        auth: FramedContentAuthData {
            signature: Bytes(signature),
            confirmation_tag: None,
        },
    };
    let err = protect_public(
        &e.suite,
        ac.clone(),
        Some(&e.context),
        Some(&e.membership_key),
    )
    .unwrap_err();
    assert_eq!(err, invalid(Rule::WrongContentForWireFormat));

    let tag = e.suite.mac(
        e.membership_key.as_bytes(),
        &ac.tbm_bytes(Some(&e.context)).unwrap(),
    );
    let m = PublicMessage::new(ac, Some(Bytes(tag))).unwrap();
    let m = PublicMessage::decode_exact(&m.to_bytes()).unwrap();
    assert_eq!(
        e.unprotect_public(m).unwrap_err(),
        invalid(Rule::WrongContentForWireFormat)
    );
}

// §6.3.2: only members can send a PrivateMessage (sender data has only a leaf index).
#[test]
fn non_member_sender_in_private_message_is_rejected() {
    let e = Epoch::new(1);
    let ext = e.framed(Sender::External(0), proposal());
    assert_eq!(
        sign_content(
            &e.suite,
            &e.signer,
            WireFormat::PrivateMessage,
            ext.clone(),
            None
        )
        .unwrap_err(),
        invalid(Rule::InvalidSender)
    );
    for sender in [
        Sender::External(0),
        Sender::NewMemberProposal,
        Sender::NewMemberCommit,
    ] {
        let ac = AuthenticatedContent {
            wire_format: WireFormat::PrivateMessage,
            content: e.framed(sender, proposal()),
            auth: FramedContentAuthData {
                signature: Bytes(vec![0; 64]),
                confirmation_tag: None,
            },
        };
        let err = protect_private(
            &e.suite,
            &ac,
            &e.sender_data_secret,
            &mut e.tree(),
            Padding::None,
        )
        .unwrap_err();
        assert_eq!(err, invalid(Rule::InvalidSender), "{sender:?}");
    }
}

/// A PublicMessage from a non-member, signed by `e.signer`.
fn non_member_public(e: &Epoch, sender: Sender, content: Content) -> crate::Result<PublicMessage> {
    let ac = sign_content(
        &e.suite,
        &e.signer,
        WireFormat::PublicMessage,
        e.framed(sender, content),
        sender.signs_group_context().then_some(&e.context),
    )?;
    protect_public(&e.suite, ac, None, None)
}

// §6.1, §12.1.8: external senders are looked up in `external_senders` and may send only
// some proposal types; new members only Add (proposal) or a commit.
#[test]
fn non_member_senders() {
    let mut e = Epoch::new(1);
    let senders = vec![ExternalSender {
        signature_key: Bytes(e.signer.public_key().to_vec()),
        credential: Credential::basic(b"ds".to_vec()),
    }];
    e.context
        .extensions
        .insert(Extension::new(ExtensionType::EXTERNAL_SENDERS, &senders));

    // A valid external Remove verifies against the extension's key, with no membership tag.
    let m = non_member_public(&e, Sender::External(0), proposal()).unwrap();
    assert!(m.membership_tag.is_none());
    let v = e.unprotect_public(m).unwrap();
    assert_eq!(v.sender(), Sender::External(0));

    // An index past the extension's list has no key.
    let m = non_member_public(&e, Sender::External(1), proposal()).unwrap();
    assert_eq!(
        e.unprotect_public(m).unwrap_err(),
        invalid(Rule::UnknownSender)
    );

    // Update (and ExternalInit) proposals from external senders are malformed (§12.1.8).
    let update = PublicMessage::decode_exact(
        &non_member_public(&e, Sender::External(0), proposal())
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    let update_content = Content::Proposal(Proposal::Update(Box::new(
        Update::decode_exact(&unhex(fixtures::UPDATE_PROPOSAL)).unwrap(),
    )));
    assert_eq!(
        non_member_public(&e, Sender::External(0), update_content.clone()).unwrap_err(),
        invalid(Rule::InvalidSender)
    );
    let mut m = update;
    m.content.content = update_content;
    assert_eq!(
        e.unprotect_public(m).unwrap_err(),
        invalid(Rule::InvalidSender)
    );

    // External senders may not commit; new_member_proposal only Add; new_member_commit only
    // commits.
    for (sender, content) in [
        (Sender::External(0), commit()),
        (Sender::NewMemberProposal, proposal()),
        (Sender::NewMemberCommit, proposal()),
    ] {
        assert_eq!(
            non_member_public(&e, sender, content).unwrap_err(),
            invalid(Rule::InvalidSender),
            "{sender:?}"
        );
    }

    // new_member_proposal: the key is the Add's KeyPackage leaf key.
    let mut add = Add::decode_exact(&unhex(fixtures::ADD_PROPOSAL)).unwrap();
    add.key_package.leaf_node.signature_key = Bytes(e.signer.public_key().to_vec());
    let add = Content::Proposal(Proposal::Add(Box::new(add)));
    let m = non_member_public(&e, Sender::NewMemberProposal, add).unwrap();
    e.unprotect_public(m).unwrap();

    // new_member_commit without a path carries no key.
    let mut ac = sign_content(
        &e.suite,
        &e.signer,
        WireFormat::PublicMessage,
        e.framed(Sender::NewMemberCommit, commit()),
        Some(&e.context),
    )
    .unwrap();
    ac.auth.confirmation_tag = Some(Bytes(vec![0; 32]));
    let m = protect_public(&e.suite, ac, None, None).unwrap();
    assert_eq!(
        e.unprotect_public(m).unwrap_err(),
        invalid(Rule::UnknownSender)
    );
}

// §6.1: a commit is protected only once its confirmation tag is set.
#[test]
fn commit_without_confirmation_tag_is_misuse() {
    let e = Epoch::new(1);
    for wf in [WireFormat::PublicMessage, WireFormat::PrivateMessage] {
        let ac = sign_content(
            &e.suite,
            &e.signer,
            wf,
            e.framed(Sender::Member(SENDER), commit()),
            Some(&e.context),
        )
        .unwrap();
        let err = match wf {
            WireFormat::PublicMessage => {
                protect_public(&e.suite, ac, Some(&e.context), Some(&e.membership_key)).unwrap_err()
            }
            _ => protect_private(
                &e.suite,
                &ac,
                &e.sender_data_secret,
                &mut e.tree(),
                Padding::None,
            )
            .unwrap_err(),
        };
        assert!(matches!(err, Error::Misuse(_)), "{err:?}");
    }
    // Member senders need the membership key.
    let ac = e.signed(WireFormat::PublicMessage, proposal());
    assert!(matches!(
        protect_public(&e.suite, ac, Some(&e.context), None),
        Err(Error::Misuse(_))
    ));
}

// Never panic: every single-byte change and every truncation of a valid PrivateMessage is
// an error, not a crash, and none decrypts.
#[test]
fn mutated_private_messages_never_panic() {
    let e = Epoch::new(3);
    let bytes = e.private(commit(), &mut e.tree()).to_bytes();
    for i in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            if let Ok(m) = PrivateMessage::decode_exact(&b) {
                assert!(e.unprotect_private(&m, &mut e.tree()).is_err(), "byte {i}");
            }
        }
    }
    for len in 0..bytes.len() {
        assert!(PrivateMessage::decode_exact(&bytes[..len]).is_err());
    }
}

// §9.2: keys are deleted once they decrypt a message, not before: a copy with a tampered tail
// delivered first must not destroy the key of the genuine message.
#[test]
fn tampered_copy_does_not_consume_the_genuine_key() {
    let e = Epoch::new(1);
    let m = e.private(app(100), &mut e.tree());
    let mut receiver = e.tree();
    let mut bad = m.clone();
    let last = bad.ciphertext.len() - 1;
    bad.ciphertext.0[last] ^= 1;
    assert_eq!(
        e.unprotect_private(&bad, &mut receiver).unwrap_err(),
        invalid(Rule::ContentDecryption)
    );
    assert!(e.unprotect_private(&m, &mut receiver).is_ok());
    assert_eq!(
        e.unprotect_private(&m, &mut receiver).unwrap_err(),
        invalid(Rule::GenerationConsumed)
    );
}
