//! The MLS cipher suite registry (RFC 9420 §17.1), with the experimental post-quantum suites.
//!
//! # Provisional code points (experimental)
//!
//! draft-ietf-mls-pq-ciphersuites-06 leaves its eleven values as TBD1..TBD11. Until IANA
//! assigns them, Cohort numbers them `0xF001..=0xF00B` in the draft's table order: RFC 9420
//! §17.1 reserves `0xF000..=0xFFFF` for private use, so no future assignment collides with
//! them, but no other implementation knows them either. The one value here from outside
//! the draft is OpenMLS's experimental X-Wing suite, `0x004D`
//! (`MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519`, from draft-mahy-mls-xwing). All twelve
//! resolve only with the default-on `pq` feature; this file is the only place they are set.

crate::codec_registry! {
    /// A cipher suite identifier as it appears on the wire (`CipherSuite`, §17.1).
    ///
    /// Unknown values (including GREASE) decode and re-encode unchanged; resolve a known one
    /// into its algorithms with [`crate::crypto::Suite::new`].
    pub struct CipherSuite(u16) {
        /// DHKEM(X25519), AES-128-GCM, SHA-256, Ed25519.
        MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519 = 0x0001,
        /// DHKEM(P-256), AES-128-GCM, SHA-256, ECDSA P-256.
        MLS_128_DHKEMP256_AES128GCM_SHA256_P256 = 0x0002,
        /// DHKEM(X25519), ChaCha20-Poly1305, SHA-256, Ed25519.
        MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_ED25519 = 0x0003,
        /// DHKEM(X448), AES-256-GCM, SHA-512, Ed448.
        MLS_256_DHKEMX448_AES256GCM_SHA512_ED448 = 0x0004,
        /// DHKEM(P-521), AES-256-GCM, SHA-512, ECDSA P-521.
        MLS_256_DHKEMP521_AES256GCM_SHA512_P521 = 0x0005,
        /// DHKEM(X448), ChaCha20-Poly1305, SHA-512, Ed448.
        MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_ED448 = 0x0006,
        /// DHKEM(P-384), AES-256-GCM, SHA-384, ECDSA P-384.
        MLS_256_DHKEMP384_AES256GCM_SHA384_P384 = 0x0007,
        /// Experimental (OpenMLS's value): X-Wing, ChaCha20-Poly1305, SHA-256, Ed25519.
        MLS_256_XWING_CHACHA20POLY1305_SHA256_ED25519 = 0x004D,
        /// Experimental, draft TBD1: X-Wing, AES-128-GCM, SHA-256, Ed25519.
        MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519 = 0xF001,
        /// Experimental, draft TBD2: X-Wing, AES-256-GCM, SHA-384, Ed25519.
        MLS_128_MLKEM768X25519_AES256GCM_SHA384_ED25519 = 0xF002,
        /// Experimental, draft TBD3: ML-KEM-768+P-256, AES-128-GCM, SHA-256, ECDSA P-256.
        MLS_128_MLKEM768P256_AES128GCM_SHA256_P256 = 0xF003,
        /// Experimental, draft TBD4: ML-KEM-768+P-256, AES-256-GCM, SHA-384, ECDSA P-256.
        MLS_128_MLKEM768P256_AES256GCM_SHA384_P256 = 0xF004,
        /// Experimental, draft TBD5: ML-KEM-1024+P-384, AES-256-GCM, SHA-384, ECDSA P-384.
        MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384 = 0xF005,
        /// Experimental, draft TBD6: ML-KEM-768, AES-256-GCM, SHA-384, Ed25519.
        MLS_128_MLKEM768_AES256GCM_SHA384_ED25519 = 0xF006,
        /// Experimental, draft TBD7: ML-KEM-768, AES-256-GCM, SHA-384, ECDSA P-256.
        MLS_128_MLKEM768_AES256GCM_SHA384_P256 = 0xF007,
        /// Experimental, draft TBD8: ML-KEM-1024, AES-256-GCM, SHA-384, ECDSA P-384.
        MLS_192_MLKEM1024_AES256GCM_SHA384_P384 = 0xF008,
        /// Experimental, draft TBD9: X-Wing, ChaCha20-Poly1305, SHA-384, ML-DSA-44.
        MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44 = 0xF009,
        /// Experimental, draft TBD10: ML-KEM-768, AES-256-GCM, SHA-384, ML-DSA-65.
        MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65 = 0xF00A,
        /// Experimental, draft TBD11: ML-KEM-1024, AES-256-GCM, SHA-384, ML-DSA-87.
        MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87 = 0xF00B,
    }
}

impl CipherSuite {
    /// The seven suites defined by RFC 9420.
    pub const ALL: [CipherSuite; 7] = [
        CipherSuite(1),
        CipherSuite(2),
        CipherSuite(3),
        CipherSuite(4),
        CipherSuite(5),
        CipherSuite(6),
        CipherSuite(7),
    ];

    /// The experimental post-quantum suites (provisional values, see the module docs).
    pub const EXPERIMENTAL_PQ: [CipherSuite; 12] = [
        CipherSuite::MLS_256_XWING_CHACHA20POLY1305_SHA256_ED25519,
        CipherSuite::MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519,
        CipherSuite::MLS_128_MLKEM768X25519_AES256GCM_SHA384_ED25519,
        CipherSuite::MLS_128_MLKEM768P256_AES128GCM_SHA256_P256,
        CipherSuite::MLS_128_MLKEM768P256_AES256GCM_SHA384_P256,
        CipherSuite::MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384,
        CipherSuite::MLS_128_MLKEM768_AES256GCM_SHA384_ED25519,
        CipherSuite::MLS_128_MLKEM768_AES256GCM_SHA384_P256,
        CipherSuite::MLS_192_MLKEM1024_AES256GCM_SHA384_P384,
        CipherSuite::MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44,
        CipherSuite::MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65,
        CipherSuite::MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87,
    ];

    /// Every suite this build resolves: the RFC's seven, then (with `pq`) the experimental ones.
    pub fn supported() -> Vec<CipherSuite> {
        let mut all = Self::ALL.to_vec();
        if cfg!(feature = "pq") {
            all.extend_from_slice(&Self::EXPERIMENTAL_PQ);
        }
        all
    }

    /// Whether this is one of the experimental post-quantum suites.
    pub fn is_experimental(self) -> bool {
        Self::EXPERIMENTAL_PQ.contains(&self)
    }

    /// A suite by its registry name (case-insensitive) or its number (decimal or `0x` hex).
    pub fn parse(s: &str) -> Option<CipherSuite> {
        let s = s.trim();
        let number = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u16::from_str_radix(hex, 16).ok(),
            None => s.parse::<u16>().ok(),
        };
        if let Some(n) = number {
            return Some(CipherSuite(n));
        }
        Self::ALL
            .iter()
            .chain(Self::EXPERIMENTAL_PQ.iter())
            .copied()
            .find(|cs| cs.name().is_some_and(|n| n.eq_ignore_ascii_case(s)))
    }
}
