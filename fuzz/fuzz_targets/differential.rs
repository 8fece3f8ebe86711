//! Differential decoding against mls-rs: the first byte picks the kind (MLSMessage,
//! KeyPackage, Welcome or GroupInfo body, ratchet tree), the rest is decoded by both.
//! They must agree on accept/reject and re-encoding, or differ for a reason the RFC
//! decides (`interop/tests/differential/compare.rs`, shared with the corpus replay).
#![no_main]

#[path = "../../interop/tests/differential/compare.rs"]
mod compare;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&tag, bytes)) = data.split_first() else {
        return;
    };
    if let compare::Outcome::Disagree(what) = compare::compare(compare::Kind::from_tag(tag), bytes)
    {
        panic!("Cohort and mls-rs disagree: {what}");
    }
});
