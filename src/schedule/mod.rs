//! The key schedule (RFC 9420 §8), pre-shared keys (§8.4), transcript hashes (§8.2) and the
//! secret tree (§9).
pub mod key_schedule;
pub mod psk;
pub mod secret_tree;
pub mod transcript;

pub use key_schedule::{EpochSecrets, JoinerSecret};
pub use secret_tree::{KeyNonce, RatchetKind, SecretTree, SecretTreeConfig, StagedKey};
