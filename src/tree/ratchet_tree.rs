//! The ratchet tree (RFC 9420 §4, §7.1–§7.7) as the group's public state.
//!
//! Storage is split by node kind rather than kept as one array of an enum: leaf `i` is
//! `leaves[i]` and parent node `2i + 1` is `parents[i]`, each an `Option<Arc<_>>` (8 bytes when
//! blank). Both arrays, the per-node tree-hash cache ([`super::hashes`]) and the key indexes
//! are copy-on-write (`tree/array.rs`): the tree a commit is staged on shares everything
//! with the group's tree except the O(log N) nodes the commit changes, and merging it is a
//! move.
//!
//! The tree always has a power-of-two number of leaves (§7.7). Nothing here panics on an
//! untrusted tree: every index from the wire or from a caller is range-checked.

use super::array::NodeArray;
use super::hashes::HashCache;
use super::key_index::KeyIndex;
use super::math;
use super::verifying_keys::VerifyingKeyCache;
use crate::codec::{write_vec_with, Encode};
use crate::crypto::{PublicKeyRef, Suite};
use crate::error::{Error, Result, Rule};
use crate::messages::{CredentialType, LeafNode, Node, ParentNode, RatchetTreeWire};
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::sync::Arc;

/// Leaf indices are `u32` on the wire; node indices are `2 * leaf`, so leaves stop at 2^31.
const MAX_LEAVES: usize = 1 << 31;

/// A borrowed non-blank node of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRef<'a> {
    /// A leaf node (even node index).
    Leaf(&'a LeafNode),
    /// A parent node (odd node index).
    Parent(&'a ParentNode),
}

/// The public ratchet tree of a group (§4, §7), with cached tree hashes (§7.8).
#[derive(Debug, Clone)]
pub struct RatchetTree {
    pub(super) suite: Suite,
    /// Leaf `i` at index `i`; the length is the (power-of-two) leaf count.
    pub(super) leaves: NodeArray<Option<Arc<LeafNode>>>,
    /// Parent node `2i + 1` at index `i`; always one shorter than `leaves`.
    pub(super) parents: NodeArray<Option<Arc<ParentNode>>>,
    /// Per-node tree hashes and their dirty flags.
    pub(super) hashes: HashCache,
    /// No blank leaf lies below this index, so the search for the leftmost blank leaf
    /// (§12.1.1) starts here instead of scanning every member on each Add.
    blank_hint: usize,
    /// Encryption keys of all nodes (to node index) and signature keys of leaves (to leaf
    /// index), so uniqueness checks on Add, Update and Commit (§7.3, §12.4.2) are O(1).
    encryption_keys: KeyIndex,
    signature_keys: KeyIndex,
    /// Credential types in use and listed, so §7.3's "every member supports every type in
    /// use" is O(1) per new leaf instead of a pass over the members.
    credentials: CredentialCensus,
    /// At most this many threads hash or validate the tree (`None`: every core).
    max_threads: Option<NonZeroUsize>,
    /// Members' signature keys parsed for verifying their messages, shared by copies.
    pub(super) verifiers: VerifyingKeyCache,
}

/// Per credential type, how many members use it and how many list it in their
/// capabilities; kept in step with the leaves.
#[derive(Debug, Clone, Default)]
struct CredentialCensus {
    members: u32,
    in_use: BTreeMap<CredentialType, u32>,
    listed: BTreeMap<CredentialType, u32>,
}

impl CredentialCensus {
    /// Count `leaf` in (`add`) or out. A type listed twice by one leaf counts once.
    fn count(&mut self, leaf: &LeafNode, add: bool) {
        fn step(map: &mut BTreeMap<CredentialType, u32>, t: CredentialType, add: bool) {
            let n = map.entry(t).or_default();
            *n = if add { *n + 1 } else { n.saturating_sub(1) };
            if *n == 0 {
                map.remove(&t);
            }
        }
        self.members = if add {
            self.members + 1
        } else {
            self.members.saturating_sub(1)
        };
        step(&mut self.in_use, leaf.credential.credential_type(), add);
        let listed = &leaf.capabilities.credentials;
        if listed.len() <= 8 {
            // The usual short list: skip repeats in place rather than allocate a set per leaf.
            for (i, t) in listed.iter().enumerate() {
                if !listed[..i].contains(t) {
                    step(&mut self.listed, *t, add);
                }
            }
            return;
        }
        let listed: BTreeSet<CredentialType> = listed.iter().copied().collect();
        for t in listed {
            step(&mut self.listed, t, add);
        }
    }
}

impl RatchetTree {
    /// A one-member tree, as created by the group's founder (§11).
    pub fn new(suite: Suite, leaf: LeafNode) -> Self {
        let mut tree = RatchetTree {
            suite,
            leaves: NodeArray::filled(1, None, 1),
            parents: NodeArray::new(1, None),
            hashes: HashCache::new(suite.hash_len(), 1),
            blank_hint: 0,
            encryption_keys: KeyIndex::default(),
            signature_keys: KeyIndex::default(),
            credentials: CredentialCensus::default(),
            max_threads: None,
            verifiers: VerifyingKeyCache::default(),
        };
        tree.put_leaf(0, Some(Arc::new(leaf)));
        tree.blank_hint = 1;
        tree
    }

    /// Load a tree from its `ratchet_tree` form (§12.4.3.3) in one pass.
    ///
    /// Checks only the structure: the last node is non-blank, leaves sit at even and parents
    /// at odd positions; the tree is then padded with blanks to `2^(d+1) - 1` nodes. Whether
    /// the contents can be trusted is [`super::validation`]'s job.
    pub fn from_wire(suite: Suite, wire: RatchetTreeWire) -> Result<Self> {
        let nodes = wire.0;
        if !matches!(nodes.last(), Some(Some(_))) {
            return Err(Rule::TreeEndsBlank.into());
        }
        // Node index h = len - 1 needs 2L - 1 > h nodes, i.e. L >= ceil((h + 2) / 2) leaves.
        let n_leaves = (nodes.len() / 2 + 1).next_power_of_two();
        if n_leaves > MAX_LEAVES {
            return Err(Error::Unsupported("ratchet tree larger than 2^31 leaves"));
        }
        let mut leaves = Vec::with_capacity(n_leaves);
        let mut parents = Vec::with_capacity(n_leaves - 1);
        let mut blank_hint = None;
        for (i, node) in nodes.into_iter().enumerate() {
            match (i % 2 == 0, node) {
                (true, None) => {
                    blank_hint.get_or_insert(leaves.len());
                    leaves.push(None)
                }
                (true, Some(Node::Leaf(leaf))) => leaves.push(Some(Arc::from(leaf))),
                (false, None) => parents.push(None),
                (false, Some(Node::Parent(parent))) => parents.push(Some(Arc::from(parent))),
                _ => return Err(Rule::NodeTypeMismatch.into()),
            }
        }
        let blank_hint = blank_hint.unwrap_or(leaves.len());
        leaves.resize(n_leaves, None);
        parents.resize(n_leaves - 1, None);
        let mut tree = RatchetTree {
            suite,
            hashes: HashCache::new(suite.hash_len(), leaves.len()),
            leaves: NodeArray::from_vec(1, None, leaves),
            parents: NodeArray::from_vec(1, None, parents),
            blank_hint,
            encryption_keys: KeyIndex::default(),
            signature_keys: KeyIndex::default(),
            credentials: CredentialCensus::default(),
            max_threads: None,
            verifiers: VerifyingKeyCache::default(),
        };
        tree.index_all();
        Ok(tree)
    }

    /// The `ratchet_tree` form (§12.4.3.3): nodes in array order, trailing blanks omitted.
    pub fn to_wire(&self) -> RatchetTreeWire {
        let end = self.last_non_blank().map_or(0, |x| x as usize + 1);
        let nodes = (0..end as u32)
            .map(|x| {
                self.node(x).map(|n| match n {
                    NodeRef::Leaf(l) => Node::Leaf(Box::new(l.clone())),
                    NodeRef::Parent(p) => Node::Parent(Box::new(p.clone())),
                })
            })
            .collect();
        RatchetTreeWire(nodes)
    }

    /// The encoded `ratchet_tree` (§12.4.3.3), written without cloning any node.
    pub fn to_wire_bytes(&self) -> Vec<u8> {
        let end = self.last_non_blank().map_or(0, |x| x + 1);
        let mut out = Vec::new();
        write_vec_with(&mut out, |body| {
            for x in 0..end {
                match self.node(x) {
                    None => body.push(0),
                    Some(NodeRef::Leaf(l)) => {
                        body.extend_from_slice(&[1, 1]);
                        l.encode(body);
                    }
                    Some(NodeRef::Parent(p)) => {
                        body.extend_from_slice(&[1, 2]);
                        p.encode(body);
                    }
                }
            }
        });
        out
    }

    /// Bound the threads that hashing and validating this tree (and its copies) use;
    /// `None` uses every core.
    pub fn set_max_threads(&mut self, limit: Option<NonZeroUsize>) {
        self.max_threads = limit;
    }

    /// The thread bound set by [`Self::set_max_threads`].
    pub fn max_threads(&self) -> Option<NonZeroUsize> {
        self.max_threads
    }

    /// The cipher suite whose hash the tree hashes use.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The number of leaves, blank or not: always a power of two.
    pub fn n_leaves(&self) -> u32 {
        self.leaves.len() as u32
    }

    /// The number of nodes, `2 * n_leaves - 1`.
    pub fn n_nodes(&self) -> u32 {
        math::node_width(self.n_leaves())
    }

    /// The root's node index.
    pub fn root(&self) -> u32 {
        math::root(self.n_leaves())
    }

    /// The node at index `x`, or `None` if it is blank or outside the tree.
    pub fn node(&self, x: u32) -> Option<NodeRef<'_>> {
        if math::is_leaf(x) {
            self.leaf(x / 2).map(NodeRef::Leaf)
        } else {
            self.parent_node(x).map(NodeRef::Parent)
        }
    }

    /// Whether node `x` is blank (nodes outside the tree count as blank).
    pub fn is_blank(&self, x: u32) -> bool {
        self.node(x).is_none()
    }

    /// The leaf node of leaf `leaf_index`, if that leaf is occupied.
    pub fn leaf(&self, leaf_index: u32) -> Option<&LeafNode> {
        self.leaves.get(leaf_index as usize)?.as_deref()
    }

    /// Leaf `leaf_index`'s signature key, to verify what that member signs: parsed once per
    /// key and reused for its later messages (`None` for a blank or absent leaf).
    pub fn member_signature_key(&self, leaf_index: u32) -> Option<PublicKeyRef<'_>> {
        let leaf = self.leaf(leaf_index)?;
        let encoded = leaf.signature_key.as_slice();
        Some(match self.verifiers.get(&self.suite, leaf_index, encoded) {
            Some(key) => PublicKeyRef::Parsed(key),
            None => PublicKeyRef::Encoded(encoded),
        })
    }

    /// The parent node at node index `x` (odd), if it is non-blank.
    pub fn parent_node(&self, x: u32) -> Option<&ParentNode> {
        if math::is_leaf(x) {
            return None;
        }
        self.parents.get((x / 2) as usize)?.as_deref()
    }

    /// The occupied leaves, as `(leaf_index, leaf)` in index order.
    pub fn members(&self) -> impl Iterator<Item = (u32, &LeafNode)> + '_ {
        self.leaves
            .elements()
            .enumerate()
            .filter_map(|(i, l)| Some((i as u32, l.as_deref()?)))
    }

    /// The non-blank parent nodes, as `(node_index, parent)` in index order.
    pub fn parent_nodes(&self) -> impl Iterator<Item = (u32, &ParentNode)> + '_ {
        self.parents
            .elements()
            .enumerate()
            .filter_map(|(i, p)| Some((2 * i as u32 + 1, p.as_deref()?)))
    }

    /// The number of occupied leaves: O(1), the census counts them.
    pub fn member_count(&self) -> usize {
        self.credentials.members as usize
    }

    /// The leftmost blank leaf, where the next Add goes (§12.1.1), if any.
    pub fn leftmost_blank_leaf(&self) -> Option<u32> {
        let start = self.blank_hint.min(self.leaves.len());
        self.leaves
            .find_from(start, |l| l[0].is_none())
            .map(|i| i as u32)
    }

    /// The direct path of leaf `leaf_index` (§4.1.2): node indices from its parent to the root.
    pub fn direct_path(&self, leaf_index: u32) -> Vec<u32> {
        if leaf_index >= self.n_leaves() {
            return Vec::new();
        }
        math::direct_path(math::leaf_to_node(leaf_index), self.n_leaves())
    }

    /// The copath of leaf `leaf_index` (§4.1.2): the sibling of each node on its path to the
    /// root, excluding the root.
    pub fn copath(&self, leaf_index: u32) -> Vec<u32> {
        if leaf_index >= self.n_leaves() {
            return Vec::new();
        }
        math::copath(math::leaf_to_node(leaf_index), self.n_leaves())
    }

    /// The resolution of node `x` (§4.1.1): the non-blank nodes covering its subtree,
    /// depth-first and left first, each non-blank parent followed by its unmerged leaves.
    pub fn resolution(&self, x: u32) -> Vec<u32> {
        let mut out = Vec::new();
        self.resolution_into(x, &mut out);
        out
    }

    /// Append the resolution of `x` to `out`.
    pub fn resolution_into(&self, x: u32, out: &mut Vec<u32>) {
        if x >= self.n_nodes() {
            return;
        }
        match self.node(x) {
            Some(NodeRef::Leaf(_)) => out.push(x),
            Some(NodeRef::Parent(p)) => {
                out.push(x);
                // An index past 2^31 has no node; validation rejects it (§12.4.3.1).
                out.extend(p.unmerged_leaves.iter().filter_map(|u| u.checked_mul(2)));
            }
            None => {
                if let (Some(l), Some(r)) = (math::left(x), math::right(x)) {
                    self.resolution_into(l, out);
                    self.resolution_into(r, out);
                }
            }
        }
    }

    /// Whether the resolution of `x` is empty, without building it: the first non-blank
    /// node found ends the search.
    pub fn resolution_is_empty(&self, x: u32) -> bool {
        if x >= self.n_nodes() {
            return true;
        }
        if !self.is_blank(x) {
            return false;
        }
        match (math::left(x), math::right(x)) {
            (Some(l), Some(r)) => self.resolution_is_empty(l) && self.resolution_is_empty(r),
            _ => true,
        }
    }

    /// The filtered direct path of leaf `leaf_index` (§4.1.2): its direct path without the
    /// nodes whose copath child has an empty resolution.
    pub fn filtered_direct_path(&self, leaf_index: u32) -> Vec<u32> {
        self.filtered_direct_path_with_copath(leaf_index)
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    }

    /// The filtered direct path of `leaf_index` as `(node, copath_child)` pairs, the child
    /// being the one whose resolution a path secret for `node` is encrypted to (§7.5).
    pub fn filtered_direct_path_with_copath(&self, leaf_index: u32) -> Vec<(u32, u32)> {
        if leaf_index >= self.n_leaves() {
            return Vec::new();
        }
        let n = self.n_leaves();
        let mut out = Vec::new();
        let mut cur = math::leaf_to_node(leaf_index);
        while let (Some(p), Some(s)) = (math::parent(cur, n), math::sibling(cur, n)) {
            if !self.resolution_is_empty(s) {
                out.push((p, s));
            }
            cur = p;
        }
        out
    }

    /// Add a member (§12.1.1): take the leftmost blank leaf, or double the tree (§7.7) if
    /// there is none, and list the new leaf as unmerged at every non-blank parent above it.
    /// Returns the new member's leaf index.
    pub fn add_leaf(&mut self, leaf: LeafNode) -> Result<u32> {
        let index = match self.leftmost_blank_leaf() {
            Some(i) => i,
            None => {
                let i = self.leaves.len() as u32;
                self.extend()?;
                i
            }
        };
        for p in self.direct_path(index) {
            if let Some(Some(parent)) = self.parents.get_mut((p / 2) as usize) {
                let list = &mut Arc::make_mut(parent).unmerged_leaves;
                // §7.1: unmerged_leaves MUST stay sorted; a refilled blank leaf can sit left
                // of leaves added earlier.
                if let Err(pos) = list.binary_search(&index) {
                    list.insert(pos, index);
                }
            }
        }
        self.put_leaf(index, Some(Arc::new(leaf)));
        self.blank_hint = index as usize + 1;
        self.hashes
            .mark_dirty(math::leaf_to_node(index), self.n_leaves());
        Ok(index)
    }

    /// Apply an Update (§12.1.2): replace the sender's leaf and blank its direct path.
    pub fn update_leaf(&mut self, leaf_index: u32, leaf: LeafNode) -> Result<()> {
        self.occupied(leaf_index)?;
        self.blank_direct_path(leaf_index);
        self.set_leaf(leaf_index, leaf)
    }

    /// Apply a Remove (§12.1.3): blank the leaf and its direct path, then truncate the tree
    /// while its right half is entirely blank (§7.7).
    pub fn remove_leaf(&mut self, leaf_index: u32) -> Result<()> {
        match self.leaves.get(leaf_index as usize) {
            None => return Err(Rule::LeafOutOfRange.into()),
            Some(None) => return Err(Rule::RemovedLeafBlank.into()),
            Some(Some(_)) => {}
        }
        self.blank_direct_path(leaf_index);
        self.put_leaf(leaf_index, None);
        self.blank_hint = self.blank_hint.min(leaf_index as usize);
        self.hashes
            .mark_dirty(math::leaf_to_node(leaf_index), self.n_leaves());
        self.truncate();
        Ok(())
    }

    /// Replace the leaf node at `leaf_index` without touching its direct path (e.g. the
    /// committer's new leaf after [`RatchetTree::merge_update_path`]).
    pub fn set_leaf(&mut self, leaf_index: u32, leaf: LeafNode) -> Result<()> {
        if leaf_index >= self.n_leaves() {
            return Err(Rule::LeafOutOfRange.into());
        }
        self.put_leaf(leaf_index, Some(Arc::new(leaf)));
        self.hashes
            .mark_dirty(math::leaf_to_node(leaf_index), self.n_leaves());
        Ok(())
    }

    /// Blank every node on the direct path of `leaf_index` (§7.4, §12.1.2, §12.1.3).
    pub fn blank_direct_path(&mut self, leaf_index: u32) {
        for p in self.direct_path(leaf_index) {
            if !self.is_blank(p) {
                self.put_parent(p, None);
                self.hashes.mark_dirty(p, self.leaves.len() as u32);
            }
        }
    }

    /// Set the parent node at odd node index `x` (or blank it with `None`).
    pub fn set_parent(&mut self, x: u32, node: Option<ParentNode>) -> Result<()> {
        if math::is_leaf(x) {
            return Err(Error::Misuse("set_parent on a leaf position"));
        }
        if x >= self.n_nodes() {
            return Err(Error::Misuse("node index outside the tree"));
        }
        self.put_parent(x, node.map(Arc::new));
        self.hashes.mark_dirty(x, self.leaves.len() as u32);
        Ok(())
    }

    /// `Ok` if `leaf_index` is an occupied leaf; out of range is `LeafOutOfRange`, blank is
    /// a misuse (callers validate proposals before applying them, §12.2).
    fn occupied(&self, leaf_index: u32) -> Result<()> {
        match self.leaves.get(leaf_index as usize) {
            None => Err(Rule::LeafOutOfRange.into()),
            Some(None) => Err(Error::Misuse("leaf is blank")),
            Some(Some(_)) => Ok(()),
        }
    }

    /// Double the tree (§7.7): the old tree becomes the left subtree of a new blank root.
    /// Array indices of existing nodes do not change, so their cached hashes stay valid.
    fn extend(&mut self) -> Result<()> {
        let n = self.leaves.len();
        if n >= MAX_LEAVES {
            return Err(Error::Unsupported("ratchet tree larger than 2^31 leaves"));
        }
        self.leaves.resize(2 * n);
        self.parents.resize(2 * n - 1);
        self.hashes.resize(2 * n);
        Ok(())
    }

    /// Halve the tree while its right subtree has no non-blank leaf (§7.7, §12.1.3): the
    /// result has `2^d` leaves for the smallest `d` with `2^d` > the rightmost member.
    fn truncate(&mut self) {
        let keep = match self.leaves.rfind(|l| l[0].is_some()) {
            Some(last) => (last + 1).next_power_of_two(),
            None => 1,
        };
        if keep < self.leaves.len() {
            // Only a malformed tree has non-blank parents over blank leaves; unindex them.
            for i in keep - 1..self.parents.len() {
                self.put_parent(2 * i as u32 + 1, None);
            }
            self.leaves.resize(keep);
            self.parents.resize(keep - 1);
            self.hashes.resize(keep);
            self.blank_hint = self.blank_hint.min(keep);
        }
    }

    /// Store `leaf` at `leaf_index` (in range), keeping the key indexes in step.
    fn put_leaf(&mut self, leaf_index: u32, leaf: Option<Arc<LeafNode>>) {
        let Some(old) = self.leaves.get(leaf_index as usize) else {
            return;
        };
        let node = math::leaf_to_node(leaf_index);
        if let Some(old) = old.clone() {
            self.encryption_keys.remove(&old.encryption_key, node);
            self.signature_keys.remove(&old.signature_key, leaf_index);
            self.credentials.count(&old, false);
            if leaf.as_ref().map(|l| &l.signature_key) != Some(&old.signature_key) {
                self.verifiers.forget(leaf_index);
            }
        }
        if let Some(new) = &leaf {
            self.encryption_keys.insert(&new.encryption_key, node);
            self.signature_keys.insert(&new.signature_key, leaf_index);
            self.credentials.count(new, true);
        }
        self.leaves.set(leaf_index as usize, leaf);
    }

    /// Store `parent` at odd node index `x` (in range), keeping the key index in step.
    fn put_parent(&mut self, x: u32, parent: Option<Arc<ParentNode>>) {
        let Some(old) = self.parents.get((x / 2) as usize) else {
            return;
        };
        if let Some(old) = old.clone() {
            self.encryption_keys.remove(&old.encryption_key, x);
        }
        if let Some(new) = &parent {
            self.encryption_keys.insert(&new.encryption_key, x);
        }
        self.parents.set((x / 2) as usize, parent);
    }

    /// Build both key indexes and the credential census from scratch (after loading).
    fn index_all(&mut self) {
        let members = self.members().count();
        let parents = self.parent_nodes().count();
        let mut enc = KeyIndex::with_capacity(members + parents);
        let mut sig = KeyIndex::with_capacity(members);
        let mut credentials = CredentialCensus::default();
        for (i, leaf) in self.members() {
            enc.insert(&leaf.encryption_key, math::leaf_to_node(i));
            sig.insert(&leaf.signature_key, i);
            credentials.count(leaf, true);
        }
        self.credentials = credentials;
        for (x, p) in self.parent_nodes() {
            enc.insert(&p.encryption_key, x);
        }
        self.encryption_keys = enc;
        self.signature_keys = sig;
    }

    /// Fold the key indexes' overlays back into their tables where no other copy of the
    /// tree shares them (after a staged tree has replaced the one it was cloned from).
    pub(crate) fn compact(&mut self) {
        self.encryption_keys.compact();
        self.signature_keys.compact();
    }

    /// The credential types the members use (§7.3), each once.
    pub fn credential_types_in_use(&self) -> impl Iterator<Item = CredentialType> + '_ {
        self.credentials.in_use.keys().copied()
    }

    /// Whether every member lists credential type `t` in its capabilities (§7.3): O(log T).
    pub fn all_members_list_credential(&self, t: CredentialType) -> bool {
        self.credentials.listed.get(&t).copied().unwrap_or(0) == self.credentials.members
    }

    /// The node (leaf or parent) whose encryption key is `key`, if any: O(1), for the
    /// uniqueness checks of §7.3 and §12.4.2. With duplicates (an invalid tree), the
    /// lowest-indexed holder is not guaranteed; any holder is returned.
    pub fn find_encryption_key(&self, key: &[u8]) -> Option<u32> {
        self.encryption_keys
            .candidates(key)
            .find(|&x| match self.node(x) {
                Some(NodeRef::Leaf(l)) => l.encryption_key.as_slice() == key,
                Some(NodeRef::Parent(p)) => p.encryption_key.as_slice() == key,
                None => false,
            })
    }

    /// The leaf whose signature key is `key`, if any: O(1), for §7.3 uniqueness.
    pub fn find_signature_key(&self, key: &[u8]) -> Option<u32> {
        self.signature_keys.candidates(key).find(|&i| {
            self.leaf(i)
                .is_some_and(|l| l.signature_key.as_slice() == key)
        })
    }

    /// The highest non-blank node index, if any.
    fn last_non_blank(&self) -> Option<u32> {
        let leaf = self.leaves.rfind(|l| l[0].is_some()).map(|i| 2 * i as u32);
        let parent = self
            .parents
            .rfind(|p| p[0].is_some())
            .map(|i| 2 * i as u32 + 1);
        leaf.max(parent)
    }

    /// An estimate of the memory the tree holds, in bytes: inline sizes plus heap buffers
    /// (capacity, not allocator overhead). For sizing large groups.
    pub fn approx_memory_bytes(&self) -> usize {
        use crate::messages::{Capabilities, Credential, LeafNodeSourceData};
        use core::mem::size_of;
        fn caps(c: &Capabilities) -> usize {
            c.versions.capacity() * 2
                + c.cipher_suites.capacity() * 2
                + c.extensions.capacity() * 2
                + c.proposals.capacity() * 2
                + c.credentials.capacity() * 2
        }
        let leaf_heap = |l: &LeafNode| {
            // Arc header (two counters) plus the struct, then its buffers.
            2 * size_of::<usize>()
                + size_of::<LeafNode>()
                + l.encryption_key.0.capacity()
                + l.signature_key.0.capacity()
                + match &l.credential {
                    Credential::Basic { identity } => identity.0.capacity(),
                    Credential::X509 { certificates } => certificates
                        .iter()
                        .map(|c| c.cert_data.0.capacity() + size_of::<Vec<u8>>())
                        .sum(),
                }
                + caps(&l.capabilities)
                + match &l.leaf_node_source {
                    LeafNodeSourceData::Commit(ph) => ph.0.capacity(),
                    _ => 0,
                }
                + l.extensions
                    .iter()
                    .map(|e| {
                        size_of::<crate::messages::Extension>() + e.extension_data.0.capacity()
                    })
                    .sum::<usize>()
                + l.signature.0.capacity()
        };
        let parent_heap = |p: &ParentNode| {
            2 * size_of::<usize>()
                + size_of::<ParentNode>()
                + p.encryption_key.0.capacity()
                + p.parent_hash.0.capacity()
                + p.unmerged_leaves.capacity() * 4
        };
        size_of::<Self>()
            + self.leaves.memory_bytes()
            + self.parents.memory_bytes()
            + self.members().map(|(_, l)| leaf_heap(l)).sum::<usize>()
            + self
                .parent_nodes()
                .map(|(_, p)| parent_heap(p))
                .sum::<usize>()
            + self.hashes.memory_bytes()
            + self.encryption_keys.memory_bytes()
            + self.signature_keys.memory_bytes()
    }
}
