//! Creating commits (RFC 9420 §12.4.1), the pending commit, and GroupInfo export
//! (§12.4.3).

use super::config::GroupConfig;
use super::key_package::unix_now;
use super::process::{CommitSummary, NextEpoch, StagedCommit};
use super::proposals::{check_new_leaves, select_proposals, AppliedProposals, ProposalPolicy};
use super::psk::{resolve_psk_secret, NoPsks, PskStore};
use super::state::Group;
use super::welcome::seal_welcome;
use crate::codec::{Bytes, Encode};
use crate::crypto::{Secret, SignaturePrivateKey, Suite};
use crate::error::{Error, Result};
use crate::framing::{sign_content, AuthenticatedContent, Content, MLSMessage, MLSMessageBody};
use crate::messages::{
    Add, Commit, Extension, ExtensionType, Extensions, ExternalPub, GroupContext,
    GroupContextExtensions, GroupInfo, GroupSecrets, KeyPackage, PathSecret, PreSharedKey,
    PreSharedKeyID, Proposal, ProposalOrRef, ReInit, Remove, ResumptionPSKUsage,
};
use crate::schedule::transcript::{confirmed_transcript_hash, interim_transcript_hash};
use crate::schedule::{EpochSecrets, JoinerSecret};
use crate::tree::math;
use crate::tree::ratchet_tree::RatchetTree;
use crate::tree::treekem::generate_update_path;

/// Our own commit, sent to the Delivery Service and awaiting its verdict.
///
/// It is merged when the DS confirms it (or echoes it back), and dropped when another
/// member's commit wins the epoch: it never blocks the group.
#[derive(Debug, Clone)]
pub struct PendingCommit {
    /// The signed commit content, to recognise it when the DS echoes it.
    pub(crate) content: AuthenticatedContent,
    /// Digest of the protected message as sent: a PrivateMessage echo cannot be decrypted
    /// by its sender (the key is consumed), so it is recognised by its bytes.
    pub(crate) message_digest: Vec<u8>,
    /// The epoch it leads to.
    pub(crate) staged: StagedCommit,
}

/// What a commit should contain beyond the proposals already received this epoch.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// KeyPackages of members to add.
    pub add: Vec<KeyPackage>,
    /// Leaf indices of members to remove.
    pub remove: Vec<u32>,
    /// PSKs to inject (§8.4).
    pub psks: Vec<PreSharedKeyID>,
    /// New GroupContext extensions.
    pub group_context_extensions: Option<Extensions>,
    /// Reinitialise the group with these parameters (must be the only proposal).
    pub reinit: Option<ReInit>,
    /// Include the proposals received this epoch by reference (§12.4: SHOULD), as chosen
    /// by [`select_proposals`].
    pub include_received: bool,
    /// Send an UpdatePath even when no proposal requires one, for post-compromise security.
    pub force_path: bool,
    /// Application data authenticated with the commit.
    pub authenticated_data: Vec<u8>,
    /// Also return the new epoch's signed GroupInfo (with `external_pub` and, per
    /// [`GroupConfig::ratchet_tree_extension`], the tree), for a Delivery Service that lets
    /// clients join by external commit (§12.4.3.2). Off by default: it signs the whole tree
    /// on every commit. [`Group::group_info`] makes one at any time.
    pub group_info: bool,
}

impl Default for CommitOptions {
    fn default() -> Self {
        CommitOptions {
            add: Vec::new(),
            remove: Vec::new(),
            psks: Vec::new(),
            group_context_extensions: None,
            reinit: None,
            include_received: true,
            force_path: true,
            authenticated_data: Vec::new(),
            group_info: false,
        }
    }
}

/// The messages a commit produces: send `commit` to the group, `welcome` to the new members
/// and `group_info` (if requested) to the Delivery Service for external joiners.
#[derive(Debug, Clone)]
pub struct CommitOutput {
    /// The commit, protected with the current epoch's keys.
    pub commit: MLSMessage,
    /// A Welcome for every member added, if any.
    pub welcome: Option<MLSMessage>,
    /// The GroupInfo of the new epoch (with `external_pub`), if
    /// [`CommitOptions::group_info`] asked for it.
    pub group_info: Option<MLSMessage>,
}

impl Group {
    /// [`Group::commit`] for a group that uses no external PSKs and resumes no other
    /// group: its own resumption PSKs are still found.
    pub fn commit_without_psks(&mut self, options: CommitOptions) -> Result<CommitOutput> {
        self.commit(options, &NoPsks)
    }

    /// Create a commit (§12.4.1). The group stays in the current epoch with the commit
    /// pending until [`Group::confirm_pending_commit`] (the DS accepted it) or until the DS
    /// echoes it back through [`Group::process_message`].
    pub fn commit(&mut self, options: CommitOptions, psks: &dyn PskStore) -> Result<CommitOutput> {
        self.commit_with_policy(options, psks, None)
    }

    /// [`Group::commit`], admitting one resumption PSK usage besides `application` (only
    /// for the first commit of a branch or reinitialised group, §11.2, §11.3).
    pub(crate) fn commit_with_policy(
        &mut self,
        options: CommitOptions,
        psks: &dyn PskStore,
        resumption_usage: Option<ResumptionPSKUsage>,
    ) -> Result<CommitOutput> {
        self.ensure_can_send()?;
        if self.pending_commit.is_some() {
            return Err(Error::Misuse(
                "a commit is already pending: confirm or discard it first",
            ));
        }
        let own = crate::framing::Sender::Member(self.own_leaf);
        let now = unix_now();
        let mut refs = Vec::new();
        let mut list = Vec::new();
        if options.include_received {
            let chosen = select_proposals(
                &self.suite,
                &self.proposals,
                &self.tree,
                self.own_leaf,
                Some(now),
            );
            for cached in chosen {
                refs.push(ProposalOrRef::Reference(Bytes(cached.reference.clone())));
                list.push((cached.proposal.clone(), cached.sender));
            }
        }
        let mut by_value = Vec::new();
        by_value.extend(options.group_context_extensions.map(|extensions| {
            Proposal::GroupContextExtensions(GroupContextExtensions { extensions })
        }));
        by_value.extend(
            options
                .remove
                .iter()
                .map(|&removed| Proposal::Remove(Remove { removed })),
        );
        by_value.extend(
            options
                .add
                .into_iter()
                .map(|key_package| Proposal::Add(Box::new(Add { key_package }))),
        );
        by_value.extend(
            options
                .psks
                .into_iter()
                .map(|psk| Proposal::PreSharedKey(PreSharedKey { psk })),
        );
        by_value.extend(options.reinit.map(Proposal::ReInit));
        for p in by_value {
            list.push((p.clone(), own));
            refs.push(ProposalOrRef::Proposal(p));
        }

        // §7.3: leaves we add must be within their lifetime now (a MUST for the sender).
        let policy = ProposalPolicy {
            validator: self.config.credential_validator.as_ref(),
            now: Some(now),
            resumption_usage,
        };
        let (mut tree, mut context, applied) =
            self.stage_proposals(&list, Some(self.own_leaf), &policy)?;
        context.epoch = context
            .epoch
            .checked_add(1)
            .ok_or(Error::Misuse("epoch counter exhausted"))?;

        let mut private = self.private.clone();
        let path = if applied.path_required || options.force_path {
            let generated = generate_update_path(
                &self.suite,
                &mut tree,
                self.own_leaf,
                &self.signer,
                &context,
                &applied.added,
            )?;
            private = generated.private;
            Some((
                generated.update_path,
                generated.commit_secret,
                generated.path_secrets,
            ))
        } else {
            private.sync_with_tree(&tree);
            None
        };
        let mut changed = applied.added.clone();
        changed.extend(&applied.updated);
        if path.is_some() {
            changed.push(self.own_leaf);
        }
        check_new_leaves(&tree, &context, &changed)?;
        let commit_secret = path
            .as_ref()
            .map(|(_, s, _)| s.clone())
            .unwrap_or_else(|| Secret::zero(self.suite.hash_len()));
        context.tree_hash = Bytes(tree.tree_hash());

        let commit = Commit {
            proposals: refs,
            path: path.as_ref().map(|(p, _, _)| p.clone()),
        };
        let framed = self.frame(
            Content::Commit(Box::new(commit)),
            options.authenticated_data,
        );
        // §12.4.1: sign with the old GroupContext.
        let mut auth = sign_content(
            &self.suite,
            &self.signer,
            self.handshake_wire_format(),
            framed,
            Some(&self.context),
        )?;
        let confirmed = confirmed_transcript_hash(
            &self.suite,
            &self.interim_transcript_hash,
            &auth.confirmed_transcript_hash_input(),
        );
        context.confirmed_transcript_hash = Bytes(confirmed.clone());
        let psk_secret = resolve_psk_secret(
            &self.suite,
            &applied.psks,
            psks,
            &self.context.group_id,
            &|e| self.own_resumption_psk(e),
        )?;
        let context_bytes = context.to_bytes();
        let joiner = JoinerSecret::derive(
            &self.suite,
            &self.secrets.init_secret,
            &commit_secret,
            &context_bytes,
        )?;
        let secrets = joiner.epoch_secrets(&self.suite, &psk_secret, &context_bytes)?;
        let tag = secrets.confirmation_tag(&self.suite, &confirmed);
        auth.auth.confirmation_tag = Some(Bytes(tag.clone()));
        let interim = interim_transcript_hash(&self.suite, &confirmed, &tag);

        // A Welcome carries the GroupInfo; otherwise build (and sign the tree) only on request.
        let group_info = if options.group_info || !applied.added.is_empty() {
            Some(build_group_info(
                &self.suite,
                &context,
                &tree,
                &secrets,
                &tag,
                self.own_leaf,
                &self.signer,
                &self.config,
            )?)
        } else {
            None
        };
        let path_secrets = path.as_ref().map(|(_, _, s)| s.as_slice()).unwrap_or(&[]);
        let welcome = match &group_info {
            Some(gi) => self.welcome_for(
                &list,
                &applied,
                &tree,
                path_secrets,
                gi,
                &joiner,
                &psk_secret,
            )?,
            None => None,
        };
        let commit_msg = self.protect(auth.clone())?;

        let added = applied
            .added
            .iter()
            .filter_map(|&i| tree.leaf(i).map(|l| (i, l.clone())))
            .collect();
        let mut updated = applied.updated.clone();
        if path.is_some() {
            updated.push(self.own_leaf);
        }
        let summary = CommitSummary {
            sender: own,
            added,
            removed: applied.removed,
            updated,
            extensions_changed: applied.extensions_changed,
            reinit: applied.reinit,
            removes_us: false,
        };
        let changed_leaves = NextEpoch::changed_leaves_of(&summary);
        let staged = StagedCommit {
            summary,
            next: NextEpoch {
                context,
                tree,
                private,
                secrets,
                interim_transcript_hash: interim,
                confirmation_tag: tag,
                changed_leaves,
            },
        };
        self.pending_commit = Some(Box::new(PendingCommit {
            content: auth,
            message_digest: self.message_digest(&commit_msg),
            staged,
        }));
        Ok(CommitOutput {
            commit: commit_msg,
            welcome,
            group_info: group_info
                .filter(|_| options.group_info)
                .map(|gi| MLSMessage::new(MLSMessageBody::GroupInfo(Box::new(gi)))),
        })
    }

    /// The Welcome for the members a commit adds (§12.4.3.1): the joiner secret, the path
    /// secret of each joiner's lowest common ancestor with us, and the commit's PSKs.
    #[allow(clippy::too_many_arguments)]
    fn welcome_for(
        &self,
        list: &[(Proposal, crate::framing::Sender)],
        applied: &AppliedProposals,
        tree: &RatchetTree,
        path_secrets: &[(u32, Secret)],
        group_info: &GroupInfo,
        joiner: &JoinerSecret,
        psk_secret: &Secret,
    ) -> Result<Option<MLSMessage>> {
        if applied.added.is_empty() {
            return Ok(None);
        }
        // The Add proposals by their leaf's encryption key (unique in the tree, §7.3), so
        // finding each added leaf's KeyPackage is O(1), not a scan of the list per joiner.
        let mut adds: std::collections::HashMap<&[u8], Vec<&KeyPackage>> =
            std::collections::HashMap::with_capacity(applied.added.len());
        for (p, _) in list {
            if let Proposal::Add(a) = p {
                let key = a.key_package.leaf_node.encryption_key.as_slice();
                adds.entry(key).or_default().push(&a.key_package);
            }
        }
        let mut entries = Vec::with_capacity(applied.added.len());
        for &leaf in &applied.added {
            let node = tree.leaf(leaf);
            let kp = node
                .and_then(|n| adds.get(n.encryption_key.as_slice()))
                .and_then(|kps| kps.iter().find(|kp| Some(&kp.leaf_node) == node))
                .map(|kp| (*kp).clone())
                .ok_or(Error::Misuse("added leaf without its KeyPackage"))?;
            let lca =
                math::common_ancestor(math::leaf_to_node(self.own_leaf), math::leaf_to_node(leaf));
            let path_secret =
                path_secrets
                    .iter()
                    .find(|(n, _)| *n == lca)
                    .map(|(_, s)| PathSecret {
                        path_secret: s.clone(),
                    });
            entries.push((
                kp,
                GroupSecrets {
                    joiner_secret: joiner.0.clone(),
                    path_secret,
                    psks: applied.psks.clone(),
                },
            ));
        }
        let welcome = seal_welcome(&self.suite, group_info, joiner, psk_secret, &entries)?;
        Ok(Some(MLSMessage::new(MLSMessageBody::Welcome(welcome))))
    }

    /// The Delivery Service accepted our pending commit: move to the new epoch.
    pub fn confirm_pending_commit(&mut self) -> Result<()> {
        let pending = self
            .pending_commit
            .take()
            .ok_or(Error::Misuse("no pending commit"))?;
        self.merge_staged_commit(pending.staged)
    }

    /// The ratchet tree of the epoch our pending commit leads to: what a new member needs
    /// out of band when Welcomes omit the `ratchet_tree` extension (§12.4.3.3,
    /// [`GroupConfig::ratchet_tree_extension`] off).
    pub fn pending_commit_tree(&self) -> Option<&RatchetTree> {
        self.pending_commit.as_ref().map(|p| &p.staged.next.tree)
    }

    /// Drop our pending commit (another commit won the epoch, or the DS rejected ours).
    pub fn discard_pending_commit(&mut self) {
        self.pending_commit = None;
    }

    /// A signed GroupInfo for the current epoch with `external_pub`, for external joiners
    /// (§12.4.3, §12.4.3.2).
    pub fn group_info(&self) -> Result<MLSMessage> {
        let gi = build_group_info(
            &self.suite,
            &self.context,
            &self.tree,
            &self.secrets,
            &self.confirmation_tag,
            self.own_leaf,
            &self.signer,
            &self.config,
        )?;
        Ok(MLSMessage::new(MLSMessageBody::GroupInfo(Box::new(gi))))
    }
}

/// Build and sign the GroupInfo of an epoch (§12.4.3).
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_group_info(
    suite: &Suite,
    context: &GroupContext,
    tree: &RatchetTree,
    secrets: &EpochSecrets,
    confirmation_tag: &[u8],
    signer_leaf: u32,
    signer: &SignaturePrivateKey,
    config: &GroupConfig,
) -> Result<GroupInfo> {
    let mut extensions = Extensions::new();
    let external = secrets.external_key_pair(suite)?;
    extensions.insert(Extension::new(
        ExtensionType::EXTERNAL_PUB,
        &ExternalPub {
            external_pub: Bytes(external.public_key().to_vec()),
        },
    ));
    if config.ratchet_tree_extension {
        extensions.insert(Extension::new(ExtensionType::RATCHET_TREE, &tree.to_wire()));
    }
    let mut gi = GroupInfo {
        group_context: context.clone(),
        extensions,
        confirmation_tag: Bytes(confirmation_tag.to_vec()),
        signer: signer_leaf,
        signature: Bytes::default(),
    };
    gi.signature = Bytes(suite.sign_with_label(signer, "GroupInfoTBS", &gi.tbs_bytes())?);
    Ok(gi)
}
