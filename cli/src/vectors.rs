//! `cohort vectors check`: per file and per cipher suite, cases passed and failed.

use cohort_conformance::{check_file, ietf_dir, IETF_FILES};
use std::path::PathBuf;
use std::process::ExitCode;

/// Check `files` (or every IETF file) and print a table; non-zero exit on any failure.
pub fn check(mut files: Vec<PathBuf>) -> ExitCode {
    if files.is_empty() {
        let dir = ietf_dir();
        files = IETF_FILES.iter().map(|f| dir.join(f)).collect();
    }
    let (mut total_pass, mut total_fail) = (0, 0);
    for path in &files {
        match check_file(path) {
            Ok(report) => {
                for (suite, pass, fail) in report.per_suite() {
                    let suite = suite.map_or("-".to_string(), |s| format!("0x{s:04x}"));
                    println!(
                        "{:<38} suite {:<6} passed {:>4} failed {:>4}",
                        report.file, suite, pass, fail
                    );
                }
                for case in report.cases.iter().filter(|c| c.outcome.is_err()).take(3) {
                    if let Err(e) = &case.outcome {
                        println!("    case {} failed: {e}", case.index);
                    }
                }
                total_pass += report.passed();
                total_fail += report.failed();
            }
            Err(e) => {
                println!("{}: error: {e}", path.display());
                total_fail += 1;
            }
        }
    }
    println!("total: {total_pass} passed, {total_fail} failed");
    if total_fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
