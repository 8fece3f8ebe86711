//! Sizes and times of whole-group operations: suite 1 against the experimental post-quantum
//! suites (X-Wing, ML-KEM-768+P-256, X-Wing with ML-DSA-44), printed as the README's table.
//!
//! Not criterion: one row costs seconds at N = 1024 (a thousand KeyPackages to make and
//! check), so each timed operation runs a few times and the median is printed. Sizes are
//! the encoded MLSMessages. The creator's commit adds N-1 members at once (Welcome with the
//! ratchet tree extension, as the default config sends); the self-update is a full-path
//! commit by the creator in the resulting tree, processed by the last member.
//!
//! `cargo bench --bench pq_suites` (`COHORT_PQ_SIZES=2,128` to limit the group sizes).

use cohort::codec::Encode;
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::MLSMessage;
use cohort::group::{
    CommitOptions, Group, GroupOptions, JoinOptions, KeyPackageOptions, KeyPackageSecrets, NoPsks,
    ReceivedMessage,
};
use cohort::messages::Credential;
use std::time::{Duration, Instant};

const SUITES: [CipherSuite; 4] = [
    CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519,
    CipherSuite::MLS_256_XWING_CHACHA20POLY1305_SHA256_ED25519,
    CipherSuite::MLS_128_MLKEM768P256_AES128GCM_SHA256_P256,
    CipherSuite::MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44,
];

fn key_package(suite: &Suite, i: usize) -> KeyPackageSecrets {
    let signer = suite.generate_signature_key_pair().expect("rng");
    let cred = Credential::basic(format!("member {i}").into_bytes());
    KeyPackageSecrets::generate(suite, cred, &signer, &KeyPackageOptions::default())
        .expect("key package")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn kib(n: usize) -> String {
    format!("{:.1}", n as f64 / 1024.0)
}

/// One group of `n` in `suite`: sizes and times.
struct Row {
    kp: usize,
    welcome: usize,
    add_commit: usize,
    update_commit: usize,
    create_add: Duration,
    join: Duration,
    update: Duration,
    process: Duration,
    app: Duration,
}

fn row(suite: Suite, n: usize) -> Row {
    let runs = if n >= 1024 { 1 } else { 3 };
    let mut create_add = Vec::new();
    let mut join = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let kps: Vec<_> = (1..n).map(|i| key_package(&suite, i)).collect();
        let signer = suite.generate_signature_key_pair().expect("rng");
        let t = Instant::now();
        let mut creator = Group::create(
            suite,
            b"pq bench".to_vec(),
            Credential::basic(b"creator".to_vec()),
            signer,
            GroupOptions::default(),
        )
        .expect("create");
        let add = CommitOptions {
            add: kps.iter().map(|k| k.key_package.clone()).collect(),
            ..Default::default()
        };
        let out = creator.commit(add, &NoPsks).expect("add");
        creator.confirm_pending_commit().expect("confirm");
        create_add.push(t.elapsed());
        let welcome = out.welcome.expect("welcome");
        let newest = kps.last().expect("n >= 2");
        let t = Instant::now();
        let joined = Group::join(&welcome, newest, &NoPsks, JoinOptions::default()).expect("join");
        join.push(t.elapsed());
        last = Some((creator, joined, welcome, out.commit, kps));
    }
    let (mut creator, mut joined, welcome, add_commit, kps) = last.expect("one run");

    let (mut update, mut process) = (Vec::new(), Vec::new());
    let mut update_commit = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let options = CommitOptions {
            force_path: true,
            ..Default::default()
        };
        let out = creator.commit(options, &NoPsks).expect("update");
        creator.confirm_pending_commit().expect("confirm");
        update.push(t.elapsed());
        update_commit = out.commit.to_bytes().len();
        let t = Instant::now();
        match joined
            .process_message(out.commit, &NoPsks)
            .expect("process")
        {
            ReceivedMessage::Commit(staged) => joined.merge_staged_commit(*staged).expect("merge"),
            _ => panic!("expected a commit"),
        }
        process.push(t.elapsed());
    }

    let mut app = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let msg: MLSMessage = creator.send_application(&[0x5a; 1024], b"").expect("send");
        joined.process_message(msg, &NoPsks).expect("receive");
        app.push(t.elapsed());
    }

    let kp_bytes = MLSMessage::new(cohort::framing::MLSMessageBody::KeyPackage(Box::new(
        kps[0].key_package.clone(),
    )))
    .to_bytes()
    .len();
    Row {
        kp: kp_bytes,
        welcome: welcome.to_bytes().len(),
        add_commit: add_commit.to_bytes().len(),
        update_commit,
        create_add: median(create_add),
        join: median(join),
        update: median(update),
        process: median(process),
        app: median(app),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters nothing here.
    let sizes: Vec<usize> = std::env::var("COHORT_PQ_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![2, 128, 1024]);
    println!(
        "| suite | N | KeyPackage KiB | Welcome KiB | add commit KiB | update commit KiB \
         | create+add ms | join ms | self-update ms | process ms | app 1 KiB protect+unprotect ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for id in SUITES {
        let suite = Suite::new(id).expect("suite");
        for &n in &sizes {
            let r = row(suite, n.max(2));
            println!(
                "| 0x{:04x} {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                id.0,
                id.name().unwrap_or("?"),
                n,
                kib(r.kp),
                kib(r.welcome),
                kib(r.add_commit),
                kib(r.update_commit),
                ms(r.create_add),
                ms(r.join),
                ms(r.update),
                ms(r.process),
                ms(r.app),
            );
        }
    }
}
