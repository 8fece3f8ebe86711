//! Pre-shared key identifiers (RFC 9420 §8.4).

use crate::codec::{Bytes, Decode, Encode, Reader};
use crate::error::DecodeError;

crate::codec_enum! {
    /// `PSKType` (§8.4).
    pub enum PSKType: u8 {
        /// A PSK provisioned by the application.
        External = 1,
        /// A `resumption_psk` of some group and epoch.
        Resumption = 2,
    }
}

crate::codec_enum! {
    /// `ResumptionPSKUsage` (§8.4).
    pub enum ResumptionPSKUsage: u8 {
        /// Application-defined use.
        Application = 1,
        /// Reinitialisation (§11.2).
        Reinit = 2,
        /// Subgroup branching (§11.3).
        Branch = 3,
    }
}

/// The `psktype` field of a PreSharedKeyID (§8.4) together with its select arm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PSKTypeData {
    /// `external`: `opaque psk_id<V>`.
    External {
        /// The application's identifier for the PSK.
        psk_id: Bytes,
    },
    /// `resumption`: the group and epoch whose `resumption_psk` is used.
    Resumption {
        /// Why the resumption PSK is injected.
        usage: ResumptionPSKUsage,
        /// The group the PSK comes from.
        psk_group_id: Bytes,
        /// The epoch the PSK comes from.
        psk_epoch: u64,
    },
}

impl PSKTypeData {
    /// The `psktype` tag.
    pub fn psk_type(&self) -> PSKType {
        match self {
            PSKTypeData::External { .. } => PSKType::External,
            PSKTypeData::Resumption { .. } => PSKType::Resumption,
        }
    }
}

impl Encode for PSKTypeData {
    fn encode(&self, out: &mut Vec<u8>) {
        self.psk_type().encode(out);
        match self {
            PSKTypeData::External { psk_id } => psk_id.encode(out),
            PSKTypeData::Resumption {
                usage,
                psk_group_id,
                psk_epoch,
            } => {
                usage.encode(out);
                psk_group_id.encode(out);
                psk_epoch.encode(out);
            }
        }
    }
    fn encoded_len(&self) -> usize {
        self.psk_type().encoded_len()
            + match self {
                PSKTypeData::External { psk_id } => psk_id.encoded_len(),
                PSKTypeData::Resumption {
                    usage,
                    psk_group_id,
                    psk_epoch,
                } => usage.encoded_len() + psk_group_id.encoded_len() + psk_epoch.encoded_len(),
            }
    }
}

impl Decode for PSKTypeData {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match PSKType::decode(r)? {
            PSKType::External => PSKTypeData::External {
                psk_id: Bytes::decode(r)?,
            },
            PSKType::Resumption => PSKTypeData::Resumption {
                usage: ResumptionPSKUsage::decode(r)?,
                psk_group_id: Bytes::decode(r)?,
                psk_epoch: u64::decode(r)?,
            },
        })
    }
}

crate::codec_struct! {
    /// `PreSharedKeyID` (§8.4).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct PreSharedKeyID {
        /// `psktype` and its select arm.
        pub psk: PSKTypeData,
        /// A fresh random value of length `KDF.Nh`.
        pub psk_nonce: Bytes,
    }
}

crate::codec_struct! {
    /// `PSKLabel` (§8.4): the context of `ExpandWithLabel` when chaining PSKs.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct PSKLabel {
        /// The PSK being injected.
        pub id: PreSharedKeyID,
        /// Its position in the list of PSKs.
        pub index: u16,
        /// The number of PSKs.
        pub count: u16,
    }
}
