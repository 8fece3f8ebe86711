//! Welcome round trips and one negative test per joiner check of §12.4.3.1.

use super::*;
use crate::crypto::CipherSuite;
use crate::group::key_package::test_key_package;
use crate::group::key_package::KeyPackageSecrets;
use crate::messages::{Extensions, GroupContext, PathSecret, ProtocolVersion};

/// A committer's view: the GroupInfo it signed, the secrets and a joiner's KeyPackage.
struct Fixture {
    suite: Suite,
    signer: SignaturePrivateKey,
    joiner: KeyPackageSecrets,
    joiner_secret: JoinerSecret,
    group_info: GroupInfo,
    welcome: Welcome,
}

fn zero_psk(suite: &Suite) -> Secret {
    Secret::zero(suite.hash_len())
}

/// A signed GroupInfo whose confirmation tag matches the joiner secret with no PSKs, and
/// a Welcome for one joiner (plus a second, unrelated one).
fn fixture(cs: u16) -> Fixture {
    let suite = Suite::new(CipherSuite(cs)).unwrap();
    let signer = suite.generate_signature_key_pair().unwrap();
    let joiner = test_key_package(&suite, "joiner");
    let other = test_key_package(&suite, "other");
    let joiner_secret = JoinerSecret(Secret::new(vec![9; suite.hash_len()]));
    let group_context = GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: suite.id(),
        group_id: Bytes(b"welcome tests".to_vec()),
        epoch: 3,
        tree_hash: Bytes(vec![1; suite.hash_len()]),
        confirmed_transcript_hash: Bytes(vec![2; suite.hash_len()]),
        extensions: Extensions::new(),
    };
    let secrets = joiner_secret
        .epoch_secrets(&suite, &zero_psk(&suite), &group_context.to_bytes())
        .unwrap();
    let tag = secrets.confirmation_tag(&suite, &group_context.confirmed_transcript_hash);
    let mut group_info = GroupInfo {
        group_context,
        extensions: Extensions::new(),
        confirmation_tag: Bytes(tag),
        signer: 0,
        signature: Bytes::default(),
    };
    sign_group_info(&suite, &mut group_info, &signer).unwrap();
    let group_secrets = |path: u8| GroupSecrets {
        joiner_secret: joiner_secret.0.clone(),
        path_secret: Some(PathSecret {
            path_secret: Secret::new(vec![path; suite.hash_len()]),
        }),
        psks: Vec::new(),
    };
    let welcome = seal_welcome(
        &suite,
        &group_info,
        &joiner_secret,
        &zero_psk(&suite),
        &[
            (other.key_package.clone(), group_secrets(5)),
            (joiner.key_package.clone(), group_secrets(6)),
        ],
    )
    .unwrap();
    Fixture {
        suite,
        signer,
        joiner,
        joiner_secret,
        group_info,
        welcome,
    }
}

impl Fixture {
    fn open(&self, welcome: &Welcome) -> Result<OpenedWelcome> {
        open_welcome(
            welcome,
            &self.joiner.key_package,
            &self.joiner.init_key,
            &|suite, _| Ok(zero_psk(suite)),
        )
    }
}

fn invalid(rule: Rule) -> Error {
    Error::Invalid(rule)
}

#[test]
fn a_sealed_welcome_opens_verifies_and_confirms_in_every_suite() {
    for id in CipherSuite::ALL {
        let f = fixture(id.0);
        let opened = f.open(&f.welcome).unwrap();
        assert_eq!(opened.group_info, f.group_info);
        assert_eq!(opened.group_secrets.joiner_secret, f.joiner_secret.0);
        let path = opened.group_secrets.path_secret.as_ref().unwrap();
        assert_eq!(path.path_secret.as_bytes()[0], 6);
        verify_group_info(&f.suite, &opened.group_info, f.signer.public_key()).unwrap();
        let joiner = JoinerSecret(opened.group_secrets.joiner_secret.clone());
        welcome_epoch_secrets(&f.suite, &joiner, &zero_psk(&f.suite), &opened.group_info).unwrap();
    }
}

#[test]
fn a_welcome_without_our_entry_is_rejected() {
    let f = fixture(1);
    let mut welcome = f.welcome.clone();
    welcome.secrets.remove(1);
    assert_eq!(f.open(&welcome).unwrap_err(), invalid(Rule::WelcomeNoEntry));
}

#[test]
fn a_welcome_of_another_cipher_suite_is_rejected() {
    let f = fixture(1);
    let mut welcome = f.welcome.clone();
    welcome.cipher_suite = CipherSuite(3);
    assert_eq!(
        f.open(&welcome).unwrap_err(),
        invalid(Rule::WelcomeCipherSuite)
    );
    let other = Suite::new(CipherSuite(3)).unwrap();
    let reference = key_package_ref(&f.suite, &f.joiner.key_package);
    assert_eq!(
        open_group_secrets(&other, &f.welcome, &reference, &f.joiner.init_key).unwrap_err(),
        invalid(Rule::WelcomeCipherSuite)
    );
}

#[test]
fn a_tampered_encrypted_group_info_is_rejected() {
    let f = fixture(1);
    let mut welcome = f.welcome.clone();
    welcome.encrypted_group_info.0[3] ^= 0x80;
    // The GroupSecrets are bound to encrypted_group_info as HPKE context, so they fail
    // first; with the right joiner secret the AEAD fails too.
    assert_eq!(
        f.open(&welcome).unwrap_err(),
        invalid(Rule::WelcomeGroupSecretsDecryption)
    );
    assert_eq!(
        decrypt_group_info(&f.suite, &welcome, &f.joiner_secret, &zero_psk(&f.suite)).unwrap_err(),
        invalid(Rule::WelcomeGroupInfoDecryption)
    );
    // A wrong PSK secret gives a wrong welcome key.
    let wrong_psk = Secret::new(vec![1; f.suite.hash_len()]);
    assert_eq!(
        decrypt_group_info(&f.suite, &f.welcome, &f.joiner_secret, &wrong_psk).unwrap_err(),
        invalid(Rule::WelcomeGroupInfoDecryption)
    );
}

#[test]
fn a_group_info_signed_by_another_key_is_rejected() {
    let f = fixture(1);
    let mallory = f.suite.generate_signature_key_pair().unwrap();
    let opened = f.open(&f.welcome).unwrap();
    assert_eq!(
        verify_group_info(&f.suite, &opened.group_info, mallory.public_key()).unwrap_err(),
        invalid(Rule::GroupInfoSignature)
    );
    let mut forged = f.group_info.clone();
    sign_group_info(&f.suite, &mut forged, &mallory).unwrap();
    assert_eq!(
        verify_group_info(&f.suite, &forged, f.signer.public_key()).unwrap_err(),
        invalid(Rule::GroupInfoSignature)
    );
}

#[test]
fn undecodable_group_secrets_are_rejected() {
    let f = fixture(1);
    let mut welcome = f.welcome.clone();
    let (kem_output, ciphertext) = f
        .suite
        .encrypt_with_label(
            &f.joiner.key_package.init_key,
            "Welcome",
            &welcome.encrypted_group_info,
            b"\x05not group secrets",
        )
        .unwrap();
    welcome.secrets[1].encrypted_group_secrets = HPKECiphertext {
        kem_output: Bytes(kem_output),
        ciphertext: Bytes(ciphertext),
    };
    assert_eq!(
        f.open(&welcome).unwrap_err(),
        invalid(Rule::WelcomeGroupSecretsMalformed)
    );
}

#[test]
fn a_wrong_confirmation_tag_is_rejected() {
    let f = fixture(1);
    let mut group_info = f.group_info.clone();
    group_info.confirmation_tag.0[0] ^= 1;
    assert_eq!(
        welcome_epoch_secrets(&f.suite, &f.joiner_secret, &zero_psk(&f.suite), &group_info)
            .unwrap_err(),
        invalid(Rule::ConfirmationTag)
    );
}
