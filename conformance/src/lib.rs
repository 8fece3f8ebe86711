//! Conformance runner for the IETF MLS test vectors (`test-vectors.md`).
//!
//! Each vector file is recognised by its name and checked case by case. A case whose checker
//! is not written yet counts as failed, never as passed or skipped, so the totals always equal
//! what `count_cases` (`cohort vectors count`) finds in the file.
#![forbid(unsafe_code)]

mod crypto_basics;
mod deserialization;
pub mod generate;
mod key_schedule;
mod message_protection;
mod messages;
mod passive_client;
mod psk_secret;
mod secret_tree;
mod transcript_hashes;
mod tree_math;
mod tree_operations;
mod tree_validation;
mod treekem;
mod util;
mod welcome;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Checks one case of a vector file.
type CaseCheck = fn(&Value) -> Result<(), String>;

/// The checker for each IETF vector file, by file name.
fn checker(file_name: &str) -> Option<CaseCheck> {
    let f: CaseCheck = match file_name {
        "deserialization.json" => deserialization::check,
        "messages.json" => messages::check,
        "crypto-basics.json" => crypto_basics::check,
        "tree-math.json" => tree_math::check,
        "key-schedule.json" => key_schedule::check,
        "psk_secret.json" => psk_secret::check,
        "transcript-hashes.json" => transcript_hashes::check,
        "secret-tree.json" => secret_tree::check,
        "message-protection.json" => message_protection::check,
        "tree-operations.json" => tree_operations::check,
        "tree-validation.json" => tree_validation::check,
        "treekem.json" => treekem::check,
        "welcome.json" => welcome::check,
        "passive-client-welcome.json" => passive_client::check,
        "passive-client-handling-commit.json" => passive_client::check,
        _ => return None,
    };
    Some(f)
}

/// The outcome of one case.
#[derive(Debug)]
pub struct CaseResult {
    /// Index of the case in the file.
    pub index: usize,
    /// The case's cipher suite, for per-suite files.
    pub suite: Option<u16>,
    /// `Ok` if every check of the case passed, else the first failure.
    pub outcome: Result<(), String>,
}

/// The outcome of every case of one file.
#[derive(Debug)]
pub struct FileReport {
    /// The file's name.
    pub file: String,
    /// One entry per top-level case.
    pub cases: Vec<CaseResult>,
}

impl FileReport {
    /// Number of cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.outcome.is_ok()).count()
    }

    /// Number of cases that failed.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// (suite, passed, failed) for each suite present, `None` for files without suites.
    pub fn per_suite(&self) -> Vec<(Option<u16>, usize, usize)> {
        let mut suites: Vec<Option<u16>> = self.cases.iter().map(|c| c.suite).collect();
        suites.sort();
        suites.dedup();
        suites
            .into_iter()
            .map(|s| {
                let of_suite = self.cases.iter().filter(|c| c.suite == s);
                let passed = of_suite.clone().filter(|c| c.outcome.is_ok()).count();
                (s, passed, of_suite.count() - passed)
            })
            .collect()
    }
}

/// Check parsed vector JSON as the file `file_name`.
pub fn check_json(file_name: &str, json: &Value) -> Result<FileReport, String> {
    let check = checker(file_name).ok_or_else(|| format!("unknown vector file {file_name}"))?;
    let cases = json
        .as_array()
        .ok_or_else(|| format!("{file_name}: top level is not a list"))?;
    let cases = cases
        .iter()
        .enumerate()
        .map(|(index, case)| CaseResult {
            index,
            suite: case
                .get("cipher_suite")
                .and_then(Value::as_u64)
                .map(|s| s as u16),
            outcome: check(case),
        })
        .collect();
    Ok(FileReport {
        file: file_name.to_string(),
        cases,
    })
}

/// Read and check one vector file; its name selects the checker.
pub fn check_file(path: &Path) -> Result<FileReport, String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: no file name", path.display()))?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: bad JSON: {e}", path.display()))?;
    check_json(name, &json)
}

/// The cases of a vector file counted straight from its JSON, without checking them: one per
/// top-level entry, as (cipher suite, count), `None` for entries without a suite. This is the
/// independent tally that the runner's totals must equal (a runner that reports fewer skipped some).
pub fn count_cases(path: &Path) -> Result<Vec<(Option<u16>, usize)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: bad JSON: {e}", path.display()))?;
    let cases = json
        .as_array()
        .ok_or_else(|| format!("{}: top level is not a list", path.display()))?;
    let mut counts = std::collections::BTreeMap::<Option<u16>, usize>::new();
    for case in cases {
        let suite = case.get("cipher_suite").and_then(Value::as_u64);
        let suite = suite.map(|s| u16::try_from(s).map_err(|_| format!("suite {s} out of range")));
        *counts.entry(suite.transpose()?).or_default() += 1;
    }
    Ok(counts.into_iter().collect())
}

/// Every vector file name the runner knows.
pub const IETF_FILES: &[&str] = &[
    "crypto-basics.json",
    "deserialization.json",
    "key-schedule.json",
    "message-protection.json",
    "messages.json",
    "passive-client-handling-commit.json",
    "passive-client-welcome.json",
    "psk_secret.json",
    "secret-tree.json",
    "transcript-hashes.json",
    "tree-math.json",
    "tree-operations.json",
    "tree-validation.json",
    "treekem.json",
    "welcome.json",
];

/// The IETF vector folder: `$COHORT_IETF_VECTORS`, else the copy vendored in the repository
/// (`vectors/ietf/`).
pub fn ietf_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("COHORT_IETF_VECTORS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/ietf")
}

/// The vectors Cohort generated and committed (`vectors/cohort/`), kept apart from the IETF set.
pub fn cohort_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/cohort")
}
