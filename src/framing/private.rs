//! PrivateMessage protection (RFC 9420 §6.3): content encryption with the secret tree's
//! ratchets and a reuse guard (§6.3.1), sender data encryption keyed by a ciphertext sample
//! (§6.3.2), padding, and the checks a receiver must make.

use super::content::{AuthenticatedContent, ContentType, FramedContent, Sender, WireFormat};
use super::message::{
    PrivateContentAAD, PrivateMessage, PrivateMessageContent, SenderData, SenderDataAAD,
};
use super::public::{check_group_and_epoch, check_sender_rules, verify_signature, VerifiedContent};
use crate::codec::{Bytes, Decode, Encode, MAX_VARINT};
use crate::crypto::{PublicKeyRef, Secret, Suite};
use crate::error::{CryptoError, Error, Result, Rule};
use crate::messages::GroupContext;
use crate::schedule::secret_tree::sender_data_key_nonce;
use crate::schedule::{RatchetKind, SecretTree, StagedKey};
use zeroize::Zeroizing;

/// How many zero bytes to append to a PrivateMessageContent (§6.3.1).
///
/// Padding hides the exact length of the content from everyone outside the group; the RFC
/// leaves the amount to the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding.
    #[default]
    None,
    /// Pad the plaintext (content and auth data) up to a multiple of this many bytes; 0 and 1
    /// mean no padding.
    ToMultipleOf(u32),
}

impl Padding {
    /// The number of zero bytes to add to a plaintext of `len` bytes.
    pub fn padding_len(self, len: usize) -> usize {
        match self {
            Padding::None | Padding::ToMultipleOf(0) | Padding::ToMultipleOf(1) => 0,
            Padding::ToMultipleOf(n) => {
                let n = n as usize;
                (n - len % n) % n
            }
        }
    }
}

/// Application data uses the application ratchet, proposals and commits the handshake
/// ratchet (§9).
fn ratchet_kind(content_type: ContentType) -> RatchetKind {
    match content_type {
        ContentType::Application => RatchetKind::Application,
        ContentType::Proposal | ContentType::Commit => RatchetKind::Handshake,
    }
}

/// The ratchet nonce with the reuse guard XORed into its first four bytes (§6.3.1).
fn guarded_nonce(nonce: &Secret, reuse_guard: [u8; 4]) -> Result<Secret> {
    let mut out = nonce.clone();
    let bytes = out.as_mut_bytes();
    if bytes.len() < reuse_guard.len() {
        return Err(CryptoError::InvalidLength.into());
    }
    for (b, g) in bytes.iter_mut().zip(reuse_guard) {
        *b ^= g;
    }
    Ok(out)
}

/// Encrypt signed content as a PrivateMessage (§6.3) from the member in `content.sender`.
///
/// Takes the next generation of the sender's handshake or application ratchet from `tree`
/// (the key is deleted once used, §9.2), XORs a fresh random reuse guard into its nonce, and
/// encrypts the sender data under keys derived from `sender_data_secret` and the first
/// `KDF.Nh` bytes of the content ciphertext. Commits must carry their confirmation tag; only
/// member senders may send PrivateMessages ([`Rule::InvalidSender`]).
pub fn protect_private(
    suite: &Suite,
    content: &AuthenticatedContent,
    sender_data_secret: &Secret,
    tree: &mut SecretTree,
    padding: Padding,
) -> Result<PrivateMessage> {
    let mut reuse_guard = [0u8; 4];
    reuse_guard.copy_from_slice(&suite.random_bytes(4)?);
    protect_private_with_guard(
        suite,
        content,
        sender_data_secret,
        tree,
        padding,
        reuse_guard,
    )
}

/// [`protect_private`] with a given reuse guard; split out so tests can be deterministic.
pub(super) fn protect_private_with_guard(
    suite: &Suite,
    content: &AuthenticatedContent,
    sender_data_secret: &Secret,
    tree: &mut SecretTree,
    padding: Padding,
    reuse_guard: [u8; 4],
) -> Result<PrivateMessage> {
    if content.wire_format != WireFormat::PrivateMessage {
        return Err(Error::Misuse("content was signed for another wire format"));
    }
    let framed = &content.content;
    check_sender_rules(WireFormat::PrivateMessage, framed)?;
    let Sender::Member(leaf_index) = framed.sender else {
        return Err(Rule::InvalidSender.into());
    };
    let content_type = framed.content_type();
    if !content.auth.matches_content_type(content_type) {
        return Err(Error::Misuse(
            "a commit needs its confirmation_tag, and only a commit may carry one",
        ));
    }

    let mut plaintext = Zeroizing::new(Vec::new());
    framed.content.encode_body(&mut plaintext);
    content.auth.encode(&mut plaintext);
    let pad = padding.padding_len(plaintext.len());
    // The ciphertext is an `opaque<V>` (§6.3): refuse what no varint can carry rather than
    // emit a message nobody can decode. 64 bytes leave room for any AEAD tag.
    if (plaintext.len() as u64).saturating_add(pad as u64) > MAX_VARINT - 64
        || framed.authenticated_data.len() as u64 > MAX_VARINT
    {
        return Err(Error::Misuse("PrivateMessage content too large"));
    }
    let padded_len = plaintext.len() + pad;
    plaintext.resize(padded_len, 0);

    // Derive the key only once nothing else can fail but the AEAD itself, so a rejected
    // message does not burn a generation.
    let kn = tree.next_sending_key(leaf_index, ratchet_kind(content_type))?;
    let nonce = guarded_nonce(&kn.nonce, reuse_guard)?;
    let content_aad = PrivateContentAAD {
        group_id: framed.group_id.clone(),
        epoch: framed.epoch,
        content_type,
        authenticated_data: framed.authenticated_data.clone(),
    };
    let ciphertext = suite.aead_seal(
        kn.key.as_bytes(),
        nonce.as_bytes(),
        &content_aad.to_bytes(),
        &plaintext,
    )?;

    let sender_data = SenderData {
        leaf_index,
        generation: kn.generation,
        reuse_guard,
    };
    let sender_data_aad = SenderDataAAD {
        group_id: framed.group_id.clone(),
        epoch: framed.epoch,
        content_type,
    };
    let (sd_key, sd_nonce) = sender_data_key_nonce(suite, sender_data_secret, &ciphertext)?;
    let encrypted_sender_data = suite.aead_seal(
        sd_key.as_bytes(),
        sd_nonce.as_bytes(),
        &sender_data_aad.to_bytes(),
        &sender_data.to_bytes(),
    )?;

    Ok(PrivateMessage {
        group_id: content_aad.group_id,
        epoch: content_aad.epoch,
        content_type,
        authenticated_data: content_aad.authenticated_data,
        encrypted_sender_data: Bytes(encrypted_sender_data),
        ciphertext: Bytes(ciphertext),
    })
}

/// Decrypt and check a PrivateMessage against the group's current epoch (§6.3), and delete
/// the generation's key from `tree` (§9.2): [`unprotect_private_staged`] followed by
/// [`SecretTree::commit_key`]. A rejected message leaves `tree` unchanged.
pub fn unprotect_private<'k, K: Into<PublicKeyRef<'k>>>(
    suite: &Suite,
    message: &PrivateMessage,
    context: &GroupContext,
    sender_data_secret: &Secret,
    tree: &mut SecretTree,
    member_key: impl FnOnce(u32) -> Option<K>,
) -> Result<VerifiedContent> {
    let (verified, key) = unprotect_private_staged(
        suite,
        message,
        context,
        sender_data_secret,
        tree,
        member_key,
    )?;
    tree.commit_key(key);
    Ok(verified)
}

/// Decrypt and check a PrivateMessage against the group's current epoch (§6.3) without
/// changing `tree`: the caller commits the returned key once it accepts the message, so
/// that neither a copy with a tampered tail nor a message rejected later (by the group's
/// own checks) can destroy the genuine message's key or move the sender's ratchet.
///
/// In order: group id and epoch ([`Rule::WrongGroupOrEpoch`]); sender data decryption
/// ([`Rule::SenderDataDecryption`]); the sender's leaf is in the tree
/// ([`Rule::LeafOutOfRange`]) and non-blank, i.e. `member_key` knows it
/// ([`Rule::UnknownSender`], §6.3.2); the generation is within the secret tree's forward
/// window and unused ([`Rule::GenerationTooFar`], [`Rule::GenerationConsumed`]); content
/// decryption under the AAD that binds the header's content type
/// ([`Rule::ContentDecryption`]); all-zero padding ([`Rule::NonZeroPadding`]); then the
/// signature ([`Rule::ContentSignature`]).
pub fn unprotect_private_staged<'k, K: Into<PublicKeyRef<'k>>>(
    suite: &Suite,
    message: &PrivateMessage,
    context: &GroupContext,
    sender_data_secret: &Secret,
    tree: &SecretTree,
    member_key: impl FnOnce(u32) -> Option<K>,
) -> Result<(VerifiedContent, StagedKey)> {
    check_group_and_epoch(&message.group_id, message.epoch, context)?;

    let (sd_key, sd_nonce) = sender_data_key_nonce(suite, sender_data_secret, &message.ciphertext)?;
    let sender_data = suite
        .aead_open(
            sd_key.as_bytes(),
            sd_nonce.as_bytes(),
            &message.sender_data_aad().to_bytes(),
            &message.encrypted_sender_data,
        )
        .map_err(|e| decryption_error(e, Rule::SenderDataDecryption))?;
    let sender_data = SenderData::decode_exact(&sender_data)?;

    // §6.3.2: the leaf must identify a non-blank node.
    if sender_data.leaf_index >= tree.n_leaves() {
        return Err(Rule::LeafOutOfRange.into());
    }
    let signature_key = member_key(sender_data.leaf_index).ok_or(Rule::UnknownSender)?;

    // The secret tree bounds the generation (§9.1) before deriving anything.
    let kind = ratchet_kind(message.content_type);
    let staged = tree.stage_key(sender_data.leaf_index, kind, sender_data.generation)?;
    let kn = &staged.key_nonce;
    let nonce = guarded_nonce(&kn.nonce, sender_data.reuse_guard)?;
    // The content type comes from the header and is bound by both AADs, so a header
    // altered in transit fails here rather than selecting another decoding.
    let plaintext = Zeroizing::new(
        suite
            .aead_open(
                kn.key.as_bytes(),
                nonce.as_bytes(),
                &message.content_aad().to_bytes(),
                &message.ciphertext,
            )
            .map_err(|e| decryption_error(e, Rule::ContentDecryption))?,
    );
    let PrivateMessageContent { content, auth, .. } =
        PrivateMessageContent::decode_plaintext(&plaintext, message.content_type)?;

    let authenticated = AuthenticatedContent {
        wire_format: WireFormat::PrivateMessage,
        content: FramedContent {
            group_id: message.group_id.clone(),
            epoch: message.epoch,
            sender: Sender::Member(sender_data.leaf_index),
            authenticated_data: message.authenticated_data.clone(),
            content,
        },
        auth,
    };
    check_sender_rules(WireFormat::PrivateMessage, &authenticated.content)?;
    verify_signature(suite, &authenticated, context, |_| {
        Some::<PublicKeyRef<'k>>(signature_key.into())
    })?;
    Ok((VerifiedContent::checked(authenticated), staged))
}

/// An AEAD authentication failure becomes the receipt rule it breaks; other errors pass.
fn decryption_error(e: Error, rule: Rule) -> Error {
    match e {
        Error::Crypto(CryptoError::DecryptFailed) => rule.into(),
        other => other,
    }
}
