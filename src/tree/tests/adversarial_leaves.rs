//! Trees broken in exactly one way in their leaves: key uniqueness (§7.3, §12.4.3.1), leaf
//! signatures (§7.3), capabilities and group requirements (§7.2, §7.3, §11.1), lifetimes and
//! the application's credential check (§7.3, §5.3.1). Defects are planted while the tree is
//! built, so parent hashes and tree hashes stay consistent and only the named rule fails.

use super::adversarial_tree::assert_rule;
use super::fixtures::{vector_trees, Builder};
use crate::codec::Bytes;
use crate::crypto::CipherSuite;
use crate::error::Rule;
use crate::messages::{
    Certificate, Credential, CredentialType, Extension, ExtensionType, Extensions, LeafNode,
    LeafNodeSourceData, ProposalType, ProtocolVersion, RequiredCapabilities,
};
use crate::tree::validation::TreeValidationContext;

// ---- §7.3 and §12.4.3.1: unique keys ----

#[test]
fn duplicate_leaf_encryption_key_is_rejected() {
    let mut b = Builder::tweaked(|i, leaf| {
        if i == 1 || i == 3 {
            leaf.encryption_key = Bytes(vec![7; 32]);
        }
    });
    b.grow_to(5);
    assert_rule(b.validate(), Rule::DuplicateLeafEncryptionKey, "7.3");
}

#[test]
fn duplicate_signature_key_is_rejected() {
    let mut b = Builder::new();
    b.shared_key = Some(b.suite.generate_signature_key_pair().unwrap());
    b.grow_to(4);
    assert_rule(b.validate(), Rule::DuplicateSignatureKey, "7.3");
}

#[test]
fn parent_key_equal_to_a_leaf_key_is_rejected() {
    let mut b = Builder::get_tree(4);
    let n = b.tree.filtered_direct_path(0).len();
    let mut keys: Vec<Bytes> = (0..n).map(|_| b.fresh_key()).collect();
    keys[0] = b.tree.leaf(2).unwrap().encryption_key.clone();
    b.commit_with_keys(0, &keys);
    assert_rule(b.validate(), Rule::DuplicateParentEncryptionKey, "12.4.3.1");
}

#[test]
fn two_parents_with_one_key_are_rejected() {
    let mut b = Builder::get_tree(8);
    let n = b.tree.filtered_direct_path(2).len();
    assert!(n >= 2);
    let key = b.fresh_key();
    b.commit_with_keys(2, &vec![key; n]);
    assert_rule(b.validate(), Rule::DuplicateParentEncryptionKey, "12.4.3.1");
}

// ---- §7.3: leaf signatures ----

/// A builder whose leaf `target` is signed by `sign` instead of correctly.
fn misigned(target: u32, sign: impl Fn(&Builder, u32, &mut LeafNode) + 'static) -> Builder {
    Builder::sign_tweaked(move |i, leaf, b| {
        if i != target {
            return false;
        }
        sign(b, i, leaf);
        true
    })
}

#[test]
fn leaf_signed_for_another_group_is_rejected() {
    let mut b = misigned(2, |b, i, leaf| {
        let key = b.keys[i as usize].clone().unwrap();
        b.sign_leaf_as(leaf, &key, b"another group", i);
    });
    b.grow_to(4); // leaf 2 commits: a commit-sourced leaf binds the group id
    assert_rule(b.validate(), Rule::LeafNodeSignature, "7.3");
}

#[test]
fn leaf_signed_for_another_index_is_rejected() {
    let mut b = misigned(2, |b, i, leaf| {
        let key = b.keys[i as usize].clone().unwrap();
        b.sign_leaf_as(leaf, &key, &b.group_id, i + 1);
    });
    b.grow_to(4);
    assert_rule(b.validate(), Rule::LeafNodeSignature, "7.3");
}

#[test]
fn leaf_signed_by_another_key_is_rejected() {
    let mut b = misigned(1, |b, i, leaf| {
        let other = b.suite.generate_signature_key_pair().unwrap();
        b.sign_leaf_as(leaf, &other, &b.group_id, i);
    });
    b.grow_to(3);
    assert_rule(b.validate(), Rule::LeafNodeSignature, "7.3");
}

#[test]
fn key_package_leaf_signed_with_group_context_is_rejected() {
    // A key_package-sourced leaf's TBS carries no group id or index (§7.2); signing the
    // update-shaped TBS instead must not verify.
    let mut b = misigned(3, |b, i, leaf| {
        let mut as_update = leaf.clone();
        as_update.leaf_node_source = LeafNodeSourceData::Update;
        b.sign_leaf(i, &mut as_update);
        leaf.signature = as_update.signature;
    });
    b.grow_to(4); // leaf 3 is the newest member: still key_package-sourced
    assert!(matches!(
        b.tree.leaf(3).unwrap().leaf_node_source,
        LeafNodeSourceData::KeyPackage(_)
    ));
    assert_rule(b.validate(), Rule::LeafNodeSignature, "7.3");
}

/// A 1000-member tree whose leaf `bad` carries a signature with one bit flipped.
fn thousand_with_bad_signature(bad: u32) -> Builder {
    let mut b = Builder::sign_tweaked(move |i, leaf, b| {
        if i != bad {
            return false;
        }
        b.sign_leaf(i, leaf);
        leaf.signature.0[10] ^= 0x04;
        true
    });
    for _ in 1..1000 {
        b.add();
    }
    b.commit(500);
    b
}

#[test]
fn bad_signature_in_the_last_thread_chunk_is_found() {
    let mut b = thousand_with_bad_signature(999);
    assert_rule(b.validate(), Rule::LeafNodeSignature, "7.3");
}

#[test]
fn bad_signature_in_the_first_leaf_is_found() {
    let mut b = thousand_with_bad_signature(0);
    assert_rule(b.validate(), Rule::LeafNodeSignature, "7.3");
}

#[test]
fn structural_fault_outranks_a_bad_signature() {
    // §12.4.3.1: signatures are verified alongside the structural checks, but the verdict
    // must not depend on which finishes first: the fixed order reports the structural rule.
    let mut b = thousand_with_bad_signature(3);
    let mut leaf = b.tree.leaf(7).unwrap().clone();
    leaf.signature_key = b.tree.leaf(8).unwrap().signature_key.clone();
    b.tree.set_leaf(7, leaf).unwrap();
    for _ in 0..5 {
        assert_rule(b.validate(), Rule::DuplicateSignatureKey, "7.3");
    }
}

#[test]
fn vector_tree_checked_against_another_group_id_is_rejected() {
    let case = &vector_trees()[2];
    let mut tree = case.load();
    let mut gc = case.group_context(&mut tree);
    gc.group_id.0[0] ^= 1;
    assert_rule(
        tree.validate(&TreeValidationContext::new(&gc)),
        Rule::LeafNodeSignature,
        "7.3",
    );
}

// ---- §7.2, §7.3, §11.1: capabilities ----

#[test]
fn credential_type_missing_from_own_capabilities_is_rejected() {
    let mut b = Builder::tweaked(|i, leaf| {
        if i == 2 {
            leaf.capabilities.credentials = vec![CredentialType::X509];
        }
    });
    b.grow_to(4);
    assert_rule(b.validate(), Rule::CredentialTypeNotInCapabilities, "7.2");
}

#[test]
fn credential_type_unsupported_by_another_member_is_rejected() {
    // Leaf 2 uses X.509 and supports both; the others support only basic.
    let mut b = Builder::tweaked(|i, leaf| {
        if i == 2 {
            leaf.credential = Credential::X509 {
                certificates: vec![Certificate {
                    cert_data: Bytes(vec![0x30, 0x00]),
                }],
            };
            leaf.capabilities.credentials = vec![CredentialType::BASIC, CredentialType::X509];
        }
    });
    b.grow_to(4);
    assert_rule(b.validate(), Rule::CredentialTypeNotSupportedByAll, "7.3");
}

#[test]
fn unsupported_cipher_suite_is_rejected() {
    let mut b = Builder::tweaked(|i, leaf| {
        if i == 3 {
            leaf.capabilities.cipher_suites = vec![CipherSuite(2), CipherSuite(0x0a0a)];
        }
    });
    b.grow_to(5);
    assert_rule(b.validate(), Rule::UnsupportedCipherSuite, "11.1");
}

#[test]
fn unsupported_protocol_version_is_rejected() {
    let mut b = Builder::tweaked(|i, leaf| {
        if i == 1 {
            leaf.capabilities.versions = vec![ProtocolVersion(2)];
        }
    });
    b.grow_to(3);
    assert_rule(b.validate(), Rule::UnsupportedProtocolVersion, "11.1");
}

/// A GroupContext for `b` with `required_capabilities` set to `req`.
fn validate_with_required(b: &mut Builder, req: RequiredCapabilities) -> crate::Result<()> {
    let mut gc = b.group_context();
    gc.extensions = Extensions::from_vec(vec![Extension::new(
        ExtensionType::REQUIRED_CAPABILITIES,
        &req,
    )])
    .unwrap();
    b.tree.validate(&TreeValidationContext::new(&gc))
}

/// Every leaf lists extension 0xff00 and proposal 0xff01, except leaf `odd_one`.
fn all_but(odd_one: u32) -> Builder {
    let mut b = Builder::tweaked(move |i, leaf| {
        if i != odd_one {
            leaf.capabilities.extensions = vec![ExtensionType(0xff00)];
            leaf.capabilities.proposals = vec![ProposalType(0xff01)];
        }
    });
    b.grow_to(5);
    b
}

#[test]
fn required_extension_missing_is_rejected() {
    let mut b = all_but(2);
    let req = RequiredCapabilities {
        extension_types: vec![ExtensionType(0xff00)],
        ..Default::default()
    };
    assert_rule(
        validate_with_required(&mut b, req),
        Rule::RequiredCapabilityMissing,
        "7.3",
    );
}

#[test]
fn required_proposal_missing_is_rejected() {
    let mut b = all_but(4);
    let req = RequiredCapabilities {
        proposal_types: vec![ProposalType(0xff01)],
        ..Default::default()
    };
    assert_rule(
        validate_with_required(&mut b, req),
        Rule::RequiredCapabilityMissing,
        "7.3",
    );
}

#[test]
fn required_credential_type_missing_is_rejected() {
    let mut b = all_but(9);
    let req = RequiredCapabilities {
        credential_types: vec![CredentialType::X509],
        ..Default::default()
    };
    assert_rule(
        validate_with_required(&mut b, req),
        Rule::RequiredCapabilityMissing,
        "7.3",
    );
}

#[test]
fn required_default_types_need_not_be_listed() {
    // §11.1: default extension and proposal types are implemented by every client.
    let mut b = all_but(9);
    let req = RequiredCapabilities {
        extension_types: vec![ExtensionType::APPLICATION_ID, ExtensionType(0xff00)],
        proposal_types: vec![ProposalType::REMOVE, ProposalType(0xff01)],
        credential_types: vec![CredentialType::BASIC],
    };
    validate_with_required(&mut b, req).unwrap();
}

#[test]
fn leaf_extension_missing_from_capabilities_is_rejected() {
    let mut b = Builder::tweaked(|i, leaf| {
        // application_id is a default type and needs no listing; 0xff02 does.
        leaf.extensions.insert(Extension {
            extension_type: ExtensionType::APPLICATION_ID,
            extension_data: Bytes(vec![1, i as u8]),
        });
        if i == 1 {
            leaf.extensions.insert(Extension {
                extension_type: ExtensionType(0xff02),
                extension_data: Bytes(vec![]),
            });
        }
    });
    b.grow_to(3);
    assert_rule(b.validate(), Rule::LeafExtensionNotInCapabilities, "7.2");
}

// ---- §7.3 lifetimes and §5.3.1 credentials ----

#[test]
fn expired_key_package_leaf_is_rejected_when_time_is_given() {
    let mut b = Builder::get_tree(3);
    b.add(); // a key_package-sourced leaf with lifetime 1000..=2000
    let gc = b.group_context();
    let mut ctx = TreeValidationContext::new(&gc);
    ctx.now = Some(2_001);
    assert_rule(b.tree.validate(&ctx), Rule::LeafLifetime, "7.3");
    ctx.now = Some(999);
    assert_rule(b.tree.validate(&ctx), Rule::LeafLifetime, "7.3");
}

#[test]
fn credential_rejected_by_the_application_is_rejected() {
    let mut b = Builder::get_tree(4);
    let gc = b.group_context();
    let reject_member_3 =
        |_: u32, leaf: &LeafNode| leaf.credential != Credential::basic(*b"member 3");
    let mut ctx = TreeValidationContext::new(&gc);
    ctx.credential_validator = Some(&reject_member_3);
    assert_rule(b.tree.validate(&ctx), Rule::CredentialRejected, "5.3.1");
}
