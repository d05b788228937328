//! TLS for the end-to-end tests: certificates made with the `openssl` command (a CA, and
//! server certificates for localhost it signs, each with its own serial and lifetime), and
//! `ferretwatch serve` on TLS, read through its log.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Runs openssl in `dir`; its standard output.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA in a directory (`ca.pem`, `ca.key`).
pub struct Ca {
    dir: PathBuf,
    name: String,
    /// Its certificate (PEM).
    pub cert: PathBuf,
}

/// A certificate (PEM) and its key.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

impl Ca {
    /// A new self-signed CA in `dir`.
    pub fn new(dir: &Path) -> Self {
        let mut args = vec!["req", "-x509", "-nodes", "-days", "365", "-subj", "/CN=FerretWatch Test CA"];
        args.extend(EC);
        args.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
        openssl(dir, &args);
        std::fs::write(dir.join("server.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        std::fs::write(dir.join("ca.cnf"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n")
            .unwrap();
        Ca { dir: dir.to_owned(), name: "ca".into(), cert: dir.join("ca.pem") }
    }

    /// A certificate for localhost, `NAME.pem` and `NAME.key` beside the CA, valid for
    /// `days` from now, with `serial`.
    pub fn issue(&self, name: &str, days: u32, serial: u64) -> Leaf {
        self.sign(name, "/CN=localhost", "server.cnf", days, serial)
    }

    /// An intermediate CA it signs, `NAME.pem` and `NAME.key`.
    pub fn intermediate(&self, name: &str) -> Ca {
        let leaf = self.sign(name, "/CN=FerretWatch Test Intermediate", "ca.cnf", 365, 77);
        Ca { dir: self.dir.clone(), name: name.into(), cert: leaf.cert }
    }

    fn sign(&self, name: &str, subject: &str, extensions: &str, days: u32, serial: u64) -> Leaf {
        let (cert, key, csr) = (format!("{name}.pem"), format!("{name}.key"), format!("{name}.csr"));
        let mut args = vec!["req", "-nodes", "-subj", subject, "-keyout", &key, "-out", &csr];
        args.extend(EC);
        openssl(&self.dir, &args);
        let (ca_cert, ca_key) = (format!("{}.pem", self.name), format!("{}.key", self.name));
        let (days, serial) = (days.to_string(), serial.to_string());
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-set_serial",
                &serial,
                "-days",
                &days,
                "-extfile",
                extensions,
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
}

/// Writes `bytes` to `path` through a temporary file and a rename, as deployment tools do.
pub fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A running `ferretwatch serve --config CONFIG`, its log lines arriving on a channel.
pub struct Served {
    child: Child,
    lines: Receiver<String>,
    /// Its API port.
    pub port: u16,
    /// The lines it logged up to "listening".
    pub startup: Vec<String>,
}

impl Served {
    /// Starts it in `dir` on a free port and waits for its "listening" line (printed once
    /// the listener accepts: no sleeping).
    pub fn start(dir: &Path, config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .current_dir(dir)
            .env("FERRETWATCH_METRICS_LISTEN", "127.0.0.1:0")
            .env("FERRETWATCH_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ferretwatch serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Served { child, lines, port: 0, startup: Vec::new() };
        let deadline = Instant::now() + Duration::from_secs(120);
        let line = loop {
            let line = served.lines.recv_timeout(deadline.saturating_duration_since(Instant::now()));
            let line = line.expect("the server printed its listening line");
            if line.contains("\"message\":\"listening\"") {
                break line;
            }
            served.startup.push(line);
        };
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["scheme"], "https", "{line}");
        let addr: std::net::SocketAddr = value["addr"].as_str().unwrap().parse().unwrap();
        served.port = addr.port();
        served
    }

    /// The next log line that contains `needle` (a minute at most).
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needle} within a minute"),
            }
        }
    }

    /// Sends SIGHUP and waits for the line the reload logs (`needle`).
    pub fn hangup(&self, needle: &str) -> String {
        let status = Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.wait_for(needle)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A configuration in `dir` serving `cert` and `key`, reloaded only on SIGHUP.
pub fn config(dir: &Path, cert: &Path, key: &Path) -> PathBuf {
    let path = dir.join("ferretwatch.toml");
    let text = format!(
        "data_dir = {:?}\n[tls]\ncert_file = {:?}\nkey_file = {:?}\nreload_secs = 0\n",
        dir.join("data"),
        cert,
        key
    );
    std::fs::write(&path, text).unwrap();
    path
}
