//! Ratchet-tree costs from 1,000 to 1,000,000 members (RFC 9420 §7, §12.4.2, §12.4.3.1).
//!
//! Builds a populated group tree with a distinct Ed25519 key and a real signature per member
//! (every second member has committed, so parent nodes are filled and chained), then reports:
//! - what a joiner does: decode the `ratchet_tree`, load it, validate it in full;
//! - what a committer does: generate an UpdatePath (HPKE seals to the copath, leaf signature);
//! - what a receiver does: stage the commit on a copy of its tree (decrypt its path secret,
//!   derive the path, check the new leaf's signature and parent hash, merge, rehash) and
//!   merge it (the copy replaces the tree);
//! - the `ratchet_tree` bytes a Welcome with the tree in band carries, state bytes per member
//!   (in memory, and as persisted: the tree's wire form), and the process's peak RSS.
//!
//! The receiver figure leaves out what is not tree work: the commit's framing signature and
//! the key schedule (one Ed25519 verification and ~5 µs). Run with
//! `cargo run --release --example tree_scale [sizes...]` (default 1,000 10,000 100,000); one
//! size per run gives a meaningful peak RSS.

use cohort::codec::{Bytes, Decode};
use cohort::crypto::{CipherSuite, HpkePrivateKey, SignaturePrivateKey, Suite};
use cohort::messages::{
    Capabilities, Credential, CredentialType, Extensions, GroupContext, LeafNode,
    LeafNodeSourceData, Lifetime, ProtocolVersion, RatchetTreeWire,
};
use cohort::tree::treekem::{generate_update_path, process_update_path, TreePrivateKeys};
use cohort::tree::validation::TreeValidationContext;
use cohort::tree::RatchetTree;
use std::time::{Duration, Instant};

const GROUP_ID: &[u8] = b"tree_scale example";

struct Group {
    suite: Suite,
    tree: RatchetTree,
    keys: Vec<SignaturePrivateKey>,
    counter: u64,
}

/// `f` over `0..n` on every core, results in order.
fn par_map<R: Send>(n: u32, f: impl Fn(u32) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()) as u32;
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                s.spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(n))
                        .map(f)
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    })
}

fn leaf_for(
    suite: &Suite,
    key: &SignaturePrivateKey,
    index: u32,
    encryption_key: Bytes,
    source: LeafNodeSourceData,
) -> LeafNode {
    let mut leaf = LeafNode {
        encryption_key,
        signature_key: Bytes(key.public_key().to_vec()),
        credential: Credential::basic(format!("member {index}").into_bytes()),
        capabilities: Capabilities {
            versions: vec![ProtocolVersion::MLS10],
            cipher_suites: vec![suite.id()],
            extensions: vec![],
            proposals: vec![],
            credentials: vec![CredentialType::BASIC],
        },
        leaf_node_source: source,
        extensions: Extensions::new(),
        signature: Bytes::default(),
    };
    let tbs = leaf.tbs_bytes(GROUP_ID, index);
    leaf.signature = Bytes(
        suite
            .sign_with_label(key, "LeafNodeTBS", &tbs)
            .expect("sign"),
    );
    leaf
}

impl Group {
    fn fresh_key(&mut self) -> Bytes {
        self.counter += 1;
        Bytes(self.suite.hash(&self.counter.to_be_bytes()))
    }

    /// Member `sender` commits with the given path keys and leaf encryption key.
    fn commit_with(&mut self, sender: u32, keys: &[Bytes], leaf_key: Bytes) {
        let ph = self.tree.merge_update_path(sender, keys).expect("merge");
        let source = LeafNodeSourceData::Commit(Bytes(ph));
        let leaf = leaf_for(
            &self.suite,
            &self.keys[sender as usize],
            sender,
            leaf_key,
            source,
        );
        self.tree.set_leaf(sender, leaf).expect("set leaf");
    }

    fn commit(&mut self, sender: u32) {
        let n = self.tree.filtered_direct_path(sender).len();
        let keys: Vec<Bytes> = (0..n).map(|_| self.fresh_key()).collect();
        let leaf_key = self.fresh_key();
        self.commit_with(sender, &keys, leaf_key);
    }

    fn build(suite: Suite, members: u32) -> Group {
        let lifetime = LeafNodeSourceData::KeyPackage(Lifetime {
            not_before: 0,
            not_after: u64::MAX,
        });
        let keys = par_map(members, |_| {
            suite.generate_signature_key_pair().expect("key")
        });
        let leaves = par_map(members, |i| {
            let enc = Bytes(suite.hash(&(u64::MAX - u64::from(i)).to_be_bytes()));
            leaf_for(&suite, &keys[i as usize], i, enc, lifetime.clone())
        });
        let mut leaves = leaves.into_iter();
        let mut tree = RatchetTree::new(suite, leaves.next().expect("one member"));
        for leaf in leaves {
            tree.add_leaf(leaf).expect("add");
        }
        let mut g = Group {
            suite,
            tree,
            keys,
            counter: 0,
        };
        for i in (0..members).step_by(2) {
            g.commit(i);
        }
        g
    }
}

/// The process's peak resident set (VmHWM), in MB, where /proc has it.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// CPU time of the whole process so far (all threads, user + system), where /proc has it:
/// on a loaded machine the wall clock of a two-core phase says little, its CPU time does.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let mut f = rest.split_whitespace().skip(11);
    let ticks: u64 = f.next()?.parse::<u64>().ok()? + f.next()?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration Rust targets.
    Some(Duration::from_millis(ticks * 10))
}

/// Wall-clock and CPU time of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let cpu = cpu_time();
    let t = Instant::now();
    let out = f();
    let wall = t.elapsed();
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
    (out, wall, cpu)
}

fn cpu_str(cpu: Option<Duration>) -> String {
    cpu.map_or("?".into(), |c| format!("{c:.2?}"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
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
    for n in sizes.into_iter().filter(|&n| n >= 4) {
        let start = Instant::now();
        let mut g = Group::build(suite, n);
        // The receiver commits last with real HPKE keys on its path, so that it can decrypt.
        let receiver = n / 4 + 1;
        let path_keys: Vec<HpkePrivateKey> = g
            .tree
            .filtered_direct_path(receiver)
            .iter()
            .map(|_| suite.generate_hpke_key_pair().expect("hpke"))
            .collect();
        let leaf_key = suite.generate_hpke_key_pair().expect("hpke");
        let public: Vec<Bytes> = path_keys
            .iter()
            .map(|k| Bytes(k.public_key().to_vec()))
            .collect();
        g.commit_with(receiver, &public, Bytes(leaf_key.public_key().to_vec()));
        let mut private = TreePrivateKeys::new(receiver, leaf_key);
        for (x, k) in g
            .tree
            .filtered_direct_path(receiver)
            .into_iter()
            .zip(path_keys)
        {
            private.insert_path_key(x, k).expect("path key");
        }
        private.check_against(&g.tree).expect("receiver keys");
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

        let (decoded, decode, decode_cpu) =
            timed(|| RatchetTreeWire::decode_exact(&wire).expect("decode"));
        let (mut joined, load, load_cpu) =
            timed(|| RatchetTree::from_wire(suite, decoded).expect("load"));
        let ((), validate, validate_cpu) = timed(|| {
            joined
                .validate(&TreeValidationContext::new(&gc))
                .expect("valid")
        });
        drop(joined);

        // Commits by members in the other half of the tree, each on a copy of the tree.
        let senders: Vec<u32> = (0..7u32).map(|k| (n / 2 + 3 + 2 * k) % n).collect();
        let mut commits = Vec::new();
        let mut paths = Vec::new();
        for &s in &senders {
            let mut scratch = g.tree.clone();
            let signer = g.keys[s as usize].clone();
            let t = Instant::now();
            let out =
                generate_update_path(&suite, &mut scratch, s, &signer, &gc, &[]).expect("generate");
            scratch.tree_hash();
            commits.push(t.elapsed());
            paths.push(out.update_path);
        }
        let commit = median(commits);

        // Stage each on a copy of the current tree, then merge it: the copy replaces it.
        let mut staged_times = Vec::new();
        for (&s, path) in senders.iter().zip(&paths) {
            let mut current = g.tree.clone();
            let t = Instant::now();
            let mut staged = current.clone();
            let received = process_update_path(&suite, &mut staged, &private, s, path, &gc, &[])
                .expect("process");
            staged.tree_hash();
            current = staged;
            staged_times.push(t.elapsed());
            assert_eq!(current.n_leaves(), g.tree.n_leaves());
            drop(received);
        }
        let process = median(staged_times);

        println!(
            "{n:>8} members: built {built:.2?}; ~{} bytes/member in memory, {} persisted \
             (ratchet_tree in a Welcome: {:.1} MB)",
            bytes / n as usize,
            wire.len() / n as usize,
            wire.len() as f64 / 1e6
        );
        println!(
            "          join: decode {decode:.2?}, load {load:.2?}, full validate {validate:.2?} \
             (CPU time, all threads: {}, {}, {})",
            cpu_str(decode_cpu),
            cpu_str(load_cpu),
            cpu_str(validate_cpu)
        );
        println!(
            "          commit (UpdatePath, leaf signature, rehash) {commit:.2?}; \
             process (stage on a copy, decrypt, derive, verify, merge, rehash) {process:.2?}"
        );
        if let Some(mb) = peak_rss_mb() {
            println!("          peak RSS so far {mb} MB");
        }
    }
}
