//! `transcript-hashes.json`: confirmed and interim transcript hashes of a commit and its
//! confirmation tag (RFC 9420 §8.1, §8.2).

use crate::util::{ensure, hex_field, u64_field};
use cohort::codec::Decode;
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::{AuthenticatedContent, ContentType};
use cohort::schedule::transcript::{confirmed_transcript_hash, interim_transcript_hash};
use serde_json::Value;

/// Check one transcript-hashes case.
pub fn check(case: &Value) -> Result<(), String> {
    let suite = Suite::new(CipherSuite(u64_field(case, "cipher_suite")? as u16))
        .map_err(|e| e.to_string())?;
    let content = AuthenticatedContent::decode_exact(&hex_field(case, "authenticated_content")?)
        .map_err(|e| format!("authenticated_content: {e:?}"))?;
    ensure(
        content.content.content_type() == ContentType::Commit,
        "authenticated_content is a commit",
    )?;
    let tag = content
        .auth
        .confirmation_tag
        .as_ref()
        .ok_or("commit without confirmation_tag")?;

    let confirmed_after = hex_field(case, "confirmed_transcript_hash_after")?;
    suite
        .verify_mac(&hex_field(case, "confirmation_key")?, &confirmed_after, tag)
        .map_err(|e| format!("confirmation_tag: {e}"))?;

    let confirmed = confirmed_transcript_hash(
        &suite,
        &hex_field(case, "interim_transcript_hash_before")?,
        &content.confirmed_transcript_hash_input(),
    );
    ensure(
        confirmed == confirmed_after,
        "confirmed_transcript_hash_after",
    )?;
    let interim = interim_transcript_hash(&suite, &confirmed, tag);
    ensure(
        interim == hex_field(case, "interim_transcript_hash_after")?,
        "interim_transcript_hash_after",
    )
}
