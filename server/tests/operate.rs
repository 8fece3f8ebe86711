//! What an operator watches: liveness, readiness and the Prometheus metrics.

mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn metrics_count_routes_commits_and_conflicts_for_the_admin_only() {
    let server = Server::start(&["--open"]);
    let alice = server.enroll("alice/1").await;
    let gid = server.create_group(&alice, b"ops", false).await;
    expect(
        StatusCode::CREATED,
        server.send_msg(&alice, &gid, &commit_msg(b"ops", 0)).await,
    );
    // A commit for a future epoch conflicts.
    let (status, _) = server.send_msg(&alice, &gid, &commit_msg(b"ops", 7)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = server.get(&alice, "/metrics").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a client may not read metrics"
    );
    let reply = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("metrics");
    assert_eq!(reply.status(), StatusCode::OK);
    let text = reply.text().await.expect("text");
    for line in [
        "cohort_commits_total{outcome=\"accepted\"} 1",
        "cohort_commits_total{outcome=\"conflict\"} 1",
        "cohort_messages_stored_total{content_type=\"commit\"} 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(
        text.contains("route=\"/v1/groups/{group_id}/messages\""),
        "routes are labelled by template, not by path:\n{text}"
    );
    assert!(!text.contains(&gid), "a group id leaked into a label");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let server = Server::start(&["--open"]);
    for route in ["/v1/health", "/v1/ready"] {
        let reply = server
            .http
            .get(server.url(route))
            .send()
            .await
            .expect(route);
        assert_eq!(reply.status(), StatusCode::OK, "{route}");
    }
}
