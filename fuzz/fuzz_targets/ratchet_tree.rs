//! `optional<Node> ratchet_tree<V>` (§12.4.3.3).
#![no_main]

mod common;

use cohort::messages::RatchetTreeWire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(tree) = common::round_trip::<RatchetTreeWire>(data) {
        common::ratchet_tree(&tree);
    }
});
