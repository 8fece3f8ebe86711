//! Cohort against mls-rs (0.57, RustCrypto provider), the same operations in the same run.
//!
//! Suite 0x0001, basic credentials, commits as PublicMessage with an UpdatePath, the ratchet
//! tree in the Welcome. For N = 2 … 4096 members:
//!
//! * `create` — create a group and add N-1 members in one commit, Welcome included
//!   (KeyPackages are made beforehand and not timed);
//! * `join` — join a group of N from that Welcome (tree in the Welcome, validated);
//! * `commit` — a member's self-update commit (empty commit with a path), fresh tree;
//! * `process` — another member processes (and merges) that commit, fresh tree;
//! * `add` — a commit adding one member (with path and Welcome);
//! * `remove` — a commit removing one member;
//! * `decrypt 1KiB` — the creator reads a 1 KiB application message from member 1;
//! * for N = 128 also `commit` and `process` on a populated tree, after every member has
//!   committed once.
//!
//! Then 1 KiB application messages: protect and unprotect, Cohort for all 7 suites, mls-rs for
//! the suites its RustCrypto provider has (1, 2, 3, 7). Finally the size of one member's group
//! state (Cohort: `Group::to_bytes()`; mls-rs: the bytes its `GroupStateStorage` receives). A
//! table with both figures and the ratio (mls-rs time / Cohort time: above 1 means Cohort is
//! faster) is printed at the end, from the same samples criterion reports.
//!
//! Each benchmark is written once, generic over the `Side` trait; its two implementations
//! (`Cohort`, `MlsRs`) say what each operation and its untimed set-up are in that library.
//!
//! Run: `cargo bench -p cohort-interop --bench compare` (about 7 minutes on two busy cores,
//! most of it N = 4096 and the populated N = 128 set-up). `COMPARE_MAX_N` caps N (default
//! 4096); `COMPARE_MLS_RS_MAX_N` caps N for mls-rs alone. Each operation gets 10 samples over
//! about 2 s: on a shared machine single figures move by ±30 %, so compare trends, not digits.

use cohort::crypto::{CipherSuite as CohortSuite, SignaturePrivateKey};
use cohort::framing::MLSMessage;
use cohort::group::{
    CommitOptions as CohortCommitOptions, CommitOutput as CohortCommitOutput, Group as CohortGroup,
    GroupOptions, JoinOptions, KeyPackageSecrets, NoPsks, ReceivedMessage as CohortReceived,
};
use cohort::messages::{Credential, KeyPackage};
use cohort_interop::cohort_identity;
use criterion::{BenchmarkId, Criterion};
use mls_rs::client_builder::{BaseConfig, PaddingMode, WithCryptoProvider, WithIdentityProvider};
use mls_rs::group::{
    CommitOutput as MlsRsCommitOutput, NewMemberInfo, ReceivedMessage as MlsRsReceived,
};
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
use mls_rs::storage_provider::in_memory::InMemoryKeyPackageStorage;
use mls_rs::storage_provider::KeyPackageData;
use mls_rs::{
    CipherSuite, CipherSuiteProvider, Client, CryptoProvider, GroupStateStorage, MlsMessage,
};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SUITE: u16 = 0x0001;
const SIZES: [usize; 6] = [2, 8, 32, 128, 1024, 4096];
const POPULATED_N: usize = 128;

// ---------------------------------------------------------------------------------------------
// Timing: every benchmark measures itself with `iter_custom`, so that setup is never timed and
// the table below can be printed without reading criterion's files.

/// (operation, N or suite, implementation) -> per-iteration means of each sample.
/// Key of a timing: (operation, N or suite, implementation).
type TimingKey = (String, String, &'static str);
/// A state size and how it was measured.
type SizeEntry = (usize, &'static str);

static RESULTS: Mutex<BTreeMap<TimingKey, Vec<f64>>> = Mutex::new(BTreeMap::new());
/// (N, implementation) -> state bytes of one member.
static SIZES_OUT: Mutex<BTreeMap<(usize, &'static str), SizeEntry>> = Mutex::new(BTreeMap::new());

fn record(op: &str, param: &str, imp: &'static str, total: Duration, iters: u64) {
    RESULTS
        .lock()
        .unwrap()
        .entry((op.to_string(), param.to_string(), imp))
        .or_default()
        .push(total.as_secs_f64() / iters as f64);
}

/// Run `routine(setup())` `iters` times, timing only the routine.
fn timed<S, T>(
    iters: u64,
    mut setup: impl FnMut() -> S,
    mut routine: impl FnMut(S) -> T,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let input = setup();
        let start = Instant::now();
        let out = routine(input);
        total += start.elapsed();
        drop(std::hint::black_box(out));
    }
    total
}

fn bench<S, T>(
    c: &mut Criterion,
    op: &str,
    param: &str,
    imp: &'static str,
    mut setup: impl FnMut() -> S,
    mut routine: impl FnMut(S) -> T,
) {
    let mut group = c.benchmark_group(op);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    group.bench_function(BenchmarkId::new(imp, param), |b| {
        b.iter_custom(|iters| {
            let d = timed(iters, &mut setup, &mut routine);
            record(op, param, imp, d, iters);
            d
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// The benchmarks, written once for both implementations

/// One implementation's side of the comparison: what each benchmarked operation (and its
/// set-up) is in that library. The benchmarks below are generic over it, so both libraries run
/// the same operations with the same set-up/timed split.
trait Side: Sized {
    /// The implementation in criterion's benchmark ids and in the table.
    const NAME: &'static str;
    /// The implementation in progress messages.
    const TITLE: &'static str;
    type Group: Clone;
    type Message: Clone;
    type KeyPackage: Clone;
    /// What `create`, `join` and the state size need besides the fixture's groups.
    type Ctx;
    /// What the timed routines return (dropped outside the timing).
    type Created;
    type Joined;
    type CommitOut;
    type Received;

    /// The set-up for N members.
    fn fixture(n: usize) -> Fixture<Self>;
    /// Create a group and add the members of `kps` in one commit, Welcome included.
    fn create(ctx: &Self::Ctx, kps: Vec<Self::KeyPackage>) -> Self::Created;
    /// Untimed preparation of one `join`.
    fn join_setup(_ctx: &Self::Ctx) {}
    /// Join the fixture's group from its Welcome.
    fn join(ctx: &Self::Ctx) -> Self::Joined;
    /// A self-update commit (empty, with a path), then discarded.
    fn self_update(g: &mut Self::Group) -> Self::Message;
    /// A commit adding one member (with path and Welcome), then discarded.
    fn add(g: &mut Self::Group, kp: Self::KeyPackage) -> Self::CommitOut;
    /// A commit removing leaf `leaf`, then discarded.
    fn remove(g: &mut Self::Group, leaf: u32) -> Self::CommitOut;
    /// Process a commit and merge it.
    fn process(g: &mut Self::Group, m: Self::Message);
    /// State bytes of one member, and how they were measured.
    fn state_size(ctx: &Self::Ctx, g: &Self::Group) -> SizeEntry;

    /// All members of a new group of `n`, in leaf order, nobody has committed yet.
    fn members(n: usize) -> Vec<Self::Group>;
    /// A self-update commit, merged by its committer.
    fn commit_and_merge(g: &mut Self::Group) -> Self::Message;

    /// The suites of the application-message benchmarks.
    fn app_suites() -> Vec<u16>;
    /// A group of two in `suite`: (alice, bob).
    fn app_pair(suite: u16) -> (Self::Group, Self::Group);
    fn protect(g: &mut Self::Group, data: &[u8]) -> Self::Message;
    fn unprotect(g: &mut Self::Group, m: Self::Message) -> Self::Received;
}

/// Everything the per-N benchmarks start from.
struct Fixture<S: Side> {
    ctx: S::Ctx,
    /// KeyPackages of members 1..N, in leaf order.
    kps: Vec<S::KeyPackage>,
    /// Leaf 1, joined by Welcome: the committer.
    committer: S::Group,
    /// Leaf 0, the creator: the receiver.
    receiver: S::Group,
    /// A KeyPackage of a non-member, for `add`.
    extra: S::KeyPackage,
}

/// `create`, `join`, `commit`, `process`, `add`, `remove` and the state size for N = `n`.
fn bench_size<S: Side>(c: &mut Criterion, n: usize) {
    let t = Instant::now();
    let mut f = S::fixture(n);
    eprintln!("[compare] {} fixture N={n}: {:?}", S::TITLE, t.elapsed());
    let p = n.to_string();
    let imp = S::NAME;
    let ctx = &f.ctx;
    bench(
        c,
        "create",
        &p,
        imp,
        || f.kps.clone(),
        |kps| S::create(ctx, kps),
    );
    bench(c, "join", &p, imp, || S::join_setup(ctx), |_| S::join(ctx));
    bench_commit_process::<S>(c, &p, &mut f.committer, &f.receiver);
    let committer = &mut f.committer;
    let extra = &f.extra;
    bench(
        c,
        "add",
        &p,
        imp,
        || extra.clone(),
        |kp| S::add(committer, kp),
    );
    let victim = if n - 1 == 1 { 0 } else { n as u32 - 1 };
    bench(
        c,
        "remove",
        &p,
        imp,
        || (),
        |_| S::remove(committer, victim),
    );
    SIZES_OUT
        .lock()
        .unwrap()
        .insert((n, imp), S::state_size(&f.ctx, &f.receiver));
    // The receiver reads 1 KiB application messages from the committer, one per iteration
    // (protected untimed): the sender's signature check against its leaf in a group of N.
    let data = vec![0x5a; 1024];
    let receiver = &mut f.receiver;
    bench(
        c,
        "decrypt 1KiB",
        &p,
        imp,
        || S::protect(committer, &data),
        |m| S::unprotect(receiver, m),
    );
}

/// `commit`: `committer` self-updates; `process`: a fresh clone of `receiver` processes (and
/// merges) one such commit.
fn bench_commit_process<S: Side>(
    c: &mut Criterion,
    p: &str,
    committer: &mut S::Group,
    receiver: &S::Group,
) {
    bench(
        c,
        "commit",
        p,
        S::NAME,
        || (),
        |_| S::self_update(committer),
    );
    let commit = S::self_update(committer);
    bench(
        c,
        "process",
        p,
        S::NAME,
        || (receiver.clone(), commit.clone()),
        |(mut g, m)| {
            S::process(&mut g, m);
            g
        },
    );
}

/// Every member of a group of `n` commits once; then member 1 commits, member 0 processes.
fn bench_populated<S: Side>(c: &mut Criterion, n: usize) {
    let t = Instant::now();
    let mut members = S::members(n);
    for i in 0..n {
        let commit = S::commit_and_merge(&mut members[i]);
        for (j, m) in members.iter_mut().enumerate() {
            if j != i {
                S::process(m, commit.clone());
            }
        }
    }
    let p = format!("{n} populated");
    let mut committer = members.swap_remove(1);
    let receiver = members.swap_remove(0);
    bench_commit_process::<S>(c, &p, &mut committer, &receiver);
    eprintln!("[compare] {} populated N={n}: {:?}", S::TITLE, t.elapsed());
}

/// 1 KiB application messages in each suite: unprotect first (one message per iteration, in
/// order, protected untimed), then protect-only.
fn bench_app<S: Side>(c: &mut Criterion) {
    for suite in S::app_suites() {
        let p = format!("0x{suite:04x}");
        let (mut alice, mut bob) = S::app_pair(suite);
        let data = vec![0x5a; 1024];
        bench(
            c,
            "app 1KiB unprotect",
            &p,
            S::NAME,
            || S::protect(&mut alice, &data),
            |m| S::unprotect(&mut bob, m),
        );
        bench(
            c,
            "app 1KiB protect",
            &p,
            S::NAME,
            || (),
            |_| S::protect(&mut alice, &data),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Cohort

fn cohort_kp(name: &str) -> KeyPackageSecrets {
    cohort_interop::cohort_key_package(CohortSuite(SUITE), name).0
}

/// Create a group and add the members of `kps` in one commit.
fn cohort_create(
    suite: CohortSuite,
    group_id: &[u8],
    credential: &Credential,
    signer: &SignaturePrivateKey,
    kps: Vec<KeyPackage>,
) -> (CohortGroup, Option<MLSMessage>) {
    let mut g = CohortGroup::create(
        suite,
        group_id.to_vec(),
        credential.clone(),
        signer.clone(),
        GroupOptions::default(),
    )
    .unwrap();
    let out = g
        .commit(
            CohortCommitOptions {
                add: kps,
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    g.confirm_pending_commit().unwrap();
    (g, out.welcome)
}

/// A group of `n` as its creator made it, the KeyPackage secrets of members 1..`n`, and the
/// creator's identity and Welcome.
fn cohort_group(n: usize) -> (CohortGroup, Vec<KeyPackageSecrets>, CohortCtx) {
    let (_, credential, signer) = cohort_identity(CohortSuite(SUITE), "creator");
    let secrets: Vec<KeyPackageSecrets> =
        (1..n).map(|i| cohort_kp(&format!("member {i}"))).collect();
    let kps = secrets.iter().map(|s| s.key_package.clone()).collect();
    let (creator, welcome) = cohort_create(
        CohortSuite(SUITE),
        b"bench group",
        &credential,
        &signer,
        kps,
    );
    let ctx = CohortCtx {
        credential,
        signer,
        last_kp: secrets.last().unwrap().clone(),
        welcome: welcome.unwrap(),
    };
    (creator, secrets, ctx)
}

/// Commit with `options`, then discard the pending commit.
fn cohort_commit_discard(g: &mut CohortGroup, options: CohortCommitOptions) -> CohortCommitOutput {
    let out = g.commit(options, &NoPsks).unwrap();
    g.discard_pending_commit();
    out
}

struct Cohort;

struct CohortCtx {
    credential: Credential,
    signer: SignaturePrivateKey,
    /// Secrets of the last KeyPackage, for the join benchmark.
    last_kp: KeyPackageSecrets,
    welcome: MLSMessage,
}

impl Side for Cohort {
    const NAME: &'static str = "cohort";
    const TITLE: &'static str = "Cohort";
    type Group = CohortGroup;
    type Message = MLSMessage;
    type KeyPackage = KeyPackage;
    type Ctx = CohortCtx;
    type Created = (CohortGroup, Option<MLSMessage>);
    type Joined = CohortGroup;
    type CommitOut = CohortCommitOutput;
    type Received = Vec<u8>;

    fn fixture(n: usize) -> Fixture<Self> {
        let (receiver, secrets, ctx) = cohort_group(n);
        let kps = secrets.iter().map(|s| s.key_package.clone()).collect();
        let committer =
            CohortGroup::join(&ctx.welcome, &secrets[0], &NoPsks, JoinOptions::default()).unwrap();
        Fixture {
            ctx,
            kps,
            committer,
            receiver,
            extra: cohort_kp("extra").key_package,
        }
    }

    fn create(ctx: &CohortCtx, kps: Vec<KeyPackage>) -> Self::Created {
        cohort_create(
            CohortSuite(SUITE),
            b"bench group",
            &ctx.credential,
            &ctx.signer,
            kps,
        )
    }

    fn join(ctx: &CohortCtx) -> CohortGroup {
        CohortGroup::join(&ctx.welcome, &ctx.last_kp, &NoPsks, JoinOptions::default()).unwrap()
    }

    fn self_update(g: &mut CohortGroup) -> MLSMessage {
        cohort_commit_discard(g, CohortCommitOptions::default()).commit
    }

    fn add(g: &mut CohortGroup, kp: KeyPackage) -> CohortCommitOutput {
        let options = CohortCommitOptions {
            add: vec![kp],
            ..Default::default()
        };
        cohort_commit_discard(g, options)
    }

    fn remove(g: &mut CohortGroup, leaf: u32) -> CohortCommitOutput {
        let options = CohortCommitOptions {
            remove: vec![leaf],
            ..Default::default()
        };
        cohort_commit_discard(g, options)
    }

    fn process(g: &mut CohortGroup, m: MLSMessage) {
        match g.process_message(m, &NoPsks).unwrap() {
            CohortReceived::Commit(staged) => g.merge_staged_commit(*staged).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    fn state_size(_ctx: &CohortCtx, g: &CohortGroup) -> SizeEntry {
        (g.to_bytes().len(), "Cohort Group::to_bytes().len()")
    }

    fn members(n: usize) -> Vec<CohortGroup> {
        let (creator, secrets, ctx) = cohort_group(n);
        let mut members = vec![creator];
        for s in &secrets {
            members
                .push(CohortGroup::join(&ctx.welcome, s, &NoPsks, JoinOptions::default()).unwrap());
        }
        members
    }

    fn commit_and_merge(g: &mut CohortGroup) -> MLSMessage {
        let out = g.commit(CohortCommitOptions::default(), &NoPsks).unwrap();
        g.confirm_pending_commit().unwrap();
        out.commit
    }

    fn app_suites() -> Vec<u16> {
        CohortSuite::ALL.iter().map(|s| s.0).collect()
    }

    fn app_pair(suite: u16) -> (CohortGroup, CohortGroup) {
        let suite = CohortSuite(suite);
        let (_, credential, signer) = cohort_identity(suite, "alice");
        let bob_kp = cohort_interop::cohort_key_package(suite, "bob").0;
        let kps = vec![bob_kp.key_package.clone()];
        let (alice, welcome) = cohort_create(suite, b"app", &credential, &signer, kps);
        let bob =
            CohortGroup::join(&welcome.unwrap(), &bob_kp, &NoPsks, JoinOptions::default()).unwrap();
        (alice, bob)
    }

    fn protect(g: &mut CohortGroup, data: &[u8]) -> MLSMessage {
        g.send_application(data, b"").unwrap()
    }

    fn unprotect(g: &mut CohortGroup, m: MLSMessage) -> Vec<u8> {
        match g.process_message(m, &NoPsks).unwrap() {
            CohortReceived::Application { data, .. } => data,
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// mls-rs

/// The configuration `mls_client` builds (the builder's defaults are the in-memory storages and
/// `DefaultMlsRules`).
type MlsRsConfig =
    WithIdentityProvider<BasicIdentityProvider, WithCryptoProvider<RustCryptoProvider, BaseConfig>>;
type MlsRsGroup = mls_rs::Group<MlsRsConfig>;

fn mls_client(suite: u16, name: &str, kp_store: InMemoryKeyPackageStorage) -> Client<MlsRsConfig> {
    let suite = CipherSuite::new(suite);
    let crypto = RustCryptoProvider::new();
    let cs = crypto.cipher_suite_provider(suite).unwrap();
    let (secret, public) = cs.signature_key_generate().unwrap();
    let identity = SigningIdentity::new(
        BasicCredential::new(name.as_bytes().to_vec()).into_credential(),
        public,
    );
    let rules = DefaultMlsRules::new()
        .with_commit_options(
            CommitOptions::new()
                .with_path_required(true)
                .with_ratchet_tree_extension(true)
                .with_single_welcome_message(true),
        )
        .with_encryption_options(EncryptionOptions::new(false, PaddingMode::None));
    Client::builder()
        .crypto_provider(crypto)
        .identity_provider(BasicIdentityProvider::new())
        .key_package_repo(kp_store)
        .mls_rules(rules)
        .signing_identity(identity, secret, suite)
        .build()
}

fn mls_kp(client: &Client<MlsRsConfig>) -> MlsMessage {
    client
        .generate_key_package_message(Default::default(), Default::default(), None)
        .unwrap()
}

fn mls_create(client: &Client<MlsRsConfig>, kps: Vec<MlsMessage>) -> (MlsRsGroup, MlsMessage) {
    let mut g = client
        .create_group(Default::default(), Default::default(), None)
        .unwrap();
    let mut b = g.commit_builder();
    for kp in kps {
        b = b.add_member(kp).unwrap();
    }
    let out = b.build().unwrap();
    g.apply_pending_commit().unwrap();
    let welcome = out.welcome_messages.into_iter().next().unwrap();
    (g, welcome)
}

struct MlsRs;

struct MlsRsCtx {
    creator: Client<MlsRsConfig>,
    /// The joiner of the join benchmark: the last member (the committer when N = 2).
    join_client: Client<MlsRsConfig>,
    /// Its KeyPackage secrets are erased on join, so they are put back before each join.
    join_store: InMemoryKeyPackageStorage,
    join_kp_data: Vec<(Vec<u8>, KeyPackageData)>,
    welcome: MlsMessage,
}

impl Side for MlsRs {
    const NAME: &'static str = "mls-rs";
    const TITLE: &'static str = "mls-rs";
    type Group = MlsRsGroup;
    type Message = MlsMessage;
    type KeyPackage = MlsMessage;
    type Ctx = MlsRsCtx;
    type Created = (MlsRsGroup, MlsMessage);
    type Joined = (MlsRsGroup, NewMemberInfo);
    type CommitOut = MlsRsCommitOutput;
    type Received = MlsRsReceived;

    fn fixture(n: usize) -> Fixture<Self> {
        let creator = mls_client(SUITE, "creator", InMemoryKeyPackageStorage::new());
        let committer_store = InMemoryKeyPackageStorage::new();
        let committer_client = mls_client(SUITE, "member 1", committer_store.clone());
        let last_store = InMemoryKeyPackageStorage::new();
        let last_client = mls_client(SUITE, &format!("member {}", n - 1), last_store.clone());
        let mut kps = vec![mls_kp(&committer_client)];
        for i in 2..n.saturating_sub(1) {
            let other = mls_client(
                SUITE,
                &format!("member {i}"),
                InMemoryKeyPackageStorage::new(),
            );
            kps.push(mls_kp(&other));
        }
        if n > 2 {
            kps.push(mls_kp(&last_client));
        }
        let (join_client, join_store) = if n > 2 {
            (last_client, last_store)
        } else {
            (committer_client.clone(), committer_store)
        };
        // Taken before the committer joins: when N = 2 that join erases them.
        let join_kp_data = join_store.key_packages();
        let (receiver, welcome) = mls_create(&creator, kps.clone());
        let (committer, _) = committer_client.join_group(None, &welcome, None).unwrap();
        let extra = mls_kp(&mls_client(
            SUITE,
            "extra",
            InMemoryKeyPackageStorage::new(),
        ));
        Fixture {
            ctx: MlsRsCtx {
                creator,
                join_client,
                join_store,
                join_kp_data,
                welcome,
            },
            kps,
            committer,
            receiver,
            extra,
        }
    }

    fn create(ctx: &MlsRsCtx, kps: Vec<MlsMessage>) -> Self::Created {
        mls_create(&ctx.creator, kps)
    }

    fn join_setup(ctx: &MlsRsCtx) {
        for (id, data) in &ctx.join_kp_data {
            ctx.join_store.insert(id.clone(), data.clone());
        }
    }

    fn join(ctx: &MlsRsCtx) -> Self::Joined {
        ctx.join_client
            .join_group(None, &ctx.welcome, None)
            .unwrap()
    }

    fn self_update(g: &mut MlsRsGroup) -> MlsMessage {
        let out = g.commit(Vec::new()).unwrap();
        g.clear_pending_commit();
        out.commit_message
    }

    fn add(g: &mut MlsRsGroup, kp: MlsMessage) -> MlsRsCommitOutput {
        let out = g.commit_builder().add_member(kp).unwrap().build().unwrap();
        g.clear_pending_commit();
        out
    }

    fn remove(g: &mut MlsRsGroup, leaf: u32) -> MlsRsCommitOutput {
        let out = g
            .commit_builder()
            .remove_member(leaf)
            .unwrap()
            .build()
            .unwrap();
        g.clear_pending_commit();
        out
    }

    fn process(g: &mut MlsRsGroup, m: MlsMessage) {
        g.process_incoming_message(m).unwrap();
    }

    fn state_size(ctx: &MlsRsCtx, g: &MlsRsGroup) -> SizeEntry {
        let mut r = g.clone();
        r.write_to_storage().unwrap();
        let size = ctx
            .creator
            .group_state_storage()
            .state(r.group_id())
            .unwrap()
            .map(|s| s.len())
            .unwrap_or(0);
        (
            size,
            "mls-rs GroupStateStorage::state(group_id) after write_to_storage()",
        )
    }

    fn members(n: usize) -> Vec<MlsRsGroup> {
        let clients: Vec<_> = (0..n)
            .map(|i| {
                mls_client(
                    SUITE,
                    &format!("member {i}"),
                    InMemoryKeyPackageStorage::new(),
                )
            })
            .collect();
        let kps: Vec<MlsMessage> = clients[1..].iter().map(mls_kp).collect();
        let (creator, welcome) = mls_create(&clients[0], kps);
        let mut members = vec![creator];
        for c in &clients[1..] {
            members.push(c.join_group(None, &welcome, None).unwrap().0);
        }
        members
    }

    fn commit_and_merge(g: &mut MlsRsGroup) -> MlsMessage {
        let out = g.commit(Vec::new()).unwrap();
        g.apply_pending_commit().unwrap();
        out.commit_message
    }

    fn app_suites() -> Vec<u16> {
        RustCryptoProvider::all_supported_cipher_suites()
            .into_iter()
            .map(|s| s.raw_value())
            .collect()
    }

    fn app_pair(suite: u16) -> (MlsRsGroup, MlsRsGroup) {
        let alice_client = mls_client(suite, "alice", InMemoryKeyPackageStorage::new());
        let bob_client = mls_client(suite, "bob", InMemoryKeyPackageStorage::new());
        let (alice, welcome) = mls_create(&alice_client, vec![mls_kp(&bob_client)]);
        let (bob, _) = bob_client.join_group(None, &welcome, None).unwrap();
        (alice, bob)
    }

    fn protect(g: &mut MlsRsGroup, data: &[u8]) -> MlsMessage {
        g.encrypt_application_message(data, Vec::new()).unwrap()
    }

    fn unprotect(g: &mut MlsRsGroup, m: MlsMessage) -> MlsRsReceived {
        g.process_incoming_message(m).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// Report

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn fmt_time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

fn print_table() {
    let results = RESULTS.lock().unwrap();
    let mut rows: BTreeMap<(String, String), (Option<f64>, Option<f64>)> = BTreeMap::new();
    for ((op, param, imp), samples) in results.iter() {
        let row = rows.entry((op.clone(), param.clone())).or_default();
        let m = median(samples);
        if *imp == "cohort" {
            row.0 = Some(m);
        } else {
            row.1 = Some(m);
        }
    }
    let order = |op: &str| match op {
        "create" => 0,
        "join" => 1,
        "commit" => 2,
        "process" => 3,
        "add" => 4,
        "remove" => 5,
        "app 1KiB protect" => 6,
        _ => 7,
    };
    let key = |param: &str| {
        let num: String = param
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == 'x')
            .collect();
        (
            usize::from_str_radix(
                num.trim_start_matches("0x"),
                if num.starts_with("0x") { 16 } else { 10 },
            )
            .unwrap_or(0),
            param.to_string(),
        )
    };
    let mut rows: Vec<_> = rows.into_iter().collect();
    rows.sort_by_key(|((op, param), _)| (order(op), key(param)));
    println!();
    println!(
        "Cohort vs mls-rs 0.57 (RustCrypto), suite 0x0001 unless noted; median of per-sample means"
    );
    println!("| operation | N / suite | Cohort | mls-rs | mls-rs / Cohort |");
    println!("|---|---|---:|---:|---:|");
    for ((op, param), (a, b)) in rows {
        let ratio = match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}×", b / a),
            _ => "–".into(),
        };
        println!(
            "| {op} | {param} | {} | {} | {ratio} |",
            a.map(fmt_time).unwrap_or("–".into()),
            b.map(fmt_time).unwrap_or("–".into())
        );
    }
    println!();
    println!("Group state of one member (bytes; bytes per member of the group)");
    println!("| N | Cohort | mls-rs | mls-rs / Cohort |");
    println!("|---:|---:|---:|---:|");
    let sizes = SIZES_OUT.lock().unwrap();
    let mut how = Vec::new();
    for n in SIZES {
        let a = sizes.get(&(n, "cohort"));
        let b = sizes.get(&(n, "mls-rs"));
        if a.is_none() && b.is_none() {
            continue;
        }
        for (x, _) in [a, b].into_iter().flatten().map(|x| (x, ())) {
            if !how.contains(&x.1) {
                how.push(x.1);
            }
        }
        let f = |x: Option<&(usize, &str)>| {
            x.map(|(s, _)| format!("{s} ({} /member)", s / n))
                .unwrap_or("–".into())
        };
        let ratio = match (a, b) {
            (Some(a), Some(b)) if a.0 > 0 => format!("{:.2}×", b.0 as f64 / a.0 as f64),
            _ => "–".into(),
        };
        println!("| {n} | {} | {} | {ratio} |", f(a), f(b));
    }
    println!("Measured with: {}", how.join("; "));
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let max_n = env_usize("COMPARE_MAX_N", 4096);
    let mls_max_n = env_usize("COMPARE_MLS_RS_MAX_N", max_n);
    let started = Instant::now();
    for n in SIZES.into_iter().filter(|&n| n <= max_n) {
        bench_size::<Cohort>(&mut c, n);
        if n <= mls_max_n {
            bench_size::<MlsRs>(&mut c, n);
        }
        if n == POPULATED_N {
            bench_populated::<Cohort>(&mut c, n);
            bench_populated::<MlsRs>(&mut c, n);
        }
        eprintln!("[compare] N={n} done at {:?}", started.elapsed());
    }
    bench_app::<Cohort>(&mut c);
    bench_app::<MlsRs>(&mut c);
    c.final_summary();
    print_table();
    eprintln!("[compare] total {:?}", started.elapsed());
}
