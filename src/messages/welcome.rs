//! Joining a group: GroupInfo (RFC 9420 §12.4.3) and Welcome (§12.4.3.1).

use super::commit::HPKECiphertext;
use super::extensions::Extensions;
use super::group_context::GroupContext;
use super::psk::PreSharedKeyID;
use super::{KeyPackageRef, MAC};
use crate::codec::{Bytes, Encode};
use crate::crypto::{CipherSuite, Secret};

crate::codec_struct! {
    /// `GroupInfo` (§12.4.3): the signed group state a joiner starts from.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct GroupInfo {
        /// The group context of the epoch being joined.
        pub group_context: GroupContext,
        /// GroupInfo extensions (e.g. `ratchet_tree`, `external_pub`).
        pub extensions: Extensions,
        /// The confirmation tag of the epoch.
        pub confirmation_tag: MAC,
        /// Leaf index of the member that signed this GroupInfo.
        pub signer: u32,
        /// `SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)`.
        pub signature: Bytes,
    }
}

impl GroupInfo {
    /// The encoded `GroupInfoTBS` (§12.4.3): every field above `signature`.
    pub fn tbs_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.group_context.encode(&mut out);
        self.extensions.encode(&mut out);
        self.confirmation_tag.encode(&mut out);
        self.signer.encode(&mut out);
        out
    }
}

crate::codec_struct! {
    /// `PathSecret` (§12.4.3.1).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PathSecret {
        /// The path secret of the lowest node shared by committer and joiner.
        pub path_secret: Secret,
    }
}

crate::codec_struct! {
    /// `GroupSecrets` (§12.4.3.1): what each joiner decrypts from a Welcome.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct GroupSecrets {
        /// The joiner secret of the new epoch.
        pub joiner_secret: Secret,
        /// The path secret for the joiner, if the commit had a path.
        pub path_secret: Option<PathSecret>,
        /// The PSKs injected into the new epoch, in order.
        pub psks: Vec<PreSharedKeyID>,
    }
}

crate::codec_struct! {
    /// `EncryptedGroupSecrets` (§12.4.3.1).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct EncryptedGroupSecrets {
        /// Reference to the joiner's KeyPackage.
        pub new_member: KeyPackageRef,
        /// The joiner's GroupSecrets, encrypted to its `init_key`.
        pub encrypted_group_secrets: HPKECiphertext,
    }
}

crate::codec_struct! {
    /// `Welcome` (§12.4.3.1).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct Welcome {
        /// The group's cipher suite.
        pub cipher_suite: CipherSuite,
        /// One entry per joiner.
        pub secrets: Vec<EncryptedGroupSecrets>,
        /// The GroupInfo, encrypted under a key derived from the joiner secret.
        pub encrypted_group_info: Bytes,
    }
}
