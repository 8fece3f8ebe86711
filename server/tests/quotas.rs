//! Limits: KeyPackage draining, KeyPackage quota, enrollment-secret guessing, per-client
//! request rate (429 with retry_after), WebSocket subscriptions per client.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

async fn publish(
    server: &Server,
    c: &TestClient,
    n: usize,
    last_resort: bool,
) -> (StatusCode, serde_json::Value) {
    let kps: Vec<String> = (0..n)
        .map(|_| b64(&c.key_package_msg(last_resort)))
        .collect();
    server
        .post(c, "/v1/key-packages", json!({ "key_packages": kps }))
        .await
}

async fn claim(
    server: &Server,
    claimer: &TestClient,
    target: &str,
) -> (StatusCode, serde_json::Value) {
    server
        .post(
            claimer,
            "/v1/key-packages/claim",
            json!({ "cipher_suite": SUITE, "client_ids": [target] }),
        )
        .await
}

#[tokio::test]
async fn one_member_cannot_drain_anothers_key_packages() {
    let server = Server::start(&["--open", "--claims-per-target-per-hour", "3"]);
    let bob = server.enroll("bob/1").await;
    let mallory = server.enroll("mallory/1").await;
    let carol = server.enroll("carol/1").await;
    expect(StatusCode::CREATED, publish(&server, &bob, 5, false).await);
    expect(StatusCode::CREATED, publish(&server, &bob, 1, true).await);
    for _ in 0..3 {
        let body = expect(StatusCode::OK, claim(&server, &mallory, "bob/1").await);
        assert_eq!(body["key_packages"][0]["last_resort"], false, "{body}");
    }
    let (status, body) = claim(&server, &mallory, "bob/1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["retry_after"].as_u64().unwrap_or(0) >= 1, "{body}");
    // Bob still has ordinary packages for others, and the last resort stays.
    let counts = expect(StatusCode::OK, server.get(&bob, "/v1/key-packages").await);
    assert_eq!(counts["counts"][0]["available"], 2, "{counts}");
    assert_eq!(counts["counts"][0]["last_resort"], true, "{counts}");
    let body = expect(StatusCode::OK, claim(&server, &carol, "bob/1").await);
    assert_eq!(body["key_packages"][0]["last_resort"], false, "{body}");
}

#[tokio::test]
async fn key_package_quota_is_enforced_and_a_refused_upload_stores_nothing() {
    let server = Server::start(&["--open", "--max-key-packages", "3"]);
    let bob = server.enroll("bob/1").await;
    expect(StatusCode::CREATED, publish(&server, &bob, 2, false).await);
    let (status, body) = publish(&server, &bob, 2, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "quota_exceeded", "{body}");
    let counts = expect(StatusCode::OK, server.get(&bob, "/v1/key-packages").await);
    assert_eq!(counts["counts"][0]["available"], 2, "{counts}");
    // A last-resort package does not count against the quota.
    expect(StatusCode::CREATED, publish(&server, &bob, 1, true).await);
    expect(StatusCode::CREATED, publish(&server, &bob, 1, false).await);
}

#[tokio::test]
async fn enrollment_secret_guessing_is_throttled() {
    let server = Server::start(&[
        "--enrollment-secret",
        "right",
        "--enroll-failure-burst",
        "5",
    ]);
    let mut statuses = Vec::new();
    for i in 0..8 {
        let (status, body, _) = server
            .try_enroll(
                &format!("guess{i}/1"),
                json!({ "enrollment_secret": "wrong" }),
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(body["retry_after"].as_u64().unwrap_or(0) >= 1, "{body}");
        }
        statuses.push(status);
    }
    // The burst of failures, one more that finds the bucket empty, then a wait.
    assert_eq!(&statuses[..6], &[StatusCode::FORBIDDEN; 6]);
    assert_eq!(&statuses[6..], &[StatusCode::TOO_MANY_REQUESTS; 2]);
    // Blocked means blocked: even the right secret waits, so guessing gains nothing.
    let (status, _, _) = server
        .try_enroll("alice/1", json!({ "enrollment_secret": "right" }))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_client_over_its_request_rate_gets_429_with_retry_after() {
    let server = Server::start(&[
        "--open",
        "--requests-per-second",
        "1",
        "--request-burst",
        "3",
    ]);
    let alice = server.enroll("alice/1").await;
    let bob = server.enroll("bob/1").await;
    for _ in 0..3 {
        expect(StatusCode::OK, server.get(&alice, "/v1/me").await);
    }
    let resp = server
        .http
        .get(server.url("/v1/me"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(retry.as_deref(), Some("1"));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["retry_after"], 1, "{body}");
    // Another client is not affected.
    expect(StatusCode::OK, server.get(&bob, "/v1/me").await);
}

#[tokio::test]
async fn websocket_subscriptions_per_client_are_capped() {
    let server = Server::start(&["--open", "--max-websockets-per-client", "1"]);
    let alice = server.enroll("alice/1").await;
    let url = format!(
        "{}/v1/subscribe",
        server.base.replacen("http://", "ws://", 1)
    );
    let connect = || {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                url.clone(),
            )
            .unwrap();
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", alice.token).parse().unwrap(),
        );
        tokio_tungstenite::connect_async(request)
    };
    let (first, _) = connect().await.expect("first subscription");
    match connect().await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("second subscription: {:?}", other.map(|_| ())),
    }
    drop(first);
    // The slot frees when the first one closes.
    let mut again = None;
    for _ in 0..50 {
        if let Ok((ws, _)) = connect().await {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "slot never freed");
}

/// Issue 12: 150 messages of 780 kB fetched with `limit=1000` built a 156 MB reply. A page
/// now stops at the byte budget, and the cursor walks the rest of the log in order.
#[tokio::test]
async fn a_log_fetch_stops_at_the_byte_budget() {
    const BUDGET: usize = 1_000_000;
    const SIZE: usize = 300_000;
    let server = Server::start(&["--open", "--max-page-bytes", &BUDGET.to_string()]);
    let alice = server.enroll("alice/1").await;
    let gid = server.create_group(&alice, b"paged", false).await;
    for _ in 0..12 {
        expect(
            StatusCode::CREATED,
            server
                .send_msg(&alice, &gid, &sized_app_msg(b"paged", 0, SIZE))
                .await,
        );
    }
    let mut after = 0u64;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let url = server.url(&format!(
            "/v1/groups/{gid}/messages?after={after}&limit=1000"
        ));
        let reply = server
            .http
            .get(url)
            .bearer_auth(&alice.token)
            .send()
            .await
            .expect("fetch");
        assert_eq!(reply.status(), StatusCode::OK);
        let text = reply.text().await.expect("body");
        let body: serde_json::Value = serde_json::from_str(&text).expect("JSON page");
        let list = body["messages"].as_array().expect("messages").clone();
        if list.is_empty() {
            break;
        }
        pages += 1;
        // Base64 is 4/3 of the stored bytes; one message may pass the budget.
        assert!(
            text.len() <= (BUDGET + SIZE + 1024) * 4 / 3 + 4096,
            "page of {} bytes ({} messages) for a {BUDGET}-byte budget",
            text.len(),
            list.len()
        );
        for m in list {
            let seq = m["seq"].as_u64().expect("seq");
            assert!(seq > after, "{seq} after {after}");
            after = seq;
            seen.push(seq);
        }
        assert_eq!(body["last_seq"], 12, "{}", body["last_seq"]);
    }
    assert_eq!(seen, (1..=12).collect::<Vec<u64>>());
    assert!(pages >= 4, "12 x {SIZE} bytes came in {pages} pages");
}

#[tokio::test]
async fn group_creation_quota_is_enforced_and_stores_nothing() {
    let server = Server::start(&["--open", "--max-groups-per-client", "2"]);
    let alice = server.enroll("alice/1").await;
    server.create_group(&alice, b"g1", false).await;
    server.create_group(&alice, b"g2", false).await;
    let (status, body) = server
        .post(
            &alice,
            "/v1/groups",
            json!({ "group_id": b64(b"g3"), "allow_external_join": false,
                    "handshake": "private" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "quota_exceeded", "{body}");
    let (status, _) = server
        .get(&alice, &format!("/v1/groups/{}", b64(b"g3")))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a refused group is not stored"
    );
    // Another client's quota is its own.
    let bob = server.enroll("bob/1").await;
    server.create_group(&bob, b"g3", false).await;
}

#[tokio::test]
async fn messages_per_client_are_rate_limited_and_a_refused_post_stores_nothing() {
    let server = Server::start(&["--open", "--messages-per-minute", "3"]);
    let alice = server.enroll("alice/1").await;
    let gid = server.create_group(&alice, b"chatty", false).await;
    for _ in 0..3 {
        expect(
            StatusCode::CREATED,
            server.send_msg(&alice, &gid, &app_msg(b"chatty", 0)).await,
        );
    }
    let (status, body) = server.send_msg(&alice, &gid, &app_msg(b"chatty", 0)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["retry_after"].as_u64().unwrap_or(0) >= 1, "{body}");
    let log = expect(
        StatusCode::OK,
        server
            .get(&alice, &format!("/v1/groups/{gid}/messages"))
            .await,
    );
    assert_eq!(log["last_seq"], 3, "{log}");
}

/// Only routes carrying MLS objects take large bodies: a stranger's 100 KiB enrollment
/// request is refused before it is buffered.
#[tokio::test]
async fn small_routes_refuse_large_bodies() {
    let server = Server::start(&["--open"]);
    let padding = "x".repeat(100 << 10);
    let reply = server
        .http
        .post(server.url("/v1/enroll"))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"client_id\":\"a/1\",\"padding\":\"{padding}\"}}"
        ))
        .send()
        .await
        .expect("enroll");
    assert_eq!(reply.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let alice = server.enroll("alice/1").await;
    let gid = server.create_group(&alice, b"big", false).await;
    // A large application message on the message route is still fine.
    expect(
        StatusCode::CREATED,
        server
            .send_msg(&alice, &gid, &sized_app_msg(b"big", 0, 200 << 10))
            .await,
    );
}
