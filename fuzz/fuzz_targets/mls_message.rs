//! MLSMessage of every wire format; private-message ciphertexts are also fed to the
//! PrivateMessageContent parser as if they were plaintexts.
#![no_main]

mod common;

use cohort::codec::Encode;
use cohort::framing::{MLSMessage, MLSMessageBody, PrivateMessageContent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(msg) = common::round_trip::<MLSMessage>(data) else {
        return;
    };
    let _ = (msg.group_id(), msg.epoch(), msg.content_type());
    match &msg.body {
        MLSMessageBody::PublicMessage(m) => {
            let ac = m.authenticated_content();
            assert!(ac.auth.matches_content_type(ac.content.content_type()));
            let _ = ac.confirmed_transcript_hash_input();
            let _ = ac.tbs_bytes(None);
        }
        MLSMessageBody::PrivateMessage(m) => {
            if let Ok(pmc) = PrivateMessageContent::decode_plaintext(&m.ciphertext, m.content_type)
            {
                assert_eq!(pmc.to_bytes(), m.ciphertext.as_slice());
            }
        }
        MLSMessageBody::Welcome(_) => {}
        MLSMessageBody::GroupInfo(gi) => {
            common::extension_views(&gi.extensions);
            common::extension_views(&gi.group_context.extensions);
        }
        MLSMessageBody::KeyPackage(kp) => common::key_package(kp),
    }
});
