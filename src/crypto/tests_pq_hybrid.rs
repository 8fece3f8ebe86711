//! Known answers for the ML-KEM/NIST hybrid KEMs MLKEM768-P256 (0x0050) and MLKEM1024-P384
//! (0x0051) from draft-ietf-hpke-pq-05 Appendix A.4 and A.6 (`vectors/pq/hpke-pq-*.txt`, the
//! appendix text unmodified), run through Cohort's suites with the same KEM, KDF and AEAD
//! (0xF003, 0xF005): DeriveKeyPair, Encap with the vector's randomness, Decap, the base-mode
//! key schedule, Open of every encryption and every exported value.

use super::kem::EncapRng;
use super::suite::KemAlg;
use super::*;

/// The `name: hex` items of an appendix section in order, with wrapped hex lines joined.
fn items(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some((name, value)) = trimmed.split_once(':') {
            if line.starts_with("  ") && !name.contains('.') {
                out.push((name.to_string(), value.trim().to_string()));
                continue;
            }
        }
        let is_hex = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_hexdigit());
        if line.starts_with("   ") && is_hex {
            out.last_mut().expect("a continuation follows an item").1 += trimmed;
        }
    }
    out.into_iter()
        .map(|(name, value)| {
            // Decimal fields (mode, ids, L, sequence number) are not hex byte strings.
            let bytes = if value.len() % 2 == 0 {
                hex::decode(&value).unwrap_or_default()
            } else {
                Vec::new()
            };
            (name, bytes)
        })
        .collect()
}

fn first<'a>(items: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &items.iter().find(|(n, _)| n == name).expect(name).1
}

fn all<'a>(items: &'a [(String, Vec<u8>)], name: &str) -> Vec<&'a [u8]> {
    items
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
        .collect()
}

/// One appendix section through the suite `id`, whose KEM is `kem`.
fn check_vector(text: &str, id: CipherSuite, kem: KemAlg, kem_id: u16) {
    let suite = Suite::new(id).expect("suite");
    assert_eq!(suite.kem, kem);
    assert_eq!(kem.id(), kem_id);
    let v = items(text);
    let info = first(&v, "info");

    // DeriveKeyPair(ikmR).
    let sk = suite.derive_key_pair(first(&v, "ikmR")).expect("derive");
    assert_eq!(sk.to_bytes().as_bytes(), first(&v, "skRm"), "skRm");
    assert_eq!(sk.public_key(), first(&v, "pkRm"), "pkRm");
    let loaded = suite.hpke_key_from_bytes(first(&v, "skRm")).expect("load");
    assert_eq!(loaded.public_key(), first(&v, "pkRm"));

    // Encap with the vector's randomness, then Decap.
    let ikm_e = first(&v, "ikmE");
    let mut rng = EncapRng::fixed(ikm_e);
    let (shared, enc) = kem.encap_with(first(&v, "pkRm"), &mut rng).expect("encap");
    assert_eq!(enc, first(&v, "enc"), "enc");
    assert_eq!(
        shared.as_bytes(),
        first(&v, "shared_secret"),
        "shared_secret"
    );
    assert!(rng.used() <= ikm_e.len(), "took more than ikmE");
    let decapped = kem
        .decap(first(&v, "enc"), first(&v, "skRm"), first(&v, "pkRm"))
        .expect("decap");
    assert_eq!(decapped.as_bytes(), first(&v, "shared_secret"), "decap");

    // Base-mode key schedule.
    let ctx = suite.key_schedule_base(&decapped, info).expect("schedule");
    assert_eq!(ctx.key.as_bytes(), first(&v, "key"), "key");
    assert_eq!(
        ctx.base_nonce.as_bytes(),
        first(&v, "base_nonce"),
        "base_nonce"
    );
    assert_eq!(
        ctx.exporter_secret.as_bytes(),
        first(&v, "exporter_secret"),
        "exporter_secret"
    );

    // Encryptions: sequence number 0 through single-shot OpenBase as MLS uses it; the later
    // ones with the AEAD under nonce = base_nonce XOR seq (RFC 9180 §5.2), which MLS never needs.
    let (pts, aads, nonces, cts) = (
        all(&v, "pt"),
        all(&v, "aad"),
        all(&v, "nonce"),
        all(&v, "ct"),
    );
    assert_eq!(
        (pts.len(), aads.len(), nonces.len(), cts.len()),
        (10, 10, 10, 10)
    );
    let opened = suite
        .hpke_open_base(&loaded, first(&v, "enc"), info, aads[0], cts[0])
        .expect("OpenBase");
    assert_eq!(opened, pts[0]);
    for seq in 0..10usize {
        let mut nonce = ctx.base_nonce.as_bytes().to_vec();
        let n = nonce.len();
        for (i, b) in seq.to_be_bytes().iter().rev().enumerate() {
            nonce[n - 1 - i] ^= b;
        }
        assert_eq!(nonce, nonces[seq], "nonce {seq}");
        let pt = suite
            .aead_open(ctx.key.as_bytes(), &nonce, aads[seq], cts[seq])
            .expect("open");
        assert_eq!(pt, pts[seq], "pt {seq}");
    }

    // Exported values, through the receiver's SetupBaseR + Export.
    let (contexts, values) = (all(&v, "exporter_context"), all(&v, "exported_value"));
    assert_eq!((contexts.len(), values.len()), (5, 5));
    for (context, value) in contexts.iter().zip(&values) {
        let exported = suite
            .hpke_export_receiver(&loaded, first(&v, "enc"), info, context, value.len())
            .expect("export");
        assert_eq!(
            exported.as_bytes(),
            *value,
            "export {}",
            hex::encode(context)
        );
    }
}

#[test]
fn mlkem768_p256_draft_known_answers() {
    check_vector(
        include_str!("../../vectors/pq/hpke-pq-mlkem768-p256.txt"),
        CipherSuite::MLS_128_MLKEM768P256_AES128GCM_SHA256_P256,
        KemAlg::MlKem768P256,
        0x0050,
    );
}

#[test]
fn mlkem1024_p384_draft_known_answers() {
    check_vector(
        include_str!("../../vectors/pq/hpke-pq-mlkem1024-p384.txt"),
        CipherSuite::MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384,
        KemAlg::MlKem1024P384,
        0x0051,
    );
}
