//! One epoch of the key schedule (RFC 9420 §8) per cipher suite: `joiner_secret` from the
//! previous `init_secret` and a `commit_secret`, then every epoch-derived secret.

use cohort::codec::{Bytes, Encode};
use cohort::crypto::{CipherSuite, Suite};
use cohort::messages::{Extensions, GroupContext, ProtocolVersion};
use cohort::schedule::JoinerSecret;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;

fn key_schedule(c: &mut Criterion) {
    let mut group = c.benchmark_group("key_schedule_epoch");
    for id in 1..=7u16 {
        let suite = Suite::new(CipherSuite(id)).expect("suite 1..=7");
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(id),
            group_id: Bytes(vec![7; 16]),
            epoch: 42,
            tree_hash: Bytes(vec![1; suite.hash_len()]),
            confirmed_transcript_hash: Bytes(vec![2; suite.hash_len()]),
            extensions: Extensions::new(),
        }
        .to_bytes();
        let init_secret = suite.random_secret().expect("rng");
        let commit_secret = suite.random_secret().expect("rng");
        let psk_secret = suite.random_secret().expect("rng");
        group.bench_with_input(BenchmarkId::from_parameter(id), &id, |b, _| {
            b.iter(|| {
                let joiner = JoinerSecret::derive(&suite, &init_secret, &commit_secret, &context)
                    .expect("derive");
                black_box(
                    joiner
                        .epoch_secrets(&suite, &psk_secret, &context)
                        .expect("epoch secrets"),
                )
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: these are regression guards, not publication figures.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = key_schedule
}
criterion_main!(benches);
