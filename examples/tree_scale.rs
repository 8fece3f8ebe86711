//! Ratchet-tree costs at 1,000, 10,000 and 100,000 members (RFC 9420 §7, §12.4.3.1).
//!
//! Builds a populated group tree with a distinct Ed25519 key and a real signature per member
//! (every second member has committed, so parent nodes are filled and chained), then times
//! what a joiner does (decode, load, full validation) and what a member does per commit
//! (merge one UpdatePath, rehash). Run with
//! `cargo run --release --example tree_scale [sizes...]`.

use cohort::codec::{Bytes, Decode};
use cohort::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use cohort::messages::{
    Capabilities, Credential, CredentialType, Extensions, GroupContext, LeafNode,
    LeafNodeSourceData, Lifetime, ProtocolVersion, RatchetTreeWire,
};
use cohort::tree::validation::TreeValidationContext;
use cohort::tree::RatchetTree;
use std::time::Instant;

const GROUP_ID: &[u8] = b"tree_scale example";

struct Group {
    suite: Suite,
    tree: RatchetTree,
    keys: Vec<SignaturePrivateKey>,
    counter: u64,
}

impl Group {
    fn fresh_key(&mut self) -> Bytes {
        self.counter += 1;
        Bytes(self.suite.hash(&self.counter.to_be_bytes()))
    }

    fn leaf(&mut self, index: u32, source: LeafNodeSourceData) -> LeafNode {
        let key = &self.keys[index as usize];
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
        let key = &self.keys[index as usize];
        let tbs = leaf.tbs_bytes(GROUP_ID, index);
        leaf.signature = Bytes(
            self.suite
                .sign_with_label(key, "LeafNodeTBS", &tbs)
                .expect("sign"),
        );
        leaf
    }

    fn commit(&mut self, sender: u32) {
        let n = self.tree.filtered_direct_path(sender).len();
        let keys: Vec<Bytes> = (0..n).map(|_| self.fresh_key()).collect();
        let ph = self.tree.merge_update_path(sender, &keys).expect("merge");
        let leaf = self.leaf(sender, LeafNodeSourceData::Commit(Bytes(ph)));
        self.tree.set_leaf(sender, leaf).expect("set leaf");
    }

    fn build(suite: Suite, members: u32) -> Group {
        let lifetime = Lifetime {
            not_before: 0,
            not_after: u64::MAX,
        };
        let mut g = Group {
            suite,
            tree: RatchetTree::new(suite, placeholder()),
            keys: Vec::new(),
            counter: 0,
        };
        for i in 0..members {
            g.keys
                .push(suite.generate_signature_key_pair().expect("key"));
            let leaf = g.leaf(i, LeafNodeSourceData::KeyPackage(lifetime));
            if i == 0 {
                g.tree = RatchetTree::new(suite, leaf);
            } else {
                g.tree.add_leaf(leaf).expect("add");
            }
        }
        for i in (0..members).step_by(2) {
            g.commit(i);
        }
        g
    }
}

fn placeholder() -> LeafNode {
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

fn main() {
    let sizes: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let suite = Suite::new(CipherSuite(1)).expect("suite");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("suite 1 (Ed25519), {threads} threads available");
    for n in sizes {
        let start = Instant::now();
        let mut g = Group::build(suite, n);
        let built = start.elapsed();
        let bytes = g.tree.approx_memory_bytes();
        let gc = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: suite.id(),
            group_id: Bytes(GROUP_ID.to_vec()),
            epoch: 1,
            tree_hash: Bytes(g.tree.tree_hash()),
            confirmed_transcript_hash: Bytes(vec![0; 32]),
            extensions: Extensions::new(),
        };
        let wire = g.tree.to_wire_bytes();

        let t = Instant::now();
        let decoded = RatchetTreeWire::decode_exact(&wire).expect("decode");
        let decode = t.elapsed();
        let t = Instant::now();
        let mut joined = RatchetTree::from_wire(suite, decoded).expect("load");
        let load = t.elapsed();
        let t = Instant::now();
        joined.tree_hash();
        let hash = t.elapsed();
        let t = Instant::now();
        joined.verify_parent_hashes().expect("parent hashes");
        let parents = t.elapsed();
        let t = Instant::now();
        joined.verify_leaf_signatures(GROUP_ID).expect("signatures");
        let signatures = t.elapsed();
        let mut fresh =
            RatchetTree::from_wire(suite, RatchetTreeWire::decode_exact(&wire).expect("decode"))
                .expect("load");
        let t = Instant::now();
        fresh
            .validate(&TreeValidationContext::new(&gc))
            .expect("valid");
        let validate = t.elapsed();

        // Median of several commits by different members, after one warm-up.
        g.commit(n / 3);
        g.tree.tree_hash();
        let mut commits: Vec<_> = (0..9u32)
            .map(|k| {
                let t = Instant::now();
                g.commit((n / 2 + 2 * k) % n);
                g.tree.tree_hash();
                t.elapsed()
            })
            .collect();
        commits.sort();
        let commit = commits[commits.len() / 2];
        let t = Instant::now();
        let staged = g.tree.clone();
        let clone = t.elapsed();
        drop(staged);

        println!(
            "{n:>7} members: built {built:.2?}; wire {} KB; ~{} bytes/member in memory",
            wire.len() / 1000,
            bytes / n as usize
        );
        println!(
            "         join: decode {decode:.2?}, load {load:.2?}, tree hash {hash:.2?}, \
             parent hashes {parents:.2?}, signatures {signatures:.2?}; full validate {validate:.2?}"
        );
        println!("         member: commit (merge path, sign leaf, rehash) {commit:.2?}, tree clone {clone:.2?}");
    }
}
