//! A bare Welcome (§12.4.3.1), and the same bytes as GroupSecrets.
#![no_main]

mod common;

use cohort::messages::{GroupSecrets, Welcome};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::round_trip::<Welcome>(data);
    common::round_trip::<GroupSecrets>(data);
});
