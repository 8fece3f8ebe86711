//! TreeKEM (RFC 9420 §7.4–§7.6): the private half of the ratchet tree, creating an
//! UpdatePath as a committer (§12.4.1) and applying one as a receiver (§12.4.2).
//!
//! [`RatchetTree`] is the public state; [`TreePrivateKeys`] holds what one member knows
//! privately (its leaf key and the keys of nodes on its direct path). Both halves of a path
//! update cost O(log N) HPKE operations and hashes in a populated tree. A committer encrypts
//! once per node in each copath resolution, which is O(N) in a sparse tree, so those
//! encryptions are spread over the available cores.
//!
//! On error the tree is left in an unspecified state: callers work on a staged clone (cheap,
//! nodes are shared) and drop it on failure. Private keys are only replaced on success.

use super::math;
use super::ratchet_tree::{NodeRef, RatchetTree};
use crate::codec::{Bytes, Encode};
use crate::crypto::{HpkePrivateKey, Secret, SignaturePrivateKey, Suite};
use crate::error::{Error, Result, Rule};
use crate::messages::{
    GroupContext, HPKECiphertext, HPKEPublicKey, LeafNode, LeafNodeSourceData, UpdatePath,
    UpdatePathNode,
};
use std::collections::{BTreeMap, HashSet};

/// The HPKE key pair of a node from its path secret (§7.4):
/// `DeriveKeyPair(DeriveSecret(path_secret, "node"))`.
pub fn node_key_from_path_secret(suite: &Suite, path_secret: &Secret) -> Result<HpkePrivateKey> {
    let node_secret = suite.derive_secret(path_secret, "node")?;
    suite.derive_key_pair(node_secret.as_bytes())
}

/// The next path secret up the filtered direct path (§7.4); one past the root it is the
/// commit secret (§12.4.1).
pub fn next_path_secret(suite: &Suite, path_secret: &Secret) -> Result<Secret> {
    suite.derive_secret(path_secret, "path")
}

/// The encryption key of node `x`, if it is non-blank.
fn node_public_key(tree: &RatchetTree, x: u32) -> Option<&[u8]> {
    match tree.node(x)? {
        NodeRef::Leaf(l) => Some(&l.encryption_key),
        NodeRef::Parent(p) => Some(&p.encryption_key),
    }
}

/// Whether `x` is a parent node on the direct path of `leaf` (§4.1.2).
fn on_direct_path(leaf: u32, x: u32) -> bool {
    !math::is_leaf(x)
        && leaf
            .checked_mul(2)
            .is_some_and(|l| math::is_descendant(l, x))
}

/// The private keys one member holds (§4 tree invariant, §7.4): its leaf's key and the keys
/// of the nodes on its direct path that it knows. Every key is zeroized on drop.
#[derive(Debug, Clone)]
pub struct TreePrivateKeys {
    own_leaf: u32,
    leaf_key: HpkePrivateKey,
    /// Keys of leaves proposed in our Update proposals this epoch (§12.1.2): one of them
    /// becomes the leaf key if a commit applies that Update.
    pending_leaf_keys: Vec<HpkePrivateKey>,
    /// Direct-path node index to key; at most `log2(N)` entries.
    path_keys: BTreeMap<u32, HpkePrivateKey>,
}

impl TreePrivateKeys {
    /// The keys of a member that knows only its leaf key (e.g. a group's founder, §11).
    pub fn new(own_leaf: u32, leaf_key: HpkePrivateKey) -> Self {
        TreePrivateKeys {
            own_leaf,
            leaf_key,
            pending_leaf_keys: Vec::new(),
            path_keys: BTreeMap::new(),
        }
    }

    /// A joiner's keys (§12.4.3.1): its leaf key and, if the Welcome carried one, the path
    /// secret of node `lca` (the lowest common ancestor with the GroupInfo signer), from
    /// which the keys of `lca` and every non-blank ancestor above it are derived. Every key
    /// must match the tree's public key, else [`Rule::PrivateKeyMismatch`].
    pub fn from_welcome(
        suite: &Suite,
        tree: &RatchetTree,
        own_leaf: u32,
        leaf_key: HpkePrivateKey,
        path_secret: Option<(u32, Secret)>,
    ) -> Result<Self> {
        let mut keys = TreePrivateKeys::new(own_leaf, leaf_key);
        if let Some((lca, mut secret)) = path_secret {
            // The committer's path above the LCA is exactly the non-blank part of our
            // direct path from there (§7.5: merging blanks the rest).
            if !on_direct_path(own_leaf, lca) || tree.is_blank(lca) {
                return Err(Rule::PrivateKeyMismatch.into());
            }
            for x in tree.direct_path(own_leaf) {
                if math::level(x) < math::level(lca) || tree.is_blank(x) {
                    continue;
                }
                keys.path_keys
                    .insert(x, node_key_from_path_secret(suite, &secret)?);
                secret = next_path_secret(suite, &secret)?;
            }
        }
        keys.check_against(tree)?;
        Ok(keys)
    }

    /// Our leaf index.
    pub fn own_leaf(&self) -> u32 {
        self.own_leaf
    }

    /// The private key of our leaf.
    pub fn leaf_key(&self) -> &HpkePrivateKey {
        &self.leaf_key
    }

    /// The private key held for node `x` (our leaf's node or a direct-path node).
    pub fn node_key(&self, x: u32) -> Option<&HpkePrivateKey> {
        if Some(x) == self.own_leaf.checked_mul(2) {
            Some(&self.leaf_key)
        } else {
            self.path_keys.get(&x)
        }
    }

    /// The direct-path keys held, in node-index order (for persistence).
    pub fn path_keys(&self) -> impl Iterator<Item = (u32, &HpkePrivateKey)> + '_ {
        self.path_keys.iter().map(|(&x, k)| (x, k))
    }

    /// Hold `key` for direct-path node `x` (e.g. restoring persisted state).
    pub fn insert_path_key(&mut self, x: u32, key: HpkePrivateKey) -> Result<()> {
        if !on_direct_path(self.own_leaf, x) {
            return Err(Error::Misuse("node is not on our direct path"));
        }
        self.path_keys.insert(x, key);
        Ok(())
    }

    /// Set the key of direct-path node `x` from its path secret (§7.4).
    pub fn set_path_secret(&mut self, suite: &Suite, x: u32, path_secret: &Secret) -> Result<()> {
        let key = node_key_from_path_secret(suite, path_secret)?;
        self.insert_path_key(x, key)
    }

    /// Remember the private key of a leaf we proposed in an Update (§12.1.2), so that the
    /// commit that applies it finds the key.
    pub fn add_pending_leaf_key(&mut self, key: HpkePrivateKey) {
        self.pending_leaf_keys.push(key);
    }

    /// The key for node `x` if we hold one whose public key is the tree's there; stale keys
    /// (of nodes blanked or replaced since) are never used.
    fn key_for(&self, tree: &RatchetTree, x: u32) -> Option<&HpkePrivateKey> {
        let public = node_public_key(tree, x)?;
        if Some(x) == self.own_leaf.checked_mul(2) {
            std::iter::once(&self.leaf_key)
                .chain(&self.pending_leaf_keys)
                .find(|k| k.public_key() == public)
        } else {
            self.path_keys.get(&x).filter(|k| k.public_key() == public)
        }
    }

    /// Check every held key against the tree (§12.4.3.1, test-vectors.md "TreeKEM"): our
    /// leaf and every node we hold a key for is non-blank with the matching public key.
    pub fn check_against(&self, tree: &RatchetTree) -> Result<()> {
        let leaf_ok = tree
            .leaf(self.own_leaf)
            .is_some_and(|l| l.encryption_key.as_slice() == self.leaf_key.public_key());
        let path_ok = self
            .path_keys
            .iter()
            .all(|(&x, k)| node_public_key(tree, x) == Some(k.public_key()));
        if leaf_ok && path_ok {
            Ok(())
        } else {
            Err(Rule::PrivateKeyMismatch.into())
        }
    }

    /// Follow the tree after a commit's proposals (§12.1.2, §12.1.3): adopt the pending leaf
    /// key our leaf now uses, forget pending keys (proposals end with the epoch) and drop
    /// keys of nodes that were blanked or replaced.
    pub fn sync_with_tree(&mut self, tree: &RatchetTree) {
        if let Some(leaf) = tree.leaf(self.own_leaf) {
            if leaf.encryption_key.as_slice() != self.leaf_key.public_key() {
                let pending = std::mem::take(&mut self.pending_leaf_keys);
                if let Some(k) = pending
                    .into_iter()
                    .find(|k| k.public_key() == leaf.encryption_key.as_slice())
                {
                    self.leaf_key = k;
                }
            }
        }
        self.pending_leaf_keys.clear();
        self.path_keys
            .retain(|&x, k| node_public_key(tree, x) == Some(k.public_key()));
    }
}

/// What a committer gets from [`generate_update_path`].
#[derive(Debug)]
pub struct GeneratedPath {
    /// The UpdatePath for the Commit's `path` field.
    pub update_path: UpdatePath,
    /// `commit_secret`: one derivation past the last path secret (§12.4.1).
    pub commit_secret: Secret,
    /// The committer's keys in the new epoch.
    pub private: TreePrivateKeys,
    /// Each filtered-direct-path node with its path secret, bottom up: the Welcome gives a
    /// joiner the one at its lowest common ancestor with the committer (§12.4.3.1).
    pub path_secrets: Vec<(u32, Secret)>,
    /// The provisional GroupContext (§12.4.1): the caller's, with the new tree hash.
    pub group_context: GroupContext,
}

impl GeneratedPath {
    /// The path secret for a joiner at `joiner_leaf` (§12.4.3.1), `None` if the common
    /// ancestor with the committer is not on the path.
    pub fn path_secret_for_joiner(&self, joiner_leaf: u32) -> Option<&Secret> {
        let committer = self.private.own_leaf.checked_mul(2)?;
        let lca = math::common_ancestor(committer, joiner_leaf.checked_mul(2)?);
        self.path_secrets
            .iter()
            .find(|(x, _)| *x == lca)
            .map(|(_, s)| s)
    }
}

/// Node indices of the joiners' leaves, sorted: §7.6 excludes them from every resolution.
fn excluded_nodes(joiners: &[u32]) -> Vec<u32> {
    let mut nodes: Vec<u32> = joiners.iter().filter_map(|j| j.checked_mul(2)).collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

/// The resolution of `x` without the excluded nodes (§7.6), into `out`.
fn resolution_excluding(tree: &RatchetTree, x: u32, excluded: &[u32], out: &mut Vec<u32>) {
    out.clear();
    tree.resolution_into(x, out);
    if !excluded.is_empty() {
        out.retain(|n| excluded.binary_search(n).is_err());
    }
}

/// Create an UpdatePath for `sender` (§7.4, §7.5, §12.4.1), keeping its current leaf's
/// credential, capabilities and extensions. See [`generate_update_path_with_leaf`].
pub fn generate_update_path(
    suite: &Suite,
    tree: &mut RatchetTree,
    sender: u32,
    signer: &SignaturePrivateKey,
    group_context: &GroupContext,
    joiners: &[u32],
) -> Result<GeneratedPath> {
    let leaf = tree
        .leaf(sender)
        .ok_or(Error::Misuse("the committer's leaf is blank"))?
        .clone();
    generate_update_path_with_leaf(suite, tree, sender, leaf, signer, group_context, joiners)
}

/// Create an UpdatePath for `sender` with `leaf` as the template of its new leaf (§7.5:
/// the application may change credential, capabilities or extensions; the signature key
/// must be `signer`'s).
///
/// `tree` is the tree after the commit's proposals; on return it holds the merged path and
/// the new leaf. `group_context` is the new epoch's context except `tree_hash`, which is
/// filled in. Path secrets are encrypted to every copath resolution node except the
/// leaves of `joiners`, the members added by the same commit (§7.6).
pub fn generate_update_path_with_leaf(
    suite: &Suite,
    tree: &mut RatchetTree,
    sender: u32,
    mut leaf: LeafNode,
    signer: &SignaturePrivateKey,
    group_context: &GroupContext,
    joiners: &[u32],
) -> Result<GeneratedPath> {
    if sender >= tree.n_leaves() {
        return Err(Rule::LeafOutOfRange.into());
    }
    if tree.suite() != *suite {
        return Err(Error::Misuse("tree and suite differ"));
    }
    if leaf.signature_key.as_slice() != signer.public_key() {
        return Err(Error::Misuse(
            "signer does not match the leaf's signature key",
        ));
    }
    let path = tree.filtered_direct_path_with_copath(sender);

    // §7.4: the leaf secret seeds the leaf key and, one step up, path_secret[0]; that is
    // as random as sampling path_secret[0] and gives a commit secret for an empty path.
    let leaf_secret = suite.random_secret()?;
    let leaf_key = node_key_from_path_secret(suite, &leaf_secret)?;
    let mut secret = next_path_secret(suite, &leaf_secret)?;
    let mut path_secrets = Vec::with_capacity(path.len());
    let mut path_keys = BTreeMap::new();
    let mut public_keys: Vec<HPKEPublicKey> = Vec::with_capacity(path.len());
    for &(x, _) in &path {
        let key = node_key_from_path_secret(suite, &secret)?;
        public_keys.push(Bytes(key.public_key().to_vec()));
        path_keys.insert(x, key);
        let next = next_path_secret(suite, &secret)?;
        path_secrets.push((x, std::mem::replace(&mut secret, next)));
    }
    let commit_secret = secret;

    let parent_hash = tree.merge_update_path(sender, &public_keys)?;
    leaf.encryption_key = Bytes(leaf_key.public_key().to_vec());
    leaf.leaf_node_source = LeafNodeSourceData::Commit(Bytes(parent_hash));
    let tbs = leaf.tbs_bytes(&group_context.group_id, sender);
    leaf.signature = Bytes(suite.sign_with_label(signer, "LeafNodeTBS", &tbs)?);
    tree.set_leaf(sender, leaf.clone())?;

    let mut provisional = group_context.clone();
    provisional.tree_hash = Bytes(tree.tree_hash());
    let context = provisional.to_bytes();
    let nodes = encrypt_path_secrets(
        suite,
        tree,
        &path,
        &path_secrets,
        public_keys,
        &context,
        &excluded_nodes(joiners),
    )?;
    Ok(GeneratedPath {
        update_path: UpdatePath {
            leaf_node: leaf,
            nodes,
        },
        commit_secret,
        private: TreePrivateKeys {
            own_leaf: sender,
            leaf_key,
            pending_leaf_keys: Vec::new(),
            path_keys,
        },
        path_secrets,
        group_context: provisional,
    })
}

/// `EncryptWithLabel(pk, "UpdatePathNode", group_context, path_secret)` to each node of
/// each copath resolution (§7.6); the context is hashed once and the seals spread over the
/// cores ([`Suite::encrypt_with_label_to_many`]).
fn encrypt_path_secrets(
    suite: &Suite,
    tree: &RatchetTree,
    path: &[(u32, u32)],
    path_secrets: &[(u32, Secret)],
    public_keys: Vec<HPKEPublicKey>,
    context: &[u8],
    excluded: &[u32],
) -> Result<Vec<UpdatePathNode>> {
    // One seal per (path position, recipient key), in UpdatePath order.
    let mut positions = Vec::new();
    let mut recipients: Vec<(&[u8], &[u8])> = Vec::new();
    let mut res = Vec::new();
    for (i, &(_, copath)) in path.iter().enumerate() {
        let secret = path_secrets.get(i).map_or(&[][..], |(_, s)| s.as_bytes());
        resolution_excluding(tree, copath, excluded, &mut res);
        for &r in &res {
            let pk = node_public_key(tree, r).ok_or(Error::Misuse("blank node in resolution"))?;
            positions.push(i);
            recipients.push((pk, secret));
        }
    }
    let sealed = suite.encrypt_with_label_to_many("UpdatePathNode", context, &recipients)?;
    let mut nodes: Vec<UpdatePathNode> = public_keys
        .into_iter()
        .map(|encryption_key| UpdatePathNode {
            encryption_key,
            encrypted_path_secret: Vec::new(),
        })
        .collect();
    for (&i, (kem_output, ciphertext)) in positions.iter().zip(sealed) {
        if let Some(node) = nodes.get_mut(i) {
            node.encrypted_path_secret.push(HPKECiphertext {
                kem_output: Bytes(kem_output),
                ciphertext: Bytes(ciphertext),
            });
        }
    }
    Ok(nodes)
}

/// What a receiver gets from [`process_update_path`].
#[derive(Debug)]
pub struct ReceivedPath {
    /// `commit_secret` (§12.4.2).
    pub commit_secret: Secret,
    /// The node whose path secret was decrypted: the lowest common ancestor with the sender.
    pub decrypted_node: u32,
    /// The decrypted path secret.
    pub path_secret: Secret,
    /// The receiver's keys in the new epoch.
    pub private: TreePrivateKeys,
    /// The provisional GroupContext (§12.4.2), with the new tree hash.
    pub group_context: GroupContext,
}

/// Check a received UpdatePath and merge it into `tree` (§7.5, §12.4.2): the public half,
/// needing no private key. Returns the provisional GroupContext (`group_context` with the
/// new tree hash).
///
/// Checks, in order: the leaf's source is `commit` ([`Rule::LeafNodeSourceMismatch`]), its
/// encryption key differs from the committer's current leaf ([`Rule::EncryptionKeyReused`]),
/// one node per filtered-direct-path node ([`Rule::UpdatePathLength`]), the leaf signature
/// under the group id and `sender` ([`Rule::LeafNodeSignature`]), no new key already in
/// the tree or repeated ([`Rule::UpdatePathKeyInTree`]), one ciphertext per copath
/// resolution node without the `joiners` ([`Rule::UpdatePathCiphertextCount`]), and the
/// leaf's parent hash ([`Rule::UpdatePathParentHash`]). Other §7.3 leaf checks
/// (capabilities, credential) are the caller's.
///
/// For an external commit (§12.4.3.2) the caller either leaves `sender` a blank leaf or
/// puts `path.leaf_node` itself there (`add_leaf`); either way there is no previous key to
/// compare. A member re-sending its exact current leaf cannot pass the parent-hash check
/// unless its filtered direct path is empty, in which case no one else can decrypt anyway.
pub fn merge_received_path(
    suite: &Suite,
    tree: &mut RatchetTree,
    sender: u32,
    path: &UpdatePath,
    group_context: &GroupContext,
    joiners: &[u32],
) -> Result<GroupContext> {
    if sender >= tree.n_leaves() {
        return Err(Rule::LeafOutOfRange.into());
    }
    let leaf = &path.leaf_node;
    let LeafNodeSourceData::Commit(claimed_parent_hash) = &leaf.leaf_node_source else {
        return Err(Rule::LeafNodeSourceMismatch.into());
    };
    let previous = tree.leaf(sender).filter(|old| *old != leaf);
    if previous.is_some_and(|old| old.encryption_key == leaf.encryption_key) {
        return Err(Rule::EncryptionKeyReused.into());
    }
    let fdp = tree.filtered_direct_path_with_copath(sender);
    if fdp.len() != path.nodes.len() {
        return Err(Rule::UpdatePathLength.into());
    }
    suite
        .verify_with_label(
            &leaf.signature_key,
            "LeafNodeTBS",
            &leaf.tbs_bytes(&group_context.group_id, sender),
            &leaf.signature,
        )
        .map_err(|_| Error::Invalid(Rule::LeafNodeSignature))?;
    check_keys_fresh(tree, sender, path)?;
    let excluded = excluded_nodes(joiners);
    let mut res = Vec::new();
    for (&(_, copath), node) in fdp.iter().zip(&path.nodes) {
        resolution_excluding(tree, copath, &excluded, &mut res);
        if res.len() != node.encrypted_path_secret.len() {
            return Err(Rule::UpdatePathCiphertextCount.into());
        }
    }

    let keys: Vec<HPKEPublicKey> = path
        .nodes
        .iter()
        .map(|n| n.encryption_key.clone())
        .collect();
    let parent_hash = tree.merge_update_path(sender, &keys)?;
    if parent_hash != claimed_parent_hash.as_slice() {
        return Err(Rule::UpdatePathParentHash.into());
    }
    tree.set_leaf(sender, leaf.clone())?;
    let mut provisional = group_context.clone();
    provisional.tree_hash = Bytes(tree.tree_hash());
    Ok(provisional)
}

/// §12.4.2: no public key of the UpdatePath appears in a node of the tree (other than the
/// committer's own leaf slot, whose reuse is [`Rule::EncryptionKeyReused`]) or twice in the
/// path. The tree's key index makes this O(1) per key.
fn check_keys_fresh(tree: &RatchetTree, sender: u32, path: &UpdatePath) -> Result<()> {
    let leaf_key = path.leaf_node.encryption_key.as_slice();
    let mut node_keys: HashSet<&[u8]> = HashSet::with_capacity(path.nodes.len());
    for n in &path.nodes {
        let k = n.encryption_key.as_slice();
        if k == leaf_key || !node_keys.insert(k) || tree.find_encryption_key(k).is_some() {
            return Err(Rule::UpdatePathKeyInTree.into());
        }
    }
    match tree.find_encryption_key(leaf_key) {
        Some(x) if Some(x) != sender.checked_mul(2) => Err(Rule::UpdatePathKeyInTree.into()),
        _ => Ok(()),
    }
}

/// Process a received UpdatePath (§7.5, §12.4.2): check and merge it into `tree`
/// ([`merge_received_path`]), decrypt the path secret encrypted to us, derive the rest of
/// the path, check each derived public key against the path ([`Rule::PathKeyMismatch`])
/// and compute the commit secret. `keys` is left as is; the new keys are returned.
pub fn process_update_path(
    suite: &Suite,
    tree: &mut RatchetTree,
    keys: &TreePrivateKeys,
    sender: u32,
    path: &UpdatePath,
    group_context: &GroupContext,
    joiners: &[u32],
) -> Result<ReceivedPath> {
    if keys.own_leaf == sender {
        return Err(Error::Misuse(
            "a committer does not process its own UpdatePath",
        ));
    }
    let fdp = tree.filtered_direct_path_with_copath(sender);
    let provisional = merge_received_path(suite, tree, sender, path, group_context, joiners)?;
    let context = provisional.to_bytes();
    let own_node = keys
        .own_leaf
        .checked_mul(2)
        .ok_or(Error::Misuse("own leaf index out of range"))?;

    // §7.5: the first path node above us is the lowest common ancestor; its copath child
    // holds our leaf, and we hold the key of exactly one node of that child's resolution.
    let start = fdp
        .iter()
        .position(|&(x, _)| math::is_descendant(own_node, x))
        .ok_or(Error::Misuse("our leaf is not below the committer's path"))?;
    let (lca, copath) = fdp[start];
    if !math::is_descendant(own_node, copath) {
        return Err(Error::Misuse("our leaf is blank or not in the tree"));
    }
    let mut res = Vec::new();
    resolution_excluding(tree, copath, &excluded_nodes(joiners), &mut res);
    let (position, key) = res
        .iter()
        .enumerate()
        .find_map(|(i, &x)| Some((i, keys.key_for(tree, x)?)))
        .ok_or(Error::Misuse(
            "no private key for any node of our copath resolution",
        ))?;
    let ct = path
        .nodes
        .get(start)
        .and_then(|n| n.encrypted_path_secret.get(position))
        .ok_or(Rule::UpdatePathCiphertextCount)?;
    let path_secret = suite
        .decrypt_with_label(
            key,
            "UpdatePathNode",
            &context,
            &ct.kem_output,
            &ct.ciphertext,
        )
        .map(Secret::new)
        .map_err(|_| Error::Invalid(Rule::PathSecretDecryption))?;

    let mut new_keys = keys.clone();
    for x in tree.direct_path(sender) {
        new_keys.path_keys.remove(&x);
    }
    let mut secret = path_secret.clone();
    for (&(x, _), node) in fdp.iter().zip(&path.nodes).skip(start) {
        let key = node_key_from_path_secret(suite, &secret)?;
        if key.public_key() != node.encryption_key.as_slice() {
            return Err(Rule::PathKeyMismatch.into());
        }
        new_keys.path_keys.insert(x, key);
        secret = next_path_secret(suite, &secret)?;
    }
    new_keys.sync_with_tree(tree);
    Ok(ReceivedPath {
        commit_secret: secret,
        decrypted_node: lca,
        path_secret,
        private: new_keys,
        group_context: provisional,
    })
}

/// [`process_update_path`] for the group state machine: updates `private` in place on
/// success (never on error) and returns the commit secret.
pub fn apply_update_path(
    suite: &Suite,
    tree: &mut RatchetTree,
    private: &mut TreePrivateKeys,
    sender: u32,
    path: &UpdatePath,
    group_context: &GroupContext,
    joiners: &[u32],
) -> Result<Secret> {
    let received = process_update_path(suite, tree, private, sender, path, group_context, joiners)?;
    *private = received.private;
    Ok(received.commit_secret)
}

#[cfg(test)]
mod tests;
