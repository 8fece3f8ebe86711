//! The crate's one error type, grouped by category (DESIGN.md "Errors").

use core::fmt;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in Cohort, by category.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not a valid encoding (RFC 9420 §2.1).
    Decode(DecodeError),
    /// A well-formed value that breaks a rule the RFC requires on receipt.
    Invalid(Rule),
    /// A cryptographic operation failed (bad signature, tag, key or ciphertext).
    Crypto(CryptoError),
    /// Something valid that Cohort does not implement (e.g. an unknown cipher suite).
    Unsupported(&'static str),
    /// The caller used the API in a way it does not allow.
    Misuse(&'static str),
}

/// Why a byte string failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    UnexpectedEnd,
    /// A variable-length integer used more bytes than needed (§2.1.2).
    NonMinimalLength,
    /// A variable-length integer started with the reserved prefix `0b11` (§2.1.2).
    InvalidLengthPrefix,
    /// A length prefix pointed past the end of the input.
    LengthTooLarge,
    /// Bytes remained after a value that must fill its whole input.
    TrailingBytes,
    /// An enum field carried a value the RFC does not allow here.
    UnknownValue(&'static str),
    /// A value that decoded but is malformed for its type (e.g. an optional tag not 0 or 1).
    Malformed(&'static str),
    /// Structures nested deeper than the decoder allows.
    TooDeep,
    /// A list that must have unique entries had a duplicate.
    Duplicate(&'static str),
}

/// Failures of cryptographic operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// A signature did not verify.
    BadSignature,
    /// A MAC (membership tag, confirmation tag) did not match or had the wrong length.
    BadMac,
    /// AEAD or HPKE decryption failed.
    DecryptFailed,
    /// A public or private key was malformed.
    InvalidKey,
    /// A requested output length is not allowed by the KDF or AEAD.
    InvalidLength,
    /// The system random number generator failed.
    Rng,
}

/// A check RFC 9420 requires on receipt, each naming the section that requires it.
///
/// Modules add variants as they enforce new rules; [`Rule::section`] maps each to the RFC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A secret-tree generation beyond the configured forward distance (§9.1).
    GenerationTooFar,
    /// A secret-tree key for this generation was already used or deleted (§9.2).
    GenerationConsumed,
    /// A leaf index outside the tree (§9).
    LeafOutOfRange,
    /// The membership tag of a PublicMessage did not verify (§6.2).
    MembershipTag,
    /// Padding of a PrivateMessage contained a non-zero byte (§6.3.1).
    NonZeroPadding,
    /// A PrivateMessage carried content a sender may not encrypt, or a PublicMessage
    /// carried application data (§6.2, §6.3).
    WrongContentForWireFormat,
    /// The sender type is not allowed for this message or content (§6).
    InvalidSender,
    /// The message's group id or epoch does not match the group (§6).
    WrongGroupOrEpoch,
    /// The confirmation tag did not verify (§8.1).
    ConfirmationTag,
    /// KeyPackage cipher suite or version differs from the group's (§10.1).
    KeyPackageSuiteOrVersion,
    /// A KeyPackage's leaf node source is not `key_package` (§10).
    KeyPackageLeafSource,
    /// A KeyPackage is outside its lifetime (§7.3).
    KeyPackageLifetime,
    /// A KeyPackage's leaf node signature does not verify (§7.3).
    KeyPackageLeafSignature,
    /// A KeyPackage's signature does not verify (§10.1).
    KeyPackageSignature,
    /// A KeyPackage's init key equals its leaf encryption key (§10.1).
    KeyPackageInitKeyReused,
    /// A KeyPackage leaf uses an extension its capabilities do not list (§10, §7.3).
    KeyPackageUnsupportedExtension,
    /// A KeyPackage leaf's credential type is not in its own capabilities (§7.2).
    KeyPackageUnsupportedCredential,
    /// The signature over FramedContentTBS did not verify with the sender's key (§6.1).
    ContentSignature,
    /// No signature key for the sender: a blank or absent leaf, an unknown external sender,
    /// or a new member whose key the content does not carry (§6.1, §6.3.2).
    UnknownSender,
    /// The sender data of a PrivateMessage did not decrypt (§6.3.2).
    SenderDataDecryption,
    /// The content of a PrivateMessage did not decrypt (§6.3.1).
    ContentDecryption,
    /// A `ratchet_tree` that is empty or whose last node is blank (§12.4.3.3).
    TreeEndsBlank,
    /// A parent node at a leaf (even) position or a leaf node at a parent one (§12.4.3.3).
    NodeTypeMismatch,
    /// A Remove names a blank leaf (§12.1.3).
    RemovedLeafBlank,
    /// An UpdatePath's node count differs from the sender's filtered direct path (§7.6).
    UpdatePathLength,
    /// The recomputed tree hash differs from the GroupContext's `tree_hash` (§12.4.3.1).
    TreeHashMismatch,
    /// A non-blank parent node is not parent-hash valid: no child chains to it (§7.9.2).
    ParentHashUnverified,
    /// A non-blank parent node is covered by more than one parent-hash chain (§7.9.2).
    ParentHashAmbiguous,
    /// A parent's `unmerged_leaves` is not strictly increasing (§7.1).
    UnmergedLeavesUnsorted,
    /// An unmerged leaf entry names a blank leaf (§12.4.3.1).
    UnmergedLeafBlank,
    /// An unmerged leaf entry is not a descendant of its parent node (§12.4.3.1).
    UnmergedLeafNotDescendant,
    /// A non-blank node between an unmerged leaf and its parent lacks the entry (§12.4.3.1).
    UnmergedLeafNotInIntermediate,
    /// A parent node's encryption key appears in another node of the tree (§12.4.3.1).
    DuplicateParentEncryptionKey,
    /// Two leaves share an encryption key (§7.3).
    DuplicateLeafEncryptionKey,
    /// Two leaves share a signature key (§7.3).
    DuplicateSignatureKey,
    /// A LeafNode signature does not verify under its group id and leaf index (§7.3).
    LeafNodeSignature,
    /// A leaf's credential type is not in its own `capabilities.credentials` (§7.2).
    CredentialTypeNotInCapabilities,
    /// A leaf does not support a credential type another member uses (§7.3).
    CredentialTypeNotSupportedByAll,
    /// A leaf's capabilities do not list the group's cipher suite (§11.1).
    UnsupportedCipherSuite,
    /// A leaf's capabilities do not list the group's protocol version (§11.1).
    UnsupportedProtocolVersion,
    /// A leaf lacks a capability in the group's `required_capabilities` (§7.3, §11.1).
    RequiredCapabilityMissing,
    /// A leaf carries a non-default extension its capabilities do not list (§7.2).
    LeafExtensionNotInCapabilities,
    /// A leaf's lifetime does not contain the current time (§7.3).
    LeafLifetime,
    /// The application's Authentication Service rejected a credential (§5.3.1).
    CredentialRejected,
    /// A sender proposed a type it may not send (§12.1.8).
    InvalidProposalSender,
    /// A commit includes an Update from the committer, or an external commit includes one (§12.2).
    CommitterUpdate,
    /// Several Update/Remove proposals apply to the same leaf (§12.2).
    DuplicateLeafChange,
    /// A commit removes its own committer (§12.2).
    CommitterRemoved,
    /// Two PreSharedKey proposals name the same PSK (§12.2).
    DuplicatePsk,
    /// A ReInit is committed together with other proposals (§12.2).
    ReInitNotAlone,
    /// A ReInit names an older protocol version (§12.1.5).
    ReInitDowngrade,
    /// An ExternalInit in a member's commit, or more than one (§12.2).
    ExternalInitMisplaced,
    /// More than one GroupContextExtensions proposal (§12.2).
    DuplicateGroupContextExtensions,
    /// An external commit's proposal list is not ExternalInit, at most one Remove, and PSKs (§12.2).
    ExternalCommitProposals,
    /// A leaf node's source does not match where it appears (§7.3).
    LeafNodeSourceMismatch,
    /// An Update or path leaf keeps the encryption key it replaces (§12.1.2).
    EncryptionKeyReused,
    /// A psk_nonce is not KDF.Nh bytes (§8.4).
    PskNonceLength,
    /// A proposed resumption PSK has a usage other than application (§12.1.4).
    ResumptionPskUsage,
    /// A referenced PSK is not available (§12.4.2).
    PskNotFound,
    /// A commit from our own leaf that is not our pending commit (§12.4).
    OwnCommitMismatch,
    /// A commit references a proposal we did not receive (§12.4.2).
    UnknownProposalRef,
    /// A commit lacks the path its proposals require (§12.4).
    PathRequired,
    /// Welcome, KeyPackage and GroupInfo cipher suites differ (§12.4.3.1).
    WelcomeCipherSuite,
    /// More than one reinit or branch resumption PSK (§12.4.3.1).
    MultipleResumptionPsks,
    /// No ratchet tree in the Welcome and none supplied (§12.4.3.1).
    RatchetTreeMissing,
    /// The GroupInfo signer leaf is blank or out of range (§12.4.3.1).
    GroupInfoSigner,
    /// No leaf in the tree equals our KeyPackage's leaf node (§12.4.3.1).
    OwnLeafMissing,
    /// A branch or reinit group does not start at epoch 1 (§12.4.3.1).
    ResumptionEpoch,
    /// A public key in an UpdatePath already appears in the tree or twice in the path (§12.4.2).
    UpdatePathKeyInTree,
    /// The committer's new leaf does not carry the parent hash its path yields (§7.9.2).
    UpdatePathParentHash,
    /// An UpdatePathNode's ciphertext count differs from its copath resolution size (§7.6).
    UpdatePathCiphertextCount,
    /// The path secret encrypted to us in an UpdatePath did not decrypt (§7.5).
    PathSecretDecryption,
    /// A public key derived from a path secret differs from the one the path or tree holds (§7.5).
    PathKeyMismatch,
    /// A private key held for a node does not match the tree's public key there (§12.4.3.1).
    PrivateKeyMismatch,
    /// A Welcome has no EncryptedGroupSecrets for our KeyPackage (§12.4.3.1).
    WelcomeNoEntry,
    /// The GroupSecrets of a Welcome did not decrypt under our init key (§12.4.3.1).
    WelcomeGroupSecretsDecryption,
    /// Decrypted GroupSecrets are not a valid encoding (§12.4.3.1).
    WelcomeGroupSecretsMalformed,
    /// The encrypted GroupInfo of a Welcome did not decrypt (§12.4.3.1).
    WelcomeGroupInfoDecryption,
    /// The decrypted GroupInfo is not a valid encoding (§12.4.3.1).
    WelcomeGroupInfoMalformed,
    /// A GroupInfo signature does not verify under the signer's key (§12.4.3.1).
    GroupInfoSignature,
    /// Two Add proposals in one commit add the same client (same signature key) (§12.2).
    DuplicateAdd,
    /// An Add proposal adds a client that is already a member (§12.2).
    AddExistingMember,
    /// A resync external commit removes a leaf that is not the joiner's (§12.2, §12.4.3.2).
    ResyncCredentialMismatch,
    /// A GroupInfo offered for an external join has no `external_pub` (§12.4.3.2).
    ExternalPubMissing,
    /// A branch or reinit group's parameters or PSK do not match the resumed group (§12.4.3.1).
    ResumptionMismatch,
    /// A branch or reinit group's members do not match the resumed group's (§12.4.3.1).
    ResumptionMembership,
    /// A GroupInfo published for an epoch does not describe that epoch: another
    /// GroupContext, confirmation tag or ratchet tree than the commit leads to (§12.4.3).
    GroupInfoMismatch,
}

impl Rule {
    /// The RFC 9420 section that requires this check.
    pub fn section(self) -> &'static str {
        match self {
            Rule::GenerationTooFar => "9.1",
            Rule::GenerationConsumed => "9.2",
            Rule::LeafOutOfRange => "9",
            Rule::MembershipTag => "6.2",
            Rule::NonZeroPadding => "6.3.1",
            Rule::WrongContentForWireFormat => "6.2",
            Rule::InvalidSender => "6",
            Rule::WrongGroupOrEpoch => "6",
            Rule::ConfirmationTag => "8.1",
            Rule::KeyPackageSuiteOrVersion => "10.1",
            Rule::KeyPackageLeafSource => "10",
            Rule::KeyPackageLifetime => "7.3",
            Rule::KeyPackageLeafSignature => "7.3",
            Rule::KeyPackageSignature => "10.1",
            Rule::KeyPackageInitKeyReused => "10.1",
            Rule::KeyPackageUnsupportedExtension => "10",
            Rule::KeyPackageUnsupportedCredential => "7.2",
            Rule::ContentSignature => "6.1",
            Rule::UnknownSender => "6.1",
            Rule::SenderDataDecryption => "6.3.2",
            Rule::ContentDecryption => "6.3.1",
            Rule::TreeEndsBlank => "12.4.3.3",
            Rule::NodeTypeMismatch => "12.4.3.3",
            Rule::RemovedLeafBlank => "12.1.3",
            Rule::UpdatePathLength => "7.6",
            Rule::TreeHashMismatch => "12.4.3.1",
            Rule::ParentHashUnverified => "7.9.2",
            Rule::ParentHashAmbiguous => "7.9.2",
            Rule::UnmergedLeavesUnsorted => "7.1",
            Rule::UnmergedLeafBlank => "12.4.3.1",
            Rule::UnmergedLeafNotDescendant => "12.4.3.1",
            Rule::UnmergedLeafNotInIntermediate => "12.4.3.1",
            Rule::DuplicateParentEncryptionKey => "12.4.3.1",
            Rule::DuplicateLeafEncryptionKey => "7.3",
            Rule::DuplicateSignatureKey => "7.3",
            Rule::LeafNodeSignature => "7.3",
            Rule::CredentialTypeNotInCapabilities => "7.2",
            Rule::CredentialTypeNotSupportedByAll => "7.3",
            Rule::UnsupportedCipherSuite => "11.1",
            Rule::UnsupportedProtocolVersion => "11.1",
            Rule::RequiredCapabilityMissing => "7.3",
            Rule::LeafExtensionNotInCapabilities => "7.2",
            Rule::LeafLifetime => "7.3",
            Rule::CredentialRejected => "5.3.1",
            Rule::InvalidProposalSender => "12.1.8",
            Rule::CommitterUpdate => "12.2",
            Rule::DuplicateLeafChange => "12.2",
            Rule::CommitterRemoved => "12.2",
            Rule::DuplicatePsk => "12.2",
            Rule::ReInitNotAlone => "12.2",
            Rule::ReInitDowngrade => "12.1.5",
            Rule::ExternalInitMisplaced => "12.2",
            Rule::DuplicateGroupContextExtensions => "12.2",
            Rule::ExternalCommitProposals => "12.2",
            Rule::LeafNodeSourceMismatch => "7.3",
            Rule::EncryptionKeyReused => "12.1.2",
            Rule::PskNonceLength => "8.4",
            Rule::ResumptionPskUsage => "12.1.4",
            Rule::PskNotFound => "12.4.2",
            Rule::OwnCommitMismatch => "12.4",
            Rule::UnknownProposalRef => "12.4.2",
            Rule::PathRequired => "12.4",
            Rule::WelcomeCipherSuite => "12.4.3.1",
            Rule::MultipleResumptionPsks => "12.4.3.1",
            Rule::RatchetTreeMissing => "12.4.3.1",
            Rule::GroupInfoSigner => "12.4.3.1",
            Rule::OwnLeafMissing => "12.4.3.1",
            Rule::ResumptionEpoch => "12.4.3.1",
            Rule::UpdatePathKeyInTree => "12.4.2",
            Rule::UpdatePathParentHash => "7.9.2",
            Rule::UpdatePathCiphertextCount => "7.6",
            Rule::PathSecretDecryption => "7.5",
            Rule::PathKeyMismatch => "7.5",
            Rule::PrivateKeyMismatch => "12.4.3.1",
            Rule::WelcomeNoEntry => "12.4.3.1",
            Rule::WelcomeGroupSecretsDecryption => "12.4.3.1",
            Rule::WelcomeGroupSecretsMalformed => "12.4.3.1",
            Rule::WelcomeGroupInfoDecryption => "12.4.3.1",
            Rule::WelcomeGroupInfoMalformed => "12.4.3.1",
            Rule::GroupInfoSignature => "12.4.3.1",
            Rule::DuplicateAdd => "12.2",
            Rule::AddExistingMember => "12.2",
            Rule::ResyncCredentialMismatch => "12.2",
            Rule::ExternalPubMissing => "12.4.3.2",
            Rule::ResumptionMismatch => "12.4.3.1",
            Rule::ResumptionMembership => "12.4.3.1",
            Rule::GroupInfoMismatch => "12.4.3",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(e) => write!(f, "decode error: {e:?}"),
            Error::Invalid(r) => write!(f, "invalid per RFC 9420 §{}: {r:?}", r.section()),
            Error::Crypto(e) => write!(f, "crypto error: {e:?}"),
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::Misuse(what) => write!(f, "API misuse: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        Error::Crypto(e)
    }
}

impl From<Rule> for Error {
    fn from(r: Rule) -> Self {
        Error::Invalid(r)
    }
}
