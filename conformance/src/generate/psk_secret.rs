//! `psk_secret.json`: zero to five external PSKs chained into `psk_secret`, derived here
//! straight from RFC 9420 §8.4 with the `PSKLabel` wire struct (the checker uses the
//! library's `psk_secret`).

use super::{bytes, err, hx, random_psk_id, urange};
use cohort::codec::Encode;
use cohort::crypto::{Secret, Suite};
use cohort::messages::{PSKLabel, PSKTypeData};
use serde_json::{json, Value};

/// One case for `suite`.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let nh = suite.hash_len();
    let count = urange(suite, 0, 5)?;
    let mut psks = Vec::with_capacity(count);
    let mut secret = Secret::zero(nh);
    for index in 0..count {
        let id = random_psk_id(suite)?;
        let psk = bytes(suite, nh)?;
        let extracted = suite.extract(&vec![0; nh], &psk);
        let label = PSKLabel {
            id: id.clone(),
            index: index as u16,
            count: count as u16,
        };
        let input = suite
            .expand_with_label(&extracted, "derived psk", &label.to_bytes(), nh)
            .map_err(err("derived psk"))?;
        secret = suite.extract(input.as_bytes(), secret.as_bytes());
        let PSKTypeData::External { psk_id } = &id.psk else {
            return Err("random_psk_id gave a resumption PSK".into());
        };
        psks.push(json!({
            "psk_id": hx(psk_id.as_slice()),
            "psk": hx(&psk),
            "psk_nonce": hx(id.psk_nonce.as_slice()),
        }));
    }
    Ok(json!({
        "cipher_suite": suite.id().0,
        "psks": psks,
        "psk_secret": hx(secret.as_bytes()),
    }))
}
