//! Cipher suites and the cryptographic operations of RFC 9420 §5.
//!
//! [`Suite`] resolves a [`CipherSuite`] into its algorithms once; every primitive and every
//! labelled operation of the RFC is a method on it. Private keys ([`SignaturePrivateKey`],
//! [`HpkePrivateKey`]) and derived secrets ([`Secret`]) are wiped on drop and never printed.
mod aead;
pub mod cipher_suite;
mod dhkem;
mod hash;
mod hpke;
mod kem;
mod labels;
pub mod secret;
mod signature;
mod suite;

#[cfg(test)]
mod tests;
#[cfg(all(test, feature = "pq"))]
mod tests_pq;
#[cfg(all(test, feature = "pq"))]
mod tests_pq_hybrid;

pub use cipher_suite::CipherSuite;
pub use hpke::HpkePrivateKey;
pub use secret::Secret;
pub use signature::{PublicKeyRef, SignaturePrivateKey, VerifyingKey};
pub use suite::{IntoSuite, Suite};
