//! Tree hashes (RFC 9420 §7.8) and parent hashes (§7.9).
//!
//! Every node's tree hash is cached with a dirty flag, in a copy-on-write array shared with the
//! tree's clones (`tree/array.rs`). A change to a node marks it and its direct path dirty
//! (stopping at the first ancestor that is already dirty: a dirty node's ancestors are always
//! dirty), and [`RatchetTree::refresh_hashes`] recomputes only dirty nodes, descending from the
//! root into dirty children only. Applying a commit to a populated tree therefore rehashes (and
//! copies) O(log N) nodes per changed leaf; loading a tree hashes everything once in a flat
//! buffer, splitting large subtrees across threads.

use super::array::NodeArray;
use super::math;
use super::ratchet_tree::RatchetTree;
use crate::codec::{write_vec_bytes, Encode};
use crate::crypto::Suite;
use crate::error::{Result, Rule};
use crate::messages::{HPKEPublicKey, LeafNode, ParentNode};
use std::sync::Arc;

/// Subtrees at or above this level (2^10 leaves) are worth a thread of their own.
const PARALLEL_LEVEL: u32 = 10;

/// Cached tree hashes: per node one dirty byte (non-zero: stale) and `hash_len` hash bytes.
#[derive(Debug, Clone)]
pub(super) struct HashCache {
    hash_len: usize,
    /// Invariant: a dirty node's parent is dirty, so a clean node has a clean subtree.
    cells: NodeArray<u8>,
}

/// The value of every byte of a node that has never been hashed: dirty.
const STALE: u8 = 1;

impl HashCache {
    /// An all-dirty cache for a tree of `n_leaves` leaves.
    pub(super) fn new(hash_len: usize, n_leaves: usize) -> Self {
        HashCache {
            hash_len,
            cells: NodeArray::filled(hash_len + 1, STALE, 2 * n_leaves - 1),
        }
    }

    /// Follow the tree to `n_leaves` leaves. Extending keeps old indices (new nodes are
    /// dirty); truncating keeps the left subtree, whose hashes do not depend on the right.
    pub(super) fn resize(&mut self, n_leaves: usize) {
        self.cells.resize(2 * n_leaves - 1);
    }

    /// Mark node `x` and its ancestors dirty.
    pub(super) fn mark_dirty(&mut self, x: u32, n_leaves: u32) {
        let mut cur = x;
        loop {
            if !self.is_dirty(cur) {
                if let Some(cell) = self.cells.item_mut(cur as usize) {
                    cell[0] = STALE;
                }
            } else {
                // Already dirty (or outside): by the invariant so is everything above.
                return;
            }
            match math::parent(cur, n_leaves) {
                Some(p) => cur = p,
                None => return,
            }
        }
    }

    /// Whether `x` is stale; nodes outside the tree count as stale.
    fn is_dirty(&self, x: u32) -> bool {
        self.cells.item(x as usize).is_none_or(|c| c[0] != 0)
    }

    /// The cached hash of `x`, if it is current.
    pub(super) fn get(&self, x: u32) -> Option<&[u8]> {
        let cell = self.cells.item(x as usize)?;
        (cell[0] == 0).then(|| &cell[1..])
    }

    /// Store the current hash of `x` (in range).
    fn set(&mut self, x: u32, hash: &[u8]) {
        if let Some(cell) = self.cells.item_mut(x as usize) {
            cell[0] = 0;
            cell[1..].copy_from_slice(hash);
        }
    }

    /// How many nodes are stale (tests check that a change dirties only its path).
    #[cfg(test)]
    pub(super) fn dirty_count(&self) -> usize {
        (0..self.cells.len() as u32)
            .filter(|&x| self.is_dirty(x))
            .count()
    }

    /// Heap bytes held by the cache.
    pub(super) fn memory_bytes(&self) -> usize {
        self.cells.memory_bytes()
    }
}

/// Encode `TreeHashInput` for a leaf (§7.8) into `buf`.
fn leaf_hash_input(buf: &mut Vec<u8>, leaf_index: u32, leaf: Option<&LeafNode>) {
    buf.clear();
    buf.push(1); // node_type = leaf
    leaf_index.encode(buf);
    match leaf {
        None => buf.push(0),
        Some(l) => {
            buf.push(1);
            l.encode(buf);
        }
    }
}

/// Encode `TreeHashInput` for a parent (§7.8) into `buf`.
fn parent_hash_input(buf: &mut Vec<u8>, node: Option<&ParentNode>, left: &[u8], right: &[u8]) {
    buf.clear();
    buf.push(2); // node_type = parent
    match node {
        None => buf.push(0),
        Some(p) => {
            buf.push(1);
            p.encode(buf);
        }
    }
    write_vec_bytes(buf, left);
    write_vec_bytes(buf, right);
}

/// The tree hash of leaf `leaf_index` holding `leaf` (§7.8).
pub fn leaf_tree_hash(suite: &Suite, leaf_index: u32, leaf: Option<&LeafNode>) -> Vec<u8> {
    let mut buf = Vec::new();
    leaf_hash_input(&mut buf, leaf_index, leaf);
    suite.hash(&buf)
}

/// The tree hash of a parent node from its content and its children's tree hashes (§7.8).
pub fn parent_tree_hash(
    suite: &Suite,
    node: Option<&ParentNode>,
    left_hash: &[u8],
    right_hash: &[u8],
) -> Vec<u8> {
    let mut buf = Vec::new();
    parent_hash_input(&mut buf, node, left_hash, right_hash);
    suite.hash(&buf)
}

/// The parent hash of a node (§7.9): the hash of `ParentHashInput { encryption_key,
/// parent_hash, original_sibling_tree_hash }`.
pub fn parent_hash(
    suite: &Suite,
    encryption_key: &[u8],
    parent_hash: &[u8],
    original_sibling_tree_hash: &[u8],
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(encryption_key.len() + parent_hash.len() + 80);
    write_vec_bytes(&mut buf, encryption_key);
    write_vec_bytes(&mut buf, parent_hash);
    write_vec_bytes(&mut buf, original_sibling_tree_hash);
    suite.hash(&buf)
}

/// The first leaf index under node `x` and the number of leaves under it.
pub(super) fn leaf_span(x: u32) -> (u64, u64) {
    let k = math::level(x);
    let first = (u64::from(x) >> (k + 1)) << k;
    (first, 1u64 << k)
}

/// What the refresh reads: the nodes, never the cache.
struct Nodes<'a> {
    suite: Suite,
    leaves: &'a NodeArray<Option<Arc<LeafNode>>>,
    parents: &'a NodeArray<Option<Arc<ParentNode>>>,
}

impl Nodes<'_> {
    fn leaf(&self, x: u32) -> Option<&LeafNode> {
        self.leaves.get((x / 2) as usize)?.as_deref()
    }

    fn parent(&self, x: u32) -> Option<&ParentNode> {
        self.parents.get((x / 2) as usize)?.as_deref()
    }
}

/// Recompute the dirty nodes in the subtree of `x` in a flat buffer of cells (dirty byte, then
/// hash) that covers exactly that subtree, whose lowest node index is `lo`; `threads` bounds
/// the extra threads used.
fn refresh_flat(
    nodes: &Nodes<'_>,
    x: u32,
    lo: u32,
    cells: &mut [u8],
    threads: usize,
    buf: &mut Vec<u8>,
) {
    let hl = nodes.suite.hash_len();
    let stride = hl + 1;
    let i = (x - lo) as usize;
    let dirty = |cells: &[u8], i: usize| cells.get(i * stride).is_some_and(|&d| d != 0);
    if !dirty(cells, i) {
        return;
    }
    let (Some(l), Some(r)) = (math::left(x), math::right(x)) else {
        leaf_hash_input(buf, x / 2, nodes.leaf(x));
        cells[i * stride] = 0;
        cells[i * stride + 1..(i + 1) * stride].copy_from_slice(&nodes.suite.hash(buf));
        return;
    };
    // Split the buffer at x: left subtree below, right subtree above (Appendix C layout).
    let (cl, rest) = cells.split_at_mut(i * stride);
    let (cx, cr) = rest.split_at_mut(stride);
    let (li, ri) = ((l - lo) as usize, (r - x - 1) as usize);
    let both_dirty = dirty(cl, li) && dirty(cr, ri);
    if threads > 1 && math::level(x) >= PARALLEL_LEVEL && both_dirty {
        let (tl, tr) = (threads / 2, threads - threads / 2);
        std::thread::scope(|s| {
            s.spawn(|| refresh_flat(nodes, l, lo, cl, tl, &mut Vec::new()));
            refresh_flat(nodes, r, x + 1, cr, tr, buf);
        });
    } else {
        refresh_flat(nodes, l, lo, cl, 1, buf);
        refresh_flat(nodes, r, x + 1, cr, 1, buf);
    }
    parent_hash_input(
        buf,
        nodes.parent(x),
        &cl[li * stride + 1..(li + 1) * stride],
        &cr[ri * stride + 1..(ri + 1) * stride],
    );
    cx[0] = 0;
    cx[1..].copy_from_slice(&nodes.suite.hash(buf));
}

/// Recompute the dirty nodes below and at `x` in place, touching (and so copying, in a
/// shared cache) only dirty cells.
fn refresh_in_place(nodes: &Nodes<'_>, cache: &mut HashCache, x: u32, buf: &mut Vec<u8>) {
    if !cache.is_dirty(x) || cache.cells.item(x as usize).is_none() {
        return;
    }
    let (Some(l), Some(r)) = (math::left(x), math::right(x)) else {
        leaf_hash_input(buf, x / 2, nodes.leaf(x));
        cache.set(x, &nodes.suite.hash(buf));
        return;
    };
    refresh_in_place(nodes, cache, l, buf);
    refresh_in_place(nodes, cache, r, buf);
    let (Some(lh), Some(rh)) = (cache.get(l), cache.get(r)) else {
        return;
    };
    parent_hash_input(buf, nodes.parent(x), lh, rh);
    let h = nodes.suite.hash(buf);
    cache.set(x, &h);
}

impl RatchetTree {
    /// Recompute every stale tree hash (§7.8); afterwards all per-node hashes are current.
    pub fn refresh_hashes(&mut self) {
        let root = self.root();
        let limit = self.max_threads();
        let nodes = Nodes {
            suite: self.suite,
            leaves: &self.leaves,
            parents: &self.parents,
        };
        let cache = &mut self.hashes;
        // Both halves stale means a load or a large batch: hash in a flat buffer on every
        // core. Otherwise only paths are stale: rehash them in place.
        let both_halves = match (math::left(root), math::right(root)) {
            (Some(l), Some(r)) => cache.is_dirty(l) && cache.is_dirty(r),
            _ => false,
        };
        if both_halves {
            let mut cells = cache.cells.to_flat();
            refresh_flat(
                &nodes,
                root,
                0,
                &mut cells,
                crate::parallel::threads(limit),
                &mut Vec::new(),
            );
            cache.cells = NodeArray::from_vec(cache.hash_len + 1, STALE, cells);
        } else {
            refresh_in_place(&nodes, cache, root, &mut Vec::new());
        }
    }

    /// The tree hash of the root (§7.8), as carried in `GroupContext.tree_hash`.
    pub fn tree_hash(&mut self) -> Vec<u8> {
        self.refresh_hashes();
        self.cached_tree_hash(self.root())
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }

    /// The tree hash of node `x` (§7.8), or `None` outside the tree.
    pub fn node_tree_hash(&mut self, x: u32) -> Option<Vec<u8>> {
        if x >= self.n_nodes() {
            return None;
        }
        self.refresh_hashes();
        self.cached_tree_hash(x).map(<[u8]>::to_vec)
    }

    /// The cached tree hash of `x` if no change since the last refresh has made it stale.
    pub fn cached_tree_hash(&self, x: u32) -> Option<&[u8]> {
        self.hashes.get(x)
    }

    /// The tree hash of node `s` in the tree with every leaf of `excluded` blanked and removed
    /// from all unmerged-leaf lists: the `original_sibling_tree_hash` of §7.9. Only the paths
    /// from excluded leaves up to `s` are rehashed; the rest comes from the cache.
    pub fn original_sibling_tree_hash(&mut self, s: u32, excluded: &[u32]) -> Option<Vec<u8>> {
        if s >= self.n_nodes() {
            return None;
        }
        self.refresh_hashes();
        self.original_sibling_tree_hash_clean(s, excluded)
    }

    /// [`Self::original_sibling_tree_hash`] on a refreshed cache; `None` if it is stale.
    pub(super) fn original_sibling_tree_hash_clean(
        &self,
        s: u32,
        excluded: &[u32],
    ) -> Option<Vec<u8>> {
        let (first, count) = leaf_span(s);
        let mut ex: Vec<u32> = excluded
            .iter()
            .copied()
            .filter(|&u| (first..first + count).contains(&u64::from(u)))
            .collect();
        ex.sort_unstable();
        ex.dedup();
        self.hash_excluding(s, &ex, &mut Vec::new())
    }

    /// Tree hash of `x` with the sorted leaves `ex` (all under `x`) blanked and unlisted.
    fn hash_excluding(&self, x: u32, ex: &[u32], buf: &mut Vec<u8>) -> Option<Vec<u8>> {
        if ex.is_empty() {
            return self.hashes.get(x).map(<[u8]>::to_vec);
        }
        let (Some(l), Some(r)) = (math::left(x), math::right(x)) else {
            leaf_hash_input(buf, x / 2, None);
            return Some(self.suite.hash(buf));
        };
        let (first, count) = leaf_span(x);
        let mid = first + count / 2;
        let split = ex.partition_point(|&u| u64::from(u) < mid);
        let lh = self.hash_excluding(l, &ex[..split], buf)?;
        let rh = self.hash_excluding(r, &ex[split..], buf)?;
        let node = self.parent_node(x).map(|p| {
            let mut p = p.clone();
            p.unmerged_leaves.retain(|u| ex.binary_search(u).is_err());
            p
        });
        parent_hash_input(buf, node.as_ref(), &lh, &rh);
        Some(self.suite.hash(buf))
    }

    /// The parent hash of parent node `p` with copath child `s` (§7.9), or `None` if `p` is
    /// blank or `s` is not its child. Uses the current cache, which must be refreshed.
    pub(super) fn parent_hash_clean(&self, p: u32, s: u32) -> Option<Vec<u8>> {
        let node = self.parent_node(p)?;
        if math::left(p) != Some(s) && math::right(p) != Some(s) {
            return None;
        }
        let sibling = self.original_sibling_tree_hash_clean(s, &node.unmerged_leaves)?;
        Some(parent_hash(
            &self.suite,
            &node.encryption_key,
            &node.parent_hash,
            &sibling,
        ))
    }

    /// The parent hash of parent node `p` with copath child `s` (§7.9), `None` if `p` is
    /// blank or `s` is not one of its children.
    pub fn parent_hash_of(&mut self, p: u32, s: u32) -> Option<Vec<u8>> {
        self.refresh_hashes();
        self.parent_hash_clean(p, s)
    }

    /// Merge an UpdatePath's public keys into the tree (§7.5) with their parent hashes (§7.9).
    ///
    /// Blanks the direct path of `sender`, then gives the `i`-th node of its filtered direct
    /// path (computed on the tree as it is now, after the commit's proposals) the key
    /// `keys[i]`, no unmerged leaves, and the parent hash of the next node up, computed from
    /// the root down. Returns the parent hash the sender's new LeafNode must carry (empty if
    /// the filtered direct path is empty): a committer puts it in the leaf before signing, a
    /// receiver compares it with the leaf's `parent_hash` (§7.9.2). The leaf itself is left
    /// for [`RatchetTree::set_leaf`].
    pub fn merge_update_path(&mut self, sender: u32, keys: &[HPKEPublicKey]) -> Result<Vec<u8>> {
        if sender >= self.n_leaves() {
            return Err(Rule::LeafOutOfRange.into());
        }
        let path = self.filtered_direct_path_with_copath(sender);
        if path.len() != keys.len() {
            return Err(Rule::UpdatePathLength.into());
        }
        // Copath subtrees are untouched below; their hashes must be current first.
        self.refresh_hashes();
        self.blank_direct_path(sender);
        let mut above = Vec::new();
        for (&(p, s), key) in path.iter().zip(keys).rev() {
            let node = ParentNode {
                encryption_key: key.clone(),
                parent_hash: above.into(),
                unmerged_leaves: Vec::new(),
            };
            let sibling = self.hashes.get(s).map(<[u8]>::to_vec).unwrap_or_default();
            above = parent_hash(
                &self.suite,
                &node.encryption_key,
                &node.parent_hash,
                &sibling,
            );
            self.set_parent(p, Some(node))?;
        }
        Ok(above)
    }
}
