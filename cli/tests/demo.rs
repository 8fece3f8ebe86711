//! `cohort demo` runs with no setup and exits 0.

#[test]
fn demo_runs_and_members_agree() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .arg("demo")
        .env_remove("COHORT_HOME")
        .env_remove("COHORT_SERVER")
        .output()
        .expect("run cohort demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("all members agree on the epoch and its authenticator"),
        "{stdout}"
    );
    assert!(stdout.contains("erin joins by external commit"), "{stdout}");
    assert!(stdout.contains("summary"), "{stdout}");
    // The race step: both commits built for one epoch, one lost and was retried.
    assert!(
        stdout.contains("carol and dave update at once: 1 lost the epoch and retried"),
        "{stdout}"
    );
    assert!(
        stdout.contains("7 sent, 20 delivered (expected 20)"),
        "{stdout}"
    );
}
