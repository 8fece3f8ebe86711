//! Authentication Service and KeyPackage directory, against the real binary.

mod common;

use cohort::codec::Decode;
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort_server::authority::{validate_credential, x509_credential};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
}

#[tokio::test]
async fn open_enrollment_issues_a_valid_credential() {
    let srv = Server::start(&["--open"]);
    let alice = srv.enroll("alice@example.org/device-1").await;
    assert_eq!(alice.chain.len(), 2);
    let (status, ca) = srv.call(Method::GET, "/v1/ca", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unb64(ca["root_certificate"].as_str().unwrap()), alice.root);
    let id = validate_credential(
        &x509_credential(&alice.chain),
        &alice.root,
        now(),
        alice.key.public_key(),
    )
    .expect("issued chain validates");
    assert_eq!(id.identity, "mls:alice@example.org/device-1");
    let (status, me) = srv.get(&alice, "/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["client_id"], "alice@example.org/device-1");
    // The same id cannot be enrolled twice.
    let (status, body, _) = srv
        .try_enroll("alice@example.org/device-1", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Bad ids and bad CSRs are 400.
    let (status, _, _) = srv.try_enroll("no-device", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = srv
        .call(
            Method::POST,
            "/v1/enroll",
            None,
            Some(json!({ "client_id": "x@y/z", "csr": b64(b"not a csr") })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("certification request"));
}

#[tokio::test]
async fn secret_enrollment_and_invites() {
    let srv = Server::start(&["--enrollment-secret", "s3cret"]);
    // No secret: 401; wrong secret: 403; right secret: 201.
    let (status, body, _) = srv.try_enroll("a@x/1", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "unauthorized");
    let (status, body, _) = srv
        .try_enroll("a@x/1", json!({ "enrollment_secret": "wrong" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    srv.enroll_with("a@x/1", json!({ "enrollment_secret": "s3cret" }))
        .await;

    // Invites: admin-only, single use.
    let (status, _) = srv
        .call(
            Method::POST,
            "/v1/admin/invites",
            Some("not-admin"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = srv
        .admin_post("/v1/admin/invites", json!({ "count": 2 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let invites: Vec<String> = body["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(invites.len(), 2);
    srv.enroll_with("b@x/1", json!({ "invite": invites[0] }))
        .await;
    let (status, body, _) = srv
        .try_enroll("c@x/1", json!({ "invite": invites[0] }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "invite reused: {body}");
    let (status, _, _) = srv
        .try_enroll("c@x/1", json!({ "invite": "made-up" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    srv.enroll_with("c@x/1", json!({ "invite": invites[1] }))
        .await;
}

#[tokio::test]
async fn invite_only_and_cli_invites() {
    let dir = std::sync::Arc::new(TempDir::new("inv"));
    let db = dir.path().join("cohort.db");
    // The operator creates an invite offline, on the database, before starting.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cohort-server"))
        .arg("invite")
        .args(store_args_for(&db))
        .output()
        .expect("invite command");
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let srv = Server::start_on(dir.clone(), db, &[]);
    let (status, _, _) = srv.try_enroll("a@x/1", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = srv
        .try_enroll("a@x/1", json!({ "enrollment_secret": "anything" }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    srv.enroll_with("a@x/1", json!({ "invite": token })).await;
}

#[tokio::test]
async fn revocation_blocks_tokens_and_shows_in_status() {
    let srv = Server::start(&["--open"]);
    let alice = srv.enroll("alice@x/1").await;
    let bob = srv.enroll("bob@x/1").await;
    let (status, body) = srv.get(&alice, "/v1/clients/bob@x/1/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "active");
    // Only the operator may revoke.
    let (status, _) = srv
        .post(&alice, "/v1/admin/clients/bob@x/1/revoke", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = srv
        .admin_post("/v1/admin/clients/bob@x/1/revoke", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = srv.get(&bob, "/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().unwrap().contains("revoked"));
    let (status, body) = srv.get(&alice, "/v1/clients/bob@x/1/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "revoked");
    assert!(body["revoked_at"].as_i64().is_some());
    // The operator's CLI revokes too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cohort-server"))
        .arg("revoke")
        .args(srv.store_args())
        .arg("alice@x/1")
        .output()
        .expect("revoke command");
    assert!(out.status.success());
    let (status, _) = srv.get(&alice, "/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = srv
        .admin_post("/v1/admin/clients/nobody@x/1/revoke", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn no_or_bad_credentials_get_401() {
    let srv = Server::start(&["--open"]);
    for path in ["/v1/me", "/v1/key-packages", "/v1/welcomes"] {
        let (status, body) = srv.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(body["error"], "unauthorized");
        let (status, _) = srv.call(Method::GET, path, Some("bogus"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn key_package_upload_claim_and_last_resort() {
    let srv = Server::start(&["--open", "--claims-per-target-per-hour", "10"]);
    let alice = srv.enroll("alice@x/1").await;
    let bob = srv.enroll("bob@x/1").await;
    let kps: Vec<String> = (0..3).map(|_| b64(&bob.key_package_msg(false))).collect();
    let (status, body) = srv
        .post(&bob, "/v1/key-packages", json!({ "key_packages": kps }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["accepted"], 3);
    let (status, body) = srv
        .post(
            &bob,
            "/v1/key-packages",
            json!({ "key_packages": [b64(&bob.key_package_msg(true))] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, counts) = srv.get(&bob, "/v1/key-packages").await;
    assert_eq!(
        counts["counts"],
        json!([{ "cipher_suite": 1, "available": 3, "last_resort": true }])
    );
    // Re-uploading the same package is a conflict and changes nothing.
    let (status, _) = srv
        .post(
            &bob,
            "/v1/key-packages",
            json!({ "key_packages": [kps[0]] }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let claim = json!({ "cipher_suite": 1, "client_ids": ["bob@x/1"] });
    let mut seen = Vec::new();
    for left in [2u64, 1, 0] {
        let (status, body) = srv
            .post(&alice, "/v1/key-packages/claim", claim.clone())
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let entry = &body["key_packages"][0];
        assert_eq!(entry["last_resort"], false);
        let bytes = unb64(entry["key_package"].as_str().unwrap());
        let msg = MLSMessage::decode_exact(&bytes).expect("MLSMessage");
        assert!(matches!(msg.body, MLSMessageBody::KeyPackage(_)));
        assert!(!seen.contains(&bytes), "a KeyPackage was handed out twice");
        seen.push(bytes);
        let (_, counts) = srv.get(&bob, "/v1/key-packages").await;
        assert_eq!(counts["counts"][0]["available"], left);
    }
    // Only the last resort is left: served, and kept.
    for _ in 0..2 {
        let (_, body) = srv
            .post(&alice, "/v1/key-packages/claim", claim.clone())
            .await;
        assert_eq!(body["key_packages"][0]["last_resort"], true);
        assert!(body["key_packages"][0]["key_package"].is_string());
    }
    let (_, counts) = srv.get(&bob, "/v1/key-packages").await;
    assert_eq!(
        counts["counts"],
        json!([{ "cipher_suite": 1, "available": 0, "last_resort": true }])
    );
    // Someone without packages: null. Unsupported suite: 400.
    let (_, body) = srv
        .post(
            &bob,
            "/v1/key-packages/claim",
            json!({ "cipher_suite": 1, "client_ids": ["alice@x/1"] }),
        )
        .await;
    assert!(body["key_packages"][0]["key_package"].is_null());
    let (status, _) = srv
        .post(
            &bob,
            "/v1/key-packages/claim",
            json!({ "cipher_suite": 999, "client_ids": ["alice@x/1"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Claiming needs credentials.
    let (status, _) = srv
        .call(Method::POST, "/v1/key-packages/claim", None, Some(claim))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn uploading_someone_elses_key_package_is_rejected() {
    let srv = Server::start(&["--open"]);
    let alice = srv.enroll("alice@x/1").await;
    let bob = srv.enroll("bob@x/1").await;
    // Alice uploads Bob's (validly signed) KeyPackage as hers.
    let (status, body) = srv
        .post(
            &alice,
            "/v1/key-packages",
            json!({ "key_packages": [b64(&bob.key_package_msg(false))] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A batch with one bad entry stores nothing.
    let (status, _) = srv
        .post(
            &alice,
            "/v1/key-packages",
            json!({ "key_packages": [b64(&alice.key_package_msg(false)), b64(b"junk")] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, counts) = srv.get(&alice, "/v1/key-packages").await;
    assert_eq!(counts["counts"], json!([]));
    // A KeyPackage with Alice's key but Bob's certificate.
    let forged = cohort::group::key_package::KeyPackageSecrets::generate(
        &suite(),
        x509_credential(&bob.chain),
        &alice.key,
        &Default::default(),
    )
    .unwrap()
    .key_package;
    let bytes = cohort::codec::Encode::to_bytes(&forged);
    let (status, body) = srv
        .post(
            &alice,
            "/v1/key-packages",
            json!({ "key_packages": [b64(&bytes)] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A KeyPackage signed by an unenrolled key.
    let stranger = TestClient {
        key: suite().generate_signature_key_pair().unwrap(),
        ..alice.clone()
    };
    let (status, _) = srv
        .post(
            &alice,
            "/v1/key-packages",
            json!({ "key_packages": [b64(&stranger.key_package_msg(false))] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
