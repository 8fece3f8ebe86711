//! Cohort's group operations at one size, timed once each, for profiling (callgrind, perf)
//! without criterion's repetitions: `cargo run --release -p cohort-interop --example
//! cohort_ops -- N [op...]`, ops among create, join, commit, process, app, add
//! (default: all). Figures for comparison belong to `benches/compare.rs`.

use cohort::crypto::CipherSuite;
use cohort::group::{
    CommitOptions, Group, GroupOptions, JoinOptions, KeyPackageSecrets, NoPsks, ReceivedMessage,
};
use cohort_interop::{cohort_identity, cohort_key_package};
use std::time::Instant;

const SUITE: CipherSuite = CipherSuite(0x0001);

fn process(g: &mut Group, msg: cohort::framing::MLSMessage) {
    match g.process_message(msg, &NoPsks).expect("process") {
        ReceivedMessage::Commit(staged) => g.merge_staged_commit(*staged).expect("merge"),
        other => panic!("{other:?}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let ops: Vec<String> = args.collect();
    let want = |op: &str| ops.is_empty() || ops.iter().any(|o| o == op);

    let (_, credential, signer) = cohort_identity(SUITE, "creator");
    let secrets: Vec<KeyPackageSecrets> = (1..n)
        .map(|i| cohort_key_package(SUITE, &format!("member {i}")).0)
        .collect();
    let kps: Vec<_> = secrets.iter().map(|s| s.key_package.clone()).collect();

    let t = Instant::now();
    let mut creator = Group::create(
        SUITE,
        b"ops group".to_vec(),
        credential,
        signer,
        GroupOptions::default(),
    )
    .expect("create");
    let out = creator
        .commit(
            CommitOptions {
                add: kps,
                ..Default::default()
            },
            &NoPsks,
        )
        .expect("commit adds");
    creator.confirm_pending_commit().expect("confirm");
    if want("create") {
        println!("create N={n}: {:.2?}", t.elapsed());
    }
    let welcome = out.welcome.expect("welcome");

    let t = Instant::now();
    let mut member =
        Group::join(&welcome, &secrets[0], &NoPsks, JoinOptions::default()).expect("join");
    if want("join") {
        println!("join N={n}: {:.2?}", t.elapsed());
    }

    let t = Instant::now();
    let out = member
        .commit(CommitOptions::default(), &NoPsks)
        .expect("self-update");
    if want("commit") {
        println!("self-update commit N={n}: {:.2?}", t.elapsed());
    }
    let t = Instant::now();
    process(&mut creator, out.commit);
    if want("process") {
        println!("process commit N={n}: {:.2?}", t.elapsed());
    }
    member.confirm_pending_commit().expect("confirm");

    if want("app") {
        let payload = vec![0x5a; 1024];
        let rounds = 200u32;
        let mut sent = Vec::new();
        let t = Instant::now();
        for _ in 0..rounds {
            sent.push(member.send_application(&payload, b"").expect("send"));
        }
        println!("app 1KiB protect N={n}: {:.2?}", t.elapsed() / rounds);
        let t = Instant::now();
        for m in sent {
            creator.process_message(m, &NoPsks).expect("receive");
        }
        println!("app 1KiB unprotect N={n}: {:.2?}", t.elapsed() / rounds);
    }
    if want("add") {
        let extra = cohort_key_package(SUITE, "extra").0.key_package;
        let t = Instant::now();
        member
            .commit(
                CommitOptions {
                    add: vec![extra],
                    ..Default::default()
                },
                &NoPsks,
            )
            .expect("add");
        println!("add one N={n}: {:.2?}", t.elapsed());
        member.discard_pending_commit();
    }
}
