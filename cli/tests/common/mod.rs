//! Helpers of the end-to-end tests: the real `cohort-server` binary on 127.0.0.1 and the real
//! `cohort` binary, one home directory per client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `cohort` binary under test.
pub fn cohort_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cohort"))
}

/// The `cohort-server` binary: `$COHORT_SERVER_BIN`, or next to `cohort` in the target
/// directory (where `cargo test --workspace` puts it), or built there now.
pub fn server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("COHORT_SERVER_BIN") {
            return PathBuf::from(p);
        }
        let cohort = cohort_bin();
        let dir = cohort.parent().expect("binary directory").to_path_buf();
        let candidate = dir.join(format!("cohort-server{}", std::env::consts::EXE_SUFFIX));
        // `cargo test -p cohort-cli` does not build other packages' binaries: build it, into
        // the same target directory and profile.
        let profile_dir = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
        let target_dir = dir.parent().expect("target directory").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "cohort-server",
            "--bin",
            "cohort-server",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir == "release" {
            cmd.arg("--release");
        }
        if !candidate.exists() || stale(&candidate) {
            let status = cmd.status().expect("run cargo build for cohort-server");
            assert!(status.success(), "building cohort-server failed");
        }
        assert!(
            candidate.exists(),
            "no cohort-server at {}",
            candidate.display()
        );
        candidate
    })
    .clone()
}

/// Whether a source file of the server or of the library is newer than `binary`.
fn stale(binary: &Path) -> bool {
    fn newest(dir: &Path, best: &mut Option<std::time::SystemTime>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                newest(&path, best);
            } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                if best.is_none_or(|b| t > b) {
                    *best = Some(t);
                }
            }
        }
    }
    let Ok(built) = std::fs::metadata(binary).and_then(|m| m.modified()) else {
        return true;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut best = None;
    newest(&root.join("server").join("src"), &mut best);
    newest(&root.join("src"), &mut best);
    best.is_some_and(|t| t > built)
}

/// A spawned `cohort-server --open` process.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bound port.
    pub port: u16,
    /// The database path.
    pub db: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Start on port 0 with a database in `dir`.
    pub fn start(dir: &Path) -> Server {
        Server::start_at(dir, "127.0.0.1:0")
    }

    /// Start on port 0 on the PostgreSQL database `url`, sharing the CA key file
    /// `dir/ca-key.pem` with the other instances there; `COHORT_ADMIN_TOKEN` is `admin`.
    pub fn start_postgres(dir: &Path, name: &str, url: &str) -> Server {
        let key = dir.join("ca-key.pem");
        let store: Vec<std::ffi::OsString> = vec![
            "--database".into(),
            url.into(),
            "--ca-key".into(),
            key.into(),
        ];
        Server::start_with(dir, "127.0.0.1:0", &store, &dir.join(format!("{name}.log")))
    }

    fn start_at(dir: &Path, listen: &str) -> Server {
        let db = dir.join("server.sqlite3");
        let store: Vec<std::ffi::OsString> = vec!["--db".into(), db.into()];
        Server::start_with(dir, listen, &store, &dir.join("server.log"))
    }

    fn start_with(dir: &Path, listen: &str, store: &[std::ffi::OsString], log: &Path) -> Server {
        let db = dir.join("server.sqlite3");
        let log = log.to_path_buf();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log_file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .expect("server log");
            let mut child = Command::new(server_bin())
                .args(["--listen", listen, "--open"])
                .args(store)
                .env("COHORT_ADMIN_TOKEN", "admin")
                .stdout(Stdio::piped())
                .stderr(log_file)
                .spawn()
                .expect("spawn cohort-server");
            let stdout = child.stdout.take().expect("server stdout");
            let mut line = String::new();
            let mut reader = BufReader::new(stdout);
            let _ = reader.read_line(&mut line);
            let addr = line.trim().to_string();
            if addr.is_empty() {
                // Could not bind (the old process's port not yet free): try again.
                let _ = child.kill();
                let _ = child.wait();
                assert!(
                    Instant::now() < deadline,
                    "cohort-server did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = String::new();
                while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                    sink.clear();
                }
            });
            let port = addr
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("port in the server's first line");
            wait_for_port(port);
            return Server {
                child: Some(child),
                url: format!("http://{addr}"),
                port,
                db,
                log,
            };
        }
    }

    /// SIGKILL the server (no shutdown, no flush beyond what SQLite already did).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL on Unix
            let _ = c.wait();
        }
    }

    /// Start again on the same port and database.
    pub fn restart(&mut self) {
        self.kill9();
        let dir = self.db.parent().expect("db dir").to_path_buf();
        let again = Server::start_at(&dir, &format!("127.0.0.1:{}", self.port));
        assert_eq!(again.port, self.port);
        *self = again;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server port {port} never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A client home.
#[derive(Clone)]
pub struct Client {
    /// Its home directory.
    pub home: PathBuf,
    /// The server URL.
    pub server: String,
    /// Its name.
    pub name: String,
}

impl Client {
    /// A client `name` with a home under `dir`.
    pub fn new(dir: &Path, server: &str, name: &str) -> Client {
        Client {
            home: dir.join(name),
            server: server.to_string(),
            name: name.to_string(),
        }
    }

    /// The command with `--home` and `--server`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(cohort_bin());
        c.arg("--home")
            .arg(&self.home)
            .arg("--server")
            .arg(&self.server)
            .args(args)
            .env_remove("COHORT_HOME")
            .env_remove("COHORT_SERVER")
            .env_remove("COHORT_ENROLLMENT_SECRET");
        c
    }

    /// Run `cohort ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run cohort")
    }

    /// Run `cohort ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{}: cohort {} failed:\n{}\n{}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `(epoch, members, authenticator)` from `group status`.
    pub fn status(&self, group: &str) -> (u64, usize, String) {
        let text = self.ok(&["group", "status", group]);
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| panic!("no {name} in: {text}"))
        };
        (
            field("epoch").parse().expect("epoch"),
            field("members").parse().expect("members"),
            field("authenticator"),
        )
    }

    /// The texts in the local history of `group` (oldest first), with `(you)` marks.
    pub fn history(&self, group: &str) -> Vec<String> {
        self.ok(&["history", group, "--limit", "100000"])
            .lines()
            .filter_map(|l| l.split_once(": ").map(|(_, t)| t.to_string()))
            .collect()
    }
}
