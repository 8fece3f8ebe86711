//! Validating a ratchet tree received on join (RFC 9420 §12.4.3.1, §7.3, §7.9.2).
//!
//! Nothing in the received tree is trusted: the tree hash is recomputed and compared, every
//! non-blank parent must be parent-hash valid, every leaf is validated as a LeafNode, and the
//! unmerged-leaf lists and key uniqueness are checked. Each failure is a distinct [`Rule`].
//!
//! Checks have a fixed order, so a tree broken in one way always fails with the same rule.
//! Leaf signatures, which dominate the cost, are spread over the available cores with scoped
//! threads (no global pool) while the structural checks run; each is verified singly so
//! that the verdict does not depend on batching.

use super::hashes::leaf_span;
use super::math;
use super::ratchet_tree::{NodeRef, RatchetTree};
use crate::error::{Error, Result, Rule};
use crate::messages::{
    ExtensionType, GroupContext, LeafNode, LeafNodeSourceData, RequiredCapabilities,
};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Fewer leaves than this per thread are not worth a thread (a spawn costs ~60 µs, a
/// verification ~25 µs).
const MIN_LEAVES_PER_THREAD: usize = 16;

/// Most leaves a signature thread takes at a time: large enough that the shared counter is
/// touched once per ~1 ms of work. Small trees use smaller blocks (see
/// `signature_block`), else one thread takes every signature of a 32-leaf tree.
const SIGNATURE_BLOCK: usize = 32;

/// Leaves per block for `n` leaves on `threads` threads: at least ~8 blocks per thread, so
/// that a thread that started late (this one runs the structural checks first) still
/// finds work, and at most [`SIGNATURE_BLOCK`].
pub(super) fn signature_block(n: usize, threads: usize) -> usize {
    (n / (8 * threads.max(1))).clamp(1, SIGNATURE_BLOCK)
}

/// The application's credential check (§5.3.1): given a leaf index and its leaf node,
/// whether the Authentication Service accepts the credential for that signature key.
pub type CredentialValidator<'a> = &'a (dyn Fn(u32, &LeafNode) -> bool + Sync);

/// What a joiner checks a tree against (§12.4.3.1).
#[derive(Clone, Copy)]
pub struct TreeValidationContext<'a> {
    /// The GroupContext from the GroupInfo: group id (leaf signatures), cipher suite and
    /// version (capabilities), tree hash (compared), extensions (`required_capabilities`).
    pub group_context: &'a GroupContext,
    /// The current time in seconds since the Unix epoch; if set, every leaf with source
    /// `key_package` must be within its lifetime (§7.3 RECOMMENDS this for received trees).
    pub now: Option<u64>,
    /// If set, called for every leaf; `false` fails with [`Rule::CredentialRejected`].
    pub credential_validator: Option<CredentialValidator<'a>>,
}

impl<'a> TreeValidationContext<'a> {
    /// A context with no lifetime or credential policy.
    pub fn new(group_context: &'a GroupContext) -> Self {
        TreeValidationContext {
            group_context,
            now: None,
            credential_validator: None,
        }
    }
}

impl RatchetTree {
    /// Verify the integrity of a received ratchet tree (§12.4.3.1). The verdict is the first
    /// failure in this order: the tree hash, the unmerged-leaf lists, the uniqueness of keys,
    /// each leaf's contents against its capabilities and the group, the parent hashes of
    /// every non-blank parent, and every leaf signature.
    ///
    /// Leaf signatures dominate the cost, so they are verified on every core while this
    /// thread runs the structural checks alongside; the order above still decides which
    /// failure is reported.
    pub fn validate(&mut self, ctx: &TreeValidationContext<'_>) -> Result<()> {
        if self.tree_hash() != ctx.group_context.tree_hash.as_slice() {
            return Err(Rule::TreeHashMismatch.into());
        }
        let tree = &*self;
        tree.leaf_signatures_alongside(&ctx.group_context.group_id, || {
            tree.check_unmerged_leaves()?;
            tree.check_unique_keys()?;
            tree.check_leaf_contents(ctx)?;
            tree.check_parent_hashes()
        })
    }

    /// §7.1 and §12.4.3.1: each parent's `unmerged_leaves` is strictly increasing, and each
    /// entry is a non-blank leaf below the parent that every non-blank node in between
    /// also lists.
    pub fn check_unmerged_leaves(&self) -> Result<()> {
        // Sortedness first, everywhere: the later membership tests rely on it.
        for (_, p) in self.parent_nodes() {
            if p.unmerged_leaves.windows(2).any(|w| w[0] >= w[1]) {
                return Err(Rule::UnmergedLeavesUnsorted.into());
            }
        }
        for (x, p) in self.parent_nodes() {
            for &u in &p.unmerged_leaves {
                let leaf_node = match u.checked_mul(2) {
                    Some(l) if math::is_descendant(l, x) && u < self.n_leaves() => l,
                    _ => return Err(Rule::UnmergedLeafNotDescendant.into()),
                };
                if self.leaf(u).is_none() {
                    return Err(Rule::UnmergedLeafBlank.into());
                }
                let mut q = leaf_node;
                while let Some(up) = math::parent(q, self.n_leaves()) {
                    if up == x {
                        break;
                    }
                    if let Some(between) = self.parent_node(up) {
                        if between.unmerged_leaves.binary_search(&u).is_err() {
                            return Err(Rule::UnmergedLeafNotInIntermediate.into());
                        }
                    }
                    q = up;
                }
            }
        }
        Ok(())
    }

    /// §7.3 and §12.4.3.1: signature keys are unique among leaves, and encryption keys are
    /// unique across all nodes. Hash sets keep this linear in the tree size.
    pub fn check_unique_keys(&self) -> Result<()> {
        let mut signature_keys = HashSet::with_capacity(self.leaves.len());
        let mut encryption_keys: HashMap<&[u8], bool> =
            HashMap::with_capacity(2 * self.leaves.len());
        for (_, leaf) in self.members() {
            if !signature_keys.insert(leaf.signature_key.as_slice()) {
                return Err(Rule::DuplicateSignatureKey.into());
            }
        }
        let nodes = self
            .members()
            .map(|(_, l)| (l.encryption_key.as_slice(), false))
            .chain(
                self.parent_nodes()
                    .map(|(_, p)| (p.encryption_key.as_slice(), true)),
            );
        for (key, is_parent) in nodes {
            if let Some(other_is_parent) = encryption_keys.insert(key, is_parent) {
                return Err(if is_parent || other_is_parent {
                    Rule::DuplicateParentEncryptionKey
                } else {
                    Rule::DuplicateLeafEncryptionKey
                }
                .into());
            }
        }
        Ok(())
    }

    /// §7.2, §7.3, §11.1: every leaf passes [`RatchetTree::check_leaf_capabilities`]; is
    /// within its lifetime (if `ctx.now` is set); and is accepted by the application's
    /// credential check (if any).
    pub fn check_leaf_contents(&self, ctx: &TreeValidationContext<'_>) -> Result<()> {
        let gc = ctx.group_context;
        let required = gc
            .extensions
            .required_capabilities()
            .map_err(Error::Decode)?;
        for (i, leaf) in self.members() {
            self.check_leaf_capabilities(leaf, gc, required.as_ref(), false)?;
            if let (Some(now), LeafNodeSourceData::KeyPackage(life)) =
                (ctx.now, &leaf.leaf_node_source)
            {
                if now < life.not_before || now > life.not_after {
                    return Err(Rule::LeafLifetime.into());
                }
            }
            if let Some(accept) = ctx.credential_validator {
                if !accept(i, leaf) {
                    return Err(Rule::CredentialRejected.into());
                }
            }
        }
        Ok(())
    }

    /// §7.2, §7.3, §11.1: `leaf` (in this tree) supports the group's version and cipher
    /// suite; lists its own credential type and its non-default extensions; lists what
    /// `required` requires; and supports every credential type in use. Checked in that order.
    /// A `new_leaf` (one a commit brings into a tree already trusted) must also list every
    /// non-default GroupContext extension (§12.1.7) and have a credential type every member
    /// lists; checking every leaf of a tree covers the latter already. Signatures, keys,
    /// lifetimes and the application's credential check are separate.
    pub fn check_leaf_capabilities(
        &self,
        leaf: &LeafNode,
        gc: &GroupContext,
        required: Option<&RequiredCapabilities>,
        new_leaf: bool,
    ) -> Result<()> {
        let caps = &leaf.capabilities;
        let own_type = leaf.credential.credential_type();
        if !caps.versions.contains(&gc.version) {
            return Err(Rule::UnsupportedProtocolVersion.into());
        }
        if !caps.cipher_suites.contains(&gc.cipher_suite) {
            return Err(Rule::UnsupportedCipherSuite.into());
        }
        if !caps.credentials.contains(&own_type) {
            return Err(Rule::CredentialTypeNotInCapabilities.into());
        }
        // Default types are implemented by everyone and never listed (§7.2, §11.1).
        let unlisted = |t: &ExtensionType| !t.is_default() && !caps.extensions.contains(t);
        if leaf.extensions.iter().any(|e| unlisted(&e.extension_type)) {
            return Err(Rule::LeafExtensionNotInCapabilities.into());
        }
        let missing = required.is_some_and(|r| !supports_required(leaf, r))
            || (new_leaf && gc.extensions.iter().any(|e| unlisted(&e.extension_type)));
        if missing {
            return Err(Rule::RequiredCapabilityMissing.into());
        }
        if (new_leaf && !self.all_members_list_credential(own_type))
            || self
                .credential_types_in_use()
                .any(|t| !caps.credentials.contains(&t))
        {
            return Err(Rule::CredentialTypeNotSupportedByAll.into());
        }
        Ok(())
    }

    /// §7.9.2: every non-blank parent node is parent-hash valid, checked top down: for each
    /// non-blank parent P, exactly one node D below it has a parent hash valid with respect
    /// to P. Since D is itself either a leaf or a non-blank parent subject to the same check,
    /// this chains every non-blank parent back to a leaf; no check stops at a blank node or
    /// at the first valid chain.
    pub fn verify_parent_hashes(&mut self) -> Result<()> {
        self.refresh_hashes();
        self.check_parent_hashes()
    }

    /// [`Self::verify_parent_hashes`] on a tree whose hash cache is already fresh.
    fn check_parent_hashes(&self) -> Result<()> {
        let mut res = Vec::new();
        for (p, _) in self.parent_nodes() {
            coverage_verdict(self.parent_hash_coverage(p, &mut res)?)?;
        }
        Ok(())
    }

    /// How many children's sides of non-blank parent `p` hold a node D whose parent hash is
    /// valid with respect to `p` (§7.9.2): D is in the resolution of that child C, carries
    /// the parent hash of `p` with copath child S (the other child), and the rest of C's
    /// resolution is exactly `p`'s unmerged leaves under C. At most one D per side can
    /// qualify, since the rest of the resolution determines D. `res` is scratch space.
    fn parent_hash_coverage(&self, p: u32, res: &mut Vec<u32>) -> Result<usize> {
        let node = self.parent_node(p).ok_or(Error::Misuse("blank parent"))?;
        let (Some(l), Some(r)) = (math::left(p), math::right(p)) else {
            return Err(Rule::NodeTypeMismatch.into());
        };
        let mut covered = 0;
        for (c, s) in [(l, r), (r, l)] {
            res.clear();
            self.resolution_into(c, res);
            // P's unmerged leaves under C, as node indices.
            let (first, count) = leaf_span(c);
            let mut unmerged: Vec<u32> = node
                .unmerged_leaves
                .iter()
                .filter(|&&u| (first..first + count).contains(&u64::from(u)))
                .map(|&u| 2 * u)
                .collect();
            unmerged.sort_unstable();
            // The rest of the resolution must be exactly the unmerged leaves, which leaves
            // one candidate for D: found by one sorted merge, so an adversarial resolution
            // full of equal parent hashes costs O(n log n), not O(n^2).
            res.sort_unstable();
            let Some(d) = single_extra(res, &unmerged) else {
                continue;
            };
            let expected = self
                .parent_hash_clean(p, s)
                .ok_or(Error::Misuse("tree hash cache stale"))?;
            let valid = self.node_parent_hash(d) == Some(expected.as_slice());
            covered += usize::from(valid);
        }
        Ok(covered)
    }

    /// The `parent_hash` a node carries: a parent's, or a commit-sourced leaf's (§7.9.1).
    fn node_parent_hash(&self, x: u32) -> Option<&[u8]> {
        match self.node(x)? {
            NodeRef::Parent(p) => Some(&p.parent_hash),
            NodeRef::Leaf(l) => match &l.leaf_node_source {
                LeafNodeSourceData::Commit(ph) => Some(ph),
                _ => None,
            },
        }
    }

    /// §7.3: every leaf's signature verifies over its LeafNodeTBS, with `group_id` and the
    /// leaf's index for `update` and `commit` sources.
    pub fn verify_leaf_signatures(&self, group_id: &[u8]) -> Result<()> {
        self.leaf_signatures_alongside(group_id, || Ok(()))
    }

    /// Verify every leaf signature while `side` runs on this thread; `side`'s error wins.
    ///
    /// Blocks of leaves are handed out from a shared counter to one scoped thread per core
    /// (no global pool), this thread joining in once `side` is done, so the cores stay
    /// balanced whatever `side` costs. Each signature is verified singly, so the verdict
    /// never depends on batching or scheduling; the first failure stops the others early.
    fn leaf_signatures_alongside(
        &self,
        group_id: &[u8],
        side: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let n = self.leaves.len();
        let threads = match n / MIN_LEAVES_PER_THREAD {
            0 | 1 => 1,
            enough => crate::parallel::threads(self.max_threads()).min(enough),
        };
        let block = signature_block(n, threads);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let work = || {
            while !failed.load(Ordering::Relaxed) {
                let start = next.fetch_add(block, Ordering::Relaxed);
                if start >= n {
                    return;
                }
                let end = (start + block).min(n);
                let ok = (start..end).all(|i| match self.leaf(i as u32) {
                    None => true,
                    Some(leaf) => self.leaf_signature_ok(leaf, group_id, i as u32),
                });
                if !ok {
                    failed.store(true, Ordering::Relaxed);
                }
            }
        };
        let side_result = std::thread::scope(|s| {
            let workers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
            let side_result = side();
            if side_result.is_err() {
                // The verdict is already this error: no need to finish the signatures.
                failed.store(true, Ordering::Relaxed);
            }
            work();
            for worker in workers {
                // A block whose thread died counts as failed, never as verified.
                if worker.join().is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
            }
            side_result
        });
        side_result?;
        if failed.load(Ordering::Relaxed) {
            Err(Rule::LeafNodeSignature.into())
        } else {
            Ok(())
        }
    }

    /// Whether `leaf`'s signature verifies as the leaf at `leaf_index` of `group_id` (§7.2).
    fn leaf_signature_ok(&self, leaf: &LeafNode, group_id: &[u8], leaf_index: u32) -> bool {
        self.suite
            .verify_with_label(
                &leaf.signature_key,
                "LeafNodeTBS",
                &leaf.tbs_bytes(group_id, leaf_index),
                &leaf.signature,
            )
            .is_ok()
    }
}

/// Whether `leaf` lists everything a `required_capabilities` extension requires (§11.1).
pub fn supports_required(leaf: &LeafNode, req: &RequiredCapabilities) -> bool {
    let caps = &leaf.capabilities;
    req.extension_types
        .iter()
        .all(|t| t.is_default() || caps.extensions.contains(t))
        && req
            .proposal_types
            .iter()
            .all(|t| t.is_default() || caps.proposals.contains(t))
        && req
            .credential_types
            .iter()
            .all(|t| caps.credentials.contains(t))
}

/// §7.9.2: a non-blank parent must be covered by exactly one chain.
///
/// Two chains (a valid D under each child) would need each D's parent hash to cover the
/// other's subtree, a cycle of hashes that only a collision satisfies; the case is still
/// rejected rather than assumed away.
pub(super) fn coverage_verdict(chains: usize) -> Result<()> {
    match chains {
        0 => Err(Rule::ParentHashUnverified.into()),
        1 => Ok(()),
        _ => Err(Rule::ParentHashAmbiguous.into()),
    }
}

/// If sorted `res` is sorted `rest` plus exactly one more element, that element.
pub(super) fn single_extra(res: &[u32], rest: &[u32]) -> Option<u32> {
    if res.len() != rest.len() + 1 {
        return None;
    }
    // The first position where they differ holds the extra element; after it, `res` must
    // continue as `rest` shifted by one.
    let i = res
        .iter()
        .zip(rest)
        .position(|(a, b)| a != b)
        .unwrap_or(rest.len());
    let extra = *res.get(i)?;
    (res.get(i + 1..)? == rest.get(i..)?).then_some(extra)
}
