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
//! * for N = 128 also `commit` and `process` on a populated tree, after every member has
//!   committed once.
//!
//! Then 1 KiB application messages: protect and unprotect, Cohort for all 7 suites, mls-rs for
//! the suites its RustCrypto provider has (1, 2, 3, 7). Finally the size of one member's group
//! state (Cohort: `Group::to_bytes()`; mls-rs: the bytes its `GroupStateStorage` receives). A
//! table with both figures and the ratio (mls-rs time / Cohort time: above 1 means Cohort is
//! faster) is printed at the end, from the same samples criterion reports.
//!
//! Run: `cargo bench -p cohort-interop --bench compare` (about 7 minutes on two busy cores,
//! most of it N = 4096 and the populated N = 128 set-up). `COMPARE_MAX_N` caps N (default
//! 4096); `COMPARE_MLS_RS_MAX_N` caps N for mls-rs alone. Each operation gets 10 samples over
//! about 2 s: on a shared machine single figures move by ±30 %, so compare trends, not digits.

use cohort::crypto::{CipherSuite as CohortSuite, SignaturePrivateKey};
use cohort::framing::MLSMessage;
use cohort::group::{
    CommitOptions as CohortCommitOptions, Group as CohortGroup, GroupOptions, JoinOptions,
    KeyPackageSecrets, NoPsks, ReceivedMessage as CohortReceived,
};
use cohort::messages::{Credential, KeyPackage};
use cohort_interop::cohort_identity;
use criterion::{BenchmarkId, Criterion};
use mls_rs::client_builder::{MlsConfig, PaddingMode};
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
use mls_rs::storage_provider::in_memory::InMemoryKeyPackageStorage;
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
// Cohort

fn cohort_kp(name: &str) -> KeyPackageSecrets {
    cohort_interop::cohort_key_package(CohortSuite(SUITE), name).0
}

struct CohortFixture {
    n: usize,
    credential: Credential,
    signer: SignaturePrivateKey,
    /// KeyPackages of members 1..N, in leaf order.
    kps: Vec<KeyPackage>,
    /// Secrets of the last KeyPackage, for the join benchmark.
    last_kp: KeyPackageSecrets,
    welcome: MLSMessage,
    /// Leaf 1, joined by Welcome: the committer.
    committer: CohortGroup,
    /// Leaf 0, the creator: the receiver.
    receiver: CohortGroup,
    extra: KeyPackage,
}

fn cohort_create(
    credential: &Credential,
    signer: &SignaturePrivateKey,
    kps: Vec<KeyPackage>,
) -> (CohortGroup, Option<MLSMessage>) {
    let mut g = CohortGroup::create(
        CohortSuite(SUITE),
        b"bench group".to_vec(),
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

fn cohort_fixture(n: usize) -> CohortFixture {
    let (_, credential, signer) = cohort_identity(CohortSuite(SUITE), "creator");
    let secrets: Vec<KeyPackageSecrets> =
        (1..n).map(|i| cohort_kp(&format!("member {i}"))).collect();
    let kps: Vec<KeyPackage> = secrets.iter().map(|s| s.key_package.clone()).collect();
    let (receiver, welcome) = cohort_create(&credential, &signer, kps.clone());
    let welcome = welcome.unwrap();
    let committer =
        CohortGroup::join(&welcome, &secrets[0], &NoPsks, JoinOptions::default()).unwrap();
    CohortFixture {
        n,
        credential,
        signer,
        kps,
        last_kp: secrets.last().unwrap().clone(),
        welcome,
        committer,
        receiver,
        extra: cohort_kp("extra").key_package,
    }
}

fn cohort_self_update(g: &mut CohortGroup) -> MLSMessage {
    let out = g.commit(CohortCommitOptions::default(), &NoPsks).unwrap();
    g.discard_pending_commit();
    out.commit
}

fn cohort_process(g: &mut CohortGroup, msg: MLSMessage) {
    match g.process_message(msg, &NoPsks).unwrap() {
        CohortReceived::Commit(staged) => g.merge_staged_commit(*staged).unwrap(),
        other => panic!("{other:?}"),
    }
}

fn cohort_state_size(g: &CohortGroup) -> (usize, &'static str) {
    (g.to_bytes().len(), "Cohort Group::to_bytes().len()")
}

fn bench_cohort_size(c: &mut Criterion, f: &mut CohortFixture) {
    let n = f.n;
    let p = n.to_string();
    let imp = "cohort";
    bench(
        c,
        "create",
        &p,
        imp,
        || f.kps.clone(),
        |kps| cohort_create(&f.credential, &f.signer, kps),
    );
    bench(
        c,
        "join",
        &p,
        imp,
        || (),
        |_| CohortGroup::join(&f.welcome, &f.last_kp, &NoPsks, JoinOptions::default()).unwrap(),
    );
    let committer = &mut f.committer;
    bench(
        c,
        "commit",
        &p,
        imp,
        || (),
        |_| cohort_self_update(committer),
    );
    let commit = cohort_self_update(committer);
    let receiver = &f.receiver;
    bench(
        c,
        "process",
        &p,
        imp,
        || (receiver.clone(), commit.clone()),
        |(mut g, m)| {
            cohort_process(&mut g, m);
            g
        },
    );
    let extra = f.extra.clone();
    bench(
        c,
        "add",
        &p,
        imp,
        || extra.clone(),
        |kp| {
            let out = committer
                .commit(
                    CohortCommitOptions {
                        add: vec![kp],
                        ..Default::default()
                    },
                    &NoPsks,
                )
                .unwrap();
            committer.discard_pending_commit();
            out
        },
    );
    let victim = if n - 1 == 1 { 0 } else { n as u32 - 1 };
    bench(
        c,
        "remove",
        &p,
        imp,
        || (),
        |_| {
            let out = committer
                .commit(
                    CohortCommitOptions {
                        remove: vec![victim],
                        ..Default::default()
                    },
                    &NoPsks,
                )
                .unwrap();
            committer.discard_pending_commit();
            out
        },
    );
    SIZES_OUT
        .lock()
        .unwrap()
        .insert((n, imp), cohort_state_size(&f.receiver));
}

/// Every member of a group of `n` commits once; then member 1 commits, member 0 processes.
fn bench_cohort_populated(c: &mut Criterion, n: usize) {
    let (_, credential, signer) = cohort_identity(CohortSuite(SUITE), "creator");
    let secrets: Vec<KeyPackageSecrets> =
        (1..n).map(|i| cohort_kp(&format!("member {i}"))).collect();
    let (creator, welcome) = cohort_create(
        &credential,
        &signer,
        secrets.iter().map(|s| s.key_package.clone()).collect(),
    );
    let welcome = welcome.unwrap();
    let mut members = vec![creator];
    for s in &secrets {
        members.push(CohortGroup::join(&welcome, s, &NoPsks, JoinOptions::default()).unwrap());
    }
    for i in 0..n {
        let out = members[i]
            .commit(CohortCommitOptions::default(), &NoPsks)
            .unwrap();
        members[i].confirm_pending_commit().unwrap();
        for (j, m) in members.iter_mut().enumerate() {
            if j != i {
                cohort_process(m, out.commit.clone());
            }
        }
    }
    let p = format!("{n} populated");
    let mut committer = members.swap_remove(1);
    let receiver = members.swap_remove(0);
    bench(
        c,
        "commit",
        &p,
        "cohort",
        || (),
        |_| cohort_self_update(&mut committer),
    );
    let commit = cohort_self_update(&mut committer);
    bench(
        c,
        "process",
        &p,
        "cohort",
        || (receiver.clone(), commit.clone()),
        |(mut g, m)| {
            cohort_process(&mut g, m);
            g
        },
    );
}

fn bench_cohort_app(c: &mut Criterion) {
    for suite in CohortSuite::ALL {
        let p = format!("0x{:04x}", suite.0);
        let (_, credential, signer) = cohort_identity(suite, "alice");
        let bob_kp = cohort_interop::cohort_key_package(suite, "bob").0;
        let mut alice = CohortGroup::create(
            suite,
            b"app".to_vec(),
            credential,
            signer,
            GroupOptions::default(),
        )
        .unwrap();
        let out = alice
            .commit(
                CohortCommitOptions {
                    add: vec![bob_kp.key_package.clone()],
                    ..Default::default()
                },
                &NoPsks,
            )
            .unwrap();
        alice.confirm_pending_commit().unwrap();
        let mut bob = CohortGroup::join(
            &out.welcome.unwrap(),
            &bob_kp,
            &NoPsks,
            JoinOptions::default(),
        )
        .unwrap();
        let data = vec![0x5a; 1024];
        // Unprotect first (one message per iteration, in order), then protect-only.
        let alice_ref = &mut alice;
        bench(
            c,
            "app 1KiB unprotect",
            &p,
            "cohort",
            || alice_ref.send_application(&data, b"").unwrap(),
            |m| match bob.process_message(m, &NoPsks).unwrap() {
                CohortReceived::Application { data, .. } => data,
                other => panic!("{other:?}"),
            },
        );
        bench(
            c,
            "app 1KiB protect",
            &p,
            "cohort",
            || (),
            |_| alice.send_application(&data, b"").unwrap(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// mls-rs

fn mls_client(
    suite: u16,
    name: &str,
    kp_store: InMemoryKeyPackageStorage,
) -> Client<impl MlsConfig> {
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

fn mls_kp<C: MlsConfig>(client: &Client<C>) -> MlsMessage {
    client
        .generate_key_package_message(Default::default(), Default::default(), None)
        .unwrap()
}

fn mls_create<C: MlsConfig>(
    client: &Client<C>,
    kps: Vec<MlsMessage>,
) -> (mls_rs::Group<C>, MlsMessage) {
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

fn mls_self_update<C: MlsConfig>(g: &mut mls_rs::Group<C>) -> MlsMessage {
    let out = g.commit(Vec::new()).unwrap();
    g.clear_pending_commit();
    out.commit_message
}

fn bench_mls_size(c: &mut Criterion, n: usize) {
    let imp = "mls-rs";
    let p = n.to_string();
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
    // The joiner of the join benchmark is the last member (the committer when N = 2); its
    // KeyPackage secrets are erased on join, so they are put back before each join.
    let (join_client, join_store) = if n > 2 {
        (&last_client, &last_store)
    } else {
        (&committer_client, &committer_store)
    };
    let join_kp_data = join_store.key_packages();
    let (receiver, welcome) = mls_create(&creator, kps.clone());
    let (mut committer, _) = committer_client.join_group(None, &welcome, None).unwrap();
    let extra = mls_kp(&mls_client(
        SUITE,
        "extra",
        InMemoryKeyPackageStorage::new(),
    ));

    bench(
        c,
        "create",
        &p,
        imp,
        || kps.clone(),
        |kps| mls_create(&creator, kps),
    );
    bench(
        c,
        "join",
        &p,
        imp,
        || {
            for (id, data) in &join_kp_data {
                join_store.insert(id.clone(), data.clone());
            }
        },
        |_| join_client.join_group(None, &welcome, None).unwrap(),
    );
    bench(
        c,
        "commit",
        &p,
        imp,
        || (),
        |_| mls_self_update(&mut committer),
    );
    let commit = mls_self_update(&mut committer);
    bench(
        c,
        "process",
        &p,
        imp,
        || (receiver.clone(), commit.clone()),
        |(mut g, m)| {
            g.process_incoming_message(m).unwrap();
            g
        },
    );
    bench(
        c,
        "add",
        &p,
        imp,
        || extra.clone(),
        |kp| {
            let out = committer
                .commit_builder()
                .add_member(kp)
                .unwrap()
                .build()
                .unwrap();
            committer.clear_pending_commit();
            out
        },
    );
    let victim = if n - 1 == 1 { 0 } else { n as u32 - 1 };
    bench(
        c,
        "remove",
        &p,
        imp,
        || (),
        |_| {
            let out = committer
                .commit_builder()
                .remove_member(victim)
                .unwrap()
                .build()
                .unwrap();
            committer.clear_pending_commit();
            out
        },
    );
    let mut r = receiver.clone();
    r.write_to_storage().unwrap();
    let size = creator
        .group_state_storage()
        .state(r.group_id())
        .unwrap()
        .map(|s| s.len())
        .unwrap_or(0);
    SIZES_OUT.lock().unwrap().insert(
        (n, imp),
        (
            size,
            "mls-rs GroupStateStorage::state(group_id) after write_to_storage()",
        ),
    );
}

fn bench_mls_populated(c: &mut Criterion, n: usize) {
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
    for i in 0..n {
        let out = members[i].commit(Vec::new()).unwrap();
        members[i].apply_pending_commit().unwrap();
        for (j, m) in members.iter_mut().enumerate() {
            if j != i {
                m.process_incoming_message(out.commit_message.clone())
                    .unwrap();
            }
        }
    }
    let p = format!("{n} populated");
    let mut committer = members.swap_remove(1);
    let receiver = members.swap_remove(0);
    bench(
        c,
        "commit",
        &p,
        "mls-rs",
        || (),
        |_| mls_self_update(&mut committer),
    );
    let commit = mls_self_update(&mut committer);
    bench(
        c,
        "process",
        &p,
        "mls-rs",
        || (receiver.clone(), commit.clone()),
        |(mut g, m)| {
            g.process_incoming_message(m).unwrap();
            g
        },
    );
}

fn bench_mls_app(c: &mut Criterion) {
    for suite in RustCryptoProvider::all_supported_cipher_suites() {
        let p = format!("0x{:04x}", suite.raw_value());
        let alice_client = mls_client(suite.raw_value(), "alice", InMemoryKeyPackageStorage::new());
        let bob_client = mls_client(suite.raw_value(), "bob", InMemoryKeyPackageStorage::new());
        let (mut alice, welcome) = mls_create(&alice_client, vec![mls_kp(&bob_client)]);
        let (mut bob, _) = bob_client.join_group(None, &welcome, None).unwrap();
        let data = vec![0x5a; 1024];
        let alice_ref = &mut alice;
        bench(
            c,
            "app 1KiB unprotect",
            &p,
            "mls-rs",
            || {
                alice_ref
                    .encrypt_application_message(&data, Vec::new())
                    .unwrap()
            },
            |m| bob.process_incoming_message(m).unwrap(),
        );
        bench(
            c,
            "app 1KiB protect",
            &p,
            "mls-rs",
            || (),
            |_| {
                alice
                    .encrypt_application_message(&data, Vec::new())
                    .unwrap()
            },
        );
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
        let t = Instant::now();
        let mut f = cohort_fixture(n);
        eprintln!("[compare] Cohort fixture N={n}: {:?}", t.elapsed());
        bench_cohort_size(&mut c, &mut f);
        drop(f);
        if n <= mls_max_n {
            bench_mls_size(&mut c, n);
        }
        if n == POPULATED_N {
            let t = Instant::now();
            bench_cohort_populated(&mut c, n);
            eprintln!("[compare] Cohort populated N={n}: {:?}", t.elapsed());
            let t = Instant::now();
            bench_mls_populated(&mut c, n);
            eprintln!("[compare] mls-rs populated N={n}: {:?}", t.elapsed());
        }
        eprintln!("[compare] N={n} done at {:?}", started.elapsed());
    }
    bench_cohort_app(&mut c);
    bench_mls_app(&mut c);
    c.final_summary();
    print_table();
    eprintln!("[compare] total {:?}", started.elapsed());
}
