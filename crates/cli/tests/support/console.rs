//! A console deployment for the admin and audit command tests: a data directory (where the
//! console's keys live) and a fresh database on SQLite or PostgreSQL; the real binary run
//! against both, and the store opened directly to seed and inspect.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use ferretwatch_server::console::keys::ConsoleKeys;
use ferretwatch_server::Settings;
use ferretwatch_store::{
    audit_hash, AccessEvent, AccessOutcome, Account, AccountId, AuditSigner, Audited, Email, NewAccount, NewAuditEntry,
    NewInvitation, Store, StoreOptions, TokenRole,
};
use ferretwatch_types::{Sha256, Timestamp};
use sqlx::{Connection, Executor};

use crate::support::PgDatabase;

/// Runs each listed test function once per backend: `mod sqlite` and `mod postgres`
/// (ignored, so reported as skipped, with FERRETWATCH_SKIP_POSTGRES=1). Declare the module
/// `#[macro_use]`.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $test() {
                    super::$test(&crate::console::Console::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                #[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
                fn $test() {
                    super::$test(&crate::console::Console::postgres());
                }
            )*
        }
    };
}

/// One console deployment under test.
pub struct Console {
    dir: tempfile::TempDir,
    /// The database URL.
    pub url: String,
    pg: Option<PgDatabase>,
}

/// An hour, a day, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The wall clock moved by `ms`.
pub fn ago(ms: i64) -> Timestamp {
    Timestamp::from_millis(Timestamp::now().as_millis() - ms)
}

impl Console {
    /// On SQLite, in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("data").join("ferretwatch.db").display());
        Console { dir, url, pg: None }
    }

    /// On a fresh PostgreSQL database.
    pub fn postgres() -> Self {
        let pg = PgDatabase::create();
        Console { dir: tempfile::tempdir().unwrap(), url: pg.url.clone(), pg: Some(pg) }
    }

    /// The data directory (the console's keys are under `console/`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A scratch directory beside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with this deployment's environment: its data directory, no database
    /// setting from the caller's environment, `USER=tester`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferretwatch"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("FERRETWATCH_DATA_DIR", self.data_dir())
            .env_remove("FERRETWATCH_DB")
            .env_remove("FERRETWATCH_CONFIG")
            .env("USER", "tester");
        command
    }

    /// Runs `ferretwatch ARGS` (no `--db`).
    pub fn run_plain(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs `ferretwatch ARGS --db URL`.
    /// Runs `scripts/NAME` (a runbook wrapper) with the binary and the database from the
    /// environment, as an operator would.
    pub fn script(&self, name: &str, args: &[&str]) -> Output {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts").join(name);
        Command::new("bash")
            .arg(path)
            .args(args)
            .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
            .env("FERRETWATCH_DB", &self.url)
            .env("FERRETWATCH_DATA_DIR", self.data_dir())
            .env_remove("FERRETWATCH_CONFIG")
            .output()
            .unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--db", &self.url]);
        self.run_plain(&all)
    }

    /// The settings the binary sees.
    pub fn settings(&self) -> Settings {
        Settings { data_dir: self.data_dir(), db: Some(self.url.clone()), ..Settings::default() }
    }

    /// The console's keys, created on first use as the server creates them.
    pub fn keys(&self) -> ConsoleKeys {
        ConsoleKeys::load_or_create(&self.settings()).unwrap()
    }

    /// Runs `body` with the store open.
    pub fn with_store<T>(&self, body: impl AsyncFnOnce(&Arc<dyn Store>) -> T) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store = ferretwatch_store::open(&self.url, &StoreOptions::default()).await.unwrap();
            let out = body(&store).await;
            store.close().await;
            out
        })
    }

    /// Runs SQL outside the store (to tamper with what it protects).
    pub fn raw(&self, sql: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            if self.pg.is_some() {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                conn.execute(sql).await.unwrap();
            } else {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                conn.execute(sql).await.unwrap();
            }
        });
    }

    /// Lifts the audit log's append-only triggers (what an attacker with database access
    /// can do).
    pub fn drop_audit_triggers(&self) {
        if self.pg.is_some() {
            self.raw("DROP TRIGGER audit_log_append_only ON audit_log");
        } else {
            self.raw("DROP TRIGGER audit_log_append_only; DROP TRIGGER audit_log_no_delete");
        }
    }

    /// Appends `count` signed entries after the newest in one statement (the store's own
    /// path commits each, which takes seconds per thousand): each hashed as the store
    /// hashes it and signed with the console's key.
    pub fn bulk_audit(&self, count: i64) {
        let keys = self.keys();
        let head = self.with_store(async |store| {
            let mut last = None;
            loop {
                let page = store
                    .audit_after(last.as_ref().map_or(0, |e: &ferretwatch_store::AuditEntry| e.seq), 1000)
                    .await
                    .unwrap();
                match page.last() {
                    Some(e) => last = Some(e.clone()),
                    None => return last,
                }
            }
        });
        let (mut seq, mut prev) =
            head.map_or((0, Sha256::from_bytes([0; 32])), |e| (e.seq, Sha256::from_hex(&e.hash).unwrap()));
        let blob = |bytes: &[u8]| {
            if self.pg.is_some() {
                format!("'\\x{}'::bytea", hex::encode(bytes))
            } else {
                format!("X'{}'", hex::encode(bytes))
            }
        };
        let mut rows = Vec::new();
        for i in 0..count {
            seq += 1;
            let at = Timestamp::now().as_millis() + i;
            let details = format!("{{\"n\":{i}}}");
            let hash = audit_hash(seq, at, "cli:tester", "settings.changed", "bulk", &details, &prev);
            rows.push(format!(
                "({seq}, {at}, 'cli:tester', 'settings.changed', 'bulk', '{details}', {}, {}, '{}', {})",
                blob(prev.as_bytes()),
                blob(hash.as_bytes()),
                keys.key_id(),
                blob(&keys.sign(&hash))
            ));
            prev = hash;
        }
        self.raw(&format!(
            "INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash, key_id, signature) VALUES {}",
            rows.join(", ")
        ));
    }

    /// An account enrolled through an invitation at `created_at` (the store's own path),
    /// audited with the console's key.
    pub fn enrol(&self, n: u8, email: &str, role: TokenRole, created_at: Timestamp) -> Account {
        let keys = self.keys();
        self.with_store(async |store| {
            let code = Sha256::of(&[n, 0xc0, 0xde]);
            let invited_at = Timestamp::from_millis(created_at.as_millis() - 60_000);
            let invitation = NewInvitation {
                code_hash: code,
                role,
                email: None,
                created_by: "cli:tester".into(),
                created_at: invited_at,
                expires_at: Timestamp::from_millis(created_at.as_millis() + HOUR_MS),
            };
            let entry = audit_entry("account.invited", email, invited_at);
            store.create_invitation(&invitation, Audited { entry: &entry, signer: &keys }).await.unwrap();
            let account = NewAccount {
                email: Email::parse(email).unwrap(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                totp_secret: vec![1, 2, 3],
                totp_last_step: 1,
                recovery_codes: (0..10u8).map(|i| Sha256::of(&[n, i])).collect(),
                created_at,
            };
            let entry = audit_entry("account.enrolled", email, created_at);
            store.redeem_invitation(&code, &account, Audited { entry: &entry, signer: &keys }).await.unwrap()
        })
    }

    /// Removes an account's TOTP seed (an account that never enrolled one).
    pub fn drop_totp(&self, id: AccountId) {
        self.raw(&format!("UPDATE admin_accounts SET totp_secret = NULL WHERE id = {}", id.0));
    }

    /// Appends `count` sign-in attempts.
    pub fn attempts(&self, email: &str, net: &str, outcome: AccessOutcome, count: usize, at: Timestamp) {
        self.with_store(async |store| {
            for i in 0..count {
                let event = AccessEvent {
                    at: Timestamp::from_millis(at.as_millis() + i as i64),
                    email: email.into(),
                    account_id: None,
                    client_net: net.into(),
                    method: "password".into(),
                    outcome,
                    user_agent: Some("test".into()),
                };
                store.append_access(&event).await.unwrap();
            }
        });
    }
}

/// An audit entry by `cli:tester`.
pub fn audit_entry(action: &str, target: &str, at: Timestamp) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: "cli:tester".into(),
        action: action.into(),
        target: target.into(),
        details: serde_json::json!({ "by": "test" }),
    }
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The exit status, with both streams in the message when it is not `want`.
#[track_caller]
pub fn expect_status(out: &Output, want: i32) {
    assert_eq!(out.status.code(), Some(want), "stdout:\n{}\nstderr:\n{}", stdout(out), stderr(out));
}

/// The path as an argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}
