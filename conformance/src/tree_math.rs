//! `tree-math.json`: Appendix C relations for every node of each tree size.

use crate::util::{ensure, u64_field};
use cohort::tree::math;
use serde_json::Value;

/// Check one tree-math case.
pub fn check(case: &Value) -> Result<(), String> {
    let n = u64_field(case, "n_leaves")? as u32;
    ensure(
        u64::from(math::node_width(n)) == u64_field(case, "n_nodes")?,
        "n_nodes",
    )?;
    ensure(u64::from(math::root(n)) == u64_field(case, "root")?, "root")?;
    type Rel = fn(u32, u32) -> Option<u32>;
    let rels: [(&str, Rel); 4] = [
        ("left", |x, _| math::left(x)),
        ("right", |x, _| math::right(x)),
        ("parent", math::parent),
        ("sibling", math::sibling),
    ];
    for (name, f) in rels {
        let expected = case
            .get(name)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("missing {name}"))?;
        ensure(
            expected.len() == math::node_width(n) as usize,
            &format!("{name} length"),
        )?;
        for (i, e) in expected.iter().enumerate() {
            let got = f(i as u32, n).map(u64::from);
            ensure(got == e.as_u64(), &format!("{name}[{i}]"))?;
        }
    }
    Ok(())
}
