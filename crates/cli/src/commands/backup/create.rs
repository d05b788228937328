//! `backup create`: the database (always), the configuration (with `--config`) and the
//! pack origin (when it exists), or the parts `--only` names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use ferretwatch_backup::config::ConfigSource;
use ferretwatch_backup::crypt::Recipient;
use ferretwatch_backup::db::DumpOptions;
use ferretwatch_backup::{CreateOptions, Destination, Kind, Manifest};
use ferretwatch_server::Settings;
use ferretwatch_store::StoreUrl;
use serde_json::json;

use super::{block_on, destination, SettingsArgs};
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// The configuration keys whose values are secrets.
pub(super) const SECRET_KEYS: [&str; 7] = [
    "install.secret",
    "captcha.secret",
    "server.s3_secret_access_key",
    "console.secret",
    "console.oidc_client_secret",
    "incidents.webhook_token",
    "incidents.smtp_url",
];

/// `backup create`.
#[derive(Args)]
pub struct CreateArgs {
    /// Where the backup goes: file:///DIR, a directory, or s3://BUCKET[/PREFIX]; default
    /// `[backup] destination`.
    #[arg(long)]
    to: Option<String>,
    /// The database (sqlite://PATH or postgres://…); default the configuration's.
    #[arg(long)]
    db: Option<String>,
    /// The pack origin to copy (file:///DIR, a directory, s3://…); default the
    /// configuration's, when it exists.
    #[arg(long)]
    origin: Option<String>,
    /// Only these parts (database, config, packs; comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
    only: Vec<Kind>,
    /// Encrypt the database and configuration to this recipient file (`backup keygen`);
    /// default `[backup] encrypt_to`. Secrets are backed up only when encrypting.
    #[arg(long)]
    encrypt_to: Option<PathBuf>,
    /// Compression level, 0–9 (1: fastest for its size on two cores).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=9))]
    compression: u32,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

fn parse_kind(text: &str) -> Result<Kind, String> {
    Kind::parse(text).map_err(|e| e.to_string())
}

/// Whether a local origin exists (an absent one is no part of the default backup; an
/// S3 origin is always copied).
fn origin_exists(url: &str) -> bool {
    if url.starts_with("s3://") {
        return true;
    }
    Path::new(url.strip_prefix("file://").unwrap_or(url)).is_dir()
}

/// The configuration part: the file and what it names.
fn config_source(file: &Path, settings: &Settings) -> ConfigSource {
    let mut files = Vec::new();
    files.extend(settings.tls.cert_file.clone());
    files.extend(settings.server.root.clone());
    let mut secret_files = Vec::new();
    secret_files.extend(settings.tls.key_file.clone());
    secret_files.extend(settings.server.online_key.clone());
    secret_files.extend(settings.console.audit_key.clone());
    // The tombstone key: a new machine needs the same one, or the deletion ledger would
    // match nothing after a restore (a restore refuses a ledger made under another key).
    let tombstone_key = settings.tombstone_key_path();
    if tombstone_key.exists() {
        secret_files.push(tombstone_key);
    }
    ConfigSource {
        file: file.to_owned(),
        files,
        secret_files,
        secret_keys: SECRET_KEYS.iter().map(|k| (*k).to_owned()).collect(),
    }
}

/// Runs `backup create`.
pub fn run(args: &CreateArgs) -> Result<Report, Failure> {
    let settings = args.settings.settings(args.db.clone())?;
    let dest = destination(args.to.as_deref(), &settings)?;
    let wanted = |kind: Kind| args.only.is_empty() || args.only.contains(&kind);
    let database = wanted(Kind::Database).then(|| StoreUrl::parse(&settings.db_url())).transpose()?;
    let config = match (&args.settings.config, wanted(Kind::Config)) {
        (Some(file), true) => Some(config_source(file, &settings)),
        (None, true) if args.only.contains(&Kind::Config) => {
            return Err(CliError::input("no_config", "--only config needs --config FILE").into())
        }
        _ => None,
    };
    let origin_url = args.origin.clone().unwrap_or_else(|| settings.origin_url());
    let origin = (wanted(Kind::Packs) && (args.origin.is_some() || origin_exists(&origin_url))).then_some(origin_url);
    let recipient = args
        .encrypt_to
        .as_ref()
        .or(settings.backup.encrypt_to.as_ref())
        .map(|path| Recipient::read(path))
        .transpose()?;
    let options = CreateOptions {
        database: database.clone(),
        config,
        origin,
        recipient,
        dump: DumpOptions { compression: args.compression },
        work_dir: None,
    };
    let manifest = block_on(ferretwatch_backup::create(&dest, &options))?;
    // The deletion ledger, beside the backups (`ledger.rs`).
    let tombstones = match &database {
        Some(_) => Some(super::ledger::update(&dest, &settings)?),
        None => None,
    };
    Ok(report(&manifest, &dest, tombstones))
}

fn report(manifest: &Manifest, dest: &Destination, tombstones: Option<usize>) -> Report {
    let row_counts: BTreeMap<&str, i64> = manifest
        .database
        .iter()
        .flat_map(|d| d.tables.iter().map(|(table, stats)| (table.as_str(), stats.rows)))
        .collect();
    let kinds: Vec<&str> = manifest.kinds.iter().map(|k| k.name()).collect();
    let mut text = format!(
        "backup {} at {}: {} ({} objects, {} bytes{})",
        manifest.id,
        dest.url(),
        kinds.join(", "),
        manifest.objects.len(),
        manifest.size(),
        manifest.encrypted_to.as_ref().map(|f| format!(", encrypted to {f}")).unwrap_or_default()
    );
    if let Some(db) = &manifest.database {
        let rows: i64 = db.tables.values().map(|t| t.rows).sum();
        text.push_str(&format!(
            "\n  database: {} tables, {rows} rows, identity {}",
            db.tables.len(),
            &db.identity[..12]
        ));
    }
    if let Some(n) = tombstones {
        text.push_str(&format!("\n  deletion ledger: {n} tombstone(s) in {}", super::ledger::LEDGER));
    }
    for skipped in &manifest.skipped {
        text.push_str(&format!("\n  skipped {}: {}", skipped.path, skipped.reason));
    }
    Report::new(
        text,
        &json!({
            "id": manifest.id,
            "created_at": manifest.created_at,
            "destination": dest.url(),
            "kinds": kinds,
            "objects": manifest.objects,
            "bytes": manifest.size(),
            "row_counts": row_counts,
            "identity": manifest.database.as_ref().map(|d| &d.identity),
            "encrypted_to": manifest.encrypted_to,
            "skipped": manifest.skipped,
            "tombstones": tombstones,
        }),
    )
}
