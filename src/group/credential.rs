//! The application's Authentication Service hook (RFC 9420 §5.3.1) and identity matching
//! (§12.2 resync, §11.2 reinitialisation, §11.3 branching).
//!
//! MLS authenticates members only as far as the application vouches for the binding of a
//! credential to a signature key. Cohort calls [`CredentialValidator::validate`] on every
//! leaf it is about to trust: every leaf of a tree on join (Welcome or external commit),
//! every KeyPackage in an Add, every Update leaf, every commit path leaf and every external
//! joiner. A `false` answer rejects the message with [`Rule::CredentialRejected`].
//!
//! [`Rule::CredentialRejected`]: crate::error::Rule::CredentialRejected

use crate::messages::Credential;
use core::fmt;
use std::sync::Arc;

/// The application's credential policy.
///
/// Any `Fn(&Credential, &[u8]) -> bool + Send + Sync` closure is a validator; implement the
/// trait on a type to also decide which credentials name the same client.
pub trait CredentialValidator: Send + Sync {
    /// Whether the Authentication Service accepts `credential` for `signature_key` (§5.3.1).
    fn validate(&self, credential: &Credential, signature_key: &[u8]) -> bool;

    /// Whether two credentials identify the same client, for a resync external commit that
    /// removes the joiner's old leaf (§12.2) and for the membership checks of a branch or
    /// reinitialisation (§12.4.3.1). The default compares the credentials for equality.
    fn same_client(&self, old: &Credential, new: &Credential) -> bool {
        old == new
    }
}

impl<F> CredentialValidator for F
where
    F: Fn(&Credential, &[u8]) -> bool + Send + Sync,
{
    fn validate(&self, credential: &Credential, signature_key: &[u8]) -> bool {
        self(credential, signature_key)
    }
}

/// A shareable handle on a [`CredentialValidator`], as stored in a
/// [`GroupConfig`](super::GroupConfig).
#[derive(Clone)]
pub struct SharedValidator(pub Arc<dyn CredentialValidator>);

impl SharedValidator {
    /// Wrap a validator.
    pub fn new(validator: impl CredentialValidator + 'static) -> Self {
        SharedValidator(Arc::new(validator))
    }

    /// The validator.
    pub fn get(&self) -> &dyn CredentialValidator {
        &*self.0
    }
}

impl fmt::Debug for SharedValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedValidator(..)")
    }
}

/// Whether `validator` (or, without one, credential equality) calls two credentials the
/// same client.
pub(crate) fn same_client(
    validator: Option<&SharedValidator>,
    old: &Credential,
    new: &Credential,
) -> bool {
    match validator {
        Some(v) => v.get().same_client(old, new),
        None => old == new,
    }
}
