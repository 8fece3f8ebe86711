//! The state of one member in one epoch, and the accessors applications use.

use super::config::GroupConfig;
use super::proposals::CachedProposal;
use crate::codec::Bytes;
use crate::crypto::{HpkePrivateKey, PublicKeyRef, Secret, SignaturePrivateKey, Suite};
use crate::error::Result;
use crate::messages::{GroupContext, LeafNode, ReInit};
use crate::schedule::{EpochSecrets, SecretTree};
use crate::tree::ratchet_tree::RatchetTree;
use crate::tree::treekem::TreePrivateKeys;
use std::collections::VecDeque;

/// What a member keeps of a past epoch so that late application messages still decrypt.
#[derive(Debug, Clone)]
pub(crate) struct PastEpoch {
    pub(crate) context: GroupContext,
    pub(crate) sender_data_secret: Secret,
    pub(crate) secret_tree: SecretTree,
    /// Sender signature keys, as a delta instead of a tree: for each leaf the commit that
    /// ended this epoch changed, its key in this epoch (`None`: blank), sorted by leaf.
    /// Other leaves had the key they have in the next epoch.
    pub(crate) changed_signature_keys: Vec<(u32, Option<Bytes>)>,
}

/// The signature key of `leaf` in the first of `past` (oldest first), given the current
/// `tree`: the first delta that records the leaf wins, else the leaf is unchanged since.
pub(crate) fn past_signature_key<'a>(
    past: impl IntoIterator<Item = &'a [(u32, Option<Bytes>)]>,
    tree: &'a RatchetTree,
    leaf: u32,
) -> Option<PublicKeyRef<'a>> {
    for changed in past {
        if let Ok(at) = changed.binary_search_by_key(&leaf, |(i, _)| *i) {
            return changed[at].1.as_ref().map(|k| PublicKeyRef::Encoded(k));
        }
    }
    tree.member_signature_key(leaf)
}

/// One member's view of an MLS group in its current epoch.
///
/// `Group` is a plain struct, not generic: store it anywhere. Every state change goes
/// through [`Group::process_message`] / [`Group::merge_staged_commit`] or the commit API,
/// and [`Group::to_bytes`] captures everything needed to carry on after a restart.
#[derive(Debug, Clone)]
pub struct Group {
    pub(crate) suite: Suite,
    pub(crate) config: GroupConfig,
    pub(crate) context: GroupContext,
    pub(crate) tree: RatchetTree,
    pub(crate) own_leaf: u32,
    pub(crate) signer: SignaturePrivateKey,
    pub(crate) private: TreePrivateKeys,
    pub(crate) secrets: EpochSecrets,
    pub(crate) secret_tree: SecretTree,
    pub(crate) interim_transcript_hash: Vec<u8>,
    pub(crate) confirmation_tag: Vec<u8>,
    pub(crate) proposals: Vec<CachedProposal>,
    pub(crate) past_epochs: VecDeque<PastEpoch>,
    pub(crate) resumption_psks: VecDeque<(u64, Secret)>,
    pub(crate) pending_commit: Option<Box<super::commit::PendingCommit>>,
    /// Set once a commit removed us or carried a ReInit: the group can no longer send.
    pub(crate) active: bool,
    /// The ReInit of the commit that ended this group (§11.2), kept for the new group.
    pub(crate) reinit: Option<ReInit>,
    /// Private keys of our Update proposals this epoch (also held by `private`, which does
    /// not expose them): persisted so that a restored member can merge its own Update.
    pub(crate) pending_update_keys: Vec<HpkePrivateKey>,
    /// Our own proposals this epoch as sent (hash of the MLSMessage, ProposalRef), so that
    /// the Delivery Service echoing one back is recognised even as a PrivateMessage, whose
    /// key we consumed when sending.
    pub(crate) own_proposals: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A member as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Leaf index in the ratchet tree.
    pub index: u32,
    /// The member's leaf node (credential, keys, capabilities).
    pub leaf: LeafNode,
}

impl Group {
    /// The group's cipher suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The group id.
    pub fn group_id(&self) -> &[u8] {
        &self.context.group_id
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.context.epoch
    }

    /// The current GroupContext (§8.1).
    pub fn context(&self) -> &GroupContext {
        &self.context
    }

    /// Our leaf index.
    pub fn own_leaf_index(&self) -> u32 {
        self.own_leaf
    }

    /// The public ratchet tree.
    pub fn tree(&self) -> &RatchetTree {
        &self.tree
    }

    /// The current epoch's ratchet tree in its wire form, the `ratchet_tree` extension's
    /// content (§12.4.3.3): what a joiner needs beside a Welcome or GroupInfo made without
    /// the extension (`GroupConfig::ratchet_tree_extension = false`); it passes it decoded
    /// as `JoinOptions::ratchet_tree` or to `PublicGroup::from_group_info`.
    pub fn ratchet_tree_bytes(&self) -> Vec<u8> {
        self.tree.to_wire_bytes()
    }

    /// The members in leaf order.
    pub fn members(&self) -> Vec<Member> {
        self.tree
            .members()
            .map(|(index, leaf)| Member {
                index,
                leaf: leaf.clone(),
            })
            .collect()
    }

    /// The members in leaf order as `(leaf index, leaf)`, borrowed: unlike
    /// [`Group::members`], nothing is cloned.
    pub fn member_leaves(&self) -> impl Iterator<Item = (u32, &LeafNode)> + '_ {
        self.tree.members()
    }

    /// The leaf of the member at `index`, if that leaf is occupied.
    pub fn member(&self, index: u32) -> Option<&LeafNode> {
        self.tree.leaf(index)
    }

    /// The leaf index of the member whose signature key is `key`: O(1), from the tree's
    /// key index (§7.3 makes signature keys unique in a group).
    pub fn member_by_signature_key(&self, key: &[u8]) -> Option<u32> {
        self.tree.find_signature_key(key)
    }

    /// The leaf index of the first member (in leaf order) whose credential is a basic
    /// credential for `identity` (§5.3). Identities need not be unique, so this is a scan;
    /// an application with another notion of identity uses [`Group::member_leaves`].
    pub fn member_by_identity(&self, identity: &[u8]) -> Option<u32> {
        self.tree
            .members()
            .find_map(|(i, leaf)| match &leaf.credential {
                crate::messages::Credential::Basic { identity: id } => {
                    (id.as_slice() == identity).then_some(i)
                }
                _ => None,
            })
    }

    /// Refuse a proposal received this epoch (by its ProposalRef, as
    /// [`ReceivedMessage::Proposal`](super::ReceivedMessage::Proposal) reports it): it leaves
    /// the cache, so our commits no longer include it, and a commit by another member that
    /// references it fails to process (the application refuses that commit too). Returns
    /// the refused proposal, or `None` if no cached proposal has that reference.
    pub fn refuse_proposal(&mut self, reference: &[u8]) -> Option<CachedProposal> {
        let at = self
            .proposals
            .iter()
            .position(|p| p.reference.as_slice() == reference)?;
        self.own_proposals
            .retain(|(_, r)| r.as_slice() != reference);
        Some(self.proposals.remove(at))
    }

    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.tree.member_count()
    }

    /// The epoch authenticator (§8.7): equal for all members who share this epoch's view.
    pub fn epoch_authenticator(&self) -> &[u8] {
        self.secrets.epoch_authenticator.as_bytes()
    }

    /// `MLS-Exporter(label, context, length)` for this epoch (§8.5).
    pub fn export_secret(&self, label: &str, context: &[u8], length: usize) -> Result<Secret> {
        self.secrets.export(&self.suite, label, context, length)
    }

    /// This epoch's resumption PSK (§8.6).
    pub fn resumption_psk(&self) -> &Secret {
        &self.secrets.resumption_psk
    }

    /// Proposals received this epoch and not yet committed.
    pub fn pending_proposals(&self) -> &[CachedProposal] {
        &self.proposals
    }

    /// Whether we may still send in this group (not removed, no ReInit committed).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Whether one of our commits awaits confirmation by the Delivery Service.
    pub fn has_pending_commit(&self) -> bool {
        self.pending_commit.is_some()
    }

    /// The ReInit committed in this group's last commit, if any (§11.2): the group is
    /// closed and the new one is created with [`Group::reinit`] or joined from its Welcome.
    pub fn pending_reinit(&self) -> Option<&ReInit> {
        self.reinit.as_ref()
    }

    /// Our policy for this group.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// Replace the policy (e.g. to install a credential validator after a restore).
    pub fn set_config(&mut self, config: GroupConfig) {
        self.tree.set_max_threads(config.max_threads);
        self.config = config;
    }

    /// The resumption PSKs we hold for this group: the current epoch's and those kept
    /// from past epochs (§8.6), as `(epoch, psk)`.
    pub fn resumption_psks(&self) -> impl Iterator<Item = (u64, &Secret)> + '_ {
        std::iter::once((self.context.epoch, &self.secrets.resumption_psk))
            .chain(self.resumption_psks.iter().map(|(e, s)| (*e, s)))
    }

    /// A resumption PSK of this group from the current or a kept past epoch.
    pub(crate) fn own_resumption_psk(&self, epoch: u64) -> Option<Secret> {
        if epoch == self.context.epoch {
            return Some(self.secrets.resumption_psk.clone());
        }
        self.resumption_psks
            .iter()
            .find(|(e, _)| *e == epoch)
            .map(|(_, s)| s.clone())
    }
}

/// A group answers for its own resumption PSKs, so it can be passed wherever a
/// [`PskStore`](super::PskStore) is needed to resume it (§11.2, §11.3) or to inject one of its
/// PSKs into another group.
impl super::psk::PskStore for Group {
    fn external_psk(&self, _psk_id: &[u8]) -> Option<Secret> {
        None
    }

    fn resumption_psk(&self, group_id: &[u8], epoch: u64) -> Option<Secret> {
        (group_id == self.context.group_id.as_slice())
            .then(|| self.own_resumption_psk(epoch))
            .flatten()
    }
}
