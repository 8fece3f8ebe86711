//! The CA's private key at rest: a PEM file of its own, 0600, optionally encrypted with a
//! passphrase, never in the database (a copy of the database must not let anyone mint
//! identities).

use pkcs8::der::pem::LineEnding;
use pkcs8::der::SecretDocument;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// PEM label of an unencrypted PKCS#8 key.
const PLAIN_LABEL: &str = "PRIVATE KEY";
/// PEM label of a PKCS#8 EncryptedPrivateKeyInfo.
const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";
/// Larger files are not keys: refuse before reading them.
const MAX_KEY_FILE: u64 = 64 << 10;

/// Where the CA key lives and the passphrase that protects it.
#[derive(Clone)]
pub struct CaKeyFile {
    /// The PEM file.
    pub path: PathBuf,
    /// Encrypts a new file and decrypts an encrypted one (from `COHORT_CA_PASSPHRASE`).
    pub passphrase: Option<Zeroizing<String>>,
}

impl fmt::Debug for CaKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaKeyFile")
            .field("path", &self.path)
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Why the key file could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFileError {
    /// Reading, writing or inspecting the file failed.
    Io(String),
    /// Group or other users may read the file (its mode is given).
    TooOpen(PathBuf, u32),
    /// The file is encrypted and no passphrase was given.
    PassphraseNeeded(PathBuf),
    /// The passphrase does not decrypt the file, or the file is not a PKCS#8 key.
    Unreadable(PathBuf, String),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Io(m) => write!(f, "CA key file: {m}"),
            KeyFileError::TooOpen(p, mode) => write!(
                f,
                "CA key file {} has mode {mode:o}: other local users could read it; \
                 chmod 600 it",
                p.display()
            ),
            KeyFileError::PassphraseNeeded(p) => write!(
                f,
                "CA key file {} is encrypted: set COHORT_CA_PASSPHRASE",
                p.display()
            ),
            KeyFileError::Unreadable(p, m) => write!(
                f,
                "CA key file {} cannot be read (wrong passphrase?): {m}",
                p.display()
            ),
        }
    }
}

impl std::error::Error for KeyFileError {}

fn io(path: &Path, e: impl fmt::Display) -> KeyFileError {
    KeyFileError::Io(format!("{}: {e}", path.display()))
}

impl CaKeyFile {
    /// The key file beside a database: `<db>.ca-key.pem`.
    pub fn beside(db: &Path, passphrase: Option<Zeroizing<String>>) -> CaKeyFile {
        CaKeyFile {
            path: PathBuf::from(format!("{}.ca-key.pem", db.display())),
            passphrase: passphrase.filter(|p| !p.is_empty()),
        }
    }

    /// The PKCS#8 DER of the key, or `None` if the file does not exist.
    pub fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, KeyFileError> {
        let path = &self.path;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path, e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::TooOpen(path.clone(), mode));
            }
        }
        if meta.len() > MAX_KEY_FILE {
            return Err(KeyFileError::Unreadable(path.clone(), "too large".into()));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| io(path, e))?);
        let unreadable =
            |e: &dyn fmt::Display| KeyFileError::Unreadable(path.clone(), e.to_string());
        let (label, doc) = SecretDocument::from_pem(&text).map_err(|e| unreadable(&e))?;
        let der = match label {
            PLAIN_LABEL => {
                if self.passphrase.is_some() {
                    tracing::warn!(file = %path.display(), "CA key file is not encrypted although a passphrase is set");
                }
                Zeroizing::new(doc.as_bytes().to_vec())
            }
            ENCRYPTED_LABEL => {
                let pass = self
                    .passphrase
                    .as_ref()
                    .ok_or_else(|| KeyFileError::PassphraseNeeded(path.clone()))?;
                let info = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
                    .map_err(|e| unreadable(&e))?;
                let plain = info.decrypt(pass.as_bytes()).map_err(|e| unreadable(&e))?;
                Zeroizing::new(plain.as_bytes().to_vec())
            }
            other => {
                return Err(unreadable(&format!(
                    "PEM label {other:?} is not a private key"
                )))
            }
        };
        PrivateKeyInfoRef::try_from(der.as_slice()).map_err(|e| unreadable(&e))?;
        Ok(Some(der))
    }

    /// Write `pkcs8` (DER) as a new 0600 file, encrypted if a passphrase is set. Fails with
    /// `AlreadyExists` semantics (an `Io` error) if another process created it first.
    pub fn create(&self, pkcs8: &[u8]) -> Result<(), KeyFileError> {
        let path = &self.path;
        let pem = match &self.passphrase {
            Some(pass) => {
                let info = PrivateKeyInfoRef::try_from(pkcs8).map_err(|e| io(path, e))?;
                let doc = info.encrypt(pass.as_bytes()).map_err(|e| io(path, e))?;
                doc.to_pem(ENCRYPTED_LABEL, LineEnding::LF)
                    .map_err(|e| io(path, e))?
            }
            None => SecretDocument::try_from(pkcs8)
                .and_then(|d| d.to_pem(PLAIN_LABEL, LineEnding::LF))
                .map_err(|e| io(path, e))?,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| io(path, e))?;
        file.write_all(pem.as_bytes()).map_err(|e| io(path, e))?;
        // On disk before the database forgets its copy or the root is published.
        file.sync_all().map_err(|e| io(path, e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Zeroizing<Vec<u8>> {
        let k = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
        Zeroizing::new(k.serialize_der())
    }

    fn file(dir: &Path, pass: Option<&str>) -> CaKeyFile {
        CaKeyFile {
            path: dir.join("ca.pem"),
            passphrase: pass.map(|p| Zeroizing::new(p.to_string())),
        }
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cohort-keyfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn plain_and_encrypted_files_round_trip_and_are_private() {
        let dir = tempdir("rt");
        let k = key();
        for pass in [None, Some("correct horse")] {
            let f = file(&dir, pass);
            let _ = std::fs::remove_file(&f.path);
            assert_eq!(f.load().expect("absent"), None);
            f.create(&k).expect("create");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&f.path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600);
            }
            let text = std::fs::read_to_string(&f.path).unwrap();
            let label = if pass.is_some() {
                ENCRYPTED_LABEL
            } else {
                PLAIN_LABEL
            };
            assert!(
                text.starts_with(&format!("-----BEGIN {label}-----")),
                "{text}"
            );
            assert_eq!(
                f.load().expect("load").as_deref().map(|v| v.as_slice()),
                Some(k.as_slice())
            );
            assert!(
                f.create(&k).is_err(),
                "an existing key file is never overwritten"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn wrong_or_missing_passphrase_and_open_modes_are_refused() {
        let dir = tempdir("neg");
        let k = key();
        file(&dir, Some("right")).create(&k).expect("create");
        assert!(matches!(
            file(&dir, None).load(),
            Err(KeyFileError::PassphraseNeeded(_))
        ));
        assert!(matches!(
            file(&dir, Some("wrong")).load(),
            Err(KeyFileError::Unreadable(..))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let f = file(&dir, Some("right"));
            std::fs::set_permissions(&f.path, std::fs::Permissions::from_mode(0o640)).unwrap();
            assert_eq!(f.load(), Err(KeyFileError::TooOpen(f.path.clone(), 0o640)));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
