//! The ML-DSA suites end to end: clients enroll with ML-DSA keys (the AS certifies them in
//! RFC 9881 X.509 certificates under its Ed25519 root), publish KeyPackages, create a group,
//! add a member and exchange messages through the real server binary.

mod common;

use common::{Client, Server};

#[test]
fn ml_dsa_suites_register_create_add_send() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // The smallest and the largest parameter set (0xF00A sits between; the CA's unit tests
    // cover all three).
    for (suite, tag) in [("0xF009", "44"), ("0xF00B", "87")] {
        let alice = Client::new(dir.path(), &server.url, &format!("alice{tag}"));
        let bob = Client::new(dir.path(), &server.url, &format!("bob{tag}"));
        for c in [&alice, &bob] {
            let out = c.ok(&["register", &c.name, "--suite", suite]);
            assert!(out.contains(&format!("registered {}/1", c.name)), "{out}");
        }
        let out = bob.ok(&["keypackages", "publish", "--count", "3"]);
        assert!(out.contains("published 3"), "{suite}: {out}");
        let group = format!("team{tag}");
        alice.ok(&["group", "create", &group]);
        let out = alice.ok(&["group", "add", &group, &bob.name]);
        assert!(
            out.contains(&format!("added {}/1 (2 members)", bob.name)),
            "{out}"
        );
        let out = bob.ok(&["sync"]);
        assert!(
            out.contains(&format!(
                "[{group}] joined by welcome at epoch 1 (2 members)"
            )),
            "{suite}: {out}"
        );
        alice.ok(&["send", &group, "hello from alice"]);
        bob.ok(&["send", &group, "hello from bob"]);
        for c in [&alice, &bob] {
            c.ok(&["sync"]);
            let h = c.history(&group);
            for text in ["hello from alice", "hello from bob"] {
                assert_eq!(
                    h.iter().filter(|t| *t == text).count(),
                    1,
                    "{suite} {}: {h:?}",
                    c.name
                );
            }
        }
        // A path update signed with ML-DSA, processed by the other member.
        bob.ok(&["group", "update", &group]);
        alice.ok(&["sync"]);
        alice.ok(&["send", &group, "after the update"]);
        bob.ok(&["sync"]);
        assert!(
            bob.history(&group).iter().any(|t| t == "after the update"),
            "{suite}"
        );
    }
}
