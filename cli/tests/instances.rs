//! Three `cohort-server` processes on one PostgreSQL database (issue 13): thirty members
//! spread over them commit in the same epoch at once; the database's ordering gives exactly
//! one winner, every other commit conflicts, everyone converges, and the instances' metrics
//! (scraped during and after the race) count the accepted commits and the conflicts.

mod common;

use common::{Client, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;

const RACERS: usize = 30;
const INSTANCES: usize = 3;

/// A fresh database on the test cluster; its URL.
fn database(tag: &str) -> String {
    let base = std::env::var("COHORT_TEST_DATABASE_URL").expect(
        "COHORT_TEST_DATABASE_URL is not set: run the tests with .ci/test (it starts PostgreSQL)",
    );
    let name = format!("cohort_cli_{tag}_{}", std::process::id());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("test cluster");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .expect("drop database");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (head, _) = base.rsplit_once('/').expect("URL with a database");
    format!("{head}/{name}")
}

/// `GET /metrics` with the admin token, over a plain socket.
fn metrics(server: &Server) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer admin\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("reply");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    reply
}

fn counter(text: &str, line_prefix: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn thirty_members_on_three_instances_race_one_wins_each_epoch_metrics_count_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let url = database("race");
    let servers: Vec<Server> = (0..INSTANCES)
        .map(|i| Server::start_postgres(dir.path(), &format!("server{i}"), &url))
        .collect();
    // Client i talks to instance i % 3 first, the others after it.
    let urls = |i: usize| {
        (0..INSTANCES)
            .map(|k| servers[(i + k) % INSTANCES].url.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let owner = Client::new(dir.path(), &urls(0), "owner");
    owner.ok(&["register", "owner"]);
    let racers: Vec<Client> = (0..RACERS)
        .map(|i| Client::new(dir.path(), &urls(i), &format!("r{i:02}")))
        .collect();
    std::thread::scope(|s| {
        for r in &racers {
            s.spawn(move || {
                r.ok(&["register", &r.name]);
                r.ok(&["keypackages", "publish", "--count", "1"]);
            });
        }
    });
    owner.ok(&["group", "create", "race"]);
    let names: Vec<&str> = racers.iter().map(|r| r.name.as_str()).collect();
    let mut args = vec!["group", "add", "race"];
    args.extend(&names);
    owner.ok(&args);
    std::thread::scope(|s| {
        for r in &racers {
            s.spawn(move || r.ok(&["sync"]));
        }
    });
    let (epoch0, members, _) = owner.status("race");
    assert_eq!(members, RACERS + 1);
    let sum = |outcome: &str| -> u64 {
        let line = format!("cohort_commits_total{{outcome=\"{outcome}\"}}");
        servers.iter().map(|s| counter(&metrics(s), &line)).sum()
    };
    let (conflicts_before, accepted_before) = (sum("conflict"), sum("accepted"));

    let gate = dir.path().join("gate");
    let mut children = Vec::new();
    for r in &racers {
        let mut child = r
            .command(&["group", "update", "race", "--gate"])
            .arg(&gate)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let _ = out.read_line(&mut first);
        assert_eq!(
            first.trim(),
            format!("commit ready for epoch {epoch0}"),
            "{} did not build its commit",
            r.name
        );
        children.push((r.name.clone(), child, out));
    }
    std::fs::write(&gate, b"go").unwrap();
    let mid_race = metrics(&servers[1]);
    assert!(
        mid_race.contains("cohort_http_requests_total"),
        "{mid_race}"
    );
    let mut conflicts = Vec::new();
    for (name, mut child, out) in children {
        let rest: Vec<String> = out.lines().map_while(Result::ok).collect();
        let status = child.wait().unwrap();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.success(), "{name} failed: {rest:?} {err}");
        let n: u64 = rest
            .iter()
            .find_map(|l| l.strip_prefix("conflicts="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no conflict count in {rest:?}"));
        conflicts.push(n);
    }
    assert_eq!(
        conflicts.iter().filter(|c| **c == 0).count(),
        1,
        "exactly one commit for epoch {epoch0} won across the instances: {conflicts:?}"
    );
    let seen: u64 = conflicts.iter().sum();
    assert!(seen >= (RACERS - 1) as u64, "{conflicts:?}");
    // The clients count attempts (a rebuild after reading a newer epoch is one too); the
    // servers count the 409s: at least the 29 losers of the first epoch, at most the attempts.
    let counted = sum("conflict") - conflicts_before;
    assert!(
        counted >= (RACERS - 1) as u64 && counted <= seen,
        "conflicts counted by the instances {counted}, attempts seen by the clients {seen}"
    );
    assert_eq!(
        sum("accepted") - accepted_before,
        RACERS as u64,
        "one accepted commit per racer across the instances"
    );

    owner.ok(&["sync"]);
    std::thread::scope(|s| {
        for r in &racers {
            s.spawn(move || r.ok(&["sync"]));
        }
    });
    let expected = owner.status("race");
    assert_eq!(expected.0, epoch0 + RACERS as u64);
    for r in &racers {
        assert_eq!(r.status("race"), expected, "{} diverged", r.name);
    }
}

/// kill -9 one of three instances during a stream of sends from clients spread over all
/// three: the dead instance's clients move to the next URL and carry on; no acknowledged
/// message is lost or duplicated and everyone converges.
#[test]
fn kill9_of_one_instance_its_clients_fail_over_nothing_acknowledged_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let url = database("failover");
    let mut servers: Vec<Server> = (0..INSTANCES)
        .map(|i| Server::start_postgres(dir.path(), &format!("server{i}"), &url))
        .collect();
    let urls = |i: usize| {
        (0..INSTANCES)
            .map(|k| servers[(i + k) % INSTANCES].url.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let clients: Vec<Client> = ["alice", "bob", "carol"]
        .iter()
        .enumerate()
        .map(|(i, n)| Client::new(dir.path(), &urls(i), n))
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
    let mut acknowledged = Vec::new();
    let mut failed = Vec::new();
    for i in 0..30 {
        if i == 10 {
            // alice's first instance.
            servers[0].kill9();
        }
        let c = &clients[i % 3];
        let text = format!("m{i:02}-{}", c.name);
        let out = c.run(&["send", "g", &text]);
        if out.status.success() {
            acknowledged.push(text);
        } else {
            failed.push(text);
        }
    }
    assert!(
        acknowledged.len() >= 27,
        "sends failed after the kill: {failed:?}"
    );
    for _ in 0..2 {
        for c in &clients {
            c.ok(&["sync"]);
        }
    }
    for c in &clients {
        let history = c.history("g");
        for t in &acknowledged {
            let n = history.iter().filter(|h| *h == t).count();
            assert_eq!(n, 1, "{}: {t} seen {n} times in {history:?}", c.name);
        }
    }
    let expected = clients[0].status("g");
    for c in &clients[1..] {
        assert_eq!(c.status("g"), expected, "{} diverged", c.name);
    }
    let alice = clients[0].history("g");
    let bob = clients[1].history("g");
    assert_eq!(alice, bob, "one log order for everyone");
}

/// Fan-out across instances: twenty members spread over three instances each send at once;
/// every member then holds every other member's message exactly once, and all in one order
/// (the log's).
#[test]
fn twenty_members_on_three_instances_each_message_reaches_everyone_once_in_log_order() {
    const MEMBERS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let url = database("fanout");
    let servers: Vec<Server> = (0..INSTANCES)
        .map(|i| Server::start_postgres(dir.path(), &format!("server{i}"), &url))
        .collect();
    let urls = |i: usize| {
        (0..INSTANCES)
            .map(|k| servers[(i + k) % INSTANCES].url.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let members: Vec<Client> = (0..MEMBERS)
        .map(|i| Client::new(dir.path(), &urls(i), &format!("f{i:02}")))
        .collect();
    std::thread::scope(|s| {
        for m in &members {
            s.spawn(move || {
                m.ok(&["register", &m.name]);
                m.ok(&["keypackages", "publish", "--count", "1"]);
            });
        }
    });
    let owner = &members[0];
    owner.ok(&["group", "create", "fan"]);
    let mut args = vec!["group", "add", "fan"];
    args.extend(members[1..].iter().map(|m| m.name.as_str()));
    owner.ok(&args);
    std::thread::scope(|s| {
        for m in &members[1..] {
            s.spawn(move || m.ok(&["sync"]));
        }
    });
    let text = |m: &Client| format!("hello from {}", m.name);
    std::thread::scope(|s| {
        for m in &members {
            s.spawn(move || m.ok(&["send", "fan", &text(m)]));
        }
    });
    std::thread::scope(|s| {
        for m in &members {
            s.spawn(move || m.ok(&["sync"]));
        }
    });
    let histories: Vec<Vec<String>> = members.iter().map(|m| m.history("fan")).collect();
    for (m, history) in members.iter().zip(&histories) {
        for other in &members {
            let t = text(other);
            let n = history.iter().filter(|h| **h == t).count();
            assert_eq!(n, 1, "{}: {t:?} seen {n} times in {history:?}", m.name);
        }
    }
    for (m, history) in members.iter().zip(&histories).skip(1) {
        assert_eq!(history, &histories[0], "{} saw another order", m.name);
    }
    let expected = owner.status("fan");
    for m in &members[1..] {
        assert_eq!(m.status("fan"), expected, "{} diverged", m.name);
    }
}
