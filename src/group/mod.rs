//! The MLS group: KeyPackages, the group state machine and its API (RFC 9420 §10–§12).
pub mod key_package;
pub mod welcome;

pub use key_package::{KeyPackageOptions, KeyPackageSecrets};
