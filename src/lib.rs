//! Cohort: Messaging Layer Security (RFC 9420) in pure Rust.
//!
//! The crate is layered the way the RFC is written: [`codec`] (§2.1 presentation language),
//! [`crypto`] (§5 cipher suites and labelled operations), [`tree`] (§4, §7 ratchet tree),
//! [`schedule`] (§8 key schedule, §9 secret tree), [`framing`] (§6 message framing and
//! protection), [`messages`] (the wire structs of §6–§12) and [`group`] (the state machine).
//! The library performs no I/O and keeps no global state.
//!
//! # Using a group
//!
//! A [`group::Group`] is one member's state in one MLS group. Create one with
//! [`Group::create`](group::Group::create), or join with
//! [`Group::join`](group::Group::join) (from a Welcome) or
//! [`Group::join_external`](group::Group::join_external) (by external commit). Everything
//! that arrives from the Delivery Service goes through
//! [`Group::process_message`](group::Group::process_message); a commit comes back staged
//! so that the application can inspect it before
//! [`Group::merge_staged_commit`](group::Group::merge_staged_commit).
//!
//! ```
//! use cohort::crypto::{CipherSuite, Suite};
//! use cohort::codec::{Decode, Encode};
//! use cohort::framing::MLSMessage;
//! use cohort::group::{
//!     CommitOptions, Group, GroupOptions, JoinOptions, KeyPackageOptions, KeyPackageSecrets,
//!     NoPsks, ReceivedMessage,
//! };
//! use cohort::messages::{Credential, KeyPackage};
//!
//! # fn main() -> cohort::Result<()> {
//! let id = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519;
//! let suite = Suite::new(id)?;
//!
//! // Alice creates a group (`None`: a random group id); Bob publishes a KeyPackage as
//! // bytes and keeps its private keys.
//! let alice_key = suite.generate_signature_key_pair()?;
//! let mut alice = Group::create(
//!     id,
//!     None,
//!     Credential::basic("alice"),
//!     alice_key,
//!     GroupOptions::default(),
//! )?;
//! let bob_key = suite.generate_signature_key_pair()?;
//! let bob_kps = vec![KeyPackageSecrets::generate(
//!     &suite,
//!     Credential::basic("bob"),
//!     &bob_key,
//!     &KeyPackageOptions::default(),
//! )?];
//! let published: Vec<u8> = bob_kps[0].to_message_bytes();
//!
//! // Alice adds Bob. The commit stays pending until the Delivery Service accepts it.
//! let bob_kp = KeyPackage::from_message_bytes(&published)?;
//! let out = alice.commit_without_psks(CommitOptions {
//!     add: vec![bob_kp],
//!     ..Default::default()
//! })?;
//! alice.confirm_pending_commit()?;
//! let welcome = out.welcome.expect("Bob was added");
//! // Bob joins with whichever of his KeyPackages the Welcome is for, and learns which.
//! let (mut bob, used) =
//!     Group::join_from(&welcome, bob_kps.as_slice(), &NoPsks, JoinOptions::default())?;
//! assert_eq!(used, bob_kps[0].reference()?);
//! assert_eq!(bob.member_by_identity(b"alice"), Some(alice.own_leaf_index()));
//!
//! // Alice sends; the bytes cross the network; Bob reads.
//! let wire = alice.send_application(b"hello Bob", b"")?.to_bytes();
//! match bob.process(MLSMessage::decode_exact(&wire)?)? {
//!     ReceivedMessage::Application { data, sender, .. } => {
//!         assert_eq!(data, b"hello Bob");
//!         assert_eq!(sender, alice.own_leaf_index());
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! // Bob updates his keys with an empty commit; Alice follows.
//! let out = bob.commit_without_psks(CommitOptions::default())?;
//! bob.confirm_pending_commit()?;
//! if let ReceivedMessage::Commit(staged) = alice.process(out.commit)? {
//!     alice.merge_staged_commit(*staged)?;
//! }
//! assert_eq!(alice.epoch_authenticator(), bob.epoch_authenticator());
//! # Ok(())
//! # }
//! ```
//!
//! Things an application must decide:
//!
//! - **Authentication** (§5.3.1): set
//!   [`GroupConfig::credential_validator`](group::GroupConfig::credential_validator) so that
//!   every credential the group is about to trust is checked by your Authentication
//!   Service; without one, any credential is accepted.
//! - **Ordering**: the Delivery Service picks one commit per epoch. Our own commit is
//!   merged by [`Group::confirm_pending_commit`](group::Group::confirm_pending_commit) or
//!   when it comes back through `process_message`; another member's commit for the same
//!   epoch simply replaces it, and we commit again.
//! - **Persistence**: every call that changes a group leaves the whole state in the
//!   `Group`; store [`Group::to_bytes`](group::Group::to_bytes) once after each call, in one
//!   write, and restore with [`Group::from_bytes`](group::Group::from_bytes). The blob holds
//!   secrets.
//! - **PSKs** come from a [`group::PskStore`]; a `Group` is itself a store of its own
//!   resumption PSKs, for [branching](group::Group::branch) and
//!   [reinitialisation](group::Group::reinit). A group with no external PSKs uses
//!   [`Group::process`](group::Group::process) and
//!   [`Group::commit_without_psks`](group::Group::commit_without_psks).
//! - **Proposals** received are cached for the next commit; refuse one with
//!   [`Group::refuse_proposal`](group::Group::refuse_proposal).
//!
//! `examples/group_chat.rs` walks through more of the API.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod crypto;
pub mod error;
pub mod framing;
pub mod group;
pub mod messages;
mod parallel;
pub mod schedule;
pub mod tree;

pub use error::{Error, Result};
/// The `zeroize` crate, so that callers can name [`zeroize::Zeroizing`] (what
/// [`Group::to_bytes`](group::Group::to_bytes) returns) without a dependency of their own.
pub use zeroize;
