//! The manifest: one JSON document per backup (`ID/manifest.json`) that says what the
//! backup holds and how to check it (`docs/formats/backup-manifest.md`). Its own SHA-256
//! is in it (`manifest_sha256`, over the document with that field empty), so a damaged
//! manifest is told apart from a damaged object.

use std::collections::BTreeMap;

use ferretwatch_types::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{BackupError, Result};

/// The manifest's format version.
pub const FORMAT: &str = "ferretwatch-backup/1";

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The database: a PostgreSQL custom-format dump or a gzipped SQLite copy.
    Database,
    /// The server's configuration file and the files it names.
    Config,
    /// Every object of the pack origin.
    Packs,
}

impl Kind {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Config => "config",
            Self::Packs => "packs",
        }
    }

    /// Parses `database`, `config` or `packs`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "database" | "db" => Ok(Self::Database),
            "config" => Ok(Self::Config),
            "packs" => Ok(Self::Packs),
            _ => Err(BackupError::Invalid(format!("unknown backup kind {text:?}: database, config or packs"))),
        }
    }
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// Its path under the backup (`database.dump`, `config/ferretwatch.toml`, `packs/…`).
    pub path: String,
    /// Which part of the backup it belongs to.
    pub kind: Kind,
    /// Its size as stored, in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes as stored (hex).
    pub sha256: String,
    /// Encrypted objects: the size and SHA-256 of the plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_size: Option<u64>,
    /// See `plain_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_sha256: Option<String>,
    /// Where it came from (a file path or an origin object name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// One table's rows as dumped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStats {
    /// How many rows.
    pub rows: i64,
    /// A content checksum, order-independent (see `checksum_algorithm`).
    pub checksum: String,
}

/// What the database part says about the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    /// `postgres` or `sqlite`.
    pub backend: String,
    /// The object holding the dump.
    pub object: String,
    /// `pg_dump-custom` or `sqlite-gzip`.
    pub format: String,
    /// The source database's identity (`store_identity.id`).
    pub identity: String,
    /// The latest migration applied.
    pub migration_version: i64,
    /// The database URL without its password.
    pub source: String,
    /// How the content checksums are computed.
    pub checksum_algorithm: String,
    /// Per table, in the dump's snapshot.
    pub tables: BTreeMap<String, TableStats>,
    /// The PostgreSQL snapshot the dump and the statistics share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

/// A file that was not backed up, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A backup's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The backup's id ([`crate::BackupId`]).
    pub id: String,
    /// When it was made, milliseconds since the epoch.
    pub created_at: i64,
    /// The parts it holds.
    pub kinds: Vec<Kind>,
    /// Host name and tool versions.
    pub tools: BTreeMap<String, String>,
    /// The database part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseInfo>,
    /// The configuration file the config part was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// The origin the packs part was copied from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The recipient key's fingerprint, when the objects are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_to: Option<String>,
    /// Every object.
    pub objects: Vec<Object>,
    /// Files left out (secrets without encryption).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// The SHA-256 of this document with this field empty.
    pub manifest_sha256: String,
}

impl Manifest {
    /// The document, sealed with its own checksum.
    pub fn to_json(&self) -> Vec<u8> {
        let mut sealed = self.clone();
        sealed.manifest_sha256 = String::new();
        let unsealed = serde_json::to_vec_pretty(&sealed).expect("a manifest serialises");
        sealed.manifest_sha256 = hex::encode(Sha256::digest(&unsealed));
        let mut text = serde_json::to_vec_pretty(&sealed).expect("a manifest serialises");
        text.push(b'\n');
        text
    }

    /// Parses and checks a manifest (format and its own checksum).
    pub fn parse(bytes: &[u8], name: &str) -> Result<Self> {
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| BackupError::Manifest(format!("{name}: not a backup manifest ({e})")))?;
        if manifest.format != FORMAT {
            return Err(BackupError::Manifest(format!(
                "{name}: format {:?}, this version reads {FORMAT:?}",
                manifest.format
            )));
        }
        let mut unsealed = manifest.clone();
        unsealed.manifest_sha256 = String::new();
        let expected = hex::encode(Sha256::digest(serde_json::to_vec_pretty(&unsealed).expect("serialises")));
        if expected != manifest.manifest_sha256 {
            return Err(BackupError::Checksum(format!(
                "{name}: the manifest's checksum does not match its contents (altered or damaged)"
            )));
        }
        Ok(manifest)
    }

    /// When it was made.
    pub fn created(&self) -> Timestamp {
        Timestamp::from_millis(self.created_at)
    }

    /// The objects of one kind.
    pub fn objects_of(&self, kind: Kind) -> impl Iterator<Item = &Object> {
        self.objects.iter().filter(move |o| o.kind == kind)
    }

    /// The total stored size.
    pub fn size(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            id: "20261205T072000123Z".into(),
            created_at: 1_796_455_200_123,
            kinds: vec![Kind::Config],
            tools: BTreeMap::from([("ferretwatch".into(), "0.1.0".into())]),
            database: None,
            config_file: Some("/etc/ferretwatch/ferretwatch.toml".into()),
            origin: None,
            encrypted_to: None,
            objects: vec![Object {
                path: "config/ferretwatch.toml".into(),
                kind: Kind::Config,
                size: 10,
                sha256: "00".repeat(32),
                plain_size: None,
                plain_sha256: None,
                source: None,
            }],
            skipped: vec![],
            manifest_sha256: String::new(),
        }
    }

    #[test]
    fn a_sealed_manifest_parses_back_and_an_edited_one_is_refused() {
        let text = sample().to_json();
        let parsed = Manifest::parse(&text, "m").unwrap();
        assert_eq!(parsed.objects, sample().objects);
        let edited = String::from_utf8(text).unwrap().replace("\"size\": 10", "\"size\": 11");
        let err = Manifest::parse(edited.as_bytes(), "m").unwrap_err();
        assert!(matches!(err, BackupError::Checksum(_)), "{err}");
        assert!(Manifest::parse(b"{}", "m").is_err());
    }
}
