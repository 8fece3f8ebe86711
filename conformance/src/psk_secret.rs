//! `psk_secret.json`: chaining external PSKs into `psk_secret` (§8.4).

use crate::util::{ensure, hex_field, u64_field};
use cohort::crypto::{CipherSuite, Secret, Suite};
use cohort::schedule::psk::{external_psk_id, psk_secret, PskInput};
use serde_json::Value;

/// Check one psk_secret case.
pub fn check(case: &Value) -> Result<(), String> {
    let suite = Suite::new(CipherSuite(u64_field(case, "cipher_suite")? as u16))
        .map_err(|e| e.to_string())?;
    let psks = case
        .get("psks")
        .and_then(Value::as_array)
        .ok_or("missing psks")?
        .iter()
        .map(|p| {
            Ok(PskInput {
                id: external_psk_id(&hex_field(p, "psk_id")?, &hex_field(p, "psk_nonce")?),
                psk: Secret::new(hex_field(p, "psk")?),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let secret = psk_secret(&suite, &psks).map_err(|e| e.to_string())?;
    ensure(
        secret.as_bytes() == hex_field(case, "psk_secret")?,
        "psk_secret",
    )
}
