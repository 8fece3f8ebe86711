//! The `cohort-interop-client` binary as the harness runs it: a real process listening on
//! the port it is given (0 here, so the OS picks one and the binary reports it).

use cohort_interop_client::proto::mls_client_client::MlsClientClient;
use cohort_interop_client::proto::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child process when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_the_harness_rpcs_on_its_port() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_cohort-interop-client"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start cohort-interop-client"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("the binary prints its address")
        .to_string();
    let mut client = MlsClientClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");

    let name = client.name(NameRequest {}).await.unwrap().into_inner().name;
    assert!(name.starts_with("Cohort"), "{name}");
    let suites = client
        .supported_ciphersuites(SupportedCiphersuitesRequest {})
        .await
        .unwrap()
        .into_inner()
        .ciphersuites;
    assert_eq!(suites, [1, 2, 3, 4, 5, 6, 7]);

    // Alice creates a group and adds Bob (both on this one client); they agree.
    let alice = client
        .create_group(CreateGroupRequest {
            group_id: b"g".to_vec(),
            cipher_suite: 1,
            encrypt_handshake: false,
            identity: b"alice".to_vec(),
        })
        .await
        .unwrap()
        .into_inner()
        .state_id;
    let kp = client
        .create_key_package(CreateKeyPackageRequest {
            cipher_suite: 1,
            identity: b"bob".to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    let add = client
        .add_proposal(AddProposalRequest {
            state_id: alice,
            key_package: kp.key_package,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!add.proposal.is_empty());
    let commit = client
        .commit(CommitRequest {
            state_id: alice,
            ..CommitRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    let a = client
        .handle_pending_commit(HandlePendingCommitRequest { state_id: alice })
        .await
        .unwrap()
        .into_inner();
    let b = client
        .join_group(JoinGroupRequest {
            transaction_id: kp.transaction_id,
            welcome: commit.welcome,
            encrypt_handshake: false,
            identity: b"bob".to_vec(),
            ratchet_tree: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.epoch_authenticator, b.epoch_authenticator);

    // An unknown state is an error, not a crash; the client keeps serving.
    let err = client
        .state_auth(StateAuthRequest { state_id: 999 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    client.free(FreeRequest { state_id: alice }).await.unwrap();
    let err = client
        .state_auth(StateAuthRequest { state_id: alice })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}
