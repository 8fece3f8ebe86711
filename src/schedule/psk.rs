//! Combining pre-shared keys into `psk_secret` (RFC 9420 §8.4).

use crate::codec::write_vec_bytes;
use crate::crypto::{Secret, Suite};
use crate::error::{Error, Result};

/// One PSK to inject: the encoded `PreSharedKeyID` and the PSK value it names.
#[derive(Debug, Clone)]
pub struct PskInput {
    /// The `PreSharedKeyID` as encoded on the wire.
    pub id: Vec<u8>,
    /// The PSK value (external PSK or a resumption PSK).
    pub psk: Secret,
}

/// Chain the PSKs into `psk_secret`; with no PSKs this is the all-zero vector of length Nh.
pub fn psk_secret(suite: &Suite, psks: &[PskInput]) -> Result<Secret> {
    let nh = suite.hash_len();
    let count = u16::try_from(psks.len()).map_err(|_| Error::Misuse("more than 65535 PSKs"))?;
    let mut secret = Secret::zero(nh);
    for (index, input) in psks.iter().enumerate() {
        let extracted = suite.extract(&vec![0; nh], input.psk.as_bytes());
        // PSKLabel { PreSharedKeyID id; uint16 index; uint16 count; }
        let mut label = input.id.clone();
        label.extend_from_slice(&(index as u16).to_be_bytes());
        label.extend_from_slice(&count.to_be_bytes());
        let psk_input = suite.expand_with_label(&extracted, "derived psk", &label, nh)?;
        secret = suite.extract(psk_input.as_bytes(), secret.as_bytes());
    }
    Ok(secret)
}

/// Encode an external `PreSharedKeyID` (psktype = external(1)).
pub fn external_psk_id(psk_id: &[u8], psk_nonce: &[u8]) -> Vec<u8> {
    let mut out = vec![1u8];
    write_vec_bytes(&mut out, psk_id);
    write_vec_bytes(&mut out, psk_nonce);
    out
}
