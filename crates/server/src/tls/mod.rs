//! TLS on the API listener (`[tls]`, `docs/deployment.md` "TLS", decision 0025).
//!
//! rustls with the ring provider, the one already in the tree, through tokio-rustls, in
//! front of the same accept loop as plain HTTP ([`crate::listener`]): the connection cap
//! per address, the header timeout (which also bounds the handshake), graceful shutdown
//! and the peer address for rate limits stay as they are. The certificate is chosen per
//! handshake by [`CertResolver`], which holds the current pair behind a lock:
//! [`reload`] swaps in a new pair once it has been read and checked ([`pair`]), so new
//! handshakes get it and open connections keep theirs. [`check`] is the operator's side:
//! the files on disk against their CA, their renewal date and what the service presents.

pub mod check;
pub mod pair;
pub mod reload;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use ferretwatch_types::{Coded, Sha256, Timestamp};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

pub use pair::{CertInfo, CertPair, PairFiles};

use crate::settings::{TlsSettings, TlsVersion};

/// Why a certificate pair cannot be served (at start: the service does not start; on a
/// reload: the pair in service stays).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `tls.cert_file` without `tls.key_file`, or the reverse.
    #[error("{0}")]
    Incomplete(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{path}: no certificate in it (want a PEM file with CERTIFICATE blocks, the server's first)")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A certificate does not parse.
    #[error("{path}: not a usable certificate: {message}")]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The key file holds no private key.
    #[error("{path}: no private key in it (want a PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)")]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The key does not parse or is of a kind that cannot sign.
    #[error("{path}: not a usable private key: {message}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The key is not the certificate's.
    #[error("the private key {key} does not match the certificate {cert} (a key from another pair?)")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The certificate's validity has ended.
    #[error("{path}: the certificate expired on {not_after}")]
    Expired {
        /// The file.
        path: PathBuf,
        /// When it ended.
        not_after: Timestamp,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

impl Coded for TlsError {
    fn code(&self) -> &'static str {
        match self {
            TlsError::Incomplete(_) | TlsError::Config(_) => "invalid_tls_config",
            TlsError::Read { .. } => "tls_file_unreadable",
            TlsError::NoCertificate { .. } | TlsError::BadCertificate { .. } => "invalid_certificate",
            TlsError::NoKey { .. } | TlsError::BadKey { .. } => "invalid_private_key",
            TlsError::KeyMismatch { .. } => "key_mismatch",
            TlsError::Expired { .. } => "certificate_expired",
        }
    }
}

/// The crypto provider of every TLS configuration here: ring, as the rest of the tree.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Chooses the certificate of each handshake: the one in force when it starts.
#[derive(Debug)]
pub struct CertResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertResolver {
    /// Serves `key` until [`CertResolver::set`] replaces it.
    pub fn new(key: Arc<CertifiedKey>) -> Self {
        CertResolver { current: RwLock::new(key) }
    }

    /// Serves `key` to handshakes from now on.
    pub fn set(&self, key: Arc<CertifiedKey>) {
        *self.current.write().expect("certificate lock") = key;
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().expect("certificate lock").clone())
    }
}

/// TLS as the settings ask for it, its first pair loaded and checked.
#[derive(Debug)]
pub struct Tls {
    /// The files, read again on every reload.
    pub files: PairFiles,
    /// The certificate in force.
    pub resolver: Arc<CertResolver>,
    /// The pair in force at start.
    pub first: CertPair,
    /// The digest of the files as they were loaded.
    pub digest: Sha256,
    /// Seconds between looks at the files (0: only on SIGHUP).
    pub reload_secs: u64,
    /// The handshake configuration.
    pub config: Arc<rustls::ServerConfig>,
}

impl Tls {
    /// `None` without `tls.cert_file`; otherwise the pair read and checked, or why not.
    pub fn from_settings(settings: &TlsSettings) -> Result<Option<Tls>, TlsError> {
        let Some((cert, key)) = settings.files().map_err(TlsError::Incomplete)? else { return Ok(None) };
        let files = PairFiles { cert: cert.to_owned(), key: key.to_owned() };
        let provider = provider();
        let (cert_pem, key_pem, digest) = files.read()?;
        let first = CertPair::from_pem(&files, &cert_pem, &key_pem, &provider, Timestamp::now())?;
        let resolver = Arc::new(CertResolver::new(first.key.clone()));
        let config = Arc::new(server_config(provider, settings.min_version, resolver.clone())?);
        Ok(Some(Tls { files, resolver, first, digest, reload_secs: settings.reload_secs, config }))
    }
}

/// HTTP/1.1 over TLS from `min_version` up, with certificates from `resolver`.
pub fn server_config(
    provider: Arc<CryptoProvider>,
    min_version: TlsVersion,
    resolver: Arc<CertResolver>,
) -> Result<rustls::ServerConfig, TlsError> {
    let versions: &[&rustls::SupportedProtocolVersion] = match min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    // The listener speaks HTTP/1.1 only; saying so lets a client that offers h2 fall back.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
