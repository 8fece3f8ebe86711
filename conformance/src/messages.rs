//! `messages.json`: every wire struct decodes and re-encodes byte-exactly (test-vectors.md
//! "Messages").

use crate::util::hex_field;
use cohort::codec::{Decode, Encode};
use cohort::framing::{ContentType, MLSMessage, MLSMessageBody, WireFormat};
use cohort::messages::{
    Add, Commit, ExternalInit, GroupContextExtensions, GroupSecrets, PreSharedKey, RatchetTreeWire,
    ReInit, Remove, Update,
};
use serde_json::Value;

/// Decode `field` as `T` and check that it re-encodes to the same bytes.
fn round_trip<T: Decode + Encode>(case: &Value, field: &str) -> Result<T, String> {
    let bytes = hex_field(case, field)?;
    let value = T::decode_exact(&bytes).map_err(|e| format!("{field}: decode: {e:?}"))?;
    if value.to_bytes() != bytes {
        return Err(format!("{field}: re-encoding differs"));
    }
    Ok(value)
}

/// Round-trip an MLSMessage field and check its wire format (and content type, if given).
fn message(
    case: &Value,
    field: &str,
    wire_format: WireFormat,
    content_type: Option<ContentType>,
) -> Result<(), String> {
    let msg: MLSMessage = round_trip(case, field)?;
    if msg.wire_format() != wire_format {
        return Err(format!(
            "{field}: wire format {:?}, expected {wire_format:?}",
            msg.wire_format()
        ));
    }
    if let Some(ct) = content_type {
        let MLSMessageBody::PublicMessage(m) = &msg.body else {
            return Err(format!("{field}: not a public message"));
        };
        if m.content.content_type() != ct {
            return Err(format!(
                "{field}: content type {:?}",
                m.content.content_type()
            ));
        }
    }
    Ok(())
}

/// Check one messages case.
pub fn check(case: &Value) -> Result<(), String> {
    message(case, "mls_welcome", WireFormat::Welcome, None)?;
    message(case, "mls_group_info", WireFormat::GroupInfo, None)?;
    message(case, "mls_key_package", WireFormat::KeyPackage, None)?;
    round_trip::<RatchetTreeWire>(case, "ratchet_tree")?;
    round_trip::<GroupSecrets>(case, "group_secrets")?;
    round_trip::<Add>(case, "add_proposal")?;
    round_trip::<Update>(case, "update_proposal")?;
    round_trip::<Remove>(case, "remove_proposal")?;
    round_trip::<PreSharedKey>(case, "pre_shared_key_proposal")?;
    round_trip::<ReInit>(case, "re_init_proposal")?;
    round_trip::<ExternalInit>(case, "external_init_proposal")?;
    round_trip::<GroupContextExtensions>(case, "group_context_extensions_proposal")?;
    round_trip::<Commit>(case, "commit")?;
    let public = WireFormat::PublicMessage;
    message(
        case,
        "public_message_application",
        public,
        Some(ContentType::Application),
    )?;
    message(
        case,
        "public_message_proposal",
        public,
        Some(ContentType::Proposal),
    )?;
    message(
        case,
        "public_message_commit",
        public,
        Some(ContentType::Commit),
    )?;
    message(case, "private_message", WireFormat::PrivateMessage, None)?;
    Ok(())
}
