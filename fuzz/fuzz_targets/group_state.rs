//! A persisted group state (`Group::from_bytes`): a file read back from disk is untrusted
//! input too. The fuzzer's bytes are the blob's body; the target wraps them in the magic,
//! version and checksum a real blob carries, so that decoding goes past the checksum.
//! Whatever restores must save and restore again to the same bytes. Seeds:
//! `cargo run --bin group_state_seeds` (in fuzz/) writes real bodies to corpus/group_state.
#![no_main]

#[path = "../seeds/group_state_common.rs"]
mod group_state_common;

use cohort::group::Group;
use group_state_common::{header, seal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let blob = seal(header(), body);
    if let Ok(group) = Group::from_bytes(&blob, None) {
        let saved = group.to_bytes();
        let restored = Group::from_bytes(&saved, None).expect("a saved state restores");
        assert_eq!(&restored.to_bytes()[..], &saved[..], "save/restore is stable");
    }
});
