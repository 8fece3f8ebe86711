//! The client subcommands: register, keypackages, group, send, sync, watch, history,
//! join-external, demo (and the hidden bench-fanout).

use crate::error::{Error, Result};
use crate::member::{Event, Member};
use crate::progress::Spinner;
use clap::Subcommand;
use cohort::crypto::{CipherSuite, Suite};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Client subcommands (flattened into the top-level command).
#[derive(Subcommand)]
pub enum ClientCommand {
    /// Enroll CLIENT_ID (user or user/device) with the server's Authentication Service.
    Register {
        /// Client id, `user/device` (`/1` is added when no device is given).
        client_id: String,
        /// Enrollment secret of the server (prefer the environment variable).
        #[arg(long, env = "COHORT_ENROLLMENT_SECRET", hide_env_values = true)]
        enrollment_secret: Option<String>,
        /// Single-use invite token.
        #[arg(long)]
        invite: Option<String>,
        /// Cipher suite of this client's key, KeyPackages and groups: a registry name or
        /// number (e.g. 0x004D for X-Wing); experimental PQ suites need the `pq` feature.
        #[arg(long, value_parser = parse_suite, default_value = "1")]
        suite: CipherSuite,
    },
    /// Publish KeyPackages so that others can add this client.
    Keypackages {
        #[command(subcommand)]
        action: KeyPackagesAction,
    },
    /// Create, change and inspect groups.
    Group {
        #[command(subcommand)]
        action: GroupAction,
    },
    /// Send a text message to group NAME.
    Send {
        /// Local group name.
        name: String,
        /// The message.
        text: String,
    },
    /// Join groups from Welcomes, fetch new messages of every group and print them.
    Sync {
        /// Do not commit pending proposals (e.g. a member's request to leave).
        #[arg(long)]
        no_commit: bool,
    },
    /// Stay connected (WebSocket) and print messages as they arrive; Ctrl-C to stop.
    Watch,
    /// Messages of group NAME stored locally.
    History {
        /// Local group name.
        name: String,
        /// How many of the newest messages.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Join group GROUP_ID by external commit, as NAME locally.
    JoinExternal {
        /// Local group name.
        name: String,
        /// The group's id on the server (the name its creator gave it).
        group_id: String,
    },
    /// Run a self-contained demo: in-process server, five clients, one group.
    Demo {
        /// Cipher suite of every client and the group, e.g. 0x004D (X-Wing) or 0xF003
        /// (ML-KEM-768+P-256); default suite 1.
        #[arg(long, value_parser = parse_suite, default_value = "1")]
        suite: CipherSuite,
    },
    /// Fan-out benchmark: one group of N members over loopback.
    #[command(hide = true)]
    BenchFanout {
        /// Group size.
        #[arg(long, default_value_t = 100)]
        members: usize,
        /// Messages to send.
        #[arg(long, default_value_t = 200)]
        messages: usize,
        /// Messages per second (0: as fast as the sender can).
        #[arg(long, default_value_t = 0)]
        rate: u32,
        /// Receivers' homes with synchronous=NORMAL instead of FULL (all the homes share one
        /// disk here, unlike real devices).
        #[arg(long)]
        relaxed_fsync: bool,
        /// Running servers (comma-separated; members are spread over them in turn) instead
        /// of an in-process one. They must allow open enrollment.
        #[arg(long)]
        servers: Option<String>,
    },
    /// Commit-throughput benchmark: many clients, each committing once in each of its groups.
    #[command(hide = true)]
    BenchCommits {
        /// Groups in all (one creator each, one commit each).
        #[arg(long, default_value_t = 1000)]
        groups: usize,
        /// Clients committing at once; the groups are shared out among them.
        #[arg(long, default_value_t = 20)]
        clients: usize,
        /// Running servers (comma-separated; clients are spread over them in turn) instead
        /// of an in-process one. They must allow open enrollment.
        #[arg(long)]
        servers: Option<String>,
    },
}

/// `keypackages` actions.
#[derive(Subcommand)]
pub enum KeyPackagesAction {
    /// Generate and publish KeyPackages.
    Publish {
        /// How many ordinary (single-use) packages.
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// Also publish a last-resort package (handed out when no other is left).
        #[arg(long)]
        last_resort: bool,
        /// Publish for this suite instead of the registered one (same signature scheme).
        #[arg(long, value_parser = parse_suite)]
        suite: Option<CipherSuite>,
    },
}

/// `group` actions.
#[derive(Subcommand)]
pub enum GroupAction {
    /// Create group NAME (also its id on the server).
    Create {
        /// Group name.
        name: String,
        /// Let enrolled clients join by external commit.
        #[arg(long)]
        allow_external_join: bool,
        /// Send proposals and commits as PrivateMessage: the server cannot verify them and
        /// members recover from invalid ones themselves (default: PublicMessage, verified
        /// by the server).
        #[arg(long)]
        private: bool,
        /// Cipher suite of the group instead of the registered one (same signature scheme;
        /// members need KeyPackages of it: `keypackages publish --suite`).
        #[arg(long, value_parser = parse_suite)]
        suite: Option<CipherSuite>,
    },
    /// Add clients to NAME in one commit.
    Add {
        /// Local group name.
        name: String,
        /// Client ids.
        #[arg(required = true)]
        clients: Vec<String>,
    },
    /// Remove clients from NAME in one commit.
    Remove {
        /// Local group name.
        name: String,
        /// Client ids.
        #[arg(required = true)]
        clients: Vec<String>,
    },
    /// Commit a key update (fresh path secrets) in NAME.
    Update {
        /// Local group name.
        name: String,
        /// Test hook: build the commit, print `commit ready`, post once FILE exists.
        #[arg(long, hide = true)]
        gate: Option<PathBuf>,
    },
    /// List the members of NAME.
    Members {
        /// Local group name.
        name: String,
    },
    /// Leave NAME (a Remove proposal of yourself; the next member to commit applies it).
    Leave {
        /// Local group name.
        name: String,
    },
    /// List your groups.
    List,
    /// Epoch, member count and epoch authenticator of NAME.
    Status {
        /// Local group name.
        name: String,
    },
}

fn default_home() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cohort"),
        None => PathBuf::from(".cohort"),
    }
}

/// Run a client command; errors are one line on stderr and exit code 1.
pub fn run(command: ClientCommand, home: Option<PathBuf>, server: Option<String>) -> ExitCode {
    // `cohort sync | head`: a closed stdout ends the command quietly, not with a panic
    // report (println! panics on EPIPE, and SIGPIPE is ignored by the Rust runtime).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("failed printing to stdout") {
            std::process::exit(1);
        }
        default_hook(info);
    }));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let home = home.unwrap_or_else(default_home);
    match runtime.block_on(dispatch(command, &home, server.as_deref())) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_events(member: &mut Member) {
    for e in member.take_events() {
        match e {
            Event::Warning(_) => eprintln!("{e}"),
            _ => println!("{e}"),
        }
    }
}

/// A `--suite` value: a registry name or number that this build implements.
pub fn parse_suite(s: &str) -> std::result::Result<CipherSuite, String> {
    let id = CipherSuite::parse(s).ok_or_else(|| format!("unknown cipher suite {s:?}"))?;
    Suite::new(id).map_err(|e| format!("cipher suite {s}: {e}"))?;
    Ok(id)
}

async fn open(home: &Path, server: Option<&str>) -> Result<Member> {
    Member::open(home, server).await
}

async fn dispatch(command: ClientCommand, home: &Path, server: Option<&str>) -> Result<ExitCode> {
    match command {
        ClientCommand::Register {
            client_id,
            enrollment_secret,
            invite,
            suite,
        } => {
            let server = server
                .ok_or_else(|| Error::new("register needs --server URL (or COHORT_SERVER)"))?;
            let spinner = Spinner::start(format!("enrolling {client_id}"));
            let member = Member::register(
                home,
                server,
                &client_id,
                enrollment_secret.as_deref(),
                invite.as_deref(),
                suite,
            )
            .await?;
            drop(spinner);
            println!(
                "registered {} (certificate chained to the server's root, home {})",
                member.client_id(),
                home.display()
            );
        }
        ClientCommand::Keypackages {
            action:
                KeyPackagesAction::Publish {
                    count,
                    last_resort,
                    suite,
                },
        } => {
            let mut m = open(home, server).await?;
            let spinner = Spinner::start("publishing KeyPackages");
            let (published, available) = m.publish_key_packages(count, last_resort, suite).await?;
            drop(spinner);
            let (local, local_last_resort) = m.local_key_packages()?;
            println!(
                "published {published} KeyPackages ({available} available on the server; \
                 secrets of {local} + {local_last_resort} last-resort kept locally)"
            );
        }
        ClientCommand::Group { action } => return group(action, home, server).await,
        ClientCommand::Send { name, text } => {
            let mut m = open(home, server).await?;
            let r = m.send(&name, &text, true).await;
            print_events(&mut m);
            let posted = r?;
            println!("[{name}] sent (seq {}, epoch {})", posted.seq, posted.epoch);
        }
        ClientCommand::Sync { no_commit } => {
            let mut m = open(home, server).await?;
            let spinner = Spinner::start("syncing");
            let r = m.sync(!no_commit).await;
            drop(spinner);
            print_events(&mut m);
            r?;
        }
        ClientCommand::Watch => {
            let mut m = open(home, server).await?;
            watch(&mut m).await?;
        }
        ClientCommand::History { name, limit } => {
            let mut m = open(home, server).await?;
            for h in m.history(&name, limit).await? {
                println!(
                    "{:>6} e{:<4} {}{}: {}",
                    h.seq,
                    h.epoch,
                    h.sender,
                    if h.outgoing { " (you)" } else { "" },
                    String::from_utf8_lossy(&h.body)
                );
            }
        }
        ClientCommand::JoinExternal { name, group_id } => {
            let mut m = open(home, server).await?;
            let spinner = Spinner::start(format!("joining {group_id}"));
            let r = m.join_external(&name, &group_id).await;
            drop(spinner);
            print_events(&mut m);
            let done = r?;
            let r = m.sync_one(&name).await;
            print_events(&mut m);
            r?;
            if done.conflicts > 0 {
                println!("(retried after {} conflicting commits)", done.conflicts);
            }
        }
        ClientCommand::Demo { suite } => return crate::demo::run(suite).await,
        ClientCommand::BenchFanout {
            members,
            messages,
            rate,
            relaxed_fsync,
            servers,
        } => {
            return crate::bench::run(members, messages, rate, relaxed_fsync, servers.as_deref())
                .await
        }
        ClientCommand::BenchCommits {
            groups,
            clients,
            servers,
        } => return crate::bench::commits(groups, clients, servers.as_deref()).await,
    }
    Ok(ExitCode::SUCCESS)
}

fn report_commit(name: &str, done: &crate::member::CommitDone) {
    // The commit itself was printed as an event; add how it got there.
    if done.conflicts > 0 {
        println!(
            "[{name}] (the commit lost its epoch {} time{} to another member's commit: \
             processed the winner and committed again)",
            done.conflicts,
            if done.conflicts == 1 { "" } else { "s" }
        );
    }
}

async fn group(action: GroupAction, home: &Path, server: Option<&str>) -> Result<ExitCode> {
    let mut m = open(home, server).await?;
    match action {
        GroupAction::Create {
            name,
            allow_external_join,
            private,
            suite,
        } => {
            m.create_group(&name, allow_external_join, private, suite)
                .await?;
            println!(
                "[{name}] created at epoch 0 with {}{}",
                if private {
                    "PrivateMessage handshakes (the server cannot verify commits)"
                } else {
                    "PublicMessage handshakes (verified by the server)"
                },
                if allow_external_join {
                    " (external joins allowed)"
                } else {
                    ""
                }
            );
        }
        GroupAction::Add { name, clients } => {
            let spinner = Spinner::start(format!("adding {}", clients.join(", ")));
            let r = m.add_members(&name, &clients).await;
            drop(spinner);
            print_events(&mut m);
            report_commit(&name, &r?);
        }
        GroupAction::Remove { name, clients } => {
            let spinner = Spinner::start(format!("removing {}", clients.join(", ")));
            let r = m.remove_members(&name, &clients).await;
            drop(spinner);
            print_events(&mut m);
            report_commit(&name, &r?);
        }
        GroupAction::Update { name, gate } => {
            let gated = gate.is_some();
            m.commit_gate = gate.map(crate::member::CommitGate::File);
            let spinner = Spinner::start("committing a key update");
            let r = m.update(&name).await;
            drop(spinner);
            print_events(&mut m);
            let done = r?;
            report_commit(&name, &done);
            if gated {
                println!("conflicts={}", done.conflicts);
            }
        }
        GroupAction::Members { name } => {
            for (index, id, me) in m.members(&name).await? {
                println!("{index:>4}  {id}{}", if me { "  (you)" } else { "" });
            }
        }
        GroupAction::Leave { name } => {
            m.leave(&name).await?;
            print_events(&mut m);
            println!("[{name}] asked to leave: the next member to commit removes you");
        }
        GroupAction::List => {
            for g in m.groups().await? {
                println!(
                    "{:<20} epoch {:<5} {:>4} members  {:?}",
                    g.name, g.epoch, g.members, g.status
                );
            }
        }
        GroupAction::Status { name } => {
            let g = m.status(&name).await?;
            println!("group         {}", g.name);
            println!("group id      {}", g.group_id);
            println!("status        {:?}", g.status);
            println!("epoch         {}", g.epoch);
            println!("members       {}", g.members);
            println!("authenticator {}", g.authenticator);
            println!("log cursor    {}", g.cursor);
            println!("state         {} bytes", g.state_bytes);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Follow the WebSocket push, reconnecting with backoff; Ctrl-C stops.
async fn watch(m: &mut Member) -> Result<()> {
    let mut backoff = Duration::from_millis(500);
    println!("watching (Ctrl-C to stop)");
    loop {
        let session = async {
            let mut sub = m.subscribe().await?;
            backoff = Duration::from_millis(500);
            loop {
                let Some(events) = sub.next_batch(256).await? else {
                    return Ok::<(), Error>(());
                };
                let revoked = events
                    .iter()
                    .any(|e| matches!(e, crate::client::ws::PushEvent::Revoked));
                let r = m.handle_pushes(events, true).await;
                print_events(m);
                if revoked {
                    r?;
                    return Err(Error::new("this client was revoked"));
                }
                if let Err(e) = r {
                    eprintln!("warning: {e}");
                }
            }
        };
        tokio::select! {
            r = session => {
                if let Err(e) = r {
                    if e.to_string().contains("revoked") {
                        return Err(e);
                    }
                    eprintln!("watch: {e}; reconnecting");
                } else {
                    eprintln!("watch: connection closed; reconnecting");
                }
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
