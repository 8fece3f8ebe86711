//! Property tests of the wire codec (RFC 9420 §2.1, §5–§12): every wire struct, generated
//! with arbitrary field values, round-trips byte-exactly through encode/decode, and
//! generated garbage decodes to a typed error (or a value that re-encodes to the same
//! bytes), never a panic. Case counts stay modest so the suite stays fast.

use cohort::codec::{Bytes, Decode, Encode};
use cohort::crypto::{CipherSuite, Secret};
use cohort::framing::{
    Content, ContentType, FramedContent, FramedContentAuthData, MLSMessage, MLSMessageBody,
    PrivateMessage, PublicMessage, Sender,
};
use cohort::messages::{
    Add, Capabilities, Certificate, Commit, Credential, CredentialType, EncryptedGroupSecrets,
    Extension, ExtensionType, Extensions, ExternalInit, ExternalSender, GroupContext,
    GroupContextExtensions, GroupInfo, GroupSecrets, HPKECiphertext, KeyPackage, LeafNode,
    LeafNodeSourceData, Lifetime, Node, PSKTypeData, ParentNode, PathSecret, PreSharedKey,
    PreSharedKeyID, Proposal, ProposalOrRef, ProposalType, ProtocolVersion, RatchetTreeWire,
    ReInit, Remove, RequiredCapabilities, ResumptionPSKUsage, Update, UpdatePath, UpdatePathNode,
    Welcome,
};
use proptest::collection::vec;
use proptest::prelude::*;
use std::fmt::Debug;

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes)
}

/// Lengths that exercise every varint width: 0..64 (1 byte), 64..16384 (2 bytes) and
/// a few longer ones (4 bytes).
fn bytes_any_width() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => bytes(64),
        2 => vec(any::<u8>(), 64..300).prop_map(Bytes),
        1 => vec(any::<u8>(), 16384..16500).prop_map(Bytes),
    ]
}

fn suite() -> impl Strategy<Value = CipherSuite> {
    any::<u16>().prop_map(CipherSuite)
}

fn extensions() -> impl Strategy<Value = Extensions> {
    proptest::collection::btree_map(any::<u16>(), bytes(24), 0..4).prop_map(|m| {
        let list = m
            .into_iter()
            .map(|(t, d)| Extension {
                extension_type: ExtensionType(t),
                extension_data: d,
            })
            .collect();
        Extensions::from_vec(list).expect("types are distinct")
    })
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        bytes(32).prop_map(|identity| Credential::Basic { identity }),
        vec(
            bytes(40).prop_map(|cert_data| Certificate { cert_data }),
            0..3
        )
        .prop_map(|certificates| Credential::X509 { certificates }),
    ]
}

fn capabilities() -> impl Strategy<Value = Capabilities> {
    (
        vec(any::<u16>().prop_map(ProtocolVersion), 0..3),
        vec(suite(), 0..4),
        vec(any::<u16>().prop_map(ExtensionType), 0..4),
        vec(any::<u16>().prop_map(ProposalType), 0..4),
        vec(any::<u16>().prop_map(CredentialType), 0..3),
    )
        .prop_map(
            |(versions, cipher_suites, extensions, proposals, credentials)| Capabilities {
                versions,
                cipher_suites,
                extensions,
                proposals,
                credentials,
            },
        )
}

fn leaf_node() -> impl Strategy<Value = LeafNode> {
    let source = prop_oneof![
        (any::<u64>(), any::<u64>()).prop_map(|(not_before, not_after)| {
            LeafNodeSourceData::KeyPackage(Lifetime {
                not_before,
                not_after,
            })
        }),
        Just(LeafNodeSourceData::Update),
        bytes(48).prop_map(LeafNodeSourceData::Commit),
    ];
    (
        bytes(40),
        bytes(40),
        credential(),
        capabilities(),
        source,
        extensions(),
        bytes(72),
    )
        .prop_map(
            |(encryption_key, signature_key, credential, capabilities, source, extensions, sig)| {
                LeafNode {
                    encryption_key,
                    signature_key,
                    credential,
                    capabilities,
                    leaf_node_source: source,
                    extensions,
                    signature: sig,
                }
            },
        )
}

fn key_package() -> impl Strategy<Value = KeyPackage> {
    (
        any::<u16>(),
        suite(),
        bytes(40),
        leaf_node(),
        extensions(),
        bytes(72),
    )
        .prop_map(
            |(v, cipher_suite, init_key, leaf_node, extensions, signature)| KeyPackage {
                version: ProtocolVersion(v),
                cipher_suite,
                init_key,
                leaf_node,
                extensions,
                signature,
            },
        )
}

fn psk_id() -> impl Strategy<Value = PreSharedKeyID> {
    let usage = prop_oneof![
        Just(ResumptionPSKUsage::Application),
        Just(ResumptionPSKUsage::Reinit),
        Just(ResumptionPSKUsage::Branch),
    ];
    let psk = prop_oneof![
        bytes(32).prop_map(|psk_id| PSKTypeData::External { psk_id }),
        (usage, bytes(16), any::<u64>()).prop_map(|(usage, psk_group_id, psk_epoch)| {
            PSKTypeData::Resumption {
                usage,
                psk_group_id,
                psk_epoch,
            }
        }),
    ];
    (psk, bytes(48)).prop_map(|(psk, psk_nonce)| PreSharedKeyID { psk, psk_nonce })
}

fn proposal() -> impl Strategy<Value = Proposal> {
    prop_oneof![
        key_package().prop_map(|key_package| Proposal::Add(Box::new(Add { key_package }))),
        leaf_node().prop_map(|leaf_node| Proposal::Update(Box::new(Update { leaf_node }))),
        any::<u32>().prop_map(|removed| Proposal::Remove(Remove { removed })),
        psk_id().prop_map(|psk| Proposal::PreSharedKey(PreSharedKey { psk })),
        (bytes(16), any::<u16>(), suite(), extensions()).prop_map(|(g, v, cs, extensions)| {
            Proposal::ReInit(ReInit {
                group_id: g,
                version: ProtocolVersion(v),
                cipher_suite: cs,
                extensions,
            })
        }),
        bytes(64).prop_map(|kem_output| Proposal::ExternalInit(ExternalInit { kem_output })),
        extensions().prop_map(|extensions| {
            Proposal::GroupContextExtensions(GroupContextExtensions { extensions })
        }),
    ]
}

fn hpke_ciphertext() -> impl Strategy<Value = HPKECiphertext> {
    (bytes(40), bytes(80)).prop_map(|(kem_output, ciphertext)| HPKECiphertext {
        kem_output,
        ciphertext,
    })
}

fn commit() -> impl Strategy<Value = Commit> {
    let por = prop_oneof![
        proposal().prop_map(ProposalOrRef::Proposal),
        bytes(40).prop_map(ProposalOrRef::Reference),
    ];
    let node = (bytes(40), vec(hpke_ciphertext(), 0..3)).prop_map(|(k, c)| UpdatePathNode {
        encryption_key: k,
        encrypted_path_secret: c,
    });
    let path = (leaf_node(), vec(node, 0..3))
        .prop_map(|(leaf_node, nodes)| UpdatePath { leaf_node, nodes });
    (vec(por, 0..3), proptest::option::of(path))
        .prop_map(|(proposals, path)| Commit { proposals, path })
}

fn sender() -> impl Strategy<Value = Sender> {
    prop_oneof![
        any::<u32>().prop_map(Sender::Member),
        any::<u32>().prop_map(Sender::External),
        Just(Sender::NewMemberProposal),
        Just(Sender::NewMemberCommit),
    ]
}

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        bytes_any_width().prop_map(Content::Application),
        proposal().prop_map(Content::Proposal),
        commit().prop_map(|c| Content::Commit(Box::new(c))),
    ]
}

fn framed_content() -> impl Strategy<Value = FramedContent> {
    (bytes(16), any::<u64>(), sender(), bytes(24), content()).prop_map(
        |(group_id, epoch, sender, authenticated_data, content)| FramedContent {
            group_id,
            epoch,
            sender,
            authenticated_data,
            content,
        },
    )
}

/// A PublicMessage as its encoding determines it: a confirmation tag exactly on commits
/// (§6.1), a membership tag exactly for member senders (§6.2).
fn public_message() -> impl Strategy<Value = PublicMessage> {
    (framed_content(), bytes(72), bytes(48), bytes(48)).prop_map(|(content, sig, ct, mt)| {
        let is_commit = content.content_type() == ContentType::Commit;
        let is_member = matches!(content.sender, Sender::Member(_));
        PublicMessage {
            content,
            auth: FramedContentAuthData {
                signature: sig,
                confirmation_tag: is_commit.then_some(ct),
            },
            membership_tag: is_member.then_some(mt),
        }
    })
}

fn private_message() -> impl Strategy<Value = PrivateMessage> {
    let ct = prop_oneof![
        Just(ContentType::Application),
        Just(ContentType::Proposal),
        Just(ContentType::Commit),
    ];
    (
        bytes(16),
        any::<u64>(),
        ct,
        bytes(24),
        bytes(40),
        bytes_any_width(),
    )
        .prop_map(
            |(group_id, epoch, content_type, aad, esd, ciphertext)| PrivateMessage {
                group_id,
                epoch,
                content_type,
                authenticated_data: aad,
                encrypted_sender_data: esd,
                ciphertext,
            },
        )
}

fn group_context() -> impl Strategy<Value = GroupContext> {
    (
        any::<u16>(),
        suite(),
        bytes(16),
        any::<u64>(),
        bytes(48),
        bytes(48),
        extensions(),
    )
        .prop_map(
            |(v, cs, group_id, epoch, th, cth, extensions)| GroupContext {
                version: ProtocolVersion(v),
                cipher_suite: cs,
                group_id,
                epoch,
                tree_hash: th,
                confirmed_transcript_hash: cth,
                extensions,
            },
        )
}

fn group_info() -> impl Strategy<Value = GroupInfo> {
    (
        group_context(),
        extensions(),
        bytes(48),
        any::<u32>(),
        bytes(72),
    )
        .prop_map(
            |(group_context, extensions, confirmation_tag, signer, signature)| GroupInfo {
                group_context,
                extensions,
                confirmation_tag,
                signer,
                signature,
            },
        )
}

fn welcome() -> impl Strategy<Value = Welcome> {
    let egs = (bytes(40), hpke_ciphertext()).prop_map(|(new_member, c)| EncryptedGroupSecrets {
        new_member,
        encrypted_group_secrets: c,
    });
    (suite(), vec(egs, 0..4), bytes_any_width()).prop_map(|(cipher_suite, secrets, gi)| Welcome {
        cipher_suite,
        secrets,
        encrypted_group_info: gi,
    })
}

fn secret() -> impl Strategy<Value = Secret> {
    vec(any::<u8>(), 0..64).prop_map(Secret::new)
}

fn group_secrets() -> impl Strategy<Value = GroupSecrets> {
    (
        secret(),
        proptest::option::of(secret().prop_map(|path_secret| PathSecret { path_secret })),
        vec(psk_id(), 0..3),
    )
        .prop_map(|(joiner_secret, path_secret, psks)| GroupSecrets {
            joiner_secret,
            path_secret,
            psks,
        })
}

/// A ratchet tree as its encoding allows (§12.4.3.3): any nodes, the last one non-blank.
fn ratchet_tree() -> impl Strategy<Value = RatchetTreeWire> {
    let parent = (bytes(40), bytes(48), vec(any::<u32>(), 0..4)).prop_map(|(k, h, u)| {
        Node::Parent(Box::new(ParentNode {
            encryption_key: k,
            parent_hash: h,
            unmerged_leaves: u,
        }))
    });
    let node = prop_oneof![leaf_node().prop_map(|l| Node::Leaf(Box::new(l))), parent];
    (vec(proptest::option::of(node.clone()), 0..6), node).prop_map(|(mut nodes, last)| {
        nodes.push(Some(last));
        RatchetTreeWire(nodes)
    })
}

fn mls_message() -> impl Strategy<Value = MLSMessage> {
    prop_oneof![
        public_message().prop_map(|m| MLSMessageBody::PublicMessage(Box::new(m))),
        private_message().prop_map(MLSMessageBody::PrivateMessage),
        welcome().prop_map(MLSMessageBody::Welcome),
        group_info().prop_map(|g| MLSMessageBody::GroupInfo(Box::new(g))),
        key_package().prop_map(|k| MLSMessageBody::KeyPackage(Box::new(k))),
    ]
    .prop_map(MLSMessage::new)
}

/// `value` encodes to bytes that decode (exactly) to `value` and re-encode identically,
/// and no proper prefix of them decodes exactly.
fn round_trips<T: Encode + Decode + PartialEq + Debug>(value: &T) -> Result<(), TestCaseError> {
    let wire = value.to_bytes();
    let back = T::decode_exact(&wire).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert_eq!(&back, value);
    prop_assert_eq!(back.to_bytes(), wire.clone());
    let cut = wire.len() / 2;
    prop_assert!(T::decode_exact(&wire[..cut]).is_err() || cut == wire.len());
    let mut longer = wire;
    longer.push(0);
    prop_assert!(T::decode_exact(&longer).is_err());
    Ok(())
}

/// Whatever garbage decodes must re-encode to exactly the bytes it came from (the
/// codec is canonical, §2.1.2: minimal varints, no trailing bytes).
fn garbage_is_canonical<T: Encode + Decode>(input: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(v) = T::decode_exact(input) {
        prop_assert_eq!(v.to_bytes(), input.to_vec());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn key_packages_round_trip(v in key_package()) { round_trips(&v)?; }

    #[test]
    fn leaf_nodes_round_trip(v in leaf_node()) { round_trips(&v)?; }

    #[test]
    fn proposals_round_trip(v in proposal()) { round_trips(&v)?; }

    #[test]
    fn commits_round_trip(v in commit()) { round_trips(&v)?; }

    #[test]
    fn framed_contents_round_trip(v in framed_content()) { round_trips(&v)?; }

    #[test]
    fn mls_messages_round_trip(v in mls_message()) { round_trips(&v)?; }

    #[test]
    fn group_infos_round_trip(v in group_info()) { round_trips(&v)?; }

    #[test]
    fn welcomes_round_trip(v in welcome()) { round_trips(&v)?; }

    #[test]
    fn group_secrets_round_trip(v in group_secrets()) { round_trips(&v)?; }

    #[test]
    fn ratchet_trees_round_trip(v in ratchet_tree()) { round_trips(&v)?; }

    #[test]
    fn psk_ids_round_trip(v in psk_id()) { round_trips(&v)?; }

    #[test]
    fn small_structs_round_trip(
        e in extensions(),
        c in credential(),
        gc in group_context(),
        key in bytes(40),
        rc in (vec(any::<u16>(), 0..3), vec(any::<u16>(), 0..3), vec(any::<u16>(), 0..3)),
    ) {
        round_trips(&e)?;
        round_trips(&c)?;
        round_trips(&gc)?;
        round_trips(&ExternalSender { signature_key: key, credential: c.clone() })?;
        round_trips(&RequiredCapabilities {
            extension_types: rc.0.into_iter().map(ExtensionType).collect(),
            proposal_types: rc.1.into_iter().map(ProposalType).collect(),
            credential_types: rc.2.into_iter().map(CredentialType).collect(),
        })?;
    }

    /// Random bytes never panic any decoder, and what decodes is canonical.
    #[test]
    fn garbage_never_panics(input in vec(any::<u8>(), 0..512)) {
        garbage_is_canonical::<MLSMessage>(&input)?;
        garbage_is_canonical::<KeyPackage>(&input)?;
        garbage_is_canonical::<Welcome>(&input)?;
        garbage_is_canonical::<GroupInfo>(&input)?;
        garbage_is_canonical::<RatchetTreeWire>(&input)?;
        garbage_is_canonical::<GroupSecrets>(&input)?;
        garbage_is_canonical::<Commit>(&input)?;
        garbage_is_canonical::<LeafNode>(&input)?;
        garbage_is_canonical::<Extensions>(&input)?;
    }

    /// Valid encodings with a few bytes overwritten: deep inside the structures, where
    /// plain random bytes rarely reach. Length prefixes made huge must fail, not allocate.
    #[test]
    fn mutated_messages_never_panic(
        v in mls_message(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut wire = v.to_bytes();
        for (at, b) in edits {
            let i = at.index(wire.len());
            wire[i] = b;
        }
        garbage_is_canonical::<MLSMessage>(&wire)?;
    }
}

/// A length prefix claiming the maximum (2^30 - 1 bytes) in a tiny input is a decode
/// error found without reserving that memory.
#[test]
fn huge_length_prefixes_are_refused() {
    // MLSMessage mls10, wire format KeyPackage, then a KeyPackage whose version is
    // followed by a suite and an init_key of length 0x3fffffff.
    let input = [0, 1, 0, 5, 0, 1, 0, 1, 0xbf, 0xff, 0xff, 0xff, 1, 2, 3];
    assert!(MLSMessage::decode_exact(&input).is_err());
    let tree = [0xbf, 0xff, 0xff, 0xff, 1];
    assert!(RatchetTreeWire::decode_exact(&tree).is_err());
}
