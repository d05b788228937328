//! `backup create`: the parts asked for, each object uploaded as it is made, the
//! manifest last.

use std::path::PathBuf;

use ferretwatch_store::StoreUrl;
use ferretwatch_types::Timestamp;
use futures_util::StreamExt;
use object_store::ObjectStoreExt;

use crate::config::{self, ConfigSource, CONFIG_OBJECT};
use crate::crypt::Recipient;
use crate::db::{self, DumpOptions, PgTools};
use crate::dest::{Destination, MANIFEST};
use crate::error::{BackupError, Result};
use crate::id::BackupId;
use crate::manifest::{Kind, Manifest, Skipped, FORMAT};
use crate::object::{store_bytes, store_file};

/// What to back up, and how.
#[derive(Debug, Default)]
pub struct CreateOptions {
    /// The database, when it is to be backed up.
    pub database: Option<StoreUrl>,
    /// The configuration, when it is to be backed up.
    pub config: Option<ConfigSource>,
    /// The pack origin (`file:///DIR`, a directory, `s3://…`), when it is to be backed up.
    pub origin: Option<String>,
    /// Encrypt to this recipient (the database and the configuration; packs are public
    /// and signed, and are stored as they are served).
    pub recipient: Option<Recipient>,
    /// Dump settings.
    pub dump: DumpOptions,
    /// Where temporary files go (default: the system's temporary directory).
    pub work_dir: Option<PathBuf>,
}

/// Makes one backup at `dest`; returns its manifest.
pub async fn create(dest: &Destination, options: &CreateOptions) -> Result<Manifest> {
    if options.database.is_none() && options.config.is_none() && options.origin.is_none() {
        return Err(BackupError::Invalid("nothing to back up: no database, configuration or origin".into()));
    }
    let work = match &options.work_dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .map_err(|e| BackupError::Io(format!("temporary directory: {e}")))?;
    let created = Timestamp::now();
    let id = BackupId::at(created);
    let recipient = options.recipient.as_ref();
    let tools = PgTools::locate();
    let mut manifest = Manifest {
        format: FORMAT.into(),
        id: id.to_string(),
        created_at: created.as_millis(),
        kinds: Vec::new(),
        tools: db::tool_versions(None),
        database: None,
        config_file: None,
        origin: None,
        encrypted_to: recipient.map(Recipient::fingerprint),
        objects: Vec::new(),
        skipped: Vec::new(),
        manifest_sha256: String::new(),
    };

    if let Some(url) = &options.database {
        if matches!(url, StoreUrl::Postgres(_)) {
            manifest.tools = db::tool_versions(Some(tools.version("pg_dump").await?));
        }
        let dump = db::dump(url, work.path(), &options.dump, &tools).await?;
        let object = store_file(dest, &id, dump.object, Kind::Database, &dump.file, recipient, None).await?;
        let _ = std::fs::remove_file(&dump.file);
        manifest.objects.push(object);
        manifest.database = Some(dump.info);
        manifest.kinds.push(Kind::Database);
    }

    if let Some(source) = &options.config {
        backup_config(dest, &id, source, recipient, &mut manifest).await?;
        manifest.kinds.push(Kind::Config);
    }

    if let Some(origin) = &options.origin {
        backup_packs(dest, &id, origin, &mut manifest).await?;
        manifest.kinds.push(Kind::Packs);
    }

    dest.put(&format!("{id}/{MANIFEST}"), manifest.to_json()).await?;
    Manifest::parse(&manifest.to_json(), MANIFEST)
}

async fn backup_config(
    dest: &Destination,
    id: &BackupId,
    source: &ConfigSource,
    recipient: Option<&Recipient>,
    manifest: &mut Manifest,
) -> Result<()> {
    let origin = source.file.display().to_string();
    let bytes = if recipient.is_some() {
        std::fs::read(&source.file).map_err(crate::error::io(&source.file))?
    } else {
        let (text, removed) = config::without_secrets(&source.file, &source.secret_keys)?;
        for key in removed {
            manifest.skipped.push(Skipped {
                path: format!("{origin}: {key}"),
                reason: "a secret: kept only in encrypted backups (--encrypt-to)".into(),
            });
        }
        text.into_bytes()
    };
    let object = store_bytes(dest, id, CONFIG_OBJECT, Kind::Config, bytes, recipient, Some(origin.clone())).await?;
    manifest.objects.push(object);
    manifest.config_file = Some(origin);
    for (file, secret) in source.files.iter().map(|f| (f, false)).chain(source.secret_files.iter().map(|f| (f, true))) {
        if secret && recipient.is_none() {
            manifest.skipped.push(Skipped {
                path: file.display().to_string(),
                reason: "a secret: kept only in encrypted backups (--encrypt-to)".into(),
            });
            continue;
        }
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                manifest.skipped.push(Skipped { path: file.display().to_string(), reason: format!("unreadable: {e}") });
                continue;
            }
        };
        let path = config::object_path(file);
        let object =
            store_bytes(dest, id, &path, Kind::Config, bytes, recipient, Some(file.display().to_string())).await?;
        manifest.objects.push(object);
    }
    Ok(())
}

/// Copies every object of the origin (stored as served: packs are public and signed).
async fn backup_packs(dest: &Destination, id: &BackupId, origin: &str, manifest: &mut Manifest) -> Result<()> {
    let s3 = ferretwatch_pack_publisher::origin::S3Options::from_env();
    let store = ferretwatch_pack_publisher::origin::open_store(origin, &s3)
        .map_err(|e| BackupError::Invalid(format!("origin {origin}: {e}")))?;
    let failed = |e: object_store::Error| BackupError::Store(format!("origin {origin}: {e}"));
    let mut names: Vec<_> = store
        .store
        .list(store.prefix.as_ref())
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(failed)?;
    names.sort_by(|a, b| a.location.cmp(&b.location));
    let prefix = store.prefix.as_ref().map(|p| format!("{p}/")).unwrap_or_default();
    for meta in names {
        let full = meta.location.to_string();
        let name = full.strip_prefix(&prefix).unwrap_or(&full).to_owned();
        let bytes = store.store.get(&meta.location).await.map_err(failed)?.bytes().await.map_err(failed)?;
        let object =
            store_bytes(dest, id, &format!("packs/{name}"), Kind::Packs, bytes.to_vec(), None, Some(name.clone()))
                .await?;
        manifest.objects.push(object);
    }
    manifest.origin = Some(origin.to_owned());
    Ok(())
}
