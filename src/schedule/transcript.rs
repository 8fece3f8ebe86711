//! Confirmed and interim transcript hashes (RFC 9420 §8.2).

use crate::codec::write_vec_bytes;
use crate::crypto::Suite;

/// `confirmed_transcript_hash_[n] = Hash(interim_[n-1] || ConfirmedTranscriptHashInput_[n])`,
/// where the input is `wire_format || FramedContent || signature<V>` as encoded on the wire.
pub fn confirmed_transcript_hash(
    suite: &Suite,
    interim_before: &[u8],
    confirmed_input: &[u8],
) -> Vec<u8> {
    let mut data = Vec::with_capacity(interim_before.len() + confirmed_input.len());
    data.extend_from_slice(interim_before);
    data.extend_from_slice(confirmed_input);
    suite.hash(&data)
}

/// `interim_transcript_hash_[n] = Hash(confirmed_[n] || InterimTranscriptHashInput_[n])`, the
/// input being the commit's `confirmation_tag` as a `MAC` (`opaque<V>`).
pub fn interim_transcript_hash(
    suite: &Suite,
    confirmed: &[u8],
    confirmation_tag: &[u8],
) -> Vec<u8> {
    let mut data = confirmed.to_vec();
    write_vec_bytes(&mut data, confirmation_tag);
    suite.hash(&data)
}
