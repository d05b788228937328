//! A certificate chain and its private key, read from PEM files and checked together: the
//! chain parses, the key is one the provider can sign with, the key is the certificate's,
//! and the certificate has not expired. What the service logs and measures of it is in
//! [`CertInfo`]; the key never leaves the [`CertifiedKey`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferretwatch_types::{Sha256, Timestamp};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use x509_cert::der::Decode;

use super::TlsError;

/// What can be said in public about a certificate: never anything of its key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertInfo {
    /// The subject, RFC 4514 (`CN=rules.example.org`).
    pub subject: String,
    /// The issuer, RFC 4514.
    pub issuer: String,
    /// The serial number, upper-case hex as `openssl x509 -serial` prints it.
    pub serial: String,
    /// The start of its validity.
    pub not_before: Timestamp,
    /// The end of its validity.
    pub not_after: Timestamp,
    /// SHA-256 of the certificate's DER encoding (its fingerprint).
    pub sha256: Sha256,
}

impl CertInfo {
    /// Reads the fields of a DER certificate.
    pub fn of(der: &CertificateDer<'_>) -> Result<Self, String> {
        let cert = x509_cert::Certificate::from_der(der.as_ref()).map_err(|e| e.to_string())?;
        let tbs = &cert.tbs_certificate;
        let secs = |t: x509_cert::time::Time| Timestamp::from_secs(t.to_unix_duration().as_secs());
        Ok(CertInfo {
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            serial: hex::encode_upper(tbs.serial_number.as_bytes()),
            not_before: secs(tbs.validity.not_before),
            not_after: secs(tbs.validity.not_after),
            sha256: Sha256::of(der.as_ref()),
        })
    }

    /// Whole days from `now` to the end of its validity (negative once it has ended).
    pub fn days_left(&self, now: Timestamp) -> i64 {
        (self.not_after.as_millis() - now.as_millis()).div_euclid(86_400_000)
    }
}

/// A checked certificate chain and key, ready to be served.
#[derive(Debug, Clone)]
pub struct CertPair {
    /// The chain and the signing key, as rustls serves them.
    pub key: Arc<CertifiedKey>,
    /// The server certificate's public fields.
    pub info: CertInfo,
}

/// The two files of a pair, as read at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairFiles {
    /// The certificate chain file.
    pub cert: PathBuf,
    /// The private key file.
    pub key: PathBuf,
}

impl PairFiles {
    /// Reads both files; also returns one digest of their contents, which changes when
    /// either file does.
    pub fn read(&self) -> Result<(Vec<u8>, Vec<u8>, Sha256), TlsError> {
        let read = |path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { path: path.into(), source });
        let (cert, key) = (read(&self.cert)?, read(&self.key)?);
        let mut both = Vec::with_capacity(cert.len() + key.len() + 1);
        both.extend_from_slice(&cert);
        both.push(0);
        both.extend_from_slice(&key);
        let digest = Sha256::of(&both);
        Ok((cert, key, digest))
    }

    /// Reads and checks the pair (see [`CertPair::from_pem`]).
    pub fn load(&self, provider: &CryptoProvider, now: Timestamp) -> Result<CertPair, TlsError> {
        let (cert, key, _) = self.read()?;
        CertPair::from_pem(self, &cert, &key, provider, now)
    }
}

impl CertPair {
    /// Parses a PEM chain and key (named by `files` in errors) and checks them together.
    pub fn from_pem(
        files: &PairFiles,
        cert_pem: &[u8],
        key_pem: &[u8],
        provider: &CryptoProvider,
        now: Timestamp,
    ) -> Result<Self, TlsError> {
        let chain = certificates(&files.cert, cert_pem)?;
        let info = CertInfo::of(&chain[0])
            .map_err(|message| TlsError::BadCertificate { path: files.cert.clone(), message })?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey { path: files.key.clone() },
            other => TlsError::BadKey { path: files.key.clone(), message: other.to_string() },
        })?;
        let signing = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::BadKey { path: files.key.clone(), message: e.to_string() })?;
        let certified = CertifiedKey::new(chain, signing);
        // `keys_match` compares the key's public half with the certificate's; a key type
        // whose public half the provider cannot tell is refused too, never assumed right.
        certified.keys_match().map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsError::KeyMismatch { cert: files.cert.clone(), key: files.key.clone() }
            }
            rustls::Error::InconsistentKeys(_) => TlsError::BadKey {
                path: files.key.clone(),
                message: "its public half is unknown, so it cannot be matched with the certificate".into(),
            },
            other => TlsError::BadCertificate { path: files.cert.clone(), message: other.to_string() },
        })?;
        if info.not_after <= now {
            return Err(TlsError::Expired { path: files.cert.clone(), not_after: info.not_after });
        }
        Ok(CertPair { key: Arc::new(certified), info })
    }
}

/// Every certificate of a PEM file, in order; at least one.
pub fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificate { path: path.into(), message: e.to_string() })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: path.into() });
    }
    Ok(chain)
}

/// The permission bits of `path` when its group or others may read it (a private key
/// should be the service user's alone); `None` when they may not, or off Unix.
pub fn readable_by_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
