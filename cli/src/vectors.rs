//! `cohort vectors check`: per file and per cipher suite, cases passed and failed;
//! `cohort vectors generate`: fresh vectors in the IETF format;
//! `cohort vectors count`: cases per file and suite, counted from the JSON alone.

use cohort_conformance::generate::{file_name, GENERATABLE};
use cohort_conformance::{check_file, cohort_dir, count_cases, ietf_dir, IETF_FILES};
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

/// Count the cases of `files` (or every IETF file) per cipher suite without checking them:
/// the figures `check` must reach.
pub fn count(mut files: Vec<PathBuf>) -> ExitCode {
    if files.is_empty() {
        let dir = ietf_dir();
        files = IETF_FILES.iter().map(|f| dir.join(f)).collect();
    }
    let mut total = 0;
    let mut status = ExitCode::SUCCESS;
    for path in &files {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        match count_cases(path) {
            Ok(counts) => {
                let cases: usize = counts.iter().map(|(_, n)| n).sum();
                let per_suite: Vec<String> = counts
                    .iter()
                    .filter_map(|(s, n)| s.map(|s| format!("0x{s:04x}={n}")))
                    .collect();
                println!("{name:<38} cases {cases:>4}  {}", per_suite.join(" "));
                total += cases;
            }
            Err(e) => {
                println!("{}: error: {e}", path.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    println!("total: {total} cases");
    status
}

/// Generate `kind` for `suites` (all if empty) and write it to `out` (standard output if
/// `None`); `kind` "all" writes every kind as its IETF file name into the folder `out`.
pub fn generate(kind: &str, out: Option<PathBuf>, suites: &[u16]) -> ExitCode {
    let result = if kind == "all" {
        let dir = out.unwrap_or_else(cohort_dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|()| {
                GENERATABLE
                    .iter()
                    .try_for_each(|k| write_kind(k, Some(dir.join(file_name(k))), suites))
            })
    } else {
        write_kind(kind, out, suites)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Generate one kind and write it as pretty JSON.
fn write_kind(kind: &str, out: Option<PathBuf>, suites: &[u16]) -> Result<(), String> {
    let json = cohort_conformance::generate::generate(kind, suites)?;
    let text = cohort_conformance::generate::to_file_text(&json);
    match out {
        Some(path) => {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            let n = json.as_array().map_or(0, Vec::len);
            eprintln!("{}: {n} cases", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
