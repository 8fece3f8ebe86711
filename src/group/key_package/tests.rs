use super::*;
use crate::codec::Decode;
use crate::crypto::CipherSuite;

fn fresh(suite: &Suite) -> KeyPackageSecrets {
    let signer = suite.generate_signature_key_pair().unwrap();
    KeyPackageSecrets::generate(
        suite,
        Credential::basic(b"alice".to_vec()),
        &signer,
        &KeyPackageOptions::default(),
    )
    .unwrap()
}

#[test]
fn generated_key_packages_validate_for_every_suite() {
    for id in CipherSuite::ALL {
        let suite = Suite::new(id).unwrap();
        let kp = fresh(&suite);
        validate_key_package(&suite, &kp.key_package, Some(unix_now())).unwrap();
        let decoded = KeyPackage::decode_exact(&kp.key_package.to_bytes()).unwrap();
        assert_eq!(decoded, kp.key_package);
        assert_eq!(kp.reference().unwrap().len(), suite.hash_len());
    }
}

#[test]
fn tampered_key_package_is_rejected_with_its_rule() {
    let suite = Suite::new(CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519).unwrap();
    let kp = fresh(&suite).key_package;

    // §10.1: the KeyPackage signature covers init_key.
    let mut bad = kp.clone();
    bad.init_key.0[0] ^= 1;
    assert_eq!(
        validate_key_package(&suite, &bad, None),
        Err(Error::Invalid(Rule::KeyPackageSignature))
    );

    // §7.3: the leaf signature covers the credential.
    let mut bad = kp.clone();
    bad.leaf_node.credential = Credential::basic(b"mallory".to_vec());
    assert_eq!(
        validate_key_package(&suite, &bad, None),
        Err(Error::Invalid(Rule::KeyPackageLeafSignature))
    );

    // §10.1: suite must match the group's.
    let other = Suite::new(CipherSuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256).unwrap();
    assert_eq!(
        validate_key_package(&other, &kp, None),
        Err(Error::Invalid(Rule::KeyPackageSuiteOrVersion))
    );

    // §7.3: lifetime.
    assert_eq!(
        validate_key_package(&suite, &kp, Some(u64::MAX)),
        Err(Error::Invalid(Rule::KeyPackageLifetime))
    );

    // §10: leaf node source must be key_package.
    let mut bad = kp.clone();
    bad.leaf_node.leaf_node_source = LeafNodeSourceData::Update;
    assert_eq!(
        validate_key_package(&suite, &bad, None),
        Err(Error::Invalid(Rule::KeyPackageLeafSource))
    );
}

#[test]
fn init_key_equal_to_encryption_key_is_rejected() {
    // §10.1: build a correctly signed package whose init key is the leaf encryption key.
    let suite = Suite::new(CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519).unwrap();
    let secrets = fresh(&suite);
    let mut kp = secrets.key_package.clone();
    kp.init_key = kp.leaf_node.encryption_key.clone();
    kp.signature = Bytes(
        suite
            .sign_with_label(&secrets.signer, "KeyPackageTBS", &kp.tbs_bytes())
            .unwrap(),
    );
    assert_eq!(
        validate_key_package(&suite, &kp, None),
        Err(Error::Invalid(Rule::KeyPackageInitKeyReused))
    );
}

#[test]
fn last_resort_marker_is_listed_in_capabilities() {
    let suite = Suite::new(CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519).unwrap();
    let signer = suite.generate_signature_key_pair().unwrap();
    let opts = KeyPackageOptions {
        last_resort: true,
        ..Default::default()
    };
    let kp = KeyPackageSecrets::generate(&suite, Credential::basic(b"a".to_vec()), &signer, &opts)
        .unwrap();
    assert!(is_last_resort(&kp.key_package));
    assert!(kp
        .key_package
        .leaf_node
        .capabilities
        .extensions
        .contains(&LAST_RESORT));
    validate_key_package(&suite, &kp.key_package, None).unwrap();
}

#[test]
fn from_parts_rejects_mismatched_keys() {
    let suite = Suite::new(CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519).unwrap();
    let a = fresh(&suite);
    let b = fresh(&suite);
    assert!(KeyPackageSecrets::from_parts(
        a.key_package.clone(),
        b.init_key.clone(),
        a.encryption_key.clone(),
        a.signer.clone()
    )
    .is_err());
    assert!(
        KeyPackageSecrets::from_parts(a.key_package, a.init_key, a.encryption_key, a.signer)
            .is_ok()
    );
}
