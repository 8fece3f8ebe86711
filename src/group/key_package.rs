//! Creating and validating KeyPackages (RFC 9420 §10, §10.1).

use crate::codec::{Bytes, Decode, Encode};
use crate::crypto::{HpkePrivateKey, SignaturePrivateKey, Suite};
use crate::error::{Error, Result, Rule};
use crate::framing::{MLSMessage, MLSMessageBody, WireFormat};
use crate::messages::{
    Capabilities, Credential, CredentialType, Extension, ExtensionType, Extensions, KeyPackage,
    LeafNode, LeafNodeSourceData, Lifetime, ProtocolVersion,
};

/// `last_resort` (0x000A in the IANA "MLS Extension Types" registry): marks a KeyPackage that a
/// Delivery Service may hand out more than once when nothing else is left.
pub const LAST_RESORT: ExtensionType = ExtensionType(0x000a);

/// Choices for a new KeyPackage; `Default` gives a 90-day lifetime and basic capabilities.
#[derive(Debug, Clone)]
pub struct KeyPackageOptions {
    /// Validity window; `None` means from one hour ago to 90 days from now.
    pub lifetime: Option<Lifetime>,
    /// Extra capabilities beyond the suite and credential type in use.
    pub capabilities: Capabilities,
    /// KeyPackage extensions.
    pub extensions: Extensions,
    /// LeafNode extensions.
    pub leaf_extensions: Extensions,
    /// Mark the package as a last-resort package.
    pub last_resort: bool,
}

impl Default for KeyPackageOptions {
    fn default() -> Self {
        KeyPackageOptions {
            lifetime: None,
            capabilities: Capabilities::default(),
            extensions: Extensions::new(),
            leaf_extensions: Extensions::new(),
            last_resort: false,
        }
    }
}

/// A KeyPackage with the private keys its creator must keep until a Welcome uses it.
///
/// The init and leaf encryption keys are erased (zeroized on drop) once the package is
/// consumed by a join.
#[derive(Debug, Clone)]
pub struct KeyPackageSecrets {
    /// The public KeyPackage to publish.
    pub key_package: KeyPackage,
    /// Private half of `key_package.init_key`.
    pub init_key: HpkePrivateKey,
    /// Private half of `key_package.leaf_node.encryption_key`.
    pub encryption_key: HpkePrivateKey,
    /// The signing key of `key_package.leaf_node.signature_key`.
    pub signer: SignaturePrivateKey,
}

/// Seconds since the Unix epoch, for lifetimes.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The capabilities a Cohort leaf advertises: `extra` plus what is in use.
pub fn default_capabilities(
    suite: &Suite,
    credential: &Credential,
    extra: &Capabilities,
) -> Capabilities {
    let mut caps = extra.clone();
    if !caps.versions.contains(&ProtocolVersion::MLS10) {
        caps.versions.push(ProtocolVersion::MLS10);
    }
    if !caps.cipher_suites.contains(&suite.id()) {
        caps.cipher_suites.push(suite.id());
    }
    for ct in [
        CredentialType::BASIC,
        CredentialType::X509,
        credential.credential_type(),
    ] {
        if !caps.credentials.contains(&ct) {
            caps.credentials.push(ct);
        }
    }
    caps
}

/// Sign a LeafNode in place with `SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)` (§7.2).
pub fn sign_leaf_node(
    suite: &Suite,
    leaf: &mut LeafNode,
    signer: &SignaturePrivateKey,
    group_id: &[u8],
    leaf_index: u32,
) -> Result<()> {
    let tbs = leaf.tbs_bytes(group_id, leaf_index);
    leaf.signature = Bytes(suite.sign_with_label(signer, "LeafNodeTBS", &tbs)?);
    Ok(())
}

/// A KeyPackage with a fresh signature key and basic credential `name`, for unit tests.
#[cfg(test)]
pub(crate) fn test_key_package(suite: &Suite, name: &str) -> KeyPackageSecrets {
    let signer = suite.generate_signature_key_pair().expect("rng");
    KeyPackageSecrets::generate(
        suite,
        crate::messages::Credential::basic(name.as_bytes().to_vec()),
        &signer,
        &KeyPackageOptions::default(),
    )
    .expect("key package")
}

impl KeyPackageSecrets {
    /// Generate fresh init and encryption keys and sign a KeyPackage for `credential` (§10).
    pub fn generate(
        suite: &Suite,
        credential: Credential,
        signer: &SignaturePrivateKey,
        options: &KeyPackageOptions,
    ) -> Result<Self> {
        let init_key = suite.generate_hpke_key_pair()?;
        let encryption_key = suite.generate_hpke_key_pair()?;
        let lifetime = options.lifetime.unwrap_or_else(|| {
            let now = unix_now();
            Lifetime {
                not_before: now.saturating_sub(3600),
                not_after: now.saturating_add(90 * 24 * 3600),
            }
        });
        let mut capabilities = default_capabilities(suite, &credential, &options.capabilities);
        let mut extensions = options.extensions.clone();
        if options.last_resort {
            extensions.insert(Extension {
                extension_type: LAST_RESORT,
                extension_data: Bytes::default(),
            });
        }
        // §10: every extension used must be listed in the capabilities.
        for ext in extensions.iter().chain(options.leaf_extensions.iter()) {
            let t = ext.extension_type;
            if !t.is_default() && !capabilities.extensions.contains(&t) {
                capabilities.extensions.push(t);
            }
        }
        let mut leaf_node = LeafNode {
            encryption_key: Bytes(encryption_key.public_key().to_vec()),
            signature_key: Bytes(signer.public_key().to_vec()),
            credential,
            capabilities,
            leaf_node_source: LeafNodeSourceData::KeyPackage(lifetime),
            extensions: options.leaf_extensions.clone(),
            signature: Bytes::default(),
        };
        sign_leaf_node(suite, &mut leaf_node, signer, b"", 0)?;
        let mut key_package = KeyPackage {
            version: ProtocolVersion::MLS10,
            cipher_suite: suite.id(),
            init_key: Bytes(init_key.public_key().to_vec()),
            leaf_node,
            extensions,
            signature: Bytes::default(),
        };
        key_package.signature =
            Bytes(suite.sign_with_label(signer, "KeyPackageTBS", &key_package.tbs_bytes())?);
        Ok(KeyPackageSecrets {
            key_package,
            init_key,
            encryption_key,
            signer: signer.clone(),
        })
    }

    /// Reassemble secrets kept elsewhere, checking that each private key matches the package.
    pub fn from_parts(
        key_package: KeyPackage,
        init_key: HpkePrivateKey,
        encryption_key: HpkePrivateKey,
        signer: SignaturePrivateKey,
    ) -> Result<Self> {
        let matches = init_key.public_key() == key_package.init_key.as_slice()
            && encryption_key.public_key() == key_package.leaf_node.encryption_key.as_slice()
            && signer.public_key() == key_package.leaf_node.signature_key.as_slice();
        if !matches {
            return Err(Error::Misuse("private keys do not match the KeyPackage"));
        }
        Ok(KeyPackageSecrets {
            key_package,
            init_key,
            encryption_key,
            signer,
        })
    }

    /// `KeyPackageRef = RefHash("MLS 1.0 KeyPackage Reference", KeyPackage)` (§5.2), in the
    /// suite the KeyPackage names; `Unsupported` if that suite is not one this build knows.
    pub fn reference(&self) -> Result<Vec<u8>> {
        let suite = Suite::new(self.key_package.cipher_suite)?;
        Ok(key_package_ref(&suite, &self.key_package))
    }

    /// The KeyPackage as an `MLSMessage` to publish (§6), encoded without copying the
    /// package: the secrets stay here for the join.
    pub fn to_message_bytes(&self) -> Vec<u8> {
        self.key_package.to_message_bytes()
    }
}

impl KeyPackage {
    /// The KeyPackageRef (§5.2) under the cipher suite this package names.
    pub fn reference(&self) -> Result<Vec<u8>> {
        Ok(key_package_ref(&Suite::new(self.cipher_suite)?, self))
    }

    /// This KeyPackage wrapped in an `MLSMessage` (§6: version, `mls_key_package` wire
    /// format, the package) and encoded, without cloning the package into a message.
    pub fn to_message_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.encoded_len());
        ProtocolVersion::MLS10.encode(&mut out);
        WireFormat::KeyPackage.encode(&mut out);
        self.encode(&mut out);
        out
    }

    /// Decode an `MLSMessage` that must carry a KeyPackage (the inverse of
    /// [`KeyPackage::to_message_bytes`]); any other message is API misuse. The package is
    /// only decoded: check it with [`validate_key_package`] before use.
    pub fn from_message_bytes(bytes: &[u8]) -> Result<KeyPackage> {
        match MLSMessage::decode_exact(bytes).map_err(Error::Decode)?.body {
            MLSMessageBody::KeyPackage(kp) => Ok(*kp),
            _ => Err(Error::Misuse("not a KeyPackage message")),
        }
    }
}

/// Where a joiner finds the secrets of the KeyPackage a Welcome was sealed to, by
/// KeyPackageRef (§12.4.3.1): a client with many published KeyPackages passes all of them.
pub trait KeyPackageStore {
    /// The secrets of the KeyPackage whose KeyPackageRef is `reference`, if we hold it.
    fn key_package_secrets(&self, reference: &[u8]) -> Option<&KeyPackageSecrets>;
}

/// A list of KeyPackages, searched by recomputing each one's reference (fine for a few).
impl KeyPackageStore for [KeyPackageSecrets] {
    fn key_package_secrets(&self, reference: &[u8]) -> Option<&KeyPackageSecrets> {
        self.iter()
            .find(|kp| kp.reference().is_ok_and(|r| r.as_slice() == reference))
    }
}

/// KeyPackages indexed by their KeyPackageRef (see [`KeyPackageSecrets::reference`]).
impl<S: std::hash::BuildHasher> KeyPackageStore
    for std::collections::HashMap<Vec<u8>, KeyPackageSecrets, S>
{
    fn key_package_secrets(&self, reference: &[u8]) -> Option<&KeyPackageSecrets> {
        self.get(reference)
    }
}

/// One KeyPackage, for [`Group::join_from`](super::Group::join_from) with a single package.
impl KeyPackageStore for KeyPackageSecrets {
    fn key_package_secrets(&self, reference: &[u8]) -> Option<&KeyPackageSecrets> {
        self.reference()
            .is_ok_and(|r| r.as_slice() == reference)
            .then_some(self)
    }
}

/// `KeyPackageRef` of a KeyPackage (§5.2).
pub fn key_package_ref(suite: &Suite, kp: &KeyPackage) -> Vec<u8> {
    suite.ref_hash("MLS 1.0 KeyPackage Reference", &kp.to_bytes())
}

/// Whether a KeyPackage carries the last-resort marker.
pub fn is_last_resort(kp: &KeyPackage) -> bool {
    kp.extensions.contains(LAST_RESORT)
}

/// The checks of §10.1 that need no group: suite and version, leaf source, signatures, and
/// distinct init and encryption keys. Group-dependent leaf checks (§7.3) are done on Add.
pub fn validate_key_package(suite: &Suite, kp: &KeyPackage, now: Option<u64>) -> Result<()> {
    if kp.cipher_suite != suite.id() || kp.version != ProtocolVersion::MLS10 {
        return Err(Rule::KeyPackageSuiteOrVersion.into());
    }
    let LeafNodeSourceData::KeyPackage(lifetime) = &kp.leaf_node.leaf_node_source else {
        return Err(Rule::KeyPackageLeafSource.into());
    };
    if let Some(now) = now {
        if now < lifetime.not_before || now > lifetime.not_after {
            return Err(Rule::KeyPackageLifetime.into());
        }
    }
    let key = kp.leaf_node.signature_key.as_slice();
    suite
        .verify_with_label(
            key,
            "LeafNodeTBS",
            &kp.leaf_node.tbs_bytes(b"", 0),
            &kp.leaf_node.signature,
        )
        .map_err(|_| Error::Invalid(Rule::KeyPackageLeafSignature))?;
    suite
        .verify_with_label(key, "KeyPackageTBS", &kp.tbs_bytes(), &kp.signature)
        .map_err(|_| Error::Invalid(Rule::KeyPackageSignature))?;
    if kp.leaf_node.encryption_key == kp.init_key {
        return Err(Rule::KeyPackageInitKeyReused.into());
    }
    // §10: extensions used must be listed in the capabilities.
    let caps = &kp.leaf_node.capabilities;
    let listed = |t: ExtensionType| t.is_default() || caps.extensions.contains(&t);
    if !kp
        .leaf_node
        .extensions
        .iter()
        .all(|e| listed(e.extension_type))
    {
        return Err(Rule::KeyPackageUnsupportedExtension.into());
    }
    if !caps
        .credentials
        .contains(&kp.leaf_node.credential.credential_type())
    {
        return Err(Rule::KeyPackageUnsupportedCredential.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
