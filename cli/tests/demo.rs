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

/// The same demo on the experimental X-Wing suite (0x004D): KeyPackages, Welcome, commits,
/// external join and messages all carry ML-KEM-768 + X25519 keys, through the real server.
#[test]
fn demo_runs_on_the_xwing_suite() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["demo", "--suite", "0x004D"])
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
        stdout.contains("MLS_256_XWING_CHACHA20POLY1305_SHA256_ED25519 (experimental"),
        "{stdout}"
    );
    assert!(
        stdout.contains("all members agree on the epoch and its authenticator"),
        "{stdout}"
    );
    assert!(
        stdout.contains("7 sent, 20 delivered (expected 20)"),
        "{stdout}"
    );
}

/// An unknown suite is refused before anything starts.
#[test]
fn demo_refuses_an_unknown_suite() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["demo", "--suite", "0x0a0a"])
        .output()
        .expect("run cohort demo");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cipher suite"));
}
