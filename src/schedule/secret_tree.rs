//! The secret tree and its per-sender hash ratchets (RFC 9420 §9, §9.1, §9.2).
//!
//! Node secrets are derived lazily from the root: reaching a leaf consumes every secret on its
//! path and keeps only the off-path children, as the deletion schedule of §9.2 requires. Work
//! per first message from a sender is O(log N) and memory grows only with active senders.

use crate::codec::{write_vec_with, Decode, Encode, Reader};
use crate::crypto::{CipherSuite, Secret, Suite};
use crate::error::DecodeError;
use crate::error::{Error, Result, Rule};
use crate::tree::math;
use std::collections::{BTreeMap, HashMap};

/// Which of a leaf's two ratchets (§9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RatchetKind {
    /// Keys for Proposal and Commit content.
    Handshake,
    /// Keys for application data.
    Application,
}

/// Bounds on out-of-order tolerance, so a hostile generation cannot force unbounded work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretTreeConfig {
    /// How far past the next expected generation a received message may be (§9.1).
    pub max_forward_distance: u32,
    /// How many skipped keys each ratchet keeps for late messages.
    pub out_of_order_tolerance: u32,
}

impl Default for SecretTreeConfig {
    fn default() -> Self {
        SecretTreeConfig {
            max_forward_distance: 1000,
            out_of_order_tolerance: 128,
        }
    }
}

/// A single-use AEAD key and nonce for one generation of a ratchet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyNonce {
    /// `ratchet_key_[N]_[j]`.
    pub key: Secret,
    /// `ratchet_nonce_[N]_[j]` (before the reuse guard is applied).
    pub nonce: Secret,
    /// The generation `j`.
    pub generation: u32,
}

/// One sender's hash ratchet with the keys it skipped over.
#[derive(Debug, Clone)]
struct Ratchet {
    secret: Secret,
    next_generation: u32,
    skipped: BTreeMap<u32, KeyNonce>,
}

impl Ratchet {
    fn new(secret: Secret) -> Self {
        Ratchet {
            secret,
            next_generation: 0,
            skipped: BTreeMap::new(),
        }
    }

    /// Derive this generation's key and nonce and step the ratchet forward.
    fn step(&mut self, suite: &Suite) -> Result<KeyNonce> {
        let g = self.next_generation;
        let next = g
            .checked_add(1)
            .ok_or(Error::Invalid(Rule::GenerationTooFar))?;
        let kn = KeyNonce {
            key: suite.derive_tree_secret(&self.secret, "key", g, suite.aead_key_len())?,
            nonce: suite.derive_tree_secret(&self.secret, "nonce", g, suite.aead_nonce_len())?,
            generation: g,
        };
        self.secret = suite.derive_tree_secret(&self.secret, "secret", g, suite.hash_len())?;
        self.next_generation = next;
        Ok(kn)
    }

    /// The key of `generation` and how taking it moves this ratchet, computed without
    /// changing anything: ratchets forward into a copy of the secret when needed, keeping
    /// only the skipped keys that [`Ratchet::apply`] would not evict at once.
    fn stage(
        &self,
        suite: &Suite,
        generation: u32,
        cfg: &SecretTreeConfig,
    ) -> Result<(KeyNonce, Advance)> {
        if generation < self.next_generation {
            let kn = self
                .skipped
                .get(&generation)
                .cloned()
                .ok_or(Error::Invalid(Rule::GenerationConsumed))?;
            return Ok((kn, Advance::Skipped(generation)));
        }
        if generation - self.next_generation > cfg.max_forward_distance {
            return Err(Error::Invalid(Rule::GenerationTooFar));
        }
        let mut ratchet = Ratchet {
            secret: self.secret.clone(),
            next_generation: self.next_generation,
            skipped: BTreeMap::new(),
        };
        let keep = cfg.out_of_order_tolerance as usize;
        let mut passed = std::collections::VecDeque::new();
        loop {
            let kn = ratchet.step(suite)?;
            if kn.generation == generation {
                let advance = Advance::Forward {
                    secret: ratchet.secret,
                    next_generation: ratchet.next_generation,
                    passed: passed.into(),
                };
                return Ok((kn, advance));
            }
            if keep > 0 {
                if passed.len() >= keep {
                    passed.pop_front();
                }
                passed.push_back(kn);
            }
        }
    }

    /// Take a staged key: the ratchet moves as [`Ratchet::stage`] computed, the skipped keys
    /// it passed are kept (evicting the oldest beyond the tolerance), and the key is gone.
    fn apply(&mut self, advance: Advance, cfg: &SecretTreeConfig) {
        match advance {
            Advance::Skipped(generation) => {
                self.skipped.remove(&generation);
            }
            Advance::Forward {
                secret,
                next_generation,
                passed,
            } => {
                for kn in passed {
                    while self.skipped.len() >= cfg.out_of_order_tolerance as usize {
                        if self.skipped.pop_first().is_none() {
                            break;
                        }
                    }
                    self.skipped.insert(kn.generation, kn);
                }
                self.secret = secret;
                self.next_generation = next_generation;
            }
        }
    }
}

/// How taking one received key moves a ratchet.
#[derive(Debug)]
enum Advance {
    /// The key was a skipped one: delete it.
    Skipped(u32),
    /// The ratchet moves forward past the key.
    Forward {
        secret: Secret,
        next_generation: u32,
        /// Keys of the generations passed over, kept for late messages.
        passed: Vec<KeyNonce>,
    },
}

/// The node secrets consumed and kept when a leaf is first reached (§9.2).
#[derive(Debug)]
struct LeafDerivation {
    removed: Vec<u32>,
    kept: Vec<(u32, Secret)>,
    ratchets: (Ratchet, Ratchet),
}

/// A received message's key, taken from the secret tree without changing it. Pass it to
/// [`SecretTree::commit_key`] once the message is accepted, so that a rejected message (a
/// forged copy, a bad signature, an invalid commit) leaves the tree as it was (§9.2).
#[derive(Debug)]
pub struct StagedKey {
    /// The key and nonce for the message.
    pub key_nonce: KeyNonce,
    leaf: u32,
    kind: RatchetKind,
    derivation: Option<LeafDerivation>,
    advance: Advance,
}

/// The secret tree of one epoch.
#[derive(Debug, Clone)]
pub struct SecretTree {
    suite: Suite,
    n_leaves: u32,
    config: SecretTreeConfig,
    /// Unconsumed node secrets: initially only the root.
    nodes: HashMap<u32, Secret>,
    /// Ratchets of leaves that have been reached, keyed by leaf index.
    ratchets: HashMap<u32, (Ratchet, Ratchet)>,
}

impl SecretTree {
    /// A secret tree over `n_leaves` leaves rooted at `encryption_secret`.
    pub fn new(
        suite: Suite,
        encryption_secret: Secret,
        n_leaves: u32,
        config: SecretTreeConfig,
    ) -> Self {
        let mut nodes = HashMap::new();
        nodes.insert(math::root(n_leaves.max(1)), encryption_secret);
        SecretTree {
            suite,
            n_leaves: n_leaves.max(1),
            config,
            nodes,
            ratchets: HashMap::new(),
        }
    }

    /// How reaching `leaf` for the first time changes the node secrets: every secret on
    /// its path from the nearest unconsumed ancestor is consumed, the off-path children kept.
    fn derive_leaf(&self, leaf: u32) -> Result<LeafDerivation> {
        let target = math::leaf_to_node(leaf);
        let mut path = vec![target];
        path.extend(math::direct_path(target, self.n_leaves));
        let start = path
            .iter()
            .position(|n| self.nodes.contains_key(n))
            .ok_or(Error::Invalid(Rule::GenerationConsumed))?;
        let nh = self.suite.hash_len();
        let mut secret = self
            .nodes
            .get(&path[start])
            .ok_or(Error::Invalid(Rule::GenerationConsumed))?
            .clone();
        let mut kept = Vec::with_capacity(start);
        for i in (1..=start).rev() {
            let (node, child) = (path[i], path[i - 1]);
            let left = self.suite.expand_with_label(&secret, "tree", b"left", nh)?;
            let right = self
                .suite
                .expand_with_label(&secret, "tree", b"right", nh)?;
            let (on_path, off_path, sib) = if math::left(node) == Some(child) {
                (left, right, math::right(node))
            } else {
                (right, left, math::left(node))
            };
            if let Some(sib) = sib {
                kept.push((sib, off_path));
            }
            secret = on_path;
        }
        let hs = self
            .suite
            .expand_with_label(&secret, "handshake", b"", nh)?;
        let app = self
            .suite
            .expand_with_label(&secret, "application", b"", nh)?;
        Ok(LeafDerivation {
            removed: path[..=start].to_vec(),
            kept,
            ratchets: (Ratchet::new(hs), Ratchet::new(app)),
        })
    }

    fn apply_derivation(&mut self, leaf: u32, d: LeafDerivation) {
        for n in d.removed {
            self.nodes.remove(&n);
        }
        self.nodes.extend(d.kept);
        self.ratchets.insert(leaf, d.ratchets);
    }

    /// The leaf's ratchets, derived from the nearest unconsumed ancestor on first use.
    fn ratchets(&mut self, leaf: u32) -> Result<&mut (Ratchet, Ratchet)> {
        if leaf >= self.n_leaves {
            return Err(Error::Invalid(Rule::LeafOutOfRange));
        }
        if !self.ratchets.contains_key(&leaf) {
            let d = self.derive_leaf(leaf)?;
            self.apply_derivation(leaf, d);
        }
        Ok(self.ratchets.get_mut(&leaf).expect("inserted above"))
    }

    fn ratchet(&mut self, leaf: u32, kind: RatchetKind) -> Result<&mut Ratchet> {
        let pair = self.ratchets(leaf)?;
        Ok(match kind {
            RatchetKind::Handshake => &mut pair.0,
            RatchetKind::Application => &mut pair.1,
        })
    }

    /// The key and nonce to encrypt our own next message of `kind` as `leaf`.
    pub fn next_sending_key(&mut self, leaf: u32, kind: RatchetKind) -> Result<KeyNonce> {
        let suite = self.suite;
        self.ratchet(leaf, kind)?.step(&suite)
    }

    /// The key and nonce for a received message; each is returned once and then deleted.
    pub fn key_for_generation(
        &mut self,
        leaf: u32,
        kind: RatchetKind,
        generation: u32,
    ) -> Result<KeyNonce> {
        let staged = self.stage_key(leaf, kind, generation)?;
        let kn = staged.key_nonce.clone();
        self.commit_key(staged);
        Ok(kn)
    }

    /// The key for a received message, leaving the tree unchanged: checks the leaf and the
    /// generation's bounds (§9.1), then derives what taking the key would change. Commit it
    /// with [`SecretTree::commit_key`] once the message is accepted (§9.2).
    pub fn stage_key(&self, leaf: u32, kind: RatchetKind, generation: u32) -> Result<StagedKey> {
        if leaf >= self.n_leaves {
            return Err(Error::Invalid(Rule::LeafOutOfRange));
        }
        let derivation = match self.ratchets.contains_key(&leaf) {
            true => None,
            false => Some(self.derive_leaf(leaf)?),
        };
        let pair = match (&derivation, self.ratchets.get(&leaf)) {
            (Some(d), _) => &d.ratchets,
            (None, Some(pair)) => pair,
            (None, None) => return Err(Error::Invalid(Rule::GenerationConsumed)),
        };
        let ratchet = match kind {
            RatchetKind::Handshake => &pair.0,
            RatchetKind::Application => &pair.1,
        };
        let (key_nonce, advance) = ratchet.stage(&self.suite, generation, &self.config)?;
        Ok(StagedKey {
            key_nonce,
            leaf,
            kind,
            derivation,
            advance,
        })
    }

    /// Take a key staged on this tree by [`SecretTree::stage_key`] (with no other change
    /// in between): the key is deleted and the sender's ratchet moves past it (§9.2).
    pub fn commit_key(&mut self, staged: StagedKey) {
        let StagedKey {
            leaf,
            kind,
            derivation,
            advance,
            ..
        } = staged;
        if let Some(d) = derivation {
            self.apply_derivation(leaf, d);
        }
        let config = self.config;
        if let Some(pair) = self.ratchets.get_mut(&leaf) {
            let ratchet = match kind {
                RatchetKind::Handshake => &mut pair.0,
                RatchetKind::Application => &mut pair.1,
            };
            ratchet.apply(advance, &config);
        }
    }

    /// Number of leaves the tree was built for.
    pub fn n_leaves(&self) -> u32 {
        self.n_leaves
    }
}

/// The sender-data AEAD key and nonce, keyed by a sample of the ciphertext (§6.3.2).
pub fn sender_data_key_nonce(
    suite: &Suite,
    sender_data_secret: &Secret,
    ciphertext: &[u8],
) -> Result<(Secret, Secret)> {
    let sample = &ciphertext[..ciphertext.len().min(suite.hash_len())];
    Ok((
        suite.expand_with_label(sender_data_secret, "key", sample, suite.aead_key_len())?,
        suite.expand_with_label(sender_data_secret, "nonce", sample, suite.aead_nonce_len())?,
    ))
}

/// Persisted form (the group state format): every unconsumed secret and skipped key, so a
/// restored member can neither reuse a consumed key nor lose an out-of-order one.
impl Encode for SecretTree {
    fn encode(&self, out: &mut Vec<u8>) {
        self.suite.id().encode(out);
        self.n_leaves.encode(out);
        self.config.max_forward_distance.encode(out);
        self.config.out_of_order_tolerance.encode(out);
        let mut nodes: Vec<_> = self.nodes.iter().collect();
        nodes.sort_by_key(|(k, _)| **k);
        write_vec_with(out, |b| {
            for (k, v) in nodes {
                k.encode(b);
                v.encode(b);
            }
        });
        let mut leaves: Vec<_> = self.ratchets.iter().collect();
        leaves.sort_by_key(|(k, _)| **k);
        write_vec_with(out, |b| {
            for (leaf, (hs, app)) in leaves {
                leaf.encode(b);
                hs.encode(b);
                app.encode(b);
            }
        });
    }
}

impl Decode for SecretTree {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let id = CipherSuite::decode(r)?;
        let suite = Suite::new(id).map_err(|_| DecodeError::UnknownValue("CipherSuite"))?;
        let n_leaves = u32::decode(r)?;
        let config = SecretTreeConfig {
            max_forward_distance: u32::decode(r)?,
            out_of_order_tolerance: u32::decode(r)?,
        };
        let nodes = r
            .vec_with(|s| Ok((u32::decode(s)?, Secret::decode(s)?)))?
            .into_iter()
            .collect();
        let ratchets = r
            .vec_with(|s| Ok((u32::decode(s)?, (Ratchet::decode(s)?, Ratchet::decode(s)?))))?
            .into_iter()
            .collect();
        if n_leaves == 0 {
            return Err(DecodeError::Malformed("secret tree without leaves"));
        }
        Ok(SecretTree {
            suite,
            n_leaves,
            config,
            nodes,
            ratchets,
        })
    }
}

impl Encode for Ratchet {
    fn encode(&self, out: &mut Vec<u8>) {
        self.secret.encode(out);
        self.next_generation.encode(out);
        write_vec_with(out, |b| {
            for kn in self.skipped.values() {
                kn.generation.encode(b);
                kn.key.encode(b);
                kn.nonce.encode(b);
            }
        });
    }
}

impl Decode for Ratchet {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let secret = Secret::decode(r)?;
        let next_generation = u32::decode(r)?;
        let skipped = r
            .vec_with(|s| {
                let generation = u32::decode(s)?;
                Ok((
                    generation,
                    KeyNonce {
                        generation,
                        key: Secret::decode(s)?,
                        nonce: Secret::decode(s)?,
                    },
                ))
            })?
            .into_iter()
            .collect();
        Ok(Ratchet {
            secret,
            next_generation,
            skipped,
        })
    }
}

#[cfg(test)]
mod tests;
