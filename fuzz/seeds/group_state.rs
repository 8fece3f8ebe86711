//! Writes the bodies of a few real group states to corpus/group_state as fuzzing seeds:
//! a one-member group, a three-member group after a commit, and one with a pending commit.

mod group_state_common;

use cohort::crypto::{CipherSuite, Suite};
use cohort::group::{CommitOptions, KeyPackageOptions, KeyPackageSecrets, NoPsks};
use cohort::messages::Credential;
use group_state_common::{one_member_group, CHECKSUM_LEN, HEADER_LEN};

fn main() {
    let suite = Suite::new(CipherSuite(1)).expect("suite 1");
    let mut group = one_member_group();
    let mut states = vec![group.to_bytes().to_vec()];
    let kps: Vec<_> = ["b", "c"]
        .iter()
        .map(|name| {
            let key = suite.generate_signature_key_pair().expect("rng");
            KeyPackageSecrets::generate(
                &suite,
                Credential::basic(*name),
                &key,
                &KeyPackageOptions::default(),
            )
            .expect("key package")
            .key_package
        })
        .collect();
    let add = CommitOptions {
        add: kps,
        ..Default::default()
    };
    group.commit(add, &NoPsks).expect("commit");
    states.push(group.to_bytes().to_vec());
    group.confirm_pending_commit().expect("confirm");
    group.send_application(b"hello", b"").expect("send");
    states.push(group.to_bytes().to_vec());
    let dir = std::path::Path::new("corpus/group_state");
    std::fs::create_dir_all(dir).expect("corpus dir");
    for (i, blob) in states.iter().enumerate() {
        let body = &blob[HEADER_LEN..blob.len() - CHECKSUM_LEN];
        std::fs::write(dir.join(format!("seed-{i}")), body).expect("write seed");
    }
    println!("wrote {} seeds to {}", states.len(), dir.display());
}
