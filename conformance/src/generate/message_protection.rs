//! `message-protection.json`: a random proposal, commit and application message from leaf 1
//! of a two-member group, protected as PublicMessage (not the application data) and as
//! PrivateMessage with random epoch secrets (RFC 9420 §6.1–§6.3).

use super::{bytes, err, hx, key_package, rand_vec, random_commit, random_context};
use super::{random_proposal, urange};
use cohort::codec::{Bytes, Encode};
use cohort::crypto::{Secret, SignaturePrivateKey, Suite};
use cohort::framing::{
    protect_private, protect_public, sign_content, AuthenticatedContent, Content, FramedContent,
    MLSMessage, MLSMessageBody, Padding, Sender, WireFormat,
};
use cohort::messages::GroupContext;
use cohort::schedule::{SecretTree, SecretTreeConfig};
use serde_json::{json, Value};

/// test-vectors.md: "use the member with LeafIndex 1 as the sender".
const SENDER: u32 = 1;

/// The epoch the messages are sent in.
struct Epoch {
    context: GroupContext,
    signer: SignaturePrivateKey,
    encryption_secret: Secret,
    sender_data_secret: Secret,
    membership_key: Secret,
}

impl Epoch {
    /// Sign `content` from leaf 1 with random authenticated data; commits get a confirmation
    /// tag (a MAC under a random key: its value is not under test here).
    fn sign(
        &self,
        suite: &Suite,
        wire_format: WireFormat,
        content: &Content,
    ) -> Result<AuthenticatedContent, String> {
        let framed = FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender: Sender::Member(SENDER),
            authenticated_data: Bytes(rand_vec(suite, 0, 16)?),
            content: content.clone(),
        };
        let mut ac = sign_content(
            suite,
            &self.signer,
            wire_format,
            framed,
            Some(&self.context),
        )
        .map_err(err("sign"))?;
        if let Content::Commit(_) = content {
            let key = bytes(suite, suite.hash_len())?;
            ac.auth.confirmation_tag = Some(Bytes(
                suite.mac(&key, &self.context.confirmed_transcript_hash),
            ));
        }
        Ok(ac)
    }

    /// The encoded MLSMessage(PublicMessage).
    fn public(&self, suite: &Suite, content: &Content) -> Result<Vec<u8>, String> {
        let ac = self.sign(suite, WireFormat::PublicMessage, content)?;
        let m = protect_public(suite, ac, Some(&self.context), Some(&self.membership_key))
            .map_err(err("protect_public"))?;
        Ok(MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(m))).to_bytes())
    }

    /// The encoded MLSMessage(PrivateMessage), from a fresh two-leaf secret tree (as the
    /// checker initialises one per message) with random padding.
    fn private(&self, suite: &Suite, content: &Content) -> Result<Vec<u8>, String> {
        let ac = self.sign(suite, WireFormat::PrivateMessage, content)?;
        let mut tree = SecretTree::new(
            *suite,
            self.encryption_secret.clone(),
            2,
            SecretTreeConfig::default(),
        );
        let padding = Padding::ToMultipleOf(urange(suite, 0, 64)? as u32);
        let m = protect_private(suite, &ac, &self.sender_data_secret, &mut tree, padding)
            .map_err(err("protect_private"))?;
        Ok(MLSMessage::new(MLSMessageBody::PrivateMessage(m)).to_bytes())
    }
}

/// One case for `suite`.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let nh = suite.hash_len();
    let e = Epoch {
        context: random_context(suite)?,
        signer: suite
            .generate_signature_key_pair()
            .map_err(err("signature key"))?,
        encryption_secret: Secret::new(bytes(suite, nh)?),
        sender_data_secret: Secret::new(bytes(suite, nh)?),
        membership_key: Secret::new(bytes(suite, nh)?),
    };
    let kp = key_package(suite)?;
    let proposal = random_proposal(suite, Some(&kp.key_package))?;
    let commit = random_commit(suite, Some(&kp.key_package))?;
    let application = rand_vec(suite, 0, 64)?;
    let p = Content::Proposal(proposal.clone());
    let c = Content::Commit(Box::new(commit.clone()));
    let a = Content::Application(Bytes(application.clone()));

    Ok(json!({
        "cipher_suite": suite.id().0,
        "group_id": hx(&e.context.group_id),
        "epoch": e.context.epoch,
        "tree_hash": hx(&e.context.tree_hash),
        "confirmed_transcript_hash": hx(&e.context.confirmed_transcript_hash),
        "signature_priv": hx(e.signer.to_bytes().as_bytes()),
        "signature_pub": hx(e.signer.public_key()),
        "encryption_secret": hx(e.encryption_secret.as_bytes()),
        "sender_data_secret": hx(e.sender_data_secret.as_bytes()),
        "membership_key": hx(e.membership_key.as_bytes()),
        "proposal": hx(&proposal.to_bytes()),
        "proposal_pub": hx(&e.public(suite, &p)?),
        "proposal_priv": hx(&e.private(suite, &p)?),
        "commit": hx(&commit.to_bytes()),
        "commit_pub": hx(&e.public(suite, &c)?),
        "commit_priv": hx(&e.private(suite, &c)?),
        "application": hx(&application),
        "application_priv": hx(&e.private(suite, &a)?),
    }))
}
