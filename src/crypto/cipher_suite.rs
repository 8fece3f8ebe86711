//! The MLS cipher suite registry (RFC 9420 §17.1).

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
}
