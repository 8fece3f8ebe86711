//! Application-message decryption and raw Ed25519 verification, Cohort beside mls-rs, for
//! profiling (callgrind counts instructions, immune to the machine's load):
//!
//! `cargo run --release -p cohort-interop --example decrypt_profile -- WHAT N ROUNDS`
//!
//! WHAT is `cohort` or `mls-rs` (decrypt ROUNDS 1 KiB messages from a member of a group of
//! N), or `verify` (ROUNDS Ed25519 verifications each: mls-rs's RustCrypto provider, Cohort
//! with the key encoded, Cohort with the key parsed once). Instructions per operation:
//! run under `valgrind --tool=callgrind` with ROUNDS = 0 and ROUNDS = R and divide the
//! difference by R. Figures for comparison belong to `benches/compare.rs`.

use cohort::crypto::{CipherSuite as CohortSuite, PublicKeyRef, Suite};
use cohort::group::{CommitOptions, Group, GroupOptions, JoinOptions, NoPsks};
use cohort_interop::{cohort_identity, cohort_key_package};
use mls_rs::client_builder::{BaseConfig, PaddingMode, WithCryptoProvider, WithIdentityProvider};
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rules::{CommitOptions as MlsCommitOptions, DefaultMlsRules, EncryptionOptions};
use mls_rs::{CipherSuite, CipherSuiteProvider, Client, CryptoProvider};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use std::sync::Arc;
use std::time::Instant;

type MlsRsConfig =
    WithIdentityProvider<BasicIdentityProvider, WithCryptoProvider<RustCryptoProvider, BaseConfig>>;

fn mls_client(name: &str) -> Client<MlsRsConfig> {
    let suite = CipherSuite::new(1);
    let crypto = RustCryptoProvider::new();
    let cs = crypto.cipher_suite_provider(suite).unwrap();
    let (secret, public) = cs.signature_key_generate().unwrap();
    let identity = SigningIdentity::new(
        BasicCredential::new(name.as_bytes().to_vec()).into_credential(),
        public,
    );
    let rules = DefaultMlsRules::new()
        .with_commit_options(
            MlsCommitOptions::new()
                .with_path_required(true)
                .with_ratchet_tree_extension(true)
                .with_single_welcome_message(true),
        )
        .with_encryption_options(EncryptionOptions::new(false, PaddingMode::None));
    Client::builder()
        .crypto_provider(crypto)
        .identity_provider(BasicIdentityProvider::new())
        .mls_rules(rules)
        .signing_identity(identity, secret, suite)
        .build()
}

fn report(what: &str, n: usize, rounds: u32, t: Instant) {
    if rounds > 0 {
        println!("{what} N={n}: {:.2?} per message", t.elapsed() / rounds);
    }
}

fn cohort(n: usize, rounds: u32) {
    let suite = CohortSuite(1);
    let (_, credential, signer) = cohort_identity(suite, "creator");
    let secrets: Vec<_> = (1..n)
        .map(|i| cohort_key_package(suite, &format!("member {i}")).0)
        .collect();
    let mut creator = Group::create(
        suite,
        b"g".to_vec(),
        credential,
        signer,
        GroupOptions::default(),
    )
    .unwrap();
    let add = secrets.iter().map(|s| s.key_package.clone()).collect();
    let out = creator
        .commit(
            CommitOptions {
                add,
                ..Default::default()
            },
            &NoPsks,
        )
        .unwrap();
    creator.confirm_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();
    let mut member = Group::join(&welcome, &secrets[0], &NoPsks, JoinOptions::default()).unwrap();
    let payload = vec![0x5a; 1024];
    let sent: Vec<_> = (0..rounds)
        .map(|_| member.send_application(&payload, b"").unwrap())
        .collect();
    let t = Instant::now();
    for m in sent {
        creator.process_message(m, &NoPsks).unwrap();
    }
    report("cohort decrypt", n, rounds, t);
}

fn mls_rs(n: usize, rounds: u32) {
    let creator = mls_client("creator");
    let members: Vec<_> = (1..n).map(|i| mls_client(&format!("member {i}"))).collect();
    let mut g = creator
        .create_group(Default::default(), Default::default(), None)
        .unwrap();
    let mut b = g.commit_builder();
    for m in &members {
        let kp = m
            .generate_key_package_message(Default::default(), Default::default(), None)
            .unwrap();
        b = b.add_member(kp).unwrap();
    }
    let out = b.build().unwrap();
    g.apply_pending_commit().unwrap();
    let welcome = &out.welcome_messages[0];
    let (mut member, _) = members[0].join_group(None, welcome, None).unwrap();
    let payload = vec![0x5a; 1024];
    let sent: Vec<_> = (0..rounds)
        .map(|_| {
            member
                .encrypt_application_message(&payload, Vec::new())
                .unwrap()
        })
        .collect();
    let t = Instant::now();
    for m in sent {
        g.process_incoming_message(m).unwrap();
    }
    report("mls-rs decrypt", n, rounds, t);
}

fn verify(rounds: u32) {
    let data = vec![0x33; 1100];
    let crypto = RustCryptoProvider::new();
    let cs = crypto.cipher_suite_provider(CipherSuite::new(1)).unwrap();
    let (secret, public) = cs.signature_key_generate().unwrap();
    let sig = cs.sign(&secret, &data).unwrap();
    let t = Instant::now();
    for _ in 0..rounds {
        cs.verify(&public, &sig, &data).unwrap();
    }
    report("mls-rs provider verify", 0, rounds, t);

    let suite = Suite::new(CohortSuite(1)).unwrap();
    let key = suite.generate_signature_key_pair().unwrap();
    let sig = suite.sign_with_label(&key, "L", &data).unwrap();
    let t = Instant::now();
    for _ in 0..rounds {
        suite
            .verify_with_label(key.public_key(), "L", &data, &sig)
            .unwrap();
    }
    report("cohort verify, key encoded", 0, rounds, t);
    let parsed = PublicKeyRef::Parsed(Arc::new(suite.verifying_key(key.public_key()).unwrap()));
    let t = Instant::now();
    for _ in 0..rounds {
        suite
            .verify_with_label_key(&parsed, "L", &data, &sig)
            .unwrap();
    }
    report("cohort verify, key parsed", 0, rounds, t);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "verify".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2).max(2);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    match what.as_str() {
        "cohort" => cohort(n, rounds),
        "mls-rs" => mls_rs(n, rounds),
        "verify" => verify(rounds),
        other => panic!("unknown {other}: cohort, mls-rs or verify"),
    }
}
