//! Runs every IETF vector file; files Cohort claims to pass must pass every case.

use cohort_conformance::{check_file, ietf_dir, IETF_FILES};

/// Files whose every case must pass. Grows as layers land.
const MUST_PASS: &[&str] = &[
    "tree-math.json",
    "crypto-basics.json",
    "messages.json",
    "deserialization.json",
    "key-schedule.json",
    "psk_secret.json",
    "secret-tree.json",
    "message-protection.json",
    "transcript-hashes.json",
    "tree-operations.json",
    "tree-validation.json",
    "treekem.json",
    "welcome.json",
    "passive-client-welcome.json",
    "passive-client-handling-commit.json",
];

#[test]
fn every_ietf_file_is_accounted_for() {
    let dir = ietf_dir();
    let mut failures = Vec::new();
    for file in IETF_FILES {
        let report = check_file(&dir.join(file)).expect("vector file readable");
        assert!(!report.cases.is_empty(), "{file}: no cases");
        println!(
            "{file}: {} passed, {} failed",
            report.passed(),
            report.failed()
        );
        if MUST_PASS.contains(file) {
            for case in report.cases.iter().filter(|c| c.outcome.is_err()) {
                failures.push(format!(
                    "{file} case {} (suite {:?}): {}",
                    case.index,
                    case.suite,
                    case.outcome.as_ref().unwrap_err()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
}
