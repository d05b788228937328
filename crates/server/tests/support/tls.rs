//! Certificates for the TLS tests, made with the `openssl` command: a CA, and server
//! certificates for localhost that it signs, each with its own serial and lifetime.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferretwatch_types::Timestamp;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA in a directory.
pub struct TestCa {
    dir: PathBuf,
    /// Its certificate (PEM).
    pub cert: PathBuf,
}

/// A server certificate and its key.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA (P-256) in `dir`.
    pub fn new(dir: &Path) -> Self {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "365",
                "-subj",
                "/CN=FerretWatch Test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        );
        std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        TestCa { dir: dir.to_owned(), cert: dir.join("ca.pem") }
    }

    /// A certificate for localhost, `NAME.pem` and `NAME.key`, valid for `days` from now
    /// (0: already ended), with `serial`.
    pub fn issue(&self, name: &str, days: u32, serial: u64) -> Leaf {
        let (cert, key, csr) = (format!("{name}.pem"), format!("{name}.key"), format!("{name}.csr"));
        openssl(
            &self.dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                &key,
                "-out",
                &csr,
            ],
        );
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                &serial.to_string(),
                "-days",
                &days.to_string(),
                "-extfile",
                "ext.cnf",
                "-out",
                &cert,
            ],
        );
        Leaf { cert: self.dir.join(cert), key: self.dir.join(key) }
    }
}

impl Leaf {
    /// Copies this pair over the files a server reads, key first, each by a rename.
    pub fn install(&self, cert: &Path, key: &Path) {
        replace(key, &std::fs::read(&self.key).unwrap());
        replace(cert, &std::fs::read(&self.cert).unwrap());
    }

    /// The certificate's DER encoding.
    pub fn der(&self) -> Vec<u8> {
        CertificateDer::from_pem_file(&self.cert).unwrap().as_ref().to_vec()
    }

    /// Its notAfter, as openssl reads it.
    pub fn not_after(&self) -> Timestamp {
        let out = openssl(
            self.cert.parent().unwrap(),
            &["x509", "-in", self.cert.to_str().unwrap(), "-noout", "-enddate", "-dateopt", "iso_8601"],
        );
        let text = out.trim().trim_start_matches("notAfter=").replace(' ', "T");
        Timestamp::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, as deployment tools do.
pub fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
