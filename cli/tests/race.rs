//! Twenty members commit in the same epoch at once: the Delivery Service accepts exactly
//! one; every other `cohort` process gets 409, discards its pending commit, processes the
//! winner and commits again, until all twenty updates are in. Everyone ends in the same
//! epoch with the same epoch authenticator.

mod common;

use common::{Client, Server};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Instant;

const RACERS: usize = 20;

#[test]
fn twenty_concurrent_commits_one_wins_each_epoch_all_converge() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let owner = Client::new(dir.path(), &server.url, "owner");
    owner.ok(&["register", "owner"]);
    let racers: Vec<Client> = (0..RACERS)
        .map(|i| Client::new(dir.path(), &server.url, &format!("r{i:02}")))
        .collect();
    std::thread::scope(|s| {
        for r in &racers {
            s.spawn(move || {
                r.ok(&["register", &r.name]);
                r.ok(&["keypackages", "publish", "--count", "1"]);
            });
        }
    });
    owner.ok(&["group", "create", "race"]);
    let names: Vec<&str> = racers.iter().map(|r| r.name.as_str()).collect();
    let mut args = vec!["group", "add", "race"];
    args.extend(&names);
    owner.ok(&args);
    std::thread::scope(|s| {
        for r in &racers {
            s.spawn(move || r.ok(&["sync"]));
        }
    });
    let (epoch0, members, _) = owner.status("race");
    assert_eq!(members, RACERS + 1);

    // Every racer builds its commit for epoch0, says so, and waits at the gate.
    let gate = dir.path().join("gate");
    let spawned: Vec<_> = racers
        .iter()
        .map(|r| {
            let child = r
                .command(&["group", "update", "race", "--gate"])
                .arg(&gate)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (r.name.clone(), child)
        })
        .collect();
    let mut children = Vec::new();
    for (name, mut child) in spawned {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let _ = out.read_line(&mut first);
        children.push((name, child, first, out));
    }
    for (name, _, first, _) in &children {
        assert_eq!(
            first.trim(),
            format!("commit ready for epoch {epoch0}"),
            "{name} did not build its commit for epoch {epoch0}"
        );
    }
    let start = Instant::now();
    std::fs::write(&gate, b"go").unwrap();

    let mut conflicts = Vec::new();
    for (name, mut child, _, out) in children {
        let rest: Vec<String> = out.lines().map_while(Result::ok).collect();
        let status = child.wait().unwrap();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.success(), "{name} failed: {rest:?} {err}");
        let n: u32 = rest
            .iter()
            .find_map(|l| l.strip_prefix("conflicts="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no conflict count in {rest:?}"));
        conflicts.push(n);
    }
    let took = start.elapsed();
    // All twenty commits were built for epoch0 and posted at once: exactly one won it.
    assert_eq!(
        conflicts.iter().filter(|c| **c == 0).count(),
        1,
        "conflicts per racer: {conflicts:?}"
    );
    // Each later epoch also had exactly one winner: the losers of epoch0+k retried.
    let total: u32 = conflicts.iter().sum();
    assert!(total >= (RACERS - 1) as u32, "conflicts {conflicts:?}");
    let mut sorted = conflicts.clone();
    sorted.sort();
    eprintln!("20 racers done in {took:?}; conflicts per racer {sorted:?}");

    // Everyone (owner included) converges on epoch0 + 20 with one authenticator.
    owner.ok(&["sync"]);
    std::thread::scope(|s| {
        for r in &racers {
            s.spawn(move || r.ok(&["sync"]));
        }
    });
    let expected = owner.status("race");
    assert_eq!(expected.0, epoch0 + RACERS as u64);
    for r in &racers {
        assert_eq!(r.status("race"), expected, "{} diverged", r.name);
    }
}
