//! Runs every IETF vector file; files Cohort claims to pass must pass every case.

use cohort_conformance::{check_file, count_cases, ietf_dir, IETF_FILES};

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

/// The vendored folder holds exactly the files the runner knows, and for each file and suite the
/// runner reports as many cases as the JSON holds: nothing is skipped, nothing is left unread.
#[test]
fn runner_counts_equal_the_files_case_counts() {
    let dir = ietf_dir();
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("IETF vectors needed at {}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    present.sort();
    let mut known: Vec<String> = IETF_FILES.iter().map(|f| f.to_string()).collect();
    known.sort();
    assert_eq!(present, known, "files in {}", dir.display());
    for file in IETF_FILES {
        let path = dir.join(file);
        let report = check_file(&path).expect("vector file readable");
        let ran: Vec<_> = report
            .per_suite()
            .into_iter()
            .map(|(suite, pass, fail)| (suite, pass + fail))
            .collect();
        assert_eq!(ran, count_cases(&path).unwrap(), "{file}");
    }
}
