//! A bare GroupInfo (§12.4.3), with its extension payloads decoded.
#![no_main]

mod common;

use cohort::codec::Encode;
use cohort::messages::GroupInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(gi) = common::round_trip::<GroupInfo>(data) {
        let mut full = gi.tbs_bytes();
        gi.signature.encode(&mut full);
        assert_eq!(full, data);
        common::extension_views(&gi.extensions);
        common::extension_views(&gi.group_context.extensions);
    }
});
