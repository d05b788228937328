//! The four TUF roles' metadata as packs use them (TUF specification 1.0): `root` lists the
//! publisher keys and each role's threshold; `targets` lists every pack file with its
//! length and sha256; `snapshot` pins the `targets` version; `timestamp` pins the
//! `snapshot` version. Each is wrapped in an envelope `{"signed": ..., "signatures": [...]}`
//! whose signatures cover the canonical JSON of `signed`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys::KeyObject;
use super::{canonical_json, TrustError};
use ferretwatch_types::Timestamp;

/// The TUF specification version written into metadata.
pub const SPEC_VERSION: &str = "1.0.31";

/// A signature in an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signing key's id.
    pub keyid: String,
    /// The ed25519 signature, hex.
    pub sig: String,
}

/// A metadata file as read, before anything in `signed` is trusted: `signed` stays an
/// untyped JSON value until its signatures have been checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The signed content.
    pub signed: Value,
    /// Signatures over the canonical JSON of `signed`.
    pub signatures: Vec<Signature>,
}

impl Envelope {
    /// An unsigned envelope around typed content.
    pub fn new<T: Serialize>(signed: &T) -> Self {
        Envelope { signed: serde_json::to_value(signed).expect("metadata serialises"), signatures: Vec::new() }
    }

    /// Parses an envelope (only its shape; `signed` is not interpreted).
    pub fn parse(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The bytes written to disk: pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("an envelope serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The bytes the signatures cover.
    pub fn message(&self) -> Result<Vec<u8>, TrustError> {
        canonical_json(&self.signed)
    }
}

/// Which keys may sign for a role, and how many must.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleKeys {
    /// Key ids allowed to sign.
    pub keyids: Vec<String>,
    /// Valid signatures needed (at least 1).
    pub threshold: u32,
}

/// `root` metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Root {
    /// Always `root`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// TUF specification version.
    pub spec_version: String,
    /// Whether the origin also serves `VERSION.snapshot.json`, `VERSION.targets.json` and
    /// hash-prefixed targets (`DIR/SHA256.NAME`), so no client poll fails during a deploy.
    pub consistent_snapshot: bool,
    /// Root version: 1, then +1 per rotation.
    pub version: u64,
    /// After this instant the root is no longer trusted.
    pub expires: Timestamp,
    /// Keys by key id.
    pub keys: BTreeMap<String, KeyObject>,
    /// `root`, `targets`, `snapshot` and `timestamp`.
    pub roles: BTreeMap<String, RoleKeys>,
}

/// The four role names every root must define.
pub const ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];
/// The roles that sign a pack (and, for `targets`, a bulletin).
pub const PACK_ROLES: [&str; 3] = ["targets", "snapshot", "timestamp"];

impl Root {
    /// The root a root file states, read without checking its signatures: a signer uses it
    /// to learn which keys may sign what (the verifier checks signatures separately, see
    /// [`super::verify::trusted_root`]).
    pub fn parse_unverified(bytes: &[u8]) -> Result<Self, TrustError> {
        let envelope = Envelope::parse(bytes).map_err(|e| TrustError::Metadata(format!("root of trust: {e}")))?;
        typed("root of trust", &envelope.signed)
    }

    /// Signatures `role` needs (0 when the root defines no such role).
    pub fn threshold(&self, role: &str) -> u32 {
        self.roles.get(role).map_or(0, |r| r.threshold)
    }

    /// Refuses a key that this root does not list for every one of `roles`.
    pub fn check_signer(&self, keyid: &str, roles: &[&str]) -> Result<(), TrustError> {
        match roles.iter().find(|role| !self.roles.get(**role).is_some_and(|r| r.keyids.iter().any(|k| k == keyid))) {
            Some(role) => {
                Err(TrustError::Key(format!("key {keyid} may not sign {role} under root version {}", self.version)))
            }
            None => Ok(()),
        }
    }

    /// A root in which `keys` sign every role with `threshold`.
    pub fn new(version: u64, expires: Timestamp, keys: &[KeyObject], threshold: u32) -> Result<Self, TrustError> {
        let keys: BTreeMap<String, KeyObject> = keys.iter().map(|k| (k.key_id(), k.clone())).collect();
        let keyids: Vec<String> = keys.keys().cloned().collect();
        let roles =
            ROLES.iter().map(|role| (role.to_string(), RoleKeys { keyids: keyids.clone(), threshold })).collect();
        let root = Root {
            kind: "root".into(),
            spec_version: SPEC_VERSION.into(),
            consistent_snapshot: true,
            version,
            expires,
            keys,
            roles,
        };
        root.check()?;
        Ok(root)
    }

    /// A root whose `snapshot` and `timestamp` roles are signed online by `online`
    /// (threshold 1), while `keys` sign `root` and `targets` with `threshold`.
    pub fn with_online_roles(
        version: u64,
        expires: Timestamp,
        keys: &[KeyObject],
        threshold: u32,
        online: &KeyObject,
    ) -> Result<Self, TrustError> {
        let mut root = Root::new(version, expires, keys, threshold)?;
        let id = online.key_id();
        root.keys.insert(id.clone(), online.clone());
        for role in ["snapshot", "timestamp"] {
            root.roles.insert(role.into(), RoleKeys { keyids: vec![id.clone()], threshold: 1 });
        }
        root.check()?;
        Ok(root)
    }

    /// Structural checks: every role present with a reachable threshold, every key id the
    /// hash of its key, every key a valid ed25519 key.
    pub fn check(&self) -> Result<(), TrustError> {
        let bad = |why: String| Err(TrustError::Metadata(format!("root version {}: {why}", self.version)));
        if self.kind != "root" {
            return bad(format!("_type is {:?}, not \"root\"", self.kind));
        }
        if self.version == 0 {
            return bad("version must start at 1".into());
        }
        let mut distinct = std::collections::BTreeSet::new();
        for (id, key) in &self.keys {
            if &key.key_id() != id {
                return bad(format!("key id {id} is not the hash of its key"));
            }
            // One key, one vote: the same key under two ids would let one person meet a
            // threshold of two.
            if !distinct.insert(key.verifying_key()?.to_bytes()) {
                return bad(format!("key {id} is listed twice"));
            }
        }
        for role in ROLES {
            let Some(keys) = self.roles.get(role) else { return bad(format!("role {role} is missing")) };
            if keys.threshold == 0 {
                return bad(format!("role {role} has threshold 0"));
            }
            if let Some(id) = keys.keyids.iter().find(|id| !self.keys.contains_key(*id)) {
                return bad(format!("role {role} names key {id}, which the root does not list"));
            }
            let distinct: std::collections::BTreeSet<&String> = keys.keyids.iter().collect();
            if (distinct.len() as u64) < u64::from(keys.threshold) {
                return bad(format!(
                    "role {role} needs {} signatures but has only {} keys",
                    keys.threshold,
                    distinct.len()
                ));
            }
        }
        Ok(())
    }
}

/// A metadata file's entry in `snapshot` or `timestamp`. `length` and `hashes` are
/// optional in TUF; when present they are checked against the file's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    /// The version the entry pins.
    pub version: u64,
    /// The file's exact size, when pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// `sha256` (and possibly other algorithms) → hex digest, when pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
}

impl MetaFile {
    /// An entry pinning the version only.
    pub fn version(version: u64) -> Self {
        MetaFile { version, length: None, hashes: None }
    }

    /// An entry pinning the version, the length and the sha256 of `bytes`.
    pub fn pinning(version: u64, bytes: &[u8]) -> Self {
        let hashes = BTreeMap::from([("sha256".to_owned(), ferretwatch_types::Sha256::of(bytes).to_hex())]);
        MetaFile { version, length: Some(bytes.len() as u64), hashes: Some(hashes) }
    }
}

/// `timestamp` or `snapshot` metadata (same shape: `meta` pins metadata files' versions).
/// Fields other TUF tools add are kept out of the type but stay covered by the signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pins {
    /// `timestamp` or `snapshot`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// TUF specification version.
    pub spec_version: String,
    /// The role's version number.
    pub version: u64,
    /// Expiry.
    pub expires: Timestamp,
    /// `snapshot.json` (in timestamp) or `targets.json` and delegated roles (in snapshot).
    pub meta: BTreeMap<String, MetaFile>,
    /// Custom data: a timestamp may carry the service's degradation level
    /// ([`ServiceInfo`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
}

/// The lowest (normal) degradation level.
pub const FULL_SERVICE: u8 = 1;
/// The highest degradation level.
pub const MAX_DEGRADATION: u8 = 4;

/// Custom fields of `timestamp`: what the service tells every client at each poll, signed
/// with the timestamp (by the online key, so an operator changes it without the
/// publishers, and nobody else can).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// The degradation level, 1 (full service) to 4 (emergency bulletins only).
    pub degradation: u8,
}

impl ServiceInfo {
    /// As the `custom` value of `timestamp`.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("service info serialises")
    }
}

impl Pins {
    /// The degradation level the metadata carries: 1 when it says nothing, and also when
    /// it says something out of range (a client never degrades on a value it does not
    /// understand).
    pub fn degradation(&self) -> u8 {
        self.custom
            .as_ref()
            .and_then(|custom| custom.get("degradation"))
            .and_then(Value::as_u64)
            .filter(|level| (u64::from(FULL_SERVICE)..=u64::from(MAX_DEGRADATION)).contains(level))
            .map_or(FULL_SERVICE, |level| level as u8)
    }
}

/// A pack file's entry in `targets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    /// Exact size in bytes.
    pub length: u64,
    /// `sha256` → hex digest.
    pub hashes: BTreeMap<String, String>,
    /// Per-target custom data other tools write (not interpreted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
}

impl TargetFile {
    /// The entry for `bytes`: their length and sha256.
    pub fn of(bytes: &[u8]) -> Self {
        let hashes = BTreeMap::from([("sha256".to_owned(), ferretwatch_types::Sha256::of(bytes).to_hex())]);
        TargetFile { length: bytes.len() as u64, hashes, custom: None }
    }

    /// The listed sha256, hex.
    pub fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }
}

/// Custom fields of the top-level `targets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackInfo {
    /// The pack version as people write it (`YYYY.MM.DD.HH[.N]`).
    pub pack_version: String,
    /// Base URLs of the origin's mirrors (the CDNs clients may fetch from, all equal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<String>,
    /// A canary pack listed beside the pack under [`CANARY_DIR`], for a cohort of installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
}

/// The directory of the signed `targets` listing that holds a canary pack's files
/// (`canary/manifest.json`, `canary/rules.HASH.json`, …).
pub const CANARY_DIR: &str = "canary";

/// A canary in the signed `targets` (`custom.canary`): the pack under [`CANARY_DIR`] is
/// for the installs whose `sha256(salt ‖ cohort seed)` falls in the first `percentage`
/// percent (`docs/canaries.md`). Each client decides alone from its own secret seed, so
/// the origin serves the same bytes to everyone and never learns who is in the cohort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canary {
    /// The canary pack's version (`YYYY.MM.DD.HH[.N]`), as its manifest says.
    pub pack_version: String,
    /// Percent of installs that take it, 1 to 100 (an integer: canonical JSON has no
    /// fractions).
    pub percentage: u64,
    /// Random hex (16 to 64 digits), new for each canary, so each canary draws a new cohort.
    pub salt: String,
}

impl Canary {
    /// Whether the fields are usable: a percentage of 1 to 100 and a salt of 16 to 64
    /// lower-case hex digits.
    pub fn well_formed(&self) -> bool {
        (1..=100).contains(&self.percentage)
            && (16..=64).contains(&self.salt.len())
            && self.salt.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && !self.pack_version.is_empty()
            && self.pack_version.len() <= 32
    }
}

/// A role `targets` delegates part of its paths to (TUF delegated targets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// The role's name; its metadata is `NAME.json` (`VERSION.NAME.json` with consistent
    /// snapshots).
    pub name: String,
    /// Keys allowed to sign it.
    pub keyids: Vec<String>,
    /// Valid signatures needed.
    pub threshold: u32,
    /// Whether a target matching its paths is looked up no further.
    #[serde(default)]
    pub terminating: bool,
    /// The target paths it may list (`*` matches within one path segment).
    pub paths: Vec<String>,
}

/// Delegations of a targets role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    /// Keys of the delegated roles, by key id.
    pub keys: BTreeMap<String, KeyObject>,
    /// The delegated roles, in priority order.
    pub roles: Vec<DelegatedRole>,
}

impl DelegatedRole {
    /// Whether the role may list `target` (TUF shell-style patterns: `*` stays within one
    /// `/`-separated segment, `?` is one character).
    pub fn allows(&self, target: &str) -> bool {
        self.paths.iter().any(|pattern| path_matches(pattern, target))
    }
}

/// TUF's path pattern: the pattern and the path have the same number of segments, and each
/// segment matches with `*` (any run of characters) and `?` (one character).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    fn segment(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => segment(&p[1..], s) || (!s.is_empty() && segment(p, &s[1..])),
            (Some(b'?'), Some(_)) => segment(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => segment(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let (patterns, parts): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    patterns.len() == parts.len() && patterns.iter().zip(&parts).all(|(p, s)| segment(p.as_bytes(), s.as_bytes()))
}

/// `targets` metadata (the top-level role, or a delegated one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// Always `targets`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// TUF specification version.
    pub spec_version: String,
    /// The role's version number.
    pub version: u64,
    /// Expiry.
    pub expires: Timestamp,
    /// Every file the role lists, by its path in the pack.
    pub targets: BTreeMap<String, TargetFile>,
    /// Custom data: the top-level role of a pack carries [`PackInfo`] here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// Roles this one delegates paths to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
}

impl Targets {
    /// The pack version (`custom.pack_version`), when the role carries one.
    pub fn pack_version(&self) -> Option<&str> {
        self.custom.as_ref()?.get("pack_version")?.as_str()
    }

    /// The mirrors the role lists (`custom.mirrors`), those that are well formed
    /// ([`mirror_url_ok`]), at most [`MAX_MIRRORS`].
    pub fn mirrors(&self) -> Vec<String> {
        let listed = self.custom.as_ref().and_then(|custom| custom.get("mirrors")).and_then(Value::as_array);
        listed
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|url| mirror_url_ok(url))
            .take(MAX_MIRRORS)
            .map(|url| url.trim_end_matches('/').to_owned())
            .collect()
    }

    /// The canary the role carries (`custom.canary`), when it is well formed
    /// ([`Canary::well_formed`]) and its manifest is listed (`canary/manifest.json`).
    /// Anything else is no canary: every install then takes the main pack.
    pub fn canary(&self) -> Option<Canary> {
        let value = self.custom.as_ref()?.get("canary")?.clone();
        let canary: Canary = serde_json::from_value(value).ok()?;
        let manifest = format!("{CANARY_DIR}/manifest.json");
        (canary.well_formed() && self.targets.contains_key(&manifest)).then_some(canary)
    }
}

/// At most this many mirrors are taken from a pack.
pub const MAX_MIRRORS: usize = 8;

/// Whether `url` may be a mirror: `https://HOST[/PATH]`, or plain `http://` to a loopback
/// host (a local cache or a test), at most 256 characters, no query, fragment, user
/// information or white space.
pub fn mirror_url_ok(url: &str) -> bool {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', ':']).next().unwrap_or("");
        let host = if rest.starts_with("[::1]") { "[::1]" } else { host };
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return false;
        }
        rest
    } else {
        return false;
    };
    url.len() <= 256
        && !rest.is_empty()
        && !rest.starts_with('/')
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '@' | '\\'))
}

impl PackInfo {
    /// As the `custom` value of `targets`.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("pack info serialises")
    }
}

/// Parses `signed` into a role's type after its signatures were checked.
pub fn typed<T: serde::de::DeserializeOwned>(file: &str, signed: &Value) -> Result<T, TrustError> {
    T::deserialize(signed).map_err(|e| TrustError::Metadata(format!("{file}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_mirrors_are_taken_from_a_pack() {
        for good in
            ["https://cdn.example/packs", "https://cdn.example:8443", "http://127.0.0.1:8080/p", "http://[::1]/"]
        {
            assert!(mirror_url_ok(good), "{good}");
        }
        for bad in [
            "http://cdn.example/packs",
            "ftp://cdn.example",
            "https://",
            "https:///path",
            "https://user@cdn.example",
            "https://cdn.example/?q=1",
            "https://cdn.example/#x",
            "https://cdn example",
            "http://127.0.0.1.evil.example/",
        ] {
            assert!(!mirror_url_ok(bad), "{bad}");
        }
        let targets = Targets {
            kind: "targets".into(),
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: Timestamp::from_secs(0),
            targets: BTreeMap::new(),
            custom: Some(serde_json::json!({
                "pack_version": "2026.11.27.10",
                "mirrors": ["https://a.example/", 7, "http://evil.example", "https://b.example"]
            })),
            delegations: None,
        };
        assert_eq!(targets.mirrors(), ["https://a.example", "https://b.example"]);
    }
}
