//! `cohort bench-fanout` and `cohort bench-commits` (hidden): fan-out throughput and
//! delivery latency of one group, and commit throughput over many groups, over loopback.
//!
//! Fan-out: an in-process cohort-server (SQLite file, WAL), or running servers given by
//! `--servers` (spread over in turn), and N clients in one process, each with
//! its own home (SQLite, WAL, `synchronous=FULL`), its own HTTP connection pool and its own
//! WebSocket subscription. One member sends; every other member receives the push,
//! decrypts and verifies the message and commits its new state and history to its home.
//! Latency is from just before the sender encrypts to just after a receiver has stored the
//! message; throughput counts deliveries (message x receiver) per second.

use crate::demo::LocalServer;
use crate::error::{Error, Result};
use crate::member::{Event, Member};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const GROUP: &str = "fanout";

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Where the clients connect: an in-process server, or running servers.
struct Servers {
    local: Option<LocalServer>,
    urls: Vec<String>,
}

impl Servers {
    async fn start(list: Option<&str>) -> Result<Servers> {
        match list {
            Some(list) => {
                let urls: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(String::from)
                    .collect();
                if urls.is_empty() {
                    return Err(Error::new("--servers lists no URL"));
                }
                Ok(Servers { local: None, urls })
            }
            None => {
                // One client makes many requests a second here; the defaults are for people.
                let quotas = cohort_server::limits::Limits {
                    requests_per_second: 1_000_000,
                    request_burst: 1_000_000,
                    messages_per_minute: 1_000_000,
                    ..Default::default()
                };
                let local = LocalServer::start_with(quotas).await?;
                let urls = vec![local.url.clone()];
                Ok(Servers {
                    local: Some(local),
                    urls,
                })
            }
        }
    }

    /// Client `i`'s URL list: its own server first, the others after it (failover).
    fn for_client(&self, i: usize) -> String {
        let n = self.urls.len();
        (0..n)
            .map(|k| self.urls[(i + k) % n].as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn describe(&self) -> String {
        match &self.local {
            Some(l) => format!("in-process server {} (SQLite)", l.url),
            None => format!("{} server(s): {}", self.urls.len(), self.urls.join(" ")),
        }
    }

    async fn stop(self) {
        if let Some(l) = self.local {
            l.stop().await;
        }
    }
}

/// Run the fan-out benchmark.
pub async fn run(
    n: usize,
    messages: usize,
    rate: u32,
    relaxed: bool,
    servers: Option<&str>,
) -> Result<ExitCode> {
    if n < 2 {
        return Err(Error::new("--members must be at least 2"));
    }
    let server = Servers::start(servers).await?;
    let homes = crate::home::private_tempdir("cohort-bench-")?;
    println!(
        "fan-out benchmark: {n} members, {messages} messages from one sender, {}",
        server.describe()
    );
    println!(
        "receivers' homes: SQLite WAL, synchronous={}",
        if relaxed {
            "NORMAL"
        } else {
            "FULL (an fsync per delivery)"
        }
    );

    let t = Instant::now();
    let mut members = Vec::with_capacity(n);
    for i in 0..n {
        let mut m = Member::register(
            &homes.path().join(format!("m{i}")),
            &server.for_client(i),
            &format!("m{i:03}"),
            None,
            None,
            crate::member::DEFAULT_SUITE,
        )
        .await?;
        if i > 0 {
            m.publish_key_packages(1, false, None).await?;
            if relaxed {
                m.relax_durability()?;
            }
        }
        members.push(m);
    }
    println!(
        "setup     {n} clients enrolled, KeyPackages published   {}",
        ms(t.elapsed())
    );

    let t = Instant::now();
    let mut sender = members.remove(0);
    sender.create_group(GROUP, false, false, None).await?;
    let ids: Vec<String> = (1..n).map(|i| format!("m{i:03}")).collect();
    let done = sender.add_members(GROUP, &ids).await?;
    sender.take_events();
    println!(
        "add       one commit adding {} members (epoch {})         {}",
        n - 1,
        done.epoch,
        ms(t.elapsed())
    );

    // Every receiver joins, subscribes, and reports each delivery's latency.
    let origin = Instant::now();
    let t = Instant::now();
    let (lat_tx, mut lat_rx) = mpsc::unbounded_channel::<Duration>();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Result<()>>();
    let mut tasks = Vec::new();
    for mut m in members {
        let lat_tx = lat_tx.clone();
        let ready_tx = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            let r: Result<Member> = async {
                m.sync(false).await?;
                m.take_events();
                let mut sub = m.subscribe().await?;
                let _ = ready_tx.send(Ok(()));
                let mut got = 0;
                while got < messages {
                    let Some(events) = sub.next_batch(256).await? else {
                        return Err(Error::new("subscription closed"));
                    };
                    m.handle_pushes(events, false).await?;
                    let now = origin.elapsed();
                    for e in m.take_events() {
                        if let Event::Message { text, .. } = e {
                            if let Some(sent) =
                                text.split(':').nth(2).and_then(|s| s.parse::<u64>().ok())
                            {
                                let _ = lat_tx.send(now.saturating_sub(Duration::from_nanos(sent)));
                                got += 1;
                            }
                        }
                    }
                }
                Ok(m)
            }
            .await;
            if let Err(e) = &r {
                let _ = ready_tx.send(Err(e.clone()));
            }
            r
        }));
    }
    drop(lat_tx);
    drop(ready_tx);
    for _ in 1..n {
        match ready_rx.recv().await {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(e.context("a receiver failed")),
            None => return Err(Error::new("receivers stopped")),
        }
    }
    println!(
        "join      {} members joined from the Welcome and subscribed  {}",
        n - 1,
        ms(t.elapsed())
    );

    // Send.
    let interval = (rate > 0).then(|| Duration::from_secs_f64(1.0 / f64::from(rate)));
    let start = Instant::now();
    let mut send_times = Vec::with_capacity(messages);
    for k in 0..messages {
        if let Some(iv) = interval {
            let due = start + iv * k as u32;
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        }
        let text = format!("bench:{k}:{}", origin.elapsed().as_nanos());
        let t = Instant::now();
        sender.send(GROUP, &text, false).await?;
        send_times.push(t.elapsed());
    }
    let send_wall = start.elapsed();

    let expected = messages * (n - 1);
    let mut latencies = Vec::with_capacity(expected);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while latencies.len() < expected {
        match tokio::time::timeout_at(deadline, lat_rx.recv()).await {
            Ok(Some(l)) => latencies.push(l),
            Ok(None) => break,
            Err(_) => break,
        }
    }
    let wall = start.elapsed();
    let mut receivers = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(m)) => receivers.push(m),
            Ok(Err(e)) => println!("receiver failed: {e}"),
            Err(e) => println!("receiver task failed: {e}"),
        }
    }
    let sender_view = sender.status(GROUP).await?;
    println!(
        "state per member     {} bytes (Group::to_bytes), stored once per received batch",
        sender_view.state_bytes
    );
    let mut agree = true;
    for r in &mut receivers {
        let v = r.status(GROUP).await?;
        agree &= v.epoch == sender_view.epoch && v.authenticator == sender_view.authenticator;
    }
    server.stop().await;

    latencies.sort();
    send_times.sort();
    let delivered = latencies.len();
    println!();
    println!(
        "messages sent        {messages} in {} ({:.0} msg/s; encrypt + POST p50 {}, p99 {})",
        ms(send_wall),
        messages as f64 / send_wall.as_secs_f64(),
        ms(percentile(&send_times, 0.5)),
        ms(percentile(&send_times, 0.99))
    );
    println!(
        "deliveries           {delivered} of {expected} in {} ({:.0} deliveries/s, {:.1} messages/s fanned out to {} members)",
        ms(wall),
        delivered as f64 / wall.as_secs_f64(),
        delivered as f64 / (n - 1) as f64 / wall.as_secs_f64(),
        n - 1
    );
    println!(
        "delivery latency     p50 {}  p90 {}  p99 {}  max {}",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "members agree        {}",
        if agree && receivers.len() == n - 1 {
            "yes (same epoch and authenticator)"
        } else {
            "NO"
        }
    );
    Ok(if delivered == expected && agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Run the commit-throughput benchmark: `clients` clients share out `groups` PublicMessage
/// groups (so the DS verifies every commit), create them, then all commit at once, one
/// self-update per group, each client through its own server.
pub async fn commits(groups: usize, clients: usize, servers: Option<&str>) -> Result<ExitCode> {
    if clients == 0 || groups < clients {
        return Err(Error::new(
            "--groups must be at least --clients, and both above 0",
        ));
    }
    let server = Servers::start(servers).await?;
    let homes = crate::home::private_tempdir("cohort-bench-")?;
    println!(
        "commit benchmark: {groups} groups, {clients} clients committing at once, {}",
        server.describe()
    );
    println!("clients' homes: SQLite WAL, synchronous=NORMAL (the server's fsyncs are measured)");
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let dir = homes.path().join(format!("c{i}"));
        let url = server.for_client(i);
        let mine: Vec<String> = (i..groups)
            .step_by(clients)
            .map(|g| format!("g{g:05}"))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut m = Member::register(
                &dir,
                &url,
                &format!("c{i:03}"),
                None,
                None,
                crate::member::DEFAULT_SUITE,
            )
            .await?;
            m.relax_durability()?;
            for g in &mine {
                m.create_group(g, false, false, None).await?;
            }
            m.take_events();
            Ok::<_, Error>((m, mine))
        }));
    }
    let mut ready = Vec::new();
    for t in tasks {
        ready.push(
            t.await
                .map_err(|e| Error::new(format!("setup task: {e}")))??,
        );
    }
    println!(
        "setup     {clients} clients enrolled, {groups} groups created   {}",
        ms(t.elapsed())
    );

    let start = Instant::now();
    let mut tasks = Vec::new();
    for (mut m, mine) in ready {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(mine.len());
            let mut conflicts = 0;
            for g in &mine {
                let t = Instant::now();
                let done = m.update(g).await?;
                latencies.push(t.elapsed());
                conflicts += done.conflicts;
                m.take_events();
            }
            Ok::<_, Error>((latencies, conflicts))
        }));
    }
    let mut latencies = Vec::with_capacity(groups);
    let mut conflicts = 0;
    for t in tasks {
        let (l, c) = t
            .await
            .map_err(|e| Error::new(format!("commit task: {e}")))??;
        latencies.extend(l);
        conflicts += c;
    }
    let wall = start.elapsed();
    server.stop().await;
    latencies.sort();
    println!();
    println!(
        "commits              {} in {} ({:.0} commits/s), conflicts {conflicts}",
        latencies.len(),
        ms(wall),
        latencies.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "commit latency       p50 {}  p90 {}  p99 {}  max {} (build + POST + merge)",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    Ok(if latencies.len() == groups && conflicts == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
