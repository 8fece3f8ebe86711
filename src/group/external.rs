//! Joining by external commit (RFC 9420 §12.4.3.2) and sending proposals from outside the
//! group (§12.1.8): preconfigured external senders and new members proposing their own Add.

use super::config::GroupConfig;
use super::create::{leaf_capabilities, EpochState};
use super::credential::same_client;
use super::join::joined_tree;
use super::key_package::{unix_now, KeyPackageSecrets};
use super::proposals::{apply_proposals, check_new_leaves, ProposalPolicy};
use super::psk::{resolve_psk_secret, PskStore};
use super::state::Group;
use crate::codec::{Bytes, Encode};
use crate::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use crate::error::{Error, Result, Rule};
use crate::framing::{
    protect_public, sign_content, Content, FramedContent, MLSMessage, MLSMessageBody, Sender,
    WireFormat,
};
use crate::messages::{
    Add, Capabilities, Commit, Credential, Extensions, ExternalInit, GroupInfo, LeafNode,
    LeafNodeSourceData, PreSharedKey, PreSharedKeyID, Proposal, ProposalOrRef, RatchetTreeWire,
    Remove,
};
use crate::schedule::key_schedule::external_init_sender;
use crate::schedule::transcript::{confirmed_transcript_hash, interim_transcript_hash};
use crate::schedule::JoinerSecret;
use crate::tree::treekem::generate_update_path_with_leaf;

/// Choices for an external commit (§12.4.3.2).
#[derive(Debug, Clone, Default)]
pub struct ExternalCommitOptions {
    /// The ratchet tree, when the GroupInfo does not carry the `ratchet_tree` extension.
    pub ratchet_tree: Option<RatchetTreeWire>,
    /// For a resync: the leaf of our previous appearance in the group, removed by the same
    /// commit. Its credential must name the same client as ours (§12.2).
    pub resync_remove: Option<u32>,
    /// PSKs to inject (§8.4), e.g. a resumption PSK proving earlier membership.
    pub psks: Vec<PreSharedKeyID>,
    /// Application data authenticated with the commit.
    pub authenticated_data: Vec<u8>,
    /// Extra capabilities of our leaf beyond what is in use.
    pub capabilities: Capabilities,
    /// LeafNode extensions of our leaf.
    pub leaf_extensions: Extensions,
    /// The current time for lifetime checks of the tree's leaves; `None` uses the system
    /// clock if `config.check_received_lifetimes` is set.
    pub now: Option<u64>,
    /// Our policy in the group, including the credential check applied to every leaf.
    pub config: GroupConfig,
}

impl Group {
    /// Join a group by external commit (§12.4.3.2) from a GroupInfo message (one with the
    /// `external_pub` extension, as [`Group::group_info`] produces).
    ///
    /// Returns our state in the new epoch and the commit to send to the group. If the
    /// Delivery Service rejects the commit (another commit won the epoch), drop the returned
    /// group and retry with a fresh GroupInfo. Do not feed the commit back to the returned
    /// group: it is already in the epoch the commit starts.
    pub fn join_external(
        group_info: &MLSMessage,
        credential: Credential,
        signer: SignaturePrivateKey,
        psks: &dyn PskStore,
        options: ExternalCommitOptions,
    ) -> Result<(Group, MLSMessage)> {
        match &group_info.body {
            MLSMessageBody::GroupInfo(gi) => {
                Self::join_external_group_info(gi, credential, signer, psks, options)
            }
            _ => Err(Error::Misuse("not a GroupInfo message")),
        }
    }

    /// [`Group::join_external`] from a decoded GroupInfo.
    pub fn join_external_group_info(
        group_info: &GroupInfo,
        credential: Credential,
        signer: SignaturePrivateKey,
        psks: &dyn PskStore,
        options: ExternalCommitOptions,
    ) -> Result<(Group, MLSMessage)> {
        let old_context = &group_info.group_context;
        let suite = Suite::new(old_context.cipher_suite)?;
        // §12.4.3.2: the joiner needs the tree, verified like a Welcome joiner's (§12.4.3.1).
        let mut tree = joined_tree(
            &suite,
            group_info,
            options.ratchet_tree,
            options.now,
            &options.config,
        )?;
        let external_pub = group_info
            .extensions
            .external_pub()
            .map_err(Error::Decode)?
            .ok_or(Rule::ExternalPubMissing)?;
        let (kem_output, init_secret) = external_init_sender(&suite, &external_pub.external_pub)?;

        // §12.2: ExternalInit, at most one Remove (of our old self), PSKs; all by value.
        let mut proposals = vec![Proposal::ExternalInit(ExternalInit {
            kem_output: Bytes(kem_output),
        })];
        if let Some(old) = options.resync_remove {
            let old_leaf = tree.leaf(old).ok_or(Rule::RemovedLeafBlank)?;
            let validator = options.config.credential_validator.as_ref();
            if !same_client(validator, &old_leaf.credential, &credential) {
                return Err(Rule::ResyncCredentialMismatch.into());
            }
            proposals.push(Proposal::Remove(Remove { removed: old }));
        }
        proposals.extend(
            options
                .psks
                .into_iter()
                .map(|psk| Proposal::PreSharedKey(PreSharedKey { psk })),
        );
        let list: Vec<_> = proposals
            .iter()
            .map(|p| (p.clone(), Sender::NewMemberCommit))
            .collect();
        let policy = ProposalPolicy {
            validator: options.config.credential_validator.as_ref(),
            now: Some(unix_now()),
            resumption_usage: None,
        };
        let mut context = old_context.clone();
        let applied = apply_proposals(&suite, &mut tree, &mut context, &list, None, &policy)?;
        context.epoch = context
            .epoch
            .checked_add(1)
            .ok_or(Error::Misuse("epoch counter exhausted"))?;

        // §12.4.1: the joiner takes the leftmost blank leaf of the new tree; the placeholder
        // leaf is replaced by the signed one the UpdatePath carries.
        let capabilities = leaf_capabilities(
            &suite,
            &credential,
            &options.capabilities,
            &context.extensions,
            &options.leaf_extensions,
        );
        let template = LeafNode {
            encryption_key: Bytes::default(),
            signature_key: Bytes(signer.public_key().to_vec()),
            credential,
            capabilities,
            leaf_node_source: LeafNodeSourceData::Commit(Bytes::default()),
            extensions: options.leaf_extensions,
            signature: Bytes::default(),
        };
        // §7.3: our signature key must be new to the group.
        if tree.find_signature_key(signer.public_key()).is_some() {
            return Err(Rule::DuplicateSignatureKey.into());
        }
        let own_leaf = tree.add_leaf(template.clone())?;
        let generated = generate_update_path_with_leaf(
            &suite,
            &mut tree,
            own_leaf,
            template,
            &signer,
            &context,
            &[],
        )?;
        check_new_leaves(&tree, &context, &[own_leaf])?;
        context.tree_hash = Bytes(tree.tree_hash());

        let commit = Commit {
            proposals: proposals.into_iter().map(ProposalOrRef::Proposal).collect(),
            path: Some(generated.update_path),
        };
        let framed = FramedContent {
            group_id: old_context.group_id.clone(),
            epoch: old_context.epoch,
            sender: Sender::NewMemberCommit,
            authenticated_data: Bytes(options.authenticated_data),
            content: Content::Commit(Box::new(commit)),
        };
        // §6.1: new_member_commit signatures cover the (old) GroupContext.
        let mut auth = sign_content(
            &suite,
            &signer,
            WireFormat::PublicMessage,
            framed,
            Some(old_context),
        )?;
        // §8.2: the interim hash of the epoch joined comes from the GroupInfo.
        let interim = interim_transcript_hash(
            &suite,
            &old_context.confirmed_transcript_hash,
            &group_info.confirmation_tag,
        );
        let confirmed =
            confirmed_transcript_hash(&suite, &interim, &auth.confirmed_transcript_hash_input());
        context.confirmed_transcript_hash = Bytes(confirmed.clone());
        let psk_secret = resolve_psk_secret(&suite, &applied.psks, psks, &[], &|_| None)?;
        let context_bytes = context.to_bytes();
        let joiner = JoinerSecret::derive(
            &suite,
            &init_secret,
            &generated.commit_secret,
            &context_bytes,
        )?;
        let secrets = joiner.epoch_secrets(&suite, &psk_secret, &context_bytes)?;
        let tag = secrets.confirmation_tag(&suite, &confirmed);
        auth.auth.confirmation_tag = Some(Bytes(tag.clone()));
        let new_interim = interim_transcript_hash(&suite, &confirmed, &tag);
        // §12.4.3.2: external commits are PublicMessages without a membership tag.
        let message = MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(protect_public(
            &suite, auth, None, None,
        )?)));
        let group = Group::assemble(
            suite,
            options.config,
            signer,
            EpochState {
                context,
                tree,
                own_leaf,
                private: generated.private,
                secrets,
                interim_transcript_hash: new_interim,
                confirmation_tag: tag,
            },
        );
        Ok((group, message))
    }

    /// Ask to be added to a group (§12.1.8, sender `new_member_proposal`): an Add of our
    /// own KeyPackage for the group and epoch a member must be in to accept it. A member
    /// who commits it sends us a Welcome.
    pub fn new_member_proposal(
        group_id: &[u8],
        epoch: u64,
        key_package: &KeyPackageSecrets,
        authenticated_data: &[u8],
    ) -> Result<MLSMessage> {
        let suite = Suite::new(key_package.key_package.cipher_suite)?;
        let proposal = Proposal::Add(Box::new(Add {
            key_package: key_package.key_package.clone(),
        }));
        external_message(
            &suite,
            &key_package.signer,
            group_id,
            epoch,
            Sender::NewMemberProposal,
            proposal,
            authenticated_data,
        )
    }
}

/// A preconfigured external sender (§12.1.8): the party whose signature key is entry
/// `sender_index` of a group's `external_senders` extension, proposing Add, Remove, PSK,
/// ReInit or GroupContextExtensions.
#[derive(Debug, Clone)]
pub struct ExternalProposer {
    suite: Suite,
    sender_index: u32,
    signer: SignaturePrivateKey,
}

impl ExternalProposer {
    /// An external sender of `cipher_suite` groups, listed at `sender_index` in their
    /// `external_senders` extension.
    pub fn new(
        cipher_suite: CipherSuite,
        sender_index: u32,
        signer: SignaturePrivateKey,
    ) -> Result<Self> {
        Ok(ExternalProposer {
            suite: Suite::new(cipher_suite)?,
            sender_index,
            signer,
        })
    }

    /// A signed proposal for `group_id` at `epoch`, as a PublicMessage (§12.1.8: external
    /// senders have no group keys). Proposal types an external sender may not send are
    /// refused here as a receiver would refuse them.
    pub fn propose(
        &self,
        group_id: &[u8],
        epoch: u64,
        proposal: Proposal,
        authenticated_data: &[u8],
    ) -> Result<MLSMessage> {
        external_message(
            &self.suite,
            &self.signer,
            group_id,
            epoch,
            Sender::External(self.sender_index),
            proposal,
            authenticated_data,
        )
    }
}

/// Sign and frame a proposal from outside the group (§6.1: no GroupContext in the signed
/// content, §6.2: no membership tag).
fn external_message(
    suite: &Suite,
    signer: &SignaturePrivateKey,
    group_id: &[u8],
    epoch: u64,
    sender: Sender,
    proposal: Proposal,
    authenticated_data: &[u8],
) -> Result<MLSMessage> {
    let framed = FramedContent {
        group_id: Bytes(group_id.to_vec()),
        epoch,
        sender,
        authenticated_data: Bytes(authenticated_data.to_vec()),
        content: Content::Proposal(proposal),
    };
    let auth = sign_content(suite, signer, WireFormat::PublicMessage, framed, None)?;
    let message = protect_public(suite, auth, None, None)?;
    Ok(MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(
        message,
    ))))
}
