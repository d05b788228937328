//! What the console's commands (`admin …` and `audit …`) share: the database and
//! configuration flags, one store opened for the length of a command, and the console's
//! audit keys.
//!
//! Keys: commands that write to the audit log (`admin invite`) or sign an export sign with
//! the server's own key, loaded as the server loads it (`ConsoleKeys::load_or_create`), so
//! they must run with the server's configuration and data directory. Verification never
//! creates a key: it reads the public half from `--public-key`, the configured key, or
//! `DATA_DIR/console/audit.pub.json`, and fails when there is none.

use std::path::{Path, PathBuf};

use clap::Args;
use ferretwatch_server::console::keys::{AuditPublicKey, ConsoleKeys, AUDIT_KEY_FILE, AUDIT_PUBLIC_FILE};
use ferretwatch_server::Settings;
use ferretwatch_store::{AuditVerifier, Store, StoreOptions};
use ferretwatch_types::Sha256;

use crate::error::{CliError, Failure};
use crate::output;

/// Where the database is: `--db`, else the configuration's.
#[derive(Args, Clone, Debug)]
pub struct DbArgs {
    /// The database (sqlite://PATH or postgres://…); default: the server's setting.
    #[arg(long)]
    pub db: Option<String>,
    /// The server's configuration file, for its database, data directory and console
    /// settings.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl DbArgs {
    /// The settings in force (file, environment, then `--db`).
    pub fn settings(&self) -> Result<Settings, CliError> {
        crate::commands::serve::settings(self.config.as_deref(), self.db.clone())
    }
}

/// Opens the store the settings name, runs `body` with it, and closes it.
pub fn with_store<T>(
    settings: &Settings,
    body: impl AsyncFnOnce(&dyn Store) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed("runtime", e.to_string()))?;
    runtime.block_on(async {
        let store = ferretwatch_store::open(&settings.db_url(), &StoreOptions::default()).await?;
        let result = body(&*store).await;
        store.close().await;
        result
    })
}

/// The server's console keys, to sign with. With `may_create`, a missing audit key is
/// created (as the server does on its first start) and a warning says so: entries signed
/// with a key the server does not use fail verification later. Without it, a missing key
/// is an error.
pub fn signing_keys(settings: &Settings, may_create: bool) -> Result<ConsoleKeys, CliError> {
    let path = settings.console.audit_key.clone().unwrap_or_else(|| settings.data_dir.join(AUDIT_KEY_FILE));
    let missing = !path.exists();
    if missing && !may_create {
        return Err(CliError::input(
            "no_audit_key",
            format!(
                "no audit key at {}: run this where the server keeps its keys, with its configuration (--config) \
                 or data directory (FERRETWATCH_DATA_DIR)",
                path.display()
            ),
        ));
    }
    let keys = ConsoleKeys::load_or_create(settings)
        .map_err(|e| CliError::input("console_keys", format!("the console's keys: {e}")))?;
    if missing {
        output::warn(format_args!(
            "created a new audit key at {}: run console commands with the server's configuration \
             (--config) or data directory (FERRETWATCH_DATA_DIR), or its log will not verify",
            path.display()
        ));
    }
    Ok(keys)
}

/// The audit keys a log may be signed with: each accepted for the entries that name its
/// key id (more than one across a key rotation).
#[derive(Debug)]
pub struct AuditKeys(Vec<AuditPublicKey>);

impl AuditKeys {
    /// The keys `--public-key` names; without any, the configured audit key's public half:
    /// `console.audit_key`, else `DATA_DIR/console/audit.pub.json` (never created here).
    pub fn resolve(given: &[PathBuf], settings: &Settings) -> Result<Self, CliError> {
        let read = |path: &Path| {
            AuditPublicKey::read(path).map_err(|e| CliError::input("bad_key", format!("audit public key: {e}")))
        };
        if !given.is_empty() {
            return given.iter().map(|p| read(p)).collect::<Result<_, _>>().map(AuditKeys);
        }
        let candidates = [
            settings.console.audit_key.clone(),
            Some(settings.data_dir.join(AUDIT_PUBLIC_FILE)),
            Some(settings.data_dir.join(AUDIT_KEY_FILE)),
        ];
        match candidates.into_iter().flatten().find(|p| p.exists()) {
            Some(path) => Ok(AuditKeys(vec![read(&path)?])),
            None => Err(CliError::input(
                "no_audit_key",
                format!(
                    "no audit public key: give --public-key FILE, or run with the server's configuration \
                     (console.audit_key, or {} under its data directory {})",
                    AUDIT_PUBLIC_FILE,
                    settings.data_dir.display()
                ),
            )),
        }
    }

    /// The key ids, for reports.
    pub fn ids(&self) -> Vec<&str> {
        self.0.iter().map(AuditPublicKey::key_id).collect()
    }
}

impl AuditVerifier for AuditKeys {
    fn verify(&self, key_id: &str, hash: &Sha256, signature: &[u8]) -> bool {
        self.0.iter().any(|k| k.key_id() == key_id && k.verify(key_id, hash, signature))
    }
}
