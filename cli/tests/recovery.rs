//! Issue 11: in a PrivateMessage group the server cannot check commits; a malicious member
//! posts a garbage one, and the honest members still end in one working epoch (RFC 9750
//! "Invalid Commits": members take the epoch's first commit they can process).

mod common;

use base64::Engine;
use cohort::codec::{Bytes, Encode};
use cohort::framing::{ContentType, MLSMessage, MLSMessageBody, PrivateMessage};
use common::{Client, Server};

/// Mallory's bearer token, read from her home (she is the attacker: she has it).
fn token(c: &Client) -> String {
    let conn = rusqlite::Connection::open(c.home.join("cohort.sqlite3")).expect("home db");
    let raw: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = 'token'", [], |r| {
            r.get(0)
        })
        .expect("token");
    String::from_utf8(raw).expect("utf-8 token")
}

/// Post a PrivateMessage "commit" of random bytes for `epoch`, claiming to remove `victim`.
fn post_garbage_commit(server: &str, token: &str, group: &str, epoch: u64, victim: &str) {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let msg = MLSMessage::new(MLSMessageBody::PrivateMessage(PrivateMessage {
        group_id: Bytes(group.as_bytes().to_vec()),
        epoch,
        content_type: ContentType::Commit,
        authenticated_data: Bytes::default(),
        encrypted_sender_data: Bytes(vec![0x42; 32]),
        ciphertext: Bytes((0..200u32).map(|i| (i * 31 % 251) as u8).collect()),
    }));
    let body = serde_json::json!({ "message": b64(&msg.to_bytes()), "removed": [victim] });
    let url = format!("{server}/v1/groups/{}/messages", b64(group.as_bytes()));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // reqwest's rustls backend (the CLI's HTTPS) needs a process-wide provider to build any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("post")
            .status()
    });
    assert_eq!(
        status.as_u16(),
        201,
        "the server cannot tell garbage from a commit"
    );
}

#[test]
fn honest_members_recover_from_a_garbage_private_commit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let [alice, bob, mallory] =
        ["alice", "bob", "mallory"].map(|n| Client::new(dir.path(), &server.url, n));
    for c in [&alice, &bob, &mallory] {
        c.ok(&["register", &c.name]);
    }
    for c in [&bob, &mallory] {
        c.ok(&["keypackages", "publish", "--count", "2"]);
    }
    let out = alice.ok(&["group", "create", "team", "--private"]);
    assert!(out.contains("PrivateMessage handshakes"), "{out}");
    alice.ok(&["group", "add", "team", "bob"]);
    bob.ok(&["sync"]);
    alice.ok(&["group", "add", "team", "mallory"]);
    // Bob processes the commit and acknowledges it: Mallory's Welcome is released.
    bob.ok(&["sync"]);
    let out = mallory.ok(&["sync"]);
    assert!(out.contains("joined by welcome"), "{out}");
    alice.ok(&["sync"]);
    let (epoch, members, _) = alice.status("team");
    assert_eq!(members, 3);

    // Mallory posts garbage for the current epoch, claiming Alice is removed.
    post_garbage_commit(&server.url, &token(&mallory), "team", epoch, "alice/1");

    // The honest members skip it and stay in a working epoch: they send and read.
    let out = alice.run(&["sync"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("skipped the commit")
            || String::from_utf8_lossy(&out.stdout).contains("skipped the commit"),
        "{out:?}"
    );
    alice.ok(&["send", "team", "still here"]);
    bob.ok(&["sync"]);
    assert!(bob.history("team").contains(&"still here".to_string()));

    // Alice removes Mallory with the epoch's next commit; Bob takes it and acknowledges.
    alice.ok(&["group", "remove", "team", "mallory/1"]);
    bob.ok(&["sync"]);
    let (a_epoch, a_members, a_auth) = alice.status("team");
    let (b_epoch, b_members, b_auth) = bob.status("team");
    assert_eq!((a_epoch, a_members), (epoch + 1, 2));
    assert_eq!((b_epoch, b_members, &b_auth), (a_epoch, a_members, &a_auth));

    // One common working epoch: both send, both read.
    alice.ok(&["send", "team", "from alice after"]);
    bob.ok(&["send", "team", "from bob after"]);
    alice.ok(&["sync"]);
    bob.ok(&["sync"]);
    for c in [&alice, &bob] {
        let h = c.history("team");
        for text in ["from alice after", "from bob after"] {
            assert!(h.iter().any(|t| t.starts_with(text)), "{}: {h:?}", c.name);
        }
    }
    // The server agrees: Mallory is out, and reading the group is refused to her.
    let members = alice.ok(&["group", "members", "team"]);
    assert!(!members.contains("mallory/1"), "{members}");
    let out = mallory.run(&["sync"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("no longer a member"), "{text}");
}
