//! Processing received messages (RFC 9420 §6, §12.1, §12.4.2) into typed events, and staging
//! commits so the application can inspect them before they take effect.

use super::credential::same_client;
use super::proposals::{
    check_credential, check_new_leaves, proposal_ref, resolve_commit, CachedProposal,
    ResolvedCommit,
};
use super::psk::{NoPsks, PskStore};
use super::state::{past_signature_key, Group, PastEpoch};
use crate::codec::Bytes;
use crate::crypto::Secret;
use crate::error::{Error, Result, Rule};
use crate::framing::{
    unprotect_private_staged, unprotect_public, Content, MLSMessage, MLSMessageBody, Sender,
    VerifiedContent,
};
use crate::messages::{Commit, GroupContext, LeafNode, Proposal, ReInit};
use crate::schedule::key_schedule::external_init_receiver;
use crate::schedule::transcript::{confirmed_transcript_hash, interim_transcript_hash};
use crate::schedule::{EpochSecrets, JoinerSecret, SecretTree};
use crate::tree::ratchet_tree::RatchetTree;
use crate::tree::treekem::TreePrivateKeys;

/// What a received message turned out to be.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReceivedMessage {
    /// Application data from a member.
    Application {
        /// The sender's leaf index.
        sender: u32,
        /// The plaintext.
        data: Vec<u8>,
        /// The sender's `authenticated_data` (AAD).
        authenticated_data: Vec<u8>,
        /// The epoch it was sent in (may be a kept past epoch).
        epoch: u64,
    },
    /// A proposal, now cached until a commit references it.
    Proposal(Box<CachedProposal>),
    /// A commit, verified and staged: inspect it, then [`Group::merge_staged_commit`].
    Commit(Box<StagedCommit>),
}

/// Who committed and what a staged commit changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSummary {
    /// The committer: a member, or a new member joining by external commit.
    pub sender: Sender,
    /// Leaf indices and leaves of members added.
    pub added: Vec<(u32, LeafNode)>,
    /// Leaf indices and leaves of members removed.
    pub removed: Vec<(u32, LeafNode)>,
    /// Leaf indices of members whose leaves changed by Update or by the commit's path.
    pub updated: Vec<u32>,
    /// Whether the GroupContext extensions changed.
    pub extensions_changed: bool,
    /// A ReInit to act on: the group ends after this commit (§11.2).
    pub reinit: Option<ReInit>,
    /// Whether this commit removes us.
    pub removes_us: bool,
}

/// A verified commit and the epoch it leads to, not yet in effect.
#[derive(Debug, Clone)]
pub struct StagedCommit {
    /// What the commit does.
    pub summary: CommitSummary,
    pub(crate) next: NextEpoch,
}

/// Everything that changes at an epoch boundary.
#[derive(Debug, Clone)]
pub(crate) struct NextEpoch {
    pub(crate) context: GroupContext,
    pub(crate) tree: RatchetTree,
    pub(crate) private: TreePrivateKeys,
    pub(crate) secrets: EpochSecrets,
    pub(crate) interim_transcript_hash: Vec<u8>,
    pub(crate) confirmation_tag: Vec<u8>,
    /// Leaves the commit adds, removes or replaces, sorted: what a kept past epoch must
    /// remember of the old tree (its senders' signature keys). Kept apart from the public
    /// summary so that the application cannot change it.
    pub(crate) changed_leaves: Vec<u32>,
}

impl NextEpoch {
    /// The sorted leaf indices `summary` says the commit touches.
    pub(crate) fn changed_leaves_of(summary: &CommitSummary) -> Vec<u32> {
        let mut leaves: Vec<u32> = summary
            .added
            .iter()
            .chain(&summary.removed)
            .map(|(i, _)| *i)
            .chain(summary.updated.iter().copied())
            .collect();
        leaves.sort_unstable();
        leaves.dedup();
        leaves
    }
}

impl Group {
    /// [`Group::process_message`] for a group that uses no external PSKs and resumes no
    /// other group: its own resumption PSKs are still found.
    pub fn process(&mut self, message: MLSMessage) -> Result<ReceivedMessage> {
        self.process_message(message, &NoPsks)
    }

    /// Process a message from the Delivery Service.
    ///
    /// Application messages and proposals take effect at once; a commit is returned staged
    /// and takes effect only on [`Group::merge_staged_commit`]. Our own commit coming back is
    /// recognised and staged from the pending state.
    pub fn process_message(
        &mut self,
        message: MLSMessage,
        psks: &dyn PskStore,
    ) -> Result<ReceivedMessage> {
        if let Some(echo) = self.own_message_echo(&message)? {
            return Ok(echo);
        }
        let verified = match message.body {
            MLSMessageBody::PublicMessage(m) => {
                if m.content.epoch != self.context.epoch {
                    return Err(Rule::WrongGroupOrEpoch.into());
                }
                let tree = &self.tree;
                unprotect_public(
                    &self.suite,
                    *m,
                    &self.context,
                    &self.secrets.membership_key,
                    |i| tree.member_signature_key(i),
                )?
            }
            MLSMessageBody::PrivateMessage(m) => {
                if m.epoch != self.context.epoch {
                    return self.process_past_epoch_private(&m);
                }
                let tree = &self.tree;
                let (verified, key) = unprotect_private_staged(
                    &self.suite,
                    &m,
                    &self.context,
                    &self.secrets.sender_data_secret,
                    &self.secret_tree,
                    |i| tree.member_signature_key(i),
                )?;
                // The key is deleted only once the message is accepted: a rejection
                // leaves the group as it was.
                let received = self.process_verified(verified, psks)?;
                self.secret_tree.commit_key(key);
                return Ok(received);
            }
            _ => {
                return Err(Error::Misuse(
                    "only Public and Private messages are processed by a group",
                ))
            }
        };
        self.process_verified(verified, psks)
    }

    /// Our own pending commit or proposal coming back from the Delivery Service (§12.4):
    /// recognised by its bytes, since we cannot decrypt our own PrivateMessages (their keys
    /// are consumed when sending, §9.2).
    fn own_message_echo(&self, message: &MLSMessage) -> Result<Option<ReceivedMessage>> {
        let ours = self.pending_commit.is_some() || !self.own_proposals.is_empty();
        if !ours || message.epoch() != Some(self.context.epoch) {
            return Ok(None);
        }
        let digest = self.message_digest(message);
        if let Some(pending) = &self.pending_commit {
            if pending.message_digest == digest {
                return Ok(Some(ReceivedMessage::Commit(Box::new(
                    pending.staged.clone(),
                ))));
            }
        }
        let cached = self
            .own_proposals
            .iter()
            .find(|(d, _)| *d == digest)
            .and_then(|(_, r)| self.proposals.iter().find(|c| c.reference == *r));
        Ok(cached.map(|c| ReceivedMessage::Proposal(Box::new(c.clone()))))
    }

    /// A PrivateMessage for a kept past epoch: only application data is accepted (§15.3).
    fn process_past_epoch_private(
        &mut self,
        m: &crate::framing::PrivateMessage,
    ) -> Result<ReceivedMessage> {
        let k = self
            .past_epochs
            .iter()
            .position(|p| p.context.epoch == m.epoch && p.context.group_id == m.group_id)
            .ok_or(Rule::WrongGroupOrEpoch)?;
        let (head, later) = self.past_epochs.make_contiguous().split_at_mut(k + 1);
        let past = head.last_mut().ok_or(Rule::WrongGroupOrEpoch)?;
        let PastEpoch {
            context,
            sender_data_secret,
            secret_tree,
            changed_signature_keys,
        } = past;
        let deltas: Vec<&[(u32, Option<Bytes>)]> = std::iter::once(&**changed_signature_keys)
            .chain(later.iter().map(|p| p.changed_signature_keys.as_slice()))
            .collect();
        // The header's content type is bound by both AADs: a handshake message of a past
        // epoch is refused before anything is decrypted.
        if m.content_type != crate::framing::ContentType::Application {
            return Err(Rule::WrongGroupOrEpoch.into());
        }
        let tree = &self.tree;
        let (verified, key) = unprotect_private_staged(
            &self.suite,
            m,
            context,
            sender_data_secret,
            secret_tree,
            |i| past_signature_key(deltas.iter().copied(), tree, i),
        )?;
        let content = verified.framed_content();
        match (&content.content, content.sender) {
            (Content::Application(data), Sender::Member(sender)) => {
                let received = ReceivedMessage::Application {
                    sender,
                    data: data.to_vec(),
                    authenticated_data: content.authenticated_data.to_vec(),
                    epoch: m.epoch,
                };
                secret_tree.commit_key(key);
                Ok(received)
            }
            _ => Err(Rule::WrongGroupOrEpoch.into()),
        }
    }

    fn process_verified(
        &mut self,
        verified: VerifiedContent,
        psks: &dyn PskStore,
    ) -> Result<ReceivedMessage> {
        let content = verified.framed_content();
        match &content.content {
            Content::Application(data) => {
                let Sender::Member(sender) = content.sender else {
                    return Err(Rule::InvalidSender.into());
                };
                Ok(ReceivedMessage::Application {
                    sender,
                    data: data.to_vec(),
                    authenticated_data: content.authenticated_data.to_vec(),
                    epoch: content.epoch,
                })
            }
            Content::Proposal(proposal) => {
                Self::check_proposal_sender(proposal, content.sender)?;
                let cached = CachedProposal {
                    reference: proposal_ref(&self.suite, verified.authenticated_content()),
                    proposal: proposal.clone(),
                    sender: content.sender,
                };
                // The same proposal twice (e.g. our own, echoed) is cached once.
                if !self
                    .proposals
                    .iter()
                    .any(|c| c.reference == cached.reference)
                {
                    self.proposals.push(cached.clone());
                }
                Ok(ReceivedMessage::Proposal(Box::new(cached)))
            }
            Content::Commit(commit) => {
                if content.sender == Sender::Member(self.own_leaf) {
                    // §12.4: our own commit echoed by the DS is staged from what we kept;
                    // any other commit in our name is not ours to apply.
                    return match &self.pending_commit {
                        Some(p) if p.content == *verified.authenticated_content() => {
                            Ok(ReceivedMessage::Commit(Box::new(p.staged.clone())))
                        }
                        _ => Err(Rule::OwnCommitMismatch.into()),
                    };
                }
                let staged = self.stage_commit(&verified, commit, psks)?;
                Ok(ReceivedMessage::Commit(Box::new(staged)))
            }
        }
    }

    /// §12.1, §12.1.8: who may send which proposal.
    pub(crate) fn check_proposal_sender(proposal: &Proposal, sender: Sender) -> Result<()> {
        let ok = match sender {
            Sender::Member(_) => !matches!(proposal, Proposal::ExternalInit(_)),
            // §12.1.8: external senders may propose Add, Remove, PSK, ReInit and GCE.
            Sender::External(_) => matches!(
                proposal,
                Proposal::Add(_)
                    | Proposal::Remove(_)
                    | Proposal::PreSharedKey(_)
                    | Proposal::ReInit(_)
                    | Proposal::GroupContextExtensions(_)
            ),
            // §12.1.8: a new member may only propose adding itself.
            Sender::NewMemberProposal => matches!(proposal, Proposal::Add(_)),
            Sender::NewMemberCommit => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Rule::InvalidProposalSender.into())
        }
    }

    /// Verify a commit and derive the epoch it leads to (§12.4.2).
    fn stage_commit(
        &self,
        verified: &VerifiedContent,
        commit: &Commit,
        psks: &dyn PskStore,
    ) -> Result<StagedCommit> {
        let sender = verified.sender();
        let ResolvedCommit {
            committer,
            list,
            policy,
        } = resolve_commit(commit, sender, &self.proposals, &self.config)?;
        let (mut tree, mut context, applied) = self.stage_proposals(&list, committer, &policy)?;
        if applied.path_required && commit.path.is_none() {
            return Err(Rule::PathRequired.into());
        }
        let mut changed = applied.added.clone();
        changed.extend(&applied.updated);
        let removes_us = applied.removed.iter().any(|(i, _)| *i == self.own_leaf);

        context.epoch = context
            .epoch
            .checked_add(1)
            .ok_or(Error::Misuse("epoch counter exhausted"))?;
        let mut private = self.private.clone();
        let mut updated = applied.updated.clone();
        let commit_secret = match &commit.path {
            Some(path) => {
                check_credential(&policy, &path.leaf_node)?;
                // §7.3, §12.4.2: the new leaf's signature key is unique (checked before
                // the path is used; the full leaf checks follow once it is merged).
                let holder = tree.find_signature_key(&path.leaf_node.signature_key);
                if holder.is_some() && holder != committer {
                    return Err(Rule::DuplicateSignatureKey.into());
                }
                let committer_leaf = match committer {
                    Some(leaf) => leaf,
                    None => {
                        check_resync(&applied.removed, &path.leaf_node, &self.config)?;
                        // §12.4.2: an external joiner takes the leftmost blank leaf.
                        tree.add_leaf(path.leaf_node.clone())?
                    }
                };
                if removes_us {
                    // A removed member cannot decrypt the path; it only needs the summary.
                    Secret::zero(self.suite.hash_len())
                } else {
                    let secret = crate::tree::treekem::apply_update_path(
                        &self.suite,
                        &mut tree,
                        &mut private,
                        committer_leaf,
                        path,
                        &context,
                        &applied.added,
                    )?;
                    changed.push(committer_leaf);
                    updated.push(committer_leaf);
                    secret
                }
            }
            None => Secret::zero(self.suite.hash_len()),
        };
        if !removes_us {
            check_new_leaves(&tree, &context, &changed)?;
        }
        // A committed Update of ours switches our leaf key to the one we proposed.
        private.sync_with_tree(&tree);
        context.tree_hash = Bytes(tree.tree_hash());

        // §8.2: transcript hashes over the commit's AuthenticatedContent.
        let auth = verified.authenticated_content();
        let confirmed = confirmed_transcript_hash(
            &self.suite,
            &self.interim_transcript_hash,
            &auth.confirmed_transcript_hash_input(),
        );
        context.confirmed_transcript_hash = Bytes(confirmed.clone());

        let psk_secret = super::psk::resolve_psk_secret(
            &self.suite,
            &applied.psks,
            psks,
            &self.context.group_id,
            &|e| self.own_resumption_psk(e),
        )?;
        let init_secret = match &applied.external_init {
            Some(init) => {
                let external_priv = self.secrets.external_key_pair(&self.suite)?;
                external_init_receiver(&self.suite, &external_priv, &init.kem_output)?
            }
            None => self.secrets.init_secret.clone(),
        };
        let context_bytes = crate::codec::Encode::to_bytes(&context);
        let joiner =
            JoinerSecret::derive(&self.suite, &init_secret, &commit_secret, &context_bytes)?;
        let secrets = joiner.epoch_secrets(&self.suite, &psk_secret, &context_bytes)?;
        let tag = auth
            .auth
            .confirmation_tag
            .as_ref()
            .ok_or(Rule::ConfirmationTag)?;
        if !removes_us {
            secrets.verify_confirmation_tag(&self.suite, &confirmed, tag)?;
        }
        let interim = interim_transcript_hash(&self.suite, &confirmed, tag);

        let added = applied
            .added
            .iter()
            .filter_map(|&i| tree.leaf(i).map(|l| (i, l.clone())))
            .collect();
        let summary = CommitSummary {
            sender,
            added,
            removed: applied.removed,
            updated,
            extensions_changed: applied.extensions_changed,
            reinit: applied.reinit,
            removes_us,
        };
        let changed_leaves = NextEpoch::changed_leaves_of(&summary);
        Ok(StagedCommit {
            summary,
            next: NextEpoch {
                context,
                tree,
                private,
                secrets,
                interim_transcript_hash: interim,
                confirmation_tag: tag.to_vec(),
                changed_leaves,
            },
        })
    }

    /// Make a staged commit the current epoch (§12.4.2, last step). The previous epoch's
    /// message keys are kept for late application messages, up to the configured count.
    pub fn merge_staged_commit(&mut self, staged: StagedCommit) -> Result<()> {
        if staged.next.context.epoch != self.context.epoch + 1
            || staged.next.context.group_id != self.context.group_id
        {
            return Err(Error::Misuse("staged commit is not for this epoch"));
        }
        let NextEpoch {
            context,
            tree,
            private,
            secrets,
            interim_transcript_hash,
            confirmation_tag,
            mut changed_leaves,
        } = staged.next;
        let n_leaves = tree.n_leaves();
        let secret_tree = SecretTree::new(
            self.suite,
            secrets.encryption_secret.clone(),
            n_leaves,
            self.config.secret_tree,
        );
        let old_tree = std::mem::replace(&mut self.tree, tree);
        let old_context = std::mem::replace(&mut self.context, context);
        let old_secret_tree = std::mem::replace(&mut self.secret_tree, secret_tree);
        let old_secrets = std::mem::replace(&mut self.secrets, secrets);
        if self.config.max_past_epochs > 0 {
            // Restored blobs are not trusted to be sorted: the lookup binary-searches.
            changed_leaves.sort_unstable();
            changed_leaves.dedup();
            let changed_signature_keys = changed_leaves
                .into_iter()
                .map(|i| (i, old_tree.leaf(i).map(|l| l.signature_key.clone())))
                .collect();
            self.past_epochs.push_back(PastEpoch {
                context: old_context.clone(),
                sender_data_secret: old_secrets.sender_data_secret.clone(),
                secret_tree: old_secret_tree,
                changed_signature_keys,
            });
            while self.past_epochs.len() > self.config.max_past_epochs {
                self.past_epochs.pop_front();
            }
        }
        if self.config.max_resumption_psks > 0 {
            self.resumption_psks
                .push_back((old_context.epoch, old_secrets.resumption_psk.clone()));
            while self.resumption_psks.len() > self.config.max_resumption_psks {
                self.resumption_psks.pop_front();
            }
        }
        // The old tree shared all but the changed paths with the new one; once it is gone
        // the new tree owns its key tables alone and folds its overlays in without a copy.
        drop(old_tree);
        self.tree.compact();
        self.private = private;
        self.interim_transcript_hash = interim_transcript_hash;
        self.confirmation_tag = confirmation_tag;
        self.proposals.clear();
        self.own_proposals.clear();
        self.pending_update_keys.clear();
        self.pending_commit = None;
        if staged.summary.removes_us || staged.summary.reinit.is_some() {
            self.active = false;
        }
        self.reinit = staged.summary.reinit;
        Ok(())
    }
}

/// §12.2, §12.4.3.2: a resync external commit removes the joiner's old leaf, so the new
/// leaf must name the same client (per the application's `same_client`, credential
/// equality by default) and, as for an Update of that leaf, carry a fresh encryption key.
pub(crate) fn check_resync(
    removed: &[(u32, LeafNode)],
    new_leaf: &LeafNode,
    config: &super::config::GroupConfig,
) -> Result<()> {
    for (_, old) in removed {
        let validator = config.credential_validator.as_ref();
        if !same_client(validator, &old.credential, &new_leaf.credential) {
            return Err(Rule::ResyncCredentialMismatch.into());
        }
        if old.encryption_key == new_leaf.encryption_key {
            return Err(Rule::EncryptionKeyReused.into());
        }
    }
    Ok(())
}
