//! Test harnesses: one per backend, each giving a test its own fresh database.
//!
//! - SQLite: a file in a temporary directory, removed with it.
//! - PostgreSQL: a database with a random name created on the server named by
//!   `FERRETWATCH_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`) and
//!   dropped when the harness is dropped, also when the test panics. If the server is
//!   unreachable the test fails with instructions. `FERRETWATCH_SKIP_POSTGRES=1` marks the
//!   PostgreSQL tests ignored at build time (`build.rs`), so they are reported as skipped.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use ferretwatch_store::{
    ExtensionVersion, Finding, Findings, NewReport, ReportKind, ReportReason, ReportUrl, Score, Store, StoreOptions,
};
use ferretwatch_types::{PackVersion, Timestamp};
use sqlx::{Connection, Executor};

/// A fresh, empty database for one test.
pub trait Harness: Sized + Send + Sync {
    /// Creates the database.
    fn create() -> impl std::future::Future<Output = Self> + Send;
    /// Opens a store on it (again and again: each call is a new pool, like a restart).
    fn open(&self) -> impl std::future::Future<Output = Arc<dyn Store>> + Send {
        self.open_with(StoreOptions::default())
    }
    /// Opens a store with `options`.
    fn open_with(&self, options: StoreOptions) -> impl std::future::Future<Output = Arc<dyn Store>> + Send;
    /// Every byte the database holds, as near as the backend allows: for SQLite the
    /// database, WAL and shared-memory files; for PostgreSQL every row of every table.
    fn raw_contents(&self) -> impl std::future::Future<Output = Vec<u8>> + Send;
    /// Runs SQL outside the store (to test what the schema forbids).
    fn execute_raw(&self, sql: &str) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

pub struct SqliteHarness {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteHarness {
    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

impl Harness for SqliteHarness {
    async fn create() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        // A subdirectory that does not exist yet: opening must create it.
        let path = dir.path().join("data").join("ferretwatch.db");
        Self { _dir: dir, path }
    }

    async fn open_with(&self, options: StoreOptions) -> Arc<dyn Store> {
        ferretwatch_store::open(&self.url(), &options).await.expect("open sqlite store")
    }

    async fn raw_contents(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            if let Ok(content) = std::fs::read(&name) {
                bytes.extend(content);
            }
        }
        bytes
    }

    async fn execute_raw(&self, sql: &str) -> Result<(), String> {
        let mut conn = sqlx::SqliteConnection::connect(&self.url()).await.map_err(|e| e.to_string())?;
        conn.execute(sql).await.map(drop).map_err(|e| e.to_string())
    }
}

pub struct PostgresHarness {
    admin_url: String,
    url: String,
    name: String,
}

fn postgres_base_url() -> String {
    std::env::var("FERRETWATCH_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The URL of database `name` on the server of `base`.
fn with_database(base: &str, name: &str) -> String {
    let mut url = url::Url::parse(base).expect("FERRETWATCH_TEST_POSTGRES is a URL");
    url.set_path(name);
    url.into()
}

impl Harness for PostgresHarness {
    async fn create() -> Self {
        let admin_url = postgres_base_url();
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(err) => panic!(
                "PostgreSQL is not reachable at {admin_url} ({err}).\n\
                 The store's conformance suite runs against PostgreSQL too. Start it (for example \
                 `service postgresql start`), point FERRETWATCH_TEST_POSTGRES at a server where this user \
                 may CREATE DATABASE, or set FERRETWATCH_SKIP_POSTGRES=1 to skip the PostgreSQL tests."
            ),
        };
        let mut random = [0u8; 8];
        getrandom::getrandom(&mut random).expect("random bytes");
        let name = format!("fw_test_{}", hex::encode(random));
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("CREATE DATABASE");
        let _ = admin.close().await;
        Self { url: with_database(&admin_url, &name), admin_url, name }
    }

    async fn open_with(&self, options: StoreOptions) -> Arc<dyn Store> {
        ferretwatch_store::open(&self.url, &options).await.expect("open postgres store")
    }

    async fn raw_contents(&self) -> Vec<u8> {
        let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&mut conn)
        .await
        .expect("list tables");
        let mut bytes = Vec::new();
        for table in tables {
            let text: Option<String> =
                sqlx::query_scalar(&format!("SELECT string_agg(t::text, E'\\n') FROM {table} t"))
                    .fetch_one(&mut conn)
                    .await
                    .expect("dump table");
            bytes.extend(text.unwrap_or_default().into_bytes());
        }
        bytes
    }

    async fn execute_raw(&self, sql: &str) -> Result<(), String> {
        let mut conn = sqlx::PgConnection::connect(&self.url).await.map_err(|e| e.to_string())?;
        conn.execute(sql).await.map(drop).map_err(|e| e.to_string())
    }
}

impl Drop for PostgresHarness {
    /// Drops the test database synchronously, on a thread with its own runtime (a `Drop`
    /// cannot await, and may run on a runtime thread or while unwinding from a panic).
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("warning: could not drop test database {}: {err}", self.name),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}

/// A valid report of `url` with fixed, recognisable contents.
pub fn report(url: &str) -> NewReport {
    NewReport {
        kind: ReportKind::Report,
        url: ReportUrl::parse(url).expect("valid test URL"),
        reason: ReportReason::PhishingLogin,
        received_at: Timestamp::from_millis(1_790_000_000_000),
        client_timestamp: Timestamp::from_millis(1_789_999_999_000),
        extension_version: ExtensionVersion::parse("1.4.2").unwrap(),
        pack_version: PackVersion::parse("2026.11.27.01").unwrap(),
        score: Score::new(87).unwrap(),
        findings: Findings::new(vec![
            Finding::new("idn_homograph_high", "xn--pypal-4ve.com is displayed as pаypal.com").unwrap(),
            Finding::new("password_form_offsite", "<form action=\"https://collect.example/p.php\">").unwrap(),
        ])
        .unwrap(),
        screenshot_hash: None,
        install_token_id: None,
        client_net: None,
    }
}

/// Instantiates each named suite test (an `async fn NAME(h: &impl Harness)` of the file)
/// once per backend, in `mod sqlite` (always run) and `mod postgres` (built as ignored, so
/// reported as skipped, never as passed, when `FERRETWATCH_SKIP_POSTGRES=1`), each test on
/// a fresh database.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $crate::support::on_both_backends!(@each $crate::support::SqliteHarness,
                #[doc = "SQLite is embedded: always run."]; $($test),*);
        }
        mod postgres {
            $crate::support::on_both_backends!(@each $crate::support::PostgresHarness,
                #[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]; $($test),*);
        }
    };
    (@each $harness:ty, #[$attr:meta]; $($test:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[$attr]
            async fn $test() {
                let harness = <$harness as $crate::support::Harness>::create().await;
                super::$test(&harness).await;
            }
        )*
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;
