//! The MLS working group's interop scenarios (`configs/*.json`, format in
//! `configs/FORMAT.md`) run over gRPC against Cohort's `cohort-interop-client`, with Cohort
//! on every role: one test per config, every script, every cipher suite, handshakes as
//! PublicMessage and as PrivateMessage. Each run prints its table of results.
//!
//! - `deep_random` is sampled here (its first [`DEEP_SAMPLE_STEPS`] actions, suites 1 and
//!   2); `COHORT_INTEROP_FULL=1` runs it whole for every suite and both encodings.
//! - `COHORT_INTEROP_CLIENTS=host:port,host:port` drives already-running clients (any
//!   implementation's) instead of starting two Cohort clients in-process.
//! - `COHORT_INTEROP_SUITES=1,3` restricts the suites.

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

fn suites(default: &[u32]) -> Vec<u32> {
    match std::env::var("COHORT_INTEROP_SUITES") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) => default.to_vec(),
    }
}

fn full() -> bool {
    std::env::var("COHORT_INTEROP_FULL").is_ok_and(|v| v == "1")
}

/// Run every script of `configs/{name}.json` for `suites` and both handshake encodings
/// (limited to `max_steps` actions each), print the table and fail on any failed run.
async fn run_config(name: &str, suites: &[u32], max_steps: usize) {
    let path = format!("{}/configs/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let config: Value = serde_json::from_str(&text).expect("config is JSON");
    let scripts = config["scripts"].as_object().expect("config has scripts");
    assert!(!scripts.is_empty(), "{name} has no scripts");
    let clients = clients().await;
    let started = Instant::now();

    let mut table = format!("{name}: script × suite (plain handshakes / encrypted handshakes)\n");
    write!(table, "{:<32}", "script").unwrap();
    for s in suites {
        write!(table, " {:>9}", format!("suite {s}")).unwrap();
    }
    table.push('\n');
    let (mut passed, mut failures) = (0, Vec::new());
    for (script_name, steps) in scripts {
        let steps = steps.as_array().expect("a script is a list of actions");
        let steps = sample(steps, max_steps);
        write!(table, "{script_name:<32}").unwrap();
        for &suite in suites {
            let mut cell = String::new();
            for encrypt in [false, true] {
                let label = format!("{name}/{script_name}/{suite}/{}", u8::from(encrypt));
                let result = Run::new(&clients, suite, encrypt, &label)
                    .script(steps)
                    .await;
                match result {
                    Ok(()) => {
                        passed += 1;
                        cell.push_str(if encrypt { "/ok" } else { "ok" });
                    }
                    Err(e) => {
                        cell.push_str(if encrypt { "/FAIL" } else { "FAIL" });
                        failures.push(format!("{label}: {e}"));
                    }
                }
            }
            write!(table, " {cell:>9}").unwrap();
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
            run_config(stringify!($name), &suites(&ALL_SUITES), usize::MAX).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_random() {
    if full() {
        run_config("deep_random", &suites(&ALL_SUITES), usize::MAX).await;
    } else {
        run_config("deep_random", &suites(&[1, 2]), DEEP_SAMPLE_STEPS).await;
    }
}
