//! kill -9 the server during a stream of sends and restart it on the same database: no
//! acknowledged message is lost or duplicated, and every client converges.
//!
//! A send is acknowledged when `cohort send` exits 0 (the server answered 201 after its
//! transaction was on disk). A send that failed may or may not have reached the log (the
//! server may have died after committing and before answering): the client keeps it in its
//! outbox and posts the same bytes again on the next send or sync, and the server stores
//! them once. So every acknowledged message must appear exactly once at every member, and
//! no message more than once.

mod common;

use common::{Client, Server};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MESSAGES: usize = 36;

#[test]
fn kill9_during_sends_no_acknowledged_message_lost_or_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let clients: Vec<Client> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| Client::new(dir.path(), &server.url, n))
        .collect();
    for c in &clients {
        c.ok(&["register", &c.name]);
    }
    for c in &clients[1..] {
        c.ok(&["keypackages", "publish", "--count", "2"]);
    }
    clients[0].ok(&["group", "create", "g"]);
    clients[0].ok(&["group", "add", "g", "bob", "carol"]);
    clients[1].ok(&["sync"]);
    clients[2].ok(&["sync"]);

    // The stream: alice and bob take turns sending; carol commits a key update now and
    // then. Each send is its own process, as a user would run it.
    let acked = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let senders = clients.clone();
    let counter = acked.clone();
    let finished = done.clone();
    let stream = std::thread::spawn(move || {
        let mut outcome: HashMap<String, bool> = HashMap::new();
        for i in 0..MESSAGES {
            let c = &senders[i % 2];
            let text = format!("msg-{i:03}-{}", c.name);
            // alice gives up at once when the server is down (her message then waits in
            // her outbox for the next send or sync); bob retries for up to 10 s.
            let retry = if i % 2 == 0 { "0" } else { "10" };
            let out = c
                .command(&["send", "g", &text])
                .env("COHORT_RETRY_SECS", retry)
                .output()
                .unwrap();
            if !out.status.success() {
                eprintln!("{text}: {}", String::from_utf8_lossy(&out.stderr).trim());
            }
            outcome.insert(text, out.status.success());
            if out.status.success() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            if i % 9 == 4 {
                // A commit in the middle of the stream (it may hit a dead server: then it
                // fails cleanly and the next sync sorts out its pending state).
                let _ = senders[2].run(&["group", "update", "g"]);
            }
        }
        finished.store(true, Ordering::SeqCst);
        outcome
    });

    // carol sends too, concurrently, so that kills land on requests in flight (and her
    // sends and her commits, two processes on one home, take turns on its lock).
    let carol = clients[2].clone();
    let carol_done = done.clone();
    let carol_stream = std::thread::spawn(move || {
        let mut outcome: HashMap<String, bool> = HashMap::new();
        let mut j = 0;
        while !carol_done.load(Ordering::SeqCst) && j < 60 {
            let text = format!("carol-{j:03}");
            let out = carol.run(&["send", "g", &text]);
            outcome.insert(text, out.status.success());
            j += 1;
        }
        outcome
    });

    // Kill the server three times while the streams run.
    for round in 1..=3 {
        let target = round * MESSAGES / 4;
        while acked.load(Ordering::SeqCst) < target && !done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill9();
        std::thread::sleep(Duration::from_millis(150 * round as u64));
        server.restart();
    }
    let mut outcome = stream.join().unwrap();
    outcome.extend(carol_stream.join().unwrap());

    // Everyone syncs (posting anything left in an outbox), twice so that outbox posts
    // made by later syncs reach the earlier ones.
    for _ in 0..2 {
        for c in &clients {
            c.ok(&["sync"]);
        }
    }

    let acknowledged: Vec<&String> = outcome
        .iter()
        .filter(|(_, ok)| **ok)
        .map(|(t, _)| t)
        .collect();
    let unacknowledged: Vec<&String> = outcome
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(t, _)| t)
        .collect();
    assert!(
        acknowledged.len() >= MESSAGES / 2,
        "too few sends succeeded: {}/{}",
        acknowledged.len(),
        outcome.len()
    );
    for c in &clients {
        let history = c.history("g");
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for t in &history {
            *seen.entry(t.as_str()).or_default() += 1;
        }
        for (t, n) in &seen {
            assert_eq!(*n, 1, "{}: {t} appears {n} times", c.name);
        }
        for t in &acknowledged {
            assert!(
                seen.contains_key(t.as_str()),
                "{}: acknowledged {t} missing from {history:?}",
                c.name
            );
        }
    }
    let expected = clients[0].status("g");
    for c in &clients[1..] {
        assert_eq!(c.status("g"), expected, "{} diverged", c.name);
    }
    // A failed send stays in the sender's outbox and is delivered later, still once.
    let bob_history = clients[1].history("g");
    let late = unacknowledged
        .iter()
        .filter(|t| bob_history.contains(t))
        .count();
    eprintln!(
        "{} of {} sends acknowledged across 3 kills, {late} of the {} failed ones \
         delivered later from the outbox; final epoch {}",
        acknowledged.len(),
        outcome.len(),
        unacknowledged.len(),
        expected.0
    );
}
