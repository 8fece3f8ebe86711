//! A small group chat over a toy Delivery Service, showing the group API end to end:
//! creating a group, adding members by Welcome, chatting, updating keys, a member joining
//! by external commit, two members racing to commit, persisting and restoring a member, and
//! removing one.
//!
//! Run with `cargo run --example group_chat`.

use cohort::codec::{Decode, Encode};
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::MLSMessage;
use cohort::group::{
    CommitOptions, ExternalCommitOptions, Group, GroupConfig, GroupOptions, JoinOptions,
    KeyPackageOptions, KeyPackageSecrets, NoPsks, ReceivedMessage,
};
use cohort::messages::Credential;
use std::collections::BTreeMap;

const SUITE: CipherSuite = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The application's Authentication Service: here, any basic credential with a name.
fn config() -> GroupConfig {
    GroupConfig::default().with_validator(|c: &Credential, _key: &[u8]| {
        matches!(c, Credential::Basic { identity } if !identity.is_empty())
    })
}

/// A toy Delivery Service: it accepts the first commit of each epoch and fans every
/// accepted message out (as bytes) to every client, sender included.
#[derive(Default)]
struct DeliveryService {
    clients: BTreeMap<String, Group>,
}

impl DeliveryService {
    /// Deliver `msg` from `from`; returns false if the DS rejected a late commit.
    fn send(&mut self, from: &str, msg: &MLSMessage) -> Result<bool> {
        let wire = msg.to_bytes();
        let epoch = msg.epoch();
        let is_commit = msg.content_type() == Some(cohort::framing::ContentType::Commit);
        let current = self.clients.values().map(Group::epoch).max();
        if is_commit && epoch.is_some() && epoch < current {
            println!("  DS: rejects {from}'s commit for old epoch {epoch:?}");
            return Ok(false);
        }
        for (name, group) in self.clients.iter_mut() {
            if !group.is_active() {
                continue;
            }
            let msg = MLSMessage::decode_exact(&wire).map_err(cohort::Error::from)?;
            match group.process_message(msg, &NoPsks) {
                Ok(ReceivedMessage::Application { data, sender, .. }) => {
                    println!(
                        "  {name} reads from leaf {sender}: {}",
                        String::from_utf8_lossy(&data)
                    );
                }
                Ok(ReceivedMessage::Proposal(p)) => {
                    println!(
                        "  {name} caches a {:?} proposal",
                        p.proposal.proposal_type()
                    );
                }
                Ok(ReceivedMessage::Commit(staged)) => {
                    let s = &staged.summary;
                    if s.removes_us {
                        println!("  {name} learns it was removed");
                    }
                    group.merge_staged_commit(*staged)?;
                    println!("  {name} is now in epoch {}", group.epoch());
                }
                // Our own application messages come back too; we cannot (and need not)
                // decrypt them again.
                Err(e) if name == from => println!("  {name} skips its own message ({e})"),
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
        }
        Ok(true)
    }

    fn group(&mut self, name: &str) -> &mut Group {
        self.clients.get_mut(name).expect("known client")
    }

    fn check_agreement(&self) {
        let active: Vec<_> = self.clients.values().filter(|g| g.is_active()).collect();
        let first = active[0].epoch_authenticator();
        assert!(active.iter().all(|g| g.epoch_authenticator() == first));
        println!(
            "  all {} members agree on epoch {}'s authenticator",
            active.len(),
            active[0].epoch()
        );
    }
}

fn key_package(suite: &Suite, name: &str) -> Result<KeyPackageSecrets> {
    let signer = suite.generate_signature_key_pair()?;
    Ok(KeyPackageSecrets::generate(
        suite,
        Credential::basic(name),
        &signer,
        &KeyPackageOptions::default(),
    )?)
}

fn main() -> Result<()> {
    let suite = Suite::new(SUITE)?;
    let mut ds = DeliveryService::default();

    println!("Alice creates the group and adds Bob and Carol.");
    let alice = Group::create(
        SUITE,
        b"chat".to_vec(),
        Credential::basic("alice"),
        suite.generate_signature_key_pair()?,
        GroupOptions {
            config: config(),
            ..Default::default()
        },
    )?;
    ds.clients.insert("alice".into(), alice);
    let bob_kp = key_package(&suite, "bob")?;
    let carol_kp = key_package(&suite, "carol")?;
    let out = ds.group("alice").commit(
        CommitOptions {
            add: vec![bob_kp.key_package.clone(), carol_kp.key_package.clone()],
            ..Default::default()
        },
        &NoPsks,
    )?;
    ds.send("alice", &out.commit)?;
    let welcome = out.welcome.expect("two members added");
    for (name, kp) in [("bob", &bob_kp), ("carol", &carol_kp)] {
        let options = JoinOptions {
            config: config(),
            ..Default::default()
        };
        ds.clients
            .insert(name.into(), Group::join(&welcome, kp, &NoPsks, options)?);
    }
    ds.check_agreement();

    println!("Bob says hello.");
    let m = ds.group("bob").send_application(b"hello everyone", b"")?;
    ds.send("bob", &m)?;

    println!("Carol proposes to update her keys; Bob commits the proposal.");
    let p = ds.group("carol").propose_update()?;
    ds.send("carol", &p)?;
    let out = ds.group("bob").commit(CommitOptions::default(), &NoPsks)?;
    ds.send("bob", &out.commit)?;
    ds.check_agreement();

    println!("Dave joins by external commit from the GroupInfo Alice published.");
    let group_info = ds.group("alice").group_info()?;
    let (dave, commit) = Group::join_external(
        &group_info,
        Credential::basic("dave"),
        suite.generate_signature_key_pair()?,
        &NoPsks,
        ExternalCommitOptions {
            config: config(),
            ..Default::default()
        },
    )?;
    ds.send("dave", &commit)?;
    ds.clients.insert("dave".into(), dave);
    ds.check_agreement();

    println!("Alice and Carol commit at the same time; the DS takes Alice's.");
    let a = ds
        .group("alice")
        .commit(CommitOptions::default(), &NoPsks)?;
    let c = ds
        .group("carol")
        .commit(CommitOptions::default(), &NoPsks)?;
    ds.send("alice", &a.commit)?;
    if !ds.send("carol", &c.commit)? {
        println!("  Carol's pending commit was dropped when Alice's merged; she retries.");
        let c = ds
            .group("carol")
            .commit(CommitOptions::default(), &NoPsks)?;
        ds.send("carol", &c.commit)?;
    }
    ds.check_agreement();

    println!("Bob's device restarts: his state is restored from its last saved blob.");
    let blob = ds.group("bob").to_bytes();
    let restored = Group::from_bytes(&blob, config().credential_validator)?;
    ds.clients.insert("bob".into(), restored);
    let m = ds.group("bob").send_application(b"back online", b"")?;
    ds.send("bob", &m)?;

    println!("Alice removes Dave.");
    let dave_leaf = ds.group("dave").own_leaf_index();
    let out = ds.group("alice").commit(
        CommitOptions {
            remove: vec![dave_leaf],
            ..Default::default()
        },
        &NoPsks,
    )?;
    ds.send("alice", &out.commit)?;
    ds.check_agreement();
    let secret = ds.group("carol").export_secret("chat example", b"", 16)?;
    println!(
        "Carol's exported secret for this epoch: {:02x?}",
        secret.as_bytes()
    );
    Ok(())
}
