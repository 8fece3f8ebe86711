//! Protection tests (RFC 9420 §6.1–§6.3): round trips for every suite and one negative test
//! per receipt check, each asserting the typed error and naming its section. Each negative
//! case goes through `rejected` (exactly `Error::Invalid(rule)`, the rule's section in the
//! failure message); most are rows of an `Edit` table of changes to one valid message.

use super::private::protect_private_with_guard;
use super::*;
use crate::codec::{Bytes, Decode, Encode};
use crate::crypto::{CipherSuite, Secret, SignaturePrivateKey, Suite};
use crate::error::{Error, Result, Rule};
use crate::messages::tests::{fixtures, unhex};
use crate::messages::{
    Add, Commit, Credential, Extension, ExtensionType, Extensions, ExternalSender, GroupContext,
    Proposal, ProtocolVersion, Remove, Update,
};
use crate::schedule::secret_tree::sender_data_key_nonce;
use crate::schedule::{RatchetKind, SecretTree, SecretTreeConfig};
use std::fmt::{Debug, Display};

const N_LEAVES: u32 = 4;
const SENDER: u32 = 1;
const MEMBER: Sender = Sender::Member(SENDER);
const PUBLIC: WireFormat = WireFormat::PublicMessage;
const PRIVATE: WireFormat = WireFormat::PrivateMessage;

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
        let config = SecretTreeConfig::default();
        SecretTree::new(self.suite, self.encryption_secret.clone(), N_LEAVES, config)
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

    /// `content` from `from`, signed with `self.signer`, over the group context when the
    /// sender's signature covers it (§6.1).
    fn sign(&self, wf: WireFormat, from: Sender, content: Content) -> Result<AuthenticatedContent> {
        let context = from.signs_group_context().then_some(&self.context);
        let framed = self.framed(from, content);
        sign_content(&self.suite, &self.signer, wf, framed, context)
    }

    /// Signed member content, with a confirmation tag if it is a commit.
    fn signed(&self, wf: WireFormat, content: Content) -> AuthenticatedContent {
        let mut ac = self.sign(wf, MEMBER, content).unwrap();
        if ac.content.content_type() == ContentType::Commit {
            ac.auth.confirmation_tag = Some(Bytes(vec![9; self.suite.hash_len()]));
        }
        ac
    }

    /// `ac` protected as a member's PublicMessage of this epoch.
    fn tag(&self, ac: AuthenticatedContent) -> Result<PublicMessage> {
        let (context, key) = (Some(&self.context), Some(&self.membership_key));
        protect_public(&self.suite, ac, context, key)
    }

    fn public(&self, content: Content) -> PublicMessage {
        self.tag(self.signed(PUBLIC, content)).unwrap()
    }

    /// A non-member's PublicMessage (no membership tag).
    fn external(&self, from: Sender, content: Content) -> Result<PublicMessage> {
        let ac = self.sign(PUBLIC, from, content)?;
        protect_public(&self.suite, ac, None, None)
    }

    fn unprotect_public(&self, m: PublicMessage) -> Result<VerifiedContent> {
        let (s, c, k) = (&self.suite, &self.context, &self.membership_key);
        unprotect_public(s, m, c, k, self.member_key())
    }

    /// `ac` protected as a PrivateMessage, keyed from `tx`.
    fn seal_with(
        &self,
        ac: &AuthenticatedContent,
        tx: &mut SecretTree,
        padding: Padding,
    ) -> Result<PrivateMessage> {
        protect_private(&self.suite, ac, &self.sender_data_secret, tx, padding)
    }

    /// `ac` protected as an unpadded PrivateMessage by a sender in a fresh state.
    fn seal(&self, ac: &AuthenticatedContent) -> Result<PrivateMessage> {
        self.seal_with(ac, &mut self.tree(), Padding::None)
    }

    fn private(&self, content: Content, tx: &mut SecretTree) -> PrivateMessage {
        let ac = self.signed(PRIVATE, content);
        self.seal_with(&ac, tx, Padding::None).unwrap()
    }

    /// `m` received by a member whose secret tree is `rx`.
    fn open_with(&self, m: &PrivateMessage, rx: &mut SecretTree) -> Result<VerifiedContent> {
        let (s, c, k) = (&self.suite, &self.context, &self.sender_data_secret);
        unprotect_private(s, m, c, k, rx, self.member_key())
    }

    /// `m` received by a member in a fresh state.
    fn open(&self, m: &PrivateMessage) -> Result<VerifiedContent> {
        self.open_with(m, &mut self.tree())
    }

    /// Encrypt hand-made sender data and an application plaintext, to reach checks that
    /// honest senders never trip. The content key is `SENDER`'s first one.
    fn craft(&self, leaf_index: u32, generation: u32, guard: [u8; 4], pt: &[u8]) -> PrivateMessage {
        let s = &self.suite;
        let sender_data = SenderData {
            leaf_index,
            generation,
            reuse_guard: guard,
        };
        let kind = RatchetKind::Application;
        let kn = self.tree().next_sending_key(SENDER, kind).unwrap();
        let mut nonce = kn.nonce.as_bytes().to_vec();
        for (n, g) in nonce.iter_mut().zip(guard) {
            *n ^= g;
        }
        let mut m = PrivateMessage {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            content_type: ContentType::Application,
            authenticated_data: Bytes(b"aad".to_vec()),
            encrypted_sender_data: Bytes(vec![]),
            ciphertext: Bytes(vec![]),
        };
        let aad = m.content_aad().to_bytes();
        m.ciphertext = Bytes(s.aead_seal(kn.key.as_bytes(), &nonce, &aad, pt).unwrap());
        let (k, n) = sender_data_key_nonce(s, &self.sender_data_secret, &m.ciphertext).unwrap();
        let (aad, sd) = (m.sender_data_aad().to_bytes(), sender_data.to_bytes());
        let sealed = s.aead_seal(k.as_bytes(), n.as_bytes(), &aad, &sd).unwrap();
        m.encrypted_sender_data = Bytes(sealed);
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
    let (proposals, path) = (vec![], None);
    Content::Commit(Box::new(Commit { proposals, path }))
}

/// Content with a hand-made signature, as a peer that ignores the sender's rules would send.
fn unchecked(
    wire_format: WireFormat,
    content: FramedContent,
    signature: Vec<u8>,
) -> AuthenticatedContent {
    let (signature, confirmation_tag) = (Bytes(signature), None);
    let auth = FramedContentAuthData {
        signature,
        confirmation_tag,
    };
    AuthenticatedContent {
        wire_format,
        content,
        auth,
    }
}

/// `result` is exactly `Error::Invalid(rule)`; `case` names the input in a failure.
#[track_caller]
fn rejected<T: Debug>(result: Result<T>, rule: Rule, case: impl Display) {
    let section = rule.section();
    match result {
        Err(err) => assert_eq!(err, Error::Invalid(rule), "{case} (§{section})"),
        Ok(v) => panic!("{case}: expected {rule:?} (§{section}), got {v:?}"),
    }
}

/// `result` is an `Error::Misuse`.
#[track_caller]
fn misuse<T: Debug>(result: Result<T>) {
    assert!(matches!(result, Err(Error::Misuse(_))), "{result:?}");
}

/// A named edit of a valid message and the rule its receipt must then break.
type Edit<M> = (&'static str, fn(&mut M), Rule);

/// Each edit of `valid`, handed to `receive`, is refused with exactly its rule.
#[track_caller]
fn edits<M: Clone>(valid: &M, receive: impl Fn(M) -> Result<VerifiedContent>, rows: &[Edit<M>]) {
    for (case, edit, rule) in rows {
        let mut m = valid.clone();
        edit(&mut m);
        rejected(receive(m), *rule, case);
    }
}

fn flip_last_ciphertext_byte(m: &mut PrivateMessage) {
    let last = m.ciphertext.len() - 1;
    m.ciphertext.0[last] ^= 1;
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
            assert_eq!(v.sender(), MEMBER);
            assert_eq!(v.wire_format(), PUBLIC);
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
            let v = e.open_with(&m, &mut rx).unwrap();
            assert_eq!(v.framed_content().content, content, "suite {id}");
            assert_eq!(v.framed_content().authenticated_data.as_slice(), b"aad");
            assert_eq!(v.sender(), MEMBER);
            assert_eq!(v.wire_format(), PRIVATE);
        }
    }
}

#[test]
fn private_messages_decrypt_out_of_order() {
    let e = Epoch::new(1);
    let (mut tx, mut rx) = (e.tree(), e.tree());
    let msgs: Vec<_> = (0..5).map(|_| e.private(app(10), &mut tx)).collect();
    for i in [3, 0, 4, 1, 2] {
        e.open_with(&msgs[i], &mut rx).unwrap();
    }
}

#[test]
fn padding_policy() {
    assert_eq!(Padding::None.padding_len(100), 0);
    assert_eq!(Padding::ToMultipleOf(0).padding_len(100), 0);
    assert_eq!(Padding::ToMultipleOf(1).padding_len(100), 0);
    assert_eq!(Padding::ToMultipleOf(64).padding_len(100), 28);
    assert_eq!(Padding::ToMultipleOf(64).padding_len(128), 0);
    let max = Padding::ToMultipleOf(u32::MAX);
    assert_eq!(max.padding_len(1), u32::MAX as usize - 1);

    let e = Epoch::new(1);
    let (mut tx, mut rx) = (e.tree(), e.tree());
    for len in [0, 1, 100, 1000] {
        let ac = e.signed(PRIVATE, app(len));
        let m = e
            .seal_with(&ac, &mut tx, Padding::ToMultipleOf(256))
            .unwrap();
        // AES-128-GCM: the ciphertext is the padded plaintext plus a 16-byte tag.
        assert_eq!((m.ciphertext.len() - 16) % 256, 0, "len {len}");
        let v = e.open_with(&m, &mut rx).unwrap();
        assert_eq!(v.framed_content().content, app(len));
    }
    // Padding past what an `opaque<V>` ciphertext can carry is refused before anything is
    // allocated or a generation is spent.
    misuse(e.seal_with(&e.signed(PRIVATE, app(1)), &mut tx, max));
    let m = e.private(app(1), &mut tx);
    e.open_with(&m, &mut rx).unwrap();
}

#[test]
fn reuse_guard_is_xored_into_the_nonce() {
    // §6.3.1: two messages built from the same generation with different guards must
    // differ, and each must decrypt with its own guard.
    let e = Epoch::new(1);
    let ac = e.signed(PRIVATE, app(16));
    let seal = |guard| {
        let (s, k, none) = (&e.suite, &e.sender_data_secret, Padding::None);
        protect_private_with_guard(s, &ac, k, &mut e.tree(), none, guard).unwrap()
    };
    let (a, b) = (seal([0; 4]), seal([1, 2, 3, 4]));
    assert_ne!(a.ciphertext, b.ciphertext);
    e.open(&a).unwrap();
    e.open(&b).unwrap();
}

// §6.1: a signature that does not verify over FramedContentTBS.
#[test]
fn tampered_signature_is_rejected() {
    let e = Epoch::new(1);
    let mut ac = e.signed(PUBLIC, proposal());
    ac.auth.signature.0[0] ^= 1;
    let m = e.tag(ac).unwrap();
    rejected(e.unprotect_public(m), Rule::ContentSignature, "public");

    let mut ac = e.signed(PRIVATE, app(8));
    ac.auth.signature.0[3] ^= 0x80;
    let m = e.seal(&ac).unwrap();
    rejected(e.open(&m), Rule::ContentSignature, "private");
}

// §6.1: the signature covers the wire format, so content signed for one format cannot be
// replayed in the other.
#[test]
fn signature_binds_wire_format() {
    let e = Epoch::new(1);
    let mut ac = e.signed(PUBLIC, proposal());
    ac.wire_format = PRIVATE;
    let m = e.seal(&ac).unwrap();
    rejected(e.open(&m), Rule::ContentSignature, "signed as public");
}

// §6.2: the membership tag must be the MAC of AuthenticatedContentTBM, compared in constant
// time; empty, truncated, over-long and wrong tags are all rejected.
#[test]
fn membership_tag_mutations_are_rejected() {
    let e = Epoch::new(1);
    let good = e.public(proposal());
    fn tag(m: &mut PublicMessage) -> &mut Vec<u8> {
        &mut m.membership_tag.as_mut().unwrap().0
    }
    #[rustfmt::skip]
    let rows: &[Edit<PublicMessage>] = &[
        ("empty", |m| m.membership_tag = Some(Bytes(vec![])), Rule::MembershipTag),
        ("truncated", |m| { tag(m).pop(); }, Rule::MembershipTag),
        ("over-long", |m| tag(m).push(0), Rule::MembershipTag),
        ("flipped", |m| tag(m)[5] ^= 1, Rule::MembershipTag),
        ("zero", |m| tag(m).fill(0), Rule::MembershipTag),
        // A member's message without a tag at all (only constructible by hand).
        ("absent", |m| m.membership_tag = None, Rule::MembershipTag),
    ];
    edits(&good, |m| e.unprotect_public(m), rows);
    // The tag is keyed: a different membership key fails too.
    let other_key = e.suite.random_secret().unwrap();
    let r = unprotect_public(&e.suite, good, &e.context, &other_key, e.member_key());
    rejected(r, Rule::MembershipTag, "other key");
}

// §6, §12.4.2: group id and epoch must match the group context.
#[test]
fn wrong_group_or_epoch_is_rejected() {
    let e = Epoch::new(1);
    #[rustfmt::skip]
    let public: &[Edit<PublicMessage>] = &[
        ("other group", |m| m.content.group_id = Bytes(b"other".to_vec()), Rule::WrongGroupOrEpoch),
        ("next epoch", |m| m.content.epoch += 1, Rule::WrongGroupOrEpoch),
    ];
    #[rustfmt::skip]
    let private: &[Edit<PrivateMessage>] = &[
        ("other group", |m| m.group_id = Bytes(b"other".to_vec()), Rule::WrongGroupOrEpoch),
        ("previous epoch", |m| m.epoch -= 1, Rule::WrongGroupOrEpoch),
    ];
    edits(&e.public(proposal()), |m| e.unprotect_public(m), public);
    edits(&e.private(app(4), &mut e.tree()), |m| e.open(&m), private);
    // The sender side refuses to tag content for another epoch.
    let mut ac = e.signed(PUBLIC, proposal());
    ac.content.epoch = 0;
    rejected(e.tag(ac), Rule::WrongGroupOrEpoch, "tagging for epoch 0");
}

// §6.3.1: content ciphertext that fails AEAD authentication.
#[test]
fn tampered_ciphertext_is_rejected() {
    let e = Epoch::new(1);
    #[rustfmt::skip]
    let rows: &[Edit<PrivateMessage>] = &[
        // Past the first KDF.Nh bytes the sample (and so the sender data key) is unchanged,
        // so it is the content decryption that fails.
        ("last byte flipped", flip_last_ciphertext_byte, Rule::ContentDecryption),
        // Authenticated data is in the content AAD.
        ("aad changed", |m| m.authenticated_data = Bytes(b"AAD".to_vec()), Rule::ContentDecryption),
        ("truncated to nothing", |m| m.ciphertext = Bytes(vec![]), Rule::SenderDataDecryption),
    ];
    edits(&e.private(app(100), &mut e.tree()), |m| e.open(&m), rows);
}

// §6.3.2: sender data that fails AEAD authentication, including through its AAD (the header's
// content type) and through the ciphertext sample its key is derived from.
#[test]
fn tampered_sender_data_is_rejected() {
    let e = Epoch::new(1);
    #[rustfmt::skip]
    let rows: &[Edit<PrivateMessage>] = &[
        ("sender data flipped", |m| m.encrypted_sender_data.0[0] ^= 1, Rule::SenderDataDecryption),
        ("content type", |m| m.content_type = ContentType::Commit, Rule::SenderDataDecryption),
        ("ciphertext sample", |m| m.ciphertext.0[0] ^= 1, Rule::SenderDataDecryption),
        ("no sender data", |m| m.encrypted_sender_data = Bytes(vec![]), Rule::SenderDataDecryption),
    ];
    edits(&e.private(proposal(), &mut e.tree()), |m| e.open(&m), rows);
}

// §6.3.2, §9: the sender data's leaf index must be inside the tree.
#[test]
fn sender_leaf_out_of_range_is_rejected() {
    let e = Epoch::new(1);
    for leaf in [N_LEAVES, u32::MAX] {
        let m = e.craft(leaf, 0, [0; 4], b"\x00\x00");
        rejected(e.open(&m), Rule::LeafOutOfRange, leaf);
    }
}

// §6.3.2: the leaf must be non-blank; here the caller's lookup knows no key for it.
#[test]
fn blank_sender_leaf_is_rejected() {
    let e = Epoch::new(1);
    let m = e.private(app(4), &mut e.tree());
    let (s, c, k) = (&e.suite, &e.context, &e.sender_data_secret);
    let r = unprotect_private(s, &m, c, k, &mut e.tree(), |_| None::<&[u8]>);
    rejected(r, Rule::UnknownSender, "no key for the leaf");
}

// §9.1: a generation far past the ratchet fails at once instead of deriving 2^32 keys.
#[test]
fn generation_u32_max_fails_immediately() {
    let e = Epoch::new(1);
    let m = e.craft(SENDER, u32::MAX, [0; 4], b"\x00\x00");
    let start = std::time::Instant::now();
    rejected(e.open(&m), Rule::GenerationTooFar, "generation u32::MAX");
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

// §9.2: the key of a generation is deleted after use, so a replay cannot decrypt.
#[test]
fn replayed_private_message_is_rejected() {
    let e = Epoch::new(1);
    let mut rx = e.tree();
    let m = e.private(app(4), &mut e.tree());
    e.open_with(&m, &mut rx).unwrap();
    rejected(e.open_with(&m, &mut rx), Rule::GenerationConsumed, "replay");
}

// §6.3.1: padding must be all zero, or the message is malformed.
#[test]
fn non_zero_padding_is_rejected() {
    let e = Epoch::new(1);
    let ac = e.signed(PRIVATE, app(4));
    let mut plaintext = Vec::new();
    ac.content.content.encode_body(&mut plaintext);
    ac.auth.encode(&mut plaintext);
    let content_len = plaintext.len();
    plaintext.extend_from_slice(&[0; 8]);
    // Zero padding is accepted (the crafting itself is sound) ...
    e.open(&e.craft(SENDER, 0, [7; 4], &plaintext)).unwrap();
    // ... a single non-zero byte anywhere in it is not.
    for at in [0, 7] {
        let mut padded = plaintext.clone();
        padded[content_len + at] = 1;
        let m = e.craft(SENDER, 0, [7; 4], &padded);
        rejected(e.open(&m), Rule::NonZeroPadding, at);
    }
}

// §6: application data must be sent as PrivateMessage; signing, protecting and unprotecting
// it as a PublicMessage all fail.
#[test]
fn application_content_in_public_message_is_rejected() {
    let e = Epoch::new(1);
    let rule = Rule::WrongContentForWireFormat;
    rejected(e.sign(PUBLIC, MEMBER, app(4)), rule, "signing");

    // Signed by hand, as a peer that ignores the rule would.
    let framed = e.framed(MEMBER, app(4));
    let tbs = framed.tbs_bytes(PUBLIC, Some(&e.context)).unwrap();
    let signature = e.suite.sign_with_label(&e.signer, "FramedContentTBS", &tbs);
    let ac = unchecked(PUBLIC, framed, signature.unwrap());
    rejected(e.tag(ac.clone()), rule, "protecting");

    let tbm = ac.tbm_bytes(Some(&e.context)).unwrap();
    let tag = e.suite.mac(e.membership_key.as_bytes(), &tbm);
    let m = PublicMessage::new(ac, Some(Bytes(tag))).unwrap();
    let m = PublicMessage::decode_exact(&m.to_bytes()).unwrap();
    rejected(e.unprotect_public(m), rule, "receiving");
}

// §6.3.2: only members can send a PrivateMessage (sender data has only a leaf index).
#[test]
fn non_member_sender_in_private_message_is_rejected() {
    let e = Epoch::new(1);
    let signed = e.sign(PRIVATE, Sender::External(0), proposal());
    rejected(signed, Rule::InvalidSender, "signing");
    for sender in [
        Sender::External(0),
        Sender::NewMemberProposal,
        Sender::NewMemberCommit,
    ] {
        let ac = unchecked(PRIVATE, e.framed(sender, proposal()), vec![0; 64]);
        rejected(e.seal(&ac), Rule::InvalidSender, format!("{sender:?}"));
    }
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
    let ext = Extension::new(ExtensionType::EXTERNAL_SENDERS, &senders);
    e.context.extensions.insert(ext);

    // A valid external Remove verifies against the extension's key, with no membership tag.
    let m = e.external(Sender::External(0), proposal()).unwrap();
    assert!(m.membership_tag.is_none());
    let v = e.unprotect_public(m).unwrap();
    assert_eq!(v.sender(), Sender::External(0));

    // An index past the extension's list has no key.
    let m = e.external(Sender::External(1), proposal()).unwrap();
    rejected(e.unprotect_public(m), Rule::UnknownSender, "sender 1");

    // Update (and ExternalInit) proposals from external senders are malformed (§12.1.8).
    let remove = e.external(Sender::External(0), proposal()).unwrap();
    let mut m = PublicMessage::decode_exact(&remove.to_bytes()).unwrap();
    let update = Update::decode_exact(&unhex(fixtures::UPDATE_PROPOSAL)).unwrap();
    let update = Content::Proposal(Proposal::Update(Box::new(update)));
    let signed = e.external(Sender::External(0), update.clone());
    rejected(signed, Rule::InvalidSender, "signing an Update");
    m.content.content = update;
    rejected(e.unprotect_public(m), Rule::InvalidSender, "an Update");

    // External senders may not commit; new_member_proposal only Add; new_member_commit only
    // commits.
    for (sender, content) in [
        (Sender::External(0), commit()),
        (Sender::NewMemberProposal, proposal()),
        (Sender::NewMemberCommit, proposal()),
    ] {
        let signed = e.external(sender, content);
        rejected(signed, Rule::InvalidSender, format!("{sender:?}"));
    }

    // new_member_proposal: the key is the Add's KeyPackage leaf key.
    let mut add = Add::decode_exact(&unhex(fixtures::ADD_PROPOSAL)).unwrap();
    add.key_package.leaf_node.signature_key = Bytes(e.signer.public_key().to_vec());
    let add = Content::Proposal(Proposal::Add(Box::new(add)));
    let m = e.external(Sender::NewMemberProposal, add).unwrap();
    e.unprotect_public(m).unwrap();

    // new_member_commit without a path carries no key.
    let mut ac = e.sign(PUBLIC, Sender::NewMemberCommit, commit()).unwrap();
    ac.auth.confirmation_tag = Some(Bytes(vec![0; 32]));
    let m = protect_public(&e.suite, ac, None, None).unwrap();
    rejected(e.unprotect_public(m), Rule::UnknownSender, "no path");
}

// §6.1: a commit is protected only once its confirmation tag is set.
#[test]
fn commit_without_confirmation_tag_is_misuse() {
    let e = Epoch::new(1);
    misuse(e.tag(e.sign(PUBLIC, MEMBER, commit()).unwrap()));
    misuse(e.seal(&e.sign(PRIVATE, MEMBER, commit()).unwrap()));
    // Member senders need the membership key.
    let ac = e.signed(PUBLIC, proposal());
    misuse(protect_public(&e.suite, ac, Some(&e.context), None));
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
                assert!(e.open(&m).is_err(), "byte {i}");
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
    let mut rx = e.tree();
    let mut bad = m.clone();
    flip_last_ciphertext_byte(&mut bad);
    rejected(e.open_with(&bad, &mut rx), Rule::ContentDecryption, "copy");
    assert!(e.open_with(&m, &mut rx).is_ok());
    rejected(e.open_with(&m, &mut rx), Rule::GenerationConsumed, "again");
}
