//! Delivery Service: ordering, Welcomes, cursors, WebSocket push, external joins, bad input.

mod common;

use cohort::framing::ContentType;
use common::*;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Extra commit fields: the commit adds `id` and carries a Welcome for it.
fn adding_with_welcome(id: &str) -> Value {
    json!({ "added": [id], "welcome": b64(&welcome_msg()), "welcome_recipients": [id] })
}

/// Alice creates a group and adds Bob with a PublicMessage commit (epoch 0 → 1).
async fn group_of_two(srv: &Server, gid: &[u8]) -> (TestClient, TestClient, String) {
    let alice = srv.enroll("alice@x/1").await;
    let bob = srv.enroll("bob@x/1").await;
    let g = srv.create_group(&alice, gid, false).await;
    let commit = public_add_commit(gid, 0, vec![bob.key_package(false)]);
    let mut extra = adding_with_welcome("bob@x/1");
    extra["group_info"] = json!(b64(&group_info_msg(gid, 1)));
    let body = expect(
        StatusCode::CREATED,
        srv.post_msg(&alice, &g, &commit, extra).await,
    );
    assert_eq!(body["epoch"], 1);
    // The only member acknowledges its own commit: Bob's Welcome is released.
    ack(srv, &alice, &g, 1).await;
    (alice, bob, g)
}

/// `c` says it processed the commit at `seq` (PrivateMessage groups).
async fn ack(srv: &Server, c: &TestClient, g: &str, seq: u64) -> Value {
    expect(
        StatusCode::OK,
        srv.post(c, &format!("/v1/groups/{g}/commits/{seq}/ack"), json!({}))
            .await,
    )
}

/// The group log after sequence number `after`, as seen by `c`.
async fn messages(srv: &Server, c: &TestClient, g: &str, after: u64) -> Vec<Value> {
    let body = expect(
        StatusCode::OK,
        srv.get(c, &format!("/v1/groups/{g}/messages?after={after}"))
            .await,
    );
    body["messages"].as_array().unwrap().clone()
}

/// `c`'s Welcome inbox.
async fn welcomes(srv: &Server, c: &TestClient) -> Vec<Value> {
    let inbox = expect(StatusCode::OK, srv.get(c, "/v1/welcomes").await);
    inbox["welcomes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn private_commits_contend_until_a_member_acknowledges_one() {
    let srv = Server::start(&["--open"]);
    let gid = b"group-order";
    let (alice, bob, g) = group_of_two(&srv, gid).await;
    let carol = srv.enroll("carol@x/1").await;
    let dave = srv.enroll("dave@x/1").await;
    // Bob's welcome arrived with the first commit.
    let inbox = welcomes(&srv, &bob).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["epoch"], 1);

    // Two commits for epoch 1: Alice adds Carol, Bob adds Dave.
    let body = expect(
        StatusCode::CREATED,
        srv.post_msg(
            &alice,
            &g,
            &commit_msg(gid, 1),
            adding_with_welcome("carol@x/1"),
        )
        .await,
    );
    assert_eq!(body["epoch"], 2);
    // The DS cannot read PrivateMessage commits: Bob's for the same epoch is kept too, in
    // arrival order, until a member says which one it processed.
    let body = expect(
        StatusCode::CREATED,
        srv.post_msg(
            &bob,
            &g,
            &commit_msg(gid, 1),
            adding_with_welcome("dave@x/1"),
        )
        .await,
    );
    assert_eq!(body["epoch"], 2);
    // Nobody acknowledges their own commit while others can; a commit for the next epoch
    // waits for the acknowledgement.
    expect(
        StatusCode::FORBIDDEN,
        srv.post(&alice, &format!("/v1/groups/{g}/commits/2/ack"), json!({}))
            .await,
    );
    let body = expect(
        StatusCode::CONFLICT,
        srv.send_msg(&alice, &g, &commit_msg(gid, 2)).await,
    );
    assert_eq!(body["current_epoch"], 2);
    let info = ack(&srv, &bob, &g, 2).await;
    assert_eq!(info["contested_epoch"], Value::Null);
    // Settled: another commit for epoch 1 is stale now.
    let body = expect(
        StatusCode::CONFLICT,
        srv.post_msg(&bob, &g, &commit_msg(gid, 1), json!({})).await,
    );
    assert_eq!(body["error"], "conflict");
    assert_eq!(body["current_epoch"], 2);
    // Carol is welcomed and a member; Dave is neither.
    assert_eq!(welcomes(&srv, &carol).await.len(), 1);
    assert_eq!(welcomes(&srv, &dave).await.len(), 0);
    // Each inbox is its caller's own: Alice sees none of Bob's or Carol's Welcomes.
    assert_eq!(welcomes(&srv, &alice).await.len(), 0);
    expect(
        StatusCode::FORBIDDEN,
        srv.get(&dave, &format!("/v1/groups/{g}/messages")).await,
    );
    let info = expect(
        StatusCode::OK,
        srv.get(&carol, &format!("/v1/groups/{g}")).await,
    );
    assert_eq!(info["epoch"], 2);
    assert_eq!(
        info["members"],
        json!(["alice@x/1", "bob@x/1", "carol@x/1"])
    );
    // The log holds the three accepted commits, in arrival order.
    let log = messages(&srv, &alice, &g, 0).await;
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["epoch"], 0);
    assert_eq!(log[1]["epoch"], 1);
    assert_eq!(log[1]["sender"], "alice@x/1");
    assert_eq!(log[2]["sender"], "bob@x/1");
    // Welcome ack removes it from the inbox.
    let id = welcomes(&srv, &carol).await[0]["id"].as_u64().unwrap();
    let body = expect(
        StatusCode::OK,
        srv.post(&carol, "/v1/welcomes/ack", json!({ "upto": id }))
            .await,
    );
    assert_eq!(body["deleted"], 1);
    assert!(welcomes(&srv, &carol).await.is_empty());
}

#[tokio::test]
async fn cursor_fetch_is_ordered_and_epoch_rules_hold() {
    let srv = Server::start(&["--open"]);
    let gid = b"group-cursor";
    let (alice, bob, g) = group_of_two(&srv, gid).await;
    let mut sent = Vec::new();
    for i in 0..10 {
        let who = if i % 2 == 0 { &alice } else { &bob };
        let msg = app_msg(gid, 1);
        let body = expect(StatusCode::CREATED, srv.send_msg(who, &g, &msg).await);
        assert_eq!(body["seq"], 2 + i);
        sent.push(b64(&msg));
    }
    expect(
        StatusCode::CREATED,
        srv.send_msg(&alice, &g, &private_msg(gid, 1, ContentType::Proposal))
            .await,
    );
    let all = messages(&srv, &bob, &g, 1).await;
    assert_eq!(all.len(), 11);
    for (i, m) in all.iter().take(10).enumerate() {
        assert_eq!(m["seq"], 2 + i as u64);
        assert_eq!(m["message"], sent[i]);
        assert_eq!(m["content_type"], "application");
    }
    assert_eq!(all[10]["content_type"], "proposal");
    let tail = messages(&srv, &bob, &g, 9).await;
    assert_eq!(tail.len(), 3);
    assert_eq!(tail[0]["seq"], 10);
    let page = expect(
        StatusCode::OK,
        srv.get(&bob, &format!("/v1/groups/{g}/messages?after=0&limit=3"))
            .await,
    );
    assert_eq!(page["messages"].as_array().unwrap().len(), 3);
    assert_eq!(page["last_seq"], 12);

    // Move to epoch 2; application messages one epoch behind are still fine, proposals and
    // commits for a stale epoch are not, and neither is anything from the future.
    for (who, msg) in [(&bob, commit_msg(gid, 1)), (&alice, app_msg(gid, 1))] {
        expect(StatusCode::CREATED, srv.send_msg(who, &g, &msg).await);
    }
    ack(&srv, &alice, &g, 13).await;
    expect(
        StatusCode::CREATED,
        srv.send_msg(&alice, &g, &commit_msg(gid, 2)).await,
    );
    ack(&srv, &bob, &g, 15).await;
    for (msg, what) in [
        (app_msg(gid, 1), "application two epochs old"),
        (private_msg(gid, 2, ContentType::Proposal), "stale proposal"),
        (commit_msg(gid, 2), "stale commit"),
        (app_msg(gid, 9), "future application"),
        (commit_msg(gid, 9), "future commit"),
    ] {
        let (status, body) = srv.send_msg(&alice, &g, &msg).await;
        assert_eq!(status, StatusCode::CONFLICT, "{what}: {body}");
        assert_eq!(body["current_epoch"], 3, "{what}");
    }
}

#[tokio::test]
async fn websocket_subscriber_receives_messages_and_welcomes() {
    let srv = Server::start(&["--open"]);
    let gid = b"group-ws";
    let (alice, bob, g) = group_of_two(&srv, gid).await;
    let carol = srv.enroll("carol@x/1").await;
    let ws_url = format!("{}/v1/subscribe", srv.base.replace("http://", "ws://"));
    let connect = |c: &TestClient| {
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                ws_url.as_str(),
            )
            .unwrap();
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {}", c.token).parse().unwrap(),
        );
        tokio_tungstenite::connect_async(req)
    };
    async fn next_json(
        ws: &mut tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    ) -> Value {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("push within 10 s")
            .expect("stream open")
            .expect("frame");
        serde_json::from_str(msg.to_text().expect("text")).expect("json")
    }
    let (mut bob_ws, _) = connect(&bob).await.expect("bob subscribes");
    let (mut carol_ws, _) = connect(&carol).await.expect("carol subscribes");
    assert_eq!(next_json(&mut bob_ws).await["type"], "ready");
    assert_eq!(next_json(&mut carol_ws).await["type"], "ready");

    let msg = app_msg(gid, 1);
    let body = expect(StatusCode::CREATED, srv.send_msg(&alice, &g, &msg).await);
    let push = next_json(&mut bob_ws).await;
    assert_eq!(push["type"], "message");
    assert_eq!(push["group_id"], g);
    assert_eq!(push["seq"], body["seq"]);
    assert_eq!(push["message"], b64(&msg));

    // Carol, not a member, gets nothing of that, but does get her Welcome.
    expect(
        StatusCode::CREATED,
        srv.post_msg(
            &alice,
            &g,
            &commit_msg(gid, 1),
            adding_with_welcome("carol@x/1"),
        )
        .await,
    );
    ack(&srv, &bob, &g, body["seq"].as_u64().unwrap() + 1).await;
    let first = next_json(&mut carol_ws).await;
    let second = next_json(&mut carol_ws).await;
    let kinds = [first["type"].clone(), second["type"].clone()];
    assert!(kinds.contains(&json!("welcome")), "{first} {second}");
    assert!(kinds.contains(&json!("message")), "{first} {second}");
    let commit_push = next_json(&mut bob_ws).await;
    assert_eq!(commit_push["content_type"], "commit");

    // A plain GET on the subscription route is a JSON 4xx, not a crash.
    let (status, body) = srv.get(&bob, "/v1/subscribe").await;
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(body["message"].as_str().unwrap().contains("WebSocket"));
    // Subscribing needs a token.
    assert!(tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .is_err());
}

#[tokio::test]
async fn bad_input_gets_clear_4xx_and_stores_nothing() {
    let srv = Server::start(&["--open", "--max-body-bytes", "65536"]);
    let gid = b"group-bad";
    let (alice, bob, g) = group_of_two(&srv, gid).await;
    let outsider = srv.enroll("outsider@x/1").await;
    let messages_path = format!("/v1/groups/{g}/messages");
    let before = messages(&srv, &alice, &g, 0).await.len();

    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({ "message": b64(b"\x00\x01garbage") }),
            StatusCode::BAD_REQUEST,
            "malformed MLS",
        ),
        (
            json!({ "message": "***" }),
            StatusCode::BAD_REQUEST,
            "not base64",
        ),
        (
            json!({ "message": b64(&app_msg(b"other-group", 1)) }),
            StatusCode::BAD_REQUEST,
            "wrong group id",
        ),
        (
            json!({ "message": b64(&welcome_msg()) }),
            StatusCode::BAD_REQUEST,
            "welcome as group message",
        ),
        (
            json!({ "message": b64(&commit_msg(gid, 0)) }),
            StatusCode::CONFLICT,
            "stale commit",
        ),
        (
            json!({ "message": b64(&app_msg(gid, 1)), "added": ["bob@x/1"] }),
            StatusCode::BAD_REQUEST,
            "added on app msg",
        ),
        (
            json!({ "message": b64(&commit_msg(gid, 1)), "added": ["nobody@x/1"] }),
            StatusCode::BAD_REQUEST,
            "unknown added client",
        ),
        (
            json!({ "message": b64(&commit_msg(gid, 1)), "group_info": b64(&group_info_msg(gid, 7)) }),
            StatusCode::BAD_REQUEST,
            "group info wrong epoch",
        ),
        (
            json!({ "msg": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field",
        ),
        (
            json!({ "message": b64(&commit_msg(gid, u64::MAX)),
                    "group_info": b64(&group_info_msg(gid, 0)) }),
            StatusCode::BAD_REQUEST,
            "group info at max epoch",
        ),
        (
            json!({ "message": b64(&commit_msg(gid, u64::MAX)) }),
            StatusCode::CONFLICT,
            "commit at max epoch",
        ),
    ];
    for (body, expected, what) in cases {
        let (status, reply) = srv.post(&alice, &messages_path, body).await;
        assert_eq!(status, expected, "{what}: {reply}");
        assert!(
            reply["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {reply}"
        );
    }
    // Not JSON at all.
    let resp = srv
        .http
        .post(srv.url(&messages_path))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.json::<Value>().await.unwrap()["error"].is_string());
    // Oversized body: 413 with a JSON error. The server answers without reading the body and
    // closes the connection, so this request must not go back to the pool: a later request
    // on that connection would fail with a broken pipe.
    let big = json!({ "message": "A".repeat(200_000) });
    let resp = srv
        .http
        .post(srv.url(&messages_path))
        .bearer_auth(&alice.token)
        .header(reqwest::header::CONNECTION, "close")
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );
    // Replay: the same bytes twice.
    let msg = app_msg(gid, 1);
    let first = expect(StatusCode::CREATED, srv.send_msg(&bob, &g, &msg).await);
    let again = expect(StatusCode::CONFLICT, srv.send_msg(&alice, &g, &msg).await);
    assert_eq!(again["error"], "duplicate");
    assert_eq!(again["seq"], first["seq"]);
    // No credentials; an outsider's token; unknown group; bad group id; unknown route.
    expect(
        StatusCode::UNAUTHORIZED,
        srv.call(
            Method::POST,
            &messages_path,
            None,
            Some(json!({ "message": b64(&app_msg(gid, 1)) })),
        )
        .await,
    );
    expect(
        StatusCode::FORBIDDEN,
        srv.send_msg(&outsider, &g, &app_msg(gid, 1)).await,
    );
    for (who, path, expected) in [
        (&outsider, messages_path.clone(), StatusCode::FORBIDDEN),
        (
            &outsider,
            format!("/v1/groups/{g}/group-info"),
            StatusCode::FORBIDDEN,
        ),
        (
            &alice,
            format!("/v1/groups/{}/messages", b64(b"nope")),
            StatusCode::NOT_FOUND,
        ),
        (
            &alice,
            "/v1/groups/!!!/messages".to_string(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = srv.get(who, &path).await;
        assert_eq!(status, expected, "GET {path}: {body}");
    }
    let body = expect(
        StatusCode::NOT_FOUND,
        srv.get(&alice, "/v1/nothing-here").await,
    );
    assert_eq!(body["error"], "not_found");
    expect(
        StatusCode::METHOD_NOT_ALLOWED,
        srv.call(Method::DELETE, "/v1/groups", Some(&alice.token), None)
            .await,
    );

    // Exactly one message (the first replayed one) was added, and the server still serves.
    let after = messages(&srv, &alice, &g, 0).await;
    assert_eq!(after.len(), before + 1);
    expect(
        StatusCode::CREATED,
        srv.send_msg(&alice, &g, &app_msg(gid, 1)).await,
    );
    expect(
        StatusCode::OK,
        srv.call(Method::GET, "/v1/health", None, None).await,
    );
}

#[tokio::test]
async fn in_process_server_serves_and_shuts_down() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let store =
        std::sync::Arc::new(cohort_server::store::sqlite::SqliteStore::open_in_memory().unwrap());
    let config = cohort_server::Config {
        enrollment: cohort_server::Enrollment::Open,
        ..Default::default()
    };
    let server = cohort_server::start(listener, store, config)
        .await
        .expect("start");
    let base = format!("http://{}", server.local_addr());
    let http = common::http_client();
    let ca: Value = http
        .get(format!("{base}/v1/ca"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        unb64(ca["root_certificate"].as_str().unwrap()),
        server.root_certificate()
    );
    let handle = server.shutdown_handle();
    handle.shutdown();
    tokio::time::timeout(std::time::Duration::from_secs(10), server.wait())
        .await
        .expect("stops within 10 s")
        .expect("clean stop");
    assert!(http.get(format!("{base}/v1/health")).send().await.is_err());
}
