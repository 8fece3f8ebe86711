//! The client over TLS: `https://` with a pinned CA works end to end (register, group, message,
//! WebSocket push via `sync`); a server whose certificate another CA signed is one clear error.

mod common;

use common::{server_bin, Client};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct TlsServer {
    child: Child,
    url: String,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server binary over TLS with a throwaway CA; returns it and the CA's PEM path.
fn start(dir: &std::path::Path) -> (TlsServer, std::path::PathBuf) {
    let tls = cohort_server::listener::ThrowawayTls::generate().unwrap();
    let (cert, key, ca) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert, &tls.cert_pem).unwrap();
    std::fs::write(&key, tls.key_pem.as_bytes()).unwrap();
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    let mut child = Command::new(server_bin())
        .args(["--listen", "127.0.0.1:0", "--open", "--db"])
        .arg(dir.join("server.sqlite3"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = format!("https://{}", line.trim());
    (TlsServer { child, url }, ca)
}

#[test]
fn https_with_a_pinned_ca_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = start(dir.path());
    let ca = ca.to_str().unwrap().to_string();
    let alice = Client::new(dir.path(), &server.url, "alice");
    let bob = Client::new(dir.path(), &server.url, "bob");
    alice.ok(&["--ca-file", &ca, "register", "alice"]);
    bob.ok(&["--ca-file", &ca, "register", "bob"]);
    bob.ok(&["--ca-file", &ca, "keypackages", "publish", "--count", "1"]);
    alice.ok(&["--ca-file", &ca, "group", "create", "team"]);
    alice.ok(&["--ca-file", &ca, "group", "add", "team", "bob"]);
    bob.ok(&["--ca-file", &ca, "sync"]);
    alice.ok(&["--ca-file", &ca, "send", "team", "over tls"]);
    let out = bob.ok(&["--ca-file", &ca, "sync"]);
    assert!(out.contains("over tls"), "{out}");
}

#[test]
fn a_certificate_from_another_ca_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path());
    let other = cohort_server::listener::ThrowawayTls::generate().unwrap();
    let wrong = dir.path().join("other-ca.pem");
    std::fs::write(&wrong, &other.ca_pem).unwrap();
    let alice = Client::new(dir.path(), &server.url, "alice");
    let started = std::time::Instant::now();
    let out = alice.run(&["--ca-file", wrong.to_str().unwrap(), "register", "alice"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TLS: the server's certificate is not trusted"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // A wrong certificate is not a network blip: no retry loop.
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
}
