use super::*;
use crate::crypto::CipherSuite;

fn tree(n: u32, cfg: SecretTreeConfig) -> SecretTree {
    let suite = Suite::new(CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519).unwrap();
    SecretTree::new(suite, Secret::new(vec![7; 32]), n, cfg)
}

#[test]
fn sender_and_receiver_agree_and_keys_are_single_use() {
    let mut a = tree(4, SecretTreeConfig::default());
    let mut b = tree(4, SecretTreeConfig::default());
    let k0 = a.next_sending_key(2, RatchetKind::Application).unwrap();
    let k1 = a.next_sending_key(2, RatchetKind::Application).unwrap();
    // Out of order: generation 1 before 0.
    assert_eq!(
        b.key_for_generation(2, RatchetKind::Application, 1)
            .unwrap(),
        k1
    );
    assert_eq!(
        b.key_for_generation(2, RatchetKind::Application, 0)
            .unwrap(),
        k0
    );
    // §9.2: a consumed key is gone.
    assert_eq!(
        b.key_for_generation(2, RatchetKind::Application, 0),
        Err(Error::Invalid(Rule::GenerationConsumed))
    );
}

#[test]
fn far_generation_is_an_immediate_error_not_a_loop() {
    // §9.1: a hostile generation of 0xFFFFFFFF must not ratchet four billion times.
    let mut t = tree(2, SecretTreeConfig::default());
    assert_eq!(
        t.key_for_generation(1, RatchetKind::Handshake, u32::MAX),
        Err(Error::Invalid(Rule::GenerationTooFar))
    );
    let cfg = SecretTreeConfig {
        max_forward_distance: 5,
        out_of_order_tolerance: 2,
    };
    let mut t = tree(2, cfg);
    assert!(t.key_for_generation(0, RatchetKind::Handshake, 6).is_err());
    assert!(t.key_for_generation(0, RatchetKind::Handshake, 5).is_ok());
    // Only the two most recent skipped keys (3, 4) are kept.
    assert_eq!(
        t.key_for_generation(0, RatchetKind::Handshake, 2),
        Err(Error::Invalid(Rule::GenerationConsumed))
    );
    assert!(t.key_for_generation(0, RatchetKind::Handshake, 4).is_ok());
}

#[test]
fn leaf_out_of_range_is_rejected() {
    let mut t = tree(4, SecretTreeConfig::default());
    assert_eq!(
        t.key_for_generation(4, RatchetKind::Handshake, 0),
        Err(Error::Invalid(Rule::LeafOutOfRange))
    );
}

#[test]
fn persisted_tree_restores_and_consumed_keys_stay_consumed() {
    // A key consumed before persisting must not come back after a restore (§9.2).
    let mut sender = tree(4, SecretTreeConfig::default());
    let mut receiver = tree(4, SecretTreeConfig::default());
    let k0 = sender
        .next_sending_key(1, RatchetKind::Application)
        .unwrap();
    let k1 = sender
        .next_sending_key(1, RatchetKind::Application)
        .unwrap();
    let k2 = sender
        .next_sending_key(1, RatchetKind::Application)
        .unwrap();
    assert_eq!(
        receiver
            .key_for_generation(1, RatchetKind::Application, 1)
            .unwrap(),
        k1
    );
    let bytes = crate::codec::Encode::to_bytes(&receiver);
    let mut restored = <SecretTree as crate::codec::Decode>::decode_exact(&bytes).unwrap();
    assert_eq!(
        restored.key_for_generation(1, RatchetKind::Application, 1),
        Err(Error::Invalid(Rule::GenerationConsumed))
    );
    assert_eq!(
        restored
            .key_for_generation(1, RatchetKind::Application, 0)
            .unwrap(),
        k0
    );
    assert_eq!(
        restored
            .key_for_generation(1, RatchetKind::Application, 2)
            .unwrap(),
        k2
    );
}

/// §9.2: a staged key changes nothing until committed, and a commit after staging moves
/// the tree exactly as taking the key directly does (skipped keys and their eviction too).
#[test]
fn staged_keys_change_nothing_until_committed() {
    let cfg = SecretTreeConfig {
        max_forward_distance: 20,
        out_of_order_tolerance: 3,
    };
    let mut staged_tree = tree(5, cfg);
    let mut direct = tree(5, cfg);
    for (leaf, generation) in [(3, 5), (3, 2), (1, 0), (3, 9), (3, 7), (0, 20)] {
        let before = staged_tree.to_bytes();
        let staged = staged_tree
            .stage_key(leaf, RatchetKind::Handshake, generation)
            .unwrap();
        assert_eq!(staged_tree.to_bytes(), before, "staging changed the tree");
        let want = direct
            .key_for_generation(leaf, RatchetKind::Handshake, generation)
            .unwrap();
        assert_eq!(staged.key_nonce, want);
        staged_tree.commit_key(staged);
        assert_eq!(staged_tree.to_bytes(), direct.to_bytes());
    }
    // Generation 3 of leaf 3 was evicted (tolerance 3) in both.
    assert_eq!(
        staged_tree
            .stage_key(3, RatchetKind::Handshake, 3)
            .unwrap_err(),
        Error::Invalid(Rule::GenerationConsumed)
    );
    let before = staged_tree.to_bytes();
    for (leaf, generation) in [(4, 21), (3, 31), (5, 0)] {
        assert!(staged_tree
            .stage_key(leaf, RatchetKind::Application, generation)
            .is_err());
        assert_eq!(staged_tree.to_bytes(), before);
    }
}
