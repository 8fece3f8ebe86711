//! `cohort demo`: an in-process cohort-server on 127.0.0.1 (port 0, temporary SQLite file,
//! open enrollment), five clients with their own temporary homes, one group through its
//! whole life: adds, messages, key updates, a commit race, a removal, an external join and a
//! departure. Every client is the same code as the command line's. Exits non-zero if the
//! members disagree on the epoch authenticator at the end, or a message went missing.

use crate::error::{Error, Result};
use crate::member::{CommitGate, Event, Member};
use cohort::crypto::CipherSuite;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const GROUP: &str = "demo";
const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

/// A running in-process server and its temporary database.
pub struct LocalServer {
    /// `https://127.0.0.1:PORT` (a throwaway CA, pinned for this process, signs its certificate).
    pub url: String,
    /// Where the SQLite database lives (deleted on drop).
    _dir: tempfile::TempDir,
    server: Option<cohort_server::RunningServer>,
}

impl LocalServer {
    /// Start cohort-server in-process with open enrollment on a fresh temporary database, over
    /// TLS with a throwaway certificate whose CA this process pins.
    pub async fn start() -> Result<LocalServer> {
        Self::start_with(cohort_server::limits::Limits::default()).await
    }

    /// [`LocalServer::start`] with other limits (benchmarks raise the per-client rates).
    pub async fn start_with(quotas: cohort_server::limits::Limits) -> Result<LocalServer> {
        let throwaway = cohort_server::listener::ThrowawayTls::generate()
            .map_err(|e| Error::new(format!("cannot make a TLS certificate: {e}")))?;
        let tls = throwaway
            .identity()
            .map_err(|e| Error::new(format!("cannot load the TLS certificate: {e}")))?;
        crate::client::tls::pin_ca_der(throwaway.ca_der.clone())?;
        let dir = crate::home::private_tempdir("cohort-server-")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::new(format!("cannot listen on 127.0.0.1: {e}")))?;
        let server = cohort_server::start_with_sqlite(
            listener,
            &dir.path().join("server.sqlite3"),
            cohort_server::Config {
                enrollment: cohort_server::Enrollment::Open,
                tls: Some(tls),
                quotas,
                ..cohort_server::Config::default()
            },
        )
        .await
        .map_err(|e| Error::new(format!("cannot start the server: {e}")))?;
        Ok(LocalServer {
            url: format!("https://{}", server.local_addr()),
            _dir: dir,
            server: Some(server),
        })
    }

    /// Stop the server.
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            let _ = s.shutdown().await;
        }
    }
}

struct Client {
    name: &'static str,
    member: Member,
    _home: tempfile::TempDir,
}

#[derive(Default)]
struct Tally {
    timings: BTreeMap<&'static str, Vec<Duration>>,
    sent: u64,
    expected_deliveries: u64,
}

impl Tally {
    fn time(&mut self, op: &'static str, d: Duration) {
        self.timings.entry(op).or_default().push(d);
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn step(label: &str, what: &str, epoch: u64, members: usize, took: Duration) {
    println!(
        "{label:<9} {what:<62} epoch {epoch:>2}  {members} members  {:>9}",
        ms(took)
    );
}

/// Run the demo.
pub async fn run(suite: CipherSuite) -> Result<ExitCode> {
    let started = Instant::now();
    let server = LocalServer::start().await?;
    println!(
        "cohort demo: five clients, one MLS group (RFC 9420), against cohort-server at {}",
        server.url
    );
    println!(
        "cipher suite 0x{:04x} {}{}",
        suite.0,
        suite.name().unwrap_or("?"),
        if suite.is_experimental() {
            " (experimental, provisional code point)"
        } else {
            ""
        }
    );
    println!("(in-process server, open enrollment, temporary database and client homes)\n");
    let result = scenario(&server, suite).await;
    server.stop().await;
    let ok = result?;
    println!("\ntotal {}", ms(started.elapsed()));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn by_name<'a>(clients: &'a mut [Client], name: &str) -> Result<&'a mut Member> {
    clients
        .iter_mut()
        .find(|c| c.name == name)
        .map(|c| &mut c.member)
        .ok_or_else(|| Error::new(format!("no client {name}")))
}

/// Sync the named clients (joining Welcomes, fetching logs); returns messages received.
async fn sync_all(clients: &mut [Client], names: &[&str], tally: &mut Tally) -> Result<u64> {
    let mut received = 0;
    for c in clients.iter_mut().filter(|c| names.contains(&c.name)) {
        let t = Instant::now();
        c.member.sync(false).await?;
        tally.time("sync", t.elapsed());
        for e in c.member.take_events() {
            match e {
                Event::Message { .. } => received += 1,
                Event::Warning(w) => println!("          warning ({}): {w}", c.name),
                _ => {}
            }
        }
    }
    Ok(received)
}

async fn status(m: &mut Member) -> Result<(u64, usize)> {
    let v = m.status(GROUP).await?;
    Ok((v.epoch, v.members))
}

async fn say(
    clients: &mut [Client],
    from: &'static str,
    text: &str,
    audience: &[&str],
    tally: &mut Tally,
) -> Result<()> {
    let m = by_name(clients, from)?;
    let t = Instant::now();
    let posted = m.send(GROUP, text, true).await?;
    let took = t.elapsed();
    m.take_events();
    tally.time("send", took);
    tally.sent += 1;
    let others: Vec<&str> = audience.iter().copied().filter(|n| *n != from).collect();
    tally.expected_deliveries += others.len() as u64;
    let got = sync_all(clients, &others, tally).await?;
    let m = by_name(clients, from)?;
    let (_, members) = status(m).await?;
    step(
        "message",
        &format!(
            "{from}: \"{text}\" -> delivered to {got} of {}",
            others.len()
        ),
        posted.epoch,
        members,
        took,
    );
    Ok(())
}

async fn scenario(server: &LocalServer, suite: CipherSuite) -> Result<bool> {
    let mut tally = Tally::default();
    let mut clients = Vec::new();

    // 1. Enrollment: a signature key, a CSR, an X.509 chain to the AS root, KeyPackages.
    let t = Instant::now();
    for name in NAMES {
        let home = crate::home::private_tempdir(&format!("cohort-{name}-"))?;
        let t1 = Instant::now();
        let mut member =
            Member::register(home.path(), &server.url, name, None, None, suite).await?;
        tally.time("register", t1.elapsed());
        let t1 = Instant::now();
        member.publish_key_packages(3, true, None).await?;
        tally.time("publish 4 KeyPackages", t1.elapsed());
        clients.push(Client {
            name,
            member,
            _home: home,
        });
    }
    println!(
        "{:<9} {:<62} {:>30}",
        "register",
        "alice bob carol dave erin: X.509 via CSR, 3+1 KeyPackages each",
        ms(t.elapsed())
    );

    // 2. alice creates the group and adds bob, carol and dave in one commit.
    let alice = by_name(&mut clients, "alice")?;
    let t = Instant::now();
    alice.create_group(GROUP, true, false, None).await?;
    tally.time("create", t.elapsed());
    step(
        "create",
        "alice creates \"demo\" (external joins allowed)",
        0,
        1,
        t.elapsed(),
    );
    let t = Instant::now();
    let done = alice
        .add_members(GROUP, &["bob".into(), "carol".into(), "dave".into()])
        .await?;
    alice.take_events();
    tally.time("commit", t.elapsed());
    step(
        "add",
        "alice adds bob, carol, dave (one commit, one Welcome)",
        done.epoch,
        done.members,
        t.elapsed(),
    );
    let t = Instant::now();
    sync_all(&mut clients, &["bob", "carol", "dave"], &mut tally).await?;
    let (e, n) = status(by_name(&mut clients, "dave")?).await?;
    step(
        "join",
        "bob, carol, dave join from the Welcome (credentials checked)",
        e,
        n,
        t.elapsed(),
    );

    // 3. Messages.
    let everyone = ["alice", "bob", "carol", "dave"];
    say(&mut clients, "alice", "hello, group", &everyone, &mut tally).await?;
    say(&mut clients, "bob", "hi alice", &everyone, &mut tally).await?;
    say(&mut clients, "carol", "good morning", &everyone, &mut tally).await?;

    // 4. Key updates (post-compromise security).
    let t = Instant::now();
    let done = by_name(&mut clients, "bob")?.update(GROUP).await?;
    tally.time("commit", t.elapsed());
    step(
        "update",
        "bob commits a key update",
        done.epoch,
        done.members,
        t.elapsed(),
    );
    sync_all(&mut clients, &everyone, &mut tally).await?;

    // 5. A race: carol and dave commit in the same epoch; the DS takes the first, the other
    //    gets 409, processes the winner and commits again.
    let t = Instant::now();
    let (carol, dave) = two(&mut clients, "carol", "dave")?;
    // Both build their commit for the current epoch, then post at the same moment.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    carol.commit_gate = Some(CommitGate::Barrier(barrier.clone()));
    dave.commit_gate = Some(CommitGate::Barrier(barrier));
    let (rc, rd) = tokio::join!(carol.update(GROUP), dave.update(GROUP));
    let (rc, rd) = (rc?, rd?);
    tally.time("commit", t.elapsed());
    let conflicts = rc.conflicts + rd.conflicts;
    step(
        "race",
        &format!("carol and dave update at once: {conflicts} lost the epoch and retried"),
        rc.epoch.max(rd.epoch),
        rc.members,
        t.elapsed(),
    );
    sync_all(&mut clients, &everyone, &mut tally).await?;
    say(
        &mut clients,
        "dave",
        "that was close",
        &everyone,
        &mut tally,
    )
    .await?;

    // 6. alice removes dave.
    let t = Instant::now();
    let done = by_name(&mut clients, "alice")?
        .remove_members(GROUP, &["dave".into()])
        .await?;
    tally.time("commit", t.elapsed());
    step(
        "remove",
        "alice removes dave",
        done.epoch,
        done.members,
        t.elapsed(),
    );
    sync_all(&mut clients, &["bob", "carol", "dave"], &mut tally).await?;
    let dave_status = by_name(&mut clients, "dave")?.status(GROUP).await?.status;
    println!(
        "{:<9} dave's client sees it is no longer a member ({dave_status:?})",
        ""
    );

    // 7. erin joins by external commit from the GroupInfo the DS keeps.
    let t = Instant::now();
    let done = by_name(&mut clients, "erin")?
        .join_external(GROUP, GROUP)
        .await?;
    tally.time("external join", t.elapsed());
    step(
        "external",
        "erin joins by external commit (GroupInfo from the DS)",
        done.epoch,
        done.members,
        t.elapsed(),
    );
    let members = ["alice", "bob", "carol", "erin"];
    sync_all(&mut clients, &members, &mut tally).await?;
    say(
        &mut clients,
        "erin",
        "thanks for having me",
        &members,
        &mut tally,
    )
    .await?;
    say(&mut clients, "alice", "welcome, erin", &members, &mut tally).await?;

    // 8. carol leaves: a Remove proposal of herself, committed by bob.
    let t = Instant::now();
    by_name(&mut clients, "carol")?.leave(GROUP).await?;
    sync_all(&mut clients, &["alice", "erin"], &mut tally).await?;
    let bob = by_name(&mut clients, "bob")?;
    bob.sync(false).await?;
    bob.take_events();
    let done = bob
        .commit_proposals(GROUP)
        .await?
        .ok_or_else(|| Error::new("bob found no proposal to commit"))?;
    tally.time("commit", t.elapsed());
    step(
        "leave",
        "carol proposes to leave; bob commits her removal",
        done.epoch,
        done.members,
        t.elapsed(),
    );
    sync_all(&mut clients, &["alice", "carol", "erin"], &mut tally).await?;
    let remaining = ["alice", "bob", "erin"];
    say(
        &mut clients,
        "bob",
        "just the three of us",
        &remaining,
        &mut tally,
    )
    .await?;

    // 9. Final check: same epoch, same epoch authenticator (RFC 9420 §8.7).
    sync_all(&mut clients, &remaining, &mut tally).await?;
    let mut views = Vec::new();
    for name in remaining {
        views.push((name, by_name(&mut clients, name)?.status(GROUP).await?));
    }
    let agree = views
        .windows(2)
        .all(|w| w[0].1.epoch == w[1].1.epoch && w[0].1.authenticator == w[1].1.authenticator);
    println!();
    for (name, v) in &views {
        println!(
            "verify    {name:<6} epoch {} members {} authenticator {}…",
            v.epoch,
            v.members,
            &v.authenticator[..16.min(v.authenticator.len())]
        );
    }
    let (mut received, mut conflicts, mut commits) = (0, 0, 0);
    for c in &clients {
        received += c.member.stats.received;
        conflicts += c.member.stats.conflicts;
        commits += c.member.stats.commits;
    }
    let left_ok = by_name(&mut clients, "carol")?.status(GROUP).await?.status
        == crate::home::GroupStatus::Removed
        && by_name(&mut clients, "dave")?.status(GROUP).await?.status
            == crate::home::GroupStatus::Removed;
    println!(
        "\n{}",
        if agree {
            "all members agree on the epoch and its authenticator"
        } else {
            "MEMBERS DISAGREE on the epoch authenticator"
        }
    );
    println!("\nsummary");
    println!(
        "  messages     {} sent, {received} delivered (expected {})",
        tally.sent, tally.expected_deliveries
    );
    println!(
        "  epochs       {} (commits accepted {commits}, commits that lost a race {conflicts})",
        views.first().map(|v| v.1.epoch).unwrap_or(0)
    );
    println!("  per operation (client side, including HTTP round trips):");
    for (op, times) in &tally.timings {
        let total: Duration = times.iter().sum();
        let max = times.iter().max().copied().unwrap_or_default();
        println!(
            "    {op:<22} x{:<3} avg {:>9}  max {:>9}",
            times.len(),
            ms(total / times.len().max(1) as u32),
            ms(max)
        );
    }
    let delivered_ok = received == tally.expected_deliveries;
    if !delivered_ok {
        println!(
            "  MISSING MESSAGES: {} expected, {received} delivered",
            tally.expected_deliveries
        );
    }
    if !left_ok {
        println!("  carol or dave still thinks it is a member");
    }
    Ok(agree && delivered_ok && left_ok)
}

fn two<'a>(
    clients: &'a mut [Client],
    a: &str,
    b: &str,
) -> Result<(&'a mut Member, &'a mut Member)> {
    let ia = clients
        .iter()
        .position(|c| c.name == a)
        .ok_or_else(|| Error::new(format!("no client {a}")))?;
    let ib = clients
        .iter()
        .position(|c| c.name == b)
        .ok_or_else(|| Error::new(format!("no client {b}")))?;
    if ia == ib {
        return Err(Error::new("same client twice"));
    }
    let (lo, hi) = (ia.min(ib), ia.max(ib));
    let (left, right) = clients.split_at_mut(hi);
    let (x, y) = (&mut left[lo].member, &mut right[0].member);
    Ok(if ia < ib { (x, y) } else { (y, x) })
}
