//! Extensions (RFC 9420 §7.2, §13.4) and the payloads of the extensions the RFC defines.

use super::credential::Credential;
use super::node::RatchetTreeWire;
use super::registry::{CredentialType, ExtensionType, ProposalType};
use super::HPKEPublicKey;
use super::SignaturePublicKey;
use crate::codec::{Bytes, Decode, Encode, Reader};
use crate::error::DecodeError;
use std::collections::HashSet;

crate::codec_struct! {
    /// `Extension` (§7.2): a typed, opaque extension payload.
    ///
    /// Unknown (including GREASE) types decode as opaque data and re-encode unchanged.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct Extension {
        /// Which extension this is.
        pub extension_type: ExtensionType,
        /// Its encoded payload, interpreted according to `extension_type`.
        pub extension_data: Bytes,
    }
}

impl Extension {
    /// An extension whose payload is the encoding of `value`.
    pub fn new(extension_type: ExtensionType, value: &impl Encode) -> Self {
        Extension {
            extension_type,
            extension_data: Bytes(value.to_bytes()),
        }
    }

    /// Decode the payload as `T`; it must fill `extension_data` exactly.
    pub fn decode_data<T: Decode>(&self) -> Result<T, DecodeError> {
        T::decode_exact(&self.extension_data)
    }
}

/// `Extension extensions<V>` (§7.2): a list with at most one extension of each type.
///
/// §13.4: "Any field containing a list of extensions MUST NOT have more than one extension of
/// any given type." Decoding enforces this with a hash set, so it stays linear in the input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Extensions(Vec<Extension>);

impl Extensions {
    /// An empty list.
    pub fn new() -> Self {
        Extensions(Vec::new())
    }

    /// A list from `list`, failing with [`DecodeError::Duplicate`] if a type repeats.
    pub fn from_vec(list: Vec<Extension>) -> Result<Self, DecodeError> {
        let mut seen = HashSet::with_capacity(list.len());
        if list.iter().all(|e| seen.insert(e.extension_type)) {
            Ok(Extensions(list))
        } else {
            Err(DecodeError::Duplicate("ExtensionType"))
        }
    }

    /// The extensions in wire order.
    pub fn as_slice(&self) -> &[Extension] {
        &self.0
    }

    /// The extensions, consuming the list.
    pub fn into_vec(self) -> Vec<Extension> {
        self.0
    }

    /// Iterate over the extensions in wire order.
    pub fn iter(&self) -> core::slice::Iter<'_, Extension> {
        self.0.iter()
    }

    /// Number of extensions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The extension of type `t`, if present.
    pub fn get(&self, t: ExtensionType) -> Option<&Extension> {
        self.0.iter().find(|e| e.extension_type == t)
    }

    /// Whether an extension of type `t` is present.
    pub fn contains(&self, t: ExtensionType) -> bool {
        self.get(t).is_some()
    }

    /// Add `ext`, replacing any extension of the same type in place.
    pub fn insert(&mut self, ext: Extension) {
        match self
            .0
            .iter_mut()
            .find(|e| e.extension_type == ext.extension_type)
        {
            Some(slot) => *slot = ext,
            None => self.0.push(ext),
        }
    }

    /// Remove and return the extension of type `t`.
    pub fn remove(&mut self, t: ExtensionType) -> Option<Extension> {
        let i = self.0.iter().position(|e| e.extension_type == t)?;
        Some(self.0.remove(i))
    }

    /// The payload of extension `t` decoded as `T`, if the extension is present.
    pub fn get_as<T: Decode>(&self, t: ExtensionType) -> Result<Option<T>, DecodeError> {
        self.get(t).map(Extension::decode_data).transpose()
    }

    /// The `application_id` extension (§5.3.3).
    pub fn application_id(&self) -> Result<Option<Bytes>, DecodeError> {
        self.get_as(ExtensionType::APPLICATION_ID)
    }

    /// The `ratchet_tree` extension (§12.4.3.3).
    pub fn ratchet_tree(&self) -> Result<Option<RatchetTreeWire>, DecodeError> {
        self.get_as(ExtensionType::RATCHET_TREE)
    }

    /// The `required_capabilities` extension (§11.1).
    pub fn required_capabilities(&self) -> Result<Option<RequiredCapabilities>, DecodeError> {
        self.get_as(ExtensionType::REQUIRED_CAPABILITIES)
    }

    /// The `external_pub` extension (§12.4.3.2).
    pub fn external_pub(&self) -> Result<Option<ExternalPub>, DecodeError> {
        self.get_as(ExtensionType::EXTERNAL_PUB)
    }

    /// The `external_senders` extension (§12.1.8.1).
    pub fn external_senders(&self) -> Result<Option<Vec<ExternalSender>>, DecodeError> {
        self.get_as(ExtensionType::EXTERNAL_SENDERS)
    }
}

impl<'a> IntoIterator for &'a Extensions {
    type Item = &'a Extension;
    type IntoIter = core::slice::Iter<'a, Extension>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Encode for Extensions {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
    fn encoded_len(&self) -> usize {
        self.0.encoded_len()
    }
}

impl Decode for Extensions {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut seen = HashSet::new();
        let list = r.vec_with(|r| {
            let ext = Extension::decode(r)?;
            if seen.insert(ext.extension_type) {
                Ok(ext)
            } else {
                Err(DecodeError::Duplicate("ExtensionType"))
            }
        })?;
        Ok(Extensions(list))
    }
}

crate::codec_struct! {
    /// `RequiredCapabilities` (§11.1): the payload of `required_capabilities`.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct RequiredCapabilities {
        /// Extension types every member must support.
        pub extension_types: Vec<ExtensionType>,
        /// Proposal types every member must support.
        pub proposal_types: Vec<ProposalType>,
        /// Credential types every member must support.
        pub credential_types: Vec<CredentialType>,
    }
}

crate::codec_struct! {
    /// `ExternalPub` (§12.4.3.2): the payload of `external_pub`.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct ExternalPub {
        /// The HPKE public key external joiners encrypt to.
        pub external_pub: HPKEPublicKey,
    }
}

crate::codec_struct! {
    /// `ExternalSender` (§12.1.8.1): one entry of the `external_senders` payload
    /// (`ExternalSender external_senders<V>`).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct ExternalSender {
        /// The key that verifies the external sender's signatures.
        pub signature_key: SignaturePublicKey,
        /// The external sender's credential.
        pub credential: Credential,
    }
}
