//! PostgreSQL over TLS with the server's certificate verified, against a PostgreSQL of the
//! test's own: `initdb` in a temporary directory, a CA and a server certificate made by
//! the test with `openssl`, `ssl = on`, and a `pg_hba.conf` that refuses connections
//! without TLS. The store connects with `sslmode=verify-full` and the test's CA; with
//! another CA it refuses to connect.
//!
//! Needs PostgreSQL's server binaries (`/usr/lib/postgresql/*/bin`) and `openssl`; run as
//! root, the server runs as the `postgres` user. Reported as ignored with
//! FERRETWATCH_SKIP_POSTGRES=1.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferretwatch_store::{StoreOptions, StoreUrl};

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pg_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server binaries under /usr/lib/postgresql")
        .map(|e| e.unwrap().path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb")
}

fn is_root() -> bool {
    // The effective uid, from /proc.
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"))
}

/// `program args…` as the postgres user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// A CA and a certificate for localhost / 127.0.0.1 signed by it, in `dir`.
fn make_certificates(dir: &Path, name: &str) {
    let ca_key = dir.join(format!("{name}-ca.key"));
    let ca = dir.join(format!("{name}-ca.pem"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .arg("-keyout")
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca)
        .args(["-subj", &format!("/CN=FerretWatch test CA {name}")]));
    let key = dir.join(format!("{name}-server.key"));
    let csr = dir.join(format!("{name}-server.csr"));
    run(Command::new("openssl")
        .args(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .args(["-subj", "/CN=localhost"]));
    let ext = dir.join(format!("{name}-ext.cnf"));
    std::fs::write(&ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2"])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-CAcreateserial")
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(dir.join(format!("{name}-server.pem"))));
}

/// A PostgreSQL that accepts only TLS connections, stopped on drop.
struct TlsPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsPostgres {
    fn start() -> Self {
        let bin = pg_bin();
        let dir = tempfile::Builder::new().prefix("fw-pg-tls").tempdir().unwrap();
        let root = dir.path().to_owned();
        make_certificates(&root, "good");
        make_certificates(&root, "other");
        let data = root.join("data");
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&root));
        }
        run(as_postgres(&bin.join("initdb")).args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"]).arg(&data));
        // The server's key and certificate, readable by the server only.
        for (from, to) in [("good-server.pem", "server.crt"), ("good-server.key", "server.key")] {
            std::fs::copy(root.join(from), data.join(to)).unwrap();
        }
        std::fs::write(
            data.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\nlocal all all trust\n",
        )
        .unwrap();
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&data));
        }
        run(Command::new("chmod").arg("0600").arg(data.join("server.key")));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c ssl=on -c fsync=off", root.display());
        run(as_postgres(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-w", "-t", "60", "-o", &options, "-l"])
            .arg(root.join("server.log"))
            .arg("start"));
        TlsPostgres { bin, data, port, _dir: dir }
    }

    fn url(&self, ca: &str, mode: &str) -> String {
        let ca = self._dir.path().join(format!("{ca}-ca.pem"));
        format!("postgres://postgres@localhost:{}/postgres?sslmode={mode}&sslrootcert={}", self.port, ca.display())
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let _ =
            as_postgres(&self.bin.join("pg_ctl")).arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]).output();
    }
}

#[tokio::test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
async fn the_store_reaches_postgres_over_verified_tls_and_refuses_an_unknown_certificate() {
    let server = TlsPostgres::start();
    let options = StoreOptions { acquire_timeout: Duration::from_secs(5), ..StoreOptions::default() };

    // The test's CA: connected over TLS (the server refuses anything else), and the store
    // works: migrated, a report appended.
    let url = StoreUrl::parse(&server.url("good", "verify-full")).unwrap();
    let store = ferretwatch_store::open_url(&url, &options).await.expect("connects over verified TLS");
    store.ping().await.unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.reports, 0);
    store.close().await;

    // Another CA: the certificate does not verify, nothing is sent.
    let url = StoreUrl::parse(&server.url("other", "verify-full")).unwrap();
    let refused = ferretwatch_store::open_url(&url, &options).await;
    assert!(refused.is_err(), "a server certificate from another CA is refused");

    // Without TLS the server itself refuses (so the first success was TLS).
    let plain = format!("postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable", server.port);
    let refused = ferretwatch_store::open_url(&StoreUrl::parse(&plain).unwrap(), &options).await;
    assert!(refused.is_err(), "the test server accepts TLS only");
}
