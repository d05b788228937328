//! `backup check-config`: the configuration backup of a day, its objects checked against
//! the manifest, its configuration file parsed as the service parses one, and compared
//! with the live configuration: every key and named file that differs is reported as
//! drift (drift is a finding to read, not a failure: the live configuration moves on).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use ferretwatch_backup::crypt::Identity;
use ferretwatch_backup::{file_digest, Kind};
use ferretwatch_server::Settings;
use serde_json::json;

use super::create::SECRET_KEYS;
use super::{block_on, destination, SettingsArgs};
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// `backup check-config`.
#[derive(Args)]
pub struct CheckConfigArgs {
    /// The destination; default `[backup] destination`.
    #[arg(long, visible_alias = "to")]
    from: Option<String>,
    /// The day whose newest configuration backup to check (YYYY-MM-DD, UTC).
    #[arg(long)]
    date: String,
    /// The identity that decrypts an encrypted backup; default `[backup] identity`.
    #[arg(long)]
    identity: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// `a.b = value` for every leaf of a TOML table.
fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (key, value) in table {
        let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            toml::Value::Table(inner) => flatten(&name, inner, out),
            leaf => {
                out.insert(name, leaf.to_string());
            }
        }
    }
}

fn keys_of(text: &str, origin: &str) -> Result<BTreeMap<String, String>, CliError> {
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| CliError::failed("invalid_config", format!("{origin}: not valid TOML: {e}")))?;
    let mut keys = BTreeMap::new();
    flatten("", &table, &mut keys);
    Ok(keys)
}

/// Runs `backup check-config`.
pub fn run(args: &CheckConfigArgs) -> Result<Report, Failure> {
    let valid_date =
        args.date.len() == 10 && ferretwatch_types::Timestamp::parse(&format!("{}T00:00:00Z", args.date)).is_ok();
    if !valid_date {
        return Err(CliError::input("bad_date", format!("--date {:?}: want YYYY-MM-DD", args.date)).into());
    }
    let settings = args.settings.settings(None)?;
    let live = args.settings.config.clone().ok_or_else(|| {
        CliError::input(
            "no_config",
            "the live configuration to compare with: give --config FILE (or FERRETWATCH_CONFIG)",
        )
    })?;
    let dest = destination(args.from.as_deref(), &settings)?;
    let identity =
        args.identity.as_ref().or(settings.backup.identity.as_ref()).map(|p| Identity::read(p)).transpose()?;
    let scratch = tempfile::tempdir().map_err(|e| CliError::failed("io", e.to_string()))?;
    let out = scratch.path().join("config");
    let (id, manifest, written) = block_on(async {
        let (id, manifest) = ferretwatch_backup::newest_of_day(&dest, &args.date, Kind::Config).await?;
        let written = ferretwatch_backup::extract(&dest, &id, &manifest, Kind::Config, &out, identity.as_ref()).await?;
        Ok((id, manifest, written))
    })?;

    // It parses as the service parses its configuration (no environment over it).
    let backed_up = out.join("ferretwatch.toml");
    Settings::load_from(Some(&backed_up), Vec::<(String, String)>::new()).map_err(|e| {
        CliError::failed("invalid_config", format!("the configuration in backup {id} does not load: {e}"))
    })?;

    // Drift: the live file as it would be backed up now (without secrets unless the
    // backup was encrypted), key by key; the named files by checksum.
    let live_text = if manifest.encrypted_to.is_some() {
        std::fs::read_to_string(&live).map_err(|e| CliError::input("unreadable", format!("{}: {e}", live.display())))?
    } else {
        let keys: Vec<String> = SECRET_KEYS.iter().map(|k| (*k).to_owned()).collect();
        ferretwatch_backup::config::without_secrets(&live, &keys)?.0
    };
    let then = keys_of(&std::fs::read_to_string(&backed_up).unwrap_or_default(), &id.to_string())?;
    let now = keys_of(&live_text, &live.display().to_string())?;
    let mut drift = Vec::new();
    for (key, value) in &then {
        match now.get(key) {
            None => drift.push(format!("removed since the backup: {key} (was {value})")),
            Some(current) if current != value => drift.push(format!("changed: {key}: {value} → {current}")),
            Some(_) => {}
        }
    }
    drift.extend(
        now.iter().filter(|(k, _)| !then.contains_key(*k)).map(|(k, v)| format!("added since the backup: {k} = {v}")),
    );
    for (object, _) in written.iter().filter(|(o, _)| o.path.starts_with("config/files/")) {
        let Some(source) = object.source.as_deref() else { continue };
        let want = object.plain_sha256.as_ref().unwrap_or(&object.sha256);
        match file_digest(Path::new(source)) {
            Ok((_, sha256)) if &sha256 == want => {}
            Ok(_) => drift.push(format!("file changed since the backup: {source}")),
            Err(_) => drift.push(format!("file gone since the backup: {source}")),
        }
    }
    let mut text = format!(
        "configuration backup {id} ({} objects): checksums match, it loads as a valid configuration; \
         {} difference(s) from the live {}",
        written.len(),
        drift.len(),
        live.display()
    );
    for line in &drift {
        text.push_str(&format!("\n  drift: {line}"));
    }
    for skipped in &manifest.skipped {
        text.push_str(&format!("\n  not in the backup: {} ({})", skipped.path, skipped.reason));
    }
    Ok(Report::new(
        text,
        &json!({ "ok": true, "id": id.to_string(), "objects": written.len(), "drift": drift, "skipped": manifest.skipped }),
    ))
}
