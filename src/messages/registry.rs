//! The IANA registries of RFC 9420 §17 that appear on the wire as plain integers.
//!
//! Each is a newtype so that unknown and GREASE values decode and re-encode unchanged: the RFC
//! requires receivers to ignore unknown values in capabilities and extension lists (§13).

crate::codec_registry! {
    /// `ProtocolVersion` (§6). Only `mls10` is defined, but version lists in capabilities
    /// must tolerate future values, so it is an open newtype; [`crate::framing::MLSMessage`]
    /// rejects anything but `mls10` because the rest of its format depends on the version.
    pub struct ProtocolVersion(u16) {
        /// MLS 1.0, this RFC.
        MLS10 = 0x0001,
    }
}

crate::codec_registry! {
    /// `ExtensionType` (§7.2, registry §17.3).
    pub struct ExtensionType(u16) {
        /// `application_id` (§5.3.3), in LeafNodes.
        APPLICATION_ID = 0x0001,
        /// `ratchet_tree` (§12.4.3.3), in GroupInfo.
        RATCHET_TREE = 0x0002,
        /// `required_capabilities` (§11.1), in GroupContext.
        REQUIRED_CAPABILITIES = 0x0003,
        /// `external_pub` (§12.4.3.2), in GroupInfo.
        EXTERNAL_PUB = 0x0004,
        /// `external_senders` (§12.1.8.1), in GroupContext.
        EXTERNAL_SENDERS = 0x0005,
    }
}

crate::codec_registry! {
    /// `ProposalType` (§12.1, registry §17.4).
    pub struct ProposalType(u16) {
        /// Add a member (§12.1.1).
        ADD = 0x0001,
        /// Replace the sender's leaf (§12.1.2).
        UPDATE = 0x0002,
        /// Remove a member (§12.1.3).
        REMOVE = 0x0003,
        /// Inject a pre-shared key (§12.1.4).
        PSK = 0x0004,
        /// Reinitialise the group (§12.1.5).
        REINIT = 0x0005,
        /// External join (§12.1.6).
        EXTERNAL_INIT = 0x0006,
        /// Replace the group context extensions (§12.1.7).
        GROUP_CONTEXT_EXTENSIONS = 0x0007,
    }
}

crate::codec_registry! {
    /// `CredentialType` (§5.3, registry §17.5).
    pub struct CredentialType(u16) {
        /// A bare identity (§5.3).
        BASIC = 0x0001,
        /// An X.509 certificate chain (§5.3).
        X509 = 0x0002,
    }
}

/// Whether `v` is one of the GREASE values reserved in every MLS registry (§13.5).
pub fn is_grease(v: u16) -> bool {
    v >> 8 == v & 0xff && v & 0x0f == 0x0a && v != 0xfafa
}

impl ExtensionType {
    /// Whether this is one of the default extension types that capabilities never list (§7.2).
    pub fn is_default(self) -> bool {
        (1..=5).contains(&self.0)
    }
}

impl ProposalType {
    /// Whether this is one of the default proposal types that capabilities never list (§7.2).
    pub fn is_default(self) -> bool {
        (1..=7).contains(&self.0)
    }
}
