//! Cohort: Messaging Layer Security (RFC 9420) in pure Rust.
//!
//! The crate is layered the way the RFC is written: [`codec`] (§2.1 presentation language),
//! [`crypto`] (§5 cipher suites and labelled operations), [`tree`] (§4, §7 ratchet tree),
//! [`schedule`] (§8 key schedule, §9 secret tree), [`framing`] (§6 message framing and
//! protection), [`messages`] (the wire structs of §6–§12) and [`group`] (the state machine).
//! The library performs no I/O and keeps no global state.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod crypto;
pub mod error;
pub mod framing;
pub mod group;
pub mod messages;
pub mod schedule;
pub mod tree;

pub use error::{Error, Result};
