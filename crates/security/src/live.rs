//! A running service, from outside: the certificate it serves (days left, the protocol
//! negotiated) and the security headers of three kinds of page: the API (`/health`), the
//! public status page (`/status`) and the console (`/admin/login`, the one console page
//! that needs no session).
//!
//! - `X-Content-Type-Options: nosniff` and a `Referrer-Policy` that does not leak URLs
//!   (not `unsafe-url` or `no-referrer-when-downgrade`) on every page;
//! - on the console, a Content-Security-Policy with `frame-ancestors 'none'` (an error
//!   when missing: a framed console is a clickjacking target);
//! - over https, `Strict-Transport-Security` with at least 180 days;
//! - a `Server` header, if any, without a version.
//!
//! The certificate is read, not verified: the chain and the name are
//! `cert-expiry-check.sh`'s job.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ferretwatch_types::Timestamp;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use crate::config::expiry;
use crate::{der, rules, Finding, Location, Report, Rule, Status};

/// The pages whose headers are checked, and whether each is the console's.
pub const PAGES: [(&str, bool); 3] = [("/health", false), ("/status", false), ("/admin/login", true)];

/// At least this `max-age` for HSTS: 180 days.
const HSTS_MIN_SECS: u64 = 180 * 86_400;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Checks the service at `base` (`http://HOST:PORT` or `https://…`). Over https, its
/// pages are fetched trusting the certificates of the PEM file `ca` when given (a private
/// CA), else the public roots.
pub fn check(base: &str, ca: Option<&std::path::Path>, cert_days_warning: u64, now: Timestamp) -> Report {
    let mut report = Report::default();
    let base = base.trim_end_matches('/');
    let https = base.starts_with("https://");
    if https {
        served_certificate(base, cert_days_warning, now, &mut report);
    }
    let mut config =
        ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(TIMEOUT)).max_redirects(0);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).unwrap_or_default();
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            let rule = rules::service_unreachable();
            let finding = Finding::new(Status::Error, &rule, "TLS CA", format!("{}: no PEM certificate", ca.display()));
            report.push(&rule, finding);
            return report;
        }
        let roots = ureq::tls::RootCerts::new_with_certs(&certs);
        config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
    }
    let agent: ureq::Agent = config.build().into();
    for (path, console) in PAGES {
        let url = format!("{base}{path}");
        let response = match agent.get(&url).call() {
            Ok(response) => response,
            Err(e) => {
                let rule = rules::service_unreachable();
                report.push(
                    &rule,
                    Finding::new(Status::Error, &rule, format!("GET {path}"), format!("{url}: {e}")).at(Location {
                        uri: url,
                        in_source_root: false,
                        line: None,
                        logical: None,
                    }),
                );
                return report;
            }
        };
        let headers = Headers(response.headers());
        let page = Page { path, url: &url };
        page.nosniff(&headers, &mut report);
        page.referrer_policy(&headers, &mut report);
        if console {
            page.frame_ancestors(&headers, &mut report);
        }
        if https {
            page.hsts(&headers, &mut report);
        }
        page.server(&headers, &mut report);
    }
    report
}

struct Headers<'a>(&'a ureq::http::HeaderMap);

impl Headers<'_> {
    fn get(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self.0.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

struct Page<'a> {
    path: &'a str,
    url: &'a str,
}

impl Page<'_> {
    fn finding(&self, status: Status, rule: &Rule, header: &str, message: String) -> Finding {
        Finding::new(status, rule, format!("GET {} {header}", self.path), message)
            .identified_by(format!("{}|{}", rule.id, self.path))
            .at(Location { uri: self.url.to_owned(), in_source_root: false, line: None, logical: None })
    }

    fn push(&self, report: &mut Report, status: Status, rule: Rule, header: &str, message: String) {
        let finding = self.finding(status, &rule, header, message);
        report.push(&rule, finding);
    }

    fn nosniff(&self, headers: &Headers, report: &mut Report) {
        let header = "X-Content-Type-Options";
        match headers.get(header) {
            Some(v) if v.trim().eq_ignore_ascii_case("nosniff") => {
                self.push(report, Status::Ok, rules::header_nosniff(), header, "nosniff".into())
            }
            Some(v) => {
                self.push(report, Status::Warning, rules::header_nosniff(), header, format!("{v:?}, not nosniff"))
            }
            None => self.push(report, Status::Warning, rules::header_nosniff(), header, "missing".into()),
        }
    }

    fn referrer_policy(&self, headers: &Headers, report: &mut Report) {
        let header = "Referrer-Policy";
        let rule = rules::header_referrer_policy;
        match headers.get(header) {
            // The last policy a browser knows wins; these are the ones that send full URLs
            // to other sites.
            Some(v) => match v.rsplit(',').next().map(str::trim).unwrap_or_default().to_ascii_lowercase().as_str() {
                "unsafe-url" | "no-referrer-when-downgrade" => {
                    self.push(report, Status::Warning, rule(), header, format!("{v}: sends full URLs to other sites"))
                }
                _ => self.push(report, Status::Ok, rule(), header, v),
            },
            None => self.push(report, Status::Warning, rule(), header, "missing".into()),
        }
    }

    fn frame_ancestors(&self, headers: &Headers, report: &mut Report) {
        let header = "Content-Security-Policy";
        let rule = rules::header_frame_ancestors;
        let Some(csp) = headers.get(header) else {
            return self.push(report, Status::Error, rule(), header, "missing: the console may be framed".into());
        };
        let directive = csp.split([';', ',']).map(str::trim).find_map(|d| {
            let (name, value) = d.split_once(char::is_whitespace).unwrap_or((d, ""));
            name.eq_ignore_ascii_case("frame-ancestors").then(|| value.trim().to_owned())
        });
        match directive.as_deref() {
            Some("'none'") => self.push(report, Status::Ok, rule(), header, "frame-ancestors 'none'".into()),
            Some(other) => self.push(
                report,
                Status::Warning,
                rule(),
                header,
                format!("frame-ancestors {other}: the console may be framed by those; use 'none'"),
            ),
            None => self.push(
                report,
                Status::Error,
                rule(),
                header,
                "no frame-ancestors directive: the console may be framed".into(),
            ),
        }
    }

    fn hsts(&self, headers: &Headers, report: &mut Report) {
        let header = "Strict-Transport-Security";
        let rule = rules::header_hsts;
        let max_age = headers.get(header).and_then(|v| {
            v.split(';')
                .find_map(|d| d.trim().strip_prefix("max-age=").and_then(|n| n.trim_matches('"').parse::<u64>().ok()))
        });
        match max_age {
            Some(secs) if secs >= HSTS_MIN_SECS => {
                self.push(report, Status::Ok, rule(), header, format!("max-age={secs}"))
            }
            Some(secs) => self.push(
                report,
                Status::Warning,
                rule(),
                header,
                format!("max-age={secs}, under 180 days ({HSTS_MIN_SECS})"),
            ),
            None => self.push(report, Status::Warning, rule(), header, "missing over https".into()),
        }
    }

    fn server(&self, headers: &Headers, report: &mut Report) {
        let header = "Server";
        let rule = rules::header_server_version;
        match headers.get(header) {
            Some(v) if v.chars().any(|c| c.is_ascii_digit()) => {
                self.push(report, Status::Warning, rule(), header, format!("{v:?} names a version; remove it"))
            }
            Some(v) => self.push(report, Status::Ok, rule(), header, format!("{v:?}, no version")),
            None => self.push(report, Status::Ok, rule(), header, "not sent".into()),
        }
    }
}

/// The certificate an https service presents: days left, and the protocol negotiated.
fn served_certificate(base: &str, warn_days: u64, now: Timestamp, report: &mut Report) {
    let authority = base.trim_start_matches("https://").split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, p.parse().unwrap_or(443)),
        _ => (authority, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let rule = rules::certificate_expiry();
    let subject = format!("served certificate {host}:{port}");
    let location = Location { uri: base.to_owned(), in_source_root: false, line: None, logical: None };
    match handshake(host, port) {
        Ok((leaf, version)) => {
            match der::not_after(&leaf) {
                Some(end) => report.push(&rule, expiry(&rule, subject, end, now, warn_days).at(location)),
                None => report.push(
                    &rule,
                    Finding::new(Status::Error, &rule, subject, "its end of validity cannot be read").at(location),
                ),
            }
            report.notice(Finding::notice(Status::Ok, format!("TLS {host}:{port}"), format!("{version} negotiated")));
        }
        Err(why) => {
            let rule = rules::service_unreachable();
            report.push(&rule, Finding::new(Status::Error, &rule, subject, why).at(location));
        }
    }
}

/// A TLS handshake (1.2 or 1.3, the only versions offered): the leaf certificate and the
/// version agreed.
fn handshake(host: &str, port: u16) -> Result<(Vec<u8>, String), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadOnly(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))?;
    let mut conn = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port}: no address"))?;
    let mut sock = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("{addr}: {e}"))?;
    sock.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    sock.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| format!("TLS handshake with {addr}: {e}"))?;
    }
    let leaf = conn.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).ok_or("no certificate")?;
    let version = conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_else(|| "an unknown version".into());
    conn.send_close_notify();
    let _ = conn.write_tls(&mut sock);
    let _ = sock.flush();
    Ok((leaf, version))
}

/// Accepts any certificate (the scan reads its dates; verifying is another check's job)
/// but still checks the handshake's signatures with the provider's algorithms.
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
