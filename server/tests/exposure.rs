//! Facing the internet: TLS, plain HTTP only on loopback, slow and idle connections, input
//! hygiene of ids and admin numbers, and logs that never carry message bytes.

mod common;

use common::{b64, expect, private_msg, Server, TempDir};
use reqwest::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cohort-server");

/// A TLS server process and the CA that signed its certificate.
struct TlsServer {
    child: std::process::Child,
    addr: String,
    ca_der: Vec<u8>,
    _dir: TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_tls() -> TlsServer {
    let dir = TempDir::new("tls");
    let tls = cohort_server::listener::ThrowawayTls::generate().expect("certificate");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &tls.cert_pem).unwrap();
    std::fs::write(&key, tls.key_pem.as_bytes()).unwrap();
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--open", "--db"])
        .arg(dir.path().join("db.sqlite3"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    TlsServer {
        child,
        addr: line.trim().to_string(),
        ca_der: tls.ca_der.clone(),
        _dir: dir,
    }
}

/// An HTTPS client that trusts only `ca_der`.
fn pinned_client(ca_der: &[u8]) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(ca_der.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    common::install_crypto_provider();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn tls_end_to_end_and_a_wrong_ca_is_refused() {
    let server = start_tls();
    let url = format!("https://{}/v1/health", server.addr);
    let ok = pinned_client(&server.ca_der)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    // Enrollment (token, CSR, certificate chain) works over TLS.
    let body = json!({ "client_id": "alice/1", "csr": "AAAA" });
    let resp = pinned_client(&server.ca_der)
        .post(format!("https://{}/v1/enroll", server.addr))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "a bad CSR is a 400, over TLS"
    );

    // A client pinning another CA does not get through the handshake.
    let other = cohort_server::listener::ThrowawayTls::generate().unwrap();
    let err = pinned_client(&other.ca_der)
        .get(&url)
        .send()
        .await
        .unwrap_err();
    let chain = format!("{err:?}");
    assert!(chain.contains("InvalidCertificate"), "{chain}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = common::http_client()
        .get(format!("http://{}/v1/health", server.addr))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let dir = TempDir::new("plain");
    let out = Command::new(BIN)
        .args(["--listen", "0.0.0.0:0", "--open", "--db"])
        .arg(dir.path().join("db.sqlite3"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing plain HTTP on 0.0.0.0"), "{err}");
}

#[test]
fn admin_numbers_out_of_range_are_clear_errors_not_overflows() {
    let dir = TempDir::new("ranges");
    let db = dir.path().join("db.sqlite3");
    let out = Command::new(BIN)
        .args(["invite", "--db"])
        .arg(&db)
        .args(["--ttl-hours", "9223372036854775807"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--ttl-hours") && !err.contains("panicked"),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .args(["--retention-days", "999999999999999"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--retention-days") && !err.contains("panicked"),
        "{err}"
    );
}

#[tokio::test]
async fn client_ids_with_dot_segments_or_capitals_are_refused() {
    let server = Server::start(&["--open"]);
    for id in ["../..", "./.", "alice/..", "../1", "ALICE/1", "alice/Phone"] {
        let (status, body, _) = server.try_enroll(id, json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}: {body}");
    }
    server.enroll("alice/1").await;
    server.enroll("a.b/1").await;
}

/// Whether the server closed `stream` (EOF or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 512];
    while start.elapsed() < within {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed_and_do_not_starve_others() {
    let server = Server::start(&["--open", "--header-timeout-secs", "2"]);
    let addr = server.base.trim_start_matches("http://").to_string();
    // Idle connections that never send a byte.
    let mut idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    // A slow client: one header byte every 500 ms.
    let mut slow = TcpStream::connect(&addr).unwrap();
    let dripper = {
        let mut s = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for b in b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                .iter()
                .cycle()
                .take(40)
            {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    // Others are still served while those are open.
    let (status, _) = server
        .call(reqwest::Method::GET, "/v1/health", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        closed_within(&mut slow, Duration::from_secs(8)),
        "slow client still open"
    );
    for s in &mut idle {
        assert!(
            closed_within(s, Duration::from_secs(8)),
            "idle connection still open"
        );
    }
    dripper.join().unwrap();
}

#[tokio::test]
async fn trace_logs_hold_no_message_bytes() {
    let dir = Arc::new(TempDir::new("trace"));
    let log = dir.path().join("trace.log");
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--open", "--db"])
        .arg(dir.path().join("db.sqlite3"))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = format!("http://{}", line.trim());
    let server = Server {
        child,
        base,
        db: dir.path().join("db.sqlite3"),
        database: None,
        dir: dir.clone(),
        http: common::http_client(),
    };
    let alice = server.enroll("alice/1").await;
    let gid = server.create_group(&alice, b"trace-group", false).await;
    // Subscribe, so the message also crosses a WebSocket frame.
    let ws_url = format!(
        "{}/v1/subscribe",
        server.base.replacen("http://", "ws://", 1)
    );
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws_url)
            .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", alice.token).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    use futures_util::StreamExt;
    let _ready = ws.next().await;
    let msg = private_msg(b"trace-group", 0, cohort::framing::ContentType::Application);
    expect(
        StatusCode::CREATED,
        server.send_msg(&alice, &gid, &msg).await,
    );
    let pushed = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
    assert!(pushed.is_ok(), "no push");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("TRACE") || text.contains("DEBUG"),
        "trace logging is on"
    );
    let tail = &msg[msg.len() - 24..];
    let encoded = b64(&msg);
    assert!(
        !text.contains(&encoded[encoded.len() - 40..]),
        "message bytes (base64) in the log"
    );
    assert!(
        !text.contains(&hex::encode(tail)),
        "message bytes (hex) in the log"
    );
    let listed = format!("{:?}", &tail[..8]).replace(['[', ']'], "");
    assert!(
        !text.contains(&listed),
        "message bytes (byte list) in the log"
    );
    assert!(!text.contains(&alice.token), "bearer token in the log");
}
