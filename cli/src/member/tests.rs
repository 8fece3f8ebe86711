//! The AS credential hook: what a member accepts, tried without a server.

use super::{AsValidator, DEFAULT_SUITE};
use cohort::crypto::{SignaturePrivateKey, Suite};
use cohort::framing::MLSMessage;
use cohort::group::{
    CommitOptions, CommitOutput, CredentialValidator, Group, GroupConfig, GroupOptions,
    JoinOptions, KeyPackageOptions, KeyPackageSecrets, NoPsks, SharedValidator,
};
use cohort::messages::Credential;
use cohort_server::authority::{certificate_request, x509_credential, CertificateAuthority};
use std::sync::Arc;

struct Id {
    key: SignaturePrivateKey,
    credential: Credential,
}

fn enroll(ca: &CertificateAuthority, suite: &Suite, client_id: &str) -> Id {
    let key = suite.generate_signature_key_pair().unwrap();
    let csr = certificate_request(&key, client_id).unwrap();
    let cert = ca.issue(&csr, client_id, 1).unwrap();
    Id {
        credential: x509_credential(&[cert.der]),
        key,
    }
}

fn config(root: &[u8]) -> GroupConfig {
    GroupConfig {
        credential_validator: Some(SharedValidator::new(AsValidator {
            root: Arc::new(root.to_vec()),
        })),
        ..GroupConfig::default()
    }
}

fn key_package(suite: &Suite, id: &Id) -> KeyPackageSecrets {
    KeyPackageSecrets::generate(
        suite,
        id.credential.clone(),
        &id.key,
        &KeyPackageOptions::default(),
    )
    .unwrap()
}

fn create(suite: &Suite, group_id: &[u8], creator: &Id, config: GroupConfig) -> Group {
    Group::create(
        suite.id(),
        group_id.to_vec(),
        creator.credential.clone(),
        creator.key.clone(),
        GroupOptions {
            config,
            ..GroupOptions::default()
        },
    )
    .unwrap()
}

/// A commit adding the member of `kp`: the one operation each check below turns on.
fn add(group: &mut Group, kp: &KeyPackageSecrets) -> cohort::Result<CommitOutput> {
    group.commit(
        CommitOptions {
            add: vec![kp.key_package.clone()],
            ..CommitOptions::default()
        },
        &NoPsks,
    )
}

fn join(
    welcome: &MLSMessage,
    kp: &KeyPackageSecrets,
    config: GroupConfig,
) -> cohort::Result<Group> {
    Group::join(
        welcome,
        kp,
        &NoPsks,
        JoinOptions {
            config,
            ..JoinOptions::default()
        },
    )
}

#[test]
fn validator_accepts_only_certificates_of_the_pinned_root_for_the_leaf_key() {
    let suite = Suite::new(DEFAULT_SUITE).unwrap();
    let (ca, _) = CertificateAuthority::generate("A", 1).unwrap();
    let (other, _) = CertificateAuthority::generate("B", 1).unwrap();
    let alice = enroll(&ca, &suite, "alice/1");
    let mallory = enroll(&other, &suite, "alice/1");
    let v = AsValidator {
        root: Arc::new(ca.root_der().to_vec()),
    };
    assert!(v.validate(&alice.credential, alice.key.public_key()));
    assert!(!v.validate(&mallory.credential, mallory.key.public_key()));
    assert!(!v.validate(&alice.credential, mallory.key.public_key()));
    let basic = Credential::Basic {
        identity: cohort::codec::Bytes(b"mls:alice/1".to_vec()),
    };
    assert!(!v.validate(&basic, alice.key.public_key()));
}

#[test]
fn join_and_commits_refuse_leaves_of_another_authority() {
    let suite = Suite::new(DEFAULT_SUITE).unwrap();
    let (ca, _) = CertificateAuthority::generate("A", 1).unwrap();
    let (other, _) = CertificateAuthority::generate("B", 1).unwrap();
    let root = ca.root_der().to_vec();
    let alice = enroll(&ca, &suite, "alice/1");
    let bob = enroll(&ca, &suite, "bob/1");
    let mallory = enroll(&other, &suite, "mallory/1");

    // A group whose creator is certified by another authority: bob refuses the Welcome.
    let mut foreign = create(&suite, b"g1", &mallory, GroupConfig::default());
    let kp = key_package(&suite, &bob);
    let welcome = add(&mut foreign, &kp).unwrap().welcome.unwrap();
    assert!(join(&welcome, &kp, config(&root)).is_err());
    assert!(join(&welcome, &kp, GroupConfig::default()).is_ok()); // the same Welcome, no AS check

    // In a group of ours, a commit adding a foreign leaf is refused by the member.
    let mut group = create(&suite, b"g2", &alice, config(&root));
    let kp = key_package(&suite, &bob);
    let out = add(&mut group, &kp).unwrap();
    group.confirm_pending_commit().unwrap();
    let mut bob_group = join(out.welcome.as_ref().unwrap(), &kp, config(&root)).unwrap();
    // alice's own commit API also refuses to add it...
    let bad = key_package(&suite, &mallory);
    assert!(add(&mut group, &bad).is_err());
    // ...and when a member without the check commits it, bob refuses the commit.
    let mut lax = Group::from_bytes(&group.to_bytes(), None).unwrap();
    let out = add(&mut lax, &bad).unwrap();
    assert!(bob_group.process_message(out.commit, &NoPsks).is_err());
}
