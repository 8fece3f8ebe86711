//! Helpers shared by the per-file checkers.

use serde_json::Value;

/// A hex-encoded field of a case.
#[allow(dead_code)]
pub fn hex_field(case: &Value, key: &str) -> Result<Vec<u8>, String> {
    let s = case
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing hex field {key}"))?;
    hex::decode(s).map_err(|e| format!("field {key}: {e}"))
}

/// An unsigned integer field of a case.
#[allow(dead_code)]
pub fn u64_field(case: &Value, key: &str) -> Result<u64, String> {
    case.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("missing integer field {key}"))
}

/// A string field of a case.
#[allow(dead_code)]
pub fn str_field<'a>(case: &'a Value, key: &str) -> Result<&'a str, String> {
    case.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string field {key}"))
}

/// Fail with a message naming `what` unless `ok`.
#[allow(dead_code)]
pub fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("mismatch: {what}"))
    }
}
