//! Codec tests for the message structs: IETF round trips, malformed input, GREASE, limits.

pub(crate) mod fixtures;

use super::*;
use crate::codec::{Bytes, Decode, Encode};
use crate::crypto::{CipherSuite, Secret};
use crate::error::DecodeError;
use crate::framing::{MLSMessage, MLSMessageBody};
use std::time::Instant;

/// Hex-decode a fixture.
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("fixture is hex")
}

/// Decode `bytes` as `T`, check the re-encoding and return the value.
pub(crate) fn round_trip<T: Decode + Encode>(bytes: &[u8]) -> T {
    let v = T::decode_exact(bytes).expect("decodes");
    assert_eq!(v.to_bytes(), bytes, "re-encoding differs");
    v
}

/// Every proper prefix fails with an end-of-input error, and never panics.
pub(crate) fn assert_truncations_fail<T: Decode + core::fmt::Debug>(bytes: &[u8]) {
    for len in 0..bytes.len() {
        match T::decode_exact(&bytes[..len]) {
            Err(DecodeError::UnexpectedEnd | DecodeError::LengthTooLarge) => {}
            other => panic!("prefix of {len}/{} bytes gave {other:?}", bytes.len()),
        }
    }
}

/// Flipping bits anywhere never panics, and whatever still decodes re-encodes to its input.
pub(crate) fn assert_mutations_round_trip<T: Decode + Encode>(bytes: &[u8]) {
    let mut buf = bytes.to_vec();
    for i in 0..buf.len() {
        for mask in [0x01u8, 0x40, 0x80, 0xff] {
            buf[i] ^= mask;
            if let Ok(v) = T::decode_exact(&buf) {
                assert_eq!(v.to_bytes(), buf, "mutation at {i} by {mask:#x}");
            }
            buf[i] ^= mask;
        }
    }
}

/// Every field of case 0 of messages.json, by the type the vector names.
#[test]
fn ietf_case0_round_trips() {
    use fixtures::*;
    for m in [MLS_WELCOME, MLS_GROUP_INFO, MLS_KEY_PACKAGE] {
        round_trip::<MLSMessage>(&unhex(m));
    }
    round_trip::<RatchetTreeWire>(&unhex(RATCHET_TREE));
    round_trip::<GroupSecrets>(&unhex(GROUP_SECRETS));
    round_trip::<Add>(&unhex(ADD_PROPOSAL));
    round_trip::<Update>(&unhex(UPDATE_PROPOSAL));
    round_trip::<Remove>(&unhex(REMOVE_PROPOSAL));
    round_trip::<PreSharedKey>(&unhex(PRE_SHARED_KEY_PROPOSAL));
    round_trip::<ReInit>(&unhex(RE_INIT_PROPOSAL));
    round_trip::<ExternalInit>(&unhex(EXTERNAL_INIT_PROPOSAL));
    round_trip::<GroupContextExtensions>(&unhex(GROUP_CONTEXT_EXTENSIONS_PROPOSAL));
    round_trip::<Commit>(&unhex(COMMIT));
}

#[test]
fn truncation_at_every_byte_is_a_typed_error() {
    use fixtures::*;
    for m in [MLS_WELCOME, MLS_GROUP_INFO, MLS_KEY_PACKAGE] {
        assert_truncations_fail::<MLSMessage>(&unhex(m));
    }
    assert_truncations_fail::<RatchetTreeWire>(&unhex(RATCHET_TREE));
    assert_truncations_fail::<GroupSecrets>(&unhex(GROUP_SECRETS));
    assert_truncations_fail::<Add>(&unhex(ADD_PROPOSAL));
    assert_truncations_fail::<Update>(&unhex(UPDATE_PROPOSAL));
    assert_truncations_fail::<PreSharedKey>(&unhex(PRE_SHARED_KEY_PROPOSAL));
    assert_truncations_fail::<ReInit>(&unhex(RE_INIT_PROPOSAL));
    assert_truncations_fail::<Commit>(&unhex(COMMIT));
}

#[test]
fn bit_flips_never_panic_and_survivors_round_trip() {
    use fixtures::*;
    for m in [MLS_WELCOME, MLS_GROUP_INFO, MLS_KEY_PACKAGE] {
        assert_mutations_round_trip::<MLSMessage>(&unhex(m));
    }
    assert_mutations_round_trip::<RatchetTreeWire>(&unhex(RATCHET_TREE));
    assert_mutations_round_trip::<GroupSecrets>(&unhex(GROUP_SECRETS));
    assert_mutations_round_trip::<Commit>(&unhex(COMMIT));
    assert_mutations_round_trip::<ReInit>(&unhex(RE_INIT_PROPOSAL));
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut kp = unhex(fixtures::MLS_KEY_PACKAGE);
    kp.push(0);
    assert_eq!(
        MLSMessage::decode_exact(&kp),
        Err(DecodeError::TrailingBytes)
    );
    let mut tree = unhex(fixtures::RATCHET_TREE);
    tree.push(0);
    assert_eq!(
        RatchetTreeWire::decode_exact(&tree),
        Err(DecodeError::TrailingBytes)
    );
}

/// The init_key length prefix of the key package fixture sits after version, wire format,
/// version and cipher suite (four u16s).
const INIT_KEY_LEN_AT: usize = 8;

#[test]
fn non_minimal_lengths_are_rejected() {
    let kp = unhex(fixtures::MLS_KEY_PACKAGE);
    assert_eq!(
        kp[INIT_KEY_LEN_AT], 0x20,
        "fixture layout: 32-byte init_key"
    );
    let mut bad = kp.clone();
    bad.splice(INIT_KEY_LEN_AT..=INIT_KEY_LEN_AT, [0x40, 0x20]);
    assert_eq!(
        MLSMessage::decode_exact(&bad),
        Err(DecodeError::NonMinimalLength)
    );
    let mut bad = kp;
    bad.splice(INIT_KEY_LEN_AT..=INIT_KEY_LEN_AT, [0x80, 0, 0, 0x20]);
    assert_eq!(
        MLSMessage::decode_exact(&bad),
        Err(DecodeError::NonMinimalLength)
    );
    // basic credential, identity "abc" with a two-byte length
    assert_eq!(
        Credential::decode_exact(&[0, 1, 0x40, 3, b'a', b'b', b'c']),
        Err(DecodeError::NonMinimalLength)
    );
}

#[test]
fn oversized_lengths_are_rejected_without_allocating() {
    let mut bad = unhex(fixtures::MLS_KEY_PACKAGE);
    bad.splice(INIT_KEY_LEN_AT..=INIT_KEY_LEN_AT, [0xbf, 0xff, 0xff, 0xff]);
    assert_eq!(
        MLSMessage::decode_exact(&bad),
        Err(DecodeError::LengthTooLarge)
    );
    // A Welcome claiming 2^30-1 bytes of EncryptedGroupSecrets.
    let welcome = [0, 1, 0xbf, 0xff, 0xff, 0xff, 0];
    assert_eq!(
        Welcome::decode_exact(&welcome),
        Err(DecodeError::LengthTooLarge)
    );
    // A ratchet tree claiming more nodes than bytes.
    assert_eq!(
        RatchetTreeWire::decode_exact(&[0x40, 0xff, 0]),
        Err(DecodeError::LengthTooLarge)
    );
}

#[test]
fn unknown_closed_enum_values_are_rejected() {
    let unknown = |r: Result<_, DecodeError>| match r {
        Err(DecodeError::UnknownValue(name)) => name,
        other => panic!("expected UnknownValue, got {other:?}"),
    };
    assert_eq!(unknown(Node::decode_exact(&[0]).map(|_| ())), "NodeType");
    assert_eq!(unknown(Node::decode_exact(&[3]).map(|_| ())), "NodeType");
    assert_eq!(
        unknown(LeafNodeSourceData::decode_exact(&[4]).map(|_| ())),
        "LeafNodeSource"
    );
    assert_eq!(
        unknown(PreSharedKeyID::decode_exact(&[3, 0, 0]).map(|_| ())),
        "PSKType"
    );
    assert_eq!(
        unknown(PreSharedKeyID::decode_exact(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).map(|_| ())),
        "ResumptionPSKUsage"
    );
    assert_eq!(
        unknown(ProposalOrRef::decode_exact(&[0, 0]).map(|_| ())),
        "ProposalOrRefType"
    );
    // Open registries whose selects cannot skip an unknown body.
    assert_eq!(
        unknown(Proposal::decode_exact(&[0x0a, 0x0a, 0]).map(|_| ())),
        "ProposalType"
    );
    assert_eq!(
        unknown(Proposal::decode_exact(&[0, 0]).map(|_| ())),
        "ProposalType"
    );
    assert_eq!(
        unknown(Credential::decode_exact(&[0x0a, 0x0a, 0]).map(|_| ())),
        "CredentialType"
    );
}

#[test]
fn optional_presence_octet_must_be_0_or_1() {
    // Commit with no proposals and path presence octet 2.
    assert!(matches!(
        Commit::decode_exact(&[0, 2]),
        Err(DecodeError::Malformed(_))
    ));
    assert_eq!(Commit::decode_exact(&[0, 0]).unwrap().path, None);
    // GroupSecrets: joiner_secret "x", path_secret presence 2.
    assert!(matches!(
        GroupSecrets::decode_exact(&[1, b'x', 2, 0]),
        Err(DecodeError::Malformed(_))
    ));
    // A ratchet tree entry with presence 2.
    let mut tree = unhex(fixtures::RATCHET_TREE);
    let first_entry = 1 + usize::from(tree[0] >> 6 != 0);
    tree[first_entry] = 2;
    assert!(matches!(
        RatchetTreeWire::decode_exact(&tree),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn ratchet_tree_must_end_with_a_non_blank_node() {
    assert!(matches!(
        RatchetTreeWire::decode_exact(&[0]),
        Err(DecodeError::Malformed(_))
    ));
    let tree = RatchetTreeWire::decode_exact(&unhex(fixtures::RATCHET_TREE)).unwrap();
    let mut nodes = tree.0.clone();
    nodes.push(None);
    let bytes = RatchetTreeWire(nodes).to_bytes();
    assert!(matches!(
        RatchetTreeWire::decode_exact(&bytes),
        Err(DecodeError::Malformed(_))
    ));
}

fn ext(t: u16, data: &[u8]) -> Extension {
    Extension {
        extension_type: ExtensionType(t),
        extension_data: Bytes(data.to_vec()),
    }
}

#[test]
fn duplicate_extensions_are_rejected() {
    let list = vec![ext(0x0a0a, b"a"), ext(3, b""), ext(0x0a0a, b"b")];
    assert_eq!(
        Extensions::decode_exact(&list.to_bytes()),
        Err(DecodeError::Duplicate("ExtensionType"))
    );
    assert_eq!(
        Extensions::from_vec(list),
        Err(DecodeError::Duplicate("ExtensionType"))
    );
    let mut exts = Extensions::from_vec(vec![ext(1, b"x"), ext(2, b"y")]).unwrap();
    exts.insert(ext(1, b"z"));
    assert_eq!(exts.len(), 2);
    assert_eq!(
        exts.get(ExtensionType(1))
            .unwrap()
            .extension_data
            .as_slice(),
        b"z"
    );
    assert!(exts.remove(ExtensionType(2)).is_some());
    assert!(!exts.contains(ExtensionType(2)));
}

/// Encode `n` extensions with empty data, types `0, 1, ...` wrapping at 2^16.
fn many_extensions(n: usize) -> Vec<u8> {
    let list: Vec<Extension> = (0..n).map(|i| ext(i as u16, b"")).collect();
    list.to_bytes()
}

#[test]
fn a_huge_extension_list_decodes_in_linear_time() {
    // Every one of the 2^16 types once: the largest list without a duplicate.
    let all = many_extensions(1 << 16);
    let start = Instant::now();
    let exts = Extensions::decode_exact(&all).unwrap();
    let t_distinct = start.elapsed();
    assert_eq!(exts.len(), 1 << 16);

    // 100,000 entries: the first repeat (entry 65,537) is found; a quadratic scan would
    // need billions of comparisons here.
    let hundred_k = many_extensions(100_000);
    let start = Instant::now();
    assert_eq!(
        Extensions::decode_exact(&hundred_k),
        Err(DecodeError::Duplicate("ExtensionType"))
    );
    let t_dup = start.elapsed();

    // The same 100,000 entries as a plain vector decode completely.
    let start = Instant::now();
    assert_eq!(
        Vec::<Extension>::decode_exact(&hundred_k).unwrap().len(),
        100_000
    );
    let t_vec = start.elapsed();

    println!(
        "65,536 distinct: {t_distinct:?}; 100,000 with duplicate: {t_dup:?}; as Vec: {t_vec:?}"
    );
    for t in [t_distinct, t_dup, t_vec] {
        assert!(t.as_secs_f64() < 5.0, "took {t:?}");
    }
}

#[test]
fn grease_and_unknown_values_round_trip() {
    let grease: Vec<u16> = (0..15u16).map(|i| 0x0a0a + i * 0x1010).collect();
    assert!(grease.iter().all(|&g| registry::is_grease(g)));
    assert!(!registry::is_grease(0xfafa) && !registry::is_grease(0x0001));
    let caps = Capabilities {
        versions: vec![ProtocolVersion::MLS10, ProtocolVersion(0x0a0a)],
        cipher_suites: grease.iter().map(|&g| CipherSuite(g)).collect(),
        extensions: grease.iter().map(|&g| ExtensionType(g)).collect(),
        proposals: grease.iter().map(|&g| ProposalType(g)).collect(),
        credentials: grease.iter().map(|&g| CredentialType(g)).collect(),
    };
    assert_eq!(round_trip::<Capabilities>(&caps.to_bytes()), caps);
    let exts = Extensions::from_vec(grease.iter().map(|&g| ext(g, &[g as u8; 3])).collect());
    let exts = exts.unwrap();
    assert_eq!(round_trip::<Extensions>(&exts.to_bytes()), exts);
    assert_eq!(
        format!("{:?}", ExtensionType(0xf000)),
        "ExtensionType(0xf000)"
    );
    assert_eq!(format!("{:?}", ProposalType::ADD), "ADD");
}

#[test]
fn typed_extension_views() {
    let caps = RequiredCapabilities {
        extension_types: vec![ExtensionType(0xff00)],
        proposal_types: vec![ProposalType(0xff01)],
        credential_types: vec![CredentialType::X509],
    };
    let sender = ExternalSender {
        signature_key: Bytes(vec![7; 32]),
        credential: Credential::basic(b"ds".to_vec()),
    };
    let tree = RatchetTreeWire::decode_exact(&unhex(fixtures::RATCHET_TREE)).unwrap();
    let pubkey = ExternalPub {
        external_pub: Bytes(vec![9; 32]),
    };
    let exts = Extensions::from_vec(vec![
        Extension::new(ExtensionType::APPLICATION_ID, &Bytes(b"app".to_vec())),
        Extension::new(ExtensionType::RATCHET_TREE, &tree),
        Extension::new(ExtensionType::REQUIRED_CAPABILITIES, &caps),
        Extension::new(ExtensionType::EXTERNAL_PUB, &pubkey),
        Extension::new(ExtensionType::EXTERNAL_SENDERS, &vec![sender.clone()]),
    ])
    .unwrap();
    let exts = round_trip::<Extensions>(&exts.to_bytes());
    assert_eq!(exts.application_id().unwrap().unwrap().as_slice(), b"app");
    assert_eq!(exts.ratchet_tree().unwrap().unwrap(), tree);
    assert_eq!(exts.required_capabilities().unwrap().unwrap(), caps);
    assert_eq!(exts.external_pub().unwrap().unwrap(), pubkey);
    assert_eq!(exts.external_senders().unwrap().unwrap(), vec![sender]);
    // Absent is Ok(None); a payload with trailing bytes is an error.
    assert_eq!(Extensions::new().external_pub(), Ok(None));
    let bad = Extensions::from_vec(vec![ext(4, &[1, 9, 0])]).unwrap();
    assert_eq!(bad.external_pub(), Err(DecodeError::TrailingBytes));
}

fn key_package() -> KeyPackage {
    match MLSMessage::decode_exact(&unhex(fixtures::MLS_KEY_PACKAGE))
        .unwrap()
        .body
    {
        MLSMessageBody::KeyPackage(kp) => *kp,
        other => panic!("fixture is a key package, got {other:?}"),
    }
}

#[test]
fn tbs_helpers_cover_everything_above_the_signature() {
    let kp = key_package();
    let mut full = kp.tbs_bytes();
    kp.signature.encode(&mut full);
    assert_eq!(full, kp.to_bytes());

    let leaf = &kp.leaf_node;
    assert_eq!(leaf.leaf_node_source.source(), LeafNodeSource::KeyPackage);
    let mut full = leaf.tbs_bytes(b"ignored", 7);
    leaf.signature.encode(&mut full);
    assert_eq!(full, leaf.to_bytes());

    // update/commit leaves append group_id and leaf_index.
    let mut updated = leaf.clone();
    updated.leaf_node_source = LeafNodeSourceData::Update;
    let tbs = updated.tbs_bytes(b"gid", 5);
    let mut expected = updated.to_bytes();
    expected.truncate(expected.len() - updated.signature.to_bytes().len());
    expected.extend_from_slice(&[3, b'g', b'i', b'd', 0, 0, 0, 5]);
    assert_eq!(tbs, expected);

    let gi = match MLSMessage::decode_exact(&unhex(fixtures::MLS_GROUP_INFO))
        .unwrap()
        .body
    {
        MLSMessageBody::GroupInfo(gi) => gi,
        other => panic!("fixture is a group info, got {other:?}"),
    };
    let mut full = gi.tbs_bytes();
    gi.signature.encode(&mut full);
    assert_eq!(full, gi.to_bytes());
}

#[test]
fn secrets_are_redacted_and_round_trip() {
    let gs = GroupSecrets {
        joiner_secret: Secret::new(vec![1; 32]),
        path_secret: Some(PathSecret {
            path_secret: Secret::new(vec![2; 32]),
        }),
        psks: vec![PreSharedKeyID {
            psk: PSKTypeData::Resumption {
                usage: ResumptionPSKUsage::Branch,
                psk_group_id: Bytes(b"g".to_vec()),
                psk_epoch: 9,
            },
            psk_nonce: Bytes(vec![3; 32]),
        }],
    };
    assert_eq!(round_trip::<GroupSecrets>(&gs.to_bytes()), gs);
    assert!(!format!("{gs:?}").contains("0101"));
}

#[test]
fn list_items_stay_small_in_memory() {
    // Decoding allocates at most a small constant factor per input byte: the smallest
    // encodings (a blank node is one byte) must not expand into large structs.
    use core::mem::size_of;
    assert!(size_of::<Option<Node>>() <= 16);
    assert!(size_of::<ProposalOrRef>() <= 64);
    assert!(size_of::<Proposal>() <= 64);
    assert!(size_of::<Extension>() <= 32);
    assert!(size_of::<PreSharedKeyID>() <= 80);
    assert!(size_of::<EncryptedGroupSecrets>() <= 72);
}
