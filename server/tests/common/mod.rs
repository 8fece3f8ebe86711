//! Shared helpers: spawn the real `cohort-server` binary on 127.0.0.1:0, enroll clients,
//! and build synthetic MLS messages (the DS reads only headers, so ciphertexts are random).
#![allow(dead_code)]

use base64::Engine;
use cohort::codec::{Bytes, Encode};
use cohort::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use cohort::framing::{
    Content, FramedContent, FramedContentAuthData, MLSMessage, MLSMessageBody, PrivateMessage,
    PublicMessage, Sender,
};
use cohort::group::key_package::{KeyPackageOptions, KeyPackageSecrets};
use cohort::messages::{
    Add, Commit, Extensions, GroupContext, GroupInfo, KeyPackage, Proposal, ProposalOrRef,
    ProtocolVersion, UpdatePath, Welcome,
};
use cohort_server::authority::{certificate_request, x509_credential};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub const SUITE: u16 = 1;

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "cohort-server-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// reqwest's rustls backend (enabled for the CLI's HTTPS) needs a process-wide crypto
/// provider before it builds any client, even a plain-HTTP one.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain reqwest client.
pub fn http_client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::new()
}

/// A running `cohort-server` process.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub db: PathBuf,
    /// The PostgreSQL URL when the server runs on PostgreSQL.
    pub database: Option<String>,
    pub dir: std::sync::Arc<TempDir>,
    pub http: reqwest::Client,
}

pub const ADMIN_TOKEN: &str = "test-admin-token";

impl Server {
    /// Start on a new database with `args` (e.g. `["--open"]`).
    pub fn start(args: &[&str]) -> Server {
        let dir = std::sync::Arc::new(TempDir::new("srv"));
        let db = dir.path().join("cohort.db");
        Self::start_on(dir, db, args)
    }

    /// Start on an existing database (restarts), with the engine `COHORT_TEST_ENGINE` names.
    pub fn start_on(dir: std::sync::Arc<TempDir>, db: PathBuf, args: &[&str]) -> Server {
        Self::start_on_engine(dir, db, args, TestEngine::from_env())
    }

    /// The arguments that name this server's storage, for `cohort-server invite|revoke`.
    pub fn store_args(&self) -> Vec<std::ffi::OsString> {
        match &self.database {
            Some(url) => vec!["--database".into(), url.into()],
            None => vec!["--db".into(), self.db.clone().into()],
        }
    }

    /// Start on `db` with the given engine. For PostgreSQL, `db` names a database of the test
    /// cluster (created on first use), so a restart on the same path finds the same data.
    pub fn start_on_engine(
        dir: std::sync::Arc<TempDir>,
        db: PathBuf,
        args: &[&str],
        engine: TestEngine,
    ) -> Server {
        let database = match engine {
            TestEngine::Sqlite => None,
            TestEngine::Postgres => Some(test_database(&db)),
        };
        Self::start_with_database(dir, db, database, args)
    }

    /// Start on the PostgreSQL database `database` (or SQLite at `db` when `None`).
    pub fn start_with_database(
        dir: std::sync::Arc<TempDir>,
        db: PathBuf,
        database: Option<String>,
        args: &[&str],
    ) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("server.log"))
            .expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_cohort-server"));
        command.args(["--listen", "127.0.0.1:0"]);
        match &database {
            Some(url) => {
                let key = PathBuf::from(format!("{}.ca-key.pem", db.display()));
                command.arg("--database").arg(url).arg("--ca-key").arg(key);
            }
            None => {
                command.arg("--db").arg(&db);
            }
        }
        let mut child = command
            .args(args)
            .env("COHORT_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("COHORT_ENROLLMENT_SECRET")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn cohort-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read address");
        let addr = line.trim().to_string();
        assert!(!addr.is_empty(), "server printed no address");
        Server {
            child,
            base: format!("http://{addr}"),
            db,
            database,
            dir,
            http: http_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Send a request with an optional bearer token; returns status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON body for {path} ({status}): {text}"))
        };
        (status, value)
    }

    pub async fn put(&self, c: &TestClient, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, Some(&c.token), Some(body))
            .await
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(ADMIN_TOKEN), Some(body))
            .await
    }

    /// Enroll `id` with extra request fields (secret or invite); panics unless 201.
    pub async fn enroll_with(&self, id: &str, extra: Value) -> TestClient {
        let (status, body, key) = self.try_enroll(id, extra).await;
        assert_eq!(status, StatusCode::CREATED, "enroll {id}: {body}");
        let chain: Vec<Vec<u8>> = body["certificate_chain"]
            .as_array()
            .expect("chain")
            .iter()
            .map(|c| unb64(c.as_str().expect("b64")))
            .collect();
        TestClient {
            id: id.to_string(),
            token: body["token"].as_str().expect("token").to_string(),
            key,
            root: chain[1].clone(),
            chain,
        }
    }

    /// Enroll in an `--open` server.
    pub async fn enroll(&self, id: &str) -> TestClient {
        self.enroll_with(id, json!({})).await
    }

    pub async fn try_enroll(
        &self,
        id: &str,
        extra: Value,
    ) -> (StatusCode, Value, SignaturePrivateKey) {
        let key = suite().generate_signature_key_pair().expect("key");
        let csr = certificate_request(&key, id).expect("csr");
        let mut body = json!({ "client_id": id, "csr": b64(&csr) });
        if let (Some(obj), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        let (status, value) = self
            .call(reqwest::Method::POST, "/v1/enroll", None, Some(body))
            .await;
        (status, value, key)
    }

    pub async fn get(&self, c: &TestClient, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(&c.token), None)
            .await
    }

    pub async fn post(&self, c: &TestClient, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(&c.token), Some(body))
            .await
    }

    /// Create a PrivateMessage group (the DS reads only headers, so the synthetic messages
    /// below do) with `creator` as member; returns the group id path segment.
    pub async fn create_group(&self, creator: &TestClient, gid: &[u8], external: bool) -> String {
        let (status, body) = self
            .post(
                creator,
                "/v1/groups",
                json!({ "group_id": b64(gid), "allow_external_join": external,
                        "handshake": "private" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create group: {body}");
        b64(gid)
    }

    /// Post a message with extra commit fields.
    pub async fn post_msg(
        &self,
        c: &TestClient,
        gid: &str,
        msg: &[u8],
        extra: Value,
    ) -> (StatusCode, Value) {
        let mut body = json!({ "message": b64(msg) });
        if let (Some(obj), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        self.post(c, &format!("/v1/groups/{gid}/messages"), body)
            .await
    }

    /// Post a message with no extra fields.
    pub async fn send_msg(&self, c: &TestClient, gid: &str, msg: &[u8]) -> (StatusCode, Value) {
        self.post_msg(c, gid, msg, json!({})).await
    }
}

/// Assert that a `(status, JSON body)` reply from `Server::call` or its wrappers has the
/// `expected` status (the body goes in the failure message) and return the body.
#[track_caller]
pub fn expect(expected: StatusCode, (status, body): (StatusCode, Value)) -> Value {
    assert_eq!(status, expected, "{body}");
    body
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An enrolled client.
#[derive(Clone)]
pub struct TestClient {
    pub id: String,
    pub token: String,
    pub key: SignaturePrivateKey,
    pub chain: Vec<Vec<u8>>,
    pub root: Vec<u8>,
}

pub fn suite() -> Suite {
    Suite::new(CipherSuite(SUITE)).expect("suite")
}

impl TestClient {
    /// A KeyPackage with this client's X.509 credential.
    pub fn key_package(&self, last_resort: bool) -> KeyPackage {
        let options = KeyPackageOptions {
            last_resort,
            ..KeyPackageOptions::default()
        };
        KeyPackageSecrets::generate(&suite(), x509_credential(&self.chain), &self.key, &options)
            .expect("key package")
            .key_package
    }

    /// The KeyPackage as MLSMessage bytes.
    pub fn key_package_msg(&self, last_resort: bool) -> Vec<u8> {
        MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(
            self.key_package(last_resort),
        )))
        .to_bytes()
    }
}

fn random(n: usize) -> Vec<u8> {
    suite().random_bytes(n).expect("random")
}

/// A PrivateMessage with the given header and random ciphertext.
pub fn private_msg(gid: &[u8], epoch: u64, content_type: cohort::framing::ContentType) -> Vec<u8> {
    MLSMessage::new(MLSMessageBody::PrivateMessage(PrivateMessage {
        group_id: Bytes(gid.to_vec()),
        epoch,
        content_type,
        authenticated_data: Bytes::default(),
        encrypted_sender_data: Bytes(random(32)),
        ciphertext: Bytes(random(64)),
    }))
    .to_bytes()
}

pub fn app_msg(gid: &[u8], epoch: u64) -> Vec<u8> {
    private_msg(gid, epoch, cohort::framing::ContentType::Application)
}

pub fn commit_msg(gid: &[u8], epoch: u64) -> Vec<u8> {
    private_msg(gid, epoch, cohort::framing::ContentType::Commit)
}

/// A PublicMessage commit from member leaf 0 adding `kps` by value (signature and tags are
/// random: the DS does not verify them).
pub fn public_add_commit(gid: &[u8], epoch: u64, kps: Vec<KeyPackage>) -> Vec<u8> {
    let proposals = kps
        .into_iter()
        .map(|kp| ProposalOrRef::Proposal(Proposal::Add(Box::new(Add { key_package: kp }))))
        .collect();
    let content = FramedContent {
        group_id: Bytes(gid.to_vec()),
        epoch,
        sender: Sender::Member(0),
        authenticated_data: Bytes::default(),
        content: Content::Commit(Box::new(Commit {
            proposals,
            path: None,
        })),
    };
    MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(PublicMessage {
        content,
        auth: FramedContentAuthData {
            signature: Bytes(random(64)),
            confirmation_tag: Some(Bytes(random(32))),
        },
        membership_tag: Some(Bytes(random(32))),
    })))
    .to_bytes()
}

/// An external commit (sender `new_member_commit`) whose path leaf is `kp`'s leaf.
pub fn external_commit(gid: &[u8], epoch: u64, kp: &KeyPackage) -> Vec<u8> {
    let content = FramedContent {
        group_id: Bytes(gid.to_vec()),
        epoch,
        sender: Sender::NewMemberCommit,
        authenticated_data: Bytes::default(),
        content: Content::Commit(Box::new(Commit {
            proposals: vec![],
            path: Some(UpdatePath {
                leaf_node: kp.leaf_node.clone(),
                nodes: vec![],
            }),
        })),
    };
    MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(PublicMessage {
        content,
        auth: FramedContentAuthData {
            signature: Bytes(random(64)),
            confirmation_tag: Some(Bytes(random(32))),
        },
        membership_tag: None,
    })))
    .to_bytes()
}

pub fn welcome_msg() -> Vec<u8> {
    MLSMessage::new(MLSMessageBody::Welcome(Welcome {
        cipher_suite: CipherSuite(SUITE),
        secrets: vec![],
        encrypted_group_info: Bytes(random(48)),
    }))
    .to_bytes()
}

pub fn group_info_msg(gid: &[u8], epoch: u64) -> Vec<u8> {
    MLSMessage::new(MLSMessageBody::GroupInfo(Box::new(GroupInfo {
        group_context: GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(SUITE),
            group_id: Bytes(gid.to_vec()),
            epoch,
            tree_hash: Bytes(random(32)),
            confirmed_transcript_hash: Bytes(random(32)),
            extensions: Extensions::new(),
        },
        extensions: Extensions::new(),
        confirmation_tag: Bytes(random(32)),
        signer: 0,
        signature: Bytes(random(64)),
    })))
    .to_bytes()
}

/// An application PrivateMessage whose ciphertext is `size` random bytes.
pub fn sized_app_msg(gid: &[u8], epoch: u64, size: usize) -> Vec<u8> {
    MLSMessage::new(MLSMessageBody::PrivateMessage(PrivateMessage {
        group_id: Bytes(gid.to_vec()),
        epoch,
        content_type: cohort::framing::ContentType::Application,
        authenticated_data: Bytes::default(),
        encrypted_sender_data: Bytes(random(32)),
        ciphertext: Bytes(random(size)),
    }))
    .to_bytes()
}

/// The storage engine under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestEngine {
    /// SQLite, the embedded default.
    Sqlite,
    /// PostgreSQL at `COHORT_TEST_DATABASE_URL`.
    Postgres,
}

impl TestEngine {
    /// `COHORT_TEST_ENGINE=postgres` selects PostgreSQL (`.ci/test` runs the integration tests
    /// once per engine); anything else, SQLite.
    pub fn from_env() -> TestEngine {
        match std::env::var("COHORT_TEST_ENGINE").as_deref() {
            Ok("postgres") => TestEngine::Postgres,
            Ok("sqlite") | Err(_) => TestEngine::Sqlite,
            Ok(other) => panic!("COHORT_TEST_ENGINE={other}: expected sqlite or postgres"),
        }
    }
}

/// The arguments naming the storage a server on `db` would use, for `cohort-server invite`
/// before the server starts.
pub fn store_args_for(db: &Path) -> Vec<std::ffi::OsString> {
    match TestEngine::from_env() {
        TestEngine::Postgres => vec!["--database".into(), test_database(db).into()],
        TestEngine::Sqlite => vec!["--db".into(), db.into()],
    }
}

/// A database of the test cluster for `db` (a test-local path), created empty on first use.
pub fn test_database(db: &Path) -> String {
    let base = std::env::var("COHORT_TEST_DATABASE_URL").expect(
        "COHORT_TEST_DATABASE_URL is not set: run the tests with .ci/test (it starts PostgreSQL)",
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, db.as_os_str().as_encoded_bytes());
    let name = format!("cohort_it_{}", hex::encode(&digest.as_ref()[..8]));
    // The sync client runs its own runtime: keep it off the test's async thread.
    let (url, db_name) = (base.clone(), name.clone());
    std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("test cluster");
        let exists = admin
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db_name])
            .expect("pg_database")
            .is_some();
        if !exists {
            admin
                .batch_execute(&format!("CREATE DATABASE {db_name}"))
                .expect("create test database");
        }
    })
    .join()
    .expect("create test database");
    match base.rfind('/') {
        Some(i) if base[..i].contains("://") && !base[..i].ends_with('/') => {
            format!("{}/{name}", &base[..i])
        }
        _ => format!("{}/{name}", base.trim_end_matches('/')),
    }
}
