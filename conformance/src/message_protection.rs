//! `message-protection.json`: PublicMessage and PrivateMessage protection for proposals,
//! commits and application data (RFC 9420 §6.1–§6.3), in both directions.

use crate::util::{ensure, hex_field, u64_field};
use cohort::codec::{Bytes, Decode, Encode};
use cohort::crypto::{CipherSuite, Secret, SignaturePrivateKey, Suite};
use cohort::framing::{
    protect_private, protect_public, sign_content, unprotect_private, unprotect_public, Content,
    FramedContent, MLSMessage, MLSMessageBody, Padding, PrivateMessage, Sender, VerifiedContent,
    WireFormat,
};
use cohort::messages::{Commit, Extensions, GroupContext, Proposal, ProtocolVersion};
use cohort::schedule::{SecretTree, SecretTreeConfig};
use cohort::Error;
use serde_json::Value;

/// Test-vectors.md: "use the member with LeafIndex 1 as the sender" in a two-member tree.
const SENDER: u32 = 1;
const N_LEAVES: u32 = 2;

/// The vector's epoch, as a sender and a receiver see it.
struct Case {
    suite: Suite,
    context: GroupContext,
    signer: SignaturePrivateKey,
    signature_pub: Vec<u8>,
    encryption_secret: Secret,
    sender_data_secret: Secret,
    membership_key: Secret,
}

fn err(what: &str) -> impl FnOnce(Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

impl Case {
    fn member_key<'a>(&'a self) -> impl FnOnce(u32) -> Option<&'a [u8]> + 'a {
        move |leaf| (leaf == SENDER).then_some(self.signature_pub.as_slice())
    }

    /// "Initialize a secret tree for 2 members with the specified encryption_secret".
    fn tree(&self) -> SecretTree {
        SecretTree::new(
            self.suite,
            self.encryption_secret.clone(),
            N_LEAVES,
            SecretTreeConfig::default(),
        )
    }

    fn unprotect_pub(&self, message: &[u8], what: &str) -> Result<VerifiedContent, String> {
        let MLSMessageBody::PublicMessage(m) = decode_message(message, what)? else {
            return Err(format!("{what}: not a PublicMessage"));
        };
        unprotect_public(
            &self.suite,
            *m,
            &self.context,
            &self.membership_key,
            self.member_key(),
        )
        .map_err(err(what))
    }

    fn unprotect_priv(&self, message: &[u8], what: &str) -> Result<VerifiedContent, String> {
        let MLSMessageBody::PrivateMessage(m) = decode_message(message, what)? else {
            return Err(format!("{what}: not a PrivateMessage"));
        };
        unprotect_private(
            &self.suite,
            &m,
            &self.context,
            &self.sender_data_secret,
            &mut self.tree(),
            self.member_key(),
        )
        .map_err(err(what))
    }

    /// Sign `content` from leaf 1 for `wire_format`, with a confirmation tag for commits (its
    /// value is not what is under test here).
    fn sign(
        &self,
        wire_format: WireFormat,
        content: Content,
    ) -> Result<cohort::framing::AuthenticatedContent, Error> {
        let framed = FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender: Sender::Member(SENDER),
            authenticated_data: Bytes::default(),
            content,
        };
        let mut ac = sign_content(
            &self.suite,
            &self.signer,
            wire_format,
            framed,
            Some(&self.context),
        )?;
        if let Content::Commit(_) = ac.content.content {
            let tag = self.suite.mac(
                &vec![0; self.suite.hash_len()],
                &self.context.confirmed_transcript_hash,
            );
            ac.auth.confirmation_tag = Some(Bytes(tag));
        }
        Ok(ac)
    }

    /// Protect as PublicMessage, send through the MLSMessage codec and unprotect.
    fn public_round_trip(&self, content: &Content, what: &str) -> Result<(), String> {
        let ac = self
            .sign(WireFormat::PublicMessage, content.clone())
            .map_err(err(what))?;
        let m = protect_public(
            &self.suite,
            ac,
            Some(&self.context),
            Some(&self.membership_key),
        )
        .map_err(err(what))?;
        let wire = MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(m))).to_bytes();
        let v = self.unprotect_pub(&wire, what)?;
        ensure(&v.framed_content().content == content, what)
    }

    /// Protect as PrivateMessage with one tree, unprotect with a fresh one (the sender's
    /// own ratchet has deleted the key it used).
    fn private_round_trip(&self, content: &Content, what: &str) -> Result<(), String> {
        let ac = self
            .sign(WireFormat::PrivateMessage, content.clone())
            .map_err(err(what))?;
        let m: PrivateMessage = protect_private(
            &self.suite,
            &ac,
            &self.sender_data_secret,
            &mut self.tree(),
            Padding::ToMultipleOf(32),
        )
        .map_err(err(what))?;
        let wire = MLSMessage::new(MLSMessageBody::PrivateMessage(m)).to_bytes();
        let v = self.unprotect_priv(&wire, what)?;
        ensure(&v.framed_content().content == content, what)
    }
}

fn decode_message(bytes: &[u8], what: &str) -> Result<MLSMessageBody, String> {
    Ok(MLSMessage::decode_exact(bytes)
        .map_err(|e| format!("{what}: decode: {e:?}"))?
        .body)
}

/// Check one message-protection case.
pub fn check(case: &Value) -> Result<(), String> {
    let suite_id = CipherSuite(u64_field(case, "cipher_suite")? as u16);
    let suite = Suite::new(suite_id).map_err(|e| e.to_string())?;
    let c = Case {
        suite,
        context: GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: suite_id,
            group_id: Bytes(hex_field(case, "group_id")?),
            epoch: u64_field(case, "epoch")?,
            tree_hash: Bytes(hex_field(case, "tree_hash")?),
            confirmed_transcript_hash: Bytes(hex_field(case, "confirmed_transcript_hash")?),
            extensions: Extensions::new(),
        },
        signer: suite
            .signature_key_from_bytes(&hex_field(case, "signature_priv")?)
            .map_err(err("signature_priv"))?,
        signature_pub: hex_field(case, "signature_pub")?,
        encryption_secret: Secret::new(hex_field(case, "encryption_secret")?),
        sender_data_secret: Secret::new(hex_field(case, "sender_data_secret")?),
        membership_key: Secret::new(hex_field(case, "membership_key")?),
    };
    ensure(
        c.signer.public_key() == c.signature_pub.as_slice(),
        "signature_pub is the key of signature_priv",
    )?;

    let proposal = Proposal::decode_exact(&hex_field(case, "proposal")?)
        .map_err(|e| format!("proposal: {e:?}"))?;
    let commit =
        Commit::decode_exact(&hex_field(case, "commit")?).map_err(|e| format!("commit: {e:?}"))?;
    let contents = [
        ("proposal", Content::Proposal(proposal)),
        ("commit", Content::Commit(Box::new(commit))),
        (
            "application",
            Content::Application(Bytes(hex_field(case, "application")?)),
        ),
    ];

    for (name, content) in &contents {
        if let Content::Application(_) = content {
            // test-vectors.md: "protecting as a PublicMessage fails" for application data;
            // §6 requires PrivateMessage. Refused at signing and, for content signed by hand
            // for the other format, at protection.
            ensure(
                c.sign(WireFormat::PublicMessage, content.clone()).is_err(),
                "application data signed for PublicMessage",
            )?;
            let mut ac = c
                .sign(WireFormat::PrivateMessage, content.clone())
                .map_err(err(name))?;
            ac.wire_format = WireFormat::PublicMessage;
            ensure(
                protect_public(&suite, ac, Some(&c.context), Some(&c.membership_key)).is_err(),
                "application data protected as PublicMessage",
            )?;
        } else {
            let key = format!("{name}_pub");
            let v = c.unprotect_pub(&hex_field(case, &key)?, &key)?;
            ensure(&v.framed_content().content == content, &key)?;
            ensure(v.sender() == Sender::Member(SENDER), &key)?;
            c.public_round_trip(content, &format!("{name} as PublicMessage"))?;
        }

        let key = format!("{name}_priv");
        let v = c.unprotect_priv(&hex_field(case, &key)?, &key)?;
        ensure(&v.framed_content().content == content, &key)?;
        ensure(v.sender() == Sender::Member(SENDER), &key)?;
        c.private_round_trip(content, &format!("{name} as PrivateMessage"))?;
    }
    Ok(())
}
