//! PrivateMessage protection (RFC 9420 §6.3) of a 1 KiB application message per cipher
//! suite: `protect` encrypts pre-signed content; `protect_unprotect` also decrypts it and
//! verifies its signature (signing itself is not timed). Sender and receiver keep separate
//! secret trees across iterations, so every iteration uses the next generation of the
//! ratchet, as real traffic does (§9.1).

use cohort::codec::Bytes;
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::{
    protect_private, sign_content, unprotect_private, Content, FramedContent, Padding, Sender,
    WireFormat,
};
use cohort::messages::{Extensions, GroupContext, ProtocolVersion};
use cohort::schedule::{SecretTree, SecretTreeConfig};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;

fn message_protection(c: &mut Criterion) {
    let mut group = c.benchmark_group("private_message_1KiB");
    for id in 1..=7u16 {
        let suite = Suite::new(CipherSuite(id)).expect("suite 1..=7");
        let signer = suite.generate_signature_key_pair().expect("rng");
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(id),
            group_id: Bytes(vec![7; 16]),
            epoch: 42,
            tree_hash: Bytes(vec![1; suite.hash_len()]),
            confirmed_transcript_hash: Bytes(vec![2; suite.hash_len()]),
            extensions: Extensions::new(),
        };
        let encryption_secret = suite.random_secret().expect("rng");
        let sender_data_secret = suite.random_secret().expect("rng");
        let tree = || {
            SecretTree::new(
                suite,
                encryption_secret.clone(),
                2,
                SecretTreeConfig::default(),
            )
        };
        let framed = FramedContent {
            group_id: context.group_id.clone(),
            epoch: context.epoch,
            sender: Sender::Member(0),
            authenticated_data: Bytes::default(),
            content: Content::Application(Bytes(vec![0x5a; 1024])),
        };
        let signed = sign_content(
            &suite,
            &signer,
            WireFormat::PrivateMessage,
            framed,
            Some(&context),
        )
        .expect("sign");
        let member_key = |leaf: u32| (leaf == 0).then_some(signer.public_key());

        let mut tx = tree();
        group.bench_with_input(BenchmarkId::new("protect", id), &id, |b, _| {
            b.iter(|| {
                black_box(
                    protect_private(&suite, &signed, &sender_data_secret, &mut tx, Padding::None)
                        .expect("protect"),
                )
            })
        });

        let (mut tx, mut rx) = (tree(), tree());
        group.bench_with_input(BenchmarkId::new("protect_unprotect", id), &id, |b, _| {
            b.iter(|| {
                let m =
                    protect_private(&suite, &signed, &sender_data_secret, &mut tx, Padding::None)
                        .expect("protect");
                black_box(
                    unprotect_private(
                        &suite,
                        &m,
                        &context,
                        &sender_data_secret,
                        &mut rx,
                        member_key,
                    )
                    .expect("unprotect"),
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
    targets = message_protection
}
criterion_main!(benches);
