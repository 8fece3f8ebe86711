//! A bare KeyPackage (§10).
#![no_main]

mod common;

use cohort::messages::KeyPackage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(kp) = common::round_trip::<KeyPackage>(data) {
        common::key_package(&kp);
    }
});
