//! Which X-Wing `DeriveKeyPair(ikm)` OpenMLS's libcrux provider implements, compared through
//! public APIs only (OpenMLS's `OpenMlsCrypto::derive_hpke_keypair`, Cohort's
//! `Suite::derive_key_pair` and `Suite::hpke_key_from_bytes`) against candidate
//! constructions. MLS derives every tree node key with DeriveKeyPair (RFC 9420 §7.4), so
//! two implementations that derive differently cannot share a ratchet tree, although their
//! Encap/Decap (the Welcome's init key) agree.

use cohort::crypto::{CipherSuite, Suite};
use openmls::prelude::*;
use openmls_libcrux_crypto::Provider;
use shake::digest::{ExtendableOutput, Update, XofReader};

const XWING: u16 = 0x004D;

fn shake256(parts: &[&[u8]], len: usize) -> Vec<u8> {
    let mut h = shake::Shake256::default();
    for p in parts {
        h.update(p);
    }
    let mut out = vec![0u8; len];
    h.finalize_xof().read(&mut out);
    out
}

/// RFC 9180 §4 LabeledExtract/LabeledExpand with HKDF-SHA256 and suite_id "KEM" || 0x647a:
/// the DHKEM-style DeriveKeyPair of RFC 9180 §7.1.3 applied to a 32-byte X-Wing seed.
fn rfc9180_style_seed(ikm: &[u8]) -> Vec<u8> {
    let suite_id = [b'K', b'E', b'M', 0x64, 0x7a];
    let labeled_ikm = [b"HPKE-v1".as_slice(), &suite_id, b"dkp_prk", ikm].concat();
    let (prk, _) = hkdf::Hkdf::<sha2::Sha256>::extract(Some(&[]), &labeled_ikm);
    let info = [&32u16.to_be_bytes()[..], b"HPKE-v1", &suite_id, b"sk"].concat();
    let mut sk = vec![0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::from_prk(&prk)
        .expect("prk")
        .expand(&info, &mut sk)
        .expect("expand");
    sk
}

/// The public key of the X-Wing key whose 32-byte private key (seed) is `seed`.
fn public_of_seed(suite: &Suite, seed: &[u8]) -> Vec<u8> {
    suite
        .hpke_key_from_bytes(seed)
        .expect("a 32-byte X-Wing seed")
        .public_key()
        .to_vec()
}

#[test]
fn openmls_xwing_derive_key_pair_is_unlabeled_shake256() {
    let provider = Provider::default();
    let cs = Ciphersuite::try_from(XWING).expect("0x004D");
    let openmls_suite = Suite::new(CipherSuite(XWING)).expect("Cohort 0x004D");
    // A draft suite with the same KEM: DeriveKeyPair per draft-ietf-hpke-pq.
    let draft_suite = Suite::new(CipherSuite(0xF001)).expect("Cohort 0xF001");
    for fill in [0u8, 0x42, 0xff] {
        let ikm = [fill; 32];
        let theirs = provider
            .crypto()
            .derive_hpke_keypair(cs.hpke_config(), &ikm)
            .expect("OpenMLS derives");
        let candidates = [
            (
                "draft-ietf-hpke-pq LabeledDerive (Cohort 0xF001)",
                draft_suite
                    .derive_key_pair(&ikm)
                    .expect("derives")
                    .public_key()
                    .to_vec(),
            ),
            ("seed = ikm", public_of_seed(&openmls_suite, &ikm)),
            (
                "seed = SHAKE256(ikm, 32)",
                public_of_seed(&openmls_suite, &shake256(&[&ikm], 32)),
            ),
            (
                "seed = RFC 9180 LabeledExpand(LabeledExtract(ikm), \"sk\")",
                public_of_seed(&openmls_suite, &rfc9180_style_seed(&ikm)),
            ),
        ];
        let hits: Vec<&str> = candidates
            .iter()
            .filter(|(_, pk)| *pk == theirs.public)
            .map(|(name, _)| *name)
            .collect();
        eprintln!(
            "ikm = {fill:02x}*32: OpenMLS pk {}.., private key {} bytes; matches {hits:?}",
            hex::encode(&theirs.public[..8]),
            theirs.private.len()
        );
        assert_eq!(hits, ["seed = SHAKE256(ikm, 32)"]);
        // Cohort's 0x004D derives exactly as OpenMLS, private key (the seed) included.
        let ours = openmls_suite.derive_key_pair(&ikm).expect("Cohort derives");
        assert_eq!(ours.public_key(), theirs.public.as_slice());
        assert_eq!(ours.to_bytes().as_bytes(), &theirs.private[..]);
    }
}
