//! TreeKEM and tree costs by group size (RFC 9420 §7.4–§7.9, §12.4.3.1), suite 1.
//!
//! Two tree shapes per size N:
//! - `fresh`: member 0 added everyone and committed with a path, so only its direct path is
//!   set and every other parent is blank (resolutions are large);
//! - `populated`: every parent node set, each chained by parent hash to the leftmost leaf
//!   below it (the tree that commits by members N-1, N-2, ..., 0 leave behind).
//!
//! Benchmarks: member N-1 generates an UpdatePath, member N-2 processes it (on a tree cloned
//! untimed, and `process_on_copy`: cloned, processed and rehashed in the timed part), the tree
//! hash is recomputed after merging it, and a joiner validates the whole tree (§12.4.3.1)
//! loaded from its wire form. Each tree is built once per N and cloned per iteration; the clone
//! and its drop (freeing 2N nodes at 65536 members takes milliseconds) are not timed.

use cohort::codec::Bytes;
use cohort::crypto::{CipherSuite, HpkePrivateKey, SignaturePrivateKey, Suite};
use cohort::group::key_package::default_capabilities;
use cohort::messages::{
    Capabilities, Credential, Extensions, GroupContext, LeafNode, LeafNodeSourceData, Lifetime,
    ParentNode, ProtocolVersion, RatchetTreeWire, UpdatePath,
};
use cohort::tree::hashes::parent_hash;
use cohort::tree::math;
use cohort::tree::treekem::{generate_update_path, process_update_path, TreePrivateKeys};
use cohort::tree::validation::TreeValidationContext;
use cohort::tree::RatchetTree;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [u32; 7] = [2, 8, 32, 128, 1024, 8192, 65536];

/// One member's keys and the leaf they sign.
struct Keys {
    hpke: HpkePrivateKey,
    signer: SignaturePrivateKey,
}

/// Everything a benchmark of one tree needs.
struct Fixture {
    suite: Suite,
    tree: RatchetTree,
    wire: RatchetTreeWire,
    context: GroupContext,
    sender: u32,
    sender_signer: SignaturePrivateKey,
    receiver_keys: TreePrivateKeys,
    path: UpdatePath,
}

fn context(suite: &Suite) -> GroupContext {
    GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: suite.id(),
        group_id: Bytes(b"bench group".to_vec()),
        epoch: 1,
        tree_hash: Bytes::default(),
        confirmed_transcript_hash: Bytes(vec![3; suite.hash_len()]),
        extensions: Extensions::new(),
    }
}

fn keys(suite: &Suite) -> Keys {
    Keys {
        hpke: suite.generate_hpke_key_pair().expect("hpke key"),
        signer: suite.generate_signature_key_pair().expect("signature key"),
    }
}

/// A signed leaf for `index` with the given source.
fn leaf(
    suite: &Suite,
    k: &Keys,
    index: u32,
    source: LeafNodeSourceData,
    group_id: &[u8],
) -> LeafNode {
    let credential = Credential::basic(format!("member {index}").into_bytes());
    let mut leaf = LeafNode {
        encryption_key: Bytes(k.hpke.public_key().to_vec()),
        signature_key: Bytes(k.signer.public_key().to_vec()),
        capabilities: default_capabilities(suite, &credential, &Capabilities::default()),
        credential,
        leaf_node_source: source,
        extensions: Extensions::new(),
        signature: Bytes::default(),
    };
    let tbs = leaf.tbs_bytes(group_id, index);
    leaf.signature = Bytes(
        suite
            .sign_with_label(&k.signer, "LeafNodeTBS", &tbs)
            .expect("sign"),
    );
    leaf
}

/// Member 0 adds N-1 members from KeyPackages and commits with a path (§12.4.1).
fn fresh(n: u32) -> Fixture {
    let suite = Suite::new(CipherSuite(1)).expect("suite 1");
    let ctx = context(&suite);
    let lifetime = LeafNodeSourceData::KeyPackage(Lifetime {
        not_before: 0,
        not_after: u64::MAX,
    });
    let members: Vec<Keys> = (0..n).map(|_| keys(&suite)).collect();
    let leaves: Vec<LeafNode> = (0..n)
        .map(|i| leaf(&suite, &members[i as usize], i, lifetime.clone(), b""))
        .collect();
    let mut tree = RatchetTree::new(suite, leaves[0].clone());
    let joiners: Vec<u32> = leaves[1..]
        .iter()
        .map(|l| tree.add_leaf(l.clone()).expect("add"))
        .collect();
    let founder = generate_update_path(&suite, &mut tree, 0, &members[0].signer, &ctx, &joiners)
        .expect("founder path");
    let receiver = n - 2;
    let lca = math::common_ancestor(0, 2 * receiver);
    let secret = founder.path_secret_for_joiner(receiver).cloned();
    let receiver_keys = match secret {
        Some(s) => TreePrivateKeys::from_welcome(
            &suite,
            &tree,
            receiver,
            members[receiver as usize].hpke.clone(),
            Some((lca, s)),
        )
        .expect("joiner keys"),
        None => founder.private.clone(),
    };
    finish(suite, tree, &members, receiver_keys)
}

/// Every parent set; `P` is chained through its left child, whose parent hash covers the
/// right child's finished subtree, so the right side is built first.
fn populate(
    suite: &Suite,
    tree: &mut RatchetTree,
    members: &[Keys],
    parents: &[HpkePrivateKey],
    x: u32,
    ph: Vec<u8>,
    group_id: &[u8],
) {
    let (Some(l), Some(r)) = (math::left(x), math::right(x)) else {
        let i = x / 2;
        let source = LeafNodeSourceData::Commit(Bytes(ph));
        let node = leaf(suite, &members[i as usize], i, source, group_id);
        tree.set_leaf(i, node).expect("set leaf");
        return;
    };
    let key = Bytes(parents[(x / 2) as usize].public_key().to_vec());
    tree.set_parent(
        x,
        Some(ParentNode {
            encryption_key: key.clone(),
            parent_hash: Bytes(ph.clone()),
            unmerged_leaves: Vec::new(),
        }),
    )
    .expect("set parent");
    // The right child's own chain went to a version of P that a later commit replaced.
    let stale = suite.hash(&x.to_be_bytes());
    populate(suite, tree, members, parents, r, stale, group_id);
    let sibling = tree.node_tree_hash(r).expect("tree hash");
    let chained = parent_hash(suite, &key, &ph, &sibling);
    populate(suite, tree, members, parents, l, chained, group_id);
}

fn populated(n: u32) -> Fixture {
    let suite = Suite::new(CipherSuite(1)).expect("suite 1");
    let ctx = context(&suite);
    let members: Vec<Keys> = (0..n).map(|_| keys(&suite)).collect();
    let parents: Vec<HpkePrivateKey> = (0..n.saturating_sub(1))
        .map(|_| suite.generate_hpke_key_pair().expect("hpke key"))
        .collect();
    let placeholder = LeafNodeSourceData::Commit(Bytes::default());
    let mut tree = RatchetTree::new(
        suite,
        leaf(&suite, &members[0], 0, placeholder.clone(), b""),
    );
    for i in 1..n {
        tree.add_leaf(leaf(
            &suite,
            &members[i as usize],
            i,
            placeholder.clone(),
            b"",
        ))
        .expect("add");
    }
    let root = tree.root();
    populate(
        &suite,
        &mut tree,
        &members,
        &parents,
        root,
        Vec::new(),
        &ctx.group_id,
    );
    let receiver = n - 2;
    let mut receiver_keys = TreePrivateKeys::new(receiver, members[receiver as usize].hpke.clone());
    for x in tree.direct_path(receiver) {
        receiver_keys
            .insert_path_key(x, parents[(x / 2) as usize].clone())
            .expect("direct path");
    }
    finish(suite, tree, &members, receiver_keys)
}

/// Check the tree as a joiner would, then pre-generate the path member N-1 sends.
fn finish(
    suite: Suite,
    mut tree: RatchetTree,
    members: &[Keys],
    receiver_keys: TreePrivateKeys,
) -> Fixture {
    let mut ctx = context(&suite);
    ctx.tree_hash = Bytes(tree.tree_hash());
    tree.validate(&TreeValidationContext::new(&ctx))
        .expect("valid tree");
    receiver_keys.check_against(&tree).expect("receiver keys");
    let sender = tree.n_leaves() - 1;
    let sender_signer = members[sender as usize].signer.clone();
    let mut scratch = tree.clone();
    let path = generate_update_path(&suite, &mut scratch, sender, &sender_signer, &ctx, &[])
        .expect("path")
        .update_path;
    Fixture {
        suite,
        wire: tree.to_wire(),
        tree,
        context: ctx,
        sender,
        sender_signer,
        receiver_keys,
        path,
    }
}

fn bench_tree(c: &mut Criterion, kind: &str, f: &Fixture) {
    let n = f.tree.n_leaves();
    let id = |op: &str| BenchmarkId::new(format!("{kind}/{op}"), n);
    let mut group = c.benchmark_group("tree");
    group.bench_function(id("generate_update_path"), |b| {
        b.iter_batched(
            || f.tree.clone(),
            |mut t| {
                let out = generate_update_path(
                    &f.suite,
                    &mut t,
                    f.sender,
                    &f.sender_signer,
                    &f.context,
                    &[],
                )
                .expect("generate");
                (t, out)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function(id("apply_update_path"), |b| {
        b.iter_batched(
            || f.tree.clone(),
            |mut t| {
                let out = process_update_path(
                    &f.suite,
                    &mut t,
                    &f.receiver_keys,
                    f.sender,
                    &f.path,
                    &f.context,
                    &[],
                )
                .expect("apply");
                (t, out)
            },
            BatchSize::LargeInput,
        )
    });
    // What a receiver's staging costs with the copy included: the tree is copied inside the
    // timed part (copy-on-write, so O(log N) chunks are copied as the path is merged).
    group.bench_function(id("process_on_copy"), |b| {
        b.iter_batched(
            || (),
            |_| {
                let mut t = f.tree.clone();
                let out = process_update_path(
                    &f.suite,
                    &mut t,
                    &f.receiver_keys,
                    f.sender,
                    &f.path,
                    &f.context,
                    &[],
                )
                .expect("apply");
                let hash = black_box(t.tree_hash());
                (t, out, hash)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function(id("tree_hash_after_commit"), |b| {
        b.iter_batched(
            || {
                let mut t = f.tree.clone();
                let keys: Vec<_> = f
                    .path
                    .nodes
                    .iter()
                    .map(|n| n.encryption_key.clone())
                    .collect();
                t.merge_update_path(f.sender, &keys).expect("merge");
                t.set_leaf(f.sender, f.path.leaf_node.clone())
                    .expect("leaf");
                t
            },
            |mut t| {
                let hash = black_box(t.tree_hash());
                (t, hash)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function(id("validate_on_join"), |b| {
        b.iter_batched(
            || RatchetTree::from_wire(f.suite, f.wire.clone()).expect("from wire"),
            |mut t| {
                t.validate(&TreeValidationContext::new(&f.context))
                    .expect("validate");
                t
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn trees(c: &mut Criterion) {
    // `COHORT_TREE_SIZES=2,128,1024` skips building the larger fixtures (minutes each on a
    // busy machine) when only some sizes are wanted; a criterion filter alone does not.
    let sizes: Vec<u32> = std::env::var("COHORT_TREE_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    for n in sizes {
        bench_tree(c, "fresh", &fresh(n));
        bench_tree(c, "populated", &populated(n));
    }
}

criterion_group! {
    name = benches;
    // Few, short samples: the largest trees take seconds per iteration.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = trees
}
criterion_main!(benches);
