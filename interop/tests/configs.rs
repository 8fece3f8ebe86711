//! The MLS working group's interop scenarios (`configs/*.json`, format in
//! `configs/FORMAT.md`) run over gRPC against Cohort's `cohort-interop-client`, with Cohort
//! on every role: one test per config. Each run checks every processed commit's
//! `stateUpdate` and the members' epoch authenticators, and ends with every member sending to
//! the others; each config prints its table of results.
//!
//! - CI runs a sample: every script of every config at least once, every suite at least once
//!   per config, both handshake encodings per config, and the first [`DEEP_SAMPLE_STEPS`]
//!   actions of `deep_random` (suite 1 plain, suite 2 encrypted).
//! - `COHORT_INTEROP_RUNS=all` runs the whole table: every script × suite × encoding, and
//!   `deep_random` whole.
//! - `COHORT_INTEROP_SUITES=1,3` restricts the suites (of the sample or of the table).
//! - `COHORT_INTEROP_TRANSCRIPT=1` prints every run's transcript (see with `--nocapture`).
//! - `COHORT_INTEROP_CLIENTS=host:port,host:port` drives already-running clients (any
//!   implementation's) instead of starting two Cohort clients in-process.

mod runner;

use cohort_interop_client::proto::mls_client_client::MlsClientClient;
use runner::{Client, Run};
use serde_json::Value;
use std::fmt::Write as _;
use std::time::Instant;

/// How many actions of `deep_random` run when it is sampled.
const DEEP_SAMPLE_STEPS: usize = 300;

/// Start two in-process Cohort clients on 127.0.0.1 (port 0), or connect to the clients
/// `COHORT_INTEROP_CLIENTS` lists.
async fn clients() -> Vec<Client> {
    let addrs: Vec<String> = match std::env::var("COHORT_INTEROP_CLIENTS") {
        Ok(list) => list.split(',').map(|a| a.trim().to_string()).collect(),
        Err(_) => {
            let mut addrs = Vec::new();
            for _ in 0..2 {
                let addr = cohort_interop_client::spawn("127.0.0.1:0".parse().unwrap())
                    .await
                    .expect("bind 127.0.0.1:0");
                addrs.push(addr.to_string());
            }
            addrs
        }
    };
    let mut clients = Vec::new();
    for addr in addrs {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .expect("client address")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        clients.push(
            MlsClientClient::new(channel)
                .max_decoding_message_size(cohort_interop_client::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(cohort_interop_client::MAX_MESSAGE_SIZE),
        );
    }
    clients
}

/// The suites `COHORT_INTEROP_SUITES` lists, else all seven.
fn suites() -> Vec<u32> {
    match std::env::var("COHORT_INTEROP_SUITES") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) => ALL_SUITES.to_vec(),
    }
}

/// `COHORT_INTEROP_RUNS=all`: the whole table instead of the CI sample.
fn all_runs() -> bool {
    std::env::var("COHORT_INTEROP_RUNS").is_ok_and(|v| v == "all")
}

/// One run: script index, suite, encrypted handshakes.
type RunSpec = (usize, u32, bool);

/// The runs of a config with `scripts` scripts. All: every script × suite × encoding. The
/// sample: `max(scripts, suites)` runs, run `j` taking script `j % scripts` and suite
/// `j % suites`, so that every script and every suite runs at least once; the encoding
/// alternates along the scripts and again on each pass, so a config's sample has both.
fn plan(scripts: usize, suites: &[u32], all: bool) -> Vec<RunSpec> {
    if all {
        let mut runs = Vec::new();
        for script in 0..scripts {
            for &suite in suites {
                runs.push((script, suite, false));
                runs.push((script, suite, true));
            }
        }
        return runs;
    }
    (0..scripts.max(suites.len()))
        .map(|j| {
            let script = j % scripts;
            (
                script,
                suites[j % suites.len()],
                (script + j / scripts) % 2 == 1,
            )
        })
        .collect()
}

/// Run `runs` of `configs/{name}.json` (each script limited to `max_steps` actions), print
/// the table of results and fail on any failed run.
async fn run_config(name: &str, runs: impl Fn(usize) -> Vec<RunSpec>, max_steps: usize) {
    let path = format!("{}/configs/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let config: Value = serde_json::from_str(&text).expect("config is JSON");
    let scripts: Vec<(&String, &Value)> = config["scripts"]
        .as_object()
        .expect("config has scripts")
        .iter()
        .collect();
    assert!(!scripts.is_empty(), "{name} has no scripts");
    let runs = runs(scripts.len());
    let clients = clients().await;
    let started = Instant::now();
    let transcripts = std::env::var("COHORT_INTEROP_TRANSCRIPT").is_ok_and(|v| v == "1");

    // cells[script][suite] = (plain, encrypted), each "ok", "FAIL" or "-" (not run).
    let mut suites: Vec<u32> = runs.iter().map(|r| r.1).collect();
    suites.sort_unstable();
    suites.dedup();
    let mut cells = vec![vec![["-"; 2]; suites.len()]; scripts.len()];
    let (mut passed, mut failures) = (0, Vec::new());
    for &(script, suite, encrypt) in &runs {
        let (script_name, steps) = scripts[script];
        let steps = steps.as_array().expect("a script is a list of actions");
        let steps = sample(steps, max_steps);
        let label = format!("{name}/{script_name}/{suite}/{}", u8::from(encrypt));
        let mut run = Run::new(&clients, suite, encrypt, &label);
        let run_started = Instant::now();
        let result = run.script(steps).await;
        // One line per run as it ends, so that a long table shows its progress.
        let verdict = if result.is_ok() { "ok" } else { "FAIL" };
        println!("{label}: {verdict} in {:.1?}", run_started.elapsed());
        if transcripts {
            println!("transcript of {label}:\n{}", run.transcript());
        }
        let column = suites.iter().position(|&s| s == suite).unwrap();
        let cell = &mut cells[script][column][usize::from(encrypt)];
        match result {
            Ok(()) => {
                passed += 1;
                *cell = "ok";
            }
            Err(e) => {
                *cell = "FAIL";
                failures.push(format!("{label}: {e}"));
            }
        }
    }

    let mut table = format!("{name}: script × suite (plain handshakes / encrypted handshakes)\n");
    write!(table, "{:<32}", "script").unwrap();
    for s in &suites {
        write!(table, " {:>9}", format!("suite {s}")).unwrap();
    }
    table.push('\n');
    for (row, (script_name, _)) in cells.iter().zip(&scripts) {
        write!(table, "{script_name:<32}").unwrap();
        for [plain, encrypted] in row {
            write!(table, " {:>9}", format!("{plain}/{encrypted}")).unwrap();
        }
        table.push('\n');
    }
    println!(
        "{table}{name}: {passed} passed, {} failed in {:.1?}",
        failures.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{name}: {} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The first `max_steps` actions of `steps`, cut back to just after the last commit among
/// them: a script cut between a proposal and its commit would leave proposals pending, and
/// members may not send application data then (RFC 9420 §12.4), which the closing check does.
fn sample(steps: &[Value], max_steps: usize) -> &[Value] {
    if steps.len() <= max_steps {
        return steps;
    }
    let end = steps[..max_steps]
        .iter()
        .rposition(|a| matches!(a["action"].as_str(), Some("fullCommit" | "externalJoin")))
        .map_or(max_steps, |i| i + 1);
    &steps[..end]
}

const ALL_SUITES: [u32; 7] = [1, 2, 3, 4, 5, 6, 7];

macro_rules! config_tests {
    ($($name:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            run_config(stringify!($name), |n| plan(n, &suites(), all_runs()), usize::MAX).await;
        }
    )*};
}

config_tests!(
    welcome_join,
    external_join,
    application,
    commit,
    external_proposals,
    reinit,
    branch
);

/// The CI sample of `deep_random` (one script): its first [`DEEP_SAMPLE_STEPS`] actions
/// twice, suite 1 with plain handshakes and suite 2 with encrypted ones; the other configs'
/// samples cover the other suites.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_random() {
    if all_runs() {
        run_config("deep_random", |n| plan(n, &suites(), true), usize::MAX).await;
    } else {
        let runs = |_| vec![(0, 1, false), (0, 2, true)];
        run_config("deep_random", runs, DEEP_SAMPLE_STEPS).await;
    }
}

#[test]
fn the_sample_covers_every_script_suite_and_encoding() {
    for scripts in 1..12 {
        let runs = plan(scripts, &ALL_SUITES, false);
        assert_eq!(runs.len(), scripts.max(7));
        for s in 0..scripts {
            assert!(runs.iter().any(|r| r.0 == s), "script {s} of {scripts}");
        }
        for suite in ALL_SUITES {
            assert!(runs.iter().any(|r| r.1 == suite), "suite {suite}");
        }
        if scripts > 1 {
            assert!(runs.iter().any(|r| r.2) && runs.iter().any(|r| !r.2));
        }
    }
    assert_eq!(plan(4, &ALL_SUITES, true).len(), 4 * 7 * 2);
}
