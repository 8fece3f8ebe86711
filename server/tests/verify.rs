//! Issue 11: a commit the DS accepts is a commit the group can process, and group rights
//! follow membership. Real MLS groups (the library) against the real server binary.

mod common;

use cohort::codec::{Bytes, Decode, Encode};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::{
    CommitOptions, ExternalCommitOptions, Group, GroupOptions, JoinOptions, KeyPackageOptions,
    KeyPackageSecrets, NoPsks, ReceivedMessage,
};
use cohort_server::authority::x509_credential;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A member's MLS state next to its server identity.
struct Peer {
    client: TestClient,
    group: Group,
}

fn new_group(c: &TestClient, gid: &[u8]) -> Group {
    Group::create(
        suite().id(),
        gid.to_vec(),
        x509_credential(&c.chain),
        c.key.clone(),
        GroupOptions::default(),
    )
    .expect("group")
}

fn key_package(c: &TestClient) -> KeyPackageSecrets {
    KeyPackageSecrets::generate(
        &suite(),
        x509_credential(&c.chain),
        &c.key,
        &KeyPackageOptions::default(),
    )
    .expect("key package")
}

/// Create a (default: PublicMessage) group on the server from a real epoch-0 GroupInfo.
async fn create(srv: &Server, c: &TestClient, gid: &[u8], external: bool) -> (Group, String) {
    let group = new_group(c, gid);
    let gi = group.group_info().expect("group info").to_bytes();
    let body = json!({ "group_id": b64(gid), "allow_external_join": external,
                       "group_info": b64(&gi) });
    expect(StatusCode::CREATED, srv.post(c, "/v1/groups", body).await);
    (group, b64(gid))
}

/// `committer` adds `joiner` with a real commit the server accepts; returns the joiner.
async fn add(srv: &Server, g: &str, committer: &mut Peer, joiner: &TestClient) -> Peer {
    let kp = key_package(joiner);
    let out = committer
        .group
        .commit(
            CommitOptions {
                add: vec![kp.key_package.clone()],
                group_info: true,
                ..Default::default()
            },
            &NoPsks,
        )
        .expect("commit");
    let welcome = out.welcome.expect("welcome");
    let extra = json!({
        "added": [joiner.id], "welcome": b64(&welcome.to_bytes()),
        "welcome_recipients": [joiner.id],
        "group_info": b64(&out.group_info.expect("gi").to_bytes()),
    });
    expect(
        StatusCode::CREATED,
        srv.post_msg(&committer.client, g, &out.commit.to_bytes(), extra)
            .await,
    );
    committer.group.confirm_pending_commit().expect("confirm");
    let group = Group::join(&welcome, &kp, &NoPsks, JoinOptions::default()).expect("join");
    Peer {
        client: joiner.clone(),
        group,
    }
}

async fn info(srv: &Server, c: &TestClient, g: &str) -> Value {
    expect(StatusCode::OK, srv.get(c, &format!("/v1/groups/{g}")).await)
}

/// Alice creates a group and adds Bob (epoch 1).
async fn alice_and_bob(srv: &Server, gid: &[u8], external: bool) -> (Peer, Peer, String) {
    let a = srv.enroll("alice@x/1").await;
    let b = srv.enroll("bob@x/1").await;
    let (group, g) = create(srv, &a, gid, external).await;
    let mut alice = Peer { client: a, group };
    let bob = add(srv, &g, &mut alice, &b).await;
    (alice, bob, g)
}

/// A PublicMessage with its signature replaced by 64 random bytes.
fn with_random_signature(msg: &MLSMessage) -> Vec<u8> {
    let mut msg = msg.clone();
    let MLSMessageBody::PublicMessage(m) = &mut msg.body else {
        panic!("not a PublicMessage");
    };
    m.auth.signature = Bytes(suite().random_bytes(64).expect("random"));
    msg.to_bytes()
}

#[tokio::test]
async fn forged_private_commit_cannot_rewrite_a_public_group() {
    let srv = Server::start(&["--open"]);
    let gid = b"verify-private-forgery";
    let (alice, bob, g) = alice_and_bob(&srv, gid, false).await;
    let mallory = srv.enroll("mallory@x/1").await;
    // Bob posts an opaque "commit" claiming to evict Alice and add Mallory.
    let (status, body) = srv
        .post_msg(
            &bob.client,
            &g,
            &commit_msg(gid, 1),
            json!({ "added": [mallory.id], "removed": [alice.client.id] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let now = info(&srv, &alice.client, &g).await;
    assert_eq!(now["epoch"], 1);
    assert_eq!(now["members"], json!(["alice@x/1", "bob@x/1"]));
}

#[tokio::test]
async fn public_commit_with_a_random_signature_is_refused() {
    let srv = Server::start(&["--open"]);
    let a = srv.enroll("alice@x/1").await;
    let gid = b"verify-signature";
    let (mut group, g) = create(&srv, &a, gid, false).await;
    let out = group
        .commit(CommitOptions::default(), &NoPsks)
        .expect("commit");
    let (status, body) = srv
        .send_msg(&a, &g, &with_random_signature(&out.commit))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("6.1"), "{body}");
    assert_eq!(info(&srv, &a, &g).await["epoch"], 0);
    // The genuine commit still goes through and moves the epoch.
    expect(
        StatusCode::CREATED,
        srv.send_msg(&a, &g, &out.commit.to_bytes()).await,
    );
    assert_eq!(info(&srv, &a, &g).await["epoch"], 1);
}

#[tokio::test]
async fn unresolvable_proposal_reference_is_refused() {
    let srv = Server::start(&["--open"]);
    let gid = b"verify-proposal-ref";
    let (mut alice, mut bob, g) = alice_and_bob(&srv, gid, false).await;
    let carol = srv.enroll("carol@x/1").await;
    let mallory = srv.enroll("mallory@x/1").await;
    // Bob proposes adding Carol but the proposal never reaches the DS; Alice has it.
    let proposal = bob
        .group
        .propose(cohort::messages::Proposal::Add(Box::new(
            cohort::messages::Add {
                key_package: key_package(&carol).key_package,
            },
        )))
        .expect("propose");
    match alice
        .group
        .process_message(
            MLSMessage::decode_exact(&proposal.to_bytes()).unwrap(),
            &NoPsks,
        )
        .expect("proposal")
    {
        ReceivedMessage::Proposal(_) => {}
        other => panic!("{other:?}"),
    }
    let out = alice
        .group
        .commit(CommitOptions::default(), &NoPsks)
        .expect("commit");
    // The reference hides Carol's Add; the claims name Mallory.
    let (status, body) = srv
        .post_msg(
            &alice.client,
            &g,
            &out.commit.to_bytes(),
            json!({ "added": [mallory.id] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let now = info(&srv, &alice.client, &g).await;
    assert_eq!(now["members"], json!(["alice@x/1", "bob@x/1"]));
    assert_eq!(now["epoch"], 1);
}

#[tokio::test]
async fn forged_external_commit_is_refused() {
    let srv = Server::start(&["--open"]);
    let gid = b"verify-external";
    let (alice, _bob, g) = alice_and_bob(&srv, gid, true).await;
    let eve = srv.enroll("eve@x/1").await;
    let gi = alice.group.group_info().expect("gi");
    let (_, commit) = Group::join_external(
        &gi,
        x509_credential(&eve.chain),
        eve.key.clone(),
        &NoPsks,
        ExternalCommitOptions::default(),
    )
    .expect("external commit");
    let (status, body) = srv
        .send_msg(&eve, &g, &with_random_signature(&commit))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let now = info(&srv, &alice.client, &g).await;
    assert_eq!(now["members"], json!(["alice@x/1", "bob@x/1"]));
    // The genuine external commit is accepted and makes Eve a member.
    expect(
        StatusCode::CREATED,
        srv.send_msg(&eve, &g, &commit.to_bytes()).await,
    );
    let now = info(&srv, &alice.client, &g).await;
    assert_eq!(now["members"], json!(["alice@x/1", "bob@x/1", "eve@x/1"]));
}

#[tokio::test]
async fn removed_creator_loses_the_group_rights() {
    let srv = Server::start(&["--open"]);
    let gid = b"verify-rights";
    let (alice, mut bob, g) = alice_and_bob(&srv, gid, false).await;
    let alice_leaf = alice.group.own_leaf_index();
    let out = bob
        .group
        .commit(
            CommitOptions {
                remove: vec![alice_leaf],
                ..Default::default()
            },
            &NoPsks,
        )
        .expect("remove");
    expect(
        StatusCode::CREATED,
        srv.post_msg(
            &bob.client,
            &g,
            &out.commit.to_bytes(),
            json!({ "removed": [alice.client.id] }),
        )
        .await,
    );
    let policy = format!("/v1/groups/{g}/policy");
    let open = json!({ "allow_external_join": true });
    expect(
        StatusCode::FORBIDDEN,
        srv.put(&alice.client, &policy, open.clone()).await,
    );
    expect(
        StatusCode::FORBIDDEN,
        srv.get(&alice.client, &format!("/v1/groups/{g}")).await,
    );
    expect(
        StatusCode::FORBIDDEN,
        srv.get(&alice.client, &format!("/v1/groups/{g}/group-info"))
            .await,
    );
    // With the creator gone, a remaining member holds the policy.
    let body = expect(StatusCode::OK, srv.put(&bob.client, &policy, open).await);
    assert_eq!(body["allow_external_join"], true);
    assert_eq!(body["members"], json!(["bob@x/1"]));
}

#[tokio::test]
async fn membership_claims_must_match_the_commit() {
    let srv = Server::start(&["--open"]);
    let a = srv.enroll("alice@x/1").await;
    let bob = srv.enroll("bob@x/1").await;
    let carol = srv.enroll("carol@x/1").await;
    let gid = b"verify-claims";
    let (mut group, g) = create(&srv, &a, gid, false).await;
    let out = group
        .commit(
            CommitOptions {
                add: vec![key_package(&bob).key_package],
                ..Default::default()
            },
            &NoPsks,
        )
        .expect("commit");
    let commit = out.commit.to_bytes();
    let welcome = b64(&out.welcome.expect("welcome").to_bytes());
    for (extra, expected) in [
        // The commit adds Bob but the request claims Carol.
        (json!({ "added": [carol.id] }), StatusCode::BAD_REQUEST),
        // Claims Bob and Carol, but only Bob is in the commit.
        (
            json!({ "added": [bob.id, carol.id] }),
            StatusCode::BAD_REQUEST,
        ),
        // Claims a removal the commit does not make.
        (
            json!({ "added": [bob.id], "removed": [a.id] }),
            StatusCode::BAD_REQUEST,
        ),
        // Welcome for someone not added.
        (
            json!({ "added": [bob.id], "welcome": welcome, "welcome_recipients": [carol.id] }),
            StatusCode::BAD_REQUEST,
        ),
        // No claims at all: the DS derives them.
        (
            json!({ "welcome": welcome, "welcome_recipients": [bob.id] }),
            StatusCode::CREATED,
        ),
    ] {
        let (status, body) = srv.post_msg(&a, &g, &commit, extra.clone()).await;
        assert_eq!(status, expected, "{extra}: {body}");
    }
    let now = info(&srv, &a, &g).await;
    assert_eq!(now["members"], json!(["alice@x/1", "bob@x/1"]));
    assert_eq!(now["handshake"], "public");
    let inbox = expect(StatusCode::OK, srv.get(&bob, "/v1/welcomes").await);
    assert_eq!(inbox["welcomes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn external_join_follows_the_group_policy() {
    let srv = Server::start(&["--open"]);
    let a = srv.enroll("alice@x/1").await;
    let eve = srv.enroll("eve@x/1").await;
    let mallory = srv.enroll("mallory@x/1").await;
    let gid = b"verify-external-policy";
    let (group, g) = create(&srv, &a, gid, false).await;
    let group_info_path = format!("/v1/groups/{g}/group-info");
    let policy_path = format!("/v1/groups/{g}/policy");
    // Closed group: no GroupInfo, no external commit for outsiders.
    expect(StatusCode::FORBIDDEN, srv.get(&eve, &group_info_path).await);
    let (_, ext) = Group::join_external(
        &group.group_info().expect("gi"),
        x509_credential(&eve.chain),
        eve.key.clone(),
        &NoPsks,
        ExternalCommitOptions::default(),
    )
    .expect("external commit");
    let ext = ext.to_bytes();
    expect(StatusCode::FORBIDDEN, srv.send_msg(&eve, &g, &ext).await);
    // Only the creator may open it.
    let open = json!({ "allow_external_join": true });
    expect(
        StatusCode::FORBIDDEN,
        srv.put(&eve, &policy_path, open.clone()).await,
    );
    expect(StatusCode::OK, srv.put(&a, &policy_path, open).await);
    let body = expect(StatusCode::OK, srv.get(&eve, &group_info_path).await);
    assert_eq!(body["epoch"], 0);
    // Eve's commit posted by Mallory: the new leaf is not Mallory's enrolled key.
    expect(
        StatusCode::FORBIDDEN,
        srv.send_msg(&mallory, &g, &ext).await,
    );
    expect(StatusCode::CREATED, srv.send_msg(&eve, &g, &ext).await);
    let now = info(&srv, &eve, &g).await;
    assert_eq!(now["members"], json!(["alice@x/1", "eve@x/1"]));
    assert_eq!(now["epoch"], 1);
}

#[tokio::test]
async fn external_commit_to_a_private_group_is_checked_against_its_group_info() {
    let srv = Server::start(&["--open"]);
    let a = srv.enroll("alice@x/1").await;
    let eve = srv.enroll("eve@x/1").await;
    let gid = b"verify-external-private";
    let group = new_group(&a, gid);
    let gi = group.group_info().expect("gi");
    let body = json!({ "group_id": b64(gid), "allow_external_join": true,
                       "group_info": b64(&gi.to_bytes()), "handshake": "private" });
    let created = expect(StatusCode::CREATED, srv.post(&a, "/v1/groups", body).await);
    assert_eq!(created["handshake"], "private");
    let g = b64(gid);
    let (_, ext) = Group::join_external(
        &gi,
        x509_credential(&eve.chain),
        eve.key.clone(),
        &NoPsks,
        ExternalCommitOptions::default(),
    )
    .expect("external commit");
    let (status, body) = srv.send_msg(&eve, &g, &with_random_signature(&ext)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    expect(
        StatusCode::CREATED,
        srv.send_msg(&eve, &g, &ext.to_bytes()).await,
    );
    let now = info(&srv, &a, &g).await;
    assert_eq!(now["members"], json!(["alice@x/1", "eve@x/1"]));
}

/// RFC 9420 §12.4.3.3: a Welcome without the ratchet_tree extension; the joiner gets the
/// tree from the DS (a large group's Welcome need not carry it). Strangers and non-members
/// get none; a PrivateMessage group has none to give.
#[tokio::test]
async fn a_joiner_takes_the_ratchet_tree_from_the_ds_when_the_welcome_has_none() {
    let srv = Server::start(&["--open"]);
    let (mut alice, _bob, g) = alice_and_bob(&srv, b"tree-oob", false).await;
    let carol = srv.enroll("carol@x/1").await;
    let dave = srv.enroll("dave@x/1").await;
    let path = format!("/v1/groups/{g}/ratchet-tree");
    let (status, _) = srv.get(&carol, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a non-member gets no tree");
    let (status, _) = srv.call(reqwest::Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a stranger gets no tree");
    let mut config = alice.group.config().clone();
    config.ratchet_tree_extension = false;
    alice.group.set_config(config);
    let kp = key_package(&carol);
    let out = alice
        .group
        .commit(
            CommitOptions {
                add: vec![kp.key_package.clone()],
                ..Default::default()
            },
            &NoPsks,
        )
        .expect("commit");
    let welcome = out.welcome.expect("welcome");
    let extra = json!({ "added": [carol.id], "welcome": b64(&welcome.to_bytes()),
                        "welcome_recipients": [carol.id] });
    expect(
        StatusCode::CREATED,
        srv.post_msg(&alice.client, &g, &out.commit.to_bytes(), extra)
            .await,
    );
    alice.group.confirm_pending_commit().expect("confirm");
    assert!(
        Group::join(&welcome, &kp, &NoPsks, JoinOptions::default()).is_err(),
        "the Welcome carries no tree"
    );
    let body = expect(StatusCode::OK, srv.get(&carol, &path).await);
    assert_eq!(body["epoch"], alice.group.epoch());
    let tree = cohort::messages::RatchetTreeWire::decode_exact(&unb64(
        body["ratchet_tree"].as_str().expect("tree"),
    ))
    .expect("tree bytes");
    let joined = Group::join(
        &welcome,
        &kp,
        &NoPsks,
        JoinOptions {
            ratchet_tree: Some(tree),
            ..Default::default()
        },
    )
    .expect("join with the DS's tree");
    assert_eq!(
        joined.epoch_authenticator(),
        alice.group.epoch_authenticator()
    );
    let (status, _) = srv.get(&dave, &path).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "still nothing for a non-member"
    );
    // A PrivateMessage group: no tree at the DS.
    let pg = srv.create_group(&dave, b"tree-private", false).await;
    let (status, _) = srv
        .get(&dave, &format!("/v1/groups/{pg}/ratchet-tree"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
