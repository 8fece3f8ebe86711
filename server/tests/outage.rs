//! PostgreSQL goes away during a stream of posts (issue 13): the server answers 503 with
//! `retry_after` (readiness too, liveness not), reconnects by itself when the database is
//! back, and every acknowledged post is in the log exactly once. The test runs its own
//! cluster (`.ci/postgres`), since it stops it.

mod common;

use common::*;
use reqwest::StatusCode;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/postgres");

fn pg(cmd: &str, dir: &std::path::Path) -> String {
    let out = Command::new(PG)
        .arg(cmd)
        .arg(dir)
        .output()
        .expect(".ci/postgres");
    assert!(
        out.status.success(),
        ".ci/postgres {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Stops the cluster when the test ends, however it ends.
struct Cluster(std::path::PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(PG).arg("stop").arg(&self.0).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_and_loses_no_acknowledged_post() {
    let dir = Arc::new(TempDir::new("outage"));
    let cluster = Cluster(std::env::temp_dir().join(format!(
        "cohort-outage-pg-{}-{}",
        std::process::id(),
        dir.path().file_name().unwrap().to_string_lossy()
    )));
    let url = {
        let path = cluster.0.clone();
        tokio::task::spawn_blocking(move || pg("start", &path))
            .await
            .unwrap()
    };
    let server = Arc::new(Server::start_with_database(
        dir.clone(),
        dir.path().join("cohort.db"),
        Some(url),
        &[
            "--open",
            "--messages-per-minute",
            "100000",
            "--requests-per-second",
            "10000",
        ],
    ));
    let alice = server.enroll("alice/1").await;
    let gid = server.create_group(&alice, b"outage", false).await;

    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (server, alice, gid, stop) = (server.clone(), alice.clone(), gid.clone(), stop.clone());
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut unavailable = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let msg = app_msg(b"outage", 0);
                let (status, body) = server.send_msg(&alice, &gid, &msg).await;
                match status {
                    StatusCode::CREATED => acked.push((body["seq"].as_u64().unwrap(), msg)),
                    StatusCode::SERVICE_UNAVAILABLE => {
                        assert!(body["retry_after"].as_u64().unwrap_or(0) >= 1, "{body}");
                        unavailable += 1;
                    }
                    other => panic!("unexpected {other}: {body}"),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (acked, unavailable)
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    {
        let path = cluster.0.clone();
        tokio::task::spawn_blocking(move || pg("pause", &path))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ready = server
        .http
        .get(server.url("/v1/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready without a database"
    );
    let health = server
        .http
        .get(server.url("/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK, "alive without a database");
    {
        let path = cluster.0.clone();
        tokio::task::spawn_blocking(move || pg("resume", &path))
            .await
            .unwrap();
    }
    // Posts succeed again by themselves.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready = server
            .http
            .get(server.url("/v1/ready"))
            .send()
            .await
            .unwrap();
        if ready.status() == StatusCode::OK {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never reconnected"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let (acked, unavailable) = sender.await.unwrap();
    assert!(unavailable >= 1, "no post met the outage");
    let last = acked.last().expect("acknowledged posts").0;
    // Every acknowledged post is in the log once, with its bytes; no seq is missing.
    let mut log = Vec::new();
    let mut after = 0;
    loop {
        let page = expect(
            StatusCode::OK,
            server
                .get(
                    &alice,
                    &format!("/v1/groups/{gid}/messages?after={after}&limit=1000"),
                )
                .await,
        );
        let list = page["messages"].as_array().unwrap().clone();
        if list.is_empty() {
            break;
        }
        for m in list {
            after = m["seq"].as_u64().unwrap();
            log.push((after, unb64(m["message"].as_str().unwrap())));
        }
    }
    assert_eq!(
        log.len() as u64,
        last,
        "gap-free log up to the last acknowledged post"
    );
    for (seq, msg) in &acked {
        assert_eq!(&log[(*seq - 1) as usize], &(*seq, msg.clone()), "seq {seq}");
    }
    eprintln!(
        "{} posts acknowledged, {unavailable} answered 503 during the outage",
        acked.len()
    );
}
