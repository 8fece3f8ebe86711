//! Generating test vectors in the IETF format (`test-vectors.md`), with fresh random inputs.
//!
//! Each kind is named after its IETF file (`tree-math` is written to `tree-math.json`) and
//! produces a JSON array with exactly the fields and encodings of that format, so that other
//! implementations' runners can read it. Per-suite kinds have one case per requested cipher
//! suite. Where a value can be derived straight from the RFC's formulas (tree math, the key
//! schedule, the secret tree, PSK chaining), the generator does so itself rather than through
//! the library code the checker uses, so a round trip compares two derivations.

mod crypto_basics;
mod key_schedule;
mod members;
mod message_protection;
mod messages;
mod psk_secret;
mod secret_tree;
mod transcript_hashes;
mod tree_math;
mod tree_validation;
mod treekem;
mod welcome;

use cohort::codec::{Bytes, Encode};
use cohort::crypto::{CipherSuite, Suite};
use cohort::messages::{
    Add, Commit, Credential, Extensions, GroupContext, KeyPackage, Lifetime, PSKTypeData,
    PreSharedKey, PreSharedKeyID, Proposal, ProposalOrRef, ProtocolVersion, Remove,
};
use serde_json::{json, Value};

/// Every kind `generate` accepts, by IETF file stem.
pub const GENERATABLE: &[&str] = &[
    "tree-math",
    "crypto-basics",
    "secret-tree",
    "key-schedule",
    "psk_secret",
    "transcript-hashes",
    "message-protection",
    "welcome",
    "treekem",
    "tree-validation",
    "messages",
];

/// The IETF file name a kind is written to (and recognised by `check_file` under).
pub fn file_name(kind: &str) -> String {
    format!("{}.json", kind.trim_end_matches(".json"))
}

/// The text of a vector file: pretty-printed JSON (as the IETF files are) and a newline.
pub fn to_file_text(json: &Value) -> String {
    let mut text = serde_json::to_string_pretty(json).unwrap_or_default();
    text.push('\n');
    text
}

/// Generate the vectors of `kind` (a [`GENERATABLE`] name, `.json` optional): one case per
/// suite of `suites` (all seven if empty) for per-suite kinds.
pub fn generate(kind: &str, suites: &[u16]) -> Result<Value, String> {
    let kind = kind.trim_end_matches(".json");
    let suites = resolve_suites(suites)?;
    type PerSuite = fn(&Suite) -> Result<Value, String>;
    let per_suite: PerSuite = match kind {
        "tree-math" => return tree_math::generate(&suites[0]),
        "crypto-basics" => crypto_basics::generate,
        "secret-tree" => secret_tree::generate,
        "key-schedule" => key_schedule::generate,
        "psk_secret" => psk_secret::generate,
        "transcript-hashes" => transcript_hashes::generate,
        "message-protection" => message_protection::generate,
        "welcome" => welcome::generate,
        "treekem" => treekem::generate,
        "tree-validation" => tree_validation::generate,
        "messages" => messages::generate,
        _ => {
            return Err(format!(
                "unknown vector kind {kind}; known: {}",
                GENERATABLE.join(", ")
            ))
        }
    };
    let cases = suites
        .iter()
        .map(|s| per_suite(s).map_err(|e| format!("{kind}, suite {}: {e}", s.id().0)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(cases))
}

/// The requested suites, or all seven; each must be one Cohort implements.
fn resolve_suites(ids: &[u16]) -> Result<Vec<Suite>, String> {
    let ids: Vec<CipherSuite> = if ids.is_empty() {
        CipherSuite::ALL.to_vec()
    } else {
        ids.iter().map(|&i| CipherSuite(i)).collect()
    };
    ids.into_iter()
        .map(|id| Suite::new(id).map_err(|e| format!("cipher suite {}: {e}", id.0)))
        .collect()
}

/// Format an error of the library with what was being done.
fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// `len` random bytes.
fn bytes(suite: &Suite, len: usize) -> Result<Vec<u8>, String> {
    suite.random_bytes(len).map_err(err("random"))
}

/// A uniform-enough random integer in `lo..=hi` (64 random bits reduced; the bias is
/// negligible for the small ranges used here).
fn range(suite: &Suite, lo: u64, hi: u64) -> Result<u64, String> {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes(suite, 8)?);
    let span = hi - lo;
    Ok(if span == u64::MAX {
        u64::from_be_bytes(b)
    } else {
        lo + u64::from_be_bytes(b) % (span + 1)
    })
}

/// A random `usize` in `lo..=hi`.
fn urange(suite: &Suite, lo: usize, hi: usize) -> Result<usize, String> {
    Ok(range(suite, lo as u64, hi as u64)? as usize)
}

/// True with probability `num / den`.
fn chance(suite: &Suite, num: u64, den: u64) -> Result<bool, String> {
    Ok(range(suite, 0, den - 1)? < num)
}

/// Random bytes of a random length in `lo..=hi`.
fn rand_vec(suite: &Suite, lo: usize, hi: usize) -> Result<Vec<u8>, String> {
    let len = urange(suite, lo, hi)?;
    bytes(suite, len)
}

/// A random printable label: `name` and a random hex suffix (possibly empty).
fn label(suite: &Suite, name: &str) -> Result<String, String> {
    let suffix = rand_vec(suite, 0, 8)?;
    Ok(if suffix.is_empty() {
        name.to_string()
    } else {
        format!("{name} {}", hex::encode(suffix))
    })
}

/// Hex of bytes, as a JSON string.
fn hx(b: &[u8]) -> Value {
    json!(hex::encode(b))
}

/// A lifetime that never expires, so committed vectors stay valid.
const FOREVER: Lifetime = Lifetime {
    not_before: 0,
    not_after: u64::MAX,
};

/// A random GroupContext with empty extensions (the vectors' convention).
fn random_context(suite: &Suite) -> Result<GroupContext, String> {
    let nh = suite.hash_len();
    Ok(GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: suite.id(),
        group_id: Bytes(rand_vec(suite, 1, 32)?),
        epoch: range(suite, 0, u64::from(u32::MAX))?,
        tree_hash: Bytes(bytes(suite, nh)?),
        confirmed_transcript_hash: Bytes(bytes(suite, nh)?),
        extensions: Extensions::new(),
    })
}

/// A fresh KeyPackage (basic credential with a random identity, never-expiring lifetime).
fn key_package(suite: &Suite) -> Result<cohort::group::KeyPackageSecrets, String> {
    let signer = suite
        .generate_signature_key_pair()
        .map_err(err("signature key"))?;
    let options = cohort::group::KeyPackageOptions {
        lifetime: Some(FOREVER),
        ..Default::default()
    };
    cohort::group::KeyPackageSecrets::generate(
        suite,
        Credential::basic(rand_vec(suite, 1, 16)?),
        &signer,
        &options,
    )
    .map_err(err("key package"))
}

/// A random external PreSharedKeyID.
fn random_psk_id(suite: &Suite) -> Result<PreSharedKeyID, String> {
    Ok(PreSharedKeyID {
        psk: PSKTypeData::External {
            psk_id: Bytes(rand_vec(suite, 1, 32)?),
        },
        psk_nonce: Bytes(bytes(suite, suite.hash_len())?),
    })
}

/// A random Add, Remove or PreSharedKey proposal.
fn random_proposal(suite: &Suite, kp: Option<&KeyPackage>) -> Result<Proposal, String> {
    Ok(match (range(suite, 0, 2)?, kp) {
        (0, Some(kp)) => Proposal::Add(Box::new(Add {
            key_package: kp.clone(),
        })),
        (1, _) => Proposal::PreSharedKey(PreSharedKey {
            psk: random_psk_id(suite)?,
        }),
        _ => Proposal::Remove(Remove {
            removed: range(suite, 0, 1000)? as u32,
        }),
    })
}

/// A random Commit: one to three proposals by value or by reference, no path.
fn random_commit(suite: &Suite, kp: Option<&KeyPackage>) -> Result<Commit, String> {
    let n = urange(suite, 1, 3)?;
    let mut proposals = Vec::with_capacity(n);
    for _ in 0..n {
        proposals.push(if chance(suite, 1, 2)? {
            ProposalOrRef::Proposal(random_proposal(suite, kp)?)
        } else {
            let p = random_proposal(suite, None)?;
            ProposalOrRef::Reference(Bytes(
                suite.ref_hash("MLS 1.0 Proposal Reference", &p.to_bytes()),
            ))
        });
    }
    Ok(Commit {
        proposals,
        path: None,
    })
}
