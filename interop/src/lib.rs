//! Shared helpers for the interoperability tests (`tests/mls_rs.rs`) and the comparison
//! benchmark (`benches/compare.rs`) of Cohort against mls-rs.
//!
//! Everything that crosses between the two implementations does so as wire bytes: an
//! `MLSMessage` encoding (RFC 9420 §6) or a `ratchet_tree` encoding (§12.4.3.3).

use cohort::codec::{Decode, Encode};
use cohort::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::{KeyPackageOptions, KeyPackageSecrets};
use cohort::messages::{Credential, RatchetTreeWire};

/// Encode a Cohort message for the wire.
pub fn to_wire(msg: &MLSMessage) -> Vec<u8> {
    msg.to_bytes()
}

/// Decode wire bytes into a Cohort message, panicking with context on failure.
pub fn from_wire(bytes: &[u8]) -> MLSMessage {
    MLSMessage::decode_exact(bytes)
        .unwrap_or_else(|e| panic!("Cohort cannot decode MLSMessage: {e:?}"))
}

/// Decode an out-of-band ratchet tree (the `ratchet_tree` extension's content).
pub fn tree_from_wire(bytes: &[u8]) -> RatchetTreeWire {
    RatchetTreeWire::decode_exact(bytes)
        .unwrap_or_else(|e| panic!("Cohort cannot decode ratchet tree: {e:?}"))
}

/// A fresh Cohort identity: a basic credential and a signature key.
pub fn cohort_identity(suite: CipherSuite, name: &str) -> (Suite, Credential, SignaturePrivateKey) {
    let s = Suite::new(suite).expect("suite");
    let signer = s.generate_signature_key_pair().expect("signature key");
    (s, Credential::basic(name.as_bytes().to_vec()), signer)
}

/// A Cohort KeyPackage with its secrets, and its `MLSMessage` encoding to publish.
pub fn cohort_key_package(suite: CipherSuite, name: &str) -> (KeyPackageSecrets, Vec<u8>) {
    let (s, credential, signer) = cohort_identity(suite, name);
    let kp = KeyPackageSecrets::generate(&s, credential, &signer, &KeyPackageOptions::default())
        .expect("key package");
    let bytes =
        MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(kp.key_package.clone()))).to_bytes();
    (kp, bytes)
}

/// Decode a KeyPackage published by anyone as an `MLSMessage`.
pub fn key_package_from_wire(bytes: &[u8]) -> cohort::messages::KeyPackage {
    match from_wire(bytes).body {
        MLSMessageBody::KeyPackage(kp) => *kp,
        other => panic!(
            "expected a KeyPackage, got {:?}",
            std::mem::discriminant(&other)
        ),
    }
}
