//! Several `cohort-server` processes on one PostgreSQL database (issue 13): push crosses
//! instances, revocation closes sockets everywhere, KeyPackage claims hand each package out
//! once, per-client rate limits hold for the instances together. These always run on PostgreSQL, whatever `COHORT_TEST_ENGINE` says.

mod common;

use common::*;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `n` instances sharing one database and one CA key file.
fn instances(n: usize, args: &[&str]) -> Vec<Server> {
    let dir = Arc::new(TempDir::new("instances"));
    let db = dir.path().join("shared.db");
    (0..n)
        .map(|_| Server::start_on_engine(dir.clone(), db.clone(), args, TestEngine::Postgres))
        .collect()
}

async fn subscribe(server: &Server, c: &TestClient) -> Ws {
    let url = format!("{}/v1/subscribe", server.base.replace("http://", "ws://"));
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        url.as_str(),
    )
    .unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", c.token).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("subscribe");
    assert_eq!(next_json(&mut ws).await["type"], "ready");
    ws
}

async fn next_frame(ws: &mut Ws) -> tokio_tungstenite::tungstenite::Message {
    tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("push within 10 s")
        .expect("stream open")
        .expect("frame")
}

async fn next_json(ws: &mut Ws) -> Value {
    let msg = next_frame(ws).await;
    serde_json::from_str(msg.to_text().expect("text")).expect("json")
}

#[tokio::test]
async fn a_subscriber_on_one_instance_hears_a_post_through_another() {
    let servers = instances(2, &["--open"]);
    let (a, b) = (&servers[0], &servers[1]);
    let alice = a.enroll("alice/1").await;
    let gid = a.create_group(&alice, b"across", false).await;
    let mut ws = subscribe(b, &alice).await;
    let msg = app_msg(b"across", 0);
    let body = expect(StatusCode::CREATED, a.send_msg(&alice, &gid, &msg).await);
    let push = next_json(&mut ws).await;
    assert_eq!(push["type"], "message", "{push}");
    assert_eq!(push["seq"], body["seq"]);
    assert_eq!(push["message"], b64(&msg));
    // Too large for a notification: a catch-up wake-up instead, and the log has it.
    let big = sized_app_msg(b"across", 0, 20_000);
    let body = expect(StatusCode::CREATED, a.send_msg(&alice, &gid, &big).await);
    let push = next_json(&mut ws).await;
    assert_eq!(push["type"], "lagged", "{push}");
    let log = expect(
        StatusCode::OK,
        b.get(&alice, &format!("/v1/groups/{gid}/messages?after=1"))
            .await,
    );
    assert_eq!(log["messages"][0]["seq"], body["seq"]);
    assert_eq!(log["messages"][0]["message"], b64(&big));
}

#[tokio::test]
async fn revocation_through_one_instance_closes_sockets_on_another_at_once() {
    let servers = instances(2, &["--open"]);
    let (a, b) = (&servers[0], &servers[1]);
    let alice = a.enroll("alice/1").await;
    let mut ws = subscribe(b, &alice).await;
    expect(
        StatusCode::OK,
        a.admin_post("/v1/admin/clients/alice/1/revoke", json!({}))
            .await,
    );
    // Well before the 30 s periodic check.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("socket closed within 5 s");
        match frame {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None | Some(Err(_)) => {
                break
            }
            Some(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn claims_from_three_instances_hand_out_each_package_once() {
    // Twelve claims of one target in a minute: above the default shared budget of ten.
    let servers = instances(3, &["--open", "--claims-of-target-per-minute", "12"]);
    let bob = servers[0].enroll("bob/1").await;
    let kps: Vec<String> = (0..9).map(|_| b64(&bob.key_package_msg(false))).collect();
    expect(
        StatusCode::CREATED,
        servers[0]
            .post(&bob, "/v1/key-packages", json!({ "key_packages": kps }))
            .await,
    );
    let last = vec![b64(&bob.key_package_msg(true))];
    expect(
        StatusCode::CREATED,
        servers[1]
            .post(&bob, "/v1/key-packages", json!({ "key_packages": last }))
            .await,
    );
    let mut claimers = Vec::new();
    for i in 0..12 {
        claimers.push(servers[i % 3].enroll(&format!("c{i}/1")).await);
    }
    let servers = Arc::new(servers);
    let mut tasks = Vec::new();
    for (i, c) in claimers.into_iter().enumerate() {
        let servers = servers.clone();
        tasks.push(tokio::spawn(async move {
            let s = &servers[i % 3];
            expect(
                StatusCode::OK,
                s.post(
                    &c,
                    "/v1/key-packages/claim",
                    json!({ "cipher_suite": SUITE, "client_ids": ["bob/1"] }),
                )
                .await,
            )
        }));
    }
    let mut ordinary = Vec::new();
    let mut last_resort = 0;
    for t in tasks {
        let body = t.await.expect("claim task");
        let kp = &body["key_packages"][0];
        if kp["last_resort"] == true {
            last_resort += 1;
        } else {
            ordinary.push(kp["key_package"].as_str().expect("bytes").to_owned());
        }
    }
    let mut unique = ordinary.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ordinary.len(), 9, "every ordinary package is handed out");
    assert_eq!(unique.len(), 9, "no package is handed out twice");
    assert_eq!(last_resort, 3, "then the last resort");
}

/// A client's message budget is one budget, whichever instances its posts go through: three
/// instances do not allow three times the rate, and the refusal stores nothing.
#[tokio::test]
async fn the_message_rate_of_a_client_is_shared_by_the_instances() {
    let servers = instances(3, &["--open", "--messages-per-minute", "4"]);
    let alice = servers[0].enroll("alice/1").await;
    let gid = servers[0].create_group(&alice, b"shared-rate", false).await;
    for i in 0..4 {
        expect(
            StatusCode::CREATED,
            servers[i % 3]
                .send_msg(&alice, &gid, &app_msg(b"shared-rate", 0))
                .await,
        );
    }
    for s in &servers {
        let (status, body) = s.send_msg(&alice, &gid, &app_msg(b"shared-rate", 0)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(body["retry_after"].as_u64().unwrap_or(0) >= 1, "{body}");
    }
    let log = expect(
        StatusCode::OK,
        servers[2]
            .get(&alice, &format!("/v1/groups/{gid}/messages"))
            .await,
    );
    assert_eq!(log["last_seq"], 4, "{log}");
    // Another client's budget is its own.
    let bob = servers[1].enroll("bob/1").await;
    let bgid = servers[1].create_group(&bob, b"bob-rate", false).await;
    expect(
        StatusCode::CREATED,
        servers[2]
            .send_msg(&bob, &bgid, &app_msg(b"bob-rate", 0))
            .await,
    );
}

/// Guessing the enrollment secret through every instance in turn gains no attempts.
#[tokio::test]
async fn enrollment_failures_from_one_address_count_on_every_instance() {
    let servers = instances(
        3,
        &[
            "--enrollment-secret",
            "right",
            "--enroll-failure-burst",
            "3",
        ],
    );
    let mut statuses = Vec::new();
    for i in 0..6 {
        let (status, _, _) = servers[i % 3]
            .try_enroll(
                &format!("guess{i}/1"),
                json!({ "enrollment_secret": "wrong" }),
            )
            .await;
        statuses.push(status);
    }
    // The burst, one more failure that overdraws the shared bucket, then blocked everywhere.
    assert_eq!(&statuses[..4], &[StatusCode::FORBIDDEN; 4], "{statuses:?}");
    assert_eq!(
        &statuses[4..],
        &[StatusCode::TOO_MANY_REQUESTS; 2],
        "{statuses:?}"
    );
    let (status, _, _) = servers[2]
        .try_enroll("alice/1", json!({ "enrollment_secret": "right" }))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// With `--database-ca` the pool and the push bus both reach PostgreSQL over verified TLS,
/// and push still crosses instances.
#[tokio::test]
async fn instances_reach_postgres_over_tls_and_push_still_crosses() {
    let ca = std::env::var("COHORT_TEST_DATABASE_CA")
        .expect("COHORT_TEST_DATABASE_CA is not set: run the tests with .ci/test");
    let servers = instances(2, &["--open", "--database-ca", &ca]);
    let (a, b) = (&servers[0], &servers[1]);
    let alice = a.enroll("alice/1").await;
    let gid = a.create_group(&alice, b"tls", false).await;
    let mut ws = subscribe(b, &alice).await;
    let msg = app_msg(b"tls", 0);
    let body = expect(StatusCode::CREATED, a.send_msg(&alice, &gid, &msg).await);
    let push = next_json(&mut ws).await;
    assert_eq!(push["type"], "message", "{push}");
    assert_eq!(push["seq"], body["seq"]);
}
