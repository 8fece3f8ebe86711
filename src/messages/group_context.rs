//! The group context (RFC 9420 §8.1).

use super::extensions::Extensions;
use super::registry::ProtocolVersion;
use crate::codec::Bytes;
use crate::crypto::CipherSuite;

crate::codec_struct! {
    /// `GroupContext` (§8.1): the state every member agrees on in an epoch.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct GroupContext {
        /// Always `mls10` for groups created under this RFC.
        pub version: ProtocolVersion,
        /// The group's cipher suite.
        pub cipher_suite: CipherSuite,
        /// The application-defined group id.
        pub group_id: Bytes,
        /// The current epoch.
        pub epoch: u64,
        /// Tree hash of the root (§7.8).
        pub tree_hash: Bytes,
        /// Confirmed transcript hash (§8.2).
        pub confirmed_transcript_hash: Bytes,
        /// Group context extensions.
        pub extensions: Extensions,
    }
}
