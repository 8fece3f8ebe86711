//! `transcript-hashes.json`: a signed commit from a random member with a valid confirmation
//! tag, and the transcript hashes before and after it (RFC 9420 §8.2), hashed here from the
//! encoded parts.

use super::{bytes, err, hx, key_package, rand_vec, random_commit, random_context, range};
use cohort::codec::{write_vec_bytes, Bytes, Encode};
use cohort::crypto::Suite;
use cohort::framing::{sign_content, Content, FramedContent, Sender, WireFormat};
use serde_json::{json, Value};

/// One case for `suite`.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let nh = suite.hash_len();
    let context = random_context(suite)?;
    let signer = suite
        .generate_signature_key_pair()
        .map_err(err("signature key"))?;
    let kp = key_package(suite)?;
    let framed = FramedContent {
        group_id: context.group_id.clone(),
        epoch: context.epoch,
        sender: Sender::Member(range(suite, 0, 63)? as u32),
        authenticated_data: Bytes(rand_vec(suite, 0, 16)?),
        content: Content::Commit(Box::new(random_commit(suite, Some(&kp.key_package))?)),
    };
    let mut content = sign_content(
        suite,
        &signer,
        WireFormat::PublicMessage,
        framed,
        Some(&context),
    )
    .map_err(err("sign"))?;
    let confirmation_key = bytes(suite, nh)?;
    let interim_before = bytes(suite, nh)?;

    // ConfirmedTranscriptHashInput: wire_format, content, signature.
    let mut input = interim_before.clone();
    content.wire_format.encode(&mut input);
    content.content.encode(&mut input);
    content.auth.signature.encode(&mut input);
    let confirmed_after = suite.hash(&input);
    let tag = suite.mac(&confirmation_key, &confirmed_after);
    let mut input = confirmed_after.clone();
    write_vec_bytes(&mut input, &tag);
    let interim_after = suite.hash(&input);
    content.auth.confirmation_tag = Some(Bytes(tag));

    Ok(json!({
        "cipher_suite": suite.id().0,
        "confirmation_key": hx(&confirmation_key),
        "authenticated_content": hx(&content.to_bytes()),
        "interim_transcript_hash_before": hx(&interim_before),
        "confirmed_transcript_hash_after": hx(&confirmed_after),
        "interim_transcript_hash_after": hx(&interim_after),
    }))
}
