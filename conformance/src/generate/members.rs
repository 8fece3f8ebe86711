//! A random ratchet tree with the private state of every member, built by a random sequence
//! of the tree operations a group goes through: adds (as unmerged leaves), commits with an
//! UpdatePath from a random member, Update proposals (a new leaf, its direct path blanked)
//! and removes (which may leave blank leaves and truncate the tree).

use super::{chance, err, key_package, random_context, range, urange};
use cohort::codec::Bytes;
use cohort::crypto::{HpkePrivateKey, Secret, SignaturePrivateKey, Suite};
use cohort::group::key_package::sign_leaf_node;
use cohort::messages::{GroupContext, LeafNodeSourceData};
use cohort::tree::treekem::{generate_update_path, node_key_from_path_secret};
use cohort::tree::{math, RatchetTree};
use std::collections::BTreeMap;

/// What one member knows.
pub struct Member {
    /// Its signature key.
    pub signer: SignaturePrivateKey,
    /// The private key of its leaf.
    pub leaf_key: HpkePrivateKey,
    /// The path secret of every direct-path node whose key it holds, by node index.
    pub path_secrets: BTreeMap<u32, Secret>,
}

/// A random group: its tree, members by leaf index and a random context (its group id is
/// the one the leaves are signed for; its tree hash is stale).
pub struct Members {
    /// The public tree.
    pub tree: RatchetTree,
    /// Every member's private state, by leaf index.
    pub members: BTreeMap<u32, Member>,
    /// Group id, epoch and confirmed transcript hash to use with the tree.
    pub context: GroupContext,
}

impl Members {
    /// Apply a commit with an UpdatePath from `sender` (no joiners, so every other member
    /// below a path node learns its secret).
    fn commit(&mut self, suite: &Suite, sender: u32) -> Result<(), String> {
        let signer = &self.members[&sender].signer;
        let gen = generate_update_path(suite, &mut self.tree, sender, signer, &self.context, &[])
            .map_err(err("update path"))?;
        for (&leaf, m) in self.members.iter_mut() {
            if leaf == sender {
                m.leaf_key = gen.private.leaf_key().clone();
            }
            for (x, secret) in &gen.path_secrets {
                if math::is_descendant(math::leaf_to_node(leaf), *x) {
                    m.path_secrets.insert(*x, secret.clone());
                }
            }
        }
        Ok(())
    }

    /// Apply an Update proposal from `sender`: a fresh leaf key, source `update`.
    fn update(&mut self, suite: &Suite, sender: u32) -> Result<(), String> {
        let m = self.members.get_mut(&sender).ok_or("no such member")?;
        let key = suite.generate_hpke_key_pair().map_err(err("leaf key"))?;
        let mut leaf = self.tree.leaf(sender).ok_or("blank leaf")?.clone();
        leaf.encryption_key = Bytes(key.public_key().to_vec());
        leaf.leaf_node_source = LeafNodeSourceData::Update;
        sign_leaf_node(suite, &mut leaf, &m.signer, &self.context.group_id, sender)
            .map_err(err("sign leaf"))?;
        self.tree
            .update_leaf(sender, leaf)
            .map_err(err("update leaf"))?;
        m.leaf_key = key;
        Ok(())
    }

    /// Add a member from a fresh KeyPackage.
    fn add(&mut self, suite: &Suite) -> Result<(), String> {
        let kp = key_package(suite)?;
        let leaf = self
            .tree
            .add_leaf(kp.key_package.leaf_node)
            .map_err(err("add"))?;
        self.members.insert(
            leaf,
            Member {
                signer: kp.signer,
                leaf_key: kp.encryption_key,
                path_secrets: BTreeMap::new(),
            },
        );
        Ok(())
    }

    /// A random member's leaf index.
    fn random_member(&self, suite: &Suite) -> Result<u32, String> {
        let i = urange(suite, 0, self.members.len() - 1)?;
        Ok(*self.members.keys().nth(i).expect("in range"))
    }

    /// Forget path secrets of nodes that were blanked or replaced since.
    fn prune(&mut self, suite: &Suite) -> Result<(), String> {
        for m in self.members.values_mut() {
            let mut kept = BTreeMap::new();
            for (x, secret) in std::mem::take(&mut m.path_secrets) {
                let Some(node) = self.tree.parent_node(x) else {
                    continue;
                };
                let key = node_key_from_path_secret(suite, &secret).map_err(err("node key"))?;
                if node.encryption_key.as_slice() == key.public_key() {
                    kept.insert(x, secret);
                }
            }
            m.path_secrets = kept;
        }
        Ok(())
    }
}

/// A group of 2 to `max_members` members (a random target) after a random number of
/// operations, at least as many as the target.
pub fn build(suite: &Suite, max_members: usize) -> Result<Members, String> {
    let context = random_context(suite)?;
    let founder = key_package(suite)?;
    let mut g = Members {
        tree: RatchetTree::new(*suite, founder.key_package.leaf_node),
        members: BTreeMap::from([(
            0,
            Member {
                signer: founder.signer,
                leaf_key: founder.encryption_key,
                path_secrets: BTreeMap::new(),
            },
        )]),
        context,
    };
    let target = urange(suite, 2, max_members)?;
    let steps = urange(suite, target, 2 * target + 4)?;
    let mut step = 0;
    while step < steps || g.members.len() < target {
        step += 1;
        let n = g.members.len();
        match range(suite, 0, 9)? {
            _ if n < 2 => g.add(suite)?,
            0..=3 if n < target => g.add(suite)?,
            4 => {
                let s = g.random_member(suite)?;
                g.update(suite, s)?;
            }
            5 if n > 2 => {
                let r = g.random_member(suite)?;
                g.tree.remove_leaf(r).map_err(err("remove"))?;
                g.members.remove(&r);
            }
            _ => {
                let s = g.random_member(suite)?;
                g.commit(suite, s)?;
            }
        }
    }
    // Usually end with a commit, as a group does after proposals.
    if chance(suite, 3, 4)? {
        let s = g.random_member(suite)?;
        g.commit(suite, s)?;
    }
    g.prune(suite)?;
    Ok(g)
}
