//! `deserialization.json`: variable-length vector headers decode to their lengths (§2.1.2).

use crate::util::{ensure, hex_field, u64_field};
use cohort::codec::Reader;
use serde_json::Value;

/// Check one deserialization case: the header is exactly one varint of the given value.
pub fn check(case: &Value) -> Result<(), String> {
    let header = hex_field(case, "vlbytes_header")?;
    let expected = u64_field(case, "length")?;
    let mut r = Reader::new(&header);
    let length = r.varint().map_err(|e| format!("vlbytes_header: {e:?}"))?;
    ensure(r.is_empty(), "header has trailing bytes")?;
    ensure(length == expected, "decoded length")
}
