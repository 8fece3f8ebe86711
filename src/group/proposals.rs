//! Proposal references, the proposal cache, proposal list validation (RFC 9420 §12.2),
//! applying a proposal list to the tree and GroupContext (§12.3), the leaf checks a commit
//! needs (§7.3), and choosing which received proposals our own commit covers (§12.4).

use super::config::GroupConfig;
use super::credential::SharedValidator;
use super::key_package::unix_now;
use crate::codec::Encode;
use crate::crypto::Suite;
use crate::error::{Error, Result, Rule};
use crate::framing::{AuthenticatedContent, Sender};
use crate::group::key_package::validate_key_package;
use crate::messages::{
    Commit, ExternalInit, GroupContext, LeafNode, LeafNodeSourceData, PSKTypeData, PreSharedKeyID,
    Proposal, ProposalOrRef, ProposalType, ReInit, ResumptionPSKUsage,
};
use crate::tree::ratchet_tree::RatchetTree;
use crate::tree::validation::supports_required;
use std::collections::HashSet;

/// Fewer KeyPackages than this per thread are not worth a thread (each is ~50 µs of checks,
/// a spawn ~60 µs).
const MIN_KEY_PACKAGES_PER_THREAD: usize = 4;

/// `ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent)` (§5.2).
pub fn proposal_ref(suite: &Suite, content: &AuthenticatedContent) -> Vec<u8> {
    suite.ref_hash("MLS 1.0 Proposal Reference", &content.to_bytes())
}

/// A proposal received in the current epoch, kept until a commit references it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedProposal {
    /// Its `ProposalRef`.
    pub reference: Vec<u8>,
    /// The proposal.
    pub proposal: Proposal,
    /// Who sent it.
    pub sender: Sender,
}

/// The effects of a validated proposal list, in the order of §12.3.
#[derive(Debug, Clone, Default)]
pub struct AppliedProposals {
    /// Leaf indices given to added members, in proposal order.
    pub added: Vec<u32>,
    /// Leaves removed, with the leaf node each held.
    pub removed: Vec<(u32, LeafNode)>,
    /// Leaves replaced by Update proposals.
    pub updated: Vec<u32>,
    /// PSKs to inject, in proposal order (§8.4).
    pub psks: Vec<PreSharedKeyID>,
    /// The ExternalInit of an external commit.
    pub external_init: Option<ExternalInit>,
    /// A ReInit to act on after the commit.
    pub reinit: Option<ReInit>,
    /// Whether the GroupContext extensions were replaced.
    pub extensions_changed: bool,
    /// Whether §12.4 requires this commit to carry a path.
    pub path_required: bool,
}

/// The policy a proposal list is checked under.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProposalPolicy<'a> {
    /// The application's credential check (§5.3.1).
    pub validator: Option<&'a SharedValidator>,
    /// The current time, if the lifetimes of added KeyPackages are checked (§7.3).
    pub now: Option<u64>,
    /// A resumption PSK usage besides `application` that this list may carry: only the
    /// first commit of a branch or reinitialised group, which we create ourselves (§11.2,
    /// §11.3, §12.1.4).
    pub resumption_usage: Option<ResumptionPSKUsage>,
}

/// Whether a proposal type needs an UpdatePath in the commit that covers it (§12.4, §17.4).
fn requires_path(t: ProposalType) -> bool {
    !matches!(
        t,
        ProposalType::ADD | ProposalType::PSK | ProposalType::REINIT
    )
}

/// Validate `list` (proposals with their senders, in commit order) and apply it to `tree` and
/// `context` (§12.2, §12.3). `committer` is the committer's leaf, `None` for an external
/// commit. Nothing is applied to the caller's copies on error, since callers pass clones.
///
/// The leaves this adds or replaces still need [`check_new_leaves`] once the commit's path
/// (if any) is merged: §12.2 judges the tree as it stands after the whole commit.
pub fn apply_proposals(
    suite: &Suite,
    tree: &mut RatchetTree,
    context: &mut GroupContext,
    list: &[(Proposal, Sender)],
    committer: Option<u32>,
    policy: &ProposalPolicy<'_>,
) -> Result<AppliedProposals> {
    let external = committer.is_none();
    if external {
        // §12.2: an external commit carries ExternalInit, at most one Remove and PSKs only.
        let only_allowed = list.iter().all(|(p, _)| {
            matches!(
                p,
                Proposal::ExternalInit(_) | Proposal::Remove(_) | Proposal::PreSharedKey(_)
            )
        });
        let removes = list
            .iter()
            .filter(|(p, _)| matches!(p, Proposal::Remove(_)))
            .count();
        if !only_allowed || removes > 1 {
            return Err(Rule::ExternalCommitProposals.into());
        }
    }
    let mut out = AppliedProposals {
        path_required: list.is_empty(),
        ..Default::default()
    };
    let mut touched = HashSet::new();
    let mut psk_ids = HashSet::new();
    let (mut gce, mut adds, mut updates, mut removes) = (None, Vec::new(), Vec::new(), Vec::new());
    for (proposal, sender) in list {
        out.path_required |= requires_path(proposal.proposal_type());
        match proposal {
            Proposal::Add(add) => adds.push(&add.key_package),
            Proposal::Update(update) => {
                // §12.1.2: only a member can update its own leaf.
                let Sender::Member(leaf) = *sender else {
                    return Err(Rule::InvalidProposalSender.into());
                };
                // §12.2: the committer's own Update is invalid (its path replaces its leaf).
                if Some(leaf) == committer {
                    return Err(Rule::CommitterUpdate.into());
                }
                if !touched.insert(leaf) {
                    return Err(Rule::DuplicateLeafChange.into());
                }
                updates.push((leaf, &update.leaf_node));
            }
            Proposal::Remove(remove) => {
                if Some(remove.removed) == committer {
                    return Err(Rule::CommitterRemoved.into());
                }
                if !touched.insert(remove.removed) {
                    return Err(Rule::DuplicateLeafChange.into());
                }
                removes.push(remove.removed);
            }
            Proposal::PreSharedKey(psk) => {
                validate_psk_id(suite, &psk.psk, policy.resumption_usage)?;
                if !psk_ids.insert(psk.psk.to_bytes()) {
                    return Err(Rule::DuplicatePsk.into());
                }
                out.psks.push(psk.psk.clone());
            }
            Proposal::ReInit(reinit) => {
                if list.len() != 1 {
                    return Err(Rule::ReInitNotAlone.into());
                }
                if reinit.version.0 < context.version.0 {
                    return Err(Rule::ReInitDowngrade.into());
                }
                out.reinit = Some(reinit.clone());
            }
            Proposal::ExternalInit(init) => {
                if !external || out.external_init.is_some() {
                    return Err(Rule::ExternalInitMisplaced.into());
                }
                out.external_init = Some(init.clone());
            }
            Proposal::GroupContextExtensions(ext) => {
                if gce.is_some() {
                    return Err(Rule::DuplicateGroupContextExtensions.into());
                }
                gce = Some(&ext.extensions);
            }
        }
    }
    if external && out.external_init.is_none() {
        return Err(Rule::ExternalCommitProposals.into());
    }

    // §12.3 order: GroupContextExtensions, Updates, Removes, Adds. The new extensions
    // govern the leaves checked afterwards (§12.3); members that stay are checked below.
    if let Some(extensions) = gce {
        extensions.required_capabilities().map_err(Error::Decode)?;
        context.extensions = extensions.clone();
        out.extensions_changed = true;
    }
    // §7.3: keys of new leaves are unique. The tree's key index makes each check O(1);
    // `fresh` catches two new leaves of this commit sharing a key. A key held by a leaf
    // this commit removes does not count (Removes apply before the tree is judged).
    let removed_nodes: HashSet<u32> = removes.iter().map(|&r| r.saturating_mul(2)).collect();
    let mut fresh = FreshKeys::default();
    for (leaf_index, leaf) in updates {
        let current = tree.leaf(leaf_index).ok_or(Rule::UnknownSender)?;
        if !matches!(leaf.leaf_node_source, LeafNodeSourceData::Update) {
            return Err(Rule::LeafNodeSourceMismatch.into());
        }
        // §12.1.2: the new leaf must carry a fresh encryption key.
        if leaf.encryption_key == current.encryption_key {
            return Err(Rule::EncryptionKeyReused.into());
        }
        let tbs = leaf.tbs_bytes(&context.group_id, leaf_index);
        suite
            .verify_with_label(&leaf.signature_key, "LeafNodeTBS", &tbs, &leaf.signature)
            .map_err(|_| Error::Invalid(Rule::LeafNodeSignature))?;
        check_credential(policy, leaf)?;
        let sig_holder = tree.find_signature_key(&leaf.signature_key);
        let removed = |h: u32| removed_nodes.contains(&h.saturating_mul(2));
        if sig_holder.is_some_and(|h| h != leaf_index && !removed(h)) {
            return Err(Rule::DuplicateSignatureKey.into());
        }
        let enc_holder = tree.find_encryption_key(&leaf.encryption_key);
        if enc_holder.is_some_and(|x| !removed_nodes.contains(&x)) {
            return Err(Rule::DuplicateLeafEncryptionKey.into());
        }
        fresh.insert(leaf)?;
        tree.update_leaf(leaf_index, leaf.clone())?;
        out.updated.push(leaf_index);
    }
    for removed in removes {
        let leaf = tree.leaf(removed).cloned().ok_or(Rule::RemovedLeafBlank)?;
        tree.remove_leaf(removed)?;
        out.removed.push((removed, leaf));
    }
    if out.extensions_changed {
        // §12.1.7, §11.1: every member that stays supports the new extensions; members
        // added by this commit are held to them in `check_new_leaves`.
        check_members_support_extensions(tree, context)?;
    }
    // Each KeyPackage costs two signature checks: run them on every core up front, then
    // report failures in proposal order as the sequential checks reach them.
    let kp_verdicts = crate::parallel::map_bounded(
        &adds,
        MIN_KEY_PACKAGES_PER_THREAD,
        tree.max_threads(),
        |kp| validate_key_package(suite, kp, policy.now),
    );
    let mut added_keys = HashSet::new();
    for (kp, verdict) in adds.into_iter().zip(kp_verdicts) {
        verdict?;
        check_credential(policy, &kp.leaf_node)?;
        if kp.cipher_suite != context.cipher_suite || kp.version != context.version {
            return Err(Rule::KeyPackageSuiteOrVersion.into());
        }
        let key = kp.leaf_node.signature_key.as_slice();
        // §12.2: one Add per client, and none for a client still in the group (Removes
        // are applied already, so a client removed by this commit may come back).
        if !added_keys.insert(key) {
            return Err(Rule::DuplicateAdd.into());
        }
        if tree.find_signature_key(key).is_some() {
            return Err(Rule::AddExistingMember.into());
        }
        if tree
            .find_encryption_key(&kp.leaf_node.encryption_key)
            .is_some()
        {
            return Err(Rule::DuplicateLeafEncryptionKey.into());
        }
        fresh.insert(&kp.leaf_node)?;
        out.added.push(tree.add_leaf(kp.leaf_node.clone())?);
    }
    Ok(out)
}

/// A received commit's proposals, resolved (§12.4.2): who commits (`None`: an external
/// commit), the proposal list with each proposal's sender, and the policy it is checked under.
pub(crate) struct ResolvedCommit<'a> {
    pub(crate) committer: Option<u32>,
    pub(crate) list: Vec<(Proposal, Sender)>,
    pub(crate) policy: ProposalPolicy<'a>,
}

/// Resolve a received commit's proposal list, for a member and for a public view alike: the
/// committer from the sender (a member or, for an external commit, a new member), proposals
/// by value from the committer and by reference from `cache`. An external commit carries its
/// proposals by value (§12.4.3.2); a reference not in `cache` is refused, since accepting it
/// would leave the commit's effect on the membership unknown.
pub(crate) fn resolve_commit<'a>(
    commit: &Commit,
    sender: Sender,
    cache: &[CachedProposal],
    config: &'a GroupConfig,
) -> Result<ResolvedCommit<'a>> {
    let committer = match sender {
        Sender::Member(leaf) => Some(leaf),
        Sender::NewMemberCommit => None,
        _ => return Err(Rule::InvalidSender.into()),
    };
    let mut list = Vec::with_capacity(commit.proposals.len());
    for p in &commit.proposals {
        match p {
            ProposalOrRef::Proposal(proposal) => list.push((proposal.clone(), sender)),
            ProposalOrRef::Reference(r) => {
                if committer.is_none() {
                    return Err(Rule::ExternalCommitProposals.into());
                }
                let cached = cache
                    .iter()
                    .find(|c| c.reference == r.as_slice())
                    .ok_or(Rule::UnknownProposalRef)?;
                list.push((cached.proposal.clone(), cached.sender));
            }
        }
    }
    let policy = ProposalPolicy {
        validator: config.credential_validator.as_ref(),
        now: config.check_received_lifetimes.then(unix_now),
        resumption_usage: None,
    };
    Ok(ResolvedCommit {
        committer,
        list,
        policy,
    })
}

impl super::state::Group {
    /// Apply `list` (§12.3) to copies of the current tree and GroupContext: what a commit
    /// would make of them. The group itself is untouched until the commit is merged.
    pub(crate) fn stage_proposals(
        &self,
        list: &[(Proposal, Sender)],
        committer: Option<u32>,
        policy: &ProposalPolicy<'_>,
    ) -> Result<(RatchetTree, GroupContext, AppliedProposals)> {
        let mut tree = self.tree.clone();
        let mut context = self.context.clone();
        let applied = apply_proposals(
            &self.suite,
            &mut tree,
            &mut context,
            list,
            committer,
            policy,
        )?;
        Ok((tree, context, applied))
    }
}

/// Signature and encryption keys of the leaves one commit brings in (§7.3 uniqueness among
/// themselves; the tree's index covers the rest).
#[derive(Default)]
struct FreshKeys<'a> {
    signature: HashSet<&'a [u8]>,
    encryption: HashSet<&'a [u8]>,
}

impl<'a> FreshKeys<'a> {
    fn insert(&mut self, leaf: &'a LeafNode) -> Result<()> {
        if !self.signature.insert(&leaf.signature_key) {
            return Err(Rule::DuplicateSignatureKey.into());
        }
        if !self.encryption.insert(&leaf.encryption_key) {
            return Err(Rule::DuplicateLeafEncryptionKey.into());
        }
        Ok(())
    }
}

/// §12.1.7, §13.4: the `required_capabilities` of `context` and every non-default
/// GroupContext extension are supported by every member of `tree`.
fn check_members_support_extensions(tree: &RatchetTree, context: &GroupContext) -> Result<()> {
    let required = context
        .extensions
        .required_capabilities()
        .map_err(Error::Decode)?;
    for (_, leaf) in tree.members() {
        if let Some(req) = &required {
            if !supports_required(leaf, req) {
                return Err(Rule::RequiredCapabilityMissing.into());
            }
        }
        let caps = &leaf.capabilities;
        if context
            .extensions
            .iter()
            .any(|e| !e.extension_type.is_default() && !caps.extensions.contains(&e.extension_type))
        {
            return Err(Rule::RequiredCapabilityMissing.into());
        }
    }
    Ok(())
}

/// §8.4, §12.1.4: the nonce is `KDF.Nh` bytes, and a resumption PSK proposed in a group
/// is of usage `application` (`allowed` admits one other usage, for the first commit of a
/// branch or reinitialised group).
fn validate_psk_id(
    suite: &Suite,
    id: &PreSharedKeyID,
    allowed: Option<ResumptionPSKUsage>,
) -> Result<()> {
    if id.psk_nonce.len() != suite.hash_len() {
        return Err(Rule::PskNonceLength.into());
    }
    if let PSKTypeData::Resumption { usage, .. } = &id.psk {
        if *usage != ResumptionPSKUsage::Application && Some(*usage) != allowed {
            return Err(Rule::ResumptionPskUsage.into());
        }
    }
    Ok(())
}

/// Validate the leaves a commit added or replaced (Adds, Updates, the committer's path
/// leaf) against the tree after the commit (§7.3, §12.2 "the ratchet tree is invalid"), with
/// [`RatchetTree::check_leaf_capabilities`], the same per-leaf check a joiner applies to
/// every leaf, plus support for the GroupContext's extensions (§12.1.7). O(1) in the group
/// size per leaf. Key uniqueness is checked as each leaf arrives ([`apply_proposals`], the
/// path checks), as is the application's credential check ([`check_credential`]).
pub fn check_new_leaves(tree: &RatchetTree, context: &GroupContext, changed: &[u32]) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let required = context
        .extensions
        .required_capabilities()
        .map_err(Error::Decode)?;
    for &i in changed {
        let leaf = tree.leaf(i).ok_or(Rule::UnknownSender)?;
        tree.check_leaf_capabilities(leaf, context, required.as_ref(), true)?;
    }
    Ok(())
}

/// §5.3.1, §7.3: the application's check of a leaf's credential, run before the leaf is
/// used for anything else (before an Add is placed, before a path is decrypted).
pub fn check_credential(policy: &ProposalPolicy<'_>, leaf: &LeafNode) -> Result<()> {
    match policy.validator {
        Some(v) if !v.get().validate(&leaf.credential, &leaf.signature_key) => {
            Err(Rule::CredentialRejected.into())
        }
        _ => Ok(()),
    }
}

/// Choose which received proposals our commit covers (§12.4: SHOULD include every valid
/// proposal "as long as this results in a valid proposal list"). Dropped, in this order:
/// our own Updates (our path replaces our leaf, §12.2), Removes of ourselves or of blank
/// leaves, a second change to one leaf (a Remove beats Updates, the latest Update beats
/// earlier ones), repeated PSKs, GroupContextExtensions after the first, Adds whose
/// KeyPackage fails §10.1 or repeats a signature key, and a ReInit when anything else is
/// proposed (§12.2 says to prefer the other proposals).
pub fn select_proposals<'c>(
    suite: &Suite,
    cached: &'c [CachedProposal],
    tree: &RatchetTree,
    own_leaf: u32,
    now: Option<u64>,
) -> Vec<&'c CachedProposal> {
    let removed: HashSet<u32> = cached
        .iter()
        .filter_map(|c| match &c.proposal {
            Proposal::Remove(r) if r.removed != own_leaf && tree.leaf(r.removed).is_some() => {
                Some(r.removed)
            }
            _ => None,
        })
        .collect();
    // The latest Update of each leaf that is not removed.
    let mut latest_update = std::collections::HashMap::new();
    for (i, c) in cached.iter().enumerate() {
        if let (Proposal::Update(_), Sender::Member(leaf)) = (&c.proposal, c.sender) {
            if leaf != own_leaf && !removed.contains(&leaf) {
                latest_update.insert(leaf, i);
            }
        }
    }
    let mut out = Vec::new();
    let mut removes_seen = HashSet::new();
    let mut psks = HashSet::new();
    let mut add_keys = HashSet::new();
    let mut gce = false;
    let mut reinit = None;
    for (i, c) in cached.iter().enumerate() {
        let keep = match &c.proposal {
            Proposal::Update(_) => match c.sender {
                Sender::Member(leaf) => latest_update.get(&leaf) == Some(&i),
                _ => false,
            },
            Proposal::Remove(r) => removed.contains(&r.removed) && removes_seen.insert(r.removed),
            Proposal::PreSharedKey(p) => {
                validate_psk_id(suite, &p.psk, None).is_ok() && psks.insert(p.psk.to_bytes())
            }
            Proposal::GroupContextExtensions(_) => !std::mem::replace(&mut gce, true),
            Proposal::Add(a) => {
                let key = a.key_package.leaf_node.signature_key.as_slice();
                let present = tree
                    .find_signature_key(key)
                    .is_some_and(|l| !removed.contains(&l));
                validate_key_package(suite, &a.key_package, now).is_ok()
                    && !present
                    && add_keys.insert(key)
            }
            Proposal::ReInit(_) => {
                reinit.get_or_insert(c);
                false
            }
            Proposal::ExternalInit(_) => false,
        };
        if keep {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.extend(reinit);
    }
    out
}
