//! The MLS group: KeyPackages, the group state machine and its API (RFC 9420 §10–§12).
//!
//! Start with [`Group::create`] or [`Group::join`]; see the crate documentation for a
//! walk-through.
pub mod commit;
pub mod config;
pub mod create;
pub mod credential;
pub mod external;
pub mod join;
pub mod key_package;
pub mod persist;
pub mod process;
pub mod proposals;
pub mod psk;
pub mod public;
pub mod resumption;
pub mod send;
pub mod state;
pub mod welcome;

pub use commit::{CommitOptions, CommitOutput};
pub use config::{GroupConfig, HandshakeFormat};
pub use create::GroupOptions;
pub use credential::{CredentialValidator, SharedValidator};
pub use external::{ExternalCommitOptions, ExternalProposer};
pub use join::JoinOptions;
pub use key_package::{KeyPackageOptions, KeyPackageSecrets, KeyPackageStore};
pub use process::{CommitSummary, ReceivedMessage, StagedCommit};
pub use proposals::CachedProposal;
pub use psk::{MemoryPskStore, NoPsks, PskStore, PskStores};
pub use public::{PublicGroup, PublicReceived, PublicStagedCommit};
pub use state::{Group, Member};
