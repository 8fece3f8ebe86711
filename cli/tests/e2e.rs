//! End to end: the real server binary and `cohort` processes, one home per client.

mod common;

use common::{Client, Server};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn register_publish_create_add_send_sync_everyone_receives() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let names = ["alice", "bob", "carol"];
    let clients: Vec<Client> = names
        .iter()
        .map(|n| Client::new(dir.path(), &server.url, n))
        .collect();
    for c in &clients {
        let out = c.ok(&["register", &c.name]);
        assert!(out.contains(&format!("registered {}/1", c.name)), "{out}");
    }
    for c in &clients[1..] {
        let out = c.ok(&["keypackages", "publish", "--count", "2"]);
        assert!(out.contains("published 2"), "{out}");
    }
    let (alice, bob, carol) = (&clients[0], &clients[1], &clients[2]);
    alice.ok(&["group", "create", "team", "--allow-external-join"]);
    let out = alice.ok(&["group", "add", "team", "bob", "carol"]);
    assert!(out.contains("added bob/1, carol/1 (3 members)"), "{out}");
    for c in [bob, carol] {
        let out = c.ok(&["sync"]);
        assert!(
            out.contains("[team] joined by welcome at epoch 1 (3 members)"),
            "{out}"
        );
    }

    alice.ok(&["send", "team", "hello from alice"]);
    bob.ok(&["send", "team", "hello from bob"]);
    carol.ok(&["send", "team", "hello from carol"]);
    for c in &clients {
        c.ok(&["sync"]);
    }
    for c in &clients {
        let h = c.history("team");
        for n in names {
            let text = format!("hello from {n}");
            assert_eq!(
                h.iter().filter(|t| **t == text).count(),
                1,
                "{} history {h:?}",
                c.name
            );
        }
    }
    let members = alice.ok(&["group", "members", "team"]);
    for n in names {
        assert!(members.contains(&format!("{n}/1")), "{members}");
    }

    // A key update, a removal, an external join, a departure: everyone converges.
    bob.ok(&["group", "update", "team"]);
    alice.ok(&["group", "remove", "team", "carol"]);
    let out = carol.ok(&["sync"]);
    assert!(out.contains("[team] you are no longer a member"), "{out}");
    let out = carol.run(&["send", "team", "still here?"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );

    let dave = Client::new(dir.path(), &server.url, "dave");
    dave.ok(&["register", "dave"]);
    let out = dave.ok(&["join-external", "team", "team"]);
    assert!(out.contains("[team] joined by external commit"), "{out}");
    dave.ok(&["send", "team", "hello from dave"]);
    bob.ok(&["group", "leave", "team"]);
    let out = alice.ok(&["sync"]);
    assert!(out.contains("dave/1 joined by external commit"), "{out}");
    assert!(out.contains("bob/1 proposes to leave"), "{out}");
    assert!(out.contains("removed bob/1 (2 members)"), "{out}");
    assert!(out.contains("[team] dave/1: hello from dave"), "{out}");
    let out = bob.ok(&["sync"]);
    assert!(out.contains("you are no longer a member"), "{out}");
    dave.ok(&["sync"]);
    let (ea, na, aa) = alice.status("team");
    let (ed, nd, ad) = dave.status("team");
    assert_eq!((ea, na), (ed, nd));
    assert_eq!(na, 2);
    assert_eq!(aa, ad, "epoch authenticators differ");
}

#[test]
fn watch_prints_messages_as_they_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let alice = Client::new(dir.path(), &server.url, "alice");
    let bob = Client::new(dir.path(), &server.url, "bob");
    alice.ok(&["register", "alice"]);
    bob.ok(&["register", "bob"]);
    bob.ok(&["keypackages", "publish", "--count", "1"]);
    alice.ok(&["group", "create", "chat"]);

    let mut watch = bob
        .command(&["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!("watch never printed {needle:?}"),
            }
        }
    };
    wait_for("watching");
    // The Welcome arrives by push; then messages.
    alice.ok(&["group", "add", "chat", "bob"]);
    wait_for("[chat] joined by welcome");
    alice.ok(&["send", "chat", "live message 1"]);
    wait_for("[chat] alice/1: live message 1");
    alice.ok(&["group", "update", "chat"]);
    alice.ok(&["send", "chat", "live message 2"]);
    wait_for("[chat] alice/1: live message 2");
    let _ = watch.kill();
    let _ = watch.wait();
    // What watch processed is in bob's state: his epoch matches alice's.
    assert_eq!(alice.status("chat"), bob.status("chat"));
}

#[test]
fn clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let alice = Client::new(dir.path(), &server.url, "alice");
    let out = alice.run(&["group", "list"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not registered"), "{err}");
    alice.ok(&["register", "alice"]);
    let out = alice.run(&["register", "alice"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already registered"));
    alice.ok(&["group", "create", "g1"]);
    let out = alice.run(&["group", "add", "g1", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no KeyPackage available for nobody/1"),
        "{err}"
    );
    let out = alice.run(&["send", "nope", "x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no group named nope"));
    // An unreachable server is one line too.
    let ghost = Client::new(dir.path(), "http://127.0.0.1:9", "ghost");
    let out = ghost
        .command(&["register", "ghost"])
        .env("COHORT_RETRY_SECS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    // Nothing secret is printed: no token, no key material.
    let home = std::fs::read(alice.home.join("cohort.sqlite3")).unwrap();
    assert!(!home.is_empty());
}
