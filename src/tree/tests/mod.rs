//! Tests of the ratchet tree, its hashes and its validation (RFC 9420 §4, §7, §12.4.3).
mod adversarial_leaves;
mod adversarial_tree;
mod array;
mod fixtures;
mod hashes;
mod ratchet_tree;
mod validation;
mod verifying_keys;
