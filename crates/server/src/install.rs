//! Install tokens: what a client presents with each report so that it can be rate-limited
//! without identifying anyone.
//!
//! A token is `ID.EXPIRY.MAC`: 32 hex digits drawn at random, the expiry in seconds since
//! the epoch, and HMAC-SHA256 over `fw-install-v1|ID|EXPIRY` under the server's secret, in
//! hex. The server keeps no table of tokens: it verifies the MAC (in constant time) and the
//! expiry, and rate-limits by `ID`. Tokens travel in the `X-Install-Token` header.

use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use ferretwatch_pack_client::dir::write_private;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header a report carries its install token in.
pub const HEADER: &str = "x-install-token";

/// The file a generated secret is kept in, under the data directory.
pub const SECRET_FILE: &str = "install-secret";

const DOMAIN: &str = "fw-install-v1";

/// Issues and verifies install tokens.
pub struct InstallKeys {
    secret: SecretString,
    validity_secs: u64,
}

impl fmt::Debug for InstallKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallKeys").field("validity_secs", &self.validity_secs).finish_non_exhaustive()
    }
}

/// A verified token's identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedInstall {
    /// The random identifier (the rate-limit key and the stored `install_token_id`).
    pub id: String,
    /// Expiry, seconds since the epoch.
    pub expires: u64,
}

/// Why a presented token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    /// Not three parts of the right form.
    #[error("the install token is malformed")]
    Malformed,
    /// The MAC does not match.
    #[error("the install token's signature does not match")]
    BadSignature,
    /// Past its expiry.
    #[error("the install token has expired; request a new one from POST /v1/install")]
    Expired,
}

/// Why the install-token keys could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum InstallKeyError {
    /// The configured secret is too short to resist guessing.
    #[error("install.secret must be at least 32 characters")]
    TooShort,
    /// The operating system gave no random bits for a new secret.
    #[error("no randomness for the install-token secret: {0}")]
    Random(getrandom::Error),
    /// The secret file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl InstallKeys {
    /// Keys from a secret (at least 32 bytes).
    pub fn new(secret: SecretString, validity_days: u32) -> Result<Self, InstallKeyError> {
        if secret.expose_secret().len() < 32 {
            return Err(InstallKeyError::TooShort);
        }
        Ok(InstallKeys { secret, validity_secs: u64::from(validity_days.max(1)) * 86_400 })
    }

    /// The configured secret, or the one kept under `data_dir` (created on first start
    /// with mode 0600).
    pub fn load_or_create(
        configured: Option<SecretString>,
        data_dir: &Path,
        validity_days: u32,
    ) -> Result<Self, InstallKeyError> {
        if let Some(secret) = configured {
            return Self::new(secret, validity_days);
        }
        let path = data_dir.join(SECRET_FILE);
        let io = |source| InstallKeyError::Io { path: path.clone(), source };
        let secret = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::getrandom(&mut bytes).map_err(InstallKeyError::Random)?;
                let text = hex::encode(bytes);
                std::fs::create_dir_all(data_dir).map_err(io)?;
                write_private(&path, text.as_bytes(), false).map_err(io)?;
                tracing::info!(path = %path.display(), "generated the install-token secret");
                text
            }
            Err(e) => return Err(io(e)),
        };
        Self::new(SecretString::from(secret), validity_days)
    }

    fn mac(&self, id: &str, expires: u64) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes()).expect("HMAC takes any key length");
        mac.update(format!("{DOMAIN}|{id}|{expires}").as_bytes());
        mac
    }

    /// A new token, valid from now, and its expiry.
    pub fn issue(&self) -> Result<(String, u64), getrandom::Error> {
        let mut id = [0u8; 16];
        getrandom::getrandom(&mut id)?;
        let id = hex::encode(id);
        let expires = now_secs() + self.validity_secs;
        let mac = hex::encode(self.mac(&id, expires).finalize().into_bytes());
        Ok((format!("{id}.{expires}.{mac}"), expires))
    }

    /// Checks a presented token: form, MAC (constant time), expiry.
    pub fn verify(&self, token: &str) -> Result<VerifiedInstall, InstallError> {
        let mut parts = token.split('.');
        let (Some(id), Some(expires), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InstallError::Malformed);
        };
        let hex_of = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex_of(id, 32) || !hex_of(mac, 64) || expires.is_empty() || expires.len() > 12 {
            return Err(InstallError::Malformed);
        }
        let expires: u64 = expires.parse().map_err(|_| InstallError::Malformed)?;
        let presented = hex::decode(mac).map_err(|_| InstallError::Malformed)?;
        let expected = self.mac(id, expires).finalize().into_bytes();
        if !bool::from(expected.as_slice().ct_eq(&presented)) {
            return Err(InstallError::BadSignature);
        }
        if expires <= now_secs() {
            return Err(InstallError::Expired);
        }
        Ok(VerifiedInstall { id: id.to_ascii_lowercase(), expires })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> InstallKeys {
        InstallKeys::new(SecretString::from("k".repeat(32)), 30).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_and_a_tampered_one_does_not() {
        let keys = keys();
        let (token, expires) = keys.issue().unwrap();
        let ok = keys.verify(&token).unwrap();
        assert_eq!(ok.expires, expires);
        assert_eq!(ok.id.len(), 32);
        let mut bad = token.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert_eq!(keys.verify(&bad), Err(InstallError::BadSignature));
        let (id, rest) = token.split_once('.').unwrap();
        let (_, mac) = rest.split_once('.').unwrap();
        assert_eq!(keys.verify(&format!("{id}.99999999999.{mac}")), Err(InstallError::BadSignature));
        let other = InstallKeys::new(SecretString::from("j".repeat(32)), 30).unwrap();
        assert_eq!(other.verify(&token), Err(InstallError::BadSignature));
    }

    #[test]
    fn malformed_and_expired_tokens_are_refused() {
        let keys = keys();
        for bad in ["", "a.b.c", "x.1.y.z", &format!("{}.1.{}", "g".repeat(32), "0".repeat(64))] {
            assert_eq!(keys.verify(bad), Err(InstallError::Malformed), "{bad}");
        }
        let id = "0".repeat(32);
        let mac = hex::encode(keys.mac(&id, 1000).finalize().into_bytes());
        assert_eq!(keys.verify(&format!("{id}.1000.{mac}")), Err(InstallError::Expired));
    }

    #[test]
    fn a_generated_secret_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = InstallKeys::load_or_create(None, dir.path(), 30).unwrap();
        let (token, _) = a.issue().unwrap();
        let b = InstallKeys::load_or_create(None, dir.path(), 30).unwrap();
        assert!(b.verify(&token).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(InstallKeys::new(SecretString::from("short"), 30).is_err());
    }
}
