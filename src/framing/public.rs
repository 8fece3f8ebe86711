//! Content authentication (RFC 9420 §6.1) and PublicMessage protection (§6.2).
//!
//! Signing is separate from protection because a commit's confirmation tag covers the
//! confirmed transcript hash, which itself covers the signature (§8.2): the caller signs with
//! [`sign_content`], adds the tag to a commit, then wraps the result with [`protect_public`]
//! or [`super::private::protect_private`]. Receiving goes the other way and yields a
//! [`VerifiedContent`], which only the checks in this module and [`super::private`] build.

use super::content::{AuthenticatedContent, Content, FramedContent, Sender, WireFormat};
use super::content::{ContentType, FramedContentAuthData};
use super::message::PublicMessage;
use crate::codec::{Bytes, Encode};
use crate::crypto::{PublicKeyRef, Secret, SignaturePrivateKey, Suite};
use crate::error::{CryptoError, DecodeError, Error, Result, Rule};
use crate::messages::{GroupContext, Proposal};

/// The label of content signatures (§6.1).
const SIGN_LABEL: &str = "FramedContentTBS";

/// Authenticated content whose membership tag or AEAD protection and whose signature have
/// been checked against a group's epoch (§6.2, §6.3).
///
/// Only the unprotect functions of [`crate::framing`] construct it, so code that takes a
/// `VerifiedContent` cannot be handed unchecked content. A commit's confirmation tag is not
/// checked here: it is keyed by the *new* epoch, which the group layer derives (§12.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedContent(AuthenticatedContent);

impl VerifiedContent {
    /// Seal content as verified; callable only from the framing checks.
    pub(super) fn checked(content: AuthenticatedContent) -> Self {
        VerifiedContent(content)
    }

    /// The verified authenticated content.
    pub fn authenticated_content(&self) -> &AuthenticatedContent {
        &self.0
    }

    /// The verified framed content (group, epoch, sender, authenticated data, content).
    pub fn framed_content(&self) -> &FramedContent {
        &self.0.content
    }

    /// The verified sender.
    pub fn sender(&self) -> Sender {
        self.0.content.sender
    }

    /// The wire format the content arrived in.
    pub fn wire_format(&self) -> WireFormat {
        self.0.wire_format
    }

    /// Give up the proof of verification and take the content.
    pub fn into_inner(self) -> AuthenticatedContent {
        self.0
    }
}

/// Whether a sender may send this content in this wire format (§6, §6.1, §6.2, §6.3.2,
/// §12.1.8). Run on both sides so that we never produce what a receiver must reject.
pub(super) fn check_sender_rules(wire_format: WireFormat, content: &FramedContent) -> Result<()> {
    match wire_format {
        // §6.3.2: sender data carries only a leaf index, so only members can encrypt.
        WireFormat::PrivateMessage => {
            if !matches!(content.sender, Sender::Member(_)) {
                return Err(Rule::InvalidSender.into());
            }
        }
        // §6: "Applications MUST use PrivateMessage to encrypt application messages".
        WireFormat::PublicMessage => {
            if content.content_type() == ContentType::Application {
                return Err(Rule::WrongContentForWireFormat.into());
            }
        }
        WireFormat::Welcome | WireFormat::GroupInfo | WireFormat::KeyPackage => {
            return Err(Error::Misuse(
                "framed content is sent only as PublicMessage or PrivateMessage",
            ));
        }
    }
    let allowed = match (&content.sender, &content.content) {
        (Sender::Member(_), _) => true,
        // §12.1.8: other proposal types from external senders "MUST be rejected as malformed".
        (Sender::External(_), Content::Proposal(p)) => matches!(
            p,
            Proposal::Add(_)
                | Proposal::Remove(_)
                | Proposal::PreSharedKey(_)
                | Proposal::ReInit(_)
                | Proposal::GroupContextExtensions(_)
        ),
        // §6.1: new_member_proposal content MUST be an Add proposal.
        (Sender::NewMemberProposal, Content::Proposal(Proposal::Add(_))) => true,
        // §6.1: new_member_commit content MUST be a commit.
        (Sender::NewMemberCommit, Content::Commit(_)) => true,
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Rule::InvalidSender.into())
    }
}

/// The confirmation tag must be present exactly for commits before content is protected
/// (§6.1); a signed commit whose tag was never added is a caller bug.
fn check_tag_present(auth: &FramedContentAuthData, content_type: ContentType) -> Result<()> {
    if auth.matches_content_type(content_type) {
        Ok(())
    } else {
        Err(Error::Misuse(
            "a commit needs its confirmation_tag, and only a commit may carry one",
        ))
    }
}

/// Content and epoch must be those of the group context the keys belong to (§6, §12.4.2).
pub(super) fn check_group_and_epoch(
    group_id: &[u8],
    epoch: u64,
    context: &GroupContext,
) -> Result<()> {
    if group_id == context.group_id.as_slice() && epoch == context.epoch {
        Ok(())
    } else {
        Err(Rule::WrongGroupOrEpoch.into())
    }
}

/// Sign `content` for `wire_format` (§6.1): `SignWithLabel(., "FramedContentTBS", TBS)`.
///
/// `context` is required for member and new-member-commit senders, whose signatures cover
/// the group context, and must be `None` otherwise. The result has no confirmation tag: for
/// a commit, compute it over the confirmed transcript hash that this signature feeds (§8.2)
/// and set `auth.confirmation_tag` before protecting.
pub fn sign_content(
    suite: &Suite,
    signer: &SignaturePrivateKey,
    wire_format: WireFormat,
    content: FramedContent,
    context: Option<&GroupContext>,
) -> Result<AuthenticatedContent> {
    check_sender_rules(wire_format, &content)?;
    let tbs = content.tbs_bytes(wire_format, context)?;
    let signature = suite.sign_with_label(signer, SIGN_LABEL, &tbs)?;
    Ok(AuthenticatedContent {
        wire_format,
        content,
        auth: FramedContentAuthData {
            signature: Bytes(signature),
            confirmation_tag: None,
        },
    })
}

/// Wrap signed content as a PublicMessage (§6.2).
///
/// Member senders need the `context` and `membership_key` of the epoch for the membership
/// tag `MAC(membership_key, AuthenticatedContentTBM)`; other senders have no tag and pass
/// `None` for both. Application data cannot be sent this way (§6).
pub fn protect_public(
    suite: &Suite,
    content: AuthenticatedContent,
    context: Option<&GroupContext>,
    membership_key: Option<&Secret>,
) -> Result<PublicMessage> {
    if content.wire_format != WireFormat::PublicMessage {
        return Err(Error::Misuse("content was signed for another wire format"));
    }
    check_sender_rules(WireFormat::PublicMessage, &content.content)?;
    check_tag_present(&content.auth, content.content.content_type())?;
    let membership_tag = match content.content.sender {
        Sender::Member(_) => {
            let (Some(context), Some(key)) = (context, membership_key) else {
                return Err(Error::Misuse(
                    "a member's PublicMessage needs the group context and membership key",
                ));
            };
            check_group_and_epoch(&content.content.group_id, content.content.epoch, context)?;
            let tbm = content.tbm_bytes(Some(context))?;
            Some(Bytes(suite.mac(key.as_bytes(), &tbm)))
        }
        Sender::External(_) | Sender::NewMemberProposal | Sender::NewMemberCommit => None,
    };
    PublicMessage::new(content, membership_tag)
}

/// Check a PublicMessage against the group's current epoch and return its content (§6.2).
///
/// In order: group id and epoch ([`Rule::WrongGroupOrEpoch`]), sender type and content
/// ([`Rule::WrongContentForWireFormat`], [`Rule::InvalidSender`]), the membership tag of a
/// member sender in constant time ([`Rule::MembershipTag`]), then the signature
/// ([`Rule::ContentSignature`]). `member_key` maps a leaf index to that member's signature
/// key, `None` for a blank or absent leaf ([`Rule::UnknownSender`]); external senders' keys
/// come from the context's `external_senders` extension, new members' from the content.
pub fn unprotect_public<'k, K: Into<PublicKeyRef<'k>>>(
    suite: &Suite,
    message: PublicMessage,
    context: &GroupContext,
    membership_key: &Secret,
    member_key: impl FnOnce(u32) -> Option<K>,
) -> Result<VerifiedContent> {
    let PublicMessage {
        content,
        auth,
        membership_tag,
    } = message;
    check_group_and_epoch(&content.group_id, content.epoch, context)?;
    check_sender_rules(WireFormat::PublicMessage, &content)?;
    if !auth.matches_content_type(content.content_type()) {
        // The decoder reads the tag exactly for commits; only a hand-built message gets here.
        return Err(DecodeError::Malformed("confirmation_tag presence").into());
    }
    let authenticated = AuthenticatedContent {
        wire_format: WireFormat::PublicMessage,
        content,
        auth,
    };
    match (authenticated.content.sender, membership_tag) {
        (Sender::Member(_), Some(tag)) => {
            // AuthenticatedContentTBM is FramedContentTBS (a member signs the context) then
            // the auth data: encode the content once for both the MAC and the signature.
            let mut tbm = authenticated.tbs_bytes(Some(context))?;
            let tbs_len = tbm.len();
            authenticated.auth.encode(&mut tbm);
            suite
                .verify_mac(membership_key.as_bytes(), &tbm, &tag)
                .map_err(|_| Error::from(Rule::MembershipTag))?;
            verify_signature_over(suite, &authenticated, &tbm[..tbs_len], member_key)?;
        }
        (Sender::Member(_), None) => return Err(Rule::MembershipTag.into()),
        (_, None) => verify_signature(suite, &authenticated, context, member_key)?,
        // §6.2: only members carry a tag; the decoder never produces one for others.
        (_, Some(_)) => return Err(DecodeError::Malformed("membership_tag presence").into()),
    }
    Ok(VerifiedContent::checked(authenticated))
}

/// What a non-member (a Delivery Service) can check of a PublicMessage (§6.2): group id and
/// epoch, sender rules, and the signature against the sender's key. The membership tag is
/// keyed by the epoch's `membership_key`, which only members hold, so it is **not** checked
/// here; the result is plain [`AuthenticatedContent`], not a [`VerifiedContent`].
pub fn verify_public_signature<'k, K: Into<PublicKeyRef<'k>>>(
    suite: &Suite,
    message: &PublicMessage,
    context: &GroupContext,
    member_key: impl FnOnce(u32) -> Option<K>,
) -> Result<AuthenticatedContent> {
    check_group_and_epoch(&message.content.group_id, message.content.epoch, context)?;
    check_sender_rules(WireFormat::PublicMessage, &message.content)?;
    if !message
        .auth
        .matches_content_type(message.content.content_type())
    {
        return Err(DecodeError::Malformed("confirmation_tag presence").into());
    }
    let authenticated = AuthenticatedContent {
        wire_format: WireFormat::PublicMessage,
        content: message.content.clone(),
        auth: message.auth.clone(),
    };
    verify_signature(suite, &authenticated, context, member_key)?;
    Ok(authenticated)
}

/// A sender's key: given by the caller (a member's, perhaps parsed once) or found in the
/// message or the group context.
enum SenderKey<'a> {
    Given(PublicKeyRef<'a>),
    Owned(Vec<u8>),
}

impl SenderKey<'_> {
    fn as_key(&self) -> PublicKeyRef<'_> {
        match self {
            SenderKey::Given(k) => k.clone(),
            SenderKey::Owned(v) => PublicKeyRef::Encoded(v),
        }
    }
}

/// The key that must have signed content from this sender (§6.1).
fn sender_signature_key<'a, 'k: 'a, K: Into<PublicKeyRef<'k>>>(
    content: &'a FramedContent,
    context: &GroupContext,
    member_key: impl FnOnce(u32) -> Option<K>,
) -> Result<SenderKey<'a>> {
    let encoded = |bytes: &'a [u8]| SenderKey::Given(PublicKeyRef::Encoded(bytes));
    let key = match (&content.sender, &content.content) {
        (Sender::Member(leaf), _) => member_key(*leaf).map(|k| SenderKey::Given(k.into())),
        (Sender::External(index), _) => {
            context.extensions.external_senders()?.and_then(|senders| {
                let sender = senders.into_iter().nth(usize::try_from(*index).ok()?)?;
                Some(SenderKey::Owned(sender.signature_key.0))
            })
        }
        (Sender::NewMemberProposal, Content::Proposal(Proposal::Add(add))) => {
            Some(encoded(add.key_package.leaf_node.signature_key.as_slice()))
        }
        (Sender::NewMemberCommit, Content::Commit(commit)) => commit
            .path
            .as_ref()
            .map(|path| encoded(path.leaf_node.signature_key.as_slice())),
        _ => None,
    };
    key.ok_or_else(|| Rule::UnknownSender.into())
}

/// `VerifyWithLabel(key, "FramedContentTBS", FramedContentTBS, signature)` (§6.1).
pub(super) fn verify_signature<'k, K: Into<PublicKeyRef<'k>>>(
    suite: &Suite,
    content: &AuthenticatedContent,
    context: &GroupContext,
    member_key: impl FnOnce(u32) -> Option<K>,
) -> Result<()> {
    let key = sender_signature_key(&content.content, context, member_key)?;
    let signs_context = content.content.sender.signs_group_context();
    let tbs = content.tbs_bytes(signs_context.then_some(context))?;
    verify_key_over(suite, content, &key.as_key(), &tbs)
}

/// [`verify_signature`] with the encoded FramedContentTBS already at hand.
fn verify_signature_over<'k, K: Into<PublicKeyRef<'k>>>(
    suite: &Suite,
    content: &AuthenticatedContent,
    tbs: &[u8],
    member_key: impl FnOnce(u32) -> Option<K>,
) -> Result<()> {
    let key = match content.content.sender {
        Sender::Member(leaf) => member_key(leaf).ok_or(Rule::UnknownSender)?,
        _ => {
            return Err(Error::Misuse(
                "a precomputed TBS is only for member senders",
            ))
        }
    };
    verify_key_over(suite, content, &key.into(), tbs)
}

fn verify_key_over(
    suite: &Suite,
    content: &AuthenticatedContent,
    key: &PublicKeyRef<'_>,
    tbs: &[u8],
) -> Result<()> {
    suite
        .verify_with_label_key(key, SIGN_LABEL, tbs, &content.auth.signature)
        .map_err(|e| match e {
            Error::Crypto(CryptoError::BadSignature) => Rule::ContentSignature.into(),
            other => other,
        })
}
