//! Per-group policy: out-of-order tolerance, padding, wire format, retention, and the
//! application's credential check.

use super::credential::SharedValidator;
use crate::framing::private::Padding;
use crate::schedule::SecretTreeConfig;

/// How a member protects its own handshake messages (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HandshakeFormat {
    /// Proposals and commits as PublicMessage (visible to the Delivery Service).
    #[default]
    Public,
    /// Proposals and commits as PrivateMessage.
    Private,
}

/// Policy for one group member. `Default` suits most applications, except that an
/// application with an Authentication Service should set `credential_validator`.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// Forward distance and number of skipped keys kept per sender (§9.1, §9.2).
    pub secret_tree: SecretTreeConfig,
    /// Padding of PrivateMessages (§6.3.1).
    pub padding: Padding,
    /// Wire format for our own proposals and commits.
    pub handshake_format: HandshakeFormat,
    /// How many past epochs keep their keys so that late application messages decrypt.
    pub max_past_epochs: usize,
    /// How many past epochs' resumption PSKs are kept (§8.6).
    pub max_resumption_psks: usize,
    /// Whether our Welcomes and GroupInfos carry the ratchet tree extension (§12.4.3.3).
    pub ratchet_tree_extension: bool,
    /// Whether leaves received in Add proposals are checked against their lifetime (§7.3
    /// RECOMMENDS it; leaves we add ourselves are always checked, as §7.3 requires).
    pub check_received_lifetimes: bool,
    /// The application's credential check (§5.3.1), called on every leaf the group is
    /// about to trust. `None` accepts every credential: only for tests and for
    /// applications that authenticate members some other way.
    ///
    /// Not persisted by [`Group::to_bytes`](super::Group::to_bytes): pass it again to
    /// [`Group::from_bytes`](super::Group::from_bytes).
    pub credential_validator: Option<SharedValidator>,
    /// At most this many threads for the group's tree hashing, tree validation on join and
    /// KeyPackage checks (`None`: every core). Not persisted: set it again after
    /// [`Group::from_bytes`](super::Group::from_bytes) with
    /// [`Group::set_config`](super::Group::set_config).
    pub max_threads: Option<std::num::NonZeroUsize>,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            secret_tree: SecretTreeConfig::default(),
            padding: Padding::None,
            handshake_format: HandshakeFormat::Public,
            max_past_epochs: 2,
            max_resumption_psks: 8,
            ratchet_tree_extension: true,
            check_received_lifetimes: true,
            credential_validator: None,
            max_threads: None,
        }
    }
}

impl GroupConfig {
    /// This config with `validator` as its credential check.
    pub fn with_validator(
        mut self,
        validator: impl super::credential::CredentialValidator + 'static,
    ) -> Self {
        self.credential_validator = Some(SharedValidator::new(validator));
        self
    }
}
