//! Cipher suites and the cryptographic operations of RFC 9420 §5.
pub mod cipher_suite;
pub mod secret;

pub use cipher_suite::CipherSuite;
pub use secret::Secret;
