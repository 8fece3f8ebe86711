//! Secrets at rest: the CA key lives in its own 0600 file (optionally passphrase-encrypted),
//! never in the database; a key an older server left in the database moves out. These are
//! about the SQLite file's bytes, so they run on SQLite whatever `COHORT_TEST_ENGINE` says.

mod common;

use common::*;
use pkcs8::der::SecretDocument;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_cohort-server");

fn key_file(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.ca-key.pem", db.display()))
}

/// Every byte of the database and its WAL.
fn db_bytes(db: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", db.display())) {
            all.extend(b);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The 32-byte Ed25519 seed inside a PKCS#8 document (its privateKey is an OCTET STRING
/// wrapping the seed, RFC 8410 §7).
fn seed(pkcs8: &[u8]) -> Vec<u8> {
    let info = pkcs8::PrivateKeyInfoRef::try_from(pkcs8).expect("PKCS#8");
    let inner = info.private_key.as_bytes();
    assert_eq!(inner.len(), 34, "CurvePrivateKey");
    inner[2..].to_vec()
}

fn plain_key(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).expect("key file");
    let (label, doc) = SecretDocument::from_pem(&text).expect("PEM");
    assert_eq!(label, "PRIVATE KEY");
    doc.as_bytes().to_vec()
}

async fn root(server: &Server) -> Vec<u8> {
    let reply = server
        .http
        .get(server.url("/v1/ca"))
        .send()
        .await
        .expect("ca");
    let body: serde_json::Value = reply.json().await.expect("json");
    unb64(body["root_certificate"].as_str().expect("root"))
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
}

/// Issue 12: the database held the CA private key in plaintext.
#[tokio::test]
async fn the_ca_key_is_in_a_private_file_and_not_in_the_database() {
    let dir = Arc::new(TempDir::new("cakey"));
    let db = dir.path().join("cohort.db");
    let mut server =
        Server::start_on_engine(dir.clone(), db.clone(), &["--open"], TestEngine::Sqlite);
    let first = root(&server).await;
    server.enroll("alice/1").await;
    server.kill();
    let file = key_file(&db);
    assert_eq!(mode(&file), 0o600, "key file mode");
    let key = plain_key(&file);
    assert!(
        !contains(&db_bytes(&db), &seed(&key)),
        "the database holds the CA private key"
    );
    // A restart reads the same key and serves the same root.
    let server = Server::start_on_engine(dir.clone(), db.clone(), &["--open"], TestEngine::Sqlite);
    assert_eq!(root(&server).await, first);
}

#[tokio::test]
async fn a_key_left_in_the_database_by_an_older_server_moves_to_the_key_file() {
    let dir = Arc::new(TempDir::new("legacy"));
    let db = dir.path().join("cohort.db");
    let mut server =
        Server::start_on_engine(dir.clone(), db.clone(), &["--open"], TestEngine::Sqlite);
    let first = root(&server).await;
    server.kill();
    // Make the database look like one written before the key file existed.
    let key = plain_key(&key_file(&db));
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('ca_key', ?1)",
            [&key],
        )
        .expect("insert");
    }
    std::fs::remove_file(key_file(&db)).expect("remove key file");
    assert!(
        contains(&db_bytes(&db), &seed(&key)),
        "set-up: key in the database"
    );
    let mut server =
        Server::start_on_engine(dir.clone(), db.clone(), &["--open"], TestEngine::Sqlite);
    assert_eq!(root(&server).await, first, "same CA after the move");
    server.kill();
    assert_eq!(plain_key(&key_file(&db)), key);
    assert_eq!(mode(&key_file(&db)), 0o600);
    assert!(
        !contains(&db_bytes(&db), &seed(&key)),
        "the moved key is still readable in the database or its WAL"
    );
}

fn run(db: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--open", "--db"])
        .arg(db)
        .args(args)
        .env_remove("COHORT_CA_PASSPHRASE")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run");
    assert!(!out.status.success(), "the server started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn an_encrypted_key_needs_its_passphrase_and_an_open_key_file_is_refused() {
    let dir = Arc::new(TempDir::new("enc"));
    let db = dir.path().join("cohort.db");
    let pass = ["--ca-passphrase", "correct horse battery"];
    let mut server = Server::start_on(dir.clone(), db.clone(), &["--open", pass[0], pass[1]]);
    let first = root(&server).await;
    server.kill();
    let text = std::fs::read_to_string(key_file(&db)).expect("key file");
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{text}"
    );
    let err = run(&db, &[]);
    assert!(err.contains("COHORT_CA_PASSPHRASE"), "{err}");
    let err = run(&db, &["--ca-passphrase", "wrong"]);
    assert!(err.contains("wrong passphrase"), "{err}");
    let server = Server::start_on(dir.clone(), db.clone(), &["--open", pass[0], pass[1]]);
    assert_eq!(root(&server).await, first);
    drop(server);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(key_file(&db), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = run(&db, &[pass[0], pass[1]]);
    assert!(err.contains("chmod 600"), "{err}");
}

#[tokio::test]
async fn a_key_file_from_another_ca_is_refused() {
    let dir = Arc::new(TempDir::new("mismatch"));
    let db = dir.path().join("cohort.db");
    let mut server =
        Server::start_on_engine(dir.clone(), db.clone(), &["--open"], TestEngine::Sqlite);
    server.kill();
    let other = dir.path().join("other.db");
    let mut server =
        Server::start_on_engine(dir.clone(), other.clone(), &["--open"], TestEngine::Sqlite);
    server.kill();
    let err = run(&db, &["--ca-key", key_file(&other).to_str().unwrap()]);
    assert!(err.contains("does not match"), "{err}");
}
