//! Trees built the way a group builds them (adds, commits with UpdatePaths, updates, removes),
//! with real signatures, so that each adversarial test can start from a valid tree and break
//! it in exactly one way. IETF vector trees are read with a small scanner (no JSON crate in
//! this crate's dev-dependencies).

use crate::codec::{Bytes, Decode};
use crate::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use crate::messages::{
    Capabilities, Credential, CredentialType, Extensions, GroupContext, LeafNode,
    LeafNodeSourceData, Lifetime, ProtocolVersion, RatchetTreeWire,
};
use crate::tree::validation::TreeValidationContext;
use crate::tree::RatchetTree;
use crate::Result;

/// Changes a freshly built leaf before it is signed (to plant a content defect in an
/// otherwise consistent tree).
pub type Tweak = Box<dyn FnMut(u32, &mut LeafNode)>;
/// Signs a leaf differently (wrong group, index or key): `(index, leaf, tbs-signer)`.
pub type SignTweak = Box<dyn FnMut(u32, &mut LeafNode, &Builder) -> bool>;

/// A group's public tree with every member's signature key.
pub struct Builder {
    pub suite: Suite,
    pub group_id: Vec<u8>,
    pub tree: RatchetTree,
    pub keys: Vec<Option<SignaturePrivateKey>>,
    counter: u32,
    /// Applied to every new leaf before signing.
    pub tweak: Option<Tweak>,
    /// If set and it returns `true`, it has signed the leaf itself.
    pub sign_tweak: Option<SignTweak>,
    /// If set, new members reuse this signature key (for cheap large trees).
    pub shared_key: Option<SignaturePrivateKey>,
    /// If false, leaves get a fake signature (for size and hash tests only).
    pub sign: bool,
}

impl Builder {
    /// A one-member group in suite 1.
    pub fn new() -> Self {
        Self::with_suite(CipherSuite(1))
    }

    /// A one-member group in `cs`.
    pub fn with_suite(cs: CipherSuite) -> Self {
        Self::configured(cs, None, None)
    }

    /// A one-member group whose leaves are changed by `tweak` before signing.
    pub fn tweaked(tweak: impl FnMut(u32, &mut LeafNode) + 'static) -> Self {
        Self::configured(CipherSuite(1), Some(Box::new(tweak)), None)
    }

    /// A one-member group whose leaves `sign_tweak` may sign itself.
    pub fn sign_tweaked(
        sign_tweak: impl FnMut(u32, &mut LeafNode, &Builder) -> bool + 'static,
    ) -> Self {
        Self::configured(CipherSuite(1), None, Some(Box::new(sign_tweak)))
    }

    fn configured(cs: CipherSuite, tweak: Option<Tweak>, sign_tweak: Option<SignTweak>) -> Self {
        let suite = Suite::new(cs).unwrap();
        let key = suite.generate_signature_key_pair().unwrap();
        let mut b = Builder {
            suite,
            group_id: b"cohort tree tests".to_vec(),
            // Replaced below once the founder's leaf exists.
            tree: RatchetTree::new(suite, dummy_leaf()),
            keys: vec![Some(key)],
            counter: 0,
            tweak,
            sign_tweak,
            shared_key: None,
            sign: true,
        };
        let leaf = b.make_leaf(0, LeafNodeSourceData::KeyPackage(lifetime()));
        b.tree = RatchetTree::new(suite, leaf);
        b
    }

    /// A fresh, unique 32-byte "HPKE public key" (validation never decodes these).
    pub fn fresh_key(&mut self) -> Bytes {
        self.counter += 1;
        Bytes(self.suite.hash(&self.counter.to_be_bytes())[..32].to_vec())
    }

    /// A signed leaf for leaf `index` with `source`, using `keys[index]`.
    pub fn make_leaf(&mut self, index: u32, source: LeafNodeSourceData) -> LeafNode {
        let key = self.keys[index as usize].as_ref().unwrap();
        let mut leaf = LeafNode {
            encryption_key: Bytes::default(),
            signature_key: Bytes(key.public_key().to_vec()),
            credential: Credential::basic(format!("member {index}").into_bytes()),
            capabilities: Capabilities {
                versions: vec![ProtocolVersion::MLS10],
                cipher_suites: vec![self.suite.id()],
                extensions: vec![],
                proposals: vec![],
                credentials: vec![CredentialType::BASIC],
            },
            leaf_node_source: source,
            extensions: Extensions::new(),
            signature: Bytes::default(),
        };
        leaf.encryption_key = self.fresh_key();
        if let Some(t) = self.tweak.as_mut() {
            t(index, &mut leaf);
        }
        if let Some(mut t) = self.sign_tweak.take() {
            let done = t(index, &mut leaf, self);
            self.sign_tweak = Some(t);
            if done {
                return leaf;
            }
        }
        self.sign_leaf(index, &mut leaf);
        leaf
    }

    /// Sign `leaf` as leaf `index` of this group with `keys[index]`.
    pub fn sign_leaf(&self, index: u32, leaf: &mut LeafNode) {
        let key = self.keys[index as usize].as_ref().unwrap();
        self.sign_leaf_as(leaf, key, &self.group_id, index);
    }

    /// Sign `leaf` with `key` as leaf `index` of group `group_id`.
    pub fn sign_leaf_as(
        &self,
        leaf: &mut LeafNode,
        key: &SignaturePrivateKey,
        group_id: &[u8],
        index: u32,
    ) {
        leaf.signature = if self.sign {
            Bytes(
                self.suite
                    .sign_with_label(key, "LeafNodeTBS", &leaf.tbs_bytes(group_id, index))
                    .unwrap(),
            )
        } else {
            Bytes(vec![0; 64])
        };
    }

    /// Add a member from a fresh KeyPackage leaf (§12.1.1); returns its leaf index.
    pub fn add(&mut self) -> u32 {
        let index = self
            .tree
            .leftmost_blank_leaf()
            .unwrap_or(self.tree.n_leaves());
        let key = match &self.shared_key {
            Some(k) => k.clone(),
            None => self.suite.generate_signature_key_pair().unwrap(),
        };
        if self.keys.len() <= index as usize {
            self.keys.resize(index as usize + 1, None);
        }
        self.keys[index as usize] = Some(key);
        let leaf = self.make_leaf(index, LeafNodeSourceData::KeyPackage(lifetime()));
        assert_eq!(self.tree.add_leaf(leaf).unwrap(), index);
        index
    }

    /// `sender` commits with an UpdatePath of fresh keys (§7.5, §7.9).
    pub fn commit(&mut self, sender: u32) {
        let n = self.tree.filtered_direct_path(sender).len();
        let keys: Vec<Bytes> = (0..n).map(|_| self.fresh_key()).collect();
        self.commit_with_keys(sender, &keys);
    }

    /// `sender` commits with an UpdatePath carrying `keys`.
    pub fn commit_with_keys(&mut self, sender: u32, keys: &[Bytes]) {
        let ph = self.tree.merge_update_path(sender, keys).unwrap();
        let leaf = self.make_leaf(sender, LeafNodeSourceData::Commit(Bytes(ph)));
        self.tree.set_leaf(sender, leaf).unwrap();
    }

    /// `sender`'s Update proposal is committed (§12.1.2).
    pub fn update(&mut self, sender: u32) {
        let leaf = self.make_leaf(sender, LeafNodeSourceData::Update);
        self.tree.update_leaf(sender, leaf).unwrap();
    }

    /// Remove `leaf` (§12.1.3).
    pub fn remove(&mut self, leaf: u32) {
        self.tree.remove_leaf(leaf).unwrap();
        self.keys[leaf as usize] = None;
    }

    /// The IETF vectors' `get_tree(n)`: leaf `i` commits adding leaf `i + 1`.
    pub fn get_tree(n: u32) -> Self {
        let mut b = Builder::new();
        b.grow_to(n);
        b
    }

    /// Continue `get_tree` from `get_tree(m)` to `get_tree(n)`: the newest member commits
    /// adding the next one.
    pub fn grow_to(&mut self, n: u32) {
        while (self.tree.member_count() as u32) < n {
            let committer = self.tree.member_count() as u32 - 1;
            self.add();
            self.commit(committer);
        }
    }

    /// The GroupContext a joiner would receive for the current tree.
    pub fn group_context(&mut self) -> GroupContext {
        GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: self.suite.id(),
            group_id: Bytes(self.group_id.clone()),
            epoch: 7,
            tree_hash: Bytes(self.tree.tree_hash()),
            confirmed_transcript_hash: Bytes(vec![0; 32]),
            extensions: Extensions::new(),
        }
    }

    /// Validate the current tree as a joiner would, against its own tree hash.
    pub fn validate(&mut self) -> Result<()> {
        let gc = self.group_context();
        validate_as_joiner(&self.tree, &gc)
    }
}

/// Validate a copy of `tree` loaded from its wire form, as a joiner receives it.
pub fn validate_as_joiner(tree: &RatchetTree, gc: &GroupContext) -> Result<()> {
    let mut joined = reload(tree)?;
    joined.validate(&TreeValidationContext::new(gc))
}

/// `tree` sent through its wire encoding and loaded again.
pub fn reload(tree: &RatchetTree) -> Result<RatchetTree> {
    let wire = RatchetTreeWire::decode_exact(&tree.to_wire_bytes())?;
    RatchetTree::from_wire(tree.suite(), wire)
}

/// A lifetime covering the tests' clock.
pub fn lifetime() -> Lifetime {
    Lifetime {
        not_before: 1_000,
        not_after: 2_000,
    }
}

fn dummy_leaf() -> LeafNode {
    LeafNode {
        encryption_key: Bytes::default(),
        signature_key: Bytes::default(),
        credential: Credential::basic(Vec::new()),
        capabilities: Capabilities::default(),
        leaf_node_source: LeafNodeSourceData::Update,
        extensions: Extensions::new(),
        signature: Bytes::default(),
    }
}

/// One case of `tree-validation.json`: suite, tree bytes, group id.
pub struct VectorTree {
    pub suite: Suite,
    pub tree: Vec<u8>,
    pub group_id: Vec<u8>,
}

/// Every case of the IETF `tree-validation.json`.
pub fn vector_trees() -> Vec<VectorTree> {
    let dir = std::env::var("COHORT_IETF_VECTORS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/ietf").to_string());
    let path = format!("{dir}/tree-validation.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("IETF vector file {path} is needed by this test: {e}"));
    text.split("\"cipher_suite\":")
        .skip(1)
        .map(|case| {
            let digits: String = case
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let field = |name: &str| {
                let start = case.find(&format!("\"{name}\": \"")).unwrap() + name.len() + 5;
                let end = start + case[start..].find('"').unwrap();
                hex::decode(&case[start..end]).unwrap()
            };
            VectorTree {
                suite: Suite::new(CipherSuite(digits.parse().unwrap())).unwrap(),
                tree: field("tree"),
                group_id: field("group_id"),
            }
        })
        .collect()
}

impl VectorTree {
    /// The tree, loaded.
    pub fn load(&self) -> RatchetTree {
        let wire = RatchetTreeWire::decode_exact(&self.tree).unwrap();
        RatchetTree::from_wire(self.suite, wire).unwrap()
    }

    /// A GroupContext for this case whose tree hash is `tree`'s.
    pub fn group_context(&self, tree: &mut RatchetTree) -> GroupContext {
        GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: self.suite.id(),
            group_id: Bytes(self.group_id.clone()),
            epoch: 0,
            tree_hash: Bytes(tree.tree_hash()),
            confirmed_transcript_hash: Bytes::default(),
            extensions: Extensions::new(),
        }
    }

    /// Validate `tree` (a mutation of this case) against its own recomputed tree hash.
    pub fn validate(&self, tree: &mut RatchetTree) -> Result<()> {
        let gc = self.group_context(tree);
        tree.validate(&TreeValidationContext::new(&gc))
    }
}
