//! Unit tests of the experimental post-quantum suites: the published known answers of X-Wing,
//! ML-KEM and ML-DSA key generation through our KEM and signature layer (`vectors/pq/`),
//! sizes from the specifications, round trips and typed failures for all twelve suites, and
//! our key schedule over the crate's KEMs checked against the `hpke` crate's own base mode.

use super::kem::EncapRng;
use super::suite::KemAlg;
use super::*;
use crate::error::{CryptoError, Error};
use ::hpke::Deserializable;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}

fn pq_suites() -> Vec<Suite> {
    CipherSuite::EXPERIMENTAL_PQ
        .iter()
        .map(|&id| Suite::new(id).expect("pq suite"))
        .collect()
}

fn crypto_err<T: core::fmt::Debug>(r: crate::Result<T>) -> CryptoError {
    match r {
        Err(Error::Crypto(e)) => e,
        other => panic!("expected a crypto error, got {other:?}"),
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("vendored JSON")
}

fn field(v: &serde_json::Value, name: &str) -> Vec<u8> {
    h(v[name].as_str().expect("hex field"))
}

#[test]
fn every_experimental_suite_resolves_and_parses_by_name() {
    for id in CipherSuite::EXPERIMENTAL_PQ {
        let suite = Suite::new(id).expect("resolves");
        assert!(id.is_experimental());
        let name = id.name().expect("named");
        assert_eq!(CipherSuite::parse(name), Some(id));
        assert_eq!(CipherSuite::parse(&format!("0x{:04x}", id.0)), Some(id));
        assert_eq!(suite.id(), id);
    }
    assert!(!CipherSuite(1).is_experimental());
    assert_eq!(CipherSuite::supported().len(), 19);
    assert_eq!(CipherSuite::parse("no such suite"), None);
}

/// (Npk, Nenc, Nsk) of draft-ietf-hpke-pq §4 / draft-connolly-cfrg-xwing-kem, and
/// (public key, signature) of FIPS 204 Table 2.
#[test]
fn sizes_follow_the_specifications() {
    let kems = [
        (KemAlg::XWing, 0x647a, 1216, 1120, 32),
        (KemAlg::MlKem768, 0x0041, 1184, 1088, 64),
        (KemAlg::MlKem1024, 0x0042, 1568, 1568, 64),
        (KemAlg::MlKem768P256, 0x0050, 1184 + 65, 1088 + 65, 32),
        (KemAlg::MlKem1024P384, 0x0051, 1568 + 97, 1568 + 97, 32),
    ];
    for (kem, id, npk, nenc, nsk) in kems {
        assert_eq!(
            (kem.id(), kem.public_len(), kem.enc_len(), kem.private_len()),
            (id, npk, nenc, nsk),
            "{kem:?}"
        );
    }
    let sigs = [
        (
            CipherSuite::MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44,
            1312,
            2420,
        ),
        (
            CipherSuite::MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65,
            1952,
            3309,
        ),
        (
            CipherSuite::MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87,
            2592,
            4627,
        ),
    ];
    for (id, pk_len, sig_len) in sigs {
        let suite = Suite::new(id).unwrap();
        let key = suite.generate_signature_key_pair().unwrap();
        assert_eq!(key.public_key().len(), pk_len, "{id:?}");
        let sig = suite.sign_with_label(&key, "L", b"content").unwrap();
        assert_eq!(sig.len(), sig_len, "{id:?}");
    }
    for suite in pq_suites() {
        let key = suite.generate_hpke_key_pair().unwrap();
        assert_eq!(key.public_key().len(), suite.hpke_public_key_len());
        let (enc, _) = suite
            .encrypt_with_label(key.public_key(), "L", b"", b"x")
            .unwrap();
        assert_eq!(enc.len(), suite.hpke_enc_len(), "{:?}", suite.id());
    }
}

/// draft-connolly-cfrg-xwing-kem Appendix C: KeyGen from the seed, Encap with the fixed
/// `eseed` (exactly its 64 bytes), Decap.
#[test]
fn xwing_draft_known_answers() {
    let vectors = json(include_str!("../../vectors/pq/xwing-draft.json"));
    let cases = vectors.as_array().expect("array");
    assert_eq!(cases.len(), 3);
    for (i, case) in cases.iter().enumerate() {
        let (sk, pk) = (field(case, "sk"), field(case, "pk"));
        assert_eq!(
            field(case, "seed"),
            sk,
            "case {i}: the private key is the seed"
        );
        assert_eq!(
            KemAlg::XWing.public_from_private(&sk).unwrap(),
            pk,
            "pk {i}"
        );
        let mut rng = EncapRng::fixed(&field(case, "eseed"));
        let (ss, ct) = KemAlg::XWing.encap_with(&pk, &mut rng).unwrap();
        assert_eq!(rng.used(), 64, "case {i}");
        assert_eq!(ct, field(case, "ct"), "ct {i}");
        assert_eq!(ss.as_bytes(), field(case, "ss"), "ss {i}");
        let decapped = KemAlg::XWing.decap(&ct, &sk, &pk).unwrap();
        assert_eq!(decapped.as_bytes(), field(case, "ss"), "decap {i}");
    }
}

/// The LAMPS certificate drafts' example keys: ML-KEM KeyGen from (d ‖ z) and ML-DSA KeyGen
/// from ξ, both 00 01 02 …, give the published public keys.
#[test]
fn lamps_example_keys() {
    let keys = json(include_str!("../../vectors/pq/lamps-keys.json"));
    let mut seen = 0;
    for key in keys.as_array().expect("array") {
        let (seed, public) = (field(key, "seed"), field(key, "public_key"));
        let ours = match key["algorithm"].as_str().expect("name") {
            "ML-KEM-768" => KemAlg::MlKem768.public_from_private(&seed).unwrap(),
            "ML-KEM-1024" => KemAlg::MlKem1024.public_from_private(&seed).unwrap(),
            alg => {
                let id = match alg {
                    "ML-DSA-44" => {
                        CipherSuite::MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44
                    }
                    "ML-DSA-65" => CipherSuite::MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65,
                    "ML-DSA-87" => CipherSuite::MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87,
                    other => panic!("unexpected algorithm {other}"),
                };
                let suite = Suite::new(id).unwrap();
                let signer = suite.signature_key_from_bytes(&seed).unwrap();
                assert_eq!(signer.to_bytes().as_bytes(), seed);
                signer.public_key().to_vec()
            }
        };
        assert_eq!(ours, public, "{}", key["algorithm"]);
        seen += 1;
    }
    assert_eq!(seen, 5);
}

#[test]
fn round_trips_every_pq_suite() {
    for suite in pq_suites() {
        let id = suite.id();
        let key = suite.generate_hpke_key_pair().unwrap();
        let (enc, ct) = suite
            .encrypt_with_label(key.public_key(), "Welcome", b"ctx", b"secret")
            .unwrap();
        let pt = suite
            .decrypt_with_label(&key, "Welcome", b"ctx", &enc, &ct)
            .unwrap();
        assert_eq!(pt, b"secret", "{id:?}");
        assert_eq!(
            crypto_err(suite.decrypt_with_label(&key, "Welcome", b"other", &enc, &ct)),
            CryptoError::DecryptFailed,
            "{id:?}"
        );

        let (kem_output, sent) = suite
            .hpke_export_sender(key.public_key(), b"info", b"exp", 32)
            .unwrap();
        let received = suite
            .hpke_export_receiver(&key, &kem_output, b"info", b"exp", 32)
            .unwrap();
        assert_eq!(sent.as_bytes(), received.as_bytes(), "{id:?}");

        let reloaded = suite
            .hpke_key_from_bytes(key.to_bytes().as_bytes())
            .unwrap();
        assert_eq!(reloaded.public_key(), key.public_key(), "{id:?}");
        let derived = suite.derive_key_pair(b"ikm").unwrap();
        assert_eq!(
            derived.public_key(),
            suite.derive_key_pair(b"ikm").unwrap().public_key()
        );
        assert_ne!(
            derived.public_key(),
            suite.derive_key_pair(b"ikm2").unwrap().public_key()
        );

        let signer = suite.generate_signature_key_pair().unwrap();
        let sig = suite.sign_with_label(&signer, "LeafNodeTBS", b"m").unwrap();
        suite
            .verify_with_label(signer.public_key(), "LeafNodeTBS", b"m", &sig)
            .unwrap();
        let again = suite
            .signature_key_from_bytes(signer.to_bytes().as_bytes())
            .unwrap();
        assert_eq!(again.public_key(), signer.public_key());
    }
}

#[test]
fn malformed_pq_inputs_are_typed_errors() {
    for suite in pq_suites() {
        let id = suite.id();
        let key = suite.generate_hpke_key_pair().unwrap();
        let pk = key.public_key();
        for bad in [vec![], pk[..pk.len() - 1].to_vec(), [pk, &[0]].concat()] {
            assert_eq!(
                crypto_err(suite.encrypt_with_label(&bad, "L", b"", b"x")),
                CryptoError::InvalidKey,
                "{id:?}"
            );
        }
        let (enc, ct) = suite.encrypt_with_label(pk, "L", b"", b"x").unwrap();
        // A flipped bit anywhere in the KEM output: ML-KEM's implicit rejection yields an
        // unrelated secret, a hybrid's classical half a different one; either way the AEAD
        // refuses.
        for pos in [0, enc.len() / 2, enc.len() - 1] {
            let mut tampered = enc.clone();
            tampered[pos] ^= 1;
            let r = suite.decrypt_with_label(&key, "L", b"", &tampered, &ct);
            assert_eq!(crypto_err(r), CryptoError::DecryptFailed, "{id:?} @{pos}");
        }
        for bad in [&enc[..enc.len() - 1], &[][..]] {
            let r = suite.decrypt_with_label(&key, "L", b"", bad, &ct);
            assert_eq!(crypto_err(r), CryptoError::DecryptFailed, "{id:?}");
        }
        let sk_len = key.to_bytes().len();
        for bad in [vec![], vec![1; sk_len - 1], vec![1; sk_len + 1]] {
            assert_eq!(
                crypto_err(suite.hpke_key_from_bytes(&bad)),
                CryptoError::InvalidKey,
                "{id:?}"
            );
        }

        let signer = suite.generate_signature_key_pair().unwrap();
        let public = signer.public_key();
        let sig = suite.sign_with_label(&signer, "L", b"m").unwrap();
        let mut flipped = sig.clone();
        flipped[sig.len() / 2] ^= 1;
        for bad_sig in [flipped, sig[..sig.len() - 1].to_vec(), vec![]] {
            assert_eq!(
                crypto_err(suite.verify_with_label(public, "L", b"m", &bad_sig)),
                CryptoError::BadSignature,
                "{id:?}"
            );
        }
        assert_eq!(
            crypto_err(suite.verify_with_label(public, "L", b"other", &sig)),
            CryptoError::BadSignature
        );
        let short = &public[..public.len() - 1];
        assert_eq!(
            crypto_err(suite.verify_with_label(short, "L", b"m", &sig)),
            CryptoError::InvalidKey,
            "{id:?}"
        );
    }
}

/// No KEM needs more randomness per Encap than [`EncapRng`] draws up front.
#[test]
fn encap_randomness_fits_the_budget() {
    for suite in pq_suites()
        .into_iter()
        .chain([1, 2, 5, 7].map(|i| Suite::new(CipherSuite(i)).unwrap()))
    {
        let key = suite.generate_hpke_key_pair().unwrap();
        let budget = suite.random_bytes(192).unwrap();
        let mut rng = EncapRng::fixed(&budget);
        suite.kem.encap_with(key.public_key(), &mut rng).unwrap();
        assert!(rng.used() < 192, "{:?} used {}", suite.id(), rng.used());
    }
}

/// Our SealBase (the crate's KEM under our key schedule and AEAD) opens with the crate's
/// complete base mode, `::hpke::single_shot_open`, for one suite per KEM.
#[test]
fn our_seal_opens_with_the_hpke_crate() {
    fn open<A: ::hpke::aead::Aead, F: ::hpke::kdf::Kdf, K: Kem>(
        suite: &Suite,
        key: &HpkePrivateKey,
    ) -> Vec<u8> {
        let (enc, ct) = suite
            .hpke_seal_base(key.public_key(), b"info", b"aad", b"plaintext")
            .unwrap();
        let sk = K::PrivateKey::from_bytes(key.to_bytes().as_bytes()).unwrap();
        let enc = K::EncappedKey::from_bytes(&enc).unwrap();
        ::hpke::single_shot_open::<A, F, K>(&::hpke::OpModeR::Base, &sk, &enc, b"info", &ct, b"aad")
            .unwrap()
    }
    use ::hpke::aead::{AesGcm128, AesGcm256, ChaCha20Poly1305};
    use ::hpke::kdf::{HkdfSha256, HkdfSha384, HkdfSha512};
    use ::hpke::kem::*;
    type C = CipherSuite;
    type Open = fn(&Suite, &HpkePrivateKey) -> Vec<u8>;
    let checks: [(CipherSuite, Open); 7] = [
        (
            CipherSuite(1),
            open::<AesGcm128, HkdfSha256, X25519HkdfSha256>,
        ),
        (
            CipherSuite(5),
            open::<AesGcm256, HkdfSha512, DhP521HkdfSha512>,
        ),
        (
            C::MLS_256_XWING_CHACHA20POLY1305_SHA256_ED25519,
            open::<ChaCha20Poly1305, HkdfSha256, XWing>,
        ),
        (
            C::MLS_128_MLKEM768P256_AES256GCM_SHA384_P256,
            open::<AesGcm256, HkdfSha384, MlKem768P256>,
        ),
        (
            C::MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384,
            open::<AesGcm256, HkdfSha384, MlKem1024P384>,
        ),
        (
            C::MLS_128_MLKEM768_AES256GCM_SHA384_P256,
            open::<AesGcm256, HkdfSha384, MlKem768>,
        ),
        (
            C::MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87,
            open::<AesGcm256, HkdfSha384, MlKem1024>,
        ),
    ];
    for (id, open) in checks {
        let suite = Suite::new(id).unwrap();
        let key = suite.generate_hpke_key_pair().unwrap();
        assert_eq!(open(&suite, &key), b"plaintext", "{id:?}");
    }
}

/// 0x004D derives X-Wing key pairs as OpenMLS does (checked against OpenMLS itself in
/// `interop/openmls/tests/xwing_derive.rs`); the draft suites with the same KEM do not.
#[test]
fn openmls_xwing_suite_derives_its_own_way() {
    let openmls = Suite::new(CipherSuite::MLS_256_XWING_CHACHA20POLY1305_SHA256_ED25519).unwrap();
    let draft = Suite::new(CipherSuite::MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519).unwrap();
    assert_eq!(openmls.kem.id(), draft.kem.id());
    let ikm = [7u8; 32];
    let (a, b) = (
        openmls.derive_key_pair(&ikm).unwrap(),
        draft.derive_key_pair(&ikm).unwrap(),
    );
    assert_ne!(a.public_key(), b.public_key());
    // Same KEM otherwise: a 0x004D key loads, seals and opens under the draft suite's KEM.
    let reloaded = draft.hpke_key_from_bytes(a.to_bytes().as_bytes()).unwrap();
    assert_eq!(reloaded.public_key(), a.public_key());
    let (shared, enc) = KemAlg::XWing.encap(a.public_key()).unwrap();
    let back = KemAlg::XWingOpenMls
        .decap(&enc, a.to_bytes().as_bytes(), a.public_key())
        .unwrap();
    assert_eq!(shared.as_bytes(), back.as_bytes());
}
