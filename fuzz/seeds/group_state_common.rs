//! The persisted-state framing shared by the `group_state` target and its seed writer.
#![allow(dead_code)]

use cohort::crypto::{CipherSuite, Suite};
use cohort::group::{Group, GroupOptions};
use cohort::messages::Credential;
use sha2::{Digest, Sha256};

/// Magic (8 bytes) and format version (2 bytes) at the start of every blob.
pub const HEADER_LEN: usize = 10;
/// The trailing SHA-256 checksum.
pub const CHECKSUM_LEN: usize = 32;

/// A one-member group of suite 0x0001.
pub fn one_member_group() -> Group {
    let id = CipherSuite(1);
    let suite = Suite::new(id).expect("suite 1");
    let key = suite.generate_signature_key_pair().expect("rng");
    Group::create(
        id,
        b"fuzz".to_vec(),
        Credential::basic("fuzz"),
        key,
        GroupOptions::default(),
    )
    .expect("create")
}

/// The header this build writes, taken from a real blob so it follows format changes.
pub fn header() -> &'static [u8] {
    static HEADER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    HEADER.get_or_init(|| one_member_group().to_bytes()[..HEADER_LEN].to_vec())
}

/// `header || body || SHA-256(header || body)`.
pub fn seal(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut blob = header.to_vec();
    blob.extend_from_slice(body);
    let sum = Sha256::digest(&blob);
    blob.extend_from_slice(&sum);
    blob
}
