//! Credentials (RFC 9420 §5.3).

use super::registry::CredentialType;
use crate::codec::{Bytes, Decode, Encode, Reader};
use crate::error::DecodeError;

crate::codec_struct! {
    /// `Certificate` (§5.3): one DER-encoded X.509 certificate.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct Certificate {
        /// The DER encoding.
        pub cert_data: Bytes,
    }
}

/// `Credential` (§5.3): the credential type and its select arm.
///
/// A credential of an unknown type cannot be decoded (its body has no length prefix), so
/// decoding fails with [`DecodeError::UnknownValue`]; capabilities lists, which carry only the
/// type, keep unknown types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// `basic`: an application-defined identity.
    Basic {
        /// `opaque identity<V>`.
        identity: Bytes,
    },
    /// `x509`: a certificate chain, end-entity first.
    X509 {
        /// `Certificate certificates<V>`.
        certificates: Vec<Certificate>,
    },
}

impl Credential {
    /// The `credential_type` this credential is sent with.
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Credential::Basic { .. } => CredentialType::BASIC,
            Credential::X509 { .. } => CredentialType::X509,
        }
    }

    /// A basic credential for `identity`.
    pub fn basic(identity: impl Into<Vec<u8>>) -> Self {
        Credential::Basic {
            identity: Bytes(identity.into()),
        }
    }
}

impl Encode for Credential {
    fn encode(&self, out: &mut Vec<u8>) {
        self.credential_type().encode(out);
        match self {
            Credential::Basic { identity } => identity.encode(out),
            Credential::X509 { certificates } => certificates.encode(out),
        }
    }
    fn encoded_len(&self) -> usize {
        2 + match self {
            Credential::Basic { identity } => identity.encoded_len(),
            Credential::X509 { certificates } => certificates.encoded_len(),
        }
    }
}

impl Decode for Credential {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match CredentialType::decode(r)? {
            CredentialType::BASIC => Ok(Credential::Basic {
                identity: Bytes::decode(r)?,
            }),
            CredentialType::X509 => Ok(Credential::X509 {
                certificates: Vec::decode(r)?,
            }),
            _ => Err(DecodeError::UnknownValue("CredentialType")),
        }
    }
}
