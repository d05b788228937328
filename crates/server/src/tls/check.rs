//! The renewal check (runbook §5.1, `ferretwatch tls check`, `cert-renewal-check.sh`): the
//! pair the service is configured with, looked at from outside the service.
//!
//! - **certificate**: it parses, and has at least `renew_days` left (fewer: renewal due);
//! - **key**: the private key is the certificate's;
//! - **chain**: the file's chain leads to a trusted root (a CA file, else the system's),
//!   every certificate valid now: an intermediate missing from the file fails here;
//! - **served**: what the running service presents at `url` is the certificate in the
//!   file (by SHA-256 fingerprint): a renewal that was not picked up fails here.
//!
//! The name is not checked (the URL here is often a loopback address): that is
//! `cert-expiry-check.sh`'s job, which connects as clients do.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferretwatch_types::Timestamp;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;

use super::{pair, provider, CertInfo, PairFiles, TlsError};

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The configured certificate and key files.
    pub files: PairFiles,
    /// The CA certificates (PEM) the chain must lead to; `None`: the system's.
    pub ca_file: Option<PathBuf>,
    /// The running service (`https://HOST:PORT`); `None`: not compared.
    pub url: Option<url::Url>,
    /// Fewer days left than this: renewal due.
    pub renew_days: u32,
    /// The time of the check.
    pub now: Timestamp,
    /// Time to connect and finish a handshake with the service.
    pub timeout: Duration,
}

/// One line of the check.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `certificate`, `key`, `chain` or `served`.
    pub check: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub message: String,
}

/// The check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The certificate in the file.
    pub certificate: Option<CertInfo>,
    /// Whole days it has left.
    pub days_left: Option<i64>,
    /// The certificate the service presents.
    pub served: Option<CertInfo>,
    /// One finding per check, in order.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.ok)
    }

    fn push(&mut self, check: &'static str, result: Result<String, String>) {
        let (ok, message) = match result {
            Ok(message) => (true, message),
            Err(message) => (false, message),
        };
        self.findings.push(Finding { check, ok, message });
    }
}

/// Runs every check; each failure is a finding, never an error.
pub fn check(options: &CheckOptions) -> CheckReport {
    let provider = provider();
    let mut report = CheckReport { certificate: None, days_left: None, served: None, findings: Vec::new() };
    let files = &options.files;
    let chain = std::fs::read(&files.cert)
        .map_err(|source| TlsError::Read { path: files.cert.clone(), source })
        .and_then(|pem| pair::certificates(&files.cert, &pem));
    let chain = match chain.and_then(|chain| {
        let info = CertInfo::of(&chain[0])
            .map_err(|message| TlsError::BadCertificate { path: files.cert.clone(), message })?;
        Ok((chain, info))
    }) {
        Ok((chain, info)) => {
            let days = info.days_left(options.now);
            report.push("certificate", validity(&info, days, options));
            report.certificate = Some(info);
            report.days_left = Some(days);
            Some(chain)
        }
        Err(e) => {
            report.push("certificate", Err(e.to_string()));
            None
        }
    };
    if let Some(chain) = &chain {
        report.push("key", key_matches(files, &provider, options.now));
        report.push("chain", verify_chain(chain, options.ca_file.as_ref(), &provider, options.now));
    }
    if let Some(url) = &options.url {
        let served = presented(url, options.timeout, &provider).and_then(|chain| {
            CertInfo::of(&chain[0]).map_err(|e| format!("{url} presents a certificate that does not parse: {e}"))
        });
        let result = match (&served, &report.certificate) {
            (Err(e), _) => Err(e.clone()),
            (Ok(served), Some(file)) if served.sha256 == file.sha256 => {
                Ok(format!("{url} presents the certificate in the file (sha256 {})", served.sha256))
            }
            (Ok(served), Some(file)) => Err(format!(
                "{url} presents another certificate (serial {}, ends {}, sha256 {}) than the file (serial {}, \
                 ends {}, sha256 {}): the renewal was not picked up; send the service SIGHUP or wait \
                 tls.reload_secs, and look for a reload error in its log",
                served.serial, served.not_after, served.sha256, file.serial, file.not_after, file.sha256
            )),
            (Ok(served), None) => Err(format!(
                "{url} presents serial {}, ends {}; there is no readable certificate file to compare it with",
                served.serial, served.not_after
            )),
        };
        report.served = served.ok();
        report.push("served", result);
    }
    report
}

fn validity(info: &CertInfo, days: i64, options: &CheckOptions) -> Result<String, String> {
    let what = format!("{} ({}), serial {}", options.files.cert.display(), info.subject, info.serial);
    if info.not_after <= options.now {
        Err(format!("{what} expired on {}: renew it now", info.not_after))
    } else if days < i64::from(options.renew_days) {
        Err(format!(
            "{what} ends {}, in {days} day(s): renewal due (at fewer than {} days left)",
            info.not_after, options.renew_days
        ))
    } else {
        Ok(format!("{what} ends {}, in {days} days", info.not_after))
    }
}

fn key_matches(files: &PairFiles, provider: &CryptoProvider, now: Timestamp) -> Result<String, String> {
    match files.load(provider, now) {
        // Expiry is checked apart; reaching it means the key matched.
        Ok(_) | Err(TlsError::Expired { .. }) => {
            Ok(format!("{} is the certificate's private key", files.key.display()))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn verify_chain(
    chain: &[CertificateDer<'static>],
    ca_file: Option<&PathBuf>,
    provider: &CryptoProvider,
    now: Timestamp,
) -> Result<String, String> {
    let mut roots = RootCertStore::empty();
    let source = match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("the CA file {}: {e}", path.display()))?;
            let cas = pair::certificates(path, &pem).map_err(|e| format!("the CA file: {e}"))?;
            roots.add_parsable_certificates(cas);
            format!("the CA file {}", path.display())
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            "the system's CA certificates".to_owned()
        }
    };
    if roots.is_empty() {
        return Err(format!("{source}: no CA certificate to verify the chain with (set FERRETWATCH_TLS_CA)"));
    }
    let leaf = rustls::server::ParsedCertificate::try_from(&chain[0]).map_err(|e| e.to_string())?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs()));
    let algorithms = provider.signature_verification_algorithms.all;
    match rustls::client::verify_server_cert_signed_by_trust_anchor(&leaf, &roots, &chain[1..], time, algorithms) {
        Ok(()) => Ok(format!("the chain ({} certificate(s)) verifies with {source}", chain.len())),
        Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => Err(format!(
            "the chain ({} certificate(s)) does not lead to a root in {source}: an intermediate certificate is \
             missing from the file, or its CA is not trusted",
            chain.len()
        )),
        Err(e) => Err(format!("the chain does not verify with {source}: {e}")),
    }
}

/// The chain the service at `url` presents in a handshake. Nothing is sent over that
/// connection, so its certificate is not checked here; the handshake's signature is, so
/// the service holds the key of what it presents.
pub fn presented(
    url: &url::Url,
    timeout: Duration,
    provider: &Arc<CryptoProvider>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |e: &dyn std::fmt::Display| format!("could not read the certificate {url} presents: {e}");
    if url.scheme() != "https" {
        return Err(fail(&"not an https URL"));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let (addrs, name): (Vec<SocketAddr>, ServerName<'static>) = match url.host() {
        Some(url::Host::Domain(host)) => (
            (host, port).to_socket_addrs().map_err(|e| fail(&e))?.collect(),
            ServerName::try_from(host.to_owned()).map_err(|e| fail(&e))?,
        ),
        Some(url::Host::Ipv4(ip)) => (vec![SocketAddr::from((ip, port))], ServerName::from(std::net::IpAddr::V4(ip))),
        Some(url::Host::Ipv6(ip)) => (vec![SocketAddr::from((ip, port))], ServerName::from(std::net::IpAddr::V6(ip))),
        None => return Err(fail(&"no host")),
    };
    let addr = addrs.first().ok_or_else(|| fail(&"the host has no address"))?;
    let mut socket = TcpStream::connect_timeout(addr, timeout).map_err(|e| fail(&e))?;
    socket.set_read_timeout(Some(timeout)).map_err(|e| fail(&e))?;
    socket.set_write_timeout(Some(timeout)).map_err(|e| fail(&e))?;
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(&e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadOnly(provider.clone())))
        .with_no_client_auth();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| fail(&e))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut socket).map_err(|e| fail(&e))?;
    }
    let chain = conn.peer_certificates().map(<[_]>::to_vec).unwrap_or_default();
    conn.send_close_notify();
    let _ = conn.complete_io(&mut socket);
    if chain.is_empty() {
        return Err(fail(&"no certificate presented"));
    }
    Ok(chain)
}

/// Accepts whatever certificate is presented (it is compared afterwards, not trusted)
/// but checks the handshake's signatures with it.
#[derive(Debug)]
struct ReadOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for ReadOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The URL of a service listening on `listen`, seen from the same machine (an
/// unspecified address is reached on loopback).
pub fn local_url(listen: SocketAddr) -> url::Url {
    let ip = match listen.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    url::Url::parse(&format!("https://{}", SocketAddr::new(ip, listen.port()))).expect("an address is a URL host")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_checked_on_loopback() {
        assert_eq!(local_url("0.0.0.0:8443".parse().unwrap()).as_str(), "https://127.0.0.1:8443/");
        assert_eq!(local_url("[::]:443".parse().unwrap()).as_str(), "https://[::1]/");
        assert_eq!(local_url("192.0.2.7:8443".parse().unwrap()).as_str(), "https://192.0.2.7:8443/");
    }

    #[test]
    fn days_left_count_whole_days_and_go_negative_after_the_end() {
        let info = CertInfo {
            subject: String::new(),
            issuer: String::new(),
            serial: String::new(),
            not_before: Timestamp::EPOCH,
            not_after: Timestamp::from_secs(10 * 86_400),
            sha256: ferretwatch_types::Sha256::of(b""),
        };
        assert_eq!(info.days_left(Timestamp::from_secs(0)), 10);
        assert_eq!(info.days_left(Timestamp::from_secs(86_400 + 1)), 8);
        assert_eq!(info.days_left(Timestamp::from_secs(11 * 86_400)), -1);
    }
}
