//! Ed25519 strict verification with one decompression fewer (`ed25519::verify`) against
//! ed25519-dalek's own `verify_strict` on the edge cases of "Taming the many EdDSAs"
//! (Chalkias, Garillot, Nikolaenko, 2020): small-order A and R, mixed-order A and R,
//! non-canonical S and R; and parsed keys of every scheme against encoded ones.

use super::ed25519;
use crate::crypto::{CipherSuite, PublicKeyRef, Suite};
use crate::error::{CryptoError, Error};
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::Verifier;
use sha2::{Digest, Sha512};
use std::sync::Arc;

/// A scalar derived from `seed` (the tests need many, reproducibly).
fn scalar(seed: &[u8]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&Sha512::digest(seed).into())
}

/// The Ed25519 challenge k = SHA-512(R || A || M) mod L.
fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

fn sig(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    [r.as_slice(), s.as_slice()].concat()
}

/// Ours and `verify_strict` on one case; returns whether they accept (both, or the test fails).
fn strict(a: &[u8; 32], msg: &[u8], signature: &[u8]) -> bool {
    let reference = ed25519::verify_strict_reference(a, msg, signature);
    let ours = ed25519::parse_public(a).and_then(|k| ed25519::verify(&k, msg, signature));
    assert_eq!(
        ours.is_ok(),
        reference.is_ok(),
        "ours {ours:?} vs verify_strict {reference:?}"
    );
    ours.is_ok()
}

/// dalek's permissive `verify`, to show that a case is an edge case and not plain garbage.
fn permissive(a: &[u8; 32], msg: &[u8], signature: &[u8]) -> bool {
    let key = ed25519_dalek::VerifyingKey::from_bytes(a).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(signature).unwrap();
    key.verify(msg, &sig).is_ok()
}

/// A signature (R, s) by secret scalar `a` with nonce point `r_point` and nonce `r`:
/// s = r + k·a, which verifies when R' = [s]B - [k]A equals `r_point`'s encoding.
fn sign_with(a: Scalar, a_enc: &[u8; 32], r: Scalar, r_point: EdwardsPoint, msg: &[u8]) -> Vec<u8> {
    let r_enc = r_point.compress().to_bytes();
    let k = challenge(&r_enc, a_enc, msg);
    sig(&r_enc, &(r + k * a).to_bytes())
}

#[test]
fn honest_and_tampered_signatures_agree_with_verify_strict() {
    let suite = Suite::new(CipherSuite(0x0001)).unwrap();
    for i in 0..20u8 {
        let key = suite.generate_signature_key_pair().unwrap();
        let a: [u8; 32] = key.public_key().try_into().unwrap();
        let msg = [i; 40];
        let good = suite.sign_raw(&key, &msg).unwrap();
        assert!(strict(&a, &msg, &good), "honest signature {i}");
        let mut bad = good.clone();
        bad[usize::from(i) % 64] ^= 1 << (i % 8);
        assert!(!strict(&a, &msg, &bad), "tampered signature {i}");
        assert!(!strict(&a, &[i ^ 1; 40], &good), "other message {i}");
    }
}

#[test]
fn small_order_key_and_nonce_are_refused_as_verify_strict_does() {
    // A in the 8-torsion, s = 0: R' = -[k]A is in the torsion too; for about one message in
    // eight it equals the R chosen, and then the permissive check accepts.
    let mut seen = 0;
    for (t, point) in EIGHT_TORSION.iter().enumerate() {
        let a = point.compress().to_bytes();
        for m in 0..64u8 {
            let msg = [m, t as u8];
            for r_point in EIGHT_TORSION {
                let r = r_point.compress().to_bytes();
                let signature = sig(&r, &[0; 32]);
                if permissive(&a, &msg, &signature) {
                    seen += 1;
                    assert!(!strict(&a, &msg, &signature), "small-order A={t} accepted");
                }
            }
        }
    }
    assert!(seen > 8, "only {seen} small-order cases found");
}

#[test]
fn small_order_nonce_under_a_good_key_is_refused() {
    // R = identity, s = k·a: R' = [ka]B - [k][a]B = identity = R.
    for i in 0..8u8 {
        let a = scalar(&[i, 1]);
        let a_enc = (a * B).compress().to_bytes();
        let msg = [i; 7];
        let signature = sign_with(a, &a_enc, Scalar::ZERO, EdwardsPoint::default(), &msg);
        assert!(permissive(&a_enc, &msg, &signature));
        assert!(!strict(&a_enc, &msg, &signature), "identity R accepted");
    }
    // A with a torsion component and R of small order: accepted permissively when
    // -[k]T' = R (one time in eight), refused strictly for R.
    let mut seen = 0;
    for i in 0..96u8 {
        let a = scalar(&[i, 2]);
        let a_enc = (a * B + EIGHT_TORSION[1]).compress().to_bytes();
        let msg = [i; 9];
        for r_point in EIGHT_TORSION.iter().skip(1) {
            let signature = sign_with(a, &a_enc, Scalar::ZERO, *r_point, &msg);
            if permissive(&a_enc, &msg, &signature) {
                seen += 1;
                assert!(!strict(&a_enc, &msg, &signature), "small-order R accepted");
            }
        }
    }
    assert!(seen > 0, "no mixed-order A with small-order R found");
}

#[test]
fn mixed_order_key_and_nonce_are_accepted_as_verify_strict_does() {
    // Neither A nor R has small order, only a torsion component: verify_strict accepts
    // when the components cancel, so ours must too (not refuse more than strict).
    let mut seen = 0;
    for i in 0..96u8 {
        let a = scalar(&[i, 3]);
        let a_enc = (a * B + EIGHT_TORSION[3]).compress().to_bytes();
        let r = scalar(&[i, 4]);
        let msg = [i; 11];
        for t in EIGHT_TORSION.iter().skip(1) {
            let signature = sign_with(a, &a_enc, r, r * B + t, &msg);
            if strict(&a_enc, &msg, &signature) {
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "no accepted mixed-order case found");
}

#[test]
fn non_canonical_s_and_r_are_refused() {
    let a = scalar(b"nc");
    let a_enc = (a * B).compress().to_bytes();
    let msg = b"non-canonical";
    let r = scalar(b"nc nonce");
    let good = sign_with(a, &a_enc, r, r * B, msg);
    assert!(strict(&a_enc, msg, &good));
    // s + L: same residue, non-canonical encoding (fits 256 bits since s < L < 2^253).
    let l = Scalar::ZERO - Scalar::ONE;
    let mut s_plus_l = [0u8; 32];
    let (mut carry, s) = (0u16, &good[32..]);
    let l_bytes = l.to_bytes();
    for j in 0..32 {
        // (s + (L - 1) + 1) byte by byte.
        let v = u16::from(s[j]) + u16::from(l_bytes[j]) + carry + u16::from(j == 0);
        s_plus_l[j] = v as u8;
        carry = v >> 8;
    }
    assert!(!strict(
        &a_enc,
        msg,
        &sig(good[..32].try_into().unwrap(), &s_plus_l)
    ));
    // The identity's non-canonical encoding y = 1 + p (p = 2^255 - 19).
    let mut r_nc = [0xffu8; 32];
    r_nc[0] = 0xee;
    r_nc[31] = 0x7f;
    assert!(!strict(&a_enc, msg, &sig(&r_nc, &[0; 32])));
}

#[test]
fn parsed_keys_verify_like_encoded_ones_in_every_suite() {
    for &id in CipherSuite::ALL.iter() {
        let suite = Suite::new(id).unwrap();
        let key = suite.generate_signature_key_pair().unwrap();
        let msg = b"parsed once";
        let good = suite.sign_raw(&key, msg).unwrap();
        let parsed = PublicKeyRef::Parsed(Arc::new(suite.verifying_key(key.public_key()).unwrap()));
        let encoded = PublicKeyRef::Encoded(key.public_key());
        for k in [&parsed, &encoded] {
            assert!(suite.verify_raw_key(k, msg, &good).is_ok(), "{id:?}");
            assert_eq!(
                suite.verify_raw_key(k, b"other", &good),
                Err(Error::Crypto(CryptoError::BadSignature)),
                "{id:?}"
            );
        }
        assert_eq!(
            suite.verifying_key(&key.public_key()[1..]).err(),
            Some(Error::Crypto(CryptoError::InvalidKey)),
            "{id:?}"
        );
    }
    // A key parsed for one scheme is refused by a suite of another.
    let p256 = Suite::new(CipherSuite(0x0002)).unwrap();
    let ed = Suite::new(CipherSuite(0x0001)).unwrap();
    let key = p256.generate_signature_key_pair().unwrap();
    let parsed = PublicKeyRef::Parsed(Arc::new(p256.verifying_key(key.public_key()).unwrap()));
    let good = p256.sign_raw(&key, b"m").unwrap();
    assert_eq!(
        ed.verify_raw_key(&parsed, b"m", &good),
        Err(Error::Crypto(CryptoError::InvalidKey))
    );
}
