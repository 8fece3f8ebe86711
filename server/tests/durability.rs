//! Concurrency and crash safety: one commit per epoch under a race, and no acknowledged
//! message lost or duplicated across `kill -9`.

mod common;

use cohort::codec::Encode;
use cohort::group::{CommitOptions, KeyPackageOptions, KeyPackageSecrets, NoPsks};
use cohort_server::authority::x509_credential;
use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_commits_for_one_epoch_exactly_one_wins() {
    let srv = Arc::new(Server::start(&["--open"]));
    let gid = b"group-race";
    let mut clients = Vec::new();
    for i in 0..20 {
        clients.push(srv.enroll(&format!("member{i}@x/1")).await);
    }
    // A real PublicMessage group of 20: member0 adds everyone in one commit, the others
    // join from its Welcome.
    let suite = suite();
    let mut creator = cohort::group::Group::create(
        suite.id(),
        gid.to_vec(),
        x509_credential(&clients[0].chain),
        clients[0].key.clone(),
        cohort::group::GroupOptions::default(),
    )
    .expect("group");
    let gi = creator.group_info().expect("gi").to_bytes();
    expect(
        StatusCode::CREATED,
        srv.post(
            &clients[0],
            "/v1/groups",
            json!({ "group_id": b64(gid), "group_info": b64(&gi) }),
        )
        .await,
    );
    let g = b64(gid);
    let kps: Vec<_> = clients[1..]
        .iter()
        .map(|c| {
            KeyPackageSecrets::generate(
                &suite,
                x509_credential(&c.chain),
                &c.key,
                &KeyPackageOptions::default(),
            )
            .expect("kp")
        })
        .collect();
    let out = creator
        .commit(
            CommitOptions {
                add: kps.iter().map(|k| k.key_package.clone()).collect(),
                ..Default::default()
            },
            &NoPsks,
        )
        .expect("commit");
    let (status, body) = srv
        .post_msg(&clients[0], &g, &out.commit.to_bytes(), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    creator.confirm_pending_commit().expect("confirm");
    let welcome = out.welcome.expect("welcome");
    let mut groups = vec![creator];
    for kp in &kps {
        groups.push(
            cohort::group::Group::join(&welcome, kp, &NoPsks, Default::default()).expect("join"),
        );
    }
    // Each member's own commit for epoch 1, built before the race.
    let commits: Vec<Vec<u8>> = groups
        .iter_mut()
        .map(|grp| {
            grp.commit(CommitOptions::default(), &NoPsks)
                .expect("commit")
                .commit
                .to_bytes()
        })
        .collect();

    let barrier = Arc::new(tokio::sync::Barrier::new(clients.len()));
    let mut tasks = Vec::new();
    for (c, msg) in clients.clone().into_iter().zip(commits) {
        let srv = srv.clone();
        let g = g.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let (status, body) = srv.post_msg(&c, &g, &msg, json!({})).await;
            (status, body, b64(&msg))
        }));
    }
    let mut won = Vec::new();
    let mut lost = 0;
    for t in tasks {
        let (status, body, msg) = t.await.expect("task");
        match status {
            StatusCode::CREATED => won.push(msg),
            StatusCode::CONFLICT => {
                assert_eq!(body["current_epoch"], 2, "{body}");
                lost += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one commit accepted");
    assert_eq!(lost, 19);
    let (_, log) = srv
        .get(&clients[5], &format!("/v1/groups/{g}/messages"))
        .await;
    let log = log["messages"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["message"], won[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_dash_nine_loses_no_acknowledged_message() {
    let mut srv = Server::start(&["--open"]);
    let gid = b"group-crash";
    let alice = srv.enroll("alice@x/1").await;
    let g = srv.create_group(&alice, gid, false).await;
    let acked: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let base = srv.base.clone();
    let mut posters = Vec::new();
    for _ in 0..4 {
        let acked = acked.clone();
        let token = alice.token.clone();
        let url = format!("{base}/v1/groups/{g}/messages");
        posters.push(tokio::spawn(async move {
            let http = common::http_client();
            for _ in 0..500 {
                let msg = b64(&app_msg(gid, 0));
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "message": msg }))
                    .send()
                    .await;
                let Ok(resp) = resp else { return };
                if resp.status() != StatusCode::CREATED {
                    return;
                }
                let Ok(body) = resp.json::<serde_json::Value>().await else {
                    return;
                };
                let seq = body["seq"].as_u64().expect("seq");
                acked.lock().unwrap().insert(msg, seq);
            }
        }));
    }
    // Let a stream of posts get going, then kill -9 mid-stream.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while acked.lock().unwrap().len() < 40 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    srv.kill(); // Child::kill is SIGKILL on Unix.
    for p in posters {
        p.await.expect("poster");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 40, "only {} acknowledged", acked.len());

    let dir = srv.dir.clone();
    let db = srv.db.clone();
    drop(srv);
    let srv = Server::start_on(dir, db, &["--open"]);
    let mut stored: HashMap<String, Vec<u64>> = HashMap::new();
    let mut after = 0;
    loop {
        let (status, body) = srv
            .get(
                &alice,
                &format!("/v1/groups/{g}/messages?after={after}&limit=1000"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = body["messages"].as_array().unwrap();
        if page.is_empty() {
            break;
        }
        for m in page {
            let seq = m["seq"].as_u64().unwrap();
            assert!(seq > after, "log out of order");
            after = seq;
            stored
                .entry(m["message"].as_str().unwrap().to_string())
                .or_default()
                .push(seq);
        }
    }
    for (msg, seq) in &acked {
        let at = stored
            .get(msg)
            .unwrap_or_else(|| panic!("acknowledged seq {seq} lost"));
        assert_eq!(
            at,
            &vec![*seq],
            "acknowledged message stored once, at its seq"
        );
    }
    assert!(
        stored.values().all(|v| v.len() == 1),
        "nothing stored twice"
    );
    eprintln!(
        "kill -9: {} acknowledged, {} stored (the rest were in flight)",
        acked.len(),
        stored.len()
    );
    // The restarted server keeps accepting.
    let (status, body) = srv.post_msg(&alice, &g, &app_msg(gid, 0), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
