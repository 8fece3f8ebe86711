//! The ratchet tree (RFC 9420 §4, §7) and its array representation (Appendix C).
mod array;
pub mod hashes;
mod key_index;
pub mod math;
pub mod ratchet_tree;
pub mod treekem;
pub mod validation;
mod verifying_keys;

#[cfg(test)]
mod tests;

pub use ratchet_tree::{NodeRef, RatchetTree};
